/* test_attn_kernels.c: the attention tile kernels (cllm_attn_kernels,
 * cpu/kernels.h) and the whole attention op built on them.
 *  (1) every SIMD table's kernels against the scalar references on random
 *      data: exp (relative error vs libm expf < 1e-6, zero for -inf and
 *      x < -87.3), K/V packing for F32/F16/Q8_0 (bit-exact, padding zeroed),
 *      Q K^T tiles, the online-softmax row update (masks, running state) and
 *      P V tiles, for odd row counts, chunk widths and head dims;
 *  (2) attention with each table (scalar, AVX2, AVX-512), with and without a
 *      visibility plan, against a naive reference (scores materialised, a
 *      softmax in double over the visible cells) with random multi-sequence
 *      cells and positions, free cells, tokens of several sequences and a
 *      token that sees nothing (zeros), for F32/F16/Q8_0 caches, n_kv not a
 *      multiple of the chunk, rows not a multiple of the tile, head dims 64,
 *      128, 80 and 40 (80/40 for F32/F16). */
#include "cllm.h"
#include "core/fp16.h"
#include "cpu/kernels_impl.h"
#include "ops/ops_cpu.h"
#include "quant/blocks.h"
#include "quant/quants.h"
#include "tensor/types.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 777;
static uint32_t urand(void) {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}
static float frand(void) { return (float)(urand() & 0xffff) / 32768.0f - 1.0f; }

static float relerr(double a, double b, double floor_) {
    return (float)(fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor_));
}

/* ------------------------------------------------------------ kernels */
static void test_exp(const char *name, const cllm_attn_kernels *k) {
    enum { N = 1003 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N), *r = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = -100.0f + 110.0f * (float)(urand() & 0xffffff) / 16777216.0f;
    const float special[] = {-INFINITY, -87.2f, -87.29f, -87.31f, -88.0f, -1e30f, 0.0f, -0.0f, -1e-8f, 1e-8f,
                             -0.34657f, 0.34657f, -0.5f, -1.0f, -20.0f, 10.0f, 88.0f};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[i] = special[i];
    cllm_cpu_attn_exp_ref(N, x, r);
    double worst = 0;
    int bad = 0;
    for (int n = N; n >= N - 15; n--) {   /* tails of every length */
        for (int i = 0; i < N; i++) y[i] = NAN;
        k->exp(n, x, y);
        for (int i = 0; i < n; i++) {
            if (x[i] < -87.3f) {
                bad += y[i] != 0.0f;
                continue;
            }
            const double e = fabs((double)y[i] - exp((double)x[i])) / exp((double)x[i]);
            if (e > worst) worst = e;
            bad += relerr(y[i], r[i], 1e-37) > 1e-6f;
        }
        for (int i = n; i < N; i++) bad += !isnan(y[i]);   /* nothing written past n */
    }
    CHECK(bad == 0 && worst < 1e-6, "%s exp: %d bad, worst rel err vs exp() %.3g", name, bad, worst);
    CHECK(r[0] == 0.0f && r[4] == 0.0f && r[6] == 1.0f, "ref exp specials");
    printf("%-7s exp: max rel err vs exp() %.2e\n", name, worst);
    /* in place */
    memcpy(y, x, sizeof(float) * N);
    k->exp(N, y, y);
    bad = 0;
    for (int i = 0; i < N; i++) bad += relerr(y[i], r[i], 1e-37) > 1e-6f;
    CHECK(bad == 0, "%s exp in place: %d bad", name, bad);
    free(x), free(y), free(r);
}

/* A fake KV buffer: ncell rows of row_bytes, head slice of hd elements of
 * type t at offset off; random values (F16/Q8_0 via the scalar converters). */
static char *make_kv(cllm_type t, int ncell, int hd, size_t *row_bytes) {
    const size_t hb = (size_t)cllm_type_row_size(t, hd);
    *row_bytes = 2 * hb + 6;   /* two heads and an odd gap: no alignment */
    char *b = malloc(*row_bytes * (size_t)ncell + 64);
    float *f = malloc(sizeof(float) * (size_t)hd);
    for (int j = 0; j < ncell; j++)
        for (int h = 0; h < 2; h++) {
            for (int d = 0; d < hd; d++) f[d] = frand() * 2.0f;
            char *dst = b + (size_t)j * *row_bytes + (size_t)h * hb;
            if (t == CLLM_TYPE_F32) memcpy(dst, f, sizeof(float) * (size_t)hd);
            else cllm_kernels_scalar()->from_float[t](f, dst, hd);
        }
    free(f);
    return b;
}

