/* tokenize.c: cllm_tokenize, the entry point: special-token partition
 * (special.c), then the vocab's tokenizer on every raw fragment, with BOS /
 * EOS (CLS / SEP for WPM) around it when add_special is set. For SPM vocabs
 * with add_space_prefix, a space is put in front of the first raw fragment
 * and of every raw fragment that follows a special token (llama.cpp). */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

void cllm_tokbuf_grow(cllm_tokbuf *b) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    int32_t *ids = realloc(b->ids, cap * sizeof *ids);
    if (!ids) {
        b->oom = true;
        return;
    }
    b->ids = ids;
    b->cap = cap;
}

static void spm_fragment(const cllm_vocab *v, const char *text, size_t len, bool prefix, cllm_tokbuf *out) {
    if (!prefix) {
        cllm_spm_tokenize(v, text, len, out);
        return;
    }
    char *tmp = malloc(len + 1);
    if (!tmp) {
        out->oom = true;
        return;
    }
    tmp[0] = ' ';
    memcpy(tmp + 1, text, len);
    cllm_spm_tokenize(v, tmp, len + 1, out);
    free(tmp);
}

int32_t cllm_tokenize(const cllm_vocab *v, const char *text, size_t len, int32_t *out, int32_t n_max,
                      bool add_special, bool parse_special) {
    if (!v || (!text && len) || n_max < 0 || (!out && n_max > 0) || len > (size_t)INT32_MAX / 2)
        return -(int32_t)CLLM_ERR_INVALID_ARG;
    cllm_fragments fr;
    if (cllm_special_partition(v, text, len, parse_special, &fr) != CLLM_OK) {
        cllm_fragments_free(&fr);
        return -(int32_t)CLLM_ERR_NOMEM;
    }
    cllm_tokbuf tb = {0};
    bool bos = add_special && (v->add_bos || v->type == CLLM_VOCAB_WPM);
    bool eos = add_special && v->type != CLLM_VOCAB_WPM && v->add_eos;
    if (bos && v->bos >= 0) cllm_tokbuf_push(&tb, v->bos);
    bool prev_special = true;   /* SPM: the first raw fragment gets the prefix */
    for (int32_t i = fr.head; i >= 0 && !tb.oom; i = fr.f[i].next) {
        const cllm_fragment *f = &fr.f[i];
        if (f->token >= 0) {
            cllm_tokbuf_push(&tb, f->token);
            prev_special = true;
            continue;
        }
        switch (v->type) {
        case CLLM_VOCAB_SPM:
            spm_fragment(v, text + f->off, f->len, v->add_space_prefix && prev_special, &tb);
            break;
        case CLLM_VOCAB_BPE:
            cllm_bpe_tokenize(v, text + f->off, f->len, &tb);
            break;
        case CLLM_VOCAB_WPM:
            cllm_wpm_tokenize(v, text + f->off, f->len, &tb);
            break;
        }
        prev_special = false;
    }
    if (eos && v->eos >= 0) cllm_tokbuf_push(&tb, v->eos);
    if (add_special && v->type == CLLM_VOCAB_WPM && v->sep >= 0) cllm_tokbuf_push(&tb, v->sep);
    cllm_fragments_free(&fr);
    int32_t result;
    if (tb.oom || tb.n > (size_t)INT32_MAX) {
        result = -(int32_t)CLLM_ERR_NOMEM;
    } else {
        size_t k = tb.n < (size_t)n_max ? tb.n : (size_t)n_max;
        if (k) memcpy(out, tb.ids, k * sizeof *out);
        result = (int32_t)tb.n;
    }
    free(tb.ids);
    return result;
}
