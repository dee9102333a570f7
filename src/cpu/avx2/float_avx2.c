/* float_avx2.c: AVX2 kernels for the float types: F32/F16/BF16 dot products
 * (4 independent 8-lane FMA chains) and float -> F16/BF16/Q8_0/Q8_1/Q8_K
 * conversions that produce the same bytes as the scalar references. */
#include "cpu/avx2/avx2_impl.h"
#include "core/fp16.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 load_f16(const cllm_fp16 *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
static inline __m256 load_bf16(const cllm_bf16 *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

/* The three float dots differ only in how 8 values are loaded. */
#define FLOAT_DOT(NAME, T, LOAD, TOF)                                               \
    static void NAME(int64_t n, float *s, const void *w, const void *a) {           \
        const T *x = w, *y = a;                                                     \
        __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                 \
        int64_t i = 0;                                                              \
        for (; i + 32 <= n; i += 32) {                                              \
            c0 = _mm256_fmadd_ps(LOAD(x + i), LOAD(y + i), c0);                     \
            c1 = _mm256_fmadd_ps(LOAD(x + i + 8), LOAD(y + i + 8), c1);             \
            c2 = _mm256_fmadd_ps(LOAD(x + i + 16), LOAD(y + i + 16), c2);           \
            c3 = _mm256_fmadd_ps(LOAD(x + i + 24), LOAD(y + i + 24), c3);           \
        }                                                                           \
        for (; i + 8 <= n; i += 8) c0 = _mm256_fmadd_ps(LOAD(x + i), LOAD(y + i), c0); \
        float r = hsum8(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)));  \
        for (; i < n; i++) r += TOF(x[i]) * TOF(y[i]);                              \
        *s = r;                                                                     \
    }

#define F32ID(v) (v)
FLOAT_DOT(dot_f32_avx2, float, _mm256_loadu_ps, F32ID)
FLOAT_DOT(dot_f16_avx2, cllm_fp16, load_f16, cllm_fp16_to_fp32)
FLOAT_DOT(dot_bf16_avx2, cllm_bf16, load_bf16, cllm_bf16_to_fp32)

/* Tiles: R weight rows x C activation rows, 8 elements per step; 4x2 keeps
 * the 8 accumulators and the loaded vectors within the 16 ymm registers. */
#define FLOAT_TILE(NAME, T, LOAD, TOF)                                                             \
    static inline __attribute__((always_inline)) void NAME##_rc(const int R, const int C, int64_t n,  \
                                                                const char *w, size_t ws,           \
                                                                const char *a, size_t as, float *s, \
                                                                int64_t lds) {                      \
        __m256 acc[4][2];                                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                        \
            _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();   \
        int64_t i = 0;                                                                             \
        for (; i + 8 <= n; i += 8) {                                                               \
            __m256 A[2];                                                                           \
            _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) A[c] = LOAD((const T *)(a + c * as) + i); \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                  \
                const __m256 W = LOAD((const T *)(w + r * ws) + i);                                 \
                _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) acc[r][c] = _mm256_fmadd_ps(W, A[c], acc[r][c]); \
            }                                                                                      \
        }                                                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                        \
            _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) {                                  \
                float t = hsum8(acc[r][c]);                                                        \
                const T *wr = (const T *)(w + r * ws), *ar = (const T *)(a + c * as);              \
                for (int64_t j = i; j < n; j++) t += TOF(wr[j]) * TOF(ar[j]);                      \
                s[(int64_t)c * lds + r] = t;                                                       \
            }                                                                                      \
    }                                                                                              \
    static void NAME(int64_t n, int nr, int nc, float *s, int64_t lds, const void *w, size_t ws,   \
                     const void *a, size_t as) {                                                   \
        const char *w8 = w, *a8 = a;                                                               \
        int i = 0;                                                                                 \
        for (; i + 4 <= nr; i += 4) {                                                              \
            int j = 0;                                                                             \
            for (; j + 2 <= nc; j += 2) NAME##_rc(4, 2, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
            for (; j < nc; j++) NAME##_rc(4, 1, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
        }                                                                                          \
        for (; i < nr; i++) {                                                                      \
            int j = 0;                                                                             \
            for (; j + 2 <= nc; j += 2) NAME##_rc(1, 2, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
            for (; j < nc; j++) NAME##_rc(1, 1, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
        }                                                                                          \
    }

FLOAT_TILE(tile_f32_avx2, float, _mm256_loadu_ps, F32ID)
FLOAT_TILE(tile_f16_avx2, cllm_fp16, load_f16, cllm_fp16_to_fp32)
FLOAT_TILE(tile_bf16_avx2, cllm_bf16, load_bf16, cllm_bf16_to_fp32)

static void from_f16_avx2(const float *x, void *vy, int64_t n) {
    cllm_fp16 *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        /* NaN: the scalar converter emits sign | 0x7E00 whatever the payload. */
        const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
        if (!_mm256_testz_ps(nan, nan)) {
            const __m128i sign = _mm_and_si128(h, _mm_set1_epi16((short)0x8000));
            const __m128i q = _mm_or_si128(sign, _mm_set1_epi16(0x7E00));
            const __m256i m32 = _mm256_castps_si256(nan);
            const __m128i m16 = _mm_packs_epi32(_mm256_castsi256_si128(m32), _mm256_extracti128_si256(m32, 1));
            h = _mm_blendv_epi8(h, q, m16);
        }
        _mm_storeu_si128((__m128i *)(y + i), h);
    }
    for (; i < n; i++) y[i] = cllm_fp32_to_fp16(x[i]);
}

