/* gemm_rp_k_avx2.c: plain AVX2 GEMM on repacked Q4_K / Q6_K weight groups
 * (layouts in cpu/repack.h) against Q8_K activation rows, for CPUs without
 * AVX-512 or AVX-VNNI (the AVX-VNNI variants are in gemm_rp_avxvnni.c).
 *
 * As in gemm_rp_avx2.c a group is done one half (8 rows, one ymm of each
 * 64-byte layout vector) at a time, the half's weight vectors of one
 * sub-block unpacked once into registers for up to RPK_CMAX activation rows.
 * Everything inside a 256-element super-block stays integer, exactly:
 *
 * Q4_K: per 32-element sub-block, 8 vpmaddubsw (nibbles x int8, pairs <=
 *   3840) summed in int16 (<= 30720), then one vpmaddwd with the rows' 6-bit
 *   scale in both int16 halves of the lane gives scale x sum in int32; the
 *   mins term is 4 vpmaddwd of the rows' int16 min pairs with the
 *   activation's sub-block sum pairs (aux). Per super-block: acc += d_a *
 *   (d * isum - dmin * msum).
 * Q6_K: per 16-element sub-block, 4 vpmaddubsw (0..63 x int8, pairs <=
 *   16128) summed two at a time in int16 (<= 32256), each pair sum times the
 *   rows' signed scale with vpmaddwd; the zero point -32 is 8 vpmaddwd per
 *   super-block of the rows' (-32 * scale) int16 pairs with the activation's
 *   bsums pairs. Per super-block: acc += d * d_a * isum (|isum| < 2^29). */
#include "cpu/avx2/avx2_impl.h"
#include "cpu/avx2/rp_driver_avx2.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <string.h>

/* Activation rows per register block (at most 8; -DRPK_CMAX=n to experiment).
 * 8 measured fastest on the test machine (vs 2..6) even though the float
 * accumulators then spill to the stack (one load and store per block and
 * row): the weight loads, unpacking and scale conversion are shared by more
 * rows. */
#ifndef RPK_CMAX
#define RPK_CMAX 8
#endif
#define RPK_CMAX_ARR 8

/* 8 int32 lanes (each fits int16) -> the value in both int16 halves. */
static inline __m256i dup16(__m256i x) {
    return _mm256_or_si256(_mm256_and_si256(x, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(x, 16));
}

static inline __attribute__((always_inline)) void kern_q4_K(
        const int C, const int hf, const int pf, int64_t nb, const uint8_t *wg, const uint8_t *a, size_t as,
        const cllm_rp_aux *aux, int64_t auxs, float *s, int64_t lds) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[RPK_CMAX_ARR];
    __m256i sc16[8];   /* per sub-block: the 8 rows' scales, in both int16 halves */
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RPK_GB;
        if (pf) prefetch_lines(blk + 2 * RPK_GB, RPK_GB);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * hf)));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 32 + 16 * hf)));
#pragma GCC unroll 8
        for (int sb = 0; sb < 8; sb++)
            _mm256_storeu_si256(&sc16[sb], dup16(_mm256_cvtepu8_epi32(
                                               _mm_loadl_epi64((const __m128i *)(blk + 64 + 16 * sb + 8 * hf)))));
        __m256i isum[RPK_CMAX_ARR];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) isum[c] = _mm256_setzero_si256();
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
                const __m256i sc = _mm256_loadu_si256(&sc16[2 * p + h]);
#pragma GCC unroll 8
                for (int c = 0; c < C; c++) {
                    const int8_t *y = (const int8_t *)(a + (size_t)c * as + (size_t)b * sizeof(cllm_block_q8_K) + 4) +
                                      64 * p + 32 * h;
                    __m256i p0 = _mm256_maddubs_epi16(U[0], bcast4(y));
                    __m256i p1 = _mm256_maddubs_epi16(U[4], bcast4(y + 16));
#pragma GCC unroll 4
                    for (int j = 1; j < 4; j++) {
                        p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(U[j], bcast4(y + 4 * j)));
                        p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(U[j + 4], bcast4(y + 16 + 4 * j)));
                    }
                    isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(_mm256_add_epi16(p0, p1), sc));
                }
            }
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_rp_aux *x = aux + (int64_t)c * auxs + 8 * b;
            __m256i m = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(blk + 192 + 32 * hf)),
                                          _mm256_set1_epi32(x[0].sum));
