/* gen_fmt.h: per-request output state shared by the generating routes
 * (OpenAI chat/completions, Anthropic messages, OpenAI responses): one
 * gen_choice per task accumulates text, reasoning, tool calls and log-probs
 * from scheduler events; each route supplies how a delta is streamed and how
 * the final answer is built. All functions run under the request mutex. */
#ifndef CLLM_SERVER_GEN_FMT_H
#define CLLM_SERVER_GEN_FMT_H

#include "server/util.h"

typedef struct gen_choice {
    srv_split split;
    char *content, *reasoning;
    size_t clen, ccap, rlen, rcap;
    json_t *lp;                /* chat-style logprob entries (array) */
    json_t *lp_tokens, *lp_vals, *lp_top, *lp_off;   /* completion-style */
    const char *finish;        /* static string */
    char *stop_word;
    int err_status;
    char *err_msg;
    srv_usage usage;
    bool done, first_done;
    /* streaming progress (route-specific meaning) */
    bool started;
    int block, kind;           /* open block index and its kind (0 none, 1 text, 2 thinking) */
    size_t text_off;
} gen_choice;

typedef struct gen_state gen_state;

/* Route callbacks. delta: a piece of content (reasoning=false) or reasoning
 * text for choice c while streaming; may be NULL for non-stream. */
typedef struct gen_ops {
    void (*delta)(gen_state *g, srv_req *r, int c, bool reasoning, const char *text, size_t len,
                  json_t *lp_entry);
    void (*choice_done)(gen_state *g, srv_req *r, int c);   /* stream: closing events of a choice */
    void (*finish)(gen_state *g, srv_req *r);               /* all done: build body / final events */
} gen_ops;

struct gen_state {
    gen_ops ops;
    char id[64], model[256], msg_id[64];
    long long created;
    bool stream, include_usage, echo, tools, force_tool, raw;   /* raw: no splitting (completions) */
    bool logprobs;
    int top_logprobs;
    int n;
    gen_choice *ch;
    char *echo_text;
    int32_t n_prompt;
    int32_t first_tok;         /* echo+logprobs: first prompt token (-1 none) */
    srv_req *r;                /* during callbacks */
    int cur;
    json_t *extra;             /* route data (e.g. the responses request echo) */
};

gen_state *gen_state_new(srv_req *r, int n, bool stream, const char *id_prefix);
void gen_state_free(void *g);
/* The srv_fmt for a state: on_event feeds choices; finish calls ops.finish. */
srv_fmt gen_fmt(gen_state *g);

/* usage and timings of all choices (prompt counted once) */
void gen_usage(const gen_state *g, srv_usage *u);
json_t *gen_timings_json(const gen_state *g);
/* First error of any choice: status (0 if none) and message. */
int gen_error(const gen_state *g, const char **msg);

#endif
