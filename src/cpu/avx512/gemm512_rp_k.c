/* gemm512_rp_k.c: AVX-512 VNNI GEMM on repacked Q4_K and Q6_K groups
 * (layouts in cpu/repack.h) against Q8_K activation rows.
 *
 * Q4_K, per 256-element super-block: the 16 rows' d*scale per 32-element
 * sub-block are computed once as floats (shared by the activation rows of
 * the register block); per activation row and sub-block, one chain of 8
 * vpdpbusd (16 rows x 4 elements each, the activation bytes as an embedded
 * {1to16} broadcast) gives the exact integer sums, one conversion and one
 * FMA scale them. High nibbles are used as (q << 4) (v & 0xF0) with the
 * scale divided by 16. The mins term is 4 vpdpwssd of the rows' int16 min
 * pairs with the activation's sub-block sum pairs (exact), then
 * acc += d_a * (sum - dmin * mins). Register block: 16 rows x 32, 16 or
 * 1..15 activation rows. Port-0/5 uop budget and design notes: docs/kernels.md.
 * Each kernel exists twice: gemm_rp (row-major Q8_K rows + cllm_rp_aux, used
 * by nothing in this table's matmul unless the packed tiles do not fit) and
 * gemm_rpx (the same arithmetic on 16-token packed Q8_K tiles). */
#include "cpu/avx512/avx512_impl.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define RPK_CMAX 16
#define RPK_GB 2496   /* bytes per super-block group */

typedef int32_t rpk_i32a __attribute__((may_alias));

/* acc += w (16 rows x 4 unsigned bytes) . the 4 signed bytes at p, broadcast
 * as an embedded {1to16} memory operand (GCC 12 does not fold set1 into the
 * VNNI instructions; a separate vpbroadcastd costs a front-end slot and a
 * register). */
static inline __attribute__((always_inline)) __m512i dpbusd_m(__m512i acc, __m512i w, const void *p) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const rpk_i32a *)p));
    return acc;
}
/* acc += w (16 x int16 pairs) . the int16 pair at p, broadcast. */
static inline __attribute__((always_inline)) __m512i dpwssd_m(__m512i acc, __m512i w, const void *p) {
    __asm__("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const rpk_i32a *)p));
    return acc;
}

static inline __attribute__((always_inline)) void kern(const int C, int64_t nb, const uint8_t *wg, const uint8_t *a,
                                                       size_t as, const cllm_rp_aux *aux, int64_t auxs, float *s,
                                                       int64_t lds) {
    const __m512i m_lo = _mm512_set1_epi8(0x0F), m_hi = _mm512_set1_epi8((char)0xF0);
    __m512 acc[32];
    float dsc[8][16] __attribute__((aligned(64)));
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RPK_GB;
        if (C <= 2) {   /* decode: memory-bound; stream the super-block after next in */
            const char *pf = (const char *)blk + 2 * RPK_GB;
            for (int o = 0; o < RPK_GB; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        const __m512 ndmin = _mm512_sub_ps(_mm512_setzero_ps(),
                                           _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32))));
        /* odd sub-blocks are the high nibbles, used as (q << 4): scale / 16 */
        const __m512 dh = _mm512_mul_ps(d, _mm512_set1_ps(1.0f / 16.0f));
#pragma GCC unroll 8
        for (int sb = 0; sb < 8; sb++)
            _mm512_store_ps(dsc[sb], _mm512_mul_ps(sb & 1 ? dh : d,
                                                   _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                                                       _mm_loadu_si128((const __m128i *)(blk + 64 + 16 * sb))))));
        __m512 t[32];
        {
            const __m512i mn0 = _mm512_loadu_si512((const void *)(blk + 192)),
                          mn1 = _mm512_loadu_si512((const void *)(blk + 256)),
                          mn2 = _mm512_loadu_si512((const void *)(blk + 320)),
                          mn3 = _mm512_loadu_si512((const void *)(blk + 384));
#pragma GCC unroll 32
            for (int c = 0; c < C; c++) {
                const cllm_rp_aux *x = aux + (int64_t)c * auxs + 8 * b;
                __m512i m = _mm512_setzero_si512();
                m = dpwssd_m(m, mn0, &x[0].sum);
                m = dpwssd_m(m, mn1, &x[1].sum);
                m = dpwssd_m(m, mn2, &x[2].sum);
                m = dpwssd_m(m, mn3, &x[3].sum);
                t[c] = _mm512_mul_ps(_mm512_cvtepi32_ps(m), ndmin);
            }
        }
        /* sub-block sb: weights in pair sb/2 (low nibbles for even sb, high
         * for odd), activations at byte 32*sb of the Q8_K quants */
        const uint8_t *ab = a + (size_t)b * sizeof(cllm_block_q8_K) + 4;
