/* cmd_embed.c: `cllm embed` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_embed(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm embed: not implemented yet\n");
    return 1;
}
