/* toolcall_formats.c: the tool-call syntaxes of the model families
 * (tag-wrapped Hermes-style calls, Kimi K2, Llama 3.x, Mistral, DeepSeek,
 * functionary v3.1/v3.2, gpt-oss harmony, generic JSON), reasoning blocks,
 * and format detection from a template's source. Each parser reads the whole
 * output so far; in partial mode it leaves out anything that could still be
 * the start of a marker. */
#include "chat/toolcall_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- families */
static void tc_add_call_json(P *p, const char *name, size_t name_n, json_t *args) {
    pcall *c = tc_pr_call(p->r);
    if (!c) { json_decref(args); return; }
    tc_sb_put(&c->name, name, name_n);
    char *t = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!t || !tc_sb_put(&c->args, t, strlen(t))) p->r->oom = true;
    free(t);
    json_decref(args);
    c->name_done = c->args_done = true;
}

/* <invoke name="X"><parameter name="k">v</parameter></invoke> (MiniMax). */
static void parse_invokes(P *p, size_t a, size_t b) {
    const char *s = p->s;
    for (;;) {
        size_t iv = tc_find(s, b, a, "<invoke name=");
        if (iv == NPOS) return;
        size_t ns = iv + 13;
        char q = ns < b ? s[ns] : 0;
        if (q == '"' || q == '\'') ns++;
        size_t ne = ns;
        while (ne < b && s[ne] != q && s[ne] != '>') ne++;
        size_t ie = tc_find(s, b, ne, "</invoke>");
        if (ie == NPOS) ie = b;
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        tc_sb_put(&c->name, s + ns, ne - ns);
        c->name_done = c->args_done = true;
        tc_sb_put(&c->args, "{", 1);
        size_t k = ne;
        bool first = true;
        for (;;) {
            size_t ps = tc_find(s, ie, k, "<parameter name=");
            if (ps == NPOS) break;
            size_t ks = ps + 16;
            char pq = ks < ie ? s[ks] : 0;
            if (pq == '"' || pq == '\'') ks++;
            size_t ke = ks;
            while (ke < ie && s[ke] != pq && s[ke] != '>') ke++;
            size_t vs = tc_find(s, ie, ke, ">");
            if (vs == NPOS) break;
            vs++;
            size_t ve = tc_find(s, ie, vs, "</parameter>");
            if (ve == NPOS) ve = ie;
            if (!first) tc_sb_put(&c->args, ", ", 2);
            first = false;
            tc_put_json_key(p->r, &c->args, s + ks, ke - ks);
            tc_put_param_value(p->r, &c->args, s + vs, ve - vs);
            k = ve;
        }
        tc_sb_put(&c->args, "}", 1);
        a = ie;
    }
}

/* [name(k=v, ...), name2(...)] (LFM2 pythonic calls). */
static void parse_pythonic(P *p, size_t a, size_t b) {
    const char *s = p->s;
    while (a < b && (tc_is_ws(s[a]) || s[a] == '[')) a++;
    while (a < b) {
        size_t ns = a;
        while (a < b && s[a] != '(') a++;
        if (a >= b) return;
        size_t ne = a;
        while (ne > ns && tc_is_ws(s[ne - 1])) ne--;
        /* the matching ')' outside strings */
        size_t k = a + 1;
        int depth = 1;
        char q = 0;
        for (; k < b && depth; k++) {
            if (q) {
                if (s[k] == '\\') k++;
                else if (s[k] == q) q = 0;
            } else if (s[k] == '"' || s[k] == '\'') q = s[k];
            else if (s[k] == '(') depth++;
            else if (s[k] == ')') depth--;
        }
        tc_add_call_json(p, s + ns, ne - ns, tc_py_kwargs(s, a + 1, depth ? k : k - 1));
        a = k;
        while (a < b && (tc_is_ws(s[a]) || s[a] == ',' || s[a] == ']')) a++;
    }
}

/* <tool_calls>[{"name":..,"arguments":..}, ...]</tool_calls> (Apriel). */
static void parse_json_array_body(P *p, size_t a, size_t b) {
    const char *s = p->s;
    while (a < b && tc_is_ws(s[a])) a++;
    if (a >= b || s[a] != '[') return;
    P sub = *p;
    sub.n = b;
    sub.final = true;
    size_t k = a + 1;
    for (;;) {
        while (k < b && (tc_is_ws(s[k]) || s[k] == ',')) k++;
        if (k >= b || s[k] != '{') break;
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        bool cc, ok;
        size_t e = tc_scan_call_object(&sub, k, c, &cc, &ok);
        if (!c->name_done || !cc) { tc_sb_free(&c->name); tc_sb_free(&c->args); tc_sb_free(&c->id); p->r->ncalls--; }
        if (!cc || !ok) break;
        k = e;
    }
}

