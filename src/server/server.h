/* server.h: internal types of `cllm serve`: configuration, the engine adapter
 * (srv_engine, a table of functions over model/tokenizer/sampler/chat so the
 * scheduler can be tested with a fake), scheduler tasks and events, and the
 * per-HTTP-request state shared by the HTTP layer and the route formatters.
 *
 * Threads: libmicrohttpd's pool threads parse requests, tokenize and render
 * templates; one scheduler thread owns the engine's context (decode, KV,
 * sampling) and reports through task sinks; sinks format output into the
 * request's buffer under the request mutex and resume the connection. */
#ifndef CLLM_SERVER_H
#define CLLM_SERVER_H

#include "cllm.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ config */
typedef struct srv_config {
    const char *model_path;
    const char *host;          /* listen address (default 127.0.0.1) */
    int port;                  /* 0 = pick a free port (reported by srv_port) */
    int n_slots;               /* parallel sequences */
    int n_ctx;                 /* total KV cells, shared by all slots */
    int n_batch;               /* tokens per decode step */
    int n_threads;             /* compute threads (<= 0 auto) */
    int http_threads;          /* libmicrohttpd pool size */
    int queue_max;             /* waiting requests beyond the slots before 503 */
    size_t max_body;           /* request body limit in bytes (413 beyond) */
    int timeout_s;             /* idle connection timeout */
    char api_key[256];         /* empty = no authentication */
    bool embeddings;           /* enable /v1/embeddings (embedding context) */
    bool context_shift;        /* default of the request field context_shift */
    bool metrics;              /* enable /metrics */
    const char *chat_template_file;
    const char *cors_origin;   /* NULL = no CORS headers */
    const char *alias;         /* model id reported by /v1/models */
} srv_config;

void srv_config_defaults(srv_config *c);

/* ---------------------------------------------------------- sampling */
typedef struct srv_logit_bias { int32_t tok; float bias; } srv_logit_bias;

typedef struct srv_sampling {
    float temperature, top_p, min_p, presence_penalty, frequency_penalty, repeat_penalty;
    int32_t top_k;
    uint64_t seed;
    bool has_seed;
    srv_logit_bias *bias;      /* owned */
    int n_bias;
    char *grammar;             /* GBNF, owned; NULL = unconstrained */
} srv_sampling;

void srv_sampling_defaults(srv_sampling *s);
void srv_sampling_clear(srv_sampling *s);

/* ------------------------------------------------------------ engine */
typedef struct srv_engine srv_engine;
struct srv_engine {
    void *impl;
    /* facts, set at open */
    int32_t n_vocab, n_ctx, n_batch, n_embd, n_seq;
    int32_t bos, eos;          /* -1 when absent */
    bool add_bos;              /* the model wants BOS prepended to prompts */
    bool embeddings;           /* the context keeps pooled embeddings */
    const char *pooling;       /* "mean", "cls", "last", "none" */
    const char *arch;
    char model_id[256];
    uint64_t n_params, size_bytes;
    int32_t n_ctx_train;

    /* Tokenize text; *out is malloc'd (caller frees). Returns count or -1
     * with err filled. Thread-safe (called from HTTP threads). */
    int32_t (*tokenize)(srv_engine *e, const char *text, size_t len, bool add_special,
                        bool parse_special, int32_t **out, char *err, size_t errlen);
    /* Bytes of one token into buf; returns length, or -needed when too small. */
    int32_t (*piece)(srv_engine *e, int32_t tok, char *buf, int32_t len, bool special);
    bool (*is_eog)(srv_engine *e, int32_t tok);
    /* Text of a whole sequence (tokenizer rules: SPM's leading space, ...);
     * malloc'd, *len set; NULL on failure. Optional (NULL: pieces joined). */
    char *(*detokenize)(srv_engine *e, const int32_t *toks, int32_t n, size_t *len);

    /* Scheduler thread only. */
    cllm_status (*decode)(srv_engine *e, const cllm_batch *b, char *err, size_t errlen);
    const float *(*logits)(srv_engine *e, int32_t i);
    const float *(*embedding)(srv_engine *e, int32_t seq);
    bool (*kv_rm)(srv_engine *e, int32_t seq, int32_t p0, int32_t p1);
    void (*kv_cp)(srv_engine *e, int32_t src, int32_t dst, int32_t p0, int32_t p1);

    /* Sampler: created on an HTTP thread (so a bad grammar is a 400), used
     * and freed on the scheduler thread. NULL + err on failure. */
    void *(*sampler_new)(srv_engine *e, const srv_sampling *sp, char *err, size_t errlen);
    int32_t (*sampler_sample)(srv_engine *e, void *s, const float *logits);
    void (*sampler_accept)(srv_engine *e, void *s, int32_t tok);
    void (*sampler_free)(srv_engine *e, void *s);
    /* JSON schema -> GBNF (malloc'd) or NULL + err. */
    char *(*schema_to_grammar)(srv_engine *e, const char *schema_json, char *err, size_t errlen);

