/* matmul.c: quantized weight x float activations on the CPU.
 *
 * Phase 1: the n_tok activation rows are converted once to the weights'
 * activation type (Q8_0/Q8_1/Q8_K for quantized weights, F16/BF16/F32 for
 * float ones) with the kernel table's from_float, rows split over threads.
 * Phase 2: each thread takes a contiguous range of output rows (over all n_w
 * weights concatenated) and, for blocks of CLLM_MM_ROWS weight rows, loops
 * over tiles of CLLM_MM_TOKS tokens calling the kernel table's tile of
 * integer dot products (cllm_cpu_vec_dot_tile; vec_dot for one token). Rows outer,
 * tokens inner: each weight row is read from memory once per batch, and the
 * row block stays in L1/L2 while the tiles of activations stream by.
 *
 * Weights repacked at load (w->rp, cpu/repack.h; CLLM_RP_ROWS == CLLM_MM_ROWS
 * rows per group) go to the table's gemm_rp instead (for batches of at least
 * cllm_repack_min_tokens: Q6_K decode keeps the smaller original rows); phase 1 then also computes each activation block's
 * float scale and quant sum (cllm_rp_aux) once, stored after the rows; for
 * weights with a gemm_rpx (Q8_0 or Q8_K activations) it instead packs the
 * rows into 16-token tiles (cllm_rpx_pack_row / _q8_K). */
#include "cpu/repack.h"
#include "ops/ops_cpu.h"
#include "tensor/types.h"

#include <assert.h>
#include <string.h>

#define CLLM_MM_ROWS 16
#define CLLM_MM_TOKS 32
_Static_assert(CLLM_MM_ROWS == CLLM_RP_ROWS, "a row block is one repacked group");

typedef struct mm_task {
    cllm_ops_ctx *c;
    int n_w;
    const cllm_weight *const *w;
    const float *x;
    int n_tok;
    float *const *y;
    cllm_type act;
    const void *xa;       /* converted activations */
    size_t arow;          /* bytes per converted row */
    int64_t blk0[4];      /* first block index of each weight (n_w <= 3) */
    cllm_rp_aux *aux;     /* [n_tok][ne0/32] when a gemm_rp weight is used, else NULL */
    void *xp;             /* packed tiles (cpu/repack.h) when a gemm_rpx weight is used, else NULL */
} mm_task;

/* How weight w is multiplied by n_tok tokens: 2 = gemm_rpx on its repacked
 * groups, 1 = gemm_rp, 0 = plain rows (vec_dot / tiles). */
static int mm_rp_kind(const cllm_kernels *k, const cllm_weight *w, int n_tok) {
    if (!w->rp || n_tok < cllm_repack_min_tokens(w->type)) return 0;
    const cllm_type act = k->type[w->type].act_type;
    if (k->type[w->type].gemm_rpx && (act == CLLM_TYPE_Q8_0 || act == CLLM_TYPE_Q8_K)) return 2;
    return k->type[w->type].gemm_rp ? 1 : 0;
}

/* Phase 1: convert activation rows [i0, i1). */
static void mm_convert(void *arg, int64_t i0, int64_t i1, int ith) {
    (void)ith;
    mm_task *t = arg;
    const int64_t ne0 = t->w[0]->ne0;
    cllm_from_float_fn ff = t->c->kern->from_float[t->act];
    for (int64_t i = i0; i < i1; i++) {
        char *row = (char *)t->c->act_buf + i * t->arow;
        ff(t->x + i * ne0, row, ne0);
        if (t->xp) {
            if (t->act == CLLM_TYPE_Q8_K) cllm_rpx_pack_row_q8_K(row, ne0, (int)i, t->n_tok, t->xp);
            else cllm_rpx_pack_row(row, ne0, (int)i, t->n_tok, t->xp);
        }
        if (t->aux) {
            if (t->act == CLLM_TYPE_Q8_K) cllm_cpu_rp_aux_row_q8_K(row, ne0, t->aux + i * (ne0 / 32));
            else cllm_cpu_rp_aux_row(row, ne0, t->aux + i * (ne0 / 32));
        }
    }
}

/* Repacked GEMM over row groups [g0, g1) of weight w (all in one weight),
 * cache-blocked: the groups' weights (NG x 18-50 KB for TinyLlama shapes)
 * stay in L2 while tiles of MM_RP_TT activation rows pass; each tile (up to
 * 64 x 6 KB) stays in L2/L1 while the NG groups use it. Rows outer would
 * instead re-stream every activation row from L3 once per 16-row group. */
