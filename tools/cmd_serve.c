/* cmd_serve.c: `cllm serve`: the OpenAI/Anthropic-compatible HTTP server.
 * Parses flags, starts listening (so /health answers 503 while the model
 * loads), loads the model, then serves until SIGINT/SIGTERM. */
#include "commands.h"
#include "server/server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm serve -m MODEL [options]\n"
            "\n"
            "  -m, --model FILE          GGUF model to serve\n"
            "  -hf, --hf-repo REPO[:Q]   or a Hugging Face repo's GGUF (downloaded into the cache, see `cllm pull`)\n"
            "      --host ADDR           IPv4 address to listen on (default 127.0.0.1)\n"
            "      --port N              port (default 8080; 0 picks a free one and prints it)\n"
            "  -np, --parallel N         slots decoding in parallel (default 4)\n"
            "  -c, --ctx-size N          KV cells shared by all slots (default: model, max 4096)\n"
            "  -b, --batch-size N        tokens per decode step (default 512)\n"
            "  -t, --threads N           compute threads (default: physical cores)\n"
            "      --http-threads N      HTTP worker threads (default 4)\n"
            "      --queue N             requests waiting for a slot before 503 (default 64)\n"
            "      --max-body BYTES      request body limit, 413 beyond (default 8388608)\n"
            "      --api-key KEY         require 'Authorization: Bearer KEY' or 'x-api-key: KEY'\n"
            "      --api-key-file F      read the key from the first line of F\n"
            "      --embeddings          enable /v1/embeddings\n"
            "      --metrics             enable /metrics (Prometheus text)\n"
            "      --context-shift       when a slot's context is full, drop older tokens and go on\n"
            "                            (default for the request field context_shift; else stop: length)\n"
            "      --chat-template-file F  Jinja chat template overriding the model's\n"
            "      --cors ORIGIN         send Access-Control-Allow-Origin: ORIGIN (\"*\" for any)\n"
            "      --timeout S           idle connection timeout in seconds (default 600)\n"
            "      --alias NAME          model id reported by /v1/models\n"
            "  -h, --help                this help\n");
}

static bool parse_int(const char *flag, const char *v, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "cllm serve: %s needs an integer in [%ld, %ld] (got '%s')\n", flag, lo, hi,
                v ? v : "");
        return false;
    }
    *out = (int)x;
    return true;
}

