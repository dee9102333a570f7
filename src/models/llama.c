/* llama.c: the "llama" architecture (Llama 2/3.x, Mistral, TinyLlama, SmolLM,
 * CodeLlama): pre-norm blocks, normal (interleaved-pair) RoPE, no biases,
 * optional llama3 rope_freqs, tied embeddings when output.weight is absent. */
#include "model/context.h"

static cllm_status llama_load(cllm_model *m) {
    const cllm_bind_flags fl = {.qkv_bias = false, .qk_norm = false};
    return cllm_model_bind_standard(m, &fl);
}

static void llama_forward_layer(cllm_fwd *f, int il) {
    const cllm_block_flags fl = {.qkv_bias = false, .qk_norm = false};
    cllm_transformer_layer(f, il, &fl);
}

const cllm_arch cllm_arch_llama = {
    .name = "llama",
    .rope_type = CLLM_ROPE_NORM,
    .load = llama_load,
    .forward_layer = llama_forward_layer,
};
