/* routes_openai.c: OpenAI-compatible generation routes of `cllm serve`:
 * POST /v1/completions, POST /v1/chat/completions (both with SSE streaming,
 * usage and timings) and POST /v1/embeddings. Field reference:
 * docs/server-api.md. */
#include "server/gen_fmt.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- shared bits */
static json_t *usage_json(const gen_state *g) {
    srv_usage u;
    gen_usage(g, &u);
    return json_pack("{s:i, s:i, s:i, s:{s:i}}", "prompt_tokens", u.n_prompt, "completion_tokens",
                     u.n_gen, "total_tokens", u.n_prompt + u.n_gen, "prompt_tokens_details",
                     "cached_tokens", u.n_cached);
}

static void stream_error(srv_req *r, int status, const char *msg) {
    json_t *e = json_pack("{s:{s:s, s:s, s:n, s:i}}", "error", "message", msg, "type",
                          status >= 500 ? "server_error" : "invalid_request_error", "param", "code",
                          status);
    srv_out_sse(r, NULL, e);
}

static const char *finish_name(const gen_choice *c) {
    if (!c->finish || !strcmp(c->finish, "error") || !strcmp(c->finish, "cancelled")) return "stop";
    return c->finish;
}

/* Resolve response_format into a grammar (g->sp.grammar). */
static bool response_format(srv_req *r, json_t *body, srv_gen *g) {
    json_t *rf = json_object_get(body, "response_format");
    if (!rf || json_is_null(rf)) return true;
    const char *type = json_string_value(json_object_get(rf, "type"));
    if (!json_is_object(rf) || !type) {
        srv_reply_error(r, 400, NULL, "response_format", "'response_format' must be an object with a 'type'");
        return false;
    }
    if (!strcmp(type, "text")) return true;
    json_t *schema = NULL;
    if (!strcmp(type, "json_object")) {
        schema = json_incref(json_object_get(rf, "schema"));
        if (!schema) schema = json_pack("{s:s}", "type", "object");
    } else if (!strcmp(type, "json_schema")) {
        json_t *js = json_object_get(rf, "json_schema");
        schema = json_incref(json_object_get(js, "schema"));
        if (!json_is_object(schema)) {
            json_decref(schema);
            srv_reply_error(r, 400, NULL, "response_format",
                            "response_format.json_schema.schema must be an object");
            return false;
        }
    } else {
        srv_reply_error(r, 400, NULL, "response_format",
                        "response_format.type must be text, json_object or json_schema (got '%s')", type);
        return false;
    }
    srv_engine *e = r->srv->eng;
    char *sj = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(schema);
    char err[512] = "this build cannot constrain output to a JSON schema";
    char *gr = (sj && e->schema_to_grammar) ? e->schema_to_grammar(e, sj, err, sizeof err) : NULL;
    free(sj);
    if (!gr) {
        srv_reply_error(r, 400, NULL, "response_format", "unusable JSON schema: %s", err);
        return false;
    }
    free(g->sp.grammar);
    g->sp.grammar = gr;
    return true;
}

/* ------------------------------------------------------- completions */
static json_t *cmpl_logprobs(const gen_choice *c) {
    if (!c->lp_tokens) return json_null();
    return json_pack("{s:O, s:O, s:O, s:O}", "tokens", c->lp_tokens, "token_logprobs", c->lp_vals,
                     "top_logprobs", c->lp_top, "text_offset", c->lp_off);
}

static json_t *cmpl_chunk(gen_state *g, int i, json_t *text, json_t *lp, json_t *finish) {
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:o, s:i, s:o, s:o}]}", "id", g->id, "object",
                     "text_completion", "created", (json_int_t)g->created, "model", g->model, "choices", "text",
                     text, "index", i, "logprobs", lp ? lp : json_null(), "finish_reason",
                     finish ? finish : json_null());
}

