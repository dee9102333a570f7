/* kbench.c: cllm-kbench, a single-threaded micro-benchmark of the CPU kernel
 * tables: for every weight type and every available ISA table, the time of
 * one matrix-vector product (rows x 2048 weight matrix times one activation
 * row, vec_dot per row) for rows = 2048 and 5632, reported as GB/s of weight
 * bytes read and as the speed-up over the scalar table; then the tile
 * kernels, and the GEMM on repacked weights (gemm_rp, cpu/repack.h) for 1,
 * 8 and 32 activation rows (GB/s of repacked bytes for 1, GMAC/s else).
 * Usage: cllm-kbench [ms-per-measurement (default 15)] [type-name ...] */
#include "core/core.h"
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/repack.h"
#if defined(CLLM_ARCH_X86)
#include "cpu/avx2/avx2_impl.h"   /* both AVX2 gemm_rp variants */
#endif
#include "quant/blocks.h"
#include "tensor/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 88172645463325252ULL;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

/* Random bytes with sane fp16 scales: every 16-bit field that could be a
 * scale gets a small value, so no inf/NaN slows the float paths down. */
static void fill_weights(cllm_type t, uint8_t *p, uint64_t bytes) {
    for (uint64_t i = 0; i < bytes; i++) p[i] = (uint8_t)rnd();
    if (t == CLLM_TYPE_F32) {
        float *f = (float *)p;
        for (uint64_t i = 0; i < bytes / 4; i++) f[i] = (float)((int)(rnd() % 2001) - 1000) * 1e-4f;
    } else if (t == CLLM_TYPE_F16 || t == CLLM_TYPE_BF16) {
        uint16_t *h = (uint16_t *)p;
        for (uint64_t i = 0; i < bytes / 2; i++) {
            const float v = (float)((int)(rnd() % 2001) - 1000) * 1e-4f;
            h[i] = t == CLLM_TYPE_F16 ? cllm_fp32_to_fp16(v) : cllm_fp32_to_bf16(v);
        }
    } else {
        /* Timing does not depend on the scale values except through
         * denormals/NaN; 0x2000 (~0.0078) everywhere fp16 scales can sit is
         * simplest: patch the whole row's 16-bit words with a sane exponent
         * where the top bits would make inf/NaN. */
        uint16_t *h = (uint16_t *)p;
        for (uint64_t i = 0; i < bytes / 2; i++)
            if ((h[i] & 0x7C00) == 0x7C00) h[i] &= 0xBFFF;
    }
}

static double bench_one(const cllm_kernels *k, cllm_type t, const uint8_t *w, const void *act, int64_t rows,
                        int64_t cols, double ms_budget, float *out) {
    const uint64_t rs = cllm_type_row_size(t, cols);
    cllm_vec_dot_fn dot = k->type[t].vec_dot;
    /* warm-up */
    for (int64_t r = 0; r < rows; r++) dot(cols, &out[r], w + r * rs, act);
    uint64_t best = UINT64_MAX, t_start = cllm_time_ns();
    int reps = 0;
    do {
        const uint64_t t0 = cllm_time_ns();
        for (int64_t r = 0; r < rows; r++) dot(cols, &out[r], w + r * rs, act);
        const uint64_t dt = cllm_time_ns() - t0;
        if (dt < best) best = dt;
        reps++;
    } while (reps < 2 || (double)(cllm_time_ns() - t_start) < ms_budget * 1e6);
    return (double)(rs * (uint64_t)rows) / (double)best; /* bytes per ns = GB/s */
}

