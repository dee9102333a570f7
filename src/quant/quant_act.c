/* quant_act.c: the activation quantizers (F32 rows -> Q8_0 / Q8_1 / Q8_K) that
 * the dot-product kernels pair with weight types, and the IQ4_NL level table.
 * Byte-identical to ggml's quantize_row_q8_{0,1,K}_ref; SIMD versions in
 * src/cpu must match these bytes. */
#include "quant/blocks.h"
#include "quant/quant_util.h"
#include "quant/quants.h"

#include <math.h>
#include <string.h>

const int8_t cllm_kvalues_iq4nl[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

/* Q8_0: per 32 values d = amax/127 (stored as fp16), q = round(x / d) with
 * roundf (ties away from zero), using the fp32 d's reciprocal. */
void cllm_quantize_row_q8_0(const float *x, void *vy, int64_t n) {
    cllm_block_q8_0 *y = vy;
    const int64_t nb = n / QK8_0;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) {
            const float a = fabsf(xb[j]);
            amax = amax > a ? amax : a;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = cllm_fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(xb[j] * id);
    }
}

/* Q8_1: as Q8_0, plus s = d * sum(q) (d in fp32, s stored as fp16). */
void cllm_quantize_row_q8_1(const float *x, void *vy, int64_t n) {
    cllm_block_q8_1 *y = vy;
    const int64_t nb = n / QK8_1;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK8_1;
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; j++) {
            const float a = fabsf(xb[j]);
            amax = amax > a ? amax : a;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = cllm_fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[i].qs[j] = (int8_t)roundf(xb[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = cllm_fp32_to_fp16((float)sum * d);
    }
}

/* Q8_K: per 256 values, take the signed value of largest magnitude `max`;
 * iscale = -127/max, q = min(127, nearest_int(iscale * x)) (so q can reach
 * -128 never and +127 on the opposite side), d = 1/iscale kept in fp32, and
 * bsums[k] = sum of quants k*16 .. k*16+15. An all-zero block is all zeros. */
void cllm_quantize_row_q8_K(const float *x, void *vy, int64_t n) {
    cllm_block_q8_K *y = vy;
    const int64_t nb = n / QK_K;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK_K;
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float a = fabsf(xb[j]);
            if (a > amax) {
                amax = a;
                max = xb[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            const int v = cllm_nearest_int(iscale * xb[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int k = 0; k < QK_K / 16; k++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[i].qs[k * 16 + j];
            y[i].bsums[k] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}
