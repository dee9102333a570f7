/* avx512_impl.h: internals of the AVX-512 kernel table (compiled with
 * -mavx512f/bw/vl/dq/vnni). Each file in avx512/ fills the slots it
 * accelerates. */
#ifndef CLLM_CPU_AVX512_IMPL_H
#define CLLM_CPU_AVX512_IMPL_H

#include "cpu/kernels_impl.h"

/* Override every slot that has an AVX-512 version; f selects optional
 * extensions (AVX512_BF16). */
void cllm_cpu_avx512_fill(cllm_kernels *k, const cllm_cpu_features *f);
void cllm_cpu_vnni256_fill_quant(cllm_kernels *k);  /* dot_vnni256.c */
void cllm_cpu_avx512_fill_q32(cllm_kernels *k);     /* dot512_q32.c */
void cllm_cpu_avx512_fill_q32_zmm_alt(cllm_kernels *k); /* zmm Q4_0/Q5_0/Q8_0 (avx512z) */
/* tile512_q32.c: zmm Q4_0/Q8_0 tiles for 4+ activation rows; the table's
 * current tiles (VNNI-256) stay in use for fewer. */
void cllm_cpu_avx512_fill_tiles_zmm(cllm_kernels *k);
void cllm_cpu_avx512_fill_k_zmm_alt(cllm_kernels *k); /* dot512_k.c: zmm Q4_K/Q6_K (avx512z) */
/* gemm512_rp.c: VNNI GEMM on repacked Q4_0/Q8_0 groups (cpu/repack.h). */
void cllm_cpu_avx512_fill_gemm_rp(cllm_kernels *k);
void cllm_cpu_avx512_fill_gemm_rp_k(cllm_kernels *k); /* gemm512_rp_k.c: Q4_K */
void cllm_cpu_avx512_fill_float(cllm_kernels *k, const cllm_cpu_features *f); /* float_avx512.c */
void cllm_cpu_avx512_fill_attn(cllm_kernels *k);  /* attn_avx512.c */
void cllm_cpu_avx512_fill_act(cllm_kernels *k); /* act512.c: SwiGLU */

#endif
