/* repack_ref.c: scalar reference GEMMs on the repacked Q4_0 / Q8_0 groups
 * of repack.h (the SIMD kernels are checked against these and against the
 * plain vec_dot by tests/test_repack.c). Per block: an exact integer dot of
 * the unsigned weight bytes with the int8 activations, minus zero point x
 * the activation block sum, times d_w * d_a. */
#include "cpu/repack.h"
#include "core/fp16.h"
#include "quant/blocks.h"

static void gemm_ref(int q4, int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                     size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride) {
    const int64_t nb = n / 32;
    const size_t gbs = CLLM_RP_ROWS * (q4 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0));
    const int zp = q4 ? 8 : 128;
    for (int c = 0; c < nc; c++) {
        const cllm_block_q8_0 *y = (const cllm_block_q8_0 *)((const uint8_t *)a + (size_t)c * a_stride);
        const cllm_rp_aux *x = aux + (int64_t)c * aux_stride;
        for (int r = 0; r < CLLM_RP_ROWS; r++) {
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = (const uint8_t *)wg + (size_t)b * gbs;
                cllm_fp16 d;
                memcpy(&d, blk + 2 * r, 2);
                const uint8_t *qs = blk + 32;
                int32_t isum = 0;
                if (q4) {
                    for (int j = 0; j < 4; j++)
                        for (int t = 0; t < 4; t++) {
                            const uint8_t q = qs[64 * j + 4 * r + t];
                            isum += (q & 15) * y[b].qs[4 * j + t] + (q >> 4) * y[b].qs[16 + 4 * j + t];
                        }
                } else {
                    for (int j = 0; j < 8; j++)
                        for (int t = 0; t < 4; t++) isum += qs[64 * j + 4 * r + t] * y[b].qs[4 * j + t];
                }
                isum -= zp * x[b].sum;
                sum += (float)isum * (cllm_fp16_to_fp32(d) * x[b].d);
            }
            s[(int64_t)c * lds + r] = sum;
        }
    }
}

void cllm_cpu_gemm_rp_q4_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride) {
    gemm_ref(1, n, nc, s, lds, wg, a, a_stride, aux, aux_stride);
}

void cllm_cpu_gemm_rp_q8_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride) {
    gemm_ref(0, n, nc, s, lds, wg, a, a_stride, aux, aux_stride);
}

/* gemm_rpx: the same arithmetic reading the packed tiles (repack.h). */
static void gemm_rpx_ref(int q4, int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {
    const int64_t nb = n / 32;
    const size_t gbs = CLLM_RP_ROWS * (q4 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0));
    for (int c0 = 0; c0 < nc; c0 += CLLM_RPX_COLS) {
        const int C = nc - c0 < CLLM_RPX_COLS ? nc - c0 : CLLM_RPX_COLS;
        const uint8_t *tile = (const uint8_t *)x + (size_t)c0 * (size_t)nb * CLLM_RPX_BLOCK(1);
        for (int c = 0; c < C; c++)
            for (int r = 0; r < CLLM_RP_ROWS; r++) {
                float sum = 0.0f;
                for (int64_t b = 0; b < nb; b++) {
                    const uint8_t *blk = (const uint8_t *)wg + (size_t)b * gbs;
                    const uint8_t *xb = tile + (size_t)b * CLLM_RPX_BLOCK(C);
                    const int8_t *y = (const int8_t *)xb + 32 * c;
                    float d_a;
                    int32_t zs;
                    memcpy(&d_a, xb + 32 * C + 4 * c, 4);
                    memcpy(&zs, xb + (q4 ? 36 : 40) * C + 4 * c, 4);
                    cllm_fp16 d;
                    memcpy(&d, blk + 2 * r, 2);
                    const uint8_t *qs = blk + 32;
                    int32_t isum = zs;
                    if (q4) {
                        for (int j = 0; j < 4; j++)
                            for (int t = 0; t < 4; t++) {
                                const uint8_t q = qs[64 * j + 4 * r + t];
                                isum += (q & 15) * y[4 * j + t] + (q >> 4) * y[16 + 4 * j + t];
                            }
                    } else {
                        for (int j = 0; j < 8; j++)
                            for (int t = 0; t < 4; t++) isum += qs[64 * j + 4 * r + t] * y[4 * j + t];
                    }
                    sum += (float)isum * (cllm_fp16_to_fp32(d) * d_a);
                }
                s[(int64_t)(c0 + c) * lds + r] = sum;
            }
    }
}

