/* quantize_iq4.c: quantization to the non-linear 4-bit types IQ4_NL (32-value
 * blocks, one fp16 scale) and IQ4_XS (256-value super-blocks, 6-bit sub-block
 * scales). Follows ggml's quantize_iq4_nl / quantize_iq4_xs (the scale search
 * with 15 candidate scales, which llama-quantize runs with or without an
 * importance matrix), so output bytes agree with llama.cpp's. */
#include "quant/blocks.h"
#include "quant/quant_util.h"
#include "quant/quantize_impl.h"

#include <math.h>
#include <string.h>

#define IQ4_NTRY 7

/* Best scale for one 32-value block: start from d = max/127 (the value of
 * largest magnitude maps to the outermost level), then try the 15 scales
 * (itry - 127)/max, itry in [-7, 7], keeping the one with the best weighted
 * least-squares fit. L receives the levels of the initial guess. */
static float iq4_block_scale(const float *xb, const float *weight, uint8_t *Lb) {
    const int8_t *values = cllm_kvalues_iq4nl;
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++) {
        const float ax = fabsf(xb[j]);
        if (ax > amax) {
            amax = ax;
            max = xb[j];
        }
    }
    if (amax < CLLM_GROUP_MAX_EPS) {
        memset(Lb, 0, 32);
        return 0.f;
    }
    float d = -max / (float)values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
        const int l = cllm_qs_nearest_level(16, values, id * xb[j]);
        Lb[j] = (uint8_t)l;
        const float q = (float)values[l];
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -IQ4_NTRY; itry <= IQ4_NTRY; itry++) {
        id = (float)(itry + values[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            const int l = cllm_qs_nearest_level(16, values, id * xb[j]);
            const float q = (float)values[l];
            const float w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* Weights of one block: imatrix * sqrt(sigma2 + x^2), or x^2 without one. */
static void iq4_weights(const float *xb, const float *qw, float sigma2, float *weight) {
    for (int j = 0; j < 32; j++)
        weight[j] = qw ? qw[j] * sqrtf(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
}

static float iq4_sigma2(const float *x, int n) {
    float s = 0;
    for (int j = 0; j < n; j++) s += x[j] * x[j];
    return s * (2.f / (float)n);
}

/* Pack 32 levels: byte j holds levels j (low nibble) and j+16 (high). */
static void iq4_pack(const uint8_t *L, uint8_t *q) {
    for (int j = 0; j < 16; j++) q[j] = (uint8_t)(L[j] | (L[16 + j] << 4));
}

void cllm_quant_iq4_nl(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_iq4_nl *y = vy;
    uint8_t L[32];
    float weight[32];
    for (int64_t i = 0; i < n / QK4_NL; i++) {
        const float *xb = x + QK4_NL * i;
        const float sigma2 = iq4_sigma2(xb, QK4_NL);
        iq4_weights(xb, qw ? qw + QK4_NL * i : NULL, sigma2, weight);
        const float d = iq4_block_scale(xb, weight, L);
        y[i].d = cllm_fp32_to_fp16(d);
        /* Re-pick the levels for the chosen (fp32) scale. With d == 0 every
         * level is the one nearest 0 (index 8), as in ggml. */
        const float id = d != 0.f ? 1 / d : 0.f;
        for (int j = 0; j < 32; j++) L[j] = (uint8_t)cllm_qs_nearest_level(16, cllm_kvalues_iq4nl, id * xb[j]);
        iq4_pack(L, y[i].qs);
    }
}

void cllm_quant_iq4_xs(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_iq4_xs *y = vy;
    uint8_t L[QK_K];
    float weight[32], scales[8];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *xs = x + QK_K * i;
        const float sigma2 = iq4_sigma2(xs, QK_K);
        float max_scale = 0, amax_scale = 0;
        for (int ib = 0; ib < 8; ib++) {
            iq4_weights(xs + 32 * ib, qw ? qw + QK_K * i + 32 * ib : NULL, sigma2, weight);
            scales[ib] = iq4_block_scale(xs + 32 * ib, weight, L + 32 * ib);
            const float a = fabsf(scales[ib]);
            if (a > amax_scale) {
                amax_scale = a;
                max_scale = scales[ib];
            }
        }
        /* Sub-block scales become 6-bit codes l in [-32, 31] of d = -max/32;
         * levels are re-picked for each rounded sub-block scale d*l. */
        const float d = -max_scale / 32;
        y[i].d = cllm_fp32_to_fp16(d);
        const float id = d != 0.f ? 1 / d : 0.f;
        y[i].scales_h = 0;
        memset(y[i].scales_l, 0, sizeof y[i].scales_l);
        for (int ib = 0; ib < 8; ib++) {
            const int l = cllm_iclamp(cllm_nearest_int(id * scales[ib]), -32, 31);
            const float dl = d * (float)l;
            const float idl = dl != 0.f ? 1 / dl : 0.f;
            for (int j = 0; j < 32; j++)
                L[32 * ib + j] = (uint8_t)cllm_qs_nearest_level(16, cllm_kvalues_iq4nl, idl * xs[32 * ib + j]);
            const int code = l + 32;
            y[i].scales_l[ib / 2] |= (uint8_t)((code & 0xF) << (4 * (ib % 2)));
            y[i].scales_h |= (uint16_t)((code >> 4) << (2 * ib));
        }
        for (int s = 0; s < 8; s++) iq4_pack(L + 32 * s, y[i].qs + 16 * s);
    }
}
