/* util.h: helpers shared by the route files of `cllm serve`: request field
 * parsing with precise 400 messages, UTF-8 repair for JSON strings, prompt
 * tokenization, generation options common to every generating route, and
 * the glue to src/chat (prompt formatting, reply parsing). */
#ifndef CLLM_SERVER_UTIL_H
#define CLLM_SERVER_UTIL_H

#include "server/server.h"
#include "chat/chat.h"

/* A JSON string of bytes that may hold invalid or partial UTF-8 (replaced
 * by U+FFFD). Never NULL unless out of memory. */
json_t *srv_jstr(const char *s, size_t len);
/* Append valid UTF-8 of s[0..len) to a growable buffer (same repair). */
void srv_buf_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

/* Field getters: false after replying 400 naming the field. absent fields
 * keep *out and return true. */
bool srv_get_num(srv_req *r, json_t *o, const char *key, double lo, double hi, double *out);
bool srv_get_int(srv_req *r, json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out);
bool srv_get_bool(srv_req *r, json_t *o, const char *key, bool *out);
bool srv_get_str(srv_req *r, json_t *o, const char *key, const char **out);

/* Tokenize with 400 on failure (false). */
bool srv_tokenize(srv_req *r, const char *text, size_t len, bool add_special, bool parse_special,
                  int32_t **out, int32_t *n_out);

/* Generation options shared by chat/completions/messages/responses. */
typedef struct srv_gen {
    srv_sampling sp;
    int32_t n_predict;
    char **stop;
    int n_stop;
    int n;                       /* choices */
    bool stream, include_usage;
    bool logprobs;
    int top_logprobs;
    bool ignore_eos;
    bool context_shift;
    int32_t n_keep;              /* -2: default (keep a leading BOS) */
    /* reply parsing, from the chat formatting (srv_chat_prepare): format is
     * GENERIC under the forced-call grammar */
    cllm_chat_format chat_format;
    uint32_t parse_flags;        /* CLLM_CHAT_PARSE_* */
} srv_gen;

void srv_gen_init(srv_gen *g);
void srv_gen_clear(srv_gen *g);
/* Parse the OpenAI fields (temperature, top_p, top_k, min_p, seed, n,
 * presence/frequency/repeat penalty, logit_bias, stop, max_tokens,
 * max_completion_tokens, stream, stream_options). anthropic=true reads
 * stop_sequences, top_k and requires max_tokens. */
bool srv_gen_parse(srv_req *r, json_t *body, srv_gen *g, bool anthropic);
/* Build n tasks for a tokenized prompt (copied); checks the context size
 * (400) and creates samplers (400 on a bad grammar). false after replying. */
bool srv_gen_tasks(srv_req *r, srv_gen *g, const int32_t *prompt, int32_t n_prompt,
                   srv_task **tasks);

/* Format a chat (OpenAI-shaped messages, tools, chat_template_kwargs of the
 * request) with src/chat (cllm_chat_apply_json on srv_server.chat) into
 * *res (caller clears with cllm_chat_result_clear). false after replying
 * 400/500 (res then empty). */
bool srv_render_chat(srv_req *r, json_t *messages, json_t *tools, bool add_generation_prompt,
                     cllm_chat_result *res);
/* Render normalized messages (+ tools when use_tools) and tokenize; when
 * force, constrain the output to a tool call (only: one named function).
 * false after replying. (routes_openai.c) */
bool srv_chat_prepare(srv_req *r, json_t *messages, json_t *tools, bool use_tools, bool force,
                      const char *only, bool parallel, srv_gen *g, int32_t **toks, int32_t *n_toks);
/* OpenAI messages -> template messages (content parts joined, developer ->
 * system, tool-call arguments parsed to objects). NULL after a 400. */
json_t *srv_normalize_messages(srv_req *r, json_t *messages);
/* The tools array validated ([{"type":"function","function":{name,...}}]);
 * NULL after a 400 (absent/empty -> *out NULL, true). */
bool srv_check_tools(srv_req *r, json_t *tools, json_t **out);

/* Streaming split of generated text into content, reasoning and tool
 * calls: a wrapper over src/chat's cllm_chat_parser (docs/chat.md) that
 * passes content/reasoning deltas to a callback and keeps the tool calls
 * for the end of the reply. */
typedef struct srv_split {
    bool tools, force_tool;
    cllm_chat_parser *p;         /* NULL if it could not be made: all text is content */
    json_t *tool_calls;          /* after finish: [{"id","name","arguments"(string)}] or NULL */
} srv_split;

typedef void (*srv_split_fn)(void *user, bool reasoning, const char *text, size_t len);
/* flags: extra CLLM_CHAT_PARSE_* (e.g. THINKING_OPEN); TOOLS is added when
 * tools or force_tool. */
void srv_split_init(srv_split *s, bool tools, bool force_tool, cllm_chat_format fmt, uint32_t flags);
void srv_split_feed(srv_split *s, const char *text, size_t len, srv_split_fn fn, void *user);
/* Flush what is held and collect tool calls; returns the number of calls. */
int srv_split_finish(srv_split *s, srv_split_fn fn, void *user);
void srv_split_free(srv_split *s);

/* A GBNF grammar forcing one tool call object (or an array when parallel)
 * {"name": one of the tools, "arguments": object}; NULL + err on failure. */
char *srv_tool_grammar(srv_engine *e, json_t *tools, const char *only_name, bool parallel,
                       char *err, size_t errlen);

/* Random-ish id like "chatcmpl-<hex>" into buf. */
void srv_make_id(char *buf, size_t len, const char *prefix);
long long srv_unix_time(void);

#endif
