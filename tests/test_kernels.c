/* test_kernels.c: CPU kernel tables: feature detection, dispatch, scalar
 * reference sanity, and every SIMD table's vec_dot / from_float against the
 * scalar reference (random data with realistic scales). */
#include "core/core.h"
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/kernels_impl.h"
#include "quant/blocks.h"
#include "quant/quants.h"
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
    /* CLLM_CPU forces a table when the CPU supports it (ctest runs this test
     * once per ISA name); otherwise the automatic choice stands. */
    const char *want = getenv("CLLM_CPU");
    if (want && *want) {
        const cllm_kernels *forced = strcmp(want, "scalar") == 0    ? cllm_kernels_scalar()
                                     : strcmp(want, "avx2") == 0    ? cllm_kernels_avx2()
                                     : strcmp(want, "avx512") == 0  ? cllm_kernels_avx512()
                                     : strcmp(want, "avx512z") == 0 ? cllm_kernels_avx512_zmm()
                                     : strcmp(want, "neon") == 0    ? cllm_kernels_neon()
                                                                    : NULL;
        if (forced) CHECK(k == forced, "CLLM_CPU=%s chose %s", want, k->name);
        else printf("CLLM_CPU=%s not available here: automatic choice %s\n", want, k->name);
    }
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

/* ------------------------------------------------------------ random data */

static uint64_t g_rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd_u32(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}
static float rnd_uniform(void) { return (float)(rnd_u32() & 0xFFFFFF) / 16777216.0f; } /* [0,1) */
static float rnd_normal(void) {
    /* sum of 4 uniforms, centred: close enough to Gaussian for scales */
    return (rnd_uniform() + rnd_uniform() + rnd_uniform() + rnd_uniform() - 2.0f) * 1.7f;
}
/* A realistic positive block scale: 1e-3 .. 3e-2, as fp16. */
static cllm_fp16 rnd_scale(void) { return cllm_fp32_to_fp16(1e-3f + 3e-2f * rnd_uniform()); }

/* Fill n elements of weight type t with random quants and realistic scales.
 * Returns a bound B on max |w_i| (used for the comparison tolerance). */
static float make_weights(cllm_type t, void *dst, int64_t n) {
    const cllm_type_traits *tr = cllm_type_get_traits(t);
    const int64_t nb = n / tr->blck_size;
    uint8_t *p = dst;
    for (uint64_t i = 0; i < cllm_type_row_size(t, n); i++) p[i] = (uint8_t)rnd_u32();
    switch (t) {
    case CLLM_TYPE_F32: {
        float *f = dst;
        for (int64_t i = 0; i < n; i++) f[i] = rnd_normal() * 0.05f;
        return 0.2f;
    }
    case CLLM_TYPE_F16: {
        cllm_fp16 *h = dst;
        for (int64_t i = 0; i < n; i++) h[i] = cllm_fp32_to_fp16(rnd_normal() * 0.05f);
        return 0.2f;
    }
    case CLLM_TYPE_BF16: {
        cllm_bf16 *h = dst;
        for (int64_t i = 0; i < n; i++) h[i] = cllm_fp32_to_bf16(rnd_normal() * 0.05f);
        return 0.2f;
    }
#define SET_D(T, ...)                                                          \
    {                                                                          \
        T *blk = dst;                                                          \
        for (int64_t b = 0; b < nb; b++) { __VA_ARGS__; }                      \
    }
    case CLLM_TYPE_Q4_0: SET_D(cllm_block_q4_0, blk[b].d = rnd_scale()) return 0.031f * 8;
    case CLLM_TYPE_Q4_1: SET_D(cllm_block_q4_1, blk[b].d = rnd_scale(); blk[b].m = cllm_fp32_to_fp16(-0.1f * rnd_uniform())) return 0.031f * 16 + 0.1f;
    case CLLM_TYPE_Q5_0: SET_D(cllm_block_q5_0, blk[b].d = rnd_scale()) return 0.031f * 16;
    case CLLM_TYPE_Q5_1: SET_D(cllm_block_q5_1, blk[b].d = rnd_scale(); blk[b].m = cllm_fp32_to_fp16(-0.1f * rnd_uniform())) return 0.031f * 32 + 0.1f;
    case CLLM_TYPE_Q8_0: SET_D(cllm_block_q8_0, blk[b].d = rnd_scale()) return 0.031f * 128;
    case CLLM_TYPE_IQ4_NL: SET_D(cllm_block_iq4_nl, blk[b].d = rnd_scale()) return 0.031f * 127;
    case CLLM_TYPE_Q2_K: SET_D(cllm_block_q2_K, blk[b].d = rnd_scale(); blk[b].dmin = rnd_scale()) return 0.031f * 15 * 3 + 0.031f * 15;
    case CLLM_TYPE_Q3_K: SET_D(cllm_block_q3_K, blk[b].d = rnd_scale()) return 0.031f * 32 * 4;
    case CLLM_TYPE_Q4_K: SET_D(cllm_block_q4_K, blk[b].d = rnd_scale(); blk[b].dmin = rnd_scale()) return 0.031f * 63 * 15 + 0.031f * 63;
    case CLLM_TYPE_Q5_K: SET_D(cllm_block_q5_K, blk[b].d = rnd_scale(); blk[b].dmin = rnd_scale()) return 0.031f * 63 * 31 + 0.031f * 63;
    case CLLM_TYPE_Q6_K: SET_D(cllm_block_q6_K, blk[b].d = rnd_scale()) return 0.031f * 128 * 32;
    case CLLM_TYPE_IQ4_XS: SET_D(cllm_block_iq4_xs, blk[b].d = rnd_scale()) return 0.031f * 32 * 127;
#undef SET_D
    default: return 0.0f;
    }
}

