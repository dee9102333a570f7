/* attn_avx512.c: AVX-512 attention tile kernels (cllm_attn_kernels in
 * cpu/kernels.h; scalar references in scalar/attn_ref.c):
 *   - exp: range reduction x = n ln2 + r (|r| <= ln2/2, ln2 split in two
 *     parts), exp(r) = 1 + r + r^2 P(r) with a degree-5 P, then scalef by n;
 *     relative error ~2e-7 against libm expf. x < -87.3 (and -inf) give 0;
 *   - k_pack: 16 cells x 16 dims converted to float (F32 load, F16 by
 *     vcvtph2ps, Q8_0 by int8 -> float times the block scale) and transposed
 *     in registers (16x16 transpose: unpack, shuffle, two 128-bit shuffles);
 *   - qk: 4 rows x 64 cells of zmm accumulators; per dim one broadcast of
 *     q[r][d] per row and 4 loads of the K^T row d, 16 FMAs;
 *   - softmax: 4 rows at a time (their reductions and exps overlap): masked
 *     loads from the visibility bits, max, exp, sum, in registers;
 *   - pv: 4 rows x 64 dims of zmm accumulators (started from f[r] * acc),
 *     per cell 4 loads of the V row and one broadcast of p[r][j] per row. */
#include "cpu/avx512/avx512_impl.h"
#include "core/fp16.h"
#include "cpu/avx512/vexp512.h"

#include <immintrin.h>
#include <math.h>

#define AI static inline __attribute__((always_inline))

/* ---- exp: vexp512.h ---- */

static void exp_avx512(int n, const float *x, float *y) {
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, exp512(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* ---- K / V packing ---- */
/* 16 elements d0..d0+15 of a head slice of type T as floats (d0 % 16 == 0). */
AI __m512 load16(const cllm_type T, const char *slice, int d0) {
    if (T == CLLM_TYPE_F32) return _mm512_loadu_ps((const float *)slice + d0);
    if (T == CLLM_TYPE_F16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const cllm_fp16 *)slice + d0)));
    const cllm_block_q8_0 *b = (const cllm_block_q8_0 *)slice + d0 / QK8_0;
    const __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b->qs + d0 % QK8_0))));
    return _mm512_mul_ps(q, _mm512_set1_ps(cllm_fp16_to_fp32(b->d)));
}

/* In-register transpose: r[c] holds element d of row c in lane d; after, r[d]
 * holds element d of every row c in lane c. */
AI void tr16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
        t[k + 4] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xDD);
        t[k + 8] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
        t[k + 12] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xDD);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xDD);
        r[k + 4] = _mm512_shuffle_f32x4(t[k + 4], t[k + 12], 0x88);
        r[k + 12] = _mm512_shuffle_f32x4(t[k + 4], t[k + 12], 0xDD);
    }
}

AI void k_pack_t(const cllm_type T, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *kt,
                 int ldk) {
    const int hd16 = hd / 16 * 16;
    for (int jb = 0; jb < nc; jb += 16) {
        const int cnt = nc - jb < 16 ? nc - jb : 16;
        const char *sl[16];
        for (int c = 0; c < cnt; c++) sl[c] = base + (size_t)cid[jb + c] * rb;
        for (int d0 = 0; d0 < hd16; d0 += 16) {
            __m512 r[16];
            for (int c = 0; c < 16; c++) r[c] = c < cnt ? load16(T, sl[c], d0) : _mm512_setzero_ps();
            tr16(r);
            for (int i = 0; i < 16; i++) _mm512_storeu_ps(kt + (size_t)(d0 + i) * ldk + jb, r[i]);
        }
        for (int d = hd16; d < hd; d++)   /* F32/F16 head dims not a multiple of 16 */
            for (int c = 0; c < 16; c++) kt[(size_t)d * ldk + jb + c] = c < cnt ? cllm_cpu_attn_elem(T, sl[c], d) : 0.0f;
    }
}

static void k_pack_avx512(cllm_type t, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *kt,
                          int ldk) {
    if (t == CLLM_TYPE_F16) k_pack_t(CLLM_TYPE_F16, hd, nc, base, rb, cid, kt, ldk);
    else if (t == CLLM_TYPE_Q8_0) k_pack_t(CLLM_TYPE_Q8_0, hd, nc, base, rb, cid, kt, ldk);
    else k_pack_t(CLLM_TYPE_F32, hd, nc, base, rb, cid, kt, ldk);
}

