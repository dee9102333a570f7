/* jinja.h: internals of cllm's Jinja engine (the subset of Python jinja2 that
 * chat templates use, with the semantics of Hugging Face's environment:
 * trim_blocks, lstrip_blocks, loopcontrols, immutable sandbox, lenient
 * undefined). Shared by src/chat/jinja_*.c; not part of the public API.
 *
 * Memory: every value and AST node lives in an arena (jarena). The template's
 * AST lives in the template's arena; everything made during one render lives
 * in that render's arena and is released at once when the render ends. Errors
 * unwind with longjmp to the render (or parse) entry point, which is safe
 * because nothing in between owns malloc'd memory outside an arena. */
#ifndef CLLM_CHAT_JINJA_H
#define CLLM_CHAT_JINJA_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ arena */
typedef struct jchunk jchunk;
typedef struct jarena {
    jchunk *head;
    size_t  total;   /* bytes handed out, for the render memory cap */
} jarena;

void *ja_alloc(jarena *a, size_t n);            /* zeroed, 16-byte aligned; NULL on OOM */
void  ja_free_all(jarena *a);

/* ----------------------------------------------------------------- values */
typedef enum jtype {
    JV_UNDEF = 0, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR,
    JV_LIST, JV_DICT, JV_NS, JV_FUNC
} jtype;

typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jfunc jfunc;

typedef struct jv {
    uint8_t t;          /* jtype */
    uint8_t safe;       /* JV_STR: a Markup string (|safe, |escape): `+` escapes the other operand */
    union {
        bool    b;
        int64_t i;
        double  f;
        struct { const char *p; size_t n; } s;   /* UTF-8, not NUL-terminated; for JV_UNDEF: the name */
        jlist  *l;
        jdict  *d;      /* JV_DICT and JV_NS */
        jfunc  *fn;
    } u;
} jv;

/* gen: the result of map/select/... which jinja2 returns as a generator:
 * iterable, always true, but without len() and not JSON serializable. */
struct jlist { jv *v; size_t n, cap; bool tuple, gen, consumed; };
struct jdict { jv *k, *v; size_t n, cap; };

typedef struct jctx jctx;
typedef struct jnode jnode;

/* Call arguments: positional then keyword (names NUL-terminated). */
typedef struct jargs {
    jv *pos; int npos;
    const char **kwn; jv *kwv; int nkw;
} jargs;

typedef jv (*jnative_fn)(jctx *c, jv self, jargs *a);

typedef struct jframe jframe;
struct jfunc {
    const char *name;
    jnative_fn  native;   /* builtin or bound method (self below) */
    jv          self;
    jnode      *macro;    /* a macro or a call block's caller */
    jframe     *closure;  /* frame the macro was defined in */
    jfunc      *caller;   /* for macros invoked by a call block */
};

/* Constructors (strings are copied into the arena unless _ref). */
static inline jv jv_undef(void) { jv v = {0}; v.t = JV_UNDEF; return v; }
static inline jv jv_none(void) { jv v = {0}; v.t = JV_NONE; return v; }
static inline jv jv_bool(bool b) { jv v = {0}; v.t = JV_BOOL; v.u.b = b; return v; }
static inline jv jv_int(int64_t i) { jv v = {0}; v.t = JV_INT; v.u.i = i; return v; }
static inline jv jv_float(double f) { jv v = {0}; v.t = JV_FLOAT; v.u.f = f; return v; }
static inline jv jv_str_ref(const char *p, size_t n) { jv v = {0}; v.t = JV_STR; v.u.s.p = p; v.u.s.n = n; return v; }
jv jv_str(jctx *c, const char *p, size_t n);
jv jv_cstr(jctx *c, const char *s);
jv jv_list(jctx *c, size_t cap);
jv jv_dict(jctx *c, size_t cap);
void jl_push(jctx *c, jlist *l, jv v);
void jd_set(jctx *c, jdict *d, jv k, jv v);
/* Lookup by string key; NULL when absent. */
jv *jd_get(jdict *d, const char *k, size_t n);
jv *jd_getv(jctx *c, jdict *d, jv k);
jv jv_func_native(jctx *c, const char *name, jnative_fn fn, jv self);

bool jv_truthy(jv v);
bool jv_is_str(jv v, const char *s);
const char *jv_type_name(jv v);      /* Python type name for messages */

/* Equality as Python ==; ordering for sort/min/max/<: returns -1/0/1, or
 * raises TypeError on incomparable types. */
bool jv_eq(jv a, jv b);
int  jv_cmp(jctx *c, jv a, jv b, bool case_insensitive);

/* ------------------------------------------------------------ string buf */
typedef struct jbuf { char *p; size_t n, cap; jctx *c; } jbuf;  /* arena-backed when c != NULL */
void jb_put(jbuf *b, const char *s, size_t n);
void jb_puts(jbuf *b, const char *s);
void jb_putc(jbuf *b, char ch);
void jb_printf(jbuf *b, const char *fmt, ...);
jv   jb_take(jbuf *b);                /* the buffer as a string value */

/* Python str() and repr(); tojson as json.dumps. */
void jv_write_str(jctx *c, jbuf *b, jv v);
void jv_write_repr(jctx *c, jbuf *b, jv v);
jv   jv_to_str(jctx *c, jv v);
void jv_format_float(double f, char *out, size_t cap);   /* Python repr(float) */
typedef struct jjson_opts {
    bool ensure_ascii, sort_keys;
    const char *indent;   /* NULL: no indent */
    const char *item_sep, *key_sep;
} jjson_opts;
void jv_write_json(jctx *c, jbuf *b, jv v, const jjson_opts *o, int level);
jv   jv_html_escape(jctx *c, jv s);   /* markupsafe.escape: & < > ' " */

