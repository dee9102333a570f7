/* model.c: cllm_model_load: open the GGUF, pick the architecture from
 * general.architecture, read hyper-parameters and bind every tensor in place
 * (weights stay in the mapping), plus the public model getters. */
#include "model/model.h"
#include "tensor/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cllm_arch *const g_archs[] = {&cllm_arch_llama, &cllm_arch_qwen2, &cllm_arch_qwen3};

cllm_model_params cllm_model_default_params(void) {
    cllm_model_params p = {.use_mmap = true, .vocab_only = false};
    return p;
}

static void fmt_shape(char *buf, size_t n, int64_t ne0, int64_t ne1) {
    if (ne1 == 1) snprintf(buf, n, "[%lld]", (long long)ne0);
    else if (ne1 < 0) snprintf(buf, n, "[%lld, *]", (long long)ne0);
    else snprintf(buf, n, "[%lld, %lld]", (long long)ne0, (long long)ne1);
}

cllm_status cllm_model_bind(cllm_model *m, cllm_weight *out, const char *name,
                            int64_t ne0, int64_t ne1, bool required) {
    memset(out, 0, sizeof *out);
    char want[64];
    fmt_shape(want, sizeof want, ne0, ne1);
    int64_t idx = cllm_gguf_find_tensor(m->gguf, name);
    if (idx < 0) {
        if (!required) return CLLM_OK;
        return cllm_err_set(&m->err, CLLM_ERR_NOT_FOUND, "model: tensor '%s' is missing (expected shape %s)",
                            name, want);
    }
    const cllm_tensor_info *ti = cllm_gguf_tensor(m->gguf, idx);
    const bool is_vec = ne1 == 1;
    bool ok = ti->ne[0] == ne0 && ti->ne[2] == 1 && ti->ne[3] == 1 &&
              (ne1 < 0 ? ti->ne[1] >= 1 : ti->ne[1] == ne1);
    if (!ok) {
        char got[96];
        snprintf(got, sizeof got, "[%lld, %lld, %lld, %lld]", (long long)ti->ne[0], (long long)ti->ne[1],
                 (long long)ti->ne[2], (long long)ti->ne[3]);
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: tensor '%s' has shape %s (expected shape %s)",
                            name, got, want);
    }
    if (is_vec && ti->type != CLLM_TYPE_F32)
        return cllm_err_set(&m->err, CLLM_ERR_UNSUPPORTED, "model: tensor '%s' has type %s (expected f32)",
                            name, cllm_type_name(ti->type) ? cllm_type_name(ti->type) : "?");
    if (!is_vec && !cllm_ops_type_supported(ti->type))
        return cllm_err_set(&m->err, CLLM_ERR_UNSUPPORTED,
                            "model: tensor '%s' has type %s, which has no CPU dot-product kernel", name,
                            cllm_type_name(ti->type) ? cllm_type_name(ti->type) : "?");
    out->name = ti->name;
    out->type = ti->type;
    out->ne0 = ti->ne[0];
    out->ne1 = ti->ne[1];
    out->row_bytes = (size_t)cllm_type_row_size(ti->type, ti->ne[0]);
    out->data = ti->data;
    if (out->row_bytes == 0 || (uint64_t)out->row_bytes * (uint64_t)out->ne1 > ti->nbytes)
        return cllm_err_set(&m->err, CLLM_ERR_FORMAT, "model: tensor '%s' size does not match its shape", name);
    return CLLM_OK;
}

#define TRY(x) do { cllm_status st_ = (x); if (st_ != CLLM_OK) return st_; } while (0)

