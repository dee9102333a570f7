/* cmd_quantize.c: `cllm quantize IN.gguf OUT.gguf TYPE [--pure] [-t N]
 * [--allow-requantize]`: quantize the weights of a GGUF model to TYPE with
 * llama-quantize's per-tensor mix for that file type (or one type for all
 * with --pure), without an importance matrix, with a progress line per
 * tensor on stderr. */
#include "commands.h"
#include "cllm.h"
#include "quant/quantize_file.h"
#include "tensor/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm quantize IN.gguf OUT.gguf TYPE [--pure] [-t N] [--allow-requantize]\n"
            "\n"
            "TYPE: a llama.cpp file type: Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K\n"
            "      Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL IQ4_XS F16 BF16 F32 (case-insensitive; Q3_K,\n"
            "      Q4_K, Q5_K mean Q3_K_S, Q4_K_S, Q5_K_S). Quantized types use llama-quantize's\n"
            "      per-tensor mix: output.weight (or a tied token_embd) Q6_K, some attn_v /\n"
            "      ffn_down / attn_output layers at a higher type depending on the mix.\n"
            "      Norms and other 1-D tensors are copied unchanged.\n"
            "--pure              every quantized weight gets the one base type\n"
            "-t N                threads (default: online CPUs)\n"
            "--allow-requantize  accept an input whose weights are already quantized\n");
}

typedef struct { int last_len; } progress_state;

static void on_progress(int64_t i, int64_t n, const char *name, cllm_type src, cllm_type dst, const int64_t ne[4],
                        uint64_t src_bytes, uint64_t dst_bytes, void *user) {
    (void)user;
    char shape[96];
    snprintf(shape, sizeof shape, "[%lld, %lld, %lld, %lld]", (long long)ne[0], (long long)ne[1], (long long)ne[2],
             (long long)ne[3]);
    fprintf(stderr, "[%4lld/%4lld] %-36s %-24s %6s -> %-6s %9.3f MiB -> %9.3f MiB%s\n", (long long)(i + 1),
            (long long)n, name, shape, cllm_type_name(src), cllm_type_name(dst), (double)src_bytes / 1048576.0,
            (double)dst_bytes / 1048576.0, src == dst ? "  (copied)" : "");
}

int cllm_cmd_quantize(int argc, char **argv) {
    const char *pos[3] = {0};
    int npos = 0;
    long n_threads = sysconf(_SC_NPROCESSORS_ONLN);
    bool allow_requantize = false, pure = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            char *end = NULL;
            if (i + 1 >= argc || (n_threads = strtol(argv[++i], &end, 10), *end != '\0') || n_threads < 1 ||
                n_threads > 1024) {
                fprintf(stderr, "cllm quantize: -t needs a thread count in 1..1024\n");
                return 2;
            }
        } else if (!strcmp(a, "--allow-requantize")) {
            allow_requantize = true;
        } else if (!strcmp(a, "--pure")) {
            pure = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cllm quantize: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "cllm quantize: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (npos != 3) {
        usage(stderr);
        return 2;
    }
    cllm_quant_file_params p = {0};
    if (!cllm_quant_parse_target(pos[2], &p.type, &p.ftype)) {
        fprintf(stderr, "cllm quantize: unknown or unsupported type '%s'\n", pos[2]);
        usage(stderr);
        return 2;
    }
    p.n_threads = n_threads < 1 ? 1 : (int)n_threads;
    p.allow_requantize = allow_requantize;
    p.pure = pure;
    p.progress = on_progress;
    fprintf(stderr, "cllm quantize: %s -> %s as %s%s (file type %d), %d thread%s\n", pos[0], pos[1],
            cllm_type_name(p.type), pure ? " (pure)" : "", p.ftype, p.n_threads, p.n_threads == 1 ? "" : "s");
    cllm_quant_file_stats s;
    cllm_status st = cllm_quant_file(pos[0], pos[1], &p, &s);
    if (st != CLLM_OK) {
        fprintf(stderr, "cllm quantize: %s\n", cllm_last_error());
        return 1;
    }
    fprintf(stderr, "cllm quantize: %lld tensors (%lld converted), %.2f MiB -> %.2f MiB\n", (long long)s.n_tensors,
            (long long)s.n_quantized, (double)s.in_bytes / 1048576.0, (double)s.out_bytes / 1048576.0);
    return 0;
}
