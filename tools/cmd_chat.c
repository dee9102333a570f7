/* cmd_chat.c: `cllm chat` (not built yet: reports so and fails). */
#include "commands.h"

#include <stdio.h>

int cllm_cmd_chat(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "cllm chat: not implemented yet\n");
    return 1;
}
