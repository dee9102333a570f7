/* jinja_filters.c: the Jinja filters chat templates use, with jinja2 3.1's
 * signatures and defaults (tojson is Hugging Face's json.dumps variant:
 * ensure_ascii=False, indent, separators, sort_keys). */
#include "chat/jinja.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jv mkstr(jbuf *b) { return b->n ? jb_take(b) : jv_str_ref("", 0); }
static jv as_str(jctx *c, jv v) { return jv_to_str(c, v); }

static bool bool_arg(jargs *a, int i, const char *name, bool dflt) {
    jv *v = jarg(a, i, name);
    return v ? jv_truthy(*v) : dflt;
}

/* jinja2's make_attrgetter: "a.b.0" walks items/attributes. */
static jv get_attr_path(jctx *c, jv obj, jv path) {
    if (path.t == JV_INT) return jinja_getitem(c, obj, path);
    if (path.t != JV_STR) jinja_raise(c, JE_TYPE, "attribute must be a string");
    const char *p = path.u.s.p;
    size_t n = path.u.s.n, st = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '.') continue;
        const char *part = p + st;
        size_t pl = i - st;
        bool digits = pl > 0;
        for (size_t k = 0; k < pl; k++)
            if (part[k] < '0' || part[k] > '9') digits = false;
        if (digits) obj = jinja_getitem(c, obj, jv_int(strtoll(part, NULL, 10)));
        else obj = jinja_getitem(c, obj, jv_str_ref(part, pl));
        st = i + 1;
    }
    return obj;
}

static jv lowered(jctx *c, jv v, bool ci) { return (ci && v.t == JV_STR) ? jinja_str_case(c, v, 0) : v; }

/* ------------------------------------------------------------------ tojson */
static jv f_tojson(jctx *c, jv v, jargs *a) {
    jjson_opts o = {false, false, NULL, ", ", ": "};
    jv *ea = jarg(a, 0, "ensure_ascii");
    jv *ind = jarg(a, 1, "indent");
    jv *sep = jarg(a, 2, "separators");
    jv *sk = jarg(a, 3, "sort_keys");
    if (ea) o.ensure_ascii = jv_truthy(*ea);
    if (sk) o.sort_keys = jv_truthy(*sk);
    char *indent = NULL;
    if (ind && ind->t != JV_NONE) {
        if (ind->t == JV_INT || ind->t == JV_BOOL) {
            int64_t w = ind->t == JV_INT ? ind->u.i : ind->u.b;
            if (w < 0) w = 0;
            if (w > 64) w = 64;
            indent = ja_alloc(&c->arena, (size_t)w + 1);
            if (!indent) jinja_oom(c);
            memset(indent, ' ', (size_t)w);
        } else if (ind->t == JV_STR) {
            indent = (char *)jv_str(c, ind->u.s.p, ind->u.s.n).u.s.p;
        } else {
            jinja_raise(c, JE_TYPE, "tojson indent must be an int or a string");
        }
        o.indent = indent;
        o.item_sep = ",";
    }
    if (sep && sep->t != JV_NONE) {
        if (sep->t != JV_LIST || sep->u.l->n != 2 || sep->u.l->v[0].t != JV_STR || sep->u.l->v[1].t != JV_STR)
            jinja_raise(c, JE_TYPE, "tojson separators must be a pair of strings");
        o.item_sep = jv_str(c, sep->u.l->v[0].u.s.p, sep->u.l->v[0].u.s.n).u.s.p;
        o.key_sep = jv_str(c, sep->u.l->v[1].u.s.p, sep->u.l->v[1].u.s.n).u.s.p;
    }
    jbuf b = {0};
    b.c = c;
    jv_write_json(c, &b, v, &o, 0);
    return mkstr(&b);
}

