/* attention.c: causal multi-sequence attention with GQA over one layer's KV
 * cells, flash-attention style: tiled, with an online softmax (running max
 * and sum per row), so no score row of n_kv floats is ever materialised.
 *
 * Work item = (kv head g, tile of up to AT_ROWS rows), where a row is one
 * (token, query head of group g) pair; items are split over threads. The
 * tile's queries are rounded through the cache type's activation type (F16
 * for an F16 cache, Q8_0 for Q8_0, as the dot products of ggml do) and kept
 * as floats. For each chunk of up to CLLM_ATTN_CELLS cells, with the kernel
 * table's attention kernels (cllm_attn_kernels, cpu/kernels.h):
 *   - a visibility bit mask per row (cell visible to token t iff it belongs
 *     to every sequence of t and pos <= pos_t), computed once per token and
 *     chunk; a chunk that every token of the tile sees entirely (the common
 *     causal case below the diagonal) needs no per-cell test;
 *   - K of the chunk converted to float once, transposed (k_pack), V once
 *     (v_pack); S = scale * Q K^T for the whole tile (qk);
 *   - per row, the online-softmax update with a vectorised exp (softmax),
 *     which returns the factor the row's accumulator must be rescaled by;
 *   - acc = f * acc + P V for the whole tile (pv).
 * Rows that see nothing at all give zeros.
 *
 * With a plan (cllm_attn_plan, built once per decode), rows are grouped by
 * sequence set and a tile only walks its set's visible-cell list, so a
 * sequence's cost follows the cells it uses, not the cache size or the
 * cells of other sequences. Without one, the cells [0, n_kv) are walked. */
#include "ops/ops_cpu.h"
#include "tensor/types.h"

#include <math.h>
#include <string.h>

#define AT_ROWS 64
#define AT_CELLS CLLM_ATTN_CELLS

static size_t pad_cw(int n) { return (size_t)(n + CLLM_ATTN_CW - 1) / CLLM_ATTN_CW * CLLM_ATTN_CW; }

/* Per-thread scratch this file needs, in floats, for head dim hd. Every
 * part is a multiple of 16 floats, so each starts 64-byte aligned. */
size_t cllm_attn_scratch_floats(int hd) {
    const size_t hdp = pad_cw(hd);
    return (size_t)AT_ROWS * hdp         /* queries as float */
         + (size_t)AT_ROWS * hdp         /* acc */
         + (size_t)AT_ROWS * AT_CELLS    /* scores / probabilities */
         + hdp * AT_CELLS                /* K chunk, transposed */
         + (size_t)AT_CELLS * hdp        /* V chunk */
         + 3 * AT_ROWS                   /* running max, sum, rescale factor */
         + hdp                           /* one query in the activation type (<= 4 bytes/element) */
         + 64;                           /* slack */
}

#define AT_MAX_SETS 128

typedef struct attn_task {
    cllm_ops_ctx *c;
    const cllm_attn_args *a;
    const cllm_attn_plan *plan;        /* NULL: one set of all tokens, cells [0, n_kv) */
    int n_sets;
    int64_t tiles;                      /* row tiles per kv head, all sets */
    int64_t tile_off[AT_MAX_SETS + 1];  /* first tile of each set */
} attn_task;

