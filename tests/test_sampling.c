/* test_sampling.c: the PRNG (fixed outputs), each sampler on hand-built
 * distributions with hand-computed results, and the public chain: seeded
 * determinism, order strings, greedy, grammar-constrained sampling. */
#include "cllm.h"
#include "sampling/rng.h"
#include "sampling/samplers.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

static cllm_token_prob g_buf[8192];

/* Candidates with ids 0..n-1 and the given logits. */
static cllm_cands mk(const float *logits, size_t n) {
    for (size_t i = 0; i < n; i++) g_buf[i] = (cllm_token_prob){(int32_t)i, logits[i], 0.0f};
    return (cllm_cands){g_buf, n, false};
}
/* Candidates whose softmax is exactly probs. */
static cllm_cands mkp(const float *probs, size_t n) {
    for (size_t i = 0; i < n; i++) g_buf[i] = (cllm_token_prob){(int32_t)i, logf(probs[i]), 0.0f};
    return (cllm_cands){g_buf, n, false};
}

static void test_rng(void) {
    cllm_rng r;
    cllm_rng_seed(&r, 42);
    /* Reference values from an independent splitmix64 + xoshiro256** model. */
    CHECK(cllm_rng_next(&r) == 0x15780b2e0c2ec716ull, "xoshiro 1");
    CHECK(cllm_rng_next(&r) == 0x6104d9866d113a7eull, "xoshiro 2");
    CHECK(cllm_rng_next(&r) == 0xae17533239e499a1ull, "xoshiro 3");
    cllm_rng a, b;
    cllm_rng_seed(&a, 7);
    cllm_rng_seed(&b, 7);
    double sum = 0;
    int same = 1;
    float mn = 1, mx = 0;
    for (int i = 0; i < 100000; i++) {
        float u = cllm_rng_uniform_f(&a);
        same &= u == cllm_rng_uniform_f(&b);
        sum += u;
        if (u < mn) mn = u;
        if (u > mx) mx = u;
    }
    CHECK(same, "same seed, same floats");
    CHECK(NEAR(sum / 100000, 0.5, 0.005), "uniform mean %f", sum / 100000);
    CHECK(mn >= 0.0f && mx < 1.0f, "range [%f, %f]", mn, mx);
    cllm_rng_seed(&a, 0);
    CHECK(cllm_rng_next(&a) != 0 || cllm_rng_next(&a) != 0, "seed 0 works");
}

static void test_softmax_sort(void) {
    const float l[] = {1, 3, 2, 3};
    cllm_cands c = mk(l, 4);
    cllm_cands_softmax(&c);
    double z = exp(1) + 2 * exp(3) + exp(2);
    CHECK(c.data[0].id == 1 && c.data[1].id == 3 && c.data[2].id == 2 && c.data[3].id == 0,
          "order %d %d %d %d (ties by id)", c.data[0].id, c.data[1].id, c.data[2].id, c.data[3].id);
    CHECK(NEAR(c.data[0].p, exp(3) / z, 1e-6) && NEAR(c.data[3].p, exp(1) / z, 1e-6), "probs");
    const float ninf[] = {-INFINITY, -INFINITY};
    c = mk(ninf, 2);
    cllm_cands_softmax(&c);
    CHECK(c.data[0].p == 0.0f && c.data[1].p == 0.0f, "all -inf: p 0");
}

static void test_top_k(void) {
    float l[10];
    for (int i = 0; i < 10; i++) l[i] = (float)i;
    cllm_cands c = mk(l, 10);
    cllm_samp_top_k(&c, 3, 0);
    CHECK(c.size == 3 && c.data[0].id == 9 && c.data[1].id == 8 && c.data[2].id == 7, "top3");
    c = mk(l, 10);
    cllm_samp_top_k(&c, 0, 0);
    CHECK(c.size == 10 && !c.sorted, "k=0 is a no-op");
    c = mk(l, 10);
    cllm_samp_top_k(&c, 2, 5);
    CHECK(c.size == 5 && c.data[4].id == 5, "min_keep raises k");
    c = mk(l, 10);
    cllm_samp_top_k(&c, 50, 0);
    CHECK(c.size == 10 && c.data[0].id == 9, "k > n");
    /* Partial sort agrees with a full sort on random logits with ties. */
    cllm_rng r;
    cllm_rng_seed(&r, 3);
    float big[1000];
    for (int i = 0; i < 1000; i++) big[i] = (float)(cllm_rng_next(&r) % 200);
    c = mk(big, 1000);
    cllm_samp_top_k(&c, 37, 0);
    cllm_token_prob top[37];
    memcpy(top, c.data, sizeof top);
    c = mk(big, 1000);
    cllm_cands_sort(&c);
    int ok = 1;
    for (int i = 0; i < 37; i++) ok &= top[i].id == c.data[i].id;
    CHECK(ok, "heap top-k == sorted prefix");
}