/* --------------------------------------------------------------- strings */
static jv f_trim(jctx *c, jv v, jargs *a) {
    jv r = jinja_str_strip(c, as_str(c, v), jarg(a, 0, "chars"), true, true);
    r.safe = v.t == JV_STR && v.safe;
    return r;
}
static jv f_upper(jctx *c, jv v, jargs *a) { (void)a; return jinja_str_case(c, as_str(c, v), 1); }
static jv f_lower(jctx *c, jv v, jargs *a) { (void)a; return jinja_str_case(c, as_str(c, v), 0); }
static jv f_capitalize(jctx *c, jv v, jargs *a) { (void)a; return jinja_str_case(c, as_str(c, v), 2); }
static jv f_string(jctx *c, jv v, jargs *a) { (void)a; return as_str(c, v); }
static jv f_safe(jctx *c, jv v, jargs *a) {
    (void)a;
    jv s = as_str(c, v);
    s.safe = 1;
    return s;
}

/* jinja2's title: words start after whitespace, '-', or an opening bracket. */
static jv f_title(jctx *c, jv v, jargs *a) {
    (void)a;
    jv s = as_str(c, v);
    jbuf b = {0};
    b.c = c;
    bool start = true;
    for (size_t i = 0; i < s.u.s.n;) {
        size_t adv;
        uint32_t cp = u8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
        bool sep = u8_is_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
        jv one = jv_str_ref(s.u.s.p + i, adv);
        i += adv;
        if (sep) { jb_put(&b, one.u.s.p, one.u.s.n); start = true; continue; }
        jv conv = jinja_str_case(c, one, start ? 1 : 0);
        jb_put(&b, conv.u.s.p, conv.u.s.n);
        start = false;
    }
    return mkstr(&b);
}

static jv f_replace(jctx *c, jv v, jargs *a) {
    jv s = as_str(c, v);
    jv *old = jarg(a, 0, "old"), *nw = jarg(a, 1, "new"), *cnt = jarg(a, 2, "count");
    if (!old || !nw) jinja_raise(c, JE_TYPE, "replace() needs old and new");
    jv os = as_str(c, *old), ns = as_str(c, *nw);
    int64_t count = (cnt && cnt->t == JV_INT) ? cnt->u.i : -1;
    return jinja_str_replace(c, s, os, ns, count);
}

static jv f_escape(jctx *c, jv v, jargs *a) {
    (void)a;
    if (v.t == JV_STR && v.safe) return v;
    return jv_html_escape(c, as_str(c, v));
}
static jv f_forceescape(jctx *c, jv v, jargs *a) {
    (void)a;
    return jv_html_escape(c, as_str(c, v));
}

static jv f_indent(jctx *c, jv v, jargs *a) {
    jv s = as_str(c, v);
    jv *w = jarg(a, 0, "width");
    bool first = bool_arg(a, 1, "first", false), blank = bool_arg(a, 2, "blank", false);
    jv ind;
    if (!w) ind = jv_str_ref("    ", 4);
    else if (w->t == JV_STR) ind = *w;
    else if (w->t == JV_INT) {
        jbuf t = {0};
        t.c = c;
        for (int64_t i = 0; i < w->u.i && i < 256; i++) jb_putc(&t, ' ');
        ind = mkstr(&t);
    } else jinja_raise(c, JE_TYPE, "indent width must be an int or a string");
    /* s += "\n"; lines = s.splitlines() */
    jbuf t = {0};
    t.c = c;
    jb_put(&t, s.u.s.p, s.u.s.n);
    jb_putc(&t, '\n');
    jv full = mkstr(&t);
    jv split = jinja_getattr(c, full, "splitlines", 10);
    jargs none = {0};
    jv lines = jinja_call(c, split, &none);
    jbuf b = {0};
    b.c = c;
    if (first) jb_put(&b, ind.u.s.p, ind.u.s.n);
    jlist *l = lines.u.l;
    for (size_t i = 0; i < l->n; i++) {
        jv line = l->v[i];
        if (i) {
            jb_putc(&b, '\n');
            if (blank || line.u.s.n) jb_put(&b, ind.u.s.p, ind.u.s.n);
        }
        jb_put(&b, line.u.s.p, line.u.s.n);
    }
    return mkstr(&b);
}

