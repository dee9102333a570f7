/* jinja_parser.c: recursive-descent parser from the lexer's tokens to the
 * AST (jnode). It follows jinja2's grammar and precedence: conditional
 * expressions, or/and/not, comparison chains with in/not in, + -, ~, * / // %,
 * ** (left-associative, as in jinja2), unary -/+, postfix attribute/item/
 * slice/call, filters and tests. Statements: if/elif/else, for (with else,
 * inline filter), set (plain, tuple, namespace attribute, block), macro,
 * call, filter, break/continue, and optionally {% generation %}. */
#include "chat/jinja.h"

#include <stdio.h>
#include <string.h>

typedef struct P {
    jparse_state *ps;
    int loop_depth;
    int depth;   /* expression nesting, bounded so hostile input cannot overflow the stack */
} P;

static jtoken *cur(P *p) { return &p->ps->toks[p->ps->pos]; }
static jtoken *peek(P *p, size_t k) {
    size_t i = p->ps->pos + k;
    return i < p->ps->ntok ? &p->ps->toks[i] : &p->ps->toks[p->ps->ntok - 1];
}
static jtoken *next(P *p) {
    jtoken *t = cur(p);
    if (t->type != T_EOF) p->ps->pos++;
    return t;
}

static const char *tok_desc(jtoken *t) {
    switch (t->type) {
    case T_EOF: return "end of template";
    case T_TEXT: return "template data";
    case T_VAR_BEGIN: return "'{{'";
    case T_VAR_END: return "'}}'";
    case T_BLOCK_BEGIN: return "'{%'";
    case T_BLOCK_END: return "'%}'";
    case T_NAME: return "name";
    case T_STRING: return "string";
    case T_INT: return "integer";
    case T_FLOAT: return "float";
    default: return "operator";
    }
}

#define FAIL(t, ...) jinja_syntax_error(p->ps, (t)->line, (t)->col, __VA_ARGS__)

static bool is_op(jtoken *t, const char *op) {
    return t->type == T_OP && t->n == strlen(op) && memcmp(t->s, op, t->n) == 0;
}
static bool is_name(jtoken *t, const char *nm) {
    return t->type == T_NAME && t->n == strlen(nm) && memcmp(t->s, nm, t->n) == 0;
}
static void expect_op(P *p, const char *op) {
    jtoken *t = cur(p);
    if (!is_op(t, op)) {
        if (t->type == T_OP) FAIL(t, "expected '%s', got '%.*s'", op, (int)t->n, t->s);
        FAIL(t, "expected '%s', got %s", op, tok_desc(t));
    }
    next(p);
}
static void expect_type(P *p, int type) {
    jtoken *t = cur(p);
    if (t->type != type) {
        jtoken want = {0};
        want.type = (uint8_t)type;
        if (t->type == T_OP) FAIL(t, "expected %s, got '%.*s'", tok_desc(&want), (int)t->n, t->s);
        if (t->type == T_NAME) FAIL(t, "expected %s, got name '%.*s'", tok_desc(&want), (int)t->n, t->s);
        FAIL(t, "expected %s, got %s", tok_desc(&want), tok_desc(t));
    }
    next(p);
}

static jnode *mk(P *p, int kind, jtoken *at) {
    jnode *n = ja_alloc(p->ps->arena, sizeof(jnode));
    if (!n) {
        p->ps->err_kind = JE_NOMEM;
        snprintf(p->ps->err, sizeof p->ps->err, "out of memory");
        longjmp(p->ps->jb, 1);
    }
    n->kind = (uint8_t)kind;
    n->line = at->line;
    n->col = at->col;
    return n;
}

/* Growable node lists in the arena. */
typedef struct nlist { jnode **v; int n, cap; } nlist;
static void nl_push(P *p, nlist *l, jnode *x) {
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 4;
        jnode **nv = ja_alloc(p->ps->arena, (size_t)nc * sizeof(jnode *));
        if (!nv) { p->ps->err_kind = JE_NOMEM; longjmp(p->ps->jb, 1); }
        if (l->n) memcpy(nv, l->v, (size_t)l->n * sizeof(jnode *));
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = x;
}

