/* test_sampling_model.c: sampling with the real engine on stories260K.
 * - determinism: the same seed gives the same 64 tokens on two runs and with
 *   1 or 2 threads (EOG banned so all 64 are drawn);
 * - 200 samples under ../shared/grammars/json.gbnf all parse as JSON (a
 *   budget of MAX_NEW tokens per sample is enforced with the sampler's closing
 *   mode, which turns on only when the tokens left barely cover the distance
 *   to completion);
 * - `--emit DIR [N]`: N documents per tests/schemas/ schema, generated through
 *   its grammar, for tests/test_json_schema_ajv.sh to validate with ajv. */
#include "cllm.h"
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_CTX 512
#define CLOSING_MARGIN 16
#define MAX_NEW 160 /* token budget per grammar sample */
#define CLLM_MIN_I(a, b) ((a) < (b) ? (a) : (b))

typedef struct env {
    cllm_model *model;
    cllm_vocab *vocab;
    cllm_context *ctx[3]; /* index = n_threads */
    cllm_batch batch;
    int32_t n_vocab;
} env;

static bool env_open(env *e) {
    memset(e, 0, sizeof *e);
    cllm_model_params mp = cllm_model_default_params();
    if (cllm_model_load(test_shared_path("models/real/stories260K.gguf"), &mp, &e->model) != CLLM_OK) {
        CHECK(0, "load model: %s", cllm_last_error());
        return false;
    }
    if (cllm_vocab_load(cllm_model_gguf(e->model), &e->vocab) != CLLM_OK) {
        CHECK(0, "load vocab: %s", cllm_last_error());
        return false;
    }
    for (int t = 1; t <= 2; t++) {
        cllm_context_params cp = cllm_context_default_params();
        cp.n_ctx = N_CTX;
        cp.n_threads = t;
        if (cllm_context_init(e->model, &cp, &e->ctx[t]) != CLLM_OK) {
            CHECK(0, "context (%d threads): %s", t, cllm_last_error());
            return false;
        }
    }
    e->n_vocab = cllm_model_n_vocab(e->model);
    e->batch = cllm_batch_init(N_CTX, 1);
    return true;
}

static void env_close(env *e) {
    cllm_batch_free(&e->batch);
    for (int t = 1; t <= 2; t++) cllm_context_free(e->ctx[t]);
    cllm_vocab_free(e->vocab);
    cllm_model_free(e->model);
}

typedef struct gen_result {
    int32_t tokens[N_CTX];
    int n_tokens;
    char text[8 * N_CTX];
    size_t text_len;
    bool finished; /* ended with EOG */
    bool closed;   /* closing mode was needed */
    char err[256];
} gen_result;

/* Prompt (BOS + text), then sample until EOG, max_new tokens or the context
 * ends; with a grammar, closing mode turns on near the end of the budget. */
