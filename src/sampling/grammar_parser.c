/* grammar_parser.c: GBNF text -> cllm_gbnf (flat element array).
 *
 * Syntax (as llama.cpp's grammars): `name ::= alternatives` rules separated by
 * newlines; alternatives `a | b`; sequences of "literals", [classes] ([^...]
 * negated, a-z ranges), `.`, rule names, ( groups ), token references
 * <[id]> / <text> (a token whose text is exactly "<text>"), negated with a
 * leading `!`; postfix repetition * + ? {m} {m,} {m,n}; `#` comments.
 * Repetition is expanded into generated right-recursive rules. After parsing,
 * undefined rules, a missing root and left recursion (which would make the
 * matcher loop) are errors that name the rule and its line and column. */
#include "sampling/grammar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 200
#define MAX_RULE_CHAIN 2000 /* rules reachable in a row at one input position */
#define MAX_ELEMS (4u << 20) /* elements after expanding repetitions (x++++... doubles each time) */
#define MAX_REPEAT 10000u
#define UNBOUNDED UINT32_MAX

typedef struct evec {
    gr_elem *v;
    size_t n, cap;
} evec;

typedef struct sym {
    char *name;
    evec rule;
    bool defined;
    size_t ref_pos;  /* first reference (for "undefined rule" errors) */
    size_t def_pos;  /* definition (for left-recursion errors) */
} sym;

typedef struct parser {
    const char *src;
    const char *err_at;
    cllm_err *err;
    bool failed;
    sym *syms;
    size_t n_syms, cap_syms;
    size_t n_generated;
    size_t *htab;
    size_t hcap;
    int depth;
    size_t n_elems_total;
    const char *at;            /* current position, for "too large" errors */
    const cllm_vocab_view *vocab;
} parser;

