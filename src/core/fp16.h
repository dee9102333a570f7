/* fp16.h: IEEE half and bfloat16 <-> float conversions, bit-exact with ggml
 * (round-to-nearest-even on the way down). Scalar and portable; SIMD code uses
 * F16C/NEON instructions, which round the same way. */
#ifndef CLLM_FP16_H
#define CLLM_FP16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t cllm_fp16;   /* IEEE 754 binary16 bits */
typedef uint16_t cllm_bf16;   /* bfloat16 bits (upper half of a float) */

static inline uint32_t cllm_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float cllm_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline float cllm_fp16_to_fp32(cllm_fp16 h) {
    /* Exact for every input, including subnormals, inf and NaN. */
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = 0xE0u << 23;
    const float exp_scale = 0x1.0p-112f;
    const float normalized = cllm_bits_f32((two_w >> 4) + exp_offset) * exp_scale;
    const uint32_t magic_mask = 126u << 23;
    const float magic_bias = 0.5f;
    const float denormalized = cllm_bits_f32((two_w >> 17) | magic_mask) - magic_bias;
    const uint32_t denormalized_cutoff = 1u << 27;
    const uint32_t result = sign |
        (two_w < denormalized_cutoff ? cllm_f32_bits(denormalized) : cllm_f32_bits(normalized));
    return cllm_bits_f32(result);
}

static inline cllm_fp16 cllm_fp32_to_fp16(float f) {
    /* Round-to-nearest-even via float arithmetic scaling. */
    const float scale_to_inf = 0x1.0p+112f;
    const float scale_to_zero = 0x1.0p-110f;
    float base = ((f < 0 ? -f : f) * scale_to_inf) * scale_to_zero;
    const uint32_t w = cllm_f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = cllm_bits_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = cllm_f32_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (cllm_fp16)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

static inline float cllm_bf16_to_fp32(cllm_bf16 h) { return cllm_bits_f32((uint32_t)h << 16); }

static inline cllm_bf16 cllm_fp32_to_bf16(float f) {
    uint32_t u = cllm_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (cllm_bf16)((u >> 16) | 64); /* quiet NaN */
    return (cllm_bf16)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

#endif /* CLLM_FP16_H */
