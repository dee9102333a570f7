/* attention.c: causal multi-sequence attention with GQA over one layer's KV
 * cells, tiled with an online softmax (running max and sum per row, as in
 * flash attention), so no score row of n_kv floats is ever materialised and
 * each V row is converted once per tile instead of once per (token, head).
 *
 * Work item = (kv head g, tile of up to AT_ROWS rows), where a row is one
 * (token, query head of group g) pair; items are split over threads. For
 * each chunk of AT_CELLS cells: scores = scale * q.k with the kernel table's
 * dot product for the cache type (F32; F16 with the query converted to F16;
 * Q8_0 with the query quantized to Q8_0), masked (cell visible to token t
 * iff it belongs to every sequence of t and pos <= pos_t); then the V slices
 * of the chunk are converted to float once and accumulated into every row.
 *
 * With a plan (cllm_attn_plan, built once per decode), rows are grouped by
 * sequence set and a tile only walks its set's visible-cell list, so a
 * sequence's cost follows the cells it uses, not the cache size or the
 * cells of other sequences. Without one, the cells [0, n_kv) are walked.
 * V conversion/accumulation go through attn_v.h (AVX2 or scalar). */
#include "ops/ops_cpu.h"
#include "ops/attn_v.h"
#include "core/fp16.h"
#include "quant/blocks.h"
#include "tensor/types.h"

#include <math.h>
#include <string.h>

#define AT_ROWS 32
#define AT_CELLS 64

/* Per-thread scratch this file needs, in floats, for head dim hd. */
size_t cllm_attn_scratch_floats(int hd) {
    return (size_t)AT_ROWS * hd          /* acc */
         + (size_t)AT_ROWS * hd          /* converted queries (<= 4 bytes/element) */
         + (size_t)AT_ROWS * AT_CELLS    /* scores */
         + (size_t)AT_CELLS * hd         /* V chunk */
         + 2 * AT_ROWS + 64;             /* running max and sum, slack */
}

#define AT_MAX_SETS 128

typedef struct attn_task {
    cllm_ops_ctx *c;
    const cllm_attn_args *a;
    const cllm_attn_plan *plan;        /* NULL: one set of all tokens, cells [0, n_kv) */
    int n_sets;
    int64_t tiles;                      /* row tiles per kv head, all sets */
    int64_t tile_off[AT_MAX_SETS + 1];  /* first tile of each set */
    cllm_attn_v_fns vf;
} attn_task;