static void cmpl_delta(gen_state *g, srv_req *r, int i, bool reasoning, const char *text, size_t len,
                       json_t *ent) {
    (void)reasoning;
    gen_choice *c = &g->ch[i];
    json_t *lp = NULL;
    if (ent) {
        json_t *topd = json_array_get(c->lp_top, json_array_size(c->lp_top) - 1);
        lp = json_pack("{s:[O], s:[O], s:[O], s:[O]}", "tokens", json_object_get(ent, "token"),
                       "token_logprobs", json_object_get(ent, "logprob"), "top_logprobs", topd,
                       "text_offset", json_array_get(c->lp_off, json_array_size(c->lp_off) - 1));
    }
    json_t *t;
    if (!c->started && g->echo_text) {
        char *both = NULL;
        size_t bl = 0, bc = 0;
        srv_buf_append(&both, &bl, &bc, g->echo_text, strlen(g->echo_text));
        srv_buf_append(&both, &bl, &bc, text, len);
        t = srv_jstr(both, bl);
        free(both);
    } else {
        t = srv_jstr(text, len);
    }
    c->started = true;
    srv_out_sse(r, NULL, cmpl_chunk(g, i, t, lp, NULL));
}

/* End of a stream: the error event, or the usage chunk when asked, then [DONE].
 * object is the chunk's "object" name of the route. */
static void finish_stream(gen_state *g, srv_req *r, int st, const char *msg, const char *object) {
    if (st) stream_error(r, st, msg);
    else if (g->include_usage) {
        json_t *u = json_pack("{s:s, s:s, s:I, s:s, s:[], s:o, s:o}", "id", g->id, "object", object,
                              "created", (json_int_t)g->created, "model", g->model, "choices", "usage",
                              usage_json(g), "timings", gen_timings_json(g));
        srv_out_sse(r, NULL, u);
    }
    srv_out_raw(r, "data: [DONE]\n\n");
}

/* OpenAI error body for a failed (non-streamed) generation. */
static json_t *error_body(int st, const char *msg) {
    return json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", msg, "type",
                     st >= 500 ? "server_error" : "invalid_request_error", "param", "code");
}

static void cmpl_choice_done(gen_state *g, srv_req *r, int i) {
    gen_choice *c = &g->ch[i];
    if (c->err_status) return;
    if (!c->started && g->echo_text) cmpl_delta(g, r, i, false, "", 0, NULL);
    srv_out_sse(r, NULL, cmpl_chunk(g, i, json_string(""), NULL, json_string(finish_name(c))));
}

static void cmpl_finish(gen_state *g, srv_req *r) {
    const char *msg = NULL;
    int st = gen_error(g, &msg);
    if (g->stream) {
        finish_stream(g, r, st, msg, "text_completion");
        return;
    }
    json_t *body;
    if (st) {
        r->status = st;
        body = error_body(st, msg);
    } else {
        json_t *choices = json_array();
        for (int i = 0; i < g->n; i++) {
            gen_choice *c = &g->ch[i];
            char *txt = NULL;
            size_t tl = 0, tc = 0;
            if (g->echo_text) srv_buf_append(&txt, &tl, &tc, g->echo_text, strlen(g->echo_text));
            srv_buf_append(&txt, &tl, &tc, c->content ? c->content : "", c->clen);
            json_array_append_new(choices, json_pack("{s:o, s:i, s:o, s:s}", "text", srv_jstr(txt, tl),
                                                     "index", i, "logprobs", cmpl_logprobs(c),
                                                     "finish_reason", finish_name(c)));
            free(txt);
        }
        body = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:o}", "id", g->id, "object",
                         "text_completion", "created", (json_int_t)g->created, "model", g->model, "choices",
                         choices, "usage", usage_json(g), "timings", gen_timings_json(g));
        r->status = 200;
    }
    r->resp_body = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(body);
}

