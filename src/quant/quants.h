/* quants.h: reference (scalar) dequantization and quantization of rows, for
 * every ggml type cllm knows. Bit-exact with ggml's to_float; quantizers
 * follow ggml's reference algorithms. Speed lives in src/cpu. */
#ifndef CLLM_QUANT_QUANTS_H
#define CLLM_QUANT_QUANTS_H

#include "cllm.h"
#include <stdbool.h>
#include <stdint.h>

/* Dequantize n elements (a multiple of the type's block size) of type t from
 * src into dst (n floats). Returns false for a type it cannot convert. */
bool cllm_quant_dequantize_row(cllm_type t, const void *src, float *dst, int64_t n);

/* Quantize n floats into type t (n a multiple of the block size). imatrix may
 * be NULL. Returns false if t is not a quantizable type. dst must hold
 * cllm_type_row_size(t, n) bytes. */
bool cllm_quant_quantize_row(cllm_type t, const float *src, void *dst, int64_t n,
                             const float *imatrix);

/* Activation quantizers used by the dot-product kernels (reference versions;
 * SIMD versions in src/cpu must produce identical bytes). */
void cllm_quantize_row_q8_0(const float *x, void *y, int64_t n);
void cllm_quantize_row_q8_1(const float *x, void *y, int64_t n);
void cllm_quantize_row_q8_K(const float *x, void *y, int64_t n);

#endif /* CLLM_QUANT_QUANTS_H */
