/* jinja_eval.c: the tree-walking interpreter. Scoping follows jinja2: a for
 * loop body gets a fresh frame per iteration (sets inside do not leak out or
 * into the next iteration), if blocks share their frame, macros run in a frame
 * whose parent is the frame they were defined in. Operators follow Python
 * (int/float promotion, str/list concatenation and repetition, floor
 * division and modulo with Python signs). Lenient undefined: printing,
 * truth-testing and iterating work; attribute access, calls and arithmetic on
 * it raise UndefinedError. */
#include "chat/jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 300
#define JINJA_MAX_STEPS 10000000   /* statements per render: bounds nested range() loops */

void jinja_raise(jctx *c, jerr_kind k, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (k == JE_TEMPLATE || !c->at) snprintf(c->err, sizeof c->err, "%s", msg);
    else snprintf(c->err, sizeof c->err, "line %d column %d: %s", c->at->line, c->at->col, msg);
    c->err_kind = k;
    longjmp(c->jb, 1);
}

void jinja_oom(jctx *c) {
    c->err_kind = JE_NOMEM;
    snprintf(c->err, sizeof c->err, "out of memory");
    longjmp(c->jb, 1);
}

static jframe *new_frame(jctx *c, jframe *parent) {
    jframe *f = ja_alloc(&c->arena, sizeof(jframe));
    if (!f) jinja_oom(c);
    f->parent = parent;
    return f;
}

static jv lookup(jctx *c, jframe *f, const char *name, size_t n) {
    for (; f; f = f->parent) {
        jv *v = jd_get(&f->vars, name, n);
        if (v) return *v;
    }
    (void)c;
    jv u = jv_undef();
    u.u.s.p = name;
    u.u.s.n = n;
    return u;
}

static void set_var(jctx *c, jframe *f, const char *name, size_t n, jv v) {
    jd_set(c, &f->vars, jv_str_ref(name, n), v);
}

static _Noreturn void raise_undef(jctx *c, jv u) {
    if (u.u.s.n) jinja_raise(c, JE_UNDEFINED, "'%.*s' is undefined", (int)u.u.s.n, u.u.s.p);
    jinja_raise(c, JE_UNDEFINED, "value is undefined");
}

static jv undef_named(const char *p, size_t n) {
    jv u = jv_undef();
    u.u.s.p = p;
    u.u.s.n = n;
    return u;
}

/* ------------------------------------------------------------ attributes */
jv jinja_getattr(jctx *c, jv obj, const char *name, size_t n) {
    bool found = false;
    switch (obj.t) {
    case JV_UNDEF: raise_undef(c, obj);
    case JV_DICT: {
        jv m = jinja_method(c, obj, name, n, &found);
        if (found) return m;
        jv *v = jd_get(obj.u.d, name, n);
        return v ? *v : undef_named(name, n);
    }
    case JV_NS: {
        jv *v = jd_get(obj.u.d, name, n);
        return v ? *v : undef_named(name, n);
    }
    case JV_STR: case JV_LIST: {
        jv m = jinja_method(c, obj, name, n, &found);
        if (found) return m;
        return undef_named(name, n);
    }
    default: return undef_named(name, n);
    }
}

static int64_t norm_index(int64_t i, int64_t len) { return i < 0 ? i + len : i; }

jv jinja_getitem(jctx *c, jv obj, jv key) {
    if (obj.t == JV_UNDEF) raise_undef(c, obj);
    if (key.t == JV_BOOL) key = jv_int(key.u.b);
    switch (obj.t) {
    case JV_DICT: case JV_NS: {
        jv *v = jd_getv(c, obj.u.d, key);
        if (v) return *v;
        if (key.t == JV_STR && obj.t == JV_DICT) {
            bool found = false;
            jv m = jinja_method(c, obj, key.u.s.p, key.u.s.n, &found);
            if (found) return m;
        }
        break;
    }
    case JV_LIST:
        if (obj.u.l->gen) jinja_raise(c, JE_TYPE, "'generator' object is not subscriptable");
        if (key.t == JV_INT) {
            int64_t i = norm_index(key.u.i, (int64_t)obj.u.l->n);
            if (i >= 0 && i < (int64_t)obj.u.l->n) return obj.u.l->v[i];
        } else if (key.t == JV_STR) {
            return jinja_getattr(c, obj, key.u.s.p, key.u.s.n);
        }
        break;
    case JV_STR:
        if (key.t == JV_INT) {
            int64_t len = (int64_t)u8_len(obj.u.s.p, obj.u.s.n);
            int64_t i = norm_index(key.u.i, len);
            if (i >= 0 && i < len) {
                size_t o = u8_offset(obj.u.s.p, obj.u.s.n, (size_t)i), adv;
                u8_decode(obj.u.s.p + o, obj.u.s.n - o, &adv);
                return jv_str_ref(obj.u.s.p + o, adv);
            }
        } else if (key.t == JV_STR) {
            return jinja_getattr(c, obj, key.u.s.p, key.u.s.n);
        }
        break;
    default: break;
    }
    if (key.t == JV_STR) return undef_named(key.u.s.p, key.u.s.n);
    return jv_undef();
}