void srv_route_completions(srv_req *r, json_t *body) {
    srv_engine *e = r->srv->eng;
    json_t *prompt = json_object_get(body, "prompt");
    int32_t *toks = NULL, n_toks = 0;
    const char *prompt_text = NULL;
    if (json_is_array(prompt) && json_array_size(prompt) == 1 &&
        json_is_string(json_array_get(prompt, 0)))
        prompt = json_array_get(prompt, 0);
    if (json_is_array(prompt) && json_array_size(prompt) > 1 && !json_is_integer(json_array_get(prompt, 0))) {
        srv_reply_error(r, 400, NULL, "prompt",
                        "'prompt' holds %zu prompts; this server takes one per request (send one request each)",
                        json_array_size(prompt));
        return;
    }
    if (json_is_string(prompt)) {
        prompt_text = json_string_value(prompt);
        if (!srv_tokenize(r, prompt_text, json_string_length(prompt), e->add_bos, true, &toks, &n_toks))
            return;
    } else if (json_is_array(prompt) && json_array_size(prompt) > 0) {
        size_t n = json_array_size(prompt);
        toks = malloc(sizeof *toks * n);
        if (!toks) { srv_reply_error(r, 500, NULL, NULL, "out of memory"); return; }
        size_t i;
        json_t *v;
        json_array_foreach(prompt, i, v) {
            json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
            if (id < 0 || id >= e->n_vocab) {
                free(toks);
                srv_reply_error(r, 400, NULL, "prompt",
                                "prompt[%zu] must be a token id in [0, %d) (or prompt a string)", i,
                                e->n_vocab);
                return;
            }
            toks[n_toks++] = (int32_t)id;
        }
    } else {
        srv_reply_error(r, 400, NULL, "prompt",
                        "'prompt' must be a string, one string in an array, or an array of token ids");
        return;
    }
    srv_gen g;
    srv_gen_init(&g);
    g.n_predict = 16; /* OpenAI's default for completions */
    bool echo = false;
    int64_t lp = -1;
    if (!srv_gen_parse(r, body, &g, false) || !srv_get_bool(r, body, "echo", &echo) ||
        !srv_get_int(r, body, "logprobs", 0, SRV_MAX_TOP, &lp)) {
        free(toks);
        srv_gen_clear(&g);
        return;
    }
    if (g.n_predict < 0) g.n_predict = -1;
    g.logprobs = lp >= 0;
    g.top_logprobs = lp > 0 ? (int)lp : 0;
    srv_task *tasks[16];
    if (!srv_gen_tasks(r, &g, toks, n_toks, tasks)) {
        free(toks);
        srv_gen_clear(&g);
        return;
    }
    gen_state *st = gen_state_new(r, g.n, g.stream, "cmpl-");
    if (!st) {
        for (int i = 0; i < g.n; i++) srv_task_free(tasks[i], e);
        free(toks);
        srv_gen_clear(&g);
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        return;
    }
    st->raw = true;
    if (echo && g.logprobs && !g.stream) {
        /* log-probs of the prompt tokens too (evaluation harnesses score
         * prompts this way, usually with max_tokens 0) */
        for (int i = 0; i < g.n; i++) tasks[i]->prompt_logprobs = true;
        st->first_tok = toks[0];
    }
    st->include_usage = g.include_usage;
    st->logprobs = g.logprobs;
    st->top_logprobs = g.top_logprobs;
    st->n_prompt = n_toks;
    if (echo) {
        if (prompt_text) {
            st->echo_text = strdup(prompt_text);
        } else if (e->detokenize) {
            size_t tl = 0;
            char *raw = e->detokenize(e, toks, n_toks, &tl);
            char *b = NULL;
            size_t bl = 0, bc = 0;
            srv_buf_append(&b, &bl, &bc, raw ? raw : "", raw ? tl : 0);
            free(raw);
            st->echo_text = b ? b : strdup("");
        } else {
            char *b = NULL;
            size_t bl = 0, bc = 0;
            for (int32_t i = 0; i < n_toks; i++) {
                char piece[256];
                int32_t m = e->piece(e, toks[i], piece, sizeof piece, false);
                if (m > 0) srv_buf_append(&b, &bl, &bc, piece, (size_t)m);
            }
            st->echo_text = b ? b : strdup("");
        }
    }
    st->ops = (gen_ops){cmpl_delta, cmpl_choice_done, cmpl_finish};
    free(toks);
    bool stream = g.stream;
    int n = g.n;
    srv_gen_clear(&g);
    srv_reply_async(r, tasks, n, stream, gen_fmt(st));
}

