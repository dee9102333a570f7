/* types.h: the ggml tensor type traits table (block size, bytes per block). */
#ifndef CLLM_TENSOR_TYPES_H
#define CLLM_TENSOR_TYPES_H

#include "cllm.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct cllm_type_traits {
    const char *name;       /* ggml's name: "f32", "q4_0", "q4_K", "iq4_xs", ... */
    int64_t blck_size;      /* elements per block (1 for plain types) */
    int64_t type_size;      /* bytes per block */
    bool is_quantized;      /* block-quantized (has a scale per block) */
} cllm_type_traits;

/* Traits of t, or NULL when t is not a type cllm knows. */
const cllm_type_traits *cllm_type_get_traits(int t);
bool cllm_type_is_known(int t);

/* Bytes of a row of n elements of type t; 0 if n is not a multiple of the
 * block size or t is unknown. */
uint64_t cllm_type_row_size(cllm_type t, int64_t n);

#endif /* CLLM_TENSOR_TYPES_H */