enum { BODY_AUTO, BODY_FUNCTION, BODY_ARRAY, BODY_INVOKE, BODY_PYTHONIC };
static const struct wrapper { const char *open, *close; int body; } WRAPPERS[] = {
    {"<tool_call>", "</tool_call>", BODY_AUTO},                 /* Hermes, Qwen, GLM, Qwen3-Coder */
    {"<tool_calls>", "</tool_calls>", BODY_ARRAY},              /* Apriel */
    {"<seed:tool_call>", "</seed:tool_call>", BODY_AUTO},       /* Seed-OSS */
    {"<minimax:tool_call>", "</minimax:tool_call>", BODY_INVOKE},
    {"<|tool_call_start|>", "<|tool_call_end|>", BODY_PYTHONIC}, /* LFM2 */
    {"<function=", "</function>", BODY_FUNCTION},               /* bare XML function */
};
#define N_WRAPPERS (sizeof WRAPPERS / sizeof WRAPPERS[0])

/* Tag-wrapped tool calls: Hermes 2/3, Qwen 2.5/3, Granite 4, GLM 4.x,
 * Qwen3-Coder, Apriel, Seed-OSS, MiniMax, LFM2. JSON bodies stream; other
 * bodies become calls when their closing tag arrives. */
static void parse_hermes(P *p, size_t i) {
    const char *marks[N_WRAPPERS + 1];
    for (size_t w = 0; w < N_WRAPPERS; w++) marks[w] = WRAPPERS[w].open;
    marks[N_WRAPPERS] = NULL;
    const char *s = p->s;
    size_t n = p->n;
    while (i < n) {
        size_t t = NPOS, wi = 0;
        for (size_t w = 0; w < N_WRAPPERS; w++) {
            size_t f = tc_find(s, n, i, WRAPPERS[w].open);
            if (f < t) { t = f; wi = w; }
        }
        if (t == NPOS) {
            tc_add_content(p, i, p->final ? n : n - tc_holdback(s + i, n - i, marks));
            return;
        }
        tc_add_content(p, i, t);
        const struct wrapper *w = &WRAPPERS[wi];
        size_t bs = w->body == BODY_FUNCTION ? t : t + strlen(w->open);
        size_t be = tc_find(s, n, bs, w->close);
        bool closed = be != NPOS;
        if (!closed) be = p->final ? n : n - tc_holdback(s + bs, n - bs, (const char *const[]){w->close, NULL});
        if (closed || p->final) {
            switch (w->body) {
            case BODY_AUTO: tc_parse_call_body(p, bs, be, true); break;
            case BODY_FUNCTION: tc_parse_xml_function(p, bs, be); break;
            case BODY_ARRAY: parse_json_array_body(p, bs, be); break;
            case BODY_INVOKE: parse_invokes(p, bs, be); break;
            case BODY_PYTHONIC: parse_pythonic(p, bs, be); break;
            }
        } else if (w->body == BODY_AUTO) {
            tc_parse_call_body(p, bs, be, false);   /* a JSON body streams */
        }
        if (!closed) return;
        i = be + strlen(w->close);
    }
}

/* Kimi K2: <|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:IDX
 * <|tool_call_argument_begin|>{args}<|tool_call_end|>...<|tool_calls_section_end|>;
 * the id is "functions.NAME:IDX". */
static void parse_kimi(P *p, size_t i) {
    static const char *const marks[] = {"<|tool_calls_section_begin|>", "<|tool_call_begin|>", NULL};
    const char *s = p->s;
    size_t n = p->n;
    size_t t1 = tc_find(s, n, i, marks[0]), t2 = tc_find(s, n, i, marks[1]);
    size_t t = t1 < t2 ? t1 : t2;
    if (t == NPOS) {
        tc_add_content(p, i, p->final ? n : n - tc_holdback(s + i, n - i, marks));
        return;
    }
    tc_add_content(p, i, t);
    size_t k = t == t1 ? t + strlen(marks[0]) : t;
    for (;;) {
        while (k < n && tc_is_ws(s[k])) k++;
        if (!tc_starts(s, n, k, "<|tool_call_begin|>")) {
            size_t rem = n - k;
            bool maybe = (rem < 19 && memcmp(s + k, "<|tool_call_begin|>", rem) == 0) ||
                         (rem < 27 && memcmp(s + k, "<|tool_calls_section_end|>", rem) == 0);
            if (!p->final && maybe) return;
            break;
        }
        size_t hs = k + 19;
        size_t ab = tc_find(s, n, hs, "<|tool_call_argument_begin|>");
        if (ab == NPOS) return;
        size_t he = ab;
        while (he > hs && tc_is_ws(s[he - 1])) he--;
        size_t ns = hs, ne = he;
        if (ne - ns > 10 && memcmp(s + ns, "functions.", 10) == 0) ns += 10;
        size_t colon = ne;
        while (colon > ns && s[colon - 1] != ':') colon--;
        if (colon > ns) ne = colon - 1;
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        tc_sb_put(&c->name, s + ns, ne - ns);
        tc_sb_put(&c->id, s + hs, he - hs);
        c->name_done = true;
        size_t as = ab + 28;
        size_t ce = tc_find(s, n, as, "<|tool_call_end|>");
        size_t ae = ce != NPOS ? ce : p->final ? n : n - tc_holdback(s + as, n - as, (const char *const[]){"<|tool_call_end|>", NULL});
        while (as < ae && tc_is_ws(s[as])) as++;
        size_t at = ae;
        while (at > as && tc_is_ws(s[at - 1])) at--;
        tc_sb_put(&c->args, s + as, at - as);
        c->args_done = ce != NPOS;
        if (ce == NPOS) return;
        k = ce + 17;
    }
    while (k < n && tc_is_ws(s[k])) k++;
    if (tc_starts(s, n, k, "<|tool_calls_section_end|>")) k += 26;
    tc_add_content(p, k, n);
}

