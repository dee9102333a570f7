/* convert.c: Hugging Face LlamaForCausalLM checkpoints to a llama GGUF (see
 * convert.h): hyper-parameters from config.json, tensors from safetensors
 * (renamed, Q/K permuted, converted to the output type), tokenizer keys from
 * hf_vocab.c. Key order follows convert_hf_to_gguf.py: general.*, the
 * llama.* hyper-parameters, tokenizer.*, general.quantization_version. */
#include "convert/convert.h"

#include "convert/convert_internal.h"
#include "convert/safetensors.h"
#include "core/core.h"
#include "quant/quants.h"
#include "tensor/types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *cllm_convert_read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    const bool err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len_out) *len_out = n;
    return buf;
}

/* ------------------------------------------------------------ hparams */

typedef struct {
    int64_t n_layer, n_ctx, n_embd, n_ff, n_head, n_head_kv, n_vocab, head_dim;
    bool has_ctx, has_ff, has_head_kv, has_theta, has_eps, has_head_dim, tied;
    double rope_theta, rms_eps;
    const char *rope_type;   /* NULL or rope_scaling's (rope_)type */
    double rope_factor;
    json_t *rope_scaling;
} llama_hp;

/* First of keys present in config (integer); false when none is. */
static bool hp_int(json_t *cfg, const char *const *keys, int64_t *out) {
    for (; *keys; keys++) {
        json_t *v = json_object_get(cfg, *keys);
        if (json_is_integer(v)) {
            *out = json_integer_value(v);
            return true;
        }
        /* read as a real when the file had a huge integer somewhere */
        if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) && fabs(json_real_value(v)) < 9e15) {
            *out = (int64_t)json_real_value(v);
            return true;
        }
    }
    return false;
}

static bool hp_num(json_t *cfg, const char *key, double *out) {
    json_t *v = json_object_get(cfg, key);
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return true;
}

static cllm_status read_hparams(json_t *cfg, llama_hp *h) {
    memset(h, 0, sizeof *h);
    static const char *const k_layer[] = {"n_layers", "num_hidden_layers", "n_layer", "num_layers", NULL};
    static const char *const k_ctx[] = {"max_position_embeddings", "n_ctx", "n_positions", "max_length",
                                        "max_sequence_length", "model_max_length", NULL};
    static const char *const k_embd[] = {"hidden_size", "n_embd", "dim", NULL};
    static const char *const k_ff[] = {"intermediate_size", "n_inner", "hidden_dim", NULL};
    static const char *const k_head[] = {"num_attention_heads", "n_head", "n_heads", NULL};
    static const char *const k_head_kv[] = {"num_key_value_heads", "n_kv_heads", NULL};
    static const char *const k_vocab[] = {"vocab_size", NULL};
    static const char *const k_hd[] = {"head_dim", NULL};
    if (!hp_int(cfg, k_layer, &h->n_layer) || h->n_layer <= 0 || h->n_layer > 100000)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: config.json: num_hidden_layers missing or invalid");
    if (!hp_int(cfg, k_embd, &h->n_embd) || h->n_embd <= 0)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: config.json: hidden_size missing or invalid");
    if (!hp_int(cfg, k_head, &h->n_head) || h->n_head <= 0)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: config.json: num_attention_heads missing or invalid");
    h->has_ctx = hp_int(cfg, k_ctx, &h->n_ctx);
    h->has_ff = hp_int(cfg, k_ff, &h->n_ff);
    h->has_head_kv = hp_int(cfg, k_head_kv, &h->n_head_kv);
    if (!h->has_head_kv) h->n_head_kv = h->n_head;
    if (h->n_head_kv <= 0 || h->n_head % h->n_head_kv != 0)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: config.json: num_key_value_heads %lld does not divide %lld heads",
                                   (long long)h->n_head_kv, (long long)h->n_head);
    if (!hp_int(cfg, k_vocab, &h->n_vocab))
        return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: config.json: vocab_size missing");
    h->has_head_dim = hp_int(cfg, k_hd, &h->head_dim);
    if (!h->has_head_dim) h->head_dim = h->n_embd / h->n_head;
    h->has_theta = hp_num(cfg, "rope_theta", &h->rope_theta);
    h->has_eps = hp_num(cfg, "rms_norm_eps", &h->rms_eps) || hp_num(cfg, "norm_eps", &h->rms_eps);
    h->tied = json_is_true(json_object_get(cfg, "tie_word_embeddings"));
    json_t *rs = json_object_get(cfg, "rope_scaling");
    if (json_is_object(rs)) {
        h->rope_scaling = rs;
        h->rope_type = json_string_value(json_object_get(rs, "rope_type"));
        if (!h->rope_type) h->rope_type = json_string_value(json_object_get(rs, "type"));
        hp_num(rs, "factor", &h->rope_factor);
        if (h->rope_type && strcmp(h->rope_type, "linear") != 0 && strcmp(h->rope_type, "llama3") != 0 &&
            strcmp(h->rope_type, "default") != 0)
            return cllm_set_last_error(CLLM_ERR_UNSUPPORTED,
                                       "convert: config.json: rope_scaling type '%s' is not supported (linear, llama3)",
                                       h->rope_type);
    }
    if (json_is_integer(json_object_get(cfg, "num_local_experts")) ||
        json_is_integer(json_object_get(cfg, "num_experts")))
        return cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "convert: mixture-of-experts checkpoints are not supported");
    if (json_is_true(json_object_get(cfg, "attention_bias")) || json_is_true(json_object_get(cfg, "mlp_bias")))
        CLLM_LOGI("convert: checkpoint has attention/MLP biases; they are written as blk.N.*.bias");
    return CLLM_OK;
}