#define MM_RP_NG 4
#define MM_RP_TT 64
_Static_assert(MM_RP_TT % CLLM_RPX_COLS == 0, "token tiles start at packed-tile boundaries");
static void mm_rp_groups(const mm_task *t, const cllm_weight *w, int wi, int64_t g0, int64_t g1, bool packed) {
    const int64_t ne0 = w->ne0, ldy = w->ne1, nb = ne0 / 32;
    const size_t xtok = cllm_rpx_tok_bytes(t->act, ne0);   /* packed bytes per token */
    const cllm_gemm_rp_fn gemm = t->c->kern->type[w->type].gemm_rp;
    const cllm_gemm_rpx_fn gemmx = t->c->kern->type[w->type].gemm_rpx;
    const size_t gbytes = cllm_repack_group_bytes(w->type, ne0);
    const char *xa = t->xa;
    float *y = t->y[wi];
    for (int tb = 0; tb < t->n_tok; tb += MM_RP_TT) {
        const int te = tb + MM_RP_TT < t->n_tok ? tb + MM_RP_TT : t->n_tok;
        for (int64_t g = g0; g < g1; g++) {
            const char *wg = (const char *)w->rp + (size_t)g * gbytes;
            if (packed)
                gemmx(ne0, te - tb, &y[(int64_t)tb * ldy + g * CLLM_RP_ROWS], ldy, wg,
                      (const char *)t->xp + (size_t)tb * xtok);
            else
                gemm(ne0, te - tb, &y[(int64_t)tb * ldy + g * CLLM_RP_ROWS], ldy, wg, xa + (size_t)tb * t->arow,
                     t->arow, t->aux + (int64_t)tb * nb, nb);
        }
    }
}

/* Phase 2: blocks [b0, b1) of CLLM_MM_ROWS weight rows, all tokens. */
static void mm_blocks(void *arg, int64_t b0, int64_t b1, int ith) {
    (void)ith;
    mm_task *t = arg;
    cllm_ops_ctx *c = t->c;
    const int64_t ne0 = t->w[0]->ne0;
    const char *xa = t->xa;
    for (int64_t bk = b0; bk < b1;) {
        int wi = 0;
        while (wi + 1 < t->n_w && bk >= t->blk0[wi + 1]) wi++;
        const cllm_weight *w = t->w[wi];
        int kind = mm_rp_kind(c->kern, w, t->n_tok);
        if (kind == 2 && !t->xp) kind = c->kern->type[w->type].gemm_rp ? 1 : 0;   /* tiles did not fit */
        if ((kind == 2 && t->xp) || (kind == 1 && t->aux)) {
            /* up to MM_RP_NG groups of this weight at a time */
            int64_t be = bk + MM_RP_NG < b1 ? bk + MM_RP_NG : b1;
            if (be > t->blk0[wi + 1]) be = t->blk0[wi + 1];
            mm_rp_groups(t, w, wi, bk - t->blk0[wi], be - t->blk0[wi], kind == 2);
            bk = be;
            continue;
        }
        const int64_t rb = (bk - t->blk0[wi]) * CLLM_MM_ROWS;
        const int64_t re = rb + CLLM_MM_ROWS < w->ne1 ? rb + CLLM_MM_ROWS : w->ne1;
        cllm_vec_dot_fn dot = c->kern->type[w->type].vec_dot;
        float *y = t->y[wi];
        const int64_t ldy = w->ne1;
        for (int tb = 0; tb < t->n_tok; tb += CLLM_MM_TOKS) {
            const int te = tb + CLLM_MM_TOKS < t->n_tok ? tb + CLLM_MM_TOKS : t->n_tok;
            if (te - tb == 1) {   /* one token (decode): plain dot products */
                for (int64_t r = rb; r < re; r++)
                    dot(ne0, &y[(int64_t)tb * ldy + r], (const char *)w->data + (size_t)r * w->row_bytes,
                        xa + (size_t)tb * t->arow);
            } else {              /* a tile: the kernel shares unpacking across rows and tokens */
                cllm_cpu_vec_dot_tile(c->kern, w->type, ne0, (int)(re - rb), te - tb, &y[(int64_t)tb * ldy + rb],
                                      ldy, (const char *)w->data + (size_t)rb * w->row_bytes, w->row_bytes,
                                      xa + (size_t)tb * t->arow, t->arow);
            }
        }
        bk++;
    }
}