cllm_status cllm_model_bind_standard(cllm_model *m, const cllm_bind_flags *fl) {
    const cllm_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff, HD = hp->n_embd_head_k;
    const int64_t QD = (int64_t)hp->n_head * HD, KD = (int64_t)hp->n_head_kv * HD;
    TRY(cllm_model_bind(m, &m->tok_embd, "token_embd.weight", E, -1, true));
    m->hp.n_vocab = (int32_t)m->tok_embd.ne1;
    TRY(cllm_model_bind(m, &m->output_norm, "output_norm.weight", E, 1, true));
    TRY(cllm_model_bind(m, &m->output, "output.weight", E, m->hp.n_vocab, false));
    if (!m->output.data) m->output = m->tok_embd;   /* tied embeddings */
    if (!cllm_ops_type_supported(m->output.type))
        return cllm_err_set(&m->err, CLLM_ERR_UNSUPPORTED, "model: output weight type %s has no dot-product kernel",
                            cllm_type_name(m->output.type));
    TRY(cllm_model_bind(m, &m->rope_freqs, "rope_freqs.weight", hp->n_rot / 2, 1, false));
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return cllm_err_set(&m->err, CLLM_ERR_NOMEM, "model: out of memory");
    char nm[96];
#define B(field, suffix, a, b, req)                                            \
    do {                                                                       \
        snprintf(nm, sizeof nm, "blk.%d.%s", il, suffix);                      \
        TRY(cllm_model_bind(m, &L->field, nm, a, b, req));                     \
    } while (0)
    for (int il = 0; il < hp->n_layer; il++) {
        cllm_layer *L = &m->layers[il];
        B(attn_norm, "attn_norm.weight", E, 1, true);
        B(wq, "attn_q.weight", E, QD, true);
        B(wk, "attn_k.weight", E, KD, true);
        B(wv, "attn_v.weight", E, KD, true);
        B(wo, "attn_output.weight", QD, E, true);
        B(bq, "attn_q.bias", QD, 1, fl->qkv_bias);
        B(bk, "attn_k.bias", KD, 1, fl->qkv_bias);
        B(bv, "attn_v.bias", KD, 1, fl->qkv_bias);
        B(bo, "attn_output.bias", E, 1, false);
        if (fl->qk_norm) {
            B(q_norm, "attn_q_norm.weight", HD, 1, true);
            B(k_norm, "attn_k_norm.weight", HD, 1, true);
        }
        B(ffn_norm, "ffn_norm.weight", E, 1, true);
        B(ffn_gate, "ffn_gate.weight", E, F, true);
        B(ffn_up, "ffn_up.weight", E, F, true);
        B(ffn_down, "ffn_down.weight", F, E, true);
        /* load-time repack for the GEMM kernels (src/ops/repack_weights.c) */
        cllm_weight *const rw[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down};
        for (size_t i = 0; i < sizeof rw / sizeof rw[0]; i++) cllm_ops_weight_repack(rw[i], &m->rp);
    }
#undef B
    cllm_ops_weight_repack(&m->output, &m->rp);
    return CLLM_OK;
}

static cllm_status read_file(const char *path, void **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return cllm_set_last_error(CLLM_ERR_IO, "model: cannot open '%s'", path);
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return cllm_set_last_error(CLLM_ERR_IO, "model: cannot seek '%s'", path); }
    long n = ftell(f);
    if (n < 0) { fclose(f); return cllm_set_last_error(CLLM_ERR_IO, "model: cannot size '%s'", path); }
    rewind(f);
    void *b = cllm_amalloc((size_t)n);
    if (!b) { fclose(f); return cllm_set_last_error(CLLM_ERR_NOMEM, "model: cannot allocate %ld bytes", n); }
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        cllm_afree(b);
        return cllm_set_last_error(CLLM_ERR_IO, "model: short read on '%s'", path);
    }
    fclose(f);
    *buf = b;
    *len = (size_t)n;
    return CLLM_OK;
}

