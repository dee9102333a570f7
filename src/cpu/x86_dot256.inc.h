/* x86_dot256.inc.h: 256-bit integer dot-product kernels for every quantized
 * type, written once and compiled twice:
 *   - avx2/dot_avx2.c   with X86_VNNI 0: u8*s8 sums via vpmaddubsw + vpmaddwd,
 *   - avx512/dot_vnni256.c with X86_VNNI 1: vpdpbusd / vpdpwssd on ymm
 *     (AVX512_VNNI + AVX512VL), used where no zmm kernel exists.
 * The includer defines X86_VNNI and X86_FN(name) (the suffix), includes
 * <immintrin.h>, and gets static functions X86_FN(dot_<type>).
 *
 * Shapes: a 32-element block is one ymm of int8 (activation) against one ymm
 * of unpacked weights. Integer sums stay exact (vpmaddubsw never saturates
 * here: |u| <= 127 or u <= 63 against |y| <= 127); floats are accumulated in
 * vector registers and reduced once at the end, so results differ from the
 * scalar reference only by summation order. */
#ifndef X86_FN
#error "define X86_FN and X86_VNNI before including x86_dot256.inc.h"
#endif

#include "core/fp16.h"
#include "quant/blocks.h"

#include <string.h>

/* ---------------------------------------------------------------- helpers */

/* acc += per-4-byte sums of u8 u times s8 s (8 int32 lanes). */
static inline __m256i X86_FN(bus)(__m256i acc, __m256i u, __m256i s) {
#if X86_VNNI
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

/* acc += pairwise int16 products a*b (8 int32 lanes). */
static inline __m256i X86_FN(wss)(__m256i acc, __m256i a, __m256i b) {
#if X86_VNNI
    return _mm256_dpwssd_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

/* int16 pair sums of s8 w times s8 y (w != -128 or y small enough). */
static inline __m256i X86_FN(pairs_s8)(__m256i w, __m256i y) {
    return _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(y, w));
}

static inline float X86_FN(hsum_ps)(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float X86_FN(h2f)(cllm_fp16 h) { return _cvtsh_ss(h); }

/* d_x * d_y broadcast, for 32-blocks whose fp16 d is their first field: the
 * 8-byte loads stay inside the blocks (>= 18 bytes) and let vcvtph2ps read
 * memory directly. */
static inline __m256 X86_FN(dd)(const void *xblk, const void *yblk) {
    const __m128 a = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)xblk));
    const __m128 b = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)yblk));
    return _mm256_broadcastss_ps(_mm_mul_ss(a, b));
}

/* 16 packed nibble bytes -> 32 bytes: low nibbles first, then high. The
 * broadcast load and the 64-bit variable shift keep this off the shuffle
 * port. */
static inline __m256i X86_FN(nibbles)(const uint8_t *p) {
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    return _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(0x0F));
}

/* The 32 fifth bits of a Q5 block as bytes 0x10 (set) or 0x00. */
static inline __m256i X86_FN(q5_high)(const uint8_t qh4[4]) {
    uint32_t qh;
    memcpy(&qh, qh4, 4);
    const __m256i sel = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                          0x0101010101010101LL, 0x0000000000000000LL);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), sel);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    b = _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x10));
}

/* ---------------------------------------------------------- 32-blocks */

static void X86_FN(dot_q4_0)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    const __m256i k8 = _mm256_set1_epi8(8);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i y1 = _mm256_loadu_si256((const __m256i *)y[b + 1].qs);
        const __m256i z = _mm256_setzero_si256();
        __m256i i0 = X86_FN(bus)(z, X86_FN(nibbles)(x[b].qs), y0);
        __m256i i1 = X86_FN(bus)(z, X86_FN(nibbles)(x[b + 1].qs), y1);
        i0 = _mm256_sub_epi32(i0, X86_FN(bus)(z, k8, y0));
        i1 = _mm256_sub_epi32(i1, X86_FN(bus)(z, k8, y1));
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1),
                               X86_FN(dd)(&x[b + 1], &y[b + 1]), acc1);
    }
    for (; b < nb; b++) {
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i z = _mm256_setzero_si256();
        __m256i i0 = X86_FN(bus)(z, X86_FN(nibbles)(x[b].qs), y0);
        i0 = _mm256_sub_epi32(i0, X86_FN(bus)(z, k8, y0));
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc0);
    }
    *s = X86_FN(hsum_ps)(_mm256_add_ps(acc0, acc1));
}