static jnode *parse_expr(P *p);
static jnode *parse_expr_nocond(P *p);
static jnode *parse_or(P *p);
static jnode *parse_unary(P *p, bool with_filter);
static jnode *parse_primary(P *p);
static jnode *parse_postfix(P *p, jnode *n);
static jnode *parse_filter_expr(P *p, jnode *n);
static jnode *parse_body(P *p, const char *const *ends, const char **hit);

static void parse_call_args(P *p, jnode *call) {
    nlist args = {0};
    expect_op(p, "(");
    bool first = true;
    while (!is_op(cur(p), ")")) {
        if (!first) {
            expect_op(p, ",");
            if (is_op(cur(p), ")")) break;
        }
        first = false;
        jtoken *t = cur(p);
        if (is_op(t, "*") || is_op(t, "**")) FAIL(t, "*args and **kwargs in calls are not supported");
        if (t->type == T_NAME && is_op(peek(p, 1), "=")) {
            next(p);
            next(p);
            jnode *kw = mk(p, N_KWARG, t);
            kw->s = t->s;
            kw->sn = t->n;
            kw->a = parse_expr(p);
            nl_push(p, &args, kw);
        } else {
            nl_push(p, &args, parse_expr(p));
        }
    }
    next(p);
    call->items = args.v;
    call->n = args.n;
}

static jnode *parse_tuple(P *p, bool with_condexpr, bool explicit_parens, const char *extra_end) {
    nlist items = {0};
    bool is_tuple = false;
    jtoken *start = cur(p);
    for (;;) {
        if (items.n) expect_op(p, ",");
        jtoken *t = cur(p);
        if (t->type == T_VAR_END || t->type == T_BLOCK_END || is_op(t, ")") ||
            (extra_end && is_name(t, extra_end)))
            break;
        nl_push(p, &items, with_condexpr ? parse_expr(p) : parse_expr_nocond(p));
        if (is_op(cur(p), ",")) is_tuple = true;
        else break;
    }
    if (!is_tuple) {
        if (items.n) return items.v[0];
        if (!explicit_parens) FAIL(cur(p), "expected an expression, got %s", tok_desc(cur(p)));
    }
    jnode *n = mk(p, N_TUPLELIT, start);
    n->items = items.v;
    n->n = items.n;
    return n;
}

static jnode *parse_primary(P *p) {
    jtoken *t = cur(p);
    jnode *n;
    switch (t->type) {
    case T_NAME:
        next(p);
        if (is_name(t, "true") || is_name(t, "True") || is_name(t, "false") || is_name(t, "False")) {
            n = mk(p, N_LIT, t);
            n->lit = jv_bool(t->s[0] == 't' || t->s[0] == 'T');
            return n;
        }
        if (is_name(t, "none") || is_name(t, "None")) {
            n = mk(p, N_LIT, t);
            n->lit = jv_none();
            return n;
        }
        n = mk(p, N_NAME, t);
        n->s = t->s;
        n->sn = t->n;
        return n;
    case T_STRING: {
        next(p);
        n = mk(p, N_LIT, t);
        if (cur(p)->type != T_STRING) {
            n->lit = jv_str_ref(t->s, t->n);
            return n;
        }
        /* Adjacent string literals concatenate. */
        size_t total = t->n;
        for (size_t k = 0; peek(p, k)->type == T_STRING; k++) total += peek(p, k)->n;
        char *d = ja_alloc(p->ps->arena, total + 1);
        if (!d) { p->ps->err_kind = JE_NOMEM; longjmp(p->ps->jb, 1); }
        memcpy(d, t->s, t->n);
        size_t o = t->n;
        while (cur(p)->type == T_STRING) {
            jtoken *u = next(p);
            memcpy(d + o, u->s, u->n);
            o += u->n;
        }
        n->lit = jv_str_ref(d, o);
        return n;
    }
    case T_INT:
        next(p);
        n = mk(p, N_LIT, t);
        n->lit = jv_int(t->i);
        return n;
    case T_FLOAT:
        next(p);
        n = mk(p, N_LIT, t);
        n->lit = jv_float(t->f);
        return n;
    case T_OP:
        if (is_op(t, "(")) {
            next(p);
            n = parse_tuple(p, true, true, NULL);
            expect_op(p, ")");
            return n;
        }
        if (is_op(t, "[")) {
            next(p);
            nlist items = {0};
            while (!is_op(cur(p), "]")) {
                if (items.n) {
                    expect_op(p, ",");
                    if (is_op(cur(p), "]")) break;
                }
                nl_push(p, &items, parse_expr(p));
            }
            next(p);
            n = mk(p, N_LISTLIT, t);
            n->items = items.v;
            n->n = items.n;
            return n;
        }
        if (is_op(t, "{")) {
            next(p);
            nlist items = {0};
            while (!is_op(cur(p), "}")) {
                if (items.n) {
                    expect_op(p, ",");
                    if (is_op(cur(p), "}")) break;
                }
                nl_push(p, &items, parse_expr(p));
                expect_op(p, ":");
                nl_push(p, &items, parse_expr(p));
            }
            next(p);
            n = mk(p, N_DICTLIT, t);
            n->items = items.v;
            n->n = items.n;
            return n;
        }
        FAIL(t, "unexpected '%.*s'", (int)t->n, t->s);
    default:
        FAIL(t, "unexpected %s", tok_desc(t));
    }
}

