/* jinja_builtins.c: Jinja tests (`is defined`, `is string`, ...), the Python
 * methods templates call on strings, dicts and lists (str.strip, str.split,
 * dict.items, dict.get, ...), and the globals (range, namespace, dict,
 * raise_exception, strftime_now). Methods that would mutate a list or dict
 * raise SecurityError, as jinja2's ImmutableSandboxedEnvironment does. */
#include "chat/jinja.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

jv *jarg(jargs *a, int i, const char *name) {
    if (i >= 0 && i < a->npos) return &a->pos[i];
    if (name)
        for (int k = 0; k < a->nkw; k++)
            if (strcmp(a->kwn[k], name) == 0) return &a->kwv[k];
    return NULL;
}

void jargs_check_max(jctx *c, jargs *a, int max_pos, const char *fname) {
    if (a->npos > max_pos)
        jinja_raise(c, JE_TYPE, "%s() takes at most %d argument(s) (%d given)", fname, max_pos, a->npos);
}

static jv str_arg(jctx *c, jargs *a, int i, const char *name, const char *fname) {
    jv *v = jarg(a, i, name);
    if (!v) jinja_raise(c, JE_TYPE, "%s() missing required argument", fname);
    if (v->t != JV_STR) jinja_raise(c, JE_TYPE, "%s() argument must be str, not %s", fname, jv_type_name(*v));
    return *v;
}

static jv mkstr(jbuf *b) { return b->n ? jb_take(b) : jv_str_ref("", 0); }

/* ------------------------------------------------------------------ tests */
static bool t_defined(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t != JV_UNDEF; }
static bool t_undefined(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_UNDEF; }
static bool t_none(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_NONE; }
static bool t_boolean(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_BOOL; }
static bool t_true(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_BOOL && v.u.b; }
static bool t_false(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_BOOL && !v.u.b; }
static bool t_integer(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_INT; }
static bool t_float(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_FLOAT; }
static bool t_number(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }
static bool t_string(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_STR; }
static bool t_mapping(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_DICT; }
static bool t_iterable(jctx *c, jv v, jargs *a) {
    (void)c; (void)a;
    return v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
}
static bool t_sequence(jctx *c, jv v, jargs *a) {
    (void)c; (void)a;
    return v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
}
static bool t_callable(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_FUNC; }
static jv need1(jctx *c, jargs *a, const char *t) {
    jv *x = jarg(a, 0, NULL);
    if (!x) jinja_raise(c, JE_TYPE, "test '%s' needs an argument", t);
    return *x;
}
static bool t_eq(jctx *c, jv v, jargs *a) { return jv_eq(v, need1(c, a, "eq")); }
static bool t_ne(jctx *c, jv v, jargs *a) { return !jv_eq(v, need1(c, a, "ne")); }
static bool t_lt(jctx *c, jv v, jargs *a) { return jv_cmp(c, v, need1(c, a, "lt"), false) < 0; }
static bool t_le(jctx *c, jv v, jargs *a) { return jv_cmp(c, v, need1(c, a, "le"), false) <= 0; }
static bool t_gt(jctx *c, jv v, jargs *a) { return jv_cmp(c, v, need1(c, a, "gt"), false) > 0; }
static bool t_ge(jctx *c, jv v, jargs *a) { return jv_cmp(c, v, need1(c, a, "ge"), false) >= 0; }
static bool t_in(jctx *c, jv v, jargs *a) {
    jv seq = need1(c, a, "in");
    jv r = jv_list(c, 2);
    (void)r;
    switch (seq.t) {
    case JV_STR:
        if (v.t != JV_STR) jinja_raise(c, JE_TYPE, "'in <string>' requires string as left operand");
        if (v.u.s.n == 0) return true;
        for (size_t i = 0; i + v.u.s.n <= seq.u.s.n; i++)
            if (memcmp(seq.u.s.p + i, v.u.s.p, v.u.s.n) == 0) return true;
        return false;
    case JV_LIST:
        for (size_t i = 0; i < seq.u.l->n; i++)
            if (jv_eq(seq.u.l->v[i], v)) return true;
        return false;
    case JV_DICT: return jd_getv(c, seq.u.d, v) != NULL;
    case JV_UNDEF: return false;
    default: jinja_raise(c, JE_TYPE, "argument of type '%s' is not iterable", jv_type_name(seq));
    }
}
static bool t_sameas(jctx *c, jv v, jargs *a) {
    jv o = need1(c, a, "sameas");
    if (v.t != o.t) return false;
    switch (v.t) {
    case JV_NONE: case JV_UNDEF: return true;
    case JV_BOOL: return v.u.b == o.u.b;
    case JV_LIST: return v.u.l == o.u.l;
    case JV_DICT: case JV_NS: return v.u.d == o.u.d;
    default: return jv_eq(v, o);
    }
}
static bool t_odd(jctx *c, jv v, jargs *a) {
    (void)a;
    if (v.t != JV_INT) jinja_raise(c, JE_TYPE, "odd test needs an integer");
    return (v.u.i % 2) != 0;
}
static bool t_even(jctx *c, jv v, jargs *a) {
    (void)a;
    if (v.t != JV_INT) jinja_raise(c, JE_TYPE, "even test needs an integer");
    return (v.u.i % 2) == 0;
}
static bool t_divisibleby(jctx *c, jv v, jargs *a) {
    jv d = need1(c, a, "divisibleby");
    if (v.t != JV_INT || d.t != JV_INT) jinja_raise(c, JE_TYPE, "divisibleby needs integers");
    if (d.u.i == 0) jinja_raise(c, JE_ZERODIV, "integer division or modulo by zero");
    return v.u.i % d.u.i == 0;
}
static bool t_lower(jctx *c, jv v, jargs *a) {
    (void)c; (void)a;
    if (v.t != JV_STR) return false;
    bool cased = false;
    for (size_t i = 0; i < v.u.s.n;) {
        size_t adv;
        uint32_t cp = u8_decode(v.u.s.p + i, v.u.s.n - i, &adv);
        i += adv;
        if ((uint32_t)utf8proc_tolower((int32_t)cp) != cp) return false;
        if ((uint32_t)utf8proc_toupper((int32_t)cp) != cp) cased = true;
    }
    return cased;
}
static bool t_upper(jctx *c, jv v, jargs *a) {
    (void)c; (void)a;
    if (v.t != JV_STR) return false;
    bool cased = false;
    for (size_t i = 0; i < v.u.s.n;) {
        size_t adv;
        uint32_t cp = u8_decode(v.u.s.p + i, v.u.s.n - i, &adv);
        i += adv;
        if ((uint32_t)utf8proc_toupper((int32_t)cp) != cp) return false;
        if ((uint32_t)utf8proc_tolower((int32_t)cp) != cp) cased = true;
    }
    return cased;
}
static bool t_filter(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_STR && jinja_find_filter(v.u.s.p) != NULL; }
static bool t_test(jctx *c, jv v, jargs *a) { (void)c; (void)a; return v.t == JV_STR && jinja_find_test(v.u.s.p) != NULL; }
static bool t_escaped(jctx *c, jv v, jargs *a) { (void)c; (void)a; (void)v; return false; }