static void line_col(const char *src, const char *at, int *line, int *col) {
    int l = 1, c = 1;
    for (const char *p = src; p < at && *p; p++) {
        if (*p == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void fail(parser *ps, const char *at, const char *fmt, ...) CLLM_PRINTF(3, 4);
static void fail(parser *ps, const char *at, const char *fmt, ...) {
    if (ps->failed) return;
    ps->failed = true;
    char msg[CLLM_ERRMSG_MAX - 48];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    line_col(ps->src, at, &line, &col);
    cllm_err_set(ps->err, CLLM_ERR_FORMAT, "grammar: line %d, column %d: %s", line, col, msg);
}

static bool evec_push(parser *ps, evec *e, uint32_t type, uint32_t value) {
    if (ps->failed) return false;
    if (++ps->n_elems_total > MAX_ELEMS) {
        fail(ps, ps->at ? ps->at : ps->src, "grammar too large (over %u elements after expanding repetitions)",
             MAX_ELEMS);
        return false;
    }
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 16;
        gr_elem *nv = realloc(e->v, nc * sizeof *nv);
        if (!nv) {
            ps->failed = true;
            cllm_err_set(ps->err, CLLM_ERR_NOMEM, "grammar: out of memory");
            return false;
        }
        e->v = nv;
        e->cap = nc;
    }
    e->v[e->n].type = type;
    e->v[e->n].value = value;
    e->n++;
    return true;
}

static bool evec_append(parser *ps, evec *e, const gr_elem *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!evec_push(ps, e, src[i].type, src[i].value)) return false;
    return true;
}

static uint64_t name_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Open-addressing index over syms (slots hold id + 1; 0 = empty). */
static bool htab_grow(parser *ps) {
    size_t nc = ps->hcap ? ps->hcap * 2 : 64;
    size_t *nt = calloc(nc, sizeof *nt);
    if (!nt) return false;
    for (size_t i = 0; i < ps->n_syms; i++) {
        const char *nm = ps->syms[i].name;
        size_t k = name_hash(nm, strlen(nm)) & (nc - 1);
        while (nt[k]) k = (k + 1) & (nc - 1);
        nt[k] = i + 1;
    }
    free(ps->htab);
    ps->htab = nt;
    ps->hcap = nc;
    return true;
}

/* Symbol id for a name (added, undefined, on first sight); -1 on OOM. */
static long sym_get(parser *ps, const char *name, size_t len, size_t pos) {
    if (ps->hcap) {
        size_t k = name_hash(name, len) & (ps->hcap - 1);
        while (ps->htab[k]) {
            const char *nm = ps->syms[ps->htab[k] - 1].name;
            if (strlen(nm) == len && memcmp(nm, name, len) == 0) return (long)(ps->htab[k] - 1);
            k = (k + 1) & (ps->hcap - 1);
        }
    }
    if ((ps->n_syms + 1) * 2 > ps->hcap && !htab_grow(ps)) goto oom;
    if (ps->n_syms == ps->cap_syms) {
        size_t nc = ps->cap_syms ? ps->cap_syms * 2 : 32;
        sym *ns = realloc(ps->syms, nc * sizeof *ns);
        if (!ns) goto oom;
        ps->syms = ns;
        ps->cap_syms = nc;
    }
    sym *s = &ps->syms[ps->n_syms];
    memset(s, 0, sizeof *s);
    s->name = malloc(len + 1);
    if (!s->name) goto oom;
    memcpy(s->name, name, len);
    s->name[len] = '\0';
    s->ref_pos = pos;
    s->def_pos = pos;
    size_t k = name_hash(name, len) & (ps->hcap - 1);
    while (ps->htab[k]) k = (k + 1) & (ps->hcap - 1);
    ps->htab[k] = ps->n_syms + 1;
    return (long)ps->n_syms++;
oom:
    ps->failed = true;
    cllm_err_set(ps->err, CLLM_ERR_NOMEM, "grammar: out of memory");
    return -1;
}

/* A fresh rule for a group or repetition of rule `base` ("base~N"). */
static long sym_generate(parser *ps, long base) {
    char buf[160];
    snprintf(buf, sizeof buf, "%.120s~%zu", ps->syms[base].name, ++ps->n_generated);
    long id = sym_get(ps, buf, strlen(buf), ps->syms[base].def_pos);
    if (id >= 0) {
        ps->syms[id].defined = true;
        ps->syms[id].def_pos = ps->syms[base].def_pos;
    }
    return id;
}

static bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static const char *skip_space(const char *p, bool newline_ok) {
    for (;;) {
        if (*p == ' ' || *p == '\t') {
            p++;
        } else if (*p == '#') {
            while (*p && *p != '\n' && *p != '\r') p++;
        } else if (newline_ok && (*p == '\n' || *p == '\r')) {
            p++;
        } else {
            return p;
        }
    }
}

static const char *parse_name(parser *ps, const char *p) {
    const char *s = p;
    while (is_word_char(*p)) p++;
    if (p == s) fail(ps, s, "expecting a rule name");
    return p;
}

/* Decode one UTF-8 code point; on malformed input, fail. */
static const char *decode_utf8_one(parser *ps, const char *p, uint32_t *out) {
    const unsigned char *u = (const unsigned char *)p;
    unsigned char b = u[0];
    int n;
    uint32_t v;
    if (b < 0x80) {
        *out = b;
        return p + 1;
    } else if ((b & 0xe0) == 0xc0) {
        n = 1;
        v = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
        n = 2;
        v = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
        n = 3;
        v = b & 0x07;
    } else {
        fail(ps, p, "invalid UTF-8 byte 0x%02x", b);
        return p + 1;
    }
    for (int i = 1; i <= n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            fail(ps, p, "truncated UTF-8 sequence");
            return p + 1;
        }
        v = (v << 6) | (u[i] & 0x3f);
    }
    *out = v;
    return p + 1 + n;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a literal or class, with escapes. */
static const char *parse_char(parser *ps, const char *p, uint32_t *out) {
    if (*p != '\\') return decode_utf8_one(ps, p, out);
    const char *at = p;
    p++;
    int nhex = 0;
    switch (*p) {
    case 'x': nhex = 2; break;
    case 'u': nhex = 4; break;
    case 'U': nhex = 8; break;
    case 't': *out = '\t'; return p + 1;
    case 'r': *out = '\r'; return p + 1;
    case 'n': *out = '\n'; return p + 1;
    case '\\': case '"': case '[': case ']': case '-': case '^': case '/':
        *out = (unsigned char)*p;
        return p + 1;
    case '\0':
        fail(ps, at, "unexpected end of input after '\\'");
        return p;
    default:
        fail(ps, at, "unknown escape '\\%c'", *p);
        return p + 1;
    }
    p++;
    uint32_t v = 0;
    for (int i = 0; i < nhex; i++) {
        int h = hexval(p[i]);
        if (h < 0) {
            fail(ps, at, "expecting %d hex digits after '\\%c'", nhex, p[-1]);
            return p;
        }
        v = (v << 4) | (uint32_t)h;
    }
    if (v > 0x10ffff) {
        fail(ps, at, "code point U+%X out of range", v);
        return p + nhex;
    }
    *out = v;
    return p + nhex;
}

static const char *parse_int(parser *ps, const char *p, uint32_t *out) {
    const char *s = p;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > MAX_REPEAT) {
            fail(ps, s, "repetition count too large (max %u)", MAX_REPEAT);
            return p;
        }
        p++;
    }
    if (p == s) fail(ps, s, "expecting an integer");
    *out = (uint32_t)v;
    return p;
}

