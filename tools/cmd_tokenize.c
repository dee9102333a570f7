/* cmd_tokenize.c: `cllm tokenize` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm tokenize: not implemented yet\n");
    return 1;
}
