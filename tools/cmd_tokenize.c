/* cmd_tokenize.c: `cllm tokenize`: text to token ids with a model's vocab.
 *
 *   cllm tokenize -m MODEL [--ids|--pieces|--json] [--no-special] [--parse-special] TEXT
 *   cllm tokenize -m MODEL [...] -f FILE        (FILE's bytes are the text; '-' = stdin)
 *   cllm tokenize -m MODEL [...] -- -TEXT       (a text that starts with '-')
 *
 * MODEL is any GGUF with tokenizer.ggml.* keys (a vocab-only file is enough).
 * Output: default one line per token, "ID -> 'PIECE'"; --ids the ids on one
 * line separated by spaces; --pieces one piece per line, quoted and escaped;
 * --json {"ids":[...],"pieces":[...]} (bytes of a piece that are not valid
 * UTF-8 become U+FFFD there). --no-special adds neither BOS nor EOS;
 * --parse-special turns texts of control tokens into those tokens.
 * Exit status: 0 ok, 1 failure (bad model, I/O), 2 usage error. */
#include "commands.h"
#include "cllm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm tokenize -m MODEL [--ids|--pieces|--json] [--no-special] [--parse-special] TEXT\n"
            "       cllm tokenize -m MODEL [options] -f FILE   (the file's bytes, exactly; '-' = stdin)\n"
            "\n"
            "  -m, --model FILE   GGUF with a vocabulary (vocab-only files work)\n"
            "  --ids              the ids on one line, separated by spaces\n"
            "  --pieces           one piece per line, quoted\n"
            "  --json             {\"ids\": [...], \"pieces\": [...]}\n"
            "  --no-special       add neither BOS nor EOS\n"
            "  --parse-special    text like <|im_start|> becomes its control token\n");
}

/* Read a whole file (or stdin for "-"); caller frees. */
static char *read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    if (buf && ferror(f)) { free(buf); buf = NULL; }
    if (f != stdin) fclose(f);
    *len = n;
    return buf;
}

static void put_escaped(const char *s, int32_t n, bool json) {
    for (int32_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { printf("\\%c", c); i++; continue; }
        if (c == '\'' && !json) { printf("\\'"); i++; continue; }
        if (c == '\n') { fputs("\\n", stdout); i++; continue; }
        if (c == '\t') { fputs("\\t", stdout); i++; continue; }
        if (c == '\r') { fputs("\\r", stdout); i++; continue; }
        if (c < 0x20 || c == 0x7f) { printf(json ? "\\u%04x" : "\\x%02x", c); i++; continue; }
        if (c < 0x80) { putchar(c); i++; continue; }
        /* Multi-byte: copy a valid sequence, escape a stray byte. */
        int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
        bool ok = len > 0 && i + len <= n;
        for (int k = 1; ok && k < len; k++) ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
        if (ok) {
            fwrite(s + i, 1, (size_t)len, stdout);
            i += len;
        } else {
            if (json) fputs("\\ufffd", stdout);
            else printf("\\x%02x", c);
            i++;
        }
    }
}

int cllm_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *text = NULL;
    enum { OUT_DEFAULT, OUT_IDS, OUT_PIECES, OUT_JSON } mode = OUT_DEFAULT;
    bool add_special = true, parse_special = false;
    bool opts = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && !strcmp(a, "--")) { opts = false; continue; }
        if (!opts) {
            if (text) { fprintf(stderr, "cllm tokenize: more than one TEXT argument\n"); return 2; }
            text = a;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc) { usage(stderr); return 2; }
            model = argv[i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (++i >= argc) { usage(stderr); return 2; }
            file = argv[i];
        } else if (!strcmp(a, "--ids")) mode = OUT_IDS;
        else if (!strcmp(a, "--pieces")) mode = OUT_PIECES;
        else if (!strcmp(a, "--json")) mode = OUT_JSON;
        else if (!strcmp(a, "--no-special")) add_special = false;
        else if (!strcmp(a, "--parse-special")) parse_special = true;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "cllm tokenize: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!text) text = a;
        else {
            fprintf(stderr, "cllm tokenize: more than one TEXT argument ('%s'); quote the text\n", a);
            return 2;
        }
    }
    if (!model || (!text == !file)) {
        fprintf(stderr, "cllm tokenize: %s\n", !model ? "-m MODEL is required" : "give either TEXT or -f FILE");
        usage(stderr);
        return 2;
    }
    size_t len = 0;
    char *owned = NULL;
    if (file) {
        owned = read_all(file, &len);
        if (!owned) {
            fprintf(stderr, "cllm tokenize: cannot read '%s'\n", file);
            return 1;
        }
        text = owned;
    } else {
        len = strlen(text);
    }
    cllm_gguf *g = NULL;
    if (cllm_gguf_open(model, &g) != CLLM_OK) {
        fprintf(stderr, "cllm tokenize: %s\n", cllm_last_error());
        free(owned);
        return 1;
    }
    cllm_vocab *v = NULL;
    cllm_status st = cllm_vocab_load(g, &v);
    cllm_gguf_free(g);
    if (st != CLLM_OK) {
        fprintf(stderr, "cllm tokenize: %s: %s\n", model, cllm_last_error());
        free(owned);
        return 1;
    }
    int32_t n = cllm_tokenize(v, text, len, NULL, 0, add_special, parse_special);
    int32_t *ids = n > 0 ? malloc(sizeof(int32_t) * (size_t)n) : NULL;
    if (n < 0 || (n > 0 && !ids) || (n > 0 && cllm_tokenize(v, text, len, ids, n, add_special, parse_special) != n)) {
        fprintf(stderr, "cllm tokenize: tokenization failed (%d)\n", n);
        free(ids);
        free(owned);
        cllm_vocab_free(v);
        return 1;
    }
    int32_t pcap = 256;
    char *piece = malloc((size_t)pcap);
    if (mode == OUT_JSON) fputs("{\"ids\": [", stdout);
    for (int32_t i = 0; i < n && mode != OUT_JSON; i++) {
        if (mode == OUT_IDS) {
            printf(i ? " %d" : "%d", ids[i]);
            continue;
        }
        int32_t k = cllm_token_to_piece(v, ids[i], piece, pcap, true);
        if (k < 0) {
            pcap = -k;
            piece = realloc(piece, (size_t)pcap);
            k = piece ? cllm_token_to_piece(v, ids[i], piece, pcap, true) : 0;
        }
        if (mode == OUT_PIECES) {
            putchar('\'');
            put_escaped(piece, k, false);
            fputs("'\n", stdout);
        } else {
            printf("%6d -> '", ids[i]);
            put_escaped(piece, k, false);
            fputs("'\n", stdout);
        }
    }
    if (mode == OUT_IDS) putchar('\n');
    if (mode == OUT_JSON) {
        for (int32_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
        fputs("], \"pieces\": [", stdout);
        for (int32_t i = 0; i < n; i++) {
            int32_t k = cllm_token_to_piece(v, ids[i], piece, pcap, true);
            if (k < 0) {
                pcap = -k;
                piece = realloc(piece, (size_t)pcap);
                k = piece ? cllm_token_to_piece(v, ids[i], piece, pcap, true) : 0;
            }
            fputs(i ? ", \"" : "\"", stdout);
            put_escaped(piece, k, true);
            putchar('"');
        }
        fputs("]}\n", stdout);
    }
    free(piece);
    free(ids);
    free(owned);
    cllm_vocab_free(v);
    return fflush(stdout) == 0 ? 0 : 1;
}
