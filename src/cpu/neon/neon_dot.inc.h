/* neon_dot.inc.h: NEON dot products of Q4_0, Q8_0 (x Q8_0), Q4_K and Q6_K
 * (x Q8_K), written once and compiled twice by dot_neon.c: with
 * NEON_DOTPROD 1 (vdotq_s32, ARMv8.2 dotprod) and 0 (vmull_s8 + vpadalq_s16,
 * any AArch64). The includer defines NEON_FN(name) (the suffix).
 * int32 lanes are scaled by a vector multiply-accumulate per block and
 * reduced horizontally once at the end. */
#ifndef NEON_FN
#error "define NEON_FN and NEON_DOTPROD before including neon_dot.inc.h"
#endif

/* acc += int8 a . b, 16 lanes into 4 int32 lanes (lane grouping differs
 * between the two variants; callers only use the lane sum). */
static inline int32x4_t NEON_FN(dot16)(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if NEON_DOTPROD
    return vdotq_s32(acc, a, b);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

static void NEON_FN(dot_q4_0)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t k8 = vdupq_n_s8(8);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        const uint8x16_t q0 = vld1q_u8(x[b].qs), q1 = vld1q_u8(x[b + 1].qs);
        const int8x16_t l0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q0, m4)), k8);
        const int8x16_t h0 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), k8);
        const int8x16_t l1 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q1, m4)), k8);
        const int8x16_t h1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), k8);
        int32x4_t i0 = NEON_FN(dot16)(vdupq_n_s32(0), l0, vld1q_s8(y[b].qs));
        i0 = NEON_FN(dot16)(i0, h0, vld1q_s8(y[b].qs + 16));
        int32x4_t i1 = NEON_FN(dot16)(vdupq_n_s32(0), l1, vld1q_s8(y[b + 1].qs));
        i1 = NEON_FN(dot16)(i1, h1, vld1q_s8(y[b + 1].qs + 16));
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(i0), cllm_fp16_to_fp32(x[b].d) * cllm_fp16_to_fp32(y[b].d));
        acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(i1), cllm_fp16_to_fp32(x[b + 1].d) * cllm_fp16_to_fp32(y[b + 1].d));
    }
    for (; b < nb; b++) {
        const uint8x16_t q0 = vld1q_u8(x[b].qs);
        const int8x16_t l0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q0, m4)), k8);
        const int8x16_t h0 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), k8);
        int32x4_t i0 = NEON_FN(dot16)(vdupq_n_s32(0), l0, vld1q_s8(y[b].qs));
        i0 = NEON_FN(dot16)(i0, h0, vld1q_s8(y[b].qs + 16));
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(i0), cllm_fp16_to_fp32(x[b].d) * cllm_fp16_to_fp32(y[b].d));
    }
    *s = vaddvq_f32(vaddq_f32(acc0, acc1));
}

static void NEON_FN(dot_q8_0)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q8_0 *x = w;
    const cllm_block_q8_0 *y = a;
    const int64_t nb = n / QK8_0;
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        int32x4_t i0 = NEON_FN(dot16)(vdupq_n_s32(0), vld1q_s8(x[b].qs), vld1q_s8(y[b].qs));
        i0 = NEON_FN(dot16)(i0, vld1q_s8(x[b].qs + 16), vld1q_s8(y[b].qs + 16));
        int32x4_t i1 = NEON_FN(dot16)(vdupq_n_s32(0), vld1q_s8(x[b + 1].qs), vld1q_s8(y[b + 1].qs));
        i1 = NEON_FN(dot16)(i1, vld1q_s8(x[b + 1].qs + 16), vld1q_s8(y[b + 1].qs + 16));
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(i0), cllm_fp16_to_fp32(x[b].d) * cllm_fp16_to_fp32(y[b].d));
        acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(i1), cllm_fp16_to_fp32(x[b + 1].d) * cllm_fp16_to_fp32(y[b + 1].d));
    }
    for (; b < nb; b++) {
        int32x4_t i0 = NEON_FN(dot16)(vdupq_n_s32(0), vld1q_s8(x[b].qs), vld1q_s8(y[b].qs));
        i0 = NEON_FN(dot16)(i0, vld1q_s8(x[b].qs + 16), vld1q_s8(y[b].qs + 16));
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(i0), cllm_fp16_to_fp32(x[b].d) * cllm_fp16_to_fp32(y[b].d));
    }
    *s = vaddvq_f32(vaddq_f32(acc0, acc1));
}

