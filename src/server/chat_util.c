/* chat_util.c: chat-side helpers of `cllm serve`: message normalization and
 * template rendering (with a ChatML fallback for models without a template),
 * the streaming reasoning/content/tool-call splitter, and the grammar that
 * forces a tool call when tool_choice requires one. */
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

/* ChatML, for models that carry no template (documented in server-api.md). */
static char *render_chatml(json_t *messages, bool add_gen) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *content = json_string_value(json_object_get(m, "content"));
        srv_buf_append(&buf, &len, &cap, "<|im_start|>", 12);
        srv_buf_append(&buf, &len, &cap, role, strlen(role));
        srv_buf_append(&buf, &len, &cap, "\n", 1);
        if (content) srv_buf_append(&buf, &len, &cap, content, strlen(content));
        json_t *tcs = json_object_get(m, "tool_calls");
        size_t k;
        json_t *tc;
        json_array_foreach(tcs, k, tc) {
            char *s = json_dumps(json_object_get(tc, "function"), JSON_COMPACT);
            srv_buf_append(&buf, &len, &cap, "<tool_call>", 11);
            if (s) srv_buf_append(&buf, &len, &cap, s, strlen(s));
            srv_buf_append(&buf, &len, &cap, "</tool_call>", 12);
            free(s);
        }
        srv_buf_append(&buf, &len, &cap, "<|im_end|>\n", 11);
    }
    if (add_gen) srv_buf_append(&buf, &len, &cap, "<|im_start|>assistant\n", 22);
    return buf ? buf : strdup("");
}

char *srv_render_chat(srv_req *r, json_t *messages, json_t *tools, bool add_generation_prompt) {
    srv_server *s = r->srv;
    srv_engine *e = s->eng;
    json_t *kw0 = r->json ? json_object_get(r->json, "chat_template_kwargs") : NULL;
    if (kw0 && !json_is_null(kw0) && !json_is_object(kw0)) {
        srv_reply_error(r, 400, NULL, "chat_template_kwargs", "'chat_template_kwargs' must be an object");
        return NULL;
    }
    if (!s->template_src && !e->has_template) return render_chatml(messages, add_generation_prompt);
    if (!e->render_chat) {
        srv_reply_error(r, 500, NULL, NULL, "this build has no chat template engine");
        return NULL;
    }
    json_t *ctx = json_pack("{s:O, s:b, s:s, s:s}", "messages", messages, "add_generation_prompt",
                            add_generation_prompt, "bos_token", e->bos_text ? e->bos_text : "",
                            "eos_token", e->eos_text ? e->eos_text : "");
    if (tools) json_object_set(ctx, "tools", tools);
    /* Extra template variables (enable_thinking, ...), as llama.cpp takes them. */
    json_t *kw = r->json ? json_object_get(r->json, "chat_template_kwargs") : NULL;
    if (kw && !json_is_null(kw)) {
        if (!json_is_object(kw)) {
            json_decref(ctx);
            srv_reply_error(r, 400, NULL, "chat_template_kwargs", "'chat_template_kwargs' must be an object");
            return NULL;
        }
        json_object_update_missing(ctx, kw);
    }
    char *cj = json_dumps(ctx, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ctx);
    if (!cj) {
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        return NULL;
    }
    char err[512] = "";
    char *out = e->render_chat(e, s->template_src, cj, err, sizeof err);
    free(cj);
    if (!out) srv_reply_error(r, 400, NULL, "messages", "chat template failed: %s", err);
    return out;
}

/* ---------------------------------------------------------- splitter */
enum { M_START = 0, M_REASON, M_AFTER_THINK, M_CONTENT, M_TOOL };

static const char *const k_tool_markers[] = {"<tool_call>", "[TOOL_CALLS]", "<|tool_call|>",
                                             "<function_call>", "{", "["};
#define N_MARKERS (sizeof k_tool_markers / sizeof k_tool_markers[0])

void srv_split_init(srv_split *s, bool tools, bool force_tool) {
    memset(s, 0, sizeof *s);
    s->tools = tools || force_tool;
    s->force_tool = force_tool;
    s->mode = force_tool ? M_TOOL : M_START;
}

