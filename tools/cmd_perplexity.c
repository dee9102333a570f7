/* cmd_perplexity.c: `cllm perplexity` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_perplexity(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm perplexity: not implemented yet\n");
    return 1;
}
