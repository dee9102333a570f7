/* json_schema.c: JSON Schema -> GBNF, for constrained JSON output.
 *
 * Supported: type (incl. lists of types), properties / required /
 * additionalProperties, enum, const, items / prefixItems / minItems /
 * maxItems, minLength / maxLength, format date | time | date-time | uuid,
 * integer minimum / maximum / exclusiveMinimum / exclusiveMaximum (any integer
 * range), number bounds that are non-negative integers, anyOf / oneOf, allOf
 * of object schemas (merged), $ref to "#" or "#/<json pointer>" ($defs,
 * definitions), annotations (title, description, default, examples, ...).
 * Anything else is CLLM_ERR_UNSUPPORTED with a message that names the keyword
 * and where it is. Output: GBNF text whose start rule is `root`; values carry
 * no trailing whitespace at the top level, so the grammar completes right
 * after the closing bracket. Required properties come first, in "properties"
 * order, then optional ones in that order. */
#include "core/core.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_REPEAT_ITEMS 1000
#define MAX_INT_BOUND 1000000000000000LL /* 1e15 */

/* ------------------------------------------------------------ strings */
typedef struct sb {
    char *s;
    size_t n, cap;
    bool oom;
} sb;

static void sb_putn(sb *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}
static void sb_puts(sb *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_printf(sb *b, const char *fmt, ...) CLLM_PRINTF(2, 3);
static void sb_printf(sb *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        sb_putn(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}
static char *sb_take(sb *b) {
    char *s = b->s ? b->s : calloc(1, 1);
    b->s = NULL;
    b->n = b->cap = 0;
    return s;
}

/* A GBNF literal for raw bytes. */
static void sb_lit(sb *b, const char *s, size_t n) {
    sb_putn(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') sb_puts(b, "\\\"");
        else if (c == '\\') sb_puts(b, "\\\\");
        else if (c == '\n') sb_puts(b, "\\n");
        else if (c == '\r') sb_puts(b, "\\r");
        else if (c == '\t') sb_puts(b, "\\t");
        else if (c < 0x20 || c == 0x7f) sb_printf(b, "\\x%02X", c);
        else sb_putn(b, (const char *)&c, 1);
    }
    sb_putn(b, "\"", 1);
}

/* ------------------------------------------------------------ converter */
typedef struct rule {
    char *name, *body;
} rule;

typedef struct refmap {
    char *ref, *name;
} refmap;

typedef struct conv {
    json_t *root;
    rule *rules;
    size_t n_rules, cap_rules;
    refmap *refs;
    size_t n_refs, cap_refs;
    char path[512];
    cllm_status st;
    char msg[CLLM_ERRMSG_MAX];
    int depth;
} conv;

static bool failed(const conv *c) { return c->st != CLLM_OK; }

static void cfail(conv *c, cllm_status st, const char *fmt, ...) CLLM_PRINTF(3, 4);
static void cfail(conv *c, cllm_status st, const char *fmt, ...) {
    if (failed(c)) return;
    c->st = st;
    char m[CLLM_ERRMSG_MAX - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(c->msg, sizeof c->msg, "json schema: at %.200s: %.250s", c->path[0] ? c->path : "#", m);
}

static void oom(conv *c) { cfail(c, CLLM_ERR_NOMEM, "out of memory"); }

static rule *find_rule(conv *c, const char *name) {
    for (size_t i = 0; i < c->n_rules; i++)
        if (strcmp(c->rules[i].name, name) == 0) return &c->rules[i];
    return NULL;
}

/* Add a rule named like hint (sanitised; made unique unless an identical rule
 * exists). body may be NULL to reserve the name (set later). Returns the name
 * (owned by c) or NULL on failure. */
static const char *add_rule(conv *c, const char *hint, const char *body) {
    char base[96];
    size_t k = 0;
    for (const char *p = hint; *p && k < sizeof base - 1; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        base[k++] = ok ? ch : '-';
    }
    base[k] = '\0';
    if (k == 0) snprintf(base, sizeof base, "r");
    char name[128];
    snprintf(name, sizeof name, "%s", base);
    for (int i = 1;; i++) {
        rule *r = find_rule(c, name);
        if (!r) break;
        if (body && r->body && strcmp(r->body, body) == 0) return r->name;
        snprintf(name, sizeof name, "%s-%d", base, i);
    }
    if (c->n_rules == c->cap_rules) {
        size_t nc = c->cap_rules ? c->cap_rules * 2 : 32;
        rule *nr = realloc(c->rules, nc * sizeof *nr);
        if (!nr) {
            oom(c);
            return NULL;
        }
        c->rules = nr;
        c->cap_rules = nc;
    }
    rule *r = &c->rules[c->n_rules];
    r->name = strdup(name);
    r->body = body ? strdup(body) : NULL;
    if (!r->name || (body && !r->body)) {
        free(r->name);
        free(r->body);
        oom(c);
        return NULL;
    }
    c->n_rules++;
    return r->name;
}

static const char k_ws[] = "| \" \" | \"\\n\" [ \\t]{0,20}";
static const char k_char[] = "[^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})";
static const char k_integer[] = "\"-\"? (\"0\" | [1-9] [0-9]{0,15})";
static const char k_number[] = "\"-\"? (\"0\" | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?";

/* The named primitive (adding it and what it uses). */
static const char *prim(conv *c, const char *name) {
    if (strcmp(name, "ws") == 0) return add_rule(c, "ws", k_ws);
    if (strcmp(name, "char") == 0) return add_rule(c, "char", k_char);
    if (strcmp(name, "string") == 0) {
        prim(c, "char");
        return add_rule(c, "string", "\"\\\"\" char* \"\\\"\"");
    }
    if (strcmp(name, "integer") == 0) return add_rule(c, "integer", k_integer);
    if (strcmp(name, "number") == 0) return add_rule(c, "number", k_number);
    if (strcmp(name, "boolean") == 0) return add_rule(c, "boolean", "\"true\" | \"false\"");
    if (strcmp(name, "null") == 0) return add_rule(c, "null", "\"null\"");
    if (strcmp(name, "value") == 0) {
        prim(c, "ws");
        prim(c, "string");
        prim(c, "number");
        prim(c, "boolean");
        prim(c, "null");
        add_rule(c, "object", "\"{\" ws ( string ws \":\" ws value ws ( \",\" ws string ws \":\" ws value ws )* )? \"}\"");
        add_rule(c, "array", "\"[\" ws ( value ws ( \",\" ws value ws )* )? \"]\"");
        return add_rule(c, "value", "object | array | string | number | boolean | null");
    }
    if (strcmp(name, "date") == 0) {
        return add_rule(c, "date",
                        "[0-9]{4} \"-\" ( \"02-\" ( \"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8] ) | "
                        "( \"0\" [469] | \"11\" ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"30\" ) | "
                        "( \"0\" [13578] | \"1\" [02] ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"3\" [01] ) )");
    }
    if (strcmp(name, "time") == 0) {
        return add_rule(c, "time",
                        "( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,6} )? "
                        "( \"Z\" | [+-] ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )");
    }
    if (strcmp(name, "date-time") == 0) {
        prim(c, "date");
        prim(c, "time");
        return add_rule(c, "date-time", "date \"T\" time");
    }
    if (strcmp(name, "uuid") == 0) {
        return add_rule(c, "uuid",
                        "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" "
                        "[0-9a-fA-F]{12}");
    }
    return NULL;
}

/* ------------------------------------------------------------ integer ranges */
/* Same-length decimal range [a, b] (digit strings of length n) as GBNF. */
static void range_same_len(sb *o, const char *a, const char *b, size_t n) {
    if (n == 0) return;
    if (strncmp(a, b, n) == 0) {
        sb_lit(o, a, n);
        return;
    }
    if (a[0] == b[0]) {
        sb_lit(o, a, 1);
        sb_puts(o, " ");
        range_same_len(o, a + 1, b + 1, n - 1);
        return;
    }
    bool a_zeros = true, b_nines = true;
    for (size_t i = 1; i < n; i++) {
        a_zeros &= a[i] == '0';
        b_nines &= b[i] == '9';
    }
    char nines[32], zeros[32];
    memset(nines, '9', sizeof nines);
    memset(zeros, '0', sizeof zeros);
    sb_puts(o, "( ");
    bool first = true;
    char start = a[0], end = b[0];
    if (!a_zeros) {
        sb_lit(o, a, 1);
        sb_puts(o, " ");
        range_same_len(o, a + 1, nines, n - 1);
        first = false;
        start = (char)(a[0] + 1);
    }
    if (!b_nines) end = (char)(b[0] - 1);
    if (start <= end) {
        if (!first) sb_puts(o, " | ");
        if (start == end) sb_printf(o, "\"%c\"", start);
        else sb_printf(o, "[%c-%c]", start, end);
        if (n > 1) sb_printf(o, " [0-9]{%zu}", n - 1);
        first = false;
    }
    if (!b_nines) {
        if (!first) sb_puts(o, " | ");
        sb_lit(o, b, 1);
        sb_puts(o, " ");
        range_same_len(o, zeros, b + 1, n - 1);
    }
    sb_puts(o, " )");
}

static size_t ndigits(uint64_t v) {
    size_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static uint64_t pow10u(size_t d) {
    uint64_t p = 1;
    while (d--) p *= 10;
    return p;
}

/* Non-negative integers in [lo, hi] (hi_inf: no upper bound), no leading zeros. */
static void range_nonneg(sb *o, uint64_t lo, uint64_t hi, bool hi_inf) {
    size_t dlo = ndigits(lo), dhi = hi_inf ? dlo : ndigits(hi);
    sb_puts(o, "( ");
    bool first = true;
    for (size_t d = dlo; d <= dhi; d++) {
        uint64_t a = d == dlo ? lo : pow10u(d - 1);
        uint64_t b = (!hi_inf && d == dhi) ? hi : pow10u(d) - 1;
        char as[32], bs[32];
        snprintf(as, sizeof as, "%0*llu", (int)d, (unsigned long long)a);
        snprintf(bs, sizeof bs, "%0*llu", (int)d, (unsigned long long)b);
        if (!first) sb_puts(o, " | ");
        range_same_len(o, as, bs, d);
        first = false;
    }
    if (hi_inf && dlo < 16) sb_printf(o, " | [1-9] [0-9]{%zu,15}", dlo); /* up to 16 digits, as `integer` */
    sb_puts(o, " )");
}

/* Integers in [lo, hi]; lo_inf / hi_inf drop a bound. */
static void range_int(sb *o, int64_t lo, bool lo_inf, int64_t hi, bool hi_inf) {
    bool neg = lo_inf || lo < 0, pos = hi_inf || hi >= 0;
    sb_puts(o, "( ");
    if (neg) {
        /* magnitudes from max(1, -hi) up to -lo */
        uint64_t mlo = (!hi_inf && hi < 0) ? (uint64_t)(-hi) : 1;
        uint64_t mhi = lo_inf ? 0 : (uint64_t)(-lo);
        sb_puts(o, "\"-\" ");
        range_nonneg(o, mlo, mhi, lo_inf);
    }
    if (pos) {
        if (neg) sb_puts(o, " | ");
        range_nonneg(o, (!lo_inf && lo > 0) ? (uint64_t)lo : 0, hi_inf ? 0 : (uint64_t)hi, hi_inf);
    }
    sb_puts(o, " )");
}

/* ------------------------------------------------------------ schema walk */
static char *visit(conv *c, json_t *schema, const char *hint);

static void path_push(conv *c, const char *seg, size_t *saved) {
    *saved = strlen(c->path);
    if (!c->path[0]) snprintf(c->path, sizeof c->path, "#");
    size_t n = strlen(c->path);
    snprintf(c->path + n, sizeof c->path - n, "/%s", seg);
}
static void path_pop(conv *c, size_t saved) { c->path[saved] = '\0'; }

static const char *const k_annotations[] = {"title", "description", "$schema", "$id", "$comment", "default",
                                            "examples", "readOnly", "writeOnly", "deprecated", "$defs",
                                            "definitions", "$anchor", NULL};
static const char *const k_supported[] = {"type", "properties", "required", "additionalProperties", "enum",
                                          "const", "items", "prefixItems", "minItems", "maxItems",
                                          "minLength", "maxLength", "format", "minimum", "maximum",
                                          "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf",
                                          "$ref", NULL};

static bool in_list(const char *k, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (strcmp(k, list[i]) == 0) return true;
    return false;
}

static json_t *resolve_ref(conv *c, const char *ref) {
    if (ref[0] != '#') {
        cfail(c, CLLM_ERR_UNSUPPORTED, "$ref '%s': only local references (\"#...\") are supported", ref);
        return NULL;
    }
    json_t *cur = c->root;
    const char *p = ref + 1;
    if (*p == '\0') return cur;
    if (*p != '/') {
        cfail(c, CLLM_ERR_UNSUPPORTED, "$ref '%s': only JSON-pointer references are supported", ref);
        return NULL;
    }
    while (*p == '/') {
        p++;
        char seg[256];
        size_t k = 0;
        while (*p && *p != '/' && k < sizeof seg - 1) {
            if (p[0] == '~' && p[1] == '0') {
                seg[k++] = '~';
                p += 2;
            } else if (p[0] == '~' && p[1] == '1') {
                seg[k++] = '/';
                p += 2;
            } else {
                seg[k++] = *p++;
            }
        }
        seg[k] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            char *end;
            long idx = strtol(seg, &end, 10);
            cur = (*end || idx < 0) ? NULL : json_array_get(cur, (size_t)idx);
        } else {
            cur = NULL;
        }
        if (!cur) {
            cfail(c, CLLM_ERR_FORMAT, "$ref '%s' does not resolve", ref);
            return NULL;
        }
    }
    return cur;
}

static char *dupstr(conv *c, const char *s) {
    char *d = s ? strdup(s) : NULL;
    if (s && !d) oom(c);
    return d;
}

static char *visit_ref(conv *c, const char *ref) {
    for (size_t i = 0; i < c->n_refs; i++)
        if (strcmp(c->refs[i].ref, ref) == 0) return dupstr(c, c->refs[i].name);
    json_t *target = resolve_ref(c, ref);
    if (!target) return NULL;
    const char *last = strrchr(ref, '/');
    char hint[96];
    snprintf(hint, sizeof hint, "ref-%s", last ? last + 1 : "root");
    const char *name = add_rule(c, hint, NULL);
    if (!name) return NULL;
    if (c->n_refs == c->cap_refs) {
        size_t nc = c->cap_refs ? c->cap_refs * 2 : 16;
        refmap *nr = realloc(c->refs, nc * sizeof *nr);
        if (!nr) {
            oom(c);
            return NULL;
        }
        c->refs = nr;
        c->cap_refs = nc;
    }
    char *nm = dupstr(c, name);
    c->refs[c->n_refs].ref = dupstr(c, ref);
    c->refs[c->n_refs].name = dupstr(c, name);
    c->n_refs++;
    char saved_path[512];
    memcpy(saved_path, c->path, sizeof saved_path);
    snprintf(c->path, sizeof c->path, "%s", ref);
    char *body = visit(c, target, hint);
    memcpy(c->path, saved_path, sizeof saved_path);
    if (!body) {
        free(nm);
        return NULL;
    }
    rule *r = find_rule(c, nm);
    if (r) r->body = body;
    else free(body);
    return nm;
}

/* A value equal to v as GBNF: scalars as their JSON text, objects and arrays
 * member by member with optional whitespace between tokens. */
static void literal_into(conv *c, sb *o, json_t *v) {
    if (json_is_object(v) || json_is_array(v)) {
        prim(c, "ws");
        bool obj = json_is_object(v);
        sb_puts(o, obj ? "\"{\" ws" : "\"[\" ws");
        size_t i = 0;
        if (obj) {
            const char *k;
            json_t *x;
            json_object_foreach(v, k, x) {
                json_t *ks = json_string(k);
                char *kj = ks ? json_dumps(ks, JSON_ENCODE_ANY) : NULL;
                json_decref(ks);
                if (!kj) {
                    oom(c);
                    return;
                }
                sb_puts(o, i++ ? " \",\" ws " : " ");
                sb_lit(o, kj, strlen(kj));
                free(kj);
                sb_puts(o, " ws \":\" ws ");
                literal_into(c, o, x);
                sb_puts(o, " ws");
            }
        } else {
            json_t *x;
            json_array_foreach(v, i, x) {
                sb_puts(o, i ? " \",\" ws " : " ");
                literal_into(c, o, x);
                sb_puts(o, " ws");
            }
        }
        sb_puts(o, obj ? " \"}\"" : " \"]\"");
        return;
    }
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!txt) {
        oom(c);
        return;
    }
    sb_lit(o, txt, strlen(txt));
    free(txt);
}

static char *literal_of(conv *c, json_t *v) {
    sb o = {0};
    literal_into(c, &o, v);
    if (o.oom) oom(c);
    if (failed(c)) {
        free(o.s);
        return NULL;
    }
    return sb_take(&o);
}

static bool get_count(conv *c, json_t *s, const char *key, int64_t *out) {
    json_t *v = json_object_get(s, key);
    if (!v) return false;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        cfail(c, CLLM_ERR_FORMAT, "'%s' must be a non-negative integer", key);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

/* Integer-valued bound from minimum/maximum/exclusive*. */
static bool int_bound(conv *c, json_t *s, bool lower, int64_t *out) {
    const char *k = lower ? "minimum" : "maximum";
    const char *kx = lower ? "exclusiveMinimum" : "exclusiveMaximum";
    json_t *v = json_object_get(s, k), *vx = json_object_get(s, kx);
    bool have = false;
    double best = 0;
    if (v) {
        if (!json_is_number(v)) {
            cfail(c, CLLM_ERR_FORMAT, "'%s' must be a number", k);
            return false;
        }
        double d = json_number_value(v);
        best = lower ? ceil(d) : floor(d);
        have = true;
    }
    if (vx) {
        if (json_is_boolean(vx)) {
            cfail(c, CLLM_ERR_UNSUPPORTED, "boolean '%s' (draft 4) is not supported", kx);
            return false;
        }
        if (!json_is_number(vx)) {
            cfail(c, CLLM_ERR_FORMAT, "'%s' must be a number", kx);
            return false;
        }
        double d = json_number_value(vx);
        double b = lower ? floor(d) + 1 : ceil(d) - 1;
        if (!have || (lower ? b > best : b < best)) best = b;
        have = true;
    }
    if (!have) return false;
    if (fabs(best) > (double)MAX_INT_BOUND) {
        cfail(c, CLLM_ERR_UNSUPPORTED, "integer bound %.0f is beyond +-1e15", best);
        return false;
    }
    *out = (int64_t)best;
    return true;
}

static char *visit_integer(conv *c, json_t *s) {
    int64_t lo = 0, hi = 0;
    bool has_lo = int_bound(c, s, true, &lo);
    bool has_hi = int_bound(c, s, false, &hi);
    if (failed(c)) return NULL;
    if (!has_lo && !has_hi) return dupstr(c, prim(c, "integer"));
    if (has_lo && has_hi && lo > hi) {
        cfail(c, CLLM_ERR_FORMAT, "no integer satisfies the bounds (%lld > %lld)", (long long)lo, (long long)hi);
        return NULL;
    }
    sb o = {0};
    range_int(&o, lo, !has_lo, hi, !has_hi);
    if (o.oom) oom(c);
    return sb_take(&o);
}

static char *visit_number(conv *c, json_t *s) {
    bool any = json_object_get(s, "minimum") || json_object_get(s, "maximum") ||
               json_object_get(s, "exclusiveMinimum") || json_object_get(s, "exclusiveMaximum");
    if (!any) return dupstr(c, prim(c, "number"));
    /* Bounds on non-integers: only [a, b] / [a, inf) with integer a >= 0, b. */
    json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
    if (json_object_get(s, "exclusiveMinimum") || json_object_get(s, "exclusiveMaximum")) {
        cfail(c, CLLM_ERR_UNSUPPORTED, "exclusiveMinimum/exclusiveMaximum on a number (use an integer type)");
        return NULL;
    }
    double a = mn ? json_number_value(mn) : -1, b = mx ? json_number_value(mx) : 0;
    if (!mn || a < 0 || a != floor(a) || (mx && (b != floor(b) || b < a)) || a > (double)MAX_INT_BOUND ||
        b > (double)MAX_INT_BOUND) {
        cfail(c, CLLM_ERR_UNSUPPORTED,
              "minimum/maximum on a number: only non-negative integer bounds with a minimum are supported");
        return NULL;
    }
    sb o = {0};
    sb_puts(&o, "( ");
    if (!mx) {
        range_nonneg(&o, (uint64_t)a, 0, true);
        sb_puts(&o, " (\".\" [0-9]{1,16})?");
    } else {
        if (b > a) {
            range_nonneg(&o, (uint64_t)a, (uint64_t)b - 1, false);
            sb_puts(&o, " (\".\" [0-9]{1,16})? | ");
        }
        sb_printf(&o, "\"%lld\" (\".\" \"0\"{1,16})?", (long long)b);
    }
    sb_puts(&o, " )");
    if (o.oom) oom(c);
    return sb_take(&o);
}

static char *visit_string(conv *c, json_t *s) {
    json_t *f = json_object_get(s, "format");
    if (f) {
        const char *fs = json_string_value(f);
        if (!fs) {
            cfail(c, CLLM_ERR_FORMAT, "'format' must be a string");
            return NULL;
        }
        if (strcmp(fs, "date") && strcmp(fs, "time") && strcmp(fs, "date-time") && strcmp(fs, "uuid")) {
            cfail(c, CLLM_ERR_UNSUPPORTED, "unsupported format '%s' (supported: date, time, date-time, uuid)", fs);
            return NULL;
        }
        sb o = {0};
        sb_printf(&o, "\"\\\"\" %s \"\\\"\"", prim(c, fs));
        return sb_take(&o);
    }
    int64_t mn = 0, mx = -1;
    bool hmn = get_count(c, s, "minLength", &mn), hmx = get_count(c, s, "maxLength", &mx);
    if (failed(c)) return NULL;
    if (!hmn && !hmx) return dupstr(c, prim(c, "string"));
    if (hmx && mx < mn) {
        cfail(c, CLLM_ERR_FORMAT, "maxLength %lld < minLength %lld", (long long)mx, (long long)mn);
        return NULL;
    }
    if (mn > MAX_REPEAT_ITEMS || mx > MAX_REPEAT_ITEMS) {
        cfail(c, CLLM_ERR_UNSUPPORTED, "string length bounds above %d", MAX_REPEAT_ITEMS);
        return NULL;
    }
    prim(c, "char");
    sb o = {0};
    if (hmx) sb_printf(&o, "\"\\\"\" char{%lld,%lld} \"\\\"\"", (long long)mn, (long long)mx);
    else sb_printf(&o, "\"\\\"\" char{%lld,} \"\\\"\"", (long long)mn);
    return sb_take(&o);
}

static char *visit_array(conv *c, json_t *s, const char *hint) {
    json_t *items = json_object_get(s, "items"), *prefix = json_object_get(s, "prefixItems");
    int64_t mn = 0, mx = -1;
    get_count(c, s, "minItems", &mn);
    bool hmx = get_count(c, s, "maxItems", &mx);
    if (failed(c)) return NULL;
    if (mn > MAX_REPEAT_ITEMS || mx > MAX_REPEAT_ITEMS) {
        cfail(c, CLLM_ERR_UNSUPPORTED, "minItems/maxItems above %d", MAX_REPEAT_ITEMS);
        return NULL;
    }
    if (hmx && mx < mn) {
        cfail(c, CLLM_ERR_FORMAT, "maxItems %lld < minItems %lld", (long long)mx, (long long)mn);
        return NULL;
    }
    prim(c, "ws");
    sb o = {0};
    char sub[128];
    size_t saved;
    if (prefix) {
        if (!json_is_array(prefix)) {
            cfail(c, CLLM_ERR_FORMAT, "'prefixItems' must be an array");
            return NULL;
        }
        size_t k = json_array_size(prefix);
        if (hmx && (int64_t)k > mx) {
            cfail(c, CLLM_ERR_UNSUPPORTED, "prefixItems longer than maxItems");
            return NULL;
        }
        sb_puts(&o, "\"[\" ws ");
        for (size_t i = 0; i < k && !failed(c); i++) {
            char seg[48];
            snprintf(seg, sizeof seg, "prefixItems/%zu", i);
            path_push(c, seg, &saved);
            snprintf(sub, sizeof sub, "%.80s-%zu", hint, i);
            char *e = visit(c, json_array_get(prefix, i), sub);
            path_pop(c, saved);
            if (!e) break;
            const char *rn = add_rule(c, sub, e);
            free(e);
            if (!rn) break;
            sb_printf(&o, "%s%s ws ", i ? "\",\" ws " : "", rn);
        }
        bool more = items ? !json_is_false(items) : true;
        if (!items) more = false; /* tuples without "items": exactly the prefix */
        if (more && !failed(c)) {
            path_push(c, "items", &saved);
            snprintf(sub, sizeof sub, "%.80s-item", hint);
            char *e = visit(c, items, sub);
            path_pop(c, saved);
            if (e) {
                const char *rn = add_rule(c, sub, e);
                free(e);
                if (hmx) {
                    if (mx > (int64_t)k) sb_printf(&o, "( \",\" ws %s ws ){0,%lld} ", rn, (long long)(mx - (int64_t)k));
                } else {
                    sb_printf(&o, "( \",\" ws %s ws )* ", rn);
                }
            }
        }
        sb_puts(&o, "\"]\"");
        if (failed(c)) {
            free(sb_take(&o));
            return NULL;
        }
        if (o.oom) oom(c);
        return sb_take(&o);
    }
    const char *it;
    if (items && !json_is_true(items)) {
        if (json_is_false(items)) {
            sb_puts(&o, "\"[\" ws \"]\"");
            return sb_take(&o);
        }
        path_push(c, "items", &saved);
        snprintf(sub, sizeof sub, "%.80s-item", hint);
        char *e = visit(c, items, sub);
        path_pop(c, saved);
        if (!e) return NULL;
        it = add_rule(c, sub, e);
        free(e);
        if (!it) return NULL;
    } else {
        it = prim(c, "value");
    }
    if (hmx && mx == 0) {
        sb_puts(&o, "\"[\" ws \"]\"");
    } else if (mn == 0) {
        if (hmx) sb_printf(&o, "\"[\" ws ( %s ws ( \",\" ws %s ws ){0,%lld} )? \"]\"", it, it, (long long)(mx - 1));
        else sb_printf(&o, "\"[\" ws ( %s ws ( \",\" ws %s ws )* )? \"]\"", it, it);
    } else {
        if (hmx)
            sb_printf(&o, "\"[\" ws %s ws ( \",\" ws %s ws ){%lld,%lld} \"]\"", it, it, (long long)(mn - 1),
                      (long long)(mx - 1));
        else sb_printf(&o, "\"[\" ws %s ws ( \",\" ws %s ws ){%lld,} \"]\"", it, it, (long long)(mn - 1));
    }
    if (o.oom) oom(c);
    return sb_take(&o);
}

static char *visit_object(conv *c, json_t *s, const char *hint) {
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    json_t *addl = json_object_get(s, "additionalProperties");
    if (props && !json_is_object(props)) {
        cfail(c, CLLM_ERR_FORMAT, "'properties' must be an object");
        return NULL;
    }
    if (req && !json_is_array(req)) {
        cfail(c, CLLM_ERR_FORMAT, "'required' must be an array");
        return NULL;
    }
    prim(c, "ws");
    /* No properties and no additionalProperties: any object. */
    if (!props && !addl && !req) return dupstr(c, prim(c, "value") ? "object" : NULL);
    size_t np = props ? json_object_size(props) : 0, nr = req ? json_array_size(req) : 0;
    size_t cap = np + nr;
    char **kv = calloc(cap ? cap : 1, sizeof *kv); /* "key" ws ":" ws value, per property */
    bool *isreq = calloc(cap ? cap : 1, sizeof *isreq);
    if (!kv || !isreq) {
        free(kv);
        free(isreq);
        oom(c);
        return NULL;
    }
    size_t n = 0;
    const char *key;
    json_t *val;
    size_t saved;
    /* properties in declared order, then required names not declared */
    for (int pass = 0; pass < 2 && !failed(c); pass++) {
        size_t count = pass == 0 ? np : nr;
        void *iter = pass == 0 && props ? json_object_iter(props) : NULL;
        for (size_t i = 0; i < count && !failed(c); i++) {
            if (pass == 0) {
                key = json_object_iter_key(iter);
                val = json_object_iter_value(iter);
                iter = json_object_iter_next(props, iter);
            } else {
                key = json_string_value(json_array_get(req, i));
                if (!key) {
                    cfail(c, CLLM_ERR_FORMAT, "'required' must hold strings");
                    break;
                }
                if (props && json_object_get(props, key)) continue;
                val = addl && !json_is_boolean(addl) ? addl : NULL;
            }
            bool r = false;
            for (size_t j = 0; j < nr; j++) {
                const char *rk = json_string_value(json_array_get(req, j));
                if (rk && strcmp(rk, key) == 0) r = true;
            }
            char seg[300];
            snprintf(seg, sizeof seg, "properties/%.200s", key);
            path_push(c, seg, &saved);
            char sub[160];
            snprintf(sub, sizeof sub, "%.80s-%.60s", hint, key);
            char *e = val ? visit(c, val, sub) : dupstr(c, prim(c, "value"));
            path_pop(c, saved);
            if (!e) break;
            const char *vr = add_rule(c, sub, e);
            free(e);
            if (!vr) break;
            json_t *ks = json_string(key);
            char *kj = ks ? json_dumps(ks, JSON_ENCODE_ANY) : NULL;
            json_decref(ks);
            if (!kj) {
                oom(c);
                break;
            }
            sb o = {0};
            sb_lit(&o, kj, strlen(kj));
            free(kj);
            sb_printf(&o, " ws \":\" ws %s", vr);
            char kvname[200];
            snprintf(kvname, sizeof kvname, "%.150s-kv", sub);
            char *body = sb_take(&o);
            const char *kvr = body ? add_rule(c, kvname, body) : NULL;
            free(body);
            if (!kvr) break;
            kv[n] = dupstr(c, kvr);
            isreq[n] = r;
            n++;
        }
    }
    /* additional properties */
    char *extra = NULL;
    if (!failed(c) && addl && !json_is_false(addl)) {
        char sub[160];
        snprintf(sub, sizeof sub, "%.80s-additional", hint);
        path_push(c, "additionalProperties", &saved);
        char *e = json_is_true(addl) ? dupstr(c, prim(c, "value")) : visit(c, addl, sub);
        path_pop(c, saved);
        if (e) {
            const char *vr = add_rule(c, sub, e);
            free(e);
            sb o = {0};
            sb_printf(&o, "%s ws \":\" ws %s", prim(c, "string"), vr ? vr : "value");
            char *body = sb_take(&o);
            char kvname[176];
            snprintf(kvname, sizeof kvname, "%.150s-kv", sub);
            const char *er = body ? add_rule(c, kvname, body) : NULL;
            free(body);
            extra = er ? dupstr(c, er) : NULL;
        }
    }
    sb o = {0};
    if (!failed(c)) {
        sb_puts(&o, "\"{\" ws ");
        size_t n_req = 0;
        for (size_t i = 0; i < n; i++) n_req += isreq[i];
        if (n_req > 0) {
            bool first = true;
            for (size_t i = 0; i < n; i++) {
                if (!isreq[i]) continue;
                sb_printf(&o, "%s%s ws ", first ? "" : "\",\" ws ", kv[i]);
                first = false;
            }
            for (size_t i = 0; i < n; i++)
                if (!isreq[i]) sb_printf(&o, "( \",\" ws %s ws )? ", kv[i]);
            if (extra) sb_printf(&o, "( \",\" ws %s ws )* ", extra);
        } else if (n > 0 || extra) {
            /* Any subset of the optional properties, in order: one
             * alternative per first property present. */
            sb_puts(&o, "( ");
            bool first = true;
            for (size_t i = 0; i < n; i++) {
                sb_printf(&o, "%s%s ws ", first ? "" : "| ", kv[i]);
                for (size_t j = i + 1; j < n; j++) sb_printf(&o, "( \",\" ws %s ws )? ", kv[j]);
                if (extra) sb_printf(&o, "( \",\" ws %s ws )* ", extra);
                first = false;
            }
            if (extra) sb_printf(&o, "%s%s ws ( \",\" ws %s ws )* ", first ? "" : "| ", extra, extra);
            sb_puts(&o, ")? ");
        }
        sb_puts(&o, "\"}\"");
    }
    for (size_t i = 0; i < n; i++) free(kv[i]);
    free(kv);
    free(isreq);
    free(extra);
    if (failed(c)) {
        free(sb_take(&o));
        return NULL;
    }
    if (o.oom) oom(c);
    return sb_take(&o);
}

/* allOf: merge the parent and every (resolved) subschema into one object
 * schema: properties united, required united, the rest first-wins. */
static json_t *merge_all_of(conv *c, json_t *s) {
    json_t *all = json_object_get(s, "allOf");
    if (!json_is_array(all)) {
        cfail(c, CLLM_ERR_FORMAT, "'allOf' must be an array");
        return NULL;
    }
    json_t *m = json_object();
    json_t *props = json_object(), *req = json_array();
    if (!m || !props || !req) {
        json_decref(m);
        json_decref(props);
        json_decref(req);
        oom(c);
        return NULL;
    }
    size_t n = json_array_size(all);
    for (size_t i = 0; i <= n && !failed(c); i++) {
        json_t *sub = i == 0 ? s : json_array_get(all, i - 1);
        for (int hops = 0; sub && json_is_object(sub) && json_object_get(sub, "$ref") && hops < 32; hops++) {
            const char *ref = json_string_value(json_object_get(sub, "$ref"));
            sub = ref ? resolve_ref(c, ref) : NULL;
        }
        if (failed(c)) break;
        if (json_is_true(sub)) continue;
        if (!json_is_object(sub)) {
            cfail(c, CLLM_ERR_UNSUPPORTED, "allOf: item %zu is not an object schema", i - 1);
            break;
        }
        const char *k;
        json_t *v;
        json_object_foreach(sub, k, v) {
            if (strcmp(k, "allOf") == 0 && i == 0) continue;
            if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 || strcmp(k, "oneOf") == 0) {
                cfail(c, CLLM_ERR_UNSUPPORTED, "allOf: nested '%s' inside allOf", k);
                break;
            }
            if (strcmp(k, "properties") == 0 && json_is_object(v)) {
                json_object_update(props, v);
            } else if (strcmp(k, "required") == 0 && json_is_array(v)) {
                json_array_extend(req, v);
            } else if (strcmp(k, "type") == 0) {
                json_t *t = json_object_get(m, "type");
                if (t && !json_equal(t, v)) {
                    cfail(c, CLLM_ERR_UNSUPPORTED, "allOf: conflicting 'type' values");
                    break;
                }
                json_object_set(m, k, v);
            } else if (!json_object_get(m, k)) {
                json_object_set(m, k, v);
            }
        }
    }
    if (json_object_size(props)) json_object_set(m, "properties", props);
    if (json_array_size(req)) json_object_set(m, "required", req);
    json_decref(props);
    json_decref(req);
    if (failed(c)) {
        json_decref(m);
        return NULL;
    }
    return m;
}

static char *visit_alternatives(conv *c, json_t *list, const char *kw, const char *hint) {
    if (!json_is_array(list) || json_array_size(list) == 0) {
        cfail(c, CLLM_ERR_FORMAT, "'%s' must be a non-empty array", kw);
        return NULL;
    }
    sb o = {0};
    sb_puts(&o, "( ");
    for (size_t i = 0; i < json_array_size(list) && !failed(c); i++) {
        char seg[48], sub[128];
        size_t saved;
        snprintf(seg, sizeof seg, "%s/%zu", kw, i);
        snprintf(sub, sizeof sub, "%.80s-%zu", hint, i);
        path_push(c, seg, &saved);
        char *e = visit(c, json_array_get(list, i), sub);
        path_pop(c, saved);
        if (!e) break;
        const char *rn = add_rule(c, sub, e);
        free(e);
        if (!rn) break;
        sb_printf(&o, "%s%s", i ? " | " : "", rn);
    }
    sb_puts(&o, " )");
    if (failed(c)) {
        free(sb_take(&o));
        return NULL;
    }
    if (o.oom) oom(c);
    return sb_take(&o);
}

static char *visit_typed(conv *c, json_t *s, const char *type, const char *hint) {
    if (strcmp(type, "object") == 0) return visit_object(c, s, hint);
    if (strcmp(type, "array") == 0) return visit_array(c, s, hint);
    if (strcmp(type, "string") == 0) return visit_string(c, s);
    if (strcmp(type, "integer") == 0) return visit_integer(c, s);
    if (strcmp(type, "number") == 0) return visit_number(c, s);
    if (strcmp(type, "boolean") == 0) return dupstr(c, prim(c, "boolean"));
    if (strcmp(type, "null") == 0) return dupstr(c, prim(c, "null"));
    cfail(c, CLLM_ERR_FORMAT, "unknown type '%s'", type);
    return NULL;
}

static char *visit(conv *c, json_t *s, const char *hint) {
    if (failed(c)) return NULL;
    if (json_is_true(s)) return dupstr(c, prim(c, "value"));
    if (json_is_false(s)) {
        cfail(c, CLLM_ERR_UNSUPPORTED, "schema 'false' matches nothing");
        return NULL;
    }
    if (!json_is_object(s)) {
        cfail(c, CLLM_ERR_FORMAT, "a schema must be an object or a boolean");
        return NULL;
    }
    if (++c->depth > MAX_DEPTH) {
        cfail(c, CLLM_ERR_UNSUPPORTED, "schema nested deeper than %d", MAX_DEPTH);
        return NULL;
    }
    char *res = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v) {
        if (!in_list(k, k_supported) && !in_list(k, k_annotations)) {
            cfail(c, CLLM_ERR_UNSUPPORTED, "unsupported keyword '%s'", k);
            goto out;
        }
    }
    if ((v = json_object_get(s, "$ref"))) {
        if (!json_is_string(v)) {
            cfail(c, CLLM_ERR_FORMAT, "'$ref' must be a string");
            goto out;
        }
        json_object_foreach(s, k, v) {
            if (strcmp(k, "$ref") && !in_list(k, k_annotations)) {
                cfail(c, CLLM_ERR_UNSUPPORTED, "keyword '%s' next to '$ref'", k);
                goto out;
            }
        }
        res = visit_ref(c, json_string_value(json_object_get(s, "$ref")));
        goto out;
    }
    if ((v = json_object_get(s, "allOf"))) {
        json_t *m = merge_all_of(c, s);
        if (m) {
            res = visit(c, m, hint);
            json_decref(m);
        }
        goto out;
    }
    if ((v = json_object_get(s, "anyOf"))) {
        res = visit_alternatives(c, v, "anyOf", hint);
        goto out;
    }
    if ((v = json_object_get(s, "oneOf"))) {
        res = visit_alternatives(c, v, "oneOf", hint);
        goto out;
    }
    if ((v = json_object_get(s, "const"))) {
        res = literal_of(c, v);
        goto out;
    }
    if ((v = json_object_get(s, "enum"))) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            cfail(c, CLLM_ERR_FORMAT, "'enum' must be a non-empty array");
            goto out;
        }
        sb o = {0};
        sb_puts(&o, "( ");
        for (size_t i = 0; i < json_array_size(v) && !failed(c); i++) {
            char *lit = literal_of(c, json_array_get(v, i));
            if (!lit) break;
            sb_printf(&o, "%s%s", i ? " | " : "", lit);
            free(lit);
        }
        sb_puts(&o, " )");
        if (failed(c)) free(sb_take(&o));
        else res = sb_take(&o);
        goto out;
    }
    json_t *type = json_object_get(s, "type");
    if (json_is_string(type)) {
        res = visit_typed(c, s, json_string_value(type), hint);
    } else if (json_is_array(type)) {
        if (json_array_size(type) == 0) {
            cfail(c, CLLM_ERR_FORMAT, "'type' is an empty array");
            goto out;
        }
        sb o = {0};
        sb_puts(&o, "( ");
        for (size_t i = 0; i < json_array_size(type) && !failed(c); i++) {
            const char *t = json_string_value(json_array_get(type, i));
            if (!t) {
                cfail(c, CLLM_ERR_FORMAT, "'type' list must hold strings");
                break;
            }
            char sub[128];
            snprintf(sub, sizeof sub, "%.80s-%s", hint, t);
            char *e = visit_typed(c, s, t, sub);
            if (!e) break;
            const char *rn = add_rule(c, sub, e);
            free(e);
            if (!rn) break;
            sb_printf(&o, "%s%s", i ? " | " : "", rn);
        }
        sb_puts(&o, " )");
        if (failed(c)) free(sb_take(&o));
        else res = sb_take(&o);
    } else if (type) {
        cfail(c, CLLM_ERR_FORMAT, "'type' must be a string or an array");
    } else if (json_object_get(s, "properties") || json_object_get(s, "additionalProperties") ||
               json_object_get(s, "required")) {
        res = visit_object(c, s, hint);
    } else if (json_object_get(s, "items") || json_object_get(s, "prefixItems") ||
               json_object_get(s, "minItems") || json_object_get(s, "maxItems")) {
        res = visit_array(c, s, hint);
    } else if (json_object_get(s, "minLength") || json_object_get(s, "maxLength") ||
               json_object_get(s, "format")) {
        res = visit_string(c, s);
    } else if (json_object_get(s, "minimum") || json_object_get(s, "maximum") ||
               json_object_get(s, "exclusiveMinimum") || json_object_get(s, "exclusiveMaximum")) {
        res = visit_number(c, s);
    } else {
        res = dupstr(c, prim(c, "value"));
    }
