/* dot_neon.c: the NEON kernel table (AArch64 only): a copy of the scalar
 * table with Q4_0, Q8_0, Q4_K and Q6_K overridden, using vdotq_s32 when the
 * CPU has the dotprod extension and widening multiplies otherwise. */
#include "core/fp16.h"
#include "cpu/kernels_impl.h"
#include "quant/blocks.h"

#include <arm_neon.h>
#include <pthread.h>

#define NEON_DOTPROD 0
#define NEON_FN(name) name##_neon
#include "cpu/neon/neon_dot.inc.h"
#undef NEON_DOTPROD
#undef NEON_FN

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#define NEON_DOTPROD 1
#define NEON_FN(name) name##_neondp
#include "cpu/neon/neon_dot.inc.h"
#pragma GCC pop_options

static cllm_kernels g_neon;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build(void) {
    const cllm_cpu_features *f = cllm_cpu_features_get();
    cllm_cpu_table_init_from_scalar(&g_neon, f->dotprod ? "neon" : "neon-nodot");
    if (f->dotprod) fill_neondp(&g_neon);
    else fill_neon(&g_neon);
}

const cllm_kernels *cllm_kernels_neon(void) {
    if (!cllm_cpu_features_get()->neon) return NULL;
    pthread_once(&g_once, build);
    return &g_neon;
}
