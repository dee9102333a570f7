/* test_quant_file.c: whole-file quantization (cllm_quant_file, the engine of
 * `cllm quantize`) of the synthetic F32 llama to every type llama.cpp made a
 * file for: every tensor's type, shape and bytes must equal those of the
 * llama-quantize --pure output, and the metadata must carry the right
 * general.file_type. Also: the requantize guard and a missing input. */
#include "quant/quantize_file.h"
#include "tensor/types.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct { const char *file, *target; int ftype; } k_cases[] = {
    {"llama-f16.gguf", "f16", 1},     {"llama-bf16.gguf", "bf16", 32},    {"llama-q8_0.gguf", "q8_0", 7},
    {"llama-q4_0.gguf", "q4_0", 2},   {"llama-q4_1.gguf", "q4_1", 3},     {"llama-q5_0.gguf", "q5_0", 8},
    {"llama-q5_1.gguf", "q5_1", 9},   {"llama-q2_k.gguf", "q2_K", 10},    {"llama-q3_k_m.gguf", "Q3_K_M", 12},
    {"llama-q4_k_m.gguf", "Q4_K_M", 15}, {"llama-q5_k_m.gguf", "Q5_K_M", 17}, {"llama-q6_k.gguf", "q6_K", 18},
    {"llama-iq4_nl.gguf", "iq4_nl", 25}, {"llama-iq4_xs.gguf", "iq4_xs", 30},
};