static jnode *parse_subscript(P *p, jnode *obj) {
    jtoken *t = next(p);
    if (is_op(t, ".")) {
        jtoken *a = cur(p);
        if (a->type == T_NAME) {
            next(p);
            jnode *n = mk(p, N_GETATTR, t);
            n->a = obj;
            n->s = a->s;
            n->sn = a->n;
            return n;
        }
        if (a->type == T_INT) {
            next(p);
            jnode *n = mk(p, N_GETITEM, t);
            n->a = obj;
            n->b = mk(p, N_LIT, a);
            n->b->lit = jv_int(a->i);
            return n;
        }
        FAIL(a, "expected name or number after '.'");
    }
    /* '[': index or slice */
    jnode *parts[3] = {NULL, NULL, NULL};
    int np = 0;
    bool is_slice = false;
    for (;;) {
        jtoken *c = cur(p);
        if (is_op(c, ":")) {
            is_slice = true;
            next(p);
            if (++np > 2) FAIL(c, "too many ':' in slice");
            continue;
        }
        if (is_op(c, "]")) break;
        if (parts[np]) FAIL(c, "expected ']'");
        parts[np] = parse_expr(p);
        if (!is_slice && is_op(cur(p), ",")) {
            /* x[a, b]: a tuple index */
            jnode *tup = mk(p, N_TUPLELIT, c);
            nlist items = {0};
            nl_push(p, &items, parts[0]);
            while (is_op(cur(p), ",")) {
                next(p);
                if (is_op(cur(p), "]")) break;
                nl_push(p, &items, parse_expr(p));
            }
            tup->items = items.v;
            tup->n = items.n;
            parts[0] = tup;
        }
    }
    expect_op(p, "]");
    jnode *n;
    if (is_slice) {
        n = mk(p, N_SLICE, t);
        n->b = parts[0];
        n->c = parts[1];
        n->d = parts[2];
    } else {
        if (!parts[0]) FAIL(t, "expected an expression in []");
        n = mk(p, N_GETITEM, t);
        n->b = parts[0];
    }
    n->a = obj;
    return n;
}

static jnode *parse_postfix(P *p, jnode *n) {
    for (;;) {
        jtoken *t = cur(p);
        if (is_op(t, ".") || is_op(t, "[")) n = parse_subscript(p, n);
        else if (is_op(t, "(")) {
            jnode *c = mk(p, N_CALL, t);
            c->a = n;
            parse_call_args(p, c);
            n = c;
        } else break;
    }
    return n;
}

/* A (possibly dotted) filter or test name into the arena, NUL-terminated. */
static void parse_dotted_name(P *p, jnode *n) {
    jtoken *t = cur(p);
    expect_type(p, T_NAME);
    n->s = t->s;
    n->sn = t->n;
    while (is_op(cur(p), ".") && peek(p, 1)->type == T_NAME) {
        jtoken *u = peek(p, 1);
        char *d = ja_alloc(p->ps->arena, n->sn + 1 + u->n + 1);
        if (!d) { p->ps->err_kind = JE_NOMEM; longjmp(p->ps->jb, 1); }
        memcpy(d, n->s, n->sn);
        d[n->sn] = '.';
        memcpy(d + n->sn + 1, u->s, u->n);
        n->s = d;
        n->sn += 1 + u->n;
        next(p);
        next(p);
    }
}

