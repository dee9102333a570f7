/* routes_anthropic.c: Anthropic-compatible routes of `cllm serve`:
 * POST /v1/messages (text, tool_use and tool_result blocks, tools,
 * tool_choice, stop_sequences, streaming events) and
 * POST /v1/messages/count_tokens. Requests are converted to the OpenAI-shaped
 * messages the chat template takes; errors use Anthropic's error shape. */
#include "server/gen_fmt.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

/* Text of a content that is a string or an array of text blocks. */
static bool text_of(srv_req *r, json_t *c, const char *where, char **out) {
    char *b = NULL;
    size_t len = 0, cap = 0;
    if (json_is_string(c)) {
        srv_buf_append(&b, &len, &cap, json_string_value(c), json_string_length(c));
    } else if (json_is_array(c)) {
        size_t i;
        json_t *blk;
        json_array_foreach(c, i, blk) {
            const char *type = json_string_value(json_object_get(blk, "type"));
            json_t *t = json_object_get(blk, "text");
            if (!type || strcmp(type, "text") || !json_is_string(t)) {
                free(b);
                srv_reply_error(r, 400, NULL, NULL, "%s[%zu] must be a text block {\"type\":\"text\",\"text\":...}",
                                where, i);
                return false;
            }
            if (len) srv_buf_append(&b, &len, &cap, "\n", 1);
            srv_buf_append(&b, &len, &cap, json_string_value(t), json_string_length(t));
        }
    } else if (c && !json_is_null(c)) {
        srv_reply_error(r, 400, NULL, NULL, "%s must be a string or an array of text blocks", where);
        return false;
    }
    *out = b ? b : strdup("");
    return true;
}

/* Anthropic request -> OpenAI-shaped messages (before normalization). */
static json_t *convert_messages(srv_req *r, json_t *body) {
    json_t *out = json_array();
    json_t *sys = json_object_get(body, "system");
    if (sys && !json_is_null(sys)) {
        char *s;
        if (!text_of(r, sys, "system", &s)) goto fail;
        json_array_append_new(out, json_pack("{s:s, s:s}", "role", "system", "content", s));
        free(s);
    }
    json_t *msgs = json_object_get(body, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
        srv_reply_error(r, 400, NULL, NULL, "'messages' must be a non-empty array");
        goto fail;
    }
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!json_is_object(m) || !role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
            srv_reply_error(r, 400, NULL, NULL, "messages[%zu].role must be 'user' or 'assistant'", i);
            goto fail;
        }
        json_t *content = json_object_get(m, "content");
        if (json_is_string(content)) {
            json_array_append_new(out, json_pack("{s:s, s:O}", "role", role, "content", content));
            continue;
        }
        if (!json_is_array(content)) {
            srv_reply_error(r, 400, NULL, NULL, "messages[%zu].content must be a string or an array of blocks", i);
            goto fail;
        }
        char *text = NULL;
        size_t tl = 0, tc = 0;
        json_t *calls = json_array();
        json_t *results = json_array();
        size_t k;
        json_t *blk;
        bool ok = true;
        json_array_foreach(content, k, blk) {
            const char *type = json_string_value(json_object_get(blk, "type"));
            if (type && !strcmp(type, "text") && json_is_string(json_object_get(blk, "text"))) {
                json_t *t = json_object_get(blk, "text");
                srv_buf_append(&text, &tl, &tc, json_string_value(t), json_string_length(t));
            } else if (type && !strcmp(type, "thinking")) {
                continue;
            } else if (type && !strcmp(type, "tool_use") && !strcmp(role, "assistant") &&
                       json_is_string(json_object_get(blk, "name"))) {
                json_t *input = json_object_get(blk, "input");
                char *args = json_is_object(input) ? json_dumps(input, JSON_COMPACT) : strdup("{}");
                json_t *id = json_object_get(blk, "id");
                json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:O, s:s}}", "id",
                                                       json_is_string(id) ? json_string_value(id) : "call",
                                                       "type", "function", "function", "name",
                                                       json_object_get(blk, "name"), "arguments",
                                                       args ? args : "{}"));
                free(args);
            } else if (type && !strcmp(type, "tool_result") && !strcmp(role, "user") &&
                       json_is_string(json_object_get(blk, "tool_use_id"))) {
                char *rt;
                char where[96];
                snprintf(where, sizeof where, "messages[%zu].content[%zu].content", i, k);
                if (!text_of(r, json_object_get(blk, "content"), where, &rt)) { ok = false; break; }
                json_array_append_new(results, json_pack("{s:s, s:O, s:s}", "role", "tool", "tool_call_id",
                                                         json_object_get(blk, "tool_use_id"), "content", rt));
                free(rt);
            } else {
                srv_reply_error(r, 400, NULL, NULL,
                                "messages[%zu].content[%zu]: unsupported block (type '%s' in a %s message)",
                                i, k, type ? type : "(none)", role);
                ok = false;
                break;
            }
        }
        if (ok) {
            json_array_extend(out, results);
            if (tl || json_array_size(calls) || !json_array_size(results)) {
                json_t *nm = json_pack("{s:s, s:o}", "role", role, "content", srv_jstr(text, tl));
                if (json_array_size(calls)) json_object_set(nm, "tool_calls", calls);
                json_array_append_new(out, nm);
            }
        }
        free(text);
        json_decref(calls);
        json_decref(results);
        if (!ok) goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* Anthropic tools -> OpenAI tools (NULL when none). false after a 400. */