#pragma GCC unroll 3
            for (int p = 1; p < 4; p++)
                m = _mm256_add_epi32(
                    m, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(blk + 192 + 64 * p + 32 * hf)),
                                         _mm256_set1_epi32(x[p].sum)));
            const __m256 t =
                _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), dmin, _mm256_mul_ps(_mm256_cvtepi32_ps(isum[c]), d));
            acc[c] = _mm256_fmadd_ps(t, _mm256_set1_ps(x[0].d), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm256_storeu_ps(s + (int64_t)c * lds + 8 * hf, acc[c]);
}

static inline __attribute__((always_inline)) void kern_q6_K(
        const int C, const int hf, const int pf, int64_t nb, const uint8_t *wg, const uint8_t *a, size_t as, float *s,
        int64_t lds) {
    __m256 acc[RPK_CMAX_ARR];
    __m256i sc16[16];   /* per sub-block: the rows' signed scales in both int16 halves */
    __m256i zp[8];      /* per sub-block pair: the rows' (-32 * scale) for sub-blocks 2m, 2m+1 */
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * RP6_GB;
        if (pf) prefetch_lines(blk + 2 * RP6_GB, RP6_GB);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * hf)));
        const __m256i lo16 = _mm256_set1_epi32(0xFFFF);
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) {
            const __m256i s0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 32 + 32 * m + 8 * hf)));
            const __m256i s1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 48 + 32 * m + 8 * hf)));
            _mm256_storeu_si256(&sc16[2 * m], dup16(s0));
            _mm256_storeu_si256(&sc16[2 * m + 1], dup16(s1));
            const __m256i n0 = _mm256_sub_epi32(_mm256_setzero_si256(), s0);
            const __m256i n1 = _mm256_sub_epi32(_mm256_setzero_si256(), s1);
            _mm256_storeu_si256(&zp[m], _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi32(n0, 5), lo16),
                                                        _mm256_slli_epi32(n1, 21)));
        }
        __m256i isum[RPK_CMAX_ARR];
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_block_q8_K *yb = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
            __m256i z = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int m = 0; m < 8; m++) {
                int32_t pr;
                memcpy(&pr, yb->bsums + 2 * m, 4);
                z = _mm256_add_epi32(z, _mm256_madd_epi16(_mm256_loadu_si256(&zp[m]), _mm256_set1_epi32(pr)));
            }
            isum[c] = z;
        }
#pragma GCC unroll 1
        for (int k = 0; k < 16; k++) {
            __m256i U[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                U[j] = _mm256_loadu_si256((const __m256i *)(blk + 288 + 64 * (4 * k + j) + 32 * hf));
            const __m256i sc = _mm256_loadu_si256(&sc16[k]);
#pragma GCC unroll 8
            for (int c = 0; c < C; c++) {
                const int8_t *y = ((const cllm_block_q8_K *)(a + (size_t)c * as) + b)->qs + 16 * k;
                const __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(U[0], bcast4(y)),
                                                    _mm256_maddubs_epi16(U[1], bcast4(y + 4)));
                const __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(U[2], bcast4(y + 8)),
                                                    _mm256_maddubs_epi16(U[3], bcast4(y + 12)));
                isum[c] = _mm256_add_epi32(isum[c],
                                           _mm256_add_epi32(_mm256_madd_epi16(p0, sc), _mm256_madd_epi16(p1, sc)));
            }
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const cllm_block_q8_K *yb = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(d, _mm256_set1_ps(yb->d)), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm256_storeu_ps(s + (int64_t)c * lds + 8 * hf, acc[c]);
}

/* Both halves of the group, activation rows in blocks of RPK_CMAX then the
 * remainder. */
#define CALL_Q4_K(C) kern_q4_K(C, hf, pf, n / 256, wg, ac, as, xc, auxs, sc, lds)
#define CALL_Q6_K(C) kern_q6_K(C, hf, pf, n / 256, wg, ac, as, sc, lds)


CLLM_AVX2_RP_DRIVER(, gemm_rp_q4_K_avx2, RPK_CMAX, CALL_Q4_K)
CLLM_AVX2_RP_DRIVER(, gemm_rp_q6_K_avx2, RPK_CMAX, CALL_Q6_K)

cllm_gemm_rp_fn cllm_cpu_avx2_gemm_rp_k(cllm_type t) {
    return t == CLLM_TYPE_Q4_K ? gemm_rp_q4_K_avx2 : t == CLLM_TYPE_Q6_K ? gemm_rp_q6_K_avx2 : NULL;
}
