/* batch.c: cllm_batch, the caller-owned list of tokens for one decode call
 * (token, position, sequence ids, want-logits flag per token). */
#include "cllm.h"

#include <stdlib.h>
#include <string.h>

cllm_batch cllm_batch_init(int32_t n_tokens_max, int32_t n_seq_max) {
    cllm_batch b;
    memset(&b, 0, sizeof b);
    if (n_tokens_max < 1 || n_seq_max < 1) return b;
    b.token = calloc((size_t)n_tokens_max, sizeof(int32_t));
    b.pos = calloc((size_t)n_tokens_max, sizeof(int32_t));
    b.n_seq_id = calloc((size_t)n_tokens_max, sizeof(int32_t));
    b.seq_id = calloc((size_t)n_tokens_max, sizeof(int32_t *));
    b.logits = calloc((size_t)n_tokens_max, sizeof(int8_t));
    int32_t *ids = calloc((size_t)n_tokens_max * (size_t)n_seq_max, sizeof(int32_t));
    if (!b.token || !b.pos || !b.n_seq_id || !b.seq_id || !b.logits || !ids) {
        free(ids);
        cllm_batch_free(&b);
        return b;
    }
    for (int32_t i = 0; i < n_tokens_max; i++) b.seq_id[i] = ids + (size_t)i * (size_t)n_seq_max;
    b.cap = n_tokens_max;
    b.seq_cap = n_seq_max;
    return b;
}

void cllm_batch_free(cllm_batch *b) {
    if (!b) return;
    if (b->seq_id) free(b->seq_id[0]);
    free(b->token);
    free(b->pos);
    free(b->n_seq_id);
    free(b->seq_id);
    free(b->logits);
    memset(b, 0, sizeof *b);
}

void cllm_batch_clear(cllm_batch *b) {
    if (b) b->n_tokens = 0;
}

bool cllm_batch_add(cllm_batch *b, int32_t token, int32_t pos, const int32_t *seq_ids, int32_t n_seq,
                    bool want_logits) {
    if (!b || b->n_tokens >= b->cap || n_seq < 1 || n_seq > b->seq_cap || !seq_ids) return false;
    const int32_t i = b->n_tokens++;
    b->token[i] = token;
    b->pos[i] = pos;
    b->n_seq_id[i] = n_seq;
    memcpy(b->seq_id[i], seq_ids, sizeof(int32_t) * (size_t)n_seq);
    b->logits[i] = want_logits ? 1 : 0;
    return true;
}
