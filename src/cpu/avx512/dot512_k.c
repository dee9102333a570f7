/* dot512_k.c: AVX-512 (BW + VNNI) dot products of Q4_K and Q6_K against
 * Q8_K, a 256-element super-block per iteration in 4 zmm chunks of 64.
 *
 * Each chunk: unsigned weights u (Q4_K: 0..15, Q6_K: 0..63) times int8
 * activations with vpmaddubsw (int16 pairs, no saturation at these ranges),
 * then vpdpwssd with the per-lane int16 sub-block scales adds them into
 * int32 lanes. Two independent int32 chains per super-block; one float FMA
 * per super-block. Offsets (Q6_K's -32) and mins (Q4_K) come from Q8_K's
 * bsums. */
#include "cpu/avx512/avx512_impl.h"
#include "core/fp16.h"

#include <immintrin.h>
#include <string.h>

static inline float h2f(cllm_fp16 h) { return _cvtsh_ss(h); }

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Index vectors for vpermw: lane k of chunk c takes scale a(c,k). */
static inline __m512i idx_pair(int lo, int hi) { /* lanes 0-15: lo, 16-31: hi */
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)lo)), _mm256_set1_epi16((short)hi), 1);
}
static inline __m512i idx_quad(int base) { /* lanes 8g..8g+7: base + g */
    const __m128i a = _mm_set1_epi16((short)base), b = _mm_set1_epi16((short)(base + 1));
    const __m128i c = _mm_set1_epi16((short)(base + 2)), d = _mm_set1_epi16((short)(base + 3));
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(b, a)), _mm256_set_m128i(d, c), 1);
}

static void dot_q4_K_avx512(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    /* chunk order: (qs 0-63 low, high), (qs 64-127 low, high) cover sub-blocks
     * (0|2), (1|3), (4|6), (5|7) in their 256-bit halves. */
    const __m512i i0 = idx_pair(0, 2), i1 = idx_pair(1, 3), i2 = idx_pair(4, 6), i3 = idx_pair(5, 7);
    __m512 acc = _mm512_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        uint64_t sc8, mn8;
        cllm_cpu_unpack_k4_scales64(x[b].scales, &sc8, &mn8);
        /* mins per 16-element group: [m0 m0 m1 m1 ... m7 m7] as int16 */
        const __m128i mn16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
        const __m256i mins = _mm256_set_m128i(_mm_unpackhi_epi16(mn16, mn16), _mm_unpacklo_epi16(mn16, mn16));
        const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), mins);
        const __m512i scw = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
        const __m512i q0 = _mm512_loadu_si512(x[b].qs), q1 = _mm512_loadu_si512(x[b].qs + 64);
        const __m512i y0 = _mm512_loadu_si512(y[b].qs), y1 = _mm512_loadu_si512(y[b].qs + 64);
        const __m512i y2 = _mm512_loadu_si512(y[b].qs + 128), y3 = _mm512_loadu_si512(y[b].qs + 192);
        const __m512i yl0 = _mm512_shuffle_i64x2(y0, y1, 0x44), yh0 = _mm512_shuffle_i64x2(y0, y1, 0xEE);
        const __m512i yl1 = _mm512_shuffle_i64x2(y2, y3, 0x44), yh1 = _mm512_shuffle_i64x2(y2, y3, 0xEE);
        __m512i s0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(),
                                         _mm512_maddubs_epi16(_mm512_and_si512(q0, m4), yl0),
                                         _mm512_permutexvar_epi16(i0, scw));
        __m512i s1 = _mm512_dpwssd_epi32(_mm512_setzero_si512(),
                                         _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(q0, 4), m4), yh0),
                                         _mm512_permutexvar_epi16(i1, scw));
        s0 = _mm512_dpwssd_epi32(s0, _mm512_maddubs_epi16(_mm512_and_si512(q1, m4), yl1),
                                 _mm512_permutexvar_epi16(i2, scw));
        s1 = _mm512_dpwssd_epi32(s1, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(q1, 4), m4), yh1),
                                 _mm512_permutexvar_epi16(i3, scw));
        const float d = h2f(x[b].d) * y[b].d;
        const float dmin = h2f(x[b].dmin) * y[b].d;
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_set1_ps(d), acc);
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin), accm);
    }
    *s = _mm512_reduce_add_ps(acc) - hsum256(accm);
}

static void dot_q6_K_avx512(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q6_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i m3 = _mm512_set1_epi8(3);
    const __m512i i0 = idx_quad(0), i1 = idx_quad(4), i2 = idx_quad(8), i3 = idx_quad(12);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[b].scales));
        const __m512i scw = _mm512_castsi256_si512(sc16);
        /* value = u - 32: subtract 32 * sum(sc * bsums) */
        const __m256i off = _mm256_slli_epi32(
            _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), sc16), 5);
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            /* half h: ql[64h..] low nibbles are elements 0..63, high 64..127;
             * qh[32h..] bit pairs 0,1,2,3 belong to elements 0-31, 32-63, 64-95, 96-127. */
            const __m512i ql = _mm512_loadu_si512(x[b].ql + 64 * h);
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h));
            const __m512i hl = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            const __m512i hh = _mm512_srli_epi16(hl, 4);
            const __m512i ul = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                               _mm512_slli_epi16(_mm512_and_si512(hl, m3), 4));
            const __m512i uh = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                               _mm512_slli_epi16(_mm512_and_si512(hh, m3), 4));
            const __m512i yl = _mm512_loadu_si512(y[b].qs + 128 * h);
            const __m512i yh = _mm512_loadu_si512(y[b].qs + 128 * h + 64);
            s0 = _mm512_dpwssd_epi32(s0, _mm512_maddubs_epi16(ul, yl), _mm512_permutexvar_epi16(h ? i2 : i0, scw));
            s1 = _mm512_dpwssd_epi32(s1, _mm512_maddubs_epi16(uh, yh), _mm512_permutexvar_epi16(h ? i3 : i1, scw));
        }
        __m512i isum = _mm512_add_epi32(s0, s1);
        isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(off));
        const float d = h2f(x[b].d) * y[b].d;
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d), acc);
    }
    *s = _mm512_reduce_add_ps(acc);
}

/* Neither is in the main AVX-512 table: on the Sapphire Rapids test machine
 * the VNNI-256 kernels measured faster (Q4_K ~18 vs ~15 GB/s, Q6_K ~21 vs
 * ~20.5; 512-bit shuffles all go to port 5 there). They are the "avx512z"
 * alternate table's, for CPUs with full-width 512-bit units. */
void cllm_cpu_avx512_fill_k_zmm_alt(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_K].vec_dot = dot_q4_K_avx512;
    k->type[CLLM_TYPE_Q6_K].vec_dot = dot_q6_K_avx512;
}