static const char *parse_alternatives(parser *ps, const char *p, long rule_id, bool nested);

/* Replace out[last..n) by min..max copies of itself (max UNBOUNDED = no
 * limit), using generated rules for the optional part. */
static void handle_repetition(parser *ps, evec *out, size_t last, long rule_id, uint32_t min,
                              uint32_t max, const char *at) {
    if (last == out->n) {
        fail(ps, at, "expecting an item before the repetition operator");
        return;
    }
    if (max != UNBOUNDED && max < min) {
        fail(ps, at, "repetition {%u,%u}: max is below min", min, max);
        return;
    }
    size_t plen = out->n - last;
    gr_elem *prev = malloc(plen * sizeof *prev);
    if (!prev) {
        fail(ps, at, "out of memory");
        return;
    }
    memcpy(prev, out->v + last, plen * sizeof *prev);
    out->n = last;
    for (uint32_t i = 0; i < min && !ps->failed; i++) evec_append(ps, out, prev, plen);
    if (max == UNBOUNDED) {
        /* rec ::= prev rec | */
        long rec = sym_generate(ps, rule_id);
        if (rec >= 0) {
            evec *r = &ps->syms[rec].rule;
            evec_append(ps, r, prev, plen);
            evec_push(ps, r, GR_RULE_REF, (uint32_t)rec);
            evec_push(ps, r, GR_ALT, 0);
            evec_push(ps, r, GR_END, 0);
            evec_push(ps, out, GR_RULE_REF, (uint32_t)rec);
        }
    } else if (max > min) {
        /* opt_1 ::= prev | ;  opt_k ::= prev opt_{k-1} | */
        long inner = -1;
        for (uint32_t k = 0; k < max - min && !ps->failed; k++) {
            long r_id = sym_generate(ps, rule_id);
            if (r_id < 0) break;
            evec *r = &ps->syms[r_id].rule;
            evec_append(ps, r, prev, plen);
            if (inner >= 0) evec_push(ps, r, GR_RULE_REF, (uint32_t)inner);
            evec_push(ps, r, GR_ALT, 0);
            evec_push(ps, r, GR_END, 0);
            inner = r_id;
        }
        if (inner >= 0) evec_push(ps, out, GR_RULE_REF, (uint32_t)inner);
    }
    free(prev);
}

/* A token reference starting at '<' (after an optional '!'). */
static const char *parse_token_ref(parser *ps, const char *p, evec *out, bool negated) {
    const char *at = p;
    const char *end = strchr(p, '>');
    if (!end) {
        fail(ps, at, "unterminated token reference '<'");
        return p + strlen(p);
    }
    uint32_t type = negated ? GR_TOKEN_NOT : GR_TOKEN;
    if (p[1] == '[') {
        const char *q = p + 2;
        uint32_t id = 0;
        const char *s = q;
        while (*q >= '0' && *q <= '9') {
            id = id * 10 + (uint32_t)(*q - '0');
            if (id > INT32_MAX / 10) {
                fail(ps, s, "token id too large");
                return end + 1;
            }
            q++;
        }
        if (q == s || q[0] != ']' || q[1] != '>') {
            fail(ps, at, "expecting <[number]>");
            return end + 1;
        }
        if (ps->vocab && (int32_t)id >= ps->vocab->n_vocab) {
            fail(ps, at, "token id %u out of range (vocab has %d tokens)", id, ps->vocab->n_vocab);
            return end + 1;
        }
        evec_push(ps, out, type, id);
        return q + 2;
    }
    size_t len = (size_t)(end + 1 - p);
    if (!ps->vocab || (!ps->vocab->piece && !ps->vocab->find)) {
        fail(ps, at, "token reference '%.*s' needs a vocabulary", (int)(len > 100 ? 100 : len), p);
        return end + 1;
    }
    if (ps->vocab->find) {
        int32_t id = ps->vocab->find(ps->vocab->user, p, len);
        if (id >= 0 && id < ps->vocab->n_vocab) {
            evec_push(ps, out, type, (uint32_t)id);
            return end + 1;
        }
        fail(ps, at, "no token has the text '%.*s'", (int)(len > 100 ? 100 : len), p);
        return end + 1;
    }
    for (int32_t id = 0; id < ps->vocab->n_vocab; id++) {
        size_t pl = 0;
        const char *pc = ps->vocab->piece(ps->vocab->user, id, &pl);
        if (pc && pl == len && memcmp(pc, p, len) == 0) {
            evec_push(ps, out, type, (uint32_t)id);
            return end + 1;
        }
    }
    fail(ps, at, "no token has the text '%.*s'", (int)(len > 100 ? 100 : len), p);
    return end + 1;
}

