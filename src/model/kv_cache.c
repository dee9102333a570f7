/* kv_cache.c: cell bookkeeping and storage of the KV cache (see kv_cache.h). */
#include "model/kv_cache.h"
#include "core/core.h"
#include "tensor/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cllm_status cllm_kv_init(cllm_kv_cache *kv, uint32_t size, cllm_type type, int n_layer,
                         int64_t n_embd_kv, char *err, size_t err_len) {
    memset(kv, 0, sizeof *kv);
    if (type != CLLM_TYPE_F32 && type != CLLM_TYPE_F16 && type != CLLM_TYPE_Q8_0) {
        snprintf(err, err_len, "kv cache: type %s not supported (f16, f32 or q8_0)",
                 cllm_type_name(type) ? cllm_type_name(type) : "?");
        return CLLM_ERR_UNSUPPORTED;
    }
    kv->row_bytes = (size_t)cllm_type_row_size(type, n_embd_kv);
    if (kv->row_bytes == 0) {
        snprintf(err, err_len, "kv cache: rows of %lld elements cannot be stored as %s",
                 (long long)n_embd_kv, cllm_type_name(type));
        return CLLM_ERR_UNSUPPORTED;
    }
    kv->size = size;
    kv->type = type;
    kv->n_layer = n_layer;
    kv->n_embd_kv = n_embd_kv;
    kv->k = calloc((size_t)n_layer, sizeof(void *));
    kv->v = calloc((size_t)n_layer, sizeof(void *));
    kv->pos = calloc(size, sizeof(int32_t));
    kv->seq = calloc(size, sizeof(uint64_t));
    bool ok = kv->k && kv->v && kv->pos && kv->seq;
    for (int l = 0; ok && l < n_layer; l++) {
        kv->k[l] = cllm_amalloc(kv->row_bytes * size);
        kv->v[l] = cllm_amalloc(kv->row_bytes * size);
        ok = kv->k[l] && kv->v[l];
        /* Zero so that stale cells never hold NaN bit patterns. */
        if (ok) {
            memset(kv->k[l], 0, kv->row_bytes * size);
            memset(kv->v[l], 0, kv->row_bytes * size);
        }
    }
    if (!ok) {
        snprintf(err, err_len, "kv cache: cannot allocate %u cells x %d layers x %zu bytes", size, n_layer,
                 kv->row_bytes * 2);
        cllm_kv_free(kv);
        return CLLM_ERR_NOMEM;
    }
    return CLLM_OK;
}

void cllm_kv_free(cllm_kv_cache *kv) {
    if (!kv) return;
    for (int l = 0; l < kv->n_layer; l++) {
        if (kv->k) cllm_afree(kv->k[l]);
        if (kv->v) cllm_afree(kv->v[l]);
    }
    free(kv->k);
    free(kv->v);
    free(kv->pos);
    free(kv->seq);
    memset(kv, 0, sizeof *kv);
}

void cllm_kv_cache_clear(cllm_kv_cache *kv) {
    memset(kv->seq, 0, sizeof(uint64_t) * kv->size);
    memset(kv->pos, 0, sizeof(int32_t) * kv->size);
    kv->used = 0;
    kv->head = 0;
}

static inline uint64_t seq_bit(int32_t s) {
    return (s >= 0 && s < CLLM_KV_MAX_SEQ) ? (1ull << s) : 0;
}

static inline bool in_range(int32_t pos, int32_t p0, int32_t p1) {
    if (p0 < 0) p0 = 0;
    return pos >= p0 && (p1 < 0 || pos < p1);
}

static void free_cell(cllm_kv_cache *kv, uint32_t i) {
    kv->seq[i] = 0;
    kv->used--;
    if (i < kv->head) kv->head = i;
}

void cllm_kv_cache_seq_rm(cllm_kv_cache *kv, int32_t seq, int32_t p0, int32_t p1) {
    const uint64_t mask = seq < 0 ? ~0ull : seq_bit(seq);
    if (!mask) return;
    for (uint32_t i = 0; i < kv->size; i++) {
        if (!(kv->seq[i] & mask) || !in_range(kv->pos[i], p0, p1)) continue;
        kv->seq[i] &= ~mask;
        if (!kv->seq[i]) free_cell(kv, i);
    }
}

void cllm_kv_cache_seq_cp(cllm_kv_cache *kv, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    const uint64_t ms = seq_bit(src), md = seq_bit(dst);
    if (!ms || !md || src == dst) return;
    for (uint32_t i = 0; i < kv->size; i++)
        if ((kv->seq[i] & ms) && in_range(kv->pos[i], p0, p1)) kv->seq[i] |= md;
}

void cllm_kv_cache_seq_keep(cllm_kv_cache *kv, int32_t seq) {
    const uint64_t m = seq_bit(seq);
    for (uint32_t i = 0; i < kv->size; i++) {
        if (!kv->seq[i]) continue;
        if (kv->seq[i] & m) kv->seq[i] = m;
        else free_cell(kv, i);
    }
}

void cllm_kv_cache_seq_add(cllm_kv_cache *kv, int32_t seq, int32_t p0, int32_t p1, int32_t delta,
                           int32_t *shift) {
    const uint64_t m = seq < 0 ? ~0ull : seq_bit(seq);
    if (!m || delta == 0) return;
    for (uint32_t i = 0; i < kv->size; i++) {
        if (!(kv->seq[i] & m) || !in_range(kv->pos[i], p0, p1)) continue;
        kv->pos[i] += delta;
        if (kv->pos[i] < 0) {
            free_cell(kv, i);
            if (shift) shift[i] = 0;
        } else if (shift) {
            shift[i] += delta;
        }
    }
}

int32_t cllm_kv_cache_seq_pos_max(const cllm_kv_cache *kv, int32_t seq) {
    const uint64_t m = seq_bit(seq);
    int32_t mx = -1;
    for (uint32_t i = 0; i < kv->size; i++)
        if ((kv->seq[i] & m) && kv->pos[i] > mx) mx = kv->pos[i];
    return mx;
}

bool cllm_kv_cache_find_slots(cllm_kv_cache *kv, int n, int32_t *cells) {
    if (n < 0 || (uint64_t)kv->used + (uint64_t)n > kv->size) return false;
    int k = 0;
    /* Free cells from the head on (the head is the lowest possibly-free cell),
     * so cells fill densely and n_kv stays small. */
    for (uint32_t i = kv->head; i < kv->size && k < n; i++)
        if (!kv->seq[i]) cells[k++] = (int32_t)i;
    return k == n;
}

void cllm_kv_cache_set(cllm_kv_cache *kv, int32_t cell, int32_t pos, uint64_t seq_mask) {
    if (!kv->seq[cell]) kv->used++;
    kv->seq[cell] = seq_mask;
    kv->pos[cell] = pos;
    while (kv->head < kv->size && kv->seq[kv->head]) kv->head++;
}

uint32_t cllm_kv_cache_n_kv(const cllm_kv_cache *kv) {
    uint32_t n = kv->size;
    while (n > 0 && !kv->seq[n - 1]) n--;
    return n;
}
