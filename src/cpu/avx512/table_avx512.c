/* table_avx512.c: the AVX-512 kernel table: a copy of the scalar table with
 * the slots that have AVX-512 (F/BW/VL/VNNI) versions overridden; slots
 * without one use the AVX2 version. NULL unless the CPU has AVX-512 F, BW,
 * VL and VNNI (plus AVX2/FMA/F16C). */
#include "cpu/avx512/avx512_impl.h"
#include "cpu/avx2/avx2_impl.h"

#include <pthread.h>

static cllm_kernels g_avx512, g_avx512z;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build(void) {
    cllm_cpu_table_init_from_scalar(&g_avx512, "avx512");
    cllm_cpu_avx2_fill(&g_avx512);
    cllm_cpu_avx512_fill(&g_avx512, cllm_cpu_features_get());
    /* the alternate: every zmm kernel we have, even where VNNI-256 won */
    g_avx512z = g_avx512;
    g_avx512z.name = "avx512z";
    cllm_cpu_avx512_fill_q32_zmm_alt(&g_avx512z);
    cllm_cpu_avx512_fill_k_zmm_alt(&g_avx512z);
}

static bool supported(void) {
    const cllm_cpu_features *f = cllm_cpu_features_get();
    return f->avx512f && f->avx512bw && f->avx512vl && f->avx512vnni && f->avx2 && f->fma && f->f16c;
}

const cllm_kernels *cllm_kernels_avx512(void) {
    if (!supported()) return NULL;
    pthread_once(&g_once, build);
    return &g_avx512;
}

const cllm_kernels *cllm_kernels_avx512_zmm(void) {
    if (!supported()) return NULL;
    pthread_once(&g_once, build);
    return &g_avx512z;
}
