/* gemm512_rp.c: AVX-512 VNNI GEMM on repacked Q4_0 / Q8_0 weight groups
 * (layouts in cpu/repack.h) against Q8_0 activation rows.
 *
 * One zmm holds 4 consecutive elements of each of 16 weight rows; one
 * vpdpbusd with the activation's 4 matching bytes broadcast (embedded
 * {1to16} memory operand) adds 64 products into 16 per-row int32 lanes. Per
 * 32-element block and activation row: 8 vpdpbusd starting from the
 * zero-point term -zp * sum(a) (precomputed per block), one conversion and
 * one FMA with d_w[16] * d_a. The weight block is loaded and unpacked once
 * and used for up to 8 activation rows (register block 16 rows x 8 rows);
 * the caller (matmul.c) keeps a group's rows hot across token tiles. */
#include "cpu/avx512/avx512_impl.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <string.h>

#define RP_CMAX 8

static inline __m512i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline __attribute__((always_inline)) void kern(const int q4, const int C, int64_t nb, const uint8_t *wg,
                                                       const uint8_t *a, size_t as, const cllm_rp_aux *aux,
                                                       int64_t auxs, float *s, int64_t lds) {
    const size_t gbs = CLLM_RP_ROWS * (q4 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0));
    const int32_t zp = q4 ? 8 : 128;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[RP_CMAX];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * gbs;
        if (C <= 2) {   /* decode: memory-bound; keep a few blocks in flight ahead of the stream */
            const char *pf = (const char *)blk + 6 * gbs;
            for (size_t o = 0; o < gbs; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        __m512i U[8];
        if (q4) {
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m512i v = _mm512_loadu_si512((const void *)(blk + 32 + 64 * j));
                U[j] = _mm512_and_si512(v, m4);
                U[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            }
        } else {
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) U[j] = _mm512_loadu_si512((const void *)(blk + 32 + 64 * j));
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const int8_t *y = (const int8_t *)(a + (size_t)c * as + (size_t)b * sizeof(cllm_block_q8_0) + 2);
            const cllm_rp_aux *x = aux + (int64_t)c * auxs + b;
            __m512i i0 = _mm512_set1_epi32(-zp * x->sum), i1 = _mm512_setzero_si512();
            if (q4) {
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    i0 = _mm512_dpbusd_epi32(i0, U[j], bcast4(y + 4 * j));
                    i1 = _mm512_dpbusd_epi32(i1, U[j + 4], bcast4(y + 16 + 4 * j));
                }
            } else {
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    i0 = _mm512_dpbusd_epi32(i0, U[j], bcast4(y + 4 * j));
                    i1 = _mm512_dpbusd_epi32(i1, U[j + 4], bcast4(y + 16 + 4 * j));
                }
            }
            const __m512 f = _mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1));
            acc[c] = _mm512_fmadd_ps(f, _mm512_mul_ps(dw, _mm512_set1_ps(x->d)), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

#define DRIVER(NAME, Q4)                                                                                 \
    static void NAME(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a, size_t as, \
                     const cllm_rp_aux *aux, int64_t auxs) {                                             \
        const int64_t nb = n / 32;                                                               \
        const uint8_t *a8 = a;                                                                   \
        int c = 0;                                                                               \
        for (; c + RP_CMAX <= nc; c += RP_CMAX)                                                  \
            kern(Q4, RP_CMAX, nb, wg, a8 + (size_t)c * as, as, aux + (int64_t)c * auxs, auxs,     \
                 s + (int64_t)c * lds, lds);                                                     \
        const uint8_t *ac = a8 + (size_t)c * as;                                                 \
        const cllm_rp_aux *xc = aux + (int64_t)c * auxs;                                         \
        float *sc = s + (int64_t)c * lds;                                                        \
        switch (nc - c) {                                                                        \
        case 7: kern(Q4, 7, nb, wg, ac, as, xc, auxs, sc, lds); break;                           \
        case 6: kern(Q4, 6, nb, wg, ac, as, xc, auxs, sc, lds); break;                           \
        case 5: kern(Q4, 5, nb, wg, ac, as, xc, auxs, sc, lds); break;                           \
        case 4: kern(Q4, 4, nb, wg, ac, as, xc, auxs, sc, lds); break;                           \
        case 3: kern(Q4, 3, nb, wg, ac, as, xc, auxs, sc, lds); break;                           \
        case 2: kern(Q4, 2, nb, wg, ac, as, xc, auxs, sc, lds); break;                           \
        case 1: kern(Q4, 1, nb, wg, ac, as, xc, auxs, sc, lds); break;                           \
        default: break;                                                                          \
        }                                                                                        \
    }

DRIVER(gemm_rp_q4_0_vnni512, 1)
DRIVER(gemm_rp_q8_0_vnni512, 0)

void cllm_cpu_avx512_fill_gemm_rp(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_0].gemm_rp = gemm_rp_q4_0_vnni512;
    k->type[CLLM_TYPE_Q8_0].gemm_rp = gemm_rp_q8_0_vnni512;
}
