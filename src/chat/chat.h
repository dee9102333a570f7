/* chat.h: internal interface of src/chat for the server and the CLI: the
 * json_t-based template render, chat formatting (template selection,
 * messages -> prompt text) and the streaming tool-call/reasoning parser.
 * The public C API for the same is in include/cllm.h ("chat" section). */
#ifndef CLLM_CHAT_CHAT_H
#define CLLM_CHAT_CHAT_H

#include "cllm.h"

#include <jansson.h>

/* Render with a JSON object as the context (borrowed); *out is malloc'd,
 * caller frees. Same errors as cllm_chat_template_render. */
cllm_status cllm_chat_template_render_json(cllm_chat_template *t, const json_t *context, char **out);

#endif /* CLLM_CHAT_CHAT_H */
