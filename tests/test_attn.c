/* test_attn.c: attention cost/visibility work (src/ops/attn_plan.c):
 * (1) attention with a per-set visibility plan equals the full scan over
 * randomly interleaved cells of several sequences (shared prefix cells,
 * free cells, multi-sequence tokens) for F32/F16/Q8_0 caches; (2) through
 * the public API, a sequence's logits are bit-identical whether it is alone
 * in a small cache or shares a larger cache with other sequences whose
 * cells are interleaved with its own. The tile kernels themselves are
 * tested in test_attn_kernels.c. */
#include "cllm.h"
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "ops/ops_cpu.h"
#include "quant/blocks.h"
#include "tensor/types.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Plan vs full scan on interleaved cells. */
static void test_plan_vs_scan(void) {
    enum { NH = 4, NKV = 2, HD = 64, NCELL = 300, NT = 7 };
    const int64_t KD = NKV * HD;
    cllm_ops_limits lim = {.n_threads = 2, .n_batch = NT, .max_row = 256, .n_ctx = NCELL, .head_dim = HD};
    cllm_ops_ctx *c = NULL;
    CHECK(cllm_ops_ctx_init(&lim, &c) == CLLM_OK, "ops ctx: %s", cllm_last_error());
    if (!c) return;
    const cllm_kernels *kern = c->kern;
    int32_t cpos[NCELL];
    uint64_t cseq[NCELL];
    int32_t next[4] = {0, 0, 0, 0};
    for (int j = 0; j < NCELL; j++) {
        rng = rng * 1664525u + 1013904223u;
        const int r = (int)((rng >> 16) % 10);
        if (j < 20) {            /* shared prefix of seqs 0,1,2 */
            cseq[j] = 7;
            cpos[j] = j;
        } else if (r == 9) {     /* free cell */
            cseq[j] = 0;
            cpos[j] = -1;
        } else {
            const int s = r % 4;
            cseq[j] = 1ull << s;
            cpos[j] = (s < 3 ? 20 : 0) + next[s]++;
        }
    }
    /* tokens: already stored in cells like the engine does */
    const uint64_t tseq[NT] = {1, 2, 1, 4, 8, 1, 3};
    int32_t tpos[NT];
    for (int t = 0; t < NT; t++) {
        int32_t hi = -1;
        for (int j = 0; j < NCELL; j++)
            if (cseq[j] && !(tseq[t] & ~cseq[j]) && cpos[j] > hi) hi = cpos[j];
        tpos[t] = hi - (t == 0 ? 3 : 0);   /* token 0 sees a strict prefix of seq 0 */
    }
    float *q = malloc(sizeof(float) * NT * NH * HD), *kf = malloc(sizeof(float) * NCELL * KD),
          *vf = malloc(sizeof(float) * NCELL * KD), *o1 = malloc(sizeof(float) * NT * NH * HD),
          *o2 = malloc(sizeof(float) * NT * NH * HD);
    for (int i = 0; i < NT * NH * HD; i++) q[i] = frand();
    for (int i = 0; i < NCELL * KD; i++) kf[i] = frand(), vf[i] = frand();
    cllm_attn_plan plan = {0};
    CHECK(cllm_attn_plan_build(&plan, NT, tpos, tseq, NCELL, cpos, cseq), "plan");
    CHECK(plan.n_sets == 5, "5 distinct masks: %d", plan.n_sets);
    {
        int n0 = plan.set_cell_off[1] - plan.set_cell_off[0];
        int want = 0;
        for (int j = 0; j < NCELL; j++) want += (cseq[j] & 1) && cpos[j] <= tpos[2];
        CHECK(n0 == want && n0 < NCELL / 2, "seq 0 sees %d cells (want %d of %d)", n0, want, NCELL);
    }
    const cllm_type types[] = {CLLM_TYPE_F32, CLLM_TYPE_F16, CLLM_TYPE_Q8_0};
    for (int ti = 0; ti < 3; ti++) {
        const cllm_type kt = types[ti];
        const size_t rb = (size_t)cllm_type_row_size(kt, KD);
        char *kb = malloc(rb * NCELL), *vb = malloc(rb * NCELL);
        for (int j = 0; j < NCELL; j++) {
            if (kt == CLLM_TYPE_F32) {
                memcpy(kb + rb * j, kf + j * KD, rb);
                memcpy(vb + rb * j, vf + j * KD, rb);
            } else {
                kern->from_float[kt](kf + j * KD, kb + rb * j, KD);
                kern->from_float[kt](vf + j * KD, vb + rb * j, KD);
            }
        }
        cllm_attn_args a = {.q = q, .q_stride = NH * HD, .out = o1, .out_stride = NH * HD, .n_tok = NT,
                            .n_head = NH, .n_head_kv = NKV, .head_dim = HD, .scale = 0.125f, .kv_type = kt,
                            .k = kb, .v = vb, .kv_row_bytes = rb, .n_kv = NCELL, .cell_pos = cpos,
                            .cell_seq = cseq, .tok_pos = tpos, .tok_seq = tseq};
        cllm_ops_cpu()->attention(c, &a);
        a.out = o2;
        a.plan = &plan;
        cllm_ops_cpu()->attention(c, &a);
        double w = 0, mag = 0;
        for (int i = 0; i < NT * NH * HD; i++) {
            w = fmax(w, fabs((double)o1[i] - o2[i]));
            mag = fmax(mag, fabs((double)o1[i]));
        }
        CHECK(w <= 2e-6 * fmax(mag, 1e-3) && mag > 1e-3, "type %s: plan vs scan %g (|o| %g)", cllm_type_name(kt), w,
              mag);
        free(kb);
        free(vb);
    }
    cllm_attn_plan_free(&plan);
    cllm_attn_plan_free(&plan);
    free(q), free(kf), free(vf), free(o1), free(o2);
    cllm_ops_ctx_free(c);
}

