/* attn_v.c: V conversion and accumulation for attention (see attn_v.h). The
 * SIMD path uses GCC/Clang target attributes so this file needs no special
 * compile flags; it is only selected when the CPU reports AVX2+FMA+F16C. */
#include "ops/attn_v.h"
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "quant/blocks.h"

#include <string.h>

void cllm_attn_v_to_float_ref(cllm_type t, const void *v, float *out, int hd) {
    if (t == CLLM_TYPE_F32) {
        memcpy(out, v, sizeof(float) * (size_t)hd);
    } else if (t == CLLM_TYPE_F16) {
        const cllm_fp16 *h = v;
        for (int i = 0; i < hd; i++) out[i] = cllm_fp16_to_fp32(h[i]);
    } else { /* Q8_0 */
        const cllm_block_q8_0 *b = v;
        for (int k = 0; k < hd / QK8_0; k++) {
            const float d = cllm_fp16_to_fp32(b[k].d);
            for (int i = 0; i < QK8_0; i++) out[k * QK8_0 + i] = d * (float)b[k].qs[i];
        }
    }
}

void cllm_attn_axpy_ref(int n, float a, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

#if defined(CLLM_ARCH_X86) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AV_TARGET __attribute__((target("avx2,fma,f16c")))

AV_TARGET static void v_to_float_avx2(cllm_type t, const void *v, float *out, int hd) {
    if (t == CLLM_TYPE_F16) {
        const cllm_fp16 *h = v;
        int i = 0;
        for (; i + 8 <= hd; i += 8)
            _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
        for (; i < hd; i++) out[i] = cllm_fp16_to_fp32(h[i]);
    } else if (t == CLLM_TYPE_Q8_0) {
        const cllm_block_q8_0 *b = v;
        for (int k = 0; k < hd / QK8_0; k++) {
            const __m256 d = _mm256_set1_ps(cllm_fp16_to_fp32(b[k].d));
            for (int i = 0; i < QK8_0; i += 8) {
                const __m128i q8 = _mm_loadl_epi64((const __m128i *)(b[k].qs + i));
                const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
                _mm256_storeu_ps(out + k * QK8_0 + i, _mm256_mul_ps(d, f));
            }
        }
    } else {
        memcpy(out, v, sizeof(float) * (size_t)hd);
    }
}

AV_TARGET static void axpy_avx2(int n, float a, const float *x, float *y) {
    const __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#endif

cllm_attn_v_fns cllm_attn_v_get(bool simd) {
    cllm_attn_v_fns f = {cllm_attn_v_to_float_ref, cllm_attn_axpy_ref};
#if defined(CLLM_ARCH_X86) && (defined(__GNUC__) || defined(__clang__))
    const cllm_cpu_features *cf = cllm_cpu_features_get();
    if (simd && cf->avx2 && cf->fma && cf->f16c) {
        f.to_float = v_to_float_avx2;
        f.axpy = axpy_avx2;
    }
#else
    (void)simd;
#endif
    return f;
}
