/* avx2_impl.h: internals of the AVX2 kernel table (compiled with -mavx2
 * -mfma -mf16c). Each file in avx2/ fills the slots it accelerates. */
#ifndef CLLM_CPU_AVX2_IMPL_H
#define CLLM_CPU_AVX2_IMPL_H

#include "cpu/kernels_impl.h"

#include "cpu/repack.h"
#include "quant/blocks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Override every slot that has an AVX2 version. */
void cllm_cpu_avx2_fill(cllm_kernels *k);
void cllm_cpu_avx2_fill_float(cllm_kernels *k);  /* float_avx2.c */
void cllm_cpu_avx2_fill_quant(cllm_kernels *k);  /* dot_avx2.c */
void cllm_cpu_avx2_fill_attn(cllm_kernels *k);   /* attn_avx2.c */
void cllm_cpu_avx2_fill_act(cllm_kernels *k);    /* act_avx2.c */

/* GEMM on repacked groups (gemm_rp; cpu/repack.h), NULL for other types:
 * plain AVX2 for Q4_0/Q8_0 (gemm_rp_avx2.c) and Q4_K/Q6_K
 * (gemm_rp_k_avx2.c); AVX-VNNI for all four (gemm_rp_avxvnni.c: only call
 * these when the CPU has AVX-VNNI). */
cllm_gemm_rp_fn cllm_cpu_avx2_gemm_rp_q32(cllm_type t);
cllm_gemm_rp_fn cllm_cpu_avx2_gemm_rp_k(cllm_type t);
cllm_gemm_rp_fn cllm_cpu_avxvnni_gemm_rp(cllm_type t);
/* fill_avx2.c: the gemm_rp of type t, AVX-VNNI variant (vnni) or plain AVX2;
 * NULL when the type has none or the CPU cannot run it (no AVX2/FMA/F16C,
 * or no AVX-VNNI for vnni). The table takes the AVX-VNNI variant when the
 * CPU has it, unless the environment has CLLM_AVXVNNI=0. */
cllm_gemm_rp_fn cllm_cpu_avx2_gemm_rp(cllm_type t, bool vnni);
/* The same for gemm_rpx (packed activation tiles; Q4_0 and Q8_0 only):
 * cllm_cpu_avx2_gemm_rpx in fill_avx2.c, the per-file getters below. */
cllm_gemm_rpx_fn cllm_cpu_avx2_gemm_rpx(cllm_type t, bool vnni);
cllm_gemm_rpx_fn cllm_cpu_avx2_gemm_rpx_q32(cllm_type t);   /* gemm_rp_avx2.c */
cllm_gemm_rpx_fn cllm_cpu_avxvnni_gemm_rpx(cllm_type t);    /* gemm_rp_avxvnni.c */

/* Where the activation side of token c, block b lives: its 32 quants at
 * q + c*qt + b*qb, its scale (float) at d + c*dt + b*db and its zero-point
 * term (int32, -8 or -128 x the quant sum) at z + c*zt + b*zb (bytes). One
 * kernel then serves row-major rows with their aux entries (gemm_rp) and
 * the packed 16-token tiles (gemm_rpx), where the token strides are
 * compile-time constants and every operand is an offset from one pointer. */
typedef struct cllm_avx2_act_view {
    const uint8_t *q, *d, *z;
    size_t qt, dt, zt, qb, db, zb;
} cllm_avx2_act_view;

static inline cllm_avx2_act_view cllm_avx2_view_rp(int q4, const uint8_t *a, size_t as, const cllm_rp_aux *aux,
                                                   int64_t auxs) {
    const uint8_t *x = (const uint8_t *)aux;
    const size_t xt = (size_t)auxs * sizeof(cllm_rp_aux);
    return (cllm_avx2_act_view){a + 2, x + offsetof(cllm_rp_aux, d),
                                x + (q4 ? offsetof(cllm_rp_aux, zs4) : offsetof(cllm_rp_aux, zs8)),
                                as, xt, xt, sizeof(cllm_block_q8_0), sizeof(cllm_rp_aux), sizeof(cllm_rp_aux)};
}

/* Tokens c0.. of a packed tile of T tokens starting at x (cpu/repack.h). */
static inline cllm_avx2_act_view cllm_avx2_view_rpx(int q4, const uint8_t *x, int T, int c0) {
    const size_t bb = CLLM_RPX_BLOCK(T);
    return (cllm_avx2_act_view){x + 32 * c0, x + 32 * T + 4 * c0, x + (q4 ? 36 : 40) * T + 4 * c0, 32, 4, 4,
                                bb, bb, bb};
}

#endif
