/* repack.c: conversion of Q4_0 / Q8_0 weight rows into the interleaved
 * 16-row layouts of repack.h, and the per-block activation sums the GEMM
 * kernels on those layouts use. Runs once at model load. */
#include "cpu/repack.h"
#include "quant/blocks.h"

#include <string.h>

bool cllm_repack_supported(cllm_type t, int64_t ne0, int64_t ne1) {
    if (t != CLLM_TYPE_Q4_0 && t != CLLM_TYPE_Q8_0) return false;
    return ne0 > 0 && ne0 % 32 == 0 && ne1 > 0 && ne1 % CLLM_RP_ROWS == 0;
}

void cllm_repack_rows(cllm_type t, int64_t ne0, int64_t ne1, const void *src, void *dst) {
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

void cllm_cpu_rp_aux_row(const void *a, int64_t n, cllm_rp_aux *aux) {
    const cllm_block_q8_0 *y = a;
    for (int64_t b = 0; b < n / 32; b++) {
        int32_t s = 0;
        for (int i = 0; i < 32; i++) s += y[b].qs[i];
        aux[b].d = cllm_fp16_to_fp32(y[b].d);
        aux[b].sum = s;
    }
}