static void test_pack(const char *name, const cllm_attn_kernels *k) {
    const cllm_type types[] = {CLLM_TYPE_F32, CLLM_TYPE_F16, CLLM_TYPE_Q8_0};
    const int hds[] = {64, 128, 80, 40, 96, 8};
    const int ncs[] = {1, 7, 16, 33, 64};
    int bad = 0, cases = 0;
    for (int ti = 0; ti < 3; ti++)
        for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++) {
            const cllm_type t = types[ti];
            const int hd = hds[hi];
            if (t == CLLM_TYPE_Q8_0 && hd % QK8_0) continue;
            const int hdp = (hd + 15) / 16 * 16;
            size_t rb;
            char *kv = make_kv(t, 100, hd, &rb);
            const char *base = kv + (size_t)cllm_type_row_size(t, hd);   /* head 1 */
            for (size_t ni = 0; ni < sizeof ncs / sizeof ncs[0]; ni++) {
                const int nc = ncs[ni], ncp = (nc + 15) / 16 * 16;
                int32_t cid[64];
                for (int j = 0; j < nc; j++) cid[j] = (int32_t)(urand() % 100);
                float kt1[128 * 64], kt2[128 * 64], vc1[64 * 128], vc2[64 * 128];
                for (int i = 0; i < 128 * 64; i++) kt1[i] = kt2[i] = vc1[i] = vc2[i] = NAN;
                cllm_cpu_attn_k_pack_ref(t, hd, nc, base, rb, cid, kt1, 64);
                k->k_pack(t, hd, nc, base, rb, cid, kt2, 64);
                cllm_cpu_attn_v_pack_ref(t, hd, nc, base, rb, cid, vc1, hdp);
                k->v_pack(t, hd, nc, base, rb, cid, vc2, hdp);
                cases++;
                for (int d = 0; d < hd; d++)
                    for (int j = 0; j < ncp; j++) {
                        const float want = j < nc ? cllm_cpu_attn_elem(t, base + (size_t)cid[j] * rb, d) : 0.0f;
                        bad += kt1[d * 64 + j] != want || kt2[d * 64 + j] != want;
                    }
                for (int j = 0; j < nc; j++)
                    for (int d = 0; d < hdp; d++) {
                        const float want = d < hd ? cllm_cpu_attn_elem(t, base + (size_t)cid[j] * rb, d) : 0.0f;
                        bad += vc1[j * hdp + d] != want || vc2[j * hdp + d] != want;
                    }
                /* nothing written outside the tiles */
                for (int d = 0; d < hd; d++)
                    for (int j = ncp; j < 64; j++) bad += !isnan(kt2[d * 64 + j]);
                for (int i = nc * hdp; i < 64 * 128; i++) bad += !isnan(vc2[i]);
            }
            free(kv);
        }
    /* the values themselves: F16 element = fp16 -> fp32, Q8_0 = d * q */
    {
        cllm_fp16 h[16];
        for (int i = 0; i < 16; i++) h[i] = cllm_fp32_to_fp16(0.25f * (float)i - 1.0f);
        cllm_block_q8_0 q[1];
        q->d = cllm_fp32_to_fp16(0.5f);
        for (int i = 0; i < QK8_0; i++) q->qs[i] = (int8_t)(i - 16);
        bad += cllm_cpu_attn_elem(CLLM_TYPE_F16, (const char *)h, 5) != 0.25f;
        bad += cllm_cpu_attn_elem(CLLM_TYPE_Q8_0, (const char *)q, 3) != -6.5f;
    }
    CHECK(bad == 0, "%s k_pack/v_pack: %d mismatches over %d cases", name, bad, cases);
}

