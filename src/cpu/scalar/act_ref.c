/* act_ref.c: scalar reference activation functions (the SIMD tables' versions
 * in src/cpu/avx2/act_avx2.c and src/cpu/avx512/act512.c are tested against
 * these). */
#include "cpu/kernels_impl.h"

#include <math.h>

void cllm_cpu_swiglu_ref(int64_t n, const float *g, const float *u, float *y) {
    for (int64_t i = 0; i < n; i++) {
        const float x = g[i];
        y[i] = x / (1.0f + expf(-x)) * u[i];
    }
}
