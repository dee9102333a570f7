/* dequant.c: reference dequantization (type -> float) of every ggml type cllm
 * reads. Bit-exact with ggml's to_float: each element is computed with the
 * same float operations in the same order (e.g. Q4_K is (d*sc)*q - (dmin*m),
 * Q6_K is (d*sc)*q), so results match to the last bit. */
#include "quant/blocks.h"
#include "quant/quant_util.h"
#include "quant/quants.h"
#include "tensor/types.h"

#include <string.h>

/* ------------------------------------------------------------ plain types */

static void deq_f16(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        cllm_fp16 h;
        memcpy(&h, p + 2 * i, 2);
        y[i] = cllm_fp16_to_fp32(h);
    }
}

static void deq_bf16(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        cllm_bf16 h;
        memcpy(&h, p + 2 * i, 2);
        y[i] = cllm_bf16_to_fp32(h);
    }
}

/* Integer and f64 types: memcpy each element (the source may be unaligned). */
#define DEQ_PLAIN(name, T)                                            \
    static void name(const void *src, float *y, int64_t n) {         \
        const uint8_t *p = src;                                       \
        for (int64_t i = 0; i < n; i++) {                             \
            T v;                                                      \
            memcpy(&v, p + (size_t)i * sizeof(T), sizeof(T));         \
            y[i] = (float)v;                                          \
        }                                                             \
    }
DEQ_PLAIN(deq_f64, double)
DEQ_PLAIN(deq_i8, int8_t)
DEQ_PLAIN(deq_i16, int16_t)
DEQ_PLAIN(deq_i32, int32_t)
DEQ_PLAIN(deq_i64, int64_t)
#undef DEQ_PLAIN

/* ------------------------------------------------------ 32-element blocks */

