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

/* strftime_now() sees local time, or with on=false the fixed reference date
 * of the golden renders (2026-07-26 10:00:00); init_ex sets it from
 * CLLM_CHAT_TEMPLATE_FIXED_CLOCK. */
void cllm_chat_template_use_real_clock(cllm_chat_template *t, bool on);

/* Chat formatting with a JSON request (borrowed); see cllm_chat_apply. */
cllm_status cllm_chat_apply_json(cllm_chat *c, const json_t *request, cllm_chat_result *out);

/* Streaming tool-call parser, json_t variants of cllm_chat_parser_feed /
 * _finish / _message. *delta is a new reference or NULL when nothing new. */
cllm_status cllm_chat_parser_feed_json(cllm_chat_parser *p, const char *text, size_t n, json_t **delta);
cllm_status cllm_chat_parser_finish_json(cllm_chat_parser *p, json_t **delta);
json_t     *cllm_chat_parser_message_json(const cllm_chat_parser *p);   /* new reference */

#endif /* CLLM_CHAT_CHAT_H */