AI void v_pack_t(const cllm_type T, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *vc,
                 int ldv) {
    const int hd16 = hd / 16 * 16;
    for (int j = 0; j < nc; j++) {
        const char *sl = base + (size_t)cid[j] * rb;
        float *o = vc + (size_t)j * ldv;
        for (int d0 = 0; d0 < hd16; d0 += 16) _mm512_storeu_ps(o + d0, load16(T, sl, d0));
        if (hd16 < hd) {
            float tail[16] = {0};
            for (int d = hd16; d < hd; d++) tail[d - hd16] = cllm_cpu_attn_elem(T, sl, d);
            _mm512_storeu_ps(o + hd16, _mm512_loadu_ps(tail));
        }
    }
}

static void v_pack_avx512(cllm_type t, int hd, int nc, const char *base, size_t rb, const int32_t *cid, float *vc,
                          int ldv) {
    if (t == CLLM_TYPE_F16) v_pack_t(CLLM_TYPE_F16, hd, nc, base, rb, cid, vc, ldv);
    else if (t == CLLM_TYPE_Q8_0) v_pack_t(CLLM_TYPE_Q8_0, hd, nc, base, rb, cid, vc, ldv);
    else v_pack_t(CLLM_TYPE_F32, hd, nc, base, rb, cid, vc, ldv);
}

/* ---- S = scale * Q K^T ---- */
AI void qk_blk(const int R, const int NV, int hd, const float *q, int ldq, const float *kt, int ldk, float scale,
               float *s, int lds) {
    __m512 acc[4][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m512 k[4];
        for (int v = 0; v < NV; v++) k[v] = _mm512_loadu_ps(kt + (size_t)d * ldk + 16 * v);
        for (int r = 0; r < R; r++) {
            const __m512 qb = _mm512_set1_ps(q[(size_t)r * ldq + d]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(qb, k[v], acc[r][v]);
        }
    }
    const __m512 sc = _mm512_set1_ps(scale);
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(s + (size_t)r * lds + 16 * v, _mm512_mul_ps(acc[r][v], sc));
}

#define QK_NV(R)                                                                  \
    switch (nv) {                                                                 \
    case 1: qk_blk(R, 1, hd, q, ldq, kt, ldk, scale, s, lds); break;              \
    case 2: qk_blk(R, 2, hd, q, ldq, kt, ldk, scale, s, lds); break;              \
    case 3: qk_blk(R, 3, hd, q, ldq, kt, ldk, scale, s, lds); break;              \
    default: qk_blk(R, 4, hd, q, ldq, kt, ldk, scale, s, lds); break;             \
    }

static void qk_avx512(int hd, int nr, int ncp, const float *q, int ldq, const float *kt, int ldk, float scale,
                      float *s, int lds) {
    const int nv = ncp / 16;
    int r = 0;
    for (; r + 4 <= nr; r += 4, q += (size_t)4 * ldq, s += (size_t)4 * lds) QK_NV(4)
    switch (nr - r) {
    case 3: QK_NV(3) break;
    case 2: QK_NV(2) break;
    case 1: QK_NV(1) break;
    default: break;
    }
}

/* ---- online softmax update ----
 * R rows at once, so that the horizontal max/sum reductions and the exps of
 * different rows overlap instead of forming one long dependency chain per
 * row. The chunk is always handled as 4 vectors; lanes at or past ncp are
 * neither read nor written (masked loads give -inf there). */
AI void sm_rows(const int R, int ncp, float *s, int lds, const uint64_t *vis, float *m, float *l, float *f) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __mmask16 valid[4];
    for (int v = 0; v < 4; v++) valid[v] = 16 * v < ncp ? (__mmask16)0xffff : (__mmask16)0;
    __m512 x[4][4];
    float cm[4], mn[4], dm[16] = {0};
    for (int r = 0; r < R; r++) {
        __m512 mv = ninf;
        for (int v = 0; v < 4; v++) {
            const __mmask16 k = (__mmask16)(vis[r] >> (16 * v)) & valid[v];
            x[r][v] = _mm512_mask_loadu_ps(ninf, k, s + (size_t)r * lds + 16 * v);
            mv = _mm512_max_ps(mv, x[r][v]);
        }
        cm[r] = _mm512_reduce_max_ps(mv);
    }
    for (int r = 0; r < R; r++) {
        mn[r] = cm[r] > m[r] ? cm[r] : m[r];
        dm[r] = cm[r] == -INFINITY ? 0.0f : m[r] - mn[r];   /* -inf when m[r] was -inf: exp gives 0 */
    }
    float fv[16];
    _mm512_storeu_ps(fv, exp512(_mm512_loadu_ps(dm)));
    for (int r = 0; r < R; r++) {
        float *row = s + (size_t)r * lds;
        f[r] = fv[r];
        if (cm[r] == -INFINITY) {
            for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(row + 16 * v, valid[v], _mm512_setzero_ps());
            continue;
        }
        const __m512 mb = _mm512_set1_ps(mn[r]);
        __m512 sum = _mm512_setzero_ps();
        for (int v = 0; v < 4; v++) {
            const __m512 e = exp512(_mm512_sub_ps(x[r][v], mb));
            _mm512_mask_storeu_ps(row + 16 * v, valid[v], e);
            sum = _mm512_add_ps(sum, e);
        }
        l[r] = l[r] * fv[r] + _mm512_reduce_add_ps(sum);
        m[r] = mn[r];
    }
}

