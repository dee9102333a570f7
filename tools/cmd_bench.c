/* cmd_bench.c: `cllm bench`: prompt-processing and generation speed, like
 * llama-bench.
 *   cllm bench (-m MODEL | -hf REPO[:QUANT]) [-p 512] [-n 128] [-r 3] [-t N] [-b 512] [--kv f16]
 *              [-o md|json] [--roofline] [-np S]
 * pp: p random token ids decoded from an empty cache in batches of b (logits
 * for the last only). tg: n tokens decoded one at a time from an empty cache;
 * with -np S, S sequences decoded together (one token each per step, as the
 * server's slots), reported as total tokens/s ("tgNxS"). Process CPU time
 * per run goes to stderr (useful on a shared machine).
 * Each test runs once to warm up, then r timed runs; t/s is mean ± stddev.
 * --roofline also measures read bandwidth (2 threads summing a 1 GiB array,
 * best of 5) and reports tg as a percentage of bandwidth / model bytes, and
 * the int8 dot-product peak of the bench's threads (cpu/peak.h), reporting
 * pp as a percentage of peak / (weight MACs per token): the compute roofline
 * of prompt processing on quantized weights. */
#include "commands.h"
#include "engine_util.h"
#include "core/core.h"
#include "cpu/kernels.h"
#include "cpu/peak.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: cllm bench (-m MODEL | -hf REPO[:QUANT]) [-p 512] [-n 128] [-r 3] [-t N] [-b 512] [--kv f16|f32|q8_0]\n"
               "                  [-o md|json] [--roofline] [-np SEQS]\n");
}

/* ---------------------------------------------------------- bandwidth */
typedef struct bw_arg {
    const uint32_t *p;
    size_t n;
    uint32_t sum;
} bw_arg;

static void *bw_sum(void *arg) {
    bw_arg *a = arg;
    /* Integer sums vectorize without reassociation flags; 4 lanes of
     * independent accumulators keep the loads the bottleneck. */
    uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= a->n; i += 4) {
        s0 += a->p[i];
        s1 += a->p[i + 1];
        s2 += a->p[i + 2];
        s3 += a->p[i + 3];
    }
    for (; i < a->n; i++) s0 += a->p[i];
    a->sum = s0 + s1 + s2 + s3;
    return NULL;
}

/* GB/s (1e9 bytes) reading a 1 GiB array with 2 threads, best of 5; <= 0 on failure. */
static double measure_bandwidth(void) {
    const size_t bytes = (size_t)1 << 30;
    uint32_t *buf = cllm_amalloc(bytes);
    if (!buf) return -1.0;
    const size_t n = bytes / sizeof(uint32_t);
    for (size_t i = 0; i < n; i++) buf[i] = (uint32_t)i;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        bw_arg a[2] = {{buf, n / 2, 0}, {buf + n / 2, n - n / 2, 0}};
        pthread_t th;
        uint64_t t0 = cllm_time_ns();
        if (pthread_create(&th, NULL, bw_sum, &a[1]) != 0) { cllm_afree(buf); return -1.0; }
        bw_sum(&a[0]);
        pthread_join(th, NULL);
        uint64_t t1 = cllm_time_ns();
        volatile uint32_t sink = a[0].sum + a[1].sum;
        (void)sink;
        double gbs = (double)bytes / ((double)(t1 - t0));
        if (gbs > best) best = gbs;
    }
    cllm_afree(buf);
    return best;
}

/* ------------------------------------------------------------- tests */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static int32_t rnd_tok(int32_t nv) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (int32_t)(g_rng % (uint64_t)nv);
}

/* Process CPU seconds (all threads): on a shared machine, CPU time per token
 * says more about the kernels than wall time; printed to stderr per run. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds for one pp run of n_prompt tokens, or < 0 on error. */
static double run_pp(cllm_context *c, cllm_batch *b, int n_prompt, int n_batch, int32_t nv) {
    cllm_kv_clear(c);
    const int32_t seq0 = 0;
    const double c0 = cpu_s();
    uint64_t t0 = cllm_time_ns();
    for (int s = 0; s < n_prompt; s += n_batch) {
        cllm_batch_clear(b);
        for (int i = s; i < n_prompt && i < s + n_batch; i++)
            cllm_batch_add(b, rnd_tok(nv), i, &seq0, 1, i == n_prompt - 1);
        if (cllm_decode(c, b) != CLLM_OK) return -1.0;
    }
    const double w = (double)(cllm_time_ns() - t0) / 1e9;
    fprintf(stderr, "bench: pp%d wall %.3f s, process CPU %.3f s (%.2f ms CPU/token)\n", n_prompt, w,
            cpu_s() - c0, 1e3 * (cpu_s() - c0) / n_prompt);
    return w;
}

/* n_gen decode steps; each step holds one token of each of n_par sequences
 * (batched decode, as the server's slots). */
