/* vocab_view.c: cllm_vocab_view over the tokenizer's cllm_vocab, so the
 * sampler and grammar need only the small view interface. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

typedef struct view_ctx {
    const cllm_vocab *vocab;
    char *buf;
    int32_t cap;
} view_ctx;

static const char *vv_piece(void *user, int32_t id, size_t *len) {
    view_ctx *c = user;
    *len = 0;
    int32_t n = cllm_token_to_piece(c->vocab, id, c->buf, c->cap, false);
    if (n < 0) {
        char *nb = realloc(c->buf, (size_t)-n);
        if (!nb) return NULL;
        c->buf = nb;
        c->cap = -n;
        n = cllm_token_to_piece(c->vocab, id, c->buf, c->cap, false);
        if (n < 0) return NULL;
    }
    *len = (size_t)n;
    return c->buf;
}

static bool vv_eog(void *user, int32_t id) { return cllm_vocab_is_eog(((view_ctx *)user)->vocab, id); }

static int32_t vv_find(void *user, const char *text, size_t len) {
    return cllm_vocab_find(((view_ctx *)user)->vocab, text, len);
}

cllm_status cllm_vocab_view_init(cllm_vocab_view *view, const struct cllm_vocab *vocab) {
    if (!view || !vocab) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_vocab_view_init: NULL argument");
    memset(view, 0, sizeof *view);
    view_ctx *c = calloc(1, sizeof *c);
    if (!c) return cllm_set_last_error(CLLM_ERR_NOMEM, "vocab view: out of memory");
    c->vocab = vocab;
    c->cap = 256;
    c->buf = malloc((size_t)c->cap);
    if (!c->buf) {
        free(c);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "vocab view: out of memory");
    }
    view->n_vocab = cllm_vocab_n_tokens(vocab);
    view->piece = vv_piece;
    view->is_eog = vv_eog;
    view->find = vv_find;
    view->user = c;
    return CLLM_OK;
}

void cllm_vocab_view_free(cllm_vocab_view *view) {
    if (!view || !view->user) return;
    view_ctx *c = view->user;
    free(c->buf);
    free(c);
    memset(view, 0, sizeof *view);
}
