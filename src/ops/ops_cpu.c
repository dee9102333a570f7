/* ops_cpu.c: the CPU backend's op table, its context (thread pool and the
 * scratch sized once from cllm_ops_limits), and the small elementwise ops
 * (add, swiglu, softmax, get_rows, store_rows). The larger ops live in
 * matmul.c, attention.c, rope.c and norm.c. */
#include "ops/ops_cpu.h"
#include "core/core.h"
#include "quant/quants.h"
#include "tensor/types.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ elementwise */
typedef struct ew_task {
    float *y;
    const float *x, *u;
    int64_t n;
    int n_rows;
    bool x_is_row;
    cllm_swiglu_fn swiglu;   /* swiglu only */
} ew_task;

static void add_run(void *arg, int64_t a, int64_t b, int ith) {
    (void)ith;
    ew_task *t = arg;
    for (int64_t r = a; r < b; r++) {
        float *y = t->y + r * t->n;
        const float *x = t->x_is_row ? t->x : t->x + r * t->n;
        for (int64_t i = 0; i < t->n; i++) y[i] += x[i];
    }
}

/* Rows per chunk: all of them (serial) for small problems. */
static int64_t row_grain(cllm_ops_ctx *c, int n_rows, int64_t n) {
    if ((int64_t)n_rows * n < 8192) return n_rows;
    return cllm_threadpool_grain(c->tp, n_rows, 2);
}

static void cpu_add(cllm_ops_ctx *c, float *y, const float *x, int64_t n, int n_rows, bool x_is_row) {
    ew_task t = {y, x, NULL, n, n_rows, x_is_row, NULL};
    cllm_threadpool_for(c->tp, n_rows, row_grain(c, n_rows, n), add_run, &t);
}

static void swiglu_run(void *arg, int64_t a, int64_t b, int ith) {
    (void)ith;
    ew_task *t = arg;
    t->swiglu(b - a, t->x + a, t->u + a, t->y + a);
}

static void cpu_swiglu(cllm_ops_ctx *c, const float *g, const float *u, float *y, int64_t n, int n_rows) {
    ew_task t = {y, g, u, n, n_rows, false, c->kern->swiglu};
    const int64_t total = (int64_t)n_rows * n;
    cllm_threadpool_for(c->tp, total, total < 8192 ? total : cllm_threadpool_grain(c->tp, total, 2), swiglu_run, &t);
}

static void softmax_run(void *arg, int64_t a, int64_t b, int ith) {
    (void)ith;
    ew_task *t = arg;
    for (int64_t r = a; r < b; r++) {
        float *x = t->y + r * t->n;
        float mx = -INFINITY;
        for (int64_t i = 0; i < t->n; i++) mx = x[i] > mx ? x[i] : mx;
        double sum = 0.0;
        for (int64_t i = 0; i < t->n; i++) {
            x[i] = expf(x[i] - mx);
            sum += x[i];
        }
        const float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < t->n; i++) x[i] *= inv;
    }
}

static void cpu_softmax(cllm_ops_ctx *c, float *x, int64_t n, int n_rows) {
    ew_task t = {x, NULL, NULL, n, n_rows, false, NULL};
    cllm_threadpool_for(c->tp, n_rows, row_grain(c, n_rows, n), softmax_run, &t);
}

static void cpu_get_rows(cllm_ops_ctx *c, const cllm_weight *w, const int32_t *ids, int n, float *y) {
    (void)c;
    for (int i = 0; i < n; i++) {
        const void *row = (const char *)w->data + (size_t)ids[i] * w->row_bytes;
        if (!cllm_quant_dequantize_row(w->type, row, y + (int64_t)i * w->ne0, w->ne0))
            memset(y + (int64_t)i * w->ne0, 0, sizeof(float) * (size_t)w->ne0); /* type checked at load */
    }
}

typedef struct store_task {
    cllm_ops_ctx *c;
    const float *x;
    int64_t n;
    int n_rows;
    cllm_type t;
    void *dst;
    size_t row_bytes;
    const int32_t *idx;
} store_task;

