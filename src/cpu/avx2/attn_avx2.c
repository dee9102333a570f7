/* attn_avx2.c: AVX2/FMA/F16C attention tile kernels (cllm_attn_kernels in
 * cpu/kernels.h; scalar references in scalar/attn_ref.c). Same scheme as
 * avx512/attn_avx512.c on 8-lane vectors:
 *   - exp: x = n ln2 + r, exp(r) = 1 + r + r^2 P(r) (degree-5 P), times 2^n
 *     built in the exponent field; x < -87.3 (and -inf) give 0;
 *   - k_pack: 8 cells x 8 dims converted and transposed in registers;
 *   - qk: 4 rows x 16 cells of ymm accumulators (8 of the 16 registers);
 *   - softmax: lane masks from the visibility bits, max, exp, sum;
 *   - pv: 4 rows x 16 dims of accumulators, started from f[r] * acc. */
#include "cpu/avx2/avx2_impl.h"
#include "core/fp16.h"
#include "cpu/avx2/vexp256.h"

#include <immintrin.h>
#include <math.h>

#define AI static inline __attribute__((always_inline))

/* ---- exp: vexp256.h ---- */

static void exp_avx2(int n, const float *x, float *y) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp256(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0};
        for (int k = i; k < n; k++) t[k - i] = x[k];
        _mm256_storeu_ps(t, exp256(_mm256_loadu_ps(t)));
        for (int k = i; k < n; k++) y[k] = t[k - i];
    }
}

/* ---- K / V packing ---- */
/* 8 elements d0..d0+7 of a head slice of type T as floats (d0 % 8 == 0). */
AI __m256 load8(const cllm_type T, const char *slice, int d0) {
    if (T == CLLM_TYPE_F32) return _mm256_loadu_ps((const float *)slice + d0);
    if (T == CLLM_TYPE_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const cllm_fp16 *)slice + d0)));
    const cllm_block_q8_0 *b = (const cllm_block_q8_0 *)slice + d0 / QK8_0;
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + d0 % QK8_0))));
    return _mm256_mul_ps(q, _mm256_set1_ps(cllm_fp16_to_fp32(b->d)));
}