static const struct { const char *name; jtest_fn fn; } TESTS[] = {
    {"defined", t_defined}, {"undefined", t_undefined}, {"none", t_none}, {"boolean", t_boolean},
    {"true", t_true}, {"false", t_false}, {"integer", t_integer}, {"float", t_float},
    {"number", t_number}, {"string", t_string}, {"mapping", t_mapping}, {"iterable", t_iterable},
    {"sequence", t_sequence}, {"callable", t_callable}, {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq},
    {"ne", t_ne}, {"!=", t_ne}, {"lt", t_lt}, {"lessthan", t_lt}, {"<", t_lt}, {"le", t_le}, {"<=", t_le},
    {"gt", t_gt}, {"greaterthan", t_gt}, {">", t_gt}, {"ge", t_ge}, {">=", t_ge}, {"in", t_in},
    {"sameas", t_sameas}, {"odd", t_odd}, {"even", t_even}, {"divisibleby", t_divisibleby},
    {"lower", t_lower}, {"upper", t_upper}, {"filter", t_filter}, {"test", t_test}, {"escaped", t_escaped},
};

jtest_fn jinja_find_test(const char *name) {
    for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++)
        if (strcmp(TESTS[i].name, name) == 0) return TESTS[i].fn;
    return NULL;
}

bool jinja_apply_test(jctx *c, const char *name, jv val, jargs *a) {
    jtest_fn fn = jinja_find_test(name);
    if (!fn) jinja_raise(c, JE_RUNTIME, "No test named '%s'.", name);
    return fn(c, val, a);
}

/* ------------------------------------------------------- string methods */
static bool in_chars(jv chars, uint32_t cp) {
    for (size_t i = 0; i < chars.u.s.n;) {
        size_t adv;
        if (u8_decode(chars.u.s.p + i, chars.u.s.n - i, &adv) == cp) return true;
        i += adv;
    }
    return false;
}