static jv f_format(jctx *c, jv v, jargs *a) {
    jv s = as_str(c, v);
    /* value % args, args as a tuple */
    jv t = jv_list(c, (size_t)a->npos);
    t.u.l->tuple = true;
    for (int i = 0; i < a->npos; i++) jl_push(c, t.u.l, a->pos[i]);
    jbuf b = {0};
    b.c = c;
    size_t ai = 0;
    for (size_t i = 0; i < s.u.s.n; i++) {
        char ch = s.u.s.p[i];
        if (ch != '%' || i + 1 >= s.u.s.n) { jb_putc(&b, ch); continue; }
        char conv = s.u.s.p[++i];
        if (conv == '%') { jb_putc(&b, '%'); continue; }
        if (ai >= t.u.l->n) jinja_raise(c, JE_TYPE, "not enough arguments for format string");
        jv x = t.u.l->v[ai++];
        if (conv == 'r') jv_write_repr(c, &b, x);
        else jv_write_str(c, &b, x);
    }
    return mkstr(&b);
}

static jv f_wordcount(jctx *c, jv v, jargs *a) {
    (void)a;
    jv s = as_str(c, v);
    int64_t n = 0;
    bool in = false;
    for (size_t i = 0; i < s.u.s.n;) {
        size_t adv;
        uint32_t cp = u8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
        i += adv;
        bool w = cp == '_' || (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp >= 0x80;
        if (w && !in) n++;
        in = w;
    }
    return jv_int(n);
}

static jv f_center(jctx *c, jv v, jargs *a) {
    jv s = as_str(c, v);
    jv *w = jarg(a, 0, "width");
    int64_t width = (w && w->t == JV_INT) ? w->u.i : 80;
    int64_t len = (int64_t)u8_len(s.u.s.p, s.u.s.n);
    if (width <= len) return s;
    int64_t pad = width - len, left = pad / 2 + (pad & width & 1);
    jbuf b = {0};
    b.c = c;
    for (int64_t i = 0; i < left; i++) jb_putc(&b, ' ');
    jb_put(&b, s.u.s.p, s.u.s.n);
    for (int64_t i = 0; i < pad - left; i++) jb_putc(&b, ' ');
    return mkstr(&b);
}

/* ----------------------------------------------------------- sequences */
static jv f_length(jctx *c, jv v, jargs *a) { (void)a; return jv_int(jinja_length(c, v)); }

static jv f_default(jctx *c, jv v, jargs *a) {
    (void)c;
    jv *d = jarg(a, 0, "default_value");
    bool boolean = bool_arg(a, 1, "boolean", false);
    if (v.t == JV_UNDEF || (boolean && !jv_truthy(v))) return d ? *d : jv_str_ref("", 0);
    return v;
}

static jv f_list(jctx *c, jv v, jargs *a) {
    (void)a;
    jlist *l = jinja_iter(c, v);
    jv out = jv_list(c, l->n);
    for (size_t i = 0; i < l->n; i++) jl_push(c, out.u.l, l->v[i]);
    return out;
}

static jv f_first(jctx *c, jv v, jargs *a) {
    (void)a;
    jlist *l = jinja_iter(c, v);
    return l->n ? l->v[0] : jv_undef();
}

static jv f_last(jctx *c, jv v, jargs *a) {
    (void)a;
    if (v.t == JV_DICT) jinja_raise(c, JE_TYPE, "'dict' object is not reversible");
    jlist *l = jinja_iter(c, v);
    return l->n ? l->v[l->n - 1] : jv_undef();
}

static jv f_reverse(jctx *c, jv v, jargs *a) {
    (void)a;
    if (v.t == JV_STR) {
        jlist *l = jinja_iter(c, v);
        jbuf b = {0};
        b.c = c;
        for (size_t i = l->n; i-- > 0;) jb_put(&b, l->v[i].u.s.p, l->v[i].u.s.n);
        return mkstr(&b);
    }
    jlist *l = jinja_iter(c, v);
    jv out = jv_list(c, l->n);
    for (size_t i = l->n; i-- > 0;) jl_push(c, out.u.l, l->v[i]);
    out.u.l->gen = true;   /* reversed() iterator */
    return out;
}

static jv f_join(jctx *c, jv v, jargs *a) {
    jv *d = jarg(a, 0, "d");
    jv *attr = jarg(a, 1, "attribute");
    jv sep = d ? as_str(c, *d) : jv_str_ref("", 0);
    jlist *l = jinja_iter(c, v);
    jbuf b = {0};
    b.c = c;
    for (size_t i = 0; i < l->n; i++) {
        if (i) jb_put(&b, sep.u.s.p, sep.u.s.n);
        jv x = attr ? get_attr_path(c, l->v[i], *attr) : l->v[i];
        jv_write_str(c, &b, x);
    }
    return mkstr(&b);
}

static jv f_items(jctx *c, jv v, jargs *a) {
    (void)a;
    if (v.t == JV_UNDEF) return jv_list(c, 0);
    if (v.t != JV_DICT) jinja_raise(c, JE_TYPE, "items filter expects a mapping, got %s", jv_type_name(v));
    jv m = jinja_getattr(c, v, "items", 5);
    jargs none = {0};
    jv r = jinja_call(c, m, &none);
    r.u.l->gen = true;
    return r;
}

/* Stable merge sort on jv with a key array; jv_cmp may raise. */
typedef struct skey { jv key; jv val; } skey;
static void msort(jctx *c, skey *x, skey *tmp, size_t n, bool ci, bool rev) {
    if (n < 2) return;
    size_t h = n / 2;
    msort(c, x, tmp, h, ci, rev);
    msort(c, x + h, tmp, n - h, ci, rev);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int r = jv_cmp(c, x[j].key, x[i].key, ci);
        if (rev) r = -r;
        if (r < 0) tmp[k++] = x[j++];
        else tmp[k++] = x[i++];
    }
    while (i < h) tmp[k++] = x[i++];
    while (j < n) tmp[k++] = x[j++];
    memcpy(x, tmp, n * sizeof(skey));
}