int main(int argc, char **argv) {
    double ms = 15.0;
    int first_type_arg = 1;
    if (argc > 1 && atof(argv[1]) > 0) {
        ms = atof(argv[1]);
        first_type_arg = 2;
    }
    static const cllm_type types[] = {
        CLLM_TYPE_F32,  CLLM_TYPE_F16,  CLLM_TYPE_BF16, CLLM_TYPE_Q8_0, CLLM_TYPE_Q4_0,
        CLLM_TYPE_Q4_1, CLLM_TYPE_Q5_0, CLLM_TYPE_Q5_1, CLLM_TYPE_IQ4_NL, CLLM_TYPE_Q2_K,
        CLLM_TYPE_Q3_K, CLLM_TYPE_Q4_K, CLLM_TYPE_Q5_K, CLLM_TYPE_Q6_K, CLLM_TYPE_IQ4_XS,
    };
    const cllm_kernels *tables[] = {cllm_kernels_scalar(), cllm_kernels_avx2(), cllm_kernels_avx512(),
                                    cllm_kernels_avx512_zmm(), cllm_kernels_neon()};
    const int64_t cols = 2048, shapes[3] = {2048, 5632, 128};
    float *x = malloc(cols * sizeof(float));
    uint8_t *act = malloc(cols * 8);
    float *out = malloc(5632 * sizeof(float));
    for (int64_t i = 0; i < cols; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) * 1e-3f;
    printf("cllm-kbench: single thread, weight rows x %lld cols, one activation row; GB/s of weight bytes "
           "(x speed-up over scalar); %.0f ms per measurement\n", (long long)cols, ms);
    printf("%-7s %-6s", "type", "rows");
    for (int i = 0; i < 5; i++)
        if (tables[i]) printf(" %17s", tables[i]->name);
    printf("\n");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const cllm_type t = types[ti];
        if (argc > first_type_arg) {
            bool want = false;
            for (int a = first_type_arg; a < argc; a++) want |= cllm_type_from_name(argv[a]) == (int)t;
            if (!want) continue;
        }
        for (int si = 0; si < 3; si++) {
            const int64_t rows = shapes[si];
            const uint64_t bytes = cllm_type_row_size(t, cols) * (uint64_t)rows;
            uint8_t *w = cllm_amalloc(bytes);
            if (!w) return 1;
            fill_weights(t, w, bytes);
            printf("%-7s %-6lld", cllm_type_name(t), (long long)rows);
            double base = 0.0;
            for (int i = 0; i < 5; i++) {
                const cllm_kernels *k = tables[i];
                if (!k) continue;
                k->from_float[k->type[t].act_type](x, act, cols);
                const double gbs = bench_one(k, t, w, act, rows, cols, ms, out);
                if (i == 0) base = gbs;
                printf(" %7.2f (x%6.1f)", gbs, gbs / base);
                fflush(stdout);
            }
            printf("\n");
            cllm_afree(w);
        }
    }
    /* Tiles: 2048 x 2048 weights against 1 and 32 activation rows, in blocks
     * of 16 weight rows (as the matmul op does), vec_dot loop vs tile kernel.
     * Reported as weight bytes per ns for one activation row and as
     * giga multiply-adds per second for 32. */
    printf("\ntiles (2048 x 2048 weights, blocks of 16 rows): vec_dot loop -> tile kernel\n");
    printf("%-7s %-8s %-8s %26s %26s\n", "type", "table", "", "1 token: GB/s", "32 tokens: GMAC/s");
    enum { NTOK = 32 };
    uint8_t *acts = malloc((size_t)cols * 8 * NTOK);
    float *xs = malloc(sizeof(float) * cols * NTOK), *outs = malloc(sizeof(float) * 2048 * NTOK);
    for (int64_t i = 0; i < cols * NTOK; i++) xs[i] = (float)((int)(rnd() % 2001) - 1000) * 1e-3f;
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const cllm_type t = types[ti];
        if (argc > first_type_arg) {
            bool want = false;
            for (int a = first_type_arg; a < argc; a++) want |= cllm_type_from_name(argv[a]) == (int)t;
            if (!want) continue;
        }
        for (int i = 1; i < 5; i++) {
            const cllm_kernels *k = tables[i];
            if (!k || !k->type[t].vec_dot_tile) continue;
            const int64_t rows = 2048;
            const size_t ws = cllm_type_row_size(t, cols), as = cllm_type_row_size(k->type[t].act_type, cols);
            uint8_t *w = cllm_amalloc(ws * rows);
            fill_weights(t, w, ws * rows);
            for (int j = 0; j < NTOK; j++) k->from_float[k->type[t].act_type](xs + j * cols, acts + j * as, cols);
            double res[2][2];
            for (int ntok_i = 0; ntok_i < 2; ntok_i++) {
                const int ntok = ntok_i ? NTOK : 1;
                for (int mode = 0; mode < 2; mode++) {
                    cllm_kernels kk = *k;
                    if (mode == 0) kk.type[t].vec_dot_tile = NULL;
                    uint64_t best = UINT64_MAX, t_start = cllm_time_ns();
                    int reps = 0;
                    do {
                        const uint64_t t0 = cllm_time_ns();
                        for (int64_t r = 0; r < rows; r += 16)
                            cllm_cpu_vec_dot_tile(&kk, t, cols, 16, ntok, outs + r, rows, w + r * ws, ws, acts, as);
                        const uint64_t dt = cllm_time_ns() - t0;
                        if (dt < best) best = dt;
                        reps++;
                    } while (reps < 2 || (double)(cllm_time_ns() - t_start) < ms * 1e6);
                    res[ntok_i][mode] = ntok_i ? (double)rows * cols * ntok / (double)best
                                               : (double)(ws * rows) / (double)best;
                }
            }
            printf("%-7s %-8s %-8s %12.2f -> %8.2f %12.2f -> %8.2f\n", cllm_type_name(t), k->name, "",
                   res[0][0], res[0][1], res[1][0], res[1][1]);
            cllm_afree(w);
        }
    }
    /* Repacked GEMM: the same 2048 x 2048 weights repacked into 16-row
     * groups, one gemm_rp call per group (as matmul.c does). */
    printf("\nrepacked GEMM (2048 x 2048 weights, 16-row groups): 1 token GB/s of repacked bytes, "
           "8 / 32 tokens GMAC/s\n");
    printf("%-7s %-8s %12s %12s %12s\n", "type", "table", "1 token", "8 tokens", "32 tokens");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const cllm_type t = types[ti];
        if (argc > first_type_arg) {
            bool want = false;
            for (int a = first_type_arg; a < argc; a++) want |= cllm_type_from_name(argv[a]) == (int)t;
            if (!want) continue;
        }
        /* the tables' slots, then on x86 the AVX2 variant the avx2 table did
         * not choose (plain AVX2 on a CPU with AVX-VNNI, see fill_avx2.c) */
        for (int i = 0; i < 6; i++) {
            const cllm_kernels *k = tables[i < 5 ? i : 1];
            /* packed activations preferred, as in matmul.c */
            const bool px = i < 5 && k && k->type[t].gemm_rpx != NULL;
            cllm_gemm_rp_fn gemm = k ? k->type[t].gemm_rp : NULL;
            const char *kname = k ? k->name : "";
#if defined(CLLM_ARCH_X86)
            if (i == 5 && gemm) {
                const cllm_gemm_rp_fn vn = cllm_cpu_avx2_gemm_rp(t, true), pl = cllm_cpu_avx2_gemm_rp(t, false);
                gemm = gemm == vn ? pl : gemm == pl ? vn : NULL;
                kname = gemm == vn ? "avx2vnni" : "avx2pl";
            }
#else
            if (i == 5) gemm = NULL;
#endif
            if ((!gemm && !px) || !cllm_repack_supported(t, cols, 2048)) continue;
            const int64_t rows = 2048;
            const cllm_type at = k->type[t].act_type;
            const size_t ws = cllm_type_row_size(t, cols), as = cllm_type_row_size(at, cols);
            const size_t gb = cllm_repack_group_bytes(t, cols);
            uint8_t *w = cllm_amalloc(ws * rows), *rp = cllm_amalloc(gb * (size_t)(rows / CLLM_RP_ROWS));
            cllm_rp_aux *aux = malloc(sizeof(cllm_rp_aux) * (size_t)(cols / 32) * NTOK);
            uint8_t *xp = malloc((size_t)NTOK * cllm_rpx_tok_bytes(at, cols));
            fill_weights(t, w, ws * rows);
            cllm_repack_rows(t, cols, rows, w, rp);
            for (int j = 0; j < NTOK; j++) {
                k->from_float[at](xs + j * cols, acts + j * as, cols);
                if (at == CLLM_TYPE_Q8_K) cllm_cpu_rp_aux_row_q8_K(acts + j * as, cols, aux + j * (cols / 32));
                else cllm_cpu_rp_aux_row(acts + j * as, cols, aux + j * (cols / 32));
            }
            const int ntoks[3] = {1, 8, NTOK};
            double res[3];
            for (int m = 0; m < 3; m++) {
                const int ntok = ntoks[m];
                if (px)
                    for (int j = 0; j < ntok; j++) {
                        if (at == CLLM_TYPE_Q8_K) cllm_rpx_pack_row_q8_K(acts + j * as, cols, j, ntok, xp);
                        else cllm_rpx_pack_row(acts + j * as, cols, j, ntok, xp);
                    }
                uint64_t best = UINT64_MAX, t_start = cllm_time_ns();
                int reps = 0;
                do {
                    const uint64_t t0 = cllm_time_ns();
                    for (int64_t g = 0; g < rows / CLLM_RP_ROWS; g++) {
                        if (px)
                            k->type[t].gemm_rpx(cols, ntok, outs + g * CLLM_RP_ROWS, rows, rp + (size_t)g * gb, xp);
                        else
                            gemm(cols, ntok, outs + g * CLLM_RP_ROWS, rows, rp + (size_t)g * gb, acts, as, aux,
                                 cols / 32);
                    }
                    const uint64_t dt = cllm_time_ns() - t0;
                    if (dt < best) best = dt;
                    reps++;
                } while (reps < 2 || (double)(cllm_time_ns() - t_start) < ms * 1e6);
                res[m] = ntok == 1 ? (double)(gb * (size_t)(rows / CLLM_RP_ROWS)) / (double)best
                                   : (double)rows * cols * ntok / (double)best;
            }
            printf("%-7s %-8s %12.2f %12.2f %12.2f%s\n", cllm_type_name(t), kname, res[0], res[1], res[2],
                   px ? "  (gemm_rpx)" : "");
            free(xp);
            free(aux);
            cllm_afree(rp);
            cllm_afree(w);
        }
    }
    free(acts);
    free(xs);
    free(outs);
    free(x);
    free(act);
    free(out);
    return 0;
}
