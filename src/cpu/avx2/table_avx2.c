/* table_avx2.c: the AVX2 kernel table: a copy of the scalar table with the
 * slots that have AVX2 (+FMA, F16C) versions overridden. NULL when the CPU
 * lacks AVX2, FMA or F16C. */
#include "cpu/avx2/avx2_impl.h"

#include <pthread.h>

static cllm_kernels g_avx2;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build(void) {
    cllm_cpu_table_init_from_scalar(&g_avx2, "avx2");
    cllm_cpu_avx2_fill(&g_avx2);
}

const cllm_kernels *cllm_kernels_avx2(void) {
    const cllm_cpu_features *f = cllm_cpu_features_get();
    if (!(f->avx2 && f->fma && f->f16c)) return NULL;
    pthread_once(&g_once, build);
    return &g_avx2;
}
