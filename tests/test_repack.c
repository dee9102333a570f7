/* test_repack.c: the repacked-weight GEMM (cpu/repack.h): for Q4_0, Q8_0,
 * Q4_K and Q6_K weights with random quants and scales, repack them, run
 * every available table's gemm_rp (scalar reference, AVX2, AVX-512 VNNI)
 * and, on x86, both variants of the AVX2 one (plain AVX2 and AVX-VNNI,
 * whichever the table chose) over 1..35 activation rows (two 16-row
 * register blocks and tails), and compare each
 * output with the plain scalar vec_dot of the original rows; the same for
 * every table's gemm_rpx (activations packed in 16-token tiles, Q8_0 or
 * Q8_K, repack.h) over nc = 1..35 (whole tiles, pairs of tiles, tails).
 * Integer sums are exact, so only float rounding differs. Also checks the
 * repack layout round trip (bytes land where repack.h says). */
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/repack.h"
#include "quant/blocks.h"
#include "quant/quants.h"
#include "testutil.h"
#if defined(CLLM_ARCH_X86)
#include "cpu/avx2/avx2_impl.h"   /* both variants of the AVX2 gemm_rp */
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t g_rng = 12345u;
static uint32_t rnd(void) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return g_rng >> 8;
}
static float frand(void) { return (float)(rnd() & 0xFFFF) / 65536.0f; } /* [0,1) */

static size_t row_size(cllm_type t, int64_t ne0) {
    if (t == CLLM_TYPE_Q6_K) return (size_t)(ne0 / 256) * sizeof(cllm_block_q6_K);
    return t == CLLM_TYPE_Q4_K ? (size_t)(ne0 / 256) * sizeof(cllm_block_q4_K)
           : (size_t)(ne0 / 32) * (t == CLLM_TYPE_Q4_0 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0));
}

static const char *tname(cllm_type t) {
    return t == CLLM_TYPE_Q4_0 ? "q4_0" : t == CLLM_TYPE_Q8_0 ? "q8_0" : t == CLLM_TYPE_Q4_K ? "q4_K" : "q6_K";
}

static void fill_weights(cllm_type t, int64_t ne0, int64_t ne1, uint8_t *w) {
    if (t == CLLM_TYPE_Q6_K) {   /* random bits, signed scales, small d */
        cllm_block_q6_K *b = (cllm_block_q6_K *)w;
        for (int64_t i = 0; i < ne0 / 256 * ne1; i++) {
            for (int j = 0; j < 128; j++) b[i].ql[j] = (uint8_t)rnd();
            for (int j = 0; j < 64; j++) b[i].qh[j] = (uint8_t)rnd();
            for (int j = 0; j < 16; j++) b[i].scales[j] = (int8_t)((int)(rnd() % 255) - 127);
            b[i].d = cllm_fp32_to_fp16(0.0002f + 0.001f * frand());
        }
        return;
    }
    if (t == CLLM_TYPE_Q4_K) {   /* random scales/mins bytes and nibbles, small d/dmin */
        cllm_block_q4_K *b = (cllm_block_q4_K *)w;
        for (int64_t i = 0; i < ne0 / 256 * ne1; i++) {
            b[i].d = cllm_fp32_to_fp16(0.0005f + 0.002f * frand());
            b[i].dmin = cllm_fp32_to_fp16(0.0005f + 0.002f * frand());
            for (int j = 0; j < 12; j++) b[i].scales[j] = (uint8_t)rnd();
            for (int j = 0; j < 128; j++) b[i].qs[j] = (uint8_t)rnd();
        }
        return;
    }
    const int64_t nb = ne0 / 32;
    const size_t bs = t == CLLM_TYPE_Q4_0 ? sizeof(cllm_block_q4_0) : sizeof(cllm_block_q8_0);
    for (int64_t i = 0; i < nb * ne1; i++) {
        uint8_t *b = w + (size_t)i * bs;
        const cllm_fp16 d = cllm_fp32_to_fp16(0.001f + 0.02f * frand());
        memcpy(b, &d, 2);
        for (size_t j = 2; j < bs; j++) {
            /* Q8_0 quantization never writes -128, but a file may hold it and
             * the kernels must stay exact: make it common (1 in 16) */
            uint8_t v = (uint8_t)rnd();
            if (t == CLLM_TYPE_Q8_0 && (v & 15) == 0) v = 0x80;
            b[j] = v;
        }
    }
}

