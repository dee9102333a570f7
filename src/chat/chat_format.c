/* chat_format.c: turns an OpenAI-style chat request into prompt text with
 * the model's chat template: picks the template (an override, a named
 * variant such as tokenizer.chat_template.tool_use, the default, or a
 * ChatML fallback), normalizes messages the way templates expect them
 * (tool-call arguments as objects, text parts joined, null content of
 * tool-call turns as ""), supplies bos_token / eos_token /
 * add_generation_prompt / tools, renders, and reports what the caller needs
 * next: whether the text already starts with BOS (so the tokenizer must not
 * add another), whether the prompt left a <think> block open, and which
 * tool-call syntax to parse the reply with. */
#include "chat/chat.h"
#include "core/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ChatML with Hermes-style tools, for models that ship no template. */
static const char CHATML_TEMPLATE[] =
    "{%- if tools %}\n"
    "{{- '<|im_start|>system\\n' }}\n"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}\n"
    "{{- 'You may call one or more functions to assist with the user query. The available functions are, as JSON "
    "signatures inside <tools></tools>:\\n<tools>' }}\n"
    "{%- for tool in tools %}{{- '\\n' + (tool | tojson) }}{%- endfor %}\n"
    "{{- '\\n</tools>\\n\\nFor each function call, return a JSON object with the function name and arguments within "
    "<tool_call></tool_call> tags:\\n<tool_call>\\n{\"name\": <function-name>, \"arguments\": <args-json-object>}"
    "\\n</tool_call><|im_end|>\\n' }}\n"
    "{%- elif messages[0].role == 'system' %}\n"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "{%- if message.role == 'system' and loop.first %}\n"
    "{%- elif message.role == 'tool' %}\n"
    "{{- '<|im_start|>user\\n<tool_response>\\n' + (message.content | string) + '\\n</tool_response><|im_end|>\\n' }}\n"
    "{%- else %}\n"
    "{{- '<|im_start|>' + message.role + '\\n' + (message.content if message.content is string else '') }}\n"
    "{%- for tc in message.tool_calls or [] %}\n"
    "{{- '\\n<tool_call>\\n{\"name\": \"' + tc.function.name + '\", \"arguments\": ' + (tc.function.arguments | tojson) "
    "+ '}\\n</tool_call>' }}\n"
    "{%- endfor %}\n"
    "{{- '<|im_end|>\\n' }}\n"
    "{%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}\n";

typedef struct chat_tmpl {
    char *name;                 /* "" for the default */
    cllm_chat_template *t;
    cllm_chat_format format;
    bool knows_tools;           /* the source mentions tools / tool calls (or emulation is off) */
    bool wants_functions;       /* firefunction-style: reads `functions` (tools as JSON) and `datetime` */
    bool fixed_clock;
} chat_tmpl;

struct cllm_chat {
    chat_tmpl *tmpls;
    size_t n;
    char *bos, *eos;
    pthread_mutex_t lock;   /* serializes cllm_chat_apply_json */
    cllm_err err;
};

static void free_tmpls(cllm_chat *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->tmpls[i].name);
        cllm_chat_template_free(c->tmpls[i].t);
    }
    free(c->tmpls);
    c->tmpls = NULL;
    c->n = 0;
}

void cllm_chat_free(cllm_chat *c) {
    if (!c) return;
    free_tmpls(c);
    free(c->bos);
    free(c->eos);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const char *cllm_chat_last_error(const cllm_chat *c) { return c ? c->err.msg : ""; }

static cllm_status add_tmpl(cllm_chat *c, const char *name, const char *src, uint32_t flags, bool is_fallback) {
    chat_tmpl *nt = realloc(c->tmpls, (c->n + 1) * sizeof *nt);
    if (!nt) return cllm_set_last_error(CLLM_ERR_NOMEM, "chat: out of memory");
    c->tmpls = nt;
    chat_tmpl *t = &c->tmpls[c->n];
    memset(t, 0, sizeof *t);
    cllm_status st = cllm_chat_template_init_ex(src, flags, &t->t);
    if (st != CLLM_OK) {
        char msg[CLLM_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cllm_last_error());
        return cllm_set_last_error(st, "chat template '%s': %s", name[0] ? name : "default", msg);
    }
    t->name = strdup(name);
    if (!t->name) {
        cllm_chat_template_free(t->t);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "chat: out of memory");
    }
    cllm_chat_template_use_real_clock(t->t, !(flags & CLLM_CHAT_TEMPLATE_FIXED_CLOCK));
    t->format = is_fallback ? cllm_chat_detect_format(NULL) : cllm_chat_detect_format(src);
    t->knows_tools = strstr(src, "tool") != NULL || (flags & CLLM_CHAT_TEMPLATE_NO_TOOL_EMULATION);
    t->wants_functions = strstr(src, "functions") && strstr(src, "datetime");
    t->fixed_clock = (flags & CLLM_CHAT_TEMPLATE_FIXED_CLOCK) != 0;
    c->n++;
    return CLLM_OK;
}