/* A whole-output JSON tool call (Llama 3.x, generic): hold the output while
 * it may still be one, emit content when it turns out not to be. */
static void parse_json_calls(P *p, size_t i, bool generic) {
    const char *s = p->s;
    size_t n = p->n;
    while (i < n && tc_is_ws(s[i])) i++;
    if (i >= n) return;
    if (s[i] != '{' && s[i] != '[') {
        tc_add_content(p, i, n);
        return;
    }
    bool complete, ok;
    size_t end = tc_json_skip(s, n, i, p->final, &complete, &ok);
    if (!generic && s[i] == '{') {
        /* Llama: {"name": ..., "parameters": {...}}; stream when it has a name. */
        size_t before = p->r->ncalls;
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        bool cc, cok;
        tc_scan_call_object(p, i, c, &cc, &cok);
        if (cok && c->name_done) {
            size_t k = end;
            while (k < n && (tc_is_ws(s[k]) || s[k] == ';')) k++;
            if (cc && k < n && s[k] == '{') parse_json_calls(p, k, false);   /* several calls */
            else if (cc) tc_add_content(p, k, n);
            return;
        }
        tc_sb_free(&c->name); tc_sb_free(&c->args); tc_sb_free(&c->id);
        p->r->ncalls = before;
        if (!complete && !p->final) return;   /* may still become a call */
        tc_add_content(p, i, n);
        return;
    }
    if (!complete) {
        if (p->final) tc_add_content(p, i, n);
        return;
    }
    /* generic: {"tool_call": {...}}, {"tool_calls": [...]}, {"name":..,"arguments":..}, {"response": "..."} */
    json_error_t je;
    json_t *j = json_loadb(s + i, end - i, 0, &je);
    json_t *list = NULL;
    if (j && json_is_object(j)) {
        json_t *tc = json_object_get(j, "tool_calls");
        json_t *one = json_object_get(j, "tool_call");
        if (json_is_array(tc)) list = json_incref(tc);
        else if (json_is_object(one)) { list = json_array(); json_array_append(list, one); }
        else if (json_is_string(json_object_get(j, "name"))) { list = json_array(); json_array_append(list, j); }
        else if (json_is_string(json_object_get(j, "response"))) {
            json_t *rs = json_object_get(j, "response");
            if (!tc_sb_put(&p->r->content, json_string_value(rs), json_string_length(rs))) p->r->oom = true;
            json_decref(j);
            return;
        }
    } else if (j && json_is_array(j)) {
        list = json_incref(j);
    }
    size_t idx;
    json_t *e;
    bool all_ok = list != NULL && json_array_size(list) > 0;
    json_array_foreach(list, idx, e) {
        json_t *fn = json_object_get(e, "function");
        json_t *src = json_is_object(fn) ? fn : e;
        if (!json_is_string(json_object_get(src, "name"))) all_ok = false;
    }
    if (all_ok) {
        json_array_foreach(list, idx, e) {
            json_t *fn = json_object_get(e, "function");
            json_t *src = json_is_object(fn) ? fn : e;
            pcall *c = tc_pr_call(p->r);
            if (!c) break;
            json_t *nm = json_object_get(src, "name");
            tc_sb_put(&c->name, json_string_value(nm), json_string_length(nm));
            c->name_done = true;
            json_t *args = json_object_get(src, "arguments");
            if (!args) args = json_object_get(src, "parameters");
            if (json_is_string(args)) tc_sb_put(&c->args, json_string_value(args), json_string_length(args));
            else {
                char *t = args ? json_dumps(args, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("{}");
                if (!t || !tc_sb_put(&c->args, t, strlen(t))) p->r->oom = true;
                free(t);
            }
            c->args_done = true;
            json_t *id = json_object_get(e, "id");
            if (json_is_string(id)) tc_sb_put(&c->id, json_string_value(id), json_string_length(id));
        }
        tc_add_content(p, end, n);
    } else {
        tc_add_content(p, i, n);
    }
    json_decref(list);
    json_decref(j);
}

/* <|python_tag|>: JSON call, `name.call(k="v")` builtin, or python code. */
static void parse_python_tag(P *p, size_t a) {
    const char *s = p->s;
    size_t n = p->n;
    size_t end = n;
    static const char *const ends[] = {"<|eom_id|>", "<|eot_id|>", NULL};
    size_t e1 = tc_find(s, n, a, "<|eom_id|>"), e2 = tc_find(s, n, a, "<|eot_id|>");
    if (e1 != NPOS || e2 != NPOS) end = e1 < e2 ? e1 : e2;
    else if (!p->final) { (void)ends; return; }   /* wait for the whole call */
    while (a < end && tc_is_ws(s[a])) a++;
    while (end > a && tc_is_ws(s[end - 1])) end--;
    if (a < end && s[a] == '{') {
        P sub = *p;
        sub.n = end;
        sub.final = true;
        parse_json_calls(&sub, a, false);
        return;
    }
    size_t dot = tc_find(s, end, a, ".call(");
    bool ident = dot != NPOS;
    for (size_t k = a; ident && k < dot; k++)
        if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '_'))
            ident = false;
    pcall *c = tc_pr_call(p->r);
    if (!c) return;
    c->name_done = c->args_done = true;
    if (ident && s[end - 1] == ')') {
        tc_sb_put(&c->name, s + a, dot - a);
        json_t *obj = tc_py_kwargs(s, dot + 6, end - 1);
        char *t = json_dumps(obj, JSON_COMPACT);
        if (!t || !tc_sb_put(&c->args, t, strlen(t))) p->r->oom = true;
        free(t);
        json_decref(obj);
    } else {
        tc_sb_put(&c->name, "python", 6);
        json_t *obj = json_pack("{s:s%}", "code", s + a, end - a);
        char *t = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        if (!t || !tc_sb_put(&c->args, t, strlen(t))) p->r->oom = true;
        free(t);
        json_decref(obj);
    }
}

