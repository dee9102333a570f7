/* dot512_q32.c: AVX-512 (F/BW/VNNI) dot products of the 32-element block
 * types: Q4_0, Q5_0, Q8_0, IQ4_NL x Q8_0 and Q4_1, Q5_1 x Q8_1.
 *
 * Two blocks per zmm: bytes 0-31 hold block b's 32 elements, bytes 32-63
 * block b+1's, as unsigned weights u = q + offset (offset 8 for Q4_0, 16 for
 * Q5_0, 128 for Q8_0/IQ4_NL, 0 for the _1 types), so one vpdpbusd per pair
 * gives sum(u * y) in 16 int32 lanes (8 per block), and a second one with the
 * constant offset removes offset * sum(y). The int32 lanes are converted and
 * multiplied by [d_b x8 | d_b+1 x8] into float accumulators; the only
 * horizontal sum is at the end. Main loop: 4 blocks, 2 accumulators. */
#include "cpu/avx512/avx512_impl.h"
#include "core/fp16.h"

#include <immintrin.h>
#include <string.h>

static inline float h2f(cllm_fp16 h) { return _cvtsh_ss(h); }

/* [s0 x8 | s1 x8] without AVX512DQ. */
static inline __m512 scale2(float s0, float s1) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(s0)),
                                               _mm256_castps_pd(_mm256_set1_ps(s1)), 1));
}

static inline __m512i load2x256(const void *p0, const void *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
                              _mm256_loadu_si256((const __m256i *)p1), 1);
}

/* Two blocks of 16 nibble bytes -> 64 bytes in element order, values 0..15:
 * [q0 q0 q1 q1] from broadcast loads, odd 128-bit lanes shifted by 4. */
static inline __m512i nib2(const uint8_t *q0, const uint8_t *q1) {
    const __m512i z = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q0))),
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q1)), 1);
    const __m512i v = _mm512_mask_blend_epi64(0xCC, z, _mm512_srli_epi16(z, 4));
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

/* Scales of a pair of blocks: [dx0*dy0 x8 | dx1*dy1 x8]. Every fp16 d is
 * the first field of its block (>= 18 bytes), so each is converted by a
 * vcvtph2ps straight from memory (8-byte load inside the block); one
 * unpack and one vpermps spread the two products. */
static inline __m512 pair_scale(const void *x0, size_t xstride, const void *y0) {
    const uint8_t *xb = x0, *yb = y0;
    const __m128 dx0 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)xb));
    const __m128 dx1 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(xb + xstride)));
    const __m128 dy0 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)yb));
    const __m128 dy1 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(yb + sizeof(cllm_block_q8_0))));
    const __m128 s01 = _mm_unpacklo_ps(_mm_mul_ss(dx0, dy0), _mm_mul_ss(dx1, dy1));
    const __m512i idx = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(1), 1);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(s01));
}

static inline float hsum512(__m512 v) { return _mm512_reduce_add_ps(v); }

/* One pair: returns the int32 lanes sum(u*y) - off*sum(y). */
static inline __m512i pair_dot(__m512i u, __m512i y, __m512i off) {
    const __m512i z = _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_dpbusd_epi32(z, u, y), _mm512_dpbusd_epi32(z, off, y));
}

/* The offset-free variant for Q4_1/Q5_1. */
static inline __m512i pair_dot0(__m512i u, __m512i y) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, y);
}

/* Single-block tail, 256-bit, same math. */
static inline __m256i one_dot(__m256i u, __m256i y, __m256i off) {
    const __m256i z = _mm256_setzero_si256();
    return _mm256_sub_epi32(_mm256_dpbusd_epi32(z, u, y), _mm256_dpbusd_epi32(z, off, y));
}
static inline __m256i nib1(const uint8_t *q) {
    const __m128i v = _mm_loadu_si128((const __m128i *)q);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}
static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Q5 fifth bits of blocks b (low 32) and b+1 (high 32) as a byte mask. */
static inline __mmask64 q5_mask2(const uint8_t *qh0, const uint8_t *qh1) {
    uint32_t a, b;
    memcpy(&a, qh0, 4);
    memcpy(&b, qh1, 4);
    return (__mmask64)a | ((__mmask64)b << 32);
}