cllm_status cllm_chat_init(const cllm_chat_config *cfg, cllm_chat **out) {
    if (!out || !cfg) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat: NULL argument");
    *out = NULL;
    cllm_chat *c = calloc(1, sizeof *c);
    if (!c) return cllm_set_last_error(CLLM_ERR_NOMEM, "chat: out of memory");
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return cllm_set_last_error(CLLM_ERR_INTERNAL, "chat: cannot create a mutex");
    }
    c->bos = strdup(cfg->bos_token ? cfg->bos_token : "");
    c->eos = strdup(cfg->eos_token ? cfg->eos_token : "");
    cllm_status st = (!c->bos || !c->eos) ? cllm_set_last_error(CLLM_ERR_NOMEM, "chat: out of memory") : CLLM_OK;
    uint32_t tflags = CLLM_CHAT_TEMPLATE_GENERATION_TAG | cfg->template_flags;
    if (st == CLLM_OK && cfg->override_source) {
        st = add_tmpl(c, "", cfg->override_source, tflags, false);
    } else if (st == CLLM_OK) {
        if (cfg->template_source && cfg->template_source[0]) st = add_tmpl(c, "", cfg->template_source, tflags, false);
        for (size_t i = 0; st == CLLM_OK && i < cfg->n_named; i++) {
            const char *nm = cfg->named_names ? cfg->named_names[i] : NULL;
            const char *src = cfg->named_sources ? cfg->named_sources[i] : NULL;
            if (!nm || !src || !nm[0]) {
                st = cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat: named template %zu has no name or source", i);
                break;
            }
            st = add_tmpl(c, nm, src, tflags, false);
        }
        if (st == CLLM_OK && c->n == 0) st = add_tmpl(c, "chatml", CHATML_TEMPLATE, tflags, true);
    }
    if (st != CLLM_OK) {
        cllm_chat_free(c);
        return st;
    }
    *out = c;
    return CLLM_OK;
}

size_t cllm_chat_n_templates(const cllm_chat *c) { return c ? c->n : 0; }
const char *cllm_chat_template_name(const cllm_chat *c, size_t i) {
    if (!c || i >= c->n) return NULL;
    return c->tmpls[i].name[0] ? c->tmpls[i].name : "default";
}

static const chat_tmpl *find_tmpl(const cllm_chat *c, const char *name) {
    for (size_t i = 0; i < c->n; i++) {
        const char *nm = c->tmpls[i].name[0] ? c->tmpls[i].name : "default";
        if (strcmp(nm, name) == 0) return &c->tmpls[i];
    }
    return NULL;
}

/* ---------------------------------------------------------- normalizing */
/* Text of a content value: strings as is, arrays of parts joined. */
static json_t *flatten_content(json_t *content) {
    if (!json_is_array(content)) return json_incref(content);
    size_t i;
    json_t *part;
    size_t total = 0;
    json_array_foreach(content, i, part) {
        json_t *txt = json_is_string(part) ? part : json_object_get(part, "text");
        if (json_is_string(txt)) total += json_string_length(txt);
    }
    char *buf = malloc(total + 1);
    if (!buf) return NULL;
    size_t o = 0;
    json_array_foreach(content, i, part) {
        json_t *txt = json_is_string(part) ? part : json_object_get(part, "text");
        if (json_is_string(txt)) {
            memcpy(buf + o, json_string_value(txt), json_string_length(txt));
            o += json_string_length(txt);
        }
    }
    json_t *s = json_stringn(buf, o);
    free(buf);
    return s;
}

