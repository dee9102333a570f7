/* quantize.c: reference quantization of the 32-element block types (Q4_0,
 * Q4_1, Q5_0, Q5_1, Q8_0) and the row dispatcher cllm_quant_quantize_row.
 * Without an importance matrix every type uses ggml's *_ref algorithm, which
 * is what llama-quantize runs without --imatrix, so bytes match llama.cpp.
 * With one, the weighted searches of ggml's quantize_* "impl" paths run. */
#include "quant/blocks.h"
#include "quant/quant_util.h"
#include "quant/quants.h"
#include "quant/quantize_impl.h"
#include "tensor/types.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Index and value of the first element of largest magnitude. */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

/* Pack 32 5-bit levels: nibbles like Q4_0, fifth bits into qh (bit j =
 * element j, little-endian). */
static void pack_q5(const uint8_t L[32], uint8_t qs[16], uint8_t qh[4]) {
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
        h |= (uint32_t)((L[j] >> 4) & 1) << j;
        h |= (uint32_t)((L[j + 16] >> 4) & 1) << (j + 16);
    }
    for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(h >> (8 * k));
}

/* Sum of squares over a whole row, divided by its length: the sigma2 that
 * the imatrix paths mix into their weights. */
static float row_sigma2(const float *x, int64_t n) {
    float s = 0;
    for (int64_t j = 0; j < n; j++) s += x[j] * x[j];
    return s / (float)n;
}

/* Q4_0: d = max / -8 (max = signed value of largest magnitude), so that
 * value maps to level 0; q = min(15, trunc(x/d + 8.5)). */
static void quant_q4_0(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q4_0 *y = vy;
    const int64_t nb = n / QK4_0;
    if (qw) {
        const float sigma2 = row_sigma2(x, n);
        float w[QK4_0];
        int8_t L[QK4_0];
        for (int64_t i = 0; i < nb; i++) {
            const float *xb = x + i * QK4_0;
            for (int j = 0; j < QK4_0; j++) w[j] = qw[i * QK4_0 + j] * sqrtf(sigma2 + xb[j] * xb[j]);
            const float d = cllm_qs_symmetric(QK4_0, 8, xb, L, 1, w);
            y[i].d = cllm_fp32_to_fp16(d);
            for (int j = 0; j < 16; j++) y[i].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
        return;
    }
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK4_0;
        const float d = signed_absmax(xb, QK4_0) / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = cllm_fp32_to_fp16(d);
        for (int j = 0; j < 16; j++) {
            const int a = cllm_imin(15, (int)(xb[j] * id + 8.5f));
            const int b = cllm_imin(15, (int)(xb[j + 16] * id + 8.5f));
            y[i].qs[j] = (uint8_t)(a | b << 4);
        }
    }
}

/* Q4_1: d = (max - min)/15, m = min, q = min(15, trunc((x - min)/d + 0.5)). */
static void quant_q4_1(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q4_1 *y = vy;
    const int64_t nb = n / QK4_1;
    if (qw) {
        const float sigma2 = row_sigma2(x, n);
        float w[QK4_1];
        uint8_t L[QK4_1], Laux[QK4_1];
        for (int64_t i = 0; i < nb; i++) {
            const float *xb = x + i * QK4_1;
            for (int j = 0; j < QK4_1; j++) w[j] = qw[i * QK4_1 + j] * sqrtf(sigma2 + xb[j] * xb[j]);
            float min;
            const float d = cllm_qs_affine_w(QK4_1, 15, xb, w, L, &min, Laux, -0.9f, 0.05f, 36, false);
            y[i].d = cllm_fp32_to_fp16(d);
            y[i].m = cllm_fp32_to_fp16(-min);
            for (int j = 0; j < 16; j++) y[i].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
        return;
    }
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK4_1;
        float mn, mx;
        min_max(xb, QK4_1, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = cllm_fp32_to_fp16(d);
        y[i].m = cllm_fp32_to_fp16(mn);
        for (int j = 0; j < 16; j++) {
            const int a = cllm_imin(15, (int)((xb[j] - mn) * id + 0.5f));
            const int b = cllm_imin(15, (int)((xb[j + 16] - mn) * id + 0.5f));
            y[i].qs[j] = (uint8_t)(a | b << 4);
        }
    }
}

/* Q5_0: d = max / -16, q = min(31, trunc(x/d + 16.5)). */
static void quant_q5_0(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q5_0 *y = vy;
    const int64_t nb = n / QK5_0;
    const float sigma2 = qw ? row_sigma2(x, n) : 0.f;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK5_0;
        uint8_t L[QK5_0];
        if (qw) {
            float w[QK5_0];
            int8_t Ls[QK5_0];
            for (int j = 0; j < QK5_0; j++) w[j] = qw[i * QK5_0 + j] * sqrtf(sigma2 + xb[j] * xb[j]);
            const float d = cllm_qs_symmetric(QK5_0, 16, xb, Ls, 1, w);
            y[i].d = cllm_fp32_to_fp16(d);
            for (int j = 0; j < QK5_0; j++) L[j] = (uint8_t)Ls[j];
        } else {
            const float d = signed_absmax(xb, QK5_0) / -16;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            y[i].d = cllm_fp32_to_fp16(d);
            for (int j = 0; j < QK5_0; j++) L[j] = (uint8_t)cllm_imin(31, (int)(xb[j] * id + 16.5f));
        }
        pack_q5(L, y[i].qs, y[i].qh);
    }
}

