/* bpe.c: byte-level BPE (GPT-2 style). The fragment is split into words by
 * the pre-tokenizer (pretok.c); each word starts as one symbol per byte (the
 * byte's GPT-2 character) and the adjacent pair with the lowest merge rank is
 * merged until no pair has a rank. A heap keyed by (rank, left position)
 * gives llama.cpp's exact merge order in O(n log n) per word; stale heap
 * entries are skipped when popped.
 *
 * Symbols carry "piece ids" (vocab.c): merges are looked up by the pair of
 * piece ids, so no strings are built while merging. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct bpe_sym {
    int32_t piece;     /* piece id of the symbol's text, -1 if none */
    int32_t prev, next;
    uint32_t start, len; /* bytes of the word */
} bpe_sym;

/* A queued pair: 16 bytes. The right symbol is not stored: while the left
 * symbol keeps its length it still has the same right neighbour, and the pair
 * is current iff that neighbour is alive and the two lengths still sum to
 * `size` (a symbol only grows, by absorbing its right neighbour). */
typedef struct bpe_pair {
    int32_t rank, left;
    uint32_t size;
    int32_t result;    /* piece id of the merged symbol */
} bpe_pair;

typedef struct bpe_scratch {
    bpe_sym  *sym;
    size_t    sym_cap;
    bpe_pair *heap;
    size_t    heap_n, heap_cap;
    char     *enc;     /* byte-encoded word (ignore_merges lookups) */
    size_t    enc_cap;
    bool      oom;
} bpe_scratch;

static inline bool pair_less(const bpe_pair *a, const bpe_pair *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

/* A 4-ary min-heap: half the depth of a binary one, siblings adjacent in
 * memory; long words (a run of a million spaces) make it big. */
static void sift_down(bpe_pair *h, size_t n, size_t i, bpe_pair x) {
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n) break;
        size_t best = c, end = c + 4 < n ? c + 4 : n;
        for (size_t k = c + 1; k < end; k++)
            if (pair_less(&h[k], &h[best])) best = k;
        if (!pair_less(&h[best], &x)) break;
        h[i] = h[best];
        i = best;
    }
    h[i] = x;
}

static bool heap_reserve(bpe_scratch *s, size_t need) {
    if (need <= s->heap_cap) return true;
    size_t cap = s->heap_cap ? s->heap_cap : 64;
    while (cap < need) cap *= 2;
    bpe_pair *h = realloc(s->heap, cap * sizeof *h);
    if (!h) { s->oom = true; return false; }
    s->heap = h;
    s->heap_cap = cap;
    return true;
}

static void heap_push(bpe_scratch *s, const bpe_pair *p) {
    if (!heap_reserve(s, s->heap_n + 1)) return;
    size_t i = s->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (!pair_less(p, &s->heap[parent])) break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = *p;
}

static bpe_pair heap_pop(bpe_scratch *s) {
    bpe_pair top = s->heap[0];
    bpe_pair last = s->heap[--s->heap_n];
    if (s->heap_n > 0) sift_down(s->heap, s->heap_n, 0, last);
    return top;
}

/* The merge of symbols l and r (adjacent), or NULL. */
static inline const cllm_merge_entry *find_merge(const cllm_vocab *v, const bpe_scratch *s, int32_t l, int32_t r) {
    int32_t lp = s->sym[l].piece, rp = s->sym[r].piece;
    if (lp < 0 || rp < 0) return NULL;
    return cllm_mergemap_get(&v->merges, ((uint64_t)(uint32_t)lp << 32) | (uint32_t)rp);
}

static void add_pair(const cllm_vocab *v, bpe_scratch *s, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const cllm_merge_entry *e = find_merge(v, s, l, r);
    if (!e) return;
    bpe_pair p = {e->rank, l, s->sym[l].len + s->sym[r].len, e->result};
    heap_push(s, &p);
}

static void emit_bytes(const cllm_vocab *v, const unsigned char *w, size_t n, cllm_tokbuf *out) {
    /* A symbol that is not a token (only in odd vocabs): its bytes one by
     * one, and UNK for a byte without a token. */
    for (size_t i = 0; i < n; i++) {
        int32_t t = v->byte_piece[w[i]];
        if (t >= 0 && t < v->n_tokens) cllm_tokbuf_push(out, t);
        else if (v->unk >= 0) cllm_tokbuf_push(out, v->unk);
    }
}

