/* sampler.c: the sampler chain behind cllm_sampler_* (llama.cpp's common
 * sampling: logit bias, then the configured order -- by default penalties,
 * DRY, top-n-sigma, top-k, typical, top-p, min-p, XTC, temperature -- then a
 * seeded draw; or temperature + mirostat), plus grammar-constrained sampling
 * that checks the drawn token first and masks the vocabulary only when the
 * grammar rejects it. */
#include "core/core.h"
#include "sampling/grammar.h"
#include "sampling/rng.h"
#include "sampling/samplers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    SK_PENALTIES, SK_DRY, SK_TOP_N_SIGMA, SK_TOP_K, SK_TYPICAL, SK_TOP_P, SK_MIN_P, SK_XTC, SK_TEMP,
    SK_COUNT
};

static const struct {
    const char *name, *alias, *alias2;
    char letter;
} k_names[SK_COUNT] = {
    [SK_PENALTIES] = {"penalties", "penalty", NULL, 'e'},
    [SK_DRY] = {"dry", NULL, NULL, 'd'},
    [SK_TOP_N_SIGMA] = {"top_n_sigma", "top-n-sigma", NULL, 's'},
    [SK_TOP_K] = {"top_k", "top-k", NULL, 'k'},
    [SK_TYPICAL] = {"typ_p", "typical_p", "typical", 'y'},
    [SK_TOP_P] = {"top_p", "top-p", NULL, 'p'},
    [SK_MIN_P] = {"min_p", "min-p", NULL, 'm'},
    [SK_XTC] = {"xtc", NULL, NULL, 'x'},
    [SK_TEMP] = {"temperature", "temp", NULL, 't'},
};

#define MAX_ORDER 32

struct cllm_sampler {
    cllm_sampler_params p;   /* copy; borrowed pointers cleared */
    cllm_logit_bias *bias;
    size_t n_bias;
    int order[MAX_ORDER];
    int n_order;
    uint64_t seed;           /* the seed in use (resolved from CLLM_SEED_RANDOM) */
    cllm_rng rng;
    float mu;                /* mirostat state */
    int32_t *hist;           /* last tokens, oldest first: hist[0..hist_n) */
    size_t hist_n, hist_keep;
    bool *is_breaker;
    int32_t n_breaker;
    cllm_grammar *grammar;
    cllm_token_prob *buf;
    size_t buf_cap;
    cllm_cands cands;
    int32_t n_vocab;         /* of the current sample call */
    bool closing;            /* see cllm_sampler_set_closing */
    cllm_token_prob *lazy;   /* [lazy_cap] scratch of sample_lazy */
    size_t lazy_cap;
    cllm_err err;
};

cllm_sampler_params cllm_sampler_default_params(void) {
    cllm_sampler_params p;
    memset(&p, 0, sizeof p);
    p.seed = CLLM_SEED_RANDOM;
    p.n_ctx = 4096;
    p.min_keep = 0;
    p.temp = 0.8f;
    p.dynatemp_range = 0.0f;
    p.dynatemp_exponent = 1.0f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.typical_p = 1.0f;
    p.xtc_probability = 0.0f;
    p.xtc_threshold = 0.1f;
    p.top_n_sigma = -1.0f;
    p.penalty_last_n = 64;
    p.penalty_repeat = 1.0f;
    p.penalty_freq = 0.0f;
    p.penalty_present = 0.0f;
    p.dry_multiplier = 0.0f;
    p.dry_base = 1.75f;
    p.dry_allowed_length = 2;
    p.dry_penalty_last_n = -1;
    p.mirostat = 0;
    p.mirostat_tau = 5.0f;
    p.mirostat_eta = 0.1f;
    return p;
}

static int name_to_kind(const char *s, size_t n) {
    for (int k = 0; k < SK_COUNT; k++) {
        const char *al[3] = {k_names[k].name, k_names[k].alias, k_names[k].alias2};
        for (int j = 0; j < 3; j++)
            if (al[j] && strlen(al[j]) == n && strncmp(al[j], s, n) == 0) return k;
    }
    return -1;
}