static bool generate(env *e, int threads, cllm_sampler *s, const char *prompt, int max_new, gen_result *r) {
    memset(r, 0, sizeof *r);
    cllm_context *c = e->ctx[threads];
    cllm_kv_clear(c);
    int32_t ptok[64];
    int32_t np = cllm_tokenize(e->vocab, prompt, strlen(prompt), ptok, 64, true, false);
    if (np <= 0 || np > 64) {
        snprintf(r->err, sizeof r->err, "tokenize failed");
        return false;
    }
    int32_t seq = 0;
    cllm_batch_clear(&e->batch);
    for (int32_t i = 0; i < np; i++) {
        cllm_batch_add(&e->batch, ptok[i], i, &seq, 1, i == np - 1);
        cllm_sampler_accept_ex(s, ptok[i], false);
    }
    int32_t pos = np;
    if (cllm_decode(c, &e->batch) != CLLM_OK) {
        snprintf(r->err, sizeof r->err, "decode: %s", cllm_context_last_error(c));
        return false;
    }
    int32_t last = np - 1;
    for (int k = 0; k < max_new && pos < N_CTX; k++) {
        int32_t dist = cllm_sampler_grammar_distance(s);
        int32_t left = CLLM_MIN_I(N_CTX - pos, max_new - k);
        if (dist >= 0 && left <= dist + CLOSING_MARGIN) {
            cllm_sampler_set_closing(s, true);
            r->closed = true;
        }
        int32_t t = cllm_sampler_sample(s, cllm_get_logits_ith(c, last), e->n_vocab);
        if (t < 0) {
            snprintf(r->err, sizeof r->err, "sample: %s", cllm_sampler_last_error(s));
            return false;
        }
        if (cllm_sampler_accept(s, t) != CLLM_OK) {
            snprintf(r->err, sizeof r->err, "accept: %s", cllm_sampler_last_error(s));
            return false;
        }
        r->tokens[r->n_tokens++] = t;
        if (cllm_vocab_is_eog(e->vocab, t)) {
            r->finished = true;
            break;
        }
        int32_t n = cllm_token_to_piece(e->vocab, t, r->text + r->text_len,
                                        (int32_t)(sizeof r->text - 1 - r->text_len), false);
        if (n > 0) r->text_len += (size_t)n;
        cllm_batch_clear(&e->batch);
        cllm_batch_add(&e->batch, t, pos++, &seq, 1, true);
        if (cllm_decode(c, &e->batch) != CLLM_OK) {
            snprintf(r->err, sizeof r->err, "decode: %s", cllm_context_last_error(c));
            return false;
        }
        last = 0;
    }
    r->text[r->text_len] = '\0';
    return true;
}

static void test_determinism(env *e) {
    int32_t eos = cllm_vocab_eos(e->vocab);
    cllm_logit_bias ban = {eos, -INFINITY};
    static gen_result r[4];
    for (int run = 0; run < 4; run++) {
        cllm_sampler_params p = cllm_sampler_default_params();
        p.seed = run == 3 ? 4321 : 1234;
        p.logit_bias = &ban;
        p.n_logit_bias = eos >= 0 ? 1 : 0;
        cllm_sampler *s = NULL;
        CHECK(cllm_sampler_init(&p, NULL, &s) == CLLM_OK, "init: %s", cllm_last_error());
        int threads = run == 2 ? 2 : 1;
        CHECK(generate(e, threads, s, "Once upon a time", 64, &r[run]), "generate: %s", r[run].err);
        CHECK(r[run].n_tokens == 64, "64 tokens drawn (%d)", r[run].n_tokens);
        cllm_sampler_free(s);
    }
    CHECK(memcmp(r[0].tokens, r[1].tokens, sizeof r[0].tokens) == 0, "same seed, two runs: same 64 tokens");
    CHECK(memcmp(r[0].tokens, r[2].tokens, sizeof r[0].tokens) == 0, "same seed, 1 vs 2 threads: same 64 tokens");
    CHECK(memcmp(r[0].tokens, r[3].tokens, sizeof r[0].tokens) != 0, "another seed: other tokens");
    printf("seed 1234: %.120s...\n", r[0].text);
}

