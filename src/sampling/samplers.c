/* samplers.c: each sampler of the chain over a candidate array. Semantics
 * follow llama.cpp's samplers (same parameters, same edge cases); the code is
 * our own. Probabilities and cumulative sums use double so that results do not
 * hinge on float summation order. */
#include "sampling/samplers.h"

#include "core/core.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ ordering */
static int cand_better(const cllm_token_prob *a, const cllm_token_prob *b) {
    if (a->logit != b->logit) return a->logit > b->logit;
    return a->id < b->id;
}

static int cand_cmp(const void *pa, const void *pb) {
    const cllm_token_prob *a = pa, *b = pb;
    if (a->logit > b->logit) return -1;
    if (a->logit < b->logit) return 1;
    return (a->id > b->id) - (a->id < b->id);
}

void cllm_cands_sort(cllm_cands *c) {
    if (c->sorted) return;
    if (c->size > 1) qsort(c->data, c->size, sizeof *c->data, cand_cmp);
    c->sorted = true;
}

/* Move the k best candidates to the front, sorted; O(n log k) with a heap of
 * the k best seen so far whose root is the worst of them. */
static void cands_partial_sort(cllm_cands *c, size_t k);
void cllm_cands_partial_sort(cllm_cands *c, size_t k) { cands_partial_sort(c, k); }

static void cands_partial_sort(cllm_cands *c, size_t k) {
    if (c->sorted || k >= c->size) {
        cllm_cands_sort(c);
        return;
    }
    cllm_token_prob *h = c->data; /* heap lives in data[0..k) */
    /* Build: sift-down heapify where "parent is worse than children". */
    for (size_t i = k / 2; i-- > 0;) {
        size_t j = i;
        for (;;) {
            size_t l = 2 * j + 1, r = l + 1, w = j;
            if (l < k && cand_better(&h[w], &h[l])) w = l;
            if (r < k && cand_better(&h[w], &h[r])) w = r;
            if (w == j) break;
            cllm_token_prob t = h[j]; h[j] = h[w]; h[w] = t;
            j = w;
        }
    }
    for (size_t i = k; i < c->size; i++) {
        if (!cand_better(&c->data[i], &h[0])) continue;
        cllm_token_prob t = h[0]; h[0] = c->data[i]; c->data[i] = t;
        size_t j = 0;
        for (;;) {
            size_t l = 2 * j + 1, r = l + 1, w = j;
            if (l < k && cand_better(&h[w], &h[l])) w = l;
            if (r < k && cand_better(&h[w], &h[r])) w = r;
            if (w == j) break;
            cllm_token_prob u = h[j]; h[j] = h[w]; h[w] = u;
            j = w;
        }
    }
    qsort(h, k, sizeof *h, cand_cmp);
    /* The tail is unsorted; callers truncate to k right after. */
}

void cllm_cands_softmax(cllm_cands *c) {
    cllm_cands_sort(c);
    if (c->size == 0) return;
    float mx = c->data[0].logit;
    if (mx == -INFINITY) {
        for (size_t i = 0; i < c->size; i++) c->data[i].p = 0.0f;
        return;
    }
    double sum = 0.0;
    for (size_t i = 0; i < c->size; i++) sum += exp((double)c->data[i].logit - (double)mx);
    /* exp again rather than keep a float copy: every path (see top_p)
     * computes p_i = exp(l_i - max) / sum identically. */
    for (size_t i = 0; i < c->size; i++)
        c->data[i].p = (float)(exp((double)c->data[i].logit - (double)mx) / sum);
}

long cllm_cands_find(const cllm_cands *c, int32_t id) {
    if (id < 0) return -1;
    if ((size_t)id < c->size && c->data[id].id == id) return id;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].id == id) return (long)i;
    return -1;
}

/* ------------------------------------------------------------ logit edits */
void cllm_samp_logit_bias(cllm_cands *c, const cllm_logit_bias *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        long k = cllm_cands_find(c, b[i].token);
        if (k >= 0) c->data[k].logit += b[i].bias;
    }
    if (n) c->sorted = false;
}

static int i32_cmp(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

void cllm_samp_penalties(cllm_cands *c, const int32_t *hist, size_t n,
                         float repeat, float freq, float present) {
    if (n == 0 || (repeat == 1.0f && freq == 0.0f && present == 0.0f)) return;
    int32_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return;
    memcpy(tmp, hist, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, i32_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && tmp[j] == tmp[i]) j++;
        int count = (int)(j - i);
        long k = cllm_cands_find(c, tmp[i]);
        if (k >= 0) {
            float *l = &c->data[k].logit;
            /* Dividing a negative logit would raise it: multiply instead. */
            if (*l <= 0.0f) *l *= repeat;
            else *l /= repeat;
            *l -= (float)count * freq + present;
        }
        i = j;
    }
    free(tmp);
    c->sorted = false;
}