static void test_top_p_min_p(void) {
    const float p[] = {0.5f, 0.3f, 0.15f, 0.05f};
    cllm_cands c = mkp(p, 4);
    cllm_samp_top_p(&c, 0.75f, 0);
    CHECK(c.size == 2, "top_p 0.75 keeps 2 (%zu)", c.size);
    c = mkp(p, 4);
    cllm_samp_top_p(&c, 0.85f, 0);
    CHECK(c.size == 3, "top_p 0.85 keeps 3 (%zu)", c.size);
    c = mkp(p, 4);
    cllm_samp_top_p(&c, 0.1f, 0);
    CHECK(c.size == 1 && c.data[0].id == 0, "top_p 0.1 keeps 1");
    c = mkp(p, 4);
    cllm_samp_top_p(&c, 0.1f, 3);
    CHECK(c.size == 3, "top_p min_keep 3");
    c = mkp(p, 4);
    cllm_samp_top_p(&c, 1.0f, 0);
    CHECK(c.size == 4, "top_p 1 is off");
    /* Large arrays take a partial-sort path: same result as the full sort. */
    {
        cllm_rng r;
        cllm_rng_seed(&r, 5);
        static float big[5000];
        for (int i = 0; i < 5000; i++) { float u = cllm_rng_uniform_f(&r); big[i] = 20.0f * u * u * u * u * u * u * u * u; }
        for (int round = 0; round < 2; round++) {
            float pp = round ? 0.3f : 0.9f;
            cllm_cands a = mk(big, 5000);
            cllm_samp_top_p(&a, pp, 0); /* unsorted: partial path */
            static cllm_token_prob keep[5000];
            size_t na = a.size;
            memcpy(keep, a.data, na * sizeof *keep);
            cllm_cands b = mk(big, 5000);
            cllm_cands_sort(&b); /* sorted: full path */
            cllm_samp_top_p(&b, pp, 0);
            int same = na == b.size;
            for (size_t i = 0; same && i < na; i++) same = keep[i].id == b.data[i].id && keep[i].p == b.data[i].p;
            CHECK(same, "top_p %.1f: partial path (%zu) == full path (%zu)", pp, na, b.size);
        }
    }

    c = mkp(p, 4);
    cllm_samp_min_p(&c, 0.2f, 0); /* keep p >= 0.1 */
    CHECK(c.size == 3, "min_p 0.2 keeps 3 (%zu)", c.size);
    c = mkp(p, 4);
    cllm_samp_min_p(&c, 0.65f, 0); /* 0.3/0.5 = 0.6 < 0.65 */
    CHECK(c.size == 1 && c.data[0].id == 0, "min_p 0.65 keeps 1");
    c = mkp(p, 4);
    cllm_samp_min_p(&c, 0.65f, 2);
    CHECK(c.size == 2 && c.data[0].id == 0 && c.data[1].id == 1, "min_p: too few pass -> the min_keep best");
    c = mkp(p, 4);
    cllm_samp_min_p(&c, 0.0f, 0);
    CHECK(c.size == 4, "min_p 0 is off");
}

static void test_typical(void) {
    /* Expected sets as in the reference's sampler tests. */
    const float p1[] = {0.97f, 0.01f, 0.01f, 0.01f};
    cllm_cands c = mkp(p1, 4);
    cllm_samp_typical(&c, 0.5f, 0);
    cllm_cands_softmax(&c);
    CHECK(c.size == 1 && c.data[0].id == 0, "typical keeps the 0.97 token (%zu)", c.size);
    const float p2[] = {0.4f, 0.2f, 0.2f, 0.2f};
    c = mkp(p2, 4);
    cllm_samp_typical(&c, 0.5f, 0);
    CHECK(c.size == 3, "typical keeps the three 0.2 tokens (%zu)", c.size);
    int has0 = 0;
    for (size_t i = 0; i < c.size; i++) has0 |= c.data[i].id == 0;
    CHECK(!has0, "the 0.4 token is atypical");
    cllm_cands_softmax(&c);
    CHECK(NEAR(c.data[0].p, 1.0 / 3, 1e-5), "renormalised 1/3");
}

