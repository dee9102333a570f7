/* context.c: decoding contexts: KV cache, scratch allocated once for n_batch
 * tokens, the thread pool (through the ops context), and cllm_decode, the
 * graph-free forward pass: embed -> layers (architecture code) -> final norm
 * and output projection for the tokens that asked for logits. */
#include "model/context.h"
#include "cpu/kernels.h"
#include "quant/quants.h"
#include "tensor/types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* K-shift helper from the CPU ops (rope.c). */
void cllm_rope_cache(const cllm_rope_params *rp, float pos, float *cs);
void cllm_rope_apply(const cllm_rope_params *rp, const float *cs, float *x);

cllm_context_params cllm_context_default_params(void) {
    cllm_context_params p = {
        .n_ctx = 0, .n_batch = 512, .n_seq_max = 1, .n_threads = 0,
        .kv_type = CLLM_TYPE_F16, .embeddings = false,
    };
    return p;
}

static float *falloc(size_t n) { return cllm_amalloc(n * sizeof(float)); }

cllm_status cllm_context_init(cllm_model *m, const cllm_context_params *params, cllm_context **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "context: out is NULL");
    *out = NULL;
    if (!m) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "context: model is NULL");
    if (!m->layers) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "context: model was loaded vocab-only");
    cllm_context_params p = params ? *params : cllm_context_default_params();
    const cllm_hparams *hp = &m->hp;
    if (p.n_ctx == 0) p.n_ctx = (uint32_t)CLLM_MIN(hp->n_ctx_train, 4096);
    if (p.n_batch == 0) p.n_batch = 512;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_seq_max == 0) p.n_seq_max = 1;
    if (p.n_seq_max > CLLM_KV_MAX_SEQ)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "context: n_seq_max %u exceeds %d", p.n_seq_max,
                                   CLLM_KV_MAX_SEQ);
    if (p.n_ctx > (1u << 24) || p.n_batch > (1u << 20))
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "context: n_ctx %u / n_batch %u too large", p.n_ctx,
                                   p.n_batch);
    if (p.n_threads <= 0) p.n_threads = cllm_cpu_features_get()->n_physical_cores;
    if (p.n_threads < 1) p.n_threads = 1;
    if (p.n_threads > 256) p.n_threads = 256;

    cllm_context *c = calloc(1, sizeof *c);
    if (!c) return cllm_set_last_error(CLLM_ERR_NOMEM, "context: out of memory");
    c->model = m;
    c->p = p;
    char err[256] = "";
    const int64_t HD = hp->n_embd_head_k;
    const int64_t QD = (int64_t)hp->n_head * HD, KD = (int64_t)hp->n_head_kv * HD;
    cllm_status st = cllm_kv_init(&c->kv, p.n_ctx, p.kv_type, hp->n_layer, KD, err, sizeof err);
    if (st == CLLM_OK && p.kv_type == CLLM_TYPE_Q8_0 && HD % 32 != 0) {
        snprintf(err, sizeof err, "kv cache: q8_0 needs a head dim multiple of 32 (have %lld)", (long long)HD);
        st = CLLM_ERR_UNSUPPORTED;
    }
    if (st != CLLM_OK) {
        cllm_context_free(c);
        return cllm_set_last_error(st, "context: %s", err);
    }
    const int64_t max_row = CLLM_MAX(CLLM_MAX(hp->n_embd, hp->n_ff), QD);
    cllm_ops_limits lim = {.n_threads = p.n_threads, .n_batch = (int)p.n_batch, .max_row = max_row,
                           .n_ctx = (int)p.n_ctx, .head_dim = (int)HD};
    st = cllm_ops_ctx_init(&lim, &c->ops);
    if (st != CLLM_OK) {
        char msg[CLLM_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cllm_last_error());
        cllm_context_free(c);
        return cllm_set_last_error(st, "context: %s", msg);
    }
    const size_t B = p.n_batch;
    c->x = falloc(B * (size_t)hp->n_embd);
    c->xn = falloc(B * (size_t)hp->n_embd);
    c->o = falloc(B * (size_t)hp->n_embd);
    c->q = falloc(B * (size_t)QD);
    c->attn = falloc(B * (size_t)QD);
    c->k = falloc(B * (size_t)KD);
    c->v = falloc(B * (size_t)KD);
    c->g = falloc(B * (size_t)hp->n_ff);
    c->u = falloc(B * (size_t)hp->n_ff);
    c->cells = calloc(B, sizeof(int32_t));
    c->pos = calloc(B, sizeof(int32_t));
    c->seqm = calloc(B, sizeof(uint64_t));
    c->out_map = calloc(B, sizeof(int32_t));
    c->out_tok = calloc(B, sizeof(int32_t));
    bool ok = c->x && c->xn && c->o && c->q && c->attn && c->k && c->v && c->g && c->u && c->cells && c->pos &&
              c->seqm && c->out_map && c->out_tok;
    if (ok && p.embeddings) {
        c->embd = falloc(B * (size_t)hp->n_embd);
        c->embd_seq = falloc((size_t)p.n_seq_max * (size_t)hp->n_embd);
        c->embd_seq_ok = calloc(p.n_seq_max, 1);
        ok = c->embd && c->embd_seq && c->embd_seq_ok;
    }
    /* Logits for one token up front (the common decode case); grown when a
     * batch asks for more rows than ever before. */
    if (ok) {
        c->logits = falloc((size_t)hp->n_vocab);
        c->logits_rows = 1;
        ok = c->logits != NULL;
    }
    if (!ok) {
        cllm_context_free(c);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "context: cannot allocate scratch for n_batch %u", p.n_batch);
    }
    c->rope = (cllm_rope_params){
        .n_dims = hp->n_rot, .mode = hp->rope_type, .freq_base = hp->rope_freq_base,
        .freq_scale = hp->rope_freq_scale, .ext_factor = hp->yarn_ext_factor,
        .attn_factor = hp->yarn_attn_factor, .beta_fast = hp->yarn_beta_fast,
        .beta_slow = hp->yarn_beta_slow, .n_ctx_orig = hp->n_ctx_orig,
        .freq_factors = (const float *)m->rope_freqs.data,
    };
    for (uint32_t i = 0; i < B; i++) c->out_map[i] = -1;
    *out = c;
    return CLLM_OK;
}

