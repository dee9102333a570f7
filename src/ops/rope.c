/* rope.c: rotary position embedding (ggml semantics). NORM mode rotates the
 * pairs (2i, 2i+1) of a head (llama), NEOX mode the pairs (i, i + n_dims/2)
 * (qwen2/qwen3, GPT-NeoX). Angles follow ggml's rope_yarn: theta_extrap =
 * pos * base^(-2i/n_dims) / freq_factor[i], interpolated by freq_scale and,
 * with YaRN (ext_factor != 0), ramp-mixed between the two over the
 * correction dims, with a magnitude scale 1 + 0.1 ln(1/freq_scale). Dims past
 * n_dims are left unrotated. */
#include "ops/ops_cpu.h"

#include <math.h>

static float yarn_corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
    return n_dims * logf((float)n_ctx_orig / (n_rot * 2.0f * 3.14159265358979f)) / (2.0f * logf(base));
}

void cllm_rope_cache(const cllm_rope_params *rp, float pos, float *cs) {
    const int nd = rp->n_dims;
    const float theta_scale = powf(rp->freq_base, -2.0f / (float)nd);
    float corr0 = 0.0f, corr1 = 0.0f;
    if (rp->ext_factor != 0.0f) {
        float start = floorf(yarn_corr_dim(nd, rp->n_ctx_orig, rp->beta_fast, rp->freq_base));
        float end = ceilf(yarn_corr_dim(nd, rp->n_ctx_orig, rp->beta_slow, rp->freq_base));
        corr0 = start > 0.0f ? start : 0.0f;
        corr1 = end < (float)(nd - 1) ? end : (float)(nd - 1);
    }
    float theta_base = pos;   /* iterated in float like ggml, for matching numerics */
    for (int i0 = 0; i0 < nd; i0 += 2) {
        const float ff = rp->freq_factors ? rp->freq_factors[i0 / 2] : 1.0f;
        const float theta_extrap = theta_base / ff;
        const float theta_interp = rp->freq_scale * theta_extrap;
        float theta = theta_interp;
        float mscale = rp->attn_factor;
        if (rp->ext_factor != 0.0f) {
            float y = ((float)(i0 / 2) - corr0) / fmaxf(0.001f, corr1 - corr0);
            float ramp = 1.0f - fminf(1.0f, fmaxf(0.0f, y));
            float mix = ramp * rp->ext_factor;
            theta = theta_interp * (1.0f - mix) + theta_extrap * mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / rp->freq_scale);
        }
        cs[i0] = cosf(theta) * mscale;
        cs[i0 + 1] = sinf(theta) * mscale;
        theta_base *= theta_scale;
    }
}

void cllm_rope_apply(const cllm_rope_params *rp, const float *cs, float *x) {
    const int nd = rp->n_dims;
    if (rp->mode == CLLM_ROPE_NEOX) {
        const int half = nd / 2;
        for (int i = 0; i < half; i++) {
            const float c = cs[2 * i], s = cs[2 * i + 1];
            const float x0 = x[i], x1 = x[i + half];
            x[i] = x0 * c - x1 * s;
            x[i + half] = x0 * s + x1 * c;
        }
    } else {
        for (int i = 0; i < nd; i += 2) {
            const float c = cs[i], s = cs[i + 1];
            const float x0 = x[i], x1 = x[i + 1];
            x[i] = x0 * c - x1 * s;
            x[i + 1] = x0 * s + x1 * c;
        }
    }
}

typedef struct rope_task {
    cllm_ops_ctx *c;
    float *x;
    int64_t ld;
    int n_tok, n_head, head_dim;
    const int32_t *pos;
    const cllm_rope_params *rp;
} rope_task;

static void rope_run(void *arg, int64_t a, int64_t b, int ith) {
    rope_task *t = arg;
    float *cs = cllm_ops_thr(t->c, ith);  /* head_dim floats */
    for (int64_t i = a; i < b; i++) {
        cllm_rope_cache(t->rp, (float)t->pos[i], cs);
        float *row = t->x + i * t->ld;
        for (int h = 0; h < t->n_head; h++) cllm_rope_apply(t->rp, cs, row + (int64_t)h * t->head_dim);
    }
}

void cllm_cpu_rope(cllm_ops_ctx *c, float *x, int64_t ld, int n_tok, int n_head, int head_dim,
                   const int32_t *pos, const cllm_rope_params *rp) {
    rope_task t = {c, x, ld, n_tok, n_head, head_dim, pos, rp};
    cllm_threadpool_for(c->tp, n_tok, cllm_threadpool_grain(c->tp, n_tok, 2), rope_run, &t);
}
