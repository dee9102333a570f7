/* gemm512_rp.c: AVX-512 VNNI GEMM on repacked Q4_0 / Q8_0 weight groups
 * against Q8_0 activations packed in 16-token tiles (both layouts in
 * cpu/repack.h): the table's gemm_rpx.
 *
 * One zmm holds 4 consecutive elements of each of 16 weight rows; one
 * vpdpbusd with the activation's 4 matching bytes broadcast (embedded
 * {1to16} memory operand) adds 64 products into 16 per-row int32 lanes. Per
 * 32-element block and activation row: 8 vpdpbusd starting from the
 * zero-point term -zp * sum(a) (precomputed per block), one conversion and
 * one FMA with d_w[16] * d_a. The weight block is loaded and unpacked once
 * and used for up to 16 activation rows (register block 16 rows x 16 rows),
 * whose int32 chains are issued in lockstep so that independent vpdpbusd
 * are always ready (one chain per row in turn measured ~20% slower: 8 deep
 * dependent chains); the caller (matmul.c) does the cache blocking. */
#include "cpu/avx512/avx512_impl.h"
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <immintrin.h>
#include <string.h>

/* Register block: 16 weight rows x C (<= 16) tokens of one packed tile;
 * C + 8 + 3 zmm (with C = 16 the compiler keeps a few float accumulators in
 * L1). Per (block, token) the ports that run vpdpbusd (p0/p5) see the 8 dot
 * products plus one conversion, one multiply and one FMA: the zero-point
 * term and the token's scale arrive as broadcast loads (load ports only).
 * The C int32 chains are issued in lockstep so independent vpdpbusd are
 * always ready (one 8-deep chain per token in turn measured ~20% slower). */
static inline __attribute__((always_inline)) void kern(const int q4, const int C, int64_t nb, const uint8_t *wg,
                                                       const uint8_t *x, float *s, int64_t lds) {
    const size_t gbs = CLLM_RP_ROWS * (q4 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0));
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[16];
#pragma GCC unroll 16
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wg + (size_t)b * gbs;
        const uint8_t *xb = x + (size_t)b * CLLM_RPX_BLOCK(C);
        if (C <= 8) {   /* decode batches: memory-bound; keep a few blocks in flight ahead of the stream */
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
        const int32_t *zs = (const int32_t *)(xb + (q4 ? 36 : 40) * C);
        const float *da = (const float *)(xb + 32 * C);
        __m512i ia[16];
#pragma GCC unroll 16
        for (int c = 0; c < C; c++) ia[c] = _mm512_set1_epi32(zs[c]);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            const int off = (j & 3) * 4 + (j >> 2) * 16;   /* U[j] holds elements off..off+3 of each row */
#pragma GCC unroll 16
            for (int c = 0; c < C; c++) {
                int32_t v;
                memcpy(&v, xb + 32 * c + off, 4);
                ia[c] = _mm512_dpbusd_epi32(ia[c], U[j], _mm512_set1_epi32(v));
            }
        }
#pragma GCC unroll 16
        for (int c = 0; c < C; c++)
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[c]), _mm512_mul_ps(dw, _mm512_set1_ps(da[c])), acc[c]);
    }
#pragma GCC unroll 16
    for (int c = 0; c < C; c++) _mm512_storeu_ps(s + (int64_t)c * lds, acc[c]);
}

/* Whole tiles of 16 tokens, then the tail tile with its own C. */
#define RPX_TAIL(C) kern(q4, C, nb, wg, x8, sc, lds)
#define DRIVER(NAME, Q4)                                                                                  \
    static void NAME(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {           \
        const int q4 = (Q4);                                                                              \
        const int64_t nb = n / 32;                                                                        \
        const uint8_t *x8 = x;                                                                            \
        const size_t tile = CLLM_RPX_COLS * (size_t)nb * CLLM_RPX_BLOCK(1);                               \
        int c = 0;                                                                                        \
        for (; c + CLLM_RPX_COLS <= nc; c += CLLM_RPX_COLS, x8 += tile)                                   \
            kern(q4, CLLM_RPX_COLS, nb, wg, x8, s + (int64_t)c * lds, lds);                               \
        float *sc = s + (int64_t)c * lds;                                                                 \
        CLLM_CPU_SWITCH15(nc - c, RPX_TAIL)                                                            \
    }

DRIVER(gemm_rpx_q4_0_vnni512, 1)
DRIVER(gemm_rpx_q8_0_vnni512, 0)

void cllm_cpu_avx512_fill_gemm_rp(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_0].gemm_rpx = gemm_rpx_q4_0_vnni512;
    k->type[CLLM_TYPE_Q8_0].gemm_rpx = gemm_rpx_q8_0_vnni512;
}