static void test_temp(void) {
    const float l[] = {1, 4, 2};
    cllm_cands c = mk(l, 3);
    cllm_samp_temp(&c, 2.0f, 0.0f, 1.0f);
    CHECK(c.data[0].logit == 0.5f && c.data[1].logit == 2.0f && c.data[2].logit == 1.0f, "divide by 2");
    c = mk(l, 3);
    cllm_samp_temp(&c, 0.0f, 0.0f, 1.0f);
    CHECK(c.data[1].logit == 4.0f && c.data[0].logit == -INFINITY && c.data[2].logit == -INFINITY, "temp 0");
    /* Dynamic: a uniform distribution has normalised entropy 1 -> temp+range. */
    const float u[] = {1, 1, 1, 1};
    c = mk(u, 4);
    cllm_samp_temp(&c, 1.0f, 0.5f, 1.0f);
    CHECK(NEAR(c.data[0].logit, 1.0 / 1.5, 1e-6), "dynatemp max (%f)", c.data[0].logit);
    CHECK(NEAR(c.data[0].p, 0.25, 1e-6), "dynatemp p");
    /* Nearly one-hot: entropy ~0 -> temp-range. */
    const float pk[] = {30, 0, 0, 0};
    c = mk(pk, 4);
    cllm_samp_temp(&c, 1.0f, 0.5f, 1.0f);
    CHECK(NEAR(c.data[0].logit, 30.0 / 0.5, 1e-3), "dynatemp min (%f)", c.data[0].logit);
    /* Exponent 2 on a half-entropy distribution: probs {.5,.5,0,0} ~ logits. */
    const float h[] = {0, 0, -1000, -1000};
    c = mk(h, 4);
    cllm_samp_temp(&c, 1.0f, 1.0f, 2.0f); /* norm entropy = ln2/ln4 = 0.5 -> t = 0 + 2*0.25 = 0.5 */
    CHECK(NEAR(c.data[2].logit, -2000, 1e-2), "dynatemp exponent (%f)", c.data[2].logit);
}

static void test_xtc(void) {
    const float p[] = {0.4f, 0.3f, 0.2f, 0.1f};
    cllm_rng r;
    cllm_rng_seed(&r, 1);
    cllm_cands c = mkp(p, 4);
    cllm_samp_xtc(&c, 1.0f, 0.25f, 0, &r);
    CHECK(c.size == 3 && c.data[0].id == 1 && c.data[2].id == 3, "xtc drops all above threshold but the last");
    c = mkp(p, 4);
    cllm_samp_xtc(&c, 1.0f, 0.35f, 0, &r);
    CHECK(c.size == 4, "only one above threshold: unchanged");
    c = mkp(p, 4);
    cllm_samp_xtc(&c, 0.0f, 0.25f, 0, &r);
    CHECK(c.size == 4, "probability 0: off");
    c = mkp(p, 4);
    cllm_samp_xtc(&c, 1.0f, 0.6f, 0, &r);
    CHECK(c.size == 4, "threshold > 0.5: off");
    c = mkp(p, 4);
    cllm_samp_xtc(&c, 1.0f, 0.25f, 4, &r);
    CHECK(c.size == 4, "min_keep blocks");
    /* probability 0.5: fires about half the time */
    int fired = 0;
    for (int i = 0; i < 2000; i++) {
        c = mkp(p, 4);
        cllm_samp_xtc(&c, 0.5f, 0.25f, 0, &r);
        fired += c.size == 3;
    }
    CHECK(fired > 900 && fired < 1100, "xtc fired %d/2000", fired);
}

static void test_top_n_sigma(void) {
    const float l[] = {10, 9, 1, 0};
    cllm_cands c = mk(l, 4);
    cllm_samp_top_n_sigma(&c, 1.0f); /* mean 5, sd sqrt(20.5)=4.53: cut at 5.47 */
    int finite = 0;
    for (size_t i = 0; i < c.size; i++) finite += c.data[i].logit != -INFINITY;
    CHECK(finite == 2, "top-n-sigma keeps 2 (%d)", finite);
    CHECK(c.data[0].id == 0 && NEAR(c.data[0].p, 1 / (1 + exp(-1)), 1e-6), "softmax after");
    c = mk(l, 4);
    cllm_samp_top_n_sigma(&c, 2.0f); /* cut at 0.94: drops only 0 */
    finite = 0;
    for (size_t i = 0; i < c.size; i++) finite += c.data[i].logit != -INFINITY;
    CHECK(finite == 3, "n=2 keeps 3 (%d)", finite);
    c = mk(l, 4);
    cllm_samp_top_n_sigma(&c, -1.0f);
    CHECK(c.data[3].logit == 0.0f && !c.sorted, "n<=0 is off");
}

