/* routes_responses.c: POST /v1/responses of `cllm serve` (OpenAI Responses
 * API, stateless): input as a string or items (messages, function_call,
 * function_call_output), instructions, tools, tool_choice, text.format,
 * max_output_tokens, and streaming with response.* events. */
#include "server/gen_fmt.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

/* Input items -> OpenAI chat messages. */
static json_t *convert_input(srv_req *r, json_t *body) {
    json_t *out = json_array();
    json_t *ins = json_object_get(body, "instructions");
    if (json_is_string(ins)) json_array_append_new(out, json_pack("{s:s, s:O}", "role", "system", "content", ins));
    else if (ins && !json_is_null(ins)) {
        srv_reply_error(r, 400, NULL, "instructions", "'instructions' must be a string");
        goto fail;
    }
    json_t *input = json_object_get(body, "input");
    if (json_is_string(input)) {
        json_array_append_new(out, json_pack("{s:s, s:O}", "role", "user", "content", input));
        return out;
    }
    if (!json_is_array(input) || !json_array_size(input)) {
        srv_reply_error(r, 400, NULL, "input", "'input' must be a string or a non-empty array of items");
        goto fail;
    }
    size_t i;
    json_t *it;
    json_array_foreach(input, i, it) {
        const char *type = json_string_value(json_object_get(it, "type"));
        const char *role = json_string_value(json_object_get(it, "role"));
        if (!json_is_object(it)) goto bad;
        if ((!type || !strcmp(type, "message")) && role) {
            json_t *content = json_object_get(it, "content");
            json_array_append_new(out, json_pack("{s:s, s:O}", "role", role, "content",
                                                 content ? content : json_null()));
        } else if (type && !strcmp(type, "function_call")) {
            json_t *name = json_object_get(it, "name"), *args = json_object_get(it, "arguments");
            json_t *id = json_object_get(it, "call_id");
            if (!json_is_string(name) || !json_is_string(args) || !json_is_string(id)) goto bad;
            json_t *last = json_array_get(out, json_array_size(out) - 1);
            json_t *call = json_pack("{s:O, s:s, s:{s:O, s:O}}", "id", id, "type", "function", "function",
                                     "name", name, "arguments", args);
            const char *lrole = json_string_value(json_object_get(last, "role"));
            if (last && lrole && !strcmp(lrole, "assistant")) {
                json_t *calls = json_object_get(last, "tool_calls");
                if (!calls) json_object_set_new(last, "tool_calls", calls = json_array());
                json_array_append_new(calls, call);
            } else {
                json_array_append_new(out, json_pack("{s:s, s:s, s:[o]}", "role", "assistant", "content", "",
                                                     "tool_calls", call));
            }
        } else if (type && !strcmp(type, "function_call_output")) {
            json_t *id = json_object_get(it, "call_id"), *o = json_object_get(it, "output");
            if (!json_is_string(id) || !json_is_string(o)) goto bad;
            json_array_append_new(out, json_pack("{s:s, s:O, s:O}", "role", "tool", "tool_call_id", id,
                                                 "content", o));
        } else if (type && !strcmp(type, "reasoning")) {
            continue;
        } else {
        bad:
            srv_reply_error(r, 400, NULL, "input",
                            "input[%zu] must be a message {role, content}, a function_call {call_id, name, "
                            "arguments} or a function_call_output {call_id, output}", i);
            goto fail;
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* Responses tools [{type:function, name, parameters}] -> chat tools. */
static bool convert_tools(srv_req *r, json_t *body, json_t **out) {
    *out = NULL;
    json_t *tools = json_object_get(body, "tools");
    if (!tools || json_is_null(tools)) return true;
    if (!json_is_array(tools)) {
        srv_reply_error(r, 400, NULL, "tools", "'tools' must be an array");
        return false;
    }
    json_t *a = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        const char *type = json_string_value(json_object_get(t, "type"));
        json_t *name = json_object_get(t, "name");
        json_t *params = json_object_get(t, "parameters");
        if (!type || strcmp(type, "function") || !json_is_string(name) || (params && !json_is_object(params))) {
            json_decref(a);
            srv_reply_error(r, 400, NULL, "tools",
                            "tools[%zu] must be {\"type\":\"function\",\"name\":...,\"parameters\":{...}}", i);
            return false;
        }
        json_t *fn = json_pack("{s:O}", "name", name);
        json_object_set_new(fn, "parameters", params ? json_incref(params) : json_pack("{s:s}", "type", "object"));
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
    return json_pack("{s:i, s:i, s:i, s:{s:i}, s:{s:i}}", "input_tokens", u.n_prompt, "output_tokens", u.n_gen,
                     "total_tokens", u.n_prompt + u.n_gen, "input_tokens_details", "cached_tokens",
                     u.n_cached, "output_tokens_details", "reasoning_tokens", 0);
}

/* The response object; output items from choice 0 when done. */
static json_t *response_obj(gen_state *g, const char *status) {
    gen_choice *c = &g->ch[0];
    json_t *output = json_array();
    if (c->done) {
        if (c->rlen)
            json_array_append_new(output, json_pack("{s:s, s:s, s:[], s:[{s:s, s:o}]}", "type", "reasoning", "id",
                                                    "rs_0", "summary", "content", "type", "reasoning_text",
                                                    "text", srv_jstr(c->reasoning, c->rlen)));
        if (c->clen || !c->split.tool_calls)
            json_array_append_new(output,
                                  json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:o, s:[]}]}", "type", "message", "id",
                                            g->msg_id, "status", "completed", "role", "assistant", "content",
                                            "type", "output_text", "text", srv_jstr(c->content, c->clen),
                                            "annotations"));
        size_t k;
        json_t *tc;
        json_array_foreach(c->split.tool_calls, k, tc) {
            char id[64];
            snprintf(id, sizeof id, "fc_%s_%zu", g->id + 5, k);
            json_array_append_new(output, json_pack("{s:s, s:s, s:O, s:O, s:O, s:s}", "type", "function_call",
                                                    "id", id, "call_id", json_object_get(tc, "id"), "name",
                                                    json_object_get(tc, "name"), "arguments",
                                                    json_object_get(tc, "arguments"), "status", "completed"));
        }
    }
    bool incomplete = c->finish && !strcmp(c->finish, "length");
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:n, s:b}", "id", g->id, "object", "response",
                          "created_at", (json_int_t)g->created, "status",
                          c->done && incomplete ? "incomplete" : status, "model", g->model, "output", output,
                          "usage", c->done ? usage_json(g) : json_null(), "error", "parallel_tool_calls", 1);
    json_object_set_new(o, "incomplete_details",
                        c->done && incomplete ? json_pack("{s:s}", "reason", "max_output_tokens") : json_null());
    if (g->extra) json_object_update(o, g->extra);
    if (c->done) json_object_set_new(o, "timings", gen_timings_json(g));
    return o;
}

