/* kernels.h: the CPU kernel table. One table per ISA (scalar reference, AVX2,
 * AVX-512, NEON); the best one the CPU supports is chosen once at start-up
 * (CLLM_CPU=scalar|avx2|avx512|neon forces one). Every SIMD entry has the
 * scalar entry of the same slot as its reference, and tests compare them. */
#ifndef CLLM_CPU_KERNELS_H
#define CLLM_CPU_KERNELS_H

#include "cllm.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s = dot(w, a) over n elements: w is one weight row of the slot's type,
 * a one activation row already converted to the slot's act_type. */
typedef void (*cllm_vec_dot_fn)(int64_t n, float *s, const void *w, const void *a);
/* A tile of dot products: s[j*lds + i] = dot(w_i, a_j) for i < nr weight
 * rows (w_i = w + i*w_stride bytes) and j < nc activation rows (a_j = a +
 * j*a_stride bytes), each n elements. Same numbers as vec_dot up to float
 * summation order; faster because unpacking and activation work are shared. */
typedef void (*cllm_vec_dot_tile_fn)(int64_t n, int nr, int nc, float *s, int64_t lds, const void *w,
                                     size_t w_stride, const void *a, size_t a_stride);
/* Convert n floats to a row of an activation type (Q8_0, Q8_1, Q8_K, F16, BF16, F32). */
typedef void (*cllm_from_float_fn)(const float *x, void *y, int64_t n);

/* Per activation block (32 elements of a Q8_0 row): its scale as a float
 * and the integer sum of its 32 quants, computed once per batch
 * (cllm_cpu_rp_aux_row) so that GEMM kernels on repacked weights can fold
 * the weights' zero point (-8 for Q4_0, -128 for the offset Q8_0 bytes)
 * into one integer term per block. zs4/zs8 hold that term already scaled
 * (-8 * sum, -128 * sum) so a kernel can start its int32 accumulators from
 * one broadcast load, with no per-block arithmetic. Q8_K rows (Q4_K/Q6_K
 * weights) pack their fields differently (cllm_cpu_rp_aux_row_q8_K, repack.h). */
typedef struct cllm_rp_aux {
    float d;
    int32_t sum;
    int32_t zs4;   /* -8 * sum   (Q4_0 zero point) */
    int32_t zs8;   /* -128 * sum (repacked Q8_0 zero point) */
} cllm_rp_aux;

/* GEMM on one group of CLLM_RP_ROWS repacked weight rows (src/cpu/repack.h):
 * s[c*lds + r] = dot(w_r, a_c) for r < CLLM_RP_ROWS, c < nc. wg is the group
 * (CLLM_RP_ROWS * row_bytes bytes), a_c = a + c*a_stride a Q8_0 row of n
 * elements and aux + c*aux_stride its n/32 cllm_rp_aux entries. */
typedef void (*cllm_gemm_rp_fn)(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *a,
                                size_t a_stride, const cllm_rp_aux *aux, int64_t aux_stride);

/* The same GEMM against activations packed in tiles of CLLM_RPX_COLS rows
 * (layouts in cpu/repack.h: Q8_0 tiles for Q4_0 / Q8_0 groups,
 * cllm_rpx_pack_row; Q8_K tiles for Q4_K / Q6_K, cllm_rpx_pack_row_q8_K): x points
 * at the tile of token 0; tokens [0, nc) are computed. With every address a
 * compile-time offset from one pointer, the kernel spends no registers or
 * uops on per-token pointers (measured ~12% faster than gemm_rp). */
typedef void (*cllm_gemm_rpx_fn)(int64_t n, int nc, float *s, int64_t lds, const void *wg, const void *x);

typedef struct cllm_type_kernels {
    cllm_type act_type;        /* activation type this weight type dots with */
    cllm_vec_dot_fn vec_dot;   /* NULL: the type has no dot product */
    cllm_vec_dot_tile_fn vec_dot_tile; /* NULL: no tile kernel (use cllm_cpu_vec_dot_tile) */
    cllm_gemm_rp_fn gemm_rp;   /* NULL: no GEMM on repacked groups with row-major activations */
    cllm_gemm_rpx_fn gemm_rpx; /* NULL: none with packed activations (preferred when set) */
} cllm_type_kernels;

/* Attention tile kernels (used by src/ops/attention.c; docs/kernels.md).
 * Attention is computed per (KV head, tile of nr query rows, chunk of up to
 * CLLM_ATTN_CELLS cache cells): the chunk's K slices are converted to float
 * once, transposed (kt: hd rows of cells), its V slices once (vc: one row
 * per cell), then S = scale * Q K^T, an online-softmax update per row and
 * acc = f * acc + P V run on the float tiles. ncp is the chunk width padded
 * to CLLM_ATTN_CW cells, hdp the head dim padded to CLLM_ATTN_CW floats. All
 * pointers are borrowed; no alignment is required. K/V head slices of cell
 * j are base + cid[j] * row_bytes, of type F32, F16 or Q8_0 (hd % 32 == 0). */
