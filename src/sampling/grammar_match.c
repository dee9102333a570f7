/* grammar_match.c: the incremental GBNF matcher and the cllm_grammar API.
 *
 * State: a set of parse stacks (see grammar.h) plus a pending partial UTF-8
 * sequence (a token may end in the middle of a multi-byte character). Text is
 * matched one code point at a time: every stack whose top terminal accepts the
 * code point is popped, its continuation pushed, and rule references expanded
 * ("advanced") until a terminal is on top again.
 *
 * Masking a whole vocabulary does not run each token separately: candidates
 * are filtered stack by stack, grouped by how far their text has matched, so
 * tokens sharing a prefix share the work (a token is rejected only if every
 * stack rejects it). The resulting whole-vocabulary masks are cached by
 * state (the set of stacks plus the pending partial character), because
 * generation keeps returning to the same states (inside a string at the
 * same nesting, after a key, ...): a repeated state costs one bit test per
 * candidate instead of a vocabulary walk. */
#include "sampling/grammar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STACKS 4096    /* beyond this the grammar is too ambiguous to track */
#define MAX_EXPAND 4000    /* rule references expanded in a row without input */
#define MASK_CACHE 64      /* whole-vocabulary masks kept (n_vocab / 8 bytes each) */

typedef struct putf8 {
    uint32_t value;  /* bits decoded so far */
    int n_remain;    /* continuation bytes still expected; -1: invalid */
    int total;       /* length of the pending sequence (2..4), 0 if none */
} putf8;

/* Smallest code point that needs a `len`-byte UTF-8 sequence. */
static uint32_t utf8_min(int len) { return len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000; }

typedef struct gstacks {
    uint32_t *data;       /* all stacks, concatenated */
    size_t len, cap;
    size_t *off;          /* [count] start of stack i in data */
    uint32_t *n;          /* [count] its length */
    uint64_t *hash;       /* [count] */
    size_t count, ccap;
    bool overflow;        /* too many stacks, or out of memory */
    /* Dedupe index: open addressing; a slot is live when hgen == gen, so a
     * reset is O(1). */
    uint32_t *hidx, *hgen;
    size_t hcap;
    uint32_t gen;
    uint32_t idx_gen;     /* the gen the index was built for (0: none) */
} gstacks;

typedef struct gcand {
    int32_t id;
    uint32_t idx;       /* index in the caller's candidate array */
    const uint32_t *cps;
    uint32_t n;
    putf8 part;
} gcand;

typedef struct gcvec {
    gcand *v;
    size_t n, cap;
    bool oom;
} gcvec;

/* Scratch of one recursion depth of the walk, kept in the grammar between
 * calls: the walk would otherwise malloc (and, for vocabulary-sized sets,
 * page-fault in) fresh arrays at every depth of every mask. */
typedef struct glevel {
    gcvec cur, nxt, next;
    gstacks adv;
} glevel;

typedef struct gwork {
    glevel **lv;   /* [n] each allocated once, so pointers into them stay valid */
    size_t n;
} gwork;

struct cllm_grammar {
    cllm_gbnf g;
    gstacks stacks, a, b, r, saved;
    putf8 partial;
    uint32_t *rest;     /* [n_elems] fewest code points from a position to the end of its rule */
    /* Vocabulary cache (n_vocab == 0 without a vocab view). */
    int32_t n_vocab;
    char *vbytes;
    size_t *vb_off;     /* [n_vocab + 1] */
    uint32_t *vcps;
    size_t *vc_off;     /* [n_vocab + 1]: pieces decoded from an empty partial state */
    putf8 *vpart;       /* [n_vocab] partial state after each piece */
    uint8_t *veog;      /* [n_vocab] */
    /* Mask cache (see mask_lookup): entry i holds the canonical state key
     * mkey[i][0..mkey_n[i]) and the allowed-token bitset mbits[i]. */
    uint32_t *mkey[MASK_CACHE];
    size_t mkey_n[MASK_CACHE];
    uint64_t mkey_hash[MASK_CACHE];
    uint64_t *mbits[MASK_CACHE];
    size_t n_masks, next_mask;
    uint32_t *key;      /* the current state's canonical key (scratch) */
    size_t key_n, key_cap;
    uint64_t key_hash;
    bool key_valid;     /* key describes the current state */
    bool walk_oom;      /* the last apply_walk could not decide (memory) */
    gwork work;         /* the walk's scratch */
    cllm_token_prob *all; /* [n_vocab] scratch of mask_compute */
    gcand *list;        /* [n_vocab] scratch of apply_walk */
    gcvec rej;          /* scratch of apply_walk */
    gcand *base;        /* [n_base] candidates of every token with valid text, sorted, idx = id */
    size_t n_base;
    uint32_t *lcp;      /* [n_base] leading code points base[i] shares with base[i-1] (lcp[0] = 0) */
    int32_t *vorder;    /* [n_vocab] token ids sorted by their code points (runs share class tests) */
    cllm_err err;
};

/* ------------------------------------------------------------ stack sets */
/* Stack i of s (NULL for an empty stack when nothing is stored yet). */
static const uint32_t *gs_stack(const gstacks *s, size_t i) { return s->data ? s->data + s->off[i] : NULL; }

static void gs_reset(gstacks *s) {
    s->len = 0;
    s->count = 0;
    s->overflow = false;
    if (++s->gen == 0) {
        if (s->hgen) memset(s->hgen, 0, s->hcap * sizeof *s->hgen);
        s->idx_gen = 0;
        s->gen = 1;
    }
}

static void gs_free(gstacks *s) {
    free(s->data);
    free(s->off);
    free(s->n);
    free(s->hash);
    free(s->hidx);
    free(s->hgen);
    memset(s, 0, sizeof *s);
}

