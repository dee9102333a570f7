/* rng.h: the sampler's own PRNG (xoshiro256**, seeded through splitmix64) so
 * that the same seed gives the same draws on every machine and libc. */
#ifndef CLLM_SAMPLING_RNG_H
#define CLLM_SAMPLING_RNG_H

#include <stdint.h>

typedef struct cllm_rng {
    uint64_t s[4];
} cllm_rng;

/* Expand a 64-bit seed into the 256-bit state (never all zero). */
void     cllm_rng_seed(cllm_rng *r, uint64_t seed);
uint64_t cllm_rng_next(cllm_rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable floats). */
float    cllm_rng_uniform_f(cllm_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double   cllm_rng_uniform_d(cllm_rng *r);

#endif