static jv sorted(jctx *c, jlist *l, jv *attr, bool ci, bool rev, int tuple_part) {
    skey *x = ja_alloc(&c->arena, (l->n + 1) * sizeof(skey));
    skey *tmp = ja_alloc(&c->arena, (l->n + 1) * sizeof(skey));
    if (!x || !tmp) jinja_oom(c);
    for (size_t i = 0; i < l->n; i++) {
        jv k = l->v[i];
        if (tuple_part >= 0) k = k.u.l->v[tuple_part];
        if (attr) k = get_attr_path(c, k, *attr);
        x[i].key = lowered(c, k, ci);
        x[i].val = l->v[i];
    }
    msort(c, x, tmp, l->n, false, rev);
    jv out = jv_list(c, l->n);
    for (size_t i = 0; i < l->n; i++) jl_push(c, out.u.l, x[i].val);
    return out;
}

static jv f_sort(jctx *c, jv v, jargs *a) {
    bool rev = bool_arg(a, 0, "reverse", false), cs = bool_arg(a, 1, "case_sensitive", false);
    jv *attr = jarg(a, 2, "attribute");
    return sorted(c, jinja_iter(c, v), attr, !cs, rev, -1);
}

static jv f_dictsort(jctx *c, jv v, jargs *a) {
    bool cs = bool_arg(a, 0, "case_sensitive", false);
    jv *by = jarg(a, 1, "by");
    bool rev = bool_arg(a, 2, "reverse", false);
    int part = 0;
    if (by) {
        if (jv_is_str(*by, "value")) part = 1;
        else if (!jv_is_str(*by, "key")) jinja_raise(c, JE_RUNTIME, "You can only sort by either \"key\" or \"value\"");
    }
    if (v.t != JV_DICT) jinja_raise(c, JE_TYPE, "dictsort expects a mapping, got %s", jv_type_name(v));
    jv items = jinja_call(c, jinja_getattr(c, v, "items", 5), &(jargs){0});
    return sorted(c, items.u.l, NULL, !cs, rev, part);
}