static void parse_llama3(P *p, size_t i) {
    static const char *const marks[] = {"<|python_tag|>", NULL};
    const char *s = p->s;
    size_t n = p->n;
    size_t t = tc_find(s, n, i, "<|python_tag|>");
    if (t != NPOS) {
        tc_add_content(p, i, t);
        parse_python_tag(p, t + 14);
        return;
    }
    P sub = *p;
    sub.n = p->final ? n : n - tc_holdback(s, n, marks);
    parse_json_calls(&sub, i, false);
}

/* Mistral: [TOOL_CALLS][{"name":..,"arguments":{..},"id":..}, ...] or
 * [TOOL_CALLS]name[ARGS]{...} (optionally name[CALL_ID]id[ARGS]{...}). */
static void parse_mistral(P *p, size_t i) {
    static const char *const marks[] = {"[TOOL_CALLS]", NULL};
    const char *s = p->s;
    size_t n = p->n;
    size_t t = tc_find(s, n, i, "[TOOL_CALLS]");
    if (t == NPOS) {
        tc_add_content(p, i, p->final ? n : n - tc_holdback(s + i, n - i, marks));
        return;
    }
    tc_add_content(p, i, t);
    size_t k = t + 12;
    while (k < n && tc_is_ws(s[k])) k++;
    if (k < n && s[k] == '[') {
        k++;
        for (;;) {
            while (k < n && (tc_is_ws(s[k]) || s[k] == ',')) k++;
            if (k >= n || s[k] != '{') break;
            pcall *c = tc_pr_call(p->r);
            if (!c) return;
            bool cc, ok;
            size_t e = tc_scan_call_object(p, k, c, &cc, &ok);
            /* the id may follow the arguments: a call is shown only once complete */
            if (!c->name_done || !cc) { tc_sb_free(&c->name); tc_sb_free(&c->args); tc_sb_free(&c->id); p->r->ncalls--; }
            if (!cc || !ok) return;
            k = e;
        }
        if (k < n && s[k] == ']') tc_add_content(p, k + 1, n);
        return;
    }
    /* name[ARGS]{...} repeated, each optionally after another [TOOL_CALLS] */
    while (k < n) {
        size_t a = tc_find(s, n, k, "[ARGS]");
        if (a == NPOS) return;
        size_t name_end = a;
        size_t cid = tc_find(s, a, k, "[CALL_ID]");
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        if (cid != NPOS) {
            name_end = cid;
            tc_sb_put(&c->id, s + cid + 9, a - cid - 9);
        }
        tc_sb_put(&c->name, s + k, name_end - k);
        c->name_done = true;
        size_t vs = a + 6;
        while (vs < n && tc_is_ws(s[vs])) vs++;
        if (vs >= n) return;
        bool vc, ok;
        size_t ve = tc_json_skip(s, n, vs, p->final, &vc, &ok);
        tc_sb_put(&c->args, s + vs, ve - vs);
        c->args_done = vc;
        if (!vc) return;
        k = ve;
        while (k < n && tc_is_ws(s[k])) k++;
        if (tc_starts(s, n, k, "[TOOL_CALLS]")) k += 12;
        else {
            tc_add_content(p, k, p->final ? n : n - tc_holdback(s + k, n - k, marks));
            return;
        }
    }
}

