/* chat_input.h: the input side of `cllm chat`: reading one user message at a
 * time, from a terminal with GNU readline (line editing, history, Ctrl-C
 * clears the line) or line by line from a pipe, with multiline messages
 * (a line ending in `\` continues; `"""` opens and closes a block), and the
 * SIGINT flag the generation loop polls to stop an answer. */
#ifndef CLLM_TOOLS_CHAT_INPUT_H
#define CLLM_TOOLS_CHAT_INPUT_H

#include <signal.h>
#include <stdbool.h>

/* Set by the SIGINT handler; the generation loop checks and clears it. */
extern volatile sig_atomic_t chat_interrupted;

typedef struct chat_input chat_input;

/* Installs the SIGINT handler (no SA_RESTART, so blocking reads see EINTR).
 * interactive: use readline on the terminal (else plain lines from stdin).
 * history_file (may be NULL): loaded now, appended to by chat_input_free.
 * NULL on allocation failure. */
chat_input *chat_input_init(bool interactive, const char *history_file);
void        chat_input_free(chat_input *in);

/* Read the next message. Returns a malloc'd string (caller frees) without a
 * trailing newline; multiline messages keep their inner newlines. A line
 * starting with '/' outside a block is returned as is (a command). NULL at
 * end of input (Ctrl-D, EOF). Ctrl-C at the prompt drops what was typed
 * (the whole pending multiline message) and prompts again. */
char *chat_input_read(chat_input *in);

#endif
