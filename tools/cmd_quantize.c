/* cmd_quantize.c: `cllm quantize` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_quantize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm quantize: not implemented yet\n");
    return 1;
}
