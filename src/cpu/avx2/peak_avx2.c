/* peak_avx2.c: the int8 dot-product throughput probe for AVX2 (see
 * cpu/peak.h): 12 independent chains of vpmaddubsw + vpmaddwd + vpaddd, the
 * sequence the AVX2 quantized kernels use for 32 u8 x s8 products. */
#include "cpu/peak.h"

#include <immintrin.h>

#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

uint64_t cllm_cpu_peak_avx2(uint64_t iters) {
    __m256i x = _mm256_set1_epi8(1), y = _mm256_set1_epi8(2), ones = _mm256_set1_epi16(1);
#define D(i) __m256i a##i = _mm256_setzero_si256();
    R12(D)
#undef D
    for (uint64_t n = 0; n < iters; n++) {
#define O(i) a##i = _mm256_add_epi32(a##i, _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), ones));
        R12(O)
#undef O
        __asm__ volatile("" : "+x"(x), "+x"(y));
    }
    __m256i s = _mm256_setzero_si256();
#define S(i) s = _mm256_add_epi32(s, a##i);
    R12(S)
#undef S
    volatile int sink = _mm256_extract_epi32(s, 0);
    (void)sink;
    return iters * 12u * 32u;
}
