/* cllm.c: the `cllm <command>` front end: dispatches to tools/cmd_*.c. */
#include "commands.h"
#include "cllm.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command g_commands[] = {
    {"run",        cllm_cmd_run,        "generate a continuation of a prompt"},
    {"chat",       cllm_cmd_chat,       "interactive chat with a model's template"},
    {"serve",      cllm_cmd_serve,      "OpenAI/Anthropic-compatible HTTP server"},
    {"eval",       cllm_cmd_eval,       "all-position logits or greedy ids for token ids"},
    {"bench",      cllm_cmd_bench,      "prompt-processing and generation speed"},
    {"quantize",   cllm_cmd_quantize,   "quantize a GGUF to another type"},
    {"perplexity", cllm_cmd_perplexity, "perplexity of a model on a text file"},
    {"embed",      cllm_cmd_embed,      "embeddings of texts as JSON"},
    {"tokenize",   cllm_cmd_tokenize,   "text to token ids"},
    {"detokenize", cllm_cmd_detokenize, "token ids to text"},
    {"gguf",       cllm_cmd_gguf,       "inspect, validate and extract from GGUF files"},
    {"convert",    cllm_cmd_convert,    "Hugging Face checkpoint to GGUF"},
    {"pull",       cllm_cmd_pull,       "download a GGUF from Hugging Face"},
    {"template",   cllm_cmd_template,   "render a chat template (a model's, or a file with a context)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: cllm <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        fprintf(f, "  %-11s %s\n", g_commands[i].name, g_commands[i].help);
    fprintf(f, "\n`cllm <command> --help` for a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("cllm %d.%d.%d\n", CLLM_VERSION_MAJOR, CLLM_VERSION_MINOR, CLLM_VERSION_PATCH);
        return 0;
    }
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        if (!strcmp(argv[1], g_commands[i].name)) return g_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "cllm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