/* Q4_0: byte j holds element j (low nibble) and j+16 (high); x = (q-8)*d. */
static void deq_q4_0(const void *src, float *y, int64_t n) {
    const cllm_block_q4_0 *b = src;
    for (int64_t i = 0; i < n / QK4_0; i++, y += QK4_0) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = (float)((b[i].qs[j] & 0x0F) - 8) * d;
            y[j + QK4_0 / 2] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1: x = q*d + m. */
static void deq_q4_1(const void *src, float *y, int64_t n) {
    const cllm_block_q4_1 *b = src;
    for (int64_t i = 0; i < n / QK4_1; i++, y += QK4_1) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        const float m = cllm_fp16_to_fp32(b[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = (float)(b[i].qs[j] & 0x0F) * d + m;
            y[j + QK4_1 / 2] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

/* The 32 fifth bits of a Q5 block, bit j for element j (little-endian). */
static uint32_t q5_high_bits(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* Q5_0: 5-bit q = nibble | fifth bit << 4; x = (q-16)*d. */
static void deq_q5_0(const void *src, float *y, int64_t n) {
    const cllm_block_q5_0 *b = src;
    for (int64_t i = 0; i < n / QK5_0; i++, y += QK5_0) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        const uint32_t qh = q5_high_bits(b[i].qh);
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int lo = (int)(b[i].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            const int hi = (int)(b[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(lo - 16) * d;
            y[j + QK5_0 / 2] = (float)(hi - 16) * d;
        }
    }
}

/* Q5_1: x = q*d + m. */
static void deq_q5_1(const void *src, float *y, int64_t n) {
    const cllm_block_q5_1 *b = src;
    for (int64_t i = 0; i < n / QK5_1; i++, y += QK5_1) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        const float m = cllm_fp16_to_fp32(b[i].m);
        const uint32_t qh = q5_high_bits(b[i].qh);
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int lo = (int)(b[i].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            const int hi = (int)(b[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)lo * d + m;
            y[j + QK5_1 / 2] = (float)hi * d + m;
        }
    }
}

static void deq_q8_0(const void *src, float *y, int64_t n) {
    const cllm_block_q8_0 *b = src;
    for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK8_0; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

static void deq_q8_1(const void *src, float *y, int64_t n) {
    const cllm_block_q8_1 *b = src;
    for (int64_t i = 0; i < n / QK8_1; i++, y += QK8_1) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK8_1; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

static void deq_iq4_nl(const void *src, float *y, int64_t n) {
    const cllm_block_iq4_nl *b = src;
    for (int64_t i = 0; i < n / QK4_NL; i++, y += QK4_NL) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            y[j] = d * (float)cllm_kvalues_iq4nl[b[i].qs[j] & 0x0F];
            y[j + QK4_NL / 2] = d * (float)cllm_kvalues_iq4nl[b[i].qs[j] >> 4];
        }
    }
}

/* ------------------------------------------------ 256-element super-blocks */

/* Q2_K: 16 groups of 16; scales[g] = 4-bit scale (low) | 4-bit min (high).
 * qs: each 32-byte half covers 128 elements; bits 2k..2k+1 of byte l hold
 * element 32k + l of that half. x = (d*sc)*q - (dmin*m). */
static void deq_q2_K(const void *src, float *y, int64_t n) {
    const cllm_block_q2_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        const float dmin = cllm_fp16_to_fp32(b[i].dmin);
        for (int g = 0; g < 16; g++) {
            /* group g: half h = g/8, bit pair k = (g%8)/2, byte offset 16*(g%2) */
            const uint8_t *q = b[i].qs + 32 * (g / 8) + 16 * (g % 2);
            const int shift = 2 * ((g % 8) / 2);
            const float dl = d * (float)(b[i].scales[g] & 0xF);
            const float ml = dmin * (float)(b[i].scales[g] >> 4);
            for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[l] >> shift) & 3) - ml;
        }
    }
}

/* The 16 signed 6-bit scales of a Q3_K block: the low 4 bits of scale j are
 * nibble (j/8) of byte j%8; the high 2 bits are bits 2*(j/4).. of byte
 * 8 + j%4. Stored with an offset of 32. */
static void q3_K_scales(const uint8_t sc[12], int out[16]) {
    for (int j = 0; j < 16; j++) {
        const int lo = (sc[j % 8] >> (4 * (j / 8))) & 0xF;
        const int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (lo | hi << 4) - 32;
    }
}

/* Q3_K: 2 low bits in qs (Q2_K's layout), the third bit in hmask: bit k of
 * hmask[l] is the high bit of element 32k + l. A clear high bit means -4.
 * x = (d*sc) * (q - 4*!h). */
static void deq_q3_K(const void *src, float *y, int64_t n) {
    const cllm_block_q3_K *b = src;
    int sc[16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        q3_K_scales(b[i].scales, sc);
        for (int g = 0; g < 16; g++) {
            const int off = 16 * (g % 2);
            const uint8_t *q = b[i].qs + 32 * (g / 8) + off;
            const int shift = 2 * ((g % 8) / 2);
            const uint8_t hbit = (uint8_t)(1u << (g / 2));
            const float dl = d * (float)sc[g];
            for (int l = 0; l < 16; l++) {
                const int v = ((q[l] >> shift) & 3) - ((b[i].hmask[off + l] & hbit) ? 0 : 4);
                *y++ = dl * (float)v;
            }
        }
    }
}

/* 6-bit scale and min of sub-block j (0..7) of Q4_K/Q5_K: j < 4 are the low
 * 6 bits of bytes j and j+4; j >= 4 take their low 4 bits from byte j+4 and
 * their top 2 bits from the top bits of bytes j-4 (scale) and j (min). */
void cllm_quant_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q4_K: 8 sub-blocks of 32; each 32-byte chunk of qs holds two sub-blocks
 * (low nibbles, then high nibbles). x = (d*sc)*q - (dmin*m). */
static void deq_q4_K(const void *src, float *y, int64_t n) {
    const cllm_block_q4_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        const float dmin = cllm_fp16_to_fp32(b[i].dmin);
        for (int s = 0; s < 8; s++) {
            uint8_t sc, m;
            cllm_quant_scale_min_k4(s, b[i].scales, &sc, &m);
            const float dl = d * (float)sc;
            const float ml = dmin * (float)m;
            const uint8_t *q = b[i].qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int l = 0; l < 32; l++) *y++ = dl * (float)((q[l] >> shift) & 0xF) - ml;
        }
    }
}

/* Q5_K: Q4_K plus a fifth bit: bit s of qh[l] is the high bit of element l of
 * sub-block s. */
static void deq_q5_K(const void *src, float *y, int64_t n) {
    const cllm_block_q5_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        const float dmin = cllm_fp16_to_fp32(b[i].dmin);
        for (int s = 0; s < 8; s++) {
            uint8_t sc, m;
            cllm_quant_scale_min_k4(s, b[i].scales, &sc, &m);
            const float dl = d * (float)sc;
            const float ml = dmin * (float)m;
            const uint8_t *q = b[i].qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int l = 0; l < 32; l++) {
                const int v = ((q[l] >> shift) & 0xF) + ((b[i].qh[l] >> s) & 1) * 16;
                *y++ = dl * (float)v - ml;
            }
        }
    }
}

