/* rng.c: xoshiro256** (Blackman & Vigna) with splitmix64 seeding, and our own
 * integer-to-float conversions (no libc rand, no platform differences). */
#include "sampling/rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void cllm_rng_seed(cllm_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cllm_rng_next(cllm_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float cllm_rng_uniform_f(cllm_rng *r) {
    /* Top 24 bits times 2^-24: every value is exact in binary32. */
    return (float)(cllm_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

double cllm_rng_uniform_d(cllm_rng *r) {
    return (double)(cllm_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
