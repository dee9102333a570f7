/* cmd_run.c: `cllm run`: generate a continuation of a prompt and print it as
 * it is generated.
 *   cllm run (-m MODEL | -hf REPO[:QUANT]) (-p PROMPT | -f FILE | --tokens IDS)
 *            [-n N] [-t N] [-c N] [--kv f16|f32|q8_0] [--timing]
 *            [sampling flags: --temp --top-k ... --grammar --json-schema; see
 *             engine_util.h and docs/sampling.md]
 *   --tokens: ids in, ids out (space-separated)
 * The prompt is tokenized with the model's vocab (BOS added as the vocab
 * says, special tokens parsed), decoded in batches, then one token per step
 * through the sampler chain (--temp 0: greedy). Stops after N tokens or at an
 * end-of-generation token. --ignore-eos bans EOG tokens (logit bias -inf) so
 * exactly N tokens come out, except under a grammar, where EOG stays the
 * only way to end a complete sentence.
 * With a grammar (--grammar, --grammar-file, --json-schema) the output is a
 * complete sentence of it within N tokens: when the tokens left are no more
 * than the grammar's distance to completion plus a margin, the sampler's
 * closing mode takes over (docs/sampling.md). Bad grammars: exit 1 with the
 * parser's "line L, column C" message.
 * Timing goes to stderr; --timing adds a per-token CPU-time line (sampling on
 * this thread, decoding on all threads) for benchmarks. */
#include "commands.h"
#include "engine_util.h"
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Tokens of slack kept between the grammar's distance to completion and the
 * tokens left before closing mode starts: one free draw may push the
 * distance up by several code points (e.g. `{"` opens a key that needs
 * `":0}`), and the check only runs before each draw. */
#define CLOSING_MARGIN 16

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm run (-m MODEL | -hf REPO[:QUANT]) (-p PROMPT | -f FILE | --tokens IDS) [-n N] [-t N]\n"
            "                [-c N_CTX] [--kv f16|f32|q8_0] [--timing] [sampling flags]\n%s",
            cmd_sampling_usage);
}

