/* test_convert_logits.c: the GGUF that `cllm convert` makes of
 * tinystories-656k-hf (F32) must run like the reference's conversion: the
 * golden greedy continuation of "Once upon a time" (golden/greedy, computed by
 * llama.cpp on an F32 conversion of the folder) is reproduced under the F32
 * rule of golden/README.md: ids equal up to the first step whose top-1/top-2
 * margin is below 2e-3 x max|logit|. The golden's margins and max|logit| are
 * also compared with ours (1e-3 x max|logit|, the F32 logits tolerance), and
 * the tokenizer must give the golden prompt ids. */
#include "convert/convert.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static void top2(const float *x, int n, float *margin, float *maxabs) {
    float a = -INFINITY, b = -INFINITY, m = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] > a) { b = a; a = x[i]; }
        else if (x[i] > b) b = x[i];
        if (fabsf(x[i]) > m) m = fabsf(x[i]);
    }
    *margin = a - b;
    *maxabs = m;
}

int main(void) {
    test_require_shared("tinystories-656k-hf and golden/greedy");
    json_error_t je;
    json_t *idx = json_load_file(test_shared_path("golden/greedy/index.json"), 0, &je);
    CHECK(idx != NULL, "greedy index: %s", je.text);
    json_t *e = NULL, *it;
    size_t k;
    json_array_foreach(idx, k, it) {
        if (!strcmp(json_string_value(json_object_get(it, "model")), "models/real/tinystories-656k-hf")) e = it;
    }
    CHECK(e != NULL, "tinystories entry in golden/greedy");
    if (!e) return test_finish();

    char out[256];
    snprintf(out, sizeof out, "/tmp/cllm_test_convert_logits_%d.gguf", (int)getpid());
    cllm_convert_params p = {.outtype = CLLM_TYPE_F32};
    cllm_status st = cllm_convert_hf(test_shared_path("models/real/tinystories-656k-hf"), out, &p);
    CHECK(st == CLLM_OK, "convert: %s", cllm_last_error());
    cllm_model *m = NULL;
    cllm_model_params mp = cllm_model_default_params();
    if (st == CLLM_OK) CHECK(cllm_model_load(out, &mp, &m) == CLLM_OK, "load: %s", cllm_last_error());
    cllm_context *c = NULL;
    cllm_context_params cp = cllm_context_default_params();
    cp.n_ctx = 256;
    cp.kv_type = CLLM_TYPE_F32;
    cp.n_threads = 1; /* a tiny model: a thread pool only adds wake-up latency */
    if (m) CHECK(cllm_context_init(m, &cp, &c) == CLLM_OK, "context: %s", cllm_last_error());
    if (!c) {
        cllm_model_free(m);
        unlink(out);
        json_decref(idx);
        return test_finish();
    }

    /* tokenizer: the golden prompt ids */
    json_t *pids = json_object_get(e, "prompt_ids"), *gids = json_object_get(e, "greedy_ids");
    json_t *margins = json_object_get(e, "margins"), *maxabs = json_object_get(e, "max_abs_logit");
    cllm_vocab *v = NULL;
    CHECK(cllm_vocab_load(cllm_model_gguf(m), &v) == CLLM_OK, "vocab: %s", cllm_last_error());
    if (v) {
        const char *prompt = json_string_value(json_object_get(e, "prompt"));
        int32_t ids[64];
        int n = cllm_tokenize(v, prompt, strlen(prompt), ids, 64, true, false);
        bool same = n == (int)json_array_size(pids);
        for (int i = 0; i < n && same; i++) same = ids[i] == json_integer_value(json_array_get(pids, (size_t)i));
        CHECK(same, "tokenizer ids of \"%s\" differ from the golden prompt ids", prompt);
        cllm_vocab_free(v);
    }

    const int n_vocab = cllm_model_n_vocab(m), np = (int)json_array_size(pids), ng = (int)json_array_size(gids);
    cllm_batch b = cllm_batch_init(64, 1);
    const int32_t seq = 0;
    for (int i = 0; i < np; i++)
        cllm_batch_add(&b, (int32_t)json_integer_value(json_array_get(pids, (size_t)i)), i, &seq, 1, i == np - 1);
    st = cllm_decode(c, &b);
    CHECK(st == CLLM_OK, "decode prompt: %s", cllm_context_last_error(c));
    int matched = 0, decisive = 0;
    bool diverged = false;
    double worst_margin = 0;
    for (int s = 0; s < ng && st == CLLM_OK; s++) {
        const float *lg = cllm_get_logits_ith(c, -1);
        if (!lg) { CHECK(0, "no logits at step %d", s); break; }
        const int want = (int)json_integer_value(json_array_get(gids, (size_t)s));
        const double gm = json_number_value(json_array_get(margins, (size_t)s));
        const double ga = json_number_value(json_array_get(maxabs, (size_t)s));
        const int got = argmax(lg, n_vocab);
        float mg, ma;
        top2(lg, n_vocab, &mg, &ma);
        if (!diverged) {
            if (gm < 2e-3 * ga) {
                diverged = true; /* a near-tie: later ids are informative only */
            } else {
                decisive++;
                CHECK(got == want, "step %d: id %d, golden %d", s, got, want);
                matched += got == want;
                const double dm = fabs(mg - gm) / ga, da = fabs(ma - ga) / ga;
                if (dm > worst_margin) worst_margin = dm;
                if (da > worst_margin) worst_margin = da;
                if (got != want) diverged = true;
            }
        }
        /* continue along the golden path so that later steps stay comparable */
        cllm_batch_clear(&b);
        cllm_batch_add(&b, want, np + s, &seq, 1, true);
        st = cllm_decode(c, &b);
    }
    printf("converted tinystories-656k-hf: %d/%d decisive greedy steps equal the golden (of %d), "
           "worst margin/max|logit| difference %.2e x max|logit|\n",
           matched, decisive, ng, worst_margin);
    CHECK(decisive >= 16, "only %d decisive steps", decisive);
    CHECK(worst_margin <= 1e-3, "margins differ by %.2e x max|logit|", worst_margin);
    cllm_batch_free(&b);
    cllm_context_free(c);
    cllm_model_free(m);
    unlink(out);
    json_decref(idx);
    return test_finish();
}