cllm_status cllm_model_load(const char *path, const cllm_model_params *params, cllm_model **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "model: out is NULL");
    *out = NULL;
    if (!path) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "model: path is NULL");
    cllm_model_params p = params ? *params : cllm_model_default_params();
    cllm_model *m = calloc(1, sizeof *m);
    if (!m) return cllm_set_last_error(CLLM_ERR_NOMEM, "model: out of memory");
    cllm_status st;
    if (p.use_mmap) {
        st = cllm_gguf_open(path, &m->gguf);
    } else {
        size_t len = 0;
        st = read_file(path, &m->file_buf, &len);
        if (st == CLLM_OK) st = cllm_gguf_open_memory(m->file_buf, len, &m->gguf);
    }
    if (st != CLLM_OK) {
        char msg[CLLM_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cllm_last_error());
        cllm_model_free(m);
        return cllm_set_last_error(st, "%s", msg);
    }
    const char *arch = NULL;
    if (cllm_gguf_get_str(m->gguf, "general.architecture", &arch, NULL) != CLLM_OK) {
        cllm_model_free(m);
        return cllm_set_last_error(CLLM_ERR_FORMAT, "model: '%s' has no general.architecture", path);
    }
    for (size_t i = 0; i < sizeof g_archs / sizeof g_archs[0]; i++)
        if (!strcmp(arch, g_archs[i]->name)) m->arch = g_archs[i];
    snprintf(m->arch_name, sizeof m->arch_name, "%s", arch);   /* arch is borrowed from the gguf */
    if (!m->arch) {
        char name[64];
        memcpy(name, m->arch_name, sizeof name);
        cllm_model_free(m);
        return cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "model: architecture '%s' is not supported "
                                   "(supported: llama, qwen2, qwen3)", name);
    }
    st = cllm_hparams_load(m);
    /* The vocab (tokenizer) is copied out of the file. A model whose weights
     * are fine but whose tokenizer cllm cannot read still runs on token ids
     * (a warning), unless only the vocab was asked for. */
    if (st == CLLM_OK && cllm_gguf_find_key(m->gguf, "tokenizer.ggml.model") >= 0) {
        cllm_status vst = cllm_vocab_load(m->gguf, &m->vocab);
        if (vst != CLLM_OK) {
            if (p.vocab_only) st = cllm_err_set(&m->err, vst, "%s", cllm_last_error());
            else CLLM_LOGW("model: %s: tokenizer not loaded (%s); token ids only", path, cllm_last_error());
            m->vocab = NULL;
        }
    }
    if (st == CLLM_OK && !p.vocab_only) st = m->arch->load(m);
    if (st == CLLM_OK && p.vocab_only) {
        int64_t k = cllm_gguf_find_key(m->gguf, "tokenizer.ggml.tokens");
        if (k >= 0 && cllm_gguf_kv_type(m->gguf, k) == CLLM_GGUF_ARRAY)
            m->hp.n_vocab = (int32_t)cllm_gguf_arr_n(m->gguf, k);
    }
    if (st == CLLM_OK && !p.vocab_only) {
        for (int64_t i = 0; i < cllm_gguf_n_tensors(m->gguf); i++) {
            const cllm_tensor_info *ti = cllm_gguf_tensor(m->gguf, i);
            m->n_bytes += ti->nbytes;
            m->n_params += (uint64_t)(ti->ne[0] * ti->ne[1] * ti->ne[2] * ti->ne[3]);
        }
    }
    if (st != CLLM_OK) {
        char msg[CLLM_ERRMSG_MAX];
        memcpy(msg, m->err.msg, sizeof msg);
        cllm_model_free(m);
        return cllm_set_last_error(st, "%.200s: %.300s", path, msg);
    }
    *out = m;
    return CLLM_OK;
}

void cllm_model_free(cllm_model *m) {
    if (!m) return;
    free(m->layers);
    cllm_ops_rp_free(m->rp);
    cllm_vocab_free(m->vocab);
    cllm_gguf_free(m->gguf);
    cllm_afree(m->file_buf);
    free(m);
}

const char *cllm_model_arch(const cllm_model *m) { return m ? m->arch_name : NULL; }
int32_t cllm_model_n_vocab(const cllm_model *m) { return m ? m->hp.n_vocab : 0; }
int32_t cllm_model_n_embd(const cllm_model *m) { return m ? m->hp.n_embd : 0; }
int32_t cllm_model_n_layer(const cllm_model *m) { return m ? m->hp.n_layer : 0; }
int32_t cllm_model_n_ctx_train(const cllm_model *m) { return m ? m->hp.n_ctx_train : 0; }
uint64_t cllm_model_size_bytes(const cllm_model *m) { return m ? m->n_bytes : 0; }
uint64_t cllm_model_n_params(const cllm_model *m) { return m ? m->n_params : 0; }
const cllm_gguf *cllm_model_gguf(const cllm_model *m) { return m ? m->gguf : NULL; }
const struct cllm_vocab *cllm_model_vocab(const cllm_model *m) { return m ? m->vocab : NULL; }
