/* quant_util.h: small numeric helpers shared by the reference quantizers in
 * src/quant. Every helper here reproduces ggml's rounding exactly, because the
 * quantizers must emit the same bytes as llama.cpp's reference code. */
#ifndef CLLM_QUANT_UTIL_H
#define CLLM_QUANT_UTIL_H

#include <math.h>
#include <stdbool.h>

/* Byte/bit compatibility with ggml needs every a*b+c rounded twice, never
 * fused. GCC in ISO C mode (-std=c11) already uses -ffp-contract=off; clang
 * contracts within expressions by default (and aarch64 always has FMA), so
 * turn it off for every file that includes this header. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#include <stdint.h>
#include <string.h>

/* The smallest group amplitude treated as non-zero (ggml's GROUP_MAX_EPS). */
#define CLLM_GROUP_MAX_EPS 1e-15f

/* Round to nearest, ties to even, for |f| <= 2^22 - 1: adding 1.5 * 2^23
 * pushes the integer part into the low mantissa bits of a float, whose
 * addition rounds in the current (nearest-even) mode. Exactly ggml's
 * nearest_int; callers keep |f| in range. */
static inline int cllm_nearest_int(float f) {
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int cllm_imin(int a, int b) { return a < b ? a : b; }
static inline int cllm_imax(int a, int b) { return a > b ? a : b; }
static inline int cllm_iclamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }


/* Scale and min (6 bits each) of sub-block j (0..7) from the 12 packed scale
 * bytes of a Q4_K/Q5_K block (ggml's get_scale_min_k4). Defined in dequant.c. */
void cllm_quant_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m);

/* ---- scale searches shared by the quantizers (quant_search.c). Each one
 * reproduces the ggml routine named in its comment operation for operation,
 * so the chosen levels (and thus the output bytes) are the same. ---- */

/* Symmetric levels L in [0, 2*nmax) for x ~ scale * (L - nmax) (ggml's
 * make_qx_quants). rmse_type 0: plain rounding from the largest-magnitude
 * value; 1: weighted least squares (weights qw, or x^2 when qw is NULL) over
 * 19 candidate scales; negative: one refinement only. Returns the scale. */
float cllm_qs_symmetric(int n, int nmax, const float *x, int8_t *L, int rmse_type, const float *qw);

/* Symmetric levels with x^2 weights and up to 5 rounds of coordinate descent
 * on single levels (ggml's make_q3_quants). L in [0, 2*nmax). */
float cllm_qs_symmetric_descent(int n, int nmax, const float *x, int8_t *L, bool do_rmse);

/* Affine levels L in [0, nmax] with x ~ scale * L - the_min, min <= 0: start
 * from the range, then try nstep+1 scales (rmin + rdelta*i + nmax)/range and
 * keep the one whose weighted least-squares fit has the lowest error (ggml's
 * make_qkx2_quants; use_mad selects |err| instead of err^2). Laux is scratch
 * of n bytes. Returns the scale, *the_min the (positive) offset. */
float cllm_qs_affine(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                     float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad);

/* The same with weights x^2 when weights is NULL and guarded level clamping
 * (ggml's make_qkx3_quants, used on imatrix paths). */
float cllm_qs_affine_w(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                       float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad);

/* Non-negative levels L in [0, nmax] for non-negative x with weights
 * (ggml's make_qp_quants): used to quantize the sub-block scales of the
 * K-quants on imatrix paths. */
float cllm_qs_positive(int n, int nmax, const float *x, uint8_t *L, const float *quant_weights);

/* Index of the level of the sorted table val[0..n) nearest to x; an exact tie
 * goes to the upper level (ggml's best_index_int8). */
static inline int cllm_qs_nearest_level(int n, const int8_t *val, float x) {
    const float x2 = x + x;
    int idx = 0;
    for (int k = 1; k < n; k++)
        if (x2 >= (float)(val[k - 1] + val[k])) idx = k;
    return idx;
}

#endif /* CLLM_QUANT_UTIL_H */
