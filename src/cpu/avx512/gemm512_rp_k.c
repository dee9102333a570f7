/* gemm512_rp_k.c: AVX-512 VNNI GEMM on repacked Q4_K groups (layout in
 * cpu/repack.h) against Q8_K activation rows.
 *
 * Per 256-element super-block: the 16 rows' d*scale per 32-element
 * sub-block are computed once as floats (shared by the column tile); per
 * activation row and sub-block, 8 vpdpbusd (16 rows x 4 elements each, the
 * activation bytes broadcast) give the exact integer sums, one conversion
 * and one FMA scale them; the mins term is 4 vpdpwssd of the rows' int16 min
 * pairs with the activation's sub-block sum pairs (exact), then
 * acc += d_a * (sum - dmin * mins). Register block: 16 rows x up to 8
 * activation rows. */
#include "cpu/avx512/avx512_impl.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <string.h>

#define RPK_CMAX 8
#define RPK_GB 2496   /* bytes per super-block group */

static inline __m512i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline __attribute__((always_inline)) void kern(const int C, int64_t nb, const uint8_t *wg, const uint8_t *a,
                                                       size_t as, const cllm_rp_aux *aux, int64_t auxs, float *s,
                                                       int64_t lds) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[RPK_CMAX];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RPK_GB;
        if (C <= 2) {
            const char *pf = (const char *)blk + 2 * RPK_GB;
            for (int o = 0; o < RPK_GB; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32)));
        __m512 dsc[8];
#pragma GCC unroll 8
        for (int sb = 0; sb < 8; sb++)
            dsc[sb] = _mm512_mul_ps(
                d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 64 + 16 * sb)))));
        __m512 t[RPK_CMAX];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) t[c] = _mm512_setzero_ps();
#pragma GCC unroll 1
        for (int p = 0; p < 4; p++) {
            const uint8_t *q = blk + 448 + 512 * p;
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m512i U[8];
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) {
                    const __m512i v = _mm512_loadu_si512((const void *)(q + 64 * j));
                    U[j] = _mm512_and_si512(h ? _mm512_srli_epi16(v, 4) : v, m4);
                }
                const __m512 ds = dsc[2 * p + h];
#pragma GCC unroll 8
                for (int c = 0; c < C; c++) {
                    const int8_t *y = (const int8_t *)(a + (size_t)c * as + (size_t)b * sizeof(cllm_block_q8_K) + 4) +
                                      64 * p + 32 * h;
                    __m512i i0 = _mm512_setzero_si512(), i1 = _mm512_setzero_si512();
#pragma GCC unroll 4
                    for (int j = 0; j < 4; j++) {
                        i0 = _mm512_dpbusd_epi32(i0, U[j], bcast4(y + 4 * j));
                        i1 = _mm512_dpbusd_epi32(i1, U[j + 4], bcast4(y + 16 + 4 * j));
                    }
                    t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)), ds, t[c]);
                }
            }
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_rp_aux *x = aux + (int64_t)c * auxs + 8 * b;
            __m512i m = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int p = 0; p < 4; p++)
                m = _mm512_dpwssd_epi32(m, _mm512_loadu_si512((const void *)(blk + 192 + 64 * p)),
                                        _mm512_set1_epi32(x[p].sum));
            const __m512 tt = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), dmin, t[c]);
            acc[c] = _mm512_fmadd_ps(tt, _mm512_set1_ps(x[0].d), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

static void gemm_rp_q4_K_vnni512(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a, size_t as,
                                 const cllm_rp_aux *aux, int64_t auxs) {
    const int64_t nb = n / 256;
    const uint8_t *a8 = a;
    int c = 0;
    for (; c + RPK_CMAX <= nc; c += RPK_CMAX)
        kern(RPK_CMAX, nb, wg, a8 + (size_t)c * as, as, aux + (int64_t)c * auxs, auxs, s + (int64_t)c * lds, lds);
    const uint8_t *ac = a8 + (size_t)c * as;
    const cllm_rp_aux *xc = aux + (int64_t)c * auxs;
    float *sc = s + (int64_t)c * lds;
    switch (nc - c) {
    case 7: kern(7, nb, wg, ac, as, xc, auxs, sc, lds); break;
    case 6: kern(6, nb, wg, ac, as, xc, auxs, sc, lds); break;
    case 5: kern(5, nb, wg, ac, as, xc, auxs, sc, lds); break;
    case 4: kern(4, nb, wg, ac, as, xc, auxs, sc, lds); break;
    case 3: kern(3, nb, wg, ac, as, xc, auxs, sc, lds); break;
    case 2: kern(2, nb, wg, ac, as, xc, auxs, sc, lds); break;
    case 1: kern(1, nb, wg, ac, as, xc, auxs, sc, lds); break;
    default: break;
    }
}

/* ---- Q6_K: 8-bit quants (0..63), zero point 32 folded in per 16-element
 * sub-block from the activation's bsums; per sub-block 4 vpdpbusd, one
 * conversion and one FMA with d * scale (precomputed per super-block). */
#define RP6_GB 4384

static inline __attribute__((always_inline)) void kern6(const int C, int64_t nb, const uint8_t *wg, const uint8_t *a,
                                                        size_t as, float *s, int64_t lds) {
    __m512 acc[RPK_CMAX];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    float dsc[16][16] __attribute__((aligned(64)));
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RP6_GB;
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        for (int k = 0; k < 16; k++)
            _mm512_store_ps(dsc[k], _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                                         _mm_loadu_si128((const __m128i *)(blk + 32 + 16 * k))))));
        __m512 t[RPK_CMAX];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) t[c] = _mm512_setzero_ps();
