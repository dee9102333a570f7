/* toolcall_parse.c: turns a model's raw output back into an OpenAI-shaped
 * assistant message: content, reasoning_content and tool_calls (id, name,
 * arguments as a JSON string), for the tool-call syntaxes of the common
 * model families, and streams it as deltas.
 *
 * Streaming design: the parser keeps the whole (UTF-8-cleaned) output and
 * re-parses it on every chunk in "partial" mode, which never commits text
 * that could still turn out to be part of a marker (a suffix that is a
 * prefix of "<tool_call>", "[TOOL_CALLS]", "</think>", ...) and only
 * commits tool-call arguments as a prefix of their final text. Each delta is
 * the difference to what was already emitted, so feeding the text in any
 * chunking produces the same final message as parsing it whole.
 *
 * Whitespace: reasoning and content are trimmed at both ends (trailing
 * whitespace is therefore held back while streaming). */
#include "chat/chat.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- buffers */
typedef struct sbuf { char *p; size_t n, cap; } sbuf;

static bool sb_put(sbuf *b, const char *s, size_t n) {
    if (!n) return true;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->n + n + 1) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) return false;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}
static void sb_free(sbuf *b) { free(b->p); b->p = NULL; b->n = b->cap = 0; }
static void sb_reset(sbuf *b) { b->n = 0; if (b->p) b->p[0] = 0; }

typedef struct pcall {
    sbuf name, args, id;
    bool name_done;    /* the name is final: the call may be emitted */
    bool args_done;
} pcall;

typedef struct presult {
    sbuf content, reasoning;
    pcall *calls;
    size_t ncalls, cap;
    bool oom;
} presult;

static void pr_clear(presult *r) {
    sb_reset(&r->content);
    sb_reset(&r->reasoning);
    for (size_t i = 0; i < r->ncalls; i++) {
        sb_free(&r->calls[i].name);
        sb_free(&r->calls[i].args);
        sb_free(&r->calls[i].id);
    }
    r->ncalls = 0;
    r->oom = false;
}
static void pr_free(presult *r) {
    pr_clear(r);
    sb_free(&r->content);
    sb_free(&r->reasoning);
    free(r->calls);
    r->calls = NULL;
    r->cap = 0;
}
static pcall *pr_call(presult *r) {
    if (r->ncalls == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 4;
        pcall *np = realloc(r->calls, nc * sizeof(pcall));
        if (!np) { r->oom = true; return NULL; }
        r->calls = np;
        r->cap = nc;
    }
    pcall *c = &r->calls[r->ncalls++];
    memset(c, 0, sizeof *c);
    return c;
}

/* -------------------------------------------------------------- scanning */
typedef struct P {
    const char *s;
    size_t n;
    bool final;
    uint32_t flags;
    presult *r;
} P;

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

static size_t find(const char *s, size_t n, size_t from, const char *m) {
    size_t ml = strlen(m);
    if (ml == 0) return from;
    for (size_t i = from; i + ml <= n; i++)
        if (s[i] == m[0] && memcmp(s + i, m, ml) == 0) return i;
    return (size_t)-1;
}
#define NPOS ((size_t)-1)

static bool starts(const char *s, size_t n, size_t i, const char *m) {
    size_t ml = strlen(m);
    return i + ml <= n && memcmp(s + i, m, ml) == 0;
}

/* Length of the longest suffix of s[0..n) that is a proper prefix of a marker. */
static size_t holdback(const char *s, size_t n, const char *const *markers) {
    size_t best = 0;
    for (int k = 0; markers[k]; k++) {
        size_t ml = strlen(markers[k]);
        for (size_t l = ml - 1; l > best; l--) {
            if (l > n) continue;
            if (memcmp(s + n - l, markers[k], l) == 0) { best = l; break; }
        }
    }
    return best;
}

/* Content: text of s[a..b) outside tool calls. When b is the end of the
 * input in partial mode, the caller has already excluded partial markers. */
static void add_content(P *p, size_t a, size_t b) {
    if (b > a && !sb_put(&p->r->content, p->s + a, b - a)) p->r->oom = true;
}

/* Skip one JSON value at s[i]; returns its end. *complete is false when the
 * input ends inside it; *ok false on a syntax error. */
static size_t json_skip(const char *s, size_t n, size_t i, bool final, bool *complete, bool *ok) {
    *complete = false;
    *ok = true;
    if (i >= n) return n;
    char ch = s[i];
    if (ch == '{' || ch == '[') {
        int depth = 0;
        bool in_str = false;
        for (size_t k = i; k < n; k++) {
            char c = s[k];
            if (in_str) {
                if (c == '\\') k++;
                else if (c == '"') in_str = false;
                continue;
            }
            if (c == '"') in_str = true;
            else if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) { *complete = true; return k + 1; }
            }
        }
        return n;
    }
    if (ch == '"') {
        for (size_t k = i + 1; k < n; k++) {
            if (s[k] == '\\') { k++; continue; }
            if (s[k] == '"') { *complete = true; return k + 1; }
        }
        return n;
    }
    size_t k = i;
    while (k < n && (strchr("+-.eE", s[k]) || (s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'z'))) k++;
    if (k == i) { *ok = false; return i; }
    *complete = k < n || final;
    return k;
}

/* Decode a complete JSON string literal s[a..b) (with quotes). */
static bool json_str_decode(const char *s, size_t a, size_t b, sbuf *out) {
    json_error_t je;
    json_t *j = json_loadb(s + a, b - a, JSON_DECODE_ANY, &je);
    if (!j || !json_is_string(j)) { json_decref(j); return false; }
    bool ok = sb_put(out, json_string_value(j), json_string_length(j));
    json_decref(j);
    return ok;
}

static bool key_in(const char *s, size_t a, size_t b, const char *const *keys) {
    for (int k = 0; keys[k]; k++)
        if (b - a == strlen(keys[k]) && memcmp(s + a, keys[k], b - a) == 0) return true;
    return false;
}

static const char *const NAME_KEYS[] = {"name", NULL};
static const char *const ARGS_KEYS[] = {"arguments", "parameters", NULL};
static const char *const ID_KEYS[] = {"id", NULL};

/* A tool call written as a JSON object at s[i] ({"name": ..., "arguments":
 * {...}}). Fills call c as far as the input allows; returns the end of the
 * object (or n), *complete when the object is closed, *ok false when this
 * is not a call object. Arguments that are objects stream as a prefix;
 * arguments given as a JSON string are decoded once complete. */
