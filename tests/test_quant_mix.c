/* test_quant_mix.c: the per-tensor quantization mixes (llama-quantize without
 * --pure). The synthetic F32 llama quantized as Q4_K_M must be byte-identical
 * to llama.cpp's own mix (models/synthetic/llama-q4_k_m-mix.gguf: 13 tensors
 * Q4_K, output / blk.1.attn_v / blk.1.ffn_down Q6_K). For the other file types
 * (no reference file shipped) every tensor's type is checked against a table
 * worked out from llama.cpp's llama_tensor_get_type rules for this 2-layer,
 * n_gqa = 2 model: use_more_bits(i, 2) is true only for layer 1. Also: a tied
 * model (no output.weight) gets its token_embd at the output's type, and
 * --pure (p.pure) still gives one type everywhere. */
#include "quant/quantize_file.h"
#include "tensor/types.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Expected types by tensor kind: output, token_embd, attn_q, attn_k, attn_v
 * (layer 0, layer 1), attn_output, ffn_gate, ffn_up, ffn_down (layer 0, 1). */
typedef struct {
    const char *target;
    int ftype;
    cllm_type output, embd, q, k, v0, v1, o, gate, up, down0, down1;
} mix_case;

#define Q2 CLLM_TYPE_Q2_K
#define Q3 CLLM_TYPE_Q3_K
#define Q4 CLLM_TYPE_Q4_K
#define Q5 CLLM_TYPE_Q5_K
#define Q6 CLLM_TYPE_Q6_K
static const mix_case k_mix[] = {
    {"Q2_K", 10, Q6, Q2, Q2, Q2, Q3, Q3, Q3, Q2, Q2, Q3, Q3},
    {"Q3_K_S", 11, Q6, Q3, Q3, Q3, Q3, Q3, Q3, Q3, Q3, Q3, Q3},
    {"Q3_K_M", 12, Q6, Q3, Q3, Q3, Q5, Q5, Q4, Q3, Q3, Q4, Q4},
    {"Q3_K_L", 13, Q6, Q3, Q3, Q3, Q5, Q5, Q5, Q3, Q3, Q5, Q5},
    {"Q4_K_S", 14, Q6, Q4, Q4, Q4, Q5, Q5, Q4, Q4, Q4, Q4, Q4},
    {"Q4_K_M", 15, Q6, Q4, Q4, Q4, Q4, Q6, Q4, Q4, Q4, Q4, Q6},
    {"Q5_K_S", 16, Q6, Q5, Q5, Q5, Q5, Q5, Q5, Q5, Q5, Q5, Q5},
    {"Q5_K_M", 17, Q6, Q5, Q5, Q5, Q5, Q6, Q5, Q5, Q5, Q5, Q6},
    {"Q6_K", 18, Q6, Q6, Q6, Q6, Q6, Q6, Q6, Q6, Q6, Q6, Q6},
    {"Q4_0", 2, Q6, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0,
     CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0, CLLM_TYPE_Q4_0},
    {"Q8_0", 7, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0,
     CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0, CLLM_TYPE_Q8_0},
    {"IQ4_XS", 30, Q6, CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS,
     CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS, CLLM_TYPE_IQ4_XS},
};

static cllm_type expected(const mix_case *c, const char *name) {
    if (!strcmp(name, "output.weight")) return c->output;
    if (!strcmp(name, "token_embd.weight")) return c->embd;
    if (strstr(name, "_norm.")) return CLLM_TYPE_F32;
    const bool l1 = strncmp(name, "blk.1.", 6) == 0;
    if (strstr(name, "attn_q.")) return c->q;
    if (strstr(name, "attn_k.")) return c->k;
    if (strstr(name, "attn_v.")) return l1 ? c->v1 : c->v0;
    if (strstr(name, "attn_output.")) return c->o;
    if (strstr(name, "ffn_gate.")) return c->gate;
    if (strstr(name, "ffn_up.")) return c->up;
    if (strstr(name, "ffn_down.")) return l1 ? c->down1 : c->down0;
    return (cllm_type)-1;
}

/* Quantize in -> out with target; returns the opened output or NULL. */
static cllm_gguf *quantize(const char *in, const char *out, const char *target, bool pure, int *ftype_out) {
    cllm_quant_file_params p = {0};
    if (!cllm_quant_parse_target(target, &p.type, &p.ftype)) {
        CHECK(0, "parse %s", target);
        return NULL;
    }
    p.n_threads = 2;
    p.pure = pure;
    if (ftype_out) *ftype_out = p.ftype;
    cllm_status st = cllm_quant_file(in, out, &p, NULL);
    CHECK(st == CLLM_OK, "%s: %s", target, cllm_last_error());
    cllm_gguf *g = NULL;
    if (st == CLLM_OK) CHECK(cllm_gguf_open(out, &g) == CLLM_OK, "reopen: %s", cllm_last_error());
    return g;
}