static void test_json(env *e, int n_samples) {
    char *gbnf = test_read_file(test_shared_path("grammars/json.gbnf"), NULL);
    CHECK(gbnf != NULL, "json.gbnf");
    if (!gbnf) return;
    cllm_vocab_view vv;
    cllm_vocab_view_init(&vv, e->vocab);
    int parsed = 0, closed = 0, overflow = 0;
    static gen_result r;
    for (int k = 0; k < n_samples; k++) {
        cllm_sampler_params p = cllm_sampler_default_params();
        p.seed = (uint64_t)k;
        p.grammar = gbnf;
        cllm_sampler *s = NULL;
        if (cllm_sampler_init(&p, &vv, &s) != CLLM_OK) {
            CHECK(0, "init: %s", cllm_last_error());
            break;
        }
        bool ok = generate(e, 1, s, "", MAX_NEW, &r);
        CHECK(ok && r.finished, "sample %d finished (%s)", k, r.err);
        closed += r.closed;
        json_error_t je;
        json_t *j = json_loads(r.text, 0, &je);
        if (j) parsed++;
        /* json.gbnf allows 16-digit exponents: valid JSON, but more than a double holds */
        else if (strstr(je.text, "real number overflow")) parsed++, overflow++;
        else CHECK(0, "sample %d is not JSON (%s): %s", k, je.text, r.text);
        json_decref(j);
        cllm_sampler_free(s);
    }
    printf("stories260K + json.gbnf: %d/%d samples parse as JSON (%d ended by closing mode, %d with an "
           "out-of-double number)\n", parsed, n_samples, closed, overflow);
    CHECK(parsed == n_samples, "all samples parse (%d/%d)", parsed, n_samples);
    cllm_vocab_view_free(&vv);
    free(gbnf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* N documents per schema into DIR/<name>.schema.json + DIR/<name>.docs.jsonl
 * (one JSON string holding each document). */
static int emit(env *e, const char *outdir, int n) {
    char dir[1024], *names[64];
    snprintf(dir, sizeof dir, "%s/tests/schemas", CLLM_SOURCE_DIR);
    DIR *dp = opendir(dir);
    int nn = 0, rc = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp)) && nn < 64) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) names[nn++] = strdup(de->d_name);
    }
    if (dp) closedir(dp);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    cllm_vocab_view vv;
    cllm_vocab_view_init(&vv, e->vocab);
    static gen_result r;
    for (int i = 0; i < nn; i++) {
        char path[2048], base[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        json_t *d = json_load_file(path, 0, NULL);
        char *schema = json_dumps(json_object_get(d, "schema"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *gbnf = NULL;
        char err[256];
        if (cllm_json_schema_to_grammar(schema, &gbnf, err, sizeof err) != CLLM_OK) {
            fprintf(stderr, "%s: %s\n", base, err);
            rc = 1;
        }
        snprintf(path, sizeof path, "%s/%s.schema.json", outdir, base);
        json_dump_file(json_object_get(d, "schema"), path, JSON_ENCODE_ANY);
        snprintf(path, sizeof path, "%s/%s.docs.jsonl", outdir, base);
        FILE *f = fopen(path, "w");
        int finished = 0, closed = 0;
        for (int k = 0; gbnf && f && k < n; k++) {
            cllm_sampler_params p = cllm_sampler_default_params();
            p.seed = (uint64_t)k;
            p.grammar = gbnf;
            cllm_sampler *s = NULL;
            if (cllm_sampler_init(&p, &vv, &s) != CLLM_OK) {
                fprintf(stderr, "%s: %s\n", base, cllm_last_error());
                rc = 1;
                break;
            }
            if (!generate(e, 1, s, "", MAX_NEW, &r) || !r.finished) {
                fprintf(stderr, "%s sample %d did not finish: %s\n", base, k, r.err);
                rc = 1;
            } else {
                json_t *js = json_stringn(r.text, r.text_len);
                char *line = js ? json_dumps(js, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
                if (line) fprintf(f, "%s\n", line);
                else rc = 1;
                free(line);
                json_decref(js);
                finished++;
                closed += r.closed;
            }
            cllm_sampler_free(s);
        }
        if (f) fclose(f);
        printf("%s: %d/%d documents (%d ended by closing mode)\n", base, finished, n, closed);
        free(gbnf);
        free(schema);
        json_decref(d);
        free(names[i]);
    }
    cllm_vocab_view_free(&vv);
    return rc;
}

int main(int argc, char **argv) {
    test_require_shared("stories260K model");
    env e;
    if (!env_open(&e)) {
        env_close(&e);
        return test_finish();
    }
    if (argc >= 3 && strcmp(argv[1], "--emit") == 0) {
        int rc = emit(&e, argv[2], argc >= 4 ? atoi(argv[3]) : 100);
        env_close(&e);
        return rc;
    }
    test_determinism(&e);
    const char *n = getenv("CLLM_JSON_SAMPLES");
    test_json(&e, n && *n ? atoi(n) : 200);
    env_close(&e);
    return test_finish();
}
