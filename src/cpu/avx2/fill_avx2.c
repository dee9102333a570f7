/* fill_avx2.c: which slots the AVX2 table overrides. */
#include "cpu/avx2/avx2_impl.h"

void cllm_cpu_avx2_fill(cllm_kernels *k) {
    cllm_cpu_avx2_fill_float(k);
    cllm_cpu_avx2_fill_quant(k);
    cllm_cpu_avx2_fill_attn(k);
    cllm_cpu_avx2_fill_act(k);
}
