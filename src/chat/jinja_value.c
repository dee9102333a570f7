/* jinja_value.c: the Jinja engine's values: arena allocation, strings, lists,
 * ordered dicts, Python-compatible str()/repr()/json.dumps formatting,
 * equality and ordering, and UTF-8 helpers. */
#include "chat/jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ arena */
struct jchunk { jchunk *next; size_t used, cap; _Alignas(16) unsigned char data[]; };

#define JA_CHUNK (64 * 1024)

void *ja_alloc(jarena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    jchunk *h = a->head;
    if (!h || h->cap - h->used < n) {
        size_t cap = n > JA_CHUNK / 4 ? n : JA_CHUNK;
        jchunk *nc = malloc(sizeof(jchunk) + cap);
        if (!nc) return NULL;
        nc->used = 0;
        nc->cap = cap;
        if (h && cap == n) {   /* big one-off block: keep the current chunk on top */
            nc->next = h->next;
            h->next = nc;
            nc->used = n;
            a->total += n;
            memset(nc->data, 0, n);
            return nc->data;
        }
        nc->next = h;
        a->head = h = nc;
    }
    void *p = h->data + h->used;
    h->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

void ja_free_all(jarena *a) {
    jchunk *h = a->head;
    while (h) {
        jchunk *n = h->next;
        free(h);
        h = n;
    }
    a->head = NULL;
    a->total = 0;
}

static void *cx_alloc(jctx *c, size_t n) {
    if (c->max_bytes && c->arena.total + n > c->max_bytes)
        jinja_raise(c, JE_RUNTIME, "render exceeds the memory limit (%zu bytes)", c->max_bytes);
    void *p = ja_alloc(&c->arena, n);
    if (!p) jinja_oom(c);
    return p;
}

/* ---------------------------------------------------------------- values */
jv jv_str(jctx *c, const char *p, size_t n) {
    char *d = cx_alloc(c, n + 1);
    if (n) memcpy(d, p, n);
    return jv_str_ref(d, n);
}

jv jv_cstr(jctx *c, const char *s) { return jv_str(c, s, strlen(s)); }

jv jv_list(jctx *c, size_t cap) {
    jv v = {0};
    v.t = JV_LIST;
    v.u.l = cx_alloc(c, sizeof(jlist));
    if (cap) {
        v.u.l->v = cx_alloc(c, cap * sizeof(jv));
        v.u.l->cap = cap;
    }
    return v;
}

jv jv_dict(jctx *c, size_t cap) {
    jv v = {0};
    v.t = JV_DICT;
    v.u.d = cx_alloc(c, sizeof(jdict));
    if (cap) {
        v.u.d->k = cx_alloc(c, cap * sizeof(jv));
        v.u.d->v = cx_alloc(c, cap * sizeof(jv));
        v.u.d->cap = cap;
    }
    return v;
}

void jl_push(jctx *c, jlist *l, jv v) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        jv *nv = cx_alloc(c, nc * sizeof(jv));
        if (l->n) memcpy(nv, l->v, l->n * sizeof(jv));
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = v;
}

jv *jd_get(jdict *d, const char *k, size_t n) {
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && d->k[i].u.s.n == n && memcmp(d->k[i].u.s.p, k, n) == 0)
            return &d->v[i];
    return NULL;
}

jv *jd_getv(jctx *c, jdict *d, jv k) {
    (void)c;
    if (k.t == JV_STR) return jd_get(d, k.u.s.p, k.u.s.n);
    for (size_t i = 0; i < d->n; i++)
        if (jv_eq(d->k[i], k)) return &d->v[i];
    return NULL;
}

void jd_set(jctx *c, jdict *d, jv k, jv v) {
    jv *slot = jd_getv(c, d, k);
    if (slot) {
        *slot = v;
        return;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 8;
        jv *nk = cx_alloc(c, nc * sizeof(jv)), *nv = cx_alloc(c, nc * sizeof(jv));
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof(jv));
            memcpy(nv, d->v, d->n * sizeof(jv));
        }
        d->k = nk;
        d->v = nv;
        d->cap = nc;
    }
    d->k[d->n] = k;
    d->v[d->n] = v;
    d->n++;
}

jv jv_func_native(jctx *c, const char *name, jnative_fn fn, jv self) {
    jv v = {0};
    v.t = JV_FUNC;
    v.u.fn = cx_alloc(c, sizeof(jfunc));
    v.u.fn->name = name;
    v.u.fn->native = fn;
    v.u.fn->self = self;
    return v;
}

