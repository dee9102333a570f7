/* kquant_ref.c: scalar reference dot products of the 256-element super-block
 * types (Q2_K..Q6_K, IQ4_XS) against Q8_K activations. Integer products are
 * summed per super-block; float accumulation follows ggml's generic kernels
 * (for Q3_K..Q6_K: 8 float lane sums added at the end, with the min term of
 * Q4_K/Q5_K subtracted from the running total per super-block). */
#include "core/fp16.h"
#include "cpu/kernels_impl.h"

#include <string.h>

#define H2F(h) cllm_fp16_to_fp32(h)

/* Finish a dot whose per-super-block integer lane sums were scaled into
 * sums[8]: total = start + sums[0] + ... + sums[7], in that order. */
static float lanes_total(float start, const float sums[8]) {
    float t = start;
    for (int l = 0; l < 8; l++) t += sums[l];
    return t;
}

void cllm_cpu_dot_q2_K_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q2_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *sc = x[b].scales;
        int summs = 0;
        for (int g = 0; g < 16; g++) summs += y[b].bsums[g] * (sc[g] >> 4);
        const float dall = y[b].d * H2F(x[b].d);
        const float dmin = y[b].d * H2F(x[b].dmin);
        int isum = 0;
        for (int g = 0; g < 16; g++) {
            /* group g: 16 elements e = g*16 + l; 128-element half h = g/8,
             * 2-bit plane p = (g/2)%4, byte offset 16*(g%2) within the half. */
            const int h = g >> 3, p = (g >> 1) & 3, off = (g & 1) * 16;
            const uint8_t *q2 = x[b].qs + h * 32 + off;
            const int8_t *q8 = y[b].qs + g * 16;
            int part = 0;
            for (int l = 0; l < 16; l++) part += q8[l] * ((q2[l] >> (2 * p)) & 3);
            isum += (sc[g] & 0x0F) * part;
        }
        acc += dall * (float)isum - dmin * (float)summs;
    }
    *s = acc;
}

void cllm_cpu_dot_q3_K_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q3_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float sums[8] = {0};
    for (int64_t b = 0; b < nb; b++) {
        int8_t sc[16];
        cllm_cpu_unpack_q3k_scales(x[b].scales, sc);
        /* element e = 128h + 32p + l: 2 bits at qs[32h + l] >> 2p, high bit
         * hmask[l] bit 4h + p (clear: subtract 4); integer lane e % 8 */
        int32_t lane[8] = {0};
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < 4; p++) {
                const int e0 = 128 * h + 32 * p;
                const uint8_t hbit = (uint8_t)(1u << (4 * h + p));
                for (int g = 0; g < 2; g++) { /* two 16-element groups, one scale each */
                    const int scale = sc[(e0 >> 4) + g];
                    for (int l = 16 * g; l < 16 * g + 16; l++) {
                        int v = (x[b].qs[32 * h + l] >> (2 * p)) & 3;
                        v -= (x[b].hmask[l] & hbit) ? 0 : 4;
                        lane[l & 7] += scale * (v * y[b].qs[e0 + l]);
                    }
                }
            }
        const float d = H2F(x[b].d) * y[b].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)lane[l];
    }
    *s = lanes_total(0.0f, sums);
}

void cllm_cpu_dot_q4_K_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float sums[8] = {0};
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t sc[8], mn[8];
        cllm_cpu_unpack_k4_scales(x[b].scales, sc, mn);
        int summ = 0;
        for (int g = 0; g < 16; g++) summ += y[b].bsums[g] * mn[g / 2];
        /* element e = 64j + 32hi + l: nibble hi of qs[32j + l]; lane e % 8 */
        int32_t lane[8] = {0};
        for (int j = 0; j < 4; j++)
            for (int hi = 0; hi < 2; hi++) {
                const int scale = sc[2 * j + hi];
                const int8_t *q8 = y[b].qs + 64 * j + 32 * hi;
                for (int l = 0; l < 32; l++) {
                    const uint8_t q = x[b].qs[32 * j + l];
                    const int v = hi ? (q >> 4) : (q & 0x0F);
                    lane[l & 7] += scale * (v * q8[l]);
                }
            }
        const float d = H2F(x[b].d) * y[b].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)lane[l];
        const float dmin = H2F(x[b].dmin) * y[b].d;
        acc -= dmin * (float)summ;
    }
    *s = lanes_total(acc, sums);
}