/* 8x8 transpose in registers (r[c] lane d -> r[d] lane c). */
AI void tr8(__m256 r[8]) {
    __m256 t[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        r[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        t[k] = _mm256_permute2f128_ps(r[k], r[4 + k], 0x20);
        t[k + 4] = _mm256_permute2f128_ps(r[k], r[4 + k], 0x31);
    }
    for (int k = 0; k < 8; k++) r[k] = t[k];
}

AI void k_pack_t(const cllm_type T, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *kt,
                 int ldk) {
    const int hd8 = hd / 8 * 8;
    const int ncp = (nc + CLLM_ATTN_CW - 1) / CLLM_ATTN_CW * CLLM_ATTN_CW;
    for (int jb = 0; jb < ncp; jb += 8) {
        const int cnt = nc - jb < 0 ? 0 : nc - jb < 8 ? nc - jb : 8;
        const char *sl[8];
        for (int c = 0; c < cnt; c++) sl[c] = base + (size_t)cid[jb + c] * rb;
        for (int d0 = 0; d0 < hd8; d0 += 8) {
            __m256 r[8];
            for (int c = 0; c < 8; c++) r[c] = c < cnt ? load8(T, sl[c], d0) : _mm256_setzero_ps();
            tr8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(kt + (size_t)(d0 + i) * ldk + jb, r[i]);
        }
        for (int d = hd8; d < hd; d++)   /* F32/F16 head dims not a multiple of 8 */
            for (int c = 0; c < 8; c++) kt[(size_t)d * ldk + jb + c] = c < cnt ? cllm_cpu_attn_elem(T, sl[c], d) : 0.0f;
    }
}

static void k_pack_avx2(cllm_type t, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *kt,
                        int ldk) {
    if (t == CLLM_TYPE_F16) k_pack_t(CLLM_TYPE_F16, hd, nc, base, rb, cid, kt, ldk);
    else if (t == CLLM_TYPE_Q8_0) k_pack_t(CLLM_TYPE_Q8_0, hd, nc, base, rb, cid, kt, ldk);
    else k_pack_t(CLLM_TYPE_F32, hd, nc, base, rb, cid, kt, ldk);
}

AI void v_pack_t(const cllm_type T, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *vc,
                 int ldv) {
    const int hd8 = hd / 8 * 8;
    const int hdp = (hd + CLLM_ATTN_CW - 1) / CLLM_ATTN_CW * CLLM_ATTN_CW;
    for (int j = 0; j < nc; j++) {
        const char *sl = base + (size_t)cid[j] * rb;
        float *o = vc + (size_t)j * ldv;
        for (int d0 = 0; d0 < hd8; d0 += 8) _mm256_storeu_ps(o + d0, load8(T, sl, d0));
        for (int d = hd8; d < hd; d++) o[d] = cllm_cpu_attn_elem(T, sl, d);
        for (int d = hd; d < hdp; d++) o[d] = 0.0f;
    }
}

static void v_pack_avx2(cllm_type t, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *vc,
                        int ldv) {
    if (t == CLLM_TYPE_F16) v_pack_t(CLLM_TYPE_F16, hd, nc, base, rb, cid, vc, ldv);
    else if (t == CLLM_TYPE_Q8_0) v_pack_t(CLLM_TYPE_Q8_0, hd, nc, base, rb, cid, vc, ldv);
    else v_pack_t(CLLM_TYPE_F32, hd, nc, base, rb, cid, vc, ldv);
}

/* ---- S = scale * Q K^T: blocks of R rows x 16 cells ---- */
AI void qk_blk(const int R, int hd, const float *q, int ldq, const float *kt, int ldk, float scale, float *s,
               int lds) {
    __m256 acc[4][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        const __m256 k0 = _mm256_loadu_ps(kt + (size_t)d * ldk), k1 = _mm256_loadu_ps(kt + (size_t)d * ldk + 8);
        for (int r = 0; r < R; r++) {
            const __m256 qb = _mm256_broadcast_ss(q + (size_t)r * ldq + d);
            acc[r][0] = _mm256_fmadd_ps(qb, k0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(qb, k1, acc[r][1]);
        }
    }
    const __m256 sc = _mm256_set1_ps(scale);
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(s + (size_t)r * lds, _mm256_mul_ps(acc[r][0], sc));
        _mm256_storeu_ps(s + (size_t)r * lds + 8, _mm256_mul_ps(acc[r][1], sc));
    }
}

static void qk_avx2(int hd, int nr, int ncp, const float *q, int ldq, const float *kt, int ldk, float scale, float *s,
                    int lds) {
    for (int j0 = 0; j0 < ncp; j0 += 16) {
        int r = 0;
        for (; r + 4 <= nr; r += 4) qk_blk(4, hd, q + (size_t)r * ldq, ldq, kt + j0, ldk, scale, s + (size_t)r * lds + j0, lds);
        switch (nr - r) {
        case 3: qk_blk(3, hd, q + (size_t)r * ldq, ldq, kt + j0, ldk, scale, s + (size_t)r * lds + j0, lds); break;
        case 2: qk_blk(2, hd, q + (size_t)r * ldq, ldq, kt + j0, ldk, scale, s + (size_t)r * lds + j0, lds); break;
        case 1: qk_blk(1, hd, q + (size_t)r * ldq, ldq, kt + j0, ldk, scale, s + (size_t)r * lds + j0, lds); break;
        default: break;
        }
    }
}

/* ---- online softmax row update ---- */
AI float hmax8(__m256 v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

AI float hsum8(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

AI float sm_row(int ncp, float *s, uint64_t vis, float *m, float *l) {
    const int nv = ncp / 8;
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256 x[8], mv = ninf;
    for (int v = 0; v < nv; v++) {
        const __m256i b = _mm256_and_si256(_mm256_set1_epi32((int)((vis >> (8 * v)) & 0xff)), bit);
        const __m256 on = _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, bit));
        x[v] = _mm256_blendv_ps(ninf, _mm256_loadu_ps(s + 8 * v), on);
        mv = _mm256_max_ps(mv, x[v]);
    }
    const float cm = hmax8(mv);
    if (cm == -INFINITY) {
        for (int v = 0; v < nv; v++) _mm256_storeu_ps(s + 8 * v, _mm256_setzero_ps());
        return 1.0f;
    }
    const float mn = cm > *m ? cm : *m;
    const float f = *m == -INFINITY ? 0.0f : mn == *m ? 1.0f : _mm256_cvtss_f32(exp256(_mm256_set1_ps(*m - mn)));
    const __m256 mb = _mm256_set1_ps(mn);
    __m256 sum = _mm256_setzero_ps();
    for (int v = 0; v < nv; v++) {
        const __m256 e = exp256(_mm256_sub_ps(x[v], mb));
        _mm256_storeu_ps(s + 8 * v, e);
        sum = _mm256_add_ps(sum, e);
    }
    *l = *l * f + hsum8(sum);
    *m = mn;
    return f;
}

static void softmax_avx2(int nr, int ncp, float *s, int lds, const uint64_t *vis, float *m, float *l, float *f) {
    for (int r = 0; r < nr; r++) f[r] = sm_row(ncp, s + (size_t)r * lds, vis[r], m + r, l + r);
}

/* ---- acc = f * acc + P V: blocks of R rows x 16 dims ---- */
AI void pv_blk(const int R, int nc, const float *p, int ldp, const float *vc, int ldv, const float *f, float *acc,
               int lda) {
    __m256 a[4][2];
    for (int r = 0; r < R; r++) {
        const __m256 fr = _mm256_broadcast_ss(f + r);
        a[r][0] = _mm256_mul_ps(_mm256_loadu_ps(acc + (size_t)r * lda), fr);
        a[r][1] = _mm256_mul_ps(_mm256_loadu_ps(acc + (size_t)r * lda + 8), fr);
    }
    for (int j = 0; j < nc; j++) {
        const __m256 v0 = _mm256_loadu_ps(vc + (size_t)j * ldv), v1 = _mm256_loadu_ps(vc + (size_t)j * ldv + 8);
        for (int r = 0; r < R; r++) {
            const __m256 pb = _mm256_broadcast_ss(p + (size_t)r * ldp + j);
            a[r][0] = _mm256_fmadd_ps(pb, v0, a[r][0]);
            a[r][1] = _mm256_fmadd_ps(pb, v1, a[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(acc + (size_t)r * lda, a[r][0]);
        _mm256_storeu_ps(acc + (size_t)r * lda + 8, a[r][1]);
    }
}

static void pv_avx2(int hdp, int nr, int nc, const float *p, int ldp, const float *vc, int ldv, const float *f,
                    float *acc, int lda) {
    for (int d0 = 0; d0 < hdp; d0 += 16) {
        int r = 0;
        for (; r + 4 <= nr; r += 4)
            pv_blk(4, nc, p + (size_t)r * ldp, ldp, vc + d0, ldv, f + r, acc + (size_t)r * lda + d0, lda);
        switch (nr - r) {
        case 3: pv_blk(3, nc, p + (size_t)r * ldp, ldp, vc + d0, ldv, f + r, acc + (size_t)r * lda + d0, lda); break;
        case 2: pv_blk(2, nc, p + (size_t)r * ldp, ldp, vc + d0, ldv, f + r, acc + (size_t)r * lda + d0, lda); break;
        case 1: pv_blk(1, nc, p + (size_t)r * ldp, ldp, vc + d0, ldv, f + r, acc + (size_t)r * lda + d0, lda); break;
        default: break;
        }
    }
}

void cllm_cpu_avx2_fill_attn(cllm_kernels *k) {
    k->attn.exp = exp_avx2;
    k->attn.k_pack = k_pack_avx2;
    k->attn.v_pack = v_pack_avx2;
    k->attn.qk = qk_avx2;
    k->attn.softmax = softmax_avx2;
    k->attn.pv = pv_avx2;
}
