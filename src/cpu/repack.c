/* repack.c: conversion of Q4_0 / Q8_0 weight rows into the interleaved
 * 16-row layouts of repack.h, and the per-block activation sums the GEMM
 * kernels on those layouts use. Runs once at model load. */
#include "cpu/repack.h"
#include "cpu/kernels_impl.h"
#include "quant/blocks.h"

#include <string.h>

bool cllm_repack_supported(cllm_type t, int64_t ne0, int64_t ne1) {
    const int64_t qk = t == CLLM_TYPE_Q4_K || t == CLLM_TYPE_Q6_K ? 256 : 32;
    if (t != CLLM_TYPE_Q4_0 && t != CLLM_TYPE_Q8_0 && t != CLLM_TYPE_Q4_K && t != CLLM_TYPE_Q6_K) return false;
    return ne0 > 0 && ne0 % qk == 0 && ne1 > 0 && ne1 % CLLM_RP_ROWS == 0;
}

size_t cllm_repack_group_bytes(cllm_type t, int64_t ne0) {
    switch (t) {
    case CLLM_TYPE_Q4_0: return (size_t)(ne0 / 32) * CLLM_RP_ROWS * sizeof(cllm_block_q4_0);
    case CLLM_TYPE_Q8_0: return (size_t)(ne0 / 32) * CLLM_RP_ROWS * sizeof(cllm_block_q8_0);
    case CLLM_TYPE_Q4_K: return (size_t)(ne0 / 256) * 2496;
    case CLLM_TYPE_Q6_K: return (size_t)(ne0 / 256) * 4384;
    default: return 0;
    }
}

static void repack_q4_K(int64_t ne0, int64_t ne1, const void *src, void *dst) {
    const int64_t nb = ne0 / 256;
    const size_t row_bytes = (size_t)nb * sizeof(cllm_block_q4_K);
    for (int64_t g = 0; g < ne1 / CLLM_RP_ROWS; g++) {
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *db = (uint8_t *)dst + (size_t)g * cllm_repack_group_bytes(CLLM_TYPE_Q4_K, ne0) + (size_t)b * 2496;
            for (int r = 0; r < CLLM_RP_ROWS; r++) {
                const cllm_block_q4_K *x = (const cllm_block_q4_K *)((const uint8_t *)src +
                                                                     (size_t)(g * CLLM_RP_ROWS + r) * row_bytes) + b;
                memcpy(db + 2 * r, &x->d, 2);
                memcpy(db + 32 + 2 * r, &x->dmin, 2);
                uint8_t sc[8], mn[8];
                cllm_cpu_unpack_k4_scales(x->scales, sc, mn);
                for (int sb = 0; sb < 8; sb++) db[64 + 16 * sb + r] = sc[sb];
                for (int p = 0; p < 4; p++) {
                    const int16_t pr[2] = {mn[2 * p], mn[2 * p + 1]};
                    memcpy(db + 192 + 64 * p + 4 * r, pr, 4);
                }
                for (int p = 0; p < 4; p++)
                    for (int j = 0; j < 8; j++)
                        for (int tt = 0; tt < 4; tt++)
                            db[448 + 512 * p + 64 * j + 4 * r + tt] = x->qs[32 * p + 4 * j + tt];
            }
        }
    }
}