static cllm_status parse_order(cllm_sampler *s, const char *order) {
    s->n_order = 0;
    if (!order) {
        static const int def[] = {SK_PENALTIES, SK_DRY, SK_TOP_N_SIGMA, SK_TOP_K, SK_TYPICAL,
                                  SK_TOP_P, SK_MIN_P, SK_XTC, SK_TEMP};
        for (size_t i = 0; i < sizeof def / sizeof def[0]; i++) s->order[s->n_order++] = def[i];
        return CLLM_OK;
    }
    /* One-letter form: every character a known letter, no separators. */
    bool letters = *order != '\0' && strpbrk(order, ";,") == NULL && name_to_kind(order, strlen(order)) < 0;
    if (letters) {
        for (const char *c = order; *c; c++) {
            int k = -1;
            for (int j = 0; j < SK_COUNT; j++)
                if (k_names[j].letter == *c) k = j;
            if (k < 0)
                return cllm_set_last_error(CLLM_ERR_INVALID_ARG,
                                           "sampler order: unknown sampler letter '%c' in \"%s\"", *c, order);
            if (s->n_order >= MAX_ORDER)
                return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler order: more than %d samplers", MAX_ORDER);
            s->order[s->n_order++] = k;
        }
        return CLLM_OK;
    }
    const char *c = order;
    while (*c) {
        while (*c == ';' || *c == ',' || *c == ' ') c++;
        if (!*c) break;
        const char *e = c;
        while (*e && *e != ';' && *e != ',' && *e != ' ') e++;
        int k = name_to_kind(c, (size_t)(e - c));
        if (k < 0)
            return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler order: unknown sampler '%.*s'",
                                       (int)(e - c > 64 ? 64 : e - c), c);
        if (s->n_order >= MAX_ORDER)
            return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler order: more than %d samplers", MAX_ORDER);
        s->order[s->n_order++] = k;
        c = e;
    }
    return CLLM_OK;
}

static int32_t resolve_last_n(int32_t n, int32_t n_ctx) { return n < 0 ? n_ctx : n; }

static void reseed(cllm_sampler *s) {
    cllm_rng_seed(&s->rng, s->seed);
    s->mu = 2.0f * s->p.mirostat_tau;
}

