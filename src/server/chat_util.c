/* chat_util.c: chat-side helpers of `cllm serve`: request message/tool
 * validation (400s naming the field), prompt formatting and reply splitting
 * through src/chat (cllm_chat_apply_json, cllm_chat_parser; no logic of
 * its own), and the grammar that forces a tool call when tool_choice
 * requires one. */
#include "server/util.h"
#include "core/core.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- messages */
static bool join_parts(srv_req *r, json_t *content, size_t idx, json_t **out) {
    if (!content || json_is_null(content)) { *out = json_string(""); return true; }
    if (json_is_string(content)) { *out = json_incref(content); return true; }
    if (!json_is_array(content)) {
        srv_reply_error(r, 400, NULL, "messages", "messages[%zu].content must be a string or an array of parts", idx);
        return false;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    size_t k;
    json_t *part;
    json_array_foreach(content, k, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        json_t *text = json_object_get(part, "text");
        if (json_is_string(part)) text = part, type = "text";
        if (!type || (strcmp(type, "text") && strcmp(type, "input_text") && strcmp(type, "output_text"))) {
            free(buf);
            srv_reply_error(r, 400, NULL, "messages",
                            "messages[%zu].content[%zu]: only text parts are supported (got type '%s')",
                            idx, k, type ? type : "(none)");
            return false;
        }
        if (!json_is_string(text)) {
            free(buf);
            srv_reply_error(r, 400, NULL, "messages", "messages[%zu].content[%zu].text must be a string", idx, k);
            return false;
        }
        srv_buf_append(&buf, &len, &cap, json_string_value(text), json_string_length(text));
    }
    *out = json_stringn(buf ? buf : "", len);
    free(buf);
    return true;
}

json_t *srv_normalize_messages(srv_req *r, json_t *messages) {
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        srv_reply_error(r, 400, NULL, "messages", "'messages' must be a non-empty array");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        if (!json_is_object(m)) {
            srv_reply_error(r, 400, NULL, "messages", "messages[%zu] must be an object", i);
            goto fail;
        }
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!role || (strcmp(role, "system") && strcmp(role, "developer") && strcmp(role, "user") &&
                      strcmp(role, "assistant") && strcmp(role, "tool"))) {
            srv_reply_error(r, 400, NULL, "messages",
                            "messages[%zu].role must be one of system, developer, user, assistant, tool", i);
            goto fail;
        }
        json_t *content;
        if (!join_parts(r, json_object_get(m, "content"), i, &content)) goto fail;
        json_t *nm = json_pack("{s:s, s:o}", "role", strcmp(role, "developer") ? role : "system",
                               "content", content);
        json_t *rc = json_object_get(m, "reasoning_content");
        if (json_is_string(rc)) json_object_set(nm, "reasoning_content", rc);
        json_t *name = json_object_get(m, "name");
        if (json_is_string(name)) json_object_set(nm, "name", name);
        json_t *tcid = json_object_get(m, "tool_call_id");
        if (json_is_string(tcid)) json_object_set(nm, "tool_call_id", tcid);
        json_t *tcs = json_object_get(m, "tool_calls");
        if (tcs && !json_is_null(tcs)) {
            if (!json_is_array(tcs)) {
                json_decref(nm);
                srv_reply_error(r, 400, NULL, "messages", "messages[%zu].tool_calls must be an array", i);
                goto fail;
            }
            json_t *ntcs = json_array();
            size_t k;
            json_t *tc;
            json_array_foreach(tcs, k, tc) {
                json_t *fn = json_object_get(tc, "function");
                const char *fname = json_string_value(json_object_get(fn, "name"));
                if (!fname) {
                    json_decref(ntcs);
                    json_decref(nm);
                    srv_reply_error(r, 400, NULL, "messages",
                                    "messages[%zu].tool_calls[%zu].function.name must be a string", i, k);
                    goto fail;
                }
                json_t *args = json_object_get(fn, "arguments");
                json_t *aobj = NULL;
                if (json_is_string(args)) aobj = json_loads(json_string_value(args), 0, NULL);
                else if (json_is_object(args)) aobj = json_incref(args);
                if (!aobj) aobj = json_object();
                json_t *ntc = json_pack("{s:s, s:{s:s, s:o}}", "type", "function", "function",
                                        "name", fname, "arguments", aobj);
                json_t *id = json_object_get(tc, "id");
                if (json_is_string(id)) json_object_set(ntc, "id", id);
                json_array_append_new(ntcs, ntc);
            }
            json_object_set_new(nm, "tool_calls", ntcs);
        }
        json_array_append_new(out, nm);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

bool srv_check_tools(srv_req *r, json_t *tools, json_t **out) {
    *out = NULL;
    if (!tools || json_is_null(tools)) return true;
    if (!json_is_array(tools)) {
        srv_reply_error(r, 400, NULL, "tools", "'tools' must be an array");
        return false;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!type || strcmp(type, "function") || !json_is_object(fn) ||
            !json_is_string(json_object_get(fn, "name"))) {
            srv_reply_error(r, 400, NULL, "tools",
                            "tools[%zu] must be {\"type\":\"function\",\"function\":{\"name\":...}}", i);
            return false;
        }
        json_t *params = json_object_get(fn, "parameters");
        if (params && !json_is_object(params)) {
            srv_reply_error(r, 400, NULL, "tools", "tools[%zu].function.parameters must be an object", i);
            return false;
        }
    }
    if (json_array_size(tools)) *out = tools;
    return true;
}

