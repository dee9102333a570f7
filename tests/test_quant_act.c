/* test_quant_act.c: the activation quantizers (Q8_0, Q8_1, Q8_K) against
 * hand-derived expectations of ggml's reference formulas. */
#include "quant/blocks.h"
#include "quant/quants.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float frand(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return ((float)(*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

int main(void) {
    /* Q8_0 on 0..31 - 16: amax 16, d = 16/127, q = roundf(x * 127/16). */
    float x[QK_K];
    for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
    cllm_block_q8_0 b0;
    cllm_quantize_row_q8_0(x, &b0, 32);
    CHECK(b0.d == cllm_fp32_to_fp16(16.0f / 127.0f), "q8_0 d %04x", b0.d);
    int bad = 0;
    const float id = 1.0f / (16.0f / 127.0f);
    for (int j = 0; j < 32; j++)
        if (b0.qs[j] != (int8_t)roundf(x[j] * id)) bad++;
    CHECK(bad == 0, "q8_0 %d quants differ", bad);
    CHECK(b0.qs[0] == -127, "q8_0 extreme %d", b0.qs[0]);
    CHECK(b0.qs[16] == 0, "q8_0 zero %d", b0.qs[16]);

    /* Q8_1: s = d * sum(q) */
    cllm_block_q8_1 b1;
    cllm_quantize_row_q8_1(x, &b1, 32);
    int sum = 0;
    for (int j = 0; j < 32; j++) sum += b1.qs[j];
    CHECK(memcmp(b1.qs, b0.qs, 32) == 0, "q8_1 quants equal q8_0's");
    CHECK(b1.s == cllm_fp32_to_fp16((float)sum * (16.0f / 127.0f)), "q8_1 s");

    /* All-zero blocks. */
    float z[QK_K] = {0};
    cllm_quantize_row_q8_0(z, &b0, 32);
    CHECK(b0.d == 0 && b0.qs[5] == 0, "q8_0 zero block");

    /* Q8_K: the largest-magnitude value maps to -127 (sign convention
     * iscale = -127/max), bsums are sums of 16 quants, d = 1/iscale. */
    uint32_t s = 7;
    for (int j = 0; j < QK_K; j++) x[j] = frand(&s);
    x[100] = 3.0f;
    cllm_block_q8_K bk;
    cllm_quantize_row_q8_K(x, &bk, QK_K);
    CHECK(bk.qs[100] == -127, "q8_K max maps to -127: %d", bk.qs[100]);
    CHECK(bk.d == 1.0f / (-127.0f / 3.0f), "q8_K d %g", bk.d);
    bad = 0;
    for (int k = 0; k < 16; k++) {
        int t = 0;
        for (int j = 0; j < 16; j++) t += bk.qs[16 * k + j];
        if (t != bk.bsums[k]) bad++;
    }
    CHECK(bad == 0, "q8_K bsums");
    float maxerr = 0;
    for (int j = 0; j < QK_K; j++) {
        float e = fabsf(bk.d * bk.qs[j] - x[j]);
        if (e > maxerr) maxerr = e;
    }
    CHECK(maxerr <= fabsf(bk.d) * 0.5001f, "q8_K max err %g", maxerr);
    /* Ties round to even (nearest_int): x = 0.5 * d must give 0. */
    for (int j = 0; j < QK_K; j++) x[j] = 0;
    x[0] = -127.0f;
    x[1] = 0.5f;
    x[2] = 1.5f;
    cllm_quantize_row_q8_K(x, &bk, QK_K);
    CHECK(bk.qs[0] == -127 && bk.qs[1] == 0 && bk.qs[2] == 2, "q8_K ties %d %d %d",
          bk.qs[0], bk.qs[1], bk.qs[2]);
    CHECK(cllm_kvalues_iq4nl[0] == -127 && cllm_kvalues_iq4nl[15] == 113, "kvalues");
    return test_finish();
}