/* -------------------------------------------------------------- chat */
static json_t *chat_chunk(gen_state *g, int i, json_t *delta, json_t *lp, const char *finish) {
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:[{s:i, s:o, s:o, s:o}]}", "id", g->id, "object",
                     "chat.completion.chunk", "created", (json_int_t)g->created, "model", g->model,
                     "system_fingerprint", "cllm", "choices", "index", i, "delta", delta, "logprobs",
                     lp ? lp : json_null(), "finish_reason", finish ? json_string(finish) : json_null());
}

static void chat_start(gen_state *g, srv_req *r, int i) {
    gen_choice *c = &g->ch[i];
    if (c->started) return;
    c->started = true;
    srv_out_sse(r, NULL, chat_chunk(g, i, json_pack("{s:s, s:s}", "role", "assistant", "content", ""),
                                    NULL, NULL));
}

static void chat_delta(gen_state *g, srv_req *r, int i, bool reasoning, const char *text, size_t len,
                       json_t *ent) {
    chat_start(g, r, i);
    json_t *d = json_object();
    json_object_set_new(d, reasoning ? "reasoning_content" : "content", srv_jstr(text, len));
    json_t *lp = ent ? json_pack("{s:[O]}", "content", ent) : NULL;
    srv_out_sse(r, NULL, chat_chunk(g, i, d, lp, NULL));
}

static json_t *tool_calls_json(json_t *calls, bool with_index) {
    json_t *a = json_array();
    size_t k;
    json_t *tc;
    json_array_foreach(calls, k, tc) {
        json_t *o = json_pack("{s:O, s:s, s:{s:O, s:O}}", "id", json_object_get(tc, "id"), "type",
                              "function", "function", "name", json_object_get(tc, "name"),
                              "arguments", json_object_get(tc, "arguments"));
        if (with_index) json_object_set_new(o, "index", json_integer((json_int_t)k));
        json_array_append_new(a, o);
    }
    return a;
}

static void chat_choice_done(gen_state *g, srv_req *r, int i) {
    gen_choice *c = &g->ch[i];
    if (c->err_status || (c->finish && !strcmp(c->finish, "cancelled"))) return;
    chat_start(g, r, i);
    if (c->split.tool_calls)
        srv_out_sse(r, NULL, chat_chunk(g, i, json_pack("{s:o}", "tool_calls",
                                                        tool_calls_json(c->split.tool_calls, true)),
                                        NULL, NULL));
    srv_out_sse(r, NULL, chat_chunk(g, i, json_object(), NULL, finish_name(c)));
}

static void chat_finish(gen_state *g, srv_req *r) {
    const char *msg = NULL;
    int st = gen_error(g, &msg);
    if (g->stream) {
        finish_stream(g, r, st, msg, "chat.completion.chunk");
        return;
    }
    json_t *body;
    if (st) {
        r->status = st;
        body = error_body(st, msg);
    } else {
        json_t *choices = json_array();
        for (int i = 0; i < g->n; i++) {
            gen_choice *c = &g->ch[i];
            json_t *m = json_pack("{s:s, s:o}", "role", "assistant", "content",
                                  c->split.tool_calls && !c->clen ? json_null()
                                                                  : srv_jstr(c->content, c->clen));
            if (c->rlen) json_object_set_new(m, "reasoning_content", srv_jstr(c->reasoning, c->rlen));
            if (c->split.tool_calls)
                json_object_set_new(m, "tool_calls", tool_calls_json(c->split.tool_calls, false));
            json_t *lp = c->lp ? json_pack("{s:O}", "content", c->lp) : json_null();
            json_array_append_new(choices, json_pack("{s:i, s:o, s:o, s:s}", "index", i, "message", m,
                                                     "logprobs", lp, "finish_reason", finish_name(c)));
        }
        body = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o}", "id", g->id, "object",
                         "chat.completion", "created", (json_int_t)g->created, "model", g->model,
                         "system_fingerprint", "cllm", "choices", choices, "usage", usage_json(g),
                         "timings", gen_timings_json(g));
        r->status = 200;
    }
    r->resp_body = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(body);
}

/* tool_choice: none | auto | required | {"type":"function","function":{"name"}}.
 * Sets *use_tools, *force and *only (borrowed name). */