static bool convert_tools(srv_req *r, json_t *body, json_t **out) {
    *out = NULL;
    json_t *tools = json_object_get(body, "tools");
    if (!tools || json_is_null(tools)) return true;
    if (!json_is_array(tools)) {
        srv_reply_error(r, 400, NULL, NULL, "'tools' must be an array");
        return false;
    }
    json_t *a = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *name = json_object_get(t, "name");
        json_t *schema = json_object_get(t, "input_schema");
        if (!json_is_string(name) || (schema && !json_is_object(schema))) {
            json_decref(a);
            srv_reply_error(r, 400, NULL, NULL, "tools[%zu] needs a string 'name' and an object 'input_schema'", i);
            return false;
        }
        json_t *fn = json_pack("{s:O, s:O}", "name", name, "parameters",
                               schema ? schema : json_pack("{s:s}", "type", "object"));
        json_t *d = json_object_get(t, "description");
        if (json_is_string(d)) json_object_set(fn, "description", d);
        json_array_append_new(a, json_pack("{s:s, s:o}", "type", "function", "function", fn));
    }
    if (json_array_size(a)) *out = a;
    else json_decref(a);
    return true;
}

static json_t *usage_json(const gen_state *g) {
    srv_usage u;
    gen_usage(g, &u);
    return json_pack("{s:i, s:i, s:i, s:i}", "input_tokens", u.n_prompt - u.n_cached, "output_tokens",
                     u.n_gen, "cache_read_input_tokens", u.n_cached, "cache_creation_input_tokens", 0);
}

static const char *stop_reason(const gen_choice *c) {
    if (c->split.tool_calls) return "tool_use";
    if (c->finish && !strcmp(c->finish, "length")) return "max_tokens";
    if (c->stop_word) return "stop_sequence";
    return "end_turn";
}

static json_t *tool_use_block(json_t *tc) {
    json_t *input = json_loads(json_string_value(json_object_get(tc, "arguments")), 0, NULL);
    if (!json_is_object(input)) { json_decref(input); input = json_object(); }
    return json_pack("{s:s, s:O, s:O, s:o}", "type", "tool_use", "id", json_object_get(tc, "id"), "name",
                     json_object_get(tc, "name"), "input", input);
}

static void ev(srv_req *r, const char *type, json_t *data) {
    json_object_set_new(data, "type", json_string(type));
    srv_out_sse(r, type, data);
}

static void msg_start(gen_state *g, srv_req *r, gen_choice *c) {
    if (c->started) return;
    c->started = true;
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:{s:i, s:i}}", "id", g->id, "type",
                          "message", "role", "assistant", "model", g->model, "content", "stop_reason",
                          "stop_sequence", "usage", "input_tokens", g->n_prompt, "output_tokens", 0);
    ev(r, "message_start", json_pack("{s:o}", "message", m));
}

