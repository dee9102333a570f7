/* cmd_run.c: `cllm run` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_run(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm run: not implemented yet\n");
    return 1;
}