static cllm_status normalize_messages(cllm_chat *c, const json_t *msgs, json_t **out) {
    *out = NULL;
    if (!json_is_array(msgs)) return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "chat: \"messages\" must be an array");
    json_t *res = json_array();
    if (!res) return cllm_err_set(&c->err, CLLM_ERR_NOMEM, "chat: out of memory");
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (!json_is_object(m) || !json_is_string(json_object_get(m, "role"))) {
            json_decref(res);
            return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "chat: message %zu needs a string \"role\"", i);
        }
        json_t *nm = json_deep_copy(m);
        if (!nm) { json_decref(res); return cllm_err_set(&c->err, CLLM_ERR_NOMEM, "chat: out of memory"); }
        json_t *content = json_object_get(nm, "content");
        if (json_is_array(content)) {
            json_t *flat = flatten_content(content);
            if (!flat) { json_decref(nm); json_decref(res); return cllm_err_set(&c->err, CLLM_ERR_NOMEM, "chat: out of memory"); }
            json_object_set_new(nm, "content", flat);
        } else if (content && !json_is_string(content) && !json_is_null(content)) {
            json_decref(nm);
            json_decref(res);
            return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "chat: message %zu: \"content\" must be a string, an array of parts or null", i);
        }
        json_t *calls = json_object_get(nm, "tool_calls");
        if (json_is_array(calls) && json_array_size(calls) == 0) {
            json_object_del(nm, "tool_calls");
            calls = NULL;
        }
        if (json_is_array(calls)) {
            if (!content || json_is_null(content)) json_object_set_new(nm, "content", json_string(""));
            size_t k;
            json_t *tc;
            json_array_foreach(calls, k, tc) {
                json_t *fn = json_object_get(tc, "function");
                json_t *args = json_object_get(fn, "arguments");
                if (json_is_string(args)) {
                    /* templates expect the arguments as an object */
                    json_error_t je;
                    json_t *parsed = json_loads(json_string_value(args), JSON_DECODE_ANY, &je);
                    if (parsed && json_is_object(parsed)) json_object_set_new(fn, "arguments", parsed);
                    else json_decref(parsed);
                }
            }
        }
        json_array_append_new(res, nm);
    }
    *out = res;
    return CLLM_OK;
}

static bool role_is(const json_t *m, const char *role) {
    const char *r = json_string_value(json_object_get(m, "role"));
    return r && strcmp(r, role) == 0;
}

/* For templates that know nothing of tools: describe the tools in the
 * first turn and ask for the generic JSON reply (parsed by the generic
 * format), show earlier calls as that JSON, and turn tool results into user
 * turns (consecutive results merged, so roles still alternate). */