static const cllm_type g_wtypes[] = {
    CLLM_TYPE_F32,  CLLM_TYPE_F16,  CLLM_TYPE_BF16, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_1,
    CLLM_TYPE_Q5_0, CLLM_TYPE_Q5_1, CLLM_TYPE_Q8_0, CLLM_TYPE_IQ4_NL, CLLM_TYPE_Q2_K,
    CLLM_TYPE_Q3_K, CLLM_TYPE_Q4_K, CLLM_TYPE_Q5_K, CLLM_TYPE_Q6_K, CLLM_TYPE_IQ4_XS,
};
#define N_WTYPES ((int)(sizeof g_wtypes / sizeof g_wtypes[0]))

/* Compare table k against the scalar reference: from_float bytewise for
 * every activation type; vec_dot within 1e-5 * sum|w_i a_i| of the scalar
 * result, and the scalar result within the same bound of the float64 dot of
 * the dequantized operands (src/quant's dequantizers). */
static void compare_table(const cllm_kernels *k) {
    const cllm_kernels *ref = cllm_kernels_scalar();
    const int64_t lens32[] = {32, 64, 256, 512, 4096};
    const int64_t lens256[] = {256, 512, 4096};
    enum { MAXN = 4096, TRIALS = 12 };
    float *xf = malloc(MAXN * sizeof(float));
    uint8_t *w = malloc(MAXN * 8), *a1 = malloc(MAXN * 8), *a2 = malloc(MAXN * 8);

    /* from_float: every activation type, bytewise, including ties and zeros */
    const cllm_type acts[] = {CLLM_TYPE_F32, CLLM_TYPE_F16, CLLM_TYPE_BF16, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_1, CLLM_TYPE_Q8_K};
    for (size_t ai = 0; ai < sizeof acts / sizeof acts[0]; ai++) {
        const cllm_type at = acts[ai];
        int bad = 0, runs = 0;
        for (int trial = 0; trial < 40; trial++) {
            int64_t n = trial < 20 ? 4096 : 256 * (1 + trial % 4);
            if (cllm_type_get_traits(at)->blck_size == 1) n -= trial % 9; /* float tails */
            for (int64_t i = 0; i < n; i++) {
                float v = rnd_normal() * (trial % 3 == 0 ? 1e-3f : 3.0f);
                if (trial % 5 == 1 && (i % 7) == 0) v = (float)((int)(rnd_u32() % 255) - 127) * 0.5f; /* .5 ties */
                if (trial % 5 == 2 && (i % 64) < 32) v = 0.0f;                                      /* zero blocks */
                if (trial % 5 == 3 && (i % 256) == 17) v = -fabsf(v) - 50.0f;                          /* negative max */
                xf[i] = v;
            }
            if (trial % 5 == 4) { /* a block whose max is tied +-amax: first wins */
                xf[5] = 9.0f;
                xf[200] = -9.0f;
            }
            const uint64_t sz = cllm_type_row_size(at, n);
            uint8_t *o1 = malloc(sz), *o2 = malloc(sz); /* exact size: ASan sees overruns */
            float *xe = malloc((size_t)n * sizeof(float));
            memcpy(xe, xf, (size_t)n * sizeof(float));
            memset(o1, 0xAA, sz);
            memset(o2, 0x55, sz);
            ref->from_float[at](xe, o1, n);
            k->from_float[at](xe, o2, n);
            runs++;
            if (memcmp(o1, o2, sz) != 0) bad++;
            free(o1);
            free(o2);
            free(xe);
        }
        CHECK(bad == 0, "%s from_float %s: %d of %d rows differ from scalar", k->name, cllm_type_name(at), bad, runs);
        printf("  %-7s from_float %-6s %s (%d rows bytewise)\n", k->name, cllm_type_name(at), bad ? "DIFFERS" : "identical", runs);
    }

    float *wd = malloc(MAXN * sizeof(float)), *ad = malloc(MAXN * sizeof(float));
    for (int ti = 0; ti < N_WTYPES; ti++) {
        const cllm_type t = g_wtypes[ti];
        const cllm_type at = ref->type[t].act_type;
        const int64_t bsz = cllm_type_get_traits(t)->blck_size;
        const bool k256 = bsz == QK_K;
        const int64_t lens1[] = {7, 32, 100, 513, 4096}; /* float types: odd tails too */
        const int64_t *lens = k256 ? lens256 : bsz == 1 ? lens1 : lens32;
        const int nlens = k256 ? 3 : 5;
        double worst = 0.0, worst_ref = 0.0;
        int fails = 0, fails_ref = 0, cases = 0;
        CHECK(k->type[t].vec_dot != NULL && k->type[t].act_type == at, "%s slot %s", k->name, cllm_type_name(t));
        for (int li = 0; li < nlens; li++) {
            const int64_t n = lens[li];
            for (int trial = 0; trial < TRIALS; trial++) {
                (void)make_weights(t, w, n);
                for (int64_t i = 0; i < n; i++) xf[i] = rnd_normal() * (trial & 1 ? 0.3f : 4.0f);
                ref->from_float[at](xf, a1, n);
                /* float64 truth from the dequantized operands (src/quant) */
                CHECK(cllm_quant_dequantize_row(t, w, wd, n) && cllm_quant_dequantize_row(at, a1, ad, n),
                      "dequantize %s/%s", cllm_type_name(t), cllm_type_name(at));
                double exact = 0.0, mag = 0.0, extra = 0.0;
                for (int64_t i = 0; i < n; i++) {
                    exact += (double)wd[i] * ad[i];
                    mag += fabs((double)wd[i] * ad[i]);
                }
                /* Q4_1/Q5_1 use Q8_1's s = fp16(d * sum q) for the min term,
                 * an approximation of m * sum(a) to fp16 precision. */
                if (t == CLLM_TYPE_Q4_1 || t == CLLM_TYPE_Q5_1) {
                    const cllm_block_q8_1 *yb = (const cllm_block_q8_1 *)a1;
                    for (int64_t b = 0; b < n / 32; b++) {
                        const cllm_fp16 m = t == CLLM_TYPE_Q4_1 ? ((const cllm_block_q4_1 *)w)[b].m
                                                                : ((const cllm_block_q5_1 *)w)[b].m;
                        extra += fabs(cllm_fp16_to_fp32(m) * cllm_fp16_to_fp32(yb[b].s)) * 1e-3;
                    }
                }
                /* exact-size copies, so that ASan sees any read past a row */
                const size_t wsz = cllm_type_row_size(t, n), asz = cllm_type_row_size(at, n);
                uint8_t *we = malloc(wsz), *ae = malloc(asz);
                memcpy(we, w, wsz);
                memcpy(ae, a1, asz);
                float s_ref = 0.0f, s_k = 0.0f;
                ref->type[t].vec_dot(n, &s_ref, we, ae);
                k->type[t].vec_dot(n, &s_k, we, ae);
                free(we);
                free(ae);
                const double tol = 1e-5 * mag + 1e-30;
                const double err = fabs((double)s_ref - (double)s_k);
                const double err_ref = fabs((double)s_ref - exact);
                if (err / tol > worst) worst = err / tol;
                if (err_ref / (tol + extra) > worst_ref) worst_ref = err_ref / (tol + extra);
                cases++;
                if (!(err <= tol)) {
                    fails++;
                    if (fails <= 3)
                        fprintf(stderr, "  %s %s n=%lld: scalar %.9g vs %.9g (err %.3g, tol %.3g)\n", k->name,
                                cllm_type_name(t), (long long)n, s_ref, s_k, err, tol);
                }
                if (!(err_ref <= tol + extra)) {
                    fails_ref++;
                    if (fails_ref <= 3)
                        fprintf(stderr, "  scalar %s n=%lld: %.9g vs float64 %.9g (err %.3g, tol %.3g)\n",
                                cllm_type_name(t), (long long)n, s_ref, exact, err_ref, tol + extra);
                }
            }
        }
        CHECK(fails == 0, "%s vec_dot %s: %d of %d cases out of tolerance", k->name, cllm_type_name(t), fails, cases);
        CHECK(fails_ref == 0, "scalar vec_dot %s vs float64: %d of %d cases out of tolerance", cllm_type_name(t),
              fails_ref, cases);
        printf("  %-7s vec_dot %-6s x %-5s %s: %d cases, worst |%s-scalar|/tol %.3g, worst |scalar-float64|/tol %.3g\n",
               k->name, cllm_type_name(t), cllm_type_name(at), fails || fails_ref ? "FAIL" : "ok", cases, k->name,
               worst, worst_ref);
    }
    free(wd);
    free(ad);
    free(xf);
    free(w);
    free(a1);
    free(a2);
}