/* Python slice index adjustment (PySlice_AdjustIndices). */
static int64_t slice_indices(int64_t len, jv *start, jv *stop, jv *step, int64_t *ostart, int64_t *ostep) {
    int64_t st = 1;
    if (step && step->t == JV_INT) st = step->u.i;
    if (st == 0) return -1;
    int64_t lo, hi;
    if (st > 0) {
        lo = (start && start->t == JV_INT) ? start->u.i : 0;
        hi = (stop && stop->t == JV_INT) ? stop->u.i : len;
        if (lo < 0) { lo += len; if (lo < 0) lo = 0; } else if (lo > len) lo = len;
        if (hi < 0) { hi += len; if (hi < 0) hi = 0; } else if (hi > len) hi = len;
        *ostart = lo;
        *ostep = st;
        return hi > lo ? (hi - lo + st - 1) / st : 0;
    }
    lo = (start && start->t == JV_INT) ? start->u.i : len - 1;
    hi = (stop && stop->t == JV_INT) ? stop->u.i : -len - 1;
    if (lo < 0) { lo += len; if (lo < 0) lo = -1; } else if (lo >= len) lo = len - 1;
    if (hi < 0) { hi += len; if (hi < 0) hi = -1; } else if (hi >= len) hi = len - 1;
    *ostart = lo;
    *ostep = st;
    return lo > hi ? (lo - hi + (-st) - 1) / (-st) : 0;
}

static jv do_slice(jctx *c, jv obj, jv *a, jv *b, jv *s) {
    if (obj.t == JV_UNDEF) raise_undef(c, obj);
    for (int k = 0; k < 3; k++) {
        jv *x = k == 0 ? a : k == 1 ? b : s;
        if (x && x->t == JV_BOOL) *x = jv_int(x->u.b);
        if (x && x->t != JV_INT && x->t != JV_NONE && x->t != JV_UNDEF)
            jinja_raise(c, JE_TYPE, "slice indices must be integers or None");
    }
    int64_t start, step;
    if (obj.t == JV_LIST && obj.u.l->gen) jinja_raise(c, JE_TYPE, "'generator' object is not subscriptable");
    if (obj.t == JV_LIST) {
        int64_t cnt = slice_indices((int64_t)obj.u.l->n, a, b, s, &start, &step);
        if (cnt < 0) jinja_raise(c, JE_VALUE, "slice step cannot be zero");
        jv r = jv_list(c, (size_t)cnt);
        r.u.l->tuple = obj.u.l->tuple;
        for (int64_t i = 0; i < cnt; i++) jl_push(c, r.u.l, obj.u.l->v[start + i * step]);
        return r;
    }
    if (obj.t == JV_STR) {
        const char *p = obj.u.s.p;
        size_t n = obj.u.s.n;
        int64_t len = (int64_t)u8_len(p, n);
        int64_t cnt = slice_indices(len, a, b, s, &start, &step);
        if (cnt < 0) jinja_raise(c, JE_VALUE, "slice step cannot be zero");
        if (step == 1) {
            size_t o1 = u8_offset(p, n, (size_t)start);
            size_t o2 = o1 + u8_offset(p + o1, n - o1, (size_t)cnt);
            return jv_str_ref(p + o1, o2 - o1);
        }
        /* general step: index the code points */
        size_t *offs = ja_alloc(&c->arena, (size_t)(len + 1) * sizeof(size_t));
        if (!offs) jinja_oom(c);
        size_t o = 0;
        for (int64_t i = 0; i < len; i++) {
            offs[i] = o;
            size_t adv;
            u8_decode(p + o, n - o, &adv);
            o += adv;
        }
        offs[len] = n;
        jbuf bb = {0};
        bb.c = c;
        for (int64_t i = 0; i < cnt; i++) {
            int64_t k = start + i * step;
            jb_put(&bb, p + offs[k], offs[k + 1] - offs[k]);
        }
        return jb_take(&bb);
    }
    jinja_raise(c, JE_TYPE, "'%s' object is not subscriptable", jv_type_name(obj));
}

/* -------------------------------------------------------------- iteration */
jlist *jinja_iter(jctx *c, jv v) {
    switch (v.t) {
    case JV_UNDEF: return jv_list(c, 0).u.l;
    case JV_LIST:
        if (v.u.l->gen) {   /* a generator iterates once */
            if (v.u.l->consumed) return jv_list(c, 0).u.l;
            v.u.l->consumed = true;
        }
        return v.u.l;
    case JV_DICT: {
        jv l = jv_list(c, v.u.d->n);
        for (size_t i = 0; i < v.u.d->n; i++) jl_push(c, l.u.l, v.u.d->k[i]);
        return l.u.l;
    }
    case JV_STR: {
        jv l = jv_list(c, v.u.s.n);
        size_t i = 0;
        while (i < v.u.s.n) {
            size_t adv;
            u8_decode(v.u.s.p + i, v.u.s.n - i, &adv);
            jl_push(c, l.u.l, jv_str_ref(v.u.s.p + i, adv));
            i += adv;
        }
        return l.u.l;
    }
    default: jinja_raise(c, JE_TYPE, "'%s' object is not iterable", jv_type_name(v));
    }
}

