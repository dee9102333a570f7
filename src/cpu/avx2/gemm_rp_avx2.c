/* gemm_rp_avx2.c: plain AVX2 GEMM on repacked Q4_0 / Q8_0 weight groups
 * (layouts in cpu/repack.h) against Q8_0 activation rows, for CPUs without
 * AVX-512 or AVX-VNNI (the AVX-VNNI variants are in gemm_rp_avxvnni.c).
 *
 * One 64-byte layout vector (4 elements x 16 rows) is two ymm halves: rows
 * 0-7 and rows 8-15. A group is computed one half at a time: per 32-element
 * block the half's 8 weight vectors are loaded and unpacked once into
 * registers and used for up to RP_CMAX activation rows (register block 8
 * rows x RP_CMAX tokens). Per (block, activation row, half): vpmaddubsw of
 * the unsigned weight bytes with the activation's 4 bytes broadcast gives
 * int16 pair sums per row.
 *
 * Q4_0: nibbles 0..15 x |a| <= 128 give pairs <= 3840, so the 8 products of
 *   a block add up in int16 (<= 30720) and one vpmaddwd with ones makes the
 *   int32 per-row sum; the zero point -8 * sum(a) (aux zs4) is added there.
 * Q8_0: the stored bytes are w ^ 0x80 (0..255); 255 x 128 x 2 overflows
 *   int16, so the weights are turned back into signed bytes w (kept on the
 *   stack, once per block) and the sign trick is used: vpmaddubsw(|w|,
 *   sign(a, w)), pairs <= 128 x 127 x 2 = 32512 (exact as long as a != -128,
 *   which Q8_0 quantization never produces), one vpmaddwd per vector. No
 *   zero-point term is needed. */
#include "cpu/avx2/avx2_impl.h"
#include "cpu/avx2/rp_driver_avx2.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <string.h>

/* Activation rows per register block (at most 8; -DRP_CMAX=n to experiment).
 * 8 measured fastest on the test machine (vs 2..6) even though the float
 * accumulators then spill to the stack (one load and store per block and
 * row): the weight loads, unpacking and scale conversion are shared by more
 * rows. */
#ifndef RP_CMAX
#define RP_CMAX 8
#endif
#define RP_CMAX_ARR 8

/* Rows 8*hf .. 8*hf+7 of the group x C activation rows. */
static inline __attribute__((always_inline)) void kern_q4_0(const int C, const int hf, const int pf, int64_t nb,
                                                            const uint8_t *wg, const cllm_avx2_act_view v, float *s,
                                                            int64_t lds) {
    const size_t gbs = CLLM_RP_ROWS * sizeof(cllm_block_q4_0);
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[RP_CMAX_ARR];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * gbs;
        if (pf) prefetch_lines(blk + 6 * gbs, gbs);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * hf)));
        __m256i U[8];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const __m256i wv = _mm256_loadu_si256((const __m256i *)(blk + 32 + 64 * j + 32 * hf));
            U[j] = _mm256_and_si256(wv, m4);
            U[j + 4] = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m4);
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const int8_t *y = (const int8_t *)(v.q + (size_t)c * v.qt + (size_t)b * v.qb);
            float da;
            memcpy(&da, v.d + (size_t)c * v.dt + (size_t)b * v.db, 4);
            __m256i p0 = _mm256_maddubs_epi16(U[0], bcast4(y));
            __m256i p1 = _mm256_maddubs_epi16(U[4], bcast4(y + 16));
#pragma GCC unroll 4
            for (int j = 1; j < 4; j++) {
                p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(U[j], bcast4(y + 4 * j)));
                p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(U[j + 4], bcast4(y + 16 + 4 * j)));
            }
            int32_t zs;
            memcpy(&zs, v.z + (size_t)c * v.zt + (size_t)b * v.zb, 4);
            const __m256i i =
                _mm256_add_epi32(_mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones), _mm256_set1_epi32(zs));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_mul_ps(dw, _mm256_set1_ps(da)), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm256_storeu_ps(s + (int64_t)c * lds + 8 * hf, acc[c]);
}

