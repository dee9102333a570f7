/* mmbench.c: cllm-mmbench, a benchmark of the whole CPU matmul op (activation
 * quantization + repacked GEMM + the cache blocking of src/ops/matmul.c) on
 * the three weight shapes of a TinyLlama-1.1B layer, with a prompt-sized
 * batch. Unlike cllm-kbench (one kernel call on data in cache) this sees the
 * memory hierarchy the model sees. Reports GMAC/s of the best of the runs in
 * the time budget, so a shared, noisy machine costs repetitions, not accuracy.
 * Usage: cllm-mmbench [-t THREADS] [-n TOKENS] [-ms BUDGET] [type ...]
 * (types default to q4_0 q8_0 q4_K q6_K; CLLM_CPU and CLLM_REPACK apply). */
#include "core/core.h"
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "ops/ops.h"
#include "tensor/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

/* Random quant bytes; every 16-bit word that would be an fp16 inf/NaN is
 * tamed so no float path hits special values. */
static void *random_weight(cllm_type t, int64_t ne0, int64_t ne1, size_t *row_bytes) {
    *row_bytes = (size_t)cllm_type_row_size(t, ne0);
    const size_t bytes = *row_bytes * (size_t)ne1;
    uint16_t *p = cllm_amalloc(bytes);
    if (!p) return NULL;
    for (size_t i = 0; i < bytes / 2; i++) {
        uint16_t h = (uint16_t)rnd();
        if ((h & 0x7C00) == 0x7C00 || (h & 0x7C00) >= 0x4000) h &= 0x3BFF;   /* |x| < 1: a sane scale */
        p[i] = h;
    }
    return p;
}

int main(int argc, char **argv) {
    int n_threads = 1, n_tok = 512;
    double ms = 400;
    const char *names[8];
    int n_names = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) n_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) n_tok = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-ms") && i + 1 < argc) ms = atof(argv[++i]);
        else if (n_names < 8) names[n_names++] = argv[i];
    }
    if (n_threads < 1 || n_tok < 1 || n_tok > 4096) {
        fprintf(stderr, "cllm-mmbench: bad -t or -n\n");
        return 2;
    }
    if (n_names == 0) {
        static const char *def[] = {"q4_0", "q8_0", "q4_K", "q6_K"};
        for (int i = 0; i < 4; i++) names[n_names++] = def[i];
    }
    /* (ne0 -> ne1) x n_w: attn q, ffn gate+up (one fused call), ffn down */
    static const struct { const char *what; int64_t ne0, ne1; int n_w; } shapes[] = {
        {"q 2048->2048", 2048, 2048, 1}, {"gate+up 2048->2x5632", 2048, 5632, 2}, {"down 5632->2048", 5632, 2048, 1}};
    cllm_ops_limits lim = {.n_threads = n_threads, .n_batch = n_tok, .max_row = 5632, .n_ctx = 16, .head_dim = 64};
    cllm_ops_ctx *ctx = NULL;
    if (cllm_ops_ctx_init(&lim, &ctx) != CLLM_OK) {
        fprintf(stderr, "cllm-mmbench: %s\n", cllm_last_error());
        return 1;
    }
    const cllm_ops *ops = cllm_ops_ctx_ops(ctx);
    float *x = malloc(sizeof(float) * (size_t)n_tok * 5632);
    float *y0 = malloc(sizeof(float) * (size_t)n_tok * 5632), *y1 = malloc(sizeof(float) * (size_t)n_tok * 5632);
    if (!x || !y0 || !y1) return 1;
    for (size_t i = 0; i < (size_t)n_tok * 5632; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) * 1e-3f;
    printf("cllm-mmbench: table %s, %d thread(s), %d tokens, best of %.0f ms; GMAC/s of the whole matmul op\n",
           cllm_kernels_get()->name, n_threads, n_tok, ms);
    printf("%-6s %-22s %10s %8s\n", "type", "shape", "GMAC/s", "ms");
    for (int ni = 0; ni < n_names; ni++) {
        const int t = cllm_type_from_name(names[ni]);
        if (t < 0 || !cllm_ops_type_supported((cllm_type)t)) {
            fprintf(stderr, "cllm-mmbench: no kernel for type '%s'\n", names[ni]);
            continue;
        }
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            cllm_weight w[2];
            const cllm_weight *wp[2] = {&w[0], &w[1]};
            float *ys[2] = {y0, y1};
            cllm_rp_buf *rp = NULL;
            for (int k = 0; k < shapes[si].n_w; k++) {
                w[k] = (cllm_weight){.name = "w", .type = (cllm_type)t, .ne0 = shapes[si].ne0, .ne1 = shapes[si].ne1};
                w[k].data = random_weight((cllm_type)t, w[k].ne0, w[k].ne1, &w[k].row_bytes);
                if (!w[k].data) return 1;
                cllm_ops_weight_repack(&w[k], &rp);
            }
            ops->matmul(ctx, shapes[si].n_w, wp, x, n_tok, ys);   /* warm-up */
            uint64_t best = UINT64_MAX, t_start = cllm_time_ns();
            int reps = 0;
            do {
                const uint64_t t0 = cllm_time_ns();
                ops->matmul(ctx, shapes[si].n_w, wp, x, n_tok, ys);
                const uint64_t dt = cllm_time_ns() - t0;
                if (dt < best) best = dt;
                reps++;
            } while (reps < 3 || (double)(cllm_time_ns() - t_start) < ms * 1e6);
            const double macs = (double)shapes[si].ne0 * (double)shapes[si].ne1 * shapes[si].n_w * n_tok;
            printf("%-6s %-22s %10.1f %8.2f%s\n", cllm_type_name((cllm_type)t), shapes[si].what, macs / (double)best,
                   (double)best * 1e-6, w[0].rp ? "" : "  (not repacked)");
            for (int k = 0; k < shapes[si].n_w; k++) cllm_afree((void *)w[k].data);
            cllm_ops_rp_free(rp);
        }
    }
    free(x);
    free(y0);
    free(y1);
    cllm_ops_ctx_free(ctx);
    return 0;
}