int64_t jinja_length(jctx *c, jv v) {
    switch (v.t) {
    case JV_UNDEF: return 0;
    case JV_STR: return (int64_t)u8_len(v.u.s.p, v.u.s.n);
    case JV_LIST:
        if (v.u.l->gen) jinja_raise(c, JE_TYPE, "object of type 'generator' has no len()");
        return (int64_t)v.u.l->n;
    case JV_DICT: return (int64_t)v.u.d->n;
    default: jinja_raise(c, JE_TYPE, "object of type '%s' has no len()", jv_type_name(v));
    }
}

static bool contains(jctx *c, jv container, jv item) {
    switch (container.t) {
    case JV_UNDEF: return false;
    case JV_STR:
        if (item.t != JV_STR)
            jinja_raise(c, JE_TYPE, "'in <string>' requires string as left operand, not %s", jv_type_name(item));
        if (item.u.s.n == 0) return true;
        if (item.u.s.n > container.u.s.n) return false;
        for (size_t i = 0; i + item.u.s.n <= container.u.s.n; i++)
            if (memcmp(container.u.s.p + i, item.u.s.p, item.u.s.n) == 0) return true;
        return false;
    case JV_LIST: {
        jlist *l = container.u.l->gen ? jinja_iter(c, container) : container.u.l;
        for (size_t i = 0; i < l->n; i++)
            if (jv_eq(l->v[i], item)) return true;
        return false;
    }
    case JV_DICT: case JV_NS: return jd_getv(c, container.u.d, item) != NULL;
    default: jinja_raise(c, JE_TYPE, "argument of type '%s' is not iterable", jv_type_name(container));
    }
}

/* ------------------------------------------------------------- operators */
static bool numeric(jv v) { return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL; }
static double as_f(jv v) { return v.t == JV_FLOAT ? v.u.f : v.t == JV_INT ? (double)v.u.i : (double)v.u.b; }
static int64_t as_i(jv v) { return v.t == JV_INT ? v.u.i : (int64_t)v.u.b; }

static const char *op_sym(int op) {
    static const char *s[] = {"+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", "<=", ">", ">=", "in", "not in"};
    return s[op];
}

static jv py_format(jctx *c, jv fmt, jv args);

static jv repeat(jctx *c, jv seq, int64_t times) {
    if (times < 0) times = 0;
    if (seq.t == JV_STR) {
        if (seq.u.s.n && (uint64_t)times > (64u << 20) / seq.u.s.n)
            jinja_raise(c, JE_RUNTIME, "string repetition too large");
        jbuf b = {0};
        b.c = c;
        for (int64_t i = 0; i < times; i++) jb_put(&b, seq.u.s.p, seq.u.s.n);
        return b.n ? jb_take(&b) : jv_str_ref("", 0);
    }
    if (seq.u.l->n && (uint64_t)times > (4u << 20) / seq.u.l->n)
        jinja_raise(c, JE_RUNTIME, "list repetition too large");
    jv r = jv_list(c, seq.u.l->n * (size_t)times);
    r.u.l->tuple = seq.u.l->tuple;
    for (int64_t i = 0; i < times; i++)
        for (size_t k = 0; k < seq.u.l->n; k++) jl_push(c, r.u.l, seq.u.l->v[k]);
    return r;
}

