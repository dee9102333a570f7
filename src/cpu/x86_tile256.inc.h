/* x86_tile256.inc.h: tile kernels for the 32-block types (Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, IQ4_NL) and, with VNNI, the K-quants and IQ4_XS:
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

enum { X86_TK_Q4_0 = 0, X86_TK_Q8_0 = 1, X86_TK_Q5_0 = 4, X86_TK_IQ4_NL = 5, X86_TK_Q4_1 = 6, X86_TK_Q5_1 = 7 };

/* Bytes per weight block, offset of its quants. */
static inline size_t X86_FN(tk_wbs)(int kind) {
    switch (kind) {
    case X86_TK_Q4_0: return sizeof(cllm_block_q4_0);
    case X86_TK_Q8_0: return sizeof(cllm_block_q8_0);
    case X86_TK_Q5_0: return sizeof(cllm_block_q5_0);
    case X86_TK_IQ4_NL: return sizeof(cllm_block_iq4_nl);
    case X86_TK_Q4_1: return sizeof(cllm_block_q4_1);
    default: return sizeof(cllm_block_q5_1);
    }
}
/* Types whose weights go through the signed x signed path on AVX2 (values
 * outside 0..127 as unsigned bytes would saturate vpmaddubsw). */
#define X86_TK_SIGNED(kind) (!X86_VNNI && ((kind) == X86_TK_Q8_0 || (kind) == X86_TK_IQ4_NL))
/* The constant removed by a second vpdpbusd (0: none). */
static inline int X86_FN(tk_off)(int kind) {
    switch (kind) {
    case X86_TK_Q4_0: return 8;
    case X86_TK_Q5_0: return 16;
    case X86_TK_Q8_0:
    case X86_TK_IQ4_NL: return X86_VNNI ? 128 : 0;
    default: return 0;
    }
}
#define X86_TK_IS_1(kind) ((kind) == X86_TK_Q4_1 || (kind) == X86_TK_Q5_1)

/* The 32 weights of block blk as bytes: unsigned (u + offset) or, for
 * X86_TK_SIGNED kinds, signed. */
static inline __attribute__((always_inline)) __m256i X86_FN(tk_unpack)(int kind, const uint8_t *blk) {
    switch (kind) {
    case X86_TK_Q4_0: return X86_FN(nibbles)(blk + 2);
    case X86_TK_Q4_1: return X86_FN(nibbles)(blk + 4);
    case X86_TK_Q5_0: return _mm256_or_si256(X86_FN(nibbles)(blk + 6), X86_FN(q5_high)(blk + 2));
    case X86_TK_Q5_1: return _mm256_or_si256(X86_FN(nibbles)(blk + 8), X86_FN(q5_high)(blk + 4));
    case X86_TK_Q8_0: {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 2));
        return X86_VNNI ? _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80)) : v;
    }
    default: { /* IQ4_NL: level lookup, +128 for the unsigned path */
        const __m256i v = X86_FN(iq4_lookup32)(blk + 2);
        return X86_VNNI ? _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80)) : v;
    }
    }
}

static inline __attribute__((always_inline)) void X86_FN(tile32)(const int kind, const int R, const int C,
                                                                 int64_t nb, const uint8_t *w, size_t ws,
                                                                 const uint8_t *a, size_t as, float *s,
                                                                 int64_t lds) {
    const size_t wbs = X86_FN(tk_wbs)(kind);
    const int is1 = X86_TK_IS_1(kind);
    const size_t abs_ = is1 ? sizeof(cllm_block_q8_1) : sizeof(cllm_block_q8_0);
    const size_t aqs = is1 ? 4 : 2;
    const int off = X86_FN(tk_off)(kind);
    const __m256i koff = _mm256_set1_epi8((char)off);
    const __m256i one16 = _mm256_set1_epi16(1);
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        /* activation side, shared by all rows: quants, -offset*sum(y) as the
         * starting value of the integer dot, scale (and Q8_1's s) */
        __m256i Y[4], NOFF[4];
        __m256 DY[4], SY[4];
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            const uint8_t *ab = a + (size_t)c * as + (size_t)b * abs_;
            Y[c] = _mm256_loadu_si256((const __m256i *)(ab + aqs));
            NOFF[c] = off ? _mm256_sub_epi32(_mm256_setzero_si256(), X86_FN(bus)(_mm256_setzero_si256(), koff, Y[c]))
                          : _mm256_setzero_si256();
            const __m128 dv = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)ab)); /* d [, s] */
            DY[c] = _mm256_broadcastss_ps(dv);
            SY[c] = is1 ? _mm256_broadcastss_ps(_mm_movehdup_ps(dv)) : _mm256_setzero_ps();
        }
        /* weight side, one row at a time against every activation row */
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = w + (size_t)r * ws + (size_t)b * wbs;
            const __m256i U = X86_FN(tk_unpack)(kind, blk);
            const __m128 dv = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)blk)); /* d [, m] */
            const __m256 DX = _mm256_broadcastss_ps(dv);
            /* m * s is added as 8 lanes of m*s/8 (exact power-of-two scaling) */
            const __m256 M8 = is1 ? _mm256_broadcastss_ps(_mm_mul_ss(_mm_movehdup_ps(dv), _mm_set_ss(0.125f)))
                                  : _mm256_setzero_ps();
