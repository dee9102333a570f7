/* table_scalar.c: the scalar reference kernel table (every slot filled for
 * every type cllm can multiply) and the helper that seeds SIMD tables from it.
 * Weight type -> activation type pairs are ggml's vec_dot_type choices; the
 * 8-bit activation quantizers are src/quant's reference ones. */
#include "cpu/kernels_impl.h"
#include "cpu/repack.h"
#include "quant/quants.h"

#include <string.h>


#define SLOT(w, act, fn) [CLLM_TYPE_##w] = {.act_type = CLLM_TYPE_##act, .vec_dot = fn, .vec_dot_tile = NULL}

static const cllm_kernels g_scalar = {
    .name = "scalar",
    .type = {
        SLOT(F32, F32, cllm_cpu_dot_f32_ref),
        SLOT(F16, F16, cllm_cpu_dot_f16_ref),
        SLOT(BF16, BF16, cllm_cpu_dot_bf16_ref),
        [CLLM_TYPE_Q4_0] = {.act_type = CLLM_TYPE_Q8_0, .vec_dot = cllm_cpu_dot_q4_0_ref,
                            .gemm_rp = cllm_cpu_gemm_rp_q4_0_ref, .gemm_rpx = cllm_cpu_gemm_rpx_q4_0_ref},
        SLOT(Q4_1, Q8_1, cllm_cpu_dot_q4_1_ref),
        SLOT(Q5_0, Q8_0, cllm_cpu_dot_q5_0_ref),
        SLOT(Q5_1, Q8_1, cllm_cpu_dot_q5_1_ref),
        [CLLM_TYPE_Q8_0] = {.act_type = CLLM_TYPE_Q8_0, .vec_dot = cllm_cpu_dot_q8_0_ref,
                            .gemm_rp = cllm_cpu_gemm_rp_q8_0_ref, .gemm_rpx = cllm_cpu_gemm_rpx_q8_0_ref},
        SLOT(IQ4_NL, Q8_0, cllm_cpu_dot_iq4_nl_ref),
        SLOT(Q2_K, Q8_K, cllm_cpu_dot_q2_K_ref),
        SLOT(Q3_K, Q8_K, cllm_cpu_dot_q3_K_ref),
        [CLLM_TYPE_Q4_K] = {.act_type = CLLM_TYPE_Q8_K, .vec_dot = cllm_cpu_dot_q4_K_ref,
                            .gemm_rp = cllm_cpu_gemm_rp_q4_K_ref, .gemm_rpx = cllm_cpu_gemm_rpx_q4_K_ref},
        SLOT(Q5_K, Q8_K, cllm_cpu_dot_q5_K_ref),
        [CLLM_TYPE_Q6_K] = {.act_type = CLLM_TYPE_Q8_K, .vec_dot = cllm_cpu_dot_q6_K_ref,
                            .gemm_rp = cllm_cpu_gemm_rp_q6_K_ref, .gemm_rpx = cllm_cpu_gemm_rpx_q6_K_ref},
        SLOT(IQ4_XS, Q8_K, cllm_cpu_dot_iq4_xs_ref),
    },
    .from_float = {
        [CLLM_TYPE_F32] = cllm_cpu_from_f32_ref,
        [CLLM_TYPE_F16] = cllm_cpu_from_f16_ref,
        [CLLM_TYPE_BF16] = cllm_cpu_from_bf16_ref,
        [CLLM_TYPE_Q8_0] = cllm_quantize_row_q8_0,
        [CLLM_TYPE_Q8_1] = cllm_quantize_row_q8_1,
        [CLLM_TYPE_Q8_K] = cllm_quantize_row_q8_K,
    },
    .attn = {cllm_cpu_attn_exp_ref, cllm_cpu_attn_k_pack_ref, cllm_cpu_attn_v_pack_ref, cllm_cpu_attn_qk_ref,
             cllm_cpu_attn_softmax_ref, cllm_cpu_attn_pv_ref},
    .swiglu = cllm_cpu_swiglu_ref,
};

const cllm_kernels *cllm_kernels_scalar(void) { return &g_scalar; }

void cllm_cpu_table_init_from_scalar(cllm_kernels *dst, const char *name) {
    memcpy(dst, &g_scalar, sizeof *dst);
    dst->name = name;
    /* SIMD tables use repacked weights only where they have their own GEMM
     * for them (a scalar GEMM would be slower than their plain tiles). */
    for (int t = 0; t < CLLM_TYPE_COUNT; t++) {
        dst->type[t].gemm_rp = NULL;
        dst->type[t].gemm_rpx = NULL;
    }
}
