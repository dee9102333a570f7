/* attn_v.h: the V side of attention: convert one cached V head slice (F32,
 * F16 or Q8_0) to float and accumulate p * v into output rows. Scalar
 * references plus an AVX2/F16C/FMA path chosen at run time (x86 only, and
 * never when the scalar kernel table is forced). */
#ifndef CLLM_OPS_ATTN_V_H
#define CLLM_OPS_ATTN_V_H

#include "cllm.h"
#include <stdbool.h>

/* out[0..hd) = float(v[0..hd)); t is F32, F16 or Q8_0 (hd % 32 == 0 for Q8_0). */
void cllm_attn_v_to_float_ref(cllm_type t, const void *v, float *out, int hd);
/* y[i] += a * x[i], i < n. */
void cllm_attn_axpy_ref(int n, float a, const float *x, float *y);

/* Function pair used by attention; simd=false gives the references. */
typedef struct cllm_attn_v_fns {
    void (*to_float)(cllm_type t, const void *v, float *out, int hd);
    void (*axpy)(int n, float a, const float *x, float *y);
} cllm_attn_v_fns;
cllm_attn_v_fns cllm_attn_v_get(bool simd);

#endif /* CLLM_OPS_ATTN_V_H */
