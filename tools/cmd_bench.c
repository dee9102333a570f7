/* cmd_bench.c: `cllm bench` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm bench: not implemented yet\n");
    return 1;
}