/* Model level: seq 0 alone in n_ctx 64 vs seq 0 among 3 other sequences in
 * n_ctx 512 (their cells interleaved with seq 0's, and decoded in separate
 * batches so seq 0's own batches are the same single-token ones). */
static const int32_t P[] = {1, 493, 115, 443, 84, 209, 141, 118, 436, 184, 358, 394, 315, 401, 236, 279, 267, 455};
#define NP ((int)(sizeof P / sizeof P[0]))

static cllm_context *mkctx(cllm_model *m, uint32_t n_ctx, uint32_t n_seq, cllm_type kv) {
    cllm_context_params cp = cllm_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = 16;
    cp.n_seq_max = n_seq;
    cp.n_threads = 2;
    cp.kv_type = kv;
    cllm_context *c = NULL;
    CHECK(cllm_context_init(m, &cp, &c) == CLLM_OK, "context: %s", cllm_last_error());
    return c;
}

static void test_isolation(cllm_model *m, cllm_type kv) {
    const int nv = cllm_model_n_vocab(m);
    cllm_context *ca = mkctx(m, 64, 1, kv), *cb = mkctx(m, 512, 4, kv);
    if (!ca || !cb) goto done;
    cllm_batch b = cllm_batch_init(16, 1);
    int mism = 0;
    for (int i = 0; i < NP; i++) {
        /* others: two tokens each for seqs 1..3 before seq 0's token */
        cllm_batch_clear(&b);
        for (int s = 1; s <= 3; s++) {
            for (int r = 0; r < 2; r++) {
                const int32_t sid = s;
                cllm_batch_add(&b, P[(i * 3 + s + r) % NP], 2 * i + r, &sid, 1, r == 1);
            }
        }
        CHECK(cllm_decode(cb, &b) == CLLM_OK, "others: %s", cllm_context_last_error(cb));
        const int32_t s0 = 0;
        cllm_batch_clear(&b);
        cllm_batch_add(&b, P[i], i, &s0, 1, true);
        CHECK(cllm_decode(ca, &b) == CLLM_OK, "alone: %s", cllm_context_last_error(ca));
        CHECK(cllm_decode(cb, &b) == CLLM_OK, "shared: %s", cllm_context_last_error(cb));
        const float *la = cllm_get_logits_ith(ca, 0), *lb = cllm_get_logits_ith(cb, 0);
        if (!la || !lb || memcmp(la, lb, sizeof(float) * (size_t)nv) != 0) mism++;
    }
    CHECK(mism == 0, "kv %s: %d of %d positions differ between alone and shared cache", cllm_type_name(kv), mism, NP);
    cllm_batch_free(&b);
done:
    cllm_context_free(ca);
    cllm_context_free(cb);
}

int main(void) {
    test_plan_vs_scan();
    test_require_shared("model-level isolation test needs the synthetic models");
    cllm_model *m = NULL;
    if (cllm_model_load(test_shared_path("models/synthetic/llama-f32.gguf"), NULL, &m) != CLLM_OK) {
        CHECK(0, "load: %s", cllm_last_error());
        return test_finish();
    }
    test_isolation(m, CLLM_TYPE_F16);
    test_isolation(m, CLLM_TYPE_F32);
    test_isolation(m, CLLM_TYPE_Q8_0);
    cllm_model_free(m);
    return test_finish();
}