    bool has_template;         /* the model carries tokenizer.chat_template */
    const char *template_text; /* that template (borrowed, engine-owned) or NULL */
    /* Chat formatting (src/chat: template variants, BOS, tool-call format);
     * engine-owned, may be NULL: the server then builds one from
     * template_text, bos_text and eos_text. */
    cllm_chat *chat;
    const char *bos_text, *eos_text;

    void (*free)(srv_engine *e);
};

/* The real engine over libcllm (server_engine.c). NULL + err on failure. */
srv_engine *srv_engine_open(const srv_config *cfg, char *err, size_t errlen);
void srv_engine_free(srv_engine *e);

/* ------------------------------------------------------- tasks/events */
typedef enum { SRV_TASK_COMPLETION = 0, SRV_TASK_EMBEDDING = 1 } srv_task_kind;
/* PROMPT: the log-prob of prompt token tok given the tokens before it
 * (tasks with prompt_logprobs), in prompt order, before any TOKEN. */
typedef enum { SRV_EV_TOKEN = 0, SRV_EV_DONE = 1, SRV_EV_ERROR = 2, SRV_EV_PROMPT = 3 } srv_event_type;

#define SRV_MAX_TOP 20

typedef struct srv_top { int32_t tok; float logprob; } srv_top;

/* Counters of one finished task (also on every token event, running). */
typedef struct srv_usage {
    int32_t n_prompt, n_cached, n_gen;
    double t_prompt_ms, t_gen_ms;
} srv_usage;

typedef struct srv_event {
    srv_event_type type;
    /* TOKEN: text released by this token (may be empty while UTF-8 or a
     * possible stop string is held back), the token and its log-prob. */
    const char *text;
    size_t text_len;
    int32_t tok;
    float logprob;
    int n_top;
    const srv_top *top;
    /* DONE: "stop" | "length" | "cancelled"; the stop string when one hit. */
    const char *finish;
    const char *stop_word;
    const float *embd;         /* DONE of an embedding task: n_embd floats */
    int n_embd;
    /* ERROR: HTTP-ish status and message. */
    int status;
    const char *message;
    srv_usage usage;
} srv_event;

typedef struct srv_task srv_task;
/* Called on the scheduler thread; must not block for long. */
typedef void (*srv_sink_fn)(srv_task *t, const srv_event *ev);

struct srv_task {
    srv_task_kind kind;
    int index;                 /* choice index within its request */
    int32_t *prompt;           /* owned */
    int32_t n_prompt;
    int32_t n_predict;         /* -1 = until the context is full */
    char **stop;               /* owned strings */
    int n_stop;
    void *sampler;             /* owned until the scheduler takes it */
    int n_top;                 /* top log-probs per token (0 = none) */
    bool want_logprob;
    bool prompt_logprobs;      /* report PROMPT events (disables prefix reuse) */
    bool ignore_eos;
    /* When the slot's context is full: drop the older half of what follows
     * the first n_keep tokens and go on (re-reading the kept tokens) instead
     * of stopping with "length". */
    bool context_shift;
    int32_t n_keep;
    int32_t n_prompt_orig;     /* prompt length reported in usage (shifts replace prompt) */
    atomic_int cancelled;
    srv_sink_fn sink;
    void *user;                /* the srv_req */
    /* scheduler-private */
    srv_task *next;
    uint64_t t_queued_ns;
};

srv_task *srv_task_new(srv_task_kind kind);
void srv_task_free(srv_task *t, srv_engine *e);

/* --------------------------------------------------------- scheduler */
typedef struct srv_sched srv_sched;

typedef struct srv_slot_info {
    int id;
    const char *state;         /* "idle", "prompt", "generating" */
    int32_t n_ctx, n_cached, n_prompt, n_gen;
} srv_slot_info;

typedef struct srv_sched_stats {
    uint64_t prompt_tokens, gen_tokens, cached_tokens;
    double prompt_ms, gen_ms;
    uint64_t requests_done, requests_cancelled, requests_rejected, steps;
    int processing, deferred;
    int32_t kv_used, kv_total;
} srv_sched_stats;

srv_sched *srv_sched_start(srv_engine *e, int n_slots, int queue_max);
/* Stop the thread: every task still queued or running gets its terminal
 * event (cancelled); later submissions are refused. */
void srv_sched_stop(srv_sched *s);
void srv_sched_free(srv_sched *s);
/* Submit all n tasks or none: false when the queue is full (503). */
bool srv_sched_submit(srv_sched *s, srv_task **tasks, int n);
/* Wake the scheduler (a task was cancelled). */
void srv_sched_kick(srv_sched *s);
int32_t srv_sched_n_ctx_slot(const srv_sched *s);
void srv_sched_stats_get(srv_sched *s, srv_sched_stats *out);
/* Fill up to n slot descriptions; returns the slot count. */
int srv_sched_slots(srv_sched *s, srv_slot_info *out, int n);
/* Optional: called each step with the task to see whether its client is gone. */
void srv_sched_set_probe(srv_sched *s, bool (*gone)(srv_task *t));

