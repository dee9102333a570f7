/* mock_engine.c: a deterministic test double of srv_engine for the server's
 * unit test (tests/test_server_unit.c): byte tokens (0..255) plus EOS 256,
 * a "KV cache" that records each sequence's tokens and rejects any batch
 * whose positions are not contiguous, greedy sampling, and a next-token rule
 * that depends on the whole sequence, so a wrongly reused prefix changes the
 * output. Included (not linked) by the test. */
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOCK_NV 257
#define MOCK_EOS 256
#define MOCK_SEQ 16
#define MOCK_CTX 4096

typedef struct mock {
    int32_t seq[MOCK_SEQ][MOCK_CTX];
    int32_t len[MOCK_SEQ];
    float *logits;            /* [n_batch][MOCK_NV] */
    float embd[MOCK_SEQ][8];
    int32_t n_out;
    int step_us;              /* sleep per decode step (simulated compute) */
    int stop_after;           /* emit EOS once a sequence reaches this many generated+prompt tokens */
    long decode_calls, tokens_decoded;
    const char *script;       /* when set: the reply after "<|im_start|>assistant\n" is this text, then EOS */
} mock;

/* The next token after a sequence: a letter from a rolling hash, EOS once
 * the sequence is long enough. */
static int32_t mock_next(const mock *m, int seq) {
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < m->len[seq]; i++) h = (h ^ (uint32_t)m->seq[seq][i]) * 16777619u;
    if (m->stop_after > 0 && m->len[seq] >= m->stop_after) return MOCK_EOS;
    if (m->script) {
        static const char mk[] = "<|im_start|>assistant\n";
        const int32_t ml = (int32_t)sizeof mk - 1;
        for (int32_t at = m->len[seq] - ml; at >= 0; at--) {
            int32_t k = 0;
            while (k < ml && m->seq[seq][at + k] == (unsigned char)mk[k]) k++;
            if (k < ml) continue;
            size_t done = (size_t)(m->len[seq] - at - ml);
            return done < strlen(m->script) ? (unsigned char)m->script[done] : MOCK_EOS;
        }
    }
    return 'a' + (int32_t)(h % 26);
}

static int32_t mk_tokenize(srv_engine *e, const char *text, size_t len, bool add_special,
                           bool parse_special, int32_t **out, char *err, size_t errlen) {
    (void)e; (void)add_special; (void)parse_special;
    if (len > 100000) { snprintf(err, errlen, "too long"); return -1; }
    *out = malloc(sizeof(int32_t) * (len ? len : 1));
    for (size_t i = 0; i < len; i++) (*out)[i] = (unsigned char)text[i];
    return (int32_t)len;
}
static int32_t mk_piece(srv_engine *e, int32_t tok, char *buf, int32_t len, bool special) {
    (void)e;
    if (tok == MOCK_EOS) {
        if (!special) return 0;
        if (len < 5) return -5;
        memcpy(buf, "</s>", 4);
        return 4;
    }
    if (len < 1) return -1;
    buf[0] = (char)tok;
    return 1;
}
static bool mk_is_eog(srv_engine *e, int32_t tok) { (void)e; return tok == MOCK_EOS; }