bool jv_truthy(jv v) {
    switch (v.t) {
    case JV_UNDEF: case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.s.n != 0;
    case JV_LIST: return v.u.l->gen || v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return true;
    }
}

bool jv_is_str(jv v, const char *s) {
    return v.t == JV_STR && v.u.s.n == strlen(s) && memcmp(v.u.s.p, s, v.u.s.n) == 0;
}

const char *jv_type_name(jv v) {
    switch (v.t) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return v.u.l->gen ? "generator" : v.u.l->tuple ? "tuple" : "list";
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    default: return "function";
    }
}

static bool is_num(jv v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }
static double num_f(jv v) {
    return v.t == JV_FLOAT ? v.u.f : v.t == JV_INT ? (double)v.u.i : (double)v.u.b;
}
static int64_t num_i(jv v) { return v.t == JV_INT ? v.u.i : (int64_t)v.u.b; }

bool jv_eq(jv a, jv b) {
    if (is_num(a) && is_num(b)) {
        if (a.t == JV_FLOAT || b.t == JV_FLOAT) return num_f(a) == num_f(b);
        return num_i(a) == num_i(b);
    }
    if (a.t != b.t) return false;
    switch (a.t) {
    case JV_UNDEF: case JV_NONE: return true;
    case JV_STR: return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
    case JV_LIST:
        if (a.u.l->n != b.u.l->n || a.u.l->tuple != b.u.l->tuple) return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_eq(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jv *o = jd_getv(NULL, b.u.d, a.u.d->k[i]);
            if (!o || !jv_eq(a.u.d->v[i], *o)) return false;
        }
        return true;
    case JV_NS: return a.u.d == b.u.d;
    case JV_FUNC: return a.u.fn == b.u.fn;
    default: return false;
    }
}

static int cmp_bytes_ci(const char *a, size_t an, const char *b, size_t bn, bool ci) {
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (ci) {
            if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
            if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        }
        if (x != y) return x < y ? -1 : 1;
    }
    return an < bn ? -1 : an > bn ? 1 : 0;
}

int jv_cmp(jctx *c, jv a, jv b, bool ci) {
    if (is_num(a) && is_num(b)) {
        if (a.t == JV_FLOAT || b.t == JV_FLOAT) {
            double x = num_f(a), y = num_f(b);
            return x < y ? -1 : x > y ? 1 : 0;
        }
        int64_t x = num_i(a), y = num_i(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.t == JV_STR && b.t == JV_STR)
        return cmp_bytes_ci(a.u.s.p, a.u.s.n, b.u.s.p, b.u.s.n, ci);
    if (a.t == JV_LIST && b.t == JV_LIST) {
        size_t n = a.u.l->n < b.u.l->n ? a.u.l->n : b.u.l->n;
        for (size_t i = 0; i < n; i++) {
            if (jv_eq(a.u.l->v[i], b.u.l->v[i])) continue;
            return jv_cmp(c, a.u.l->v[i], b.u.l->v[i], ci);
        }
        return a.u.l->n < b.u.l->n ? -1 : a.u.l->n > b.u.l->n ? 1 : 0;
    }
    if (a.t == JV_UNDEF || b.t == JV_UNDEF)
        jinja_raise(c, JE_UNDEFINED, "'%.*s' is undefined", (int)(a.t == JV_UNDEF ? a.u.s.n : b.u.s.n),
                    a.t == JV_UNDEF ? a.u.s.p : b.u.s.p);
    jinja_raise(c, JE_TYPE, "'<' not supported between instances of '%s' and '%s'", jv_type_name(a),
                jv_type_name(b));
}

/* ------------------------------------------------------------ string buf */
static void jb_grow(jbuf *b, size_t need) {
    if (b->n + need + 1 <= b->cap) return;
    size_t nc = b->cap ? b->cap : 64;
    while (nc < b->n + need + 1) nc *= 2;
    char *np = cx_alloc(b->c, nc);   /* jbufs are always arena-backed */
    if (b->n) memcpy(np, b->p, b->n);
    b->p = np;
    b->cap = nc;
}

void jb_put(jbuf *b, const char *s, size_t n) {
    if (!n) return;
    jb_grow(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
void jb_puts(jbuf *b, const char *s) { jb_put(b, s, strlen(s)); }
void jb_putc(jbuf *b, char ch) { jb_put(b, &ch, 1); }
void jb_printf(jbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        jb_put(b, tmp, (size_t)n);
        return;
    }
    jb_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}
jv jb_take(jbuf *b) {
    jv v = jv_str_ref(b->p ? b->p : "", b->n);
    b->p = NULL;
    b->n = b->cap = 0;
    return v;
}

/* ------------------------------------------------------------------ UTF-8 */
uint32_t u8_decode(const char *p, size_t n, size_t *adv) {
    const unsigned char *s = (const unsigned char *)p;
    if (n == 0) { *adv = 0; return 0; }
    unsigned char c0 = s[0];
    if (c0 < 0x80) { *adv = 1; return c0; }
    int len = (c0 & 0xE0) == 0xC0 ? 2 : (c0 & 0xF0) == 0xE0 ? 3 : (c0 & 0xF8) == 0xF0 ? 4 : 1;
    if (len == 1 || (size_t)len > n) { *adv = 1; return 0xFFFD; }
    uint32_t cp = c0 & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *adv = 1; return 0xFFFD; }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *adv = (size_t)len;
    return cp;
}

size_t u8_len(const char *p, size_t n) {
    size_t cnt = 0, i = 0;
    while (i < n) {
        size_t adv;
        u8_decode(p + i, n - i, &adv);
        i += adv;
        cnt++;
    }
    return cnt;
}

size_t u8_offset(const char *p, size_t n, size_t cp) {
    size_t i = 0;
    while (cp > 0 && i < n) {
        size_t adv;
        u8_decode(p + i, n - i, &adv);
        i += adv;
        cp--;
    }
    return i;
}

void u8_encode(jbuf *b, uint32_t cp) {
    char t[4];
    if (cp < 0x80) { t[0] = (char)cp; jb_put(b, t, 1); }
    else if (cp < 0x800) { t[0] = (char)(0xC0 | (cp >> 6)); t[1] = (char)(0x80 | (cp & 0x3F)); jb_put(b, t, 2); }
    else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12)); t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F)); jb_put(b, t, 3);
    } else {
        t[0] = (char)(0xF0 | (cp >> 18)); t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (char)(0x80 | (cp & 0x3F)); jb_put(b, t, 4);
    }
}