typedef struct { int32_t tok; int32_t len; } dry_hit;

static int dry_hit_cmp(const void *pa, const void *pb) {
    const dry_hit *a = pa, *b = pb;
    if (a->tok != b->tok) return (a->tok > b->tok) - (a->tok < b->tok);
    return (a->len < b->len) - (a->len > b->len); /* longest first */
}

void cllm_samp_dry(cllm_cands *c, const int32_t *hist, size_t n,
                   const bool *is_breaker, int32_t n_breaker,
                   float multiplier, float base, int32_t allowed_length) {
    if (multiplier == 0.0f || base < 1.0f || n < 2) return;
    /* Matches may not extend past the most recent sequence breaker. */
    size_t limit = 0;
    for (size_t i = n; i-- > 0;) {
        int32_t t = hist[i];
        if (is_breaker && t >= 0 && t < n_breaker && is_breaker[t]) break;
        limit++;
    }
    if (limit == 0) return;
    /* Z-function of the reversed history: z[k] = length of the longest
     * common prefix of rev and rev[k..], i.e. how far the text ending at
     * position n-1-k matches the text ending at the last token. */
    size_t *z = calloc(n, sizeof *z);
    dry_hit *hits = malloc(n * sizeof *hits);
    if (!z || !hits) {
        free(z);
        free(hits);
        return;
    }
#define REV(k) hist[n - 1 - (k)]
    z[0] = n;
    for (size_t k = 1, l = 0, r = 0; k < n; k++) {
        size_t zk = 0;
        if (k < r) zk = (r - k < z[k - l] ? r - k : z[k - l]);
        while (k + zk < n && REV(zk) == REV(k + zk)) zk++;
        z[k] = zk;
        if (k + zk > r) {
            l = k;
            r = k + zk;
        }
    }
#undef REV
    size_t nh = 0;
    size_t min_len = allowed_length > 1 ? (size_t)allowed_length : 1;
    for (size_t i = 0; i + 1 < n; i++) {
        size_t len = z[n - 1 - i];
        if (len > limit) len = limit;
        if (len < min_len) continue;
        hits[nh].tok = hist[i + 1];
        hits[nh].len = (int32_t)(len > INT32_MAX ? INT32_MAX : len);
        nh++;
    }
    qsort(hits, nh, sizeof *hits, dry_hit_cmp);
    /* Cap the exponent so the penalty stays finite. */
    double max_exp = base > 1.0f ? floor(log(FLT_MAX / (double)multiplier) / log((double)base)) : 1e9;
    for (size_t i = 0; i < nh; i++) {
        if (i > 0 && hits[i].tok == hits[i - 1].tok) continue;
        long k = cllm_cands_find(c, hits[i].tok);
        if (k < 0) continue;
        double e = (double)hits[i].len - (double)allowed_length;
        if (e > max_exp) e = max_exp;
        double pen = (double)multiplier * pow((double)base, e);
        c->data[k].logit -= (float)pen;
    }
    free(z);
    free(hits);
    c->sorted = false;
}

/* ------------------------------------------------------------ truncation */
void cllm_samp_top_n_sigma(cllm_cands *c, float n) {
    if (n <= 0.0f || c->size <= 1) return;
    float mx = -INFINITY;
    double sum = 0.0;
    size_t valid = 0;
    for (size_t i = 0; i < c->size; i++) {
        float l = c->data[i].logit;
        if (l == -INFINITY) continue;
        if (l > mx) mx = l;
        sum += l;
        valid++;
    }
    if (valid == 0) return;
    double mean = sum / (double)valid, var = 0.0;
    for (size_t i = 0; i < c->size; i++) {
        float l = c->data[i].logit;
        if (l == -INFINITY) continue;
        var += ((double)l - mean) * ((double)l - mean);
    }
    double sd = sqrt(var / (double)valid);
    double cut = (double)mx - (double)n * sd;
    for (size_t i = 0; i < c->size; i++)
        if ((double)c->data[i].logit < cut) c->data[i].logit = -INFINITY;
    cllm_cands_softmax(c);
}

void cllm_samp_top_k(cllm_cands *c, int32_t k, size_t min_keep) {
    if (k <= 0) return;
    size_t kk = (size_t)k;
    if (kk < min_keep) kk = min_keep;
    if (kk > c->size) kk = c->size;
    cands_partial_sort(c, kk);
    c->size = kk;
    c->sorted = true;
}

/* Large unsorted arrays: softmax over everything, but sort only a growing
 * prefix until it holds mass p (same result as a full sort, since the
 * partial sort uses the same total order). Returns false if not applicable. */