static cllm_status emulate_tools(json_t *msgs, const json_t *tools) {
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_t *pending = NULL;   /* merged tool results */
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (strcmp(role, "tool") == 0) {
            json_t *ct = json_object_get(m, "content");
            const char *txt = json_is_string(ct) ? json_string_value(ct) : "";
            if (!pending) pending = json_pack("{s:s, s:s}", "role", "user", "content", "");
            const char *prev = json_string_value(json_object_get(pending, "content"));
            size_t need = strlen(prev) + strlen(txt) + 32;
            char *buf = malloc(need);
            if (!buf) { json_decref(pending); json_decref(out); return CLLM_ERR_NOMEM; }
            snprintf(buf, need, "%s%sTool result: %s", prev, prev[0] ? "\n" : "", txt);
            json_object_set_new(pending, "content", json_string(buf));
            free(buf);
            continue;
        }
        if (pending) { json_array_append_new(out, pending); pending = NULL; }
        json_t *nm = json_deep_copy(m);
        json_t *calls = json_object_get(nm, "tool_calls");
        if (json_is_array(calls)) {
            json_t *list = json_array();
            size_t k;
            json_t *tc;
            json_array_foreach(calls, k, tc) {
                json_t *fn = json_object_get(tc, "function");
                json_array_append_new(list, json_pack("{s:O?, s:O?}", "name", json_object_get(fn, "name"), "arguments",
                                                      json_object_get(fn, "arguments")));
            }
            json_t *wrap = json_pack("{s:o}", "tool_calls", list);
            char *js = json_dumps(wrap, JSON_COMPACT);
            json_decref(wrap);
            json_t *ct = json_object_get(nm, "content");
            const char *prev = json_is_string(ct) ? json_string_value(ct) : "";
            size_t need = strlen(prev) + (js ? strlen(js) : 0) + 4;
            char *buf = malloc(need);
            if (buf && js) snprintf(buf, need, "%s%s%s", prev, prev[0] ? "\n" : "", js);
            json_object_set_new(nm, "content", json_string(buf ? buf : prev));
            free(buf);
            free(js);
            json_object_del(nm, "tool_calls");
        }
        json_array_append_new(out, nm);
    }
    if (pending) json_array_append_new(out, pending);
    if (tools) {
        char *tj = json_dumps(tools, JSON_COMPACT);
        static const char intro[] = "You can call these tools (OpenAI function schemas):\n";
        static const char howto[] =
            "\nTo call tools, reply with only a JSON object: {\"tool_calls\": [{\"name\": \"<tool name>\", "
            "\"arguments\": {<arguments>}}]}. Otherwise reply normally.";
        /* the first system turn, or else the first turn, carries the description */
        json_t *target = NULL;
        json_array_foreach(out, i, m) {
            const char *role = json_string_value(json_object_get(m, "role"));
            if (strcmp(role, "system") == 0) { target = m; break; }
        }
        if (!target) target = json_array_get(out, 0);
        if (target && tj) {
            json_t *ct = json_object_get(target, "content");
            const char *prev = json_is_string(ct) ? json_string_value(ct) : "";
            size_t need = strlen(prev) + strlen(tj) + sizeof intro + sizeof howto + 4;
            char *buf = malloc(need);
            if (buf) {
                snprintf(buf, need, "%s%s%s%s", intro, tj, howto, "");
                size_t l = strlen(buf);
                snprintf(buf + l, need - l, "%s%s", prev[0] ? "\n\n" : "", prev);
                json_object_set_new(target, "content", json_string(buf));
            }
            free(buf);
        }
        free(tj);
    }
    json_array_clear(msgs);
    json_array_extend(msgs, out);
    json_decref(out);
    return CLLM_OK;
}

static bool has_tool_turns(const json_t *msgs) {
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (json_object_get(m, "tool_calls") || role_is(m, "tool")) return true;
    }
    return false;
}

static bool ends_with_open_think(const char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t')) n--;
    return (n >= 7 && memcmp(s + n - 7, "<think>", 7) == 0) || (n >= 7 && memcmp(s + n - 7, "[THINK]", 7) == 0);
}