static double run_tg(cllm_context *c, cllm_batch *b, int n_gen, int n_par, int32_t nv) {
    cllm_kv_clear(c);
    const double c0 = cpu_s();
    uint64_t t0 = cllm_time_ns();
    for (int i = 0; i < n_gen; i++) {
        cllm_batch_clear(b);
        for (int32_t sq = 0; sq < n_par; sq++) cllm_batch_add(b, rnd_tok(nv), i, &sq, 1, true);
        if (cllm_decode(c, b) != CLLM_OK) return -1.0;
    }
    const double w = (double)(cllm_time_ns() - t0) / 1e9;
    fprintf(stderr, "bench: tg%d x%d seq wall %.3f s, process CPU %.3f s (%.2f ms CPU/token)\n", n_gen, n_par, w,
            cpu_s() - c0, 1e3 * (cpu_s() - c0) / ((double)n_gen * n_par));
    return w;
}

typedef struct result {
    char test[32];
    int n_tokens;
    double mean, sd;   /* tokens/s */
} result;

int cllm_cmd_bench(int argc, char **argv) {
    const char *model = NULL, *hf = NULL, *fmt = "md";
    long n_prompt = 512, n_gen = 128, reps = 3, threads = 0, n_batch = 512, n_par = 1;
    int kv = CLLM_TYPE_F16;
    bool roofline = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--roofline")) { roofline = true; continue; }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "error: %s needs a value\n", a); usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-hf") || !strcmp(a, "--hf-repo")) hf = v;
        else if (!strcmp(a, "-p")) { if (!cmd_parse_int(a, v, 0, 1 << 20, &n_prompt)) return 2; }
        else if (!strcmp(a, "-n")) { if (!cmd_parse_int(a, v, 0, 1 << 20, &n_gen)) return 2; }
        else if (!strcmp(a, "-r")) { if (!cmd_parse_int(a, v, 1, 1000, &reps)) return 2; }
        else if (!strcmp(a, "-t")) { if (!cmd_parse_int(a, v, 0, 1024, &threads)) return 2; }
        else if (!strcmp(a, "-b")) { if (!cmd_parse_int(a, v, 1, 1 << 16, &n_batch)) return 2; }
        else if (!strcmp(a, "-np")) { if (!cmd_parse_int(a, v, 1, 64, &n_par)) return 2; }
        else if (!strcmp(a, "-o")) {
            if (strcmp(v, "md") && strcmp(v, "json")) { fprintf(stderr, "error: -o wants md or json\n"); return 2; }
            fmt = v;
        } else if (!strcmp(a, "--kv")) {
            kv = cmd_parse_kv_type(v);
            if (kv < 0) { fprintf(stderr, "error: --kv wants f32, f16 or q8_0\n"); return 2; }
        } else { fprintf(stderr, "error: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    if (!!model == !!hf || (n_prompt == 0 && n_gen == 0)) { usage(stderr); return 2; }
    char *pulled = NULL;
    if (hf && !(model = cmd_model_path(NULL, hf, &pulled))) return 1;
    cllm_model *m = NULL;
    if (cllm_model_load(model, NULL, &m) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        free(pulled);
        return 1;
    }
    cllm_context_params cp = cllm_context_default_params();
    cp.n_threads = (int32_t)threads;
    cp.kv_type = (cllm_type)kv;
    cp.n_ctx = (uint32_t)(n_prompt > n_gen * n_par ? n_prompt : n_gen * n_par);
    cp.n_seq_max = (uint32_t)n_par;
    if (cp.n_ctx < 16) cp.n_ctx = 16;
    cp.n_batch = (uint32_t)n_batch;
    cllm_context *c = NULL;
    int rc = 1;
    cllm_batch b = cllm_batch_init((int32_t)(n_batch > n_par ? n_batch : n_par), 1);
    result res[2];
    int n_res = 0;
    if (cllm_context_init(m, &cp, &c) != CLLM_OK) { fprintf(stderr, "error: %s\n", cllm_last_error()); goto done; }
    if (threads <= 0) threads = cllm_cpu_features_get()->n_physical_cores;
    const int32_t nv = cllm_model_n_vocab(m);
    const int eff_batch = (int)(n_batch < (long)cp.n_ctx ? n_batch : (long)cp.n_ctx);
    for (int test = 0; test < 2; test++) {
        const int nt = (int)(test == 0 ? n_prompt : n_gen);
        if (nt == 0) continue;
        double tps[1000];
        /* warm-up run (page faults, caches), not counted */
        double w = test == 0 ? run_pp(c, &b, nt, eff_batch, nv) : run_tg(c, &b, nt < 16 ? nt : 16, (int)n_par, nv);
        if (w < 0) { fprintf(stderr, "error: %s\n", cllm_context_last_error(c)); goto done; }
        for (long r = 0; r < reps; r++) {
            double s = test == 0 ? run_pp(c, &b, nt, eff_batch, nv) : run_tg(c, &b, nt, (int)n_par, nv);
            if (s < 0) { fprintf(stderr, "error: %s\n", cllm_context_last_error(c)); goto done; }
            tps[r] = (test == 0 ? nt : (double)nt * (double)n_par) / s;
        }
        double mean = 0, var = 0;
        for (long r = 0; r < reps; r++) mean += tps[r];
        mean /= (double)reps;
        for (long r = 0; r < reps; r++) var += (tps[r] - mean) * (tps[r] - mean);
        result *R = &res[n_res++];
        if (test == 1 && n_par > 1) snprintf(R->test, sizeof R->test, "tg%dx%ld", nt, n_par);
        else snprintf(R->test, sizeof R->test, "%s%d", test == 0 ? "pp" : "tg", nt);
        R->n_tokens = nt;
        R->mean = mean;
        R->sd = reps > 1 ? sqrt(var / (double)(reps - 1)) : 0.0;
    }
    double bw = roofline ? measure_bandwidth() : 0.0;
    const char *peak_isa = "none";
    const double peak = roofline ? cllm_cpu_int8_peak((int)threads, &peak_isa) : 0.0;
    const double size_gib = (double)cllm_model_size_bytes(m) / (1024.0 * 1024.0 * 1024.0);
    const double params_b = (double)cllm_model_n_params(m) / 1e9;
    const double roof_tps = bw > 0 ? bw * 1e9 / (double)cllm_model_size_bytes(m) : 0.0;
    /* weight MACs per token: every parameter but the token-embedding lookup */
    const double macs_tok = (double)cllm_model_n_params(m) - (double)cllm_model_n_vocab(m) * cllm_model_n_embd(m);
    const double roof_pp = peak > 0 && macs_tok > 0 ? peak / macs_tok : 0.0;
    const char *name = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
    if (!strcmp(fmt, "md")) {
        printf("| model | arch | size | params | backend | threads | test | t/s |%s\n",
               roofline ? " % of roofline |" : "");
        printf("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |%s\n", roofline ? " ---: |" : "");
        for (int i = 0; i < n_res; i++) {
            printf("| %s | %s | %.2f GiB | %.2f B | cpu | %ld | %s | %.2f ± %.2f |", name, cllm_model_arch(m),
                   size_gib, params_b, threads, res[i].test, res[i].mean, res[i].sd);
            if (roofline) {
                if (res[i].test[0] == 't' && roof_tps > 0) printf(" %.0f%% |", 100.0 * res[i].mean / roof_tps);
                else if (res[i].test[0] == 'p' && roof_pp > 0) printf(" %.0f%% |", 100.0 * res[i].mean / roof_pp);
                else printf(" |");
            }
            printf("\n");
        }
        if (roofline) {
            printf("\nread bandwidth: %.1f GB/s (2 threads, 1 GiB, best of 5); tg roofline %.1f t/s\n", bw, roof_tps);
            printf("int8 dot peak: %.1f GMAC/s (%ld threads, %s); %.3f G weight MACs/token; pp roofline %.1f t/s\n",
                   peak * 1e-9, threads, peak_isa, macs_tok * 1e-9, roof_pp);
        }
    } else {
        printf("{\"model\": \"%s\", \"arch\": \"%s\", \"size_bytes\": %llu, \"n_params\": %llu, \"threads\": %ld, "
               "\"kv_type\": \"%s\", \"results\": [",
               name, cllm_model_arch(m), (unsigned long long)cllm_model_size_bytes(m),
               (unsigned long long)cllm_model_n_params(m), threads, cllm_type_name((cllm_type)kv));
        for (int i = 0; i < n_res; i++)
            printf("%s{\"test\": \"%s\", \"n_tokens\": %d, \"reps\": %ld, \"tps_mean\": %.3f, \"tps_stddev\": %.3f}",
                   i ? ", " : "", res[i].test, res[i].n_tokens, reps, res[i].mean, res[i].sd);
        printf("]");
        if (roofline) {
            double tg = 0;
            for (int i = 0; i < n_res; i++)
                if (res[i].test[0] == 't') tg = res[i].mean;
            printf(", \"bandwidth_gbs\": %.2f, \"tg_roofline_tps\": %.2f, \"tg_pct_of_roofline\": %.1f", bw, roof_tps,
                   roof_tps > 0 ? 100.0 * tg / roof_tps : 0.0);
            double pp = 0;
            for (int i = 0; i < n_res; i++)
                if (res[i].test[0] == 'p') pp = res[i].mean;
            printf(", \"int8_peak_gmacs\": %.2f, \"pp_roofline_tps\": %.2f, \"pp_pct_of_roofline\": %.1f", peak * 1e-9,
                   roof_pp, roof_pp > 0 ? 100.0 * pp / roof_pp : 0.0);
        }
        printf("}\n");
    }
    rc = 0;
done:
    cllm_batch_free(&b);
    cllm_context_free(c);
    cllm_model_free(m);
    free(pulled);
    return rc;
}