/* Strip code points (whitespace when chars is NULL/none) from the ends. */
static jv do_strip(jctx *c, jv s, jv *chars, bool left, bool right) {
    bool ws = !chars || chars->t == JV_NONE || chars->t == JV_UNDEF;
    if (!ws && chars->t != JV_STR) jinja_raise(c, JE_TYPE, "strip arg must be None or str");
    const char *p = s.u.s.p;
    size_t b = 0, e = s.u.s.n;
    if (left)
        while (b < e) {
            size_t adv;
            uint32_t cp = u8_decode(p + b, e - b, &adv);
            if (ws ? !u8_is_space(cp) : !in_chars(*chars, cp)) break;
            b += adv;
        }
    if (right)
        while (e > b) {
            size_t st = e - 1;
            while (st > b && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
            size_t adv;
            uint32_t cp = u8_decode(p + st, e - st, &adv);
            if (ws ? !u8_is_space(cp) : !in_chars(*chars, cp)) break;
            e = st;
        }
    return jv_str_ref(p + b, e - b);
}

jv jinja_str_strip(jctx *c, jv s, jv *chars, bool left, bool right) { return do_strip(c, s, chars, left, right); }

static jv m_strip(jctx *c, jv s, jargs *a) { return do_strip(c, s, jarg(a, 0, "chars"), true, true); }
static jv m_lstrip(jctx *c, jv s, jargs *a) { return do_strip(c, s, jarg(a, 0, "chars"), true, false); }
static jv m_rstrip(jctx *c, jv s, jargs *a) { return do_strip(c, s, jarg(a, 0, "chars"), false, true); }

static const char *find_bytes(const char *h, size_t hn, const char *n, size_t nn) {
    if (nn == 0) return h;
    if (nn > hn) return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == n[0] && memcmp(h + i, n, nn) == 0) return h + i;
    return NULL;
}
static const char *rfind_bytes(const char *h, size_t hn, const char *n, size_t nn) {
    if (nn > hn) return NULL;
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (memcmp(h + i, n, nn) == 0) return h + i;
    return NULL;
}

jv jinja_str_split(jctx *c, jv s, jv *sepv, int64_t maxsplit, bool from_right) {
    jv out = jv_list(c, 4);
    const char *p = s.u.s.p;
    size_t n = s.u.s.n;
    if (!sepv || sepv->t == JV_NONE || sepv->t == JV_UNDEF) {
        /* whitespace runs; leading/trailing whitespace ignored */
        if (!from_right) {
            size_t i = 0;
            int64_t splits = 0;
            while (i < n) {
                size_t adv;
                while (i < n && u8_is_space(u8_decode(p + i, n - i, &adv))) i += adv;
                if (i >= n) break;
                if (maxsplit >= 0 && splits >= maxsplit) {
                    size_t e = n;
                    jv rest = jv_str_ref(p + i, e - i);
                    rest = do_strip(c, rest, NULL, false, true);
                    jl_push(c, out.u.l, rest);
                    break;
                }
                size_t st = i;
                while (i < n && !u8_is_space(u8_decode(p + i, n - i, &adv))) i += adv;
                jl_push(c, out.u.l, jv_str_ref(p + st, i - st));
                splits++;
            }
            return out;
        }
        /* rsplit(None): split all from the right, honour maxsplit */
        jv all = jinja_str_split(c, s, NULL, -1, false);
        if (maxsplit < 0 || (int64_t)all.u.l->n <= maxsplit + 1) return all;
        size_t keep = (size_t)maxsplit;
        size_t first_n = all.u.l->n - keep;
        jv lastpart = all.u.l->v[first_n - 1];
        size_t endoff = (size_t)(lastpart.u.s.p - p) + lastpart.u.s.n;
        jv head = do_strip(c, jv_str_ref(p, endoff), NULL, true, false);
        jl_push(c, out.u.l, head);
        for (size_t i = first_n; i < all.u.l->n; i++) jl_push(c, out.u.l, all.u.l->v[i]);
        return out;
    }
    if (sepv->t != JV_STR) jinja_raise(c, JE_TYPE, "must be str or None, not %s", jv_type_name(*sepv));
    const char *sep = sepv->u.s.p;
    size_t sn = sepv->u.s.n;
    if (sn == 0) jinja_raise(c, JE_VALUE, "empty separator");
    if (!from_right) {
        size_t i = 0;
        int64_t splits = 0;
        for (;;) {
            const char *h = (maxsplit < 0 || splits < maxsplit) ? find_bytes(p + i, n - i, sep, sn) : NULL;
            if (!h) {
                jl_push(c, out.u.l, jv_str_ref(p + i, n - i));
                break;
            }
            jl_push(c, out.u.l, jv_str_ref(p + i, (size_t)(h - (p + i))));
            i = (size_t)(h - p) + sn;
            splits++;
        }
        return out;
    }
    /* rsplit with separator: collect from the right, then reverse */
    jv rev = jv_list(c, 4);
    size_t e = n;
    int64_t splits = 0;
    for (;;) {
        const char *h = (maxsplit < 0 || splits < maxsplit) ? rfind_bytes(p, e, sep, sn) : NULL;
        if (!h) {
            jl_push(c, rev.u.l, jv_str_ref(p, e));
            break;
        }
        size_t st = (size_t)(h - p) + sn;
        jl_push(c, rev.u.l, jv_str_ref(p + st, e - st));
        e = (size_t)(h - p);
        splits++;
    }
    for (size_t i = rev.u.l->n; i-- > 0;) jl_push(c, out.u.l, rev.u.l->v[i]);
    return out;
}