static void rev(gen_state *g, srv_req *r, const char *type, json_t *data) {
    json_object_set_new(data, "type", json_string(type));
    json_object_set_new(data, "sequence_number", json_integer(g->ch[0].block++));
    srv_out_sse(r, type, data);
}

/* Stream states in gen_choice.kind: 0 nothing open, 1 message item open. */
static void resp_start(gen_state *g, srv_req *r) {
    gen_choice *c = &g->ch[0];
    if (c->started) return;
    c->started = true;
    rev(g, r, "response.created", json_pack("{s:o}", "response", response_obj(g, "in_progress")));
    rev(g, r, "response.in_progress", json_pack("{s:o}", "response", response_obj(g, "in_progress")));
}

static void resp_open_message(gen_state *g, srv_req *r) {
    gen_choice *c = &g->ch[0];
    if (c->kind) return;
    c->kind = 1;
    rev(g, r, "response.output_item.added",
        json_pack("{s:i, s:{s:s, s:s, s:s, s:s, s:[]}}", "output_index", 0, "item", "type", "message", "id",
                  g->msg_id, "status", "in_progress", "role", "assistant", "content"));
    rev(g, r, "response.content_part.added",
        json_pack("{s:s, s:i, s:i, s:{s:s, s:s, s:[]}}", "item_id", g->msg_id, "output_index", 0,
                  "content_index", 0, "part", "type", "output_text", "text", "", "annotations"));
}