static void test_penalties(void) {
    const float l[] = {1.0f, 2.0f, -1.0f, 0.5f};
    const int32_t hist[] = {1, 1, 2};
    cllm_cands c = mk(l, 4);
    cllm_samp_penalties(&c, hist, 3, 2.0f, 0.5f, 0.25f);
    CHECK(c.data[0].logit == 1.0f && c.data[3].logit == 0.5f, "unseen unchanged");
    CHECK(NEAR(c.data[1].logit, 2.0 / 2 - (2 * 0.5 + 0.25), 1e-6), "seen twice, positive: %f", c.data[1].logit);
    CHECK(NEAR(c.data[2].logit, -1.0 * 2 - (0.5 + 0.25), 1e-6), "seen once, negative: %f", c.data[2].logit);
    c = mk(l, 4);
    cllm_samp_penalties(&c, hist, 3, 1.0f, 0.0f, 0.0f);
    CHECK(c.data[1].logit == 2.0f, "neutral params: off");
    /* On a shuffled array (ids no longer equal indices). */
    c = mk(l, 4);
    cllm_cands_sort(&c);
    cllm_samp_penalties(&c, hist, 3, 2.0f, 0.0f, 0.0f);
    CHECK(c.data[0].id == 1 && c.data[0].logit == 1.0f, "found by id after sort");
}

static void test_dry(void) {
    float l[10] = {0};
    const int32_t h1[] = {5, 6, 7, 8, 5, 6};
    cllm_cands c = mk(l, 10);
    cllm_samp_dry(&c, h1, 6, NULL, 0, 0.8f, 1.75f, 2);
    int others = 0;
    for (int i = 0; i < 10; i++)
        if (i != 7) others += c.data[i].logit != 0.0f;
    CHECK(NEAR(c.data[7].logit, -0.8, 1e-6) && others == 0, "len-2 repeat: 7 gets -mult (%f)", c.data[7].logit);
    const int32_t h2[] = {5, 6, 7, 9, 5, 6, 7};
    c = mk(l, 10);
    cllm_samp_dry(&c, h2, 7, NULL, 0, 0.8f, 1.75f, 2);
    CHECK(NEAR(c.data[9].logit, -0.8 * 1.75, 1e-5), "len-3 repeat: mult*base (%f)", c.data[9].logit);
    bool br[10] = {0};
    br[6] = true;
    c = mk(l, 10);
    cllm_samp_dry(&c, h2, 7, br, 10, 0.8f, 1.75f, 2);
    CHECK(c.data[9].logit == 0.0f, "breaker stops the match");
    c = mk(l, 10);
    cllm_samp_dry(&c, h2, 7, NULL, 0, 0.0f, 1.75f, 2);
    CHECK(c.data[9].logit == 0.0f, "multiplier 0: off");
    /* A long run of one token: capped, finite penalty. */
    int32_t h3[300];
    for (int i = 0; i < 300; i++) h3[i] = 4;
    c = mk(l, 10);
    cllm_samp_dry(&c, h3, 300, NULL, 0, 1.0f, 1.75f, 2);
    CHECK(c.data[4].logit < -1e30f && isfinite(c.data[4].logit), "huge but finite (%g)", c.data[4].logit);
}

static void test_bias_greedy_dist(void) {
    const float l[] = {1, 2, 3, 3};
    cllm_cands c = mk(l, 4);
    const cllm_logit_bias b[] = {{0, 5.0f}, {2, -INFINITY}};
    cllm_samp_logit_bias(&c, b, 2);
    CHECK(c.data[0].logit == 6.0f && c.data[2].logit == -INFINITY, "bias");
    c = mk(l, 4);
    CHECK(cllm_samp_greedy(&c) == 2, "greedy tie -> lowest id");
    const float ninf[] = {-INFINITY, -INFINITY};
    c = mk(ninf, 2);
    CHECK(cllm_samp_greedy(&c) == -1 && cllm_samp_dist(&c, NULL) == -1, "nothing to pick");

    const float p[] = {0.5f, 0.25f, 0.25f};
    cllm_rng r;
    cllm_rng_seed(&r, 99);
    int cnt[3] = {0};
    for (int i = 0; i < 40000; i++) {
        c = mkp(p, 3);
        long k = cllm_samp_dist(&c, &r);
        cnt[c.data[k].id]++;
    }
    CHECK(NEAR(cnt[0] / 40000.0, 0.5, 0.01) && NEAR(cnt[1] / 40000.0, 0.25, 0.01), "dist freq %d %d %d", cnt[0],
          cnt[1], cnt[2]);
}