static void test_qk_pv(const char *name, const cllm_attn_kernels *k) {
    const int hds[] = {64, 128, 80, 40, 8};
    const int nrs[] = {1, 2, 3, 4, 5, 8, 13, 32};
    float *q = malloc(sizeof(float) * 32 * 136), *kt = malloc(sizeof(float) * 136 * 64);
    float *s1 = malloc(sizeof(float) * 32 * 64), *s2 = malloc(sizeof(float) * 32 * 64);
    float *vc = malloc(sizeof(float) * 64 * 136), *a1 = malloc(sizeof(float) * 32 * 136),
          *a2 = malloc(sizeof(float) * 32 * 136), *f = malloc(sizeof(float) * 32);
    double wq = 0, wp = 0;
    int bad = 0;
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
        for (size_t ri = 0; ri < sizeof nrs / sizeof nrs[0]; ri++)
            for (int ncp = 16; ncp <= 64; ncp += 16) {
                const int hd = hds[hi], nr = nrs[ri], hdp = (hd + 15) / 16 * 16, ldq = hdp + 8;
                for (int i = 0; i < 32 * 136; i++) q[i] = frand();
                for (int i = 0; i < 136 * 64; i++) kt[i] = frand();
                for (int i = 0; i < 32 * 64; i++) s1[i] = s2[i] = NAN;
                cllm_cpu_attn_qk_ref(hd, nr, ncp, q, ldq, kt, 64, 0.125f, s1, 64);
                k->qk(hd, nr, ncp, q, ldq, kt, 64, 0.125f, s2, 64);
                for (int r = 0; r < 32; r++)
                    for (int j = 0; j < 64; j++) {
                        const bool in = r < nr && j < ncp;
                        if (!in) {
                            bad += !isnan(s2[r * 64 + j]);
                            continue;
                        }
                        /* error bound: scale * sum |q||k| * ~hd eps */
                        double mag = 0;
                        for (int d = 0; d < hd; d++) mag += fabs(q[r * ldq + d] * kt[d * 64 + j]);
                        const double e = fabs((double)s1[r * 64 + j] - s2[r * 64 + j]) / (0.125 * mag);
                        if (e > wq) wq = e;
                    }
                /* P V with a partial chunk (nc <= ncp) */
                const int nc = ncp - (int)(urand() % 16);
                for (int i = 0; i < 64 * 136; i++) vc[i] = frand();
                for (int i = 0; i < 32 * 136; i++) a1[i] = a2[i] = frand();
                for (int r = 0; r < nr; r++) f[r] = r % 3 == 0 ? 1.0f : r % 3 == 1 ? 0.0f : 0.37f;
                for (int i = 0; i < 32 * 64; i++) s1[i] = (urand() % 4) ? (float)(urand() & 0xffff) / 65536.0f : 0.0f;
                cllm_cpu_attn_pv_ref(hdp, nr, nc, s1, 64, vc, hdp + 8, f, a1, hdp + 4);
                k->pv(hdp, nr, nc, s1, 64, vc, hdp + 8, f, a2, hdp + 4);
                for (int r = 0; r < 32; r++)
                    for (int d = 0; d < hdp + 4; d++) {
                        const int i = r * (hdp + 4) + d;
                        if (r >= nr || d >= hdp) {
                            bad += a1[i] != a2[i];   /* untouched */
                            continue;
                        }
                        const double e = fabs((double)a1[i] - a2[i]) / (double)(nc + 1);
                        if (e > wp) wp = e;
                    }
            }
    CHECK(bad == 0 && wq < 1e-6 && wp < 1e-6, "%s qk/pv: %d out-of-tile writes, qk err %.3g, pv err %.3g", name, bad,
          wq, wp);
    free(q), free(kt), free(s1), free(s2), free(vc), free(a1), free(a2), free(f);
}

