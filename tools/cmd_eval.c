/* cmd_eval.c: `cllm eval`: verification front end over the engine.
 *   cllm eval -m MODEL --tokens IDS --logits OUT.f32   all-position logits,
 *       n_tokens x n_vocab float32 row-major (row i = logits after token i)
 *   cllm eval -m MODEL --tokens IDS --greedy N         the N greedy ids that
 *       follow (argmax, lowest id on ties, not stopping at EOS), one line,
 *       space-separated
 * The prompt is decoded as one batch (one sequence, positions 0..n-1).
 * Options: -t N threads, --kv f32|f16|q8_0 (default f32, as the golden data);
 * -hf REPO[:QUANT] instead of -m takes the model from a Hugging Face repo
 * (cllm_pull_resolve: downloaded into the cache when missing). */
#include "engine_util.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: cllm eval (-m MODEL | -hf REPO[:QUANT]) --tokens IDS (--logits OUT.f32 | --greedy N) [-t N] [--kv f32|f16|q8_0]\n");
}

int cllm_cmd_eval(int argc, char **argv) {
    const char *model = NULL, *hf = NULL, *tokens = NULL, *logits_out = NULL;
    long greedy = -1, threads = 0;
    int kv = CLLM_TYPE_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!v) { fprintf(stderr, "error: %s needs a value\n", a); usage(stderr); return 2; }
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-hf") || !strcmp(a, "--hf-repo")) hf = v;
        else if (!strcmp(a, "--tokens")) tokens = v;
        else if (!strcmp(a, "--logits")) logits_out = v;
        else if (!strcmp(a, "--greedy")) { if (!cmd_parse_int(a, v, 0, 1 << 20, &greedy)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!cmd_parse_int(a, v, 0, 1024, &threads)) return 2; }
        else if (!strcmp(a, "--kv")) {
            kv = cmd_parse_kv_type(v);
            if (kv < 0) { fprintf(stderr, "error: --kv wants f32, f16 or q8_0\n"); return 2; }
        } else { fprintf(stderr, "error: unknown option '%s'\n", a); usage(stderr); return 2; }
        i++;
    }
    if (!!model == !!hf || !tokens || (!logits_out && greedy < 0)) { usage(stderr); return 2; }
    int n = 0;
    int32_t *ids = cmd_parse_ids(tokens, &n);
    if (!ids) return 2;

    char *pulled = NULL;
    const char *path = cmd_model_path(model, hf, &pulled);
    cllm_model *m = NULL;
    if (!path || cllm_model_load(path, NULL, &m) != CLLM_OK) {
        if (path) fprintf(stderr, "error: %s\n", cllm_last_error());
        free(pulled);
        free(ids);
        return 1;
    }
    const int32_t nv = cllm_model_n_vocab(m);
    cllm_context_params cp = cllm_context_default_params();
    cp.n_threads = (int32_t)threads;
    cp.kv_type = (cllm_type)kv;
    cp.n_batch = (uint32_t)(n > 512 ? n : 512);
    cp.n_ctx = (uint32_t)(n + (greedy > 0 ? greedy : 0));
    if (cp.n_ctx < 16) cp.n_ctx = 16;
    cllm_context *c = NULL;
    int rc = 1;
    cllm_batch b = cllm_batch_init(n, 1);
    FILE *f = NULL;
    if (cllm_context_init(m, &cp, &c) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    const int32_t seq0 = 0;
    for (int i = 0; i < n; i++) cllm_batch_add(&b, ids[i], i, &seq0, 1, logits_out != NULL || i == n - 1);
    if (cllm_decode(c, &b) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_context_last_error(c));
        goto done;
    }
    if (logits_out) {
        f = fopen(logits_out, "wb");
        if (!f) { fprintf(stderr, "error: cannot write '%s'\n", logits_out); goto done; }
        for (int i = 0; i < n; i++)
            if (fwrite(cllm_get_logits_ith(c, i), sizeof(float), (size_t)nv, f) != (size_t)nv) {
                fprintf(stderr, "error: short write to '%s'\n", logits_out);
                goto done;
            }
        if (fclose(f) != 0) { f = NULL; fprintf(stderr, "error: cannot write '%s'\n", logits_out); goto done; }
        f = NULL;
    }
    if (greedy > 0) {
        int32_t tok = cmd_argmax(cllm_get_logits_ith(c, n - 1), nv);
        for (long k = 0; k < greedy; k++) {
            printf(k ? " %d" : "%d", tok);
            if (k + 1 == greedy) break;
            cllm_batch_clear(&b);
            cllm_batch_add(&b, tok, n + (int)k, &seq0, 1, true);
            if (cllm_decode(c, &b) != CLLM_OK) {
                printf("\n");
                fprintf(stderr, "error: %s\n", cllm_context_last_error(c));
                goto done;
            }
            tok = cmd_argmax(cllm_get_logits_ith(c, 0), nv);
        }
        printf("\n");
    }
    rc = 0;
done:
    if (f) fclose(f);
    cllm_batch_free(&b);
    cllm_context_free(c);
    cllm_model_free(m);
    free(pulled);
    free(ids);
    return rc;
}