static double cpu_ms(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cllm_cmd_run(int argc, char **argv) {
    const char *model = NULL, *hf = NULL, *prompt = NULL, *prompt_file = NULL, *tokens = NULL;
    long n_predict = 64, threads = 0, n_ctx = 0;
    int kv = CLLM_TYPE_F16;
    bool timing = false;
    cmd_sampling smp_args;
    cmd_sampling_init(&smp_args);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--timing")) { timing = true; continue; }
        int r = cmd_sampling_parse(&smp_args, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "error: %s needs a value\n", a); usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-hf") || !strcmp(a, "--hf-repo")) hf = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) prompt_file = v;
        else if (!strcmp(a, "--tokens")) tokens = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { if (!cmd_parse_int(a, v, 0, 1 << 24, &n_predict)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!cmd_parse_int(a, v, 0, 1024, &threads)) return 2; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { if (!cmd_parse_int(a, v, 0, 1 << 24, &n_ctx)) return 2; }
        else if (!strcmp(a, "--kv")) {
            kv = cmd_parse_kv_type(v);
            if (kv < 0) { fprintf(stderr, "error: --kv wants f32, f16 or q8_0\n"); return 2; }
        } else { fprintf(stderr, "error: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    if (!!model == !!hf) { fprintf(stderr, "error: give one of -m MODEL or -hf REPO[:QUANT]\n"); usage(stderr); return 2; }
    if ((prompt != NULL) + (prompt_file != NULL) + (tokens != NULL) != 1) {
        fprintf(stderr, "error: give one of -p PROMPT, -f FILE or --tokens IDS\n");
        usage(stderr);
        return 2;
    }
    int rc = cmd_sampling_finish(&smp_args);
    if (rc != 0) { cmd_sampling_free(&smp_args); return rc; }
    rc = 1;

    char *pulled = NULL, *file_text = NULL;
    int32_t *ids = NULL;
    cllm_logit_bias *bans = NULL;
    cllm_model *m = NULL;
    cllm_context *c = NULL;
    cllm_sampler *smp = NULL;
    cllm_detok_stream *ds = NULL;
    cllm_batch b = {0};
    int n = 0;
    const char *path = cmd_model_path(model, hf, &pulled);
    if (!path) goto done;
    if (prompt_file) {
        file_text = cmd_read_text_file(prompt_file);
        if (!file_text) goto done;
        prompt = file_text;
    }
    if (cllm_model_load(path, NULL, &m) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    const cllm_vocab *vocab = cllm_model_vocab(m);
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

    cllm_sampler_params sp = smp_args.p;
    const bool constrained = sp.grammar != NULL;
    if (constrained && !vocab) { fprintf(stderr, "error: a grammar needs the model's tokenizer\n"); goto done; }
    if (smp_args.ignore_eos && vocab && !constrained) {
        /* Ban every end-of-generation token, as llama.cpp's --ignore-eos. */
        int n_bans = 0;
        bans = malloc(sizeof *bans * (size_t)nv);
        if (!bans) goto done;
        for (int32_t t = 0; t < nv; t++)
            if (cllm_vocab_is_eog(vocab, t)) bans[n_bans++] = (cllm_logit_bias){t, -INFINITY};
        sp.logit_bias = bans;
        sp.n_logit_bias = n_bans;
    }
    cllm_vocab_view vv;
    bool have_vv = false;
    if (vocab) {
        if (cllm_vocab_view_init(&vv, vocab) != CLLM_OK) { fprintf(stderr, "error: %s\n", cllm_last_error()); goto done; }
        have_vv = true;
    }
    cllm_status sst = cllm_sampler_init(&sp, have_vv ? &vv : NULL, &smp);
    if (have_vv) cllm_vocab_view_free(&vv);
    if (sst != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    /* Prompt tokens count for the penalties but are not grammar input. */
    for (int i = 0; i < n; i++) cllm_sampler_accept_ex(smp, ids[i], false);
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
    int gen = 0, n_samples = 0, n_decodes = 0;
    double sample_ms = 0, decode_ms = 0;
    bool closing = false, complete = !constrained;
    char out[512];
    for (long k = 0; k < n_predict; k++) {
        if (constrained && !closing) {
            int32_t dist = cllm_sampler_grammar_distance(smp);
            if (dist >= 0 && n_predict - k <= (long)dist + CLOSING_MARGIN) {
                cllm_sampler_set_closing(smp, true);
                closing = true;
            }
        }
        const float *lg = cllm_get_logits_ith(c, -1);
        double s0 = cpu_ms(CLOCK_THREAD_CPUTIME_ID);
        int32_t tok = cllm_sampler_sample(smp, lg, nv);
        cllm_status ast = tok >= 0 ? cllm_sampler_accept(smp, tok) : CLLM_OK;
        sample_ms += cpu_ms(CLOCK_THREAD_CPUTIME_ID) - s0;
        n_samples++;
        if (tok < 0) { fprintf(stderr, "\nerror: sampling failed: %s\n", cllm_sampler_last_error(smp)); goto done; }
        if (ast != CLLM_OK) { fprintf(stderr, "\nerror: %s\n", cllm_sampler_last_error(smp)); goto done; }
        if (vocab && cllm_vocab_is_eog(vocab, tok) && (constrained || !smp_args.ignore_eos)) break;
        gen++;
        if (ds) {
            int32_t w = cllm_detok_stream_push(ds, tok, out, sizeof out);
            if (w > 0) fwrite(out, 1, (size_t)w, stdout);
        } else {
            printf(k ? " %d" : "%d", tok);
        }
        fflush(stdout);
        if (constrained && cllm_sampler_grammar_distance(smp) == 0) complete = true;
        if (k + 1 == n_predict) break;
        cllm_batch_clear(&b);
        cllm_batch_add(&b, tok, n + (int)k, &seq0, 1, true);
        double d0 = cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (cllm_decode(c, &b) != CLLM_OK) { fprintf(stderr, "\nerror: %s\n", cllm_context_last_error(c)); goto done; }
        decode_ms += cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - d0;
        n_decodes++;
    }
    if (ds) {
        int32_t w;
        while ((w = cllm_detok_stream_flush(ds, out, sizeof out)) > 0) fwrite(out, 1, (size_t)w, stdout);
    }
    printf("\n");
    fflush(stdout);
    uint64_t t2 = cllm_time_ns();
    fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f t/s); generated: %d tokens in %.3f s (%.1f t/s)\n", n,
            (double)(t1 - t0) / 1e9, n / ((double)(t1 - t0) / 1e9 + 1e-12), gen, (double)(t2 - t1) / 1e9,
            gen / ((double)(t2 - t1) / 1e9 + 1e-12));
    if (timing) {
        double sp_tok = n_samples ? sample_ms / n_samples : 0, dc_tok = n_decodes ? decode_ms / n_decodes : 0;
        fprintf(stderr,
                "timing: tokens=%d sample_ms=%.4f decode_ms=%.4f total_ms=%.4f (per token, CPU time; "
                "decode on all threads)\n",
                n_samples, sp_tok, dc_tok, sp_tok + dc_tok);
    }
    if (constrained && !complete && n_predict > 0) {
        /* Only when -n is below the grammar's shortest completion. */
        fprintf(stderr, "error: the output is not a complete sentence of the grammar within %ld tokens\n", n_predict);
        goto done;
    }
    rc = 0;
done:
    cllm_detok_stream_free(ds);
    cllm_sampler_free(smp);
    cllm_batch_free(&b);
    cllm_context_free(c);
    cllm_model_free(m);
    cmd_sampling_free(&smp_args);
    free(bans);
    free(ids);
    free(file_text);
    free(pulled);
    return rc;
}
