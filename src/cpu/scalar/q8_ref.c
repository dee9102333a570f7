/* q8_ref.c: TEMPORARY stand-ins for the activation quantizers of src/quant
 * (cllm_quantize_row_q8_0/q8_1/q8_K, ggml's *_ref algorithms), used by the
 * scalar table until the quant module is merged; then the table points at
 * src/quant's functions and this file goes away. Same algorithm, same bytes. */
#include "core/fp16.h"
#include "cpu/kernels_impl.h"

#include <math.h>
#include <string.h>

void cllm_cpu_quantize_q8_0_ref(const float *x, void *vy, int64_t n) {
    cllm_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK8_0; b++) {
        const float *xb = x + b * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) {
            const float v = fabsf(xb[j]);
            amax = amax > v ? amax : v;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = cllm_fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[b].qs[j] = (int8_t)roundf(xb[j] * id);
    }
}

void cllm_cpu_quantize_q8_1_ref(const float *x, void *vy, int64_t n) {
    cllm_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK8_1; b++) {
        const float *xb = x + b * QK8_1;
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; j++) {
            const float v = fabsf(xb[j]);
            amax = amax > v ? amax : v;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = cllm_fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[b].qs[j] = (int8_t)roundf(xb[j] * id);
            sum += y[b].qs[j];
        }
        y[b].s = cllm_fp32_to_fp16((float)sum * d);
    }
}

void cllm_cpu_quantize_q8_K_ref(const float *x, void *vy, int64_t n) {
    cllm_block_q8_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float *xb = x + b * QK_K;
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float v = fabsf(xb[j]);
            if (v > amax) {
                amax = v;
                max = xb[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            /* round to nearest even via the 1.5*2^23 trick (ggml nearest_int) */
            const float t = iscale * xb[j];
            float f = t + 12582912.0f;
            int32_t i;
            memcpy(&i, &f, 4);
            const int v = (i & 0x007fffff) - 0x00400000;
            y[b].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[b].qs[g * 16 + j];
            y[b].bsums[g] = (int16_t)sum;
        }
        y[b].d = 1.0f / iscale;
    }
}
