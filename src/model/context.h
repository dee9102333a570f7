/* context.h: internals of a decoding context and the per-batch forward
 * state handed to the architecture code. */
#ifndef CLLM_MODEL_CONTEXT_H
#define CLLM_MODEL_CONTEXT_H

#include "model/kv_cache.h"
#include "model/model.h"
#include "ops/ops.h"

/* Forward state of one decode call: scratch buffers are the context's
 * (allocated once for n_batch tokens), all row-major [n_tok][width]. */
typedef struct cllm_fwd {
    const cllm_model *m;
    cllm_ops_ctx *ops;
    cllm_kv_cache *kv;
    int n_tok;
    uint32_t n_kv;              /* cells scanned by attention */
    const int32_t *pos;         /* [n_tok] */
    const uint64_t *seqm;       /* [n_tok] sequence masks */
    const int32_t *cells;       /* [n_tok] KV cell of each token */
    const cllm_attn_plan *plan; /* visible cells per sequence set (borrowed; NULL: scan [0, n_kv)) */
    cllm_rope_params rope;
    float *x;                   /* residual stream [n_tok][n_embd] */
    float *xn;                  /* normed input [n_tok][n_embd] */
    float *q, *k, *v;           /* [n_tok][n_head*hd], [n_tok][n_head_kv*hd] x2 */
    float *attn;                /* attention output [n_tok][n_head*hd] */
    float *g, *u;               /* FFN gate/up [n_tok][n_ff] */
    float *o;                   /* projection output [n_tok][n_embd] */
    /* Last layer: after attention only these rows are carried on (the ones
     * that want logits), compacted to rows 0..n_keep-1 of x. NULL: all. */
    const int32_t *keep;
    int n_keep;
} cllm_fwd;

struct cllm_context {
    cllm_err err;
    cllm_model *model;          /* borrowed: must outlive the context */
    cllm_context_params p;
    cllm_ops_ctx *ops;          /* owned */
    cllm_kv_cache kv;
    float *x, *xn, *q, *k, *v, *attn, *g, *u, *o;  /* scratch, owned */
    int32_t *cells, *pos;       /* [n_batch] */
    uint64_t *seqm;             /* [n_batch] */
    int32_t *out_map;           /* [n_batch]: token i -> logits row or -1 */
    int32_t *out_tok;           /* [n_batch]: logits row -> token */
    int32_t n_out, n_last;      /* outputs / tokens of the last batch */
    float *logits;              /* [logits_rows][n_vocab], grown on demand */
    int32_t logits_rows;
    float *embd;                /* [n_batch][n_embd] normed hidden states when embeddings */
    float *embd_seq;            /* [n_seq_max][n_embd] pooled */
    uint8_t *embd_seq_ok;       /* [n_seq_max] */
    cllm_rope_params rope;
    cllm_attn_plan plan;        /* attention visibility, rebuilt every decode (owned buffers) */
};

/* The common llama-style layer (src/models/transformer.c). */
typedef struct cllm_block_flags {
    bool qkv_bias;
    bool qk_norm;
} cllm_block_flags;
void cllm_transformer_layer(cllm_fwd *f, int il, const cllm_block_flags *fl);

#endif /* CLLM_MODEL_CONTEXT_H */