void cllm_context_free(cllm_context *c) {
    if (!c) return;
    cllm_ops_ctx_free(c->ops);
    cllm_kv_free(&c->kv);
    cllm_attn_plan_free(&c->plan);
    float *bufs[] = {c->x, c->xn, c->o, c->q, c->attn, c->k, c->v, c->g, c->u, c->logits, c->embd, c->embd_seq};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cllm_afree(bufs[i]);
    free(c->cells);
    free(c->pos);
    free(c->seqm);
    free(c->out_map);
    free(c->out_tok);
    free(c->embd_seq_ok);
    free(c);
}

const char *cllm_context_last_error(const cllm_context *c) { return c ? c->err.msg : ""; }
uint32_t cllm_context_n_ctx(const cllm_context *c) { return c ? c->p.n_ctx : 0; }

static cllm_status validate_batch(cllm_context *c, const cllm_batch *b) {
    const cllm_hparams *hp = &c->model->hp;
    if (!b || b->n_tokens < 1 || !b->token || !b->pos || !b->n_seq_id || !b->seq_id)
        return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "decode: empty batch");
    if ((uint32_t)b->n_tokens > c->p.n_batch)
        return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "decode: batch of %d tokens exceeds n_batch %u",
                            b->n_tokens, c->p.n_batch);
    for (int32_t i = 0; i < b->n_tokens; i++) {
        if (b->token[i] < 0 || b->token[i] >= hp->n_vocab)
            return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "decode: token %d at batch index %d out of range [0, %d)",
                                b->token[i], i, hp->n_vocab);
        if (b->pos[i] < 0)
            return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "decode: negative position %d at batch index %d",
                                b->pos[i], i);
        if (b->n_seq_id[i] < 1 || !b->seq_id[i])
            return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG, "decode: token %d has no sequence id", i);
        uint64_t mask = 0;
        for (int32_t s = 0; s < b->n_seq_id[i]; s++) {
            const int32_t id = b->seq_id[i][s];
            if (id < 0 || (uint32_t)id >= c->p.n_seq_max)
                return cllm_err_set(&c->err, CLLM_ERR_INVALID_ARG,
                                    "decode: sequence id %d at batch index %d out of range [0, %u)", id, i,
                                    c->p.n_seq_max);
            mask |= 1ull << id;
        }
        c->seqm[i] = mask;
        c->pos[i] = b->pos[i];
    }
    return CLLM_OK;
}