/* llama3 rope frequency factors (rope_freqs.weight, head_dim/2 floats). */
static float *llama3_rope_factors(const llama_hp *h, int64_t *n_out) {
    const int64_t n = h->head_dim / 2;
    float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    if (!f) return NULL;
    const double base = h->has_theta ? h->rope_theta : 10000.0;
    double factor = 8.0, lo = 1.0, hi = 4.0, old_ctx = 8192.0;
    hp_num(h->rope_scaling, "factor", &factor);
    hp_num(h->rope_scaling, "low_freq_factor", &lo);
    hp_num(h->rope_scaling, "high_freq_factor", &hi);
    hp_num(h->rope_scaling, "original_max_position_embeddings", &old_ctx);
    const double lo_wavelen = old_ctx / lo, hi_wavelen = old_ctx / hi;
    for (int64_t i = 0; i < n; i++) {
        /* the reference computes the frequencies in float32 */
        const float freq = (float)(1.0 / pow(base, (double)(float)(2 * i) / (double)h->head_dim));
        const double wavelen = 2.0 * M_PI / freq;
        if (wavelen < hi_wavelen) f[i] = 1.0f;
        else if (wavelen > lo_wavelen) f[i] = (float)factor;
        else {
            const double smooth = (old_ctx / wavelen - lo) / (hi - lo);
            f[i] = (float)(1.0 / ((1.0 - smooth) / factor + smooth));
        }
    }
    *n_out = n;
    return f;
}

/* ----------------------------------------------------------- tensor names */