static void test_softmax(const char *name, const cllm_attn_kernels *k) {
    int bad = 0;
    double worst = 0;
    for (int it = 0; it < 120; it++) {
        const int ncp = 16 * (1 + (int)(urand() % 4)), nr = 1 + (int)(urand() % 11), lds = 70;
        float s[11 * 70], s1[11 * 70], s2[11 * 70];
        uint64_t vis[11];
        float m1[11], l1[11], m2[11], l2[11], f1[11], f2[11];
        for (int i = 0; i < 11 * 70; i++) s[i] = frand() * 8.0f;
        for (int r = 0; r < nr; r++) {
            switch ((it + r) % 5) {
            case 0: vis[r] = ~0ull; break;
            case 1: vis[r] = 0; break;
            case 2: vis[r] = 1ull << (urand() % (unsigned)ncp); break;
            default: vis[r] = ((uint64_t)urand() << 40) ^ ((uint64_t)urand() << 20) ^ urand(); break;
            }
            const int st = (it / 5 + r) % 3;   /* running state: fresh, below, above the chunk's max */
            m1[r] = m2[r] = st == 0 ? -INFINITY : st == 1 ? -9.0f : 9.0f;
            l1[r] = l2[r] = st == 0 ? 0.0f : 3.5f;
        }
        memcpy(s1, s, sizeof s);
        memcpy(s2, s, sizeof s);
        cllm_cpu_attn_softmax_ref(nr, ncp, s1, lds, vis, m1, l1, f1);
        k->softmax(nr, ncp, s2, lds, vis, m2, l2, f2);
        for (int r = 0; r < nr; r++) {
            const float *a = s1 + r * lds, *b = s2 + r * lds;
            bool any = false;
            for (int j = 0; j < ncp; j++) any |= (vis[r] >> j) & 1;
            for (int j = ncp; j < lds; j++) bad += b[j] != s[r * lds + j];   /* untouched */
            if (!any) {
                bad += f1[r] != 1.0f || f2[r] != 1.0f || m2[r] != m1[r] || l2[r] != l1[r];
                for (int j = 0; j < ncp; j++) bad += a[j] != 0.0f || b[j] != 0.0f;
                continue;
            }
            bad += m1[r] != m2[r];
            for (int j = 0; j < ncp; j++) {
                if (!((vis[r] >> j) & 1)) {
                    bad += b[j] != 0.0f;
                    continue;
                }
                worst = fmax(worst, relerr(a[j], b[j], 1e-30));
            }
            worst = fmax(worst, relerr(f1[r], f2[r], 1e-30));
            worst = fmax(worst, relerr(l1[r], l2[r], 1e-30));
            if (isinf(m1[r]) && f2[r] != 0.0f) bad++;
        }
        for (int r = nr; r < 11; r++)
            for (int j = 0; j < lds; j++) bad += s2[r * lds + j] != s[r * lds + j];
    }
    CHECK(bad == 0 && worst < 2e-6, "%s softmax: %d bad, worst rel err %.3g", name, bad, worst);
}

/* ---------------------------------------------------- whole attention */
typedef struct scene {
    int n_kv, nt, nh, nkv, hd;
    int32_t *cpos, *tpos;
    uint64_t *cseq, *tseq;
    float *q;           /* [nt][nh*hd] */
    float *kf, *vf;     /* [n_kv][nkv*hd] */
} scene;