static uint64_t stack_hash(const uint32_t *stk, size_t n) {
    uint64_t h = 1469598103934665603ull ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ stk[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static bool gs_index_grow(gstacks *s) {
    size_t nc = s->hcap ? s->hcap * 2 : 64;
    uint32_t *ni = malloc(nc * sizeof *ni), *ng = calloc(nc, sizeof *ng);
    if (!ni || !ng) {
        free(ni);
        free(ng);
        return false;
    }
    if (s->gen == 0) s->gen = 1;
    for (size_t i = 0; i < s->count; i++) {
        size_t k = (size_t)s->hash[i] & (nc - 1);
        while (ng[k] == s->gen) k = (k + 1) & (nc - 1);
        ng[k] = s->gen;
        ni[k] = (uint32_t)i;
    }
    free(s->hidx);
    free(s->hgen);
    s->hidx = ni;
    s->hgen = ng;
    s->hcap = nc;
    s->idx_gen = s->gen;
    return true;
}

#define GS_LINEAR 16 /* below this many stacks, dedupe by a linear scan (no index) */

static void gs_add(gstacks *s, const uint32_t *stk, size_t n) {
    if (s->overflow) return;
    if (s->gen == 0) s->gen = 1;
    uint64_t h = stack_hash(stk, n);
    bool indexed = s->count >= GS_LINEAR;
    size_t k = 0;
    if (!indexed) {
        for (size_t i = 0; i < s->count; i++)
            if (s->hash[i] == h && s->n[i] == n &&
                (n == 0 || memcmp(gs_stack(s, i), stk, n * sizeof *stk) == 0))
                return;
    } else {
        /* Build on first use in this generation, grow when half full. */
        if ((s->count + 1) * 2 > s->hcap) {
            if (!gs_index_grow(s)) {
                s->overflow = true;
                return;
            }
        } else if (s->idx_gen != s->gen) {
            for (size_t i = 0; i < s->count; i++) {
                size_t j = (size_t)s->hash[i] & (s->hcap - 1);
                while (s->hgen[j] == s->gen) j = (j + 1) & (s->hcap - 1);
                s->hgen[j] = s->gen;
                s->hidx[j] = (uint32_t)i;
            }
            s->idx_gen = s->gen;
        }
        k = (size_t)h & (s->hcap - 1);
        for (; s->hgen[k] == s->gen; k = (k + 1) & (s->hcap - 1)) {
            size_t i = s->hidx[k];
            if (s->hash[i] == h && s->n[i] == n &&
                (n == 0 || memcmp(gs_stack(s, i), stk, n * sizeof *stk) == 0))
                return;
        }
    }
    if (s->count >= MAX_STACKS) {
        s->overflow = true;
        return;
    }
    if (s->count == s->ccap) {
        size_t nc = s->ccap ? s->ccap * 2 : 16;
        size_t *no = realloc(s->off, nc * sizeof *no);
        if (no) s->off = no;
        uint32_t *nn = realloc(s->n, nc * sizeof *nn);
        if (nn) s->n = nn;
        uint64_t *nh = realloc(s->hash, nc * sizeof *nh);
        if (nh) s->hash = nh;
        if (!no || !nn || !nh) {
            s->overflow = true;
            return;
        }
        s->ccap = nc;
    }
    if (s->len + n > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        while (nc < s->len + n) nc *= 2;
        uint32_t *nd = realloc(s->data, nc * sizeof *nd);
        if (!nd) {
            s->overflow = true;
            return;
        }
        s->data = nd;
        s->cap = nc;
    }
    if (n) memcpy(s->data + s->len, stk, n * sizeof *stk);
    s->off[s->count] = s->len;
    s->n[s->count] = (uint32_t)n;
    s->hash[s->count] = h;
    if (indexed) {
        s->hgen[k] = s->gen;
        s->hidx[k] = (uint32_t)s->count;
    }
    s->count++;
    s->len += n;
}

static void gs_swap(gstacks *x, gstacks *y) {
    gstacks t = *x;
    *x = *y;
    *y = t;
}

/* ------------------------------------------------------------ elements */
static bool is_end(const gr_elem *e) { return e->type == GR_END || e->type == GR_ALT; }

static bool is_char_elem(uint32_t t) { return t == GR_CHAR || t == GR_CHAR_NOT || t == GR_CHAR_ANY; }

/* Position after the character element starting at pos. */
static uint32_t char_end(const cllm_gbnf *g, uint32_t pos) {
    pos++;
    while (g->elems[pos].type == GR_CHAR_ALT || g->elems[pos].type == GR_CHAR_RNG_UPPER) pos++;
    return pos;
}

static bool match_char(const cllm_gbnf *g, uint32_t pos, uint32_t c) {
    const gr_elem *e = &g->elems[pos];
    if (e->type == GR_CHAR_ANY) return true;
    bool neg = e->type == GR_CHAR_NOT, found = false;
    do {
        if (e[1].type == GR_CHAR_RNG_UPPER) {
            if (e->value <= c && c <= e[1].value) found = true;
            e += 2;
        } else {
            if (e->value == c) found = true;
            e += 1;
        }
    } while (e->type == GR_CHAR_ALT);
    return found != neg;
}

/* Could a character of this element start with the pending partial bytes?
 * The candidates are the code points [lo, hi] the sequence can still become,
 * clamped to what a valid sequence of its length encodes. */
static bool match_partial(const cllm_gbnf *g, uint32_t pos, putf8 p) {
    const gr_elem *e = &g->elems[pos];
    if (p.n_remain <= 0) return p.n_remain == 0;
    uint32_t lo = p.value << (6 * p.n_remain);
    uint32_t hi = lo | ((1u << (6 * p.n_remain)) - 1);
    uint32_t mn = utf8_min(p.total);
    if (lo < mn) lo = mn;
    if (hi > 0x10ffff) hi = 0x10ffff;
    if (lo > hi) return false;
    if (lo >= 0xd800 && hi <= 0xdfff) return false; /* only surrogates left */
    if (e->type == GR_CHAR_ANY) return true;
    bool neg = e->type == GR_CHAR_NOT;
    do {
        uint32_t a = e->value, b = a;
        if (e[1].type == GR_CHAR_RNG_UPPER) {
            b = e[1].value;
            e += 2;
        } else {
            e += 1;
        }
        if (!neg && a <= hi && b >= lo) return true;
        if (neg && a <= lo && b >= hi) return false;
    } while (e->type == GR_CHAR_ALT);
    return neg;
}

/* Expand rule references on top of stk until terminals are on top; add the
 * results to out. stk must not point into out. */
static void advance_d(const cllm_gbnf *g, gstacks *out, const uint32_t *stk, size_t n, int depth) {
    if (out->overflow) return;
    if (depth > MAX_EXPAND) {
        out->overflow = true;
        return;
    }
    if (n == 0) {
        gs_add(out, stk, 0);
        return;
    }
    uint32_t top = stk[n - 1];
    const gr_elem *e = &g->elems[top];
    if (e->type != GR_RULE_REF) {
        gs_add(out, stk, n);
        return;
    }
    uint32_t local[32];
    uint32_t *buf = n + 1 <= 32 ? local : malloc((n + 1) * sizeof *buf);
    if (!buf) {
        out->overflow = true;
        return;
    }
    size_t bn = n - 1;
    if (bn) memcpy(buf, stk, bn * sizeof *buf);
    if (!is_end(&g->elems[top + 1])) buf[bn++] = top + 1;
    uint32_t a = g->rule_start[e->value];
    for (;;) {
        if (is_end(&g->elems[a])) {
            advance_d(g, out, buf, bn, depth + 1);
        } else {
            buf[bn] = a;
            advance_d(g, out, buf, bn + 1, depth + 1);
        }
        while (!is_end(&g->elems[a])) a++;
        if (g->elems[a].type == GR_END) break;
        a++;
    }
    if (buf != local) free(buf);
}

static void advance(const cllm_gbnf *g, gstacks *out, const uint32_t *stk, size_t n) {
    advance_d(g, out, stk, n, 0);
}

/* Pop the terminal at the top of stack i of in and advance into out. */
static void pop_advance(const cllm_gbnf *g, const gstacks *in, size_t i, uint32_t after, gstacks *out) {
    const uint32_t *stk = gs_stack(in, i);
    size_t n = in->n[i];
    uint32_t local[64] = {0};
    uint32_t *buf = n <= 64 ? local : malloc(n * sizeof *buf);
    if (!buf) {
        out->overflow = true;
        return;
    }
    size_t bn = n - 1;
    if (bn) memcpy(buf, stk, bn * sizeof *buf);
    if (!is_end(&g->elems[after])) buf[bn++] = after;
    advance(g, out, buf, bn);
    if (buf != local) free(buf);
}

/* ------------------------------------------------------------ UTF-8 */
/* Decode bytes continuing from state p; appends code points to cps (room for
 * len + 1 needed). Returns the new state (n_remain -1 on invalid input:
 * bad lead or continuation bytes, overlong forms, surrogates, > U+10FFFF). */
static putf8 decode_utf8(const char *bytes, size_t len, putf8 p, uint32_t *cps, size_t *ncps) {
    const unsigned char *u = (const unsigned char *)bytes;
    size_t i = 0, k = 0;
    uint32_t v = p.value;
    int rem = p.n_remain, total = p.total;
    if (rem < 0) {
        *ncps = 0;
        return p;
    }
    while (i < len) {
        unsigned char c = u[i++];
        if (rem > 0) {
            if ((c & 0xc0) != 0x80) goto invalid;
            v = (v << 6) | (c & 0x3f);
            rem--;
            if (rem == 0) {
                if (v < utf8_min(total) || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) goto invalid;
                total = 0;
            }
        } else if (c < 0x80) {
            v = c;
        } else if (c >= 0xc2 && c <= 0xdf) {
            v = c & 0x1f;
            rem = 1;
            total = 2;
        } else if ((c & 0xf0) == 0xe0) {
            v = c & 0x0f;
            rem = 2;
            total = 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            v = c & 0x07;
            rem = 3;
            total = 4;
        } else {
            goto invalid;
        }
        if (rem == 0) cps[k++] = v;
    }
    *ncps = k;
    return (putf8){rem ? v : 0, rem, rem ? total : 0};
invalid:
    *ncps = k;
    return (putf8){0, -1, 0};
}

/* ------------------------------------------------------------ accepting */
/* Match code points against the char-topped stacks of in. The result is in
 * *res (one of g->a / g->b); false if no stack survives. */
static bool accept_cps(cllm_grammar *G, const gstacks *in, const uint32_t *cps, size_t ncps,
                       gstacks **res) {
    const cllm_gbnf *g = &G->g;
    const gstacks *cur = in;
    gstacks *bufs[2] = {&G->a, &G->b};
    if (ncps == 0) {
        gs_reset(&G->a);
        for (size_t i = 0; i < in->count; i++) gs_add(&G->a, gs_stack(in, i), in->n[i]);
        *res = &G->a;
        return !G->a.overflow;
    }
    for (size_t k = 0; k < ncps; k++) {
        gstacks *nx = bufs[k & 1];
        gs_reset(nx);
        for (size_t i = 0; i < cur->count; i++) {
            if (cur->n[i] == 0) continue;
            uint32_t top = cur->data[cur->off[i] + cur->n[i] - 1];
            if (!is_char_elem(g->elems[top].type) || !match_char(g, top, cps[k])) continue;
            pop_advance(g, cur, i, char_end(g, top), nx);
        }
        if (nx->overflow) {
            cllm_err_set(&G->err, CLLM_ERR_UNSUPPORTED,
                         "grammar: more than %d parse stacks (grammar too ambiguous)", MAX_STACKS);
            return false;
        }
        if (nx->count == 0) return false;
        cur = nx;
    }
    *res = (gstacks *)cur;
    return true;
}

static bool grammar_complete(const cllm_grammar *G) {
    if (G->partial.n_remain != 0) return false;
    for (size_t i = 0; i < G->stacks.count; i++)
        if (G->stacks.n[i] == 0) return true;
    return false;
}

/* Accept text bytes (plus, when token >= 0, stacks whose top is a token
 * element matching it). Commits on success. */
static bool accept_impl(cllm_grammar *G, const char *bytes, size_t len, int32_t token) {
    const cllm_gbnf *g = &G->g;
    gs_reset(&G->r);
    if (token >= 0 && G->partial.n_remain == 0) {
        for (size_t i = 0; i < G->stacks.count; i++) {
            if (G->stacks.n[i] == 0) continue;
            uint32_t top = G->stacks.data[G->stacks.off[i] + G->stacks.n[i] - 1];
            uint32_t t = g->elems[top].type;
            bool ok = (t == GR_TOKEN && g->elems[top].value == (uint32_t)token) ||
                      (t == GR_TOKEN_NOT && g->elems[top].value != (uint32_t)token);
            if (ok) pop_advance(g, &G->stacks, i, top + 1, &G->r);
        }
    }
    putf8 np = G->partial;
    if (len > 0) {
        uint32_t local[256];
        uint32_t *cps = len + 1 <= 256 ? local : malloc((len + 1) * sizeof *cps);
        if (!cps) return false;
        size_t ncps;
        np = decode_utf8(bytes, len, G->partial, cps, &ncps);
        gstacks *res = NULL;
        if (np.n_remain >= 0 && accept_cps(G, &G->stacks, cps, ncps, &res)) {
            for (size_t i = 0; i < res->count; i++) {
                if (np.n_remain > 0) {
                    /* Keep only stacks that can continue the pending character. */
                    if (res->n[i] == 0) continue;
                    uint32_t top = res->data[res->off[i] + res->n[i] - 1];
                    if (!is_char_elem(g->elems[top].type) || !match_partial(g, top, np)) continue;
                }
                gs_add(&G->r, gs_stack(res, i), res->n[i]);
            }
        }
        if (cps != local) free(cps);
    }
    if (G->r.overflow || G->r.count == 0) return false;
    gs_swap(&G->stacks, &G->r);
    G->partial = np;
    G->key_valid = false;
    return true;
}

/* ------------------------------------------------------------ rejection */

static void gc_push(gcvec *x, const gcand *c) {
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        gcand *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv) {
            x->oom = true;
            return;
        }
        x->v = nv;
        x->cap = nc;
    }
    x->v[x->n++] = *c;
}


