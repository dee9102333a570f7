/* qwen3.c: the "qwen3" architecture: llama-style blocks without biases, a
 * per-head RMSNorm on q and k (attn_q_norm/attn_k_norm, before RoPE), NEOX
 * RoPE, and a head dim from qwen3.attention.key_length that may differ from
 * n_embd / n_head. */
#include "model/context.h"

static cllm_status qwen3_load(cllm_model *m) {
    const cllm_bind_flags fl = {.qkv_bias = false, .qk_norm = true};
    return cllm_model_bind_standard(m, &fl);
}

static void qwen3_forward_layer(cllm_fwd *f, int il) {
    const cllm_block_flags fl = {.qkv_bias = false, .qk_norm = true};
    cllm_transformer_layer(f, il, &fl);
}

const cllm_arch cllm_arch_qwen3 = {
    .name = "qwen3",
    .rope_type = CLLM_ROPE_NEOX,
    .load = qwen3_load,
    .forward_layer = qwen3_forward_layer,
};