static jv binop(jctx *c, int op, jv a, jv b) {
    switch (op) {
    case OP_EQ: return jv_bool(jv_eq(a, b));
    case OP_NE: return jv_bool(!jv_eq(a, b));
    case OP_LT: return jv_bool(jv_cmp(c, a, b, false) < 0);
    case OP_LE: return jv_bool(jv_cmp(c, a, b, false) <= 0);
    case OP_GT: return jv_bool(jv_cmp(c, a, b, false) > 0);
    case OP_GE: return jv_bool(jv_cmp(c, a, b, false) >= 0);
    case OP_IN: return jv_bool(contains(c, b, a));
    case OP_NOTIN: return jv_bool(!contains(c, b, a));
    case OP_CONCAT: {
        jbuf bb = {0};
        bb.c = c;
        jv_write_str(c, &bb, a);
        jv_write_str(c, &bb, b);
        return bb.n ? jb_take(&bb) : jv_str_ref("", 0);
    }
    default: break;
    }
    if (a.t == JV_UNDEF) raise_undef(c, a);
    if (b.t == JV_UNDEF) raise_undef(c, b);
    if ((a.t == JV_LIST && a.u.l->gen) || (b.t == JV_LIST && b.u.l->gen))
        jinja_raise(c, JE_TYPE, "unsupported operand type(s) for %s: '%s' and '%s'", op_sym(op), jv_type_name(a),
                    jv_type_name(b));
    if (numeric(a) && numeric(b)) {
        bool fl = a.t == JV_FLOAT || b.t == JV_FLOAT;
        if (!fl) {
            int64_t x = as_i(a), y = as_i(b), r;
            switch (op) {
            case OP_ADD: if (!__builtin_add_overflow(x, y, &r)) return jv_int(r); break;
            case OP_SUB: if (!__builtin_sub_overflow(x, y, &r)) return jv_int(r); break;
            case OP_MUL: if (!__builtin_mul_overflow(x, y, &r)) return jv_int(r); break;
            case OP_DIV:
                if (y == 0) jinja_raise(c, JE_ZERODIV, "division by zero");
                return jv_float((double)x / (double)y);
            case OP_FLOORDIV: case OP_MOD: {
                if (y == 0) jinja_raise(c, JE_ZERODIV, "integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) break;
                int64_t q = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) { q--; m += y; }
                return jv_int(op == OP_FLOORDIV ? q : m);
            }
            case OP_POW:
                if (y >= 0) {
                    int64_t acc = 1;
                    bool ovf = false;
                    for (int64_t k = 0; k < y && !ovf; k++) ovf = __builtin_mul_overflow(acc, x, &acc);
                    if (!ovf) return jv_int(acc);
                }
                return jv_float(pow((double)x, (double)y));
            }
        }
        double x = as_f(a), y = as_f(b);
        switch (op) {
        case OP_ADD: return jv_float(x + y);
        case OP_SUB: return jv_float(x - y);
        case OP_MUL: return jv_float(x * y);
        case OP_DIV:
            if (y == 0) jinja_raise(c, JE_ZERODIV, "float division by zero");
            return jv_float(x / y);
        case OP_FLOORDIV:
            if (y == 0) jinja_raise(c, JE_ZERODIV, "float floor division by zero");
            return jv_float(floor(x / y));
        case OP_MOD: {
            if (y == 0) jinja_raise(c, JE_ZERODIV, "float modulo");
            double m = fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            return jv_float(m);
        }
        case OP_POW: return jv_float(pow(x, y));
        }
    }
    if (op == OP_ADD) {
        if (a.t == JV_STR && b.t == JV_STR) {
            /* Markup + str escapes the plain operand (markupsafe semantics) */
            bool safe = a.safe || b.safe;
            if (safe && !a.safe) a = jv_html_escape(c, a);
            if (safe && !b.safe) b = jv_html_escape(c, b);
            jbuf bb = {0};
            bb.c = c;
            jb_put(&bb, a.u.s.p, a.u.s.n);
            jb_put(&bb, b.u.s.p, b.u.s.n);
            jv r = bb.n ? jb_take(&bb) : jv_str_ref("", 0);
            r.safe = safe;
            return r;
        }
        if (a.t == JV_LIST && b.t == JV_LIST && a.u.l->tuple == b.u.l->tuple) {
            jv r = jv_list(c, a.u.l->n + b.u.l->n);
            r.u.l->tuple = a.u.l->tuple;
            for (size_t i = 0; i < a.u.l->n; i++) jl_push(c, r.u.l, a.u.l->v[i]);
            for (size_t i = 0; i < b.u.l->n; i++) jl_push(c, r.u.l, b.u.l->v[i]);
            return r;
        }
        if (a.t == JV_STR || a.t == JV_LIST)
            jinja_raise(c, JE_TYPE, "can only concatenate %s (not \"%s\") to %s", jv_type_name(a),
                        jv_type_name(b), jv_type_name(a));
    }
    if (op == OP_MUL) {
        if ((a.t == JV_STR || a.t == JV_LIST) && (b.t == JV_INT || b.t == JV_BOOL)) return repeat(c, a, as_i(b));
        if ((b.t == JV_STR || b.t == JV_LIST) && (a.t == JV_INT || a.t == JV_BOOL)) return repeat(c, b, as_i(a));
    }
    if (op == OP_MOD && a.t == JV_STR) return py_format(c, a, b);
    jinja_raise(c, JE_TYPE, "unsupported operand type(s) for %s: '%s' and '%s'", op_sym(op), jv_type_name(a),
                jv_type_name(b));
}

