/* cmd_pull.c: `cllm pull` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_pull(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm pull: not implemented yet\n");
    return 1;
}