static int64_t int_arg(jctx *c, jargs *a, int i, const char *name, int64_t dflt) {
    jv *v = jarg(a, i, name);
    if (!v || v->t == JV_NONE) return dflt;
    if (v->t == JV_INT) return v->u.i;
    if (v->t == JV_BOOL) return v->u.b;
    jinja_raise(c, JE_TYPE, "an integer is required, not %s", jv_type_name(*v));
}

static jv m_split(jctx *c, jv s, jargs *a) {
    return jinja_str_split(c, s, jarg(a, 0, "sep"), int_arg(c, a, 1, "maxsplit", -1), false);
}
static jv m_rsplit(jctx *c, jv s, jargs *a) {
    return jinja_str_split(c, s, jarg(a, 0, "sep"), int_arg(c, a, 1, "maxsplit", -1), true);
}

static jv m_splitlines(jctx *c, jv s, jargs *a) {
    bool keep = jarg(a, 0, "keepends") && jv_truthy(*jarg(a, 0, "keepends"));
    jv out = jv_list(c, 4);
    const char *p = s.u.s.p;
    size_t n = s.u.s.n, i = 0, st = 0;
    while (i < n) {
        size_t adv;
        uint32_t cp = u8_decode(p + i, n - i, &adv);
        bool brk = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) ||
                   cp == 0x85 || cp == 0x2028 || cp == 0x2029;
        if (!brk) { i += adv; continue; }
        size_t eol = i;
        i += adv;
        if (cp == '\r' && i < n && p[i] == '\n') i++;
        jl_push(c, out.u.l, jv_str_ref(p + st, (keep ? i : eol) - st));
        st = i;
    }
    if (st < n) jl_push(c, out.u.l, jv_str_ref(p + st, n - st));
    return out;
}

jv jinja_str_replace(jctx *c, jv s, jv old, jv nw, int64_t count) {
    jbuf b = {0};
    b.c = c;
    const char *p = s.u.s.p;
    size_t n = s.u.s.n;
    if (old.u.s.n == 0) {
        size_t i = 0;
        int64_t done = 0;
        while (i <= n) {
            if (count < 0 || done < count) { jb_put(&b, nw.u.s.p, nw.u.s.n); done++; }
            if (i == n) break;
            size_t adv;
            u8_decode(p + i, n - i, &adv);
            jb_put(&b, p + i, adv);
            i += adv;
        }
        return mkstr(&b);
    }
    size_t i = 0;
    int64_t done = 0;
    while (i < n) {
        const char *h = (count < 0 || done < count) ? find_bytes(p + i, n - i, old.u.s.p, old.u.s.n) : NULL;
        if (!h) break;
        jb_put(&b, p + i, (size_t)(h - (p + i)));
        jb_put(&b, nw.u.s.p, nw.u.s.n);
        i = (size_t)(h - p) + old.u.s.n;
        done++;
    }
    jb_put(&b, p + i, n - i);
    return mkstr(&b);
}

static jv m_replace(jctx *c, jv s, jargs *a) {
    jv old = str_arg(c, a, 0, "old", "replace"), nw = str_arg(c, a, 1, "new", "replace");
    return jinja_str_replace(c, s, old, nw, int_arg(c, a, 2, "count", -1));
}