static cllm_status ensure_logits(cllm_context *c, int32_t rows) {
    if (rows <= c->logits_rows) return CLLM_OK;
    float *nl = falloc((size_t)rows * (size_t)c->model->hp.n_vocab);
    if (!nl) return cllm_err_set(&c->err, CLLM_ERR_NOMEM, "decode: cannot allocate logits for %d tokens", rows);
    cllm_afree(c->logits);
    c->logits = nl;
    c->logits_rows = rows;
    return CLLM_OK;
}

static void pool_embeddings(cllm_context *c, const cllm_batch *b) {
    const cllm_hparams *hp = &c->model->hp;
    const int64_t E = hp->n_embd;
    memset(c->embd_seq_ok, 0, c->p.n_seq_max);
    for (uint32_t s = 0; s < c->p.n_seq_max; s++) {
        float *dst = c->embd_seq + (size_t)s * (size_t)E;
        int cnt = 0, best = -1;
        int32_t best_pos = 0;
        memset(dst, 0, sizeof(float) * (size_t)E);
        for (int32_t i = 0; i < b->n_tokens; i++) {
            if (!(c->seqm[i] & (1ull << s))) continue;
            const float *h = c->embd + (size_t)i * (size_t)E;
            if (hp->pooling == CLLM_POOLING_MEAN)
                for (int64_t k = 0; k < E; k++) dst[k] += h[k];
            cnt++;
            const bool better = hp->pooling == CLLM_POOLING_CLS ? (best < 0 || b->pos[i] < best_pos)
                                                                : (best < 0 || b->pos[i] >= best_pos);
            if (better) { best = i; best_pos = b->pos[i]; }
        }
        if (!cnt) continue;
        if (hp->pooling == CLLM_POOLING_MEAN)
            for (int64_t k = 0; k < E; k++) dst[k] /= (float)cnt;
        else
            memcpy(dst, c->embd + (size_t)best * (size_t)E, sizeof(float) * (size_t)E);
        c->embd_seq_ok[s] = 1;
    }
}

