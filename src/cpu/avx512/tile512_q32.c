/* tile512_q32.c: AVX-512 tile kernels for Q4_0 and Q8_0 weights against
 * several Q8_0 activation rows (prompt processing). Two blocks per zmm: one
 * vpdpbusd, one conversion, one multiply by [dx_b x8 | dx_b+1 x8] and one FMA
 * with [dy_b x8 | dy_b+1 x8] per (weight row, activation row) pair and pair of
 * blocks, half the float work of the 256-bit tiles. Weight and activation
 * preparation (unpacking, offset sums, scales) is shared across the tile.
 * Single activation rows go to the 256-bit tiles (the table's previous
 * vec_dot_tile), which measured as fast there. */
#include "cpu/avx512/avx512_impl.h"
#include "core/fp16.h"

#include <immintrin.h>
#include <string.h>

enum { TK_Q4_0 = 0, TK_Q8_0 = 1 };

static cllm_vec_dot_tile_fn g_prev_q4_0, g_prev_q8_0; /* set once in the fill (pthread_once) */

/* [d(p0) x8 | d(p1) x8] from two fp16 values that start blocks p0, p1; a
 * NULL p1 gives zeros in the upper half (odd tail block). */
static inline __m512 scale_pair(const void *p0, const void *p1) {
    const __m128 a = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)p0));
    const __m128 b = p1 ? _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)p1)) : _mm_setzero_ps();
    const __m512i idx = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(1), 1);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_unpacklo_ps(a, b)));
}

static inline __m512i load_pair(const uint8_t *q0, const uint8_t *q1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)q0)),
                              _mm256_loadu_si256((const __m256i *)q1), 1);
}

/* 32 nibble bytes of two Q4_0 blocks -> 64 bytes in element order. */
static inline __m512i nib_pair(const uint8_t *q0, const uint8_t *q1) {
    const __m512i z = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q0))),
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q1)), 1);
    const __m512i v = _mm512_mask_blend_epi64(0xCC, z, _mm512_srli_epi16(z, 4));
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

static inline __attribute__((always_inline)) void tile(const int kind, const int R, const int C, int64_t nb,
                                                       const uint8_t *w, size_t ws, const uint8_t *a,
                                                       size_t as, float *s, int64_t lds) {
    const size_t wbs = kind == TK_Q4_0 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0);
    const size_t abs_ = sizeof(cllm_block_q8_0);
    const __m512i koff = _mm512_set1_epi8((char)(kind == TK_Q4_0 ? 8 : 128));
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
        const int two = b + 1 < nb; /* else: a lone last block, upper half scaled by 0 */
        const int64_t b1 = two ? b + 1 : b;
        __m512i Y[4], NOFF[4];
        __m512 DY[4];
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            const uint8_t *a0 = a + (size_t)c * as + (size_t)b * abs_, *a1 = a + (size_t)c * as + (size_t)b1 * abs_;
            Y[c] = load_pair(a0 + 2, a1 + 2);
            NOFF[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), koff, Y[c]));
            DY[c] = scale_pair(a0, a1);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *w0 = w + (size_t)r * ws + (size_t)b * wbs, *w1 = w + (size_t)r * ws + (size_t)b1 * wbs;
            const __m512i U = kind == TK_Q4_0 ? nib_pair(w0 + 2, w1 + 2)
                                              : _mm512_xor_si512(load_pair(w0 + 2, w1 + 2), koff);
            const __m512 DX = scale_pair(w0, two ? w1 : NULL);
#pragma GCC unroll 4
            for (int c = 0; c < C; c++) {
                const __m512i i = _mm512_dpbusd_epi32(NOFF[c], U, Y[c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(i), DX), DY[c], acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) s[(int64_t)c * lds + r] = _mm512_reduce_add_ps(acc[r][c]);
}

#define TILE_CMAX 4
#define DRIVER(NAME, KIND, PREV)                                                                   \
    static void NAME(int64_t n, int nr, int nc, float *s, int64_t lds, const void *w, size_t ws,   \
                     const void *a, size_t as) {                                                   \
        const int64_t nb = n / 32;                                                                 \
        const uint8_t *w8 = w, *a8 = a;                                                            \
        int j = 0;                                                                                 \
        for (; j + TILE_CMAX <= nc; j += TILE_CMAX) {                                              \
            int i = 0;                                                                             \
            for (; i + 4 <= nr; i += 4)                                                            \
                tile(KIND, 4, TILE_CMAX, nb, w8 + (size_t)i * ws, ws, a8 + (size_t)j * as, as,     \
                     s + (int64_t)j * lds + i, lds);                                               \
            for (; i < nr; i++)                                                                    \
                tile(KIND, 1, TILE_CMAX, nb, w8 + (size_t)i * ws, ws, a8 + (size_t)j * as, as,     \
                     s + (int64_t)j * lds + i, lds);                                               \
        }                                                                                          \
        if (j < nc) PREV(n, nr, nc - j, s + (int64_t)j * lds, lds, w, ws, a8 + (size_t)j * as, as); \
    }

DRIVER(tile_q4_0_zmm, TK_Q4_0, g_prev_q4_0)
DRIVER(tile_q8_0_zmm, TK_Q8_0, g_prev_q8_0)

void cllm_cpu_avx512_fill_tiles_zmm(cllm_kernels *k) {
    g_prev_q4_0 = k->type[CLLM_TYPE_Q4_0].vec_dot_tile;
    g_prev_q8_0 = k->type[CLLM_TYPE_Q8_0].vec_dot_tile;
    if (g_prev_q4_0) k->type[CLLM_TYPE_Q4_0].vec_dot_tile = tile_q4_0_zmm;
    if (g_prev_q8_0) k->type[CLLM_TYPE_Q8_0].vec_dot_tile = tile_q8_0_zmm;
}