static jnode *parse_filter_expr(P *p, jnode *n) {
    for (;;) {
        jtoken *t = cur(p);
        if (is_op(t, "|")) {
            next(p);
            jnode *f = mk(p, N_FILTER, t);
            f->a = n;
            parse_dotted_name(p, f);
            if (is_op(cur(p), "(")) parse_call_args(p, f);
            n = f;
        } else if (is_name(t, "is")) {
            next(p);
            jnode *te = mk(p, N_TEST, t);
            te->a = n;
            if (is_name(cur(p), "not")) {
                next(p);
                te->flag = true;
            }
            parse_dotted_name(p, te);
            jtoken *c = cur(p);
            if (is_op(c, "(")) {
                parse_call_args(p, te);
            } else if ((c->type == T_NAME || c->type == T_STRING || c->type == T_INT || c->type == T_FLOAT ||
                        is_op(c, "[") || is_op(c, "{")) &&
                       !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and")) {
                if (is_name(c, "is")) FAIL(c, "You cannot chain multiple tests with is");
                jnode *arg = parse_postfix(p, parse_primary(p));
                te->items = ja_alloc(p->ps->arena, sizeof(jnode *));
                if (!te->items) { p->ps->err_kind = JE_NOMEM; longjmp(p->ps->jb, 1); }
                te->items[0] = arg;
                te->n = 1;
            }
            n = te;
        } else if (is_op(t, "(")) {
            jnode *c = mk(p, N_CALL, t);
            c->a = n;
            parse_call_args(p, c);
            n = c;
        } else break;
    }
    return n;
}

static jnode *parse_unary(P *p, bool with_filter) {
    jtoken *t = cur(p);
    jnode *n;
    if (++p->depth > 256) FAIL(t, "expression nested too deeply");
    if (is_op(t, "-") || is_op(t, "+")) {
        next(p);
        n = mk(p, is_op(t, "-") ? N_NEG : N_POS, t);
        n->a = parse_unary(p, false);
    } else {
        n = parse_primary(p);
    }
    n = parse_postfix(p, n);
    if (with_filter) n = parse_filter_expr(p, n);
    p->depth--;
    return n;
}

static jnode *binop(P *p, jtoken *t, int op, jnode *a, jnode *b) {
    jnode *n = mk(p, N_BINOP, t);
    n->op = (uint8_t)op;
    n->a = a;
    n->b = b;
    return n;
}

static jnode *parse_pow(P *p) {
    jnode *n = parse_unary(p, true);
    while (is_op(cur(p), "**")) {
        jtoken *t = next(p);
        n = binop(p, t, OP_POW, n, parse_unary(p, true));
    }
    return n;
}

static jnode *parse_math2(P *p) {
    jnode *n = parse_pow(p);
    for (;;) {
        jtoken *t = cur(p);
        int op = is_op(t, "*") ? OP_MUL : is_op(t, "/") ? OP_DIV : is_op(t, "//") ? OP_FLOORDIV
               : is_op(t, "%") ? OP_MOD : -1;
        if (op < 0) break;
        next(p);
        n = binop(p, t, op, n, parse_pow(p));
    }
    return n;
}

static jnode *parse_concat(P *p) {
    jnode *n = parse_math2(p);
    while (is_op(cur(p), "~")) {
        jtoken *t = next(p);
        n = binop(p, t, OP_CONCAT, n, parse_math2(p));
    }
    return n;
}

static jnode *parse_math1(P *p) {
    jnode *n = parse_concat(p);
    for (;;) {
        jtoken *t = cur(p);
        int op = is_op(t, "+") ? OP_ADD : is_op(t, "-") ? OP_SUB : -1;
        if (op < 0) break;
        next(p);
        n = binop(p, t, op, n, parse_concat(p));
    }
    return n;
}