static glevel *gw_level(gwork *w, size_t depth) {
    if (depth >= w->n) {
        size_t nn = depth + 8;
        glevel **nl = realloc(w->lv, nn * sizeof *nl);
        if (!nl) return NULL;
        w->lv = nl;
        for (size_t i = w->n; i < nn; i++) w->lv[i] = NULL;
        w->n = nn;
    }
    if (!w->lv[depth]) w->lv[depth] = calloc(1, sizeof **w->lv);
    return w->lv[depth];
}

static void gw_free(gwork *w) {
    for (size_t i = 0; i < w->n; i++) {
        if (!w->lv[i]) continue;
        free(w->lv[i]->cur.v);
        free(w->lv[i]->nxt.v);
        free(w->lv[i]->next.v);
        gs_free(&w->lv[i]->adv);
        free(w->lv[i]);
    }
    free(w->lv);
    w->lv = NULL;
    w->n = 0;
}

static void gc_push_n(gcvec *x, const gcand *c, size_t n) {
    if (n == 0) return;
    if (x->n + n > x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        while (nc < x->n + n) nc *= 2;
        gcand *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv) {
            x->oom = true;
            return;
        }
        x->v = nv;
        x->cap = nc;
    }
    memcpy(x->v + x->n, c, n * sizeof *c);
    x->n += n;
}