static void X86_FN(dot_q4_1)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_1 *x = w;
    const cllm_block_q8_1 *y = a;
    const int64_t nb = n / QK8_1;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i i0 = X86_FN(bus)(_mm256_setzero_si256(), X86_FN(nibbles)(x[b].qs), y0);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc);
        summs += X86_FN(h2f)(x[b].m) * X86_FN(h2f)(y[b].s);
    }
    *s = X86_FN(hsum_ps)(acc) + summs;
}

static void X86_FN(dot_q5_0)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q5_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    const __m256i k16 = _mm256_set1_epi8(16);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i u = _mm256_or_si256(X86_FN(nibbles)(x[b].qs), X86_FN(q5_high)(x[b].qh));
        const __m256i z = _mm256_setzero_si256();
        const __m256i i0 = _mm256_sub_epi32(X86_FN(bus)(z, u, y0), X86_FN(bus)(z, k16, y0));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc);
    }
    *s = X86_FN(hsum_ps)(acc);
}

static void X86_FN(dot_q5_1)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q5_1 *x = w;
    const cllm_block_q8_1 *y = a;
    const int64_t nb = n / QK8_1;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i u = _mm256_or_si256(X86_FN(nibbles)(x[b].qs), X86_FN(q5_high)(x[b].qh));
        const __m256i i0 = X86_FN(bus)(_mm256_setzero_si256(), u, y0);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc);
        summs += X86_FN(h2f)(x[b].m) * X86_FN(h2f)(y[b].s);
    }
    *s = X86_FN(hsum_ps)(acc) + summs;
}

static void X86_FN(dot_q8_0)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q8_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const __m256i one = _mm256_set1_epi16(1);
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)x[b].qs);
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)x[b + 1].qs);
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i y1 = _mm256_loadu_si256((const __m256i *)y[b + 1].qs);
        const __m256i i0 = X86_FN(wss)(_mm256_setzero_si256(), X86_FN(pairs_s8)(w0, y0), one);
        const __m256i i1 = X86_FN(wss)(_mm256_setzero_si256(), X86_FN(pairs_s8)(w1, y1), one);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1),
                               X86_FN(dd)(&x[b + 1], &y[b + 1]), acc1);
    }
    for (; b < nb; b++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)x[b].qs);
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i i0 = X86_FN(wss)(_mm256_setzero_si256(), X86_FN(pairs_s8)(w0, y0), one);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc0);
    }
    *s = X86_FN(hsum_ps)(_mm256_add_ps(acc0, acc1));
}

static inline __m256i X86_FN(iq4_lookup32)(const uint8_t *qs) {
    const __m128i kv = _mm_loadu_si128((const __m128i *)cllm_kvalues_iq4nl);
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_shuffle_epi8(kv, _mm_and_si128(q, m));
    const __m128i hi = _mm_shuffle_epi8(kv, _mm_and_si128(_mm_srli_epi16(q, 4), m));
    return _mm256_set_m128i(hi, lo);
}

static void X86_FN(dot_iq4_nl)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_iq4_nl *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK4_NL;
    const __m256i one = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m256i w0 = X86_FN(iq4_lookup32)(x[b].qs);
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[b].qs);
        const __m256i i0 = X86_FN(wss)(_mm256_setzero_si256(), X86_FN(pairs_s8)(w0, y0), one);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), X86_FN(dd)(&x[b], &y[b]), acc);
    }
    *s = X86_FN(hsum_ps)(acc);
}

/* ---------------------------------------------------------- K-quants */

/* From 16 int8 scales (one per 16 elements): [sc[g] x8 | sc[g+1] x8] as
 * int16, the lanes of a 32-element chunk's vpmaddubsw output. */
static inline __m256i X86_FN(sc_pair)(__m128i sc8, int g) {
    const __m128i idx = _mm_set_epi64x((long long)(0x0101010101010101ULL * (uint64_t)(g + 1)),
                                       (long long)(0x0101010101010101ULL * (uint64_t)g));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
}

/* sum over g of bsums[g] * sc16[g] as 8 int32 lanes. */
static inline __m256i X86_FN(bsum_dot)(const int16_t bsums[16], __m256i sc16) {
    return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), sc16);
}

