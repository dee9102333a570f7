/* cmd_perplexity.c: `cllm perplexity -m MODEL -f TEXT [-c CTX] [-b BATCH]
 * [-t N] [--kv-type f16|f32|q8_0] [--chunks N]`: llama-perplexity's method.
 * The text loses one trailing newline and is tokenized with BOS; it is cut
 * into non-overlapping chunks of CTX tokens (a final partial chunk is
 * dropped); each chunk's first token is replaced by BOS, the chunk is decoded
 * from an empty cache, and only its second half is scored: the logits at
 * positions CTX/2 .. CTX-2 predict tokens CTX/2+1 .. CTX-1. Prints the running
 * perplexity after each chunk ("[i]ppl," on stdout) and the final estimate
 * with its standard error (from the per-token negative log-likelihoods). */
#include "commands.h"
#include "cllm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm perplexity -m MODEL -f TEXT [-c CTX] [-b BATCH] [-t N] [--kv-type f16|f32|q8_0]\n"
            "                       [--chunks N]\n"
            "  -c CTX     tokens per chunk (default 512); the second half of each chunk is scored\n"
            "  -b BATCH   tokens per decode call (default CTX)\n"
            "  -t N       threads (default: physical cores)\n"
            "  --kv-type  KV cache type (default f16, as llama-perplexity)\n"
            "  --chunks N score only the first N chunks\n");
}