static void gc_clear(gcvec *x) {
    x->n = 0;
    x->oom = false;
}

static void reject_set(const cllm_gbnf *g, gwork *w, const gstacks *S, const gcand *in, size_t nin,
                       size_t depth, gcvec *rej);

/* Candidates of in (all matched `depth` code points so far) that stack stk
 * rejects, appended to rej. */
static void reject_stack(const cllm_gbnf *g, gwork *w, const uint32_t *stk, size_t sn, const gcand *in,
                         size_t nin, size_t depth, gcvec *rej) {
    if (sn == 0) {
        /* Complete: only candidates with nothing left are fine. */
        for (size_t i = 0; i < nin; i++)
            if (in[i].n > depth || in[i].part.n_remain != 0) gc_push(rej, &in[i]);
        return;
    }
    uint32_t top = stk[sn - 1];
    const gr_elem *e = &g->elems[top];
    if (e->type == GR_TOKEN || e->type == GR_TOKEN_NOT) {
        for (size_t i = 0; i < nin; i++) {
            bool ok = depth == 0 && (e->type == GR_TOKEN ? (uint32_t)in[i].id == e->value
                                                         : (uint32_t)in[i].id != e->value);
            if (!ok) gc_push(rej, &in[i]);
        }
        return;
    }
    glevel *L = gw_level(w, depth);
    if (!L) {
        rej->oom = true;
        return;
    }
    gcvec *next = &L->next;
    gc_clear(next);
    /* Runs of candidates with the same next code point (the list follows
     * the vocabulary's sorted order, so runs are long) share one class test
     * and one copy. */
    for (size_t i = 0; i < nin;) {
        const gcand *c = &in[i];
        if (c->n == depth) {
            if (c->part.n_remain != 0 && !match_partial(g, top, c->part)) gc_push(rej, c);
            i++;
            continue;
        }
        uint32_t cp = c->cps[depth];
        size_t j = i + 1;
        while (j < nin && in[j].n > depth && in[j].cps[depth] == cp) j++;
        gc_push_n(match_char(g, top, cp) ? next : rej, c, j - i);
        i = j;
    }
    if (next->n > 0) {
        uint32_t after = char_end(g, top);
        uint32_t local[64] = {0};
        uint32_t *buf = sn <= 64 ? local : malloc(sn * sizeof *buf);
        gstacks *adv = &L->adv;
        gs_reset(adv);
        if (buf) {
            size_t bn = sn - 1;
            if (bn) memcpy(buf, stk, bn * sizeof *buf);
            if (!is_end(&g->elems[after])) buf[bn++] = after;
            advance(g, adv, buf, bn);
            if (buf != local) free(buf);
        } else {
            adv->overflow = true;
        }
        if (adv->overflow) {
            gc_push_n(rej, next->v, next->n);
        } else {
            reject_set(g, w, adv, next->v, next->n, depth + 1, rej);
        }
    }
    rej->oom |= next->oom;
}

static void reject_set(const cllm_gbnf *g, gwork *w, const gstacks *S, const gcand *in, size_t nin,
                       size_t depth, gcvec *rej) {
    if (nin == 0) return;
    if (S->count == 0) {
        gc_push_n(rej, in, nin);
        return;
    }
    glevel *L = gw_level(w, depth);
    if (!L) {
        rej->oom = true;
        return;
    }
    /* Rejected by stack 0, then of those, rejected by stack 1, ... */
    gcvec *cur = &L->cur, *nxt = &L->nxt;
    gc_clear(cur);
    gc_clear(nxt);
    reject_stack(g, w, gs_stack(S, 0), S->n[0], in, nin, depth, cur);
    for (size_t i = 1; i < S->count && cur->n > 0; i++) {
        nxt->n = 0;
        reject_stack(g, w, gs_stack(S, i), S->n[i], cur->v, cur->n, depth, nxt);
        gcvec *t = cur;
        cur = nxt;
        nxt = t;
    }
    gc_push_n(rej, cur->v, cur->n);
    rej->oom |= cur->oom | nxt->oom;
}

/* Fill cand for token id; false if the token is impossible outright. pool
 * (room for its piece + 1) is used when a partial character is pending. */
