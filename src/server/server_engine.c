/* server_engine.c: the srv_engine adapter over libcllm for `cllm serve`:
 * loads the model, creates one context whose KV cache holds n_slots
 * sequences, and maps tokenization, decoding, KV operations, sampling and
 * chat templates onto the library. It is the only server file that calls
 * the model/tokenizer/sampler/chat modules, so API changes stay here.
 *
 * Modules that are not linked into this build are referenced weakly and
 * reported as missing at start (or per request) instead of failing the link. */
#include "server/server.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Engine and GGUF entry points (declared in cllm.h). */
#pragma weak cllm_model_default_params
#pragma weak cllm_model_load
#pragma weak cllm_model_free
#pragma weak cllm_model_arch
#pragma weak cllm_model_n_vocab
#pragma weak cllm_model_n_embd
#pragma weak cllm_model_n_ctx_train
#pragma weak cllm_model_size_bytes
#pragma weak cllm_model_n_params
#pragma weak cllm_model_gguf
#pragma weak cllm_model_vocab
#pragma weak cllm_context_default_params
#pragma weak cllm_context_init
#pragma weak cllm_context_free
#pragma weak cllm_context_last_error
#pragma weak cllm_context_n_ctx
#pragma weak cllm_decode
#pragma weak cllm_get_logits_ith
#pragma weak cllm_get_embeddings_seq
#pragma weak cllm_kv_seq_rm
#pragma weak cllm_kv_seq_cp
#pragma weak cllm_gguf_find_key
#pragma weak cllm_gguf_get_str
#pragma weak cllm_gguf_get_i64
#pragma weak cllm_gguf_get_bool

/* Tokenizer API (planned by the tokenizer module; weak until it lands). */
int32_t cllm_tokenize(const struct cllm_vocab *v, const char *text, size_t len, int32_t *out,
                      int32_t n_max, bool add_special, bool parse_special);
int32_t cllm_token_to_piece(const struct cllm_vocab *v, int32_t id, char *buf, int32_t len,
                            bool special);
bool cllm_vocab_is_eog(const struct cllm_vocab *v, int32_t id);
#pragma weak cllm_tokenize
#pragma weak cllm_token_to_piece
#pragma weak cllm_vocab_is_eog

typedef struct real {
    cllm_model *model;
    cllm_context *ctx;
    const struct cllm_vocab *vocab;
    char bos_text[64], eos_text[64];
} real;

static int32_t re_tokenize(srv_engine *e, const char *text, size_t len, bool add_special,
                           bool parse_special, int32_t **out, char *err, size_t errlen) {
    real *R = e->impl;
    size_t cap = len + 16;
    if (cap > (size_t)INT32_MAX / 4) {
        snprintf(err, errlen, "text of %zu bytes is too long", len);
        return -1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *buf = malloc(sizeof *buf * cap);
        if (!buf) { snprintf(err, errlen, "out of memory"); return -1; }
        int32_t n = cllm_tokenize(R->vocab, text, len, buf, (int32_t)cap, add_special, parse_special);
        if (n >= 0 && (size_t)n <= cap) { *out = buf; return n; }
        free(buf);
        if (n < 0) { snprintf(err, errlen, "the tokenizer rejected the text"); return -1; }
        cap = (size_t)n;
    }
    snprintf(err, errlen, "tokenizer size mismatch");
    return -1;
}

static int32_t re_piece(srv_engine *e, int32_t tok, char *buf, int32_t len, bool special) {
    real *R = e->impl;
    return cllm_token_to_piece(R->vocab, tok, buf, len, special);
}

static bool re_is_eog(srv_engine *e, int32_t tok) {
    real *R = e->impl;
    return cllm_vocab_is_eog(R->vocab, tok);
}

static cllm_status re_decode(srv_engine *e, const cllm_batch *b, char *err, size_t errlen) {
    real *R = e->impl;
    cllm_status st = cllm_decode(R->ctx, b);
    if (st != CLLM_OK) snprintf(err, errlen, "%s", cllm_context_last_error(R->ctx));
    return st;
}

static const float *re_logits(srv_engine *e, int32_t i) {
    real *R = e->impl;
    return cllm_get_logits_ith(R->ctx, i);
}

static const float *re_embedding(srv_engine *e, int32_t seq) {
    real *R = e->impl;
    return cllm_get_embeddings_seq(R->ctx, seq);
}

static bool re_kv_rm(srv_engine *e, int32_t seq, int32_t p0, int32_t p1) {
    real *R = e->impl;
    return cllm_kv_seq_rm(R->ctx, seq, p0, p1);
}

static void re_kv_cp(srv_engine *e, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    real *R = e->impl;
    cllm_kv_seq_cp(R->ctx, src, dst, p0, p1);
}

static void re_free(srv_engine *e) {
    if (!e) return;
    real *R = e->impl;
    if (R) {
        if (R->ctx) cllm_context_free(R->ctx);
        if (R->model) cllm_model_free(R->model);
        free(R);
    }
    free(e);
}

void srv_engine_free(srv_engine *e) {
    if (e && e->free) e->free(e);
}