static bool affix_match(jctx *c, jv s, jv *arg, bool suffix, const char *fname) {
    if (!arg) jinja_raise(c, JE_TYPE, "%s() takes at least 1 argument (0 given)", fname);
    if (arg->t == JV_LIST && arg->u.l->tuple) {
        for (size_t i = 0; i < arg->u.l->n; i++)
            if (affix_match(c, s, &arg->u.l->v[i], suffix, fname)) return true;
        return false;
    }
    if (arg->t != JV_STR)
        jinja_raise(c, JE_TYPE, "%s first arg must be str or a tuple of str, not %s", fname, jv_type_name(*arg));
    if (arg->u.s.n > s.u.s.n) return false;
    const char *at = suffix ? s.u.s.p + s.u.s.n - arg->u.s.n : s.u.s.p;
    return memcmp(at, arg->u.s.p, arg->u.s.n) == 0;
}
static jv m_startswith(jctx *c, jv s, jargs *a) { return jv_bool(affix_match(c, s, jarg(a, 0, NULL), false, "startswith")); }
static jv m_endswith(jctx *c, jv s, jargs *a) { return jv_bool(affix_match(c, s, jarg(a, 0, NULL), true, "endswith")); }

jv jinja_str_case(jctx *c, jv s, int mode) {   /* 0 lower, 1 upper, 2 capitalize, 3 str.title, 4 swapcase */
    jbuf b = {0};
    b.c = c;
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < s.u.s.n;) {
        size_t adv;
        uint32_t cp = u8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
        i += adv;
        uint32_t o = cp;
        switch (mode) {
        case 0: o = (uint32_t)utf8proc_tolower((int32_t)cp); break;
        case 1: o = (uint32_t)utf8proc_toupper((int32_t)cp); break;
        case 2: o = first ? (uint32_t)utf8proc_toupper((int32_t)cp) : (uint32_t)utf8proc_tolower((int32_t)cp); break;
        case 3: {
            o = prev_cased ? (uint32_t)utf8proc_tolower((int32_t)cp) : (uint32_t)utf8proc_toupper((int32_t)cp);
            utf8proc_category_t cat = utf8proc_category((int32_t)cp);
            prev_cased = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
            break;
        }
        case 4: {
            uint32_t up = (uint32_t)utf8proc_toupper((int32_t)cp);
            o = up != cp ? up : (uint32_t)utf8proc_tolower((int32_t)cp);
            break;
        }
        }
        first = false;
        u8_encode(&b, o);
    }
    return mkstr(&b);
}
static jv m_lower(jctx *c, jv s, jargs *a) { (void)a; return jinja_str_case(c, s, 0); }
static jv m_upper(jctx *c, jv s, jargs *a) { (void)a; return jinja_str_case(c, s, 1); }
static jv m_capitalize(jctx *c, jv s, jargs *a) { (void)a; return jinja_str_case(c, s, 2); }
static jv m_title(jctx *c, jv s, jargs *a) { (void)a; return jinja_str_case(c, s, 3); }
static jv m_swapcase(jctx *c, jv s, jargs *a) { (void)a; return jinja_str_case(c, s, 4); }

static jv m_join(jctx *c, jv s, jargs *a) {
    jv *it = jarg(a, 0, NULL);
    if (!it) jinja_raise(c, JE_TYPE, "join() takes exactly one argument (0 given)");
    jlist *l = jinja_iter(c, *it);
    jbuf b = {0};
    b.c = c;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].t != JV_STR)
            jinja_raise(c, JE_TYPE, "sequence item %zu: expected str instance, %s found", i, jv_type_name(l->v[i]));
        if (i) jb_put(&b, s.u.s.p, s.u.s.n);
        jb_put(&b, l->v[i].u.s.p, l->v[i].u.s.n);
    }
    return mkstr(&b);
}

static int64_t cp_index(jv s, const char *at) { return (int64_t)u8_len(s.u.s.p, (size_t)(at - s.u.s.p)); }
static jv m_find(jctx *c, jv s, jargs *a) {
    jv sub = str_arg(c, a, 0, NULL, "find");
    const char *h = find_bytes(s.u.s.p, s.u.s.n, sub.u.s.p, sub.u.s.n);
    return jv_int(h ? cp_index(s, h) : -1);
}
static jv m_rfind(jctx *c, jv s, jargs *a) {
    jv sub = str_arg(c, a, 0, NULL, "rfind");
    const char *h = rfind_bytes(s.u.s.p, s.u.s.n, sub.u.s.p, sub.u.s.n);
    return jv_int(h ? cp_index(s, h) : -1);
}
static jv m_index(jctx *c, jv s, jargs *a) {
    jv r = m_find(c, s, a);
    if (r.u.i < 0) jinja_raise(c, JE_VALUE, "substring not found");
    return r;
}
static jv m_count(jctx *c, jv s, jargs *a) {
    jv sub = str_arg(c, a, 0, NULL, "count");
    if (sub.u.s.n == 0) return jv_int((int64_t)u8_len(s.u.s.p, s.u.s.n) + 1);
    int64_t cnt = 0;
    size_t i = 0;
    const char *h;
    while ((h = find_bytes(s.u.s.p + i, s.u.s.n - i, sub.u.s.p, sub.u.s.n))) {
        cnt++;
        i = (size_t)(h - s.u.s.p) + sub.u.s.n;
    }
    return jv_int(cnt);
}

