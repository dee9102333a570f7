/* gemm_rp_avxvnni.c: GEMM on repacked Q4_0 / Q8_0 / Q4_K / Q6_K weight
 * groups (layouts in cpu/repack.h) with AVX-VNNI: the VEX-encoded vpdpbusd /
 * vpdpwssd on ymm of Intel client cores since Alder Lake (and Zen 5) that
 * have no AVX-512. The AVX2 table uses these instead of the plain AVX2
 * kernels (gemm_rp_avx2.c, gemm_rp_k_avx2.c) when cpuid reports AVX-VNNI;
 * each function carries the target attribute, so the file builds with the
 * avx2/ folder's flags and nothing here runs on a CPU without it.
 *
 * Same blocking as the plain kernels: one half of the group (rows 0-7 or
 * 8-15, one ymm of each 64-byte layout vector) at a time, the half's weight
 * vectors of a block loaded (and unpacked) once for up to RPV_CMAX activation
 * rows. vpdpbusd multiplies the unsigned weight bytes with the activation's
 * 4 signed bytes broadcast and adds the 4 products into each row's int32
 * lane, without saturation, so the stored (offset) weights are used as they
 * are and every zero point becomes one integer start value:
 *  Q4_0 / Q8_0: 8 vpdpbusd per block starting from aux zs4 / zs8 (-8 or
 *    -128 x the block's activation sum), one conversion and one FMA with
 *    d_w[8] * d_a.
 *  Q4_K: 8 vpdpbusd per 32-element sub-block, one conversion and one FMA with
 *    d * scale (floats per super-block); the mins 4 vpdpwssd of the rows'
 *    int16 min pairs with the activation's sub-block sum pairs.
 *  Q6_K: 4 vpdpbusd per 16-element sub-block, conversion and FMA with d *
 *    scale; the zero point -32 is 8 vpdpwssd per super-block of the rows'
 *    (-32 * scale) int16 pairs with the activation's bsums pairs. */
#include "cpu/avx2/avx2_impl.h"
#include "cpu/avx2/rp_driver_avx2.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define VNNI __attribute__((target("avxvnni")))
/* Activation rows per register block (at most 8; -DRPV_CMAX=n to experiment).
 * 8 measured fastest on the test machine (vs 2..6) even though the float
 * accumulators then spill to the stack (one load and store per block and
 * row): the weight loads, unpacking and scale conversion are shared by more
 * rows. */
#ifndef RPV_CMAX
#define RPV_CMAX 8
#endif
#define RPV_ARR 8

static inline VNNI __attribute__((always_inline)) void kern_q32(const int q4, const int C, const int hf, const int pf,
                                                                int64_t nb, const uint8_t *wg,
                                                                const cllm_avx2_act_view v, float *s, int64_t lds) {
    const size_t gbs = CLLM_RP_ROWS * (q4 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0));
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[RPV_ARR];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * gbs;
        if (pf) prefetch_lines(blk + 6 * gbs, gbs);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * hf)));
        __m256i U[8];
        if (q4) {
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 32 + 64 * j + 32 * hf));
                U[j] = _mm256_and_si256(v, m4);
                U[j + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            }
        } else {
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) U[j] = _mm256_loadu_si256((const __m256i *)(blk + 32 + 64 * j + 32 * hf));
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const int8_t *y = (const int8_t *)(v.q + (size_t)c * v.qt + (size_t)b * v.qb);
            float da;
            int32_t zs;
            memcpy(&da, v.d + (size_t)c * v.dt + (size_t)b * v.db, 4);
            memcpy(&zs, v.z + (size_t)c * v.zt + (size_t)b * v.zb, 4);
            __m256i i0 = _mm256_set1_epi32(zs), i1 = _mm256_setzero_si256();
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                i0 = _mm256_dpbusd_avx_epi32(i0, U[j], bcast4(y + 4 * j));
                i1 = _mm256_dpbusd_avx_epi32(i1, U[j + 4], bcast4(y + 16 + 4 * j));
            }
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(i0, i1)),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(da)), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm256_storeu_ps(s + (int64_t)c * lds + 8 * hf, acc[c]);
}