static jv f_unique(jctx *c, jv v, jargs *a) {
    bool cs = bool_arg(a, 0, "case_sensitive", false);
    jv *attr = jarg(a, 1, "attribute");
    jlist *l = jinja_iter(c, v);
    jv out = jv_list(c, l->n), seen = jv_list(c, l->n);
    for (size_t i = 0; i < l->n; i++) {
        jv k = attr ? get_attr_path(c, l->v[i], *attr) : l->v[i];
        k = lowered(c, k, !cs);
        bool dup = false;
        for (size_t j = 0; j < seen.u.l->n && !dup; j++) dup = jv_eq(seen.u.l->v[j], k);
        if (dup) continue;
        jl_push(c, seen.u.l, k);
        jl_push(c, out.u.l, l->v[i]);
    }
    out.u.l->gen = true;
    return out;
}

static jv minmax(jctx *c, jv v, jargs *a, bool want_max) {
    bool cs = bool_arg(a, 0, "case_sensitive", false);
    jv *attr = jarg(a, 1, "attribute");
    jlist *l = jinja_iter(c, v);
    if (!l->n) return jv_undef();
    size_t best = 0;
    jv bk = lowered(c, attr ? get_attr_path(c, l->v[0], *attr) : l->v[0], !cs);
    for (size_t i = 1; i < l->n; i++) {
        jv k = lowered(c, attr ? get_attr_path(c, l->v[i], *attr) : l->v[i], !cs);
        int r = jv_cmp(c, k, bk, false);
        if (want_max ? r > 0 : r < 0) { best = i; bk = k; }
    }
    return l->v[best];
}
static jv f_min(jctx *c, jv v, jargs *a) { return minmax(c, v, a, false); }
static jv f_max(jctx *c, jv v, jargs *a) { return minmax(c, v, a, true); }

static jv f_sum(jctx *c, jv v, jargs *a) {
    jv *attr = jarg(a, 0, "attribute");
    jv *start = jarg(a, 1, "start");
    jv acc = start ? *start : jv_int(0);
    jlist *l = jinja_iter(c, v);
    for (size_t i = 0; i < l->n; i++) {
        jv x = attr ? get_attr_path(c, l->v[i], *attr) : l->v[i];
        if (acc.t == JV_INT && x.t == JV_INT) acc = jv_int(acc.u.i + x.u.i);
        else if ((acc.t == JV_INT || acc.t == JV_FLOAT) && (x.t == JV_INT || x.t == JV_FLOAT))
            acc = jv_float((acc.t == JV_INT ? (double)acc.u.i : acc.u.f) + (x.t == JV_INT ? (double)x.u.i : x.u.f));
        else jinja_raise(c, JE_TYPE, "unsupported operand type(s) for +: '%s' and '%s'", jv_type_name(acc), jv_type_name(x));
    }
    return acc;
}

/* select/reject/selectattr/rejectattr: args after the test name go to the test. */
static jv select_common(jctx *c, jv v, jargs *a, bool use_attr, bool keep_when) {
    jlist *l = jv_truthy(v) ? jinja_iter(c, v) : jv_list(c, 0).u.l;   /* jinja2: `if value:` */
    int off = 0;
    jv attr = {0};
    if (use_attr) {
        if (a->npos < 1) jinja_raise(c, JE_TYPE, "selectattr/rejectattr need an attribute");
        attr = a->pos[0];
        off = 1;
    }
    const char *test = NULL;
    if (a->npos > off) {
        jv t = a->pos[off];
        if (t.t != JV_STR) jinja_raise(c, JE_TYPE, "test name must be a string");
        test = jv_str(c, t.u.s.p, t.u.s.n).u.s.p;
        off++;
    }
    jargs ta = {a->pos + off, a->npos - off, a->kwn, a->kwv, a->nkw};
    jv out = jv_list(c, l->n);
    for (size_t i = 0; i < l->n; i++) {
        jv x = use_attr ? get_attr_path(c, l->v[i], attr) : l->v[i];
        bool r = test ? jinja_apply_test(c, test, x, &ta) : jv_truthy(x);
        if (r == keep_when) jl_push(c, out.u.l, l->v[i]);
    }
    out.u.l->gen = true;
    return out;
}
static jv f_select(jctx *c, jv v, jargs *a) { return select_common(c, v, a, false, true); }
static jv f_reject(jctx *c, jv v, jargs *a) { return select_common(c, v, a, false, false); }
static jv f_selectattr(jctx *c, jv v, jargs *a) { return select_common(c, v, a, true, true); }
static jv f_rejectattr(jctx *c, jv v, jargs *a) { return select_common(c, v, a, true, false); }

