/* cmd_eval.c: `cllm eval` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm eval: not implemented yet\n");
    return 1;
}
