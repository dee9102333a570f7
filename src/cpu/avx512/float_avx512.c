/* float_avx512.c: AVX-512 F32 / F16 / BF16 dot products (4 independent
 * 16-lane FMA chains, one horizontal sum at the end) and 4x4 tiles. (from_float stays the
 * AVX2 version: it runs once per activation row, not per weight row.) */
#include "cpu/avx512/avx512_impl.h"
#include "core/fp16.h"

#include <immintrin.h>

static inline __m512 ld_f32(const float *p) { return _mm512_loadu_ps(p); }
static inline __m512 ld_f16(const cllm_fp16 *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline __m512 ld_bf16(const cllm_bf16 *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

#define FLOAT_DOT512(NAME, T, LOAD, TOF)                                                 \
    static void NAME(int64_t n, float *s, const void *w, const void *a) {                \
        const T *x = w, *y = a;                                                          \
        __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                      \
        int64_t i = 0;                                                                   \
        for (; i + 64 <= n; i += 64) {                                                   \
            c0 = _mm512_fmadd_ps(LOAD(x + i), LOAD(y + i), c0);                          \
            c1 = _mm512_fmadd_ps(LOAD(x + i + 16), LOAD(y + i + 16), c1);                \
            c2 = _mm512_fmadd_ps(LOAD(x + i + 32), LOAD(y + i + 32), c2);                \
            c3 = _mm512_fmadd_ps(LOAD(x + i + 48), LOAD(y + i + 48), c3);                \
        }                                                                                \
        for (; i + 16 <= n; i += 16) c0 = _mm512_fmadd_ps(LOAD(x + i), LOAD(y + i), c0); \
        float r = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3))); \
        for (; i < n; i++) r += TOF(x[i]) * TOF(y[i]);                                   \
        *s = r;                                                                          \
    }

#define F32ID(v) (v)
FLOAT_DOT512(dot_f32_avx512, float, ld_f32, F32ID)
FLOAT_DOT512(dot_f16_avx512, cllm_fp16, ld_f16, cllm_fp16_to_fp32)
FLOAT_DOT512(dot_bf16_avx512, cllm_bf16, ld_bf16, cllm_bf16_to_fp32)

/* Tiles: R weight rows x C activation rows, 16 elements per step, R*C zmm
 * accumulators (4x4 = 16 of the 32 zmm registers); each loaded vector is
 * used C (or R) times. */
#define FLOAT_TILE512(NAME, T, LOAD, TOF)                                                          \
    static inline __attribute__((always_inline)) void NAME##_rc(const int R, const int C, int64_t n,  \
                                                                const char *w, size_t ws,           \
                                                                const char *a, size_t as, float *s, \
                                                                int64_t lds) {                      \
        __m512 acc[4][4];                                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                        \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();   \
        int64_t i = 0;                                                                             \
        for (; i + 16 <= n; i += 16) {                                                             \
            __m512 A[4];                                                                           \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) A[c] = LOAD((const T *)(a + c * as) + i); \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                  \
                const __m512 W = LOAD((const T *)(w + r * ws) + i);                                 \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(W, A[c], acc[r][c]); \
            }                                                                                      \
        }                                                                                          \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                        \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) {                                  \
                float t = _mm512_reduce_add_ps(acc[r][c]);                                         \
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
            for (; j + 4 <= nc; j += 4) NAME##_rc(4, 4, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
            for (; j < nc; j++) NAME##_rc(4, 1, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
        }                                                                                          \
        for (; i < nr; i++) {                                                                      \
            int j = 0;                                                                             \
            for (; j + 4 <= nc; j += 4) NAME##_rc(1, 4, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
            for (; j < nc; j++) NAME##_rc(1, 1, n, w8 + i * ws, ws, a8 + j * as, as, s + (int64_t)j * lds + i, lds); \
        }                                                                                          \
    }

FLOAT_TILE512(tile_f32_avx512, float, ld_f32, F32ID)
FLOAT_TILE512(tile_f16_avx512, cllm_fp16, ld_f16, cllm_fp16_to_fp32)
FLOAT_TILE512(tile_bf16_avx512, cllm_bf16, ld_bf16, cllm_bf16_to_fp32)

void cllm_cpu_avx512_fill_float(cllm_kernels *k, const cllm_cpu_features *f) {
    k->type[CLLM_TYPE_F32].vec_dot_tile = tile_f32_avx512;
    k->type[CLLM_TYPE_F16].vec_dot_tile = tile_f16_avx512;
    k->type[CLLM_TYPE_BF16].vec_dot_tile = tile_bf16_avx512;
    (void)f;
    k->type[CLLM_TYPE_F32].vec_dot = dot_f32_avx512;
    k->type[CLLM_TYPE_F16].vec_dot = dot_f16_avx512;
    k->type[CLLM_TYPE_BF16].vec_dot = dot_bf16_avx512;
}