#pragma GCC unroll 4
            for (int c = 0; c < C; c++) {
                __m256i i;
                if (X86_TK_SIGNED(kind)) /* AVX2 Q8_0 / IQ4_NL: signed x signed via the sign trick */
                    i = X86_FN(wss)(_mm256_setzero_si256(), X86_FN(pairs_s8)(U, Y[c]), one16);
                else
                    i = X86_FN(bus)(NOFF[c], U, Y[c]);
                acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(i), DX), DY[c], acc[r][c]);
                if (is1) acc[r][c] = _mm256_fmadd_ps(M8, SY[c], acc[r][c]);
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
X86_TILE_DRIVER(X86_FN(tile_q5_0), X86_TK_Q5_0)
X86_TILE_DRIVER(X86_FN(tile_iq4_nl), X86_TK_IQ4_NL)
X86_TILE_DRIVER(X86_FN(tile_q4_1), X86_TK_Q4_1)
X86_TILE_DRIVER(X86_FN(tile_q5_1), X86_TK_Q5_1)

/* ------------------------------------------------------------ K-quants */

/* Per weight row and super-block: what the chunk loop needs. */
typedef struct X86_FN(krow) {
    __m128i sc8;   /* int8 scales: 16 (one per 16 elements: Q2_K, Q3_K, Q6_K) or
                    * 8 (one per 32: Q4_K, Q5_K, IQ4_XS) */
    __m256i mins;  /* Q2_K/Q4_K/Q5_K: mins per 16-element group as int16 */
    __m256i sc16;  /* Q3_K/Q6_K: the 16 scales as int16 (for the offset) */
    float d, dmin;
} X86_FN(krow);

enum { X86_TK_Q4_K = 2, X86_TK_Q6_K = 3, X86_TK_Q5_K = 8, X86_TK_Q3_K = 9, X86_TK_Q2_K = 10, X86_TK_IQ4_XS = 11 };

static inline size_t X86_FN(tk_kbs)(int kind) {
    switch (kind) {
    case X86_TK_Q4_K: return sizeof(cllm_block_q4_K);
    case X86_TK_Q5_K: return sizeof(cllm_block_q5_K);
    case X86_TK_Q6_K: return sizeof(cllm_block_q6_K);
    case X86_TK_Q3_K: return sizeof(cllm_block_q3_K);
    case X86_TK_Q2_K: return sizeof(cllm_block_q2_K);
    default: return sizeof(cllm_block_iq4_xs);
    }
}
/* scales per 16 elements (else per 32) */
#define X86_TK_SC16(kind) ((kind) == X86_TK_Q6_K || (kind) == X86_TK_Q3_K || (kind) == X86_TK_Q2_K)
/* min term from bsums x mins (Q2_K, Q4_K, Q5_K) */
#define X86_TK_MINS(kind) ((kind) == X86_TK_Q4_K || (kind) == X86_TK_Q5_K || (kind) == X86_TK_Q2_K)