void cllm_cpu_gemm_rpx_q4_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {
    gemm_rpx_ref(1, n, nc, s, lds, wg, x);
}

void cllm_cpu_gemm_rpx_q8_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {
    gemm_rpx_ref(0, n, nc, s, lds, wg, x);
}

void cllm_cpu_gemm_rp_q4_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride) {
    const int64_t nb = n / 256;
    for (int c = 0; c < nc; c++) {
        const cllm_block_q8_K *y = (const cllm_block_q8_K *)((const uint8_t *)a + (size_t)c * a_stride);
        const cllm_rp_aux *x = aux + (int64_t)c * aux_stride;
        for (int r = 0; r < CLLM_RP_ROWS; r++) {
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = (const uint8_t *)wg + (size_t)b * 2496;
                cllm_fp16 d, dmin;
                memcpy(&d, blk + 2 * r, 2);
                memcpy(&dmin, blk + 32 + 2 * r, 2);
                int32_t isum = 0, msum = 0;
                for (int p = 0; p < 4; p++) {
                    int32_t lo = 0, hi = 0;
                    for (int j = 0; j < 8; j++)
                        for (int t = 0; t < 4; t++) {
                            const uint8_t q = blk[448 + 512 * p + 64 * j + 4 * r + t];
                            lo += (q & 15) * y[b].qs[64 * p + 4 * j + t];
                            hi += (q >> 4) * y[b].qs[64 * p + 32 + 4 * j + t];
                        }
                    isum += blk[64 + 16 * (2 * p) + r] * lo + blk[64 + 16 * (2 * p + 1) + r] * hi;
                    int16_t mn[2];
                    memcpy(mn, blk + 192 + 64 * p + 4 * r, 4);
                    const uint32_t pr = (uint32_t)x[8 * b + p].sum;
                    msum += mn[0] * (int16_t)(pr & 0xFFFF) + mn[1] * (int16_t)(pr >> 16);
                }
                const float dy = x[8 * b].d;
                sum += cllm_fp16_to_fp32(d) * dy * (float)isum - cllm_fp16_to_fp32(dmin) * dy * (float)msum;
            }
            s[(int64_t)c * lds + r] = sum;
        }
    }
}

void cllm_cpu_gemm_rp_q6_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride) {
    const int64_t nb = n / 256;
    for (int c = 0; c < nc; c++) {
        const cllm_block_q8_K *y = (const cllm_block_q8_K *)((const uint8_t *)a + (size_t)c * a_stride);
        const cllm_rp_aux *x = aux + (int64_t)c * aux_stride;
        for (int r = 0; r < CLLM_RP_ROWS; r++) {
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = (const uint8_t *)wg + (size_t)b * 4384;
                cllm_fp16 d;
                memcpy(&d, blk + 2 * r, 2);
                int32_t isum = 0;
                for (int k = 0; k < 16; k++) {
                    const cllm_rp_aux *xk = &x[8 * b + k / 2];
                    int32_t sk = k & 1 ? xk->zs8 : xk->zs4;   /* -32 * bsums[k] */
                    for (int e = 16 * k; e < 16 * k + 16; e++) sk += blk[288 + 64 * (e / 4) + 4 * r + e % 4] * y[b].qs[e];
                    isum += (int8_t)blk[32 + 16 * k + r] * sk;
                }
                sum += cllm_fp16_to_fp32(d) * y[b].d * (float)isum;
            }
            s[(int64_t)c * lds + r] = sum;
        }
    }
}

/* gemm_rpx for Q4_K / Q6_K: the arithmetic of the gemm_rp references above,
 * reading the packed Q8_K tiles (repack.h). */