static size_t scan_call_object(P *p, size_t i, pcall *c, bool *complete, bool *ok) {
    const char *s = p->s;
    size_t n = p->n;
    *complete = false;
    *ok = true;
    if (i >= n || s[i] != '{') { *ok = false; return i; }
    size_t k = i + 1;
    bool have_args = false;
    for (;;) {
        while (k < n && is_ws(s[k])) k++;
        if (k >= n) return n;
        if (s[k] == '}') {
            *complete = true;
            k++;
            break;
        }
        if (s[k] == ',') { k++; continue; }
        if (s[k] != '"') { *ok = false; return k; }
        size_t ks = k + 1;
        size_t ke = ks;
        while (ke < n && s[ke] != '"') ke += (s[ke] == '\\') ? 2 : 1;
        if (ke >= n) return n;
        k = ke + 1;
        while (k < n && is_ws(s[k])) k++;
        if (k >= n) return n;
        if (s[k] != ':') { *ok = false; return k; }
        k++;
        while (k < n && is_ws(s[k])) k++;
        if (k >= n) return n;
        size_t vs = k;
        bool vc, vok;
        size_t ve = json_skip(s, n, vs, p->final, &vc, &vok);
        if (!vok) { *ok = false; return k; }
        if (key_in(s, ks, ke, NAME_KEYS)) {
            if (vc && s[vs] == '"' && !c->name_done) {
                sb_reset(&c->name);
                c->name_done = json_str_decode(s, vs, ve, &c->name);
            }
        } else if (key_in(s, ks, ke, ARGS_KEYS) && !have_args) {
            have_args = true;
            sb_reset(&c->args);
            if (s[vs] == '"') {
                if (vc) {
                    json_str_decode(s, vs, ve, &c->args);
                    c->args_done = true;
                }
            } else if (s[vs] == '{' || s[vs] == '[') {
                if (!sb_put(&c->args, s + vs, ve - vs)) p->r->oom = true;
                c->args_done = vc;
            } else if (vc) {
                if (!sb_put(&c->args, s + vs, ve - vs)) p->r->oom = true;
                c->args_done = true;
            }
        } else if (key_in(s, ks, ke, ID_KEYS)) {
            if (vc && s[vs] == '"') {
                sb_reset(&c->id);
                json_str_decode(s, vs, ve, &c->id);
            }
        }
        if (!vc) return n;
        k = ve;
    }
    if (!have_args) {
        sb_reset(&c->args);
        sb_put(&c->args, "{}", 2);
        c->args_done = true;
    }
    return k;
}

/* Convert a plain-text parameter value to JSON: JSON literals stay, other
 * text becomes a string. */
static void put_param_value(presult *r, sbuf *args, const char *v, size_t n) {
    while (n && (v[0] == '\n')) { v++; n--; }
    while (n && (v[n - 1] == '\n')) n--;
    json_error_t je;
    json_t *j = n ? json_loadb(v, n, JSON_DECODE_ANY, &je) : NULL;
    char *txt;
    if (j) txt = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    else {
        json_t *sj = json_stringn(v, n);
        txt = sj ? json_dumps(sj, JSON_ENCODE_ANY) : NULL;
        json_decref(sj);
    }
    json_decref(j);
    if (!txt || !sb_put(args, txt, strlen(txt))) r->oom = true;
    free(txt);
}

static void put_json_key(presult *r, sbuf *args, const char *k, size_t n) {
    json_t *sj = json_stringn(k, n);
    char *txt = sj ? json_dumps(sj, JSON_ENCODE_ANY) : NULL;
    json_decref(sj);
    if (!txt || !sb_put(args, txt, strlen(txt)) || !sb_put(args, ": ", 2)) r->oom = true;
    free(txt);
}

/* <function=name><parameter=k>v</parameter>...</function> (Qwen3-Coder,
 * Nemotron 3). Only complete blocks become calls. */
static bool parse_xml_function(P *p, size_t a, size_t b) {
    const char *s = p->s;
    if (!starts(s, b, a, "<function=")) return false;
    size_t ns = a + 10, ne = find(s, b, ns, ">");
    if (ne == NPOS) return false;
    pcall *c = pr_call(p->r);
    if (!c) return true;
    sb_put(&c->name, s + ns, ne - ns);
    c->name_done = true;
    sb_put(&c->args, "{", 1);
    size_t k = ne + 1;
    bool first = true;
    for (;;) {
        size_t ps = find(s, b, k, "<parameter=");
        if (ps == NPOS) break;
        size_t pe = find(s, b, ps + 11, ">");
        if (pe == NPOS) break;
        size_t vs = pe + 1, ve = find(s, b, vs, "</parameter>");
        if (ve == NPOS) ve = b;
        if (!first) sb_put(&c->args, ", ", 2);
        first = false;
        put_json_key(p->r, &c->args, s + ps + 11, pe - ps - 11);
        put_param_value(p->r, &c->args, s + vs, ve - vs);
        k = ve;
    }
    sb_put(&c->args, "}", 1);
    c->args_done = true;
    return true;
}

/* name\n<arg_key>k</arg_key><arg_value>v</arg_value>... (GLM 4.x). */
static bool parse_argkey_call(P *p, size_t a, size_t b) {
    const char *s = p->s;
    size_t nl = a;
    while (nl < b && s[nl] != '\n' && s[nl] != '<') nl++;
    size_t ne = nl;
    while (ne > a && is_ws(s[ne - 1])) ne--;
    if (ne == a) return false;
    pcall *c = pr_call(p->r);
    if (!c) return true;
    sb_put(&c->name, s + a, ne - a);
    c->name_done = true;
    sb_put(&c->args, "{", 1);
    size_t k = nl;
    bool first = true;
    for (;;) {
        size_t ks = find(s, b, k, "<arg_key>");
        if (ks == NPOS) break;
        size_t ke = find(s, b, ks + 9, "</arg_key>");
        if (ke == NPOS) break;
        size_t vs = find(s, b, ke, "<arg_value>");
        if (vs == NPOS) break;
        vs += 11;
        size_t ve = find(s, b, vs, "</arg_value>");
        if (ve == NPOS) ve = b;
        if (!first) sb_put(&c->args, ", ", 2);
        first = false;
        put_json_key(p->r, &c->args, s + ks + 9, ke - ks - 9);
        put_param_value(p->r, &c->args, s + vs, ve - vs);
        k = ve;
    }
    sb_put(&c->args, "}", 1);
    c->args_done = true;
    return true;
}

/* The body of one tool-call block s[a..b); complete when its end marker was
 * seen (or the input is final). JSON bodies stream; others wait. */
static void parse_call_body(P *p, size_t a, size_t b, bool complete) {
    const char *s = p->s;
    while (a < b && is_ws(s[a])) a++;
    if (a >= b) return;
    if (s[a] == '{') {
        pcall *c = pr_call(p->r);
        if (!c) return;
        bool cc, ok;
        P sub = *p;
        sub.n = b;
        sub.final = p->final || complete;
        scan_call_object(&sub, a, c, &cc, &ok);
        if (!c->name_done) p->r->ncalls--, sb_free(&c->name), sb_free(&c->args), sb_free(&c->id);
        return;
    }
    if (!complete) return;
    if (starts(s, b, a, "<function=")) {
        parse_xml_function(p, a, b);
        return;
    }
    parse_argkey_call(p, a, b);
}

