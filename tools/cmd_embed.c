/* cmd_embed.c: `cllm embed -m MODEL [--pooling mean|cls|last] [--normalize]
 * [-t N] TEXT...`: one embedding per text as JSON on stdout. Each text is
 * tokenized (special tokens added and parsed, as llama-embedding does),
 * decoded as its own sequence from an empty cache, and its final-normed
 * hidden states pooled: mean over the tokens, the first (cls) or the last
 * token. The default pooling is the GGUF's <arch>.pooling_type, or last when
 * the file has none (a causal model's natural summary). --normalize divides
 * by the Euclidean norm.
 *
 * The engine pools by the model's pooling type; the public API has no
 * per-context override yet, so the requested type is set on the loaded
 * model's hyper-parameters (internal header model/model.h). */
#include "commands.h"
#include "cllm.h"
#include "model/model.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm embed -m MODEL [--pooling mean|cls|last] [--normalize] [-t N] TEXT...\n"
            "  --pooling    how token states become one vector (default: the GGUF's pooling_type,\n"
            "               else last)\n"
            "  --normalize  scale each embedding to unit Euclidean norm\n"
            "Prints {\"model\", \"pooling\", \"normalized\", \"n_embd\", \"data\": [{\"index\", \"text\",\n"
            "\"n_tokens\", \"embedding\"}]}.\n");
}

static const char *pooling_name(int p) {
    switch (p) {
    case CLLM_POOLING_MEAN: return "mean";
    case CLLM_POOLING_CLS: return "cls";
    case CLLM_POOLING_LAST: return "last";
    default: return "none";
    }
}