static void block_close(srv_req *r, gen_choice *c) {
    if (!c->kind) return;
    ev(r, "content_block_stop", json_pack("{s:i}", "index", c->block));
    c->kind = 0;
    c->block++;
}

static void msg_delta(gen_state *g, srv_req *r, int i, bool reasoning, const char *text, size_t len,
                      json_t *ent) {
    (void)ent;
    gen_choice *c = &g->ch[i];
    msg_start(g, r, c);
    if (!len) return;
    int want = reasoning ? 2 : 1;
    if (c->kind != want) {
        block_close(r, c);
        json_t *blk = reasoning ? json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", "", "signature", "")
                                : json_pack("{s:s, s:s}", "type", "text", "text", "");
        ev(r, "content_block_start", json_pack("{s:i, s:o}", "index", c->block, "content_block", blk));
        c->kind = want;
    }
    json_t *d = reasoning ? json_pack("{s:s, s:o}", "type", "thinking_delta", "thinking", srv_jstr(text, len))
                          : json_pack("{s:s, s:o}", "type", "text_delta", "text", srv_jstr(text, len));
    ev(r, "content_block_delta", json_pack("{s:i, s:o}", "index", c->block, "delta", d));
}

static void msg_choice_done(gen_state *g, srv_req *r, int i) {
    gen_choice *c = &g->ch[i];
    if (c->err_status || (c->finish && !strcmp(c->finish, "cancelled"))) return;
    msg_start(g, r, c);
    block_close(r, c);
    size_t k;
    json_t *tc;
    json_array_foreach(c->split.tool_calls, k, tc) {
        json_t *blk = tool_use_block(tc);
        json_object_set_new(blk, "input", json_object());
        ev(r, "content_block_start", json_pack("{s:i, s:o}", "index", c->block, "content_block", blk));
        ev(r, "content_block_delta",
           json_pack("{s:i, s:{s:s, s:O}}", "index", c->block, "delta", "type", "input_json_delta",
                     "partial_json", json_object_get(tc, "arguments")));
        ev(r, "content_block_stop", json_pack("{s:i}", "index", c->block));
        c->block++;
    }
    json_t *delta = json_pack("{s:s, s:o}", "stop_reason", stop_reason(c), "stop_sequence",
                              c->stop_word ? json_string(c->stop_word) : json_null());
    ev(r, "message_delta", json_pack("{s:o, s:o}", "delta", delta, "usage", usage_json(g)));
}

static void msg_finish(gen_state *g, srv_req *r) {
    const char *msg = NULL;
    int st = gen_error(g, &msg);
    if (g->stream) {
        if (st) {
            ev(r, "error", json_pack("{s:{s:s, s:s}}", "error", "type", st >= 500 ? "api_error" : "invalid_request_error",
                                     "message", msg));
            return;
        }
        ev(r, "message_stop", json_object());
        return;
    }
    json_t *body;
    if (st) {
        r->status = st;
        body = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
                         st >= 500 ? (st == 503 ? "overloaded_error" : "api_error") : "invalid_request_error",
                         "message", msg);
    } else {
        gen_choice *c = &g->ch[0];
        json_t *content = json_array();
        if (c->rlen)
            json_array_append_new(content, json_pack("{s:s, s:o, s:s}", "type", "thinking", "thinking",
                                                     srv_jstr(c->reasoning, c->rlen), "signature", ""));
        if (c->clen || !c->split.tool_calls)
            json_array_append_new(content, json_pack("{s:s, s:o}", "type", "text", "text",
                                                     srv_jstr(c->content, c->clen)));
        size_t k;
        json_t *tc;
        json_array_foreach(c->split.tool_calls, k, tc) json_array_append_new(content, tool_use_block(tc));
        body = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "id", g->id, "type", "message",
                         "role", "assistant", "model", g->model, "content", content, "stop_reason",
                         stop_reason(c), "stop_sequence", c->stop_word ? json_string(c->stop_word) : json_null(),
                         "usage", usage_json(g), "timings", gen_timings_json(g));
        r->status = 200;
    }
    r->resp_body = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(body);
}

