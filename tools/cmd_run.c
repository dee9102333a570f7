/* cmd_run.c: `cllm run`: generate a continuation of a prompt and print it as
 * it is generated.
 *   cllm run -m MODEL -p PROMPT -n N [--temp T] [--seed S] [-t N] [-c N]
 *            [--kv f16|f32|q8_0] [--ignore-eos]
 *   cllm run -m MODEL --tokens 1,2,3 -n N ...   ids in, ids out (space-separated)
 * The prompt is tokenized with the model's vocab (BOS added as the vocab
 * says, special tokens parsed), decoded in batches, then one token per step
 * through the sampler chain (--temp 0: greedy). Stops after N tokens or at an
 * end-of-generation token (unless --ignore-eos). Timing goes to stderr. */
#include "commands.h"
#include "engine_util.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm run -m MODEL (-p PROMPT | --tokens IDS) [-n N] [--temp T] [--seed S] [-t N]\n"
            "                [-c N_CTX] [--kv f16|f32|q8_0] [--ignore-eos]\n");
}

static const char *piece_cb(void *user, int32_t id, size_t *len) {
    static char buf[256];
    int32_t n = cllm_token_to_piece((const cllm_vocab *)user, id, buf, (int32_t)sizeof buf, false);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}
static bool eog_cb(void *user, int32_t id) { return cllm_vocab_is_eog((const cllm_vocab *)user, id); }