/* The loop shared by the four offset types. UNPACK2(b) yields the zmm of
 * unsigned weights of blocks b, b+1; UNPACK1(b) the ymm of block b. */
#define Q32_DOT(NAME, WT, OFF, UNPACK2, UNPACK1)                                        \
    static void NAME(int64_t n, float *s, const void *w, const void *a) {               \
        const WT *x = w;                                                                \
        const cllm_block_q8_0 *y = a;                                                   \
        const int64_t nb = n / 32;                                                      \
        const __m512i off = _mm512_set1_epi8((char)(OFF));                              \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                 \
        int64_t b = 0;                                                                  \
        for (; b + 3 < nb; b += 4) {                                                    \
            const __m512i i0 = pair_dot(UNPACK2(b), load2x256(y[b].qs, y[b + 1].qs), off); \
            const __m512i i1 = pair_dot(UNPACK2(b + 2), load2x256(y[b + 2].qs, y[b + 3].qs), off); \
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), pair_scale(&x[b], sizeof(WT), &y[b]), acc0); \
            acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), pair_scale(&x[b + 2], sizeof(WT), &y[b + 2]), acc1); \
        }                                                                               \
        for (; b + 1 < nb; b += 2) {                                                    \
            const __m512i i0 = pair_dot(UNPACK2(b), load2x256(y[b].qs, y[b + 1].qs), off); \
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), pair_scale(&x[b], sizeof(WT), &y[b]), acc0); \
        }                                                                               \
        float r = hsum512(_mm512_add_ps(acc0, acc1));                                   \
        if (b < nb) {                                                                   \
            const __m256i i0 = one_dot(UNPACK1(b), _mm256_loadu_si256((const __m256i *)y[b].qs), \
                                       _mm256_set1_epi8((char)(OFF)));                  \
            r += hsum256(_mm256_mul_ps(_mm256_cvtepi32_ps(i0), _mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)))); \
        }                                                                               \
        *s = r;                                                                         \
    }

#define Q4_0_U2(b) nib2(x[b].qs, x[(b) + 1].qs)
#define Q4_0_U1(b) nib1(x[b].qs)
Q32_DOT(dot_q4_0_avx512, cllm_block_q4_0, 8, Q4_0_U2, Q4_0_U1)

#define Q5_0_U2(b) _mm512_mask_add_epi8(nib2(x[b].qs, x[(b) + 1].qs), q5_mask2(x[b].qh, x[(b) + 1].qh), \
                                        nib2(x[b].qs, x[(b) + 1].qs), _mm512_set1_epi8(16))
static inline __m256i q5_u1(const cllm_block_q5_0 *x) {
    uint32_t qh;
    memcpy(&qh, x->qh, 4);
    const __m256i u = nib1(x->qs);
    return _mm256_mask_add_epi8(u, (__mmask32)qh, u, _mm256_set1_epi8(16));
}
#define Q5_0_U1(b) q5_u1(&x[b])
Q32_DOT(dot_q5_0_avx512, cllm_block_q5_0, 16, Q5_0_U2, Q5_0_U1)

#define Q8_0_U2(b) _mm512_xor_si512(load2x256(x[b].qs, x[(b) + 1].qs), _mm512_set1_epi8((char)0x80))
#define Q8_0_U1(b) _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)x[b].qs), _mm256_set1_epi8((char)0x80))
Q32_DOT(dot_q8_0_avx512, cllm_block_q8_0, 128, Q8_0_U2, Q8_0_U1)

/* IQ4_NL: look the nibbles up in the level table shifted by +128. */
static inline __m512i iq4_table512(void) {
    int8_t t[16];
    for (int i = 0; i < 16; i++) t[i] = (int8_t)(cllm_kvalues_iq4nl[i] + 128);
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t));
}
#define IQ4_U2(b) _mm512_shuffle_epi8(iq4_table512(), nib2(x[b].qs, x[(b) + 1].qs))
#define IQ4_U1(b) _mm256_shuffle_epi8(_mm512_castsi512_si256(iq4_table512()), nib1(x[b].qs))
Q32_DOT(dot_iq4_nl_avx512, cllm_block_iq4_nl, 128, IQ4_U2, IQ4_U1)

