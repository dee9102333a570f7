/* detok.c: token ids back to text: the piece of one token, a whole sequence
 * (leading-space removal for SPM, clean-up of tokenization spaces for GPT-2
 * style vocabs), and the streaming detokenizer that holds back incomplete
 * UTF-8 until the token that completes it arrives.
 *
 * Pieces follow llama.cpp's token_to_piece: control and unknown tokens are
 * empty unless `special`; user-defined tokens are their text; SPM/WPM normal
 * tokens turn U+2581 into spaces; BPE normal tokens map their GPT-2
 * characters back to bytes; byte tokens (<0xXX>) are their byte. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Write the piece of id into tmp (capacity >= text_len + 4); returns length. */
static size_t build_piece(const cllm_vocab *v, int32_t id, char *tmp) {
    const char *t = v->text[id];
    size_t n = v->text_len[id];
    uint32_t attr = v->attr[id];
    if (attr & (CLLM_TOKEN_ATTR_UNKNOWN | CLLM_TOKEN_ATTR_CONTROL | CLLM_TOKEN_ATTR_USER_DEFINED)) {
        memcpy(tmp, t, n);
        return n;
    }
    if (attr & CLLM_TOKEN_ATTR_NORMAL) {
        size_t k = 0;
        if (v->type == CLLM_VOCAB_BPE) {
            const unsigned char *u = (const unsigned char *)t;
            for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t cl = cllm_utf8_decode(u + i, n - i, &cp);
                if (cl == 0) {
                    tmp[k++] = (char)u[i++];
                    continue;
                }
                int b = cllm_gpt2_cp_to_byte(cp);
                if (b >= 0) {
                    tmp[k++] = (char)b;
                } else {
                    /* Not a byte-level character (odd vocab): keep it. */
                    memcpy(tmp + k, u + i, cl);
                    k += cl;
                }
                i += cl;
            }
        } else {
            for (size_t i = 0; i < n;) {
                if (i + 3 <= n && memcmp(t + i, CLLM_ESCAPED_SPACE, 3) == 0) {
                    tmp[k++] = ' ';
                    i += 3;
                } else {
                    tmp[k++] = t[i++];
                }
            }
        }
        return k;
    }
    if (attr & CLLM_TOKEN_ATTR_BYTE) {
        if (n == 6 && t[0] == '<' && t[1] == '0' && t[2] == 'x' && t[5] == '>' && hexval(t[3]) >= 0 &&
            hexval(t[4]) >= 0) {
            tmp[0] = (char)(hexval(t[3]) * 16 + hexval(t[4]));
            return 1;
        }
        memcpy(tmp, t, n);
        return n;
    }
    return 0;   /* unused / undefined tokens render as nothing */
}

int32_t cllm_token_to_piece_ex(const cllm_vocab *v, int32_t id, char *buf, int32_t len, int32_t lstrip,
                               bool special) {
    if (!v || id < 0 || id >= v->n_tokens || len < 0 || (!buf && len > 0)) return 0;
    uint32_t attr = v->attr[id];
    if (!special && (attr & (CLLM_TOKEN_ATTR_UNKNOWN | CLLM_TOKEN_ATTR_CONTROL))) return 0;
    char stack[256];
    size_t need = (size_t)v->text_len[id] + 4;
    char *tmp = need <= sizeof stack ? stack : malloc(need);
    if (!tmp) return 0;
    size_t n = build_piece(v, id, tmp);
    const char *p = tmp;
    for (int32_t i = 0; i < lstrip && n > 0 && *p == ' '; i++) {
        p++;
        n--;
    }
    int32_t r;
    if ((size_t)len < n) {
        r = -(int32_t)n;
    } else {
        memcpy(buf, p, n);
        r = (int32_t)n;
    }
    if (tmp != stack) free(tmp);
    return r;
}

int32_t cllm_token_to_piece(const cllm_vocab *v, int32_t id, char *buf, int32_t len, bool special) {
    return cllm_token_to_piece_ex(v, id, buf, len, 0, special);
}

int32_t cllm_detok_clean_spaces(char *text, int32_t total) {
    /* Pass 1: " ?", " !", " .", " ," lose their space. */
    int32_t t1 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < t1; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--;
        text[total++] = x;
    }
    /* Pass 2: a lone apostrophe between spaces, " ' ", loses both spaces. */
    int32_t t2 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < t2; i++) {
        char x = text[i];
        if (x == '\'' && i + 1 < t2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
            total--;
            text[++i] = '\0';
        }
        text[total++] = x;
    }
    /* Pass 3: contractions " 's", " 'm", " 're", " 've" lose their space. */
    int32_t t3 = total;
    total = total ? 1 : 0;
    for (int32_t i = 1; i < t3; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < t3) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm') {
                total--;
            } else if (i + 2 < t3) {
                char x2 = text[i + 2];
                if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) total--;
            }
        }
        text[total++] = x;
    }
    return total;
}

