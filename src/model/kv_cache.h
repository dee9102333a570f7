/* kv_cache.h: the KV cache: n cells shared by all sequences. Each cell holds
 * one token's K and V rows for every layer, its position, and the bitmask of
 * the sequences (ids 0..63) it belongs to; a cell with mask 0 is free. Prefix
 * sharing (seq_cp) adds a sequence bit without copying data. Storage is F16
 * (default), F32 or Q8_0, one contiguous buffer per layer for K and for V. */
#ifndef CLLM_MODEL_KV_CACHE_H
#define CLLM_MODEL_KV_CACHE_H

#include "cllm.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLLM_KV_MAX_SEQ 64

typedef struct cllm_kv_cache {
    uint32_t size;          /* cells */
    cllm_type type;
    int n_layer;
    int64_t n_embd_kv;      /* elements per cell row (n_head_kv * head_dim) */
    size_t row_bytes;       /* bytes per cell row */
    void **k, **v;          /* [n_layer] buffers of size*row_bytes (owned) */
    int32_t *pos;           /* [size] */
    uint64_t *seq;          /* [size] sequence bitmask; 0 = free */
    uint32_t used;          /* cells with a non-zero mask */
    uint32_t head;          /* where the next slot search starts */
} cllm_kv_cache;

/* Allocate; error (message in err) for a type the cache cannot hold. */
cllm_status cllm_kv_init(cllm_kv_cache *kv, uint32_t size, cllm_type type, int n_layer,
                         int64_t n_embd_kv, char *err, size_t err_len);
void cllm_kv_free(cllm_kv_cache *kv);

void cllm_kv_cache_clear(cllm_kv_cache *kv);
/* Remove seq (seq < 0: every sequence) from cells with p0 <= pos < p1. */
void cllm_kv_cache_seq_rm(cllm_kv_cache *kv, int32_t seq, int32_t p0, int32_t p1);
void cllm_kv_cache_seq_cp(cllm_kv_cache *kv, int32_t src, int32_t dst, int32_t p0, int32_t p1);
void cllm_kv_cache_seq_keep(cllm_kv_cache *kv, int32_t seq);
/* Shift positions of seq's cells in [p0, p1) by delta; cells pushed below 0
 * are freed. Records each moved cell's delta in shift[] (may be NULL) so the
 * caller can re-rotate K. */
void cllm_kv_cache_seq_add(cllm_kv_cache *kv, int32_t seq, int32_t p0, int32_t p1, int32_t delta,
                           int32_t *shift);
int32_t cllm_kv_cache_seq_pos_max(const cllm_kv_cache *kv, int32_t seq);

/* Choose n free cells for a batch (written to cells[]); false when fewer than
 * n are free (nothing changed). */
bool cllm_kv_cache_find_slots(cllm_kv_cache *kv, int n, int32_t *cells);
/* Claim a cell for a token. */
void cllm_kv_cache_set(cllm_kv_cache *kv, int32_t cell, int32_t pos, uint64_t seq_mask);
/* One past the highest used cell (attention scans [0, n_kv)). */
uint32_t cllm_kv_cache_n_kv(const cllm_kv_cache *kv);

#endif /* CLLM_MODEL_KV_CACHE_H */