static jv char_class(jv s, int kind) {
    if (s.u.s.n == 0) return jv_bool(false);
    for (size_t i = 0; i < s.u.s.n;) {
        size_t adv;
        uint32_t cp = u8_decode(s.u.s.p + i, s.u.s.n - i, &adv);
        i += adv;
        utf8proc_category_t cat = utf8proc_category((int32_t)cp);
        bool alpha = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        bool digit = cat == UTF8PROC_CATEGORY_ND;
        bool ok = kind == 0 ? digit : kind == 1 ? alpha : kind == 2 ? (alpha || digit) : u8_is_space(cp);
        if (!ok) return jv_bool(false);
    }
    return jv_bool(true);
}
static jv m_isdigit(jctx *c, jv s, jargs *a) { (void)c; (void)a; return char_class(s, 0); }
static jv m_isalpha(jctx *c, jv s, jargs *a) { (void)c; (void)a; return char_class(s, 1); }
static jv m_isalnum(jctx *c, jv s, jargs *a) { (void)c; (void)a; return char_class(s, 2); }
static jv m_isspace(jctx *c, jv s, jargs *a) { (void)c; (void)a; return char_class(s, 3); }
static jv m_islower(jctx *c, jv s, jargs *a) { return jv_bool(t_lower(c, s, a)); }
static jv m_isupper(jctx *c, jv s, jargs *a) { return jv_bool(t_upper(c, s, a)); }

static jv m_removeprefix(jctx *c, jv s, jargs *a) {
    jv p = str_arg(c, a, 0, NULL, "removeprefix");
    if (p.u.s.n <= s.u.s.n && memcmp(s.u.s.p, p.u.s.p, p.u.s.n) == 0)
        return jv_str_ref(s.u.s.p + p.u.s.n, s.u.s.n - p.u.s.n);
    return s;
}
static jv m_removesuffix(jctx *c, jv s, jargs *a) {
    jv p = str_arg(c, a, 0, NULL, "removesuffix");
    if (p.u.s.n && p.u.s.n <= s.u.s.n && memcmp(s.u.s.p + s.u.s.n - p.u.s.n, p.u.s.p, p.u.s.n) == 0)
        return jv_str_ref(s.u.s.p, s.u.s.n - p.u.s.n);
    return s;
}

/* str.format: {} {0} {name} and {{ }}; format specs are not supported. */
static jv m_format(jctx *c, jv s, jargs *a) {
    jbuf b = {0};
    b.c = c;
    const char *p = s.u.s.p;
    size_t n = s.u.s.n;
    int auto_idx = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '{' && i + 1 < n && p[i + 1] == '{') { jb_putc(&b, '{'); i++; continue; }
        if (ch == '}' && i + 1 < n && p[i + 1] == '}') { jb_putc(&b, '}'); i++; continue; }
        if (ch != '{') { jb_putc(&b, ch); continue; }
        size_t e = i + 1;
        while (e < n && p[e] != '}') e++;
        if (e >= n) jinja_raise(c, JE_RUNTIME, "Single '{' encountered in format string");
        const char *f = p + i + 1;
        size_t fl = e - i - 1;
        for (size_t k = 0; k < fl; k++)
            if (f[k] == ':' || f[k] == '!') jinja_raise(c, JE_RUNTIME, "format specs are not supported");
        jv *v;
        if (fl == 0) v = jarg(a, auto_idx++, NULL);
        else if (f[0] >= '0' && f[0] <= '9') v = jarg(a, (int)strtol(f, NULL, 10), NULL);
        else {
            v = NULL;
            for (int k = 0; k < a->nkw; k++)
                if (strlen(a->kwn[k]) == fl && memcmp(a->kwn[k], f, fl) == 0) v = &a->kwv[k];
        }
        if (!v) jinja_raise(c, JE_INDEX, "Replacement index out of range for format()");
        jv_write_str(c, &b, *v);
        i = e;
    }
    return mkstr(&b);
}