static void softmax_avx512(int nr, int ncp, float *s, int lds, const uint64_t *vis, float *m, float *l, float *f) {
    int r = 0;
    for (; r + 4 <= nr; r += 4) sm_rows(4, ncp, s + (size_t)r * lds, lds, vis + r, m + r, l + r, f + r);
    switch (nr - r) {
    case 3: sm_rows(3, ncp, s + (size_t)r * lds, lds, vis + r, m + r, l + r, f + r); break;
    case 2: sm_rows(2, ncp, s + (size_t)r * lds, lds, vis + r, m + r, l + r, f + r); break;
    case 1: sm_rows(1, ncp, s + (size_t)r * lds, lds, vis + r, m + r, l + r, f + r); break;
    default: break;
    }
}

/* ---- acc = f * acc + P V ---- */
AI void pv_blk(const int R, const int NV, int nc, const float *p, int ldp, const float *vc, int ldv, const float *f,
               float *acc, int lda) {
    __m512 a[4][4];
    for (int r = 0; r < R; r++) {
        const __m512 fr = _mm512_set1_ps(f[r]);
        for (int v = 0; v < NV; v++) a[r][v] = _mm512_mul_ps(_mm512_loadu_ps(acc + (size_t)r * lda + 16 * v), fr);
    }
    for (int j = 0; j < nc; j++) {
        __m512 vv[4];
        for (int v = 0; v < NV; v++) vv[v] = _mm512_loadu_ps(vc + (size_t)j * ldv + 16 * v);
        for (int r = 0; r < R; r++) {
            const __m512 pb = _mm512_set1_ps(p[(size_t)r * ldp + j]);
            for (int v = 0; v < NV; v++) a[r][v] = _mm512_fmadd_ps(pb, vv[v], a[r][v]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(acc + (size_t)r * lda + 16 * v, a[r][v]);
}

#define PV_NV(R)                                                                  \
    switch (nv) {                                                                 \
    case 1: pv_blk(R, 1, nc, p, ldp, vc + d0, ldv, f, acc + d0, lda); break;      \
    case 2: pv_blk(R, 2, nc, p, ldp, vc + d0, ldv, f, acc + d0, lda); break;      \
    case 3: pv_blk(R, 3, nc, p, ldp, vc + d0, ldv, f, acc + d0, lda); break;      \
    default: pv_blk(R, 4, nc, p, ldp, vc + d0, ldv, f, acc + d0, lda); break;     \
    }

static void pv_avx512(int hdp, int nr, int nc, const float *p, int ldp, const float *vc, int ldv, const float *f,
                      float *acc, int lda) {
    int r = 0;
    for (; r < nr; r += 4, p += (size_t)4 * ldp, f += 4, acc += (size_t)4 * lda) {
        for (int d0 = 0; d0 < hdp; d0 += 64) {
            const int nv = (hdp - d0) / 16 < 4 ? (hdp - d0) / 16 : 4;
            switch (nr - r) {
            case 1: PV_NV(1) break;
            case 2: PV_NV(2) break;
            case 3: PV_NV(3) break;
            default: PV_NV(4) break;
            }
        }
    }
}

void cllm_cpu_avx512_fill_attn(cllm_kernels *k) {
    k->attn.exp = exp_avx512;
    k->attn.k_pack = k_pack_avx512;
    k->attn.v_pack = v_pack_avx512;
    k->attn.qk = qk_avx512;
    k->attn.softmax = softmax_avx512;
    k->attn.pv = pv_avx512;
}
