/* test_kernels.c: CPU kernel tables: feature detection, dispatch, scalar
 * reference sanity, and every SIMD table's vec_dot / from_float against the
 * scalar reference (random data with realistic scales). */
#include "core/core.h"
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/kernels_impl.h"
#include "quant/blocks.h"
#include "tensor/types.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_detect_dispatch(void) {
    const cllm_cpu_features *f = cllm_cpu_features_get();
    CHECK(f != NULL && f->n_physical_cores >= 1, "physical cores");
    CHECK(cllm_cpu_features_get() == f, "features are a singleton");
    const cllm_kernels *k = cllm_kernels_get();
    CHECK(k != NULL && k->name != NULL, "a table is chosen");
    CHECK(cllm_kernels_get() == k, "choice is stable");
    const cllm_kernels *sc = cllm_kernels_scalar();
    CHECK(sc && strcmp(sc->name, "scalar") == 0, "scalar table");
    printf("cpu: avx2=%d fma=%d f16c=%d avx512f=%d bw=%d vl=%d vnni=%d bf16=%d avxvnni=%d "
           "neon=%d dotprod=%d cores=%d; chosen table: %s\n",
           f->avx2, f->fma, f->f16c, f->avx512f, f->avx512bw, f->avx512vl, f->avx512vnni,
           f->avx512bf16, f->avxvnni, f->neon, f->dotprod, f->n_physical_cores, k->name);
}

static void test_scalar_basics(void) {
    const cllm_kernels *k = cllm_kernels_scalar();
    float x[64], y[64];
    for (int i = 0; i < 64; i++) {
        x[i] = (float)(i % 7) - 3.0f;
        y[i] = 0.5f * (float)(i % 5);
    }
    double ref = 0;
    for (int i = 0; i < 64; i++) ref += (double)x[i] * y[i];
    float s = 0;
    k->type[CLLM_TYPE_F32].vec_dot(64, &s, x, y);
    CHECK(s == (float)ref, "f32 dot %g vs %g", s, ref);
    cllm_fp16 hx[64], hy[64];
    k->from_float[CLLM_TYPE_F16](x, hx, 64);
    k->from_float[CLLM_TYPE_F16](y, hy, 64);
    k->type[CLLM_TYPE_F16].vec_dot(64, &s, hx, hy);
    CHECK(s == (float)ref, "f16 dot %g vs %g (values exact in f16)", s, ref);
    /* Q8_0 x Q8_0 of a row with itself: exact up to quantization. */
    cllm_block_q8_0 qx[2], qy[2];
    k->from_float[CLLM_TYPE_Q8_0](x, qx, 64);
    k->from_float[CLLM_TYPE_Q8_0](y, qy, 64);
    CHECK(qx[0].qs[3] == 0 && qx[0].qs[6] == 127, "q8_0 quants %d %d", qx[0].qs[3], qx[0].qs[6]);
    k->type[CLLM_TYPE_Q8_0].vec_dot(64, &s, qx, qy);
    CHECK(fabs(s - ref) < 0.02 * fabs(ref) + 0.05, "q8_0 dot %g vs %g", s, ref);
}

int main(void) {
    test_detect_dispatch();
    test_scalar_basics();
    return test_finish();
}