static bool tool_choice(srv_req *r, json_t *body, json_t *tools, bool *use_tools, bool *force,
                        const char **only) {
    json_t *tc = json_object_get(body, "tool_choice");
    *use_tools = tools != NULL;
    *force = false;
    *only = NULL;
    if (!tc || json_is_null(tc)) return true;
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        if (!strcmp(s, "none")) { *use_tools = false; return true; }
        if (!strcmp(s, "auto")) return true;
        if (!strcmp(s, "required")) {
            if (!tools) goto no_tools;
            *force = true;
            return true;
        }
        srv_reply_error(r, 400, NULL, "tool_choice",
                        "'tool_choice' must be none, auto, required or a named function (got '%s')", s);
        return false;
    }
    const char *name = json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
    if (!json_is_object(tc) || !name) {
        srv_reply_error(r, 400, NULL, "tool_choice",
                        "'tool_choice' object must be {\"type\":\"function\",\"function\":{\"name\":...}}");
        return false;
    }
    if (!tools) goto no_tools;
    *force = true;
    *only = name;
    return true;
no_tools:
    srv_reply_error(r, 400, NULL, "tool_choice", "'tool_choice' requires a non-empty 'tools' array");
    return false;
}

/* Shared by chat and the other chat-shaped routes: tokenized prompt from
 * normalized messages; adds the tool grammar when forced. */
bool srv_chat_prepare(srv_req *r, json_t *messages, json_t *tools, bool use_tools, bool force,
                      const char *only, bool parallel, srv_gen *g, int32_t **toks, int32_t *n_toks) {
    srv_engine *e = r->srv->eng;
    if (force) {
        char err[512] = "";
        char *gr = srv_tool_grammar(e, tools, only, parallel, err, sizeof err);
        if (!gr) {
            srv_reply_error(r, 400, NULL, "tool_choice", "cannot force a tool call: %s", err);
            return false;
        }
        free(g->sp.grammar);
        g->sp.grammar = gr;
    }
    cllm_chat_result res;
    if (!srv_render_chat(r, messages, use_tools ? tools : NULL, true, &res)) return false;
    if (force && use_tools && res.format == CLLM_CHAT_FORMAT_GENERIC) {
        /* A template without native tools gets them emulated (a tool list and
         * JSON-reply rules in the prompt). Under the forced-call grammar the
         * reply is that JSON anyway, so spare the context: render without. */
        cllm_chat_result_clear(&res);
        if (!srv_render_chat(r, messages, NULL, true, &res)) return false;
    }
    /* the forced-call grammar makes the reply one bare JSON call (or array) */
    g->chat_format = force ? CLLM_CHAT_FORMAT_GENERIC : res.format;
    g->parse_flags = res.parser_flags;
    if (res.thinking_open) g->parse_flags |= CLLM_CHAT_PARSE_THINKING_OPEN;
    bool ok = srv_tokenize(r, res.prompt, strlen(res.prompt), e->add_bos && !res.starts_with_bos, true, toks, n_toks);
    cllm_chat_result_clear(&res);
    return ok;
}