static void attn_run(void *arg, int64_t i0, int64_t i1, int ith) {
    attn_task *t = arg;
    const cllm_attn_args *a = t->a;
    cllm_ops_ctx *c = t->c;
    const int hd = a->head_dim;
    const int group = a->n_head / a->n_head_kv;
    const cllm_type act = c->kern->type[a->kv_type].act_type;
    cllm_vec_dot_fn dot = c->kern->type[a->kv_type].vec_dot;
    cllm_from_float_fn ff = act == CLLM_TYPE_F32 ? NULL : c->kern->from_float[act];
    const size_t head_bytes = (size_t)cllm_type_row_size(a->kv_type, hd);
    const size_t act_bytes = act == CLLM_TYPE_F32 ? sizeof(float) * (size_t)hd : (size_t)cllm_type_row_size(act, hd);

    float *acc = cllm_ops_thr(c, ith);
    float *qconv = acc + (size_t)AT_ROWS * hd;
    float *sc = qconv + (size_t)AT_ROWS * hd;
    float *vc = sc + (size_t)AT_ROWS * AT_CELLS;
    float *mx = vc + (size_t)AT_CELLS * hd;
    float *sum = mx + AT_ROWS;

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
        int32_t pos_hi = -1;
        int tkr[AT_ROWS];   /* token of each row */
        for (int r = 0; r < nr; r++) {
            const int ti = (int)((r0 + r) / group);
            const int tk = stoks ? stoks[ti] : ti;
            tkr[r] = tk;
            const int h = g * group + (int)((r0 + r) % group);
            const float *q = a->q + (int64_t)tk * a->q_stride + (int64_t)h * hd;
            char *qd = (char *)qconv + (size_t)r * act_bytes;
            if (ff) ff(q, qd, hd);
            else memcpy(qd, q, sizeof(float) * (size_t)hd);
            mx[r] = -INFINITY;
            sum[r] = 0.0f;
            if (a->tok_pos[tk] > pos_hi) pos_hi = a->tok_pos[tk];
        }
        memset(acc, 0, sizeof(float) * (size_t)nr * (size_t)hd);
        for (int j0 = 0; j0 < n_cells; j0 += AT_CELLS) {
            const int nc = n_cells - j0 < AT_CELLS ? n_cells - j0 : AT_CELLS;
            int cid[AT_CELLS];   /* cache cell of chunk entry j */
            for (int j = 0; j < nc; j++) cid[j] = clist ? clist[j0 + j] : j0 + j;
            bool any = false;
            for (int j = 0; j < nc && !any; j++) any = a->cell_seq[cid[j]] != 0 && a->cell_pos[cid[j]] <= pos_hi;
            if (!any) continue;
            /* scores for every row of the tile; chunk max per row */
            for (int r = 0; r < nr; r++) {
                const int tk = tkr[r];
                const int32_t tpos = a->tok_pos[tk];
                const uint64_t tseq = a->tok_seq[tk];
                const char *qd = (const char *)qconv + (size_t)r * act_bytes;
                float *s = sc + (size_t)r * AT_CELLS;
                float cm = -INFINITY;
                for (int j = 0; j < nc; j++) {
                    const uint64_t cs = a->cell_seq[cid[j]];
                    if (cs == 0 || (tseq & ~cs) != 0 || a->cell_pos[cid[j]] > tpos) {
                        s[j] = -INFINITY;
                        continue;
                    }
                    float v;
                    dot(hd, &v, (const char *)a->k + (size_t)cid[j] * a->kv_row_bytes + (size_t)g * head_bytes, qd);
                    s[j] = v * a->scale;
                    if (s[j] > cm) cm = s[j];
                }
                if (cm == -INFINITY) continue;
                /* rescale the running state to the new max, then exp the chunk */
                const float m_new = cm > mx[r] ? cm : mx[r];
                const float f = mx[r] == -INFINITY ? 0.0f : expf(mx[r] - m_new);
                if (f != 1.0f) {
                    float *ar = acc + (size_t)r * hd;
                    for (int i = 0; i < hd; i++) ar[i] *= f;   /* once per new max: rare */
                    sum[r] *= f;
                }
                mx[r] = m_new;
                for (int j = 0; j < nc; j++) {
                    const float p = s[j] == -INFINITY ? 0.0f : expf(s[j] - m_new);
                    s[j] = p;
                    sum[r] += p;
                }
            }
            /* V: each visible cell's slice converted once, added to all rows */
            for (int j = 0; j < nc; j++) {
                bool used = false;
                for (int r = 0; r < nr && !used; r++) used = sc[(size_t)r * AT_CELLS + j] > 0.0f && mx[r] != -INFINITY;
                if (!used) continue;
                t->vf.to_float(a->kv_type, (const char *)a->v + (size_t)cid[j] * a->kv_row_bytes + (size_t)g * head_bytes,
                               vc, hd);
                for (int r = 0; r < nr; r++) {
                    const float p = sc[(size_t)r * AT_CELLS + j];
                    if (!(p > 0.0f)) continue;
                    t->vf.axpy(hd, p, vc, acc + (size_t)r * hd);
                }
            }
            /* rows whose chunk was fully masked keep stale scores: clear them */
            for (int r = 0; r < nr; r++) {
                float *s = sc + (size_t)r * AT_CELLS;
                for (int j = 0; j < nc; j++) s[j] = 0.0f;
            }
        }
        for (int r = 0; r < nr; r++) {
            const int tk = tkr[r];
            const int h = g * group + (int)((r0 + r) % group);
            float *out = a->out + (int64_t)tk * a->out_stride + (int64_t)h * hd;
            const float inv = sum[r] > 0.0f ? 1.0f / sum[r] : 0.0f;   /* nothing visible: zeros */
            const float *ar = acc + (size_t)r * hd;
            for (int i = 0; i < hd; i++) out[i] = ar[i] * inv;
        }
    }
}

void cllm_cpu_attention(cllm_ops_ctx *c, const cllm_attn_args *a) {
    const int group = a->n_head / a->n_head_kv;
    attn_task t = {.c = c, .a = a};
    t.vf = cllm_attn_v_get(strcmp(c->kern->name, "scalar") != 0);
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
