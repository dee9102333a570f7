/* ops.h: the compute op interface the model code calls. A backend is a table
 * of function pointers (cllm_ops); the CPU implements it now (ops_cpu.c and
 * the files it dispatches to), a GPU backend can provide another table later.
 * Model code (src/models, src/model/context.c) only calls cllm_op_* below and
 * never a kernel directly.
 *
 * Data layout: activations are float rows, one row per token, row-major with
 * an explicit stride (floats). Weights stay in their file type and place
 * (borrowed from the model's mapping). */
#ifndef CLLM_OPS_OPS_H
#define CLLM_OPS_OPS_H

#include "cllm.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A 2-D weight (or 1-D vector when ne1 == 1) bound from the model file.
 * Row r (one output feature) is data + r*row_bytes and holds ne0 elements. */
typedef struct cllm_weight {
    const char *name;      /* tensor name (borrowed), NULL when absent */
    cllm_type type;
    int64_t ne0, ne1;      /* ne0 = row length (input dim), ne1 = rows (output dim) */
    size_t row_bytes;
    const void *data;      /* NULL when the tensor is absent (optional ones) */
    const void *rp;        /* the same rows repacked for GEMM (cpu/repack.h), or NULL */
} cllm_weight;

/* Repacked weight copies (src/ops/repack_weights.c). cllm_ops_weight_repack
 * makes w->rp when the active kernel table has a GEMM for repacked weights of
 * w's type and shape and CLLM_REPACK is not "0"; the buffer is linked into
 * *list (owned by the list; free with cllm_ops_rp_free, NULL-safe). Out of
 * memory just leaves w plain. */
typedef struct cllm_rp_buf cllm_rp_buf;
void cllm_ops_weight_repack(cllm_weight *w, cllm_rp_buf **list);
void cllm_ops_rp_free(cllm_rp_buf *list);

enum { CLLM_ROPE_NORM = 0, CLLM_ROPE_NEOX = 2 };

/* Rotary embedding parameters (ggml semantics, including YaRN). */
typedef struct cllm_rope_params {
    int n_dims;              /* rotated dims per head (<= head_dim, even) */
    int mode;                /* CLLM_ROPE_NORM (pairs 2i,2i+1) or CLLM_ROPE_NEOX (i, i+n_dims/2) */
    float freq_base;         /* theta_i = pos * base^(-2i/n_dims) */
    float freq_scale;        /* 1/linear factor (1 = none) */
    float ext_factor;        /* YaRN extrapolation mix (0 = off) */
    float attn_factor;       /* magnitude scale (1) */
    float beta_fast, beta_slow;
    int n_ctx_orig;          /* YaRN: original training context */
    const float *freq_factors; /* [n_dims/2] divisors of theta (llama3 rope_freqs) or NULL */
} cllm_rope_params;

/* Per-batch visibility plan, built once per decode (not per layer/head) by
 * cllm_attn_plan_build (src/ops/attn_plan.c): tokens are grouped by their
 * distinct sequence mask ("set"), and each set gets the increasing list of
 * cells it may see (mask covers the set, pos <= the set's highest token
 * pos), so attention costs what a sequence uses, not the whole cache.
 * Per-token causality (pos <= tok_pos) is still checked inside attention. */
typedef struct cllm_attn_plan {
    int n_sets;
    int32_t *set_tok_off;    /* [n_sets+1] offsets into set_toks */
    int32_t *set_toks;       /* [n_tok] token indices grouped by set */
    int32_t *set_cell_off;   /* [n_sets+1] offsets into cells */
    int32_t *cells;          /* visible cells per set, increasing */
    /* capacities (owned buffers, grown on demand) */
    int cap_sets, cap_toks;
    size_t cap_cells;
} cllm_attn_plan;

/* (Re)build the plan for n_tok tokens over cells [0, n_kv); false on
 * allocation failure (plan left empty, n_sets 0). */
bool cllm_attn_plan_build(cllm_attn_plan *p, int n_tok, const int32_t *tok_pos, const uint64_t *tok_seq,
                          int n_kv, const int32_t *cell_pos, const uint64_t *cell_seq);
/* Free the plan's buffers (NULL-safe; the struct itself is the caller's). */
void cllm_attn_plan_free(cllm_attn_plan *p);

/* Causal multi-sequence attention over the KV cells [0, n_kv) of one layer.
 * Cell j is visible to token t iff cell_seq[j] covers every sequence of t
 * (tok_seq[t] & ~cell_seq[j]) == 0, cell_seq[j] != 0, and cell_pos[j] <= tok_pos[t]. */