bool u8_is_space(uint32_t cp) {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F)) return true;
    if (cp < 0x85) return false;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* --------------------------------------------------------- formatting */
void jv_format_float(double f, char *out, size_t cap) {
    if (isnan(f)) { snprintf(out, cap, "nan"); return; }
    if (isinf(f)) { snprintf(out, cap, f < 0 ? "-inf" : "inf"); return; }
    if (f == 0) { snprintf(out, cap, signbit(f) ? "-0.0" : "0.0"); return; }
    /* Shortest round-tripping digits, then Python's repr layout: plain
     * notation for exponents in [-4, 16), scientific otherwise. */
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) break;
    }
    char digits[24];
    int nd = 0;
    const char *q = tmp;
    bool neg = false;
    if (*q == '-') { neg = true; q++; }
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    int exp10 = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    char *o = out;
    size_t left = cap;
#define EMIT(...) do { int w_ = snprintf(o, left, __VA_ARGS__); if (w_ < 0 || (size_t)w_ >= left) return; o += w_; left -= (size_t)w_; } while (0)
    if (neg) EMIT("-");
    if (exp10 >= 16 || exp10 < -4) {
        EMIT("%c", digits[0]);
        if (nd > 1) EMIT(".%s", digits + 1);
        EMIT("e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        EMIT("0.");
        for (int i = 0; i < -exp10 - 1; i++) EMIT("0");
        EMIT("%s", digits);
    } else {
        for (int i = 0; i <= exp10; i++) EMIT("%c", i < nd ? digits[i] : '0');
        EMIT(".");
        if (nd > exp10 + 1) EMIT("%s", digits + exp10 + 1);
        else EMIT("0");
    }
#undef EMIT
}

static void write_py_str_repr(jbuf *b, const char *p, size_t n) {
    bool has_sq = memchr(p, '\'', n) != NULL, has_dq = memchr(p, '"', n) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    jb_putc(b, q);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == (unsigned char)q || ch == '\\') { jb_putc(b, '\\'); jb_putc(b, (char)ch); }
        else if (ch == '\n') jb_puts(b, "\\n");
        else if (ch == '\r') jb_puts(b, "\\r");
        else if (ch == '\t') jb_puts(b, "\\t");
        else if (ch < 0x20 || ch == 0x7F) jb_printf(b, "\\x%02x", ch);
        else jb_putc(b, (char)ch);
    }
    jb_putc(b, q);
}