/* Shared by messages and count_tokens: prompt tokens of the request. */
static bool prepare(srv_req *r, json_t *body, srv_gen *g, bool *use_tools, bool *force,
                    int32_t **toks, int32_t *n_toks) {
    json_t *tools = NULL, *raw = NULL, *msgs = NULL;
    bool ok = false;
    if (!convert_tools(r, body, &tools)) return false;
    *use_tools = tools != NULL;
    *force = false;
    const char *only = NULL;
    /* A forced call is one tool_use block (tiny models rarely close an array). */
    bool parallel = false;
    json_t *tc = json_object_get(body, "tool_choice");
    if (tc && !json_is_null(tc)) {
        const char *type = json_string_value(json_object_get(tc, "type"));
        if (!json_is_object(tc) || !type) {
            srv_reply_error(r, 400, NULL, NULL, "'tool_choice' must be an object with a 'type'");
            goto out;
        }
        if (!strcmp(type, "none")) *use_tools = false;
        else if (!strcmp(type, "any")) *force = true;
        else if (!strcmp(type, "tool")) {
            only = json_string_value(json_object_get(tc, "name"));
            if (!only) {
                srv_reply_error(r, 400, NULL, NULL, "tool_choice of type 'tool' needs a 'name'");
                goto out;
            }
            *force = true;
        } else if (strcmp(type, "auto")) {
            srv_reply_error(r, 400, NULL, NULL, "tool_choice.type must be auto, any, tool or none (got '%s')", type);
            goto out;
        }
        if (*force && !tools) {
            srv_reply_error(r, 400, NULL, NULL, "tool_choice '%s' needs a non-empty 'tools' array", type);
            goto out;
        }
    }
    raw = convert_messages(r, body);
    if (!raw) goto out;
    msgs = srv_normalize_messages(r, raw);
    if (!msgs) goto out;
    ok = srv_chat_prepare(r, msgs, tools, *use_tools, *force, only, parallel, g, toks, n_toks);
out:
    json_decref(tools);
    json_decref(raw);
    json_decref(msgs);
    return ok;
}

void srv_route_messages(srv_req *r, json_t *body) {
    srv_engine *e = r->srv->eng;
    srv_gen g;
    srv_gen_init(&g);
    int32_t *toks = NULL, n_toks = 0;
    bool use_tools, force;
    if (!srv_gen_parse(r, body, &g, true)) goto out;
    if (!prepare(r, body, &g, &use_tools, &force, &toks, &n_toks)) goto out;
    g.n = 1;
    srv_task *tasks[1];
    if (!srv_gen_tasks(r, &g, toks, n_toks, tasks)) goto out;
    gen_state *st = gen_state_new(r, 1, g.stream, "msg_");
    if (!st) {
        srv_task_free(tasks[0], e);
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        goto out;
    }
    st->n_prompt = n_toks;
    srv_split_init(&st->ch[0].split, use_tools, force, g.chat_format, g.parse_flags);
    st->ops = (gen_ops){msg_delta, msg_choice_done, msg_finish};
    srv_reply_async(r, tasks, 1, g.stream, gen_fmt(st));
out:
    free(toks);
    srv_gen_clear(&g);
}

void srv_route_count_tokens(srv_req *r, json_t *body) {
    srv_gen g;
    srv_gen_init(&g);
    int32_t *toks = NULL, n_toks = 0;
    bool use_tools, force;
    /* A forced tool call only changes sampling, not the prompt. */
    json_t *copy = json_deep_copy(body);
    json_object_del(copy, "tool_choice");
    if (prepare(r, copy, &g, &use_tools, &force, &toks, &n_toks))
        srv_reply_json(r, 200, json_pack("{s:i}", "input_tokens", n_toks));
    json_decref(copy);
    free(toks);
    srv_gen_clear(&g);
}