int main(void) {
    test_require_shared("synthetic models");
    char in[1024], tied[1024], out[1024];
    snprintf(in, sizeof in, "%s", test_shared_path("models/synthetic/llama-f32.gguf"));
    snprintf(tied, sizeof tied, "%s", test_shared_path("models/synthetic/llama-tied-f32.gguf"));
    snprintf(out, sizeof out, "/tmp/cllm_test_quant_mix_%d.gguf", (int)getpid());

    /* 1. Q4_K_M against llama.cpp's mix file, byte for byte */
    cllm_gguf *g = quantize(in, out, "Q4_K_M", false, NULL);
    if (g) {
        const char *ref = test_shared_path("models/synthetic/llama-q4_k_m-mix.gguf");
        cllm_gguf *r = NULL;
        CHECK(cllm_gguf_open(ref, &r) == CLLM_OK, "open %s", ref);
        int n_q6 = 0, n_q4 = 0;
        for (int64_t i = 0; r && i < cllm_gguf_n_tensors(r); i++) {
            const cllm_tensor_info *tr = cllm_gguf_tensor(r, i);
            int64_t j = cllm_gguf_find_tensor(g, tr->name);
            CHECK(j >= 0, "Q4_K_M: tensor %s missing", tr->name);
            if (j < 0) continue;
            const cllm_tensor_info *tg = cllm_gguf_tensor(g, j);
            CHECK(tg->type == tr->type, "Q4_K_M: %s is %s, llama.cpp has %s", tr->name, cllm_type_name(tg->type),
                  cllm_type_name(tr->type));
            n_q6 += tg->type == CLLM_TYPE_Q6_K;
            n_q4 += tg->type == CLLM_TYPE_Q4_K;
        }
        CHECK(n_q6 == 3 && n_q4 == 13, "Q4_K_M: %d Q6_K and %d Q4_K tensors (want 3 and 13)", n_q6, n_q4);
        size_t la = 0, lb = 0;
        void *fa = test_read_file(out, &la), *fb = test_read_file(ref, &lb);
        const bool same = fa && fb && la == lb && memcmp(fa, fb, la) == 0;
        printf("Q4_K_M mix: %d Q6_K + %d Q4_K tensors; file %s llama-q4_k_m-mix.gguf (%zu bytes)\n", n_q6, n_q4,
               same ? "byte-identical to" : "DIFFERS from", lb);
        CHECK(same, "Q4_K_M mix differs from llama.cpp's");
        free(fa);
        free(fb);
        cllm_gguf_free(r);
    }
    cllm_gguf_free(g);

    /* 2. every mix: each tensor's type */
    for (size_t c = 0; c < sizeof k_mix / sizeof k_mix[0]; c++) {
        int ftype = -1;
        g = quantize(in, out, k_mix[c].target, false, &ftype);
        CHECK(ftype == k_mix[c].ftype, "%s: ftype %d", k_mix[c].target, ftype);
        if (!g) continue;
        int bad = 0;
        for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
            const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
            const cllm_type want = expected(&k_mix[c], t->name);
            if (t->type != want) bad++;
            CHECK(t->type == want, "%s: %s is %s, want %s", k_mix[c].target, t->name, cllm_type_name(t->type),
                  cllm_type_name(want));
        }
        uint64_t ft = 0;
        CHECK(cllm_gguf_get_u64(g, "general.file_type", &ft) == CLLM_OK && ft == (uint64_t)k_mix[c].ftype,
              "%s: general.file_type %llu", k_mix[c].target, (unsigned long long)ft);
        printf("%-7s %lld tensors, %d with an unexpected type\n", k_mix[c].target, (long long)cllm_gguf_n_tensors(g),
               bad);
        cllm_gguf_free(g);
    }

    /* 3. tied embeddings: token_embd takes the output's type (Q6_K) */
    g = quantize(tied, out, "Q4_K_M", false, NULL);
    if (g) {
        CHECK(cllm_gguf_find_tensor(g, "output.weight") < 0, "tied model has no output.weight");
        int64_t e = cllm_gguf_find_tensor(g, "token_embd.weight");
        CHECK(e >= 0 && cllm_gguf_tensor(g, e)->type == CLLM_TYPE_Q6_K, "tied token_embd: %s",
              e >= 0 ? cllm_type_name(cllm_gguf_tensor(g, e)->type) : "missing");
    }
    cllm_gguf_free(g);

    /* 4. pure: one type for every weight, the output included */
    g = quantize(in, out, "Q4_K_M", true, NULL);
    if (g) {
        int64_t o = cllm_gguf_find_tensor(g, "output.weight");
        CHECK(o >= 0 && cllm_gguf_tensor(g, o)->type == CLLM_TYPE_Q4_K, "pure output.weight: %s",
              o >= 0 ? cllm_type_name(cllm_gguf_tensor(g, o)->type) : "missing");
    }
    cllm_gguf_free(g);
    unlink(out);
    return test_finish();
}