void cllm_cpu_gemm_rpx_q4_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {
    const int64_t nb = n / 256;
    for (int c0 = 0; c0 < nc; c0 += CLLM_RPX_COLS) {
        const int C = nc - c0 < CLLM_RPX_COLS ? nc - c0 : CLLM_RPX_COLS;
        const uint8_t *tile = (const uint8_t *)x + (size_t)c0 * (size_t)nb * CLLM_RPXK_BLOCK(1);
        for (int c = 0; c < C; c++)
            for (int r = 0; r < CLLM_RP_ROWS; r++) {
                float sum = 0.0f;
                for (int64_t b = 0; b < nb; b++) {
                    const uint8_t *blk = (const uint8_t *)wg + (size_t)b * 2496;
                    const uint8_t *xb = tile + (size_t)b * CLLM_RPXK_BLOCK(C);
                    const int8_t *y = (const int8_t *)xb + 256 * c;
                    float dy;
                    memcpy(&dy, xb + 256 * C + 4 * c, 4);
                    cllm_fp16 d, dmin;
                    memcpy(&d, blk + 2 * r, 2);
                    memcpy(&dmin, blk + 32 + 2 * r, 2);
                    int32_t isum = 0, msum = 0;
                    for (int p = 0; p < 4; p++) {
                        int32_t lo = 0, hi = 0;
                        for (int j = 0; j < 8; j++)
                            for (int t = 0; t < 4; t++) {
                                const uint8_t q = blk[448 + 512 * p + 64 * j + 4 * r + t];
                                lo += (q & 15) * y[64 * p + 4 * j + t];
                                hi += (q >> 4) * y[64 * p + 32 + 4 * j + t];
                            }
                        isum += blk[64 + 16 * (2 * p) + r] * lo + blk[64 + 16 * (2 * p + 1) + r] * hi;
                        int16_t mn[2], pr[2];
                        memcpy(mn, blk + 192 + 64 * p + 4 * r, 4);
                        memcpy(pr, xb + 260 * C + 16 * c + 4 * p, 4);
                        msum += mn[0] * pr[0] + mn[1] * pr[1];
                    }
                    sum += cllm_fp16_to_fp32(d) * dy * (float)isum - cllm_fp16_to_fp32(dmin) * dy * (float)msum;
                }
                s[(int64_t)(c0 + c) * lds + r] = sum;
            }
    }
}

void cllm_cpu_gemm_rpx_q6_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x) {
    const int64_t nb = n / 256;
    for (int c0 = 0; c0 < nc; c0 += CLLM_RPX_COLS) {
        const int C = nc - c0 < CLLM_RPX_COLS ? nc - c0 : CLLM_RPX_COLS;
        const uint8_t *tile = (const uint8_t *)x + (size_t)c0 * (size_t)nb * CLLM_RPXK_BLOCK(1);
        for (int c = 0; c < C; c++)
            for (int r = 0; r < CLLM_RP_ROWS; r++) {
                float sum = 0.0f;
                for (int64_t b = 0; b < nb; b++) {
                    const uint8_t *blk = (const uint8_t *)wg + (size_t)b * 4384;
                    const uint8_t *xb = tile + (size_t)b * CLLM_RPXK_BLOCK(C);
                    const int8_t *y = (const int8_t *)xb + 256 * c;
                    float dy;
                    memcpy(&dy, xb + 256 * C + 4 * c, 4);
                    cllm_fp16 d;
                    memcpy(&d, blk + 2 * r, 2);
                    int32_t isum = 0;
                    for (int k = 0; k < 16; k++) {
                        int32_t sk;   /* -32 * bsums[k] */
                        memcpy(&sk, xb + 276 * C + 64 * c + 4 * k, 4);
                        for (int e = 16 * k; e < 16 * k + 16; e++) sk += blk[288 + 64 * (e / 4) + 4 * r + e % 4] * y[e];
                        isum += (int8_t)blk[32 + 16 * k + r] * sk;
                    }
                    sum += cllm_fp16_to_fp32(d) * dy * (float)isum;
                }
                s[(int64_t)(c0 + c) * lds + r] = sum;
            }
    }
}
