/* test_ops.c: the CPU ops against naive double-precision references:
 * thread pool (every item exactly once, any grain), matmul for every weight type
 * with a kernel (reference: dequantized weights x dequantized activations
 * of the kernel's act type), RMSNorm, RoPE (normal, NEOX, linear scaling,
 * freq factors, YaRN), multi-sequence causal attention with GQA for F32/F16/Q8_0
 * caches, and the KV cache cell bookkeeping. */
#include "core/core.h"
#include "cpu/kernels.h"
#include "model/kv_cache.h"
#include "ops/ops_cpu.h"
#include "ops/threadpool.h"
#include "quant/blocks.h"
#include "quant/quants.h"
#include "tensor/types.h"
#include "testutil.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 88172645463325252ull;
static float frand(void) {   /* uniform in [-1, 1) */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((g_rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* ------------------------------------------------------------ thread pool */
typedef struct pool_task {
    int64_t n;
    atomic_int *hits;     /* [n]: each item must be processed exactly once */
    atomic_int bad_ith;
    int n_threads;
} pool_task;

static void pool_fn(void *arg, int64_t i0, int64_t i1, int ith) {
    pool_task *t = arg;
    if (ith < 0 || ith >= t->n_threads) atomic_fetch_add(&t->bad_ith, 1);
    for (int64_t i = i0; i < i1; i++) atomic_fetch_add(&t->hits[i], 1);
}

static void test_pool(void) {
    for (int nt = 1; nt <= 4; nt++) {
        cllm_threadpool *tp = NULL;
        CHECK(cllm_threadpool_init(nt, &tp) == CLLM_OK, "pool init %d", nt);
        if (!tp) continue;
        int bad = 0;
        for (int rep = 0; rep < 400; rep++) {
            pool_task t = {.n = 1 + rep * 7 % 997, .n_threads = nt};
            t.hits = calloc((size_t)t.n, sizeof(atomic_int));
            atomic_init(&t.bad_ith, 0);
            const int64_t grain = 1 + rep % 13;
            cllm_threadpool_for(tp, t.n, grain, pool_fn, &t);
            for (int64_t i = 0; i < t.n; i++) bad += atomic_load(&t.hits[i]) != 1;
            bad += atomic_load(&t.bad_ith);
            free(t.hits);
        }
        CHECK(bad == 0, "%d threads: %d items not processed exactly once", nt, bad);
        CHECK(cllm_threadpool_grain(tp, 100, 2) == (100 + 2 * nt - 1) / (2 * nt), "grain");
        cllm_threadpool_free(tp);
    }
    cllm_threadpool *tp = NULL;
    CHECK(cllm_threadpool_init(0, &tp) == CLLM_ERR_INVALID_ARG && !tp, "0 threads refused");
    cllm_threadpool_free(NULL);
}

/* ---------------------------------------------------------------- matmul */
static cllm_ops_ctx *make_ctx(int threads, int n_batch, int64_t max_row, int n_ctx, int hd) {
    cllm_ops_limits lim = {threads, n_batch, max_row, n_ctx, hd};
    cllm_ops_ctx *c = NULL;
    CHECK(cllm_ops_ctx_init(&lim, &c) == CLLM_OK, "ops ctx: %s", cllm_last_error());
    return c;
}

static void test_matmul(void) {
    static const cllm_type types[] = {CLLM_TYPE_F32, CLLM_TYPE_F16, CLLM_TYPE_BF16, CLLM_TYPE_Q4_0,
                                      CLLM_TYPE_Q4_1, CLLM_TYPE_Q5_0, CLLM_TYPE_Q5_1, CLLM_TYPE_Q8_0,
                                      CLLM_TYPE_Q2_K, CLLM_TYPE_Q3_K, CLLM_TYPE_Q4_K, CLLM_TYPE_Q5_K,
                                      CLLM_TYPE_Q6_K, CLLM_TYPE_IQ4_NL, CLLM_TYPE_IQ4_XS};
    const int64_t K = 512;
    const int rows[2] = {37, 50};
    const int toks[3] = {1, 7, 70};
    cllm_ops_ctx *c = make_ctx(3, 70, K, 16, 64);
    if (!c) return;
    const cllm_kernels *kern = cllm_kernels_get();
    float *x = malloc(sizeof(float) * 70 * K);
    float *xq = malloc(sizeof(float) * K);
    float *wd = malloc(sizeof(float) * 50 * K);
    void *actbuf = malloc((size_t)K * 4);
    for (int64_t i = 0; i < 70 * K; i++) x[i] = frand();
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const cllm_type t = types[ti];
        CHECK(cllm_ops_type_supported(t), "type %s supported", cllm_type_name(t));
        if (!cllm_ops_type_supported(t)) continue;
        const cllm_type act = kern->type[t].act_type;
        /* two weights of different row counts, fed in one call */
        cllm_weight w[2];
        void *wdata[2];
        for (int k = 0; k < 2; k++) {
            const size_t rb = (size_t)cllm_type_row_size(t, K);
            wdata[k] = malloc(rb * (size_t)rows[k]);
            float *tmp = malloc(sizeof(float) * K);
            for (int r = 0; r < rows[k]; r++) {
                for (int64_t i = 0; i < K; i++) tmp[i] = frand() * (1.0f + (float)(r % 3));
                CHECK(cllm_quant_quantize_row(t, tmp, (char *)wdata[k] + rb * (size_t)r, K, NULL), "quantize %s",
                      cllm_type_name(t));
            }
            free(tmp);
            w[k] = (cllm_weight){"w", t, K, rows[k], rb, wdata[k], NULL};
        }
        double worst = 0;
        for (int tn = 0; tn < 3; tn++) {
            const int nt = toks[tn];
            float *y0 = malloc(sizeof(float) * (size_t)nt * (size_t)rows[0]);
            float *y1 = malloc(sizeof(float) * (size_t)nt * (size_t)rows[1]);
            const cllm_weight *wp[2] = {&w[0], &w[1]};
            float *yp[2] = {y0, y1};
            cllm_ops_cpu()->matmul(c, 2, wp, x, nt, yp);
            for (int k = 0; k < 2; k++) {
                const size_t rb = w[k].row_bytes;
                for (int r = 0; r < rows[k]; r++)
                    cllm_quant_dequantize_row(t, (char *)wdata[k] + rb * (size_t)r, wd + (size_t)r * K, K);
                for (int tk = 0; tk < nt; tk++) {
                    /* the activation as the kernel sees it */
                    const float *xa = x + (size_t)tk * K;
                    if (act != CLLM_TYPE_F32) {
                        kern->from_float[act](xa, actbuf, K);
                        if (act == CLLM_TYPE_Q8_K) {   /* no dequantizer: q8_K is d * qs */
                            const cllm_block_q8_K *bq = actbuf;
                            for (int64_t i = 0; i < K; i++) xq[i] = bq[i / QK_K].d * bq[i / QK_K].qs[i % QK_K];
                        } else {
                            cllm_quant_dequantize_row(act, actbuf, xq, K);
                        }
                        xa = xq;
                    }
                    for (int r = 0; r < rows[k]; r++) {
                        double ref = 0, mag = 0;
                        for (int64_t i = 0; i < K; i++) {
                            ref += (double)wd[(size_t)r * K + i] * xa[i];
                            mag += fabs((double)wd[(size_t)r * K + i] * xa[i]);
                        }
                        const float got = (k ? y1 : y0)[(size_t)tk * rows[k] + r];
                        const double err = fabs(got - ref) / (mag + 1e-9);
                        if (err > worst) worst = err;
                    }
                }
            }
            free(y0);
            free(y1);
        }
        CHECK(worst < 1e-4, "matmul %s: worst relative error %.3g", cllm_type_name(t), worst);
        free(wdata[0]);
        free(wdata[1]);
    }
    free(x);
    free(xq);
    free(wd);
    free(actbuf);
    cllm_ops_ctx_free(c);
}

/* ---------------------------------------------------------- norm, rope */
static void test_norm_rope(void) {
    cllm_ops_ctx *c = make_ctx(2, 8, 256, 16, 64);
    if (!c) return;
    const int n = 300, R = 5;
    float *x = malloc(sizeof(float) * n * R), *y = malloc(sizeof(float) * n * R), *w = malloc(sizeof(float) * n);
    for (int i = 0; i < n * R; i++) x[i] = frand() * 3;
    for (int i = 0; i < n; i++) w[i] = 1 + frand() * 0.2f;
    cllm_ops_cpu()->rms_norm(c, x, y, w, n, n, R, 1e-5f);
    double worst = 0;
    for (int r = 0; r < R; r++) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double)x[r * n + i] * x[r * n + i];
        const double sc = 1.0 / sqrt(ss / n + 1e-5);
        for (int i = 0; i < n; i++) worst = fmax(worst, fabs(y[r * n + i] - x[r * n + i] * sc * w[i]));
    }
    CHECK(worst < 1e-5, "rms_norm error %.3g", worst);
    free(x);
    free(y);
    free(w);

    /* RoPE: 3 tokens x 4 heads x head_dim 64, 48 rotated dims. */
    const int hd = 64, nh = 4, nt = 3, nd = 48;
    const int32_t pos[3] = {0, 7, 1000};
    float ff[24];
    for (int i = 0; i < 24; i++) ff[i] = 1.0f + (float)i * 0.5f;
    for (int variant = 0; variant < 4; variant++) {
        cllm_rope_params rp = {.n_dims = nd, .mode = (variant & 1) ? CLLM_ROPE_NEOX : CLLM_ROPE_NORM,
                               .freq_base = 10000.0f, .freq_scale = variant >= 2 ? 0.25f : 1.0f,
                               .ext_factor = 0.0f, .attn_factor = 1.0f, .beta_fast = 32, .beta_slow = 1,
                               .n_ctx_orig = 2048, .freq_factors = variant == 3 ? ff : NULL};
        float *q = malloc(sizeof(float) * nt * nh * hd), *q0 = malloc(sizeof(float) * nt * nh * hd);
        for (int i = 0; i < nt * nh * hd; i++) q0[i] = q[i] = frand();
        cllm_ops_cpu()->rope(c, q, nh * hd, nt, nh, hd, pos, &rp);
        double err = 0;
        for (int t = 0; t < nt; t++)
            for (int h = 0; h < nh; h++) {
                const float *a = q0 + (t * nh + h) * hd;
                const float *b = q + (t * nh + h) * hd;
                for (int i = 0; i < nd / 2; i++) {
                    double th = pos[t] * pow(10000.0, -2.0 * i / nd) * rp.freq_scale;
                    if (rp.freq_factors) th /= rp.freq_factors[i];
                    const int i0 = rp.mode == CLLM_ROPE_NEOX ? i : 2 * i;
                    const int i1 = rp.mode == CLLM_ROPE_NEOX ? i + nd / 2 : 2 * i + 1;
                    const double r0 = a[i0] * cos(th) - a[i1] * sin(th), r1 = a[i0] * sin(th) + a[i1] * cos(th);
                    err = fmax(err, fmax(fabs(b[i0] - r0), fabs(b[i1] - r1)));
                }
                for (int i = nd; i < hd; i++) err = fmax(err, fabs(b[i] - a[i]));   /* unrotated tail */
            }
        /* float angle iteration (as ggml) loses ~1e-4 at position 1000 */
        CHECK(err < 2e-3, "rope variant %d: error %.3g", variant, err);
        free(q);
        free(q0);
    }

    /* YaRN (ggml's rope_yarn): factor 4, original context 2048, NEOX, all dims. */
    {
        cllm_rope_params rp = {.n_dims = hd, .mode = CLLM_ROPE_NEOX, .freq_base = 10000.0f, .freq_scale = 0.25f,
                               .ext_factor = 1.0f, .attn_factor = 1.0f, .beta_fast = 32, .beta_slow = 1,
                               .n_ctx_orig = 2048, .freq_factors = NULL};
        float q[64], q0[64];
        for (int i = 0; i < hd; i++) q0[i] = q[i] = frand();
        const int32_t p1 = 300;
        cllm_ops_cpu()->rope(c, q, hd, 1, 1, hd, &p1, &rp);
        const double PI = 3.14159265358979323846;
        double lo = floor(hd * log(2048.0 / (32 * 2 * PI)) / (2 * log(10000.0)));
        double hi = ceil(hd * log(2048.0 / (1 * 2 * PI)) / (2 * log(10000.0)));
        lo = fmax(0, lo);
        hi = fmin(hd - 1, hi);
        const double msc = 1.0 + 0.1 * log(1.0 / 0.25);
        double err = 0;
        for (int i = 0; i < hd / 2; i++) {
            const double ex = p1 * pow(10000.0, -2.0 * i / hd), in = 0.25 * ex;
            const double ramp = 1.0 - fmin(1.0, fmax(0.0, (i - lo) / fmax(0.001, hi - lo)));
            const double th = in * (1 - ramp) + ex * ramp;
            const double r0 = (q0[i] * cos(th) - q0[i + hd / 2] * sin(th)) * msc;
            const double r1 = (q0[i] * sin(th) + q0[i + hd / 2] * cos(th)) * msc;
            err = fmax(err, fmax(fabs(q[i] - r0), fabs(q[i + hd / 2] - r1)));
        }
        CHECK(err < 2e-3, "yarn rope error %.3g", err);
    }
    cllm_ops_ctx_free(c);
}