bool srv_render_chat(srv_req *r, json_t *messages, json_t *tools, bool add_generation_prompt,
                     cllm_chat_result *res) {
    srv_server *s = r->srv;
    memset(res, 0, sizeof *res);
    json_t *kw = r->json ? json_object_get(r->json, "chat_template_kwargs") : NULL;
    if (kw && !json_is_null(kw) && !json_is_object(kw)) {
        srv_reply_error(r, 400, NULL, "chat_template_kwargs", "'chat_template_kwargs' must be an object");
        return false;
    }
    if (!s->chat) {
        srv_reply_error(r, 500, NULL, NULL, "the chat template is unusable: %s",
                        s->chat_err[0] ? s->chat_err : "no chat formatting");
        return false;
    }
    json_t *req = json_pack("{s:O, s:b}", "messages", messages, "add_generation_prompt", add_generation_prompt);
    if (!req) {
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        return false;
    }
    /* Without any template the prompt is plain ChatML with no tool list
     * (docs/server-api.md); replies are still parsed for Hermes calls. */
    bool no_template = !s->template_src && !(s->eng->template_text && s->eng->template_text[0]);
    if (tools && !no_template) json_object_set(req, "tools", tools);
    /* Extra template variables (enable_thinking, ...), as llama.cpp takes them. */
    if (json_is_object(kw)) json_object_update_missing(req, kw);
    cllm_status st = cllm_chat_apply_json(s->chat, req, res);
    json_decref(req);
    if (st != CLLM_OK) {
        srv_reply_error(r, st == CLLM_ERR_NOMEM ? 500 : 400, NULL, "messages", "chat template failed: %s",
                        cllm_last_error());
        cllm_chat_result_clear(res);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------- splitter */
/* The split is src/chat's streaming parser (cllm_chat_parser): one parser per
 * reply, in the tool-call syntax of the model's template. Content and
 * reasoning deltas are passed on as they come; tool calls are collected
 * from the final message (the routes stream them when the choice ends). */

void srv_split_init(srv_split *s, bool tools, bool force_tool, cllm_chat_format fmt, uint32_t flags) {
    memset(s, 0, sizeof *s);
    s->tools = tools || force_tool;
    s->force_tool = force_tool;
    if (s->tools) flags |= CLLM_CHAT_PARSE_TOOLS;
    char seed[32];
    srv_make_id(seed, sizeof seed, "");
    if (cllm_chat_parser_init(fmt, flags, seed, &s->p) != CLLM_OK) s->p = NULL;   /* then text passes as content */
}

void srv_split_free(srv_split *s) {
    cllm_chat_parser_free(s->p);
    json_decref(s->tool_calls);
    memset(s, 0, sizeof *s);
}

static void emit_delta(json_t *d, srv_split_fn fn, void *user) {
    if (!d) return;
    const char *r = json_string_value(json_object_get(d, "reasoning_content"));
    if (r && r[0]) fn(user, true, r, strlen(r));
    const char *c = json_string_value(json_object_get(d, "content"));
    if (c && c[0]) fn(user, false, c, strlen(c));
    json_decref(d);
}

void srv_split_feed(srv_split *s, const char *text, size_t len, srv_split_fn fn, void *user) {
    if (!len) return;
    if (!s->p) {
        fn(user, false, text, len);
        return;
    }
    json_t *d = NULL;
    if (cllm_chat_parser_feed_json(s->p, text, len, &d) == CLLM_OK) emit_delta(d, fn, user);
    else json_decref(d);
}

int srv_split_finish(srv_split *s, srv_split_fn fn, void *user) {
    if (!s->p) return 0;
    json_t *d = NULL;
    if (cllm_chat_parser_finish_json(s->p, &d) == CLLM_OK) emit_delta(d, fn, user);
    else json_decref(d);
    json_t *msg = cllm_chat_parser_message_json(s->p);
    json_t *calls = json_object_get(msg, "tool_calls");
    if (json_array_size(calls)) {
        s->tool_calls = json_array();
        size_t i;
        json_t *tc;
        json_array_foreach(calls, i, tc) {
            json_t *f = json_object_get(tc, "function");
            const char *name = json_string_value(json_object_get(f, "name"));
            const char *args = json_string_value(json_object_get(f, "arguments"));
            const char *id = json_string_value(json_object_get(tc, "id"));
            char idb[48];
            if (!id) { srv_make_id(idb, sizeof idb, "call_"); id = idb; }
            json_array_append_new(s->tool_calls, json_pack("{s:s, s:s, s:s}", "id", id, "name",
                                                           name ? name : "", "arguments",
                                                           args && args[0] ? args : "{}"));
        }
    }
    json_decref(msg);
    return s->tool_calls ? (int)json_array_size(s->tool_calls) : 0;
}

char *srv_tool_grammar(srv_engine *e, json_t *tools, const char *only_name, bool parallel,
                       char *err, size_t errlen) {
    if (!e->schema_to_grammar) {
        snprintf(err, errlen, "this build cannot constrain output to a JSON schema");
        return NULL;
    }
    json_t *alts = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        if (only_name && strcmp(only_name, name)) continue;
        json_t *params = json_object_get(fn, "parameters");
        json_t *alt = json_pack("{s:s, s:{s:{s:s}, s:O}, s:[s,s]}", "type", "object", "properties",
                                "name", "const", name, "arguments",
                                params ? params : json_pack("{s:s}", "type", "object"),
                                "required", "name", "arguments");
        if (!params) json_decref(json_object_get(json_object_get(alt, "properties"), "arguments"));
        json_array_append_new(alts, alt);
    }
    if (json_array_size(alts) == 0) {
        json_decref(alts);
        snprintf(err, errlen, "tool_choice names a function that is not in tools");
        return NULL;
    }
    json_t *one = json_array_size(alts) == 1 ? json_incref(json_array_get(alts, 0))
                                             : json_pack("{s:O}", "anyOf", alts);
    json_decref(alts);
    json_t *schema = parallel ? json_pack("{s:s, s:o, s:i}", "type", "array", "items", one, "minItems", 1)
                              : one;
    char *sj = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(schema);
    if (!sj) { snprintf(err, errlen, "out of memory"); return NULL; }
    char *g = e->schema_to_grammar(e, sj, err, errlen);
    free(sj);
    return g;
}
