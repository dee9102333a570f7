/* test_tokenizer_golden.c: the tokenizer against the ids and texts of
 * ../shared/golden (produced with llama.cpp on the real GGUF models):
 * - greedy/index.json: tokenize(prompt, add_special) == prompt_ids, and the
 *   joined pieces of greedy_ids == text (llama-completion's output);
 * - logits/index.json: tokenize(text, add_special) == tokens;
 * - perplexity/index.json: stories.txt (less one trailing newline) with BOS
 *   has between 128*n_chunks and 128*(n_chunks+1)-1 tokens. */
#include "cllm.h"
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static cllm_vocab *load_vocab(const char *rel) {
    cllm_gguf *g = NULL;
    cllm_vocab *v = NULL;
    if (cllm_gguf_open(test_shared_path(rel), &g) == CLLM_OK) cllm_vocab_load(g, &v);
    cllm_gguf_free(g);
    return v;
}

static int ids_from_json(json_t *a, int32_t *out, int cap) {
    int n = 0;
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) {
        if (n < cap) out[n] = (int32_t)json_integer_value(x);
        n++;
    }
    return n;
}

static bool is_gguf(const char *model) {
    size_t l = strlen(model);
    return l > 5 && !strcmp(model + l - 5, ".gguf");
}

static void check_tokens(const char *what, const char *model, const char *text, json_t *want_json) {
    cllm_vocab *v = load_vocab(model);
    CHECK(v != NULL, "%s: load %s: %s", what, model, cllm_last_error());
    if (!v) return;
    int32_t want[4096], got[4096];
    int nw = ids_from_json(want_json, want, 4096);
    int32_t ng = cllm_tokenize(v, text, strlen(text), got, 4096, true, false);
    bool ok = ng == nw && memcmp(got, want, sizeof(int32_t) * (size_t)nw) == 0;
    CHECK(ok, "%s %s: tokenize('%s') differs (%d vs %d ids)", what, model, text, ng, nw);
    if (!ok) {
        fprintf(stderr, "  want:");
        for (int i = 0; i < nw; i++) fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n  got: ");
        for (int i = 0; i < ng; i++) fprintf(stderr, " %d", got[i]);
        fprintf(stderr, "\n");
    }
    cllm_vocab_free(v);
}

int main(void) {
    test_require_shared("golden ids in ../shared/golden");
    json_error_t je;
    int n_greedy = 0, n_logits = 0, n_ppl = 0;

    json_t *greedy = json_load_file(test_shared_path("golden/greedy/index.json"), 0, &je);
    CHECK(greedy != NULL, "greedy/index.json: %s", je.text);
    size_t i;
    json_t *e;
    json_array_foreach(greedy, i, e) {
        const char *model = json_string_value(json_object_get(e, "model"));
        const char *prompt = json_string_value(json_object_get(e, "prompt"));
        const char *text = json_string_value(json_object_get(e, "text"));
        if (!model || !is_gguf(model) || !prompt) continue;
        check_tokens("greedy prompt", model, prompt, json_object_get(e, "prompt_ids"));
        if (!text) continue;
        cllm_vocab *v = load_vocab(model);
        if (!v) continue;
        int32_t ids[256];
        int n = ids_from_json(json_object_get(e, "greedy_ids"), ids, 256);
        char out[4096], piece[256];
        size_t k = 0;
        for (int j = 0; j < n && n <= 256; j++) {
            int32_t m = cllm_token_to_piece(v, ids[j], piece, sizeof piece, false);
            if (m > 0 && k + (size_t)m < sizeof out) {
                memcpy(out + k, piece, (size_t)m);
                k += (size_t)m;
            }
        }
        CHECK(k == strlen(text) && memcmp(out, text, k) == 0, "greedy text of %s: '%.*s' vs '%s'", model, (int)k,
              out, text);
        n_greedy++;
        cllm_vocab_free(v);
    }
    json_decref(greedy);

    json_t *logits = json_load_file(test_shared_path("golden/logits/index.json"), 0, &je);
    CHECK(logits != NULL, "logits/index.json: %s", je.text);
    json_array_foreach(logits, i, e) {
        const char *model = json_string_value(json_object_get(e, "model"));
        const char *text = json_string_value(json_object_get(e, "text"));
        if (!model || !text || !is_gguf(model)) continue;
        check_tokens("logits text", model, text, json_object_get(e, "tokens"));
        n_logits++;
    }
    json_decref(logits);

    json_t *ppl = json_load_file(test_shared_path("golden/perplexity/index.json"), 0, &je);
    CHECK(ppl != NULL, "perplexity/index.json: %s", je.text);
    json_array_foreach(ppl, i, e) {
        const char *model = json_string_value(json_object_get(e, "model"));
        const char *file = json_string_value(json_object_get(e, "text"));
        json_t *ref = json_object_get(e, "reference_default");
        int n_ctx = (int)json_integer_value(json_object_get(e, "n_ctx"));
        int chunks = (int)json_integer_value(json_object_get(ref, "n_chunks"));
        if (!model || !file || n_ctx <= 0 || chunks <= 0) continue;
        size_t len = 0;
        char *text = test_read_file(test_shared_path(file), &len);
        cllm_vocab *v = load_vocab(model);
        CHECK(text && v, "perplexity inputs for %s", model);
        if (text && v) {
            if (len > 0 && text[len - 1] == '\n') len--;
            int32_t n = cllm_tokenize(v, text, len, NULL, 0, true, false);
            CHECK(n >= n_ctx * chunks && n < n_ctx * (chunks + 1), "%s: %d tokens for %d chunks of %d", model, n,
                  chunks, n_ctx);
            printf("perplexity text with %s: %d tokens (%d chunks of %d)\n", model, n, chunks, n_ctx);
            n_ppl++;
        }
        free(text);
        cllm_vocab_free(v);
    }
    json_decref(ppl);
    printf("golden: %d greedy prompts/texts, %d logits texts, %d perplexity texts\n", n_greedy, n_logits, n_ppl);
    CHECK(n_greedy >= 3 && n_logits >= 2 && n_ppl >= 2, "expected golden entries missing");
    return test_finish();
}
