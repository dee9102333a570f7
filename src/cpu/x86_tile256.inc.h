/* x86_tile256.inc.h: tile kernels for Q4_0 and Q8_0 weights (x Q8_0):
 * s[j*lds + i] = dot(weight row i, activation row j) for a block of rows and
 * activation rows at once. Each weight block is unpacked once for all
 * activation rows, each activation block loaded (and its offset sum and
 * scale computed) once for all weight rows, so a 4-row tile against one
 * activation row (token generation) costs about 60% of four vec_dot calls,
 * and 4x4 tiles (prompt processing) much less.
 * Included after x86_dot256.inc.h (same X86_FN / X86_VNNI). With VNNI the
 * compiler has 32 ymm registers (AVX512VL), enough for 4x4 accumulators;
 * the AVX2 build tiles 4 rows x 1 activation row. */

#define X86_TILE_CMAX (X86_VNNI ? 4 : 1)

enum { X86_TK_Q4_0 = 0, X86_TK_Q8_0 = 1 };

static inline __attribute__((always_inline)) void X86_FN(tile32)(const int kind, const int R, const int C,
                                                                 int64_t nb, const uint8_t *w, size_t ws,
                                                                 const uint8_t *a, size_t as, float *s,
                                                                 int64_t lds) {
    const size_t wbs = kind == X86_TK_Q4_0 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0);
    const size_t abs_ = sizeof(cllm_block_q8_0);
    const __m256i koff = _mm256_set1_epi8((char)(kind == X86_TK_Q4_0 ? 8 : 128));
    const __m256i one16 = _mm256_set1_epi16(1);
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        /* activation side, shared by all rows: quants, -offset*sum(y) as the
         * starting value of the integer dot, scale */
        __m256i Y[4], NOFF[4];
        __m256 DY[4];
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            const uint8_t *ab = a + (size_t)c * as + (size_t)b * abs_;
            Y[c] = _mm256_loadu_si256((const __m256i *)(ab + 2));
            if (kind == X86_TK_Q4_0 || X86_VNNI)
                NOFF[c] = _mm256_sub_epi32(_mm256_setzero_si256(), X86_FN(bus)(_mm256_setzero_si256(), koff, Y[c]));
            DY[c] = _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)ab)));
        }
        /* weight side, one row at a time against every activation row */
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = w + (size_t)r * ws + (size_t)b * wbs;
            __m256i U;
            if (kind == X86_TK_Q4_0) U = X86_FN(nibbles)(blk + 2);
            else if (X86_VNNI) U = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 2)), koff);
            else U = _mm256_loadu_si256((const __m256i *)(blk + 2));
            const __m256 DX = _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)blk)));
#pragma GCC unroll 4
            for (int c = 0; c < C; c++) {
                __m256i i;
                if (kind == X86_TK_Q4_0 || X86_VNNI)
                    i = X86_FN(bus)(NOFF[c], U, Y[c]);
                else /* AVX2 Q8_0: signed x signed through the sign trick */
                    i = X86_FN(wss)(_mm256_setzero_si256(), X86_FN(pairs_s8)(U, Y[c]), one16);
                acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(i), DX), DY[c], acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) s[(int64_t)c * lds + r] = X86_FN(hsum_ps)(acc[r][c]);
}

#define X86_TILE_DRIVER(NAME, KIND)                                                                \
    static void NAME(int64_t n, int nr, int nc, float *s, int64_t lds, const void *w, size_t ws,   \
                     const void *a, size_t as) {                                                   \
        const int64_t nb = n / 32;                                                                 \
        const uint8_t *w8 = w, *a8 = a;                                                            \
        int i = 0;                                                                                 \
        for (; i + 4 <= nr; i += 4) {                                                              \
            int j = 0;                                                                             \
            for (; j + X86_TILE_CMAX <= nc; j += X86_TILE_CMAX)                                    \
                X86_FN(tile32)(KIND, 4, X86_TILE_CMAX, nb, w8 + (size_t)i * ws, ws,                 \
                               a8 + (size_t)j * as, as, s + (int64_t)j * lds + i, lds);            \
            for (; j < nc; j++)                                                                    \
                X86_FN(tile32)(KIND, 4, 1, nb, w8 + (size_t)i * ws, ws, a8 + (size_t)j * as, as,   \
                               s + (int64_t)j * lds + i, lds);                                     \
        }                                                                                          \
        for (; i < nr; i++) {                                                                      \
            int j = 0;                                                                             \
            for (; j + X86_TILE_CMAX <= nc; j += X86_TILE_CMAX)                                    \
                X86_FN(tile32)(KIND, 1, X86_TILE_CMAX, nb, w8 + (size_t)i * ws, ws,                 \
                               a8 + (size_t)j * as, as, s + (int64_t)j * lds + i, lds);            \
            for (; j < nc; j++)                                                                    \
                X86_FN(tile32)(KIND, 1, 1, nb, w8 + (size_t)i * ws, ws, a8 + (size_t)j * as, as,   \
                               s + (int64_t)j * lds + i, lds);                                     \
        }                                                                                          \
    }

X86_TILE_DRIVER(X86_FN(tile_q4_0), X86_TK_Q4_0)
X86_TILE_DRIVER(X86_FN(tile_q8_0), X86_TK_Q8_0)

static void X86_FN(fill_tiles)(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_0].vec_dot_tile = X86_FN(tile_q4_0);
    k->type[CLLM_TYPE_Q8_0].vec_dot_tile = X86_FN(tile_q8_0);
}