int32_t cllm_detokenize(const cllm_vocab *v, const int32_t *ids, int32_t n, char *buf, int32_t len,
                        bool remove_special, bool unparse_special) {
    if (!v || n < 0 || (!ids && n > 0) || len < 0 || (!buf && len > 0)) return 0;
    if (remove_special && v->add_bos && n > 0 && ids[0] == v->bos) {
        ids++;
        n--;
    }
    if (remove_special && v->add_eos && n > 0 && ids[n - 1] == v->eos) n--;
    /* The SPM space prefix is removed from the first token after any BOS
     * (llama.cpp keeps it when a BOS precedes; cllm undoes what tokenize did). */
    bool remove_space = v->add_space_prefix;
    int64_t total = 0;
    int32_t avail = len;
    char *p = buf;
    for (int32_t i = 0; i < n; i++) {
        bool lead_bos = remove_space && ids[i] == v->bos && v->bos >= 0;
        int32_t k = cllm_token_to_piece_ex(v, ids[i], p, avail, remove_space && !lead_bos ? 1 : 0, unparse_special);
        if (!lead_bos) remove_space = false;
        if (k < 0) {
            avail = 0;
            total += -(int64_t)k;
        } else {
            avail -= k;
            p += k;
            total += k;
        }
        if (total > INT32_MAX) return INT32_MIN + 1;
    }
    if (total > len) return -(int32_t)total;
    int32_t t = (int32_t)total;
    if (v->clean_spaces) t = cllm_detok_clean_spaces(buf, t);
    return t;
}

/* ------------------------------------------------------------ streaming */
struct cllm_detok_stream {
    const cllm_vocab *v;
    bool special;
    char *q;          /* queued bytes */
    size_t n, cap;
};

cllm_detok_stream *cllm_detok_stream_init(const cllm_vocab *v) {
    if (!v) return NULL;
    cllm_detok_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->v = v;
    return s;
}

void cllm_detok_stream_set_special(cllm_detok_stream *s, bool render_special) {
    if (s) s->special = render_special;
}

void cllm_detok_stream_free(cllm_detok_stream *s) {
    if (!s) return;
    free(s->q);
    free(s);
}

/* Bytes of q[0..n) that can go out now: all but an incomplete UTF-8
 * sequence at the end (a lead byte whose continuation bytes are still
 * missing, the ones present being valid). */
static size_t ready_len(const unsigned char *q, size_t n) {
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = q[n - back];
        if ((c & 0xC0) == 0x80) continue;            /* continuation: look further back */
        size_t need = 0;
        if (c >= 0xC2 && c <= 0xDF) need = 2;
        else if (c >= 0xE0 && c <= 0xEF) need = 3;
        else if (c >= 0xF0 && c <= 0xF4) need = 4;
        if (need > back) {
            /* The second byte, when present, must fit the lead byte. */
            if (back >= 2) {
                unsigned char c2 = q[n - back + 1];
                if ((c == 0xE0 && c2 < 0xA0) || (c == 0xED && c2 > 0x9F) || (c == 0xF0 && c2 < 0x90) ||
                    (c == 0xF4 && c2 > 0x8F))
                    return n;
            }
            return n - back;
        }
        return n;
    }
    return n;
}

static int32_t take(cllm_detok_stream *s, size_t ready, char *out, size_t cap) {
    size_t k = ready < cap ? ready : cap;
    if (k > INT32_MAX) k = INT32_MAX;
    if (k) {
        memcpy(out, s->q, k);
        memmove(s->q, s->q + k, s->n - k);
        s->n -= k;
    }
    return (int32_t)k;
}

int32_t cllm_detok_stream_push(cllm_detok_stream *s, int32_t id, char *out, size_t cap) {
    if (!s || id < 0 || id >= s->v->n_tokens || (!out && cap > 0)) return -(int32_t)CLLM_ERR_INVALID_ARG;
    size_t need = (size_t)s->v->text_len[id] + 4;
    if (s->n + need > s->cap) {
        size_t nc = s->cap ? s->cap : 64;
        while (nc < s->n + need) nc *= 2;
        char *nq = realloc(s->q, nc);
        if (!nq) return -(int32_t)CLLM_ERR_NOMEM;
        s->q = nq;
        s->cap = nc;
    }
    int32_t k = cllm_token_to_piece_ex(s->v, id, s->q + s->n, (int32_t)(s->cap - s->n), 0, s->special);
    if (k > 0) s->n += (size_t)k;
    return take(s, ready_len((const unsigned char *)s->q, s->n), out, cap);
}

int32_t cllm_detok_stream_flush(cllm_detok_stream *s, char *out, size_t cap) {
    if (!s || (!out && cap > 0)) return 0;
    return take(s, s->n, out, cap);
}