#pragma GCC unroll 1
        for (int sb = 0; sb < 8; sb++) {
            const uint8_t *q = blk + 448 + 512 * (sb >> 1);
            if (C > 2 && C <= 8) {   /* decode batches: the same, spread over the 8 sub-block steps */
                const char *pf = (const char *)blk + 2 * RPK_GB + 320 * sb;
#pragma GCC unroll 5
                for (int o = 0; o < 320; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
            }
            const __m512i msk = sb & 1 ? m_hi : m_lo;
            __m512i U[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) U[j] = _mm512_and_si512(_mm512_loadu_si512((const void *)(q + 64 * j)), msk);
            const float *ds = dsc[sb];
            const uint8_t *y = ab + 32 * sb;
#pragma GCC unroll 32
            for (int c = 0; c < C; c++) {
                __m512i i0 = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) i0 = dpbusd_m(i0, U[j], y + 4 * j);
                t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_load_ps(ds), t[c]);
                y += as;
            }
        }
#pragma GCC unroll 32
        for (int c = 0; c < C; c++)
            acc[c] = _mm512_fmadd_ps(t[c], _mm512_set1_ps(aux[(int64_t)c * auxs + 8 * b].d), acc[c]);
    }
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

#define TAIL_Q4_K(C) kern(C, nb, wg, ac, as, xc, auxs, sc, lds)
static void gemm_rp_q4_K_vnni512(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a, size_t as,
                                 const cllm_rp_aux *aux, int64_t auxs) {
    const int64_t nb = n / 256;
    const uint8_t *a8 = a;
    int c = 0;
    for (; c + 32 <= nc; c += 32)
        kern(32, nb, wg, a8 + (size_t)c * as, as, aux + (int64_t)c * auxs, auxs, s + (int64_t)c * lds, lds);
    for (; c + RPK_CMAX <= nc; c += RPK_CMAX)
        kern(RPK_CMAX, nb, wg, a8 + (size_t)c * as, as, aux + (int64_t)c * auxs, auxs, s + (int64_t)c * lds, lds);
    const uint8_t *ac = a8 + (size_t)c * as;
    const cllm_rp_aux *xc = aux + (int64_t)c * auxs;
    float *sc = s + (int64_t)c * lds;
    CLLM_CPU_SWITCH15(nc - c, TAIL_Q4_K)
}

/* ---- Q6_K: 8-bit quants (0..63). Per 16-element sub-block and activation
 * row: the int32 chain starts from the zero-point term -32 * bsum (from the
 * row's aux, a broadcast load), 4 vpdpbusd, one conversion and one FMA
 * with d * scale (computed once per super-block for the whole token block).
 * Register block 16 rows x 32, 16 or 1..15 activation rows. */
#define RP6_GB 4384
_Static_assert(sizeof(cllm_rp_aux) == 16 && offsetof(cllm_rp_aux, zs8) == offsetof(cllm_rp_aux, zs4) + 4,
               "Q6_K reads zs4/zs8 as adjacent int32s, 4 per aux entry");

static inline __attribute__((always_inline)) void kern6(const int C, int64_t nb, const uint8_t *wg, const uint8_t *a,
                                                        size_t as, const cllm_rp_aux *aux, int64_t auxs, float *s,
                                                        int64_t lds) {
    __m512 acc[32];
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    float dsc[16][16] __attribute__((aligned(64)));
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RP6_GB;
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
#pragma GCC unroll 32
        for (int k = 0; k < 16; k++)
            _mm512_store_ps(dsc[k], _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                                         _mm_loadu_si128((const __m128i *)(blk + 32 + 16 * k))))));
        __m512 t[32];