#define CLLM_ATTN_CELLS 64
#define CLLM_ATTN_CW 16
typedef struct cllm_attn_kernels {
    /* y[i] = expf(x[i]), i < n, for x[i] <= 88.3 (y may alias x); -inf and
     * x < -87.3 give 0. Relative error < 1e-6 (tests/test_attn_kernels.c). */
    void (*exp)(int n, const float *x, float *y);
    /* kt[d*ldk + j] = K_j[d] for d < hd, j < nc; 0 for nc <= j < ncp. */
    void (*k_pack)(cllm_type t, int hd, int nc, const char *base, size_t row_bytes, const int32_t *cid,
                   float *kt, int ldk);
    /* vc[j*ldv + d] = V_j[d] for j < nc, d < hd; 0 for hd <= d < hdp. */
    void (*v_pack)(cllm_type t, int hd, int nc, const char *base, size_t row_bytes, const int32_t *cid,
                   float *vc, int ldv);
    /* s[r*lds + j] = scale * sum_{d<hd} q[r*ldq + d] * kt[d*ldk + j],
     * r < nr, j < ncp (ncp % CLLM_ATTN_CW == 0, ncp <= CLLM_ATTN_CELLS). */
    void (*qk)(int hd, int nr, int ncp, const float *q, int ldq, const float *kt, int ldk, float scale, float *s,
               int lds);
    /* Online-softmax update of the score rows s[r*lds + 0..ncp), r < nr,
     * with running max m[r] and sum l[r]: cells whose bit in vis[r] is clear
     * are masked. With cm the row's max visible score: when no cell is
     * visible, the row becomes all 0 and f[r] = 1 (m[r], l[r] unchanged);
     * else m' = max(m[r], cm), s[j] = exp(s[j] - m') (0 when masked),
     * f[r] = exp(m[r] - m') (0 when m[r] was -inf), l[r] = l[r] * f[r] +
     * sum(s), m[r] = m'. f[r] is the factor to rescale the row's acc by. */
    void (*softmax)(int nr, int ncp, float *s, int lds, const uint64_t *vis, float *m, float *l, float *f);
    /* acc[r*lda + d] = f[r] * acc[r*lda + d] + sum_{j<nc} p[r*ldp + j] * vc[j*ldv + d],
     * r < nr, d < hdp (hdp % CLLM_ATTN_CW == 0). */
    void (*pv)(int hdp, int nr, int nc, const float *p, int ldp, const float *vc, int ldv, const float *f,
               float *acc, int lda);
} cllm_attn_kernels;
/* y[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i] for n floats
 * (y may alias g or u). SIMD versions use a polynomial exp with relative
 * error ~1e-7 (src/cpu/<isa>/act_*.c). */
typedef void (*cllm_swiglu_fn)(int64_t n, const float *g, const float *u, float *y);

typedef struct cllm_kernels {
    const char *name;                                   /* "scalar", "avx2", ... */
    cllm_type_kernels type[CLLM_TYPE_COUNT];            /* indexed by weight type */
    cllm_from_float_fn from_float[CLLM_TYPE_COUNT];     /* indexed by activation type */
    cllm_attn_kernels attn;                             /* attention tiles (every table fills all) */
    cllm_swiglu_fn swiglu;                              /* never NULL */
} cllm_kernels;

typedef struct cllm_cpu_features {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512vnni, avxvnni;
    bool neon, dotprod;
    int n_physical_cores;   /* best guess; >= 1 */
    bool avx512bf16;        /* AVX512_BF16 (vdpbf16ps) */
} cllm_cpu_features;

const cllm_cpu_features *cllm_cpu_features_get(void);

/* Per-ISA tables; NULL when not compiled in or not supported by this CPU. */
const cllm_kernels *cllm_kernels_scalar(void);
const cllm_kernels *cllm_kernels_avx2(void);
const cllm_kernels *cllm_kernels_avx512(void);
const cllm_kernels *cllm_kernels_neon(void);
/* Alternate AVX-512 table ("avx512z", CLLM_CPU=avx512z): zmm kernels in
 * every slot that has one, including those where the 256-bit VNNI kernel of
 * the main table measured faster on the Intel test machine. For tests,
 * benchmarks and CPUs with full-width 512-bit units (Zen 4/5). */
const cllm_kernels *cllm_kernels_avx512_zmm(void);

/* The table in use: chosen on first call from CPU detection and CLLM_CPU. */
const cllm_kernels *cllm_kernels_get(void);

/* The tile of dot products (see cllm_vec_dot_tile_fn) for weight type wt with
 * table k: its vec_dot_tile when it has one, else a loop over vec_dot.
 * Pointers are borrowed; s must hold (nc-1)*lds + nr floats. */
void cllm_cpu_vec_dot_tile(const cllm_kernels *k, cllm_type wt, int64_t n, int nr, int nc, float *s,
                           int64_t lds, const void *w, size_t w_stride, const void *a, size_t a_stride);

#endif /* CLLM_CPU_KERNELS_H */
