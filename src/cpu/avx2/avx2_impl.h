/* avx2_impl.h: internals of the AVX2 kernel table (compiled with -mavx2
 * -mfma -mf16c). Each file in avx2/ fills the slots it accelerates. */
#ifndef CLLM_CPU_AVX2_IMPL_H
#define CLLM_CPU_AVX2_IMPL_H

#include "cpu/kernels_impl.h"

#include <stdbool.h>

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

#endif
