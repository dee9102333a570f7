/* kernels_impl.h: internals shared by the per-ISA kernel tables: the scalar
 * reference kernels (every SIMD table starts as a copy of the scalar table and
 * tests compare against these), table construction helpers and small
 * unpacking helpers for packed K-quant scales. Not a public interface. */
#ifndef CLLM_CPU_KERNELS_IMPL_H
#define CLLM_CPU_KERNELS_IMPL_H

#include "cpu/kernels.h"
#include "quant/blocks.h"

#include <stdint.h>
#include <string.h>

/* Tails of token loops in the GEMM drivers: CALL(C) for the constant C = w,
 * so each register-block width gets its own specialised kernel. */
#define CLLM_CPU_CASES_8_1(CALL) \
    case 8: CALL(8); break;      \
    case 7: CALL(7); break;      \
    case 6: CALL(6); break;      \
    case 5: CALL(5); break;      \
    case 4: CALL(4); break;      \
    case 3: CALL(3); break;      \
    case 2: CALL(2); break;      \
    case 1: CALL(1); break;
#define CLLM_CPU_SWITCH8(w, CALL)  \
    switch (w) {                   \
    CLLM_CPU_CASES_8_1(CALL)       \
    default: break;                \
    }
#define CLLM_CPU_SWITCH15(w, CALL) \
    switch (w) {                   \
    case 15: CALL(15); break;      \
    case 14: CALL(14); break;      \
    case 13: CALL(13); break;      \
    case 12: CALL(12); break;      \
    case 11: CALL(11); break;      \
    case 10: CALL(10); break;      \
    case 9: CALL(9); break;        \
    CLLM_CPU_CASES_8_1(CALL)       \
    default: break;                \
    }

/* ---- scalar reference vec_dot (ggml's *_generic math) ---- */
void cllm_cpu_dot_f32_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_f16_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_bf16_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q4_0_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q4_1_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q5_0_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q5_1_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q8_0_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_iq4_nl_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q2_K_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q3_K_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q4_K_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q5_K_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_q6_K_ref(int64_t n, float *s, const void *w, const void *a);
void cllm_cpu_dot_iq4_xs_ref(int64_t n, float *s, const void *w, const void *a);

/* ---- scalar activation functions (act_ref.c) ---- */
void cllm_cpu_swiglu_ref(int64_t n, const float *g, const float *u, float *y);

/* ---- scalar from_float ---- */
void cllm_cpu_from_f32_ref(const float *x, void *y, int64_t n);  /* copy */
void cllm_cpu_from_f16_ref(const float *x, void *y, int64_t n);
void cllm_cpu_from_bf16_ref(const float *x, void *y, int64_t n);

/* ---- scalar attention tile kernels (attn_ref.c; cllm_attn_kernels) ---- */
void cllm_cpu_attn_exp_ref(int n, const float *x, float *y);
void cllm_cpu_attn_k_pack_ref(cllm_type t, int hd, int nc, const char *base, size_t row_bytes, const int32_t *cid,
                              float *kt, int ldk);
void cllm_cpu_attn_v_pack_ref(cllm_type t, int hd, int nc, const char *base, size_t row_bytes, const int32_t *cid,
                              float *vc, int ldv);
void cllm_cpu_attn_qk_ref(int hd, int nr, int ncp, const float *q, int ldq, const float *kt, int ldk, float scale,
                          float *s, int lds);
void cllm_cpu_attn_softmax_ref(int nr, int ncp, float *s, int lds, const uint64_t *vis, float *m, float *l, float *f);
void cllm_cpu_attn_pv_ref(int hdp, int nr, int nc, const float *p, int ldp, const float *vc, int ldv, const float *f,
                          float *acc, int lda);
/* Element d of one cached head slice of type t (F32, F16 or Q8_0) as float. */
float cllm_cpu_attn_elem(cllm_type t, const char *slice, int d);

/* Unpack the 12-byte scale field of Q4_K / Q5_K into 8 6-bit scales and 8
 * 6-bit mins (one per 32 elements). */
static inline void cllm_cpu_unpack_k4_scales(const uint8_t q[12], uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
        sc[j + 4] = (uint8_t)((q[j + 8] & 0x0F) | ((q[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

/* The same unpacking on 32-bit words, without a trip through memory (SIMD
 * code loads the results from registers): *sc8 gets the 8 scales as bytes
 * 0..7, *mn8 the 8 mins. */
static inline void cllm_cpu_unpack_k4_scales64(const uint8_t q[12], uint64_t *sc8, uint64_t *mn8) {
    uint32_t u0, u1, u2;
    memcpy(&u0, q, 4);
    memcpy(&u1, q + 4, 4);
    memcpy(&u2, q + 8, 4);
    const uint32_t sc_lo = u0 & 0x3f3f3f3fu;
    const uint32_t mn_lo = u1 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
    const uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
    *sc8 = (uint64_t)sc_lo | ((uint64_t)sc_hi << 32);
    *mn8 = (uint64_t)mn_lo | ((uint64_t)mn_hi << 32);
}

/* Unpack the 12-byte scale field of Q3_K into 16 signed scales (6-bit, -32
 * offset already applied), one per 16 elements. */
static inline void cllm_cpu_unpack_q3k_scales(const uint8_t q[12], int8_t sc[16]) {
    for (int j = 0; j < 16; j++) {
        const int lo = j < 8 ? (q[j] & 0x0F) : (q[j - 8] >> 4);
        const int hi = (q[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        sc[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* The Q3_K unpacking on 64/32-bit words (the 16 bytes of lo8 then hi8 are the
 * scales before the -32 offset), for SIMD code that wants them in registers. */
static inline void cllm_cpu_unpack_q3k_scales128(const uint8_t q[12], uint64_t *lo8, uint64_t *hi8) {
    uint64_t a;
    uint32_t h;
    memcpy(&a, q, 8);
    memcpy(&h, q + 8, 4);
    const uint64_t m4 = 0x0f0f0f0f0f0f0f0fULL, m2 = 0x0303030303030303ULL;
    const uint64_t h01 = (uint64_t)h | ((uint64_t)(h >> 2) << 32);          /* scales 0..7 */
    const uint64_t h23 = (uint64_t)(h >> 4) | ((uint64_t)(h >> 6) << 32);   /* scales 8..15 */
    *lo8 = (a & m4) | ((h01 & m2) << 4);
    *hi8 = ((a >> 4) & m4) | ((h23 & m2) << 4);
}

/* Table helpers: dst becomes a copy of the scalar table named name. */
void cllm_cpu_table_init_from_scalar(cllm_kernels *dst, const char *name);

#endif /* CLLM_CPU_KERNELS_IMPL_H */