void cllm_cpu_dot_q5_K_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q5_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float sums[8] = {0};
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t sc[8], mn[8];
        cllm_cpu_unpack_k4_scales(x[b].scales, sc, mn);
        int summ = 0;
        for (int g = 0; g < 16; g++) summ += y[b].bsums[g] * mn[g / 2];
        /* as Q4_K, plus 16 where qh[l] has bit 2j + hi */
        int32_t lane[8] = {0};
        for (int j = 0; j < 4; j++)
            for (int hi = 0; hi < 2; hi++) {
                const int scale = sc[2 * j + hi];
                const uint8_t hbit = (uint8_t)(1u << (2 * j + hi));
                const int8_t *q8 = y[b].qs + 64 * j + 32 * hi;
                for (int l = 0; l < 32; l++) {
                    const uint8_t q = x[b].qs[32 * j + l];
                    int v = hi ? (q >> 4) : (q & 0x0F);
                    v += (x[b].qh[l] & hbit) ? 16 : 0;
                    lane[l & 7] += scale * (v * q8[l]);
                }
            }
        const float d = H2F(x[b].d) * y[b].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)lane[l];
        const float dmin = H2F(x[b].dmin) * y[b].d;
        acc -= dmin * (float)summ;
    }
    *s = lanes_total(acc, sums);
}

void cllm_cpu_dot_q6_K_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q6_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float sums[8] = {0};
    for (int64_t b = 0; b < nb; b++) {
        /* half h (128 elements), quarter p inside it, position l < 32:
         * low nibble from ql[64h + l + 32*(p&1)] (p >= 2: high nibble), high
         * 2 bits from qh[32h + l] >> 2p; value - 32; lane e % 8 */
        int32_t lane[8] = {0};
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < 4; p++) {
                const int e0 = 128 * h + 32 * p;
                const uint8_t *ql = x[b].ql + 64 * h + 32 * (p & 1);
                const uint8_t *qh = x[b].qh + 32 * h;
                for (int g = 0; g < 2; g++) {
                    const int scale = x[b].scales[(e0 >> 4) + g];
                    for (int l = 16 * g; l < 16 * g + 16; l++) {
                        const int lo = p >= 2 ? (ql[l] >> 4) : (ql[l] & 0x0F);
                        const int v = (lo | (((qh[l] >> (2 * p)) & 3) << 4)) - 32;
                        lane[l & 7] += scale * (v * y[b].qs[e0 + l]);
                    }
                }
            }
        const float d = H2F(x[b].d) * y[b].d;
        for (int l = 0; l < 8; l++) sums[l] += d * (float)lane[l];
    }
    *s = lanes_total(0.0f, sums);
}

void cllm_cpu_dot_iq4_xs_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_iq4_xs *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const float d4d8 = H2F(x[b].d) * y[b].d;
        for (int ib = 0; ib < 8; ib++) {
            const int ls = ((x[b].scales_l[ib / 2] >> (4 * (ib & 1))) & 0x0F) |
                           (((x[b].scales_h >> (2 * ib)) & 3) << 4);
            const float d = d4d8 * (float)(ls - 32);
            const uint8_t *qs = x[b].qs + ib * 16;
            const int8_t *q8 = y[b].qs + ib * 32;
            int lo = 0, hi = 0;
            for (int j = 0; j < 16; j++) {
                lo += q8[j] * cllm_kvalues_iq4nl[qs[j] & 0x0F];
                hi += q8[j + 16] * cllm_kvalues_iq4nl[qs[j] >> 4];
            }
            acc += d * (float)(lo + hi);
        }
    }
    *s = acc;
}
