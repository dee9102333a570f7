/* act_avx2.c: AVX2 activation functions: SwiGLU with the shared vector exp
 * (vexp256.h). */
#include "cpu/avx2/avx2_impl.h"
#include "cpu/avx2/vexp256.h"

#include <immintrin.h>

static void swiglu_avx2(int64_t n, const float *g, const float *u, float *y) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    if (i < n) cllm_cpu_swiglu_ref(n - i, g + i, u + i, y + i);
}

void cllm_cpu_avx2_fill_act(cllm_kernels *k) { k->swiglu = swiglu_avx2; }