static inline __attribute__((always_inline)) void X86_FN(krow_init)(int kind, const uint8_t *blk,
                                                                   X86_FN(krow) *row) {
    switch (kind) {
    case X86_TK_Q4_K:
    case X86_TK_Q5_K: {
        /* Q4_K and Q5_K share d, dmin, scales at the same offsets */
        const cllm_block_q4_K *x = (const cllm_block_q4_K *)blk;
        uint64_t sc8, mn8;
        cllm_cpu_unpack_k4_scales64(x->scales, &sc8, &mn8);
        const __m128i mn16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
        row->mins = _mm256_set_m128i(_mm_unpackhi_epi16(mn16, mn16), _mm_unpacklo_epi16(mn16, mn16));
        row->sc8 = _mm_cvtsi64_si128((long long)sc8);
        row->d = X86_FN(h2f)(x->d);
        row->dmin = X86_FN(h2f)(x->dmin);
        break;
    }
    case X86_TK_Q6_K: {
        const cllm_block_q6_K *x = (const cllm_block_q6_K *)blk;
        row->sc8 = _mm_loadu_si128((const __m128i *)x->scales);
        row->sc16 = _mm256_cvtepi8_epi16(row->sc8);
        row->d = X86_FN(h2f)(x->d);
        break;
    }
    case X86_TK_Q3_K: {
        const cllm_block_q3_K *x = (const cllm_block_q3_K *)blk;
        uint64_t lo8, hi8;
        cllm_cpu_unpack_q3k_scales128(x->scales, &lo8, &hi8);
        row->sc8 = _mm_sub_epi8(_mm_set_epi64x((long long)hi8, (long long)lo8), _mm_set1_epi8(32));
        row->sc16 = _mm256_cvtepi8_epi16(row->sc8);
        row->d = X86_FN(h2f)(x->d);
        break;
    }
    case X86_TK_Q2_K: {
        const cllm_block_q2_K *x = (const cllm_block_q2_K *)blk;
        const __m128i v = _mm_loadu_si128((const __m128i *)x->scales);
        row->sc8 = _mm_and_si128(v, _mm_set1_epi8(0x0F));
        row->mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0F)));
        row->d = X86_FN(h2f)(x->d);
        row->dmin = X86_FN(h2f)(x->dmin);
        break;
    }
    default: { /* IQ4_XS: 8 scales ls - 32 */
        const cllm_block_iq4_xs *x = (const cllm_block_iq4_xs *)blk;
        uint64_t v = 0;
        for (int ib = 0; ib < 8; ib++) {
            const int ls = ((x->scales_l[ib / 2] >> (4 * (ib & 1))) & 0x0F) | (((x->scales_h >> (2 * ib)) & 3) << 4);
            v |= (uint64_t)(uint8_t)(int8_t)(ls - 32) << (8 * ib);
        }
        row->sc8 = _mm_cvtsi64_si128((long long)v);
        row->d = X86_FN(h2f)(x->d);
        break;
    }
    }
}

/* The weights of 32-element chunk j (0..7) of a super-block: unsigned bytes,
 * or signed for IQ4_XS. */
static inline __attribute__((always_inline)) __m256i X86_FN(kchunk)(const int kind, const uint8_t *blk, int j) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    switch (kind) {
    case X86_TK_Q4_K:
    case X86_TK_Q5_K: {
        const uint8_t *qs = kind == X86_TK_Q4_K ? ((const cllm_block_q4_K *)blk)->qs : ((const cllm_block_q5_K *)blk)->qs;
        const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * (j >> 1)));
        __m256i u = (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(q, 4), m4) : _mm256_and_si256(q, m4);
        if (kind == X86_TK_Q5_K) {
            const __m256i hm = _mm256_loadu_si256((const __m256i *)((const cllm_block_q5_K *)blk)->qh);
            const __m256i bit = _mm256_set1_epi8((char)(1 << j));
            u = _mm256_or_si256(u, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit),
                                                    _mm256_set1_epi8(16)));
        }
        return u;
    }
    case X86_TK_Q6_K: {
        const cllm_block_q6_K *x = (const cllm_block_q6_K *)blk;
        const int h = j >> 2, p = j & 3;
        const __m256i ql = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32 * (p & 1)));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
        const __m256i lo = p >= 2 ? _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4) : _mm256_and_si256(ql, m4);
        const __m256i hb = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), m3);
        return _mm256_or_si256(lo, _mm256_slli_epi16(hb, 4));
    }
    case X86_TK_Q3_K:
    case X86_TK_Q2_K: {
        const int h = j >> 2, p = j & 3;
        const uint8_t *qs = kind == X86_TK_Q3_K ? ((const cllm_block_q3_K *)blk)->qs : ((const cllm_block_q2_K *)blk)->qs;
        const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * h));
        __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * p), m3);
        if (kind == X86_TK_Q3_K) {
            const __m256i hm = _mm256_loadu_si256((const __m256i *)((const cllm_block_q3_K *)blk)->hmask);
            const __m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + p)));
            u = _mm256_or_si256(u, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit),
                                                    _mm256_set1_epi8(4)));
        }
        return u;
    }
    default:
        return X86_FN(iq4_lookup32)(((const cllm_block_iq4_xs *)blk)->qs + 16 * j);
    }
}

