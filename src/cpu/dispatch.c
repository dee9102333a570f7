/* dispatch.c: picks the kernel table once per process: on x86 AVX-512 >
 * AVX2 > scalar, on aarch64 NEON > scalar. CLLM_CPU=scalar|avx2|avx512|
 * avx512z|neon forces one; an unknown or unsupported choice logs a warning and falls back
 * to the automatic pick. Thread-safe (pthread_once). */
#include "cpu/kernels.h"
#include "core/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if !defined(CLLM_ARCH_X86)
const cllm_kernels *cllm_kernels_avx2(void) { return NULL; }
const cllm_kernels *cllm_kernels_avx512(void) { return NULL; }
const cllm_kernels *cllm_kernels_avx512_zmm(void) { return NULL; }
#endif
#if !defined(CLLM_ARCH_ARM)
const cllm_kernels *cllm_kernels_neon(void) { return NULL; }
#endif

static const cllm_kernels *g_table;
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static const cllm_kernels *auto_pick(void) {
    const cllm_kernels *k;
    if ((k = cllm_kernels_avx512())) return k;
    if ((k = cllm_kernels_avx2())) return k;
    if ((k = cllm_kernels_neon())) return k;
    return cllm_kernels_scalar();
}

static void choose(void) {
    const cllm_kernels *k = NULL;
    const char *want = getenv("CLLM_CPU");
    if (want && *want) {
        if (strcmp(want, "scalar") == 0) k = cllm_kernels_scalar();
        else if (strcmp(want, "avx2") == 0) k = cllm_kernels_avx2();
        else if (strcmp(want, "avx512") == 0) k = cllm_kernels_avx512();
        else if (strcmp(want, "avx512z") == 0) k = cllm_kernels_avx512_zmm();
        else if (strcmp(want, "neon") == 0) k = cllm_kernels_neon();
        else {
            CLLM_LOGW("CLLM_CPU='%s' is not one of scalar, avx2, avx512, avx512z, neon; choosing automatically",
                      want);
            want = NULL;
        }
        if (want && !k)
            CLLM_LOGW("CLLM_CPU=%s: not supported by this CPU or build; choosing automatically", want);
    }
    if (!k) k = auto_pick();
    g_table = k;
    CLLM_LOGI("cpu kernels: %s (%d physical cores)", k->name, cllm_cpu_features_get()->n_physical_cores);
}

const cllm_kernels *cllm_kernels_get(void) {
    pthread_once(&g_table_once, choose);
    return g_table;
}

void cllm_cpu_vec_dot_tile(const cllm_kernels *k, cllm_type wt, int64_t n, int nr, int nc, float *s,
                           int64_t lds, const void *w, size_t w_stride, const void *a, size_t a_stride) {
    const cllm_type_kernels *tk = &k->type[wt];
    if (tk->vec_dot_tile) {
        tk->vec_dot_tile(n, nr, nc, s, lds, w, w_stride, a, a_stride);
        return;
    }
    for (int j = 0; j < nc; j++)
        for (int i = 0; i < nr; i++)
            tk->vec_dot(n, &s[(int64_t)j * lds + i], (const char *)w + (size_t)i * w_stride,
                        (const char *)a + (size_t)j * a_stride);
}