/* The 256 6-bit quants (0..63) of one Q6_K block in element order. */
static void q6_K_unpack(const cllm_block_q6_K *x, uint8_t q[256]) {
    for (int n = 0; n < 2; n++) {
        const uint8_t *ql = x->ql + 64 * n, *qh = x->qh + 32 * n;
        uint8_t *o = q + 128 * n;
        for (int l = 0; l < 32; l++) {
            o[l] = (uint8_t)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
            o[l + 32] = (uint8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
            o[l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
            o[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
    }
}

static void repack_q6_K(int64_t ne0, int64_t ne1, const void *src, void *dst) {
    const int64_t nb = ne0 / 256;
    const size_t row_bytes = (size_t)nb * sizeof(cllm_block_q6_K);
    uint8_t q[256];
    for (int64_t g = 0; g < ne1 / CLLM_RP_ROWS; g++) {
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *db = (uint8_t *)dst + (size_t)g * cllm_repack_group_bytes(CLLM_TYPE_Q6_K, ne0) + (size_t)b * 4384;
            for (int r = 0; r < CLLM_RP_ROWS; r++) {
                const cllm_block_q6_K *x = (const cllm_block_q6_K *)((const uint8_t *)src +
                                                                     (size_t)(g * CLLM_RP_ROWS + r) * row_bytes) + b;
                memcpy(db + 2 * r, &x->d, 2);
                for (int k = 0; k < 16; k++) db[32 + 16 * k + r] = (uint8_t)x->scales[k];
                q6_K_unpack(x, q);
                for (int j = 0; j < 64; j++)
                    for (int tt = 0; tt < 4; tt++) db[288 + 64 * j + 4 * r + tt] = q[4 * j + tt];
            }
        }
    }
}

void cllm_repack_rows(cllm_type t, int64_t ne0, int64_t ne1, const void *src, void *dst) {
    if (t == CLLM_TYPE_Q6_K) {
        repack_q6_K(ne0, ne1, src, dst);
        return;
    }
    if (t == CLLM_TYPE_Q4_K) {
        repack_q4_K(ne0, ne1, src, dst);
        return;
    }
    const int64_t nb = ne0 / 32;
    const int q4 = t == CLLM_TYPE_Q4_0;
    const size_t bsz = q4 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0);
    const size_t row_bytes = (size_t)nb * bsz;
    const int nj = q4 ? 4 : 8;   /* 64-byte vectors per block */
    for (int64_t g = 0; g < ne1 / CLLM_RP_ROWS; g++) {
        const uint8_t *sg = (const uint8_t *)src + (size_t)g * CLLM_RP_ROWS * row_bytes;
        uint8_t *dg = (uint8_t *)dst + (size_t)g * CLLM_RP_ROWS * row_bytes;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *db = dg + (size_t)b * CLLM_RP_ROWS * bsz;
            for (int r = 0; r < CLLM_RP_ROWS; r++) {
                const uint8_t *sb = sg + (size_t)r * row_bytes + (size_t)b * bsz;
                memcpy(db + 2 * r, sb, 2);   /* fp16 scale */
                for (int j = 0; j < nj; j++)
                    for (int tt = 0; tt < 4; tt++) {
                        const uint8_t q = sb[2 + 4 * j + tt];
                        db[32 + 64 * j + 4 * r + tt] = q4 ? q : (uint8_t)(q ^ 0x80);
                    }
            }
        }
    }
}

void cllm_rpx_pack_row(const void *q8, int64_t n, int tok, int n_tok, void *x) {
    const cllm_block_q8_0 *y = q8;
    const int64_t nb = n / 32;
    const int t = tok / CLLM_RPX_COLS, c = tok % CLLM_RPX_COLS;
    const int C = n_tok - t * CLLM_RPX_COLS < CLLM_RPX_COLS ? n_tok - t * CLLM_RPX_COLS : CLLM_RPX_COLS;
    uint8_t *tile = (uint8_t *)x + (size_t)t * CLLM_RPX_COLS * (size_t)nb * CLLM_RPX_BLOCK(1);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = tile + (size_t)b * CLLM_RPX_BLOCK(C);
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += y[b].qs[i];
        const float d = cllm_fp16_to_fp32(y[b].d);
        const int32_t z4 = -8 * s, z8 = -128 * s;
        memcpy(blk + 32 * c, y[b].qs, 32);
        memcpy(blk + 32 * C + 4 * c, &d, 4);
        memcpy(blk + 36 * C + 4 * c, &z4, 4);
        memcpy(blk + 40 * C + 4 * c, &z8, 4);
    }
}

void cllm_rpx_pack_row_q8_K(const void *q8k, int64_t n, int tok, int n_tok, void *x) {
    const cllm_block_q8_K *y = q8k;
    const int64_t nb = n / 256;
    const int t = tok / CLLM_RPX_COLS, c = tok % CLLM_RPX_COLS;
    const int C = n_tok - t * CLLM_RPX_COLS < CLLM_RPX_COLS ? n_tok - t * CLLM_RPX_COLS : CLLM_RPX_COLS;
    uint8_t *tile = (uint8_t *)x + (size_t)t * CLLM_RPX_COLS * (size_t)nb * CLLM_RPXK_BLOCK(1);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = tile + (size_t)b * CLLM_RPXK_BLOCK(C);
        memcpy(blk + 256 * c, y[b].qs, 256);
        memcpy(blk + 256 * C + 4 * c, &y[b].d, 4);
        int32_t mp[4], zs[16];
        for (int p = 0; p < 4; p++) {
            const int32_t s0 = y[b].bsums[4 * p] + y[b].bsums[4 * p + 1];
            const int32_t s1 = y[b].bsums[4 * p + 2] + y[b].bsums[4 * p + 3];
            mp[p] = (int32_t)(((uint32_t)(uint16_t)(int16_t)s0) | ((uint32_t)(uint16_t)(int16_t)s1 << 16));
        }
        for (int k = 0; k < 16; k++) zs[k] = -32 * y[b].bsums[k];
        memcpy(blk + 260 * C + 16 * c, mp, 16);
        memcpy(blk + 276 * C + 64 * c, zs, 64);
    }
}

void cllm_cpu_rp_aux_row(const void *a, int64_t n, cllm_rp_aux *aux) {
    const cllm_block_q8_0 *y = a;
    for (int64_t b = 0; b < n / 32; b++) {
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += y[b].qs[i];
        aux[b].d = cllm_fp16_to_fp32(y[b].d);
        aux[b].sum = s;
        aux[b].zs4 = -8 * s;
        aux[b].zs8 = -128 * s;
    }
}

void cllm_cpu_rp_aux_row_q8_K(const void *a, int64_t n, cllm_rp_aux *aux) {
    const cllm_block_q8_K *y = a;
    for (int64_t k = 0; k < n / 256; k++) {
        cllm_rp_aux *x = aux + 8 * k;
        memset(x, 0, 8 * sizeof *x);
        x[0].d = y[k].d;
        for (int p = 0; p < 4; p++) {
            const int32_t s0 = y[k].bsums[4 * p] + y[k].bsums[4 * p + 1];
            const int32_t s1 = y[k].bsums[4 * p + 2] + y[k].bsums[4 * p + 3];
            x[p].sum = (int32_t)(((uint32_t)(uint16_t)(int16_t)s0) | ((uint32_t)(uint16_t)(int16_t)s1 << 16));
        }
        for (int i = 0; i < 8; i++) {   /* Q6_K zero point (32) per 16-element sub-block */
            x[i].zs4 = -32 * y[k].bsums[2 * i];
            x[i].zs8 = -32 * y[k].bsums[2 * i + 1];
        }
    }
}
