/* quantize_k.c: reference quantization of the K-quants (Q2_K..Q6_K, 256-value
 * super-blocks with quantized sub-block scales). Without an importance matrix
 * these are ggml's quantize_row_q*_K_ref (what llama-quantize uses without
 * --imatrix); with one, ggml's weighted "impl" variants. Both follow ggml
 * operation for operation so that the output bytes agree. */
#include "quant/blocks.h"
#include "quant/quant_util.h"
#include "quant/quantize_impl.h"

#include <math.h>
#include <string.h>

/* Pack 256 2-bit levels the Q2_K/Q3_K way: byte l of 32-byte chunk c holds
 * elements 128c + l, +32, +64, +96 in bit pairs 0, 2, 4, 6. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int c = 0; c < 2; c++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *p = L + 128 * c + l;
            qs[32 * c + l] = (uint8_t)(p[0] | (p[32] << 2) | (p[64] << 4) | (p[96] << 6));
        }
}

/* Store 6-bit scale ls and min lm of sub-block j in Q4_K/Q5_K's 12 bytes
 * (inverse of cllm_quant_scale_min_k4). Bytes must start zeroed for j >= 4
 * only in their top bits, which j < 4 writes first. */
static void put_scale_min_k4(uint8_t *sc, int j, uint8_t ls, uint8_t lm) {
    if (j < 4) {
        sc[j] = ls;
        sc[j + 4] = lm;
    } else {
        sc[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
        sc[j - 4] |= (uint8_t)((ls >> 4) << 6);
        sc[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

/* ------------------------------------------------------------------ Q2_K */

static void q2_K_finish(cllm_block_q2_K *y, const float *x, uint8_t *L) {
    /* Re-derive the levels from the stored (rounded) scales. */
    const float dall = cllm_fp16_to_fp32(y->d), mall = cllm_fp16_to_fp32(y->dmin);
    for (int j = 0; j < 16; j++) {
        const float d = dall * (float)(y->scales[j] & 0xF);
        if (d == 0.f) continue;
        const float dm = mall * (float)(y->scales[j] >> 4);
        for (int ii = 0; ii < 16; ii++)
            L[16 * j + ii] = (uint8_t)cllm_iclamp(cllm_nearest_int((x[16 * j + ii] + dm) / d), 0, 3);
    }
    pack_2bit(L, y->qs);
}

void cllm_quant_q2_K(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q2_K *y = vy;
    const int64_t nb = n / QK_K;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[16], scales[16];
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        if (!qw) {
            const float q4scale = 15.f;
            float max_scale = 0, max_min = 0;
            for (int j = 0; j < 16; j++) {
                for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
                scales[j] = cllm_qs_affine(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                           -0.5f, 0.1f, 15, true);
                if (scales[j] > max_scale) max_scale = scales[j];
                if (mins[j] > max_min) max_min = mins[j];
            }
            if (max_scale > 0) {
                const float iscale = q4scale / max_scale;
                for (int j = 0; j < 16; j++) y[i].scales[j] = (uint8_t)cllm_nearest_int(iscale * scales[j]);
                y[i].d = cllm_fp32_to_fp16(max_scale / q4scale);
            } else {
                memset(y[i].scales, 0, 16);
                y[i].d = cllm_fp32_to_fp16(0.f);
            }
            if (max_min > 0) {
                const float iscale = q4scale / max_min;
                for (int j = 0; j < 16; j++)
                    y[i].scales[j] |= (uint8_t)(cllm_nearest_int(iscale * mins[j]) << 4);
                y[i].dmin = cllm_fp32_to_fp16(max_min / q4scale);
            } else {
                y[i].dmin = cllm_fp32_to_fp16(0.f);
            }
        } else {
            const float *qwb = qw + QK_K * i;
            float sw[16] = {0};
            uint8_t Ls[16], Lm[16];
            float sumx2 = 0;
            for (int j = 0; j < QK_K; j++) sumx2 += x[j] * x[j];
            const float sigma2 = sumx2 / QK_K;
            for (int j = 0; j < 16; j++) {
                for (int l = 0; l < 16; l++)
                    weights[l] = qwb[16 * j + l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
                for (int l = 0; l < 16; l++) sw[j] += weights[l];
                scales[j] = cllm_qs_affine_w(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                             -0.9f, 0.05f, 36, false);
            }
            const float dm = cllm_qs_positive(16, 15, scales, Ls, sw);
            const float mm = cllm_qs_positive(16, 15, mins, Lm, sw);
            y[i].d = cllm_fp32_to_fp16(dm);
            y[i].dmin = cllm_fp32_to_fp16(mm);
            for (int j = 0; j < 16; j++) y[i].scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
        }
        q2_K_finish(&y[i], x, L);
    }
}

/* ------------------------------------------------------------------ Q3_K */

/* Store 16 6-bit scale codes (0..63) in Q3_K's 12 bytes. */
static void q3_K_put_scales(uint8_t sc[12], const int codes[16]) {
    memset(sc, 0, 12);
    for (int j = 0; j < 16; j++) {
        const int l = codes[j];
        if (j < 8) sc[j] = (uint8_t)(l & 0xF);
        else sc[j - 8] |= (uint8_t)((l & 0xF) << 4);
        sc[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
    }
}

static void q3_K_finish(cllm_block_q3_K *y, const float *x, int8_t *L) {
    const float dall = cllm_fp16_to_fp32(y->d);
    for (int j = 0; j < 16; j++) {
        const int lo = j < 8 ? (y->scales[j] & 0xF) : (y->scales[j - 8] >> 4);
        const int sc = (lo | (((y->scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
        const float d = dall * (float)sc;
        if (d == 0.f) continue;
        for (int ii = 0; ii < 16; ii++)
            L[16 * j + ii] = (int8_t)(cllm_iclamp(cllm_nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
    }
    /* High bit of element j goes to bit j/32 of hmask[j%32]. */
    memset(y->hmask, 0, sizeof y->hmask);
    uint8_t L2[QK_K];
    for (int j = 0; j < QK_K; j++) {
        int l = L[j];
        if (l > 3) {
            y->hmask[j % 32] |= (uint8_t)(1u << (j / 32));
            l -= 4;
        }
        L2[j] = (uint8_t)l;
    }
    pack_2bit(L2, y->qs);
}

void cllm_quant_q3_K(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q3_K *y = vy;
    const int64_t nb = n / QK_K;
    int8_t L[QK_K];
    float scales[16];
    int codes[16];
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        if (!qw) {
            float max_scale = 0, amax = 0;
            for (int j = 0; j < 16; j++) {
                scales[j] = cllm_qs_symmetric_descent(16, 4, x + 16 * j, L + 16 * j, true);
                const float a = fabsf(scales[j]);
                if (a > amax) {
                    amax = a;
                    max_scale = scales[j];
                }
            }
            if (max_scale != 0.f) {
                const float iscale = -32.f / max_scale;
                for (int j = 0; j < 16; j++) {
                    const int l = (int8_t)cllm_nearest_int(iscale * scales[j]);
                    codes[j] = cllm_iclamp(l, -32, 31) + 32;
                }
                q3_K_put_scales(y[i].scales, codes);
                y[i].d = cllm_fp32_to_fp16(1 / iscale);
            } else {
                memset(y[i].scales, 0, 12);
                y[i].d = cllm_fp32_to_fp16(0.f);
            }
        } else {
            const float *qwb = qw + QK_K * i;
            float weight[16], sw[16];
            int8_t Ls[16];
            float sumx2 = 0;
            for (int j = 0; j < QK_K; j++) sumx2 += x[j] * x[j];
            const float sigma2 = 2 * sumx2 / QK_K;
            for (int j = 0; j < 16; j++) {
                for (int l = 0; l < 16; l++)
                    weight[l] = qwb[16 * j + l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
                float sumw = 0;
                for (int l = 0; l < 16; l++) sumw += weight[l];
                sw[j] = sumw;
                scales[j] = cllm_qs_symmetric(16, 4, x + 16 * j, L + 16 * j, 1, weight);
            }
            const float d_block = cllm_qs_symmetric(16, 32, scales, Ls, 1, sw);
            for (int j = 0; j < 16; j++) codes[j] = Ls[j];
            q3_K_put_scales(y[i].scales, codes);
            y[i].d = cllm_fp32_to_fp16(d_block);
        }
        q3_K_finish(&y[i], x, L);
    }
}

/* ------------------------------------------------------------ Q4_K, Q5_K */

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): choose per-sub-block scale and
 * min, store them as 6-bit codes with super-block d/dmin, then re-derive the
 * levels L (0..nmax) from the stored values. */
static void k4_scales_and_levels(const float *x, int nmax, const float *qw, uint8_t sc12[12],
                                 cllm_fp16 *dh, cllm_fp16 *dminh, uint8_t *L) {
    uint8_t Laux[32];
    float weights[32], mins[8], scales[8];
    if (!qw) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; j++) {
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
            const float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
            if (nmax == 15)
                scales[j] = cllm_qs_affine(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                           -1.f, 0.1f, 20, false);
            else
                scales[j] = cllm_qs_affine(32, 31, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                           -0.5f, 0.1f, 15, false);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        for (int j = 0; j < 8; j++) {
            uint8_t ls = (uint8_t)cllm_nearest_int(inv_scale * scales[j]);
            uint8_t lm = (uint8_t)cllm_nearest_int(inv_min * mins[j]);
            ls = ls < 63 ? ls : 63;
            lm = lm < 63 ? lm : 63;
            put_scale_min_k4(sc12, j, ls, lm);
        }
        *dh = cllm_fp32_to_fp16(max_scale / 63.f);
        *dminh = cllm_fp32_to_fp16(max_min / 63.f);
    } else {
        float sw[8];
        uint8_t Ls[8], Lm[8];
        float sum_x2 = 0;
        for (int l = 0; l < QK_K; l++) sum_x2 += x[l] * x[l];
        const float sigma2 = 2 * sum_x2 / QK_K;
        for (int j = 0; j < 8; j++) {
            for (int l = 0; l < 32; l++)
                weights[l] = qw[32 * j + l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
            float sumw = 0;
            for (int l = 0; l < 32; l++) sumw += weights[l];
            sw[j] = sumw;
            scales[j] = cllm_qs_affine_w(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                         -0.9f, 0.05f, 36, false);
        }
        const float d_block = cllm_qs_positive(8, 63, scales, Ls, sw);
        const float m_block = cllm_qs_positive(8, 63, mins, Lm, sw);
        for (int j = 0; j < 8; j++) {
            const uint8_t ls = Ls[j] < 63 ? Ls[j] : 63, lm = Lm[j] < 63 ? Lm[j] : 63;
            put_scale_min_k4(sc12, j, ls, lm);
        }
        *dh = cllm_fp32_to_fp16(d_block);
        *dminh = cllm_fp32_to_fp16(m_block);
    }
    const float dall = cllm_fp16_to_fp32(*dh), mall = cllm_fp16_to_fp32(*dminh);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        cllm_quant_scale_min_k4(j, sc12, &sc, &m);
        const float d = dall * (float)sc;
        if (d == 0.f) continue;
        const float dm = mall * (float)m;
        for (int ii = 0; ii < 32; ii++)
            L[32 * j + ii] = (uint8_t)cllm_iclamp(cllm_nearest_int((x[32 * j + ii] + dm) / d), 0, nmax);
    }
}

void cllm_quant_q4_K(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q4_K *y = vy;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        k4_scales_and_levels(x, 15, qw ? qw + QK_K * i : NULL, y[i].scales, &y[i].d, &y[i].dmin, L);
        /* chunk c of 32 bytes: sub-block 2c in the low nibbles, 2c+1 high */
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}

void cllm_quant_q5_K(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q5_K *y = vy;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        k4_scales_and_levels(x, 31, qw ? qw + QK_K * i : NULL, y[i].scales, &y[i].d, &y[i].dmin, L);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                const int a = L[64 * c + l], b = L[64 * c + 32 + l];
                /* fifth bit of sub-block s sits at bit s of qh[l] */
                y[i].qh[l] |= (uint8_t)(((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1)));
                y[i].qs[32 * c + l] = (uint8_t)((a & 0xF) | ((b & 0xF) << 4));
            }
    }
}

/* ------------------------------------------------------------------ Q6_K */

void cllm_quant_q6_K(const float *x, void *vy, int64_t n, const float *qw) {
    cllm_block_q6_K *y = vy;
    int8_t L[QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < 16; ib++) {
            const float *w = qw ? qw + QK_K * i + 16 * ib : NULL;
            const float scale = cllm_qs_symmetric(16, 32, x + 16 * ib, L + 16 * ib, 1, w);
            scales[ib] = scale;
            const float a = fabsf(scale);
            if (a > max_abs_scale) {
                max_abs_scale = a;
                max_scale = scale;
            }
        }
        if (max_abs_scale < CLLM_GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = cllm_fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < 16; ib++)
            y[i].scales[ib] = (int8_t)cllm_imin(127, cllm_nearest_int(iscale * scales[ib]));
        const float dall = cllm_fp16_to_fp32(y[i].d);
        for (int j = 0; j < 16; j++) {
            const float d = dall * (float)y[i].scales[j];
            if (d == 0.f) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(cllm_iclamp(cllm_nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
        }
        /* Each 128-value half: ql gets low nibbles (elements l and l+64 share
         * ql[l], l+32 and l+96 share ql[l+32]); qh[l] the top 2 bits of all 4. */
        for (int h = 0; h < 2; h++) {
            uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;
            const int8_t *Lh = L + 128 * h;
            for (int l = 0; l < 32; l++) {
                const int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
                ql[l] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }
}