static void write_seq(jctx *c, jbuf *b, jv v) {
    jlist *l = v.u.l;
    if (l->gen) {
        jb_puts(b, "<generator object at 0x0>");
        return;
    }
    jb_putc(b, l->tuple ? '(' : '[');
    for (size_t i = 0; i < l->n; i++) {
        if (i) jb_puts(b, ", ");
        jv_write_repr(c, b, l->v[i]);
    }
    if (l->tuple && l->n == 1) jb_putc(b, ',');
    jb_putc(b, l->tuple ? ')' : ']');
}

void jv_write_repr(jctx *c, jbuf *b, jv v) {
    char num[48];
    switch (v.t) {
    case JV_UNDEF: break;
    case JV_NONE: jb_puts(b, "None"); break;
    case JV_BOOL: jb_puts(b, v.u.b ? "True" : "False"); break;
    case JV_INT: jb_printf(b, "%lld", (long long)v.u.i); break;
    case JV_FLOAT: jv_format_float(v.u.f, num, sizeof num); jb_puts(b, num); break;
    case JV_STR: write_py_str_repr(b, v.u.s.p, v.u.s.n); break;
    case JV_LIST: write_seq(c, b, v); break;
    case JV_DICT:
        jb_putc(b, '{');
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jb_puts(b, ", ");
            jv_write_repr(c, b, v.u.d->k[i]);
            jb_puts(b, ": ");
            jv_write_repr(c, b, v.u.d->v[i]);
        }
        jb_putc(b, '}');
        break;
    case JV_NS:
        jb_puts(b, "<Namespace {");
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i) jb_puts(b, ", ");
            jv_write_repr(c, b, v.u.d->k[i]);
            jb_puts(b, ": ");
            jv_write_repr(c, b, v.u.d->v[i]);
        }
        jb_puts(b, "}>");
        break;
    case JV_FUNC: jb_printf(b, "<function %s>", v.u.fn->name ? v.u.fn->name : "?"); break;
    }
}

void jv_write_str(jctx *c, jbuf *b, jv v) {
    if (v.t == JV_STR) jb_put(b, v.u.s.p, v.u.s.n);
    else jv_write_repr(c, b, v);
}

jv jv_to_str(jctx *c, jv v) {
    if (v.t == JV_STR) return v;
    if (v.t == JV_UNDEF) return jv_str_ref("", 0);
    jbuf b = {0};
    b.c = c;
    jv_write_str(c, &b, v);
    return jb_take(&b);
}

/* ------------------------------------------------------------------ JSON */
static void json_str(jbuf *b, const char *p, size_t n, bool ascii) {
    jb_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"') { jb_puts(b, "\\\""); i++; }
        else if (ch == '\\') { jb_puts(b, "\\\\"); i++; }
        else if (ch == '\n') { jb_puts(b, "\\n"); i++; }
        else if (ch == '\r') { jb_puts(b, "\\r"); i++; }
        else if (ch == '\t') { jb_puts(b, "\\t"); i++; }
        else if (ch == '\b') { jb_puts(b, "\\b"); i++; }
        else if (ch == '\f') { jb_puts(b, "\\f"); i++; }
        else if (ch < 0x20 || (ascii && ch == 0x7F)) { jb_printf(b, "\\u%04x", ch); i++; }
        else if (ch < 0x80 || !ascii) { jb_putc(b, (char)ch); i++; }
        else {
            size_t adv;
            uint32_t cp = u8_decode(p + i, n - i, &adv);
            i += adv;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                jb_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                jb_printf(b, "\\u%04x", cp);
            }
        }
    }
    jb_putc(b, '"');
}

static void json_newline(jbuf *b, const jjson_opts *o, int level) {
    jb_putc(b, '\n');
    for (int i = 0; i < level; i++) jb_puts(b, o->indent);
}

