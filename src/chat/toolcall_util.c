/* toolcall_util.c: building blocks of the tool-call parser: growable
 * buffers, marker search with partial-marker hold-back, an incremental JSON
 * scanner for call objects ({"name": ..., "arguments": ...}), XML-style
 * parameter bodies, and Python-literal keyword arguments to JSON. */
#include "chat/toolcall_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- buffers */
bool tc_sb_put(sbuf *b, const char *s, size_t n) {
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
void tc_sb_free(sbuf *b) { free(b->p); b->p = NULL; b->n = b->cap = 0; }
void tc_sb_reset(sbuf *b) { b->n = 0; if (b->p) b->p[0] = 0; }

void tc_pr_clear(presult *r) {
    tc_sb_reset(&r->content);
    tc_sb_reset(&r->reasoning);
    for (size_t i = 0; i < r->ncalls; i++) {
        tc_sb_free(&r->calls[i].name);
        tc_sb_free(&r->calls[i].args);
        tc_sb_free(&r->calls[i].id);
    }
    r->ncalls = 0;
    r->oom = false;
}
void tc_pr_free(presult *r) {
    tc_pr_clear(r);
    tc_sb_free(&r->content);
    tc_sb_free(&r->reasoning);
    free(r->calls);
    r->calls = NULL;
    r->cap = 0;
}
pcall *tc_pr_call(presult *r) {
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

bool tc_is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

size_t tc_find(const char *s, size_t n, size_t from, const char *m) {
    size_t ml = strlen(m);
    if (ml == 0) return from;
    for (size_t i = from; i + ml <= n; i++)
        if (s[i] == m[0] && memcmp(s + i, m, ml) == 0) return i;
    return (size_t)-1;
}

bool tc_starts(const char *s, size_t n, size_t i, const char *m) {
    size_t ml = strlen(m);
    return i + ml <= n && memcmp(s + i, m, ml) == 0;
}

/* Length of the longest suffix of s[0..n) that is a proper prefix of a marker. */
size_t tc_holdback(const char *s, size_t n, const char *const *markers) {
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
void tc_add_content(P *p, size_t a, size_t b) {
    if (b > a && !tc_sb_put(&p->r->content, p->s + a, b - a)) p->r->oom = true;
}

/* Skip one JSON value at s[i]; returns its end. *complete is false when the
 * input ends inside it; *ok false on a syntax error. */
size_t tc_json_skip(const char *s, size_t n, size_t i, bool final, bool *complete, bool *ok) {
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
bool tc_json_str_decode(const char *s, size_t a, size_t b, sbuf *out) {
    json_error_t je;
    json_t *j = json_loadb(s + a, b - a, JSON_DECODE_ANY, &je);
    if (!j || !json_is_string(j)) { json_decref(j); return false; }
    bool ok = tc_sb_put(out, json_string_value(j), json_string_length(j));
    json_decref(j);
    return ok;
}

bool tc_key_in(const char *s, size_t a, size_t b, const char *const *keys) {
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
size_t tc_scan_call_object(P *p, size_t i, pcall *c, bool *complete, bool *ok) {
    const char *s = p->s;
    size_t n = p->n;
    *complete = false;
    *ok = true;
    if (i >= n || s[i] != '{') { *ok = false; return i; }
    size_t k = i + 1;
    bool have_args = false;
    for (;;) {
        while (k < n && tc_is_ws(s[k])) k++;
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
        while (k < n && tc_is_ws(s[k])) k++;
        if (k >= n) return n;
        if (s[k] != ':') { *ok = false; return k; }
        k++;
        while (k < n && tc_is_ws(s[k])) k++;
        if (k >= n) return n;
        size_t vs = k;
        bool vc, vok;
        size_t ve = tc_json_skip(s, n, vs, p->final, &vc, &vok);
        if (!vok) { *ok = false; return k; }
        if (tc_key_in(s, ks, ke, NAME_KEYS)) {
            if (vc && s[vs] == '"' && !c->name_done) {
                tc_sb_reset(&c->name);
                c->name_done = tc_json_str_decode(s, vs, ve, &c->name);
            }
        } else if (tc_key_in(s, ks, ke, ARGS_KEYS) && !have_args) {
            have_args = true;
            tc_sb_reset(&c->args);
            if (s[vs] == '"') {
                if (vc) {
                    tc_json_str_decode(s, vs, ve, &c->args);
                    c->args_done = true;
                }
            } else if (s[vs] == '{' || s[vs] == '[') {
                if (!tc_sb_put(&c->args, s + vs, ve - vs)) p->r->oom = true;
                c->args_done = vc;
            } else if (vc) {
                if (!tc_sb_put(&c->args, s + vs, ve - vs)) p->r->oom = true;
                c->args_done = true;
            }
        } else if (tc_key_in(s, ks, ke, ID_KEYS)) {
            if (vc && s[vs] == '"') {
                tc_sb_reset(&c->id);
                tc_json_str_decode(s, vs, ve, &c->id);
            }
        }
        if (!vc) return n;
        k = ve;
    }
    if (!have_args) {
        tc_sb_reset(&c->args);
        tc_sb_put(&c->args, "{}", 2);
        c->args_done = true;
    }
    return k;
}

/* Convert a plain-text parameter value to JSON: JSON literals stay, other
 * text becomes a string. */
void tc_put_param_value(presult *r, sbuf *args, const char *v, size_t n) {
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
    if (!txt || !tc_sb_put(args, txt, strlen(txt))) r->oom = true;
    free(txt);
}

void tc_put_json_key(presult *r, sbuf *args, const char *k, size_t n) {
    json_t *sj = json_stringn(k, n);
    char *txt = sj ? json_dumps(sj, JSON_ENCODE_ANY) : NULL;
    json_decref(sj);
    if (!txt || !tc_sb_put(args, txt, strlen(txt)) || !tc_sb_put(args, ": ", 2)) r->oom = true;
    free(txt);
}

/* <function=name><parameter=k>v</parameter>...</function> (Qwen3-Coder,
 * Nemotron 3). Only complete blocks become calls. */
bool tc_parse_xml_function(P *p, size_t a, size_t b) {
    const char *s = p->s;
    if (!tc_starts(s, b, a, "<function=")) return false;
    size_t ns = a + 10, ne = tc_find(s, b, ns, ">");
    if (ne == NPOS) return false;
    pcall *c = tc_pr_call(p->r);
    if (!c) return true;
    tc_sb_put(&c->name, s + ns, ne - ns);
    c->name_done = true;
    tc_sb_put(&c->args, "{", 1);
    size_t k = ne + 1;
    bool first = true;
    for (;;) {
        size_t ps = tc_find(s, b, k, "<parameter=");
        if (ps == NPOS) break;
        size_t pe = tc_find(s, b, ps + 11, ">");
        if (pe == NPOS) break;
        size_t vs = pe + 1, ve = tc_find(s, b, vs, "</parameter>");
        if (ve == NPOS) ve = b;
        if (!first) tc_sb_put(&c->args, ", ", 2);
        first = false;
        tc_put_json_key(p->r, &c->args, s + ps + 11, pe - ps - 11);
        tc_put_param_value(p->r, &c->args, s + vs, ve - vs);
        k = ve;
    }
    tc_sb_put(&c->args, "}", 1);
    c->args_done = true;
    return true;
}

/* name\n<arg_key>k</arg_key><arg_value>v</arg_value>... (GLM 4.x). */
bool tc_parse_argkey_call(P *p, size_t a, size_t b) {
    const char *s = p->s;
    size_t nl = a;
    while (nl < b && s[nl] != '\n' && s[nl] != '<') nl++;
    size_t ne = nl;
    while (ne > a && tc_is_ws(s[ne - 1])) ne--;
    if (ne == a) return false;
    pcall *c = tc_pr_call(p->r);
    if (!c) return true;
    tc_sb_put(&c->name, s + a, ne - a);
    c->name_done = true;
    tc_sb_put(&c->args, "{", 1);
    size_t k = nl;
    bool first = true;
    for (;;) {
        size_t ks = tc_find(s, b, k, "<arg_key>");
        if (ks == NPOS) break;
        size_t ke = tc_find(s, b, ks + 9, "</arg_key>");
        if (ke == NPOS) break;
        size_t vs = tc_find(s, b, ke, "<arg_value>");
        if (vs == NPOS) break;
        vs += 11;
        size_t ve = tc_find(s, b, vs, "</arg_value>");
        if (ve == NPOS) ve = b;
        if (!first) tc_sb_put(&c->args, ", ", 2);
        first = false;
        tc_put_json_key(p->r, &c->args, s + ks + 9, ke - ks - 9);
        tc_put_param_value(p->r, &c->args, s + vs, ve - vs);
        k = ve;
    }
    tc_sb_put(&c->args, "}", 1);
    c->args_done = true;
    return true;
}

/* The body of one tool-call block s[a..b); complete when its end marker was
 * seen (or the input is final). JSON bodies stream; others wait. */
void tc_parse_call_body(P *p, size_t a, size_t b, bool complete) {
    const char *s = p->s;
    while (a < b && tc_is_ws(s[a])) a++;
    if (a >= b) return;
    if (s[a] == '{') {
        pcall *c = tc_pr_call(p->r);
        if (!c) return;
        bool cc, ok;
        P sub = *p;
        sub.n = b;
        sub.final = p->final || complete;
        tc_scan_call_object(&sub, a, c, &cc, &ok);
        if (!c->name_done) p->r->ncalls--, tc_sb_free(&c->name), tc_sb_free(&c->args), tc_sb_free(&c->id);
        return;
    }
    if (!complete) return;
    if (tc_starts(s, b, a, "<function=")) {
        tc_parse_xml_function(p, a, b);
        return;
    }
    tc_parse_argkey_call(p, a, b);
}

/* A Python literal at s[k..stop) to JSON: strings in either quotes,
 * numbers, True/False/None, and lists/dicts of those. *end gets the offset
 * after the literal. Unknown text becomes a string. */
json_t *tc_py_value(const char *s, size_t k, size_t stop, size_t *end) {
    while (k < stop && tc_is_ws(s[k])) k++;
    if (k < stop && (s[k] == '"' || s[k] == '\'')) {
        char q = s[k++];
        sbuf v = {0};
        while (k < stop && s[k] != q) {
            if (s[k] == '\\' && k + 1 < stop) {
                k++;
                char e = s[k] == 'n' ? '\n' : s[k] == 't' ? '\t' : s[k];
                tc_sb_put(&v, &e, 1);
            } else {
                tc_sb_put(&v, s + k, 1);
            }
            k++;
        }
        *end = k < stop ? k + 1 : stop;
        json_t *r = json_stringn(v.p ? v.p : "", v.n);
        tc_sb_free(&v);
        return r;
    }
    if (k < stop && (s[k] == '[' || s[k] == '{' || s[k] == '(')) {
        bool is_dict = s[k] == '{';
        char close = s[k] == '[' ? ']' : s[k] == '(' ? ')' : '}';
        json_t *r = is_dict ? json_object() : json_array();
        k++;
        for (;;) {
            while (k < stop && (tc_is_ws(s[k]) || s[k] == ',')) k++;
            if (k >= stop) break;
            if (s[k] == close) { k++; break; }
            size_t e;
            json_t *x = tc_py_value(s, k, stop, &e);
            if (e <= k) { json_decref(x); k++; continue; }
            k = e;
            if (is_dict) {
                while (k < stop && tc_is_ws(s[k])) k++;
                if (k < stop && s[k] == ':') k++;
                json_t *v = tc_py_value(s, k, stop, &e);
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
    while (ve > vs && tc_is_ws(s[ve - 1])) ve--;
    if (ve - vs == 4 && memcmp(s + vs, "True", 4) == 0) return json_true();
    if (ve - vs == 5 && memcmp(s + vs, "False", 5) == 0) return json_false();
    if (ve - vs == 4 && memcmp(s + vs, "None", 4) == 0) return json_null();
    json_error_t je;
    json_t *r = ve > vs ? json_loadb(s + vs, ve - vs, JSON_DECODE_ANY, &je) : NULL;
    return r ? r : json_stringn(s + vs, ve - vs);
}

/* Python keyword arguments `k="v", n=3` at s[k..stop) to a JSON object. */
json_t *tc_py_kwargs(const char *s, size_t k, size_t stop) {
    json_t *obj = json_object();
    while (k < stop) {
        while (k < stop && (tc_is_ws(s[k]) || s[k] == ',')) k++;
        size_t ks = k;
        while (k < stop && s[k] != '=' && s[k] != ',') k++;
        if (k >= stop || s[k] != '=') break;
        size_t ke = k;
        while (ke > ks && tc_is_ws(s[ke - 1])) ke--;
        size_t e;
        json_t *val = tc_py_value(s, k + 1, stop, &e);
        k = e > k ? e : k + 1;
        char *key = strndup(s + ks, ke - ks);
        if (key && val) json_object_set_new(obj, key, val);
        else json_decref(val);
        free(key);
    }
    return obj;
}

void tc_trim(sbuf *b, bool final) {
    size_t a = 0;
    while (a < b->n && tc_is_ws(b->p[a])) a++;
    size_t e = b->n;
    (void)final;
    while (e > a && tc_is_ws(b->p[e - 1])) e--;   /* held back while streaming, dropped at the end */
    if (a) memmove(b->p, b->p + a, e - a);
    b->n = e - a;
    if (b->p) b->p[b->n] = 0;
}