/* printf-style `"%s" % x` with %s %r %d %i %f %x %%. */
static jv py_format(jctx *c, jv fmt, jv args) {
    jlist *al = NULL;
    jv single[1];
    jlist tmp = {single, 1, 1, true, false, false};
    if (args.t == JV_LIST && args.u.l->tuple) al = args.u.l;
    else { single[0] = args; al = &tmp; }
    size_t ai = 0;
    jbuf b = {0};
    b.c = c;
    const char *p = fmt.u.s.p;
    size_t n = fmt.u.s.n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') { jb_putc(&b, p[i]); continue; }
        if (++i >= n) jinja_raise(c, JE_RUNTIME, "incomplete format");
        char spec[32] = "%";
        size_t sl = 1;
        while (i < n && strchr("-+ #0123456789.", p[i]) && sl < sizeof spec - 4) spec[sl++] = p[i++];
        if (i >= n) jinja_raise(c, JE_RUNTIME, "incomplete format");
        char conv = p[i];
        if (conv == '%') { jb_putc(&b, '%'); continue; }
        if (ai >= al->n) jinja_raise(c, JE_TYPE, "not enough arguments for format string");
        jv v = al->v[ai++];
        if (conv == 's' || conv == 'r') {
            jbuf t = {0};
            t.c = c;
            if (conv == 's') jv_write_str(c, &t, v);
            else jv_write_repr(c, &t, v);
            spec[sl++] = 's';
            spec[sl] = 0;
            jb_printf(&b, spec, t.p ? t.p : "");
        } else if (conv == 'd' || conv == 'i' || conv == 'x' || conv == 'X' || conv == 'o') {
            if (!numeric(v)) jinja_raise(c, JE_TYPE, "%%%c format: a number is required, not %s", conv, jv_type_name(v));
            spec[sl++] = 'l';
            spec[sl++] = 'l';
            spec[sl++] = conv == 'i' ? 'd' : conv;
            spec[sl] = 0;
            jb_printf(&b, spec, (long long)(v.t == JV_FLOAT ? (int64_t)v.u.f : as_i(v)));
        } else if (conv == 'f' || conv == 'e' || conv == 'g' || conv == 'F' || conv == 'E' || conv == 'G') {
            if (!numeric(v)) jinja_raise(c, JE_TYPE, "must be real number, not %s", jv_type_name(v));
            spec[sl++] = conv;
            spec[sl] = 0;
            jb_printf(&b, spec, as_f(v));
        } else {
            jinja_raise(c, JE_RUNTIME, "unsupported format character '%c'", conv);
        }
    }
    if (ai < al->n) jinja_raise(c, JE_TYPE, "not all arguments converted during string formatting");
    return b.n ? jb_take(&b) : jv_str_ref("", 0);
}

/* ----------------------------------------------------------------- calls */
static void exec_body(jctx *c, jnode *n, jframe *f, jbuf *out);

/* Whether a macro body mentions a name (varargs / kwargs / caller):
 * jinja2 only accepts extra arguments when the body uses them. */
static bool mentions(const jnode *n, const char *name) {
    if (!n) return false;
    if (n->kind == N_NAME && strcmp(n->s, name) == 0) return true;
    if (mentions(n->a, name) || mentions(n->b, name) || mentions(n->c, name) || mentions(n->d, name) ||
        mentions(n->e, name))
        return true;
    for (int i = 0; i < n->n; i++)
        if (mentions(n->items[i], name)) return true;
    return false;
}

static jv call_macro(jctx *c, jfunc *fn, jargs *a) {
    jnode *m = fn->macro;
    if (!(m->op & 1)) {   /* cache in the node: bit 1 computed, 2 varargs used, 4 kwargs used */
        m->op = (uint8_t)(1 | (mentions(m->b, "varargs") ? 2 : 0) | (mentions(m->b, "kwargs") ? 4 : 0));
    }
    if (a->npos > m->n && !(m->op & 2))
        jinja_raise(c, JE_TYPE, "macro '%s' takes not more than %d argument(s)", fn->name, m->n);
    if (++c->depth > MAX_DEPTH) jinja_raise(c, JE_RECURSION, "maximum recursion depth exceeded");
    jframe *f = new_frame(c, fn->closure);
    int np = m->n;
    bool *used = NULL;
    if (a->nkw) {
        used = ja_alloc(&c->arena, (size_t)a->nkw * sizeof(bool));
        if (!used) jinja_oom(c);
    }
    for (int i = 0; i < np; i++) {
        jnode *pn = m->items[i];
        jv v;
        bool have = false;
        if (i < a->npos) {
            v = a->pos[i];
            have = true;
        }
        for (int k = 0; k < a->nkw; k++)
            if (strcmp(a->kwn[k], pn->s) == 0) {
                if (have) jinja_raise(c, JE_TYPE, "macro '%s' got multiple values for argument '%s'", fn->name, pn->s);
                v = a->kwv[k];
                used[k] = true;
                have = true;
            }
        if (!have) {
            if (pn->a) {
                jnode *saved = c->at;
                v = jinja_eval(c, pn->a, f);
                c->at = saved;
            } else {
                v = undef_named(pn->s, pn->sn);
            }
        }
        set_var(c, f, pn->s, pn->sn, v);
    }
    jv varargs = jv_list(c, 0);
    varargs.u.l->tuple = true;
    for (int i = np; i < a->npos; i++) jl_push(c, varargs.u.l, a->pos[i]);
    jv kwargs = jv_dict(c, 0);
    for (int k = 0; k < a->nkw; k++) {
        if (used[k]) continue;
        if (!(m->op & 4)) jinja_raise(c, JE_TYPE, "macro '%s' takes no keyword argument '%s'", fn->name, a->kwn[k]);
        jd_set(c, kwargs.u.d, jv_cstr(c, a->kwn[k]), a->kwv[k]);
    }
    set_var(c, f, "varargs", 7, varargs);
    set_var(c, f, "kwargs", 6, kwargs);
    if (fn->caller) {
        jv cv = {0};
        cv.t = JV_FUNC;
        cv.u.fn = fn->caller;
        set_var(c, f, "caller", 6, cv);
    }
    jbuf out = {0};
    out.c = c;
    int saved_loopctl = c->loopctl;
    c->loopctl = 0;
    exec_body(c, m->b, f, &out);
    c->loopctl = saved_loopctl;
    c->depth--;
    return out.n ? jb_take(&out) : jv_str_ref("", 0);
}