/* --------------------------------------------------- dict / list methods */
static jv m_items(jctx *c, jv d, jargs *a) {
    (void)a;
    jv out = jv_list(c, d.u.d->n);
    for (size_t i = 0; i < d.u.d->n; i++) {
        jv t = jv_list(c, 2);
        t.u.l->tuple = true;
        jl_push(c, t.u.l, d.u.d->k[i]);
        jl_push(c, t.u.l, d.u.d->v[i]);
        jl_push(c, out.u.l, t);
    }
    return out;
}
static jv m_keys(jctx *c, jv d, jargs *a) {
    (void)a;
    jv out = jv_list(c, d.u.d->n);
    for (size_t i = 0; i < d.u.d->n; i++) jl_push(c, out.u.l, d.u.d->k[i]);
    return out;
}
static jv m_values(jctx *c, jv d, jargs *a) {
    (void)a;
    jv out = jv_list(c, d.u.d->n);
    for (size_t i = 0; i < d.u.d->n; i++) jl_push(c, out.u.l, d.u.d->v[i]);
    return out;
}
static jv m_get(jctx *c, jv d, jargs *a) {
    jv *k = jarg(a, 0, NULL);
    if (!k) jinja_raise(c, JE_TYPE, "get expected at least 1 argument, got 0");
    jv *v = jd_getv(c, d.u.d, *k);
    if (v) return *v;
    jv *dflt = jarg(a, 1, NULL);
    return dflt ? *dflt : jv_none();
}
static jv m_dict_copy(jctx *c, jv d, jargs *a) {
    (void)a;
    jv out = jv_dict(c, d.u.d->n);
    for (size_t i = 0; i < d.u.d->n; i++) jd_set(c, out.u.d, d.u.d->k[i], d.u.d->v[i]);
    return out;
}
static jv m_list_index(jctx *c, jv l, jargs *a) {
    jv *x = jarg(a, 0, NULL);
    if (!x) jinja_raise(c, JE_TYPE, "index expected 1 argument");
    for (size_t i = 0; i < l.u.l->n; i++)
        if (jv_eq(l.u.l->v[i], *x)) return jv_int((int64_t)i);
    jinja_raise(c, JE_VALUE, "value is not in list");
}
static jv m_list_count(jctx *c, jv l, jargs *a) {
    jv *x = jarg(a, 0, NULL);
    if (!x) jinja_raise(c, JE_TYPE, "count expected 1 argument");
    int64_t n = 0;
    for (size_t i = 0; i < l.u.l->n; i++) n += jv_eq(l.u.l->v[i], *x);
    return jv_int(n);
}
static jv m_list_copy(jctx *c, jv l, jargs *a) {
    (void)a;
    jv out = jv_list(c, l.u.l->n);
    for (size_t i = 0; i < l.u.l->n; i++) jl_push(c, out.u.l, l.u.l->v[i]);
    return out;
}

typedef struct mentry { const char *name; jnative_fn fn; } mentry;
static const mentry STR_METHODS[] = {
    {"strip", m_strip}, {"lstrip", m_lstrip}, {"rstrip", m_rstrip}, {"split", m_split}, {"rsplit", m_rsplit},
    {"splitlines", m_splitlines}, {"replace", m_replace}, {"startswith", m_startswith},
    {"endswith", m_endswith}, {"lower", m_lower}, {"upper", m_upper}, {"capitalize", m_capitalize},
    {"title", m_title}, {"swapcase", m_swapcase}, {"join", m_join}, {"find", m_find}, {"rfind", m_rfind},
    {"index", m_index}, {"count", m_count}, {"isdigit", m_isdigit}, {"isnumeric", m_isdigit},
    {"isdecimal", m_isdigit}, {"isalpha", m_isalpha}, {"isalnum", m_isalnum}, {"isspace", m_isspace},
    {"islower", m_islower}, {"isupper", m_isupper}, {"removeprefix", m_removeprefix},
    {"removesuffix", m_removesuffix}, {"format", m_format}, {NULL, NULL}};
static const mentry DICT_METHODS[] = {
    {"items", m_items}, {"keys", m_keys}, {"values", m_values}, {"get", m_get}, {"copy", m_dict_copy},
    {NULL, NULL}};
static const mentry LIST_METHODS[] = {
    {"index", m_list_index}, {"count", m_list_count}, {"copy", m_list_copy}, {NULL, NULL}};
static const char *const DICT_UNSAFE[] = {"pop", "popitem", "update", "setdefault", "clear", NULL};
static const char *const LIST_UNSAFE[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort",
                                          "reverse", NULL};

static bool name_is(const char *a, const char *name, size_t n) { return strlen(a) == n && memcmp(a, name, n) == 0; }