int cllm_cmd_run(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *tokens = NULL;
    long n_predict = 64, threads = 0, n_ctx = 0, seed = -1;
    double temp = 0.8;
    int kv = CLLM_TYPE_F16;
    bool ignore_eos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--ignore-eos")) { ignore_eos = true; continue; }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "error: %s needs a value\n", a); usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "--tokens")) tokens = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { if (!cmd_parse_int(a, v, 0, 1 << 24, &n_predict)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!cmd_parse_int(a, v, 0, 1024, &threads)) return 2; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { if (!cmd_parse_int(a, v, 0, 1 << 24, &n_ctx)) return 2; }
        else if (!strcmp(a, "--seed")) { if (!cmd_parse_int(a, v, 0, 0x7fffffffL, &seed)) return 2; }
        else if (!strcmp(a, "--temp")) {
            char *end;
            temp = strtod(v, &end);
            if (end == v || *end || temp != temp) { fprintf(stderr, "error: --temp wants a number\n"); return 2; }
        } else if (!strcmp(a, "--kv")) {
            kv = cmd_parse_kv_type(v);
            if (kv < 0) { fprintf(stderr, "error: --kv wants f32, f16 or q8_0\n"); return 2; }
        } else { fprintf(stderr, "error: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    if (!model || (!prompt && !tokens) || (prompt && tokens)) { usage(stderr); return 2; }

    cllm_model *m = NULL;
    if (cllm_model_load(model, NULL, &m) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        return 1;
    }
    const cllm_vocab *vocab = cllm_model_vocab(m);
    int rc = 1, n = 0;
    int32_t *ids = NULL;
    cllm_context *c = NULL;
    cllm_sampler *smp = NULL;
    cllm_detok_stream *ds = NULL;
    cllm_batch b = {0};
    if (tokens) {
        ids = cmd_parse_ids(tokens, &n);
        if (!ids) { rc = 2; goto done; }
    } else {
        if (!vocab) { fprintf(stderr, "error: the model has no usable tokenizer; use --tokens\n"); goto done; }
        size_t len = strlen(prompt);
        int32_t cap = (int32_t)len + 16;
        ids = malloc(sizeof(int32_t) * (size_t)cap);
        if (!ids) goto done;
        n = cllm_tokenize(vocab, prompt, len, ids, cap, true, true);
        if (n < 0 || n > cap) { fprintf(stderr, "error: tokenization failed\n"); goto done; }
        if (n == 0) { fprintf(stderr, "error: empty prompt\n"); goto done; }
    }
    const int32_t nv = cllm_model_n_vocab(m);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nv) { fprintf(stderr, "error: token id %d out of range [0, %d)\n", ids[i], nv); goto done; }

    cllm_context_params cp = cllm_context_default_params();
    cp.n_threads = (int32_t)threads;
    cp.kv_type = (cllm_type)kv;
    cp.n_ctx = n_ctx > 0 ? (uint32_t)n_ctx : (uint32_t)(n + n_predict);
    if (cp.n_ctx < 16) cp.n_ctx = 16;
    if (cllm_context_init(m, &cp, &c) != CLLM_OK) { fprintf(stderr, "error: %s\n", cllm_last_error()); goto done; }
    if ((uint64_t)n + (uint64_t)n_predict > cllm_context_n_ctx(c)) {
        fprintf(stderr, "error: prompt (%d) + n (%ld) exceeds the context (%u); use -c\n", n, n_predict,
                cllm_context_n_ctx(c));
        goto done;
    }
    cllm_sampler_params sp = cllm_sampler_default_params();
    sp.temp = (float)temp;
    sp.seed = seed >= 0 ? (uint64_t)seed : CLLM_SEED_RANDOM;
    cllm_vocab_view vv = {nv, piece_cb, eog_cb, (void *)vocab, NULL};
    if (cllm_sampler_init(&sp, vocab ? &vv : NULL, &smp) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    for (int i = 0; i < n; i++) cllm_sampler_accept(smp, ids[i]);
    if (vocab && !tokens) ds = cllm_detok_stream_init(vocab);

    const int32_t batch_max = 512;
    b = cllm_batch_init(batch_max, 1);
    const int32_t seq0 = 0;
    uint64_t t0 = cllm_time_ns();
    for (int s = 0; s < n; s += batch_max) {
        cllm_batch_clear(&b);
        for (int i = s; i < n && i < s + batch_max; i++) cllm_batch_add(&b, ids[i], i, &seq0, 1, i == n - 1);
        if (cllm_decode(c, &b) != CLLM_OK) { fprintf(stderr, "error: %s\n", cllm_context_last_error(c)); goto done; }
    }
    uint64_t t1 = cllm_time_ns();
    int gen = 0;
    char out[512];
    for (long k = 0; k < n_predict; k++) {
        const float *lg = cllm_get_logits_ith(c, -1);
        int32_t tok = cllm_sampler_sample(smp, lg, nv);
        if (tok < 0) { fprintf(stderr, "\nerror: sampling failed: %s\n", cllm_sampler_last_error(smp)); goto done; }
        cllm_sampler_accept(smp, tok);
        if (!ignore_eos && vocab && cllm_vocab_is_eog(vocab, tok)) break;
        gen++;
        if (ds) {
            int32_t w = cllm_detok_stream_push(ds, tok, out, sizeof out);
            if (w > 0) fwrite(out, 1, (size_t)w, stdout);
        } else {
            printf(k ? " %d" : "%d", tok);
        }
        fflush(stdout);
        if (k + 1 == n_predict) break;
        cllm_batch_clear(&b);
        cllm_batch_add(&b, tok, n + (int)k, &seq0, 1, true);
        if (cllm_decode(c, &b) != CLLM_OK) { fprintf(stderr, "\nerror: %s\n", cllm_context_last_error(c)); goto done; }
    }
    if (ds) {
        int32_t w;
        while ((w = cllm_detok_stream_flush(ds, out, sizeof out)) > 0) fwrite(out, 1, (size_t)w, stdout);
    }
    printf("\n");
    uint64_t t2 = cllm_time_ns();
    fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f t/s); generated: %d tokens in %.3f s (%.1f t/s)\n", n,
            (double)(t1 - t0) / 1e9, n / ((double)(t1 - t0) / 1e9 + 1e-12), gen, (double)(t2 - t1) / 1e9,
            gen / ((double)(t2 - t1) / 1e9 + 1e-12));
    rc = 0;
done:
    cllm_detok_stream_free(ds);
    cllm_sampler_free(smp);
    cllm_batch_free(&b);
    cllm_context_free(c);
    cllm_model_free(m);
    free(ids);
    return rc;
}