void cllm_cpu_matmul(cllm_ops_ctx *c, int n_w, const cllm_weight *const *w,
                     const float *x, int n_tok, float *const *y) {
    assert(n_w >= 1 && n_w <= 3 && n_tok >= 1 && n_tok <= c->lim.n_batch);
    const cllm_type act = c->kern->type[w[0]->type].act_type;
    mm_task t = {c, n_w, w, x, n_tok, y, act, NULL, 0, {0}, NULL, NULL};
    int64_t nblk = 0;
    for (int i = 0; i < n_w; i++) {
        assert(w[i]->ne0 == w[0]->ne0);
        assert(c->kern->type[w[i]->type].act_type == act);
        t.blk0[i] = nblk;
        nblk += (w[i]->ne1 + CLLM_MM_ROWS - 1) / CLLM_MM_ROWS;
    }
    t.blk0[n_w] = nblk;
    assert(w[0]->ne0 <= c->lim.max_row);
    if (act == CLLM_TYPE_F32) {
        t.xa = x;
        t.arow = (size_t)w[0]->ne0 * sizeof(float);
    } else {
        t.xa = c->act_buf;
        t.arow = cllm_type_row_size(act, w[0]->ne0);
        assert(t.arow * (size_t)n_tok <= c->act_buf_bytes);
        bool use_rp = false, use_rpx = false;
        for (int i = 0; i < n_w; i++) {
            const int kind = mm_rp_kind(c->kern, w[i], n_tok);
            use_rp |= kind == 1;
            use_rpx |= kind == 2;
        }
        /* act_buf: [converted rows][packed tiles][aux], each 64-byte aligned.
         * Q8_K: 292 row + 340 packed bytes per 256 elements and token (+128
         * aux only when a weight uses gemm_rp) fit the 1024 of act_buf; when
         * the tiles do not fit, gemm_rpx weights fall back to gemm_rp. */
        size_t off = (t.arow * (size_t)n_tok + 63) & ~(size_t)63;
        const int64_t nb = w[0]->ne0 / 32;
        const bool act_rp = act == CLLM_TYPE_Q8_0 || act == CLLM_TYPE_Q8_K;
        if (use_rpx && act_rp) {
            const size_t need = off + (size_t)n_tok * cllm_rpx_tok_bytes(act, w[0]->ne0);
            if (need <= c->act_buf_bytes) {
                t.xp = (char *)c->act_buf + off;
                off = (need + 63) & ~(size_t)63;
            } else {
                use_rp = true;
            }
        }
        if (use_rp && act_rp) {
            const size_t need = off + (size_t)n_tok * (size_t)nb * sizeof(cllm_rp_aux);
            if (need <= c->act_buf_bytes) t.aux = (cllm_rp_aux *)((char *)c->act_buf + off);
        }
        cllm_threadpool_for(c->tp, n_tok, cllm_threadpool_grain(c->tp, n_tok, 2), mm_convert, &t);
    }
    /* Several blocks per claim when there are many (fewer atomics), one when few. */
    cllm_threadpool_for(c->tp, nblk, cllm_threadpool_grain(c->tp, nblk, 8), mm_blocks, &t);
}

size_t cllm_ops_act_row_bytes(cllm_type wtype, int64_t n) {
    if (wtype < 0 || wtype >= CLLM_TYPE_COUNT) return 0;
    const cllm_kernels *k = cllm_kernels_get();
    if (!k->type[wtype].vec_dot) return 0;
    return (size_t)cllm_type_row_size(k->type[wtype].act_type, n);
}

bool cllm_ops_type_supported(cllm_type t) {
    if ((int)t < 0 || t >= CLLM_TYPE_COUNT) return false;
    const cllm_kernels *k = cllm_kernels_get();
    const cllm_type act = k->type[t].act_type;
    if (!k->type[t].vec_dot) return false;
    return act == CLLM_TYPE_F32 || k->from_float[act] != NULL;
}

bool cllm_ops_same_act(cllm_type a, cllm_type b) {
    const cllm_kernels *k = cllm_kernels_get();
    return k->type[a].act_type == k->type[b].act_type;
}
