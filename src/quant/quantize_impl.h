/* quantize_impl.h: the per-type row quantizers behind cllm_quant_quantize_row
 * that live in their own files. n is a multiple of the block size; qw (the
 * importance matrix row, n floats) may be NULL. */
#ifndef CLLM_QUANT_QUANTIZE_IMPL_H
#define CLLM_QUANT_QUANTIZE_IMPL_H

#include <stdint.h>

void cllm_quant_q2_K(const float *x, void *y, int64_t n, const float *qw);
void cllm_quant_q3_K(const float *x, void *y, int64_t n, const float *qw);
void cllm_quant_q4_K(const float *x, void *y, int64_t n, const float *qw);
void cllm_quant_q5_K(const float *x, void *y, int64_t n, const float *qw);
void cllm_quant_q6_K(const float *x, void *y, int64_t n, const float *qw);
void cllm_quant_iq4_nl(const float *x, void *y, int64_t n, const float *qw);
void cllm_quant_iq4_xs(const float *x, void *y, int64_t n, const float *qw);

#endif