/* Tiles: cllm_cpu_vec_dot_tile (the slot's tile kernel or the vec_dot loop)
 * against vec_dot per pair, for ragged tile shapes. */
static void compare_tiles(const cllm_kernels *k) {
    enum { NR = 9, NC = 7 };
    const int nrs[] = {1, 3, 4, 5, 9}, ncs[] = {1, 2, 4, 5, 7};
    for (int ti = 0; ti < N_WTYPES; ti++) {
        const cllm_type t = g_wtypes[ti];
        const cllm_type at = k->type[t].act_type;
        const int64_t bs = cllm_type_get_traits(t)->blck_size;
        const int64_t n = bs == QK_K ? 512 : bs == 32 ? 96 : 100; /* 100: float tails */
        const size_t ws = cllm_type_row_size(t, n), as = cllm_type_row_size(at, n);
        uint8_t *w = malloc(ws * NR), *a = malloc(as * NC);
        float *x = malloc(n * sizeof(float)), *wd = malloc(n * sizeof(float)), *ad = malloc(n * sizeof(float));
        float s[NC * 16];
        int bad = 0, cases = 0;
        for (int r = 0; r < NR; r++) (void)make_weights(t, w + r * ws, n);
        for (int c = 0; c < NC; c++) {
            for (int64_t i = 0; i < n; i++) x[i] = rnd_normal() * 2.0f;
            k->from_float[at](x, a + c * as, n);
        }
        for (size_t a1 = 0; a1 < sizeof nrs / sizeof nrs[0]; a1++)
            for (size_t a2 = 0; a2 < sizeof ncs / sizeof ncs[0]; a2++) {
                const int nr = nrs[a1], nc = ncs[a2];
                const int64_t lds = 16;
                for (int i = 0; i < NC * 16; i++) s[i] = -12345.0f;
                cllm_cpu_vec_dot_tile(k, t, n, nr, nc, s, lds, w, ws, a, as);
                for (int c = 0; c < NC; c++)
                    for (int r = 0; r < 16; r++) {
                        const float got = s[c * lds + r];
                        if (c >= nc || r >= nr) {
                            if (got != -12345.0f) bad++; /* wrote outside the tile */
                            continue;
                        }
                        float ref = 0.0f;
                        k->type[t].vec_dot(n, &ref, w + r * ws, a + c * as);
                        cllm_quant_dequantize_row(t, w + r * ws, wd, n);
                        cllm_quant_dequantize_row(at, a + c * as, ad, n);
                        double mag = 0.0;
                        for (int64_t i = 0; i < n; i++) mag += fabs((double)wd[i] * ad[i]);
                        cases++;
                        if (!(fabs((double)got - ref) <= 1e-5 * mag + 1e-30)) {
                            if (bad < 3)
                                fprintf(stderr, "  tile %s %s %dx%d [%d,%d]: %.9g vs vec_dot %.9g\n", k->name,
                                        cllm_type_name(t), nr, nc, r, c, got, ref);
                            bad++;
                        }
                    }
            }
        CHECK(bad == 0, "%s tile %s: %d of %d entries wrong", k->name, cllm_type_name(t), bad, cases);
        if (k->type[t].vec_dot_tile)
            printf("  %-7s tile    %-6s %s (%d entries, shapes 1..9 x 1..7)\n", k->name, cllm_type_name(t),
                   bad ? "FAIL" : "ok", cases);
        free(w);
        free(a);
        free(x);
        free(wd);
        free(ad);
    }
}

