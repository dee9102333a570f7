/* repack.h: interleaved ("repacked") weight layouts for prompt-processing
 * GEMM. A group of CLLM_RP_ROWS consecutive weight rows is stored block by
 * block: for each 32-element block index b, the 16 rows' fp16 scales, then
 * the rows' quants interleaved 4 bytes at a time, so that one 64-byte vector
 * holds 4 consecutive elements of each of the 16 rows -- exactly the operand
 * of one vpdpbusd against an activation broadcast of 4 bytes.
 *
 * Q4_0 x16 (288 bytes per block = 16 x 18): d[16] fp16, qs[4][64] with
 *   qs[j][4r+t] = row r's original qs[4j+t]: the low nibble is element
 *   4j+t, the high nibble element 16+4j+t (unsigned 0..15, zero point 8).
 * Q8_0 x16 (544 bytes per block = 16 x 34): d[16] fp16, qs[8][64] with
 *   qs[j][4r+t] = row r's qs[4j+t] XOR 0x80 (unsigned, zero point 128).
 * Q4_K x16 (2496 bytes per 256-element super-block): d[16] fp16,
 *   dmin[16] fp16, sc[8][16] u8 (6-bit scale of sub-block s, row r),
 *   mn[4][16][2] int16 (row r's mins of sub-blocks 2p, 2p+1 as one pair, for
 *   vpdpwssd), qs[4][8][64] with qs[p][j][4r+t] = row r's original
 *   qs[32p+4j+t]: low nibble = element 64p+4j+t, high = 64p+32+4j+t.
 * Q6_K x16 (4384 bytes per super-block): d[16] fp16, sc[16][16] int8
 *   (scale of 16-element sub-block k, row r), qs[64][64] with
 *   qs[j][4r+t] = row r's 6-bit quant of element 4j+t (0..63, zero point 32).
 *   Larger than the original (8 bits per quant): used for batches only.
 * Q4_0/Q8_0 groups take exactly CLLM_RP_ROWS * row_bytes bytes; Q4_K groups
 * are larger (cllm_repack_group_bytes). */
#ifndef CLLM_CPU_REPACK_H
#define CLLM_CPU_REPACK_H

#include "cllm.h"
#include "cpu/kernels.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLLM_RP_ROWS 16

/* Whether weights of type t and shape ne0 x ne1 can be repacked (type has a
 * layout, ne0 % 32 == 0, ne1 % CLLM_RP_ROWS == 0). */
bool cllm_repack_supported(cllm_type t, int64_t ne0, int64_t ne1);

/* Smallest batch (tokens) for which the repacked layout is used: 2 for
 * Q6_K, whose repacked copy is larger than the original (decode, which is
 * bound by bytes read, keeps the original rows), else 1. */
static inline int cllm_repack_min_tokens(cllm_type t) { return t == CLLM_TYPE_Q6_K ? 2 : 1; }

/* Bytes of one group of CLLM_RP_ROWS repacked rows of ne0 elements. */
size_t cllm_repack_group_bytes(cllm_type t, int64_t ne0);

/* Repack rows [0, ne1) of src (row_bytes apart) into dst (ne1 / CLLM_RP_ROWS
 * groups of cllm_repack_group_bytes). Both borrowed; no overlap. */
void cllm_repack_rows(cllm_type t, int64_t ne0, int64_t ne1, const void *src, void *dst);

/* Packed activation tiles for gemm_rpx (Q4_0 / Q8_0 weights): tokens are
 * grouped in tiles of CLLM_RPX_COLS; a tile holding C tokens (C < 16 only
 * for the last) stores, per 32-element block b, CLLM_RPX_BLOCK(C) bytes:
 *   qs[C][32] int8 (token c's quants), d[C] float (scales),
 *   zs4[C] int32 (-8 * sum of the block's quants), zs8[C] int32 (-128 * sum).
 * Tile t begins at t * CLLM_RPX_COLS * (n/32) * CLLM_RPX_BLOCK(1) bytes, so
 * n_tok tokens take n_tok * (n/32) * 44 bytes in all. */
#define CLLM_RPX_COLS 16
#define CLLM_RPX_BLOCK(C) ((size_t)(C) * 44)
/* Write token `tok` (of n_tok) from its Q8_0 row q8 (n elements) into the
 * packed buffer x (both borrowed). */
void cllm_rpx_pack_row(const void *q8, int64_t n, int tok, int n_tok, void *x);

/* Packed Q8_K tiles for gemm_rpx on Q4_K / Q6_K weights: the same tiling
 * (CLLM_RPX_COLS tokens, the last tile holding C <= 16), per 256-element
 * super-block b, CLLM_RPXK_BLOCK(C) bytes:
 *   qs[C][256] int8 (token c's quants),   at 0
 *   d[C] float (the Q8_K scale),          at 256*C
 *   mp[C][4] int32 (Q4_K: the int16 pair (sum of 32-element sub-block 2p,
 *     of 2p+1) in the low/high half, for vpdpwssd with the mins), at 260*C
 *   zs[C][16] int32 (Q6_K: -32 * bsums[k], the zero-point term of
 *     16-element sub-block k),            at 276*C
 * so every operand of token c is a compile-time offset from the block's
 * start. Tile t begins at t * CLLM_RPX_COLS * (n/256) * CLLM_RPXK_BLOCK(1)
 * bytes: n_tok tokens take n_tok * (n/256) * 340 bytes in all. */
#define CLLM_RPXK_BLOCK(C) ((size_t)(C) * 340)
/* Write token `tok` (of n_tok) from its Q8_K row q8k (n elements, n % 256
 * == 0) into the packed buffer x (both borrowed). */
void cllm_rpx_pack_row_q8_K(const void *q8k, int64_t n, int tok, int n_tok, void *x);
/* Packed bytes per token of an activation row of type act (Q8_0 or Q8_K)
 * with n elements: token tok's tile starts at (tok / 16) * 16 times this. */
static inline size_t cllm_rpx_tok_bytes(cllm_type act, int64_t n) {
    return act == CLLM_TYPE_Q8_K ? (size_t)(n / 256) * CLLM_RPXK_BLOCK(1) : (size_t)(n / 32) * CLLM_RPX_BLOCK(1);
}

/* Fill the n/32 aux entries of one Q8_0 activation row a (n elements). */
void cllm_cpu_rp_aux_row(const void *a, int64_t n, cllm_rp_aux *aux);
/* The same for a Q8_K row (used by Q4_K and Q6_K groups): per super-block
 * k, entry 8k has .d = the block's scale, entries 8k+p (p < 4) have .sum =
 * the int16 pair (sum of 32-element sub-block 2p, of 2p+1) in its low/high
 * half, and entries 8k+i (i < 8) have .zs4 = -32 * bsums[2i], .zs8 = -32 *
 * bsums[2i+1] (the Q6_K zero-point term of 16-element sub-blocks 2i, 2i+1). */
void cllm_cpu_rp_aux_row_q8_K(const void *a, int64_t n, cllm_rp_aux *aux);

/* Scalar reference GEMMs on repacked groups (src/cpu/scalar/repack_ref.c). */
void cllm_cpu_gemm_rp_q4_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride);
void cllm_cpu_gemm_rp_q4_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride);
void cllm_cpu_gemm_rp_q6_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride);
void cllm_cpu_gemm_rp_q8_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride);
void cllm_cpu_gemm_rpx_q4_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x);
void cllm_cpu_gemm_rpx_q8_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x);
void cllm_cpu_gemm_rpx_q4_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x);
void cllm_cpu_gemm_rpx_q6_K_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x);

#endif /* CLLM_CPU_REPACK_H */
