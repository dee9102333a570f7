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

/* ------------------------------------------------------------ K-quants */

/* Per weight row and super-block: what the chunk loop needs. */
typedef struct X86_FN(krow) {
    __m128i sc8;   /* Q6_K: 16 int8 scales; Q4_K: 8 uint8 scales (bytes 0-7) */
    __m256i mins;  /* Q4_K: mins per 16-element group as int16 */
    __m256i sc16;  /* Q6_K: the 16 scales as int16 (for the -32 offset) */
    float d, dmin;
} X86_FN(krow);

enum { X86_TK_Q4_K = 2, X86_TK_Q6_K = 3 };

/* Unsigned weights of 32-element chunk j (0..7) of a super-block. */
static inline __attribute__((always_inline)) __m256i X86_FN(kchunk)(const int kind, const uint8_t *blk, int j) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    if (kind == X86_TK_Q4_K) {
        const cllm_block_q4_K *x = (const cllm_block_q4_K *)blk;
        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * (j >> 1)));
        return (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(q, 4), m4) : _mm256_and_si256(q, m4);
    } else {
        const cllm_block_q6_K *x = (const cllm_block_q6_K *)blk;
        const int h = j >> 2, p = j & 3;
        const __m256i ql = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32 * (p & 1)));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
        const __m256i lo = p >= 2 ? _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4) : _mm256_and_si256(ql, m4);
        const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), m3);
        return _mm256_or_si256(lo, _mm256_slli_epi16(hb, 4));
    }
}

/* The int16 scale lanes of chunk j. */
static inline __attribute__((always_inline)) __m256i X86_FN(kscale)(const int kind, __m128i sc8, int j) {
    if (kind == X86_TK_Q4_K) {
        const __m128i idx = _mm_set1_epi8((char)j);
        return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sc8, idx));
    }
    return X86_FN(sc_pair)(sc8, 2 * j);
}

static inline __attribute__((always_inline)) void X86_FN(tilek)(const int kind, const int R, const int C,
                                                                int64_t nb, const uint8_t *w, size_t ws,
                                                                const uint8_t *a, size_t as, float *s,
                                                                int64_t lds) {
    const size_t wbs = kind == X86_TK_Q4_K ? sizeof(cllm_block_q4_K) : sizeof(cllm_block_q6_K);
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        X86_FN(krow) row[4];
        const cllm_block_q8_K *yb[4];
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) yb[c] = (const cllm_block_q8_K *)(a + (size_t)c * as) + b;
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = w + (size_t)r * ws + (size_t)b * wbs;
            if (kind == X86_TK_Q4_K) {
                const cllm_block_q4_K *x = (const cllm_block_q4_K *)blk;
                uint64_t sc8, mn8;
                cllm_cpu_unpack_k4_scales64(x->scales, &sc8, &mn8);
                const __m128i mn16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
                row[r].mins = _mm256_set_m128i(_mm_unpackhi_epi16(mn16, mn16), _mm_unpacklo_epi16(mn16, mn16));
                row[r].sc8 = _mm_cvtsi64_si128((long long)sc8);
                row[r].d = X86_FN(h2f)(x->d);
                row[r].dmin = X86_FN(h2f)(x->dmin);
            } else {
                const cllm_block_q6_K *x = (const cllm_block_q6_K *)blk;
                row[r].sc8 = _mm_loadu_si128((const __m128i *)x->scales);
                row[r].sc16 = _mm256_cvtepi8_epi16(row[r].sc8);
                row[r].d = X86_FN(h2f)(x->d);
            }
        }
        __m256i isum[4][4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int c = 0; c < C; c++) isum[r][c] = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++) {
            __m256i Y[4];
#pragma GCC unroll 4
            for (int c = 0; c < C; c++) Y[c] = _mm256_loadu_si256((const __m256i *)(yb[c]->qs + 32 * j));
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                const __m256i W = X86_FN(kchunk)(kind, w + (size_t)r * ws + (size_t)b * wbs, j);
                const __m256i S = X86_FN(kscale)(kind, row[r].sc8, j);
#pragma GCC unroll 4
                for (int c = 0; c < C; c++) isum[r][c] = X86_FN(wss)(isum[r][c], _mm256_maddubs_epi16(W, Y[c]), S);
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)yb[c]->bsums);
            const float dy = yb[c]->d;
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                if (kind == X86_TK_Q4_K) {
                    const __m256i msum = _mm256_madd_epi16(bs, row[r].mins);
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][c]), _mm256_set1_ps(row[r].d * dy), acc[r][c]);
                    acc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(row[r].dmin * dy), acc[r][c]);
                } else {
                    const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(bs, row[r].sc16), 5);
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isum[r][c], off)),
                                                _mm256_set1_ps(row[r].d * dy), acc[r][c]);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) s[(int64_t)c * lds + r] = X86_FN(hsum_ps)(acc[r][c]);
}

/* K-quant tiles pay off only with several activation rows (measured: 4x4
 * about 3.5x the vec_dot loop, 4x1 slower than it), so columns that do not
 * fill a group of X86_TILE_CMAX, and everything in the AVX2 build (4x1
 * only), go through vec_dot. */
#define X86_TILEK_DRIVER(NAME, KIND, DOT)                                                          \
    static void NAME(int64_t n, int nr, int nc, float *s, int64_t lds, const void *w, size_t ws,   \
                     const void *a, size_t as) {                                                   \
        const int64_t nb = n / QK_K;                                                               \
        const uint8_t *w8 = w, *a8 = a;                                                            \
        int j = 0;                                                                                 \
        if (X86_TILE_CMAX > 1) {                                                                   \
            for (; j + X86_TILE_CMAX <= nc; j += X86_TILE_CMAX) {                                  \
                int i = 0;                                                                         \
                for (; i + 4 <= nr; i += 4)                                                        \
                    X86_FN(tilek)(KIND, 4, X86_TILE_CMAX, nb, w8 + (size_t)i * ws, ws,              \
                                  a8 + (size_t)j * as, as, s + (int64_t)j * lds + i, lds);         \
                for (; i < nr; i++)                                                                \
                    X86_FN(tilek)(KIND, 1, X86_TILE_CMAX, nb, w8 + (size_t)i * ws, ws,              \
                                  a8 + (size_t)j * as, as, s + (int64_t)j * lds + i, lds);         \
            }                                                                                      \
        }                                                                                          \
        for (; j < nc; j++)                                                                        \
            for (int i = 0; i < nr; i++)                                                           \
                DOT(n, &s[(int64_t)j * lds + i], w8 + (size_t)i * ws, a8 + (size_t)j * as);        \
    }

X86_TILEK_DRIVER(X86_FN(tile_q4_K), X86_TK_Q4_K, X86_FN(dot_q4_K))
X86_TILEK_DRIVER(X86_FN(tile_q6_K), X86_TK_Q6_K, X86_FN(dot_q6_K))

static void X86_FN(fill_tiles)(cllm_kernels *k) {
    if (X86_TILE_CMAX > 1) {
        k->type[CLLM_TYPE_Q4_K].vec_dot_tile = X86_FN(tile_q4_K);
        k->type[CLLM_TYPE_Q6_K].vec_dot_tile = X86_FN(tile_q6_K);
    }
    k->type[CLLM_TYPE_Q4_0].vec_dot_tile = X86_FN(tile_q4_0);
    k->type[CLLM_TYPE_Q8_0].vec_dot_tile = X86_FN(tile_q8_0);
}