static jnode *parse_compare(P *p) {
    jnode *first = parse_math1(p);
    jnode *result = NULL, *left = first;
    for (;;) {
        jtoken *t = cur(p);
        int op = is_op(t, "==") ? OP_EQ : is_op(t, "!=") ? OP_NE : is_op(t, "<") ? OP_LT
               : is_op(t, "<=") ? OP_LE : is_op(t, ">") ? OP_GT : is_op(t, ">=") ? OP_GE
               : is_name(t, "in") ? OP_IN : -1;
        if (op < 0 && is_name(t, "not") && is_name(peek(p, 1), "in")) {
            next(p);
            op = OP_NOTIN;
        }
        if (op < 0) break;
        next(p);
        jnode *right = parse_math1(p);
        jnode *cmp = binop(p, t, op, left, right);
        if (result) {
            jnode *a = mk(p, N_AND, t);
            a->a = result;
            a->b = cmp;
            result = a;
        } else {
            result = cmp;
        }
        left = right;
    }
    return result ? result : first;
}

static jnode *parse_not(P *p) {
    jtoken *t = cur(p);
    if (is_name(t, "not")) {
        next(p);
        jnode *n = mk(p, N_NOT, t);
        if (++p->depth > 256) FAIL(t, "expression nested too deeply");
        n->a = parse_not(p);
        p->depth--;
        return n;
    }
    return parse_compare(p);
}

static jnode *parse_and(P *p) {
    jnode *n = parse_not(p);
    while (is_name(cur(p), "and")) {
        jtoken *t = next(p);
        jnode *a = mk(p, N_AND, t);
        a->a = n;
        a->b = parse_not(p);
        n = a;
    }
    return n;
}

static jnode *parse_or(P *p) {
    jnode *n = parse_and(p);
    while (is_name(cur(p), "or")) {
        jtoken *t = next(p);
        jnode *o = mk(p, N_OR, t);
        o->a = n;
        o->b = parse_and(p);
        n = o;
    }
    return n;
}

static jnode *parse_expr(P *p) {
    jnode *n = parse_or(p);
    while (is_name(cur(p), "if")) {
        jtoken *t = next(p);
        jnode *c = mk(p, N_COND, t);
        c->b = n;
        c->a = parse_or(p);
        if (is_name(cur(p), "else")) {
            next(p);
            c->c = parse_expr(p);
        }
        n = c;
    }
    return n;
}

static jnode *parse_expr_nocond(P *p) { return parse_or(p); }

/* Assignment target: name, name.attr (namespace), or a tuple of names. */
static jnode *parse_target(P *p, bool allow_attr, const char *extra_end) {
    jtoken *start = cur(p);
    nlist names = {0};
    bool paren = false, is_tuple = false;
    if (is_op(start, "(")) {
        paren = true;
        next(p);
    }
    for (;;) {
        jtoken *t = cur(p);
        if (t->type != T_NAME) FAIL(t, "expected a name to assign to, got %s", tok_desc(t));
        next(p);
        jnode *n = mk(p, N_NAME, t);
        n->s = t->s;
        n->sn = t->n;
        if (allow_attr && is_op(cur(p), ".") && peek(p, 1)->type == T_NAME) {
            jtoken *dot = next(p);
            jtoken *a = next(p);
            jnode *g = mk(p, N_GETATTR, dot);
            g->a = n;
            g->s = a->s;
            g->sn = a->n;
            n = g;
        }
        nl_push(p, &names, n);
        if (!is_op(cur(p), ",")) break;
        next(p);
        is_tuple = true;
        if (paren ? is_op(cur(p), ")") : (cur(p)->type != T_NAME || (extra_end && is_name(cur(p), extra_end))))
            break;
    }
    if (paren) expect_op(p, ")");
    if (!is_tuple && !paren) return names.v[0];
    if (!is_tuple && names.n == 1) return names.v[0];
    jnode *tup = mk(p, N_TUPLELIT, start);
    tup->items = names.v;
    tup->n = names.n;
    return tup;
}

static void parse_params(P *p, jnode *owner) {
    nlist params = {0};
    expect_op(p, "(");
    while (!is_op(cur(p), ")")) {
        if (params.n) {
            expect_op(p, ",");
            if (is_op(cur(p), ")")) break;
        }
        jtoken *t = cur(p);
        expect_type(p, T_NAME);
        jnode *pn = mk(p, N_PARAM, t);
        pn->s = t->s;
        pn->sn = t->n;
        if (is_op(cur(p), "=")) {
            next(p);
            pn->a = parse_expr(p);
        } else if (params.n && params.v[params.n - 1]->a) {
            FAIL(t, "non-default argument follows default argument");
        }
        nl_push(p, &params, pn);
    }
    next(p);
    owner->items = params.v;
    owner->n = params.n;
}