static bool make_cand(const cllm_grammar *G, int32_t id, uint32_t idx, uint32_t *pool, gcand *c) {
    size_t blen = G->vb_off[id + 1] - G->vb_off[id];
    if (blen == 0) return false; /* no text: never valid inside a grammar */
    c->id = id;
    c->idx = idx;
    if (G->partial.n_remain == 0) {
        c->cps = G->vcps + G->vc_off[id];
        c->n = (uint32_t)(G->vc_off[id + 1] - G->vc_off[id]);
        c->part = G->vpart[id];
    } else {
        size_t n;
        c->part = decode_utf8(G->vbytes + G->vb_off[id], blen, G->partial, pool, &n);
        c->cps = pool;
        c->n = (uint32_t)n;
    }
    return c->part.n_remain >= 0;
}

/* ------------------------------------------------------------ mask cache */
/* Order of stacks in the canonical key: by hash, length, then content. */
typedef struct sref { uint64_t h; const uint32_t *p; uint32_t n; } sref;
static int sref_cmp(const void *x, const void *y) {
    const sref *a = x, *b = y;
    if (a->h != b->h) return a->h < b->h ? -1 : 1;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->p[i] != b->p[i]) return a->p[i] < b->p[i] ? -1 : 1;
    return 0;
}

/* Canonical key of the current state into G->key: the partial character,
 * then the stacks sorted (as a set they may come in any order), each as
 * its length and positions. */
static bool state_key(cllm_grammar *G) {
    const gstacks *S = &G->stacks;
    size_t need = 4 + S->count + S->len;
    if (need > G->key_cap) {
        uint32_t *nk = realloc(G->key, need * sizeof *nk);
        if (!nk) return false;
        G->key = nk;
        G->key_cap = need;
    }
    sref local[16];
    sref *refs = S->count <= 16 ? local : malloc(S->count * sizeof *refs);
    if (!refs) return false;
    for (size_t i = 0; i < S->count; i++) refs[i] = (sref){S->hash[i], gs_stack(S, i), S->n[i]};
    if (S->count > 1) qsort(refs, S->count, sizeof *refs, sref_cmp);
    size_t k = 0;
    G->key[k++] = G->partial.value;
    G->key[k++] = (uint32_t)G->partial.n_remain;
    G->key[k++] = (uint32_t)G->partial.total;
    G->key[k++] = (uint32_t)S->count;
    for (size_t i = 0; i < S->count; i++) {
        G->key[k++] = refs[i].n;
        if (refs[i].n) memcpy(G->key + k, refs[i].p, refs[i].n * sizeof *G->key);
        k += refs[i].n;
    }
    if (refs != local) free(refs);
    G->key_n = k;
    G->key_hash = stack_hash(G->key, k);
    G->key_valid = true;
    return true;
}

/* The cached mask of the current state, or NULL. */
static const uint64_t *mask_lookup(cllm_grammar *G) {
    if (G->n_vocab <= 0 || G->stacks.overflow) return NULL;
    if (!G->key_valid && !state_key(G)) return NULL;
    for (size_t i = 0; i < G->n_masks; i++)
        if (G->mkey_hash[i] == G->key_hash && G->mkey_n[i] == G->key_n &&
            memcmp(G->mkey[i], G->key, G->key_n * sizeof *G->key) == 0)
            return G->mbits[i];
    return NULL;
}

bool cllm_grammar_token_ok(cllm_grammar *G, int32_t id) {
    if (id < 0 || id >= G->n_vocab) return false;
    if (G->veog[id]) return grammar_complete(G);
    const uint64_t *bits = mask_lookup(G);
    if (bits) return (bits[id >> 6] >> (id & 63)) & 1;
    size_t blen = G->vb_off[id + 1] - G->vb_off[id];
    uint32_t local[256];
    uint32_t *pool = blen + 1 <= 256 ? local : malloc((blen + 1) * sizeof *pool);
    if (!pool) return false;
    gcand c;
    bool ok = false;
    if (make_cand(G, id, 0, pool, &c)) {
        gcvec rej = {0};
        reject_set(&G->g, &G->work, &G->stacks, &c, 1, 0, &rej);
        ok = rej.n == 0 && !rej.oom;
        free(rej.v);
    }
    if (pool != local) free(pool);
    return ok;
}

static void apply_walk(cllm_grammar *G, cllm_cands *cd) {
    bool complete = grammar_complete(G);
    bool own_list = cd->size > (size_t)G->n_vocab;
    if (!own_list && !G->list) G->list = malloc(((size_t)G->n_vocab ? (size_t)G->n_vocab : 1) * sizeof *G->list);
    gcand *list = own_list ? malloc((cd->size ? cd->size : 1) * sizeof *list) : G->list;
    uint32_t *pool = NULL;
    size_t pool_n = 0;
    if (G->partial.n_remain != 0) {
        /* Decoding against a pending partial character: one pool for all. */
        for (size_t i = 0; i < cd->size; i++) {
            int32_t id = cd->data[i].id;
            if (id >= 0 && id < G->n_vocab) pool_n += G->vb_off[id + 1] - G->vb_off[id] + 1;
        }
        pool = malloc((pool_n ? pool_n : 1) * sizeof *pool);
    }
    if (!list || (G->partial.n_remain != 0 && !pool)) {
        /* Cannot tell: allow nothing rather than something invalid. */
        G->walk_oom = true;
        for (size_t i = 0; i < cd->size; i++) cd->data[i].logit = -INFINITY;
        if (own_list) free(list);
        free(pool);
        return;
    }
    size_t nl = 0, used = 0;
    for (size_t i = 0; i < cd->size; i++) {
        cllm_token_prob *t = &cd->data[i];
        if (t->logit == -INFINITY) continue;
        if (t->id < 0 || t->id >= G->n_vocab) {
            t->logit = -INFINITY;
            continue;
        }
        if (G->veog[t->id]) {
            if (!complete) t->logit = -INFINITY;
            continue;
        }
        uint32_t *pp = pool ? pool + used : NULL;
        if (!make_cand(G, t->id, (uint32_t)i, pp, &list[nl])) {
            t->logit = -INFINITY;
            continue;
        }
        if (pool) used += list[nl].n + 1;
        nl++;
    }
    gcvec *rej = &G->rej;
    gc_clear(rej);
    reject_set(&G->g, &G->work, &G->stacks, list, nl, 0, rej);
    if (rej->oom) {
        G->walk_oom = true;
        for (size_t i = 0; i < cd->size; i++) cd->data[i].logit = -INFINITY;
    } else {
        for (size_t i = 0; i < rej->n; i++) cd->data[rej->v[i].idx].logit = -INFINITY;
    }
    cd->sorted = false;
    if (own_list) free(list);
    free(pool);
}