jv jinja_call(jctx *c, jv callee, jargs *a) {
    if (callee.t == JV_UNDEF) raise_undef(c, callee);
    if (callee.t != JV_FUNC) jinja_raise(c, JE_TYPE, "'%s' object is not callable", jv_type_name(callee));
    jfunc *fn = callee.u.fn;
    if (fn->macro) return call_macro(c, fn, a);
    return fn->native(c, fn->self, a);
}

static void eval_args(jctx *c, jnode *call, jframe *f, jargs *a) {
    int npos = 0, nkw = 0;
    for (int i = 0; i < call->n; i++) {
        if (call->items[i]->kind == N_KWARG) nkw++;
        else npos++;
    }
    a->pos = npos ? ja_alloc(&c->arena, (size_t)npos * sizeof(jv)) : NULL;
    a->kwv = nkw ? ja_alloc(&c->arena, (size_t)nkw * sizeof(jv)) : NULL;
    a->kwn = nkw ? ja_alloc(&c->arena, (size_t)nkw * sizeof(char *)) : NULL;
    if ((npos && !a->pos) || (nkw && (!a->kwv || !a->kwn))) jinja_oom(c);
    a->npos = a->nkw = 0;
    for (int i = 0; i < call->n; i++) {
        jnode *x = call->items[i];
        if (x->kind == N_KWARG) {
            a->kwn[a->nkw] = x->s;
            a->kwv[a->nkw++] = jinja_eval(c, x->a, f);
        } else {
            a->pos[a->npos++] = jinja_eval(c, x, f);
        }
    }
}

/* ------------------------------------------------------------------ eval */

static jv eval_filter(jctx *c, jnode *n, jframe *f, const jv *base) {
    jv val = n->a ? (n->a->kind == N_FILTER && base ? eval_filter(c, n->a, f, base) : jinja_eval(c, n->a, f))
                  : *base;
    jargs a;
    eval_args(c, n, f, &a);
    c->at = n;
    return jinja_apply_filter(c, n->s, val, &a);
}

jv jinja_eval(jctx *c, jnode *n, jframe *f) {
    c->at = n;
    switch (n->kind) {
    case N_LIT: return n->lit;
    case N_NAME: return lookup(c, f, n->s, n->sn);
    case N_GETATTR: {
        jv obj = jinja_eval(c, n->a, f);
        c->at = n;
        return jinja_getattr(c, obj, n->s, n->sn);
    }
    case N_GETITEM: {
        jv obj = jinja_eval(c, n->a, f);
        jv key = jinja_eval(c, n->b, f);
        c->at = n;
        return jinja_getitem(c, obj, key);
    }
    case N_SLICE: {
        jv obj = jinja_eval(c, n->a, f);
        jv s0, s1, s2;
        if (n->b) s0 = jinja_eval(c, n->b, f);
        if (n->c) s1 = jinja_eval(c, n->c, f);
        if (n->d) s2 = jinja_eval(c, n->d, f);
        c->at = n;
        return do_slice(c, obj, n->b ? &s0 : NULL, n->c ? &s1 : NULL, n->d ? &s2 : NULL);
    }
    case N_CALL: {
        jv callee = jinja_eval(c, n->a, f);
        jargs a;
        eval_args(c, n, f, &a);
        c->at = n;
        return jinja_call(c, callee, &a);
    }
    case N_FILTER: return eval_filter(c, n, f, NULL);
    case N_TEST: {
        jv val = jinja_eval(c, n->a, f);
        jargs a;
        eval_args(c, n, f, &a);
        c->at = n;
        bool r = jinja_apply_test(c, n->s, val, &a);
        return jv_bool(n->flag ? !r : r);
    }
    case N_NEG: case N_POS: {
        jv v = jinja_eval(c, n->a, f);
        c->at = n;
        if (v.t == JV_UNDEF) raise_undef(c, v);
        bool neg = n->kind == N_NEG;
        if (v.t == JV_INT) return jv_int(neg ? -v.u.i : v.u.i);
        if (v.t == JV_BOOL) return jv_int(neg ? -(int64_t)v.u.b : v.u.b);
        if (v.t == JV_FLOAT) return jv_float(neg ? -v.u.f : v.u.f);
        jinja_raise(c, JE_TYPE, "bad operand type for unary %c: '%s'", neg ? '-' : '+', jv_type_name(v));
    }
    case N_NOT: return jv_bool(!jv_truthy(jinja_eval(c, n->a, f)));
    case N_AND: {
        jv a = jinja_eval(c, n->a, f);
        return jv_truthy(a) ? jinja_eval(c, n->b, f) : a;
    }
    case N_OR: {
        jv a = jinja_eval(c, n->a, f);
        return jv_truthy(a) ? a : jinja_eval(c, n->b, f);
    }
    case N_BINOP: {
        jv a = jinja_eval(c, n->a, f);
        jv b = jinja_eval(c, n->b, f);
        c->at = n;
        return binop(c, n->op, a, b);
    }
    case N_COND:
        if (jv_truthy(jinja_eval(c, n->a, f))) return jinja_eval(c, n->b, f);
        return n->c ? jinja_eval(c, n->c, f) : jv_undef();
    case N_LISTLIT: case N_TUPLELIT: {
        jv l = jv_list(c, (size_t)n->n);
        l.u.l->tuple = n->kind == N_TUPLELIT;
        for (int i = 0; i < n->n; i++) jl_push(c, l.u.l, jinja_eval(c, n->items[i], f));
        return l;
    }
    case N_DICTLIT: {
        jv d = jv_dict(c, (size_t)n->n / 2);
        for (int i = 0; i + 1 < n->n; i += 2) {
            jv k = jinja_eval(c, n->items[i], f);
            jv v = jinja_eval(c, n->items[i + 1], f);
            if (k.t == JV_LIST && !k.u.l->tuple) jinja_raise(c, JE_TYPE, "unhashable type: 'list'");
            if (k.t == JV_DICT) jinja_raise(c, JE_TYPE, "unhashable type: 'dict'");
            jd_set(c, d.u.d, k, v);
        }
        return d;
    }
    default:
        jinja_raise(c, JE_RUNTIME, "cannot evaluate node kind %d", n->kind);
    }
}

