/* norm.c: RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * w. The sum of
 * squares is accumulated in double (as ggml does), the scale applied in float. */
#include "ops/ops_cpu.h"

#include <math.h>

typedef struct norm_task {
    const float *x;
    float *y;
    const float *w;
    int64_t n, ld;
    int n_rows;
    float eps;
} norm_task;

static void norm_run(void *arg, int64_t a, int64_t b, int ith) {
    (void)ith;
    norm_task *t = arg;
    for (int64_t r = a; r < b; r++) {
        const float *x = t->x + r * t->ld;
        float *y = t->y + r * t->ld;
        double sum = 0.0;
        for (int64_t i = 0; i < t->n; i++) sum += (double)(x[i] * x[i]);
        const float mean = (float)(sum / (double)t->n);
        const float scale = 1.0f / sqrtf(mean + t->eps);
        if (t->w)
            for (int64_t i = 0; i < t->n; i++) y[i] = (x[i] * scale) * t->w[i];
        else
            for (int64_t i = 0; i < t->n; i++) y[i] = x[i] * scale;
    }
}

void cllm_cpu_rms_norm(cllm_ops_ctx *c, const float *x, float *y, const float *w,
                       int64_t n, int64_t ld, int n_rows, float eps) {
    norm_task t = {x, y, w, n, ld, n_rows, eps};
    /* Rows are cheap: small problems stay on the caller. */
    const int64_t grain = (int64_t)n_rows * n < 16384 ? n_rows : cllm_threadpool_grain(c->tp, n_rows, 2);
    cllm_threadpool_for(c->tp, n_rows, grain, norm_run, &t);
}