/* ------------------------------------------------------------- families */
static json_t *py_kwargs(const char *s, size_t k, size_t stop);

static void add_call_json(P *p, const char *name, size_t name_n, json_t *args) {
    pcall *c = pr_call(p->r);
    if (!c) { json_decref(args); return; }
    sb_put(&c->name, name, name_n);
    char *t = args ? json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!t || !sb_put(&c->args, t, strlen(t))) p->r->oom = true;
    free(t);
    json_decref(args);
    c->name_done = c->args_done = true;
}

/* <invoke name="X"><parameter name="k">v</parameter></invoke> (MiniMax). */
static void parse_invokes(P *p, size_t a, size_t b) {
    const char *s = p->s;
    for (;;) {
        size_t iv = find(s, b, a, "<invoke name=");
        if (iv == NPOS) return;
        size_t ns = iv + 13;
        char q = ns < b ? s[ns] : 0;
        if (q == '"' || q == '\'') ns++;
        size_t ne = ns;
        while (ne < b && s[ne] != q && s[ne] != '>') ne++;
        size_t ie = find(s, b, ne, "</invoke>");
        if (ie == NPOS) ie = b;
        pcall *c = pr_call(p->r);
        if (!c) return;
        sb_put(&c->name, s + ns, ne - ns);
        c->name_done = c->args_done = true;
        sb_put(&c->args, "{", 1);
        size_t k = ne;
        bool first = true;
        for (;;) {
            size_t ps = find(s, ie, k, "<parameter name=");
            if (ps == NPOS) break;
            size_t ks = ps + 16;
            char pq = ks < ie ? s[ks] : 0;
            if (pq == '"' || pq == '\'') ks++;
            size_t ke = ks;
            while (ke < ie && s[ke] != pq && s[ke] != '>') ke++;
            size_t vs = find(s, ie, ke, ">");
            if (vs == NPOS) break;
            vs++;
            size_t ve = find(s, ie, vs, "</parameter>");
            if (ve == NPOS) ve = ie;
            if (!first) sb_put(&c->args, ", ", 2);
            first = false;
            put_json_key(p->r, &c->args, s + ks, ke - ks);
            put_param_value(p->r, &c->args, s + vs, ve - vs);
            k = ve;
        }
        sb_put(&c->args, "}", 1);
        a = ie;
    }
}

/* [name(k=v, ...), name2(...)] (LFM2 pythonic calls). */
static void parse_pythonic(P *p, size_t a, size_t b) {
    const char *s = p->s;
    while (a < b && (is_ws(s[a]) || s[a] == '[')) a++;
    while (a < b) {
        size_t ns = a;
        while (a < b && s[a] != '(') a++;
        if (a >= b) return;
        size_t ne = a;
        while (ne > ns && is_ws(s[ne - 1])) ne--;
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
        add_call_json(p, s + ns, ne - ns, py_kwargs(s, a + 1, depth ? k : k - 1));
        a = k;
        while (a < b && (is_ws(s[a]) || s[a] == ',' || s[a] == ']')) a++;
    }
}