static void resp_delta(gen_state *g, srv_req *r, int i, bool reasoning, const char *text, size_t len,
                       json_t *ent) {
    (void)i;
    (void)ent;
    resp_start(g, r);
    if (!len || reasoning) return; /* reasoning is reported in the final item only */
    resp_open_message(g, r);
    rev(g, r, "response.output_text.delta",
        json_pack("{s:s, s:i, s:i, s:o}", "item_id", g->msg_id, "output_index", 0, "content_index", 0, "delta",
                  srv_jstr(text, len)));
}

static void resp_choice_done(gen_state *g, srv_req *r, int i) {
    (void)i;
    gen_choice *c = &g->ch[0];
    if (c->err_status || (c->finish && !strcmp(c->finish, "cancelled"))) return;
    resp_start(g, r);
    int out_index = 0;
    if (c->kind || c->clen || !c->split.tool_calls) {
        resp_open_message(g, r);
        json_t *text = srv_jstr(c->content, c->clen);
        rev(g, r, "response.output_text.done",
            json_pack("{s:s, s:i, s:i, s:O}", "item_id", g->msg_id, "output_index", 0, "content_index", 0, "text", text));
        rev(g, r, "response.content_part.done",
            json_pack("{s:s, s:i, s:i, s:{s:s, s:O, s:[]}}", "item_id", g->msg_id, "output_index", 0,
                      "content_index", 0, "part", "type", "output_text", "text", text, "annotations"));
        rev(g, r, "response.output_item.done",
            json_pack("{s:i, s:{s:s, s:s, s:s, s:s, s:[{s:s, s:O, s:[]}]}}", "output_index", 0, "item", "type",
                      "message", "id", g->msg_id, "status", "completed", "role", "assistant", "content", "type",
                      "output_text", "text", text, "annotations"));
        json_decref(text);
        out_index = 1;
    }
    size_t k;
    json_t *tc;
    json_array_foreach(c->split.tool_calls, k, tc) {
        char id[64];
        snprintf(id, sizeof id, "fc_%s_%zu", g->id + 5, k);
        int oi = out_index + (int)k;
        rev(g, r, "response.output_item.added",
            json_pack("{s:i, s:{s:s, s:s, s:O, s:O, s:s, s:s}}", "output_index", oi, "item", "type",
                      "function_call", "id", id, "call_id", json_object_get(tc, "id"), "name",
                      json_object_get(tc, "name"), "arguments", "", "status", "in_progress"));
        rev(g, r, "response.function_call_arguments.delta",
            json_pack("{s:s, s:i, s:O}", "item_id", id, "output_index", oi, "delta", json_object_get(tc, "arguments")));
        rev(g, r, "response.function_call_arguments.done",
            json_pack("{s:s, s:i, s:O}", "item_id", id, "output_index", oi, "arguments",
                      json_object_get(tc, "arguments")));
        rev(g, r, "response.output_item.done",
            json_pack("{s:i, s:{s:s, s:s, s:O, s:O, s:O, s:s}}", "output_index", oi, "item", "type",
                      "function_call", "id", id, "call_id", json_object_get(tc, "id"), "name",
                      json_object_get(tc, "name"), "arguments", json_object_get(tc, "arguments"), "status",
                      "completed"));
    }
}

static void resp_finish(gen_state *g, srv_req *r) {
    const char *msg = NULL;
    int st = gen_error(g, &msg);
    if (g->stream) {
        if (st) {
            rev(g, r, "error", json_pack("{s:s, s:s, s:n}", "code", st >= 500 ? "server_error" : "invalid_request",
                                         "message", msg, "param"));
            return;
        }
        rev(g, r, "response.completed", json_pack("{s:o}", "response", response_obj(g, "completed")));
        return;
    }
    json_t *body;
    if (st) {
        r->status = st;
        body = json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", msg, "type",
                         st >= 500 ? "server_error" : "invalid_request_error", "param", "code");
    } else {
        body = response_obj(g, "completed");
        r->status = 200;
    }
    r->resp_body = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(body);
}