void srv_route_chat(srv_req *r, json_t *body) {
    srv_engine *e = r->srv->eng;
    json_t *tools = NULL;
    if (!srv_check_tools(r, json_object_get(body, "tools"), &tools)) return;
    bool use_tools, force, parallel = false;
    const char *only;
    if (!tool_choice(r, body, tools, &use_tools, &force, &only)) return;
    if (!srv_get_bool(r, body, "parallel_tool_calls", &parallel)) return;
    json_t *msgs = srv_normalize_messages(r, json_object_get(body, "messages"));
    if (!msgs) return;
    srv_gen g;
    srv_gen_init(&g);
    bool lp = false;
    int64_t top = 0;
    int32_t *toks = NULL, n_toks = 0;
    if (!srv_gen_parse(r, body, &g, false) || !srv_get_bool(r, body, "logprobs", &lp) ||
        !srv_get_int(r, body, "top_logprobs", 0, SRV_MAX_TOP, &top) || !response_format(r, body, &g))
        goto out;
    if (top > 0 && !lp) {
        srv_reply_error(r, 400, NULL, "top_logprobs", "'top_logprobs' needs 'logprobs': true");
        goto out;
    }
    if (force && g.sp.grammar && !json_object_get(body, "tool_choice")) force = false;
    if (force && g.sp.grammar) {
        srv_reply_error(r, 400, NULL, "response_format",
                        "'response_format' cannot be combined with a required tool call");
        goto out;
    }
    g.logprobs = lp;
    g.top_logprobs = (int)top;
    if (!srv_chat_prepare(r, msgs, tools, use_tools, force, only, parallel, &g, &toks, &n_toks))
        goto out;
    srv_task *tasks[16];
    if (!srv_gen_tasks(r, &g, toks, n_toks, tasks)) goto out;
    gen_state *st = gen_state_new(r, g.n, g.stream, "chatcmpl-");
    if (!st) {
        for (int i = 0; i < g.n; i++) srv_task_free(tasks[i], e);
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        goto out;
    }
    st->include_usage = g.include_usage;
    st->logprobs = g.logprobs;
    st->top_logprobs = g.top_logprobs;
    st->n_prompt = n_toks;
    for (int i = 0; i < g.n; i++) srv_split_init(&st->ch[i].split, use_tools, force, g.chat_format, g.parse_flags);
    st->ops = (gen_ops){chat_delta, chat_choice_done, chat_finish};
    srv_reply_async(r, tasks, g.n, g.stream, gen_fmt(st));
out:
    free(toks);
    json_decref(msgs);
    srv_gen_clear(&g);
}

/* -------------------------------------------------------- embeddings */
typedef struct embd_state {
    int n;
    float **vec;
    int n_embd;
    bool b64;
    int32_t n_tokens;
    int err_status;
    char err[256];
} embd_state;

static void embd_free(void *p) {
    embd_state *s = p;
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->vec[i]);
    free(s->vec);
    free(s);
}

static void embd_event(srv_req *r, srv_task *t, const srv_event *ev) {
    embd_state *s = r->fmt.state;
    if (ev->type == SRV_EV_ERROR || (ev->type == SRV_EV_DONE && !ev->embd)) {
        if (!s->err_status) {
            s->err_status = ev->type == SRV_EV_ERROR ? ev->status : 503;
            snprintf(s->err, sizeof s->err, "%s", ev->message ? ev->message : "request cancelled");
        }
        return;
    }
    if (ev->type != SRV_EV_DONE || t->index >= s->n) return;
    float *v = malloc(sizeof(float) * (size_t)ev->n_embd);
    if (!v) return;
    double ss = 0;
    for (int k = 0; k < ev->n_embd; k++) ss += (double)ev->embd[k] * ev->embd[k];
    double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
    for (int k = 0; k < ev->n_embd; k++) v[k] = (float)(ev->embd[k] * inv);
    s->vec[t->index] = v;
    s->n_embd = ev->n_embd;
}

static char *base64(const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc((n + 2) / 3 * 4 + 1), *q = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *q++ = tab[v >> 18 & 63];
        *q++ = tab[v >> 12 & 63];
        *q++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *q++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *q = 0;
    return o;
}

static void embd_finish(srv_req *r) {
    embd_state *s = r->fmt.state;
    json_t *body;
    if (s->err_status) {
        r->status = s->err_status;
        body = json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", s->err, "type",
                         "server_error", "param", "code");
    } else {
        json_t *data = json_array();
        for (int i = 0; i < s->n; i++) {
            json_t *emb;
            if (s->b64) {
                char *b = base64((const unsigned char *)s->vec[i], sizeof(float) * (size_t)s->n_embd);
                emb = json_string(b ? b : "");
                free(b);
            } else {
                emb = json_array();
                for (int k = 0; k < s->n_embd; k++) json_array_append_new(emb, json_real(s->vec[i][k]));
            }
            json_array_append_new(data, json_pack("{s:s, s:i, s:o}", "object", "embedding", "index", i,
                                                  "embedding", emb));
        }
        body = json_pack("{s:s, s:o, s:s, s:{s:i, s:i}}", "object", "list", "data", data, "model",
                         r->srv->eng->model_id, "usage", "prompt_tokens", s->n_tokens, "total_tokens",
                         s->n_tokens);
        r->status = 200;
    }
    r->resp_body = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(body);
}