static const char *parse_sequence(parser *ps, const char *p, long rule_id, evec *out, bool nested) {
    size_t last = out->n;
    while (*p && !ps->failed) {
        ps->at = p;
        if (*p == '"') {
            p++;
            last = out->n;
            while (*p != '"') {
                if (!*p) {
                    fail(ps, p, "unterminated literal (missing '\"')");
                    return p;
                }
                uint32_t c;
                p = parse_char(ps, p, &c);
                if (ps->failed) return p;
                evec_push(ps, out, GR_CHAR, c);
            }
            p = skip_space(p + 1, nested);
        } else if (*p == '[') {
            const char *at = p;
            p++;
            uint32_t start_type = GR_CHAR;
            if (*p == '^') {
                p++;
                start_type = GR_CHAR_NOT;
            }
            last = out->n;
            while (*p != ']') {
                if (!*p) {
                    fail(ps, at, "unterminated character class (missing ']')");
                    return p;
                }
                uint32_t c;
                p = parse_char(ps, p, &c);
                if (ps->failed) return p;
                evec_push(ps, out, out->n > last ? GR_CHAR_ALT : start_type, c);
                if (p[0] == '-' && p[1] && p[1] != ']') {
                    uint32_t hi;
                    const char *rat = p;
                    p = parse_char(ps, p + 1, &hi);
                    if (ps->failed) return p;
                    if (hi < c) {
                        fail(ps, rat, "character range is reversed (U+%04X-U+%04X)", c, hi);
                        return p;
                    }
                    evec_push(ps, out, GR_CHAR_RNG_UPPER, hi);
                }
            }
            if (out->n == last) {
                if (start_type == GR_CHAR_NOT) {
                    /* [^] matches any character */
                    evec_push(ps, out, GR_CHAR_ANY, 0);
                } else {
                    fail(ps, at, "empty character class");
                    return p;
                }
            }
            p = skip_space(p + 1, nested);
        } else if (is_word_char(*p)) {
            const char *s = p;
            p = parse_name(ps, p);
            long id = sym_get(ps, s, (size_t)(p - s), (size_t)(s - ps->src));
            if (id < 0) return p;
            last = out->n;
            evec_push(ps, out, GR_RULE_REF, (uint32_t)id);
            p = skip_space(p, nested);
        } else if (*p == '(') {
            const char *at = p;
            if (++ps->depth > MAX_NESTING) {
                fail(ps, at, "groups nested too deeply");
                return p;
            }
            p = skip_space(p + 1, true);
            long sub = sym_generate(ps, rule_id);
            if (sub < 0) return p;
            p = parse_alternatives(ps, p, sub, true);
            if (ps->failed) return p;
            ps->depth--;
            last = out->n;
            evec_push(ps, out, GR_RULE_REF, (uint32_t)sub);
            if (*p != ')') {
                fail(ps, p, "expecting ')' to close the group");
                return p;
            }
            p = skip_space(p + 1, nested);
        } else if (*p == '.') {
            last = out->n;
            evec_push(ps, out, GR_CHAR_ANY, 0);
            p = skip_space(p + 1, nested);
        } else if (*p == '<' || (*p == '!' && p[1] == '<')) {
            bool neg = *p == '!';
            if (neg) p++;
            last = out->n;
            p = parse_token_ref(ps, p, out, neg);
            p = skip_space(p, nested);
        } else if (*p == '*' || *p == '+' || *p == '?') {
            uint32_t mn = *p == '+' ? 1 : 0, mx = *p == '?' ? 1 : UNBOUNDED;
            handle_repetition(ps, out, last, rule_id, mn, mx, p);
            p = skip_space(p + 1, nested);
        } else if (*p == '{') {
            const char *at = p;
            uint32_t mn = 0, mx = 0;
            p = skip_space(p + 1, nested);
            p = parse_int(ps, p, &mn);
            if (ps->failed) return p;
            p = skip_space(p, nested);
            if (*p == '}') {
                mx = mn;
            } else if (*p == ',') {
                p = skip_space(p + 1, nested);
                if (*p == '}') {
                    mx = UNBOUNDED;
                } else {
                    p = parse_int(ps, p, &mx);
                    if (ps->failed) return p;
                    p = skip_space(p, nested);
                }
            } else {
                fail(ps, p, "expecting ',' or '}' in repetition");
                return p;
            }
            if (*p != '}') {
                fail(ps, p, "expecting '}' to close the repetition");
                return p;
            }
            handle_repetition(ps, out, last, rule_id, mn, mx, at);
            p = skip_space(p + 1, nested);
        } else {
            break;
        }
    }
    return p;
}