static void store_run(void *arg, int64_t a, int64_t b, int ith) {
    (void)ith;
    store_task *t = arg;
    for (int64_t r = a; r < b; r++) {
        const float *x = t->x + r * t->n;
        void *d = (char *)t->dst + (size_t)t->idx[r] * t->row_bytes;
        if (t->t == CLLM_TYPE_F32)
            memcpy(d, x, sizeof(float) * (size_t)t->n);
        else
            t->c->kern->from_float[t->t](x, d, t->n);
    }
}

static void cpu_store_rows(cllm_ops_ctx *c, const float *x, int64_t n, int n_rows, cllm_type t,
                           void *dst, size_t row_bytes, const int32_t *dst_idx) {
    store_task st = {c, x, n, n_rows, t, dst, row_bytes, dst_idx};
    cllm_threadpool_for(c->tp, n_rows, row_grain(c, n_rows, n), store_run, &st);
}

static const cllm_ops g_cpu_ops = {
    .name = "cpu",
    .matmul = cllm_cpu_matmul,
    .rms_norm = cllm_cpu_rms_norm,
    .rope = cllm_cpu_rope,
    .attention = cllm_cpu_attention,
    .swiglu = cpu_swiglu,
    .add = cpu_add,
    .softmax = cpu_softmax,
    .get_rows = cpu_get_rows,
    .store_rows = cpu_store_rows,
};

const cllm_ops *cllm_ops_cpu(void) { return &g_cpu_ops; }

/* ---------------------------------------------------------------- context */
cllm_status cllm_ops_ctx_init(const cllm_ops_limits *lim, cllm_ops_ctx **out) {
    *out = NULL;
    if (!lim || lim->n_threads < 1 || lim->n_batch < 1 || lim->max_row < 1 || lim->n_ctx < 1 || lim->head_dim < 1)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "ops context: invalid limits");
    cllm_ops_ctx *c = calloc(1, sizeof *c);
    if (!c) return cllm_set_last_error(CLLM_ERR_NOMEM, "ops context: out of memory");
    c->ops = &g_cpu_ops;
    c->kern = cllm_kernels_get();
    c->lim = *lim;
    /* Activation rows: F32 is the widest activation type (4 bytes/element);
     * block types are smaller. Round the row to whole 256-element blocks. */
    const int64_t row = (lim->max_row + 255) / 256 * 256;
    c->act_buf_bytes = (size_t)lim->n_batch * (size_t)row * sizeof(float);
    c->act_buf = cllm_amalloc(c->act_buf_bytes);
    /* Per-thread: the attention tile (attention.c) or the rope cache
     * [head_dim]; padded to 64 B. */
    size_t thr = cllm_attn_scratch_floats(lim->head_dim);
    if (thr < (size_t)lim->head_dim + 64) thr = (size_t)lim->head_dim + 64;
    c->thr_floats = (thr + 15) & ~(size_t)15;
    c->thr = cllm_amalloc(c->thr_floats * sizeof(float) * (size_t)lim->n_threads);
    if (!c->act_buf || !c->thr) {
        const size_t bytes = c->act_buf_bytes;
        cllm_ops_ctx_free(c);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "ops context: cannot allocate %zu bytes of scratch", bytes);
    }
    cllm_status st = cllm_threadpool_init(lim->n_threads, &c->tp);
    if (st != CLLM_OK) {
        cllm_ops_ctx_free(c);
        return st;
    }
    *out = c;
    return CLLM_OK;
}

void cllm_ops_ctx_free(cllm_ops_ctx *c) {
    if (!c) return;
    cllm_threadpool_free(c->tp);
    cllm_afree(c->act_buf);
    cllm_afree(c->thr);
    free(c);
}

const cllm_ops *cllm_ops_ctx_ops(const cllm_ops_ctx *c) { return c->ops; }
int cllm_ops_ctx_n_threads(const cllm_ops_ctx *c) { return cllm_threadpool_n_threads(c->tp); }
