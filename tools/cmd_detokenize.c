/* cmd_detokenize.c: `cllm detokenize`: token ids to text with a model's vocab.
 *
 *   cllm detokenize -m MODEL [--special] [--remove-special] IDS...
 *
 * IDS: decimal ids separated by spaces and/or commas, in one or several
 * arguments ("[1, 2, 3]" works too). The text is written exactly as
 * cllm_detokenize gives it, with no newline added. --special renders control
 * tokens (<s>, <|im_end|>, ...) as their text; --remove-special drops the
 * leading BOS / trailing EOS the vocab adds.
 * Exit status: 0 ok, 1 failure (bad model, id out of range), 2 usage error. */
#include "commands.h"
#include "cllm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm detokenize -m MODEL [--special] [--remove-special] IDS...\n"
            "\n"
            "  -m, --model FILE   GGUF with a vocabulary (vocab-only files work)\n"
            "  --special          render control tokens as their text\n"
            "  --remove-special   drop a leading BOS and trailing EOS\n"
            "  IDS                decimal ids, separated by spaces or commas\n"
            "The text is printed exactly, without an added newline.\n");
}

/* Parse the ids in s, appending to *ids; returns false on a bad id. */
static bool parse_ids(const char *s, int32_t **ids, size_t *n, size_t *cap) {
    while (*s) {
        if (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n' || *s == '[' || *s == ']') { s++; continue; }
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (end == s || errno || x < 0 || x > INT32_MAX) return false;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            int32_t *ni = realloc(*ids, *cap * sizeof *ni);
            if (!ni) return false;
            *ids = ni;
        }
        (*ids)[(*n)++] = (int32_t)x;
        s = end;
    }
    return true;
}

int cllm_cmd_detokenize(int argc, char **argv) {
    const char *model = NULL;
    bool special = false, remove_special = false;
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); free(ids); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc) { usage(stderr); free(ids); return 2; }
            model = argv[i];
        } else if (!strcmp(a, "--special")) special = true;
        else if (!strcmp(a, "--remove-special")) remove_special = true;
        else if (a[0] == '-' && a[1] && (a[1] < '0' || a[1] > '9')) {
            fprintf(stderr, "cllm detokenize: unknown option '%s'\n", a);
            usage(stderr);
            free(ids);
            return 2;
        } else if (!parse_ids(a, &ids, &n, &cap)) {
            fprintf(stderr, "cllm detokenize: bad token id list '%s'\n", a);
            free(ids);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "cllm detokenize: -m MODEL is required\n");
        usage(stderr);
        free(ids);
        return 2;
    }
    if (n > (size_t)INT32_MAX) { free(ids); return 2; }
    cllm_gguf *g = NULL;
    if (cllm_gguf_open(model, &g) != CLLM_OK) {
        fprintf(stderr, "cllm detokenize: %s\n", cllm_last_error());
        free(ids);
        return 1;
    }
    cllm_vocab *v = NULL;
    cllm_status st = cllm_vocab_load(g, &v);
    cllm_gguf_free(g);
    if (st != CLLM_OK) {
        fprintf(stderr, "cllm detokenize: %s: %s\n", model, cllm_last_error());
        free(ids);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= cllm_vocab_n_tokens(v)) {
            fprintf(stderr, "cllm detokenize: token id %d out of range (the vocab has %d tokens)\n", ids[i],
                    cllm_vocab_n_tokens(v));
            free(ids);
            cllm_vocab_free(v);
            return 1;
        }
    }
    int32_t len = cllm_detokenize(v, ids, (int32_t)n, NULL, 0, remove_special, special);
    int rc = 0;
    if (len < 0) {
        int32_t need = -len;
        char *buf = malloc((size_t)need);
        len = buf ? cllm_detokenize(v, ids, (int32_t)n, buf, need, remove_special, special) : -1;
        if (len >= 0) fwrite(buf, 1, (size_t)len, stdout);
        else rc = 1;
        free(buf);
    }
    free(ids);
    cllm_vocab_free(v);
    if (fflush(stdout) != 0) rc = 1;
    return rc;
}