void srv_route_embeddings(srv_req *r, json_t *body) {
    srv_server *srv = r->srv;
    srv_engine *e = srv->eng;
    if (!srv->cfg.embeddings || !e->embeddings) {
        srv_reply_error(r, 501, "not_supported_error", NULL,
                        "this server does not compute embeddings; start it with --embeddings");
        return;
    }
    json_t *input = json_object_get(body, "input");
    if (!input) input = json_object_get(body, "content");
    const char *fmt = "float";
    if (!srv_get_str(r, body, "encoding_format", &fmt)) return;
    if (strcmp(fmt, "float") && strcmp(fmt, "base64")) {
        srv_reply_error(r, 400, NULL, "encoding_format", "'encoding_format' must be float or base64");
        return;
    }
    /* Normalize to a list of items, each a string or an array of ids. */
    json_t *items;
    if (json_is_string(input)) items = json_pack("[O]", input);
    else if (json_is_array(input) && json_array_size(input) && json_is_integer(json_array_get(input, 0)))
        items = json_pack("[O]", input);
    else if (json_is_array(input) && json_array_size(input)) items = json_incref(input);
    else {
        srv_reply_error(r, 400, NULL, "input",
                        "'input' must be a string, an array of strings, or token id arrays (non-empty)");
        return;
    }
    size_t n = json_array_size(items);
    int cap = srv->cfg.queue_max + srv->cfg.n_slots;
    if (n > 256 || (int)n > cap) {
        json_decref(items);
        srv_reply_error(r, 400, NULL, "input", "'input' has %zu items; at most %d per request", n,
                        cap < 256 ? cap : 256);
        return;
    }
    srv_task **tasks = calloc(n, sizeof *tasks);
    embd_state *st = calloc(1, sizeof *st);
    float **vec = calloc(n, sizeof *vec);
    if (!tasks || !st || !vec) {
        free(tasks), free(st), free(vec);
        json_decref(items);
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        return;
    }
    st->vec = vec;
    st->n = (int)n;
    st->b64 = !strcmp(fmt, "base64");
    int32_t limit = srv_sched_n_ctx_slot(srv->sched);
    if (e->n_batch < limit) limit = e->n_batch;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        int32_t *toks = NULL, nt = 0;
        if (json_is_string(it)) {
            if (!srv_tokenize(r, json_string_value(it), json_string_length(it), true, false, &toks, &nt))
                goto fail;
        } else if (json_is_array(it) && json_array_size(it)) {
            toks = malloc(sizeof *toks * json_array_size(it));
            size_t k;
            json_t *v;
            json_array_foreach(it, k, v) {
                json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
                if (id < 0 || id >= e->n_vocab) {
                    free(toks);
                    srv_reply_error(r, 400, NULL, "input", "input[%zu][%zu] is not a token id in [0, %d)", i, k,
                                    e->n_vocab);
                    goto fail;
                }
                toks[nt++] = (int32_t)id;
            }
        } else {
            srv_reply_error(r, 400, NULL, "input", "input[%zu] must be a string or an array of token ids", i);
            goto fail;
        }
        if (nt == 0 || nt > limit) {
            free(toks);
            srv_reply_error(r, 400, NULL, "input", "input[%zu] has %d tokens; it must have 1..%d", i, nt, limit);
            goto fail;
        }
        srv_task *t = srv_task_new(SRV_TASK_EMBEDDING);
        if (!t) { free(toks); srv_reply_error(r, 500, NULL, NULL, "out of memory"); goto fail; }
        t->prompt = toks;
        t->n_prompt = nt;
        t->index = (int)i;
        tasks[i] = t;
        st->n_tokens += nt;
    }
    json_decref(items);
    srv_fmt f = {embd_event, embd_finish, embd_free, st};
    srv_reply_async(r, tasks, (int)n, false, f);
    free(tasks);
    return;
fail:
    for (size_t k = 0; k < n; k++) srv_task_free(tasks[k], e);
    free(tasks);
    embd_free(st);
    json_decref(items);
}