static jnode *parse_filter_chain(P *p, jtoken *at) {
    /* name(args) | name(args) ...; the innermost operand (a) stays NULL and
     * stands for the block body. */
    jnode *n = NULL;
    bool first = true;
    for (;;) {
        if (!first) {
            if (!is_op(cur(p), "|")) break;
            next(p);
        }
        first = false;
        jnode *f = mk(p, N_FILTER, at);
        f->a = n;
        parse_dotted_name(p, f);
        if (is_op(cur(p), "(")) parse_call_args(p, f);
        n = f;
    }
    return n;
}

static void end_tag(P *p) { expect_type(p, T_BLOCK_END); }

static jnode *parse_if(P *p, jtoken *t) {
    jnode *n = mk(p, N_IF, t);
    n->a = parse_tuple(p, true, false, NULL);
    end_tag(p);
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const char *hit = NULL;
    n->b = parse_body(p, ends, &hit);
    if (strcmp(hit, "elif") == 0) {
        n->c = parse_if(p, cur(p));
    } else if (strcmp(hit, "else") == 0) {
        end_tag(p);
        static const char *const ends2[] = {"endif", NULL};
        n->c = parse_body(p, ends2, &hit);
        end_tag(p);
    } else {
        end_tag(p);
    }
    return n;
}

static jnode *parse_statement_body(P *p, jtoken *bt, jtoken *t);
static jnode *parse_statement(P *p) {
    jtoken *bt = next(p); /* {% */
    jtoken *t = cur(p);
    if (t->type != T_NAME) FAIL(t, "tag name expected");
    next(p);
    if (p->depth > 256) FAIL(t, "blocks nested too deeply");
    p->depth++;
    jnode *r = parse_statement_body(p, bt, t);
    p->depth--;
    return r;
}

static jnode *parse_statement_body(P *p, jtoken *bt, jtoken *t) {
    const char *hit = NULL;
    if (is_name(t, "if")) return parse_if(p, t);
    if (is_name(t, "for")) {
        jnode *n = mk(p, N_FOR, t);
        n->a = parse_target(p, false, "in");
        if (!is_name(cur(p), "in")) FAIL(cur(p), "expected 'in' in for loop");
        next(p);
        n->b = parse_tuple(p, false, false, "recursive");
        if (is_name(cur(p), "if")) {
            next(p);
            n->e = parse_expr(p);
        }
        if (is_name(cur(p), "recursive")) FAIL(cur(p), "recursive loops are not supported");
        end_tag(p);
        static const char *const ends[] = {"endfor", "else", NULL};
        p->loop_depth++;
        n->c = parse_body(p, ends, &hit);
        p->loop_depth--;
        if (strcmp(hit, "else") == 0) {
            end_tag(p);
            static const char *const ends2[] = {"endfor", NULL};
            n->d = parse_body(p, ends2, &hit);
        }
        end_tag(p);
        return n;
    }
    if (is_name(t, "set")) {
        jnode *target = parse_target(p, true, NULL);
        if (is_op(cur(p), "=")) {
            next(p);
            jnode *n = mk(p, N_SET, t);
            n->a = target;
            n->b = parse_tuple(p, true, false, NULL);
            end_tag(p);
            return n;
        }
        jnode *n = mk(p, N_SETBLOCK, t);
        n->a = target;
        if (is_op(cur(p), "|")) {
            next(p);
            n->c = parse_filter_chain(p, t);
        }
        end_tag(p);
        static const char *const ends[] = {"endset", NULL};
        n->b = parse_body(p, ends, &hit);
        end_tag(p);
        return n;
    }
    if (is_name(t, "macro")) {
        jnode *n = mk(p, N_MACRO, t);
        jtoken *nm = cur(p);
        expect_type(p, T_NAME);
        n->s = nm->s;
        n->sn = nm->n;
        parse_params(p, n);
        end_tag(p);
        static const char *const ends[] = {"endmacro", NULL};
        int saved = p->loop_depth;
        p->loop_depth = 0;
        n->b = parse_body(p, ends, &hit);
        p->loop_depth = saved;
        if (cur(p)->type == T_NAME) next(p);   /* {% endmacro name %} */
        end_tag(p);
        return n;
    }
    if (is_name(t, "call")) {
        jnode *n = mk(p, N_CALLBLOCK, t);
        if (is_op(cur(p), "(")) parse_params(p, n);
        n->a = parse_expr(p);
        if (n->a->kind != N_CALL) FAIL(t, "expected call");
        end_tag(p);
        static const char *const ends[] = {"endcall", NULL};
        int saved = p->loop_depth;
        p->loop_depth = 0;
        n->b = parse_body(p, ends, &hit);
        p->loop_depth = saved;
        end_tag(p);
        return n;
    }
    if (is_name(t, "filter")) {
        jnode *n = mk(p, N_FILTERBLOCK, t);
        n->a = parse_filter_chain(p, t);
        end_tag(p);
        static const char *const ends[] = {"endfilter", NULL};
        n->b = parse_body(p, ends, &hit);
        end_tag(p);
        return n;
    }
    if (is_name(t, "break") || is_name(t, "continue")) {
        if (p->loop_depth == 0) FAIL(t, "'%.*s' outside of a loop", (int)t->n, t->s);
        jnode *n = mk(p, is_name(t, "break") ? N_BREAK : N_CONTINUE, t);
        end_tag(p);
        return n;
    }
    if (p->ps->generation_tag && is_name(t, "generation")) {
        jnode *n = mk(p, N_GENERATION, t);
        end_tag(p);
        static const char *const ends[] = {"endgeneration", NULL};
        n->b = parse_body(p, ends, &hit);
        end_tag(p);
        return n;
    }
    (void)bt;
    FAIL(t, "Encountered unknown tag '%.*s'", (int)t->n, t->s);
}