#pragma GCC unroll 32
        for (int c = 0; c < C; c++) t[c] = _mm512_setzero_ps();
        const uint8_t *ab = a + (size_t)b * sizeof(cllm_block_q8_K) + 4;
        /* -32 * bsums[k] of row c: .zs4 (k even) / .zs8 (k odd) of aux entry 8b + k/2 */
        const int32_t *zb = &aux[8 * b].zs4;
#pragma GCC unroll 1
        for (int k = 0; k < 16; k += 2) {   /* sub-blocks k, k+1: 32 elements */
            const uint8_t *q = blk + 288 + 256 * k;
            if (C <= 8) {   /* decode batches: the next super-block's lines, spread over the 8 steps */
                const char *pf = (const char *)blk + RP6_GB + 576 * (k >> 1);
#pragma GCC unroll 9
                for (int o = 0; o < 576; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
            }
            __m512i U[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) U[j] = _mm512_loadu_si512((const void *)(q + 64 * j));
            const __m512 ds0 = _mm512_load_ps(dsc[k]), ds1 = _mm512_load_ps(dsc[k + 1]);
            const uint8_t *y = ab + 16 * k;
            const int32_t *z = zb + 2 * k;
#pragma GCC unroll 32
            for (int c = 0; c < C; c++) {
                __m512i i0 = _mm512_set1_epi32(z[0]), i1 = _mm512_set1_epi32(z[1]);
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    i0 = dpbusd_m(i0, U[j], y + 4 * j);
                    i1 = dpbusd_m(i1, U[j + 4], y + 16 + 4 * j);
                }
                t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), ds0, t[c]);
                t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), ds1, t[c]);
                y += as;
                z += 4 * auxs;
            }
        }
#pragma GCC unroll 32
        for (int c = 0; c < C; c++) {
            const cllm_block_q8_K *yb = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
            acc[c] = _mm512_fmadd_ps(t[c], _mm512_set1_ps(yb->d), acc[c]);
        }
    }
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

#define TAIL_Q6_K(C) kern6(C, nb, wg, ac, as, xc, auxs, sc, lds)
static void gemm_rp_q6_K_vnni512(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a, size_t as,
                                 const cllm_rp_aux *aux, int64_t auxs) {
    const int64_t nb = n / 256;
    const uint8_t *a8 = a;
    int c = 0;
    for (; c + 32 <= nc; c += 32)
        kern6(32, nb, wg, a8 + (size_t)c * as, as, aux + (int64_t)c * auxs, auxs, s + (int64_t)c * lds, lds);
    for (; c + RPK_CMAX <= nc; c += RPK_CMAX)
        kern6(RPK_CMAX, nb, wg, a8 + (size_t)c * as, as, aux + (int64_t)c * auxs, auxs, s + (int64_t)c * lds, lds);
    const uint8_t *ac = a8 + (size_t)c * as;
    const cllm_rp_aux *xc = aux + (int64_t)c * auxs;
    float *sc = s + (int64_t)c * lds;
    CLLM_CPU_SWITCH15(nc - c, TAIL_Q6_K)
}

/* ---- gemm_rpx: the same two kernels (same arithmetic, same register
 * blocks) reading Q8_K activations packed in 16-token tiles (repack.h):
 * token c of a register block is in tile c / 16 (x0 or x1, one packed
 * tile apart), and every operand of it is a compile-time offset from that
 * tile's super-block: quants at 256*(c%16), d at 256*CT, the Q4_K sum pairs
 * at 260*CT, the Q6_K zero-point terms at 276*CT (CT = tokens per tile). */
static inline __attribute__((always_inline)) float ld_f32(const uint8_t *p) {
    float v;
    memcpy(&v, p, 4);
    return v;
}