int cllm_cmd_embed(int argc, char **argv) {
    const char *model_path = NULL;
    int pooling = -1;
    bool normalize = false;
    long n_threads = -1;
    const char **texts = calloc((size_t)argc, sizeof *texts);
    int n_texts = 0;
    if (!texts) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(texts);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "--pooling") || !strcmp(a, "-t") ||
                   !strcmp(a, "--threads")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cllm embed: %s needs a value\n", a);
                free(texts);
                return 2;
            }
            const char *v = argv[++i];
            if (a[1] == 'm' || !strcmp(a, "--model")) {
                model_path = v;
            } else if (!strcmp(a, "--pooling")) {
                pooling = !strcmp(v, "mean") ? CLLM_POOLING_MEAN : !strcmp(v, "cls") ? CLLM_POOLING_CLS
                        : !strcmp(v, "last") ? CLLM_POOLING_LAST : -2;
                if (pooling == -2) {
                    fprintf(stderr, "cllm embed: --pooling must be mean, cls or last (got '%s')\n", v);
                    free(texts);
                    return 2;
                }
            } else {
                char *end = NULL;
                n_threads = strtol(v, &end, 10);
                if (*end || n_threads < 1 || n_threads > 1024) {
                    fprintf(stderr, "cllm embed: -t needs a thread count in 1..1024\n");
                    free(texts);
                    return 2;
                }
            }
        } else if (!strcmp(a, "--normalize")) {
            normalize = true;
        } else if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
            fprintf(stderr, "cllm embed: unknown option '%s'\n", a);
            free(texts);
            return 2;
        } else {
            texts[n_texts++] = a;
        }
    }
    if (!model_path || n_texts == 0) {
        usage(stderr);
        free(texts);
        return 2;
    }

    int rc = 1;
    cllm_model *m = NULL;
    cllm_context *c = NULL;
    cllm_vocab *own_vocab = NULL;
    int32_t *toks = NULL;
    cllm_batch b = {0};
    json_t *out = json_object(), *data = json_array();
    cllm_model_params mp = cllm_model_default_params();
    if (cllm_model_load(model_path, &mp, &m) != CLLM_OK) {
        fprintf(stderr, "cllm embed: %s\n", cllm_last_error());
        goto done;
    }
    const cllm_vocab *voc = cllm_model_vocab(m);
    if (!voc) {
        if (cllm_vocab_load(cllm_model_gguf(m), &own_vocab) != CLLM_OK) {
            fprintf(stderr, "cllm embed: %s: tokenizer: %s\n", model_path, cllm_last_error());
            goto done;
        }
        voc = own_vocab;
    }
    if (pooling < 0) pooling = m->hp.pooling != CLLM_POOLING_NONE ? m->hp.pooling : CLLM_POOLING_LAST;
    m->hp.pooling = pooling; /* see the top comment */

    /* tokenize everything first: the context must hold the longest text */
    int32_t **ids = calloc((size_t)n_texts, sizeof *ids);
    int32_t *n_ids = calloc((size_t)n_texts, sizeof *n_ids);
    int32_t max_n = 1;
    if (!ids || !n_ids) {
        free(ids);
        free(n_ids);
        goto done;
    }
    bool tok_ok = true;
    for (int t = 0; t < n_texts && tok_ok; t++) {
        const size_t len = strlen(texts[t]);
        const int32_t n = cllm_tokenize(voc, texts[t], len, NULL, 0, true, true);
        ids[t] = malloc((size_t)(n > 0 ? n : 1) * sizeof **ids);
        tok_ok = n > 0 && ids[t] && cllm_tokenize(voc, texts[t], len, ids[t], n, true, true) == n;
        n_ids[t] = n;
        if (!tok_ok) fprintf(stderr, "cllm embed: text %d gives no tokens\n", t);
        if (n > max_n) max_n = n;
    }
    cllm_context_params cp = cllm_context_default_params();
    cp.n_ctx = (uint32_t)max_n;
    cp.n_batch = (uint32_t)max_n;
    cp.n_seq_max = 1;
    cp.embeddings = true;
    cp.n_threads = (int32_t)n_threads;
    if (tok_ok && cllm_context_init(m, &cp, &c) != CLLM_OK) {
        fprintf(stderr, "cllm embed: %s\n", cllm_last_error());
        tok_ok = false;
    }
    const int32_t n_embd = cllm_model_n_embd(m), seq0 = 0;
    if (tok_ok) b = cllm_batch_init(max_n, 1);
    for (int t = 0; t < n_texts && tok_ok; t++) {
        cllm_kv_clear(c);
        cllm_batch_clear(&b);
        for (int32_t j = 0; j < n_ids[t]; j++) cllm_batch_add(&b, ids[t][j], j, &seq0, 1, false);
        const float *e = NULL;
        if (cllm_decode(c, &b) != CLLM_OK || !(e = cllm_get_embeddings_seq(c, 0))) {
            fprintf(stderr, "cllm embed: text %d: %s\n", t, cllm_context_last_error(c));
            tok_ok = false;
            break;
        }
        double norm = 0.0;
        for (int32_t k = 0; k < n_embd; k++) norm += (double)e[k] * e[k];
        norm = sqrt(norm);
        const double scale = normalize ? (norm > 0 ? 1.0 / norm : 0.0) : 1.0;
        json_t *vec = json_array();
        for (int32_t k = 0; k < n_embd; k++) json_array_append_new(vec, json_real((double)(float)(e[k] * scale)));
        json_t *item = json_object();
        json_object_set_new(item, "index", json_integer(t));
        json_t *js = json_string(texts[t]);
        json_object_set_new(item, "text", js ? js : json_string("(invalid UTF-8)"));
        json_object_set_new(item, "n_tokens", json_integer(n_ids[t]));
        json_object_set_new(item, "embedding", vec);
        json_array_append_new(data, item);
    }
    for (int t = 0; t < n_texts; t++) free(ids[t]);
    free(ids);
    free(n_ids);
    if (!tok_ok) goto done;
    json_object_set_new(out, "model", json_string(model_path));
    json_object_set_new(out, "pooling", json_string(pooling_name(pooling)));
    json_object_set_new(out, "normalized", json_boolean(normalize));
    json_object_set_new(out, "n_embd", json_integer(n_embd));
    json_object_set(out, "data", data);
    char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(8));
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
        rc = 0;
    }
done:
    json_decref(data);
    json_decref(out);
    cllm_batch_free(&b);
    cllm_context_free(c);
    cllm_vocab_free(own_vocab);
    cllm_model_free(m);
    free(toks);
    free(texts);
    return rc;
}