static void scene_make(scene *s, int n_kv, int nt, int nh, int nkv, int hd) {
    *s = (scene){n_kv, nt, nh, nkv, hd, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    s->cpos = malloc(sizeof(int32_t) * (size_t)n_kv);
    s->cseq = malloc(sizeof(uint64_t) * (size_t)n_kv);
    s->tpos = malloc(sizeof(int32_t) * (size_t)nt);
    s->tseq = malloc(sizeof(uint64_t) * (size_t)nt);
    int next[3] = {0, 0, 0};
    for (int j = 0; j < n_kv; j++) {
        const int r = (int)(urand() % 12);
        if (j < 10) {            /* a prefix shared by seqs 0, 1, 2 */
            s->cseq[j] = 7;
            s->cpos[j] = j;
            continue;
        }
        if (r == 11) {           /* free cell */
            s->cseq[j] = 0;
            s->cpos[j] = (int32_t)(urand() % 50) - 10;
            continue;
        }
        const int sq = r < 8 ? 0 : r - 8;   /* seq 0 dominates: long runs of full chunks */
        s->cseq[j] = 1ull << sq;
        s->cpos[j] = 10 + next[sq]++;
    }
    const uint64_t masks[] = {1, 1, 1, 2, 4, 1, 3, 32, 1, 2};
    for (int t = 0; t < nt; t++) {
        s->tseq[t] = masks[t % 10];
        /* positions around the top of the sequence: some cells above (masked by pos) */
        s->tpos[t] = 10 + (int32_t)(urand() % (unsigned)(next[0] + 5)) - 3;
    }
    const int64_t qd = (int64_t)nh * hd, kd = (int64_t)nkv * hd;
    s->q = malloc(sizeof(float) * (size_t)(nt * qd));
    s->kf = malloc(sizeof(float) * (size_t)(n_kv * kd));
    s->vf = malloc(sizeof(float) * (size_t)(n_kv * kd));
    for (int64_t i = 0; i < nt * qd; i++) s->q[i] = frand() * 3.0f;
    for (int64_t i = 0; i < n_kv * kd; i++) s->kf[i] = frand(), s->vf[i] = frand();
}

static void scene_free(scene *s) {
    free(s->cpos), free(s->cseq), free(s->tpos), free(s->tseq), free(s->q), free(s->kf), free(s->vf);
}

/* Naive reference on the cache as stored (dequantized) and the query rounded
 * through the cache type's activation type, in double. */
static void attn_naive(const scene *s, cllm_type kt, const float *kd, const float *vd, float *out) {
    const int hd = s->hd, group = s->nh / s->nkv;
    const int64_t KD = (int64_t)s->nkv * hd;
    const cllm_type act = cllm_kernels_scalar()->type[kt].act_type;
    float *qr = malloc(sizeof(float) * (size_t)hd);
    char *qa = malloc(sizeof(float) * (size_t)hd + 64);
    double *sc = malloc(sizeof(double) * (size_t)s->n_kv);
    for (int t = 0; t < s->nt; t++)
        for (int h = 0; h < s->nh; h++) {
            const float *q = s->q + ((int64_t)t * s->nh + h) * hd;
            if (act == CLLM_TYPE_F32) {
                memcpy(qr, q, sizeof(float) * (size_t)hd);
            } else {
                cllm_kernels_scalar()->from_float[act](q, qa, hd);
                cllm_quant_dequantize_row(act, qa, qr, hd);
            }
            const int g = h / group;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < s->n_kv; j++) {
                const bool vis = s->cseq[j] && !(s->tseq[t] & ~s->cseq[j]) && s->cpos[j] <= s->tpos[t];
                sc[j] = -INFINITY;
                if (!vis) continue;
                double d = 0;
                for (int i = 0; i < hd; i++) d += (double)qr[i] * kd[j * KD + g * hd + i];
                sc[j] = d / sqrt((double)hd);
                mx = fmax(mx, sc[j]);
            }
            for (int j = 0; j < s->n_kv; j++) {
                sc[j] = isinf(sc[j]) ? 0 : exp(sc[j] - mx);
                sum += sc[j];
            }
            float *o = out + ((int64_t)t * s->nh + h) * hd;
            for (int i = 0; i < hd; i++) {
                double v = 0;
                for (int j = 0; j < s->n_kv; j++)
                    if (sc[j] != 0) v += sc[j] * vd[j * KD + g * hd + i];
                o[i] = sum > 0 ? (float)(v / sum) : 0.0f;
            }
        }
    free(qr), free(qa), free(sc);
}

