/* util.c: aligned allocation and a monotonic clock. */
#include "core/core.h"

#include <stdlib.h>
#include <time.h>

void *cllm_amalloc(size_t n) {
    void *p = NULL;
    if (n == 0) n = 64;
    /* Round up: aligned_alloc wants a multiple of the alignment. */
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded < n) return NULL;
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    return p;
}

void cllm_afree(void *p) { free(p); }

uint64_t cllm_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