static jv f_map(jctx *c, jv v, jargs *a) {
    jlist *l = jv_truthy(v) ? jinja_iter(c, v) : jv_list(c, 0).u.l;
    jv out = jv_list(c, l->n);
    out.u.l->gen = true;
    jv *attr = jarg(a, -1, "attribute");
    if (attr && a->npos == 0) {
        jv *dflt = jarg(a, -1, "default");
        for (size_t i = 0; i < l->n; i++) {
            jv x = get_attr_path(c, l->v[i], *attr);
            if (x.t == JV_UNDEF && dflt) x = *dflt;
            jl_push(c, out.u.l, x);
        }
        return out;
    }
    if (a->npos < 1 || a->pos[0].t != JV_STR) jinja_raise(c, JE_TYPE, "map() needs a filter name or attribute=");
    const char *fname = jv_str(c, a->pos[0].u.s.p, a->pos[0].u.s.n).u.s.p;
    jargs fa = {a->pos + 1, a->npos - 1, a->kwn, a->kwv, a->nkw};
    for (size_t i = 0; i < l->n; i++) jl_push(c, out.u.l, jinja_apply_filter(c, fname, l->v[i], &fa));
    return out;
}

static jv f_attr(jctx *c, jv v, jargs *a) {
    jv *n = jarg(a, 0, "name");
    if (!n || n->t != JV_STR) jinja_raise(c, JE_TYPE, "attr() needs a name");
    /* Python getattr only: methods of str/dict/list, never dict items */
    if (v.t == JV_NS) return jinja_getattr(c, v, n->u.s.p, n->u.s.n);
    bool found = false;
    jv m = jinja_method(c, v, n->u.s.p, n->u.s.n, &found);
    return found ? m : jv_undef();
}

/* --------------------------------------------------------------- numbers */
static bool parse_py_int(const char *p, size_t n, int base, int64_t *out) {
    char buf[128];
    size_t k = 0;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
    while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
    if (i >= n || n - i >= sizeof buf) return false;
    for (; i < n; i++) if (p[i] != '_') buf[k++] = p[i];
    buf[k] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, base);
    if (*end || errno || end == buf) return false;
    *out = v;
    return true;
}
static bool parse_py_float(const char *p, size_t n, double *out) {
    char buf[128];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, p, n);
    buf[n] = 0;
    char *end;
    double d = strtod(buf, &end);
    while (*end == ' ' || *end == '\n' || *end == '\t') end++;
    if (*end || end == buf) return false;
    *out = d;
    return true;
}

static jv f_int(jctx *c, jv v, jargs *a) {
    (void)c;
    jv *d = jarg(a, 0, "default");
    jv *b = jarg(a, 1, "base");
    int base = (b && b->t == JV_INT) ? (int)b->u.i : 10;
    jv dflt = d ? *d : jv_int(0);
    switch (v.t) {
    case JV_INT: return v;
    case JV_BOOL: return jv_int(v.u.b);
    case JV_FLOAT: return isfinite(v.u.f) ? jv_int((int64_t)v.u.f) : dflt;
    case JV_STR: {
        int64_t i;
        double f;
        if (parse_py_int(v.u.s.p, v.u.s.n, base, &i)) return jv_int(i);
        if (parse_py_float(v.u.s.p, v.u.s.n, &f) && isfinite(f)) return jv_int((int64_t)f);
        return dflt;
    }
    default: return dflt;
    }
}

static jv f_float(jctx *c, jv v, jargs *a) {
    (void)c;
    jv *d = jarg(a, 0, "default");
    jv dflt = d ? *d : jv_float(0.0);
    switch (v.t) {
    case JV_INT: return jv_float((double)v.u.i);
    case JV_BOOL: return jv_float(v.u.b);
    case JV_FLOAT: return v;
    case JV_STR: {
        double f;
        if (parse_py_float(v.u.s.p, v.u.s.n, &f)) return jv_float(f);
        return dflt;
    }
    default: return dflt;
    }
}

