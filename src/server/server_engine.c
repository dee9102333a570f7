/* server_engine.c: the srv_engine adapter over libcllm for `cllm serve`:
 * loads the model, creates one context whose KV cache holds n_slots
 * sequences, and maps tokenization, decoding, KV operations, sampling and
 * chat templates onto the library. It is the only server file that calls
 * the model/tokenizer/sampler/chat modules, so API changes stay here.
 */
#include "server/server.h"
#include "core/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct real {
    cllm_model *model;
    cllm_context *ctx;
    const cllm_vocab *vocab;
    cllm_vocab *own_vocab;     /* when the model has none attached */
    char bos_text[64], eos_text[64];
    char *model_tmpl;          /* the model's tokenizer.chat_template (copy) */
    cllm_chat *chat;           /* chat formatting from the GGUF (srv_engine.chat) */
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

static char *re_detokenize(srv_engine *e, const int32_t *toks, int32_t n, size_t *len) {
    real *R = e->impl;
    int32_t cap = n * 8 + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *buf = malloc((size_t)cap + 1);
        if (!buf) return NULL;
        int32_t k = cllm_detokenize(R->vocab, toks, n, buf, cap, false, false);
        if (k >= 0) {
            buf[k] = 0;
            *len = (size_t)k;
            return buf;
        }
        free(buf);
        cap = -k;
    }
    return NULL;
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

/* ---------------------------------------------------------- sampling */
/* Whether buf[0..n) is whole UTF-8 characters (no partial sequence). */
static bool utf8_whole(const char *buf, int32_t n) {
    int32_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)buf[i];
        int32_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!k || i + k > n) return false;
        for (int32_t j = 1; j < k; j++)
            if (((unsigned char)buf[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

/* Pieces for the grammar. Tokens that hold part of a UTF-8 character (byte
 * tokens) are given no text, which keeps them out of grammar-constrained
 * output: the grammar matcher lets a lone lead byte through whenever some
 * character of its range (overlong forms included) could match, and a
 * sequence started that way can dead-end (e.g. 0xE0 before "{"). */
static const char *view_piece(void *user, int32_t id, size_t *len) {
    static _Thread_local char buf[256];
    int32_t n = cllm_token_to_piece((const cllm_vocab *)user, id, buf, sizeof buf, false);
    *len = n > 0 && utf8_whole(buf, n) ? (size_t)n : 0;
    return buf;
}

static bool view_is_eog(void *user, int32_t id) { return cllm_vocab_is_eog((const cllm_vocab *)user, id); }

static void *re_sampler_new(srv_engine *e, const srv_sampling *sp, char *err, size_t errlen) {
    real *R = e->impl;
    cllm_sampler_params p = cllm_sampler_default_params();
    p.seed = sp->has_seed ? sp->seed : CLLM_SEED_RANDOM;
    if (p.seed == CLLM_SEED_RANDOM && sp->has_seed) p.seed--;
    p.temp = sp->temperature;
    p.top_k = sp->top_k;
    p.top_p = sp->top_p;
    p.min_p = sp->min_p;
    p.penalty_repeat = sp->repeat_penalty;
    p.penalty_freq = sp->frequency_penalty;
    p.penalty_present = sp->presence_penalty;
    p.n_ctx = e->n_ctx;
    cllm_logit_bias *lb = NULL;
    if (sp->n_bias) {
        lb = calloc((size_t)sp->n_bias, sizeof *lb);
        if (!lb) { snprintf(err, errlen, "out of memory"); return NULL; }
        for (int i = 0; i < sp->n_bias; i++) lb[i] = (cllm_logit_bias){sp->bias[i].tok, sp->bias[i].bias};
        p.logit_bias = lb;
        p.n_logit_bias = sp->n_bias;
    }
    p.grammar = sp->grammar;
    cllm_vocab_view view = {.n_vocab = e->n_vocab, .piece = view_piece, .is_eog = view_is_eog, .user = (void *)R->vocab};
    cllm_sampler *s = NULL;
    if (cllm_sampler_init(&p, &view, &s) != CLLM_OK) {
        snprintf(err, errlen, "%s", cllm_last_error());
        s = NULL;
    }
    free(lb);
    return s;
}

static int32_t re_sample(srv_engine *e, void *s, const float *logits) {
    return cllm_sampler_sample(s, logits, e->n_vocab);
}

static void re_accept(srv_engine *e, void *s, int32_t tok) {
    (void)e;
    cllm_sampler_accept(s, tok);
}

static void re_sampler_free(srv_engine *e, void *s) {
    (void)e;
    cllm_sampler_free(s);
}

static char *re_schema(srv_engine *e, const char *schema, char *err, size_t errlen) {
    (void)e;
    char *g = NULL;
    if (cllm_json_schema_to_grammar(schema, &g, err, errlen) != CLLM_OK) return NULL;
    return g;
}


static void re_free(srv_engine *e) {
    if (!e) return;
    real *R = e->impl;
    if (R) {
        free(R->model_tmpl);
        cllm_chat_free(R->chat);
        if (R->ctx) cllm_context_free(R->ctx);
        if (R->model) cllm_model_free(R->model);
        cllm_vocab_free(R->own_vocab);
        free(R);
    }
    free(e);
}

void srv_engine_free(srv_engine *e) {
    if (e && e->free) e->free(e);
}

srv_engine *srv_engine_open(const srv_config *cfg, char *err, size_t errlen) {
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
    R->vocab = cllm_model_vocab(R->model);
    if (!R->vocab) {
        /* The model does not carry its vocab: build it from the same file. */
        if (cllm_vocab_load(cllm_model_gguf(R->model), &R->own_vocab) != CLLM_OK) {
            snprintf(err, errlen, "model '%s': cannot build its tokenizer: %s", cfg->model_path,
                     cllm_last_error());
            re_free(e);
            return NULL;
        }
        R->vocab = R->own_vocab;
    }
    if (!R->vocab) {
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
    e->bos = cllm_vocab_bos(R->vocab);
    e->eos = cllm_vocab_eos(R->vocab);
    e->add_bos = cllm_vocab_add_bos(R->vocab);
    e->pooling = "mean";
    const cllm_gguf *g = cllm_model_gguf(R->model);
    if (g) {
        int64_t v;
        const char *s;
        if (cllm_gguf_get_str(g, "tokenizer.chat_template", &s, NULL) == CLLM_OK && s[0]) {
            R->model_tmpl = strdup(s);
            e->has_template = R->model_tmpl != NULL;
            e->template_text = R->model_tmpl;
        }
        /* chat formatting with the model's named variants (tool_use, ...) */
        if (cllm_chat_init_gguf(g, NULL, &R->chat) == CLLM_OK) e->chat = R->chat;
        else cllm_log(CLLM_LOG_WARN, "serve: chat template: %s", cllm_last_error());
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
    e->detokenize = re_detokenize;
    e->decode = re_decode;
    e->logits = re_logits;
    e->embedding = re_embedding;
    e->kv_rm = re_kv_rm;
    e->kv_cp = re_kv_cp;
    e->sampler_new = re_sampler_new;
    e->sampler_sample = re_sample;
    e->sampler_accept = re_accept;
    e->sampler_free = re_sampler_free;
    e->schema_to_grammar = re_schema;
    return e;
}
