/* hparams.c: the hyper-parameters of a model from its GGUF metadata, keys
 * "<arch>.<name>" as written by llama.cpp's converters. Required keys missing
 * or values out of range are errors naming the key. */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static cllm_status get_i32(cllm_model *m, const char *suffix, bool required, int32_t def,
                           int32_t lo, int32_t hi, int32_t *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    int64_t v;
    cllm_status st = cllm_gguf_get_i64(m->gguf, key, &v);
    if (st == CLLM_ERR_NOT_FOUND) {
        if (required) return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: required metadata key '%s' is missing", key);
        *out = def;
        return CLLM_OK;
    }
    if (st != CLLM_OK)
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: metadata key '%s' is not a single integer", key);
    if (v < lo || v > hi)
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: metadata '%s' = %lld out of range [%d, %d]",
                            key, (long long)v, lo, hi);
    *out = (int32_t)v;
    return CLLM_OK;
}

static cllm_status get_f32(cllm_model *m, const char *suffix, float def, float *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    double v;
    cllm_status st = cllm_gguf_get_f64(m->gguf, key, &v);
    if (st == CLLM_ERR_NOT_FOUND) {
        *out = def;
        return CLLM_OK;
    }
    if (st != CLLM_OK || !isfinite(v))
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: metadata key '%s' is not a finite float", key);
    *out = (float)v;
    return CLLM_OK;
}

#define TRY(x) do { cllm_status st_ = (x); if (st_ != CLLM_OK) return st_; } while (0)

cllm_status cllm_hparams_load(cllm_model *m) {
    cllm_hparams *hp = &m->hp;
    memset(hp, 0, sizeof *hp);
    const int32_t BIG = 1 << 30;
    TRY(get_i32(m, "context_length", true, 0, 1, BIG, &hp->n_ctx_train));
    TRY(get_i32(m, "embedding_length", true, 0, 1, 1 << 20, &hp->n_embd));
    TRY(get_i32(m, "block_count", true, 0, 1, CLLM_MAX_LAYERS, &hp->n_layer));
    TRY(get_i32(m, "feed_forward_length", true, 0, 1, 1 << 22, &hp->n_ff));
    TRY(get_i32(m, "attention.head_count", true, 0, 1, 1 << 14, &hp->n_head));
    TRY(get_i32(m, "attention.head_count_kv", false, hp->n_head, 1, hp->n_head, &hp->n_head_kv));
    if (hp->n_head % hp->n_head_kv != 0)
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: %d heads is not a multiple of %d KV heads",
                            hp->n_head, hp->n_head_kv);
    const int32_t def_hd = hp->n_embd % hp->n_head == 0 ? hp->n_embd / hp->n_head : 0;
    TRY(get_i32(m, "attention.key_length", def_hd == 0, def_hd, 1, 1 << 16, &hp->n_embd_head_k));
    TRY(get_i32(m, "attention.value_length", false, hp->n_embd_head_k, 1, 1 << 16, &hp->n_embd_head_v));
    if (hp->n_embd_head_v != hp->n_embd_head_k)
        return cllm_err_set(&m->err, CLLM_ERR_UNSUPPORTED, "model: key length %d != value length %d",
                            hp->n_embd_head_k, hp->n_embd_head_v);
    TRY(get_i32(m, "rope.dimension_count", false, hp->n_embd_head_k, 2, hp->n_embd_head_k, &hp->n_rot));
    if (hp->n_rot % 2 != 0)
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: odd rope dimension count %d", hp->n_rot);
    TRY(get_f32(m, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->rms_eps));
    if (!(hp->rms_eps > 0.0f))
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: rms epsilon %g must be > 0", hp->rms_eps);
    TRY(get_f32(m, "rope.freq_base", 10000.0f, &hp->rope_freq_base));
    if (!(hp->rope_freq_base > 1.0f))
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: rope freq_base %g must be > 1", hp->rope_freq_base);

    /* Rope scaling: "<arch>.rope.scaling.type" (none|linear|yarn) with
     * ".factor", or the older "<arch>.rope.scale_linear". */
    hp->rope_scaling = CLLM_ROPE_SCALING_NONE;
    float factor = 1.0f;
    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch_name);
    const char *stype = NULL;
    if (cllm_gguf_get_str(m->gguf, key, &stype, NULL) == CLLM_OK) {
        if (!strcmp(stype, "none")) hp->rope_scaling = CLLM_ROPE_SCALING_NONE;
        else if (!strcmp(stype, "linear")) hp->rope_scaling = CLLM_ROPE_SCALING_LINEAR;
        else if (!strcmp(stype, "yarn")) hp->rope_scaling = CLLM_ROPE_SCALING_YARN;
        else return cllm_err_set(&m->err, CLLM_ERR_UNSUPPORTED, "model: rope scaling type '%s' (%s) not supported",
                                 stype, key);
        TRY(get_f32(m, "rope.scaling.factor", 1.0f, &factor));
    } else {
        TRY(get_f32(m, "rope.scale_linear", 1.0f, &factor));
        if (factor != 1.0f) hp->rope_scaling = CLLM_ROPE_SCALING_LINEAR;
    }
    if (hp->rope_scaling != CLLM_ROPE_SCALING_NONE && !(factor > 0.0f))
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: rope scaling factor %g must be > 0", factor);
    hp->rope_freq_scale = (hp->rope_scaling == CLLM_ROPE_SCALING_NONE || factor == 0.0f) ? 1.0f : 1.0f / factor;
    TRY(get_i32(m, "rope.scaling.original_context_length", false, hp->n_ctx_train, 1, BIG, &hp->n_ctx_orig));
    hp->yarn_ext_factor = hp->rope_scaling == CLLM_ROPE_SCALING_YARN ? 1.0f : 0.0f;
    TRY(get_f32(m, "rope.scaling.attn_factor", 1.0f, &hp->yarn_attn_factor));
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;

    int32_t pooling = CLLM_POOLING_NONE;
    TRY(get_i32(m, "pooling_type", false, CLLM_POOLING_NONE, 0, 3, &pooling));
    hp->pooling = pooling;
    hp->rope_type = m->arch->rope_type;
    return CLLM_OK;
}