int main(void) {
    test_require_shared("synthetic models");
    char in[1024], out[1024];
    snprintf(in, sizeof in, "%s", test_shared_path("models/synthetic/llama-f32.gguf"));
    snprintf(out, sizeof out, "/tmp/cllm_test_quant_file_%d.gguf", (int)getpid());

    for (size_t c = 0; c < sizeof k_cases / sizeof k_cases[0]; c++) {
        cllm_quant_file_params p = {0};
        CHECK(cllm_quant_parse_target(k_cases[c].target, &p.type, &p.ftype), "parse %s", k_cases[c].target);
        CHECK(p.ftype == k_cases[c].ftype, "%s: ftype %d", k_cases[c].target, p.ftype);
        p.n_threads = 3;
        p.pure = true; /* the shared files come from llama-quantize --pure */
        cllm_quant_file_stats s;
        cllm_status st = cllm_quant_file(in, out, &p, &s);
        CHECK(st == CLLM_OK, "%s: %s", k_cases[c].target, cllm_last_error());
        if (st != CLLM_OK) continue;
        char rp[1024];
        snprintf(rp, sizeof rp, "models/synthetic/%s", k_cases[c].file);
        cllm_gguf *a = NULL, *b = NULL;
        CHECK(cllm_gguf_open(out, &a) == CLLM_OK, "reopen output: %s", cllm_last_error());
        CHECK(cllm_gguf_open(test_shared_path(rp), &b) == CLLM_OK, "open %s", rp);
        if (a && b) {
            int64_t n = cllm_gguf_n_tensors(b), same = 0;
            CHECK(cllm_gguf_n_tensors(a) == n, "%s: %lld tensors vs %lld", rp, (long long)cllm_gguf_n_tensors(a),
                  (long long)n);
            for (int64_t i = 0; i < n && i < cllm_gguf_n_tensors(a); i++) {
                const cllm_tensor_info *tb = cllm_gguf_tensor(b, i);
                const cllm_tensor_info *ta = cllm_gguf_tensor(a, i);
                bool eq = strcmp(ta->name, tb->name) == 0 && ta->type == tb->type && ta->n_dims == tb->n_dims &&
                          memcmp(ta->ne, tb->ne, sizeof ta->ne) == 0 && ta->nbytes == tb->nbytes &&
                          ta->offset == tb->offset && memcmp(ta->data, tb->data, tb->nbytes) == 0;
                CHECK(eq, "%s: tensor %lld (%s vs %s) differs", rp, (long long)i, ta->name, tb->name);
                same += eq;
            }
            uint64_t ft = 0, qv = 0;
            CHECK(cllm_gguf_get_u64(a, "general.file_type", &ft) == CLLM_OK && ft == (uint64_t)k_cases[c].ftype,
                  "%s: file_type %llu", rp, (unsigned long long)ft);
            CHECK(cllm_gguf_get_u64(a, "general.quantization_version", &qv) == CLLM_OK && qv == 2,
                  "quantization_version");
            CHECK(cllm_gguf_n_kv(a) == cllm_gguf_n_kv(b), "%s: %lld keys vs %lld", rp, (long long)cllm_gguf_n_kv(a),
                  (long long)cllm_gguf_n_kv(b));
            size_t la = 0, lb = 0;
            void *fa = test_read_file(out, &la), *fb = test_read_file(test_shared_path(rp), &lb);
            const bool whole = fa && fb && la == lb && memcmp(fa, fb, la) == 0;
            free(fa);
            free(fb);
            printf("%-7s -> %-20s %2lld/%2lld tensors identical, whole file %s, %lld converted, %.3f -> %.3f MiB\n",
                   k_cases[c].target, k_cases[c].file, (long long)same, (long long)n,
                   whole ? "byte-identical" : "DIFFERENT", (long long)s.n_quantized, s.in_bytes / 1048576.0,
                   s.out_bytes / 1048576.0);
            CHECK(whole, "%s: file differs from llama-quantize's", rp);
        }
        cllm_gguf_free(a);
        cllm_gguf_free(b);
    }

    /* requantize guard; the failure must not leave an output */
    unlink(out);
    cllm_quant_file_params p = {.type = CLLM_TYPE_Q4_0, .ftype = -1, .n_threads = 2};
    cllm_status st = cllm_quant_file(test_shared_path("models/synthetic/llama-q8_0.gguf"), out, &p, NULL);
    CHECK(st == CLLM_ERR_UNSUPPORTED, "requantize refused: %d", st);
    CHECK(strstr(cllm_last_error(), "already quantized") != NULL, "message: %s", cllm_last_error());
    CHECK(access(out, F_OK) != 0, "no output after a refusal");
    p.allow_requantize = true;
    st = cllm_quant_file(test_shared_path("models/synthetic/llama-q8_0.gguf"), out, &p, NULL);
    CHECK(st == CLLM_OK, "requantize allowed: %s", cllm_last_error());
    st = cllm_quant_file("/nonexistent/x.gguf", out, &p, NULL);
    CHECK(st != CLLM_OK, "missing input fails");
    /* rows that K-quant blocks do not divide: stories260K has 64- and
     * 172-long rows; Q4_K falls back to Q5_0, then to F16 (llama.cpp's rules) */
    cllm_quant_file_params pk = {.type = CLLM_TYPE_Q4_K, .ftype = -1, .n_threads = 2, .pure = true};
    st = cllm_quant_file(test_shared_path("models/real/stories260K.gguf"), out, &pk, NULL);
    CHECK(st == CLLM_OK, "stories260K q4_K: %s", cllm_last_error());
    cllm_gguf *g = NULL;
    if (st == CLLM_OK && cllm_gguf_open(out, &g) == CLLM_OK) {
        const struct { const char *name; cllm_type type; } want[] = {
            {"blk.0.attn_q.weight", CLLM_TYPE_Q5_0}, {"blk.0.ffn_down.weight", CLLM_TYPE_F16},
            {"blk.0.ffn_up.weight", CLLM_TYPE_Q5_0}, {"blk.0.attn_norm.weight", CLLM_TYPE_F32},
            {"token_embd.weight", CLLM_TYPE_Q5_0}};
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            int64_t ti = cllm_gguf_find_tensor(g, want[k].name);
            CHECK(ti >= 0 && cllm_gguf_tensor(g, ti)->type == want[k].type, "stories260K %s: type %d", want[k].name,
                  ti >= 0 ? (int)cllm_gguf_tensor(g, ti)->type : -1);
        }
        uint64_t ft = 0;
        CHECK(cllm_gguf_get_u64(g, "general.file_type", &ft) == CLLM_OK && ft == 14, "Q4_K_S file type %llu",
              (unsigned long long)ft);
    }
    cllm_gguf_free(g);
    p.type = CLLM_TYPE_Q8_K;
    CHECK(cllm_quant_file(in, out, &p, NULL) == CLLM_ERR_INVALID_ARG, "q8_K is not a file type");
    unlink(out);
    return test_finish();
}