static inline VNNI __attribute__((always_inline)) void kern_q4_K(
        const int C, const int hf, const int pf, int64_t nb, const uint8_t *wg, const uint8_t *a, size_t as,
        const cllm_rp_aux *aux, int64_t auxs, float *s, int64_t lds) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[RPV_ARR];
    __m256 dsc[8];   /* per sub-block: d x scale of the 8 rows */
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RPK_GB;
        if (pf) prefetch_lines(blk + 2 * RPK_GB, RPK_GB);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * hf)));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * hf)));
#pragma GCC unroll 8
        for (int sb = 0; sb < 8; sb++)
            _mm256_storeu_ps((float *)&dsc[sb],
                             _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
                                                  _mm_loadl_epi64((const __m128i *)(blk + 64 + 16 * sb + 8 * hf))))));
        __m256 t[RPV_ARR];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) t[c] = _mm256_setzero_ps();
#pragma GCC unroll 1
        for (int p = 0; p < 4; p++) {
            const uint8_t *q = blk + 448 + 512 * p + 32 * hf;
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m256i U[8];
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) {
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(q + 64 * j));
                    U[j] = _mm256_and_si256(h ? _mm256_srli_epi16(v, 4) : v, m4);
                }
                const __m256 ds = _mm256_loadu_ps((const float *)&dsc[2 * p + h]);
#pragma GCC unroll 8
                for (int c = 0; c < C; c++) {
                    const int8_t *y = (const int8_t *)(a + (size_t)c * as + (size_t)b * sizeof(cllm_block_q8_K) + 4) +
                                      64 * p + 32 * h;
                    __m256i i0 = _mm256_setzero_si256(), i1 = _mm256_setzero_si256();
#pragma GCC unroll 4
                    for (int j = 0; j < 4; j++) {
                        i0 = _mm256_dpbusd_avx_epi32(i0, U[j], bcast4(y + 4 * j));
                        i1 = _mm256_dpbusd_avx_epi32(i1, U[j + 4], bcast4(y + 16 + 4 * j));
                    }
                    t[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(i0, i1)), ds, t[c]);
                }
            }
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_rp_aux *x = aux + (int64_t)c * auxs + 8 * b;
            __m256i m = _mm256_setzero_si256();
#pragma GCC unroll 4
            for (int p = 0; p < 4; p++)
                m = _mm256_dpwssd_avx_epi32(m, _mm256_loadu_si256((const __m256i *)(blk + 192 + 64 * p + 32 * hf)),
                                            _mm256_set1_epi32(x[p].sum));
            const __m256 tt = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), dmin, t[c]);
            acc[c] = _mm256_fmadd_ps(tt, _mm256_set1_ps(x[0].d), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm256_storeu_ps(s + (int64_t)c * lds + 8 * hf, acc[c]);
}

static inline VNNI __attribute__((always_inline)) void kern_q6_K(
        const int C, const int hf, const int pf, int64_t nb, const uint8_t *wg, const uint8_t *a, size_t as, float *s,
        int64_t lds) {
    __m256 acc[RPV_ARR];
    __m256 dsc[16];   /* per sub-block: d x signed scale of the 8 rows */
    __m256i zp[8];    /* per sub-block pair: the rows' (-32 * scale) for sub-blocks 2m, 2m+1 as int16 */
    const __m256i lo16 = _mm256_set1_epi32(0xFFFF);
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RP6_GB;
        if (pf) prefetch_lines(blk + 2 * RP6_GB, RP6_GB);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * hf)));
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) {
            const __m256i s0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 32 + 32 * m + 8 * hf)));
            const __m256i s1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 48 + 32 * m + 8 * hf)));
            _mm256_storeu_ps((float *)&dsc[2 * m], _mm256_mul_ps(d, _mm256_cvtepi32_ps(s0)));
            _mm256_storeu_ps((float *)&dsc[2 * m + 1], _mm256_mul_ps(d, _mm256_cvtepi32_ps(s1)));
            const __m256i n0 = _mm256_sub_epi32(_mm256_setzero_si256(), s0);
            const __m256i n1 = _mm256_sub_epi32(_mm256_setzero_si256(), s1);
            _mm256_storeu_si256(&zp[m], _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi32(n0, 5), lo16),
                                                        _mm256_slli_epi32(n1, 21)));
        }
        __m256 t[RPV_ARR];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_block_q8_K *yb = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
            __m256i z = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int m = 0; m < 8; m++) {
                int32_t pr;
                memcpy(&pr, yb->bsums + 2 * m, 4);
                z = _mm256_dpwssd_avx_epi32(z, _mm256_loadu_si256(&zp[m]), _mm256_set1_epi32(pr));
            }
            t[c] = _mm256_mul_ps(_mm256_cvtepi32_ps(z), d);
        }
