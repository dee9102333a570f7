/* fill_avx2.c: which slots the AVX2 table overrides, and the choice between
 * the plain AVX2 and the AVX-VNNI repacked GEMMs (by cpuid, at fill time). */
#include "cpu/avx2/avx2_impl.h"

#include <stdlib.h>
#include <string.h>

cllm_gemm_rp_fn cllm_cpu_avx2_gemm_rp(cllm_type t, bool vnni) {
    const cllm_cpu_features *f = cllm_cpu_features_get();
    if (!(f->avx2 && f->fma && f->f16c)) return NULL;
    if (vnni) return f->avxvnni ? cllm_cpu_avxvnni_gemm_rp(t) : NULL;
    cllm_gemm_rp_fn g = cllm_cpu_avx2_gemm_rp_q32(t);
    return g ? g : cllm_cpu_avx2_gemm_rp_k(t);
}

cllm_gemm_rpx_fn cllm_cpu_avx2_gemm_rpx(cllm_type t, bool vnni) {
    const cllm_cpu_features *f = cllm_cpu_features_get();
    if (!(f->avx2 && f->fma && f->f16c)) return NULL;
    if (vnni) return f->avxvnni ? cllm_cpu_avxvnni_gemm_rpx(t) : NULL;
    return cllm_cpu_avx2_gemm_rpx_q32(t);
}

static void fill_gemm_rp(cllm_kernels *k) {
    const char *e = getenv("CLLM_AVXVNNI");
    const bool vnni = cllm_cpu_features_get()->avxvnni && !(e && strcmp(e, "0") == 0);
    const cllm_type types[] = {CLLM_TYPE_Q4_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q4_K, CLLM_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        k->type[types[i]].gemm_rp = cllm_cpu_avx2_gemm_rp(types[i], vnni);
        /* Q4_0 / Q8_0: packed activations, preferred by matmul (~3% faster) */
        k->type[types[i]].gemm_rpx = cllm_cpu_avx2_gemm_rpx(types[i], vnni);
    }
}

void cllm_cpu_avx2_fill(cllm_kernels *k) {
    cllm_cpu_avx2_fill_float(k);
    cllm_cpu_avx2_fill_quant(k);
    fill_gemm_rp(k);
    cllm_cpu_avx2_fill_attn(k);
    cllm_cpu_avx2_fill_act(k);
}
