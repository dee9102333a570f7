/* attention.c: causal multi-sequence attention with GQA over one layer's KV
 * cells (non-flash: scores, softmax, weighted sum of V, like ggml's
 * soft_max + mul_mat path). Work items are (token, head) pairs split over
 * threads. Q.K dot products use the kernel table for the cache type (F32,
 * F16 with the query converted to F16, Q8_0 with the query quantized to
 * Q8_0), so the cache is never dequantized as a whole. */
#include "ops/ops_cpu.h"
#include "core/fp16.h"
#include "quant/blocks.h"
#include "tensor/types.h"

#include <math.h>
#include <string.h>

typedef struct attn_task {
    cllm_ops_ctx *c;
    const cllm_attn_args *a;
} attn_task;

/* acc += p * v for one head of hd elements stored as type t. */
static void axpy_row(cllm_type t, const void *v, float p, float *acc, int hd) {
    if (t == CLLM_TYPE_F32) {
        const float *vf = v;
        for (int i = 0; i < hd; i++) acc[i] += p * vf[i];
    } else if (t == CLLM_TYPE_F16) {
        const cllm_fp16 *vh = v;
        for (int i = 0; i < hd; i++) acc[i] += p * cllm_fp16_to_fp32(vh[i]);
    } else { /* Q8_0 */
        const cllm_block_q8_0 *b = v;
        for (int k = 0; k < hd / QK8_0; k++) {
            const float d = p * cllm_fp16_to_fp32(b[k].d);
            float *o = acc + k * QK8_0;
            for (int i = 0; i < QK8_0; i++) o[i] += d * (float)b[k].qs[i];
        }
    }
}

static void attn_run(void *arg, int ith, int nth) {
    attn_task *t = arg;
    const cllm_attn_args *a = t->a;
    cllm_ops_ctx *c = t->c;
    const int hd = a->head_dim;
    const int group = a->n_head / a->n_head_kv;
    const cllm_type act = c->kern->type[a->kv_type].act_type;
    cllm_vec_dot_fn dot = c->kern->type[a->kv_type].vec_dot;
    cllm_from_float_fn ff = act == CLLM_TYPE_F32 ? NULL : c->kern->from_float[act];
    const size_t head_bytes = (size_t)cllm_type_row_size(a->kv_type, hd);

    float *scratch = cllm_ops_thr(c, ith);
    float *scores = scratch;                             /* [n_ctx] */
    float *acc = scratch + c->lim.n_ctx;                 /* [head_dim] */
    void *qconv = acc + c->lim.head_dim;                 /* >= head_dim*4 bytes */

    int64_t i0, i1;
    cllm_split_range((int64_t)a->n_tok * a->n_head, ith, nth, &i0, &i1);
    for (int64_t it = i0; it < i1; it++) {
        const int tk = (int)(it / a->n_head);
        const int h = (int)(it % a->n_head);
        const int g = h / group;
        const float *q = a->q + (int64_t)tk * a->q_stride + (int64_t)h * hd;
        const void *qa = q;
        if (ff) {
            ff(q, qconv, hd);
            qa = qconv;
        }
        const int32_t tpos = a->tok_pos[tk];
        const uint64_t tseq = a->tok_seq[tk];
        float mx = -INFINITY;
        for (int j = 0; j < a->n_kv; j++) {
            const uint64_t cs = a->cell_seq[j];
            if (cs == 0 || (tseq & ~cs) != 0 || a->cell_pos[j] > tpos) {
                scores[j] = -INFINITY;
                continue;
            }
            float s;
            dot(hd, &s, (const char *)a->k + (size_t)j * a->kv_row_bytes + (size_t)g * head_bytes, qa);
            s *= a->scale;
            scores[j] = s;
            if (s > mx) mx = s;
        }
        float *out = a->out + (int64_t)tk * a->out_stride + (int64_t)h * hd;
        memset(acc, 0, sizeof(float) * (size_t)hd);
        if (mx == -INFINITY) {   /* nothing visible: cannot happen for a token that sees itself */
            memcpy(out, acc, sizeof(float) * (size_t)hd);
            continue;
        }
        double sum = 0.0;
        for (int j = 0; j < a->n_kv; j++) {
            if (scores[j] == -INFINITY) {
                scores[j] = 0.0f;
                continue;
            }
            const float e = expf(scores[j] - mx);
            scores[j] = e;
            sum += (double)e;
        }
        const float inv = (float)(1.0 / sum);
        for (int j = 0; j < a->n_kv; j++) {
            if (scores[j] == 0.0f) continue;
            axpy_row(a->kv_type, (const char *)a->v + (size_t)j * a->kv_row_bytes + (size_t)g * head_bytes,
                     scores[j] * inv, acc, hd);
        }
        memcpy(out, acc, sizeof(float) * (size_t)hd);
    }
}

void cllm_cpu_attention(cllm_ops_ctx *c, const cllm_attn_args *a) {
    attn_task t = {c, a};
    int64_t items = (int64_t)a->n_tok * a->n_head;
    int nth = cllm_threadpool_n_threads(c->tp);
    if (items < nth) nth = (int)items;
    cllm_threadpool_run_n(c->tp, nth, attn_run, &t);
}