/* The whole-vocabulary mask of the current state: walk every token once
 * (apply_walk over ids 0..n_vocab) and keep the result. NULL when memory
 * runs out or the walk overflowed (the caller then walks the candidates). */
/* Whole-vocabulary walk without copying candidates: base[a..b) share their
 * first `depth` code points (the list is sorted, so they are contiguous and
 * lcp[i] is how many leading code points base[i] shares with base[i-1]);
 * S is the state after those code points. Sets the bits of the tokens S
 * accepts. A token is accepted when some stack of S accepts it, so each
 * stack's continuation is walked on its own; the tokens of one range that
 * agree on the next code point (one run) share one class test. */
static void walk_range(cllm_grammar *G, const gstacks *S, size_t a, size_t b, size_t depth, uint64_t *bits,
                       bool *oom) {
    const cllm_gbnf *g = &G->g;
    const gcand *base = G->base;
    /* Tokens whose text ends here come first (shorter sorts first). */
    for (; a < b && base[a].n == depth; a++) {
        const gcand *c = &base[a];
        bool ok = c->part.n_remain == 0; /* all of its text matched */
        for (size_t i = 0; !ok && i < S->count; i++) {
            if (S->n[i] == 0) continue;
            uint32_t top = S->data[S->off[i] + S->n[i] - 1];
            ok = is_char_elem(g->elems[top].type) && match_partial(g, top, c->part);
        }
        if (ok) bits[c->id >> 6] |= (uint64_t)1 << (c->id & 63);
    }
    if (a >= b) return;
    glevel *L = gw_level(&G->work, depth);
    if (!L) {
        *oom = true;
        return;
    }
    for (size_t si = 0; si < S->count && !*oom; si++) {
        size_t sn = S->n[si];
        if (sn == 0) continue; /* complete: nothing longer fits */
        const uint32_t *stk = gs_stack(S, si);
        uint32_t top = stk[sn - 1];
        const gr_elem *e = &g->elems[top];
        if (e->type == GR_TOKEN || e->type == GR_TOKEN_NOT) {
            if (depth > 0) continue;
            for (size_t i = a; i < b; i++)
                if (e->type == GR_TOKEN ? (uint32_t)base[i].id == e->value : (uint32_t)base[i].id != e->value)
                    bits[base[i].id >> 6] |= (uint64_t)1 << (base[i].id & 63);
            continue;
        }
        gstacks *adv = &L->adv;
        bool have_adv = false;
        for (size_t i = a; i < b && !*oom;) {
            size_t j = i + 1;
            while (j < b && G->lcp[j] > depth) j++;
            if (match_char(g, top, base[i].cps[depth])) {
                if (!have_adv) {
                    /* This stack's continuation after one character. */
                    uint32_t after = char_end(g, top);
                    uint32_t local[64] = {0};
                    uint32_t *buf = sn <= 64 ? local : malloc(sn * sizeof *buf);
                    if (!buf) {
                        *oom = true;
                        return;
                    }
                    gs_reset(adv);
                    size_t bn = sn - 1;
                    if (bn) memcpy(buf, stk, bn * sizeof *buf);
                    if (!is_end(&g->elems[after])) buf[bn++] = after;
                    advance(g, adv, buf, bn);
                    if (buf != local) free(buf);
                    if (adv->overflow) {
                        *oom = true;
                        return;
                    }
                    have_adv = true;
                }
                walk_range(G, adv, i, j, depth + 1, bits, oom);
            }
            i = j;
        }
    }
}

static const uint64_t *mask_compute(cllm_grammar *G) {
    if (!G->key_valid && !state_key(G)) return NULL;
    size_t nw = ((size_t)G->n_vocab + 63) / 64;
    uint64_t *bits = calloc(nw ? nw : 1, sizeof *bits);
    uint32_t *key = malloc((G->key_n ? G->key_n : 1) * sizeof *key);
    if (!bits || !key) goto fail;
    if (G->partial.n_remain == 0 && G->base) {
        /* No partial character: walk the prebuilt sorted candidate list. */
        bool oom = false;
        walk_range(G, &G->stacks, 0, G->n_base, 0, bits, &oom);
        if (oom) goto fail;
        if (grammar_complete(G))
            for (int32_t i = 0; i < G->n_vocab; i++)
                if (G->veog[i]) bits[i >> 6] |= (uint64_t)1 << (i & 63);
    } else {
        if (!G->all) G->all = malloc(((size_t)G->n_vocab ? (size_t)G->n_vocab : 1) * sizeof *G->all);
        cllm_token_prob *all = G->all;
        if (!all) goto fail;
        for (int32_t i = 0; i < G->n_vocab; i++)
            all[i] = (cllm_token_prob){G->vorder ? G->vorder[i] : i, 0.0f, 0.0f};
        cllm_cands c = {all, (size_t)G->n_vocab, false};
        G->walk_oom = false;
        apply_walk(G, &c);
        if (G->walk_oom) goto fail;
        for (int32_t i = 0; i < G->n_vocab; i++)
            if (all[i].logit != -INFINITY) bits[all[i].id >> 6] |= (uint64_t)1 << (all[i].id & 63);
    }
    memcpy(key, G->key, G->key_n * sizeof *key);
    size_t slot;
    if (G->n_masks < MASK_CACHE) {
        slot = G->n_masks++;
    } else { /* full: replace the oldest */
        slot = G->next_mask;
        G->next_mask = (slot + 1) % MASK_CACHE;
        free(G->mkey[slot]);
        free(G->mbits[slot]);
    }
    G->mkey[slot] = key;
    G->mkey_n[slot] = G->key_n;
    G->mkey_hash[slot] = G->key_hash;
    G->mbits[slot] = bits;
    return bits;
fail:
    free(bits);
    free(key);
    return NULL;
}

bool cllm_grammar_mask_cached(cllm_grammar *G) { return G && mask_lookup(G) != NULL; }

void cllm_grammar_apply(cllm_grammar *G, cllm_cands *cd) {
    const uint64_t *bits = G->n_vocab > 0 ? mask_lookup(G) : NULL;
    if (!bits && G->n_vocab > 0) bits = mask_compute(G);
    if (!bits) {
        apply_walk(G, cd);
        return;
    }
    for (size_t i = 0; i < cd->size; i++) {
        cllm_token_prob *t = &cd->data[i];
        if (t->id < 0 || t->id >= G->n_vocab || !((bits[t->id >> 6] >> (t->id & 63)) & 1)) t->logit = -INFINITY;
    }
    cd->sorted = false;
}