static const char *parse_alternatives(parser *ps, const char *p, long rule_id, bool nested) {
    evec seq = {0};
    p = parse_sequence(ps, p, rule_id, &seq, nested);
    while (!ps->failed && *p == '|') {
        evec_push(ps, &seq, GR_ALT, 0);
        p = skip_space(p + 1, true);
        p = parse_sequence(ps, p, rule_id, &seq, nested);
    }
    evec_push(ps, &seq, GR_END, 0);
    /* A generated rule may already hold elements only if it is a repetition
     * rule, never a group: groups get a fresh symbol. */
    free(ps->syms[rule_id].rule.v);
    ps->syms[rule_id].rule = seq;
    return p;
}

/* ------------------------------------------------------ checks after parse */
static bool is_terminal(uint32_t t) { return t >= GR_CHAR && t != GR_RULE_REF; }

static void compute_nullable(parser *ps, bool *nullable) {
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t r = 0; r < ps->n_syms; r++) {
            if (nullable[r]) continue;
            const evec *e = &ps->syms[r].rule;
            bool alt_ok = true;
            for (size_t i = 0; i < e->n; i++) {
                uint32_t t = e->v[i].type;
                if (t == GR_END || t == GR_ALT) {
                    if (alt_ok) {
                        nullable[r] = true;
                        changed = true;
                        break;
                    }
                    alt_ok = true;
                } else if (t == GR_RULE_REF) {
                    if (!nullable[e->v[i].value]) alt_ok = false;
                } else if (is_terminal(t)) {
                    alt_ok = false;
                }
            }
        }
    }
}

/* DFS over "rule r can start with rule x" edges; a back edge is left recursion. */
static long find_left_cycle(parser *ps, const bool *nullable, uint8_t *color, size_t r, int depth) {
    if (depth > MAX_RULE_CHAIN) return -2;
    color[r] = 1;
    const evec *e = &ps->syms[r].rule;
    bool at_start = true;
    for (size_t i = 0; i < e->n; i++) {
        uint32_t t = e->v[i].type;
        if (t == GR_END || t == GR_ALT) {
            at_start = true;
            continue;
        }
        if (!at_start) continue;
        if (t == GR_RULE_REF) {
            size_t x = e->v[i].value;
            if (color[x] == 1) return (long)x;
            if (color[x] == 0) {
                long c = find_left_cycle(ps, nullable, color, x, depth + 1);
                if (c != -1) return c;
            }
            if (!nullable[x]) at_start = false;
        } else {
            at_start = false;
        }
    }
    color[r] = 2;
    return -1;
}

/* Name of the user rule a (possibly generated) rule belongs to. */
static void user_name(const char *name, char *buf, size_t n) {
    size_t len = strcspn(name, "~");
    if (len >= n) len = n - 1;
    memcpy(buf, name, len);
    buf[len] = '\0';
}

