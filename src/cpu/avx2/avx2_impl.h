/* avx2_impl.h: internals of the AVX2 kernel table (compiled with -mavx2
 * -mfma -mf16c). Each file in avx2/ fills the slots it accelerates. */
#ifndef CLLM_CPU_AVX2_IMPL_H
#define CLLM_CPU_AVX2_IMPL_H

#include "cpu/kernels_impl.h"

/* Override every slot that has an AVX2 version. */
void cllm_cpu_avx2_fill(cllm_kernels *k);
void cllm_cpu_avx2_fill_float(cllm_kernels *k);  /* float_avx2.c */
void cllm_cpu_avx2_fill_quant(cllm_kernels *k);  /* dot_avx2.c */
void cllm_cpu_avx2_fill_attn(cllm_kernels *k);   /* attn_avx2.c */
void cllm_cpu_avx2_fill_act(cllm_kernels *k);    /* act_avx2.c */

#endif