static void bpe_word(const cllm_vocab *v, bpe_scratch *s, const unsigned char *w, size_t n, cllm_tokbuf *out) {
    if (n == 0) return;
    if (v->ignore_merges) {
        /* llama3/tekken: a word that is itself a token is not merged. */
        size_t need = n * 2;
        if (need > s->enc_cap) {
            char *e = realloc(s->enc, need);
            if (!e) { s->oom = true; return; }
            s->enc = e;
            s->enc_cap = need;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) k += cllm_utf8_encode(cllm_gpt2_byte_to_cp(w[i]), s->enc + k);
        int32_t t = cllm_vocab_text_to_token(v, s->enc, k);
        if (t >= 0) {
            cllm_tokbuf_push(out, t);
            return;
        }
    }
    if (n > s->sym_cap) {
        bpe_sym *ns = realloc(s->sym, n * sizeof *ns);
        if (!ns) { s->oom = true; return; }
        s->sym = ns;
        s->sym_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        s->sym[i].piece = v->byte_piece[w[i]];
        s->sym[i].prev = (int32_t)i - 1;
        s->sym[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
        s->sym[i].start = (uint32_t)i;
        s->sym[i].len = 1;
    }
    /* The initial pairs go in unordered and are heapified in O(n). */
    s->heap_n = 0;
    if (!heap_reserve(s, n)) return;
    for (size_t i = 1; i < n; i++) {
        const cllm_merge_entry *e = find_merge(v, s, (int32_t)i - 1, (int32_t)i);
        if (e) s->heap[s->heap_n++] = (bpe_pair){e->rank, (int32_t)i - 1, 2, e->result};
    }
    for (size_t i = s->heap_n / 4 + 1; i-- > 0;)
        if (i < s->heap_n) sift_down(s->heap, s->heap_n, i, s->heap[i]);
    while (s->heap_n > 0 && !s->oom) {
        bpe_pair p = heap_pop(s);
        bpe_sym *l = &s->sym[p.left];
        if (l->len == 0 || l->next < 0) continue;
        int32_t ri = l->next;
        bpe_sym *r = &s->sym[ri];
        if (r->len == 0 || l->len + r->len != p.size) continue;
        l->piece = p.result;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = p.left;
        add_pair(v, s, l->prev, p.left);
        add_pair(v, s, p.left, l->next);
    }
    for (int32_t i = 0; i >= 0; i = s->sym[i].next) {
        const bpe_sym *x = &s->sym[i];
        if (x->piece >= 0 && x->piece < v->n_tokens) cllm_tokbuf_push(out, x->piece);
        else emit_bytes(v, w + x->start, x->len, out);
    }
}

void cllm_bpe_tokenize(const cllm_vocab *v, const char *text, size_t len, cllm_tokbuf *out) {
    if (len == 0) return;
    /* Invalid UTF-8 bytes become U+FFFD, as in llama.cpp. */
    char *clean = NULL;
    size_t clean_len = len;
    {
        const unsigned char *u = (const unsigned char *)text;
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t k = u[i] < 0x80 ? 1 : cllm_utf8_decode(u + i, len - i, &cp);
            if (k == 0) {
                if (cllm_utf8_sanitize(text, len, &clean, &clean_len) != CLLM_OK) { out->oom = true; return; }
                text = clean;
                break;
            }
            i += k;
        }
    }
    size_t *spans = NULL, spans_cap = 0;
    int64_t nw = cllm_pretok_split(v->pretok, text, clean_len, &spans, &spans_cap);
    if (nw < 0) {
        out->oom = true;
    } else {
        bpe_scratch s = {0};
        for (int64_t i = 0; i < nw && !s.oom; i++)
            bpe_word(v, &s, (const unsigned char *)text + spans[2 * i], spans[2 * i + 1], out);
        if (s.oom) out->oom = true;
        free(s.sym);
        free(s.heap);
        free(s.enc);
    }
    free(spans);
    free(clean);
}