out:
    c->depth--;
    if (failed(c)) {
        free(res);
        return NULL;
    }
    return res;
}

cllm_status cllm_json_schema_to_grammar(const char *schema_json, char **gbnf_out, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (gbnf_out) *gbnf_out = NULL;
    if (!schema_json || !gbnf_out) {
        const char *m = "json schema: NULL argument";
        if (err && errlen) snprintf(err, errlen, "%s", m);
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "%s", m);
    }
    json_error_t je;
    json_t *root = json_loads(schema_json, JSON_DECODE_ANY, &je);
    if (!root) {
        char m[CLLM_ERRMSG_MAX];
        snprintf(m, sizeof m, "json schema: invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        if (err && errlen) snprintf(err, errlen, "%s", m);
        return cllm_set_last_error(CLLM_ERR_FORMAT, "%s", m);
    }
    conv c;
    memset(&c, 0, sizeof c);
    c.root = root;
    /* Reserve "root" first so it leads the output. */
    add_rule(&c, "root", NULL);
    char *body = visit(&c, root, "root");
    sb out = {0};
    if (!failed(&c) && body) {
        c.rules[0].body = body;
        body = NULL;
        for (size_t i = 0; i < c.n_rules; i++)
            sb_printf(&out, "%s ::= %s\n", c.rules[i].name, c.rules[i].body ? c.rules[i].body : "\"\"");
        if (out.oom) oom(&c);
    }
    free(body);
    for (size_t i = 0; i < c.n_rules; i++) {
        free(c.rules[i].name);
        free(c.rules[i].body);
    }
    free(c.rules);
    for (size_t i = 0; i < c.n_refs; i++) {
        free(c.refs[i].ref);
        free(c.refs[i].name);
    }
    free(c.refs);
    json_decref(root);
    if (failed(&c)) {
        free(out.s);
        if (err && errlen) snprintf(err, errlen, "%s", c.msg);
        return cllm_set_last_error(c.st, "%s", c.msg);
    }
    *gbnf_out = sb_take(&out);
    return *gbnf_out ? CLLM_OK : cllm_set_last_error(CLLM_ERR_NOMEM, "json schema: out of memory");
}