cllm_status cllm_sampler_init(const cllm_sampler_params *pp, const cllm_vocab_view *vocab,
                              cllm_sampler **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_sampler_init: out is NULL");
    *out = NULL;
    cllm_sampler_params p = pp ? *pp : cllm_sampler_default_params();
    if (p.n_ctx <= 0) p.n_ctx = 4096;
    if (p.min_keep < 0) p.min_keep = 0;
    if (p.mirostat < 0 || p.mirostat > 2)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler: mirostat must be 0, 1 or 2 (got %d)", p.mirostat);
    if (p.n_logit_bias < 0 || (p.n_logit_bias > 0 && !p.logit_bias))
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler: bad logit_bias list");
    if (p.penalty_last_n < -1 || p.dry_penalty_last_n < -1)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler: *_last_n must be >= -1");
    if (p.grammar && (!vocab || !vocab->piece))
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler: a grammar needs a vocab view with pieces");
    cllm_sampler *s = calloc(1, sizeof *s);
    if (!s) return cllm_set_last_error(CLLM_ERR_NOMEM, "sampler: out of memory");
    cllm_status st = parse_order(s, p.order);
    if (st != CLLM_OK) goto fail;
    if (p.n_logit_bias > 0) {
        s->bias = malloc((size_t)p.n_logit_bias * sizeof *s->bias);
        if (!s->bias) goto oom;
        memcpy(s->bias, p.logit_bias, (size_t)p.n_logit_bias * sizeof *s->bias);
        s->n_bias = (size_t)p.n_logit_bias;
    }
    int32_t pen_n = resolve_last_n(p.penalty_last_n, p.n_ctx);
    int32_t dry_n = resolve_last_n(p.dry_penalty_last_n, p.n_ctx);
    s->hist_keep = (size_t)CLLM_MAX(CLLM_MAX(pen_n, dry_n), 1);
    s->hist = malloc(2 * s->hist_keep * sizeof *s->hist);
    if (!s->hist) goto oom;
    if (vocab && vocab->piece && p.dry_multiplier != 0.0f && vocab->n_vocab > 0) {
        static const char *const def_breakers[] = {"\n", ":", "\"", "*"};
        const char *const *br = p.dry_sequence_breakers ? p.dry_sequence_breakers : def_breakers;
        int32_t nbr = p.dry_sequence_breakers ? p.n_dry_sequence_breakers : 4;
        s->is_breaker = calloc((size_t)vocab->n_vocab, sizeof *s->is_breaker);
        if (!s->is_breaker) goto oom;
        s->n_breaker = vocab->n_vocab;
        for (int32_t t = 0; t < vocab->n_vocab; t++) {
            size_t len = 0;
            const char *pc = vocab->piece(vocab->user, t, &len);
            if (!pc || !len) continue;
            for (int32_t b = 0; b < nbr && !s->is_breaker[t]; b++) {
                size_t bl = br[b] ? strlen(br[b]) : 0;
                if (!bl || bl > len) continue;
                for (size_t o = 0; o + bl <= len; o++)
                    if (memcmp(pc + o, br[b], bl) == 0) {
                        s->is_breaker[t] = true;
                        break;
                    }
            }
        }
    }
    if (p.grammar) {
        st = cllm_grammar_init(p.grammar, p.grammar_root, vocab, &s->grammar);
        if (st != CLLM_OK) goto fail;
    }
    s->seed = p.seed;
    if (s->seed == CLLM_SEED_RANDOM) {
        uint64_t t = cllm_time_ns() ^ (uint64_t)(uintptr_t)s;
        s->seed = t == CLLM_SEED_RANDOM ? 1 : t;
    }
    p.logit_bias = NULL;
    p.grammar = NULL;
    p.grammar_root = NULL;
    p.order = NULL;
    p.dry_sequence_breakers = NULL;
    s->p = p;
    reseed(s);
    *out = s;
    return CLLM_OK;
oom:
    st = cllm_set_last_error(CLLM_ERR_NOMEM, "sampler: out of memory");
fail:
    cllm_sampler_free(s);
    return st;
}

void cllm_sampler_free(cllm_sampler *s) {
    if (!s) return;
    cllm_grammar_free(s->grammar);
    free(s->bias);
    free(s->hist);
    free(s->is_breaker);
    free(s->buf);
    free(s->lazy);
    free(s);
}

static bool fill(cllm_sampler *s, const float *logits, int32_t n) {
    if ((size_t)n > s->buf_cap) {
        cllm_token_prob *nb = realloc(s->buf, (size_t)n * sizeof *nb);
        if (!nb) return false;
        s->buf = nb;
        s->buf_cap = (size_t)n;
    }
    for (int32_t i = 0; i < n; i++) {
        float l = logits[i];
        s->buf[i].id = i;
        s->buf[i].logit = isnan(l) ? -INFINITY : l;
        s->buf[i].p = 0.0f;
    }
    s->cands.data = s->buf;
    s->cands.size = (size_t)n;
    s->cands.sorted = false;
    return true;
}

/* The last n tokens of history (n <= hist_n). */
static const int32_t *hist_tail(const cllm_sampler *s, size_t n) { return s->hist + (s->hist_n - n); }

static void run_step(cllm_sampler *s, int kind);

/* The configured order from index `from` on, then the draw. */
static long run_chain_from(cllm_sampler *s, int from) {
    for (int i = from; i < s->n_order; i++) run_step(s, s->order[i]);
    return cllm_samp_dist(&s->cands, &s->rng);
}

