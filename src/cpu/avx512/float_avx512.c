/* float_avx512.c: AVX-512 F32 / F16 / BF16 dot products: 4 independent
 * 16-lane FMA chains, one horizontal sum at the end. (from_float stays the
 * AVX2 version: it runs once per activation row, not per weight row.) */
#include "cpu/avx512/avx512_impl.h"
#include "core/fp16.h"

#include <immintrin.h>

static inline __m512 ld_f32(const float *p) { return _mm512_loadu_ps(p); }
static inline __m512 ld_f16(const cllm_fp16 *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline __m512 ld_bf16(const cllm_bf16 *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

#define FLOAT_DOT512(NAME, T, LOAD, TOF)                                                 \
    static void NAME(int64_t n, float *s, const void *w, const void *a) {                \
        const T *x = w, *y = a;                                                          \
        __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                      \
        int64_t i = 0;                                                                   \
        for (; i + 64 <= n; i += 64) {                                                   \
            c0 = _mm512_fmadd_ps(LOAD(x + i), LOAD(y + i), c0);                          \
            c1 = _mm512_fmadd_ps(LOAD(x + i + 16), LOAD(y + i + 16), c1);                \
            c2 = _mm512_fmadd_ps(LOAD(x + i + 32), LOAD(y + i + 32), c2);                \
            c3 = _mm512_fmadd_ps(LOAD(x + i + 48), LOAD(y + i + 48), c3);                \
        }                                                                                \
        for (; i + 16 <= n; i += 16) c0 = _mm512_fmadd_ps(LOAD(x + i), LOAD(y + i), c0); \
        float r = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3))); \
        for (; i < n; i++) r += TOF(x[i]) * TOF(y[i]);                                   \
        *s = r;                                                                          \
    }

#define F32ID(v) (v)
FLOAT_DOT512(dot_f32_avx512, float, ld_f32, F32ID)
FLOAT_DOT512(dot_f16_avx512, cllm_fp16, ld_f16, cllm_fp16_to_fp32)
FLOAT_DOT512(dot_bf16_avx512, cllm_bf16, ld_bf16, cllm_bf16_to_fp32)

void cllm_cpu_avx512_fill_float(cllm_kernels *k, const cllm_cpu_features *f) {
    (void)f;
    k->type[CLLM_TYPE_F32].vec_dot = dot_f32_avx512;
    k->type[CLLM_TYPE_F16].vec_dot = dot_f16_avx512;
    k->type[CLLM_TYPE_BF16].vec_dot = dot_bf16_avx512;
}
