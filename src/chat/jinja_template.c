/* jinja_template.c: the template handle (public cllm_chat_template_* API and
 * the json_t-based internal variant): parse once, render many times. Each
 * render converts the JSON context into Jinja values in a fresh arena, runs
 * the interpreter, and copies the output into a malloc'd string. */
#include "chat/chat.h"
#include "chat/jinja.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

struct cllm_chat_template {
    jarena   arena;     /* AST and tokens */
    char    *src;       /* owned copy of the source */
    jnode   *root;
    cllm_err err;
    const char *err_type;
    bool real_clock;
};

void cllm_chat_template_use_real_clock(cllm_chat_template *t, bool on) {
    if (t) t->real_clock = on;
}

static const char *kind_name(jerr_kind k) {
    switch (k) {
    case JE_NONE: return "";
    case JE_SYNTAX: return "TemplateSyntaxError";
    case JE_TEMPLATE: return "TemplateError";
    case JE_UNDEFINED: return "UndefinedError";
    case JE_TYPE: return "TypeError";
    case JE_SECURITY: return "SecurityError";
    case JE_RECURSION: return "RecursionError";
    case JE_VALUE: return "ValueError";
    case JE_ZERODIV: return "ZeroDivisionError";
    case JE_INDEX: return "IndexError";
    case JE_NOMEM: return "MemoryError";
    default: return "TemplateRuntimeError";
    }
}

cllm_status cllm_chat_template_init_ex(const char *source, uint32_t flags, cllm_chat_template **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat template: out is NULL");
    *out = NULL;
    if (!source) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat template: source is NULL");
    cllm_chat_template *t = calloc(1, sizeof *t);
    if (!t) return cllm_set_last_error(CLLM_ERR_NOMEM, "chat template: out of memory");
    size_t n = strlen(source);
    t->src = malloc(n + 1);
    jparse_state *ps = calloc(1, sizeof *ps);
    if (!t->src || !ps) {
        free(ps);
        cllm_chat_template_free(t);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "chat template: out of memory");
    }
    memcpy(t->src, source, n + 1);
    ps->arena = &t->arena;
    ps->src = t->src;
    ps->srcn = n;
    ps->generation_tag = (flags & CLLM_CHAT_TEMPLATE_GENERATION_TAG) != 0;
    t->real_clock = (flags & CLLM_CHAT_TEMPLATE_FIXED_CLOCK) == 0;
    if (setjmp(ps->jb)) {
        cllm_status st = ps->err_kind == JE_NOMEM ? CLLM_ERR_NOMEM : CLLM_ERR_FORMAT;
        cllm_set_last_error(st, "chat template syntax error: %s", ps->err);
        free(ps);
        cllm_chat_template_free(t);
        return st;
    }
    jinja_lex(ps);
    t->root = jinja_parse(ps);
    free(ps);
    *out = t;
    return CLLM_OK;
}

cllm_status cllm_chat_template_init(const char *source, cllm_chat_template **out) {
    return cllm_chat_template_init_ex(source, 0, out);
}

void cllm_chat_template_free(cllm_chat_template *t) {
    if (!t) return;
    ja_free_all(&t->arena);
    free(t->src);
    free(t);
}

const char *cllm_chat_template_last_error(const cllm_chat_template *t) { return t ? t->err.msg : ""; }
const char *cllm_chat_template_error_type(const cllm_chat_template *t) {
    return t && t->err_type ? t->err_type : "";
}

static jv from_json(jctx *c, const json_t *j, int depth) {
    if (depth > 512) jinja_raise(c, JE_RECURSION, "context nested too deeply");
    switch (json_typeof(j)) {
    case JSON_NULL: return jv_none();
    case JSON_TRUE: return jv_bool(true);
    case JSON_FALSE: return jv_bool(false);
    case JSON_INTEGER: return jv_int((int64_t)json_integer_value(j));
    case JSON_REAL: return jv_float(json_real_value(j));
    case JSON_STRING: return jv_str_ref(json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        jv l = jv_list(c, n);
        for (size_t i = 0; i < n; i++) jl_push(c, l.u.l, from_json(c, json_array_get(j, i), depth + 1));
        return l;
    }
    case JSON_OBJECT: {
        jv d = jv_dict(c, json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            jd_set(c, d.u.d, jv_str_ref(k, strlen(k)), from_json(c, v, depth + 1));
        }
        return d;
    }
    }
    return jv_undef();
}

cllm_status cllm_chat_template_render_json(cllm_chat_template *t, const json_t *context, char **out) {
    if (!t || !out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat template render: NULL argument");
    *out = NULL;
    t->err_type = "";
    t->err.msg[0] = 0;
    if (context && !json_is_object(context))
        return cllm_err_set(&t->err, CLLM_ERR_INVALID_ARG, "chat template render: context must be a JSON object");
    jctx *c = calloc(1, sizeof *c);
    if (!c) return cllm_err_set(&t->err, CLLM_ERR_NOMEM, "chat template render: out of memory");
    c->max_bytes = (size_t)512 << 20;
    c->real_clock = t->real_clock;
    if (setjmp(c->jb)) {
        cllm_status st = c->err_kind == JE_NOMEM ? CLLM_ERR_NOMEM
                       : c->err_kind == JE_TEMPLATE ? CLLM_ERR_INVALID_ARG : CLLM_ERR_FORMAT;
        t->err_type = kind_name(c->err_kind);
        if (c->err_kind == JE_TEMPLATE) cllm_err_set(&t->err, st, "%s", c->err);
        else cllm_err_set(&t->err, st, "%s: %s", t->err_type, c->err);
        ja_free_all(&c->arena);
        free(c);
        return st;
    }
    jframe *g = ja_alloc(&c->arena, sizeof(jframe));
    if (!g) jinja_oom(c);
    jinja_add_globals(c, &g->vars);
    if (context) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)context, k, v) {
            jd_set(c, &g->vars, jv_str_ref(k, strlen(k)), from_json(c, v, 0));
        }
    }
    c->globals = g;
    jframe *root = ja_alloc(&c->arena, sizeof(jframe));
    if (!root) jinja_oom(c);
    root->parent = g;
    c->out.c = c;
    jinja_exec(c, t->root, root, &c->out);
    char *res = malloc(c->out.n + 1);
    if (!res) jinja_oom(c);
    if (c->out.n) memcpy(res, c->out.p, c->out.n);
    res[c->out.n] = 0;
    ja_free_all(&c->arena);
    free(c);
    *out = res;
    return CLLM_OK;
}

cllm_status cllm_chat_template_render(cllm_chat_template *t, const char *context_json, char **out) {
    if (!t || !out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat template render: NULL argument");
    *out = NULL;
    json_t *ctx = NULL;
    if (context_json && *context_json) {
        json_error_t je;
        ctx = json_loads(context_json, JSON_DECODE_ANY, &je);
        if (!ctx)
            return cllm_err_set(&t->err, CLLM_ERR_INVALID_ARG, "chat template context: bad JSON at line %d column %d: %s",
                                je.line, je.column, je.text);
    }
    cllm_status st = cllm_chat_template_render_json(t, ctx, out);
    json_decref(ctx);
    return st;
}
