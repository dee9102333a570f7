/* rp_driver_avx2.h: the loops around the AVX2 repacked-GEMM register blocks
 * (gemm_rp_avx2.c, gemm_rp_k_avx2.c, gemm_rp_avxvnni.c), shared so that the
 * plain and AVX-VNNI variants differ only in their kernels. A group of 16
 * rows is done as two halves of 8 (the two ymm halves of a layout vector);
 * decode batches of up to CLLM_AVX2_RP_PF_MAXC tokens prefetch (first half
 * only: the second half reads the same, now cached, blocks). */
#ifndef CLLM_CPU_AVX2_RP_DRIVER_H
#define CLLM_CPU_AVX2_RP_DRIVER_H

#include "cpu/kernels_impl.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define CLLM_AVX2_RP_PF_MAXC 8
#define RPK_GB 2496   /* bytes per Q4_K super-block group (cpu/repack.h) */
#define RP6_GB 4384   /* bytes per Q6_K super-block group */

/* Decode batches (up to 8 activation rows) are bound by the weight stream
 * from DRAM: the first pass over a group (rows 0-7, which touches every
 * cache line of the group) prefetches a few blocks ahead so that the loads
 * overlap the arithmetic, as the AVX-512 kernels do. */
static inline void prefetch_lines(const uint8_t *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

/* The 4 activation bytes at p in every 32-bit lane. */
static inline __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* gemm_rp (row-major activations): register blocks of CMAX (<= 8) rows.
 * CALL(C) sees hf (half), pf (prefetch), n, wg, ac/as (activation rows),
 * xc/auxs (their aux entries), sc/lds (output). ATTR: function attributes
 * (empty, or the target of the variant). */
#define CLLM_AVX2_RP_DRIVER(ATTR, NAME, CMAX, CALL)                                                            \
    static ATTR void NAME(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a, size_t as, \
                          const cllm_rp_aux *aux, int64_t auxs) {                                            \
        _Static_assert((CMAX) >= 1 && (CMAX) <= 8, "the switch covers 1..8");                                \
        for (int hf = 0; hf < 2; hf++) {                                                                     \
            const int pf = hf == 0 && nc <= CLLM_AVX2_RP_PF_MAXC;                                            \
            for (int c = 0; c < nc; c += (CMAX)) {                                                           \
                const uint8_t *ac = (const uint8_t *)a + (size_t)c * as;                                     \
                const cllm_rp_aux *xc = aux + (int64_t)c * auxs;                                             \
                float *sc = s + (int64_t)c * lds;                                                            \
                (void)ac;                                                                                    \
                (void)xc;                                                                                    \
                CLLM_CPU_SWITCH8(nc - c < (CMAX) ? nc - c : (CMAX), CALL)                                   \
            }                                                                                                \
        }                                                                                                    \
    }

/* gemm_rpx (packed 16-token tiles, cpu/repack.h): per half, each tile as
 * register blocks of up to 8 tokens. CALL(C) sees hf, pf, nb (blocks), wg,
 * v (the block's activation view, cllm_avx2_view_rpx) and sc/lds. */
#define CLLM_AVX2_RPX_DRIVER(ATTR, NAME, Q4, CALL)                                                          \
    static ATTR void NAME(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {        \
        const int64_t nb = n / 32;                                                                          \
        const size_t tile = CLLM_RPX_COLS * (size_t)nb * CLLM_RPX_BLOCK(1);                                 \
        for (int hf = 0; hf < 2; hf++) {                                                                    \
            const int pf = hf == 0 && nc <= CLLM_AVX2_RP_PF_MAXC;                                           \
            for (int t0 = 0; t0 < nc; t0 += CLLM_RPX_COLS) {                                                \
                const int T = nc - t0 < CLLM_RPX_COLS ? nc - t0 : CLLM_RPX_COLS;                            \
                const uint8_t *xt = (const uint8_t *)x + (size_t)(t0 / CLLM_RPX_COLS) * tile;                \
                for (int c0 = 0; c0 < T; c0 += 8) {                                                         \
                    const cllm_avx2_act_view v = cllm_avx2_view_rpx(Q4, xt, T, c0);                         \
                    float *sc = s + (int64_t)(t0 + c0) * lds;                                               \
                    CLLM_CPU_SWITCH8(T - c0 < 8 ? T - c0 : 8, CALL)                                        \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

#endif /* CLLM_CPU_AVX2_RP_DRIVER_H */
