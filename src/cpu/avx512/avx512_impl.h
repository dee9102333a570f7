/* avx512_impl.h: internals of the AVX-512 kernel table (compiled with
 * -mavx512f/bw/vl/dq/vnni). Each file in avx512/ fills the slots it
 * accelerates. */
#ifndef CLLM_CPU_AVX512_IMPL_H
#define CLLM_CPU_AVX512_IMPL_H

#include "cpu/kernels_impl.h"

/* Override every slot that has an AVX-512 version; f selects optional
 * extensions (AVX512_BF16). */
void cllm_cpu_avx512_fill(cllm_kernels *k, const cllm_cpu_features *f);

#endif