static void test_mirostat(void) {
    const float p[] = {0.5f, 0.25f, 0.125f, 0.125f};
    cllm_rng r;
    cllm_rng_seed(&r, 5);
    float mu = 2.5f; /* surprises 1, 2, 3, 3: keeps the first two */
    cllm_cands c = mkp(p, 4);
    long k = cllm_samp_mirostat_v2(&c, 1.25f, 0.1f, &mu, &r);
    CHECK(c.size == 2 && k >= 0 && k < 2, "v2 truncation (%zu)", c.size);
    double s = k == 0 ? -log2(2.0 / 3) : -log2(1.0 / 3);
    CHECK(NEAR(mu, 2.5 - 0.1 * (s - 1.25), 1e-5), "v2 mu update %f", mu);
    mu = 0.1f;
    c = mkp(p, 4);
    k = cllm_samp_mirostat_v2(&c, 1.0f, 0.1f, &mu, &r);
    CHECK(c.size == 1 && k == 0, "v2 keeps at least one");

    /* v1 on a Zipf-like distribution p_i ~ 1/(i+1): s_hat = 1 exactly, so
     * epsilon 0 -> k = 1 guard; use p_i ~ 1/(i+1)^2 for s_hat = 2. */
    float z[50], zs = 0;
    for (int i = 0; i < 50; i++) zs += z[i] = 1.0f / (float)((i + 1) * (i + 1));
    for (int i = 0; i < 50; i++) z[i] /= zs;
    mu = 10.0f;
    c = mkp(z, 50);
    k = cllm_samp_mirostat(&c, 5.0f, 0.1f, 100, 50, &mu, &r);
    /* k = (1 * 2^10 / (1 - 50^-1))^(1/2) = 32.3 -> top 32 */
    CHECK(c.size == 32, "v1 top-k from s_hat=2: %zu", c.size);
    CHECK(k >= 0 && k < 32, "v1 index");
}

/* ---------------------------------------------------------- public chain */
static const char *const k_pc[] = {"<eos>", "{", "}", "a", "b", "ab", "{a", "b}", "x", "\"", "}}", "ba"};
#define N_PC ((int32_t)(sizeof k_pc / sizeof k_pc[0]))
static const char *pc_piece(void *u, int32_t id, size_t *len) {
    (void)u;
    *len = id == 0 ? 0 : strlen(k_pc[id]);
    return id == 0 ? NULL : k_pc[id];
}
static bool pc_eog(void *u, int32_t id) {
    (void)u;
    return id == 0;
}

static void fake_logits(cllm_rng *r, float *l, int n) {
    for (int i = 0; i < n; i++) l[i] = 4.0f * cllm_rng_uniform_f(r);
}

