/* cmd_convert.c: `cllm convert HF_DIR OUT.gguf [--outtype f32|f16|bf16|q8_0]
 * [--name NAME]`: a Hugging Face llama-family checkpoint folder to GGUF
 * (src/convert), with one progress line per tensor on stderr. */
#include "commands.h"
#include "cllm.h"
#include "convert/convert.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm convert HF_DIR OUT.gguf [--outtype f32|f16|bf16|q8_0] [--name NAME]\n"
            "\n"
            "Converts a Hugging Face LlamaForCausalLM / MistralForCausalLM checkpoint (config.json,\n"
            "*.safetensors or sharded safetensors with model.safetensors.index.json, tokenizer.json or\n"
            "tokenizer.model, tokenizer_config.json) to a llama GGUF, as llama.cpp's\n"
            "convert_hf_to_gguf.py does. Norms stay F32; --outtype (default f16) sets the 2-D weights.\n");
}

static void on_progress(int64_t i, int64_t n, const char *src, const char *dst, cllm_type type, const int64_t ne[4],
                        void *user) {
    (void)user;
    fprintf(stderr, "[%4lld/%4lld] %-48s -> %-28s %-5s [%lld, %lld, %lld, %lld]\n", (long long)(i + 1), (long long)n,
            src, dst, cllm_type_name(type), (long long)ne[0], (long long)ne[1], (long long)ne[2], (long long)ne[3]);
}

int cllm_cmd_convert(int argc, char **argv) {
    const char *pos[2] = {0};
    int npos = 0;
    cllm_convert_params p = {.outtype = CLLM_TYPE_F16};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--outtype")) {
            const char *t = i + 1 < argc ? argv[++i] : "";
            if (!strcasecmp(t, "f32")) p.outtype = CLLM_TYPE_F32;
            else if (!strcasecmp(t, "f16")) p.outtype = CLLM_TYPE_F16;
            else if (!strcasecmp(t, "bf16")) p.outtype = CLLM_TYPE_BF16;
            else if (!strcasecmp(t, "q8_0")) p.outtype = CLLM_TYPE_Q8_0;
            else {
                fprintf(stderr, "cllm convert: --outtype must be f32, f16, bf16 or q8_0 (got '%s')\n", t);
                return 2;
            }
        } else if (!strcmp(a, "--name")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cllm convert: --name needs a value\n");
                return 2;
            }
            p.name = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cllm convert: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "cllm convert: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return 2;
    }
    p.progress = on_progress;
    cllm_status st = cllm_convert_hf(pos[0], pos[1], &p);
    if (st != CLLM_OK) {
        fprintf(stderr, "cllm convert: %s\n", cllm_last_error());
        return 1;
    }
    fprintf(stderr, "cllm convert: wrote %s\n", pos[1]);
    return 0;
}