/* DeepSeek R1 / V3 / V3.1:
 * <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{..}\n```<｜tool▁call▁end｜>...
 * or (V3.1) <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{..}<｜tool▁call▁end｜>. */
#define DS_CALLS_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define DS_CALLS_END   "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>"
#define DS_CALL_BEGIN  "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define DS_CALL_END    "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>"
#define DS_SEP         "<\xef\xbd\x9ctool\xe2\x96\x81" "sep\xef\xbd\x9c>"

static void parse_deepseek(P *p, size_t i) {
    static const char *const marks[] = {DS_CALLS_BEGIN, DS_CALL_BEGIN, NULL};
    const char *s = p->s;
    size_t n = p->n;
    size_t t1 = tc_find(s, n, i, DS_CALLS_BEGIN), t2 = tc_find(s, n, i, DS_CALL_BEGIN);
    size_t t = t1 < t2 ? t1 : t2;
    if (t == NPOS) {
        tc_add_content(p, i, p->final ? n : n - tc_holdback(s + i, n - i, marks));
        return;
    }
    tc_add_content(p, i, t);
    size_t k = t == t1 ? t + strlen(DS_CALLS_BEGIN) : t;
    for (;;) {
        while (k < n && tc_is_ws(s[k])) k++;
        if (!tc_starts(s, n, k, DS_CALL_BEGIN)) {
            /* the rest may still grow into another call or the end marker */
            size_t rem = n - k;
            bool maybe = (rem < strlen(DS_CALL_BEGIN) && memcmp(s + k, DS_CALL_BEGIN, rem) == 0) ||
                         (rem < strlen(DS_CALLS_END) && memcmp(s + k, DS_CALLS_END, rem) == 0);
            if (!p->final && maybe) return;
            break;
        }
        size_t hs = k + strlen(DS_CALL_BEGIN);
        size_t sep = tc_find(s, n, hs, DS_SEP);
        size_t ce = tc_find(s, n, hs, DS_CALL_END);
        if (sep == NPOS || (ce != NPOS && ce < sep)) {
            if (!p->final) return;
            break;
        }
        if (ce == NPOS && !p->final) return;   /* whole call needed */
        size_t be = ce == NPOS ? n : ce;
        size_t bs = sep + strlen(DS_SEP);
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        const char *hdr = s + hs;
        size_t hl = sep - hs;
        size_t fence = tc_find(s, be, bs, "```");
        if (hl == 8 && memcmp(hdr, "function", 8) == 0 && fence != NPOS) {
            /* R1/V3: NAME\n```json\nARGS\n``` */
            size_t nl = tc_find(s, be, bs, "\n");
            if (nl == NPOS || nl > fence) nl = fence;
            size_t ne = nl;
            while (ne > bs && tc_is_ws(s[ne - 1])) ne--;
            tc_sb_put(&c->name, s + bs, ne - bs);
            size_t as = fence + 3;
            while (as < be && s[as] != '\n') as++;
            size_t ae = tc_find(s, be, as, "```");
            if (ae == NPOS) ae = be;
            while (as < ae && tc_is_ws(s[as])) as++;
            while (ae > as && tc_is_ws(s[ae - 1])) ae--;
            tc_sb_put(&c->args, s + as, ae - as);
        } else {
            size_t ns = hs, ne = sep;
            while (ns < ne && tc_is_ws(s[ns])) ns++;
            while (ne > ns && tc_is_ws(s[ne - 1])) ne--;
            tc_sb_put(&c->name, s + ns, ne - ns);
            size_t as = bs, ae = be;
            while (as < ae && tc_is_ws(s[as])) as++;
            while (ae > as && tc_is_ws(s[ae - 1])) ae--;
            tc_sb_put(&c->args, s + as, ae - as);
        }
        c->name_done = c->args_done = true;
        if (ce == NPOS) return;
        k = ce + strlen(DS_CALL_END);
    }
    while (k < n && tc_is_ws(s[k])) k++;
    if (tc_starts(s, n, k, DS_CALLS_END)) k += strlen(DS_CALLS_END);
    else if (!p->final && tc_holdback(s + k, n - k, (const char *const[]){DS_CALLS_END, NULL}) == n - k) return;
    tc_add_content(p, k, n);
}

