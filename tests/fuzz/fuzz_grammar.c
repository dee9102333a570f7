/* fuzz_grammar.c: libFuzzer target for the GBNF parser and matcher. Input:
 * grammar text, optionally followed by '\x01' and text fed to the matcher in
 * 3-byte pieces (splitting UTF-8), then one vocabulary mask. */
#include "cllm.h"
#include "sampling/grammar.h"

#include <stdlib.h>
#include <string.h>

static const char *const k_pieces[] = {"", "{", "}", "\"", "a", " ", "1", "\xc3", "\xa9", "ab", "\n", "[", "]"};
static const char *piece(void *u, int32_t id, size_t *len) {
    (void)u;
    *len = strlen(k_pieces[id]);
    return k_pieces[id];
}
static bool eog(void *u, int32_t id) {
    (void)u;
    return id == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *text = memchr(buf, '\x01', size);
    size_t tlen = 0;
    if (text) {
        *text++ = '\0';
        tlen = size - (size_t)(text - buf);
    }
    cllm_vocab_view v = {.n_vocab = (int32_t)(sizeof k_pieces / sizeof k_pieces[0]), .piece = piece, .is_eog = eog};
    cllm_grammar *g = NULL;
    if (cllm_grammar_init(buf, NULL, &v, &g) == CLLM_OK) {
        for (size_t i = 0; text && i < tlen && i < 4096; i += 3)
            if (cllm_grammar_accept_bytes(g, text + i, tlen - i < 3 ? tlen - i : 3) != CLLM_OK) break;
        cllm_token_prob c[13];
        for (int32_t t = 0; t < 13; t++) c[t] = (cllm_token_prob){t, 0.0f, 0.0f};
        cllm_cands cd = {c, 13, false};
        cllm_grammar_apply(g, &cd);
        (void)cllm_grammar_is_complete(g);
        cllm_grammar_free(g);
    }
    free(buf);
    return 0;
}