static inline int X86_FN(hsum_epi32)(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

static void X86_FN(dot_q2_K)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q2_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m128i scv = _mm_loadu_si128((const __m128i *)x[b].scales);
        const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_srli_epi16(_mm_andnot_si128(_mm_set1_epi8(0x0F), scv), 4));
        const __m256i msum = X86_FN(bsum_dot)(y[b].bsums, mins16);
        const __m128i sclo = _mm_and_si128(scv, _mm_set1_epi8(0x0F));
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * h));
            for (int p = 0; p < 4; p++) {
                const int g = 8 * h + 2 * p;
                const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * p), m3);
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[b].qs + 16 * g));
                isum = X86_FN(wss)(isum, _mm256_maddubs_epi16(u, yv), X86_FN(sc_pair)(sclo, g));
            }
        }
        const float dall = y[b].d * X86_FN(h2f)(x[b].d);
        const float dmin = y[b].d * X86_FN(h2f)(x[b].dmin);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(dall), acc);
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin), accm);
    }
    *s = X86_FN(hsum_ps)(_mm256_sub_ps(acc, accm));
}

static void X86_FN(dot_q3_K)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q3_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        uint64_t lo8, hi8;
        cllm_cpu_unpack_q3k_scales128(x[b].scales, &lo8, &hi8);
        const __m128i sc8 = _mm_sub_epi8(_mm_set_epi64x((long long)hi8, (long long)lo8), _mm_set1_epi8(32));
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        /* value = u - 4 with u = 2 low bits | 4 * high bit: subtract 4 * sum(sc * bsums). */
        const __m256i off = _mm256_slli_epi32(X86_FN(bsum_dot)(y[b].bsums, sc16), 2);
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x[b].hmask);
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * h));
            for (int p = 0; p < 4; p++) {
                const int g = 8 * h + 2 * p;
                const __m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + p)));
                const __m256i hb = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit),
                                                    _mm256_set1_epi8(4));
                const __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * p), m3), hb);
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[b].qs + 16 * g));
                isum = X86_FN(wss)(isum, _mm256_maddubs_epi16(u, yv), X86_FN(sc_pair)(sc8, g));
            }
        }
        isum = _mm256_sub_epi32(isum, off);
        const float d = X86_FN(h2f)(x[b].d) * y[b].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
    }
    *s = X86_FN(hsum_ps)(acc);
}

/* Shared by Q4_K and Q5_K: the min term sum(bsums[g] * mins[g/2]) as 8
 * int32 lanes, and the 8 scales as int16 in both 128-bit halves. */
static inline __m256i X86_FN(k4_prep)(const uint8_t q[12], const int16_t bsums[16], __m256i *scales) {
    uint64_t sc8, mn8;
    cllm_cpu_unpack_k4_scales64(q, &sc8, &mn8);
    const __m128i mn16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
    const __m256i mins = _mm256_set_m128i(_mm_unpackhi_epi16(mn16, mn16), _mm_unpacklo_epi16(mn16, mn16));
    *scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    return X86_FN(bsum_dot)(bsums, mins);
}

/* Broadcast int16 lane j of v (both halves hold the same 8 lanes). */
static inline __m256i X86_FN(bcast16)(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(((2 * j + 1) << 8) | (2 * j))));
}

static void X86_FN(dot_q4_K)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i scv;
        const __m256i msum = X86_FN(k4_prep)(x[b].scales, y[b].bsums, &scv);
        __m256i isum = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * j));
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i ylo = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * j));
            const __m256i yhi = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * j + 32));
            isum = X86_FN(wss)(isum, _mm256_maddubs_epi16(lo, ylo), X86_FN(bcast16)(scv, 2 * j));
            isum = X86_FN(wss)(isum, _mm256_maddubs_epi16(hi, yhi), X86_FN(bcast16)(scv, 2 * j + 1));
        }
        const float d = X86_FN(h2f)(x[b].d) * y[b].d;
        const float dmin = X86_FN(h2f)(x[b].dmin) * y[b].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin), accm);
    }
    *s = X86_FN(hsum_ps)(_mm256_sub_ps(acc, accm));
}