static bool top_p_partial(cllm_cands *c, float p, size_t min_keep) {
    if (c->sorted || c->size < 4096) return false;
    float mx = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > mx) mx = c->data[i].logit;
    if (mx == -INFINITY) return false;
    double sum = 0.0;
    for (size_t i = 0; i < c->size; i++) sum += exp((double)c->data[i].logit - (double)mx);
    for (size_t k = 256; k < c->size / 2; k *= 4) {
        cands_partial_sort(c, k);
        double cum = 0.0;
        for (size_t i = 0; i < k; i++) {
            c->data[i].p = (float)(exp((double)c->data[i].logit - (double)mx) / sum);
            cum += c->data[i].p;
            if (cum >= (double)p && i + 1 >= min_keep) {
                c->size = i + 1;
                c->sorted = true;
                return true;
            }
        }
    }
    return false; /* the mass is spread out: fall back to the full sort */
}

void cllm_samp_top_p(cllm_cands *c, float p, size_t min_keep) {
    if (p >= 1.0f || c->size == 0) return;
    if (top_p_partial(c, p, min_keep)) return;
    cllm_cands_softmax(c);
    double cum = 0.0;
    size_t last = c->size;
    for (size_t i = 0; i < c->size; i++) {
        cum += c->data[i].p;
        if (cum >= (double)p && i + 1 >= min_keep) {
            last = i + 1;
            break;
        }
    }
    c->size = last;
}

void cllm_samp_min_p(cllm_cands *c, float p, size_t min_keep) {
    if (p <= 0.0f || c->size == 0) return;
    float mx = -INFINITY;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit > mx) mx = c->data[i].logit;
    if (mx == -INFINITY) return;
    /* p_i >= p * p_max  <=>  logit_i >= logit_max + log(p). */
    float min_logit = mx + logf(p);
    size_t kept = 0;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= min_logit) kept++;
    if (kept < min_keep) {
        /* Too few pass: keep the min_keep best instead. */
        cllm_samp_top_k(c, (int32_t)CLLM_MIN(min_keep, (size_t)INT32_MAX), 0);
        return;
    }
    size_t j = 0;
    for (size_t i = 0; i < c->size; i++)
        if (c->data[i].logit >= min_logit) c->data[j++] = c->data[i];
    c->size = j; /* order preserved, so sorted stays as it was */
}

typedef struct { double score; size_t idx; } typ_ent;

static int typ_cmp(const void *pa, const void *pb) {
    const typ_ent *a = pa, *b = pb;
    if (a->score != b->score) return (a->score > b->score) - (a->score < b->score);
    return (a->idx > b->idx) - (a->idx < b->idx);
}

void cllm_samp_typical(cllm_cands *c, float p, size_t min_keep) {
    if (p >= 1.0f || c->size == 0) return;
    cllm_cands_softmax(c);
    double ent = 0.0;
    for (size_t i = 0; i < c->size; i++) {
        double pi = c->data[i].p;
        if (pi > 0.0) ent -= pi * log(pi);
    }
    typ_ent *t = malloc(c->size * sizeof *t);
    cllm_token_prob *copy = malloc(c->size * sizeof *copy);
    if (!t || !copy) {
        free(t);
        free(copy);
        return;
    }
    for (size_t i = 0; i < c->size; i++) {
        double pi = c->data[i].p;
        t[i].score = pi > 0.0 ? fabs(-log(pi) - ent) : INFINITY;
        t[i].idx = i;
    }
    qsort(t, c->size, sizeof *t, typ_cmp);
    double cum = 0.0;
    size_t last = c->size;
    for (size_t i = 0; i < c->size; i++) {
        cum += c->data[t[i].idx].p;
        if (cum > (double)p && (min_keep == 0 || i + 1 >= min_keep)) {
            last = i + 1;
            break;
        }
    }
    memcpy(copy, c->data, c->size * sizeof *copy);
    for (size_t i = 0; i < last; i++) c->data[i] = copy[t[i].idx];
    c->size = last;
    c->sorted = false;
    free(t);
    free(copy);
}

void cllm_samp_xtc(cllm_cands *c, float probability, float threshold, size_t min_keep,
                   cllm_rng *rng) {
    if (probability <= 0.0f || threshold > 0.5f || c->size < 2) return;
    float chance = cllm_rng_uniform_f(rng);
    if (chance > probability) return;
    cllm_cands_softmax(c);
    /* Remove every candidate above the threshold except the least likely. */
    size_t last = 0;
    for (size_t i = 0; i < c->size; i++) {
        if (c->data[i].p >= threshold) last = i;
        else break;
    }
    if (last > 0 && c->size - last >= min_keep) {
        memmove(c->data, c->data + last, (c->size - last) * sizeof *c->data);
        c->size -= last;
    }
}

