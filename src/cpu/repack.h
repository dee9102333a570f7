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
 * A group takes exactly CLLM_RP_ROWS * row_bytes bytes, so row r's group
 * starts at the same offset as in the original tensor. */
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

/* Repack rows [0, ne1) of src (row_bytes apart) into dst (same total size).
 * Both borrowed; they must not overlap. */
void cllm_repack_rows(cllm_type t, int64_t ne0, int64_t ne1, const void *src, void *dst);

/* Fill the n/32 aux entries of one Q8_0 activation row a (n elements). */
void cllm_cpu_rp_aux_row(const void *a, int64_t n, cllm_rp_aux *aux);

/* Scalar reference GEMMs on repacked groups (src/cpu/scalar/repack_ref.c). */
void cllm_cpu_gemm_rp_q4_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride);
void cllm_cpu_gemm_rp_q8_0_ref(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                               size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride);

#endif /* CLLM_CPU_REPACK_H */
