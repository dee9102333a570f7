/* act512.c: AVX-512 activation functions: SwiGLU with the shared vector exp
 * (vexp512.h; it saturates at exp(88.3), where g / (1 + exp(-g)) is already
 * a negligible -|g| * 4.5e-39). */
#include "cpu/avx512/avx512_impl.h"
#include "cpu/avx512/vexp512.h"

#include <immintrin.h>

static void swiglu512(int64_t n, const float *g, const float *u, float *y) {
    const __m512 one = _mm512_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 x = _mm512_loadu_ps(g + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_loadu_ps(u + i)));
    }
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        const __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, u + i)));
    }
}

void cllm_cpu_avx512_fill_act(cllm_kernels *k) { k->swiglu = swiglu512; }
