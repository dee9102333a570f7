/* spm.c: the SentencePiece-style tokenizer of "llama" vocabs (Llama 2,
 * Mistral, Phi-3, Gemma). The fragment (spaces already escaped to U+2581)
 * starts as one symbol per UTF-8 character; the adjacent pair whose
 * concatenation is a token with the highest score is merged, ties going to
 * the leftmost pair, until no pair forms a token. Symbols that are not
 * tokens fall back to byte tokens (<0xXX>), and to UNK when the vocab has no
 * byte tokens. A heap makes it O(n log n), with stale entries skipped when
 * popped (llama.cpp's llm_tokenizer_spm). The text is cut before each U+2581
 * that no token can join to the character before it: no merge crosses such a
 * cut, so each part is merged on its own with the same result and far better
 * memory locality than one heap over the whole text. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct spm_sym {
    int32_t prev, next;
    uint32_t start, len;   /* bytes of the text */
} spm_sym;

typedef struct spm_pair {
    float score;
    int32_t left, right;
    uint32_t size;         /* bytes of left+right when queued */
} spm_pair;

static inline bool pair_before(const spm_pair *a, const spm_pair *b) {
    /* Higher score first; on equal scores the leftmost pair. */
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

typedef struct spm_heap {
    spm_pair *a;
    size_t n, cap;
    bool oom;
} spm_heap;

/* A 4-ary heap: half the depth of a binary one, and the four children of a
 * node share a cache line or two, which matters at a million entries. */
static void heap_push(spm_heap *h, spm_pair p) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        spm_pair *na = realloc(h->a, cap * sizeof *na);
        if (!na) { h->oom = true; return; }
        h->a = na;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (!pair_before(&p, &h->a[parent])) break;
        h->a[i] = h->a[parent];
        i = parent;
    }
    h->a[i] = p;
}

static spm_pair heap_pop(spm_heap *h) {
    spm_pair top = h->a[0], last = h->a[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n) break;
        size_t best = c, end = c + 4 < n ? c + 4 : n;
        for (size_t k = c + 1; k < end; k++)
            if (pair_before(&h->a[k], &h->a[best])) best = k;
        if (!pair_before(&h->a[best], &last)) break;
        h->a[i] = h->a[best];
        i = best;
    }
    if (n > 0) h->a[i] = last;
    return top;
}

static void try_pair(const cllm_vocab *v, const char *text, const spm_sym *sym, spm_heap *h, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    uint32_t size = sym[l].len + sym[r].len;
    int32_t t = cllm_vocab_text_to_token(v, text + sym[l].start, size);
    if (t < 0) return;
    spm_pair p = {v->score[t], l, r, size};
    heap_push(h, p);
}

static void emit_bytes(const cllm_vocab *v, const unsigned char *s, size_t n, cllm_tokbuf *out) {
    for (size_t i = 0; i < n; i++) {
        int32_t t = v->byte_token[s[i]];
        if (t >= 0) cllm_tokbuf_push(out, t);
        else if (v->unk >= 0) cllm_tokbuf_push(out, v->unk);
    }
}

/* Merge symbols [a, b) (linked among themselves) and emit their tokens. */
static void spm_segment(const cllm_vocab *v, const char *text, spm_sym *sym, int32_t a, int32_t b, spm_heap *h,
                        cllm_tokbuf *out) {
    h->n = 0;
    for (int32_t i = a; i < b; i++) {
        sym[i].prev = i > a ? i - 1 : -1;
        sym[i].next = i + 1 < b ? i + 1 : -1;
    }
    for (int32_t i = a + 1; i < b; i++) try_pair(v, text, sym, h, i - 1, i);
    while (h->n > 0 && !h->oom) {
        spm_pair p = heap_pop(h);
        spm_sym *l = &sym[p.left], *r = &sym[p.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != p.size) continue;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        try_pair(v, text, sym, h, l->prev, p.left);
        try_pair(v, text, sym, h, p.left, l->next);
    }
    if (h->oom) out->oom = true;
    for (int32_t i = a; i >= 0; i = sym[i].next) {
        int32_t t = cllm_vocab_text_to_token(v, text + sym[i].start, sym[i].len);
        if (t >= 0) cllm_tokbuf_push(out, t);
        else emit_bytes(v, (const unsigned char *)text + sym[i].start, sym[i].len, out);
    }
}

/* Tokenize text[0..len) that already has its spaces escaped. */
static void spm_run(const cllm_vocab *v, const char *text, size_t len, cllm_tokbuf *out) {
    if (len == 0) return;
    spm_sym *sym = malloc(len * sizeof *sym);
    spm_heap h = {0};
    if (!sym) { out->oom = true; return; }
    int32_t n = 0;
    for (size_t off = 0; off < len;) {
        size_t cl = cllm_utf8_lead_len((unsigned char)text[off]);
        if (cl > len - off) cl = len - off;
        sym[n].start = (uint32_t)off;
        sym[n].len = (uint32_t)cl;
        off += cl;
        n++;
    }
    /* A symbol that is exactly U+2581 after a byte no token glues to it
     * starts an independent segment (see tok_internal.h). */
    int32_t a = 0;
    for (int32_t i = 1; i <= n && !out->oom; i++) {
        bool cut = i == n;
        if (!cut && sym[i].len == 3 && !memcmp(text + sym[i].start, CLLM_ESCAPED_SPACE, 3))
            cut = !v->spm_glue_before_space[(unsigned char)text[sym[i].start - 1]];
        if (cut) {
            spm_segment(v, text, sym, a, i, &h, out);
            a = i;
        }
    }
    free(h.a);
    free(sym);
}

void cllm_spm_tokenize(const cllm_vocab *v, const char *text, size_t len, cllm_tokbuf *out) {
    /* Escape spaces: each ' ' becomes U+2581 (3 bytes). */
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++) spaces += text[i] == ' ';
    if (!v->escape_whitespaces || spaces == 0) {
        spm_run(v, text, len, out);
        return;
    }
    char *esc = malloc(len + 2 * spaces);
    if (!esc) { out->oom = true; return; }
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(esc + k, CLLM_ESCAPED_SPACE, 3);
            k += 3;
        } else {
            esc[k++] = text[i];
        }
    }
    spm_run(v, esc, k, out);
    free(esc);
}