void cllm_samp_temp(cllm_cands *c, float temp, float delta, float exponent) {
    if (c->size == 0) return;
    if (delta > 0.0f) {
        if (c->size <= 1) return;
        float tmin = temp - delta > 0.0f ? temp - delta : 0.0f;
        float tmax = temp + delta;
        cllm_cands_softmax(c);
        double ent = 0.0;
        for (size_t i = 0; i < c->size; i++) {
            double pi = c->data[i].p;
            if (pi > 0.0) ent -= pi * log(pi);
        }
        double max_ent = log((double)c->size);
        double norm = max_ent > 0.0 ? ent / max_ent : 0.0;
        double t = (double)tmin + (double)(tmax - tmin) * pow(norm, (double)exponent);
        if (t <= 0.0) {
            cllm_samp_temp(c, 0.0f, 0.0f, 1.0f);
            return;
        }
        for (size_t i = 0; i < c->size; i++) c->data[i].logit = (float)((double)c->data[i].logit / t);
        cllm_cands_softmax(c);
        return;
    }
    if (temp <= 0.0f) {
        size_t best = 0;
        for (size_t i = 1; i < c->size; i++)
            if (cand_better(&c->data[i], &c->data[best])) best = i;
        for (size_t i = 0; i < c->size; i++)
            if (i != best) c->data[i].logit = -INFINITY;
        return;
    }
    for (size_t i = 0; i < c->size; i++) c->data[i].logit /= temp;
}

/* ------------------------------------------------------------ selection */
long cllm_samp_greedy(cllm_cands *c) {
    if (c->size == 0) return -1;
    size_t best = 0;
    for (size_t i = 1; i < c->size; i++)
        if (cand_better(&c->data[i], &c->data[best])) best = i;
    if (c->data[best].logit == -INFINITY) return -1;
    return (long)best;
}

long cllm_samp_dist(cllm_cands *c, cllm_rng *rng) {
    cllm_cands_softmax(c);
    if (c->size == 0 || c->data[0].p <= 0.0f) return -1;
    double sum = 0.0;
    for (size_t i = 0; i < c->size; i++) sum += c->data[i].p;
    double u = cllm_rng_uniform_d(rng) * sum, cum = 0.0;
    long last_nz = 0;
    for (size_t i = 0; i < c->size; i++) {
        if (c->data[i].p <= 0.0f) continue;
        last_nz = (long)i;
        cum += c->data[i].p;
        if (u < cum) return (long)i;
    }
    return last_nz; /* rounding: u landed at the very end */
}

long cllm_samp_mirostat(cllm_cands *c, float tau, float eta, int32_t m, int32_t n_vocab,
                        float *mu, cllm_rng *rng) {
    cllm_cands_softmax(c);
    if (c->size == 0) return -1;
    /* Estimate the Zipf exponent s_hat from the top m probabilities. */
    double sum_ti_bi = 0.0, sum_ti_sq = 0.0;
    for (size_t i = 0; i + 1 < (size_t)(m > 0 ? m : 1) && i + 1 < c->size; i++) {
        if (c->data[i + 1].p <= 0.0f) break;
        double ti = log((double)(i + 2) / (double)(i + 1));
        double bi = log((double)c->data[i].p / (double)c->data[i + 1].p);
        sum_ti_bi += ti * bi;
        sum_ti_sq += ti * ti;
    }
    double s_hat = sum_ti_sq > 0.0 ? sum_ti_bi / sum_ti_sq : 0.0;
    double eps = s_hat - 1.0;
    double k = 1.0;
    if (s_hat > 0.0 && eps != 0.0) {
        k = pow((eps * pow(2.0, (double)*mu)) / (1.0 - pow((double)n_vocab, -eps)), 1.0 / s_hat);
    }
    if (!(k >= 1.0)) k = 1.0;
    if (k > (double)c->size) k = (double)c->size;
    cllm_samp_top_k(c, (int32_t)k, 1);
    cllm_cands_softmax(c);
    long idx = cllm_samp_dist(c, rng);
    if (idx < 0) return -1;
    double surprise = -log2((double)c->data[idx].p);
    *mu = (float)((double)*mu - (double)eta * (surprise - (double)tau));
    return idx;
}

long cllm_samp_mirostat_v2(cllm_cands *c, float tau, float eta, float *mu, cllm_rng *rng) {
    cllm_cands_softmax(c);
    if (c->size == 0) return -1;
    size_t keep = 0;
    while (keep < c->size && c->data[keep].p > 0.0f && -log2((double)c->data[keep].p) <= (double)*mu)
        keep++;
    if (keep == 0) keep = 1;
    c->size = keep;
    cllm_cands_softmax(c);
    long idx = cllm_samp_dist(c, rng);
    if (idx < 0) return -1;
    double surprise = -log2((double)c->data[idx].p);
    *mu = (float)((double)*mu - (double)eta * (surprise - (double)tau));
    return idx;
}