static jv f_round(jctx *c, jv v, jargs *a) {
    jv *pr = jarg(a, 0, "precision");
    jv *me = jarg(a, 1, "method");
    int64_t prec = (pr && pr->t == JV_INT) ? pr->u.i : 0;
    double x;
    if (v.t == JV_INT) x = (double)v.u.i;
    else if (v.t == JV_FLOAT) x = v.u.f;
    else if (v.t == JV_BOOL) x = v.u.b;
    else jinja_raise(c, JE_TYPE, "round() needs a number, got %s", jv_type_name(v));
    bool floor_m = me && jv_is_str(*me, "floor"), ceil_m = me && jv_is_str(*me, "ceil");
    if (me && !floor_m && !ceil_m && !jv_is_str(*me, "common"))
        jinja_raise(c, JE_RUNTIME, "method must be common, ceil or floor");
    double m = pow(10.0, (double)prec);
    if (floor_m) return jv_float(floor(x * m) / m);
    if (ceil_m) return jv_float(ceil(x * m) / m);
    /* Python's round(): an int stays an int; floats round the exact binary
     * value half-to-even, which printf's correctly rounded %.*f gives. */
    if (v.t != JV_FLOAT) {
        if (prec >= 0) return jv_int(v.t == JV_INT ? v.u.i : v.u.b);
        double y = nearbyint(x * m) / m;
        return jv_int((int64_t)y);
    }
    if (!isfinite(x)) return v;
    if (prec >= 0 && prec <= 300) {
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", (int)prec, x);
        return jv_float(strtod(buf, NULL));
    }
    return jv_float(nearbyint(x * m) / m);
}

static jv f_abs(jctx *c, jv v, jargs *a) {
    (void)a;
    if (v.t == JV_INT) return jv_int(v.u.i < 0 ? -v.u.i : v.u.i);
    if (v.t == JV_FLOAT) return jv_float(fabs(v.u.f));
    if (v.t == JV_BOOL) return jv_int(v.u.b);
    jinja_raise(c, JE_TYPE, "bad operand type for abs(): '%s'", jv_type_name(v));
}

/* ----------------------------------------------------------------- table */
static const struct { const char *name; jfilter_fn fn; } FILTERS[] = {
    {"tojson", f_tojson}, {"trim", f_trim}, {"length", f_length}, {"count", f_length},
    {"default", f_default}, {"d", f_default}, {"join", f_join}, {"map", f_map}, {"select", f_select},
    {"reject", f_reject}, {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr}, {"first", f_first},
    {"last", f_last}, {"list", f_list}, {"string", f_string}, {"int", f_int}, {"float", f_float},
    {"round", f_round}, {"indent", f_indent}, {"replace", f_replace}, {"safe", f_safe}, {"unique", f_unique},
    {"dictsort", f_dictsort}, {"upper", f_upper}, {"lower", f_lower}, {"title", f_title},
    {"capitalize", f_capitalize}, {"items", f_items}, {"sort", f_sort}, {"min", f_min}, {"max", f_max},
    {"sum", f_sum}, {"reverse", f_reverse}, {"abs", f_abs}, {"attr", f_attr}, {"escape", f_escape},
    {"e", f_escape}, {"forceescape", f_forceescape}, {"format", f_format}, {"wordcount", f_wordcount},
    {"center", f_center},
};

jfilter_fn jinja_find_filter(const char *name) {
    for (size_t i = 0; i < sizeof FILTERS / sizeof FILTERS[0]; i++)
        if (strcmp(FILTERS[i].name, name) == 0) return FILTERS[i].fn;
    return NULL;
}

jv jinja_apply_filter(jctx *c, const char *name, jv val, jargs *a) {
    jfilter_fn fn = jinja_find_filter(name);
    if (!fn) jinja_raise(c, JE_RUNTIME, "No filter named '%s'.", name);
    return fn(c, val, a);
}