/* <tool_calls>[{"name":..,"arguments":..}, ...]</tool_calls> (Apriel). */
static void parse_json_array_body(P *p, size_t a, size_t b) {
    const char *s = p->s;
    while (a < b && is_ws(s[a])) a++;
    if (a >= b || s[a] != '[') return;
    P sub = *p;
    sub.n = b;
    sub.final = true;
    size_t k = a + 1;
    for (;;) {
        while (k < b && (is_ws(s[k]) || s[k] == ',')) k++;
        if (k >= b || s[k] != '{') break;
        pcall *c = pr_call(p->r);
        if (!c) return;
        bool cc, ok;
        size_t e = scan_call_object(&sub, k, c, &cc, &ok);
        if (!c->name_done || !cc) { sb_free(&c->name); sb_free(&c->args); sb_free(&c->id); p->r->ncalls--; }
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
            size_t f = find(s, n, i, WRAPPERS[w].open);
            if (f < t) { t = f; wi = w; }
        }
        if (t == NPOS) {
            add_content(p, i, p->final ? n : n - holdback(s + i, n - i, marks));
            return;
        }
        add_content(p, i, t);
        const struct wrapper *w = &WRAPPERS[wi];
        size_t bs = w->body == BODY_FUNCTION ? t : t + strlen(w->open);
        size_t be = find(s, n, bs, w->close);
        bool closed = be != NPOS;
        if (!closed) be = p->final ? n : n - holdback(s + bs, n - bs, (const char *const[]){w->close, NULL});
        if (closed || p->final) {
            switch (w->body) {
            case BODY_AUTO: parse_call_body(p, bs, be, true); break;
            case BODY_FUNCTION: parse_xml_function(p, bs, be); break;
            case BODY_ARRAY: parse_json_array_body(p, bs, be); break;
            case BODY_INVOKE: parse_invokes(p, bs, be); break;
            case BODY_PYTHONIC: parse_pythonic(p, bs, be); break;
            }
        } else if (w->body == BODY_AUTO) {
            parse_call_body(p, bs, be, false);   /* a JSON body streams */
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
    size_t t1 = find(s, n, i, marks[0]), t2 = find(s, n, i, marks[1]);
    size_t t = t1 < t2 ? t1 : t2;
    if (t == NPOS) {
        add_content(p, i, p->final ? n : n - holdback(s + i, n - i, marks));
        return;
    }
    add_content(p, i, t);
    size_t k = t == t1 ? t + strlen(marks[0]) : t;
    for (;;) {
        while (k < n && is_ws(s[k])) k++;
        if (!starts(s, n, k, "<|tool_call_begin|>")) {
            size_t rem = n - k;
            bool maybe = (rem < 19 && memcmp(s + k, "<|tool_call_begin|>", rem) == 0) ||
                         (rem < 27 && memcmp(s + k, "<|tool_calls_section_end|>", rem) == 0);
            if (!p->final && maybe) return;
            break;
        }
        size_t hs = k + 19;
        size_t ab = find(s, n, hs, "<|tool_call_argument_begin|>");
        if (ab == NPOS) return;
        size_t he = ab;
        while (he > hs && is_ws(s[he - 1])) he--;
        size_t ns = hs, ne = he;
        if (ne - ns > 10 && memcmp(s + ns, "functions.", 10) == 0) ns += 10;
        size_t colon = ne;
        while (colon > ns && s[colon - 1] != ':') colon--;
        if (colon > ns) ne = colon - 1;
        pcall *c = pr_call(p->r);
        if (!c) return;
        sb_put(&c->name, s + ns, ne - ns);
        sb_put(&c->id, s + hs, he - hs);
        c->name_done = true;
        size_t as = ab + 28;
        size_t ce = find(s, n, as, "<|tool_call_end|>");
        size_t ae = ce != NPOS ? ce : p->final ? n : n - holdback(s + as, n - as, (const char *const[]){"<|tool_call_end|>", NULL});
        while (as < ae && is_ws(s[as])) as++;
        size_t at = ae;
        while (at > as && is_ws(s[at - 1])) at--;
        sb_put(&c->args, s + as, at - as);
        c->args_done = ce != NPOS;
        if (ce == NPOS) return;
        k = ce + 17;
    }
    while (k < n && is_ws(s[k])) k++;
    if (starts(s, n, k, "<|tool_calls_section_end|>")) k += 26;
    add_content(p, k, n);
}

/* A whole-output JSON tool call (Llama 3.x, generic): hold the output while
 * it may still be one, emit content when it turns out not to be. */
static void parse_json_calls(P *p, size_t i, bool generic) {
    const char *s = p->s;
    size_t n = p->n;
    while (i < n && is_ws(s[i])) i++;
    if (i >= n) return;
    if (s[i] != '{' && s[i] != '[') {
        add_content(p, i, n);
        return;
    }
    bool complete, ok;
    size_t end = json_skip(s, n, i, p->final, &complete, &ok);
    if (!generic && s[i] == '{') {
        /* Llama: {"name": ..., "parameters": {...}}; stream when it has a name. */
        size_t before = p->r->ncalls;
        pcall *c = pr_call(p->r);
        if (!c) return;
        bool cc, cok;
        scan_call_object(p, i, c, &cc, &cok);
        if (cok && c->name_done) {
            size_t k = end;
            while (k < n && (is_ws(s[k]) || s[k] == ';')) k++;
            if (cc && k < n && s[k] == '{') parse_json_calls(p, k, false);   /* several calls */
            else if (cc) add_content(p, k, n);
            return;
        }
        sb_free(&c->name); sb_free(&c->args); sb_free(&c->id);
        p->r->ncalls = before;
        if (!complete && !p->final) return;   /* may still become a call */
        add_content(p, i, n);
        return;
    }
    if (!complete) {
        if (p->final) add_content(p, i, n);
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
            if (!sb_put(&p->r->content, json_string_value(rs), json_string_length(rs))) p->r->oom = true;
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
            pcall *c = pr_call(p->r);
            if (!c) break;
            json_t *nm = json_object_get(src, "name");
            sb_put(&c->name, json_string_value(nm), json_string_length(nm));
            c->name_done = true;
            json_t *args = json_object_get(src, "arguments");
            if (!args) args = json_object_get(src, "parameters");
            if (json_is_string(args)) sb_put(&c->args, json_string_value(args), json_string_length(args));
            else {
                char *t = args ? json_dumps(args, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("{}");
                if (!t || !sb_put(&c->args, t, strlen(t))) p->r->oom = true;
                free(t);
            }
            c->args_done = true;
            json_t *id = json_object_get(e, "id");
            if (json_is_string(id)) sb_put(&c->id, json_string_value(id), json_string_length(id));
        }
        add_content(p, end, n);
    } else {
        add_content(p, i, n);
    }
    json_decref(list);
    json_decref(j);
}

/* A Python literal at s[k..stop) to JSON: strings in either quotes,
 * numbers, True/False/None, and lists/dicts of those. *end gets the offset
 * after the literal. Unknown text becomes a string. */
static json_t *py_value(const char *s, size_t k, size_t stop, size_t *end) {
    while (k < stop && is_ws(s[k])) k++;
    if (k < stop && (s[k] == '"' || s[k] == '\'')) {
        char q = s[k++];
        sbuf v = {0};
        while (k < stop && s[k] != q) {
            if (s[k] == '\\' && k + 1 < stop) {
                k++;
                char e = s[k] == 'n' ? '\n' : s[k] == 't' ? '\t' : s[k];
                sb_put(&v, &e, 1);
            } else {
                sb_put(&v, s + k, 1);
            }
            k++;
        }
        *end = k < stop ? k + 1 : stop;
        json_t *r = json_stringn(v.p ? v.p : "", v.n);
        sb_free(&v);
        return r;
    }
    if (k < stop && (s[k] == '[' || s[k] == '{' || s[k] == '(')) {
        bool is_dict = s[k] == '{';
        char close = s[k] == '[' ? ']' : s[k] == '(' ? ')' : '}';
        json_t *r = is_dict ? json_object() : json_array();
        k++;
        for (;;) {
            while (k < stop && (is_ws(s[k]) || s[k] == ',')) k++;
            if (k >= stop) break;
            if (s[k] == close) { k++; break; }
            size_t e;
            json_t *x = py_value(s, k, stop, &e);
            if (e <= k) { json_decref(x); k++; continue; }
            k = e;
            if (is_dict) {
                while (k < stop && is_ws(s[k])) k++;
                if (k < stop && s[k] == ':') k++;
                json_t *v = py_value(s, k, stop, &e);
                k = e > k ? e : k + 1;
                if (json_is_string(x)) json_object_set_new(r, json_string_value(x), v);
                else json_decref(v);
                json_decref(x);
            } else {
                json_array_append_new(r, x);
            }
        }
        *end = k;
        return r;
    }
    size_t vs = k;
    int depth = 0;
    while (k < stop && (depth > 0 || (s[k] != ',' && s[k] != ')' && s[k] != ']' && s[k] != '}' && s[k] != ':'))) {
        if (s[k] == '(') depth++;
        else if (s[k] == ')') depth--;
        k++;
    }
    *end = k;
    size_t ve = k;
    while (ve > vs && is_ws(s[ve - 1])) ve--;
    if (ve - vs == 4 && memcmp(s + vs, "True", 4) == 0) return json_true();
    if (ve - vs == 5 && memcmp(s + vs, "False", 5) == 0) return json_false();
    if (ve - vs == 4 && memcmp(s + vs, "None", 4) == 0) return json_null();
    json_error_t je;
    json_t *r = ve > vs ? json_loadb(s + vs, ve - vs, JSON_DECODE_ANY, &je) : NULL;
    return r ? r : json_stringn(s + vs, ve - vs);
}

/* Python keyword arguments `k="v", n=3` at s[k..stop) to a JSON object. */
static json_t *py_kwargs(const char *s, size_t k, size_t stop) {
    json_t *obj = json_object();
    while (k < stop) {
        while (k < stop && (is_ws(s[k]) || s[k] == ',')) k++;
        size_t ks = k;
        while (k < stop && s[k] != '=' && s[k] != ',') k++;
        if (k >= stop || s[k] != '=') break;
        size_t ke = k;
        while (ke > ks && is_ws(s[ke - 1])) ke--;
        size_t e;
        json_t *val = py_value(s, k + 1, stop, &e);
        k = e > k ? e : k + 1;
        char *key = strndup(s + ks, ke - ks);
        if (key && val) json_object_set_new(obj, key, val);
        else json_decref(val);
        free(key);
    }
    return obj;
}

/* <|python_tag|>: JSON call, `name.call(k="v")` builtin, or python code. */
static void parse_python_tag(P *p, size_t a) {
    const char *s = p->s;
    size_t n = p->n;
    size_t end = n;
    static const char *const ends[] = {"<|eom_id|>", "<|eot_id|>", NULL};
    size_t e1 = find(s, n, a, "<|eom_id|>"), e2 = find(s, n, a, "<|eot_id|>");
    if (e1 != NPOS || e2 != NPOS) end = e1 < e2 ? e1 : e2;
    else if (!p->final) { (void)ends; return; }   /* wait for the whole call */
    while (a < end && is_ws(s[a])) a++;
    while (end > a && is_ws(s[end - 1])) end--;
    if (a < end && s[a] == '{') {
        P sub = *p;
        sub.n = end;
        sub.final = true;
        parse_json_calls(&sub, a, false);
        return;
    }
    size_t dot = find(s, end, a, ".call(");
    bool ident = dot != NPOS;
    for (size_t k = a; ident && k < dot; k++)
        if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '_'))
            ident = false;
    pcall *c = pr_call(p->r);
    if (!c) return;
    c->name_done = c->args_done = true;
    if (ident && s[end - 1] == ')') {
        sb_put(&c->name, s + a, dot - a);
        json_t *obj = py_kwargs(s, dot + 6, end - 1);
        char *t = json_dumps(obj, JSON_COMPACT);
        if (!t || !sb_put(&c->args, t, strlen(t))) p->r->oom = true;
        free(t);
        json_decref(obj);
    } else {
        sb_put(&c->name, "python", 6);
        json_t *obj = json_pack("{s:s%}", "code", s + a, end - a);
        char *t = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        if (!t || !sb_put(&c->args, t, strlen(t))) p->r->oom = true;
        free(t);
        json_decref(obj);
    }
}