/* ------------------------------------------------------------ statements */
static void assign(jctx *c, jnode *target, jv v, jframe *f) {
    c->at = target;
    if (target->kind == N_NAME) {
        set_var(c, f, target->s, target->sn, v);
    } else if (target->kind == N_GETATTR) {
        jv obj = jinja_eval(c, target->a, f);
        c->at = target;
        if (obj.t != JV_NS) jinja_raise(c, JE_RUNTIME, "cannot assign attribute on non-namespace object");
        jd_set(c, obj.u.d, jv_str_ref(target->s, target->sn), v);
    } else if (target->kind == N_TUPLELIT) {
        if (v.t == JV_STR || v.t == JV_DICT || (v.t == JV_LIST && v.u.l->gen)) v.u.l = jinja_iter(c, v), v.t = JV_LIST;
        if (v.t != JV_LIST) jinja_raise(c, JE_TYPE, "cannot unpack non-iterable %s object", jv_type_name(v));
        if ((int)v.u.l->n != target->n)
            jinja_raise(c, JE_VALUE, "%s values to unpack (expected %d, got %zu)",
                        (int)v.u.l->n > target->n ? "too many" : "not enough", target->n, v.u.l->n);
        for (int i = 0; i < target->n; i++) assign(c, target->items[i], v.u.l->v[i], f);
    }
}

static jv loop_cycle(jctx *c, jv self, jargs *a) {
    if (a->npos == 0) jinja_raise(c, JE_TYPE, "no items for cycling given");
    jv *i0 = jd_get(self.u.d, "index0", 6);   /* self: the loop object */
    return a->pos[(i0 ? i0->u.i : 0) % a->npos];
}

static void exec_for(jctx *c, jnode *n, jframe *f, jbuf *out) {
    jv it = jinja_eval(c, n->b, f);
    c->at = n;
    jlist *items = jinja_iter(c, it);
    if (n->e) {   /* {% for x in y if cond %}: filter first, loop.length counts the kept ones */
        jv kept = jv_list(c, items->n);
        jframe *tf = new_frame(c, f);
        for (size_t i = 0; i < items->n; i++) {
            tf->vars.n = 0;
            assign(c, n->a, items->v[i], tf);
            if (jv_truthy(jinja_eval(c, n->e, tf))) jl_push(c, kept.u.l, items->v[i]);
        }
        items = kept.u.l;
    }
    if (items->n == 0) {
        if (n->d) exec_body(c, n->d, f, out);
        return;
    }
    size_t len = items->n;
    /* One frame and one loop object for the whole loop, reset per iteration
     * (jinja2 also advances a single LoopContext), so long loops do not
     * allocate per iteration. */
    jframe *lf = new_frame(c, f);
    jv loop = jv_dict(c, 12);
    jdict *d = loop.u.d;
    loop.t = JV_NS;   /* attribute access only, no dict methods */
    static const char *const LOOP_KEYS[] = {"index", "index0", "revindex", "revindex0", "first", "last",
                                            "previtem", "nextitem", "length", "depth", "depth0", "cycle"};
    for (int k = 0; k < 12; k++) jd_set(c, d, jv_str_ref(LOOP_KEYS[k], strlen(LOOP_KEYS[k])), jv_none());
    d->v[8] = jv_int((int64_t)len);
    d->v[9] = jv_int(1);
    d->v[10] = jv_int(0);
    d->v[11] = jv_func_native(c, "cycle", loop_cycle, loop);
    for (size_t i = 0; i < len; i++) {
        if (++c->steps > JINJA_MAX_STEPS)
            jinja_raise(c, JE_RUNTIME, "the template ran more than %d steps", JINJA_MAX_STEPS);
        lf->vars.n = 0;
        assign(c, n->a, items->v[i], lf);
        /* values by slot: the keys above were set in this order */
        d->v[0] = jv_int((int64_t)i + 1);
        d->v[1] = jv_int((int64_t)i);
        d->v[2] = jv_int((int64_t)(len - i));
        d->v[3] = jv_int((int64_t)(len - i - 1));
        d->v[4] = jv_bool(i == 0);
        d->v[5] = jv_bool(i + 1 == len);
        d->v[6] = i ? items->v[i - 1] : undef_named("previtem", 8);
        d->v[7] = i + 1 < len ? items->v[i + 1] : undef_named("nextitem", 8);
        set_var(c, lf, "loop", 4, loop);
        exec_body(c, n->c, lf, out);
        if (c->loopctl == 1) { c->loopctl = 0; break; }
        if (c->loopctl == 2) c->loopctl = 0;
    }
}