static jnode *parse_body(P *p, const char *const *ends, const char **hit) {
    nlist items = {0};
    jtoken *start = cur(p);
    for (;;) {
        jtoken *t = cur(p);
        if (t->type == T_EOF) {
            if (ends) {
                char want[128] = "";
                for (int i = 0; ends[i]; i++) {
                    strncat(want, i ? " or '" : "'", sizeof want - strlen(want) - 1);
                    strncat(want, ends[i], sizeof want - strlen(want) - 1);
                    strncat(want, "'", sizeof want - strlen(want) - 1);
                }
                FAIL(t, "Unexpected end of template. Jinja was looking for the following tags: %s", want);
            }
            break;
        }
        if (t->type == T_TEXT) {
            next(p);
            jnode *n = mk(p, N_TEXT, t);
            n->s = t->s;
            n->sn = t->n;
            nl_push(p, &items, n);
            continue;
        }
        if (t->type == T_VAR_BEGIN) {
            next(p);
            jnode *n = mk(p, N_OUTPUT, t);
            n->a = parse_tuple(p, true, false, NULL);
            expect_type(p, T_VAR_END);
            nl_push(p, &items, n);
            continue;
        }
        if (t->type == T_BLOCK_BEGIN) {
            jtoken *name = peek(p, 1);
            if (ends && name->type == T_NAME) {
                bool matched = false;
                for (int i = 0; ends[i]; i++)
                    if (is_name(name, ends[i])) {
                        *hit = ends[i];
                        matched = true;
                    }
                if (matched) {
                    next(p);
                    next(p);
                    break;
                }
            }
            if (name->type == T_NAME &&
                (is_name(name, "endif") || is_name(name, "endfor") || is_name(name, "endset") ||
                 is_name(name, "endmacro") || is_name(name, "endcall") || is_name(name, "endfilter") ||
                 is_name(name, "elif") || is_name(name, "else") || is_name(name, "endgeneration")))
                FAIL(name, "Encountered unknown tag '%.*s'", (int)name->n, name->s);
            nl_push(p, &items, parse_statement(p));
            continue;
        }
        FAIL(t, "unexpected %s", tok_desc(t));
    }
    jnode *b = mk(p, N_BODY, start);
    b->items = items.v;
    b->n = items.n;
    return b;
}

jnode *jinja_parse(jparse_state *ps) {
    P p = {ps, 0, 0};
    return parse_body(&p, NULL, NULL);
}