static void X86_FN(dot_q5_K)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q5_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i k16 = _mm256_set1_epi8(16);
    __m256 acc = _mm256_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i scv;
        const __m256i msum = X86_FN(k4_prep)(x[b].scales, y[b].bsums, &scv);
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x[b].qh);
        __m256i isum = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * j));
            const __m256i blo = _mm256_set1_epi8((char)(1 << (2 * j)));
            const __m256i bhi = _mm256_set1_epi8((char)(1 << (2 * j + 1)));
            const __m256i hlo = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, blo), blo), k16);
            const __m256i hhi = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bhi), bhi), k16);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), hlo);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), hhi);
            const __m256i ylo = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * j));
            const __m256i yhi = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * j + 32));
            isum = X86_FN(wss)(isum, _mm256_maddubs_epi16(lo, ylo), X86_FN(bcast16)(scv, 2 * j));
            isum = X86_FN(wss)(isum, _mm256_maddubs_epi16(hi, yhi), X86_FN(bcast16)(scv, 2 * j + 1));
        }
        const float d = X86_FN(h2f)(x[b].d) * y[b].d;
        const float dmin = X86_FN(h2f)(x[b].dmin) * y[b].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin), accm);
    }
    *s = X86_FN(hsum_ps)(_mm256_sub_ps(acc, accm));
}

static void X86_FN(dot_q6_K)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q6_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[b].scales);
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        /* value = u - 32: subtract 32 * sum(sc * bsums). */
        const __m256i off = _mm256_slli_epi32(X86_FN(bsum_dot)(y[b].bsums, sc16), 5);
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i q0 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h));
            const __m256i q1 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h));
            const __m256i u[4] = {
                _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4)),
                _mm256_or_si256(_mm256_and_si256(q1, m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4)),
            };
            for (int p = 0; p < 4; p++) {
                const int g = 8 * h + 2 * p;
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[b].qs + 16 * g));
                isum = X86_FN(wss)(isum, _mm256_maddubs_epi16(u[p], yv), X86_FN(sc_pair)(sc8, g));
            }
        }
        isum = _mm256_sub_epi32(isum, off);
        const float d = X86_FN(h2f)(x[b].d) * y[b].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
    }
    *s = X86_FN(hsum_ps)(acc);
}

static void X86_FN(dot_iq4_xs)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_iq4_xs *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i isum = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            const int ls = ((x[b].scales_l[ib / 2] >> (4 * (ib & 1))) & 0x0F) |
                           (((x[b].scales_h >> (2 * ib)) & 3) << 4);
            const __m256i wv = X86_FN(iq4_lookup32)(x[b].qs + 16 * ib);
            const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[b].qs + 32 * ib));
            isum = X86_FN(wss)(isum, X86_FN(pairs_s8)(wv, yv), _mm256_set1_epi16((short)(ls - 32)));
        }
        const float d = X86_FN(h2f)(x[b].d) * y[b].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
    }
    *s = X86_FN(hsum_ps)(acc);
}

/* Override the quantized slots of k with this file's kernels. */
static void X86_FN(fill_quant)(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_0].vec_dot = X86_FN(dot_q4_0);
    k->type[CLLM_TYPE_Q4_1].vec_dot = X86_FN(dot_q4_1);
    k->type[CLLM_TYPE_Q5_0].vec_dot = X86_FN(dot_q5_0);
    k->type[CLLM_TYPE_Q5_1].vec_dot = X86_FN(dot_q5_1);
    k->type[CLLM_TYPE_Q8_0].vec_dot = X86_FN(dot_q8_0);
    k->type[CLLM_TYPE_IQ4_NL].vec_dot = X86_FN(dot_iq4_nl);
    k->type[CLLM_TYPE_Q2_K].vec_dot = X86_FN(dot_q2_K);
    k->type[CLLM_TYPE_Q3_K].vec_dot = X86_FN(dot_q3_K);
    k->type[CLLM_TYPE_Q4_K].vec_dot = X86_FN(dot_q4_K);
    k->type[CLLM_TYPE_Q5_K].vec_dot = X86_FN(dot_q5_K);
    k->type[CLLM_TYPE_Q6_K].vec_dot = X86_FN(dot_q6_K);
    k->type[CLLM_TYPE_IQ4_XS].vec_dot = X86_FN(dot_iq4_xs);
}