int cllm_cmd_serve(int argc, char **argv) {
    srv_config cfg;
    srv_config_defaults(&cfg);
    const char *hf = NULL;
    char *hf_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE() (i++, v)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { if (!v) goto missing; cfg.model_path = TAKE(); }
        else if (!strcmp(a, "-hf") || !strcmp(a, "--hf-repo")) { if (!v) goto missing; hf = TAKE(); }
        else if (!strcmp(a, "--host")) { if (!v) goto missing; cfg.host = TAKE(); }
        else if (!strcmp(a, "--port")) { if (!parse_int(a, TAKE(), 0, 65535, &cfg.port)) return 2; }
        else if (!strcmp(a, "-np") || !strcmp(a, "--parallel")) { if (!parse_int(a, TAKE(), 1, 256, &cfg.n_slots)) return 2; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { if (!parse_int(a, TAKE(), 0, 1 << 24, &cfg.n_ctx)) return 2; }
        else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) { if (!parse_int(a, TAKE(), 1, 1 << 16, &cfg.n_batch)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!parse_int(a, TAKE(), -1, 1024, &cfg.n_threads)) return 2; }
        else if (!strcmp(a, "--http-threads")) { if (!parse_int(a, TAKE(), 1, 256, &cfg.http_threads)) return 2; }
        else if (!strcmp(a, "--queue")) { if (!parse_int(a, TAKE(), 0, 100000, &cfg.queue_max)) return 2; }
        else if (!strcmp(a, "--timeout")) { if (!parse_int(a, TAKE(), 1, 86400, &cfg.timeout_s)) return 2; }
        else if (!strcmp(a, "--max-body")) {
            int mb;
            if (!parse_int(a, TAKE(), 1024, 1 << 30, &mb)) return 2;
            cfg.max_body = (size_t)mb;
        } else if (!strcmp(a, "--api-key")) {
            if (!v) goto missing;
            if (strlen(v) >= sizeof cfg.api_key || !v[0]) {
                fprintf(stderr, "cllm serve: --api-key must be 1..%zu characters\n", sizeof cfg.api_key - 1);
                return 2;
            }
            snprintf(cfg.api_key, sizeof cfg.api_key, "%s", TAKE());
        } else if (!strcmp(a, "--api-key-file")) {
            if (!v) goto missing;
            FILE *f = fopen(TAKE(), "r");
            if (!f) {
                fprintf(stderr, "cllm serve: cannot open --api-key-file '%s': %s\n", v, strerror(errno));
                return 1;
            }
            char line[sizeof cfg.api_key + 2] = "";
            if (!fgets(line, sizeof line, f)) line[0] = 0;
            fclose(f);
            line[strcspn(line, "\r\n")] = 0;
            if (!line[0] || strlen(line) >= sizeof cfg.api_key) {
                fprintf(stderr, "cllm serve: --api-key-file '%s' must hold a key of 1..%zu characters on its first line\n",
                        v, sizeof cfg.api_key - 1);
                return 1;
            }
            snprintf(cfg.api_key, sizeof cfg.api_key, "%s", line);
        } else if (!strcmp(a, "--embeddings")) cfg.embeddings = true;
        else if (!strcmp(a, "--metrics")) cfg.metrics = true;
        else if (!strcmp(a, "--context-shift")) cfg.context_shift = true;
        else if (!strcmp(a, "--chat-template-file")) { if (!v) goto missing; cfg.chat_template_file = TAKE(); }
        else if (!strcmp(a, "--cors")) { if (!v) goto missing; cfg.cors_origin = TAKE(); }
        else if (!strcmp(a, "--alias")) { if (!v) goto missing; cfg.alias = TAKE(); }
        else {
            fprintf(stderr, "cllm serve: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        continue;
    missing:
        fprintf(stderr, "cllm serve: %s needs a value\n", a);
        return 2;
#undef TAKE
    }
    if (!cfg.model_path == !hf) {
        fprintf(stderr, "cllm serve: give one of -m MODEL or -hf REPO[:QUANT]\n");
        usage(stderr);
        return 2;
    }
    if (hf) {
        if (cllm_pull_resolve(hf, &hf_path) != CLLM_OK) {
            fprintf(stderr, "cllm serve: -hf %s: %s\n", hf, cllm_last_error());
            return 1;
        }
        cfg.model_path = hf_path;
    }
    if (cfg.n_batch < cfg.n_slots) cfg.n_batch = cfg.n_slots;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512] = "";
    int rc = 1;
    srv_server *s = srv_create(&cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "cllm serve: %s\n", err);
        free(hf_path);
        return 1;
    }
    if (!srv_listen(s, err, sizeof err)) {
        fprintf(stderr, "cllm serve: %s\n", err);
        goto out;
    }
    printf("cllm serve: listening on http://%s:%d\n", cfg.host, srv_port(s));
    fflush(stdout);
    srv_engine *e = srv_engine_open(&cfg, err, sizeof err);
    if (!e) {
        fprintf(stderr, "cllm serve: %s\n", err);
        goto out;
    }
    if (!srv_attach_engine(s, e, err, sizeof err)) {
        fprintf(stderr, "cllm serve: %s\n", err);
        goto out;
    }
    printf("cllm serve: model %s ready (%d slots, %d tokens of context each)\n", e->model_id, cfg.n_slots,
           e->n_ctx / cfg.n_slots);
    fflush(stdout);
    while (!g_stop) pause();
    printf("cllm serve: shutting down\n");
    fflush(stdout);
    rc = 0;
out:
    srv_destroy(s);
    free(hf_path);
    return rc;
}