size_t cllm_grammar_n_stacks(const cllm_grammar *g) { return g ? g->stacks.count : 0; }

/* ------------------------------------------------------------ distance */
#define DIST_INF 0x3fffffffu

static uint32_t sat_add(uint32_t a, uint32_t b) { return a + b >= DIST_INF ? DIST_INF : a + b; }

/* rest[pos]: the fewest code points that complete the alternative from pos
 * on, given each rule's shortest sentence (a fixed point over the rules). */
static bool compute_rest(cllm_grammar *G) {
    const cllm_gbnf *g = &G->g;
    uint32_t *minlen = malloc((g->n_rules ? g->n_rules : 1) * sizeof *minlen);
    G->rest = malloc((g->n_elems ? g->n_elems : 1) * sizeof *G->rest);
    if (!minlen || !G->rest) {
        free(minlen);
        return false;
    }
    for (size_t r = 0; r < g->n_rules; r++) minlen[r] = DIST_INF;
    for (bool changed = true; changed;) {
        changed = false;
        /* rest[] under the current minlen, by a backward pass; then
         * minlen[r] = min over r's alternatives of rest[alternative start]. */
        for (size_t i = g->n_elems; i-- > 0;) {
            const gr_elem *e = &g->elems[i];
            uint32_t v = 0;
            switch (e->type) {
            case GR_CHAR: case GR_CHAR_NOT: case GR_CHAR_ANY:
                v = sat_add(1, G->rest[char_end(g, (uint32_t)i)]);
                break;
            case GR_TOKEN: case GR_TOKEN_NOT: v = sat_add(1, G->rest[i + 1]); break;
            case GR_RULE_REF: v = sat_add(minlen[e->value], G->rest[i + 1]); break;
            default: v = 0; break;
            }
            G->rest[i] = v;
        }
        for (size_t r = 0; r < g->n_rules; r++) {
            uint32_t a = g->rule_start[r], best = DIST_INF;
            for (;;) {
                uint32_t v = is_end(&g->elems[a]) ? 0 : G->rest[a];
                if (v < best) best = v;
                while (!is_end(&g->elems[a])) a++;
                if (g->elems[a].type == GR_END) break;
                a++;
            }
            if (best < minlen[r]) {
                minlen[r] = best;
                changed = true;
            }
        }
    }
    free(minlen);
    return true;
}

static uint32_t state_distance(const cllm_grammar *G) {
    uint32_t best = DIST_INF;
    for (size_t i = 0; i < G->stacks.count; i++) {
        uint32_t d = 0;
        for (uint32_t k = 0; k < G->stacks.n[i]; k++) d = sat_add(d, G->rest[G->stacks.data[G->stacks.off[i] + k]]);
        if (d < best) best = d;
    }
    if (best == 0 && G->partial.n_remain != 0) best = 1;
    return best;
}

bool cllm_grammar_token_is_eog(const cllm_grammar *G, int32_t id) {
    return G && id >= 0 && id < G->n_vocab && G->veog[id];
}

int32_t cllm_grammar_distance(const cllm_grammar *G) {
    if (!G) return -1;
    uint32_t d = state_distance(G);
    return d >= DIST_INF ? INT32_MAX : (int32_t)d;
}

static void gs_copy(gstacks *dst, const gstacks *src) {
    gs_reset(dst);
    for (size_t i = 0; i < src->count; i++) gs_add(dst, gs_stack(src, i), src->n[i]);
}

int32_t cllm_grammar_distance_after(cllm_grammar *G, int32_t token) {
    if (!G || token < 0 || token >= G->n_vocab) return -1;
    if (G->veog[token]) return grammar_complete(G) ? 0 : -1;
    gs_copy(&G->saved, &G->stacks);
    if (G->saved.overflow) return -1;
    putf8 p0 = G->partial;
    size_t len = G->vb_off[token + 1] - G->vb_off[token];
    int32_t d = -1;
    if (accept_impl(G, G->vbytes + G->vb_off[token], len, token)) {
        uint32_t v = state_distance(G);
        d = v >= DIST_INF ? INT32_MAX : (int32_t)v;
        gs_swap(&G->stacks, &G->saved);
        G->partial = p0;
        G->key_valid = false;
    }
    return d;
}

/* ------------------------------------------------------------ public API */
static void set_initial(cllm_grammar *G) {
    const cllm_gbnf *g = &G->g;
    gs_reset(&G->stacks);
    G->partial = (putf8){0, 0, 0};
    G->key_valid = false;
    uint32_t a = g->rule_start[g->root];
    for (;;) {
        if (is_end(&g->elems[a])) {
            advance(g, &G->stacks, NULL, 0);
        } else {
            advance(g, &G->stacks, &a, 1);
        }
        while (!is_end(&g->elems[a])) a++;
        if (g->elems[a].type == GR_END) break;
        a++;
    }
}

/* Lexicographic order of token code point sequences (then id). qsort has no
 * context argument in C11; grammar init is not reentrant-sensitive here
 * because the pointer is thread-local. */