/* Q5_1: d = (max - min)/31, m = min, q = trunc((x - min)/d + 0.5). */
static void quant_q5_1(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q5_1 *y = vy;
    const int64_t nb = n / QK5_1;
    const float sigma2 = qw ? row_sigma2(x, n) : 0.f;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK5_1;
        uint8_t L[QK5_1];
        if (qw) {
            float w[QK5_1];
            uint8_t Laux[QK5_1];
            for (int j = 0; j < QK5_1; j++) w[j] = qw[i * QK5_1 + j] * sqrtf(sigma2 + xb[j] * xb[j]);
            float min;
            const float d = cllm_qs_affine_w(QK5_1, 31, xb, w, L, &min, Laux, -0.9f, 0.05f, 36, false);
            y[i].d = cllm_fp32_to_fp16(d);
            y[i].m = cllm_fp32_to_fp16(-min);
        } else {
            float mn, mx;
            min_max(xb, QK5_1, &mn, &mx);
            const float d = (mx - mn) / 31;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            y[i].d = cllm_fp32_to_fp16(d);
            y[i].m = cllm_fp32_to_fp16(mn);
            /* (x - min)/d + 0.5 stays below 32 because x <= max. */
            for (int j = 0; j < QK5_1; j++) L[j] = (uint8_t)(int)((xb[j] - mn) * id + 0.5f);
        }
        pack_q5(L, y[i].qs, y[i].qh);
    }
}

static void quant_f16(const float *x, void *vy, int64_t n) {
    uint8_t *p = vy;
    for (int64_t i = 0; i < n; i++) {
        const cllm_fp16 h = cllm_fp32_to_fp16(x[i]);
        memcpy(p + 2 * i, &h, 2);
    }
}

static void quant_bf16(const float *x, void *vy, int64_t n) {
    uint8_t *p = vy;
    for (int64_t i = 0; i < n; i++) {
        const cllm_bf16 h = cllm_fp32_to_bf16(x[i]);
        memcpy(p + 2 * i, &h, 2);
    }
}

bool cllm_quant_quantize_row(cllm_type t, const float *src, void *dst, int64_t n, const float *imatrix) {
    const cllm_type_traits *tr = cllm_type_get_traits(t);
    if (!tr || n < 0 || n % tr->blck_size != 0) return false;
    switch (t) {
    case CLLM_TYPE_F32: memmove(dst, src, (size_t)n * sizeof(float)); return true;
    case CLLM_TYPE_F16: quant_f16(src, dst, n); return true;
    case CLLM_TYPE_BF16: quant_bf16(src, dst, n); return true;
    case CLLM_TYPE_Q4_0: quant_q4_0(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q4_1: quant_q4_1(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q5_0: quant_q5_0(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q5_1: quant_q5_1(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q8_0: cllm_quantize_row_q8_0(src, dst, n); return true; /* ggml ignores imatrix */
    case CLLM_TYPE_Q8_1: cllm_quantize_row_q8_1(src, dst, n); return true;
    case CLLM_TYPE_Q8_K: cllm_quantize_row_q8_K(src, dst, n); return true;
    case CLLM_TYPE_Q2_K: cllm_quant_q2_K(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q3_K: cllm_quant_q3_K(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q4_K: cllm_quant_q4_K(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q5_K: cllm_quant_q5_K(src, dst, n, imatrix); return true;
    case CLLM_TYPE_Q6_K: cllm_quant_q6_K(src, dst, n, imatrix); return true;
    case CLLM_TYPE_IQ4_NL: cllm_quant_iq4_nl(src, dst, n, imatrix); return true;
    case CLLM_TYPE_IQ4_XS: cllm_quant_iq4_xs(src, dst, n, imatrix); return true;
    default: return false;
    }
}