static bool parse_int(const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *s == '\0' || *end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* -log softmax(logits)[tok], with the sum in double (as the reference). */
static double nll_of(const float *logits, int32_t n_vocab, int32_t tok) {
    float mx = logits[0];
    for (int32_t i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++) sum += expf(logits[i] - mx);
    return -((double)(logits[tok] - mx) - log(sum));
}

int cllm_cmd_perplexity(int argc, char **argv) {
    const char *model_path = NULL, *text_path = NULL;
    long n_ctx = 512, n_batch = -1, n_threads = -1, max_chunks = -1;
    cllm_type kv = CLLM_TYPE_F16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!v) goto missing;
            model_path = argv[++i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!v) goto missing;
            text_path = argv[++i];
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            if (!parse_int(v, 4, 1 << 20, &n_ctx)) goto bad;
            i++;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            if (!parse_int(v, 1, 1 << 20, &n_batch)) goto bad;
            i++;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!parse_int(v, 1, 1024, &n_threads)) goto bad;
            i++;
        } else if (!strcmp(a, "--chunks")) {
            if (!parse_int(v, 1, 1L << 30, &max_chunks)) goto bad;
            i++;
        } else if (!strcmp(a, "--kv-type") || !strcmp(a, "-ctk")) {
            if (!v) goto missing;
            if (!strcasecmp(v, "f16")) kv = CLLM_TYPE_F16;
            else if (!strcasecmp(v, "f32")) kv = CLLM_TYPE_F32;
            else if (!strcasecmp(v, "q8_0")) kv = CLLM_TYPE_Q8_0;
            else goto bad;
            i++;
        } else {
            fprintf(stderr, "cllm perplexity: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        continue;
    missing:
        fprintf(stderr, "cllm perplexity: %s needs a value\n", a);
        return 2;
    bad:
        fprintf(stderr, "cllm perplexity: bad value for %s: '%s'\n", a, v ? v : "");
        return 2;
    }
    if (!model_path || !text_path) {
        usage(stderr);
        return 2;
    }
    if (n_batch < 0 || n_batch > n_ctx) n_batch = n_ctx;
    if (n_ctx % 2 != 0) {
        fprintf(stderr, "cllm perplexity: -c must be even (the second half is scored)\n");
        return 2;
    }

    /* the text, minus one trailing newline */
    FILE *fp = fopen(text_path, "rb");
    if (!fp) {
        fprintf(stderr, "cllm perplexity: cannot open %s\n", text_path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (size_t r; text && (r = fread(text + len, 1, cap - len, fp)) > 0;) {
        len += r;
        if (len == cap) {
            char *nt = realloc(text, cap *= 2);
            if (!nt) { free(text); text = NULL; }
            else text = nt;
        }
    }
    fclose(fp);
    if (!text) {
        fprintf(stderr, "cllm perplexity: out of memory reading %s\n", text_path);
        return 1;
    }
    if (len > 0 && text[len - 1] == '\n') len--;

    int rc = 1;
    cllm_model *m = NULL;
    cllm_context *c = NULL;
    int32_t *toks = NULL;
    cllm_batch b = {0};
    cllm_vocab *own_vocab = NULL;
    cllm_model_params mp = cllm_model_default_params();
    if (cllm_model_load(model_path, &mp, &m) != CLLM_OK) {
        fprintf(stderr, "cllm perplexity: %s\n", cllm_last_error());
        goto out;
    }
    const cllm_vocab *voc = cllm_model_vocab(m);
    if (!voc) { /* the model does not carry one: build it from the file */
        if (cllm_vocab_load(cllm_model_gguf(m), &own_vocab) != CLLM_OK) {
            fprintf(stderr, "cllm perplexity: %s: tokenizer: %s\n", model_path, cllm_last_error());
            goto out;
        }
        voc = own_vocab;
    }
    const int32_t bos = cllm_vocab_bos(voc);
    const bool add_bos = cllm_vocab_add_bos(voc);
    int32_t n_tok = cllm_tokenize(voc, text, len, NULL, 0, true, false);
    if (n_tok < 0 || !(toks = malloc((size_t)(n_tok > 0 ? n_tok : 1) * sizeof *toks)) ||
        cllm_tokenize(voc, text, len, toks, n_tok, true, false) != n_tok) {
        fprintf(stderr, "cllm perplexity: tokenizing %s failed\n", text_path);
        goto out;
    }
    long n_chunk = n_tok / n_ctx;
    if (max_chunks > 0 && max_chunks < n_chunk) n_chunk = max_chunks;
    fprintf(stderr, "cllm perplexity: %d tokens, %ld chunks of %ld (scoring %ld tokens each), batch %ld\n", n_tok,
            n_chunk, n_ctx, n_ctx / 2 - 1, n_batch);
    if (n_chunk < 1) {
        fprintf(stderr, "cllm perplexity: need at least %ld tokens (one chunk), the text has %d\n", n_ctx, n_tok);
        goto out;
    }
    cllm_context_params cp = cllm_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = (uint32_t)n_batch;
    cp.n_seq_max = 1;
    cp.n_threads = (int32_t)n_threads;
    cp.kv_type = kv;
    if (cllm_context_init(m, &cp, &c) != CLLM_OK) {
        fprintf(stderr, "cllm perplexity: %s\n", cllm_last_error());
        goto out;
    }
    b = cllm_batch_init((int32_t)n_batch, 1);
    const int32_t n_vocab = cllm_model_n_vocab(m), first = (int32_t)(n_ctx / 2), seq0 = 0;
    double nll = 0.0, nll2 = 0.0;
    long count = 0;
    for (long ci = 0; ci < n_chunk; ci++) {
        const int32_t *ct = toks + ci * n_ctx;
        cllm_kv_clear(c);
        for (int32_t p0 = 0; p0 < n_ctx; p0 += (int32_t)n_batch) {
            const int32_t nb = (int32_t)(n_ctx - p0 < n_batch ? n_ctx - p0 : n_batch);
            cllm_batch_clear(&b);
            for (int32_t j = 0; j < nb; j++) {
                int32_t t = ct[p0 + j];
                if (p0 + j == 0 && add_bos && bos >= 0) t = bos; /* the chunk starts with BOS */
                cllm_batch_add(&b, t, p0 + j, &seq0, 1, true);
            }
            if (cllm_decode(c, &b) != CLLM_OK) {
                fprintf(stderr, "cllm perplexity: decode failed: %s\n", cllm_context_last_error(c));
                goto out;
            }
            /* score positions first .. n_ctx-2 that fall in this batch */
            for (int32_t j = 0; j < nb; j++) {
                const int32_t pos = p0 + j;
                if (pos < first || pos > n_ctx - 2) continue;
                const float *lg = cllm_get_logits_ith(c, j);
                if (!lg) {
                    fprintf(stderr, "cllm perplexity: no logits for position %d\n", pos);
                    goto out;
                }
                const double v = nll_of(lg, n_vocab, ct[pos + 1]);
                nll += v;
                nll2 += v * v;
                count++;
            }
        }
        printf("[%ld]%.4f,", ci + 1, exp(nll / (double)count));
        fflush(stdout);
    }
    printf("\n");
    const double mean = nll / (double)count, ppl = exp(mean);
    double var = nll2 / (double)count - mean * mean;
    const double err = var > 0 && count > 1 ? sqrt(var / (double)(count - 1)) * ppl : 0.0;
    printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
    fprintf(stderr, "cllm perplexity: %ld chunks, %ld tokens scored\n", n_chunk, count);
    rc = 0;
out:
    cllm_batch_free(&b);
    cllm_context_free(c);
    cllm_vocab_free(own_vocab);
    cllm_model_free(m);
    free(toks);
    free(text);
    return rc;
}