cllm_status cllm_decode(cllm_context *c, const cllm_batch *b) {
    if (!c) return CLLM_ERR_INVALID_ARG;
    cllm_status st = validate_batch(c, b);
    if (st != CLLM_OK) return st;
    const cllm_model *m = c->model;
    const cllm_hparams *hp = &m->hp;
    const int n = b->n_tokens;
    const int64_t E = hp->n_embd;

    int32_t n_out = 0;
    for (int32_t i = 0; i < n; i++) n_out += b->logits && b->logits[i] ? 1 : 0;
    st = ensure_logits(c, n_out);
    if (st != CLLM_OK) return st;
    if (!cllm_kv_cache_find_slots(&c->kv, n, c->cells))
        return cllm_err_set(&c->err, CLLM_ERR_NO_SPACE,
                            "decode: %d tokens do not fit the KV cache (%u of %u cells used)", n, c->kv.used,
                            c->kv.size);
    for (int32_t i = 0; i < n; i++) cllm_kv_cache_set(&c->kv, c->cells[i], b->pos[i], c->seqm[i]);
    const uint32_t n_kv = cllm_kv_cache_n_kv(&c->kv);
    /* Once per decode: which cells each sequence set sees (every layer and
     * head reuses it). Without memory for it attention scans [0, n_kv). */
    const bool have_plan = cllm_attn_plan_build(&c->plan, n, c->pos, c->seqm, (int)n_kv, c->kv.pos, c->kv.seq);

    cllm_fwd f = {
        .m = m, .ops = c->ops, .kv = &c->kv, .n_tok = n, .n_kv = n_kv,
        .pos = c->pos, .seqm = c->seqm, .cells = c->cells, .plan = have_plan ? &c->plan : NULL, .rope = c->rope,
        .x = c->x, .xn = c->xn, .q = c->q, .k = c->k, .v = c->v, .attn = c->attn, .g = c->g, .u = c->u, .o = c->o,
    };
    /* Output rows (tokens that want logits), in batch order. */
    for (int32_t i = 0; i < n; i++) c->out_map[i] = -1;
    int32_t r = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!(b->logits && b->logits[i])) continue;
        c->out_map[i] = r;
        c->out_tok[r] = i;
        r++;
    }
    /* Without embeddings, the last layer carries only the output rows past
     * attention (and nothing at all when no logits are wanted). */
    if (!c->p.embeddings) {
        f.keep = c->out_tok;
        f.n_keep = n_out;
    }
    CLLM_OP(c->ops, get_rows, &m->tok_embd, b->token, n, c->x);
    for (int il = 0; il < hp->n_layer; il++) m->arch->forward_layer(&f, il);

    /* Final norm and output projection of the output rows: already rows
     * 0..n_out-1 of x when the last layer compacted them. */
    for (int32_t k = 0; k < n_out; k++) {
        const int32_t src = f.keep ? k : c->out_tok[k];
        memcpy(c->xn + (size_t)k * (size_t)E, c->x + (size_t)src * (size_t)E, sizeof(float) * (size_t)E);
    }
    if (c->p.embeddings) {
        CLLM_OP(c->ops, rms_norm, c->x, c->embd, (const float *)m->output_norm.data, E, E, n, hp->rms_eps);
        pool_embeddings(c, b);
    }
    if (n_out > 0) {
        CLLM_OP(c->ops, rms_norm, c->xn, c->xn, (const float *)m->output_norm.data, E, E, n_out, hp->rms_eps);
        const cllm_weight *w = &m->output;
        float *y = c->logits;
        /* The output projection can have more rows than n_batch allows the
         * matmul scratch; feed it in chunks of at most n_batch tokens. */
        for (int32_t t0 = 0; t0 < n_out; t0 += (int32_t)c->p.n_batch) {
            const int32_t nt = CLLM_MIN(n_out - t0, (int32_t)c->p.n_batch);
            float *yy = y + (size_t)t0 * (size_t)hp->n_vocab;
            CLLM_OP(c->ops, matmul, 1, &w, c->xn + (size_t)t0 * (size_t)E, nt, &yy);
        }
    }
    c->n_out = n_out;
    c->n_last = n;
    return CLLM_OK;
}

const float *cllm_get_logits_ith(cllm_context *c, int32_t i) {
    if (!c) return NULL;
    if (i < 0) i += c->n_last;   /* -1: the last token of the batch */
    if (i < 0 || i >= c->n_last) return NULL;
    const int32_t r = c->out_map[i];
    if (r < 0) return NULL;
    return c->logits + (size_t)r * (size_t)c->model->hp.n_vocab;
}

