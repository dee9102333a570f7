/* q32_ref.c: scalar reference dot products of the 32-element block types
 * against their 8-bit activation blocks: Q4_0/Q5_0/Q8_0/IQ4_NL x Q8_0 and
 * Q4_1/Q5_1 x Q8_1. Integer sums inside a block, float accumulation across
 * blocks, with the same float operation order as ggml's generic kernels. */
#include "core/fp16.h"
#include "cpu/kernels_impl.h"

#include <string.h>

#define H2F(h) cllm_fp16_to_fp32(h)

void cllm_cpu_dot_q4_0_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int lo = 0, hi = 0;
        for (int j = 0; j < 16; j++) {
            lo += ((x[b].qs[j] & 0x0F) - 8) * y[b].qs[j];
            hi += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
        }
        acc += (float)(lo + hi) * H2F(x[b].d) * H2F(y[b].d);
    }
    *s = acc;
}

void cllm_cpu_dot_q4_1_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_1 *x = w;
    const cllm_block_q8_1 *y = a;
    const int64_t nb = n / QK8_1;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int lo = 0, hi = 0;
        for (int j = 0; j < 16; j++) {
            lo += (x[b].qs[j] & 0x0F) * y[b].qs[j];
            hi += (x[b].qs[j] >> 4) * y[b].qs[j + 16];
        }
        acc += (H2F(x[b].d) * H2F(y[b].d)) * (float)(lo + hi) + H2F(x[b].m) * H2F(y[b].s);
    }
    *s = acc;
}

/* The 5th bits of a Q5 block: bit j of qh belongs to element j. */
static inline uint32_t q5_high_bits(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | ((uint32_t)qh[1] << 8) | ((uint32_t)qh[2] << 16) | ((uint32_t)qh[3] << 24);
}

void cllm_cpu_dot_q5_0_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q5_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint32_t qh = q5_high_bits(x[b].qh);
        int lo = 0, hi = 0;
        for (int j = 0; j < 16; j++) {
            const int v0 = (int)((x[b].qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16;
            const int v1 = (int)((x[b].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            lo += v0 * y[b].qs[j];
            hi += v1 * y[b].qs[j + 16];
        }
        acc += (H2F(x[b].d) * H2F(y[b].d)) * (float)(lo + hi);
    }
    *s = acc;
}

void cllm_cpu_dot_q5_1_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q5_1 *x = w;
    const cllm_block_q8_1 *y = a;
    const int64_t nb = n / QK8_1;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint32_t qh = q5_high_bits(x[b].qh);
        int lo = 0, hi = 0;
        for (int j = 0; j < 16; j++) {
            const int v0 = (int)((x[b].qs[j] & 0x0F) | (((qh >> j) & 1) << 4));
            const int v1 = (int)((x[b].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            lo += v0 * y[b].qs[j];
            hi += v1 * y[b].qs[j + 16];
        }
        acc += (H2F(x[b].d) * H2F(y[b].d)) * (float)(lo + hi) + H2F(x[b].m) * H2F(y[b].s);
    }
    *s = acc;
}

void cllm_cpu_dot_q8_0_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q8_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += x[b].qs[j] * y[b].qs[j];
        acc += (float)sum * (H2F(x[b].d) * H2F(y[b].d));
    }
    *s = acc;
}

void cllm_cpu_dot_iq4_nl_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_iq4_nl *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK4_NL;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const float d = H2F(y[b].d) * H2F(x[b].d);
        int lo = 0, hi = 0;
        for (int j = 0; j < 16; j++) {
            lo += y[b].qs[j] * cllm_kvalues_iq4nl[x[b].qs[j] & 0x0F];
            hi += y[b].qs[j + 16] * cllm_kvalues_iq4nl[x[b].qs[j] >> 4];
        }
        acc += d * (float)(lo + hi);
    }
    *s = acc;
}