/* UTF-8 helpers: code point count, byte offset of code point i. */
size_t u8_len(const char *p, size_t n);
size_t u8_offset(const char *p, size_t n, size_t cp_index);
uint32_t u8_decode(const char *p, size_t n, size_t *adv);
void u8_encode(jbuf *b, uint32_t cp);
bool u8_is_space(uint32_t cp);   /* Python str.isspace() */

/* ------------------------------------------------------------------- AST */
typedef enum jnkind {
    /* statements */
    N_TEXT, N_OUTPUT, N_BODY, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_CALLBLOCK,
    N_FILTERBLOCK, N_BREAK, N_CONTINUE, N_GENERATION,
    /* expressions */
    N_LIT, N_NAME, N_GETATTR, N_GETITEM, N_SLICE, N_CALL, N_KWARG, N_FILTER, N_TEST,
    N_NEG, N_POS, N_NOT, N_BINOP, N_AND, N_OR, N_COND, N_LISTLIT, N_TUPLELIT, N_DICTLIT,
    N_PARAM
} jnkind;

typedef enum jop {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN
} jop;

struct jnode {
    uint8_t kind, op;
    bool    flag;        /* N_TEST: negated; N_FOR: has filter */
    int     line, col;
    jnode  *a, *b, *c, *d, *e;
    jnode **items; int n;
    const char *s; size_t sn;   /* names are NUL-terminated */
    jv      lit;
};

/* --------------------------------------------------------------- lexer */
typedef enum jtok {
    T_EOF, T_TEXT, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END,
    T_NAME, T_STRING, T_INT, T_FLOAT, T_OP
} jtok;

typedef struct jtoken {
    uint8_t type;
    int line, col;
    const char *s; size_t n;   /* text, name, decoded string, or operator */
    int64_t i; double f;
} jtoken;

/* Error kinds, named after the Python exception the same failure raises. */
typedef enum jerr_kind {
    JE_NONE = 0, JE_SYNTAX, JE_TEMPLATE, JE_UNDEFINED, JE_TYPE, JE_SECURITY,
    JE_RECURSION, JE_RUNTIME, JE_VALUE, JE_ZERODIV, JE_INDEX, JE_NOMEM
} jerr_kind;

typedef struct jparse_state {
    jarena *arena;
    jmp_buf jb;
    jerr_kind err_kind;
    char err[512];
    const char *src; size_t srcn;
    jtoken *toks; size_t ntok, cap, pos;
    bool generation_tag;
} jparse_state;

void jinja_lex(jparse_state *ps);                 /* fills toks; longjmps on error */
jnode *jinja_parse(jparse_state *ps);             /* the template body */
void jinja_syntax_error(jparse_state *ps, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5), noreturn))
#endif
    ;

/* ----------------------------------------------------------- interpreter */
struct jframe {
    jframe *parent;
    jdict   vars;
};

struct jctx {
    jarena  arena;
    jmp_buf jb;
    jerr_kind err_kind;
    char    err[1024];
    jnode  *at;          /* node being evaluated, for error positions */
    jframe *globals;     /* builtins + context */
    int     depth;
    int     loopctl;     /* 0, 1 = break, 2 = continue */
    jbuf    out;         /* the render's output */
    size_t  max_bytes;
    bool    real_clock;
    long    steps;       /* statements executed, against a hang guard */  /* strftime_now: local time instead of the fixed reference date */
};

void jinja_raise(jctx *c, jerr_kind k, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;
void jinja_oom(jctx *c)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

jv   jinja_eval(jctx *c, jnode *n, jframe *f);
void jinja_exec(jctx *c, jnode *n, jframe *f, jbuf *out);
jv   jinja_call(jctx *c, jv callee, jargs *a);
jv   jinja_getattr(jctx *c, jv obj, const char *name, size_t n);
jv   jinja_getitem(jctx *c, jv obj, jv key);
/* Iterate: returns a list (strings give characters, dicts their keys). */
jlist *jinja_iter(jctx *c, jv v);
int64_t jinja_length(jctx *c, jv v);

/* Filters, tests, methods, globals. */
typedef jv (*jfilter_fn)(jctx *c, jv val, jargs *a);
jfilter_fn jinja_find_filter(const char *name);
typedef bool (*jtest_fn)(jctx *c, jv val, jargs *a);
jtest_fn jinja_find_test(const char *name);
jv   jinja_method(jctx *c, jv obj, const char *name, size_t n, bool *found);
void jinja_add_globals(jctx *c, jdict *g);
jv   jinja_apply_filter(jctx *c, const char *name, jv val, jargs *a);
bool jinja_apply_test(jctx *c, const char *name, jv val, jargs *a);

/* String helpers shared by methods and filters (jinja_builtins.c). */
jv jinja_str_strip(jctx *c, jv s, jv *chars, bool left, bool right);
jv jinja_str_split(jctx *c, jv s, jv *sep, int64_t maxsplit, bool from_right);
jv jinja_str_replace(jctx *c, jv s, jv old, jv nw, int64_t count);
jv jinja_str_case(jctx *c, jv s, int mode);   /* 0 lower, 1 upper, 2 capitalize, 3 str.title, 4 swapcase */

/* Argument helpers: positional i or keyword name, else NULL. */
jv *jarg(jargs *a, int i, const char *name);
void jargs_check_max(jctx *c, jargs *a, int max_pos, const char *fname);

#endif /* CLLM_CHAT_JINJA_H */