jv jinja_method(jctx *c, jv obj, const char *name, size_t n, bool *found) {
    const mentry *tab = obj.t == JV_STR ? STR_METHODS : obj.t == JV_DICT ? DICT_METHODS
                      : obj.t == JV_LIST ? LIST_METHODS : NULL;
    const char *const *unsafe = obj.t == JV_DICT ? DICT_UNSAFE : obj.t == JV_LIST ? LIST_UNSAFE : NULL;
    *found = false;
    if (!tab) return jv_undef();
    for (int i = 0; tab[i].name; i++)
        if (name_is(tab[i].name, name, n)) {
            *found = true;
            return jv_func_native(c, tab[i].name, tab[i].fn, obj);
        }
    if (unsafe)
        for (int i = 0; unsafe[i]; i++)
            if (name_is(unsafe[i], name, n))
                jinja_raise(c, JE_SECURITY, "access to attribute '%s' of '%s' object is unsafe.", unsafe[i],
                            jv_type_name(obj));
    return jv_undef();
}

/* ---------------------------------------------------------------- globals */
static jv g_range(jctx *c, jv self, jargs *a) {
    (void)self;
    int64_t start = 0, stop, step = 1;
    if (a->npos == 1) stop = int_arg(c, a, 0, NULL, 0);
    else if (a->npos >= 2) {
        start = int_arg(c, a, 0, NULL, 0);
        stop = int_arg(c, a, 1, NULL, 0);
        step = int_arg(c, a, 2, NULL, 1);
    } else jinja_raise(c, JE_TYPE, "range expected at least 1 argument, got 0");
    if (step == 0) jinja_raise(c, JE_VALUE, "range() arg 3 must not be zero");
    int64_t cnt = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                           : (start > stop ? (start - stop - step - 1) / (-step) : 0);
    if (cnt > 100000) jinja_raise(c, JE_RUNTIME, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    jv out = jv_list(c, (size_t)cnt);
    for (int64_t i = 0; i < cnt; i++) jl_push(c, out.u.l, jv_int(start + i * step));
    return out;
}

static jv g_namespace(jctx *c, jv self, jargs *a) {
    (void)self;
    jv ns = jv_dict(c, 8);
    for (int i = 0; i < a->npos; i++) {
        if (a->pos[i].t != JV_DICT) jinja_raise(c, JE_TYPE, "namespace() positional argument must be a dict");
        for (size_t k = 0; k < a->pos[i].u.d->n; k++) jd_set(c, ns.u.d, a->pos[i].u.d->k[k], a->pos[i].u.d->v[k]);
    }
    for (int k = 0; k < a->nkw; k++) jd_set(c, ns.u.d, jv_cstr(c, a->kwn[k]), a->kwv[k]);
    ns.t = JV_NS;
    return ns;
}

static jv g_dict(jctx *c, jv self, jargs *a) {
    jv d = g_namespace(c, self, a);
    d.t = JV_DICT;
    return d;
}

static jv g_raise(jctx *c, jv self, jargs *a) {
    (void)self;
    jv *m = jarg(a, 0, NULL);
    jv s = m ? jv_to_str(c, *m) : jv_str_ref("", 0);
    jinja_raise(c, JE_TEMPLATE, "%.*s", (int)s.u.s.n, s.u.s.p);
}

static jv g_strftime_now(jctx *c, jv self, jargs *a) {
    (void)self;
    jv fmt = str_arg(c, a, 0, "format", "strftime_now");
    /* The fixed clock of the reference environment: 2026-07-26 10:00:00, a Sunday. */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (c->real_clock) {
        time_t now = time(NULL);
        localtime_r(&now, &tm);
    } else {
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 6;
    tm.tm_mday = 26;
    tm.tm_hour = 10;
    tm.tm_wday = 0;
    tm.tm_yday = 206;
    tm.tm_isdst = 0;
    }
    char f[256], out[512];
    if (fmt.u.s.n >= sizeof f) jinja_raise(c, JE_RUNTIME, "strftime format too long");
    memcpy(f, fmt.u.s.p, fmt.u.s.n);
    f[fmt.u.s.n] = 0;
    size_t n = strftime(out, sizeof out, f, &tm);
    return jv_str(c, out, n);
}

void jinja_add_globals(jctx *c, jdict *g) {
    jd_set(c, g, jv_str_ref("range", 5), jv_func_native(c, "range", g_range, jv_none()));
    jd_set(c, g, jv_str_ref("namespace", 9), jv_func_native(c, "namespace", g_namespace, jv_none()));
    jd_set(c, g, jv_str_ref("dict", 4), jv_func_native(c, "dict", g_dict, jv_none()));
    jd_set(c, g, jv_str_ref("raise_exception", 15), jv_func_native(c, "raise_exception", g_raise, jv_none()));
    jd_set(c, g, jv_str_ref("strftime_now", 12), jv_func_native(c, "strftime_now", g_strftime_now, jv_none()));
}
