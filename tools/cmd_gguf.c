/* cmd_gguf.c: `cllm gguf` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_gguf(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm gguf: not implemented yet\n");
    return 1;
}
