/* spm.c: the SentencePiece-style tokenizer of "llama" vocabs (Llama 2,
 * Mistral, Phi-3, Gemma). The fragment (spaces already escaped to U+2581)
 * starts as one symbol per UTF-8 character; the adjacent pair whose
 * concatenation is a token with the highest score is merged, ties going to
 * the leftmost pair, until no pair forms a token. Symbols that are not
 * tokens fall back to byte tokens (<0xXX>), and to UNK when the vocab has no
 * byte tokens. A binary heap makes it O(n log n), with stale entries skipped
 * when popped (llama.cpp's llm_tokenizer_spm). */
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
        size_t parent = (i - 1) / 2;
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
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_before(&h->a[c + 1], &h->a[c])) c++;
        if (!pair_before(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
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
        sym[n].prev = n - 1;
        off += cl;
        sym[n].next = off == len ? -1 : n + 1;
        n++;
    }
    for (int32_t i = 1; i < n; i++) try_pair(v, text, sym, &h, i - 1, i);
    while (h.n > 0 && !h.oom) {
        spm_pair p = heap_pop(&h);
        spm_sym *l = &sym[p.left], *r = &sym[p.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != p.size) continue;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        try_pair(v, text, sym, &h, l->prev, p.left);
        try_pair(v, text, sym, &h, p.left, l->next);
    }
    if (h.oom) out->oom = true;
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        int32_t t = cllm_vocab_text_to_token(v, text + sym[i].start, sym[i].len);
        if (t >= 0) cllm_tokbuf_push(out, t);
        else emit_bytes(v, (const unsigned char *)text + sym[i].start, sym[i].len, out);
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
