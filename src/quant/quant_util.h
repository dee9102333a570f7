/* quant_util.h: small numeric helpers shared by the reference quantizers in
 * src/quant. Every helper here reproduces ggml's rounding exactly, because the
 * quantizers must emit the same bytes as llama.cpp's reference code. */
#ifndef CLLM_QUANT_UTIL_H
#define CLLM_QUANT_UTIL_H

#include <math.h>
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

#endif /* CLLM_QUANT_UTIL_H */