static long run_chain(cllm_sampler *s) {
    const cllm_sampler_params *p = &s->p;
    cllm_cands *c = &s->cands;
    cllm_samp_logit_bias(c, s->bias, s->n_bias);
    if (p->mirostat == 1) {
        cllm_samp_temp(c, p->temp, 0.0f, 1.0f);
        return cllm_samp_mirostat(c, p->mirostat_tau, p->mirostat_eta, 100, s->n_vocab, &s->mu,
                                  &s->rng);
    }
    if (p->mirostat == 2) {
        cllm_samp_temp(c, p->temp, 0.0f, 1.0f);
        return cllm_samp_mirostat_v2(c, p->mirostat_tau, p->mirostat_eta, &s->mu, &s->rng);
    }
    return run_chain_from(s, 0);
}

static void run_step(cllm_sampler *s, int kind) {
    const cllm_sampler_params *p = &s->p;
    cllm_cands *c = &s->cands;
    size_t mk = (size_t)p->min_keep;
    {
        switch (kind) {
        case SK_PENALTIES: {
            size_t n = (size_t)resolve_last_n(p->penalty_last_n, p->n_ctx);
            if (n > s->hist_n) n = s->hist_n;
            cllm_samp_penalties(c, hist_tail(s, n), n, p->penalty_repeat, p->penalty_freq, p->penalty_present);
            break;
        }
        case SK_DRY: {
            size_t n = (size_t)resolve_last_n(p->dry_penalty_last_n, p->n_ctx);
            if (n > s->hist_n) n = s->hist_n;
            cllm_samp_dry(c, hist_tail(s, n), n, s->is_breaker, s->n_breaker, p->dry_multiplier, p->dry_base,
                          p->dry_allowed_length);
            break;
        }
        case SK_TOP_N_SIGMA: cllm_samp_top_n_sigma(c, p->top_n_sigma); break;
        case SK_TOP_K: cllm_samp_top_k(c, p->top_k, mk); break;
        case SK_TYPICAL: cllm_samp_typical(c, p->typical_p, mk); break;
        case SK_TOP_P: cllm_samp_top_p(c, p->top_p, mk); break;
        case SK_MIN_P: cllm_samp_min_p(c, p->min_p, mk); break;
        case SK_XTC: cllm_samp_xtc(c, p->xtc_probability, p->xtc_threshold, mk, &s->rng); break;
        case SK_TEMP: cllm_samp_temp(c, p->temp, p->dynatemp_range, p->dynatemp_exponent); break;
        default: break;
        }
    }
}

/* Index in the order of the top-k step when everything before it leaves the
 * candidates' relative order and membership to the grammar mask alone
 * (penalties and DRY only change the logits of given tokens; the others
 * must be off), else -1. Then "mask, run the chain" equals "run the steps
 * before top-k, take the k best tokens the grammar allows, go on". */
static int lazy_topk_index(const cllm_sampler *s) {
    const cllm_sampler_params *p = &s->p;
    if (p->mirostat != 0 || p->top_k <= 0) return -1;
    for (int i = 0; i < s->n_order; i++) {
        switch (s->order[i]) {
        case SK_TOP_K: return i;
        case SK_PENALTIES: case SK_DRY: break;
        case SK_TOP_N_SIGMA: if (p->top_n_sigma > 0.0f) return -1; break;
        case SK_TYPICAL: if (p->typical_p < 1.0f) return -1; break;
        case SK_TOP_P: if (p->top_p < 1.0f) return -1; break;
        case SK_MIN_P: if (p->min_p > 0.0f) return -1; break;
        case SK_XTC: if (p->xtc_probability > 0.0f && p->xtc_threshold <= 0.5f) return -1; break;
        default: return -1;   /* temperature (dynamic, or greedy) */
        }
    }
    return -1;
}

#define LAZY_RANKS 128   /* ranks checked one by one before masking everything */

/* The rejected-draw path without a whole-vocabulary mask: check tokens
 * one by one from the most likely down until top-k of them are allowed.
 * Returns the drawn token, or -2 when this does not apply (fewer allowed
 * within LAZY_RANKS, or -inf reached): the caller then masks. */
