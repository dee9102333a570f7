/* cmd_pull.c: `cllm pull REPO[:QUANT] [--endpoint URL] [--cache DIR]
 * [--offline] [-q]`: download a GGUF model from a Hugging Face hub into the
 * cache (src/pull/pull.c) with a progress bar on stderr, and print the local
 * path of the model (the first part of a split model) on stdout. */
#include "commands.h"
#include "cllm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm pull REPO[:QUANT] [--endpoint URL] [--cache DIR] [--offline] [-q]\n"
            "\n"
            "Downloads the GGUF of a Hugging Face model repo whose name carries QUANT (default Q4_K_M,\n"
            "else the repo's first GGUF; all parts of a split model), resuming interrupted downloads and\n"
            "checking size and sha256, into $CLLM_CACHE or ~/.cache/cllm; prints the local path.\n"
            "Environment: HF_TOKEN (gated repos), HF_ENDPOINT (mirror), CLLM_CACHE, CLLM_OFFLINE=1.\n");
}

typedef struct {
    double last;
    char file[256];
    int active;
} bar_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void draw(const char *file, uint64_t done, uint64_t total) {
    const int width = 30;
    int fill = total ? (int)((double)done / (double)total * width) : 0;
    if (fill > width) fill = width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : ' ';
    bar[width] = '\0';
    fprintf(stderr, "\r%-40.40s [%s] %5.1f%% %8.2f / %.2f MiB", file, bar, total ? 100.0 * done / total : 0.0,
            done / 1048576.0, total / 1048576.0);
}

static void on_progress(const char *file, uint64_t done, uint64_t total, void *user) {
    bar_state *b = user;
    const double t = now_s();
    const bool new_file = strcmp(b->file, file) != 0;
    if (new_file && b->active) fprintf(stderr, "\n");
    if (new_file) snprintf(b->file, sizeof b->file, "%s", file);
    if (!new_file && t - b->last < 0.1 && !(total && done >= total)) return;
    b->last = t;
    b->active = 1;
    draw(file, done, total);
}

int cllm_cmd_pull(int argc, char **argv) {
    const char *spec = NULL;
    bool quiet = false;
    cllm_pull_params p = cllm_pull_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--endpoint") || !strcmp(a, "--cache")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cllm pull: %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "--endpoint")) p.endpoint = argv[++i];
            else p.cache_dir = argv[++i];
        } else if (!strcmp(a, "--offline")) {
            p.offline = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cllm pull: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!spec) {
            spec = a;
        } else {
            fprintf(stderr, "cllm pull: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!spec) {
        usage(stderr);
        return 2;
    }
    bar_state b = {0};
    if (!quiet) {
        p.progress = on_progress;
        p.user = &b;
    }
    char *path = NULL;
    cllm_status st = cllm_pull_resolve_ex(spec, &p, &path);
    if (b.active) fprintf(stderr, "\n");
    if (st != CLLM_OK) {
        fprintf(stderr, "cllm pull: %s\n", cllm_last_error());
        return 1;
    }
    printf("%s\n", path);
    free(path);
    return 0;
}
