/* fill_avx512.c: which slots the AVX-512 table overrides (after the AVX2
 * fill): every quantized type gets the VNNI 256-bit kernel, except Q4_1,
 * Q5_1 and IQ4_NL, which get zmm kernels, as do F32/F16/BF16. The choice per
 * slot follows cllm-kbench on the test machine (see docs/kernels.md). */
#include "cpu/avx512/avx512_impl.h"

void cllm_cpu_avx512_fill(cllm_kernels *k, const cllm_cpu_features *f) {
    cllm_cpu_vnni256_fill_quant(k);
    cllm_cpu_avx512_fill_q32(k);
    cllm_cpu_avx512_fill_tiles_zmm(k);
    cllm_cpu_avx512_fill_gemm_rp(k);
    cllm_cpu_avx512_fill_gemm_rp_k(k);
    cllm_cpu_avx512_fill_float(k, f);
    cllm_cpu_avx512_fill_attn(k);
    cllm_cpu_avx512_fill_act(k);
}