/* HF name -> GGUF name (out, >= 64 bytes). Returns false when unknown. */
static bool map_name(const char *hf, char *out, size_t cap) {
    static const struct { const char *hf, *gg; } k_top[] = {
        {"model.embed_tokens.weight", "token_embd.weight"},
        {"model.norm.weight", "output_norm.weight"},
        {"lm_head.weight", "output.weight"},
    };
    for (size_t i = 0; i < sizeof k_top / sizeof k_top[0]; i++)
        if (!strcmp(hf, k_top[i].hf)) {
            snprintf(out, cap, "%s", k_top[i].gg);
            return true;
        }
    static const struct { const char *hf, *gg; } k_blk[] = {
        {"input_layernorm", "attn_norm"},         {"self_attn.q_proj", "attn_q"},
        {"self_attn.k_proj", "attn_k"},           {"self_attn.v_proj", "attn_v"},
        {"self_attn.o_proj", "attn_output"},      {"post_attention_layernorm", "ffn_norm"},
        {"mlp.gate_proj", "ffn_gate"},            {"mlp.up_proj", "ffn_up"},
        {"mlp.down_proj", "ffn_down"},
    };
    const char *p = hf;
    if (strncmp(p, "model.layers.", 13) != 0) return false;
    p += 13;
    char *end = NULL;
    const long bid = strtol(p, &end, 10);
    if (end == p || *end != '.' || bid < 0) return false;
    p = end + 1;
    const char *dot = strrchr(p, '.');
    if (!dot || (strcmp(dot, ".weight") != 0 && strcmp(dot, ".bias") != 0)) return false;
    for (size_t i = 0; i < sizeof k_blk / sizeof k_blk[0]; i++) {
        const size_t n = strlen(k_blk[i].hf);
        if (strncmp(p, k_blk[i].hf, n) == 0 && p + n == dot) {
            snprintf(out, cap, "blk.%ld.%s%s", bid, k_blk[i].gg, dot);
            return true;
        }
    }
    return false;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Reorder the rows of q/k (shape [n_head * head_dim, ...], row_len floats per
 * row) from HF's rotate-half layout to GGUF's interleaved pairs: within each
 * head, row h*hd + half*hd/2 + i moves to h*hd + 2*i + half. */
static bool permute_rows(float *x, int64_t n_rows, int64_t row_len, int64_t n_head) {
    if (n_head <= 0 || n_rows % (n_head * 2) != 0) return false;
    const int64_t hd = n_rows / n_head, half = hd / 2;
    float *tmp = malloc((size_t)(n_rows * row_len) * sizeof *tmp);
    if (!tmp) return false;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t s = 0; s < 2; s++)
            for (int64_t i = 0; i < half; i++)
                memcpy(tmp + (h * hd + 2 * i + s) * row_len, x + (h * hd + s * half + i) * row_len,
                       (size_t)row_len * sizeof *x);
    memcpy(x, tmp, (size_t)(n_rows * row_len) * sizeof *x);
    free(tmp);
    return true;
}

/* ------------------------------------------------------------- the file */

static int file_type_of(cllm_type t) {
    switch (t) {
    case CLLM_TYPE_F32: return 0;
    case CLLM_TYPE_F16: return 1;
    case CLLM_TYPE_Q8_0: return 7;
    case CLLM_TYPE_BF16: return 32;
    default: return -1;
    }
}

/* gguf-py's size label: params scaled to K/M/B/T with at least 2 digits. */
static void size_label(uint64_t n, char *out, size_t cap) {
    double v;
    const char *suf;
    if (n > 1e12) { v = n * 1e-12; suf = "T"; }
    else if (n > 1e9) { v = n * 1e-9; suf = "B"; }
    else if (n > 1e6) { v = n * 1e-6; suf = "M"; }
    else { v = n * 1e-3; suf = "K"; }
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", round(v));
    const char *d = digits;
    while (*d == '0') d++;
    int fix = 2 - (int)strlen(d);
    if (fix < 0) fix = 0;
    snprintf(out, cap, "%.*f%s", fix, v, suf);
}

#define W_OK_OR_FAIL(expr)                                                                           \
    do {                                                                                             \
        if ((st = (expr)) != CLLM_OK) {                                                              \
            cllm_set_last_error(st, "convert: metadata: %s", cllm_gguf_writer_last_error(w));        \
            goto done;                                                                               \
        }                                                                                            \
    } while (0)