static cllm_status mk_decode(srv_engine *e, const cllm_batch *b, char *err, size_t errlen) {
    mock *m = e->impl;
    m->decode_calls++;
    int32_t total = 0;
    for (int s = 0; s < MOCK_SEQ; s++) total += m->len[s];
    if (total + b->n_tokens > e->n_ctx) {
        snprintf(err, errlen, "mock KV full: %d + %d > %d", total, b->n_tokens, e->n_ctx);
        return CLLM_ERR_NO_SPACE;
    }
    int32_t want[MOCK_SEQ];
    for (int s = 0; s < MOCK_SEQ; s++) want[s] = m->len[s];
    for (int32_t i = 0; i < b->n_tokens; i++) {
        int s = b->seq_id[i][0];
        if (s < 0 || s >= e->n_seq || b->pos[i] != want[s] || b->token[i] < 0 || b->token[i] >= MOCK_NV) {
            snprintf(err, errlen, "mock: token %d of seq %d at pos %d, expected pos %d", b->token[i], s,
                     b->pos[i], s >= 0 && s < MOCK_SEQ ? want[s] : -1);
            return CLLM_ERR_INVALID_ARG;
        }
        want[s]++;
    }
    int32_t ne = 0;
    for (int32_t i = 0; i < b->n_tokens; i++) {
        int s = b->seq_id[i][0];
        m->seq[s][m->len[s]++] = b->token[i];
        m->tokens_decoded++;
        float *l = m->logits + (size_t)i * MOCK_NV;
        if (!b->logits[i]) continue;
        for (int k = 0; k < MOCK_NV; k++) l[k] = 0.0f;
        l[mock_next(m, s)] = 10.0f;
        l[(mock_next(m, s) + 1) % MOCK_NV] = 5.0f;
        ne++;
        for (int k = 0; k < 8; k++) m->embd[s][k] = 0;
        for (int32_t p = 0; p < m->len[s]; p++) m->embd[s][m->seq[s][p] % 8] += 1.0f;
    }
    m->n_out = ne;
    if (m->step_us) {
        struct timespec ts = {0, (long)m->step_us * 1000L};
        nanosleep(&ts, NULL);
    }
    return CLLM_OK;
}
static const float *mk_logits(srv_engine *e, int32_t i) {
    mock *m = e->impl;
    return i >= 0 ? m->logits + (size_t)i * MOCK_NV : NULL;
}
static const float *mk_embedding(srv_engine *e, int32_t seq) {
    mock *m = e->impl;
    return m->embd[seq];
}
static bool mk_kv_rm(srv_engine *e, int32_t seq, int32_t p0, int32_t p1) {
    mock *m = e->impl;
    if (p1 >= 0 && p1 < m->len[seq]) return false; /* only tail removal */
    if (p0 < m->len[seq]) m->len[seq] = p0 < 0 ? 0 : p0;
    return true;
}
static void mk_kv_cp(srv_engine *e, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    mock *m = e->impl;
    (void)p0;
    int32_t n = p1 < 0 || p1 > m->len[src] ? m->len[src] : p1;
    memcpy(m->seq[dst], m->seq[src], sizeof(int32_t) * (size_t)n);
    m->len[dst] = n;
}
static void *mk_sampler_new(srv_engine *e, const srv_sampling *sp, char *err, size_t errlen) {
    (void)e;
    if (sp->grammar && !strcmp(sp->grammar, "bad")) { snprintf(err, errlen, "bad grammar"); return NULL; }
    return malloc(1);
}
static int32_t mk_sample(srv_engine *e, void *s, const float *l) {
    (void)e; (void)s;
    int32_t best = 0;
    for (int32_t i = 1; i < MOCK_NV; i++) if (l[i] > l[best]) best = i;
    return best;
}
static void mk_accept(srv_engine *e, void *s, int32_t tok) { (void)e; (void)s; (void)tok; }
static void mk_sampler_free(srv_engine *e, void *s) { (void)e; free(s); }
static char *mk_schema(srv_engine *e, const char *schema, char *err, size_t errlen) {
    (void)e; (void)err; (void)errlen;
    return strdup(schema);
}
static void mk_free(srv_engine *e) {
    mock *m = e->impl;
    free(m->logits);
    free(m);
    free(e);
}

static srv_engine *mock_engine_new(int n_seq, int n_ctx, int n_batch, int step_us, int stop_after) {
    srv_engine *e = calloc(1, sizeof *e);
    mock *m = calloc(1, sizeof *m);
    m->logits = calloc((size_t)n_batch, sizeof(float) * MOCK_NV);
    m->step_us = step_us;
    m->stop_after = stop_after;
    e->impl = m;
    e->n_vocab = MOCK_NV;
    e->n_ctx = n_ctx;
    e->n_batch = n_batch;
    e->n_embd = 8;
    e->n_seq = n_seq;
    e->bos = -1;
    e->eos = MOCK_EOS;
    e->embeddings = true;
    e->pooling = "mean";
    e->arch = "mock";
    snprintf(e->model_id, sizeof e->model_id, "mock-model");
    e->n_ctx_train = n_ctx;
    e->tokenize = mk_tokenize;
    e->piece = mk_piece;
    e->is_eog = mk_is_eog;
    e->decode = mk_decode;
    e->logits = mk_logits;
    e->embedding = mk_embedding;
    e->kv_rm = mk_kv_rm;
    e->kv_cp = mk_kv_cp;
    e->sampler_new = mk_sampler_new;
    e->sampler_sample = mk_sample;
    e->sampler_accept = mk_accept;
    e->sampler_free = mk_sampler_free;
    e->schema_to_grammar = mk_schema;
    e->free = mk_free;
    return e;
}