static void json_key(jctx *c, jbuf *b, jv k, const jjson_opts *o) {
    char num[48];
    switch (k.t) {
    case JV_STR: json_str(b, k.u.s.p, k.u.s.n, o->ensure_ascii); break;
    case JV_INT: jb_printf(b, "\"%lld\"", (long long)k.u.i); break;
    case JV_FLOAT: jv_format_float(k.u.f, num, sizeof num); jb_printf(b, "\"%s\"", num); break;
    case JV_BOOL: jb_puts(b, k.u.b ? "\"true\"" : "\"false\""); break;
    case JV_NONE: jb_puts(b, "\"null\""); break;
    default:
        jinja_raise(c, JE_TYPE, "keys must be str, int, float, bool or None, not %s", jv_type_name(k));
    }
}

static int key_order_cmp(const void *x, const void *y) {
    const jv *a = *(const jv *const *)x, *b = *(const jv *const *)y;
    if (a->t == JV_STR && b->t == JV_STR) {
        size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
        int r = memcmp(a->u.s.p, b->u.s.p, n);
        if (r) return r;
        return a->u.s.n < b->u.s.n ? -1 : a->u.s.n > b->u.s.n;
    }
    return 0;
}

void jv_write_json(jctx *c, jbuf *b, jv v, const jjson_opts *o, int level) {
    char num[48];
    if (level > 200) jinja_raise(c, JE_RECURSION, "maximum recursion depth exceeded in tojson");
    switch (v.t) {
    case JV_NONE: jb_puts(b, "null"); break;
    case JV_BOOL: jb_puts(b, v.u.b ? "true" : "false"); break;
    case JV_INT: jb_printf(b, "%lld", (long long)v.u.i); break;
    case JV_FLOAT:
        if (isnan(v.u.f)) jb_puts(b, "NaN");
        else if (isinf(v.u.f)) jb_puts(b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else { jv_format_float(v.u.f, num, sizeof num); jb_puts(b, num); }
        break;
    case JV_STR: json_str(b, v.u.s.p, v.u.s.n, o->ensure_ascii); break;
    case JV_LIST: {
        jlist *l = v.u.l;
        if (l->gen) jinja_raise(c, JE_TYPE, "Object of type generator is not JSON serializable");
        if (l->n == 0) { jb_puts(b, "[]"); break; }
        jb_putc(b, '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i) jb_puts(b, o->item_sep);
            if (o->indent) json_newline(b, o, level + 1);
            jv_write_json(c, b, l->v[i], o, level + 1);
        }
        if (o->indent) json_newline(b, o, level);
        jb_putc(b, ']');
        break;
    }
    case JV_DICT: {
        jdict *d = v.u.d;
        if (d->n == 0) { jb_puts(b, "{}"); break; }
        const jv **order = ja_alloc(&c->arena, d->n * sizeof(jv *));
        if (!order) jinja_oom(c);
        for (size_t i = 0; i < d->n; i++) order[i] = &d->k[i];
        if (o->sort_keys) {
            for (size_t i = 0; i < d->n; i++)
                if (d->k[i].t != JV_STR)
                    jinja_raise(c, JE_TYPE, "'<' not supported between dict keys of mixed types");
            qsort(order, d->n, sizeof(jv *), key_order_cmp);
        }
        jb_putc(b, '{');
        for (size_t i = 0; i < d->n; i++) {
            size_t idx = (size_t)(order[i] - d->k);
            if (i) jb_puts(b, o->item_sep);
            if (o->indent) json_newline(b, o, level + 1);
            json_key(c, b, d->k[idx], o);
            jb_puts(b, o->key_sep);
            jv_write_json(c, b, d->v[idx], o, level + 1);
        }
        if (o->indent) json_newline(b, o, level);
        jb_putc(b, '}');
        break;
    }
    case JV_UNDEF:
        jinja_raise(c, JE_TYPE, "Object of type Undefined is not JSON serializable");
    default:
        jinja_raise(c, JE_TYPE, "Object of type %s is not JSON serializable", jv_type_name(v));
    }
}

jv jv_html_escape(jctx *c, jv s) {
    jbuf b = {0};
    b.c = c;
    for (size_t i = 0; i < s.u.s.n; i++) {
        char ch = s.u.s.p[i];
        switch (ch) {
        case '&': jb_puts(&b, "&amp;"); break;
        case '<': jb_puts(&b, "&lt;"); break;
        case '>': jb_puts(&b, "&gt;"); break;
        case '"': jb_puts(&b, "&#34;"); break;
        case '\'': jb_puts(&b, "&#39;"); break;
        default: jb_putc(&b, ch);
        }
    }
    jv r = b.n ? jb_take(&b) : jv_str_ref("", 0);
    r.safe = 1;
    return r;
}
