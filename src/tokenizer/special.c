/* special.c: the special-token pass that runs before the tokenizers. The
 * input becomes a list of fragments: special tokens found in the text, and
 * the raw text between them. As in llama.cpp (tokenizer_st_partition), the
 * special tokens are tried one at a time, longest text first, each over every
 * raw fragment left by the previous ones (leftmost, non-overlapping matches).
 * USER_DEFINED tokens are always matched; CONTROL and UNKNOWN ones only with
 * parse_special. A token with LSTRIP/RSTRIP (phi-3) swallows the whitespace
 * before/after it.
 *
 * A token whose text does not occur in the input at all is skipped with one
 * scan over the input, so the cost is about (number of special tokens) x
 * (input length) in the worst case but one quick scan per token normally. */
#include "tokenizer/tok_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void cllm_fragments_free(cllm_fragments *fr) {
    if (!fr) return;
    free(fr->f);
    memset(fr, 0, sizeof *fr);
}

static int32_t frag_new(cllm_fragments *fr, int32_t token, size_t off, size_t len) {
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
    return i;
}

/* First occurrence of needle[0..m) in hay[0..n) (m >= 1), or NULL. memchr
 * on the first byte then memcmp: special-token texts are short. */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t m) {
    if (m > n) return NULL;
    const char *end = hay + (n - m) + 1;
    for (const char *p = hay; p < end;) {
        p = memchr(p, (unsigned char)needle[0], (size_t)(end - p));
        if (!p) return NULL;
        if (memcmp(p, needle, m) == 0) return p;
        p++;
    }
    return NULL;
}

/* Bytes llama.cpp's isspace() strips around LSTRIP/RSTRIP tokens. */
static bool c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

cllm_status cllm_special_partition(const cllm_vocab *v, const char *text, size_t len, bool parse_special,
                                   cllm_fragments *fr) {
    memset(fr, 0, sizeof *fr);
    fr->head = -1;
    if (len == 0) return CLLM_OK;
    fr->head = frag_new(fr, -1, 0, len);
    if (fr->head < 0) return CLLM_ERR_NOMEM;
    for (int32_t s = 0; s < v->n_special; s++) {
        int32_t id = v->special[s];
        uint32_t attr = v->attr[id];
        if (!parse_special && (attr & (CLLM_TOKEN_ATTR_CONTROL | CLLM_TOKEN_ATTR_UNKNOWN))) continue;
        const char *tt = v->text[id];
        size_t tl = v->text_len[id];
        if (tl == 0 || tl > len || !find_bytes(text, len, tt, tl)) continue;
        int32_t prev = -1;
        for (int32_t i = fr->head; i >= 0;) {
            cllm_fragment *f = &fr->f[i];
            if (f->token >= 0 || f->len < tl) {
                prev = i;
                i = f->next;
                continue;
            }
            /* Split this raw fragment at every occurrence of the token. */
            size_t off = f->off, rem = f->len;
            int32_t next = f->next;
            int32_t last = prev;   /* the node after which new nodes go */
            bool any = false;
            const char *m;
            while (rem >= tl && (m = find_bytes(text + off, rem, tt, tl)) != NULL) {
                size_t mpos = (size_t)(m - text);
                size_t left = mpos - off;
                if (attr & CLLM_TOKEN_ATTR_LSTRIP)
                    while (left > 0 && c_space(text[off + left - 1])) left--;
                int32_t nodes[2];
                int nn = 0;
                if (left > 0) {
                    nodes[nn] = frag_new(fr, -1, off, left);
                    if (nodes[nn] < 0) return CLLM_ERR_NOMEM;
                    nn++;
                }
                nodes[nn] = frag_new(fr, id, 0, 0);
                if (nodes[nn] < 0) return CLLM_ERR_NOMEM;
                nn++;
                for (int k = 0; k < nn; k++) {
                    if (last < 0) fr->head = nodes[k];
                    else fr->f[last].next = nodes[k];
                    last = nodes[k];
                }
                any = true;
                size_t roff = mpos + tl, rlen = rem - (roff - off);
                if (attr & CLLM_TOKEN_ATTR_RSTRIP)
                    while (rlen > 0 && c_space(text[roff])) { roff++; rlen--; }
                off = roff;
                rem = rlen;
            }
            if (!any) {
                prev = i;
                i = next;
                continue;
            }
            /* What remains of the fragment (maybe nothing). The original node
             * i is reused for it, or dropped. */
            if (rem > 0) {
                fr->f[i].off = off;
                fr->f[i].len = rem;
                fr->f[i].next = next;
                fr->f[last].next = i;
                last = i;
            } else {
                fr->f[last].next = next;
            }
            prev = last;
            i = next;
        }
    }
    return CLLM_OK;
}
