/* engine_util.c: helpers shared by the engine commands (see engine_util.h). */
#include "engine_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t *cmd_parse_ids(const char *s, int *n_out) {
    *n_out = 0;
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return NULL;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX) {
            fprintf(stderr, "error: bad token id near '%.20s'\n", p);
            free(ids);
            return NULL;
        }
        if (n == cap) {
            cap *= 2;
            int32_t *ni = realloc(ids, cap * sizeof *ids);
            if (!ni) { free(ids); return NULL; }
            ids = ni;
        }
        ids[n++] = (int32_t)v;
        p = end;
        if (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n') {
            fprintf(stderr, "error: bad token id list near '%.20s'\n", p);
            free(ids);
            return NULL;
        }
    }
    if (n == 0) {
        fprintf(stderr, "error: empty token id list\n");
        free(ids);
        return NULL;
    }
    *n_out = (int)n;
    return ids;
}

int cmd_parse_kv_type(const char *s) {
    int t = cllm_type_from_name(s);
    if (t == CLLM_TYPE_F16 || t == CLLM_TYPE_F32 || t == CLLM_TYPE_Q8_0) return t;
    return -1;
}

bool cmd_parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "error: %s wants an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

int32_t cmd_argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

const char *cmd_model_path(const char *model, const char *hf, char **owned) {
    *owned = NULL;
    if (!hf) return model;
    if (cllm_pull_resolve(hf, owned) != CLLM_OK) {
        fprintf(stderr, "error: -hf %s: %s\n", hf, cllm_last_error());
        *owned = NULL;
        return NULL;
    }
    return *owned;
}

char *cmd_read_text_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > ((size_t)1 << 30)) { fprintf(stderr, "error: '%s' is too large\n", path); break; }
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) { fprintf(stderr, "error: cannot read '%s'\n", path); break; }
            buf[n] = '\0';
            fclose(f);
            if (memchr(buf, '\0', n)) {
                fprintf(stderr, "error: '%s' contains a NUL byte\n", path);
                free(buf);
                return NULL;
            }
            return buf;
        }
    }
    if (!buf) fprintf(stderr, "error: out of memory reading '%s'\n", path);
    free(buf);
    fclose(f);
    return NULL;
}

const char cmd_sampling_usage[] =
    "sampling: [--temp T] [--top-k K] [--top-p P] [--min-p P] [--typical P] [--repeat-penalty X]\n"
    "          [--repeat-last-n N] [--presence-penalty X] [--frequency-penalty X] [--mirostat 0|1|2]\n"
    "          [--mirostat-lr ETA] [--mirostat-ent TAU] [--seed S] [--samplers ORDER] [--ignore-eos]\n"
    "          [--grammar GBNF | --grammar-file FILE | --json-schema JSON|@FILE]\n";

void cmd_sampling_init(cmd_sampling *s) {
    memset(s, 0, sizeof *s);
    s->p = cllm_sampler_default_params();
}

void cmd_sampling_free(cmd_sampling *s) {
    if (!s) return;
    free(s->grammar);
    s->grammar = NULL;
    s->p.grammar = NULL;
}

/* A finite number in [lo, hi]; false (and a message) otherwise. */
static bool parse_float(const char *opt, const char *v, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d) || d < lo || d > hi) {
        fprintf(stderr, "error: %s wants a number in [%g, %g], got '%s'\n", opt, lo, hi, v);
        return false;
    }
    *out = (float)d;
    return true;
}