srv_engine *srv_engine_open(const srv_config *cfg, char *err, size_t errlen) {
    if (!cllm_model_load || !cllm_context_init || !cllm_decode || !cllm_kv_seq_cp) {
        snprintf(err, errlen, "this build has no inference engine (model loading/decoding is not linked)");
        return NULL;
    }
    srv_engine *e = calloc(1, sizeof *e);
    real *R = calloc(1, sizeof *R);
    if (!e || !R) {
        free(e);
        free(R);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->impl = R;
    e->free = re_free;
    cllm_model_params mp = cllm_model_default_params();
    if (cllm_model_load(cfg->model_path, &mp, &R->model) != CLLM_OK) {
        snprintf(err, errlen, "cannot load model '%s': %s", cfg->model_path, cllm_last_error());
        re_free(e);
        return NULL;
    }
    R->vocab = cllm_model_vocab ? cllm_model_vocab(R->model) : NULL;
    if (!R->vocab || !cllm_tokenize || !cllm_token_to_piece || !cllm_vocab_is_eog) {
        snprintf(err, errlen, "model '%s' has no usable tokenizer in this build", cfg->model_path);
        re_free(e);
        return NULL;
    }
    cllm_context_params cp = cllm_context_default_params();
    cp.n_ctx = (uint32_t)(cfg->n_ctx > 0 ? cfg->n_ctx : 0);
    cp.n_batch = (uint32_t)(cfg->n_batch > cfg->n_slots ? cfg->n_batch : cfg->n_slots);
    cp.n_seq_max = (uint32_t)cfg->n_slots;
    cp.n_threads = cfg->n_threads;
    cp.embeddings = cfg->embeddings;
    if (cllm_context_init(R->model, &cp, &R->ctx) != CLLM_OK) {
        snprintf(err, errlen, "cannot create a context (n_ctx %d, %d slots): %s", cfg->n_ctx, cfg->n_slots,
                 cllm_last_error());
        re_free(e);
        return NULL;
    }
    e->n_vocab = cllm_model_n_vocab(R->model);
    e->n_embd = cllm_model_n_embd(R->model);
    e->n_ctx = (int32_t)cllm_context_n_ctx(R->ctx);
    e->n_batch = (int32_t)cp.n_batch;
    e->n_seq = cfg->n_slots;
    e->n_ctx_train = cllm_model_n_ctx_train(R->model);
    e->n_params = cllm_model_n_params(R->model);
    e->size_bytes = cllm_model_size_bytes(R->model);
    e->arch = cllm_model_arch(R->model);
    e->embeddings = cfg->embeddings;
    e->bos = e->eos = -1;
    e->add_bos = true;
    e->pooling = "mean";
    const cllm_gguf *g = cllm_model_gguf ? cllm_model_gguf(R->model) : NULL;
    if (g && cllm_gguf_get_i64 && cllm_gguf_get_bool && cllm_gguf_get_str) {
        int64_t v;
        bool b;
        const char *s;
        if (cllm_gguf_get_i64(g, "tokenizer.ggml.bos_token_id", &v) == CLLM_OK) e->bos = (int32_t)v;
        if (cllm_gguf_get_i64(g, "tokenizer.ggml.eos_token_id", &v) == CLLM_OK) e->eos = (int32_t)v;
        if (cllm_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == CLLM_OK) e->add_bos = b;
        if (e->bos < 0) e->add_bos = false;
        if (cllm_gguf_get_str(g, "tokenizer.chat_template", &s, NULL) == CLLM_OK && s[0]) e->has_template = true;
        char key[128];
        snprintf(key, sizeof key, "%s.pooling_type", e->arch ? e->arch : "llama");
        if (cllm_gguf_get_i64(g, key, &v) == CLLM_OK)
            e->pooling = v == 0 ? "none" : v == 2 ? "cls" : v == 3 ? "last" : "mean";
    }
    if (e->bos >= 0) {
        int32_t n = cllm_token_to_piece(R->vocab, e->bos, R->bos_text, sizeof R->bos_text - 1, true);
        R->bos_text[n > 0 ? n : 0] = 0;
        e->bos_text = R->bos_text;
    }
    if (e->eos >= 0) {
        int32_t n = cllm_token_to_piece(R->vocab, e->eos, R->eos_text, sizeof R->eos_text - 1, true);
        R->eos_text[n > 0 ? n : 0] = 0;
        e->eos_text = R->eos_text;
    }
    const char *slash = strrchr(cfg->model_path, '/');
    snprintf(e->model_id, sizeof e->model_id, "%s", cfg->alias ? cfg->alias : slash ? slash + 1 : cfg->model_path);
    e->tokenize = re_tokenize;
    e->piece = re_piece;
    e->is_eog = re_is_eog;
    e->decode = re_decode;
    e->logits = re_logits;
    e->embedding = re_embedding;
    e->kv_rm = re_kv_rm;
    e->kv_cp = re_kv_cp;
    /* Sampling (sampler_*, schema_to_grammar) and chat templates
     * (render_chat) are wired here once those modules are in the library;
     * until then they stay NULL and the routes that need them answer 501. */
    return e;
}
