/* peak512.c: the int8 dot-product throughput probe for AVX-512 VNNI (see
 * cpu/peak.h): 12 independent zmm vpdpbusd chains (enough to cover the
 * 5-cycle latency on two ports), no memory traffic. */
#include "cpu/peak.h"

#include <immintrin.h>

#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

uint64_t cllm_cpu_peak_vnni512(uint64_t iters) {
    __m512i x = _mm512_set1_epi8(1), y = _mm512_set1_epi8(2);
#define D(i) __m512i a##i = _mm512_setzero_si512();
    R12(D)
#undef D
    for (uint64_t n = 0; n < iters; n++) {
#define O(i) a##i = _mm512_dpbusd_epi32(a##i, x, y);
        R12(O)
#undef O
        __asm__ volatile("" : "+v"(x), "+v"(y));   /* keep the loop from being folded */
    }
    __m512i s = _mm512_setzero_si512();
#define S(i) s = _mm512_add_epi32(s, a##i);
    R12(S)
#undef S
    volatile int sink = _mm512_reduce_add_epi32(s);
    (void)sink;
    return iters * 12u * 64u;
}