const float *cllm_get_embeddings_seq(cllm_context *c, int32_t seq) {
    if (!c || !c->p.embeddings || seq < 0 || (uint32_t)seq >= c->p.n_seq_max || !c->embd_seq_ok[seq]) return NULL;
    return c->embd_seq + (size_t)seq * (size_t)c->model->hp.n_embd;
}

/* ------------------------------------------------------------- KV by seq */
void cllm_kv_clear(cllm_context *c) {
    if (c) cllm_kv_cache_clear(&c->kv);
}

bool cllm_kv_seq_rm(cllm_context *c, int32_t seq, int32_t p0, int32_t p1) {
    if (!c || seq >= (int32_t)c->p.n_seq_max) return false;
    cllm_kv_cache_seq_rm(&c->kv, seq, p0, p1);
    return true;
}

void cllm_kv_seq_cp(cllm_context *c, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    if (!c || src < 0 || dst < 0 || (uint32_t)src >= c->p.n_seq_max || (uint32_t)dst >= c->p.n_seq_max) return;
    cllm_kv_cache_seq_cp(&c->kv, src, dst, p0, p1);
}

void cllm_kv_seq_keep(cllm_context *c, int32_t seq) {
    if (!c || seq < 0 || (uint32_t)seq >= c->p.n_seq_max) return;
    cllm_kv_cache_seq_keep(&c->kv, seq);
}

/* Shifting positions also re-rotates the cached keys: RoPE angles are linear
 * in the position, so rotating K by the angles of `delta` moves it from p to
 * p + delta. The rotation is normalised to unit length (YaRN's magnitude
 * scale was applied once already). */
void cllm_kv_seq_add(cllm_context *c, int32_t seq, int32_t p0, int32_t p1, int32_t delta) {
    if (!c || delta == 0 || seq >= (int32_t)c->p.n_seq_max) return;
    cllm_kv_cache *kv = &c->kv;
    const cllm_hparams *hp = &c->model->hp;
    const uint64_t mask = seq < 0 ? ~0ull : (1ull << seq);
    const int HD = hp->n_embd_head_k;
    float *row = c->k;             /* scratch: one cell row (n_head_kv * HD <= n_batch rows) */
    float *cs = c->q;              /* scratch: HD floats */
    cllm_rope_cache(&c->rope, (float)delta, cs);
    for (int i = 0; i < hp->n_rot; i += 2) {
        const float nrm = sqrtf(cs[i] * cs[i] + cs[i + 1] * cs[i + 1]);
        if (nrm > 0.0f) { cs[i] /= nrm; cs[i + 1] /= nrm; }
    }
    const cllm_kernels *kern = cllm_kernels_get();
    for (uint32_t j = 0; j < kv->size; j++) {
        if (!(kv->seq[j] & mask)) continue;
        const int32_t pos = kv->pos[j];
        if (pos < (p0 < 0 ? 0 : p0) || (p1 >= 0 && pos >= p1)) continue;
        if (pos + delta < 0) continue;   /* freed below */
        for (int l = 0; l < kv->n_layer; l++) {
            void *kr = (char *)kv->k[l] + (size_t)j * kv->row_bytes;
            cllm_quant_dequantize_row(kv->type, kr, row, kv->n_embd_kv);
            for (int h = 0; h < hp->n_head_kv; h++) cllm_rope_apply(&c->rope, cs, row + (size_t)h * (size_t)HD);
            if (kv->type == CLLM_TYPE_F32) memcpy(kr, row, sizeof(float) * (size_t)kv->n_embd_kv);
            else kern->from_float[kv->type](row, kr, kv->n_embd_kv);
        }
    }
    cllm_kv_cache_seq_add(kv, seq, p0, p1, delta, NULL);
}

int32_t cllm_kv_seq_pos_max(const cllm_context *c, int32_t seq) {
    if (!c || seq < 0 || (uint32_t)seq >= c->p.n_seq_max) return -1;
    return cllm_kv_cache_seq_pos_max(&c->kv, seq);
}