typedef struct cllm_attn_args {
    const float *q;          /* [n_tok][q_stride], head h at h*head_dim */
    int64_t q_stride;
    float *out;              /* [n_tok][out_stride], head h at h*head_dim */
    int64_t out_stride;
    int n_tok, n_head, n_head_kv, head_dim;
    float scale;             /* usually 1/sqrt(head_dim) */
    cllm_type kv_type;       /* F32, F16 or Q8_0 */
    const void *k, *v;       /* cell j row at k + j*kv_row_bytes; kv head g at g*head_dim elements */
    size_t kv_row_bytes;
    int n_kv;
    const int32_t *cell_pos;
    const uint64_t *cell_seq;
    const int32_t *tok_pos;
    const uint64_t *tok_seq;
    /* Optional (NULL: every cell of [0, n_kv) is scanned): a plan built for
     * exactly these tokens and cells; borrowed. */
    const cllm_attn_plan *plan;
} cllm_attn_args;

typedef struct cllm_ops_ctx cllm_ops_ctx;

/* The backend table. Every op is synchronous and parallel inside. */
typedef struct cllm_ops {
    const char *name;
    /* y[i][t*ne1_i + r] = dot(w[i] row r, x row t) for n_w weights sharing ne0
     * and activation type. x: [n_tok][ne0] contiguous. */
    void (*matmul)(cllm_ops_ctx *c, int n_w, const cllm_weight *const *w,
                   const float *x, int n_tok, float *const *y);
    /* y row = x row / rms(x row) * w (w may be NULL); rows of n floats with
     * stride ld; y may alias x. */
    void (*rms_norm)(cllm_ops_ctx *c, const float *x, float *y, const float *w,
                     int64_t n, int64_t ld, int n_rows, float eps);
    /* Rotate n_head heads of each token row of x (stride ld) in place. */
    void (*rope)(cllm_ops_ctx *c, float *x, int64_t ld, int n_tok, int n_head, int head_dim,
                 const int32_t *pos, const cllm_rope_params *rp);
    void (*attention)(cllm_ops_ctx *c, const cllm_attn_args *a);
    /* y = silu(g) * u over n_rows rows of n floats (stride n). */
    void (*swiglu)(cllm_ops_ctx *c, const float *g, const float *u, float *y, int64_t n, int n_rows);
    /* y[r] += b (b is one row of n floats, a bias) or y += x elementwise when b_is_row is false. */
    void (*add)(cllm_ops_ctx *c, float *y, const float *x, int64_t n, int n_rows, bool x_is_row);
    /* In-place softmax of n_rows rows of n floats. */
    void (*softmax)(cllm_ops_ctx *c, float *x, int64_t n, int n_rows);
    /* y[i] = dequantized row ids[i] of w. */
    void (*get_rows)(cllm_ops_ctx *c, const cllm_weight *w, const int32_t *ids, int n, float *y);
    /* Convert n_rows float rows of n elements into rows of type t at dst
     * (row dst_idx[i] of a buffer with row_bytes per row). */
    void (*store_rows)(cllm_ops_ctx *c, const float *x, int64_t n, int n_rows, cllm_type t,
                       void *dst, size_t row_bytes, const int32_t *dst_idx);
} cllm_ops;

/* Sizes an ops context must be able to serve without allocating. */
typedef struct cllm_ops_limits {
    int n_threads;
    int n_batch;          /* max tokens per call */
    int64_t max_row;      /* longest activation row fed to a matmul */
    int n_ctx;            /* max KV cells seen by attention */
    int head_dim;         /* max head dim */
} cllm_ops_limits;

/* The CPU backend. */
const cllm_ops *cllm_ops_cpu(void);
/* Create the CPU ops context (thread pool + scratch). On failure *out is NULL
 * and cllm_last_error() says why. */
cllm_status cllm_ops_ctx_init(const cllm_ops_limits *lim, cllm_ops_ctx **out);
void        cllm_ops_ctx_free(cllm_ops_ctx *c);
const cllm_ops *cllm_ops_ctx_ops(const cllm_ops_ctx *c);
int         cllm_ops_ctx_n_threads(const cllm_ops_ctx *c);

/* Bytes of one activation row of n elements for weights of type wtype (the
 * type the matmul quantizes activations to); 0 when wtype has no kernel. */
size_t cllm_ops_act_row_bytes(cllm_type wtype, int64_t n);
/* True when the kernel table has a dot product for weights of type t. */
bool   cllm_ops_type_supported(cllm_type t);
/* True when weights of types a and b take the same activation type, so one
 * matmul call can serve both from one converted input. */
bool   cllm_ops_same_act(cllm_type a, cllm_type b);

/* Convenience wrappers: call the context's backend. */
#define CLLM_OP(c, op, ...) (cllm_ops_ctx_ops(c)->op((c), __VA_ARGS__))

#endif /* CLLM_OPS_OPS_H */