/* ------------------------------------------------------------- attention */
static void test_attention(void) {
    const int hd = 64, nh = 4, nkv = 2, ncell = 12, nt = 5;
    cllm_ops_ctx *c = make_ctx(3, 8, 256, 32, hd);
    if (!c) return;
    const cllm_kernels *kern = cllm_kernels_get();
    /* cells: seq 0 at pos 0..4, seq 1 at pos 0..3, one shared (seqs 0|1) at pos 0... */
    int32_t cpos[12] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 5, 4};
    uint64_t cseq[12] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 2};  /* cell 9 free */
    int32_t tpos[5] = {4, 3, 5, 4, 0};
    uint64_t tseq[5] = {1, 2, 1, 2, 2};
    const int64_t KD = nkv * hd;
    float *kf = malloc(sizeof(float) * ncell * KD), *vf = malloc(sizeof(float) * ncell * KD);
    float *q = malloc(sizeof(float) * nt * nh * hd), *out = malloc(sizeof(float) * nt * nh * hd);
    for (int i = 0; i < ncell * KD; i++) { kf[i] = frand(); vf[i] = frand(); }
    for (int i = 0; i < nt * nh * hd; i++) q[i] = frand() * 2;
    const cllm_type kts[3] = {CLLM_TYPE_F32, CLLM_TYPE_F16, CLLM_TYPE_Q8_0};
    for (int ki = 0; ki < 3; ki++) {
        const cllm_type kt = kts[ki];
        const size_t rb = (size_t)cllm_type_row_size(kt, KD);
        char *kb = malloc(rb * ncell), *vb = malloc(rb * ncell);
        float *kd = malloc(sizeof(float) * ncell * KD), *vd = malloc(sizeof(float) * ncell * KD);
        for (int j = 0; j < ncell; j++) {
            if (kt == CLLM_TYPE_F32) {
                memcpy(kb + rb * j, kf + j * KD, rb);
                memcpy(vb + rb * j, vf + j * KD, rb);
            } else {
                kern->from_float[kt](kf + j * KD, kb + rb * j, KD);
                kern->from_float[kt](vf + j * KD, vb + rb * j, KD);
            }
            cllm_quant_dequantize_row(kt, kb + rb * j, kd + j * KD, KD);
            cllm_quant_dequantize_row(kt, vb + rb * j, vd + j * KD, KD);
        }
        cllm_attn_args a = {.q = q, .q_stride = nh * hd, .out = out, .out_stride = nh * hd, .n_tok = nt,
                            .n_head = nh, .n_head_kv = nkv, .head_dim = hd, .scale = 0.125f, .kv_type = kt,
                            .k = kb, .v = vb, .kv_row_bytes = rb, .n_kv = ncell, .cell_pos = cpos,
                            .cell_seq = cseq, .tok_pos = tpos, .tok_seq = tseq};
        cllm_ops_cpu()->attention(c, &a);
        double worst = 0;
        for (int t = 0; t < nt; t++)
            for (int h = 0; h < nh; h++) {
                const int g = h / (nh / nkv);
                double s[12], mx = -1e300, sum = 0;
                for (int j = 0; j < ncell; j++) {
                    const bool vis = cseq[j] && !(tseq[t] & ~cseq[j]) && cpos[j] <= tpos[t];
                    s[j] = -INFINITY;
                    if (!vis) continue;
                    double d = 0;
                    for (int i = 0; i < hd; i++) d += (double)q[(t * nh + h) * hd + i] * kd[j * KD + g * hd + i];
                    s[j] = d * 0.125;
                    mx = fmax(mx, s[j]);
                }
                for (int j = 0; j < ncell; j++) {
                    s[j] = isinf(s[j]) ? 0 : exp(s[j] - mx);
                    sum += s[j];
                }
                for (int i = 0; i < hd; i++) {
                    double o = 0;
                    for (int j = 0; j < ncell; j++) o += s[j] / sum * vd[j * KD + g * hd + i];
                    worst = fmax(worst, fabs(o - out[(t * nh + h) * hd + i]));
                }
            }
        /* F16/Q8_0 round the query too, so allow their rounding */
        const double tol = kt == CLLM_TYPE_F32 ? 1e-5 : kt == CLLM_TYPE_F16 ? 2e-3 : 3e-2;
        CHECK(worst < tol, "attention kv %s: error %.3g", cllm_type_name(kt), worst);
        free(kb);
        free(vb);
        free(kd);
        free(vd);
    }
    free(kf);
    free(vf);
    free(q);
    free(out);
    cllm_ops_ctx_free(c);
}

