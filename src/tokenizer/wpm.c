/* wpm.c: WordPiece for BERT vocabs ("bert"). Normalisation as BERT's
 * BasicTokenizer (via utf8proc): split on whitespace; drop NUL, U+FFFD and
 * control characters; with strip_accents decompose (NFD) and drop combining
 * marks; lowercase; every punctuation character, ASCII symbol and CJK
 * ideograph is a word of its own. Each word, with the phantom space U+2581
 * in front (how the GGUF stores word-initial pieces; "##" continuations are
 * stored bare), is cut greedily into the longest vocab entries; a word that
 * cannot be cut entirely becomes UNK (llama.cpp's llm_tokenizer_wpm).
 *
 * Deviation from llama.cpp: llama.cpp maps each code point to the first code
 * point of its NFD form; cllm uses the full NFD (as Hugging Face does), which
 * differs only for characters whose decomposition has several non-mark code
 * points (Hangul syllables, some compatibility letters). */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static bool is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

typedef struct wbuf {
    char *s;
    size_t n, cap;
    bool oom;
} wbuf;

static void wbuf_put(wbuf *b, const char *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) { b->oom = true; return; }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
}

/* Greedy longest-match of one word (word = U+2581 + text). */
static void wpm_word(const cllm_vocab *v, const char *w, size_t n, cllm_tokbuf *out) {
    size_t mark = out->n;
    bool ok = true;
    for (size_t i = 0; i < n && ok;) {
        size_t hi = i + (size_t)v->max_token_len;
        if (hi > n) hi = n;
        ok = false;
        for (size_t j = hi; j > i; j--) {
            int32_t t = cllm_vocab_text_to_token(v, w + i, j - i);
            if (t >= 0) {
                cllm_tokbuf_push(out, t);
                i = j;
                ok = true;
                break;
            }
        }
    }
    if (!ok) out->n = mark;                 /* discard the partial word */
    if (out->n == mark && v->unk >= 0) cllm_tokbuf_push(out, v->unk);
}

typedef enum { CH_KEEP, CH_SPACE, CH_DROP, CH_ALONE } ch_class;

static ch_class classify(const cllm_vocab *v, uint32_t c) {
    if (cllm_unicode_is_space(c)) return CH_SPACE;
    if (c == 0 || c == 0xFFFD) return CH_DROP;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    switch (cat) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CS:
        return CH_DROP;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        if (v->wpm_strip_accents) return CH_DROP;
        return CH_KEEP;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF: case UTF8PROC_CATEGORY_PO:
        return CH_ALONE;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO:
        return c < 0x7F ? CH_ALONE : CH_KEEP;
    default:
        return is_chinese(c) ? CH_ALONE : CH_KEEP;
    }
}

void cllm_wpm_tokenize(const cllm_vocab *v, const char *text, size_t len, cllm_tokbuf *out) {
    wbuf word = {0};
    const unsigned char *u = (const unsigned char *)text;
    /* The current word always starts with the phantom space. */
    wbuf_put(&word, CLLM_ESCAPED_SPACE, 3);
    const size_t base = 3;
    for (size_t i = 0; i < len && !word.oom;) {
        uint32_t c0;
        size_t k = cllm_utf8_decode(u + i, len - i, &c0);
        if (k == 0) { c0 = 0xFFFD; k = 1; }  /* invalid byte: dropped below */
        i += k;
        utf8proc_int32_t dec[32];
        utf8proc_ssize_t nd = 1;
        dec[0] = (utf8proc_int32_t)c0;
        if (v->wpm_strip_accents && c0 >= 0x80) {
            int last_bc = 0;
            utf8proc_ssize_t r = utf8proc_decompose_char((utf8proc_int32_t)c0, dec, 32, UTF8PROC_DECOMPOSE, &last_bc);
            if (r > 0 && r <= 32) nd = r;
            else { dec[0] = (utf8proc_int32_t)c0; nd = 1; }
        }
        for (utf8proc_ssize_t d = 0; d < nd; d++) {
            uint32_t c = (uint32_t)dec[d];
            ch_class cl = classify(v, c);
            if (cl == CH_DROP) continue;
            if (cl == CH_SPACE) {
                if (word.n > base) wpm_word(v, word.s, word.n, out);
                word.n = base;
                continue;
            }
            if (v->wpm_lowercase) c = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
            char enc[4];
            size_t el = cllm_utf8_encode(c, enc);
            if (cl == CH_ALONE) {
                if (word.n > base) wpm_word(v, word.s, word.n, out);
                word.n = base;
                wbuf_put(&word, enc, el);
                wpm_word(v, word.s, word.n, out);
                word.n = base;
            } else {
                wbuf_put(&word, enc, el);
            }
        }
    }
    if (word.n > base && !word.oom) wpm_word(v, word.s, word.n, out);
    if (word.oom) out->oom = true;
    free(word.s);
}