/* Q4_1 / Q5_1: x = d*q + m against Q8_1 (s = d_y * sum(y)): sum = d_x d_y
 * sum(q*y) + m_x s_y. The two fp16 pairs (d, m) and (d, s) are adjacent, so
 * one F16C conversion each gives [d_x, m_x] and [d_y, s_y]. */
static inline __m128 dm_pair(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)v));
}

#define Q32_1_DOT(NAME, WT, UNPACK2, UNPACK1)                                           \
    static void NAME(int64_t n, float *s, const void *w, const void *a) {               \
        const WT *x = w;                                                                \
        const cllm_block_q8_1 *y = a;                                                   \
        const int64_t nb = n / 32;                                                      \
        __m512 acc0 = _mm512_setzero_ps();                                              \
        __m128 accm0 = _mm_setzero_ps(), accm1 = _mm_setzero_ps();                      \
        int64_t b = 0;                                                                  \
        for (; b + 1 < nb; b += 2) {                                                    \
            const __m512i i0 = pair_dot0(UNPACK2(b), load2x256(y[b].qs, y[b + 1].qs));  \
            const __m128 p0 = _mm_mul_ps(dm_pair(&x[b]), dm_pair(&y[b]));               \
            const __m128 p1 = _mm_mul_ps(dm_pair(&x[b + 1]), dm_pair(&y[b + 1]));       \
            accm0 = _mm_add_ps(accm0, p0);                                              \
            accm1 = _mm_add_ps(accm1, p1);                                              \
            acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), scale2(_mm_cvtss_f32(p0), _mm_cvtss_f32(p1)), acc0); \
        }                                                                               \
        const __m128 m = _mm_add_ps(accm0, accm1);                                      \
        float r = hsum512(acc0) + _mm_cvtss_f32(_mm_movehdup_ps(m));                    \
        if (b < nb) {                                                                   \
            const __m256i i0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), UNPACK1(b),  \
                                                   _mm256_loadu_si256((const __m256i *)y[b].qs)); \
            const __m128 p0 = _mm_mul_ps(dm_pair(&x[b]), dm_pair(&y[b]));               \
            r += hsum256(_mm256_mul_ps(_mm256_cvtepi32_ps(i0), _mm256_set1_ps(_mm_cvtss_f32(p0)))); \
            r += _mm_cvtss_f32(_mm_movehdup_ps(p0));                                    \
        }                                                                               \
        *s = r;                                                                         \
    }

Q32_1_DOT(dot_q4_1_avx512, cllm_block_q4_1, Q4_0_U2, Q4_0_U1)
static inline __m256i q5_1_u1(const cllm_block_q5_1 *x) {
    uint32_t qh;
    memcpy(&qh, x->qh, 4);
    const __m256i u = nib1(x->qs);
    return _mm256_mask_add_epi8(u, (__mmask32)qh, u, _mm256_set1_epi8(16));
}
#define Q5_1_U1(b) q5_1_u1(&x[b])
Q32_1_DOT(dot_q5_1_avx512, cllm_block_q5_1, Q5_0_U2, Q5_1_U1)

/* Q4_0, Q5_0 and Q8_0 keep the VNNI-256 kernels in the table: on the
 * Sapphire Rapids test machine those measured 5-30% faster than these zmm
 * ones (512-bit shuffles all go to port 5 there); Q4_1/Q5_1/IQ4_NL zmm win. */
void cllm_cpu_avx512_fill_q32(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_1].vec_dot = dot_q4_1_avx512;
    k->type[CLLM_TYPE_Q5_1].vec_dot = dot_q5_1_avx512;
    k->type[CLLM_TYPE_IQ4_NL].vec_dot = dot_iq4_nl_avx512;
}

void cllm_cpu_avx512_fill_q32_zmm_alt(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_0].vec_dot = dot_q4_0_avx512;
    k->type[CLLM_TYPE_Q5_0].vec_dot = dot_q5_0_avx512;
    k->type[CLLM_TYPE_Q8_0].vec_dot = dot_q8_0_avx512;
}
