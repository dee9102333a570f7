/* fill_avx512.c: which slots the AVX-512 table overrides. */
#include "cpu/avx512/avx512_impl.h"

void cllm_cpu_avx512_fill(cllm_kernels *k, const cllm_cpu_features *f) {
    (void)k;
    (void)f;
}