cllm_status cllm_gbnf_parse(const char *text, const char *root, const cllm_vocab_view *vocab,
                            cllm_gbnf *out, cllm_err *err) {
    memset(out, 0, sizeof *out);
    if (!text) return cllm_err_set(err, CLLM_ERR_INVALID_ARG, "grammar: NULL text");
    if (!root) root = "root";
    parser ps = {.src = text, .err = err, .vocab = vocab};
    const char *p = skip_space(text, true);
    while (*p && !ps.failed) {
        const char *name = p;
        p = parse_name(&ps, p);
        if (ps.failed) break;
        size_t nlen = (size_t)(p - name);
        p = skip_space(p, false);
        if (strncmp(p, "::=", 3) != 0) {
            fail(&ps, p, "expecting '::=' after rule name '%.*s'", (int)(nlen > 100 ? 100 : nlen), name);
            break;
        }
        p = skip_space(p + 3, true);
        long id = sym_get(&ps, name, nlen, (size_t)(name - text));
        if (id < 0) break;
        if (ps.syms[id].defined) {
            fail(&ps, name, "rule '%s' is defined twice", ps.syms[id].name);
            break;
        }
        ps.syms[id].defined = true;
        ps.syms[id].def_pos = (size_t)(name - text);
        ps.depth = 0;
        p = parse_alternatives(&ps, p, id, false);
        if (ps.failed) break;
        if (*p == '\r') {
            p += p[1] == '\n' ? 2 : 1;
        } else if (*p == '\n') {
            p++;
        } else if (*p) {
            fail(&ps, p, "unexpected '%c' (expecting newline or end of rule)", *p);
            break;
        }
        p = skip_space(p, true);
    }
    long root_id = -1;
    if (!ps.failed) {
        for (size_t i = 0; i < ps.n_syms; i++) {
            if (!ps.syms[i].defined) {
                fail(&ps, text + ps.syms[i].ref_pos, "undefined rule '%s'", ps.syms[i].name);
                break;
            }
            if (strcmp(ps.syms[i].name, root) == 0) root_id = (long)i;
        }
    }
    if (!ps.failed && root_id < 0) fail(&ps, text, "the grammar has no rule named '%s'", root);
    if (!ps.failed) {
        bool *nullable = calloc(ps.n_syms, sizeof *nullable);
        uint8_t *color = calloc(ps.n_syms, 1);
        if (!nullable || !color) {
            fail(&ps, text, "out of memory");
        } else {
            compute_nullable(&ps, nullable);
            for (size_t r = 0; r < ps.n_syms && !ps.failed; r++) {
                if (color[r]) continue;
                long c = find_left_cycle(&ps, nullable, color, r, 0);
                if (c == -2) {
                    fail(&ps, text, "rules nest more than %d deep without consuming input", MAX_RULE_CHAIN);
                } else if (c >= 0) {
                    char nm[128];
                    user_name(ps.syms[c].name, nm, sizeof nm);
                    fail(&ps, text + ps.syms[c].def_pos,
                         "rule '%s' is left-recursive (it can reach itself without consuming input)", nm);
                }
            }
        }
        free(nullable);
        free(color);
    }
    cllm_status st = CLLM_OK;
    if (!ps.failed) {
        /* Flatten. */
        size_t total = 0;
        for (size_t i = 0; i < ps.n_syms; i++) total += ps.syms[i].rule.n;
        out->elems = malloc((total ? total : 1) * sizeof *out->elems);
        out->rule_start = malloc(ps.n_syms * sizeof *out->rule_start);
        out->rule_names = calloc(ps.n_syms, sizeof *out->rule_names);
        if (!out->elems || !out->rule_start || !out->rule_names || total > UINT32_MAX / 2) {
            st = cllm_err_set(err, CLLM_ERR_NOMEM, "grammar: out of memory");
        } else {
            size_t k = 0;
            for (size_t i = 0; i < ps.n_syms; i++) {
                out->rule_start[i] = (uint32_t)k;
                memcpy(out->elems + k, ps.syms[i].rule.v, ps.syms[i].rule.n * sizeof *out->elems);
                k += ps.syms[i].rule.n;
                out->rule_names[i] = ps.syms[i].name;
                ps.syms[i].name = NULL;
            }
            out->n_elems = total;
            out->n_rules = ps.n_syms;
            out->root = (uint32_t)root_id;
        }
    } else {
        st = CLLM_ERR_FORMAT;
        if (err && strstr(err->msg, "out of memory")) st = CLLM_ERR_NOMEM;
    }
    for (size_t i = 0; i < ps.n_syms; i++) {
        free(ps.syms[i].name);
        free(ps.syms[i].rule.v);
    }
    free(ps.syms);
    free(ps.htab);
    if (st != CLLM_OK) {
        /* rule_names may hold some moved names: free what is there. */
        if (out->rule_names)
            for (size_t i = 0; i < ps.n_syms; i++) free(out->rule_names[i]);
        free(out->rule_names);
        free(out->rule_start);
        free(out->elems);
        memset(out, 0, sizeof *out);
    }
    return st;
}

void cllm_gbnf_free(cllm_gbnf *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_rules; i++) free(g->rule_names[i]);
    free(g->rule_names);
    free(g->rule_start);
    free(g->elems);
    memset(g, 0, sizeof *g);
}