static cllm_status apply_locked(cllm_chat *c, const json_t *rq, cllm_chat_result *out) {
    if (!json_is_object(rq)) return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "chat: the request must be a JSON object");
    json_t *tools = json_object_get(rq, "tools");
    bool has_tools = json_is_array(tools) && json_array_size(tools) > 0;
    if (tools && !json_is_array(tools) && !json_is_null(tools))
        return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "chat: \"tools\" must be an array");
    /* template choice */
    const chat_tmpl *t = NULL;
    json_t *tname = json_object_get(rq, "template");
    if (json_is_string(tname)) {
        t = find_tmpl(c, json_string_value(tname));
        if (!t) return cllm_err_set(&c->err, CLLM_ERR_NOT_FOUND, "chat: the model has no template named '%s'", json_string_value(tname));
    } else {
        if (has_tools) t = find_tmpl(c, "tool_use");
        if (!t) t = find_tmpl(c, "default");
        if (!t) t = find_tmpl(c, "chatml");
        if (!t) t = &c->tmpls[0];
    }
    json_t *msgs = NULL;
    cllm_status st = normalize_messages(c, json_object_get(rq, "messages"), &msgs);
    if (st != CLLM_OK) return st;
    bool emulated = !t->knows_tools && (has_tools || has_tool_turns(msgs));
    if (emulated && (st = emulate_tools(msgs, has_tools ? tools : NULL)) != CLLM_OK) {
        json_decref(msgs);
        return cllm_err_set(&c->err, st, "chat: out of memory");
    }
    json_t *ctx = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rq, k, v) {
        if (strcmp(k, "messages") == 0 || strcmp(k, "tools") == 0 || strcmp(k, "template") == 0) continue;
        json_object_set(ctx, k, v);   /* extra variables: enable_thinking, reasoning_effort, ... */
    }
    json_object_set_new(ctx, "messages", msgs);
    if (has_tools && !emulated) json_object_set(ctx, "tools", tools);
    if (t->wants_functions && !json_object_get(ctx, "functions") && !json_object_get(ctx, "datetime")) {
        /* as llama.cpp supplies them: the tools as indented JSON ("" when
         * none) and the UTC time as "Jul 26 2026 10:00:00 GMT" */
        char *fj = NULL;
        if (has_tools) {
            cllm_chat_template *jt = NULL;
            json_t *jc = json_pack("{s:O}", "tools", tools);
            if (cllm_chat_template_init("{{ tools | tojson(indent=2) }}", &jt) != CLLM_OK ||
                cllm_chat_template_render_json(jt, jc, &fj) != CLLM_OK)
                fj = NULL;
            json_decref(jc);
            cllm_chat_template_free(jt);
        }
        json_object_set_new(ctx, "functions", json_string(fj ? fj : ""));
        free(fj);
        char dt[64];
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        if (t->fixed_clock) {
            tm.tm_year = 2026 - 1900; tm.tm_mon = 6; tm.tm_mday = 26; tm.tm_hour = 10; tm.tm_wday = 0; tm.tm_yday = 206;
        } else {
            time_t now = time(NULL);
            gmtime_r(&now, &tm);
        }
        strftime(dt, sizeof dt, "%b %d %Y %H:%M:%S GMT", &tm);
        json_object_set_new(ctx, "datetime", json_string(dt));
    }
    if (!json_object_get(ctx, "add_generation_prompt")) json_object_set_new(ctx, "add_generation_prompt", json_true());
    if (!json_object_get(ctx, "bos_token")) json_object_set_new(ctx, "bos_token", json_string(c->bos));
    if (!json_object_get(ctx, "eos_token")) json_object_set_new(ctx, "eos_token", json_string(c->eos));
    char *text = NULL;
    st = cllm_chat_template_render_json(t->t, ctx, &text);
    if (st != CLLM_OK) {
        const char *ty = cllm_chat_template_error_type(t->t);
        if (strcmp(ty, "TemplateError") == 0)   /* raise_exception: the template refuses this conversation */
            cllm_err_set(&c->err, st, "%s", cllm_chat_template_last_error(t->t));
        else
            cllm_err_set(&c->err, st, "chat template render failed: %s", cllm_chat_template_last_error(t->t));
    }
    json_decref(ctx);
    if (st != CLLM_OK) return st;
    const char *bos = json_string_value(json_object_get(rq, "bos_token"));
    if (!bos) bos = c->bos;
    out->prompt = text;
    out->starts_with_bos = bos[0] && strncmp(text, bos, strlen(bos)) == 0;
    out->thinking_open = ends_with_open_think(text);
    out->format = emulated ? CLLM_CHAT_FORMAT_GENERIC : t->format;
    out->template_name = t->name[0] ? t->name : "default";
    out->parser_flags = (has_tools ? CLLM_CHAT_PARSE_TOOLS : 0) | (out->thinking_open ? CLLM_CHAT_PARSE_THINKING_OPEN : 0);
    return CLLM_OK;
}

cllm_status cllm_chat_apply_json(cllm_chat *c, const json_t *rq, cllm_chat_result *out) {
    if (!c || !rq || !out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat apply: NULL argument");
    memset(out, 0, sizeof *out);
    /* one apply at a time: renders share the templates' error slots and c->err */
    pthread_mutex_lock(&c->lock);
    cllm_status st = apply_locked(c, rq, out);
    pthread_mutex_unlock(&c->lock);
    return st;
}

cllm_status cllm_chat_apply(cllm_chat *c, const char *request_json, cllm_chat_result *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!c || !request_json || !out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat apply: NULL argument");
    json_error_t je;
    json_t *rq = json_loads(request_json, 0, &je);
    if (!rq) {
        pthread_mutex_lock(&c->lock);
        cllm_status st = cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "chat: bad request JSON at line %d column %d: %s",
                                      je.line, je.column, je.text);
        pthread_mutex_unlock(&c->lock);
        return st;
    }
    cllm_status st = cllm_chat_apply_json(c, rq, out);
    json_decref(rq);
    return st;
}

void cllm_chat_result_clear(cllm_chat_result *r) {
    if (!r) return;
    free(r->prompt);
    memset(r, 0, sizeof *r);
}