/* The table's SwiGLU against the scalar reference (libm expf): inputs over
 * the whole useful range plus the extremes (-150, +-200, 0, the clamps), odd lengths for
 * the tails, and y aliasing g as the engine uses it. */
static void compare_swiglu(const cllm_kernels *k) {
    enum { N = 1029 };
    static float g[N], u[N], y[N], r[N];
    for (int i = 0; i < N; i++) {
        g[i] = (rnd_uniform() - 0.5f) * 40.0f;
        u[i] = rnd_normal();
    }
    g[0] = -150.0f;
    g[1] = -200.0f;
    g[2] = 200.0f;
    g[3] = 0.0f;
    g[4] = -87.5f;
    g[5] = 88.5f;
    const int lens[] = {N, 1, 7, 15, 17, 33};
    int bad = 0;
    double worst = 0.0;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int n = lens[li];
        cllm_cpu_swiglu_ref(n, g, u, r);
        memcpy(y, g, sizeof(float) * (size_t)n);
        k->swiglu(n, y, u, y);   /* in place over g's copy */
        for (int i = 0; i < n; i++) {
            const double e = fabs((double)y[i] - (double)r[i]);
            const double tol = 4e-7 * fabs((double)r[i]) + 1e-30;
            if (e > worst && fabs(r[i]) > 0) worst = e / fabs((double)r[i]);
            if (!(e <= tol) && !(isnan(r[i]) && isnan(y[i]))) {
                if (bad++ < 5) printf("    swiglu %s n=%d i=%d g=%g: %g vs ref %g\n", k->name, n, i, g[i], y[i], r[i]);
            }
        }
    }
    CHECK(bad == 0, "%s swiglu matches the scalar reference within 4e-7 relative (worst %.2e, %d bad)", k->name, worst,
          bad);
}

int main(void) {
    test_detect_dispatch();
    test_scalar_basics();
    const cllm_kernels *tables[] = {cllm_kernels_avx2(), cllm_kernels_avx512(), cllm_kernels_avx512_zmm(),
                                    cllm_kernels_neon()};
    const char *names[] = {"avx2", "avx512", "avx512z", "neon"};
    compare_table(cllm_kernels_scalar()); /* validates the reference itself */
    for (int i = 0; i < 4; i++) {
        if (!tables[i]) {
            printf("  %-7s not available on this CPU/build\n", names[i]);
            continue;
        }
        compare_table(tables[i]);
        compare_tiles(tables[i]);
        compare_swiglu(tables[i]);
    }
    compare_tiles(cllm_kernels_scalar());
    return test_finish();
}
