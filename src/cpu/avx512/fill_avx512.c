/* fill_avx512.c: which slots the AVX-512 table overrides (after the AVX2
 * fill): every quantized type gets at least the VNNI 256-bit kernel; the
 * 32-block types, Q4_K and Q6_K get zmm kernels; F32/F16/BF16 zmm dots. */
#include "cpu/avx512/avx512_impl.h"

void cllm_cpu_avx512_fill(cllm_kernels *k, const cllm_cpu_features *f) {
    cllm_cpu_vnni256_fill_quant(k);
    cllm_cpu_avx512_fill_q32(k);
    cllm_cpu_avx512_fill_k(k);
    cllm_cpu_avx512_fill_float(k, f);
}