/* functionary v3.1 (llama 3.1 based): <function=NAME>{json}</function>, <|python_tag|>code. */
static void parse_functionary31(P *p, size_t i) {
    static const char *const marks[] = {"<function=", "<|python_tag|>", NULL};
    const char *s = p->s;
    size_t n = p->n;
    while (i < n) {
        size_t t1 = tc_find(s, n, i, "<function="), t2 = tc_find(s, n, i, "<|python_tag|>");
        size_t t = t1 < t2 ? t1 : t2;
        if (t == NPOS) {
            tc_add_content(p, i, p->final ? n : n - tc_holdback(s + i, n - i, marks));
            return;
        }
        tc_add_content(p, i, t);
        if (t == t2) {
            parse_python_tag(p, t + 14);
            return;
        }
        size_t ns = t + 10, ne = tc_find(s, n, ns, ">");
        if (ne == NPOS) return;
        size_t ce = tc_find(s, n, ne + 1, "</function>");
        if (ce == NPOS && !p->final) {
            /* stream the JSON arguments */
            pcall *c = tc_pr_call(p->r);
            if (!c) return;
            tc_sb_put(&c->name, s + ns, ne - ns);
            c->name_done = true;
            size_t as = ne + 1;
            size_t ae = n - tc_holdback(s + as, n - as, (const char *const[]){"</function>", NULL});
            while (as < ae && tc_is_ws(s[as])) as++;
            while (ae > as && tc_is_ws(s[ae - 1])) ae--;
            tc_sb_put(&c->args, s + as, ae - as);
            return;
        }
        size_t be = ce == NPOS ? n : ce;
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        tc_sb_put(&c->name, s + ns, ne - ns);
        size_t as = ne + 1, ae = be;
        while (as < ae && tc_is_ws(s[as])) as++;
        while (ae > as && tc_is_ws(s[ae - 1])) ae--;
        tc_sb_put(&c->args, s + as, ae - as);
        c->name_done = c->args_done = true;
        if (ce == NPOS) return;
        i = ce + 11;
    }
}

/* functionary v3.2: the prompt ends with ">>>"; the output is segments
 * RECIPIENT\nBODY separated by ">>>", recipient "all" being text. */
static void parse_functionary32(P *p, size_t i) {
    static const char *const marks[] = {">>>", NULL};
    const char *s = p->s;
    size_t n = p->n;
    if (tc_starts(s, n, i, ">>>")) i += 3;
    while (i < n) {
        size_t nl = tc_find(s, n, i, "\n");
        size_t nxt = tc_find(s, n, i, ">>>");
        if (nl == NPOS || (nxt != NPOS && nxt < nl)) {
            if (!p->final) return;
            tc_add_content(p, i, nxt == NPOS ? n : nxt);   /* no recipient line: plain text */
            if (nxt == NPOS) return;
            i = nxt + 3;
            continue;
        }
        size_t bs = nl + 1;
        size_t be = nxt == NPOS ? (p->final ? n : n - tc_holdback(s + bs, n - bs, marks)) : nxt;
        if (be < bs) be = bs;
        if (nl - i == 3 && memcmp(s + i, "all", 3) == 0) {
            tc_add_content(p, bs, be);
        } else {
            pcall *c = tc_pr_call(p->r);
            if (!c) return;
            tc_sb_put(&c->name, s + i, nl - i);
            c->name_done = true;
            size_t as = bs, ae = be;
            while (as < ae && tc_is_ws(s[as])) as++;
            bool closed = nxt != NPOS || p->final;
            if (closed) while (ae > as && tc_is_ws(s[ae - 1])) ae--;
            else while (ae > as && tc_is_ws(s[ae - 1])) ae--;   /* trailing whitespace may be a separator */
            if (as < ae && s[as] != '{' && s[as] != '[') {
                /* python code: only as a whole */
                if (closed) {
                    json_t *obj = json_pack("{s:s%}", "code", s + as, ae - as);
                    char *t = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
                    if (t) tc_sb_put(&c->args, t, strlen(t));
                    free(t);
                    json_decref(obj);
                }
            } else {
                tc_sb_put(&c->args, s + as, ae - as);
            }
            c->args_done = closed;
        }
        if (nxt == NPOS) return;
        i = nxt + 3;
    }
}

