/* special.c: the special-token pass that runs before the tokenizers. The
 * input becomes a list of fragments: special tokens found in the text, and
 * the raw text between them.
 *
 * Semantics (llama.cpp's tokenizer_st_partition): the special tokens are
 * tried one at a time, longest text first; each takes, in every raw fragment
 * left by the tokens before it, its leftmost non-overlapping occurrences.
 * USER_DEFINED tokens are always matched; CONTROL and UNKNOWN ones only with
 * parse_special. A token with LSTRIP/RSTRIP (phi-3) also swallows the ASCII
 * whitespace before/after it inside its fragment.
 *
 * Implementation: instead of rescanning the text once per special token
 * (gemma3 has 6k of them), the text's positions are indexed by their first
 * two bytes once (hashed into fewer buckets for short texts); a token then
 * visits only the positions in its bucket, in increasing order. "Inside a raw fragment" is "no
 * byte already taken by an earlier token (or its stripped whitespace)", which
 * a byte map answers. The accepted tokens, sorted by position, and the free
 * runs between them are the fragments. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

void cllm_fragments_free(cllm_fragments *fr) {
    if (!fr) return;
    free(fr->f);
    memset(fr, 0, sizeof *fr);
}

static int32_t frag_add(cllm_fragments *fr, int32_t token, size_t off, size_t len) {
    if (fr->n == fr->cap) {
        int32_t cap = fr->cap ? fr->cap * 2 : 16;
        cllm_fragment *nf = realloc(fr->f, (size_t)cap * sizeof *nf);
        if (!nf) return -1;
        fr->f = nf;
        fr->cap = cap;
    }
    int32_t i = fr->n++;
    fr->f[i].token = token;
    fr->f[i].off = off;
    fr->f[i].len = len;
    fr->f[i].next = -1;
    if (i > 0) fr->f[i - 1].next = i;
    else fr->head = 0;
    return i;
}

/* Bytes llama.cpp's isspace() strips around LSTRIP/RSTRIP tokens. */
static bool c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

typedef struct hit {
    size_t pos;
    int32_t token;
} hit;

static int cmp_hit(const void *a, const void *b) {
    const hit *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Bucket of a byte pair: the pair itself with 16 bits, else a hash. */
static inline unsigned pair_bucket(unsigned b0, unsigned b1, unsigned bits) {
    unsigned k = (b0 << 8) | b1;
    return bits >= 16 ? k : (unsigned)((k * 2654435761u) >> (32 - bits));
}

static bool free_span(const uint8_t *taken, size_t p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (taken[p + i]) return false;
    return true;
}

cllm_status cllm_special_partition(const cllm_vocab *v, const char *text, size_t len, bool parse_special,
                                   cllm_fragments *fr) {
    memset(fr, 0, sizeof *fr);
    fr->head = -1;
    if (len == 0) return CLLM_OK;
    const uint32_t skip = parse_special ? 0u : (CLLM_TOKEN_ATTR_CONTROL | CLLM_TOKEN_ATTR_UNKNOWN);
    bool any = false;
    for (int32_t s = 0; s < v->n_special && !any; s++) {
        int32_t id = v->special[s];
        any = !(v->attr[id] & skip) && v->text_len[id] <= len;
    }
    if (!any) return frag_add(fr, -1, 0, len) < 0 ? CLLM_ERR_NOMEM : CLLM_OK;

    cllm_status st = CLLM_ERR_NOMEM;
    /* head2[bucket(b0,b1)]: first position whose two bytes fall in that
     * bucket; next2[p]: the following position of the same bucket (-1 ends).
     * Buckets: all 65536 byte pairs for long texts, fewer (hashed) for short
     * ones so that a short call does not clear a big table. */
    unsigned bits = 6;
    while (bits < 16 && ((size_t)1 << bits) < len) bits++;
    int32_t *head2 = malloc(((size_t)1 << bits) * sizeof *head2);
    int32_t *next2 = len > 1 ? malloc((len - 1) * sizeof *next2) : NULL;
    uint8_t *taken = calloc(len, 1);
    hit *hits = NULL;
    size_t n_hits = 0, hits_cap = 0;
    if (!head2 || (len > 1 && !next2) || !taken) goto done;
    memset(head2, 0xFF, ((size_t)1 << bits) * sizeof *head2);
    for (size_t p = len - 1; p-- > 0;) {
        unsigned key = pair_bucket((unsigned char)text[p], (unsigned char)text[p + 1], bits);
        next2[p] = head2[key];
        head2[key] = (int32_t)p;
    }

    for (int32_t s = 0; s < v->n_special; s++) {
        int32_t id = v->special[s];
        uint32_t attr = v->attr[id];
        if (attr & skip) continue;
        const char *tt = v->text[id];
        size_t tl = v->text_len[id];
        if (tl == 0 || tl > len) continue;
        size_t last_end = 0;   /* this token's matches do not overlap */
        /* Walk the candidate positions in increasing order. */
        int32_t cand = -1;
        const char *scan = NULL;
        if (tl >= 2) cand = head2[pair_bucket((unsigned char)tt[0], (unsigned char)tt[1], bits)];
        else scan = text;
        for (;;) {
            size_t p;
            if (tl >= 2) {
                if (cand < 0) break;
                p = (size_t)cand;
                cand = next2[p];
                if (p < last_end || p + tl > len || memcmp(text + p, tt, tl) != 0) continue;
            } else {
                if (scan >= text + len) break;
                const char *m = memchr(scan, (unsigned char)tt[0], (size_t)(text + len - scan));
                if (!m) break;
                scan = m + 1;
                p = (size_t)(m - text);
                if (p < last_end) continue;
            }
            if (!free_span(taken, p, tl)) continue;
            memset(taken + p, 1, tl);
            if (attr & CLLM_TOKEN_ATTR_LSTRIP)
                for (size_t q = p; q > last_end && !taken[q - 1] && c_space(text[q - 1]); q--) taken[q - 1] = 1;
            size_t e = p + tl;
            if (attr & CLLM_TOKEN_ATTR_RSTRIP)
                for (; e < len && !taken[e] && c_space(text[e]); e++) taken[e] = 1;
            last_end = e;
            if (n_hits == hits_cap) {
                size_t cap = hits_cap ? hits_cap * 2 : 64;
                hit *nh = realloc(hits, cap * sizeof *nh);
                if (!nh) goto done;
                hits = nh;
                hits_cap = cap;
            }
            hits[n_hits].pos = p;
            hits[n_hits].token = id;
            n_hits++;
        }
    }

    /* Fragments in text order: free runs and the tokens. */
    if (n_hits > 1) qsort(hits, n_hits, sizeof *hits, cmp_hit);
    size_t h = 0;
    for (size_t p = 0; p < len;) {
        if (h < n_hits && hits[h].pos == p) {
            if (frag_add(fr, hits[h].token, 0, 0) < 0) goto done;
            p += v->text_len[hits[h].token];
            h++;
            continue;
        }
        if (taken[p]) {   /* stripped whitespace */
            p++;
            continue;
        }
        size_t q = p;
        while (q < len && !taken[q]) q++;
        if (frag_add(fr, -1, p, q - p) < 0) goto done;
        p = q;
    }
    st = CLLM_OK;
done:
    free(head2);
    free(next2);
    free(taken);
    free(hits);
    return st;
}
