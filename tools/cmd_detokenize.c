/* cmd_detokenize.c: `cllm detokenize` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_detokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm detokenize: not implemented yet\n");
    return 1;
}