static void test_chain(void) {
    enum { NV = 300 };
    float logits[64][NV];
    cllm_rng r;
    cllm_rng_seed(&r, 11);
    for (int t = 0; t < 64; t++) fake_logits(&r, logits[t], NV);

    cllm_sampler_params p = cllm_sampler_default_params();
    CHECK(p.temp == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f && p.penalty_last_n == 64 &&
              p.penalty_repeat == 1.0f && p.dry_base == 1.75f && p.mirostat_tau == 5.0f,
          "defaults");
    p.seed = 1234;
    p.penalty_repeat = 1.1f;
    p.dry_multiplier = 0.5f;
    p.xtc_probability = 0.3f;
    cllm_sampler *s1 = NULL, *s2 = NULL;
    CHECK(cllm_sampler_init(&p, NULL, &s1) == CLLM_OK, "init 1: %s", cllm_last_error());
    CHECK(cllm_sampler_init(&p, NULL, &s2) == CLLM_OK, "init 2");
    int32_t a[64], b[64], c[64];
    for (int t = 0; t < 64; t++) {
        a[t] = cllm_sampler_sample(s1, logits[t], NV);
        cllm_sampler_accept(s1, a[t]);
        b[t] = cllm_sampler_sample(s2, logits[t], NV);
        cllm_sampler_accept(s2, b[t]);
    }
    cllm_sampler_reset(s1);
    for (int t = 0; t < 64; t++) {
        c[t] = cllm_sampler_sample(s1, logits[t], NV);
        cllm_sampler_accept(s1, c[t]);
    }
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed, same 64 tokens");
    CHECK(memcmp(a, c, sizeof a) == 0, "reset replays");
    int valid = 1, distinct = 0;
    for (int t = 0; t < 64; t++) {
        valid &= a[t] >= 0 && a[t] < NV;
        distinct += t > 0 && a[t] != a[t - 1];
    }
    CHECK(valid && distinct > 10, "tokens valid and varied (%d)", distinct);
    const cllm_token_prob *cand;
    int32_t nc = cllm_sampler_last_candidates(s1, &cand);
    CHECK(nc >= 1 && nc <= 40, "last candidates after top-k (%d)", nc);
    cllm_sampler_free(s1);
    cllm_sampler_free(s2);

    /* Seed 1235 differs. */
    p.seed = 1235;
    cllm_sampler_init(&p, NULL, &s1);
    int diff = 0;
    for (int t = 0; t < 64; t++) {
        int32_t k = cllm_sampler_sample(s1, logits[t], NV);
        cllm_sampler_accept(s1, k);
        diff += k != a[t];
    }
    CHECK(diff > 0, "another seed gives other tokens");
    cllm_sampler_free(s1);

    /* Greedy. */
    p = cllm_sampler_default_params();
    p.temp = 0.0f;
    cllm_sampler_init(&p, NULL, &s1);
    int greedy_ok = 1;
    for (int t = 0; t < 64; t++) {
        int best = 0;
        for (int i = 1; i < NV; i++)
            if (logits[t][i] > logits[t][best]) best = i;
        greedy_ok &= cllm_sampler_sample(s1, logits[t], NV) == best;
    }
    CHECK(greedy_ok, "temp 0 is argmax");
    cllm_sampler_free(s1);

    /* Mirostat v2 through the public API is deterministic too. */
    p = cllm_sampler_default_params();
    p.seed = 8;
    p.mirostat = 2;
    cllm_sampler_init(&p, NULL, &s1);
    cllm_sampler_init(&p, NULL, &s2);
    int same = 1;
    for (int t = 0; t < 64; t++) same &= cllm_sampler_sample(s1, logits[t], NV) == cllm_sampler_sample(s2, logits[t], NV);
    CHECK(same, "mirostat deterministic");
    cllm_sampler_free(s1);
    cllm_sampler_free(s2);

    /* Order strings. */
    p = cllm_sampler_default_params();
    p.order = "top_k;bogus;temperature";
    CHECK(cllm_sampler_init(&p, NULL, &s1) == CLLM_ERR_INVALID_ARG && s1 == NULL, "bad order rejected");
    CHECK(strstr(cllm_last_error(), "bogus") != NULL, "names it: %s", cllm_last_error());
    p.order = "kt";
    CHECK(cllm_sampler_init(&p, NULL, &s1) == CLLM_OK, "letter order");
    cllm_sampler_free(s1);
    p.order = "kq";
    CHECK(cllm_sampler_init(&p, NULL, &s1) != CLLM_OK && strstr(cllm_last_error(), "'q'"), "bad letter");
    /* top_k 1 only: always argmax even at high temperature. */
    p = cllm_sampler_default_params();
    p.order = "top_k;temperature";
    p.top_k = 1;
    p.temp = 5.0f;
    cllm_sampler_init(&p, NULL, &s1);
    int best = 0;
    for (int i = 1; i < NV; i++)
        if (logits[0][i] > logits[0][best]) best = i;
    CHECK(cllm_sampler_sample(s1, logits[0], NV) == best, "top_k 1");
    cllm_sampler_free(s1);
    p.mirostat = 3;
    CHECK(cllm_sampler_init(&p, NULL, &s1) == CLLM_ERR_INVALID_ARG, "mirostat 3 rejected");
    CHECK(cllm_sampler_sample(NULL, logits[0], NV) == -1, "NULL sampler");
    cllm_sampler_free(NULL);

    /* Logit bias bans a token. */
    p = cllm_sampler_default_params();
    p.temp = 0.0f;
    cllm_logit_bias ban = {best, -INFINITY};
    p.logit_bias = &ban;
    p.n_logit_bias = 1;
    cllm_sampler_init(&p, NULL, &s1);
    CHECK(cllm_sampler_sample(s1, logits[0], NV) != best, "banned token not sampled");
    cllm_sampler_free(s1);
}