void srv_split_free(srv_split *s) {
    free(s->buf);
    json_decref(s->tool_calls);
    memset(s, 0, sizeof *s);
}

/* 1: text starts with m; 2: text is a proper prefix of m; 0: neither. */
static int starts(const char *t, size_t n, const char *m) {
    size_t ml = strlen(m);
    if (n >= ml) return memcmp(t, m, ml) ? 0 : 1;
    return memcmp(t, m, n) ? 0 : 2;
}

/* Longest tail of t that is a proper prefix of m. */
static size_t tail_prefix(const char *t, size_t n, const char *m) {
    size_t ml = strlen(m);
    for (size_t k = ml - 1 < n ? ml - 1 : n; k > 0; k--)
        if (!memcmp(t + n - k, m, k)) return k;
    return 0;
}

/* Length of an incomplete UTF-8 sequence at the end of t (0..3). */
static size_t utf8_tail(const char *t, size_t n) {
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)t[n - back];
        if ((c & 0xC0) == 0x80) continue;
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

static const char *find(const char *t, size_t n, const char *m) {
    size_t ml = strlen(m);
    for (size_t i = 0; i + ml <= n; i++)
        if (!memcmp(t + i, m, ml)) return t + i;
    return NULL;
}

static void process(srv_split *s, srv_split_fn fn, void *user) {
    for (;;) {
        const char *p = s->buf + s->pos;
        size_t n = s->len - s->pos;
        if (n == 0) return;
        switch (s->mode) {
        case M_START:
        case M_AFTER_THINK: {
            size_t ws = 0;
            while (ws < n && isspace((unsigned char)p[ws])) ws++;
            if (s->mode == M_START) {
                int k = starts(p + ws, n - ws, "<think>");
                if (k == 2 || ws == n) return;
                if (k == 1) {
                    s->pos += ws + 7;
                    s->mode = M_REASON;
                    continue;
                }
            }
            if (s->tools) {
                if (ws == n) return;
                for (size_t m = 0; m < N_MARKERS; m++) {
                    int k = starts(p + ws, n - ws, k_tool_markers[m]);
                    if (k == 2) return;
                    if (k == 1) {
                        s->tool_from = s->pos + ws;
                        s->pos = s->len;
                        s->mode = M_TOOL;
                        return;
                    }
                }
            }
            if (s->mode == M_AFTER_THINK) { s->pos += ws; if (ws == n) return; }
            s->mode = M_CONTENT;
            continue;
        }
        case M_REASON: {
            const char *e = find(p, n, "</think>");
            if (e) {
                if (e > p) fn(user, true, p, (size_t)(e - p));
                s->pos += (size_t)(e - p) + 8;
                s->mode = M_AFTER_THINK;
                continue;
            }
            size_t hold = tail_prefix(p, n, "</think>");
            size_t u = utf8_tail(p, n);
            if (u > hold) hold = u;
            if (n > hold) fn(user, true, p, n - hold);
            s->pos += n - hold;
            return;
        }
        case M_CONTENT: {
            if (s->tools) {
                const char *e = find(p, n, "<tool_call>");
                if (e) {
                    if (e > p) fn(user, false, p, (size_t)(e - p));
                    s->tool_from = s->pos + (size_t)(e - p);
                    s->pos = s->len;
                    s->mode = M_TOOL;
                    return;
                }
                size_t hold = tail_prefix(p, n, "<tool_call>");
                size_t u = utf8_tail(p, n);
                if (u > hold) hold = u;
                if (n > hold) fn(user, false, p, n - hold);
                s->pos += n - hold;
                return;
            }
            size_t u = utf8_tail(p, n);
            if (n > u) fn(user, false, p, n - u);
            s->pos += n - u;
            return;
        }
        case M_TOOL:
            s->pos = s->len;
            return;
        }
    }
}

void srv_split_feed(srv_split *s, const char *text, size_t len, srv_split_fn fn, void *user) {
    if (!len) return;
    /* Raw bytes: a character may arrive split over two feeds. */
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + len + 1) cap *= 2;
        char *p = realloc(s->buf, cap);
        if (!p) return;
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, len);
    s->len += len;
    s->buf[s->len] = 0;
    process(s, fn, user);
}