cllm_status cllm_convert_hf(const char *dir, const char *out_path, const cllm_convert_params *p) {
    if (!dir || !out_path || !p) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "convert: NULL argument");
    const int ftype = file_type_of(p->outtype);
    if (ftype < 0)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "convert: output type %s is not one of f32, f16, bf16, q8_0",
                                   cllm_type_name(p->outtype) ? cllm_type_name(p->outtype) : "?");
    hf_files hf;
    cllm_st_set *sts = NULL;
    cllm_gguf_writer *w = NULL;
    void **bufs = NULL;
    int64_t n_st = 0;
    cllm_status st = cllm_convert_hf_files_load(dir, &hf);
    if (st != CLLM_OK) goto done;

    json_t *archs = json_object_get(hf.config, "architectures");
    const char *arch = json_string_value(json_array_get(archs, 0));
    if (!arch || (strcmp(arch, "LlamaForCausalLM") != 0 && strcmp(arch, "MistralForCausalLM") != 0 &&
                  strcmp(arch, "LLaMAForCausalLM") != 0)) {
        st = cllm_set_last_error(CLLM_ERR_UNSUPPORTED,
                                 "convert: architecture %s is not supported (LlamaForCausalLM, MistralForCausalLM)",
                                 arch ? arch : "(config.json has no \"architectures\")");
        goto done;
    }
    llama_hp h;
    if ((st = read_hparams(hf.config, &h)) != CLLM_OK) goto done;
    if ((st = cllm_st_open_dir(dir, &sts)) != CLLM_OK) goto done;
    n_st = cllm_st_n_tensors(sts);
    bufs = calloc((size_t)(n_st + 1), sizeof *bufs);
    if (!bufs) {
        st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
        goto done;
    }
    if ((st = cllm_gguf_writer_init(&w)) != CLLM_OK) goto done;

    /* --- tensors first (the parameter count goes into the size label) */
    const bool have_embed = cllm_st_find(sts, "model.embed_tokens.weight") != NULL;
    const bool have_head = cllm_st_find(sts, "lm_head.weight") != NULL;
    if (!have_embed && !(h.tied && have_head)) {
        st = cllm_set_last_error(CLLM_ERR_NOT_FOUND, "convert: model.embed_tokens.weight is missing");
        goto done;
    }
    uint64_t n_params = 0;
    int64_t n_written = 0;
    if (h.rope_type && !strcmp(h.rope_type, "llama3")) {
        int64_t nf = 0;
        float *rf = llama3_rope_factors(&h, &nf);
        if (!rf) {
            st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
            goto done;
        }
        bufs[n_st] = rf;
        const int64_t ne[4] = {nf, 1, 1, 1};
        if ((st = cllm_gguf_writer_add_tensor(w, "rope_freqs.weight", CLLM_TYPE_F32, 1, ne, rf)) != CLLM_OK) {
            cllm_set_last_error(st, "convert: %s", cllm_gguf_writer_last_error(w));
            goto done;
        }
        n_params += (uint64_t)nf;
    }
    for (int64_t i = 0; i < n_st; i++) {
        const cllm_st_tensor *t = cllm_st_tensor_at(sts, i);
        if (ends_with(t->name, ".rotary_emb.inv_freq") || ends_with(t->name, ".attention.masked_bias") ||
            ends_with(t->name, ".attention.bias"))
            continue;
        char name[128];
        if (!map_name(t->name, name, sizeof name)) {
            st = cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "convert: cannot map tensor '%s' to a llama GGUF tensor",
                                     t->name);
            goto done;
        }
        if (h.tied && !strcmp(name, "output.weight")) {
            if (have_embed) continue;                  /* tied: the output reuses token_embd */
            snprintf(name, sizeof name, "token_embd.weight"); /* stored under the head's name only */
        }
        if (t->n_dims < 1) {
            st = cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "convert: tensor '%s' is a scalar", t->name);
            goto done;
        }
        int64_t ne[4] = {1, 1, 1, 1};
        for (int d = 0; d < t->n_dims; d++) ne[d] = t->shape[t->n_dims - 1 - d];
        const bool is_q = strstr(name, ".attn_q.") != NULL, is_k = strstr(name, ".attn_k.") != NULL;
        /* 1-D tensors and norms stay F32; Q8_0 needs rows of 32 (else F16) */
        cllm_type type = p->outtype;
        if (t->n_dims <= 1 || ends_with(name, "_norm.weight") || !ends_with(name, ".weight")) type = CLLM_TYPE_F32;
        if (type == CLLM_TYPE_Q8_0 && ne[0] % 32 != 0) {
            CLLM_LOGW("convert: %s: row length %lld is not a multiple of 32, writing F16", name, (long long)ne[0]);
            type = CLLM_TYPE_F16;
        }
        const void *data = t->data;
        if (is_q || is_k || type != CLLM_TYPE_F32 || t->dtype != CLLM_ST_F32) {
            const int64_t nrow = t->shape[0], row_len = t->n_elements / (nrow > 0 ? nrow : 1);
            float *f = malloc((size_t)(t->n_elements > 0 ? t->n_elements : 1) * sizeof *f);
            if (!f) {
                st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory for tensor '%s'", t->name);
                goto done;
            }
            cllm_st_to_f32(t, 0, t->n_elements, f);
            if ((is_q || is_k) && !permute_rows(f, nrow, row_len, is_q ? h.n_head : h.n_head_kv)) {
                free(f);
                st = cllm_set_last_error(CLLM_ERR_FORMAT,
                                         "convert: tensor '%s' has %lld rows, not a multiple of 2 x %lld heads",
                                         t->name, (long long)nrow, (long long)(is_q ? h.n_head : h.n_head_kv));
                goto done;
            }
            if (type == CLLM_TYPE_F32) {
                bufs[i] = f;
            } else {
                const uint64_t rs = cllm_type_row_size(type, ne[0]);
                const int64_t rows = t->n_elements / ne[0];
                uint8_t *q = malloc((size_t)(rs * (uint64_t)rows) + 1);
                bool ok = q != NULL;
                for (int64_t r = 0; r < rows && ok; r++)
                    ok = cllm_quant_quantize_row(type, f + r * ne[0], q + (uint64_t)r * rs, ne[0], NULL);
                free(f);
                if (!ok) {
                    free(q);
                    st = cllm_set_last_error(CLLM_ERR_INTERNAL, "convert: converting '%s' to %s failed", t->name,
                                             cllm_type_name(type));
                    goto done;
                }
                bufs[i] = q;
            }
            data = bufs[i];
        }
        if ((st = cllm_gguf_writer_add_tensor(w, name, type, t->n_dims, ne, data)) != CLLM_OK) {
            cllm_set_last_error(st, "convert: %s", cllm_gguf_writer_last_error(w));
            goto done;
        }
        n_params += (uint64_t)t->n_elements;
        n_written++;
        if (p->progress) p->progress(i, n_st, t->name, name, type, ne, p->user);
    }

    /* --- metadata */
    const char *base = strrchr(dir, '/');
    char dname[256];
    snprintf(dname, sizeof dname, "%s", base && base[1] ? base + 1 : dir);
    if (!base || !base[1]) { /* "dir/" */
        size_t l = strlen(dir);
        while (l > 1 && dir[l - 1] == '/') l--;
        const char *s = dir + l;
        while (s > dir && s[-1] != '/') s--;
        snprintf(dname, sizeof dname, "%.*s", (int)(dir + l - s), s);
    }
    char label[32];
    size_label(n_params, label, sizeof label);
    W_OK_OR_FAIL(cllm_gguf_writer_set_str(w, "general.architecture", "llama"));
    W_OK_OR_FAIL(cllm_gguf_writer_set_str(w, "general.type", "model"));
    W_OK_OR_FAIL(cllm_gguf_writer_set_str(w, "general.name", p->name ? p->name : dname));
    W_OK_OR_FAIL(cllm_gguf_writer_set_str(w, "general.size_label", label));
    W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)h.n_layer));
    if (h.has_ctx) W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)h.n_ctx));
    W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)h.n_embd));
    if (h.has_ff) W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)h.n_ff));
    W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)h.n_head));
    if (h.has_head_kv) W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)h.n_head_kv));
    if (h.rope_type && !strcmp(h.rope_type, "linear") && h.rope_factor > 0) {
        W_OK_OR_FAIL(cllm_gguf_writer_set_str(w, "llama.rope.scaling.type", "linear"));
        W_OK_OR_FAIL(cllm_gguf_writer_set_f32(w, "llama.rope.scaling.factor", (float)h.rope_factor));
    }
    if (h.has_theta) W_OK_OR_FAIL(cllm_gguf_writer_set_f32(w, "llama.rope.freq_base", (float)h.rope_theta));
    if (h.has_eps) W_OK_OR_FAIL(cllm_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", (float)h.rms_eps));
    if (h.has_head_dim) {
        W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.attention.key_length", (uint32_t)h.head_dim));
        W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.attention.value_length", (uint32_t)h.head_dim));
    }
    W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "general.file_type", (uint32_t)ftype));
    W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)h.n_vocab));
    W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)h.head_dim));
    if ((st = cllm_convert_vocab(w, &hf, h.n_vocab)) != CLLM_OK) goto done;
    W_OK_OR_FAIL(cllm_gguf_writer_set_u32(w, "general.quantization_version", 2));

    if ((st = cllm_gguf_writer_write(w, out_path)) != CLLM_OK)
        cllm_set_last_error(st, "convert: writing %s: %s", out_path, cllm_gguf_writer_last_error(w));
    CLLM_LOGI("convert: %lld tensors, %llu parameters written to %s", (long long)n_written,
              (unsigned long long)n_params, out_path);

done:
    cllm_gguf_writer_free(w);
    if (bufs)
        for (int64_t i = 0; i <= n_st; i++) free(bufs[i]);
    free(bufs);
    cllm_st_free(sts);
    cllm_convert_hf_files_free(&hf);
    return st;
}
