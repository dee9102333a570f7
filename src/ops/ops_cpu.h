/* ops_cpu.h: internals of the CPU backend shared by its files (the context
 * layout and the per-op entry points registered in ops_cpu.c). */
#ifndef CLLM_OPS_CPU_H
#define CLLM_OPS_CPU_H

#include "ops/ops.h"
#include "ops/threadpool.h"
#include "cpu/kernels.h"

struct cllm_ops_ctx {
    const cllm_ops *ops;
    const cllm_kernels *kern;    /* table chosen at start-up (borrowed, static) */
    cllm_threadpool *tp;
    cllm_ops_limits lim;
    void *act_buf;               /* n_batch rows of converted activations */
    size_t act_buf_bytes;
    float *thr;                  /* per-thread scratch, thr_floats each */
    size_t thr_floats;
};

/* Per-thread scratch of worker ith (thr_floats floats, 64-byte aligned). */
static inline float *cllm_ops_thr(cllm_ops_ctx *c, int ith) { return c->thr + (size_t)ith * c->thr_floats; }

void cllm_cpu_matmul(cllm_ops_ctx *c, int n_w, const cllm_weight *const *w,
                     const float *x, int n_tok, float *const *y);
void cllm_cpu_rms_norm(cllm_ops_ctx *c, const float *x, float *y, const float *w,
                       int64_t n, int64_t ld, int n_rows, float eps);
void cllm_cpu_rope(cllm_ops_ctx *c, float *x, int64_t ld, int n_tok, int n_head, int head_dim,
                   const int32_t *pos, const cllm_rope_params *rp);
void cllm_cpu_attention(cllm_ops_ctx *c, const cllm_attn_args *a);
/* Per-thread scratch (floats) the attention needs for head dim hd. */
size_t cllm_attn_scratch_floats(int hd);

/* Cos/sin of the rotation of the pairs of one position: cs[2*i], cs[2*i+1]
 * for pair i < n_dims/2 (ggml's YaRN formula). Used by rope and the K shift. */
void cllm_rope_cache(const cllm_rope_params *rp, float pos, float *cs);
/* Apply a precomputed cache to one head of hd floats. */
void cllm_rope_apply(const cllm_rope_params *rp, const float *cs, float *x);

#endif /* CLLM_OPS_CPU_H */
