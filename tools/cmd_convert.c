/* cmd_convert.c: `cllm convert` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_convert(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm convert: not implemented yet\n");
    return 1;
}