/* Q6_K: each 128-element half uses 64 bytes of ql and 32 of qh. Element
 * 32k + l of the half (k = 0..3) takes its low nibble from ql[l + 32*(k%2)]
 * (low nibble for k < 2, high for k >= 2) and its top 2 bits from bits
 * 2k..2k+1 of qh[l]. Scale index 8*half + 2k + l/16. x = (d*sc)*(q-32). */
static void deq_q6_K(const void *src, float *y, int64_t n) {
    const cllm_block_q6_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = b[i].ql + 64 * h;
            const uint8_t *qh = b[i].qh + 32 * h;
            const int8_t *sc = b[i].scales + 8 * h;
            for (int k = 0; k < 4; k++) {
                for (int l = 0; l < 32; l++) {
                    const int lo = (ql[l + 32 * (k % 2)] >> (4 * (k / 2))) & 0xF;
                    const int hi = (qh[l] >> (2 * k)) & 3;
                    const int q = (lo | hi << 4) - 32;
                    y[32 * k + l] = d * (float)sc[2 * k + l / 16] * (float)q;
                }
            }
            y += 128;
        }
    }
}

static void deq_q8_K(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        cllm_block_q8_K b;
        memcpy(&b, p + (size_t)i * sizeof b, sizeof b); /* d is a float: keep it aligned */
        for (int j = 0; j < QK_K; j++) *y++ = b.d * (float)b.qs[j];
    }
}

/* IQ4_XS: 8 sub-blocks of 32 with 6-bit scales (low 4 bits in scales_l,
 * nibble s%2 of byte s/2; high 2 bits at bit 2s of scales_h), offset 32.
 * Within a sub-block, byte j holds elements j and j+16. x = (d*(ls-32))*kv. */
static void deq_iq4_xs(const void *src, float *y, int64_t n) {
    const cllm_block_iq4_xs *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = cllm_fp16_to_fp32(b[i].d);
        for (int s = 0; s < 8; s++) {
            const int ls = ((b[i].scales_l[s / 2] >> (4 * (s % 2))) & 0xF) |
                           (((b[i].scales_h >> (2 * s)) & 3) << 4);
            const float dl = d * (float)(ls - 32);
            const uint8_t *q = b[i].qs + 16 * s;
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)cllm_kvalues_iq4nl[q[j] & 0xF];
                y[j + 16] = dl * (float)cllm_kvalues_iq4nl[q[j] >> 4];
            }
            y += 32;
        }
    }
}

/* ------------------------------------------------------------- dispatch */

typedef void (*deq_fn)(const void *src, float *y, int64_t n);

static deq_fn deq_for(cllm_type t) {
    switch (t) {
    case CLLM_TYPE_F16: return deq_f16;
    case CLLM_TYPE_BF16: return deq_bf16;
    case CLLM_TYPE_F64: return deq_f64;
    case CLLM_TYPE_I8: return deq_i8;
    case CLLM_TYPE_I16: return deq_i16;
    case CLLM_TYPE_I32: return deq_i32;
    case CLLM_TYPE_I64: return deq_i64;
    case CLLM_TYPE_Q4_0: return deq_q4_0;
    case CLLM_TYPE_Q4_1: return deq_q4_1;
    case CLLM_TYPE_Q5_0: return deq_q5_0;
    case CLLM_TYPE_Q5_1: return deq_q5_1;
    case CLLM_TYPE_Q8_0: return deq_q8_0;
    case CLLM_TYPE_Q8_1: return deq_q8_1;
    case CLLM_TYPE_Q2_K: return deq_q2_K;
    case CLLM_TYPE_Q3_K: return deq_q3_K;
    case CLLM_TYPE_Q4_K: return deq_q4_K;
    case CLLM_TYPE_Q5_K: return deq_q5_K;
    case CLLM_TYPE_Q6_K: return deq_q6_K;
    case CLLM_TYPE_Q8_K: return deq_q8_K;
    case CLLM_TYPE_IQ4_NL: return deq_iq4_nl;
    case CLLM_TYPE_IQ4_XS: return deq_iq4_xs;
    default: return NULL;
    }
}

bool cllm_quant_dequantize_row(cllm_type t, const void *src, float *dst, int64_t n) {
    const cllm_type_traits *tr = cllm_type_get_traits(t);
    if (!tr || n < 0 || n % tr->blck_size != 0) return false;
    if (t == CLLM_TYPE_F32) {
        memmove(dst, src, (size_t)n * sizeof(float));
        return true;
    }
    deq_fn f = deq_for(t);
    if (!f) return false;
    f(src, dst, n);
    return true;
}