void srv_route_responses(srv_req *r, json_t *body) {
    srv_engine *e = r->srv->eng;
    srv_gen g;
    srv_gen_init(&g);
    json_t *tools = NULL, *raw = NULL, *msgs = NULL;
    int32_t *toks = NULL, n_toks = 0;
    if (json_is_string(json_object_get(body, "previous_response_id"))) {
        srv_reply_error(r, 400, NULL, "previous_response_id",
                        "this server is stateless; send the whole conversation in 'input'");
        goto out;
    }
    if (!srv_gen_parse(r, body, &g, false) || !convert_tools(r, body, &tools)) goto out;
    g.n = 1;
    bool use_tools = tools != NULL, force = false, parallel = false;
    const char *only = NULL;
    if (!srv_get_bool(r, body, "parallel_tool_calls", &parallel)) goto out;
    json_t *tc = json_object_get(body, "tool_choice");
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        if (!strcmp(s, "none")) use_tools = false;
        else if (!strcmp(s, "required")) force = true;
        else if (strcmp(s, "auto")) {
            srv_reply_error(r, 400, NULL, "tool_choice", "'tool_choice' must be none, auto, required or {type:function,name}");
            goto out;
        }
    } else if (json_is_object(tc)) {
        only = json_string_value(json_object_get(tc, "name"));
        if (!only) {
            srv_reply_error(r, 400, NULL, "tool_choice", "'tool_choice' object needs a 'name'");
            goto out;
        }
        force = true;
    }
    if (force && !tools) {
        srv_reply_error(r, 400, NULL, "tool_choice", "'tool_choice' requires a non-empty 'tools' array");
        goto out;
    }
    /* text.format: {type: text | json_object | json_schema, schema} */
    json_t *fmt = json_object_get(json_object_get(body, "text"), "format");
    const char *ft = json_string_value(json_object_get(fmt, "type"));
    if (ft && strcmp(ft, "text")) {
        json_t *schema = !strcmp(ft, "json_schema") ? json_object_get(fmt, "schema") : NULL;
        if (!strcmp(ft, "json_schema") && !json_is_object(schema)) {
            srv_reply_error(r, 400, NULL, "text.format", "text.format.schema must be an object");
            goto out;
        }
        json_t *sch = schema ? json_incref(schema) : json_pack("{s:s}", "type", "object");
        char *sj = json_dumps(sch, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(sch);
        char err[512] = "this build cannot constrain output to a JSON schema";
        g.sp.grammar = (sj && e->schema_to_grammar) ? e->schema_to_grammar(e, sj, err, sizeof err) : NULL;
        free(sj);
        if (!g.sp.grammar) {
            srv_reply_error(r, 400, NULL, "text.format", "unusable JSON schema: %s", err);
            goto out;
        }
    }
    raw = convert_input(r, body);
    if (!raw) goto out;
    msgs = srv_normalize_messages(r, raw);
    if (!msgs) goto out;
    if (!srv_chat_prepare(r, msgs, tools, use_tools, force, only, parallel, &g, &toks, &n_toks)) goto out;
    srv_task *tasks[1];
    if (!srv_gen_tasks(r, &g, toks, n_toks, tasks)) goto out;
    gen_state *st = gen_state_new(r, 1, g.stream, "resp_");
    if (!st) {
        srv_task_free(tasks[0], e);
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        goto out;
    }
    srv_make_id(st->msg_id, sizeof st->msg_id, "msg_");
    st->n_prompt = n_toks;
    json_t *extra = json_object();
    json_t *ins = json_object_get(body, "instructions");
    json_object_set_new(extra, "instructions", json_is_string(ins) ? json_incref(ins) : json_null());
    json_object_set_new(extra, "max_output_tokens", g.n_predict >= 0 ? json_integer(g.n_predict) : json_null());
    json_object_set_new(extra, "temperature", json_real(g.sp.temperature));
    json_object_set_new(extra, "top_p", json_real(g.sp.top_p));
    json_t *btools = json_object_get(body, "tools");
    json_object_set_new(extra, "tools", json_is_array(btools) ? json_deep_copy(btools) : json_array());
    json_object_set_new(extra, "tool_choice", tc ? json_incref(tc) : json_string("auto"));
    st->extra = extra;
    srv_split_init(&st->ch[0].split, use_tools, force, g.chat_format, g.parse_flags);
    st->ops = (gen_ops){resp_delta, resp_choice_done, resp_finish};
    srv_reply_async(r, tasks, 1, g.stream, gen_fmt(st));
out:
    free(toks);
    json_decref(tools);
    json_decref(raw);
    json_decref(msgs);
    srv_gen_clear(&g);
}