#pragma GCC unroll 1
        for (int k = 0; k < 16; k++) {
            __m256i U[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                U[j] = _mm256_loadu_si256((const __m256i *)(blk + 288 + 64 * (4 * k + j) + 32 * hf));
            const __m256 ds = _mm256_loadu_ps((const float *)&dsc[k]);
#pragma GCC unroll 8
            for (int c = 0; c < C; c++) {
                const int8_t *y = ((const cllm_block_q8_K *)(a + (size_t)c * as) + b)->qs + 16 * k;
                __m256i i0 = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), U[0], bcast4(y));
                __m256i i1 = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), U[1], bcast4(y + 4));
                i0 = _mm256_dpbusd_avx_epi32(i0, U[2], bcast4(y + 8));
                i1 = _mm256_dpbusd_avx_epi32(i1, U[3], bcast4(y + 12));
                t[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(i0, i1)), ds, t[c]);
            }
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_block_q8_K *yb = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
            acc[c] = _mm256_fmadd_ps(t[c], _mm256_set1_ps(yb->d), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm256_storeu_ps(s + (int64_t)c * lds + 8 * hf, acc[c]);
}

/* Both halves of the group, activation rows in blocks of RPV_CMAX then the
 * remainder. Q8_K kernels ignore aux/auxs where they have no use for it. */
#define CALL_Q4_0(C) kern_q32(1, C, hf, pf, n / 32, wg, cllm_avx2_view_rp(1, ac, as, xc, auxs), sc, lds)
#define CALL_Q8_0(C) kern_q32(0, C, hf, pf, n / 32, wg, cllm_avx2_view_rp(0, ac, as, xc, auxs), sc, lds)
#define CALL_Q4_K(C) kern_q4_K(C, hf, pf, n / 256, wg, ac, as, xc, auxs, sc, lds)
#define CALL_Q6_K(C) kern_q6_K(C, hf, pf, n / 256, wg, ac, as, sc, lds)


/* gemm_rpx: per half, each packed tile of up to 16 tokens as register
 * blocks of up to 8 tokens. */

#define CALLX_Q4_0(C) kern_q32(1, C, hf, pf, nb, wg, v, sc, lds)
#define CALLX_Q8_0(C) kern_q32(0, C, hf, pf, nb, wg, v, sc, lds)
CLLM_AVX2_RPX_DRIVER(VNNI, gemm_rpx_q4_0_avxvnni, 1, CALLX_Q4_0)
CLLM_AVX2_RPX_DRIVER(VNNI, gemm_rpx_q8_0_avxvnni, 0, CALLX_Q8_0)

cllm_gemm_rpx_fn cllm_cpu_avxvnni_gemm_rpx(cllm_type t) {
    return t == CLLM_TYPE_Q4_0 ? gemm_rpx_q4_0_avxvnni : t == CLLM_TYPE_Q8_0 ? gemm_rpx_q8_0_avxvnni : NULL;
}

CLLM_AVX2_RP_DRIVER(VNNI, gemm_rp_q4_0_avxvnni, RPV_CMAX, CALL_Q4_0)
CLLM_AVX2_RP_DRIVER(VNNI, gemm_rp_q8_0_avxvnni, RPV_CMAX, CALL_Q8_0)
CLLM_AVX2_RP_DRIVER(VNNI, gemm_rp_q4_K_avxvnni, RPV_CMAX, CALL_Q4_K)
CLLM_AVX2_RP_DRIVER(VNNI, gemm_rp_q6_K_avxvnni, RPV_CMAX, CALL_Q6_K)

cllm_gemm_rp_fn cllm_cpu_avxvnni_gemm_rp(cllm_type t) {
    switch (t) {
    case CLLM_TYPE_Q4_0: return gemm_rp_q4_0_avxvnni;
    case CLLM_TYPE_Q8_0: return gemm_rp_q8_0_avxvnni;
    case CLLM_TYPE_Q4_K: return gemm_rp_q4_K_avxvnni;
    case CLLM_TYPE_Q6_K: return gemm_rp_q6_K_avxvnni;
    default: return NULL;
    }
}