static void NEON_FN(dot_q4_K)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q4_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    float32x4_t acc = vdupq_n_f32(0.0f);
    float accm = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t sc[8], mn[8];
        cllm_cpu_unpack_k4_scales(x[b].scales, sc, mn);
        /* min term: sum over 16-element groups of bsums * mins[g/2] */
        const int16x8_t bs0 = vld1q_s16(y[b].bsums), bs1 = vld1q_s16(y[b].bsums + 8);
        const int16x8_t pairs = vpaddq_s16(bs0, bs1); /* group pairs 0..7 */
        const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn)));
        int32x4_t mp = vmull_s16(vget_low_s16(pairs), vget_low_s16(mins));
        mp = vmlal_high_s16(mp, pairs, mins);
        const int summ = vaddvq_s32(mp);
        int32x4_t isum = vdupq_n_s32(0);
        for (int j = 0; j < 4; j++) {
            const uint8x16_t q0 = vld1q_u8(x[b].qs + 32 * j), q1 = vld1q_u8(x[b].qs + 32 * j + 16);
            const int8_t *q8 = y[b].qs + 64 * j;
            int32x4_t lo = NEON_FN(dot16)(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(q0, m4)), vld1q_s8(q8));
            lo = NEON_FN(dot16)(lo, vreinterpretq_s8_u8(vandq_u8(q1, m4)), vld1q_s8(q8 + 16));
            int32x4_t hi = NEON_FN(dot16)(vdupq_n_s32(0), vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), vld1q_s8(q8 + 32));
            hi = NEON_FN(dot16)(hi, vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), vld1q_s8(q8 + 48));
            isum = vmlaq_n_s32(isum, lo, sc[2 * j]);
            isum = vmlaq_n_s32(isum, hi, sc[2 * j + 1]);
        }
        const float d = cllm_fp16_to_fp32(x[b].d) * y[b].d;
        const float dmin = cllm_fp16_to_fp32(x[b].dmin) * y[b].d;
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(isum), d);
        accm += dmin * (float)summ;
    }
    *s = vaddvq_f32(acc) - accm;
}

static void NEON_FN(dot_q6_K)(int64_t n, float *s, const void *w, const void *a) {
    const cllm_block_q6_K *x = w;
    const cllm_block_q8_K *y = a;
    const int64_t nb = n / QK_K;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m3 = vdupq_n_u8(3);
    const int8x16_t k32 = vdupq_n_s8(32);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; b++) {
        const int8_t *sc = x[b].scales;
        int32x4_t isum = vdupq_n_s32(0);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[b].ql + 64 * h;
            const uint8_t *qh = x[b].qh + 32 * h;
            const int8_t *q8 = y[b].qs + 128 * h;
            for (int half = 0; half < 2; half++) { /* 16-byte halves of the 32-byte rows */
                const uint8x16_t l0 = vld1q_u8(ql + 16 * half), l1 = vld1q_u8(ql + 32 + 16 * half);
                const uint8x16_t hb = vld1q_u8(qh + 16 * half);
                const uint8x16_t u[4] = {
                    vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(hb, m3), 4)),
                    vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 2), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 4), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(hb, 6), 4)),
                };
                for (int p = 0; p < 4; p++) {
                    /* elements 128h + 32p + 16half .. +15: group 8h + 2p + half */
                    const int8x16_t v = vsubq_s8(vreinterpretq_s8_u8(u[p]), k32);
                    const int32x4_t d = NEON_FN(dot16)(vdupq_n_s32(0), v, vld1q_s8(q8 + 32 * p + 16 * half));
                    isum = vmlaq_n_s32(isum, d, sc[8 * h + 2 * p + half]);
                }
            }
        }
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(isum), cllm_fp16_to_fp32(x[b].d) * y[b].d);
    }
    *s = vaddvq_f32(acc);
}

static void NEON_FN(fill)(cllm_kernels *k) {
    k->type[CLLM_TYPE_Q4_0].vec_dot = NEON_FN(dot_q4_0);
    k->type[CLLM_TYPE_Q8_0].vec_dot = NEON_FN(dot_q8_0);
    k->type[CLLM_TYPE_Q4_K].vec_dot = NEON_FN(dot_q4_K);
    k->type[CLLM_TYPE_Q6_K].vec_dot = NEON_FN(dot_q6_K);
}