static int32_t sample_lazy(cllm_sampler *s, const float *logits, int32_t n_vocab, int ki) {
    cllm_cands *c = &s->cands;
    fill(s, logits, n_vocab);
    cllm_samp_logit_bias(c, s->bias, s->n_bias);
    for (int i = 0; i < ki; i++) run_step(s, s->order[i]);
    size_t kk = (size_t)s->p.top_k;
    if (kk < (size_t)s->p.min_keep) kk = (size_t)s->p.min_keep;
    if (kk > c->size || kk > LAZY_RANKS) return -2;
    if (kk > s->lazy_cap) {
        cllm_token_prob *nb = realloc(s->lazy, kk * sizeof *nb);
        if (!nb) return -2;
        s->lazy = nb;
        s->lazy_cap = kk;
    }
    size_t found = 0;
    for (size_t done = 0, k = 64; done < c->size && found < kk; done = k, k *= 4) {
        if (done >= LAZY_RANKS) return -2;
        if (k > c->size) k = c->size;
        cllm_cands_partial_sort(c, k);
        for (size_t i = done; i < k && found < kk; i++) {
            if (c->data[i].logit == -INFINITY) return -2;
            if (cllm_grammar_token_ok(s->grammar, c->data[i].id)) s->lazy[found++] = c->data[i];
            /* Too many rejections to reach k within LAZY_RANKS: mask instead. */
            if (LAZY_RANKS - (i + 1) < kk - found) return -2;
        }
    }
    if (found < kk) return -2;
    memcpy(c->data, s->lazy, kk * sizeof *c->data);
    c->size = kk;
    c->sorted = true;
    long idx = run_chain_from(s, ki + 1);
    return idx >= 0 ? c->data[idx].id : -1;
}

/* Closing mode: the most likely allowed token that shortens the distance
 * to completion; EOG once complete. */
static int32_t sample_closing(cllm_sampler *s) {
    int32_t d0 = cllm_grammar_distance(s->grammar);
    cllm_cands *c = &s->cands;
    if (d0 == 0) {
        /* Complete: the most likely EOG token (no mask needed). */
        long best = -1;
        for (size_t i = 0; i < c->size; i++) {
            const cllm_token_prob *t = &c->data[i];
            if (t->logit == -INFINITY || !cllm_grammar_token_is_eog(s->grammar, t->id)) continue;
            if (best < 0 || t->logit > c->data[best].logit ||
                (t->logit == c->data[best].logit && t->id < c->data[best].id))
                best = (long)i;
        }
        return best >= 0 ? c->data[best].id : -1;
    }
    /* Examine the candidates from the most likely down, sorting only as far
     * as needed (a full sort of a 32k vocabulary costs milliseconds; the
     * answer is usually among the first few hundred), in the same order as
     * a full sort (the partial sort uses the same total order). The grammar
     * mask is applied up front only when it is cached; otherwise
     * distance_after (which rejects disallowed tokens itself, ~10 us a
     * call) runs on the first 64 ranks, and the mask (well under a
     * millisecond since the walk became copy-free) is built only if they
     * hold no answer. */
    bool masked = cllm_grammar_mask_cached(s->grammar);
    if (masked) cllm_grammar_apply(s->grammar, c);
    for (;;) {
        size_t n = 0;
        for (size_t i = 0; i < c->size; i++)
            if (c->data[i].logit != -INFINITY) c->data[n++] = c->data[i];
        c->size = n;
        c->sorted = false;
        bool restart = false;
        for (size_t done = 0, k = 64; done < n && !restart; done = k, k *= 8) {
            if (k > n) k = n;
            cllm_cands_partial_sort(c, k);
            for (size_t i = done; i < k; i++) {
                int32_t d = cllm_grammar_distance_after(s->grammar, c->data[i].id);
                if (d >= 0 && d < d0) return c->data[i].id;
            }
            if (!masked && k < n) {
                /* No answer in the first ranks: drop them, mask the rest
                 * at once, and go on with what is left. */
                for (size_t i = 0; i < k; i++) c->data[i].logit = -INFINITY;
                cllm_grammar_apply(s->grammar, c);
                masked = restart = true;
            }
        }
        if (!restart) return -1;
    }
}