/* The int16 scale lanes of chunk j. */
static inline __attribute__((always_inline)) __m256i X86_FN(kscale)(const int kind, __m128i sc8, int j) {
    if (X86_TK_SC16(kind)) return X86_FN(sc_pair)(sc8, 2 * j);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, _mm_set1_epi8((char)j)));
}

static inline __attribute__((always_inline)) void X86_FN(tilek)(const int kind, const int R, const int C,
                                                                int64_t nb, const uint8_t *w, size_t ws,
                                                                const uint8_t *a, size_t as, float *s,
                                                                int64_t lds) {
    const size_t wbs = X86_FN(tk_kbs)(kind);
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
        for (int r = 0; r < R; r++) X86_FN(krow_init)(kind, w + (size_t)r * ws + (size_t)b * wbs, &row[r]);
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
                if (kind == X86_TK_IQ4_XS) { /* signed weights: sign trick, |W| shared */
                    const __m256i aw = _mm256_sign_epi8(W, W);
#pragma GCC unroll 4
                    for (int c = 0; c < C; c++)
                        isum[r][c] = X86_FN(wss)(isum[r][c], _mm256_maddubs_epi16(aw, _mm256_sign_epi8(Y[c], W)), S);
                } else {
#pragma GCC unroll 4
                    for (int c = 0; c < C; c++)
                        isum[r][c] = X86_FN(wss)(isum[r][c], _mm256_maddubs_epi16(W, Y[c]), S);
                }
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)yb[c]->bsums);
            const float dy = yb[c]->d;
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256i is = isum[r][c];
                if (kind == X86_TK_Q6_K) is = _mm256_sub_epi32(is, _mm256_slli_epi32(_mm256_madd_epi16(bs, row[r].sc16), 5));
                if (kind == X86_TK_Q3_K) is = _mm256_sub_epi32(is, _mm256_slli_epi32(_mm256_madd_epi16(bs, row[r].sc16), 2));
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_set1_ps(row[r].d * dy), acc[r][c]);
                if (X86_TK_MINS(kind)) {
                    const __m256i msum = _mm256_madd_epi16(bs, row[r].mins);
                    acc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(row[r].dmin * dy), acc[r][c]);
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
X86_TILEK_DRIVER(X86_FN(tile_q5_K), X86_TK_Q5_K, X86_FN(dot_q5_K))
X86_TILEK_DRIVER(X86_FN(tile_q3_K), X86_TK_Q3_K, X86_FN(dot_q3_K))
X86_TILEK_DRIVER(X86_FN(tile_q2_K), X86_TK_Q2_K, X86_FN(dot_q2_K))
X86_TILEK_DRIVER(X86_FN(tile_iq4_xs), X86_TK_IQ4_XS, X86_FN(dot_iq4_xs))

static void X86_FN(fill_tiles)(cllm_kernels *k) {
    if (X86_TILE_CMAX > 1) {
        k->type[CLLM_TYPE_Q4_K].vec_dot_tile = X86_FN(tile_q4_K);
        k->type[CLLM_TYPE_Q6_K].vec_dot_tile = X86_FN(tile_q6_K);
        k->type[CLLM_TYPE_Q5_K].vec_dot_tile = X86_FN(tile_q5_K);
        k->type[CLLM_TYPE_Q3_K].vec_dot_tile = X86_FN(tile_q3_K);
        k->type[CLLM_TYPE_Q2_K].vec_dot_tile = X86_FN(tile_q2_K);
        k->type[CLLM_TYPE_IQ4_XS].vec_dot_tile = X86_FN(tile_iq4_xs);
    }
    k->type[CLLM_TYPE_Q4_0].vec_dot_tile = X86_FN(tile_q4_0);
    k->type[CLLM_TYPE_Q8_0].vec_dot_tile = X86_FN(tile_q8_0);
    k->type[CLLM_TYPE_Q5_0].vec_dot_tile = X86_FN(tile_q5_0);
    k->type[CLLM_TYPE_IQ4_NL].vec_dot_tile = X86_FN(tile_iq4_nl);
    k->type[CLLM_TYPE_Q4_1].vec_dot_tile = X86_FN(tile_q4_1);
    k->type[CLLM_TYPE_Q5_1].vec_dot_tile = X86_FN(tile_q5_1);
}