static _Thread_local const cllm_grammar *g_sort_grammar;
static int cmp_token_cps(const void *x, const void *y) {
    const cllm_grammar *G = g_sort_grammar;
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    const uint32_t *pa = G->vcps + G->vc_off[a], *pb = G->vcps + G->vc_off[b];
    size_t na = G->vc_off[a + 1] - G->vc_off[a], nb = G->vc_off[b + 1] - G->vc_off[b];
    for (size_t i = 0; i < na && i < nb; i++)
        if (pa[i] != pb[i]) return pa[i] < pb[i] ? -1 : 1;
    if (na != nb) return na < nb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static cllm_status cache_vocab(cllm_grammar *G, const cllm_vocab_view *v) {
    int32_t n = v->n_vocab;
    G->vb_off = calloc((size_t)n + 1, sizeof *G->vb_off);
    G->vc_off = calloc((size_t)n + 1, sizeof *G->vc_off);
    G->vpart = calloc((size_t)n, sizeof *G->vpart);
    G->veog = calloc((size_t)n, 1);
    if (!G->vb_off || !G->vc_off || !G->vpart || !G->veog) goto oom;
    size_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *p = v->piece ? v->piece(v->user, i, &len) : NULL;
        if (!p) len = 0;
        total += len;
    }
    G->vbytes = malloc(total ? total : 1);
    G->vcps = malloc((total ? total : 1) * sizeof *G->vcps);
    if (!G->vbytes || !G->vcps) goto oom;
    size_t bo = 0, co = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *p = v->piece ? v->piece(v->user, i, &len) : NULL;
        if (!p) len = 0;
        if (bo + len > total) len = total - bo; /* piece() changed its mind */
        if (len) memcpy(G->vbytes + bo, p, len);
        size_t nc = 0;
        G->vpart[i] = decode_utf8(G->vbytes + bo, len, (putf8){0, 0, 0}, G->vcps + co, &nc);
        bo += len;
        co += nc;
        G->vb_off[i + 1] = bo;
        G->vc_off[i + 1] = co;
        G->veog[i] = v->is_eog ? (uint8_t)v->is_eog(v->user, i) : 0;
    }
    G->n_vocab = n;
    G->vorder = n > 0 ? malloc((size_t)n * sizeof *G->vorder) : NULL;
    if (G->vorder) {
        for (int32_t i = 0; i < n; i++) G->vorder[i] = i;
        g_sort_grammar = G;
        qsort(G->vorder, (size_t)n, sizeof *G->vorder, cmp_token_cps);
        g_sort_grammar = NULL;
        G->base = n > 0 ? malloc((size_t)n * sizeof *G->base) : NULL;
        for (int32_t i = 0; G->base && i < n; i++) {
            int32_t id = G->vorder[i];
            if (G->veog[id]) continue;
            if (make_cand(G, id, (uint32_t)id, NULL, &G->base[G->n_base])) G->n_base++;
        }
        G->lcp = G->n_base ? malloc(G->n_base * sizeof *G->lcp) : NULL;
        if (!G->lcp) {
            free(G->base);
            G->base = NULL;
            G->n_base = 0;
        }
        for (size_t i = 0; G->lcp && i < G->n_base; i++) {
            uint32_t l = 0;
            if (i > 0) {
                const gcand *x = &G->base[i - 1], *y = &G->base[i];
                while (l < x->n && l < y->n && x->cps[l] == y->cps[l]) l++;
            }
            G->lcp[i] = l;
        }
    }
    return CLLM_OK;
oom:
    return cllm_set_last_error(CLLM_ERR_NOMEM, "grammar: out of memory caching %d token pieces", n);
}

cllm_status cllm_grammar_init(const char *gbnf, const char *root, const cllm_vocab_view *vocab,
                              cllm_grammar **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_grammar_init: out is NULL");
    *out = NULL;
    if (!gbnf) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_grammar_init: grammar text is NULL");
    if (vocab && vocab->n_vocab < 0)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_grammar_init: negative n_vocab");
    cllm_grammar *G = calloc(1, sizeof *G);
    if (!G) return cllm_set_last_error(CLLM_ERR_NOMEM, "grammar: out of memory");
    cllm_status st = cllm_gbnf_parse(gbnf, root, vocab, &G->g, NULL);
    if (st == CLLM_OK && vocab) st = cache_vocab(G, vocab);
    if (st == CLLM_OK && !compute_rest(G)) st = cllm_set_last_error(CLLM_ERR_NOMEM, "grammar: out of memory");
    if (st == CLLM_OK) {
        set_initial(G);
        if (G->stacks.overflow)
            st = cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "grammar: too many parse stacks at the start");
    }
    if (st != CLLM_OK) {
        cllm_grammar_free(G);
        return st;
    }
    *out = G;
    return CLLM_OK;
}

void cllm_grammar_free(cllm_grammar *G) {
    if (!G) return;
    cllm_gbnf_free(&G->g);
    gs_free(&G->stacks);
    gs_free(&G->a);
    gs_free(&G->b);
    gs_free(&G->r);
    gs_free(&G->saved);
    free(G->rest);
    free(G->vbytes);
    free(G->vb_off);
    free(G->vcps);
    free(G->vc_off);
    free(G->vpart);
    free(G->veog);
    for (size_t i = 0; i < G->n_masks; i++) {
        free(G->mkey[i]);
        free(G->mbits[i]);
    }
    free(G->key);
    gw_free(&G->work);
    free(G->rej.v);
    free(G->base);
    free(G->lcp);
    free(G->vorder);
    free(G->all);
    free(G->list);
    free(G);
}

cllm_status cllm_grammar_accept_bytes(cllm_grammar *G, const char *bytes, size_t len) {
    if (!G || (!bytes && len)) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "grammar: NULL argument");
    if (len == 0) return CLLM_OK;
    G->err.msg[0] = '\0';
    if (!accept_impl(G, bytes, len, -1)) {
        if (!G->err.msg[0])
            cllm_err_set(&G->err, CLLM_ERR_INVALID_ARG, "grammar: text '%.*s' does not continue the grammar",
                         (int)(len > 64 ? 64 : len), bytes);
        return CLLM_ERR_INVALID_ARG;
    }
    return CLLM_OK;
}

cllm_status cllm_grammar_accept_token(cllm_grammar *G, int32_t token) {
    if (!G) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "grammar: NULL argument");
    if (token < 0 || token >= G->n_vocab)
        return cllm_err_set(&G->err, CLLM_ERR_INVALID_ARG, "grammar: token %d is outside the vocabulary (%d)%s",
                            token, G->n_vocab, G->n_vocab ? "" : " (no vocab view given)");
    if (G->veog[token]) {
        if (grammar_complete(G)) return CLLM_OK;
        return cllm_err_set(&G->err, CLLM_ERR_INVALID_ARG,
                            "grammar: end-of-generation token %d before the grammar is complete", token);
    }
    G->err.msg[0] = '\0';
    size_t len = G->vb_off[token + 1] - G->vb_off[token];
    if (!accept_impl(G, G->vbytes + G->vb_off[token], len, token)) {
        if (!G->err.msg[0])
            cllm_err_set(&G->err, CLLM_ERR_INVALID_ARG, "grammar: token %d ('%.*s') does not continue the grammar",
                         token, (int)(len > 64 ? 64 : len), G->vbytes + G->vb_off[token]);
        return CLLM_ERR_INVALID_ARG;
    }
    return CLLM_OK;
}

bool cllm_grammar_is_complete(const cllm_grammar *G) { return G && grammar_complete(G); }

void cllm_grammar_reset(cllm_grammar *G) {
    if (G) set_initial(G);
}

const char *cllm_grammar_last_error(const cllm_grammar *G) { return G ? G->err.msg : ""; }
