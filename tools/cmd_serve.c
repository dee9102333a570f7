/* cmd_serve.c: `cllm serve` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm serve: not implemented yet\n");
    return 1;
}