/* --------------------------------------------------------------- KV cells */
static void test_kv_cells(void) {
    cllm_kv_cache kv;
    char err[128];
    CHECK(cllm_kv_init(&kv, 8, CLLM_TYPE_Q4_0, 2, 64, err, sizeof err) == CLLM_ERR_UNSUPPORTED, "q4_0 cache refused");
    CHECK(cllm_kv_init(&kv, 8, CLLM_TYPE_Q8_0, 2, 48, err, sizeof err) == CLLM_ERR_UNSUPPORTED, "q8_0 row 48 refused");
    CHECK(cllm_kv_init(&kv, 8, CLLM_TYPE_F16, 2, 64, err, sizeof err) == CLLM_OK, "init: %s", err);
    int32_t cells[8];
    CHECK(cllm_kv_cache_find_slots(&kv, 5, cells), "5 slots");
    for (int i = 0; i < 5; i++) cllm_kv_cache_set(&kv, cells[i], i, 1);   /* seq 0: pos 0..4 */
    CHECK(kv.used == 5 && cllm_kv_cache_n_kv(&kv) == 5, "used %u", kv.used);
    CHECK(!cllm_kv_cache_find_slots(&kv, 4, cells), "4 more do not fit");
    cllm_kv_cache_seq_cp(&kv, 0, 1, 0, 3);                                 /* share pos 0..2 with seq 1 */
    CHECK(cllm_kv_cache_seq_pos_max(&kv, 1) == 2, "seq 1 max %d", cllm_kv_cache_seq_pos_max(&kv, 1));
    cllm_kv_cache_seq_rm(&kv, 0, 1, -1);                                   /* seq 0 keeps pos 0 */
    CHECK(cllm_kv_cache_seq_pos_max(&kv, 0) == 0, "seq 0 max %d", cllm_kv_cache_seq_pos_max(&kv, 0));
    CHECK(kv.used == 3, "cells 3,4 freed, used %u", kv.used);
    CHECK(cllm_kv_cache_find_slots(&kv, 5, cells) && cells[0] == 3, "reuse freed cells first (%d)", cells[0]);
    cllm_kv_cache_seq_add(&kv, 1, 0, -1, 10, NULL);
    CHECK(cllm_kv_cache_seq_pos_max(&kv, 1) == 12 && cllm_kv_cache_seq_pos_max(&kv, 0) == 10, "shifted");
    cllm_kv_cache_seq_add(&kv, 1, 0, -1, -11, NULL);                       /* 10 -> -1 freed; 11,12 -> 0,1 */
    CHECK(kv.used == 2 && cllm_kv_cache_seq_pos_max(&kv, 1) == 1, "shift below 0 frees, used %u", kv.used);
    cllm_kv_cache_seq_keep(&kv, 0);
    CHECK(kv.used == 0 && cllm_kv_cache_seq_pos_max(&kv, 1) == -1, "keep 0 (cell was seq 1 only)");
    cllm_kv_cache_set(&kv, 0, 0, 3);
    cllm_kv_cache_clear(&kv);
    CHECK(kv.used == 0 && cllm_kv_cache_n_kv(&kv) == 0, "clear");
    cllm_kv_free(&kv);
}

int main(void) {
    printf("kernels: %s\n", cllm_kernels_get()->name);
    test_pool();
    test_matmul();
    test_norm_rope();
    test_attention();
    test_kv_cells();
    return test_finish();
}
