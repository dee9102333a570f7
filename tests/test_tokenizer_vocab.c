/* test_tokenizer_vocab.c: every case of every vocab in ../shared/vocab
 * (llama.cpp's test-tokenizer-0 vectors: tokenize(text, add_special=false,
 * parse_special=false) must give exactly the .out ids), with a per-vocab
 * count, plus the round trip detokenize(tokenize(x)) == x on the same
 * strings (for WPM, which lowercases and drops accents, the round trip is
 * not expected; for vocabs with clean_up_tokenization_spaces it is checked
 * against x with the same clean-up applied). */
#include "cllm.h"
#include "tokenizer/tok_internal.h"
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static const char k_sep[] = "\n__ggml_vocab_test__\n";

static void print_escaped(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 0x20) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Returns 1 when all cases of the vocab pass. */
static int run_vocab(const char *dir, const char *gguf_name, int *n_cases_total) {
    char path[1024], inp_path[1040], out_path[1040];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, gguf_name) >= sizeof path - 8) return 0;
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    size_t inp_len = 0, out_len = 0;
    char *inp = test_read_file(inp_path, &inp_len);
    char *out = test_read_file(out_path, &out_len);
    if (!inp || !out) {
        CHECK(0, "%s: missing .inp/.out", gguf_name);
        free(inp);
        free(out);
        return 0;
    }
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open(path, &g);
    CHECK(st == CLLM_OK, "%s: open: %s", gguf_name, cllm_last_error());
    cllm_vocab *v = NULL;
    if (st == CLLM_OK) {
        st = cllm_vocab_load(g, &v);
        CHECK(st == CLLM_OK, "%s: vocab load: %s", gguf_name, cllm_last_error());
    }
    cllm_gguf_free(g);   /* the vocab must not need the file any more */
    if (!v) {
        free(inp);
        free(out);
        return 0;
    }

    int pass = 0, fail = 0, rt_pass = 0, rt_fail = 0;
    size_t ip = 0, op = 0;
    int32_t *ids = malloc(sizeof(int32_t) * 65536);
    char *dt = malloc(1 << 20), *want = malloc(1 << 20);
    while (ip < inp_len) {
        /* One case: up to the next separator, or to the end of the file. */
        const char *start = inp + ip;
        size_t rest = inp_len - ip, clen = rest;
        for (size_t k = 0; k + sizeof k_sep - 1 <= rest; k++)
            if (memcmp(start + k, k_sep, sizeof k_sep - 1) == 0) { clen = k; break; }
        ip += clen + (clen < rest ? sizeof k_sep - 1 : 0);
        /* The expected ids: one line of the .out file. */
        size_t le = op;
        while (le < out_len && out[le] != '\n') le++;
        int32_t exp[4096];
        int nexp = 0;
        for (size_t k = op; k < le;) {
            while (k < le && out[k] == ' ') k++;
            if (k >= le) break;
            exp[nexp++] = (int32_t)strtol(out + k, NULL, 10);
            while (k < le && out[k] != ' ') k++;
        }
        op = le + 1;

        int32_t n = cllm_tokenize(v, start, clen, ids, 65536, false, false);
        bool ok = n == nexp && (n == 0 || memcmp(ids, exp, (size_t)n * sizeof *ids) == 0);
        if (ok) {
            pass++;
        } else {
            fail++;
            fprintf(stderr, "FAIL %s case %d ", gguf_name, pass + fail);
            print_escaped(stderr, start, clen);
            fprintf(stderr, "\n  want:");
            for (int k = 0; k < nexp; k++) fprintf(stderr, " %d", exp[k]);
            fprintf(stderr, "\n  got: ");
            for (int k = 0; k < n; k++) fprintf(stderr, " %d", ids[k]);
            fprintf(stderr, "\n");
        }
        if (cllm_vocab_get_type(v) != CLLM_VOCAB_WPM && n >= 0) {
            int32_t m = cllm_detokenize(v, ids, n, dt, 1 << 20, false, false);
            memcpy(want, start, clen);
            int32_t wl = (int32_t)clen;
            if (v->clean_spaces) wl = cllm_detok_clean_spaces(want, wl);
            if (m == wl && memcmp(dt, want, (size_t)wl) == 0) {
                rt_pass++;
            } else {
                rt_fail++;
                fprintf(stderr, "ROUNDTRIP %s: ", gguf_name);
                print_escaped(stderr, want, (size_t)wl);
                fprintf(stderr, " -> ");
                print_escaped(stderr, dt, m > 0 ? (size_t)m : 0);
                fprintf(stderr, "\n");
            }
        }
    }
    CHECK(fail == 0, "%s: %d of %d cases fail", gguf_name, fail, pass + fail);
    CHECK(rt_fail == 0, "%s: %d round trips fail", gguf_name, rt_fail);
    CHECK(pass + fail > 0, "%s: no cases", gguf_name);
    printf("vocab %-34s %-4s %3d/%-3d cases pass, round trip %d/%d\n", gguf_name,
           cllm_vocab_get_type(v) == CLLM_VOCAB_SPM ? "SPM" : cllm_vocab_get_type(v) == CLLM_VOCAB_BPE ? "BPE" : "WPM",
           pass, pass + fail, rt_pass, rt_pass + rt_fail);
    *n_cases_total += pass + fail;
    free(ids);
    free(dt);
    free(want);
    free(inp);
    free(out);
    cllm_vocab_free(v);
    return fail == 0;
}

int main(int argc, char **argv) {
    test_require_shared("tokenizer vectors in ../shared/vocab");
    const char *dir = test_shared_path("vocab");
    char dirbuf[1024];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    CHECK(d != NULL, "cannot open %s", dirbuf);
    if (!d) return test_finish();
    char *names[256];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 256) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".gguf") && (argc < 2 || strstr(e->d_name, argv[1])))
            names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    int ok = 0, total = 0;
    for (int i = 0; i < nn; i++) {
        ok += run_vocab(dirbuf, names[i], &total);
        free(names[i]);
    }
    printf("%d/%d vocabs pass (%d cases)\n", ok, nn, total);
    CHECK(nn >= 16 || argc >= 2, "expected the 16 shared vocabs, found %d", nn);
    return test_finish();
}
