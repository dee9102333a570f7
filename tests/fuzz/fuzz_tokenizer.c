/* fuzz_tokenizer.c: libFuzzer target for the tokenizers. The first input
 * byte picks a vocab and the flags, the rest is the text. Vocabs: three
 * hand-made ones (BPE with the llama-bpe pre-tokenizer, SPM with byte
 * fallback, WPM) built at start-up, plus any GGUF files listed in
 * CLLM_FUZZ_VOCABS (colon-separated paths, e.g. the shared vocab-only
 * files). Checks: no crash or sanitizer report, ids in range, the count is
 * the same with no buffer, a 1-slot buffer and a full one, the streaming detokenizer gives exactly the
 * joined pieces, and valid UTF-8 round-trips through the BPE vocab.
 * Built with -DCLLM_FUZZ=ON (scripts/fuzz.sh). */
#include "cllm.h"
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_V 24
static cllm_vocab *g_v[MAX_V];
static int g_nv;

static cllm_vocab *build(const char *model, const char *pre, const char *const *extra, const int *extra_types,
                         int n_extra, bool bytes_bpe, bool bytes_spm, const char *const *merges, int n_merges) {
    static char store[512][8];
    static const char *texts[600];
    static uint32_t lens[600];
    static int32_t types[600];
    static float scores[600];
    int n = 0;
    for (int b = 0; b < 256 && (bytes_bpe || bytes_spm); b++) {
        size_t k;
        if (bytes_bpe) k = cllm_utf8_encode(cllm_gpt2_byte_to_cp((uint8_t)b), store[n]);
        else k = (size_t)snprintf(store[n], 8, "<0x%02X>", b);
        store[n][k] = 0;
        texts[n] = store[n];
        lens[n] = (uint32_t)k;
        types[n] = bytes_bpe ? CLLM_TOKTYPE_NORMAL : CLLM_TOKTYPE_BYTE;
        scores[n] = 0;
        n++;
    }
    for (int i = 0; i < n_extra; i++) {
        texts[n] = extra[i];
        lens[n] = (uint32_t)strlen(extra[i]);
        types[n] = extra_types[i];
        scores[n] = -(float)i;
        n++;
    }
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    d.model = model;
    d.pre = pre;
    d.n_tokens = n;
    d.texts = texts;
    d.lens = lens;
    d.types = types;
    d.scores = scores;
    d.merges = merges;
    d.n_merges = n_merges;
    d.bos = n - 1;
    d.eos = n - 1;
    d.unk = n - 2;
    d.sep = n - 1;
    cllm_vocab *v = NULL;
    if (cllm_vocab_build(&d, &v) != CLLM_OK) abort();
    return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    cllm_log_set_level(CLLM_LOG_ERROR);
    static const char *bpe_extra[] = {"ab", "abc", "<think>", "<|im_end|>", "\xc4\xa0\xc4\xa0", "<unk>", "<s>"};
    static const int bpe_types[] = {1, 1, 4, 3, 1, 2, 3};
    static const char *merges[] = {"a b", "ab c", "\xc4\xa0 \xc4\xa0"};
    g_v[g_nv++] = build("gpt2", "llama-bpe", bpe_extra, bpe_types, 7, true, false, merges, 3);
    static const char *spm_extra[] = {"\xe2\x96\x81", "a", "\342\226\201a", "aa", "<tag>", "\xe2\x96\x81\xe2\x96\x81",
                                      "<unk>", "<s>"};
    static const int spm_types[] = {1, 1, 1, 1, 4, 1, 2, 3};
    g_v[g_nv++] = build("llama", NULL, spm_extra, spm_types, 8, false, true, NULL, 0);
    static const char *wpm_extra[] = {"\xe2\x96\x81hello", "\342\226\201a", "b", "\xe2\x96\x81,", "[UNK]", "[CLS]"};
    static const int wpm_types[] = {1, 1, 1, 1, 3, 3};
    g_v[g_nv++] = build("bert", NULL, wpm_extra, wpm_types, 6, false, false, NULL, 0);
    const char *env = getenv("CLLM_FUZZ_VOCABS");
    if (env) {
        char *list = strdup(env);
        for (char *p = strtok(list, ":"); p && g_nv < MAX_V; p = strtok(NULL, ":")) {
            cllm_gguf *g = NULL;
            cllm_vocab *v = NULL;
            if (cllm_gguf_open(p, &g) == CLLM_OK && cllm_vocab_load(g, &v) == CLLM_OK) g_v[g_nv++] = v;
            cllm_gguf_free(g);
        }
        free(list);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const cllm_vocab *v = g_v[data[0] % g_nv];
    bool add_special = data[0] & 0x40, parse_special = data[0] & 0x80, render = data[0] & 0x20;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    /* Count first (n_max 0), then fill: both calls must agree. */
    int32_t cap = cllm_tokenize(v, text, n, NULL, 0, add_special, parse_special);
    if (cap < 0) abort();
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(cap + 1));
    int32_t nt = cllm_tokenize(v, text, n, ids, cap, add_special, parse_special);
    if (nt != cap) abort();
    int32_t one;
    if (cllm_tokenize(v, text, n, &one, 1, add_special, parse_special) != nt) abort();
    for (int32_t i = 0; i < nt; i++)
        if (ids[i] < 0 || ids[i] >= cllm_vocab_n_tokens(v)) abort();

    /* Stream == joined pieces. */
    size_t jcap = 64 + (size_t)nt * 64;
    char *joined = malloc(jcap), *streamed = malloc(jcap), piece[512];
    size_t jl = 0, sl = 0;
    cllm_detok_stream *s = cllm_detok_stream_init(v);
    cllm_detok_stream_set_special(s, render);
    for (int32_t i = 0; i < nt; i++) {
        int32_t k = cllm_token_to_piece(v, ids[i], piece, sizeof piece, render);
        if (k < 0) abort();
        memcpy(joined + jl, piece, (size_t)k);
        jl += (size_t)k;
        int32_t o = cllm_detok_stream_push(s, ids[i], streamed + sl, jcap - sl);
        if (o < 0) abort();
        sl += (size_t)o;
    }
    int32_t o;
    while ((o = cllm_detok_stream_flush(s, streamed + sl, jcap - sl)) > 0) sl += (size_t)o;
    cllm_detok_stream_free(s);
    if (sl != jl || memcmp(joined, streamed, jl) != 0) abort();

    /* Round trip of valid UTF-8 through the hand-made BPE vocab. */
    if (v == g_v[0] && !parse_special) {
        bool valid = true;
        for (size_t i = 0; i < n && valid;) {
            uint32_t cp;
            size_t k = cllm_utf8_decode((const unsigned char *)text + i, n - i, &cp);
            valid = k > 0;
            i += k;
        }
        if (valid) {
            char *back = malloc(n + 64);
            int32_t m = cllm_detokenize(v, ids, nt, back, (int32_t)n + 64, true, false);
            char *want = malloc(n + 1);
            memcpy(want, text, n);
            int32_t wl = (int32_t)n;
            if (v->clean_spaces) wl = cllm_detok_clean_spaces(want, wl);
            if (m != wl || memcmp(back, want, (size_t)wl) != 0) abort();
            free(want);
            free(back);
        }
    }
    free(joined);
    free(streamed);
    free(ids);
    return 0;
}