static void check_type(cllm_type t, int64_t ne0, int64_t ne1) {
    const int64_t nb = ne0 / 32;
    const size_t row_bytes = row_size(t, ne0);
    const size_t gbytes = cllm_repack_group_bytes(t, ne0);
    CHECK(cllm_repack_supported(t, ne0, ne1), "supported %d %lld x %lld", (int)t, (long long)ne0, (long long)ne1);
    uint8_t *w = malloc(row_bytes * (size_t)ne1), *rp = malloc(gbytes * (size_t)(ne1 / CLLM_RP_ROWS));
    fill_weights(t, ne0, ne1, w);
    cllm_repack_rows(t, ne0, ne1, w, rp);
    /* layout: row 5 of the last group, block 2: scale and element 4*1+3 */
    if (t != CLLM_TYPE_Q4_K && t != CLLM_TYPE_Q6_K) {
        const size_t g0 = (size_t)(ne1 - CLLM_RP_ROWS);
        const uint8_t *ob = w + (g0 + 5) * row_bytes + 2 * (row_bytes / (size_t)nb);
        const uint8_t *gb = rp + g0 * row_bytes + 2 * CLLM_RP_ROWS * (row_bytes / (size_t)nb);
        CHECK(memcmp(ob, gb + 2 * 5, 2) == 0, "scale placement");
        const uint8_t want = t == CLLM_TYPE_Q4_0 ? ob[2 + 7] : (uint8_t)(ob[2 + 7] ^ 0x80);
        CHECK(gb[32 + 64 * 1 + 4 * 5 + 3] == want, "quant placement");
    }
    enum { NTOK = 35 };   /* > 2 register blocks of 16 activation rows, plus a tail */
    const cllm_type at = t == CLLM_TYPE_Q4_K || t == CLLM_TYPE_Q6_K ? CLLM_TYPE_Q8_K : CLLM_TYPE_Q8_0;
    const size_t arow = at == CLLM_TYPE_Q8_K ? (size_t)(ne0 / 256) * sizeof(cllm_block_q8_K)
                                             : (size_t)nb * sizeof(cllm_block_q8_0);
    float *x = malloc(sizeof(float) * (size_t)ne0);
    uint8_t *a = malloc(arow * NTOK);
    cllm_rp_aux *aux = malloc(sizeof(cllm_rp_aux) * (size_t)(nb * NTOK));
    for (int c = 0; c < NTOK; c++) {
        for (int64_t i = 0; i < ne0; i++) x[i] = (frand() - 0.5f) * (c % 3 == 0 ? 4.0f : 1.0f);
        if (at == CLLM_TYPE_Q8_K) {
            cllm_quantize_row_q8_K(x, a + (size_t)c * arow, ne0);
            cllm_cpu_rp_aux_row_q8_K(a + (size_t)c * arow, ne0, aux + (int64_t)c * nb);
        } else {
            cllm_quantize_row_q8_0(x, a + (size_t)c * arow, ne0);
            cllm_cpu_rp_aux_row(a + (size_t)c * arow, ne0, aux + (int64_t)c * nb);
        }
    }
    const cllm_kernels *sc = cllm_kernels_scalar();
    float *ref = malloc(sizeof(float) * (size_t)(ne1 * NTOK));
    float maxabs = 0;
    for (int c = 0; c < NTOK; c++)
        for (int64_t r = 0; r < ne1; r++) {
            sc->type[t].vec_dot(ne0, &ref[c * ne1 + r], w + (size_t)r * row_bytes, a + (size_t)c * arow);
            maxabs = fmaxf(maxabs, fabsf(ref[c * ne1 + r]));
        }
    const cllm_kernels *tables[] = {cllm_kernels_scalar(), cllm_kernels_avx2(), cllm_kernels_avx512(),
                                    cllm_kernels_avx512_zmm(), cllm_kernels_neon()};
    /* every table's slot, plus both AVX2-table variants whichever it chose */
    struct { const char *name; cllm_gemm_rp_fn fn; } runs[8];
    int nrun = 0;
    for (size_t ti = 0; ti < sizeof tables / sizeof tables[0]; ti++)
        if (tables[ti] && tables[ti]->type[t].gemm_rp) {
            runs[nrun].name = tables[ti]->name;
            runs[nrun++].fn = tables[ti]->type[t].gemm_rp;
        }
#if defined(CLLM_ARCH_X86)
    if (cllm_kernels_avx2()) {
        CHECK(cllm_cpu_avx2_gemm_rp(t, false) != NULL, "avx2 gemm_rp %s exists", tname(t));
        runs[nrun].name = "avx2-plain";
        runs[nrun++].fn = cllm_cpu_avx2_gemm_rp(t, false);
        if (cllm_cpu_features_get()->avxvnni) {
            runs[nrun].name = "avx2-avxvnni";
            runs[nrun++].fn = cllm_cpu_avx2_gemm_rp(t, true);
        } else {
            printf("  (no AVX-VNNI on this CPU: avx2-avxvnni not checked)\n");
        }
    }
#endif
    float *out = malloc(sizeof(float) * (size_t)(ne1 * NTOK));
    for (int ri = 0; ri < nrun; ri++) {
        const char *kname = runs[ri].name;
        const cllm_gemm_rp_fn gemm = runs[ri].fn;
        if (!gemm) {
            CHECK(0, "%s gemm_rp %s missing", kname, tname(t));
            continue;
        }
        for (int nc = 1; nc <= NTOK; nc += (nc < 17 ? 1 : 6)) {
            for (size_t i = 0; i < (size_t)(ne1 * NTOK); i++) out[i] = NAN;
            for (int64_t g = 0; g < ne1 / CLLM_RP_ROWS; g++)
                gemm(ne0, nc, out + g * CLLM_RP_ROWS, ne1, rp + (size_t)g * gbytes, a, arow, aux, nb);
            float worst = 0;
            for (int c = 0; c < nc; c++)
                for (int64_t r = 0; r < ne1; r++) {
                    const float d = fabsf(out[c * ne1 + r] - ref[c * ne1 + r]);
                    worst = isnan(d) ? INFINITY : fmaxf(worst, d);
                }
            CHECK(worst <= 1e-5f * maxabs, "%s %s n=%lld nc=%d: max diff %g (max |ref| %g)", kname, tname(t),
                  (long long)ne0, nc, worst, maxabs);
            /* columns >= nc untouched */
            if (nc < NTOK) CHECK(isnan(out[nc * ne1]), "%s wrote past nc=%d", kname, nc);
        }
        printf("  %-12s gemm_rp %s %lldx%lld: checked\n", kname, tname(t), (long long)ne0, (long long)ne1);
    }
    /* gemm_rpx: the same products from activations packed in 16-token tiles
     * (packed anew for each nc: the tail tile's layout depends on it) */
    uint8_t *xp = malloc((size_t)NTOK * cllm_rpx_tok_bytes(at, ne0));
    CHECK(sc->type[t].gemm_rpx != NULL, "scalar gemm_rpx %s exists", tname(t));
    struct { const char *name; cllm_gemm_rpx_fn fn; } xruns[8];
    int nxrun = 0;
    for (size_t ti = 0; ti < sizeof tables / sizeof tables[0]; ti++)
        if (tables[ti] && tables[ti]->type[t].gemm_rpx) {
            xruns[nxrun].name = tables[ti]->name;
            xruns[nxrun++].fn = tables[ti]->type[t].gemm_rpx;
        }
#if defined(CLLM_ARCH_X86)
    if (at == CLLM_TYPE_Q8_0 && cllm_kernels_avx2()) {   /* AVX2 has gemm_rpx for Q4_0/Q8_0 only */
        CHECK(cllm_cpu_avx2_gemm_rpx(t, false) != NULL, "avx2 gemm_rpx %s exists", tname(t));
        xruns[nxrun].name = "avx2-plain";
        xruns[nxrun++].fn = cllm_cpu_avx2_gemm_rpx(t, false);
        if (cllm_cpu_features_get()->avxvnni) {
            xruns[nxrun].name = "avx2-avxvnni";
            xruns[nxrun++].fn = cllm_cpu_avx2_gemm_rpx(t, true);
        }
    }
#endif
    for (int xi = 0; xi < nxrun; xi++) {
        const char *kname = xruns[xi].name;
        const cllm_gemm_rpx_fn gemmx = xruns[xi].fn;
        if (!gemmx) {
            CHECK(0, "%s gemm_rpx %s missing", kname, tname(t));
            continue;
        }
        for (int nc = 1; nc <= NTOK; nc++) {
            for (int c = 0; c < nc; c++) {
                if (at == CLLM_TYPE_Q8_K) cllm_rpx_pack_row_q8_K(a + (size_t)c * arow, ne0, c, nc, xp);
                else cllm_rpx_pack_row(a + (size_t)c * arow, ne0, c, nc, xp);
            }
            for (size_t i = 0; i < (size_t)(ne1 * NTOK); i++) out[i] = NAN;
            for (int64_t g = 0; g < ne1 / CLLM_RP_ROWS; g++)
                gemmx(ne0, nc, out + g * CLLM_RP_ROWS, ne1, rp + (size_t)g * gbytes, xp);
            float worst = 0;
            for (int c = 0; c < nc; c++)
                for (int64_t r = 0; r < ne1; r++) {
                    const float d = fabsf(out[c * ne1 + r] - ref[c * ne1 + r]);
                    worst = isnan(d) ? INFINITY : fmaxf(worst, d);
                }
            CHECK(worst <= 1e-5f * maxabs, "%s gemm_rpx %s n=%lld nc=%d: max diff %g (max |ref| %g)", kname,
                  tname(t), (long long)ne0, nc, worst, maxabs);
            if (nc < NTOK) CHECK(isnan(out[nc * ne1]), "%s gemm_rpx wrote past nc=%d", kname, nc);
        }
        printf("  %-12s gemm_rpx %s %lldx%lld: checked\n", kname, tname(t), (long long)ne0, (long long)ne1);
    }
    free(xp);
    free(out);
    free(ref);
    free(aux);
    free(a);
    free(x);
    free(rp);
    free(w);
}

int main(void) {
    CHECK(!cllm_repack_supported(CLLM_TYPE_Q5_K, 256, 16), "Q5_K has no layout");
    CHECK(!cllm_repack_supported(CLLM_TYPE_Q4_K, 128, 16), "Q4_K needs whole super-blocks");
    CHECK(!cllm_repack_supported(CLLM_TYPE_Q4_0, 64, 24), "rows must be a multiple of 16");
    CHECK(!cllm_repack_supported(CLLM_TYPE_Q8_0, 48, 16), "columns must be a multiple of 32");
    check_type(CLLM_TYPE_Q4_0, 256, 32);
    check_type(CLLM_TYPE_Q8_0, 256, 32);
    check_type(CLLM_TYPE_Q4_0, 2048, 48);
    check_type(CLLM_TYPE_Q8_0, 1024, 16);
    check_type(CLLM_TYPE_Q4_K, 256, 32);
    check_type(CLLM_TYPE_Q4_K, 2048, 16);
    check_type(CLLM_TYPE_Q6_K, 256, 32);
    check_type(CLLM_TYPE_Q6_K, 2048, 16);
    return test_finish();
}
