/* model.h: internals of a loaded model: hyper-parameters, bound weights (all
 * borrowed from the GGUF mapping: no copy, no dequantized duplicate) and the
 * architecture table. */
#ifndef CLLM_MODEL_MODEL_H
#define CLLM_MODEL_MODEL_H

#include "cllm.h"
#include "core/core.h"
#include "ops/ops.h"

#define CLLM_MAX_LAYERS 512

enum { CLLM_ROPE_SCALING_NONE = 0, CLLM_ROPE_SCALING_LINEAR = 1, CLLM_ROPE_SCALING_YARN = 2 };
enum { CLLM_POOLING_NONE = 0, CLLM_POOLING_MEAN = 1, CLLM_POOLING_CLS = 2, CLLM_POOLING_LAST = 3 };

typedef struct cllm_hparams {
    int32_t n_vocab;
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_ff;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t n_embd_head_k;    /* key/query head dim (<arch>.attention.key_length) */
    int32_t n_embd_head_v;    /* value head dim (<arch>.attention.value_length) */
    int32_t n_rot;            /* rotary dims (<arch>.rope.dimension_count) */
    float   rms_eps;
    float   rope_freq_base;
    int     rope_scaling;     /* CLLM_ROPE_SCALING_* */
    float   rope_freq_scale;  /* 1/factor */
    int32_t n_ctx_orig;       /* YaRN original context */
    float   yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
    int     rope_type;        /* CLLM_ROPE_NORM / CLLM_ROPE_NEOX */
    int     pooling;          /* CLLM_POOLING_* */
} cllm_hparams;

typedef struct cllm_layer {
    cllm_weight attn_norm;
    cllm_weight wq, wk, wv, wo;
    cllm_weight bq, bk, bv, bo;          /* optional biases (qwen2) */
    cllm_weight q_norm, k_norm;          /* optional per-head norms (qwen3) */
    cllm_weight ffn_norm;
    cllm_weight ffn_gate, ffn_up, ffn_down;
} cllm_layer;

struct cllm_context;
struct cllm_fwd;

/* One architecture: how to bind its tensors and run one layer. */
typedef struct cllm_arch {
    const char *name;            /* general.architecture value */
    int rope_type;
    /* Read arch-specific hyper-parameters and bind tensors into m. */
    cllm_status (*load)(cllm_model *m);
    /* Run layer il over the forward state (see transformer.h). */
    void (*forward_layer)(struct cllm_fwd *f, int il);
} cllm_arch;

struct cllm_model {
    cllm_err err;
    cllm_gguf *gguf;              /* owned; weights point into its mapping */
    void *file_buf;               /* owned copy of the file when use_mmap is false */
    const cllm_arch *arch;
    char arch_name[64];
    cllm_hparams hp;
    cllm_weight tok_embd, output_norm, output, rope_freqs;
    cllm_layer *layers;           /* [n_layer] */
    uint64_t n_bytes, n_params;
    struct cllm_vocab *vocab;     /* owned; NULL until the tokenizer is wired */
    cllm_rp_buf *rp;              /* owned: repacked weight copies (may be NULL) */
};

/* Architectures (src/models/<arch>.c). */
extern const cllm_arch cllm_arch_llama;
extern const cllm_arch cllm_arch_qwen2;
extern const cllm_arch cllm_arch_qwen3;

/* hparams.c: read the common hyper-parameters for m->arch_name. */
cllm_status cllm_hparams_load(cllm_model *m);

/* Tensor binding (model.c). Expected shape ne0 x ne1 (ne1 = 1 for 1-D).
 * required: a missing tensor is an error naming it and the shape expected;
 * otherwise out->data stays NULL. Checks the type has a dot product (2-D) or
 * is F32 (1-D). */
cllm_status cllm_model_bind(cllm_model *m, cllm_weight *out, const char *name,
                            int64_t ne0, int64_t ne1, bool required);
/* Bind the standard llama-style layer set. Flags select optional parts. */
typedef struct cllm_bind_flags {
    bool qkv_bias;     /* bq/bk/bv required */
    bool qk_norm;      /* q_norm/k_norm (per head, length head_dim) required */
} cllm_bind_flags;
cllm_status cllm_model_bind_standard(cllm_model *m, const cllm_bind_flags *fl);

#endif /* CLLM_MODEL_MODEL_H */
