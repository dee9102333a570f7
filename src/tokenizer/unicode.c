/* unicode.c: the small Unicode helpers the tokenizers share: strict UTF-8
 * decoding, the U+FFFD substitution of invalid bytes, llama.cpp's whitespace
 * set, and the GPT-2 byte-level alphabet (each byte 0..255 is shown as one
 * printable code point so that BPE merges can work on text). */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

size_t cllm_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

size_t cllm_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

cllm_status cllm_utf8_sanitize(const char *s, size_t n, char **out, size_t *out_len) {
    const unsigned char *u = (const unsigned char *)s;
    /* Worst case every byte becomes 3 bytes (EF BF BD). */
    if (n > (SIZE_MAX - 1) / 3) return CLLM_ERR_NOMEM;
    char *o = malloc(n * 3 + 1);
    if (!o) return CLLM_ERR_NOMEM;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) { o[j++] = (char)u[i++]; continue; }
        uint32_t cp;
        size_t k = cllm_utf8_decode(u + i, n - i, &cp);
        if (k == 0) {
            memcpy(o + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i += 1;
        } else {
            memcpy(o + j, u + i, k);
            j += k;
            i += k;
        }
    }
    o[j] = 0;
    *out = o;
    *out_len = j;
    return CLLM_OK;
}

bool cllm_unicode_is_space(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC,
 * U+00AE..U+00FF) stand for themselves; the other 68 bytes map, in order, to
 * U+0100, U+0101, ... */
static bool gpt2_is_self(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

/* The 68 non-printable bytes, in order: 0x00..0x20 (33), 0x7F..0xA0 (34), 0xAD. */
uint32_t cllm_gpt2_byte_to_cp(uint8_t b) {
    if (gpt2_is_self(b)) return b;
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7F && b <= 0xA0) return 256u + 33u + (uint32_t)(b - 0x7F);
    return 256u + 67u; /* 0xAD */
}

int cllm_gpt2_cp_to_byte(uint32_t cp) {
    if (cp < 256) return gpt2_is_self(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t n = cp - 256;
    if (n < 33) return (int)n;
    if (n < 67) return (int)(0x7F + (n - 33));
    return 0xAD;
}