static void parse_llama3(P *p, size_t i) {
    static const char *const marks[] = {"<|python_tag|>", NULL};
    const char *s = p->s;
    size_t n = p->n;
    size_t t = find(s, n, i, "<|python_tag|>");
    if (t != NPOS) {
        add_content(p, i, t);
        parse_python_tag(p, t + 14);
        return;
    }
    P sub = *p;
    sub.n = p->final ? n : n - holdback(s, n, marks);
    parse_json_calls(&sub, i, false);
}

/* Mistral: [TOOL_CALLS][{"name":..,"arguments":{..},"id":..}, ...] or
 * [TOOL_CALLS]name[ARGS]{...} (optionally name[CALL_ID]id[ARGS]{...}). */
static void parse_mistral(P *p, size_t i) {
    static const char *const marks[] = {"[TOOL_CALLS]", NULL};
    const char *s = p->s;
    size_t n = p->n;
    size_t t = find(s, n, i, "[TOOL_CALLS]");
    if (t == NPOS) {
        add_content(p, i, p->final ? n : n - holdback(s + i, n - i, marks));
        return;
    }
    add_content(p, i, t);
    size_t k = t + 12;
    while (k < n && is_ws(s[k])) k++;
    if (k < n && s[k] == '[') {
        k++;
        for (;;) {
            while (k < n && (is_ws(s[k]) || s[k] == ',')) k++;
            if (k >= n || s[k] != '{') break;
            pcall *c = pr_call(p->r);
            if (!c) return;
            bool cc, ok;
            size_t e = scan_call_object(p, k, c, &cc, &ok);
            /* the id may follow the arguments: a call is shown only once complete */
            if (!c->name_done || !cc) { sb_free(&c->name); sb_free(&c->args); sb_free(&c->id); p->r->ncalls--; }
            if (!cc || !ok) return;
            k = e;
        }
        if (k < n && s[k] == ']') add_content(p, k + 1, n);
        return;
    }
    /* name[ARGS]{...} repeated, each optionally after another [TOOL_CALLS] */
    while (k < n) {
        size_t a = find(s, n, k, "[ARGS]");
        if (a == NPOS) return;
        size_t name_end = a;
        size_t cid = find(s, a, k, "[CALL_ID]");
        pcall *c = pr_call(p->r);
        if (!c) return;
        if (cid != NPOS) {
            name_end = cid;
            sb_put(&c->id, s + cid + 9, a - cid - 9);
        }
        sb_put(&c->name, s + k, name_end - k);
        c->name_done = true;
        size_t vs = a + 6;
        while (vs < n && is_ws(s[vs])) vs++;
        if (vs >= n) return;
        bool vc, ok;
        size_t ve = json_skip(s, n, vs, p->final, &vc, &ok);
        sb_put(&c->args, s + vs, ve - vs);
        c->args_done = vc;
        if (!vc) return;
        k = ve;
        while (k < n && is_ws(s[k])) k++;
        if (starts(s, n, k, "[TOOL_CALLS]")) k += 12;
        else {
            add_content(p, k, p->final ? n : n - holdback(s + k, n - k, marks));
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
    size_t t1 = find(s, n, i, DS_CALLS_BEGIN), t2 = find(s, n, i, DS_CALL_BEGIN);
    size_t t = t1 < t2 ? t1 : t2;
    if (t == NPOS) {
        add_content(p, i, p->final ? n : n - holdback(s + i, n - i, marks));
        return;
    }
    add_content(p, i, t);
    size_t k = t == t1 ? t + strlen(DS_CALLS_BEGIN) : t;
    for (;;) {
        while (k < n && is_ws(s[k])) k++;
        if (!starts(s, n, k, DS_CALL_BEGIN)) {
            /* the rest may still grow into another call or the end marker */
            size_t rem = n - k;
            bool maybe = (rem < strlen(DS_CALL_BEGIN) && memcmp(s + k, DS_CALL_BEGIN, rem) == 0) ||
                         (rem < strlen(DS_CALLS_END) && memcmp(s + k, DS_CALLS_END, rem) == 0);
            if (!p->final && maybe) return;
            break;
        }
        size_t hs = k + strlen(DS_CALL_BEGIN);
        size_t sep = find(s, n, hs, DS_SEP);
        size_t ce = find(s, n, hs, DS_CALL_END);
        if (sep == NPOS || (ce != NPOS && ce < sep)) {
            if (!p->final) return;
            break;
        }
        if (ce == NPOS && !p->final) return;   /* whole call needed */
        size_t be = ce == NPOS ? n : ce;
        size_t bs = sep + strlen(DS_SEP);
        pcall *c = pr_call(p->r);
        if (!c) return;
        const char *hdr = s + hs;
        size_t hl = sep - hs;
        size_t fence = find(s, be, bs, "```");
        if (hl == 8 && memcmp(hdr, "function", 8) == 0 && fence != NPOS) {
            /* R1/V3: NAME\n```json\nARGS\n``` */
            size_t nl = find(s, be, bs, "\n");
            if (nl == NPOS || nl > fence) nl = fence;
            size_t ne = nl;
            while (ne > bs && is_ws(s[ne - 1])) ne--;
            sb_put(&c->name, s + bs, ne - bs);
            size_t as = fence + 3;
            while (as < be && s[as] != '\n') as++;
            size_t ae = find(s, be, as, "```");
            if (ae == NPOS) ae = be;
            while (as < ae && is_ws(s[as])) as++;
            while (ae > as && is_ws(s[ae - 1])) ae--;
            sb_put(&c->args, s + as, ae - as);
        } else {
            size_t ns = hs, ne = sep;
            while (ns < ne && is_ws(s[ns])) ns++;
            while (ne > ns && is_ws(s[ne - 1])) ne--;
            sb_put(&c->name, s + ns, ne - ns);
            size_t as = bs, ae = be;
            while (as < ae && is_ws(s[as])) as++;
            while (ae > as && is_ws(s[ae - 1])) ae--;
            sb_put(&c->args, s + as, ae - as);
        }
        c->name_done = c->args_done = true;
        if (ce == NPOS) return;
        k = ce + strlen(DS_CALL_END);
    }
    while (k < n && is_ws(s[k])) k++;
    if (starts(s, n, k, DS_CALLS_END)) k += strlen(DS_CALLS_END);
    else if (!p->final && holdback(s + k, n - k, (const char *const[]){DS_CALLS_END, NULL}) == n - k) return;
    add_content(p, k, n);
}

/* functionary v3.1 (llama 3.1 based): <function=NAME>{json}</function>, <|python_tag|>code. */
static void parse_functionary31(P *p, size_t i) {
    static const char *const marks[] = {"<function=", "<|python_tag|>", NULL};
    const char *s = p->s;
    size_t n = p->n;
    while (i < n) {
        size_t t1 = find(s, n, i, "<function="), t2 = find(s, n, i, "<|python_tag|>");
        size_t t = t1 < t2 ? t1 : t2;
        if (t == NPOS) {
            add_content(p, i, p->final ? n : n - holdback(s + i, n - i, marks));
            return;
        }
        add_content(p, i, t);
        if (t == t2) {
            parse_python_tag(p, t + 14);
            return;
        }
        size_t ns = t + 10, ne = find(s, n, ns, ">");
        if (ne == NPOS) return;
        size_t ce = find(s, n, ne + 1, "</function>");
        if (ce == NPOS && !p->final) {
            /* stream the JSON arguments */
            pcall *c = pr_call(p->r);
            if (!c) return;
            sb_put(&c->name, s + ns, ne - ns);
            c->name_done = true;
            size_t as = ne + 1;
            size_t ae = n - holdback(s + as, n - as, (const char *const[]){"</function>", NULL});
            while (as < ae && is_ws(s[as])) as++;
            while (ae > as && is_ws(s[ae - 1])) ae--;
            sb_put(&c->args, s + as, ae - as);
            return;
        }
        size_t be = ce == NPOS ? n : ce;
        pcall *c = pr_call(p->r);
        if (!c) return;
        sb_put(&c->name, s + ns, ne - ns);
        size_t as = ne + 1, ae = be;
        while (as < ae && is_ws(s[as])) as++;
        while (ae > as && is_ws(s[ae - 1])) ae--;
        sb_put(&c->args, s + as, ae - as);
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
    if (starts(s, n, i, ">>>")) i += 3;
    while (i < n) {
        size_t nl = find(s, n, i, "\n");
        size_t nxt = find(s, n, i, ">>>");
        if (nl == NPOS || (nxt != NPOS && nxt < nl)) {
            if (!p->final) return;
            add_content(p, i, nxt == NPOS ? n : nxt);   /* no recipient line: plain text */
            if (nxt == NPOS) return;
            i = nxt + 3;
            continue;
        }
        size_t bs = nl + 1;
        size_t be = nxt == NPOS ? (p->final ? n : n - holdback(s + bs, n - bs, marks)) : nxt;
        if (be < bs) be = bs;
        if (nl - i == 3 && memcmp(s + i, "all", 3) == 0) {
            add_content(p, bs, be);
        } else {
            pcall *c = pr_call(p->r);
            if (!c) return;
            sb_put(&c->name, s + i, nl - i);
            c->name_done = true;
            size_t as = bs, ae = be;
            while (as < ae && is_ws(s[as])) as++;
            bool closed = nxt != NPOS || p->final;
            if (closed) while (ae > as && is_ws(s[ae - 1])) ae--;
            else while (ae > as && is_ws(s[ae - 1])) ae--;   /* trailing whitespace may be a separator */
            if (as < ae && s[as] != '{' && s[as] != '[') {
                /* python code: only as a whole */
                if (closed) {
                    json_t *obj = json_pack("{s:s%}", "code", s + as, ae - as);
                    char *t = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
                    if (t) sb_put(&c->args, t, strlen(t));
                    free(t);
                    json_decref(obj);
                }
            } else {
                sb_put(&c->args, s + as, ae - as);
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
        if (!starts(s, n, i, "<|channel|>") && !starts(s, n, i, "<|start|>")) {
            /* text outside the message structure: content up to the next header */
            size_t t1 = find(s, n, i, "<|channel|>"), t2 = find(s, n, i, "<|start|>");
            size_t t = t1 < t2 ? t1 : t2;
            if (t == NPOS) {
                add_content(p, i, p->final ? n : n - holdback(s + i, n - i, hdr_marks));
                return;
            }
            add_content(p, i, t);
            i = t;
            continue;
        }
        size_t m = find(s, n, i, "<|message|>");
        if (m == NPOS) return;   /* header incomplete */
        /* header: channel name and an optional recipient */
        const char *h = s + i;
        size_t hl = m - i;
        size_t cpos = find(h, hl, 0, "<|channel|>");
        char channel[32] = "";
        if (cpos != NPOS) {
            size_t cs = cpos + 11, ce = cs;
            while (ce < hl && !is_ws(h[ce]) && h[ce] != '<' && ce - cs < sizeof channel - 1) ce++;
            memcpy(channel, h + cs, ce - cs);
            channel[ce - cs] = 0;
        }
        size_t to = find(h, hl, 0, "to=");
        size_t bs = m + 11;
        size_t be = NPOS, endm_len = 0;
        for (int k = 0; body_ends[k]; k++) {
            size_t e = find(s, n, bs, body_ends[k]);
            if (e != NPOS && (be == NPOS || e < be)) {
                be = e;
                endm_len = strcmp(body_ends[k], "<|start|>") == 0 ? 0 : strlen(body_ends[k]);
            }
        }
        bool closed = be != NPOS;
        if (!closed) be = p->final ? n : n - holdback(s + bs, n - bs, body_ends);
        if (to != NPOS) {
            size_t ns = to + 3, ne = ns;
            while (ne < hl && !is_ws(h[ne]) && h[ne] != '<') ne++;
            if (ne - ns > 10 && memcmp(h + ns, "functions.", 10) == 0) ns += 10;
            pcall *c = pr_call(p->r);
            if (!c) return;
            sb_put(&c->name, h + ns, ne - ns);
            c->name_done = true;
            sb_put(&c->args, s + bs, be - bs);
            c->args_done = closed || p->final;
        } else if (strcmp(channel, "analysis") == 0) {
            if (!sb_put(&p->r->reasoning, s + bs, be - bs)) p->r->oom = true;
        } else {
            add_content(p, bs, be);
        }
        if (!closed) return;
        i = be + endm_len;
    }
}

/* ------------------------------------------------------------ top level */
static void trim(sbuf *b, bool final) {
    size_t a = 0;
    while (a < b->n && is_ws(b->p[a])) a++;
    size_t e = b->n;
    (void)final;
    while (e > a && is_ws(b->p[e - 1])) e--;   /* held back while streaming, dropped at the end */
    if (a) memmove(b->p, b->p + a, e - a);
    b->n = e - a;
    if (b->p) b->p[b->n] = 0;
}

static void parse_all(cllm_chat_format fmt, uint32_t flags, const char *s, size_t n, bool final, presult *r) {
    pr_clear(r);
    P p = {s, n, final, flags, r};
    size_t i = 0;
    bool tools = (flags & CLLM_CHAT_PARSE_TOOLS) != 0;
    if (fmt == CLLM_CHAT_FORMAT_HARMONY) {
        parse_harmony(&p, 0);
        if (!tools) {   /* no tools offered: calls are dropped */
            for (size_t k = 0; k < r->ncalls; k++) {
                sb_free(&r->calls[k].name); sb_free(&r->calls[k].args); sb_free(&r->calls[k].id);
            }
            r->ncalls = 0;
        }
        trim(&r->reasoning, final);
        trim(&r->content, final);
        return;
    }
    if (!(flags & CLLM_CHAT_PARSE_NO_REASONING)) {
        /* <think>, [THINK] (Mistral) and <seed:think> (Seed-OSS) blocks */
        static const char *const opens[] = {"<think>", "[THINK]", "<seed:think>", NULL};
        static const char *const closes[] = {"</think>", "[/THINK]", "</seed:think>", NULL};
        size_t k = 0;
        while (k < n && is_ws(s[k])) k++;
        int which = -1;
        bool maybe_open = false;
        for (int t = 0; opens[t]; t++) {
            size_t ol = strlen(opens[t]);
            if (starts(s, n, k, opens[t])) { which = t; break; }
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
                size_t f = find(s, n, k, closes[t]);
                if (f < e) { e = f; cl = strlen(closes[t]); }
            }
            if (e == NPOS) {   /* unclosed: everything so far is reasoning */
                const char *one[2] = {which >= 0 ? closes[which] : NULL, NULL};
                size_t end = final ? n : n - holdback(s + k, n - k, which >= 0 ? one : closes);
                if (!sb_put(&r->reasoning, s + k, end - k)) r->oom = true;
                trim(&r->reasoning, final);
                return;
            }
            if (!sb_put(&r->reasoning, s + k, e - k)) r->oom = true;
            i = e + cl;
        }
    }
    if (!tools) {
        add_content(&p, i, n);
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
        default: add_content(&p, i, n); break;
        }
    }
    trim(&r->reasoning, final);
    trim(&r->content, final);
}

/* -------------------------------------------------------------- the API */
struct cllm_chat_parser {
    cllm_chat_format fmt;
    uint32_t flags;
    char id_seed[64];
    sbuf text;           /* cleaned UTF-8 */
    unsigned char pend[4];
    size_t npend;
    presult cur;
    /* what was emitted so far */
    size_t em_content, em_reasoning;
    size_t em_calls;
    size_t *em_args;
    size_t em_args_cap;
    bool finished;
    cllm_err err;
};

cllm_status cllm_chat_parser_init(cllm_chat_format fmt, uint32_t flags, const char *id_seed, cllm_chat_parser **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: out is NULL");
    *out = NULL;
    if ((int)fmt < 0 || fmt > CLLM_CHAT_FORMAT_KIMI_K2)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: unknown format %d", (int)fmt);
    cllm_chat_parser *p = calloc(1, sizeof *p);
    if (!p) return cllm_set_last_error(CLLM_ERR_NOMEM, "chat parser: out of memory");
    p->fmt = fmt;
    p->flags = flags;
    snprintf(p->id_seed, sizeof p->id_seed, "%s", id_seed ? id_seed : "");
    *out = p;
    return CLLM_OK;
}

void cllm_chat_parser_free(cllm_chat_parser *p) {
    if (!p) return;
    sb_free(&p->text);
    pr_free(&p->cur);
    free(p->em_args);
    free(p);
}

const char *cllm_chat_parser_last_error(const cllm_chat_parser *p) { return p ? p->err.msg : ""; }

/* Append bytes, replacing invalid UTF-8 with U+FFFD and holding an
 * incomplete trailing sequence until more bytes arrive. */
static bool clean_append(cllm_chat_parser *p, const unsigned char *b, size_t n, bool flush) {
    static const char REPL[] = "\xef\xbf\xbd";
    unsigned char tmp[8];
    size_t i = 0;
    while (i < n || (flush && p->npend)) {
        if (p->npend) {
            unsigned char c0 = p->pend[0];
            size_t need = (c0 & 0xE0) == 0xC0 ? 2 : (c0 & 0xF0) == 0xE0 ? 3 : 4;
            while (p->npend < need && i < n && (b[i] & 0xC0) == 0x80) p->pend[p->npend++] = b[i++];
            if (p->npend == need) {
                memcpy(tmp, p->pend, need);
                p->npend = 0;
                if (!sb_put(&p->text, (const char *)tmp, need)) return false;
                continue;
            }
            if (i < n || flush) {   /* broken sequence */
                p->npend = 0;
                if (!sb_put(&p->text, REPL, 3)) return false;
                continue;
            }
            return true;
        }
        unsigned char c = b[i];
        if (c < 0x80) {
            size_t st = i;
            while (i < n && b[i] < 0x80) i++;
            if (!sb_put(&p->text, (const char *)b + st, i - st)) return false;
        } else if ((c & 0xE0) == 0xC0 || (c & 0xF0) == 0xE0 || (c & 0xF8) == 0xF0) {
            if (c == 0xC0 || c == 0xC1 || c > 0xF4) {
                i++;
                if (!sb_put(&p->text, REPL, 3)) return false;
                continue;
            }
            p->pend[p->npend++] = c;
            i++;
        } else {
            i++;
            if (!sb_put(&p->text, REPL, 3)) return false;
        }
    }
    return true;
}

static void make_id(const cllm_chat_parser *p, size_t index, char *out, size_t cap) {
    /* FNV-1a of seed and index: deterministic so a stream and a whole parse agree */
    uint64_t h = 1469598103934665603ull;
    for (const char *q = p->id_seed; *q; q++) h = (h ^ (unsigned char)*q) * 1099511628211ull;
    for (int k = 0; k < 8; k++) h = (h ^ ((index >> (8 * k)) & 0xFF)) * 1099511628211ull;
    snprintf(out, cap, "call_%016llx", (unsigned long long)h);
}

static json_t *call_json(const cllm_chat_parser *p, const pcall *c, size_t index, bool with_index, const char *args,
                         size_t args_n, bool header) {
    json_t *o = json_object();
    if (with_index) json_object_set_new(o, "index", json_integer((json_int_t)index));
    json_t *fn = json_object();
    if (header) {
        char id[40];
        if (c->id.n) json_object_set_new(o, "id", json_stringn(c->id.p, c->id.n));
        else {
            make_id(p, index, id, sizeof id);
            json_object_set_new(o, "id", json_string(id));
        }
        json_object_set_new(o, "type", json_string("function"));
        json_object_set_new(fn, "name", json_stringn(c->name.p ? c->name.p : "", c->name.n));
    }
    json_object_set_new(fn, "arguments", json_stringn(args ? args : "", args_n));
    json_object_set_new(o, "function", fn);
    return o;
}

/* Diff the current parse against what was emitted; returns a delta or NULL. */
static json_t *make_delta(cllm_chat_parser *p) {
    presult *r = &p->cur;
    json_t *d = json_object();
    if (r->reasoning.n > p->em_reasoning) {
        json_object_set_new(d, "reasoning_content",
                            json_stringn(r->reasoning.p + p->em_reasoning, r->reasoning.n - p->em_reasoning));
        p->em_reasoning = r->reasoning.n;
    }
    if (r->content.n > p->em_content) {
        json_object_set_new(d, "content", json_stringn(r->content.p + p->em_content, r->content.n - p->em_content));
        p->em_content = r->content.n;
    }
    json_t *calls = NULL;
    for (size_t i = 0; i < r->ncalls; i++) {
        pcall *c = &r->calls[i];
        if (!c->name_done) break;
        if (i >= p->em_calls) {
            if (p->em_args_cap <= i) {
                size_t nc = p->em_args_cap ? p->em_args_cap * 2 : 8;
                while (nc <= i) nc *= 2;
                size_t *na = realloc(p->em_args, nc * sizeof(size_t));
                if (!na) { r->oom = true; break; }
                p->em_args = na;
                p->em_args_cap = nc;
            }
            p->em_args[i] = c->args.n;
            p->em_calls = i + 1;
            if (!calls) calls = json_array();
            json_array_append_new(calls, call_json(p, c, i, true, c->args.p, c->args.n, true));
        } else if (c->args.n > p->em_args[i]) {
            if (!calls) calls = json_array();
            json_array_append_new(calls, call_json(p, c, i, true, c->args.p + p->em_args[i], c->args.n - p->em_args[i], false));
            p->em_args[i] = c->args.n;
        }
    }
    if (calls) json_object_set_new(d, "tool_calls", calls);
    if (json_object_size(d) == 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

cllm_status cllm_chat_parser_feed_json(cllm_chat_parser *p, const char *text, size_t n, json_t **delta) {
    if (delta) *delta = NULL;
    if (!p || (!text && n)) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: NULL argument");
    if (p->finished) return cllm_err_set(&p->err, CLLM_ERR_INVALID_ARG, "chat parser: feed after finish");
    if (!clean_append(p, (const unsigned char *)text, n, false))
        return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    parse_all(p->fmt, p->flags, p->text.p ? p->text.p : "", p->text.n, false, &p->cur);
    if (p->cur.oom) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    json_t *d = make_delta(p);
    if (delta) *delta = d;
    else json_decref(d);
    return CLLM_OK;
}

cllm_status cllm_chat_parser_finish_json(cllm_chat_parser *p, json_t **delta) {
    if (delta) *delta = NULL;
    if (!p) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: NULL argument");
    if (!p->finished) {
        if (!clean_append(p, NULL, 0, true)) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
        p->finished = true;
    }
    parse_all(p->fmt, p->flags, p->text.p ? p->text.p : "", p->text.n, true, &p->cur);
    if (p->cur.oom) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    json_t *d = make_delta(p);
    if (delta) *delta = d;
    else json_decref(d);
    return CLLM_OK;
}

json_t *cllm_chat_parser_message_json(const cllm_chat_parser *p) {
    if (!p) return NULL;
    const presult *r = &p->cur;
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string("assistant"));
    bool has_calls = false;
    for (size_t i = 0; i < r->ncalls; i++) has_calls |= r->calls[i].name_done;
    if (r->content.n || !has_calls) json_object_set_new(m, "content", json_stringn(r->content.p ? r->content.p : "", r->content.n));
    else json_object_set_new(m, "content", json_null());
    if (r->reasoning.n) json_object_set_new(m, "reasoning_content", json_stringn(r->reasoning.p, r->reasoning.n));
    if (has_calls) {
        json_t *calls = json_array();
        for (size_t i = 0; i < r->ncalls; i++) {
            const pcall *c = &r->calls[i];
            if (!c->name_done) break;
            json_array_append_new(calls, call_json(p, c, i, false, c->args.p, c->args.n, true));
        }
        json_object_set_new(m, "tool_calls", calls);
    }
    return m;
}

static cllm_status dump_out(cllm_chat_parser *p, json_t *j, char **out) {
    *out = NULL;
    if (!j) return CLLM_OK;
    *out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!*out) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    return CLLM_OK;
}

cllm_status cllm_chat_parser_feed(cllm_chat_parser *p, const char *text, size_t n, char **delta_json) {
    json_t *d = NULL;
    cllm_status st = cllm_chat_parser_feed_json(p, text, n, &d);
    if (!delta_json) { json_decref(d); return st; }
    *delta_json = NULL;
    if (st != CLLM_OK) return st;
    return dump_out(p, d, delta_json);
}

cllm_status cllm_chat_parser_finish(cllm_chat_parser *p, char **delta_json) {
    json_t *d = NULL;
    cllm_status st = cllm_chat_parser_finish_json(p, &d);
    if (!delta_json) { json_decref(d); return st; }
    *delta_json = NULL;
    if (st != CLLM_OK) return st;
    return dump_out(p, d, delta_json);
}

cllm_status cllm_chat_parser_message(cllm_chat_parser *p, char **message_json) {
    if (!p || !message_json) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: NULL argument");
    return dump_out(p, cllm_chat_parser_message_json(p), message_json);
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