static inline __attribute__((always_inline)) void kern_q8_0(const int C, const int hf, const int pf, int64_t nb,
                                                            const uint8_t *wg, const cllm_avx2_act_view v, float *s,
                                                            int64_t lds) {
    const size_t gbs = CLLM_RP_ROWS * sizeof(cllm_block_q8_0);
    const __m256i bias = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);
    __m256 acc[RP_CMAX_ARR];
    __m256i W[8];   /* signed weights of the block (sign source, read from L1) */
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * gbs;
        if (pf) prefetch_lines(blk + 6 * gbs, gbs);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * hf)));
        __m256i U[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            const __m256i w =
                _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 32 + 64 * j + 32 * hf)), bias);
            _mm256_storeu_si256(&W[j], w);
            U[j] = _mm256_abs_epi8(w);   /* -128 -> 0x80 = 128 unsigned: exact */
        }
#pragma GCC unroll 8
        for (int c = 0; c < C; c++) {
            const int8_t *y = (const int8_t *)(v.q + (size_t)c * v.qt + (size_t)b * v.qb);
            float da;
            memcpy(&da, v.d + (size_t)c * v.dt + (size_t)b * v.db, 4);
            __m256i i0 = _mm256_setzero_si256(), i1 = _mm256_setzero_si256();
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m256i s0 = _mm256_sign_epi8(bcast4(y + 4 * j), _mm256_loadu_si256(&W[j]));
                const __m256i s1 = _mm256_sign_epi8(bcast4(y + 16 + 4 * j), _mm256_loadu_si256(&W[j + 4]));
                i0 = _mm256_add_epi32(i0, _mm256_madd_epi16(_mm256_maddubs_epi16(U[j], s0), ones));
                i1 = _mm256_add_epi32(i1, _mm256_madd_epi16(_mm256_maddubs_epi16(U[j + 4], s1), ones));
            }
            const __m256i i = _mm256_add_epi32(i0, i1);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_mul_ps(dw, _mm256_set1_ps(da)), acc[c]);
        }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) _mm256_storeu_ps(s + (int64_t)c * lds + 8 * hf, acc[c]);
}

/* Both halves of the group, activation rows in blocks of RP_CMAX then the
 * remainder. */


#define CALL_Q4_0(C) kern_q4_0(C, hf, pf, n / 32, wg, cllm_avx2_view_rp(1, ac, as, xc, auxs), sc, lds)
#define CALL_Q8_0(C) kern_q8_0(C, hf, pf, n / 32, wg, cllm_avx2_view_rp(0, ac, as, xc, auxs), sc, lds)
CLLM_AVX2_RP_DRIVER(, gemm_rp_q4_0_avx2, RP_CMAX, CALL_Q4_0)
CLLM_AVX2_RP_DRIVER(, gemm_rp_q8_0_avx2, RP_CMAX, CALL_Q8_0)

/* gemm_rpx: per half, each packed tile of up to 16 tokens as register
 * blocks of up to 8 tokens. */

#define CALLX_Q4_0(C) kern_q4_0(C, hf, pf, nb, wg, v, sc, lds)
#define CALLX_Q8_0(C) kern_q8_0(C, hf, pf, nb, wg, v, sc, lds)
CLLM_AVX2_RPX_DRIVER(, gemm_rpx_q4_0_avx2, 1, CALLX_Q4_0)
CLLM_AVX2_RPX_DRIVER(, gemm_rpx_q8_0_avx2, 0, CALLX_Q8_0)

cllm_gemm_rpx_fn cllm_cpu_avx2_gemm_rpx_q32(cllm_type t) {
    return t == CLLM_TYPE_Q4_0 ? gemm_rpx_q4_0_avx2 : t == CLLM_TYPE_Q8_0 ? gemm_rpx_q8_0_avx2 : NULL;
}

cllm_gemm_rp_fn cllm_cpu_avx2_gemm_rp_q32(cllm_type t) {
    return t == CLLM_TYPE_Q4_0 ? gemm_rp_q4_0_avx2 : t == CLLM_TYPE_Q8_0 ? gemm_rp_q8_0_avx2 : NULL;
}