static void attn_run(void *arg, int64_t i0, int64_t i1, int ith) {
    attn_task *t = arg;
    const cllm_attn_args *a = t->a;
    cllm_ops_ctx *c = t->c;
    const cllm_attn_kernels *ak = &c->kern->attn;
    const int hd = a->head_dim;
    const int hdp = (int)pad_cw(hd);
    const int group = a->n_head / a->n_head_kv;
    const cllm_type act = c->kern->type[a->kv_type].act_type;
    cllm_from_float_fn ff = act == CLLM_TYPE_F32 ? NULL : c->kern->from_float[act];
    const size_t head_bytes = (size_t)cllm_type_row_size(a->kv_type, hd);
    const int32_t zero_cell = 0;

    float *qf = cllm_ops_thr(c, ith);
    float *acc = qf + (size_t)AT_ROWS * hdp;
    float *sc = acc + (size_t)AT_ROWS * hdp;
    float *kt = sc + (size_t)AT_ROWS * AT_CELLS;
    float *vc = kt + (size_t)hdp * AT_CELLS;
    float *mx = vc + (size_t)AT_CELLS * hdp;
    float *sum = mx + AT_ROWS;
    float *fac = sum + AT_ROWS;
    float *qtmp = fac + AT_ROWS;

    for (int64_t item = i0; item < i1; item++) {
        const int g = (int)(item / t->tiles);
        const int64_t tl = item % t->tiles;
        int set = 0;
        while (tl >= t->tile_off[set + 1]) set++;
        /* rows of this set: tokens stoks[0..ntok_s) x heads of group g */
        const int32_t *stoks = t->plan ? t->plan->set_toks + t->plan->set_tok_off[set] : NULL;
        const int64_t ntok_s = t->plan ? t->plan->set_tok_off[set + 1] - t->plan->set_tok_off[set] : a->n_tok;
        const int32_t *clist = t->plan ? t->plan->cells + t->plan->set_cell_off[set] : NULL;
        const int n_cells = t->plan ? t->plan->set_cell_off[set + 1] - t->plan->set_cell_off[set] : a->n_kv;
        const int64_t rows_s = ntok_s * group;
        const int64_t r0 = (tl - t->tile_off[set]) * AT_ROWS;
        const int nr = (int)(rows_s - r0 < AT_ROWS ? rows_s - r0 : AT_ROWS);
        int tkr[AT_ROWS];   /* token of each row */
        for (int r = 0; r < nr; r++) {
            const int ti = (int)((r0 + r) / group);
            const int tk = stoks ? stoks[ti] : ti;
            tkr[r] = tk;
            const int h = g * group + (int)((r0 + r) % group);
            const float *q = a->q + (int64_t)tk * a->q_stride + (int64_t)h * hd;
            /* round through the activation type, then back to float (zero padded to hdp) */
            if (ff) {
                ff(q, qtmp, hd);
                ak->v_pack(act, hd, 1, (const char *)qtmp, 0, &zero_cell, qf + (size_t)r * hdp, hdp);
            } else {
                ak->v_pack(CLLM_TYPE_F32, hd, 1, (const char *)q, 0, &zero_cell, qf + (size_t)r * hdp, hdp);
            }
            mx[r] = -INFINITY;
            sum[r] = 0.0f;
        }
        memset(acc, 0, sizeof(float) * (size_t)nr * (size_t)hdp);
        const char *kbase = (const char *)a->k + (size_t)g * head_bytes;
        const char *vbase = (const char *)a->v + (size_t)g * head_bytes;
        for (int j0 = 0; j0 < n_cells; j0 += AT_CELLS) {
            const int nc = n_cells - j0 < AT_CELLS ? n_cells - j0 : AT_CELLS;
            const int ncp = (int)pad_cw(nc);
            const uint64_t all = nc == 64 ? ~0ull : (1ull << nc) - 1;
            int32_t cid[AT_CELLS], cpos[AT_CELLS];   /* cache cell of chunk entry j, its pos */
            uint64_t cseq[AT_CELLS];
            uint64_t cand = ~0ull;          /* sequences every cell of the chunk has */
            int32_t cmax = INT32_MIN;
            for (int j = 0; j < nc; j++) {
                const int ci = clist ? clist[j0 + j] : j0 + j;
                cid[j] = ci;
                cseq[j] = a->cell_seq[ci];
                cpos[j] = a->cell_pos[ci];
                cand &= cseq[j];
                if (cpos[j] > cmax) cmax = cpos[j];
            }
            /* visibility per row, computed once per token */
            uint64_t vis[AT_ROWS], any = 0;
            for (int r = 0; r < nr; r++) {
                if (r > 0 && tkr[r] == tkr[r - 1]) {
                    vis[r] = vis[r - 1];
                    continue;
                }
                const int32_t tpos = a->tok_pos[tkr[r]];
                const uint64_t tseq = a->tok_seq[tkr[r]];
                if (cand != 0 && (tseq & ~cand) == 0 && cmax <= tpos) {
                    vis[r] = all;   /* the whole chunk: no per-cell test */
                } else {
                    uint64_t v = 0;
                    for (int j = 0; j < nc; j++)
                        if (cseq[j] != 0 && (tseq & ~cseq[j]) == 0 && cpos[j] <= tpos) v |= 1ull << j;
                    vis[r] = v;
                }
                any |= vis[r];
            }
            if (!any) continue;
            ak->k_pack(a->kv_type, hd, nc, kbase, a->kv_row_bytes, cid, kt, AT_CELLS);
            ak->qk(hd, nr, ncp, qf, hdp, kt, AT_CELLS, a->scale, sc, AT_CELLS);
            ak->softmax(nr, ncp, sc, AT_CELLS, vis, mx, sum, fac);
            ak->v_pack(a->kv_type, hd, nc, vbase, a->kv_row_bytes, cid, vc, hdp);
            ak->pv(hdp, nr, nc, sc, AT_CELLS, vc, hdp, fac, acc, hdp);
        }
        for (int r = 0; r < nr; r++) {
            const int tk = tkr[r];
            const int h = g * group + (int)((r0 + r) % group);
            float *out = a->out + (int64_t)tk * a->out_stride + (int64_t)h * hd;
            const float inv = sum[r] > 0.0f ? 1.0f / sum[r] : 0.0f;   /* nothing visible: zeros */
            const float *ar = acc + (size_t)r * hdp;
            for (int i = 0; i < hd; i++) out[i] = ar[i] * inv;
        }
    }
}

void cllm_cpu_attention(cllm_ops_ctx *c, const cllm_attn_args *a) {
    const int group = a->n_head / a->n_head_kv;
    attn_task t = {.c = c, .a = a};
    const cllm_attn_plan *p = a->plan;
    if (p && p->n_sets > 0 && p->n_sets <= AT_MAX_SETS && p->set_tok_off[p->n_sets] == a->n_tok) {
        t.plan = p;
        t.n_sets = p->n_sets;
        t.tile_off[0] = 0;
        for (int s = 0; s < p->n_sets; s++) {
            const int64_t rows = (int64_t)(p->set_tok_off[s + 1] - p->set_tok_off[s]) * group;
            t.tile_off[s + 1] = t.tile_off[s] + (rows + AT_ROWS - 1) / AT_ROWS;
        }
    } else {
        t.n_sets = 1;
        t.tile_off[0] = 0;
        t.tile_off[1] = ((int64_t)a->n_tok * group + AT_ROWS - 1) / AT_ROWS;
    }
    t.tiles = t.tile_off[t.n_sets];
    if (t.tiles == 0) return;
    const int64_t items = (int64_t)a->n_head_kv * t.tiles;
    cllm_threadpool_for(c->tp, items, 1, attn_run, &t);
}