/* One call object -> {"name","arguments"(string)} or NULL. */
static json_t *call_of(json_t *o) {
    if (!json_is_object(o)) return NULL;
    json_t *fn = json_object_get(o, "function");
    if (json_is_object(fn)) o = fn;
    const char *name = json_string_value(json_object_get(o, "name"));
    json_t *args = json_object_get(o, "arguments");
    if (!args) args = json_object_get(o, "parameters");
    if (!name || !args) return NULL;
    char *a = json_is_string(args) ? strdup(json_string_value(args)) : json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!a) return NULL;
    char id[48];
    srv_make_id(id, sizeof id, "call_");
    json_t *c = json_pack("{s:s, s:s, s:s}", "id", id, "name", name, "arguments", a);
    free(a);
    return c;
}

/* Append the calls in JSON text j (object or array) to arr; false if none. */
static bool calls_from_json(const char *j, size_t n, json_t *arr) {
    json_error_t e;
    json_t *v = json_loadb(j, n, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
    if (!v) return false;
    bool ok = false;
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        ok = json_array_size(v) > 0;
        json_array_foreach(v, i, x) {
            json_t *c = call_of(x);
            if (!c) { ok = false; break; }
            json_array_append_new(arr, c);
        }
    } else {
        json_t *c = call_of(v);
        if (c) { json_array_append_new(arr, c); ok = true; }
    }
    json_decref(v);
    return ok;
}

static json_t *parse_tool_text(const char *t, size_t n) {
    json_t *arr = json_array();
    while (n && isspace((unsigned char)*t)) t++, n--;
    static const char *const open_tags[] = {"<tool_call>", "<|tool_call|>", "<function_call>"};
    static const char *const close_tags[] = {"</tool_call>", "<|/tool_call|>", "</function_call>"};
    for (int k = 0; k < 3; k++) {
        size_t ol = strlen(open_tags[k]);
        if (n < ol || memcmp(t, open_tags[k], ol)) continue;
        const char *p = t;
        size_t left = n;
        while (left >= ol && !memcmp(p, open_tags[k], ol)) {
            p += ol, left -= ol;
            const char *e = find(p, left, close_tags[k]);
            size_t body = e ? (size_t)(e - p) : left;
            if (!calls_from_json(p, body, arr)) { json_decref(arr); return NULL; }
            if (!e) { left = 0; break; }
            p = e + strlen(close_tags[k]);
            left = n - (size_t)(p - t);
            while (left && isspace((unsigned char)*p)) p++, left--;
        }
        if (left) { json_decref(arr); return NULL; }
        return arr;
    }
    if (n >= 12 && !memcmp(t, "[TOOL_CALLS]", 12)) t += 12, n -= 12;
    if (!calls_from_json(t, n, arr)) { json_decref(arr); return NULL; }
    return arr;
}

int srv_split_finish(srv_split *s, srv_split_fn fn, void *user) {
    if (s->mode == M_TOOL) {
        const char *t = s->buf ? s->buf + s->tool_from : "";
        size_t n = s->buf ? s->len - s->tool_from : 0;
        s->tool_calls = parse_tool_text(t, n);
        if (!s->tool_calls && n) fn(user, false, t, n);
    } else if (s->pos < s->len) {
        /* Held tails (a partial tag) are plain text after all. */
        const char *p = s->buf + s->pos;
        size_t n = s->len - s->pos;
        if (s->mode == M_REASON) fn(user, true, p, n);
        else if (s->mode == M_START || s->mode == M_AFTER_THINK || s->mode == M_CONTENT) {
            size_t ws = 0;
            while (s->mode != M_CONTENT && ws < n && isspace((unsigned char)p[ws])) ws++;
            if (n > ws) fn(user, false, p + ws, n - ws);
        }
    }
    s->pos = s->len;
    return s->tool_calls ? (int)json_array_size(s->tool_calls) : 0;
}

/* --------------------------------------------------------- tool grammar */
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