static inline __attribute__((always_inline)) void kernx(const int C, int64_t nb, const uint8_t *wg,
                                                        const uint8_t *x0, const uint8_t *x1, float *s, int64_t lds) {
    const int CT = C > CLLM_RPX_COLS ? CLLM_RPX_COLS : C;
    const size_t xbs = CLLM_RPXK_BLOCK(CT);
    const __m512i m_lo = _mm512_set1_epi8(0x0F), m_hi = _mm512_set1_epi8((char)0xF0);
    __m512 acc[32];
    float dsc[8][16] __attribute__((aligned(64)));
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RPK_GB;
        const uint8_t *xb0 = x0 + (size_t)b * xbs, *xb1 = x1 + (size_t)b * xbs;
        if (C <= 2) {
            const char *pf = (const char *)blk + 2 * RPK_GB;
            for (int o = 0; o < RPK_GB; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        const __m512 ndmin = _mm512_sub_ps(_mm512_setzero_ps(),
                                           _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32))));
        const __m512 dh = _mm512_mul_ps(d, _mm512_set1_ps(1.0f / 16.0f));
#pragma GCC unroll 8
        for (int sb = 0; sb < 8; sb++)
            _mm512_store_ps(dsc[sb], _mm512_mul_ps(sb & 1 ? dh : d,
                                                   _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                                                       _mm_loadu_si128((const __m128i *)(blk + 64 + 16 * sb))))));
        __m512 t[32];
        {
            const __m512i mn0 = _mm512_loadu_si512((const void *)(blk + 192)),
                          mn1 = _mm512_loadu_si512((const void *)(blk + 256)),
                          mn2 = _mm512_loadu_si512((const void *)(blk + 320)),
                          mn3 = _mm512_loadu_si512((const void *)(blk + 384));
#pragma GCC unroll 32
            for (int c = 0; c < C; c++) {
                const uint8_t *mp = (c < CLLM_RPX_COLS ? xb0 : xb1) + 260 * CT + 16 * (c % CLLM_RPX_COLS);
                __m512i m = _mm512_setzero_si512();
                m = dpwssd_m(m, mn0, mp);
                m = dpwssd_m(m, mn1, mp + 4);
                m = dpwssd_m(m, mn2, mp + 8);
                m = dpwssd_m(m, mn3, mp + 12);
                t[c] = _mm512_mul_ps(_mm512_cvtepi32_ps(m), ndmin);
            }
        }
#pragma GCC unroll 1
        for (int sb = 0; sb < 8; sb++) {
            const uint8_t *q = blk + 448 + 512 * (sb >> 1);
            if (C > 2 && C <= 8) {
                const char *pf = (const char *)blk + 2 * RPK_GB + 320 * sb;
#pragma GCC unroll 5
                for (int o = 0; o < 320; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
            }
            const __m512i msk = sb & 1 ? m_hi : m_lo;
            __m512i U[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) U[j] = _mm512_and_si512(_mm512_loadu_si512((const void *)(q + 64 * j)), msk);
            const float *ds = dsc[sb];
            const uint8_t *y0 = xb0 + 32 * sb, *y1 = xb1 + 32 * sb;
#pragma GCC unroll 32
            for (int c = 0; c < C; c++) {
                const uint8_t *y = (c < CLLM_RPX_COLS ? y0 : y1) + 256 * (c % CLLM_RPX_COLS);
                __m512i i0 = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) i0 = dpbusd_m(i0, U[j], y + 4 * j);
                t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_load_ps(ds), t[c]);
            }
        }
#pragma GCC unroll 32
        for (int c = 0; c < C; c++)
            acc[c] = _mm512_fmadd_ps(
                t[c], _mm512_set1_ps(ld_f32((c < CLLM_RPX_COLS ? xb0 : xb1) + 256 * CT + 4 * (c % CLLM_RPX_COLS))),
                acc[c]);
    }
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

static inline __attribute__((always_inline)) void kern6x(const int C, int64_t nb, const uint8_t *wg,
                                                         const uint8_t *x0, const uint8_t *x1, float *s, int64_t lds) {
    const int CT = C > CLLM_RPX_COLS ? CLLM_RPX_COLS : C;
    const size_t xbs = CLLM_RPXK_BLOCK(CT);
    __m512 acc[32];
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    float dsc[16][16] __attribute__((aligned(64)));
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RP6_GB;
        const uint8_t *xb0 = x0 + (size_t)b * xbs, *xb1 = x1 + (size_t)b * xbs;
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
#pragma GCC unroll 32
        for (int k = 0; k < 16; k++)
            _mm512_store_ps(dsc[k], _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                                         _mm_loadu_si128((const __m128i *)(blk + 32 + 16 * k))))));
        __m512 t[32];
