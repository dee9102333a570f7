/* tok_internal.h: the vocabulary structure shared by the tokenizer files
 * (vocab.c, spm.c, bpe.c, wpm.c, pretok.c, special.c, tokenize.c, detok.c),
 * plus their internal entry points. Not part of the public API.
 *
 * Semantics follow llama.cpp's llama-vocab.cpp (the reference the shared test
 * vectors were produced with); where cllm deviates it says so at the spot. */
#ifndef CLLM_TOK_INTERNAL_H
#define CLLM_TOK_INTERNAL_H

#include "cllm.h"
#include "core/core.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* ------------------------------------------------------------ hash maps */
/* String -> int32 map over externally owned strings (keys are borrowed: the
 * caller keeps them alive and unchanged while the map lives). Open addressing,
 * power-of-two capacity; values are looked up by (ptr,len). */
typedef struct cllm_strmap {
    uint32_t *slots;      /* 0 = empty, else value index + 1 */
    uint32_t  cap;        /* power of two */
    uint32_t  n;
    /* key accessor: the map stores only value indices; key text of index i is
     * (keys[i], lens[i]) */
    const char *const *keys;
    const uint32_t    *lens;
} cllm_strmap;

uint64_t cllm_tok_hash(const void *p, size_t n);
/* Add key index i (keys/lens arrays must already hold it); false if present
 * (a duplicate keeps the first index). Call cllm_strmap_reserve first. */
bool    cllm_strmap_insert(cllm_strmap *m, uint32_t i);
int32_t cllm_strmap_find(const cllm_strmap *m, const char *s, size_t len); /* -1 */
/* Make room for n_total keys (rehashes the ones present). */
cllm_status cllm_strmap_reserve(cllm_strmap *m, uint32_t n_total);
void    cllm_strmap_free(cllm_strmap *m);

/* u64 -> (rank, result) map for BPE merges keyed by (left piece, right piece). */
typedef struct cllm_merge_entry {
    uint64_t key;         /* (left << 32) | right; UINT64_MAX = empty */
    int32_t  rank;
    int32_t  result;      /* piece id of left+right */
} cllm_merge_entry;

typedef struct cllm_mergemap {
    cllm_merge_entry *slots;
    uint32_t cap, n;
} cllm_mergemap;

cllm_status cllm_mergemap_init(cllm_mergemap *m, uint32_t n_expected);
/* Inserts unless present (first occurrence wins, as llama.cpp's emplace). */
cllm_status cllm_mergemap_put(cllm_mergemap *m, uint64_t key, int32_t rank, int32_t result);
const cllm_merge_entry *cllm_mergemap_get(const cllm_mergemap *m, uint64_t key);
void cllm_mergemap_free(cllm_mergemap *m);

/* ----------------------------------------------------------- the vocab */
/* GGUF tokenizer.ggml.token_type values. */
enum {
    CLLM_TOKTYPE_UNDEFINED = 0, CLLM_TOKTYPE_NORMAL = 1, CLLM_TOKTYPE_UNKNOWN = 2,
    CLLM_TOKTYPE_CONTROL = 3, CLLM_TOKTYPE_USER_DEFINED = 4, CLLM_TOKTYPE_UNUSED = 5,
    CLLM_TOKTYPE_BYTE = 6
};

typedef struct cllm_pretok cllm_pretok;   /* compiled pre-tokenizer (pretok.c) */

#define CLLM_ESCAPED_SPACE "\xe2\x96\x81"  /* U+2581 LOWER ONE EIGHTH BLOCK */

struct cllm_vocab {
    cllm_err err;
    cllm_vocab_type type;
    char pre_name[64];        /* tokenizer.ggml.pre as given ("" when absent) */
    char model_name[32];      /* tokenizer.ggml.model */