/* ----------------------------------------------------------- server */
typedef enum { SRV_SHAPE_OPENAI = 0, SRV_SHAPE_ANTHROPIC = 1 } srv_shape;

typedef struct srv_server srv_server;
typedef struct srv_req srv_req;

/* Route output formatting, run under r->mu. on_event is called for every
 * scheduler event of every task of the request; finish once, when all
 * tasks are terminal, must set r->status and r->body (non-stream) or append
 * the closing events (stream). */
typedef struct srv_fmt {
    void (*on_event)(srv_req *r, srv_task *t, const srv_event *ev);
    void (*finish)(srv_req *r);
    void (*free_state)(void *state);
    void *state;
} srv_fmt;

struct srv_req {
    srv_server *srv;
    struct MHD_Connection *conn;
    int fd;
    char method[16];
    char *url;                 /* owned copy (path only) */
    srv_shape shape;
    char *body;                /* request body, NUL-terminated */
    json_t *json;              /* parsed body, borrowed during the route call */
    size_t body_len, body_cap;
    bool too_large, handled, sent;
    /* async part, under mu */
    pthread_mutex_t mu;
    int refs;                  /* connection + scheduler */
    bool stream, suspended, conn_done, all_done, ready;
    int n_tasks, n_done;
    srv_task **tasks;
    char *out;                 /* stream bytes not yet sent */
    size_t out_len, out_cap, out_pos;
    int status;                /* non-stream result */
    char *resp_body;
    srv_fmt fmt;
    uint64_t t_start_ns;
};

struct srv_server {
    srv_config cfg;
    srv_engine *eng;           /* NULL while loading */
    srv_sched *sched;
    struct MHD_Daemon *mhd;
    atomic_int ready;          /* 0 loading, 1 ready, -1 failed */
    int port;
    char *template_src;        /* --chat-template-file contents, or NULL */
    cllm_chat *chat;           /* chat formatting in use (borrowed from the engine, or chat_own) */
    cllm_chat *chat_own;       /* built by srv_attach_engine when the engine has none */
    char chat_err[512];        /* why chat is NULL (a template that does not parse) */
    uint64_t t_start_ns;
    atomic_ullong n_http_requests, n_http_errors;
};

/* http.c */
srv_server *srv_create(const srv_config *cfg, char *err, size_t errlen);
bool srv_listen(srv_server *s, char *err, size_t errlen);
/* Attach an engine (takes ownership) and start the scheduler. */
bool srv_attach_engine(srv_server *s, srv_engine *e, char *err, size_t errlen);
void srv_destroy(srv_server *s);
int srv_port(const srv_server *s);

/* Responses from route handlers (route code never touches MHD directly). */
void srv_reply_json(srv_req *r, int status, json_t *body);          /* steals body */
void srv_reply_text(srv_req *r, int status, const char *ctype, const char *text, size_t len);
void srv_reply_error(srv_req *r, int status, const char *type, const char *param,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Submit tasks and answer asynchronously through fmt. Takes ownership of the
 * tasks and of fmt.state. Replies 503 itself when the queue is full. */
void srv_reply_async(srv_req *r, srv_task **tasks, int n, bool stream, srv_fmt fmt);

/* Stream helpers for formatters (caller holds r->mu). */
void srv_out_append(srv_req *r, const char *data, size_t len);
void srv_out_sse(srv_req *r, const char *event, json_t *data);     /* steals data */
void srv_out_raw(srv_req *r, const char *s);

/* routes */
typedef void (*srv_route_fn)(srv_req *r, json_t *body);
void srv_route_health(srv_req *r, json_t *body);
void srv_route_models(srv_req *r, json_t *body);
void srv_route_props(srv_req *r, json_t *body);
void srv_route_metrics(srv_req *r, json_t *body);
void srv_route_slots(srv_req *r, json_t *body);
void srv_route_tokenize(srv_req *r, json_t *body);
void srv_route_detokenize(srv_req *r, json_t *body);
void srv_route_apply_template(srv_req *r, json_t *body);
void srv_route_completions(srv_req *r, json_t *body);
void srv_route_chat(srv_req *r, json_t *body);
void srv_route_embeddings(srv_req *r, json_t *body);
void srv_route_responses(srv_req *r, json_t *body);
void srv_route_messages(srv_req *r, json_t *body);
void srv_route_count_tokens(srv_req *r, json_t *body);
void srv_route_webui(srv_req *r, json_t *body);

#endif /* CLLM_SERVER_H */