int32_t cllm_sampler_sample(cllm_sampler *s, const float *logits, int32_t n_vocab) {
    if (!s) return -1;
    if (!logits || n_vocab <= 0) {
        cllm_err_set(&s->err, CLLM_ERR_INVALID_ARG, "sampler: no logits (n_vocab %d)", n_vocab);
        return -1;
    }
    if (!fill(s, logits, n_vocab)) {
        cllm_err_set(&s->err, CLLM_ERR_NOMEM, "sampler: out of memory for %d candidates", n_vocab);
        return -1;
    }
    s->n_vocab = n_vocab;
    if (s->closing && s->grammar) {
        cllm_samp_logit_bias(&s->cands, s->bias, s->n_bias);
        int32_t t = sample_closing(s);
        if (t < 0)
            cllm_err_set(&s->err, CLLM_ERR_INVALID_ARG,
                         "sampler: closing mode: no allowed token brings the grammar closer to completion");
        return t;
    }
    float mu0 = s->mu;
    long idx = run_chain(s);
    int32_t tok = idx >= 0 ? s->cands.data[idx].id : -1;
    if (s->grammar && (tok < 0 || !cllm_grammar_token_ok(s->grammar, tok))) {
        /* Rejected: mask the whole vocabulary, then run the chain again --
         * or, when the mask is not cached and the chain allows it, find
         * the top-k allowed tokens one by one (same result). */
        s->mu = mu0;
        int ki = cllm_grammar_mask_cached(s->grammar) ? -1 : lazy_topk_index(s);
        tok = ki >= 0 ? sample_lazy(s, logits, n_vocab, ki) : -2;
        if (tok == -2) {
            fill(s, logits, n_vocab);
            cllm_grammar_apply(s->grammar, &s->cands);
            idx = run_chain(s);
            tok = idx >= 0 ? s->cands.data[idx].id : -1;
        }
    }
    if (tok < 0) {
        cllm_err_set(&s->err, CLLM_ERR_INVALID_ARG, "sampler: no token can be sampled (every candidate is %s)",
                     s->grammar ? "masked by the grammar or -inf" : "-inf");
        return -1;
    }
    return tok;
}

cllm_status cllm_sampler_accept(cllm_sampler *s, int32_t token) { return cllm_sampler_accept_ex(s, token, true); }

cllm_status cllm_sampler_accept_ex(cllm_sampler *s, int32_t token, bool use_grammar) {
    if (!s) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "sampler: NULL");
    if (s->grammar && use_grammar) {
        cllm_status st = cllm_grammar_accept_token(s->grammar, token);
        if (st != CLLM_OK) return cllm_err_set(&s->err, st, "%s", cllm_grammar_last_error(s->grammar));
    }
    if (s->hist_n == 2 * s->hist_keep) {
        memmove(s->hist, s->hist + s->hist_keep, s->hist_keep * sizeof *s->hist);
        s->hist_n = s->hist_keep;
    }
    s->hist[s->hist_n++] = token;
    return CLLM_OK;
}

int32_t cllm_sampler_grammar_distance(const cllm_sampler *s) {
    return s && s->grammar ? cllm_grammar_distance(s->grammar) : -1;
}

void cllm_sampler_set_closing(cllm_sampler *s, bool on) {
    if (s) s->closing = on;
}

void cllm_sampler_reset(cllm_sampler *s) {
    if (!s) return;
    s->closing = false;
    s->hist_n = 0;
    reseed(s);
    if (s->grammar) cllm_grammar_reset(s->grammar);
}

const char *cllm_sampler_last_error(const cllm_sampler *s) { return s ? s->err.msg : ""; }

int32_t cllm_sampler_last_candidates(const cllm_sampler *s, const cllm_token_prob **out) {
    if (!s || !out) return 0;
    *out = s->cands.data;
    return (int32_t)s->cands.size;
}