    /* Pieces: [0, n_tokens) are the vocabulary; [n_tokens, n_pieces) are extra
     * strings that occur only inside BPE merges. All texts live in `arena`. */
    int32_t   n_tokens, n_pieces, pieces_cap;
    void     *arena;          /* chunk list owned by vocab.c */
    const char **text;        /* [pieces_cap] pointers into arena (NUL-terminated) */
    uint32_t *text_len;       /* [pieces_cap] */
    float    *score;          /* [n_tokens] */
    uint32_t *attr;           /* [n_tokens] CLLM_TOKEN_ATTR_* bits */
    uint8_t  *eog;            /* [n_tokens] 1 when end-of-generation */
    cllm_strmap map;          /* piece text -> piece id */
    int32_t   max_token_len;  /* bytes */

    /* Special ids (-1 when absent). */
    int32_t bos, eos, eot, eom, unk, sep, pad, cls, mask, nl;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;

    bool add_bos, add_eos, add_sep;
    bool add_space_prefix, remove_extra_ws, clean_spaces, ignore_merges;
    bool escape_whitespaces;  /* SPM: spaces become U+2581 */
    bool wpm_lowercase, wpm_strip_accents;

    /* Special tokens (CONTROL|USER_DEFINED|UNKNOWN) by text length desc, id asc. */
    int32_t *special;
    int32_t  n_special;

    /* SPM: token for each byte (<0xXX> or the 1-byte text), -1 if none. */
    int32_t byte_token[256];
    /* SPM: bytes that precede U+2581 inside some token. Elsewhere a U+2581
     * symbol starts a part of the text no token can span, so the parts merge
     * independently (same result, far better locality). */
    uint8_t spm_glue_before_space[256];

    /* BPE: piece id of each byte's GPT-2 character; merge ranks. */
    int32_t       byte_piece[256];
    cllm_mergemap merges;
    cllm_pretok  *pretok;
};

/* A vocab description for cllm_vocab_build: everything borrowed, copied by
 * the build. texts[i] need not be NUL-terminated. scores/types/merges may be
 * NULL. Special ids < 0 mean "use the model type's default". */
typedef struct cllm_vocab_desc {
    const char *model;        /* "llama" (SPM), "gpt2" (BPE), "bert" (WPM) */
    const char *pre;          /* tokenizer.ggml.pre or NULL */
    const char *name;         /* general.name or NULL (phi-3 strip rules) */
    int32_t n_tokens;
    const char *const *texts;
    const uint32_t *lens;
    const float *scores;
    const int32_t *types;
    int64_t n_merges;
    const char *const *merges;
    const uint32_t *merge_lens;
    /* ids: -2 = not given (type default), -1 = explicitly none */
    int32_t bos, eos, eot, eom, unk, sep, pad, cls, mask;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    /* tri-state flags: -1 = not given, 0/1 = value */
    int8_t add_bos, add_eos, add_sep, add_space_prefix, remove_extra_ws;
    int8_t lowercase, strip_accents;
} cllm_vocab_desc;

void cllm_vocab_desc_init(cllm_vocab_desc *d);
/* Build a vocab from a description (copies everything). On failure *out is
 * NULL and cllm_last_error() names the defect. */
cllm_status cllm_vocab_build(const cllm_vocab_desc *d, cllm_vocab **out);

/* Piece id of text, or -1. Token id when < n_tokens. */
static inline int32_t cllm_vocab_piece(const cllm_vocab *v, const char *s, size_t n) {
    return cllm_strmap_find(&v->map, s, n);
}
static inline int32_t cllm_vocab_text_to_token(const cllm_vocab *v, const char *s, size_t n) {
    int32_t id = cllm_strmap_find(&v->map, s, n);
    return id < v->n_tokens ? id : -1;
}

/* ------------------------------------------------------ token id buffer */
typedef struct cllm_tokbuf {
    int32_t *ids;
    size_t   n, cap;
    bool     oom;             /* an append failed; the result is incomplete */
} cllm_tokbuf;

void cllm_tokbuf_grow(cllm_tokbuf *b);   /* doubles; sets oom on failure */
static inline void cllm_tokbuf_push(cllm_tokbuf *b, int32_t id) {
    if (b->n == b->cap) cllm_tokbuf_grow(b);
    if (b->n < b->cap) b->ids[b->n++] = id;
}