#pragma GCC unroll 1
        for (int k = 0; k < 16; k++) {
            __m512i U[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) U[j] = _mm512_loadu_si512((const void *)(blk + 288 + 64 * (4 * k + j)));
            const __m512 ds = _mm512_load_ps(dsc[k]);
#pragma GCC unroll 8
            for (int c = 0; c < C; c++) {
                const cllm_block_q8_K *yb = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
                const int8_t *y = yb->qs + 16 * k;
                __m512i i0 = _mm512_set1_epi32(-32 * yb->bsums[k]), i1 = _mm512_setzero_si512();
                i0 = _mm512_dpbusd_epi32(i0, U[0], bcast4(y));
                i1 = _mm512_dpbusd_epi32(i1, U[1], bcast4(y + 4));
                i0 = _mm512_dpbusd_epi32(i0, U[2], bcast4(y + 8));
                i1 = _mm512_dpbusd_epi32(i1, U[3], bcast4(y + 12));
                t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)), ds, t[c]);
            }
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_block_q8_K *yb = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
            acc[c] = _mm512_fmadd_ps(t[c], _mm512_set1_ps(yb->d), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

static void gemm_rp_q6_K_vnni512(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a, size_t as,
                                 const cllm_rp_aux *aux, int64_t auxs) {
    (void)aux;
    (void)auxs;
    const int64_t nb = n / 256;
    const uint8_t *a8 = a;
    int c = 0;
    for (; c + RPK_CMAX <= nc; c += RPK_CMAX) kern6(RPK_CMAX, nb, wg, a8 + (size_t)c * as, as, s + (int64_t)c * lds, lds);
    const uint8_t *ac = a8 + (size_t)c * as;
    float *sc = s + (int64_t)c * lds;
    switch (nc - c) {
    case 7: kern6(7, nb, wg, ac, as, sc, lds); break;
    case 6: kern6(6, nb, wg, ac, as, sc, lds); break;
    case 5: kern6(5, nb, wg, ac, as, sc, lds); break;
    case 4: kern6(4, nb, wg, ac, as, sc, lds); break;
    case 3: kern6(3, nb, wg, ac, as, sc, lds); break;
    case 2: kern6(2, nb, wg, ac, as, sc, lds); break;
    case 1: kern6(1, nb, wg, ac, as, sc, lds); break;
    default: break;
    }
}

void cllm_cpu_avx512_fill_gemm_rp_k(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_K].gemm_rp = gemm_rp_q4_K_vnni512;
    k->type[CLLM_TYPE_Q6_K].gemm_rp = gemm_rp_q6_K_vnni512;
}
