/* qwen2.c: the "qwen2" architecture: llama-style blocks with q/k/v biases
 * and NEOX RoPE (pairs i, i + n_rot/2). */
#include "model/context.h"

static cllm_status qwen2_load(cllm_model *m) {
    const cllm_bind_flags fl = {.qkv_bias = true, .qk_norm = false};
    return cllm_model_bind_standard(m, &fl);
}

static void qwen2_forward_layer(cllm_fwd *f, int il) {
    const cllm_block_flags fl = {.qkv_bias = true, .qk_norm = false};
    cllm_transformer_layer(f, il, &fl);
}

const cllm_arch cllm_arch_qwen2 = {
    .name = "qwen2",
    .rope_type = CLLM_ROPE_NEOX,
    .load = qwen2_load,
    .forward_layer = qwen2_forward_layer,
};