static void test_attention_vs_naive(void) {
    const cllm_kernels *tables[] = {cllm_kernels_scalar(), cllm_kernels_avx2(), cllm_kernels_avx512()};
    const struct { int n_kv, nt, nh, nkv, hd; } cfg[] = {
        {150, 9, 6, 2, 64},     /* 27 rows per kv head: one partial tile */
        {200, 13, 8, 1, 128},   /* 104 rows: 3 full tiles and a partial */
        {97, 5, 8, 2, 80},      /* head dim 80 (F32/F16) */
        {70, 4, 3, 3, 40},      /* no GQA, head dim 40 */
        {300, 1, 32, 4, 64},    /* decode: one token, 8 query heads per kv head */
        {130, 30, 6, 2, 64},    /* 90 rows per kv head: a token's 3 rows split across tiles */
    };
    cllm_ops_limits lim = {.n_threads = 2, .n_batch = 16, .max_row = 256, .n_ctx = 300, .head_dim = 128};
    cllm_ops_ctx *c = NULL;
    CHECK(cllm_ops_ctx_init(&lim, &c) == CLLM_OK, "ops ctx: %s", cllm_last_error());
    if (!c) return;
    const cllm_kernels *saved = c->kern;
    for (size_t ci = 0; ci < sizeof cfg / sizeof cfg[0]; ci++) {
        scene s;
        scene_make(&s, cfg[ci].n_kv, cfg[ci].nt, cfg[ci].nh, cfg[ci].nkv, cfg[ci].hd);
        const int64_t KD = (int64_t)s.nkv * s.hd, QD = (int64_t)s.nh * s.hd;
        cllm_attn_plan plan = {0};
        CHECK(cllm_attn_plan_build(&plan, s.nt, s.tpos, s.tseq, s.n_kv, s.cpos, s.cseq), "plan");
        const cllm_type types[] = {CLLM_TYPE_F32, CLLM_TYPE_F16, CLLM_TYPE_Q8_0};
        for (int ti = 0; ti < 3; ti++) {
            const cllm_type kt = types[ti];
            if (kt == CLLM_TYPE_Q8_0 && s.hd % QK8_0) continue;
            const size_t rb = (size_t)cllm_type_row_size(kt, KD);
            char *kb = malloc(rb * (size_t)s.n_kv), *vb = malloc(rb * (size_t)s.n_kv);
            float *kd = malloc(sizeof(float) * (size_t)(s.n_kv * KD)), *vd = malloc(sizeof(float) * (size_t)(s.n_kv * KD));
            for (int j = 0; j < s.n_kv; j++) {
                if (kt == CLLM_TYPE_F32) {
                    memcpy(kb + rb * j, s.kf + j * KD, rb);
                    memcpy(vb + rb * j, s.vf + j * KD, rb);
                } else {
                    cllm_kernels_scalar()->from_float[kt](s.kf + j * KD, kb + rb * j, KD);
                    cllm_kernels_scalar()->from_float[kt](s.vf + j * KD, vb + rb * j, KD);
                }
                cllm_quant_dequantize_row(kt, kb + rb * j, kd + j * KD, KD);
                cllm_quant_dequantize_row(kt, vb + rb * j, vd + j * KD, KD);
            }
            float *want = malloc(sizeof(float) * (size_t)(s.nt * QD)), *got = malloc(sizeof(float) * (size_t)(s.nt * QD));
            attn_naive(&s, kt, kd, vd, want);
            int zero_rows = 0;
            for (int t = 0; t < s.nt; t++) zero_rows += s.tseq[t] == 32;
            for (size_t ki = 0; ki < 3; ki++) {
                if (!tables[ki]) continue;
                c->kern = tables[ki];
                for (int use_plan = 0; use_plan < 2; use_plan++) {
                    for (int64_t i = 0; i < s.nt * QD; i++) got[i] = NAN;
                    cllm_attn_args a = {.q = s.q, .q_stride = QD, .out = got, .out_stride = QD, .n_tok = s.nt,
                                        .n_head = s.nh, .n_head_kv = s.nkv, .head_dim = s.hd,
                                        .scale = 1.0f / sqrtf((float)s.hd), .kv_type = kt, .k = kb, .v = vb,
                                        .kv_row_bytes = rb, .n_kv = s.n_kv, .cell_pos = s.cpos, .cell_seq = s.cseq,
                                        .tok_pos = s.tpos, .tok_seq = s.tseq, .plan = use_plan ? &plan : NULL};
                    cllm_ops_cpu()->attention(c, &a);
                    double w = 0, mag = 0;
                    int zeros = 0;
                    for (int t = 0; t < s.nt; t++) {
                        bool allz = true;
                        for (int64_t i = 0; i < QD; i++) {
                            const float g = got[t * QD + i], e = want[t * QD + i];
                            w = isnan(g) ? INFINITY : fmax(w, fabs((double)g - e));
                            mag = fmax(mag, fabs((double)e));
                            allz &= g == 0.0f;
                        }
                        if (s.tseq[t] == 32) zeros += allz;
                    }
                    CHECK(w <= 2e-6 * mag && mag > 0.01 && zeros == zero_rows,
                          "%s kv %s hd %d n_kv %d nt %d plan %d: max|d| %.3g (|o| %.3g), %d/%d zero rows",
                          tables[ki]->name, cllm_type_name(kt), s.hd, s.n_kv, s.nt, use_plan, w, mag, zeros, zero_rows);
                }
            }
            free(kb), free(vb), free(kd), free(vd), free(want), free(got);
        }
        cllm_attn_plan_free(&plan);
        scene_free(&s);
    }
    c->kern = saved;
    cllm_ops_ctx_free(c);
}

int main(void) {
    const cllm_kernels *tables[] = {cllm_kernels_scalar(), cllm_kernels_avx2(), cllm_kernels_avx512(),
                                    cllm_kernels_avx512_zmm(), cllm_kernels_neon()};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        const cllm_kernels *k = tables[i];
        if (!k) continue;
        const cllm_attn_kernels *a = &k->attn;
        CHECK(a->exp && a->k_pack && a->v_pack && a->qk && a->softmax && a->pv, "%s: attention slots filled", k->name);
        if (!(a->exp && a->k_pack && a->v_pack && a->qk && a->softmax && a->pv)) continue;
        test_exp(k->name, a);
        test_pack(k->name, a);
        test_qk_pv(k->name, a);
        test_softmax(k->name, a);
    }
    test_attention_vs_naive();
    return test_finish();
}
