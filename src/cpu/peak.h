/* peak.h: probes of the CPU's int8 dot-product throughput, the ceiling of
 * prompt processing on quantized weights (`cllm bench --roofline`). Each
 * probe runs `iters` iterations of independent dot-product chains on
 * registers only and returns the number of int8 multiply-accumulates done. */
#ifndef CLLM_CPU_PEAK_H
#define CLLM_CPU_PEAK_H

#include <stdint.h>

uint64_t cllm_cpu_peak_vnni512(uint64_t iters); /* avx512/peak512.c: zmm vpdpbusd */
uint64_t cllm_cpu_peak_avx2(uint64_t iters);    /* avx2/peak_avx2.c: vpmaddubsw + vpmaddwd */

/* Int8 multiply-accumulates per second of n_threads threads running the best
 * probe this CPU supports at once (best of 3 runs of about 50 ms); 0 when no
 * probe applies (no AVX2). *isa (may be NULL) gets the probe's name. */
double cllm_cpu_int8_peak(int n_threads, const char **isa);

#endif /* CLLM_CPU_PEAK_H */
