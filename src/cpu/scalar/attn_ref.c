/* attn_ref.c: scalar reference versions of the attention tile kernels
 * (cllm_attn_kernels in cpu/kernels.h): exp, K/V chunk packing, the Q K^T
 * tile, the online-softmax row update and the P V tile. The SIMD tables are
 * tested against these, and CLLM_CPU=scalar runs them. */
#include "cpu/kernels_impl.h"
#include "core/fp16.h"

#include <math.h>

float cllm_cpu_attn_elem(cllm_type t, const char *slice, int d) {
    if (t == CLLM_TYPE_F32) {
        float v;
        memcpy(&v, slice + (size_t)d * sizeof(float), sizeof v);
        return v;
    }
    if (t == CLLM_TYPE_F16) {
        cllm_fp16 h;
        memcpy(&h, slice + (size_t)d * sizeof(cllm_fp16), sizeof h);
        return cllm_fp16_to_fp32(h);
    }
    const cllm_block_q8_0 *b = (const cllm_block_q8_0 *)slice + d / QK8_0;
    return cllm_fp16_to_fp32(b->d) * (float)b->qs[d % QK8_0];
}

void cllm_cpu_attn_exp_ref(int n, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] = x[i] < -87.3f ? 0.0f : expf(x[i]);
}

void cllm_cpu_attn_k_pack_ref(cllm_type t, int hd, int nc, const char *base, size_t row_bytes, const int32_t *cid,
                              float *kt, int ldk) {
    const int ncp = (nc + CLLM_ATTN_CW - 1) / CLLM_ATTN_CW * CLLM_ATTN_CW;
    for (int j = 0; j < ncp; j++) {
        const char *slice = j < nc ? base + (size_t)cid[j] * row_bytes : NULL;
        for (int d = 0; d < hd; d++) kt[(size_t)d * ldk + j] = slice ? cllm_cpu_attn_elem(t, slice, d) : 0.0f;
    }
}

void cllm_cpu_attn_v_pack_ref(cllm_type t, int hd, int nc, const char *base, size_t row_bytes, const int32_t *cid,
                              float *vc, int ldv) {
    const int hdp = (hd + CLLM_ATTN_CW - 1) / CLLM_ATTN_CW * CLLM_ATTN_CW;
    for (int j = 0; j < nc; j++) {
        const char *slice = base + (size_t)cid[j] * row_bytes;
        float *o = vc + (size_t)j * ldv;
        for (int d = 0; d < hd; d++) o[d] = cllm_cpu_attn_elem(t, slice, d);
        for (int d = hd; d < hdp; d++) o[d] = 0.0f;
    }
}

void cllm_cpu_attn_qk_ref(int hd, int nr, int ncp, const float *q, int ldq, const float *kt, int ldk, float scale,
                          float *s, int lds) {
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < ncp; j++) {
            float acc = 0.0f;
            for (int d = 0; d < hd; d++) acc += q[(size_t)r * ldq + d] * kt[(size_t)d * ldk + j];
            s[(size_t)r * lds + j] = scale * acc;
        }
}

static float softmax_row(int ncp, float *s, uint64_t vis, float *m, float *l) {
    float cm = -INFINITY;
    for (int j = 0; j < ncp; j++) {
        if (!((vis >> j) & 1)) s[j] = -INFINITY;
        else if (s[j] > cm) cm = s[j];
    }
    if (cm == -INFINITY) {
        for (int j = 0; j < ncp; j++) s[j] = 0.0f;
        return 1.0f;
    }
    const float mn = cm > *m ? cm : *m;
    const float f = *m == -INFINITY ? 0.0f : expf(*m - mn);
    float sum = 0.0f;
    for (int j = 0; j < ncp; j++) {
        s[j] = s[j] == -INFINITY ? 0.0f : expf(s[j] - mn);
        sum += s[j];
    }
    *l = *l * f + sum;
    *m = mn;
    return f;
}

void cllm_cpu_attn_softmax_ref(int nr, int ncp, float *s, int lds, const uint64_t *vis, float *m, float *l, float *f) {
    for (int r = 0; r < nr; r++) f[r] = softmax_row(ncp, s + (size_t)r * lds, vis[r], m + r, l + r);
}

void cllm_cpu_attn_pv_ref(int hdp, int nr, int nc, const float *p, int ldp, const float *vc, int ldv, const float *f,
                          float *acc, int lda) {
    for (int r = 0; r < nr; r++) {
        float *a = acc + (size_t)r * lda;
        for (int d = 0; d < hdp; d++) a[d] *= f[r];
        for (int j = 0; j < nc; j++) {
            const float pj = p[(size_t)r * ldp + j];
            if (pj == 0.0f) continue;   /* masked cell: nothing to add */
            const float *v = vc + (size_t)j * ldv;
            for (int d = 0; d < hdp; d++) a[d] += pj * v[d];
        }
    }
}