#pragma GCC unroll 32
        for (int c = 0; c < C; c++) t[c] = _mm512_setzero_ps();
#pragma GCC unroll 1
        for (int k = 0; k < 16; k += 2) {
            const uint8_t *q = blk + 288 + 256 * k;
            if (C <= 8) {
                const char *pf = (const char *)blk + RP6_GB + 576 * (k >> 1);
#pragma GCC unroll 9
                for (int o = 0; o < 576; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
            }
            __m512i U[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) U[j] = _mm512_loadu_si512((const void *)(q + 64 * j));
            const __m512 ds0 = _mm512_load_ps(dsc[k]), ds1 = _mm512_load_ps(dsc[k + 1]);
            const uint8_t *y0 = xb0 + 16 * k, *y1 = xb1 + 16 * k;
            const uint8_t *z0 = xb0 + 276 * CT + 4 * k, *z1 = xb1 + 276 * CT + 4 * k;
#pragma GCC unroll 32
            for (int c = 0; c < C; c++) {
                const uint8_t *y = (c < CLLM_RPX_COLS ? y0 : y1) + 256 * (c % CLLM_RPX_COLS);
                const uint8_t *z = (c < CLLM_RPX_COLS ? z0 : z1) + 64 * (c % CLLM_RPX_COLS);
                __m512i i0 = _mm512_set1_epi32(*(const rpk_i32a *)z), i1 = _mm512_set1_epi32(*(const rpk_i32a *)(z + 4));
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    i0 = dpbusd_m(i0, U[j], y + 4 * j);
                    i1 = dpbusd_m(i1, U[j + 4], y + 16 + 4 * j);
                }
                t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), ds0, t[c]);
                t[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), ds1, t[c]);
            }
        }
#pragma GCC unroll 32
        for (int c = 0; c < C; c++)
            acc[c] = _mm512_fmadd_ps(
                t[c], _mm512_set1_ps(ld_f32((c < CLLM_RPX_COLS ? xb0 : xb1) + 256 * CT + 4 * (c % CLLM_RPX_COLS))),
                acc[c]);
    }
#pragma GCC unroll 32
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

/* Pairs of whole tiles (32 tokens), a whole tile, then the tail tile. */
#define DRIVERX(NAME, K)                                                                                  \
    static void NAME(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {           \
        const int64_t nb = n / 256;                                                                       \
        const uint8_t *x8 = x;                                                                            \
        const size_t tile = CLLM_RPX_COLS * (size_t)nb * CLLM_RPXK_BLOCK(1);                              \
        int c = 0;                                                                                        \
        for (; c + 2 * CLLM_RPX_COLS <= nc; c += 2 * CLLM_RPX_COLS, x8 += 2 * tile)                       \
            K(32, nb, wg, x8, x8 + tile, s + (int64_t)c * lds, lds);                                      \
        for (; c + CLLM_RPX_COLS <= nc; c += CLLM_RPX_COLS, x8 += tile)                                   \
            K(CLLM_RPX_COLS, nb, wg, x8, x8, s + (int64_t)c * lds, lds);                                  \
        float *sc = s + (int64_t)c * lds;                                                                 \
        CLLM_CPU_SWITCH15(nc - c, K##_TAIL)                                                              \
    }

#define kernx_TAIL(C) kernx(C, nb, wg, x8, x8, sc, lds)
#define kern6x_TAIL(C) kern6x(C, nb, wg, x8, x8, sc, lds)
DRIVERX(gemm_rpx_q4_K_vnni512, kernx)
DRIVERX(gemm_rpx_q6_K_vnni512, kern6x)

void cllm_cpu_avx512_fill_gemm_rp_k(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_K].gemm_rp = gemm_rp_q4_K_vnni512;
    k->type[CLLM_TYPE_Q6_K].gemm_rp = gemm_rp_q6_K_vnni512;
    k->type[CLLM_TYPE_Q4_K].gemm_rpx = gemm_rpx_q4_K_vnni512;
    k->type[CLLM_TYPE_Q6_K].gemm_rpx = gemm_rpx_q6_K_vnni512;
}