/* ------------------------------------------------------------- unicode */
/* Decode one UTF-8 sequence at s[0..n): returns its length (1..4) and the
 * code point, or 0 when the bytes at s do not start a valid sequence
 * (overlong, surrogate, > U+10FFFF, truncated, stray continuation). */
size_t cllm_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Encode cp into out (>= 4 bytes); returns the length. */
size_t cllm_utf8_encode(uint32_t cp, char *out);
/* Length llama.cpp assigns to a UTF-8 sequence from its lead byte (1..4). */
static inline size_t cllm_utf8_lead_len(unsigned char c) {
    static const uint8_t lut[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lut[c >> 4];
}
/* Copy s[0..n) replacing every byte that is not part of a valid UTF-8
 * sequence with U+FFFD (as llama.cpp's decoder does). Caller frees *out. */
cllm_status cllm_utf8_sanitize(const char *s, size_t n, char **out, size_t *out_len);
/* The whitespace set llama.cpp's tokenizers use. */
bool cllm_unicode_is_space(uint32_t cp);
/* GPT-2 byte-level alphabet: byte -> code point, code point -> byte (-1). */
uint32_t cllm_gpt2_byte_to_cp(uint8_t b);
int      cllm_gpt2_cp_to_byte(uint32_t cp);

/* ----------------------------------------------------- pre-tokenizers */
/* Compile the BPE pre-tokenizer named by tokenizer.ggml.pre ("" = default)
 * into *out (caller frees with cllm_pretok_free); CLLM_ERR_UNSUPPORTED with a
 * message naming it when unknown. The flags it implies (clean_spaces,
 * ignore_merges, add_bos, add_sep) are written to v. */
cllm_status cllm_pretok_create(const char *pre, cllm_vocab *v, cllm_pretok **out);
void        cllm_pretok_free(cllm_pretok *p);
/* Split text (valid UTF-8) into words: writes (start, length) byte pairs.
 * *spans is realloc'd; returns the number of words or -1 on OOM. */
int64_t cllm_pretok_split(const cllm_pretok *p, const char *text, size_t len, size_t **spans,
                          size_t *spans_cap);
/* Names of all known pre-tokenizers, NULL-terminated (for docs/tests). */
const char *const *cllm_pretok_names(void);

/* -------------------------------------------------------- tokenizers */
/* Each appends the tokens of one raw-text fragment. */
void cllm_spm_tokenize(const cllm_vocab *v, const char *text, size_t len, cllm_tokbuf *out);
void cllm_bpe_tokenize(const cllm_vocab *v, const char *text, size_t len, cllm_tokbuf *out);
void cllm_wpm_tokenize(const cllm_vocab *v, const char *text, size_t len, cllm_tokbuf *out);

/* Special-token partition (special.c): the text as a list of raw fragments
 * and special tokens, in text order; free with cllm_fragments_free (also
 * after a failure). */
typedef struct cllm_fragment {
    int32_t token;            /* >= 0: a special token; -1: raw text */
    size_t  off, len;         /* raw text span (byte offsets into the input) */
    int32_t next;             /* index of the next fragment, -1 at the end */
} cllm_fragment;

typedef struct cllm_fragments {
    cllm_fragment *f;
    int32_t n, cap, head;
} cllm_fragments;

cllm_status cllm_special_partition(const cllm_vocab *v, const char *text, size_t len, bool parse_special,
                                   cllm_fragments *out);
void cllm_fragments_free(cllm_fragments *fr);

/* Piece of a token with up to lstrip leading spaces removed (detok.c). */
int32_t cllm_token_to_piece_ex(const cllm_vocab *v, int32_t id, char *buf, int32_t len, int32_t lstrip,
                               bool special);
/* llama.cpp's clean_up_tokenization_spaces passes over text[0..n), in place;
 * returns the new length. */
int32_t cllm_detok_clean_spaces(char *text, int32_t n);

#endif /* CLLM_TOK_INTERNAL_H */