/* gpt-oss harmony: <|channel|>analysis<|message|>..<|end|><|start|>assistant
 * <|channel|>final<|message|>..., tool calls as
 * <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{..}<|call|>. */
static void parse_harmony(P *p, size_t i) {
    static const char *const hdr_marks[] = {"<|channel|>", "<|start|>", "<|message|>", NULL};
    static const char *const body_ends[] = {"<|end|>", "<|call|>", "<|return|>", "<|start|>", NULL};
    const char *s = p->s;
    size_t n = p->n;
    while (i < n) {
        if (!tc_starts(s, n, i, "<|channel|>") && !tc_starts(s, n, i, "<|start|>")) {
            /* text outside the message structure: content up to the next header */
            size_t t1 = tc_find(s, n, i, "<|channel|>"), t2 = tc_find(s, n, i, "<|start|>");
            size_t t = t1 < t2 ? t1 : t2;
            if (t == NPOS) {
                tc_add_content(p, i, p->final ? n : n - tc_holdback(s + i, n - i, hdr_marks));
                return;
            }
            tc_add_content(p, i, t);
            i = t;
            continue;
        }
        size_t m = tc_find(s, n, i, "<|message|>");
        if (m == NPOS) return;   /* header incomplete */
        /* header: channel name and an optional recipient */
        const char *h = s + i;
        size_t hl = m - i;
        size_t cpos = tc_find(h, hl, 0, "<|channel|>");
        char channel[32] = "";
        if (cpos != NPOS) {
            size_t cs = cpos + 11, ce = cs;
            while (ce < hl && !tc_is_ws(h[ce]) && h[ce] != '<' && ce - cs < sizeof channel - 1) ce++;
            memcpy(channel, h + cs, ce - cs);
            channel[ce - cs] = 0;
        }
        size_t to = tc_find(h, hl, 0, "to=");
        size_t bs = m + 11;
        size_t be = NPOS, endm_len = 0;
        for (int k = 0; body_ends[k]; k++) {
            size_t e = tc_find(s, n, bs, body_ends[k]);
            if (e != NPOS && (be == NPOS || e < be)) {
                be = e;
                endm_len = strcmp(body_ends[k], "<|start|>") == 0 ? 0 : strlen(body_ends[k]);
            }
        }
        bool closed = be != NPOS;
        if (!closed) be = p->final ? n : n - tc_holdback(s + bs, n - bs, body_ends);
        if (to != NPOS) {
            size_t ns = to + 3, ne = ns;
            while (ne < hl && !tc_is_ws(h[ne]) && h[ne] != '<') ne++;
            if (ne - ns > 10 && memcmp(h + ns, "functions.", 10) == 0) ns += 10;
            pcall *c = tc_pr_call(p->r);
            if (!c) return;
            tc_sb_put(&c->name, h + ns, ne - ns);
            c->name_done = true;
            tc_sb_put(&c->args, s + bs, be - bs);
            c->args_done = closed || p->final;
        } else if (strcmp(channel, "analysis") == 0) {
            if (!tc_sb_put(&p->r->reasoning, s + bs, be - bs)) p->r->oom = true;
        } else {
            tc_add_content(p, bs, be);
        }
        if (!closed) return;
        i = be + endm_len;
    }
}

/* ------------------------------------------------------------ top level */