static void test_grammar_sampling(void) {
    cllm_vocab_view v = {.n_vocab = N_PC, .piece = pc_piece, .is_eog = pc_eog};
    cllm_sampler_params p = cllm_sampler_default_params();
    p.grammar = "root ::= \"{\" [ab]+ \"}\"";
    p.temp = 1.5f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    cllm_sampler *s = NULL;
    CHECK(cllm_sampler_init(&p, NULL, &s) == CLLM_ERR_INVALID_ARG, "grammar without vocab rejected");
    p.grammar = "root ::= \"{\" [ab+ \"}\"";
    CHECK(cllm_sampler_init(&p, &v, &s) == CLLM_ERR_FORMAT && strstr(cllm_last_error(), "line 1"),
          "grammar error surfaces: %s", cllm_last_error());
    p.grammar = "root ::= \"{\" [ab]+ \"}\"";
    cllm_rng r;
    cllm_rng_seed(&r, 77);
    float l[N_PC];
    for (int run = 0; run < 30; run++) {
        p.seed = (uint64_t)run;
        CHECK(cllm_sampler_init(&p, &v, &s) == CLLM_OK, "init: %s", cllm_last_error());
        char text[1024] = "";
        int ended = 0;
        for (int step = 0; step < 200 && !ended; step++) {
            fake_logits(&r, l, N_PC);
            l[8] += 3.0f; /* "x" is likely but never valid */
            int32_t t = cllm_sampler_sample(s, l, N_PC);
            CHECK(t >= 0, "sampled: %s", cllm_sampler_last_error(s));
            if (t < 0) break;
            CHECK(cllm_sampler_accept(s, t) == CLLM_OK, "accept %d: %s", t, cllm_sampler_last_error(s));
            if (t == 0) ended = 1;
            else if (strlen(text) + strlen(k_pc[t]) < sizeof text) strcat(text, k_pc[t]);
        }
        CHECK(ended, "run %d reached EOS", run);
        size_t n = strlen(text);
        int ok = n >= 3 && text[0] == '{' && text[n - 1] == '}';
        for (size_t i = 1; i + 1 < n; i++) ok &= text[i] == 'a' || text[i] == 'b';
        CHECK(ok, "run %d text '%s' matches the grammar", run, text);
        CHECK(cllm_sampler_accept(s, 8) != CLLM_OK, "forced invalid token refused");
        cllm_sampler_free(s);
    }
    /* Closing mode: every token shortens the distance, then EOG. */
    p.seed = 4;
    cllm_sampler_init(&p, &v, &s);
    CHECK(cllm_sampler_grammar_distance(s) == 3, "distance {a} = 3 (%d)", cllm_sampler_grammar_distance(s));
    for (int i = 0; i < N_PC; i++) l[i] = 0.0f;
    l[3] = 10.0f; /* "a" would go on forever */
    l[1] = 5.0f;
    int32_t t1 = cllm_sampler_sample(s, l, N_PC);
    cllm_sampler_accept(s, t1);
    cllm_sampler_set_closing(s, true);
    char out[64] = "";
    strcat(out, k_pc[t1]);
    int n_closing = 0;
    for (int i = 0; i < 10; i++) {
        int32_t t = cllm_sampler_sample(s, l, N_PC);
        CHECK(t >= 0, "closing sample: %s", cllm_sampler_last_error(s));
        if (t < 0) break;
        cllm_sampler_accept(s, t);
        n_closing++;
        if (t == 0) break;
        strcat(out, k_pc[t]);
    }
    CHECK(strcmp(out, "{a}") == 0 && n_closing == 3, "closing: '%s' in %d tokens", out, n_closing);
    CHECK(cllm_sampler_grammar_distance(s) == 0, "complete");
    cllm_sampler_free(s);
    CHECK(cllm_sampler_grammar_distance(NULL) == -1, "no sampler");
    /* Prompt tokens: history only, the grammar does not see them. */
    p.seed = 3;
    cllm_sampler_init(&p, &v, &s);
    CHECK(cllm_sampler_accept_ex(s, 8, false) == CLLM_OK, "x as prompt token, no grammar");
    CHECK(cllm_sampler_accept(s, 1) == CLLM_OK, "grammar still at its start: '{' accepted");
    cllm_sampler_free(s);
    /* Dead end: every allowed token is banned. */
    p.seed = 1;
    cllm_logit_bias bans[] = {{1, -INFINITY}, {6, -INFINITY}};
    p.logit_bias = bans;
    p.n_logit_bias = 2;
    cllm_sampler_init(&p, &v, &s);
    fake_logits(&r, l, N_PC);
    CHECK(cllm_sampler_sample(s, l, N_PC) == -1 && strstr(cllm_sampler_last_error(s), "grammar"),
          "dead end reported: %s", cllm_sampler_last_error(s));
    cllm_sampler_free(s);
}

/* json.gbnf over the real stories260K vocabulary (SPM, byte tokens) with a
 * random "model" that prefers JSON punctuation: every finished sample must
 * parse as a JSON object; unfinished ones must still be grammar prefixes. */