static void exec_stmt(jctx *c, jnode *n, jframe *f, jbuf *out) {
    c->at = n;
    if (++c->steps > JINJA_MAX_STEPS)
        jinja_raise(c, JE_RUNTIME, "the template ran more than %d steps", JINJA_MAX_STEPS);
    switch (n->kind) {
    case N_TEXT: jb_put(out, n->s, n->sn); break;
    case N_OUTPUT: {
        jv v = jinja_eval(c, n->a, f);
        jv_write_str(c, out, v);
        break;
    }
    case N_BODY: exec_body(c, n, f, out); break;
    case N_IF:
        if (jv_truthy(jinja_eval(c, n->a, f))) exec_body(c, n->b, f, out);
        else if (n->c) exec_stmt(c, n->c, f, out);
        break;
    case N_FOR: exec_for(c, n, f, out); break;
    case N_SET: assign(c, n->a, jinja_eval(c, n->b, f), f); break;
    case N_SETBLOCK: {
        jbuf b = {0};
        b.c = c;
        exec_body(c, n->b, f, &b);
        jv v = b.n ? jb_take(&b) : jv_str_ref("", 0);
        if (n->c) v = eval_filter(c, n->c, f, &v);
        assign(c, n->a, v, f);
        break;
    }
    case N_MACRO: {
        jv fv = {0};
        fv.t = JV_FUNC;
        fv.u.fn = ja_alloc(&c->arena, sizeof(jfunc));
        if (!fv.u.fn) jinja_oom(c);
        fv.u.fn->name = n->s;
        fv.u.fn->macro = n;
        fv.u.fn->closure = f;
        set_var(c, f, n->s, n->sn, fv);
        break;
    }
    case N_CALLBLOCK: {
        jfunc *caller = ja_alloc(&c->arena, sizeof(jfunc));
        if (!caller) jinja_oom(c);
        caller->name = "caller";
        caller->macro = n;   /* params in n->items, body in n->b */
        caller->closure = f;
        jv callee = jinja_eval(c, n->a->a, f);
        jargs a;
        eval_args(c, n->a, f, &a);
        c->at = n;
        if (callee.t == JV_FUNC && callee.u.fn->macro) {
            jfunc *copy = ja_alloc(&c->arena, sizeof(jfunc));
            if (!copy) jinja_oom(c);
            *copy = *callee.u.fn;
            copy->caller = caller;
            callee.u.fn = copy;
        }
        jv r = jinja_call(c, callee, &a);
        jv_write_str(c, out, r);
        break;
    }
    case N_FILTERBLOCK: {
        jbuf b = {0};
        b.c = c;
        exec_body(c, n->b, f, &b);
        jv v = b.n ? jb_take(&b) : jv_str_ref("", 0);
        jv r = eval_filter(c, n->a, f, &v);
        jv_write_str(c, out, r);
        break;
    }
    case N_BREAK: c->loopctl = 1; break;
    case N_CONTINUE: c->loopctl = 2; break;
    case N_GENERATION: exec_body(c, n->b, f, out); break;
    default: jinja_raise(c, JE_RUNTIME, "cannot execute node kind %d", n->kind);
    }
}

static void exec_body(jctx *c, jnode *n, jframe *f, jbuf *out) {
    if (++c->depth > MAX_DEPTH) jinja_raise(c, JE_RECURSION, "maximum recursion depth exceeded");
    for (int i = 0; i < n->n; i++) {
        exec_stmt(c, n->items[i], f, out);
        if (c->loopctl) break;
    }
    c->depth--;
}

void jinja_exec(jctx *c, jnode *n, jframe *f, jbuf *out) { exec_body(c, n, f, out); }
