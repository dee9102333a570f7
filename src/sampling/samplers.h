/* samplers.h: the individual samplers, each a function over a candidate array.
 * They follow the reference runtime's (llama.cpp) semantics; the chain in
 * sampler.c composes them. Kept separate so tests can drive each sampler on
 * hand-built distributions. */
#ifndef CLLM_SAMPLING_SAMPLERS_H
#define CLLM_SAMPLING_SAMPLERS_H

#include "cllm.h"
#include "sampling/rng.h"

#include <stdbool.h>
#include <stddef.h>

/* Candidates. data is owned by the caller; samplers shrink size, reorder and
 * rewrite logits/p in place (xtc shifts entries down). sorted means sorted by
 * logit descending (ties: lower id first), which softmax establishes. */
typedef struct cllm_cands {
    cllm_token_prob *data;
    size_t size;
    bool sorted;
} cllm_cands;

/* Sort by logit descending, ties by id ascending (a total order, so results do
 * not depend on the sort algorithm). */
void cllm_cands_sort(cllm_cands *c);
/* Move the k best candidates to the front, sorted in that order; the rest
 * follow in no particular order (size unchanged; sorted only if k >= size). */
void cllm_cands_partial_sort(cllm_cands *c, size_t k);
/* Sort, then p = softmax(logit). All -inf: every p is 0. */
void cllm_cands_softmax(cllm_cands *c);
/* Index of the candidate with this id, or -1. O(1) when the array still maps
 * index == id (freshly filled from logits). */
long cllm_cands_find(const cllm_cands *c, int32_t id);

void cllm_samp_logit_bias(cllm_cands *c, const cllm_logit_bias *b, size_t n);
/* Repetition/frequency/presence penalties over hist[0..n) (the last N tokens). */
void cllm_samp_penalties(cllm_cands *c, const int32_t *hist, size_t n,
                         float repeat, float freq, float present);
/* DRY over hist[0..n). is_breaker[id] (may be NULL, n_breaker entries) marks
 * sequence-breaker tokens; matches never extend across one. */
void cllm_samp_dry(cllm_cands *c, const int32_t *hist, size_t n,
                   const bool *is_breaker, int32_t n_breaker,
                   float multiplier, float base, int32_t allowed_length);
void cllm_samp_top_n_sigma(cllm_cands *c, float n);
void cllm_samp_top_k(cllm_cands *c, int32_t k, size_t min_keep);
void cllm_samp_typical(cllm_cands *c, float p, size_t min_keep);
void cllm_samp_top_p(cllm_cands *c, float p, size_t min_keep);
void cllm_samp_min_p(cllm_cands *c, float p, size_t min_keep);
void cllm_samp_xtc(cllm_cands *c, float probability, float threshold, size_t min_keep,
                   cllm_rng *rng);
/* temp <= 0 leaves only the best candidate finite. delta > 0: dynamic
 * temperature in [temp - delta, temp + delta] by normalised entropy^exponent. */
void cllm_samp_temp(cllm_cands *c, float temp, float delta, float exponent);

/* Selectors: return the chosen index into c->data, or -1 if nothing has
 * nonzero probability. */
long cllm_samp_greedy(cllm_cands *c);
long cllm_samp_dist(cllm_cands *c, cllm_rng *rng);
/* Mirostat v1 (m: tokens used to estimate s_hat, 100) and v2; *mu is state. */
long cllm_samp_mirostat(cllm_cands *c, float tau, float eta, int32_t m, int32_t n_vocab,
                        float *mu, cllm_rng *rng);
long cllm_samp_mirostat_v2(cllm_cands *c, float tau, float eta, float *mu, cllm_rng *rng);

#endif