static void test_real_vocab_json(void) {
    if (!test_shared_dir()) {
        printf("note: ../shared absent, skipping the stories260K grammar sampling check\n");
        return;
    }
    cllm_gguf *gg = NULL;
    cllm_vocab *voc = NULL;
    if (cllm_gguf_open(test_shared_path("models/real/stories260K.gguf"), &gg) != CLLM_OK ||
        cllm_vocab_load(gg, &voc) != CLLM_OK) {
        CHECK(0, "load stories260K vocab: %s", cllm_last_error());
        cllm_gguf_free(gg);
        return;
    }
    char *gbnf = test_read_file(test_shared_path("grammars/json.gbnf"), NULL);
    CHECK(gbnf != NULL, "json.gbnf");
    cllm_vocab_view vv;
    CHECK(cllm_vocab_view_init(&vv, voc) == CLLM_OK, "view");
    int32_t nv = vv.n_vocab;
    float *bias = calloc((size_t)nv, sizeof *bias), *l = malloc((size_t)nv * sizeof *l);
    char piece[64];
    for (int32_t t = 0; t < nv; t++) {
        int32_t n = cllm_token_to_piece(voc, t, piece, sizeof piece, false);
        for (int32_t i = 0; i < n; i++)
            if (strchr("{}[]\":,0123456789", piece[i])) bias[t] = 4.0f;
    }
    cllm_sampler_params p = cllm_sampler_default_params();
    p.grammar = gbnf;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.temp = 1.0f;
    cllm_rng r;
    cllm_rng_seed(&r, 2024);
    int complete = 0, parsed = 0, prefix_ok = 0, overflow = 0;
    const int n_samples = 200, max_tokens = 400;
    for (int k = 0; k < n_samples; k++) {
        p.seed = (uint64_t)k;
        cllm_sampler *s = NULL;
        if (cllm_sampler_init(&p, &vv, &s) != CLLM_OK) {
            CHECK(0, "init: %s", cllm_last_error());
            break;
        }
        char text[8192];
        size_t tl = 0;
        bool done = false;
        for (int step = 0; step < max_tokens && !done; step++) {
            for (int32_t t = 0; t < nv; t++) l[t] = 3.0f * cllm_rng_uniform_f(&r) + bias[t];
            int32_t t = cllm_sampler_sample(s, l, nv);
            if (t < 0) {
                CHECK(0, "sample %d step %d: %s", k, step, cllm_sampler_last_error(s));
                break;
            }
            CHECK(cllm_sampler_accept(s, t) == CLLM_OK, "accept: %s", cllm_sampler_last_error(s));
            if (cllm_vocab_is_eog(voc, t)) {
                done = true;
                break;
            }
            int32_t n = cllm_token_to_piece(voc, t, text + tl, (int32_t)(sizeof text - 1 - tl), false);
            if (n > 0) tl += (size_t)n;
        }
        text[tl] = '\0';
        if (done) {
            complete++;
            json_error_t je;
            json_t *j = json_loads(text, 0, &je);
            if (j && json_is_object(j)) parsed++;
            /* json.gbnf allows 16-digit exponents (valid JSON) that
             * overflow a double: jansson refuses those numbers only. */
            else if (!j && strstr(je.text, "real number overflow")) parsed++, overflow++;
            else CHECK(0, "sample %d is not a JSON object (%s): %s", k, je.text, text);
            json_decref(j);
        } else {
            cllm_grammar *g = NULL;
            cllm_grammar_init(gbnf, NULL, NULL, &g);
            prefix_ok += g && cllm_grammar_accept_bytes(g, text, tl) == CLLM_OK;
            cllm_grammar_free(g);
        }
        cllm_sampler_free(s);
    }
    printf("stories260K vocab + json.gbnf: %d/%d finished, %d parsed as JSON objects (%d with a number jansson "
           "cannot hold), %d unfinished valid prefixes\n",
           complete, n_samples, parsed, overflow, prefix_ok);
    CHECK(parsed == complete, "every finished sample parses");
    CHECK(prefix_ok == n_samples - complete, "every unfinished sample is a grammar prefix");
    CHECK(complete >= n_samples / 2, "most samples finish (%d)", complete);
    free(bias);
    free(l);
    free(gbnf);
    cllm_vocab_view_free(&vv);
    cllm_vocab_free(voc);
    cllm_gguf_free(gg);
}

int main(void) {
    test_rng();
    test_softmax_sort();
    test_top_k();
    test_top_p_min_p();
    test_typical();
    test_temp();
    test_xtc();
    test_top_n_sigma();
    test_penalties();
    test_dry();
    test_bias_greedy_dist();
    test_mirostat();
    test_chain();
    test_grammar_sampling();
    test_real_vocab_json();
    return test_finish();
}