static void from_bf16_avx2(const float *x, void *vy, int64_t n) {
    cllm_bf16 *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i));
        /* round to nearest even on the dropped 16 bits; NaN -> quiet NaN */
        const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
        const __m256i absu = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
        const __m256i isnan = _mm256_cmpgt_epi32(absu, _mm256_set1_epi32(0x7f800000));
        const __m256i qn = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
        r = _mm256_blendv_epi8(r, qn, isnan);
        /* pack 8 x u32 (all < 65536) to 8 x u16 */
        const __m128i p = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storeu_si128((__m128i *)(y + i), p);
    }
    for (; i < n; i++) y[i] = cllm_fp32_to_bf16(x[i]);
}

/* roundf (ties away from zero) of 8 floats, exactly: trunc, then add +-1
 * where the dropped fraction is >= 0.5 in magnitude. */
static inline __m256 roundf8(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_sub_ps(v, t);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 big = _mm256_cmp_ps(_mm256_and_ps(frac, absmask), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_andnot_ps(absmask, v));
    return _mm256_add_ps(t, _mm256_and_ps(big, one));
}

static inline float amax32(const float *x) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x), absmask),
                             _mm256_and_ps(_mm256_loadu_ps(x + 8), absmask));
    m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 16), absmask));
    m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 24), absmask));
    __m128 r = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    r = _mm_max_ps(r, _mm_movehl_ps(r, r));
    r = _mm_max_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/* Quantize 32 floats with multiplier id (roundf) into q; returns sum(q). */
static inline int quant32(const float *x, float id, int8_t *q) {
    const __m256 m = _mm256_set1_ps(id);
    __m256i v[4];
    for (int k = 0; k < 4; k++) v[k] = _mm256_cvtps_epi32(roundf8(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), m)));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(v[0], v[1]), _mm256_add_epi32(v[2], v[3]));
    /* pack 32 int32 -> 32 int8 in order (packs interleave 128-bit lanes) */
    __m256i p16a = _mm256_packs_epi32(v[0], v[1]);
    __m256i p16b = _mm256_packs_epi32(v[2], v[3]);
    __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p8);
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    return _mm_cvtsi128_si32(t);
}

static void from_q8_0_avx2(const float *x, void *vy, int64_t n) {
    cllm_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++) {
        const float amax = amax32(x + b * QK8_0);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = cllm_fp32_to_fp16(d);
        (void)quant32(x + b * QK8_0, id, y[b].qs);
    }
}

static void from_q8_1_avx2(const float *x, void *vy, int64_t n) {
    cllm_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK8_1; b++) {
        const float amax = amax32(x + b * QK8_1);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = cllm_fp32_to_fp16(d);
        const int sum = quant32(x + b * QK8_1, id, y[b].qs);
        y[b].s = cllm_fp32_to_fp16((float)sum * d);
    }
}

static void from_q8_K_avx2(const float *x, void *vy, int64_t n) {
    cllm_block_q8_K *y = vy;
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float *xb = x + b * QK_K;
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < QK_K; k += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xb + k), absmask));
        __m128 r = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        r = _mm_max_ps(r, _mm_movehl_ps(r, r));
        r = _mm_max_ss(r, _mm_movehdup_ps(r));
        const float amax = _mm_cvtss_f32(r);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* the signed value of the first element with |x| == amax */
        float max = 0.0f;
        const __m256 va = _mm256_set1_ps(amax);
        for (int k = 0; k < QK_K; k += 8) {
            const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(xb + k), absmask), va, _CMP_EQ_OQ));
            if (mask) {
                max = xb[k + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        for (int k = 0; k < QK_K; k += 32) {
            __m256i v[4];
            for (int j = 0; j < 4; j++)
                v[j] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + k + 8 * j), vs)), lim);
            /* bsums of the two 16-element groups in this 32 */
            for (int g = 0; g < 2; g++) {
                __m256i t8 = _mm256_add_epi32(v[2 * g], v[2 * g + 1]);
                __m128i t = _mm_add_epi32(_mm256_castsi256_si128(t8), _mm256_extracti128_si256(t8, 1));
                t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
                t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
                y[b].bsums[k / 16 + g] = (int16_t)_mm_cvtsi128_si32(t);
            }
            __m256i p8 = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
            p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[b].qs + k), p8);
        }
        y[b].d = 1.0f / iscale;
    }
}

void cllm_cpu_avx2_fill_float(cllm_kernels *k) {
    k->type[CLLM_TYPE_F32].vec_dot = dot_f32_avx2;
    k->type[CLLM_TYPE_F16].vec_dot = dot_f16_avx2;
    k->type[CLLM_TYPE_BF16].vec_dot = dot_bf16_avx2;
    k->type[CLLM_TYPE_F32].vec_dot_tile = tile_f32_avx2;
    k->type[CLLM_TYPE_F16].vec_dot_tile = tile_f16_avx2;
    k->type[CLLM_TYPE_BF16].vec_dot_tile = tile_bf16_avx2;
    k->from_float[CLLM_TYPE_F16] = from_f16_avx2;
    k->from_float[CLLM_TYPE_BF16] = from_bf16_avx2;
    k->from_float[CLLM_TYPE_Q8_0] = from_q8_0_avx2;
    k->from_float[CLLM_TYPE_Q8_1] = from_q8_1_avx2;
    k->from_float[CLLM_TYPE_Q8_K] = from_q8_K_avx2;
}