void tc_parse_all(cllm_chat_format fmt, uint32_t flags, const char *s, size_t n, bool final, presult *r) {
    tc_pr_clear(r);
    P p = {s, n, final, flags, r};
    size_t i = 0;
    bool tools = (flags & CLLM_CHAT_PARSE_TOOLS) != 0;
    if (fmt == CLLM_CHAT_FORMAT_HARMONY) {
        parse_harmony(&p, 0);
        if (!tools) {   /* no tools offered: calls are dropped */
            for (size_t k = 0; k < r->ncalls; k++) {
                tc_sb_free(&r->calls[k].name); tc_sb_free(&r->calls[k].args); tc_sb_free(&r->calls[k].id);
            }
            r->ncalls = 0;
        }
        tc_trim(&r->reasoning, final);
        tc_trim(&r->content, final);
        return;
    }
    if (!(flags & CLLM_CHAT_PARSE_NO_REASONING)) {
        /* <think>, [THINK] (Mistral) and <seed:think> (Seed-OSS) blocks */
        static const char *const opens[] = {"<think>", "[THINK]", "<seed:think>", NULL};
        static const char *const closes[] = {"</think>", "[/THINK]", "</seed:think>", NULL};
        size_t k = 0;
        while (k < n && tc_is_ws(s[k])) k++;
        int which = -1;
        bool maybe_open = false;
        for (int t = 0; opens[t]; t++) {
            size_t ol = strlen(opens[t]);
            if (tc_starts(s, n, k, opens[t])) { which = t; break; }
            if (n - k < ol && memcmp(s + k, opens[t], n - k) == 0) maybe_open = true;
        }
        if (which < 0 && maybe_open && !final) return;   /* could still become an opening tag */
        bool in_think = which >= 0 || (flags & CLLM_CHAT_PARSE_THINKING_OPEN);
        if (which >= 0) k += strlen(opens[which]);
        else k = 0;
        if (in_think) {
            /* the first closing tag of the family (any family when the prompt opened it) */
            size_t e = NPOS, cl = 0;
            for (int t = 0; closes[t]; t++) {
                if (which >= 0 && t != which) continue;
                size_t f = tc_find(s, n, k, closes[t]);
                if (f < e) { e = f; cl = strlen(closes[t]); }
            }
            if (e == NPOS) {   /* unclosed: everything so far is reasoning */
                const char *one[2] = {which >= 0 ? closes[which] : NULL, NULL};
                size_t end = final ? n : n - tc_holdback(s + k, n - k, which >= 0 ? one : closes);
                if (!tc_sb_put(&r->reasoning, s + k, end - k)) r->oom = true;
                tc_trim(&r->reasoning, final);
                return;
            }
            if (!tc_sb_put(&r->reasoning, s + k, e - k)) r->oom = true;
            i = e + cl;
        }
    }
    if (!tools) {
        tc_add_content(&p, i, n);
    } else {
        switch (fmt) {
        case CLLM_CHAT_FORMAT_HERMES: parse_hermes(&p, i); break;
        case CLLM_CHAT_FORMAT_LLAMA3: parse_llama3(&p, i); break;
        case CLLM_CHAT_FORMAT_MISTRAL: parse_mistral(&p, i); break;
        case CLLM_CHAT_FORMAT_DEEPSEEK: parse_deepseek(&p, i); break;
        case CLLM_CHAT_FORMAT_FUNCTIONARY_V3_1: parse_functionary31(&p, i); break;
        case CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2: parse_functionary32(&p, i); break;
        case CLLM_CHAT_FORMAT_GENERIC: parse_json_calls(&p, i, true); break;
        case CLLM_CHAT_FORMAT_KIMI_K2: parse_kimi(&p, i); break;
        default: tc_add_content(&p, i, n); break;
        }
    }
    tc_trim(&r->reasoning, final);
    tc_trim(&r->content, final);
}

const char *cllm_chat_format_name(cllm_chat_format f) {
    switch (f) {
    case CLLM_CHAT_FORMAT_CONTENT_ONLY: return "content-only";
    case CLLM_CHAT_FORMAT_GENERIC: return "generic";
    case CLLM_CHAT_FORMAT_HERMES: return "hermes";
    case CLLM_CHAT_FORMAT_LLAMA3: return "llama3";
    case CLLM_CHAT_FORMAT_MISTRAL: return "mistral";
    case CLLM_CHAT_FORMAT_DEEPSEEK: return "deepseek";
    case CLLM_CHAT_FORMAT_FUNCTIONARY_V3_1: return "functionary-v3.1";
    case CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2: return "functionary-v3.2";
    case CLLM_CHAT_FORMAT_HARMONY: return "harmony";
    case CLLM_CHAT_FORMAT_KIMI_K2: return "kimi-k2";
    }
    return "unknown";
}

cllm_chat_format cllm_chat_detect_format(const char *src) {
    if (!src) return CLLM_CHAT_FORMAT_HERMES;   /* the ChatML fallback uses <tool_call> */
    if (strstr(src, "<|channel|>") && strstr(src, "<|message|>")) return CLLM_CHAT_FORMAT_HARMONY;
    if (strstr(src, DS_CALLS_BEGIN)) return CLLM_CHAT_FORMAT_DEEPSEEK;
    if (strstr(src, ">>>all")) return CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2;
    if (strstr(src, "<function=") && strstr(src, "<|python_tag|>")) return CLLM_CHAT_FORMAT_FUNCTIONARY_V3_1;
    if (strstr(src, "[TOOL_CALLS]")) return CLLM_CHAT_FORMAT_MISTRAL;
    if (strstr(src, "<|tool_calls_section_begin|>")) return CLLM_CHAT_FORMAT_KIMI_K2;
    if (strstr(src, "<tool_call>") || strstr(src, "<tool_calls>") || strstr(src, "<seed:tool_call>") ||
        strstr(src, "<minimax:tool_call>") || strstr(src, "<|tool_call_start|>"))
        return CLLM_CHAT_FORMAT_HERMES;
    if (strstr(src, "<|start_header_id|>") && (strstr(src, "tools") || strstr(src, "<|python_tag|>")))
        return CLLM_CHAT_FORMAT_LLAMA3;
    return CLLM_CHAT_FORMAT_GENERIC;
}