int cmd_sampling_parse(cmd_sampling *s, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--ignore-eos")) { s->ignore_eos = true; return 1; }
    static const char *const with_value[] = {
        "--temp", "--top-k", "--top-p", "--min-p", "--typical", "--repeat-penalty", "--repeat-last-n",
        "--presence-penalty", "--frequency-penalty", "--mirostat", "--mirostat-lr", "--mirostat-ent",
        "--seed", "-s", "--grammar", "--grammar-file", "--json-schema", "-j", "--samplers"};
    bool known = false;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
        if (!strcmp(a, with_value[k])) known = true;
    if (!known) return 0;
    if (*i + 1 >= argc) { fprintf(stderr, "error: %s needs a value\n", a); return -1; }
    const char *v = argv[++*i];
    cllm_sampler_params *p = &s->p;
    long l;
    if (!strcmp(a, "--temp")) return parse_float(a, v, -1e9, 1e9, &p->temp) ? 1 : -1;
    if (!strcmp(a, "--top-k")) {
        if (!cmd_parse_int(a, v, -1, 1L << 30, &l)) return -1;
        p->top_k = (int32_t)l;
        return 1;
    }
    if (!strcmp(a, "--top-p")) return parse_float(a, v, 0, 1, &p->top_p) ? 1 : -1;
    if (!strcmp(a, "--min-p")) return parse_float(a, v, 0, 1, &p->min_p) ? 1 : -1;
    if (!strcmp(a, "--typical")) return parse_float(a, v, 0, 1, &p->typical_p) ? 1 : -1;
    if (!strcmp(a, "--repeat-penalty")) return parse_float(a, v, 0, 1e9, &p->penalty_repeat) ? 1 : -1;
    if (!strcmp(a, "--presence-penalty")) return parse_float(a, v, -1e9, 1e9, &p->penalty_present) ? 1 : -1;
    if (!strcmp(a, "--frequency-penalty")) return parse_float(a, v, -1e9, 1e9, &p->penalty_freq) ? 1 : -1;
    if (!strcmp(a, "--mirostat-lr")) return parse_float(a, v, 0, 1e9, &p->mirostat_eta) ? 1 : -1;
    if (!strcmp(a, "--mirostat-ent")) return parse_float(a, v, 0, 1e9, &p->mirostat_tau) ? 1 : -1;
    if (!strcmp(a, "--repeat-last-n")) {
        if (!cmd_parse_int(a, v, -1, 1L << 30, &l)) return -1;
        p->penalty_last_n = (int32_t)l;
        return 1;
    }
    if (!strcmp(a, "--mirostat")) {
        if (!cmd_parse_int(a, v, 0, 2, &l)) return -1;
        p->mirostat = (int)l;
        return 1;
    }
    if (!strcmp(a, "--seed") || !strcmp(a, "-s")) {
        /* -1 (llama.cpp's default) means a random seed. */
        if (!cmd_parse_int(a, v, -1, 0x7fffffffffffffffL, &l)) return -1;
        p->seed = l < 0 ? CLLM_SEED_RANDOM : (uint64_t)l;
        return 1;
    }
    if (!strcmp(a, "--samplers")) {
        if (!*v) { fprintf(stderr, "error: --samplers wants a list such as 'top_k;top_p;temperature'\n"); return -1; }
        p->order = v;
        return 1;
    }
    if (!strcmp(a, "--grammar")) { s->grammar_text = v; return 1; }
    if (!strcmp(a, "--grammar-file")) { s->grammar_file = v; return 1; }
    /* --json-schema / -j */
    s->json_schema = v;
    return 1;
}

int cmd_sampling_finish(cmd_sampling *s) {
    int n = (s->grammar_text != NULL) + (s->grammar_file != NULL) + (s->json_schema != NULL);
    if (n > 1) {
        fprintf(stderr, "error: give only one of --grammar, --grammar-file and --json-schema\n");
        return 2;
    }
    /* The chain settings (order names, mirostat) are usage errors: check
     * them now, before a model is loaded. */
    cllm_sampler_params chk = s->p;
    chk.grammar = NULL;
    cllm_sampler *probe = NULL;
    if (cllm_sampler_init(&chk, NULL, &probe) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        return 2;
    }
    cllm_sampler_free(probe);
    free(s->grammar);
    s->grammar = NULL;
    s->p.grammar = NULL;
    if (s->grammar_text) {
        s->grammar = strdup(s->grammar_text);
    } else if (s->grammar_file) {
        s->grammar = cmd_read_text_file(s->grammar_file);
        if (!s->grammar) return 1;
    } else if (s->json_schema) {
        char *file_text = NULL;
        const char *schema = s->json_schema;
        if (schema[0] == '@') {
            file_text = cmd_read_text_file(schema + 1);
            if (!file_text) return 1;
            schema = file_text;
        }
        char err[512] = "";
        cllm_status st = cllm_json_schema_to_grammar(schema, &s->grammar, err, sizeof err);
        free(file_text);
        if (st != CLLM_OK) {
            fprintf(stderr, "error: --json-schema: %s\n", err[0] ? err : cllm_last_error());
            s->grammar = NULL;
            return 1;
        }
    }
    if (!s->grammar_text && !s->grammar_file && !s->json_schema) return 0;
    if (!s->grammar) { fprintf(stderr, "error: out of memory\n"); return 1; }
    s->p.grammar = s->grammar;
    return 0;
}
