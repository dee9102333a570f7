/* transformer.c: the pre-norm decoder block shared by llama, qwen2 and qwen3,
 * which differ only by flags (q/k/v biases, per-head q/k RMSNorm) and the
 * rope type carried in the forward state:
 *   h = x + Wo * attn(rope(norm_q(Wq n(x) + bq)), rope(norm_k(Wk n(x) + bk)), Wv n(x) + bv)
 *   x' = h + Wdown (silu(Wgate n(h)) * Wup n(h))
 * Every step is an op call (src/ops/ops.h); no kernel is called directly. */
#include "model/context.h"

#include <math.h>
#include <string.h>

void cllm_transformer_layer(cllm_fwd *f, int il, const cllm_block_flags *fl) {
    const cllm_model *m = f->m;
    const cllm_hparams *hp = &m->hp;
    const cllm_layer *L = &m->layers[il];
    cllm_ops_ctx *c = f->ops;
    const int n_all = f->n_tok;
    const int64_t E = hp->n_embd, HD = hp->n_embd_head_k;
    const int64_t QD = (int64_t)hp->n_head * HD, KD = (int64_t)hp->n_head_kv * HD;

    /* attention */
    CLLM_OP(c, rms_norm, f->x, f->xn, (const float *)L->attn_norm.data, E, E, n_all, hp->rms_eps);
    {
        const cllm_weight *w3[3] = {&L->wq, &L->wk, &L->wv};
        float *y3[3] = {f->q, f->k, f->v};
        if (cllm_ops_same_act(L->wq.type, L->wk.type) && cllm_ops_same_act(L->wq.type, L->wv.type)) {
            CLLM_OP(c, matmul, 3, w3, f->xn, n_all, y3);
        } else {
            for (int i = 0; i < 3; i++) CLLM_OP(c, matmul, 1, &w3[i], f->xn, n_all, &y3[i]);
        }
    }
    if (fl->qkv_bias) {
        CLLM_OP(c, add, f->q, (const float *)L->bq.data, QD, n_all, true);
        CLLM_OP(c, add, f->k, (const float *)L->bk.data, KD, n_all, true);
        CLLM_OP(c, add, f->v, (const float *)L->bv.data, KD, n_all, true);
    }
    if (fl->qk_norm) {
        CLLM_OP(c, rms_norm, f->q, f->q, (const float *)L->q_norm.data, HD, HD, n_all * hp->n_head, hp->rms_eps);
        CLLM_OP(c, rms_norm, f->k, f->k, (const float *)L->k_norm.data, HD, HD, n_all * hp->n_head_kv, hp->rms_eps);
    }
    CLLM_OP(c, rope, f->q, QD, n_all, hp->n_head, (int)HD, f->pos, &f->rope);
    CLLM_OP(c, rope, f->k, KD, n_all, hp->n_head_kv, (int)HD, f->pos, &f->rope);
    CLLM_OP(c, store_rows, f->k, KD, n_all, f->kv->type, f->kv->k[il], f->kv->row_bytes, f->cells);
    CLLM_OP(c, store_rows, f->v, KD, n_all, f->kv->type, f->kv->v[il], f->kv->row_bytes, f->cells);
    cllm_attn_args a = {
        .q = f->q, .q_stride = QD, .out = f->attn, .out_stride = QD,
        .n_tok = n_all, .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = (int)HD,
        .scale = 1.0f / sqrtf((float)HD),
        .kv_type = f->kv->type, .k = f->kv->k[il], .v = f->kv->v[il], .kv_row_bytes = f->kv->row_bytes,
        .n_kv = (int)f->n_kv, .cell_pos = f->kv->pos, .cell_seq = f->kv->seq,
        .tok_pos = f->pos, .tok_seq = f->seqm, .plan = f->plan,
    };
    CLLM_OP(c, attention, &a);
    int n = n_all;
    if (f->keep && il == hp->n_layer - 1) {
        /* Only the output rows matter past this point: compact them (keep is
         * increasing, so copying forward in place is safe). */
        for (int r = 0; r < f->n_keep; r++) {
            if (f->keep[r] == r) continue;
            memcpy(f->attn + (size_t)r * QD, f->attn + (size_t)f->keep[r] * QD, sizeof(float) * (size_t)QD);
            memcpy(f->x + (size_t)r * E, f->x + (size_t)f->keep[r] * E, sizeof(float) * (size_t)E);
        }
        n = f->n_keep;
        if (n == 0) return;
    }
    {
        const cllm_weight *wo = &L->wo;
        float *y = f->o;
        CLLM_OP(c, matmul, 1, &wo, f->attn, n, &y);
    }
    if (L->bo.data) CLLM_OP(c, add, f->o, (const float *)L->bo.data, E, n, true);
    CLLM_OP(c, add, f->x, f->o, E, n, false);

    /* feed-forward */
    CLLM_OP(c, rms_norm, f->x, f->xn, (const float *)L->ffn_norm.data, E, E, n, hp->rms_eps);
    {
        const cllm_weight *w2[2] = {&L->ffn_gate, &L->ffn_up};
        float *y2[2] = {f->g, f->u};
        if (cllm_ops_same_act(L->ffn_gate.type, L->ffn_up.type)) {
            CLLM_OP(c, matmul, 2, w2, f->xn, n, y2);
        } else {
            for (int i = 0; i < 2; i++) CLLM_OP(c, matmul, 1, &w2[i], f->xn, n, &y2[i]);
        }
    }
    CLLM_OP(c, swiglu, f->g, f->u, f->g, hp->n_ff, n);
    {
        const cllm_weight *wd = &L->ffn_down;
        float *y = f->o;
        CLLM_OP(c, matmul, 1, &wd, f->g, n, &y);
    }
    CLLM_OP(c, add, f->x, f->o, E, n, false);
}
