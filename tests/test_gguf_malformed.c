/* test_gguf_malformed.c: the GGUF reader against hand-made files built in
 * memory: a valid base file read back value by value, then one file per
 * defect, each of which must be refused with its own status and message
 * (including the byte offset where it names one), then every truncation and
 * many byte mutations of the valid file (must never crash). */
#include "core/core.h"
#include "gguf/gguf_internal.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ byte builder */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void strn(buf *b, const char *s, size_t n) { u64(b, n); put(b, s, n); }
static void str(buf *b, const char *s) { strn(b, s, strlen(s)); }
static void hdr(buf *b, uint32_t version, uint64_t nt, uint64_t nkv) {
    put(b, "GGUF", 4);
    u32(b, version);
    u64(b, nt);
    u64(b, nkv);
}
static void kv_str(buf *b, const char *k, const char *v) { str(b, k); u32(b, CLLM_GGUF_STRING); str(b, v); }
static void kv_u32(buf *b, const char *k, uint32_t v) { str(b, k); u32(b, CLLM_GGUF_UINT32); u32(b, v); }
static void tinfo(buf *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type, uint64_t off) {
    str(b, name);
    u32(b, nd);
    for (uint32_t i = 0; i < nd; i++) u64(b, ne[i]);
    u32(b, type);
    u64(b, off);
}
static void pad(buf *b, size_t align) {
    while (b->n % align) u8(b, 0);
}
static void zeros(buf *b, size_t n) {
    for (size_t i = 0; i < n; i++) u8(b, (uint8_t)(i * 7));
}

/* The valid base file: 3 keys, 2 tensors ("a": f32[8] at 0; "b": q8_0[32,2]
 * at 32, 68 bytes). alignment is the general.alignment value to write (0 =
 * key absent). */
static void base(buf *b, uint32_t version, uint32_t alignment) {
    hdr(b, version, 2, alignment ? 3 : 2);
    kv_str(b, "general.architecture", "llama");
    if (alignment) kv_u32(b, "general.alignment", alignment);
    str(b, "tokenizer.ggml.tokens");
    u32(b, CLLM_GGUF_ARRAY);
    u32(b, CLLM_GGUF_STRING);
    u64(b, 3);
    str(b, "<unk>");
    str(b, "");
    str(b, "h\xc3\xa9");
    uint64_t a = alignment ? alignment : 32;
    tinfo(b, "a", 1, (uint64_t[]){8}, CLLM_TYPE_F32, 0);
    tinfo(b, "b", 2, (uint64_t[]){32, 2}, CLLM_TYPE_Q8_0, a > 32 ? a : 32);
    pad(b, a);
    zeros(b, 32);
    if (a > 32) zeros(b, a - 32);
    zeros(b, 68);
}

/* ------------------------------------------------------------------- cases */
typedef struct {
    const char *name;
    void (*build)(buf *b);
    cllm_status want;
    const char *substr;   /* must appear in the message */
    const char *substr2;  /* optional second substring (e.g. the offset) */
} bad_case;

static void c_empty(buf *b) { (void)b; }
static void c_trunc_header(buf *b) { put(b, "GGUF\x03\x00\x00\x00\x01\x00", 10); }
static void c_trunc_magic(buf *b) { put(b, "GG", 2); }
static void c_bad_magic(buf *b) { put(b, "GGML", 4); u32(b, 3); u64(b, 0); u64(b, 0); }
static void c_v1(buf *b) { hdr(b, 1, 0, 0); }
static void c_big_endian(buf *b) { hdr(b, 0x03000000u, 0, 0); }
static void c_v4(buf *b) { hdr(b, 4, 0, 0); }
static void c_nkv_huge(buf *b) { hdr(b, 3, 0, UINT64_MAX); kv_u32(b, "x", 1); }
static void c_nt_huge(buf *b) { hdr(b, 3, (uint64_t)1 << 62, 0); zeros(b, 100); }
static void c_nkv_past_end(buf *b) { hdr(b, 3, 0, 3); kv_u32(b, "abc", 1); kv_u32(b, "abd", 2); }
static void c_count_past_end(buf *b) {
    /* Counts fit the minimum sizes, but the second kv is cut short. */
    hdr(b, 3, 0, 2);
    kv_str(b, "general.name", "a reasonably long model name");
    str(b, "k2");
}
static void c_key_len_huge(buf *b) { hdr(b, 3, 0, 1); u64(b, UINT64_MAX); zeros(b, 1000); }
static void c_str_len_huge(buf *b) { hdr(b, 3, 0, 1); str(b, "general.name"); u32(b, CLLM_GGUF_STRING); u64(b, 1u << 20); zeros(b, 10); }
static void c_str_arr_huge(buf *b) {
    hdr(b, 3, 0, 1);
    str(b, "tokenizer.ggml.tokens");
    u32(b, CLLM_GGUF_ARRAY);
    u32(b, CLLM_GGUF_STRING);
    u64(b, (uint64_t)1 << 61);
    zeros(b, 64);
}
static void c_num_arr_huge(buf *b) {
    hdr(b, 3, 0, 1);
    str(b, "tokenizer.ggml.scores");
    u32(b, CLLM_GGUF_ARRAY);
    u32(b, CLLM_GGUF_FLOAT32);
    u64(b, (uint64_t)1 << 62); /* x4 overflows 64 bits */
    zeros(b, 64);
}
static void c_arr_elem_len_huge(buf *b) {
    hdr(b, 3, 0, 1);
    str(b, "tokenizer.ggml.tokens");
    u32(b, CLLM_GGUF_ARRAY);
    u32(b, CLLM_GGUF_STRING);
    u64(b, 3);
    str(b, "a");
    u64(b, 999999);
    zeros(b, 30);
}
static void c_align0(buf *b) { hdr(b, 3, 0, 1); kv_u32(b, "general.alignment", 0); }
static void c_align48(buf *b) { hdr(b, 3, 0, 1); kv_u32(b, "general.alignment", 48); }
static void c_align_type(buf *b) { hdr(b, 3, 0, 1); str(b, "general.alignment"); u32(b, CLLM_GGUF_UINT64); u64(b, 32); }
static void c_misaligned(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 1, (uint64_t[]){4}, CLLM_TYPE_F32, 4);
    pad(b, 32);
    zeros(b, 64);
}
static void c_misaligned64(buf *b) {
    /* 32 is aligned for the default but not for general.alignment = 64. */
    hdr(b, 3, 1, 1);
    kv_u32(b, "general.alignment", 64);
    tinfo(b, "w", 1, (uint64_t[]){4}, CLLM_TYPE_F32, 32);
    pad(b, 64);
    zeros(b, 128);
}
static void c_overlap(buf *b) {
    hdr(b, 3, 2, 0);
    tinfo(b, "w1", 1, (uint64_t[]){16}, CLLM_TYPE_F32, 0);   /* [0, 64) */
    tinfo(b, "w2", 1, (uint64_t[]){8}, CLLM_TYPE_F32, 32);   /* [32, 64) */
    pad(b, 32);
    zeros(b, 128);
}
static void c_dup_key(buf *b) { hdr(b, 3, 0, 3); kv_u32(b, "a.b", 1); kv_u32(b, "c", 2); kv_str(b, "a.b", "x"); }
static void c_dup_tensor(buf *b) {
    hdr(b, 3, 2, 0);
    tinfo(b, "blk.0.w", 1, (uint64_t[]){8}, CLLM_TYPE_F32, 0);
    tinfo(b, "blk.0.w", 1, (uint64_t[]){8}, CLLM_TYPE_F32, 32);
    pad(b, 32);
    zeros(b, 64);
}
static void c_unknown_type(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 1, (uint64_t[]){32}, 4, 0);
    pad(b, 32);
    zeros(b, 64);
}
static void c_type_huge(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 1, (uint64_t[]){32}, 0xFFFFFFFFu, 0);
    pad(b, 32);
    zeros(b, 64);
}
static void c_ndims0(buf *b) { hdr(b, 3, 1, 0); str(b, "w"); u32(b, 0); u32(b, 0); u64(b, 0); zeros(b, 40); }
static void c_ndims5(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 5, (uint64_t[]){1, 1, 1, 1, 1}, CLLM_TYPE_F32, 0);
    pad(b, 32);
    zeros(b, 32);
}
static void c_zero_dim(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 2, (uint64_t[]){8, 0}, CLLM_TYPE_F32, 0);
    pad(b, 32);
    zeros(b, 32);
}
static void c_dims_overflow(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 3, (uint64_t[]){1ull << 32, 1ull << 32, 16}, CLLM_TYPE_F32, 0);
    pad(b, 32);
    zeros(b, 32);
}
static void c_dim_negative(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 1, (uint64_t[]){UINT64_MAX}, CLLM_TYPE_F32, 0);
    pad(b, 32);
    zeros(b, 32);
}
static void c_bytes_overflow(buf *b) {
    /* 2^62 f32 elements fit 63 bits as a count, but x4 bytes does not. */
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 2, (uint64_t[]){1ull << 31, 1ull << 31}, CLLM_TYPE_F32, 0);
    pad(b, 32);
    zeros(b, 32);
}
static void c_row_block(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "blk.0.ffn_down.weight", 2, (uint64_t[]){40, 2}, CLLM_TYPE_Q8_0, 0);
    pad(b, 32);
    zeros(b, 128);
}
static void c_data_past_eof(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "blk.3.ffn_up.weight", 2, (uint64_t[]){16, 4}, CLLM_TYPE_F32, 0); /* 256 bytes */
    pad(b, 32);
    zeros(b, 100);
}
static void c_offset_overflow(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 1, (uint64_t[]){8}, CLLM_TYPE_F32, UINT64_MAX - 31);
    pad(b, 32);
    zeros(b, 32);
}
static void c_data_start_past_eof(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w", 1, (uint64_t[]){1}, CLLM_TYPE_I8, 0); /* file ends right after: no padding, no data */
}
static void c_utf8_key(buf *b) { hdr(b, 3, 0, 1); kv_u32(b, "gen\xff" "eral", 1); }
static void c_utf8_overlong(buf *b) { hdr(b, 3, 0, 1); kv_u32(b, "a\xc0\xaf", 1); }
static void c_utf8_tensor(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "w\xed\xa0\x80", 1, (uint64_t[]){8}, CLLM_TYPE_F32, 0); /* a UTF-16 surrogate */
    pad(b, 32);
    zeros(b, 32);
}
static void c_utf8_cut(buf *b) { hdr(b, 3, 0, 1); kv_u32(b, "ab\xe2\x82", 1); }
static void c_empty_key(buf *b) { hdr(b, 3, 0, 1); kv_u32(b, "", 1); }
static void c_nul_key(buf *b) { hdr(b, 3, 0, 1); str(b, "a"); b->p[b->n - 1] = 0; u32(b, CLLM_GGUF_UINT32); u32(b, 1); zeros(b, 2); }
static void c_empty_tensor_name(buf *b) {
    hdr(b, 3, 1, 0);
    tinfo(b, "", 1, (uint64_t[]){8}, CLLM_TYPE_F32, 0);
    pad(b, 32);
    zeros(b, 32);
}
static void c_bad_value_type(buf *b) { hdr(b, 3, 0, 1); str(b, "k"); u32(b, 13); u64(b, 0); }
static void c_bad_arr_type(buf *b) { hdr(b, 3, 0, 1); str(b, "k"); u32(b, CLLM_GGUF_ARRAY); u32(b, 99); u64(b, 1); zeros(b, 8); }
static void c_nested_array(buf *b) {
    /* An array of 2^60 arrays each claiming 2^60 arrays: refused at once. */
    hdr(b, 3, 0, 1);
    str(b, "k");
    u32(b, CLLM_GGUF_ARRAY);
    for (int i = 0; i < 8; i++) { u32(b, CLLM_GGUF_ARRAY); u64(b, 1ull << 60); }
}
static void c_trunc_tensor_info(buf *b) {
    hdr(b, 3, 2, 0);
    tinfo(b, "w", 1, (uint64_t[]){8}, CLLM_TYPE_F32, 0);
    str(b, "blk.0.attn_q.weight");
    u32(b, 2);
    u64(b, 8); /* second dimension, type and offset missing */
    zeros(b, 3);
}
static void c_trunc_value(buf *b) { hdr(b, 3, 0, 1); str(b, "general.file_type"); u32(b, CLLM_GGUF_UINT64); u32(b, 7); zeros(b, 1); }
static void c_bool_value(buf *b) { hdr(b, 3, 0, 1); str(b, "flag"); u32(b, CLLM_GGUF_BOOL); u8(b, 2); zeros(b, 4); }
static void c_bool_array(buf *b) {
    hdr(b, 3, 0, 1);
    str(b, "flags");
    u32(b, CLLM_GGUF_ARRAY);
    u32(b, CLLM_GGUF_BOOL);
    u64(b, 3);
    u8(b, 1);
    u8(b, 0);
    u8(b, 7);
}

#define ST_F CLLM_ERR_FORMAT
#define ST_U CLLM_ERR_UNSUPPORTED
static const bad_case g_cases[] = {
    {"empty file", c_empty, ST_F, "truncated", "offset 0"},
    {"truncated magic", c_trunc_magic, ST_F, "truncated", "has 2 bytes"},
    {"truncated header", c_trunc_header, ST_F, "truncated", "has 10 bytes"},
    {"bad magic", c_bad_magic, ST_F, "bad magic 'GGML'", "offset 0"},
    {"version 1", c_v1, ST_U, "v1", "offset 4"},
    {"big-endian", c_big_endian, ST_U, "big-endian", "0x03000000"},
    {"version 4", c_v4, ST_U, "unsupported GGUF version 4", NULL},
    {"n_kv huge", c_nkv_huge, ST_F, "n_kv 18446744073709551615", "offset 16"},
    {"n_tensors huge", c_nt_huge, ST_F, "n_tensors 4611686018427387904", "offset 8"},
    {"n_kv past end", c_nkv_past_end, ST_F, "n_kv 3 needs at least", NULL},
    {"kv count past end", c_count_past_end, ST_F, "key 1", "truncated"},
    {"key length huge", c_key_len_huge, ST_F, "offset 24: key 0: string length 18446744073709551615 exceeds the 1000 bytes left", NULL},
    {"string value length huge", c_str_len_huge, ST_F, "string length 1048576 exceeds the 10 bytes left", "'general.name'"},
    {"string array count huge", c_str_arr_huge, ST_F, "array of 2305843009213693952 strings", "tokenizer.ggml.tokens"},
    {"numeric array overflow", c_num_arr_huge, ST_F, "array of 4611686018427387904 float32 elements", NULL},
    {"array element length huge", c_arr_elem_len_huge, ST_F, "string length 999999", "array element 1"},
    {"alignment 0", c_align0, ST_F, "general.alignment 0 is not a nonzero power of two", NULL},
    {"alignment 48", c_align48, ST_F, "general.alignment 48 is not a nonzero power of two", NULL},
    {"alignment type", c_align_type, ST_F, "general.alignment must be a uint32, not uint64", NULL},
    {"misaligned offset", c_misaligned, ST_F, "data offset 4 is not a multiple of the alignment 32", "tensor 0 'w'"},
    {"misaligned for alignment 64", c_misaligned64, ST_F, "data offset 32 is not a multiple of the alignment 64", NULL},
    {"overlapping tensors", c_overlap, ST_F, "offset 128: tensors 'w1' [96, 160) and 'w2' [128, 160) overlap", NULL},
    {"duplicate key", c_dup_key, ST_F, "key 2 'a.b': duplicate key (first at index 0, offset 24)", NULL},
    {"duplicate tensor", c_dup_tensor, ST_F, "duplicate tensor name", "tensor 1 'blk.0.w'"},
    {"unknown tensor type", c_unknown_type, ST_U, "unknown tensor type 4", NULL},
    {"tensor type 2^32-1", c_type_huge, ST_U, "unknown tensor type 4294967295", NULL},
    {"n_dims 0", c_ndims0, ST_F, "n_dims 0 is outside 1..4", NULL},
    {"n_dims 5", c_ndims5, ST_F, "n_dims 5 is outside 1..4", NULL},
    {"zero dimension", c_zero_dim, ST_F, "dimension 1 is 0", NULL},
    {"dims overflow 64 bits", c_dims_overflow, ST_F, "dimension 1 (4294967296) makes the element count overflow", NULL},
    {"dimension above int64", c_dim_negative, ST_F, "dimension 0 (18446744073709551615)", NULL},
    {"byte size overflow", c_bytes_overflow, ST_F, "byte size overflows", NULL},
    {"row not multiple of block", c_row_block, ST_F, "ne[0]=40 is not a multiple of the q8_0 block size 32", "blk.0.ffn_down.weight"},
    {"data past EOF", c_data_past_eof, ST_F, "tensor 'blk.3.ffn_up.weight': data [96, 352) runs past end of file (size 196)", NULL},
    {"tensor offset overflow", c_offset_overflow, ST_F, "overflows 64 bits", NULL},
    {"data section past EOF", c_data_start_past_eof, ST_F, "data section starts at", NULL},
    {"invalid UTF-8 key", c_utf8_key, ST_F, "not valid UTF-8 (bad byte 0xff at index 3)", "gen\\xfferal"},
    {"overlong UTF-8 key", c_utf8_overlong, ST_F, "not valid UTF-8", NULL},
    {"cut UTF-8 key", c_utf8_cut, ST_F, "not valid UTF-8", NULL},
    {"surrogate in tensor name", c_utf8_tensor, ST_F, "tensor name 'w\\xed\\xa0\\x80' is not valid UTF-8", NULL},
    {"empty key", c_empty_key, ST_F, "offset 24: key 0: empty key", NULL},
    {"NUL in key", c_nul_key, ST_F, "contains a NUL byte", NULL},
    {"empty tensor name", c_empty_tensor_name, ST_F, "empty tensor name", NULL},
    {"bad value type", c_bad_value_type, ST_F, "offset 33: key 0 'k': bad value type 13", NULL},
    {"bad array element type", c_bad_arr_type, ST_F, "bad array element type 99", NULL},
    {"nested array bomb", c_nested_array, ST_U, "nested arrays", NULL},
    {"truncated tensor info", c_trunc_tensor_info, ST_F, "truncated", "tensor 1 'blk.0.attn_q.weight'"},
    {"truncated value", c_trunc_value, ST_F, "truncated: uint64 needs 8 bytes", NULL},
    {"bool value 2", c_bool_value, ST_F, "bool value 2 is neither 0 nor 1", NULL},
    {"bool array element 7", c_bool_array, ST_F, "bool element 2 is 7", NULL},
};

static void run_bad_cases(void) {
    size_t n = sizeof g_cases / sizeof g_cases[0];
    CHECK(n >= 30, "only %zu cases", n);
    for (size_t i = 0; i < n; i++) {
        const bad_case *c = &g_cases[i];
        buf b = {0};
        c->build(&b);
        cllm_gguf *g = (cllm_gguf *)0x1;
        cllm_clear_last_error();
        /* A zero-length buffer with a non-NULL pointer, never dereferenced. */
        cllm_status st = cllm_gguf_open_memory(b.p ? b.p : (const void *)"", b.n, &g);
        const char *msg = cllm_last_error();
        CHECK(st == c->want, "%s: status %s, want %s (%s)", c->name, cllm_status_str(st), cllm_status_str(c->want), msg);
        CHECK(g == NULL, "%s: handle not NULL on failure", c->name);
        CHECK(strstr(msg, c->substr) != NULL, "%s: message '%s' lacks '%s'", c->name, msg, c->substr);
        if (c->substr2) CHECK(strstr(msg, c->substr2) != NULL, "%s: message '%s' lacks '%s'", c->name, msg, c->substr2);
        if (getenv("CLLM_TEST_VERBOSE")) printf("%-28s %s\n", c->name, msg);
        if (g && g != (cllm_gguf *)0x1) cllm_gguf_free(g);
        free(b.p);
    }
}

/* ------------------------------------------------------------- valid files */
static void check_base(uint32_t version, uint32_t alignment) {
    buf b = {0};
    base(&b, version, alignment);
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open_memory(b.p, b.n, &g);
    CHECK(st == CLLM_OK, "base v%u align %u: %s", version, alignment, cllm_last_error());
    if (st != CLLM_OK) { free(b.p); return; }
    uint64_t a = alignment ? alignment : 32;
    CHECK(cllm_gguf_version(g) == version, "version");
    CHECK(cllm_gguf_alignment(g) == a, "alignment %llu", (unsigned long long)cllm_gguf_alignment(g));
    CHECK(cllm_gguf_data_offset(g) % a == 0, "data offset aligned");
    CHECK(cllm_gguf_file_size(g) == b.n, "size");
    CHECK(cllm_gguf_n_kv(g) == (alignment ? 3 : 2), "n_kv");
    const char *s = NULL;
    size_t len = 0;
    CHECK(cllm_gguf_get_str(g, "general.architecture", &s, &len) == CLLM_OK && len == 5 && !strcmp(s, "llama"),
          "arch");
    int64_t k = cllm_gguf_find_key(g, "tokenizer.ggml.tokens");
    CHECK(k >= 0 && cllm_gguf_kv_type(g, k) == CLLM_GGUF_ARRAY, "tokens kv");
    CHECK(cllm_gguf_arr_type(g, k) == CLLM_GGUF_STRING && cllm_gguf_arr_n(g, k) == 3, "tokens array");
    CHECK(cllm_gguf_arr_data(g, k) == NULL, "string array has no raw data");
    s = cllm_gguf_arr_str(g, k, 2, &len);
    CHECK(s && len == 3 && !strcmp(s, "h\xc3\xa9"), "token 2");
    s = cllm_gguf_arr_str(g, k, 1, &len);
    CHECK(s && len == 0 && s[0] == '\0', "empty token");
    CHECK(cllm_gguf_arr_str(g, k, 3, NULL) == NULL, "out of range");
    CHECK(cllm_gguf_n_tensors(g) == 2, "n_tensors");
    int64_t ti = cllm_gguf_find_tensor(g, "b");
    const cllm_tensor_info *t = cllm_gguf_tensor(g, ti);
    CHECK(ti == 1 && t && t->type == CLLM_TYPE_Q8_0 && t->n_dims == 2 && t->ne[0] == 32 && t->ne[1] == 2 &&
              t->ne[2] == 1 && t->ne[3] == 1 && t->nbytes == 68,
          "tensor b");
    if (t) {
        CHECK(t->file_offset == cllm_gguf_data_offset(g) + t->offset && t->file_offset % a == 0, "b offset");
        CHECK((const uint8_t *)t->data == b.p + t->file_offset, "data pointer");
    }
    CHECK(cllm_gguf_find_tensor(g, "c") == -1, "missing tensor");
    CHECK(cllm_gguf_tensor(g, 2) == NULL && cllm_gguf_tensor(g, -1) == NULL, "tensor out of range");
    cllm_gguf_free(g);

    /* Every strict prefix must be refused (never crash); the full file accepted. */
    int refused = 0;
    for (size_t n = 0; n < b.n; n++) {
        uint8_t *cp = malloc(n ? n : 1);
        memcpy(cp, b.p, n);
        if (cllm_gguf_open_memory(cp, n, &g) != CLLM_OK) refused++;
        else cllm_gguf_free(g);
        free(cp);
    }
    CHECK(refused == (int)b.n, "only %d of %zu truncations refused", refused, b.n);

    /* Single-byte mutations of the metadata/info region: any outcome but a crash.
     * Accepted ones must still have tensors inside the buffer. */
    uint64_t dofs = 0;
    if (cllm_gguf_open_memory(b.p, b.n, &g) == CLLM_OK) { dofs = cllm_gguf_data_offset(g); cllm_gguf_free(g); }
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x20};
    int inside = 1;
    for (size_t pos = 0; pos < dofs; pos++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            uint8_t *cp = malloc(b.n);
            memcpy(cp, b.p, b.n);
            cp[pos] = vals[v];
            if (cllm_gguf_open_memory(cp, b.n, &g) == CLLM_OK) {
                for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
                    const cllm_tensor_info *ti2 = cllm_gguf_tensor(g, i);
                    if (ti2->file_offset + ti2->nbytes > b.n) inside = 0;
                }
                cllm_gguf_free(g);
            }
            free(cp);
        }
    }
    CHECK(inside, "a mutated file was accepted with a tensor outside the buffer");
    free(b.p);
}

/* All 13 value types with getters and conversions. */
static void check_all_types(void) {
    buf b = {0};
    hdr(&b, 2, 0, 16);
    str(&b, "u8"); u32(&b, CLLM_GGUF_UINT8); u8(&b, 200);
    str(&b, "i8"); u32(&b, CLLM_GGUF_INT8); u8(&b, 0xF6);                  /* -10 */
    str(&b, "u16"); u32(&b, CLLM_GGUF_UINT16); put(&b, (uint16_t[]){65535}, 2);
    str(&b, "i16"); u32(&b, CLLM_GGUF_INT16); put(&b, (int16_t[]){-300}, 2);
    str(&b, "u32"); u32(&b, CLLM_GGUF_UINT32); u32(&b, 4000000000u);
    str(&b, "i32"); u32(&b, CLLM_GGUF_INT32); put(&b, (int32_t[]){-70000}, 4);
    str(&b, "f32"); u32(&b, CLLM_GGUF_FLOAT32); put(&b, (float[]){1.5f}, 4);
    str(&b, "b"); u32(&b, CLLM_GGUF_BOOL); u8(&b, 1);
    str(&b, "s"); u32(&b, CLLM_GGUF_STRING); strn(&b, "a\0b", 3);
    str(&b, "u64"); u32(&b, CLLM_GGUF_UINT64); u64(&b, UINT64_MAX);
    str(&b, "i64"); u32(&b, CLLM_GGUF_INT64); u64(&b, (uint64_t)INT64_MIN);
    str(&b, "f64"); u32(&b, CLLM_GGUF_FLOAT64); put(&b, (double[]){-2.25}, 8);
    str(&b, "arr.i32"); u32(&b, CLLM_GGUF_ARRAY); u32(&b, CLLM_GGUF_INT32); u64(&b, 3);
    put(&b, (int32_t[]){1, -2, 3}, 12);
    str(&b, "arr.f64"); u32(&b, CLLM_GGUF_ARRAY); u32(&b, CLLM_GGUF_FLOAT64); u64(&b, 2);
    put(&b, (double[]){0.5, 1e300}, 16);
    str(&b, "arr.empty"); u32(&b, CLLM_GGUF_ARRAY); u32(&b, CLLM_GGUF_UINT8); u64(&b, 0);
    str(&b, "\xe6\x97\xa5\xe6\x9c\xac.key"); u32(&b, CLLM_GGUF_ARRAY); u32(&b, CLLM_GGUF_BOOL); u64(&b, 2);
    u8(&b, 1); u8(&b, 0);
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open_memory(b.p, b.n, &g);
    CHECK(st == CLLM_OK, "all types: %s", cllm_last_error());
    if (st) { free(b.p); return; }
    CHECK(cllm_gguf_version(g) == 2, "v2");
    CHECK(cllm_gguf_n_kv(g) == 16, "16 kvs");
    static const cllm_gguf_type types[16] = {
        CLLM_GGUF_UINT8, CLLM_GGUF_INT8, CLLM_GGUF_UINT16, CLLM_GGUF_INT16, CLLM_GGUF_UINT32, CLLM_GGUF_INT32,
        CLLM_GGUF_FLOAT32, CLLM_GGUF_BOOL, CLLM_GGUF_STRING, CLLM_GGUF_UINT64, CLLM_GGUF_INT64, CLLM_GGUF_FLOAT64,
        CLLM_GGUF_ARRAY, CLLM_GGUF_ARRAY, CLLM_GGUF_ARRAY, CLLM_GGUF_ARRAY};
    for (int i = 0; i < 16; i++) CHECK(cllm_gguf_kv_type(g, i) == types[i], "type of kv %d", i);
    CHECK(cllm_gguf_kv_type(g, 16) == (cllm_gguf_type)-1, "kv type out of range");
    uint64_t u;
    int64_t i64;
    double f;
    bool bl;
    const char *s;
    size_t len;
    CHECK(cllm_gguf_get_u64(g, "u8", &u) == CLLM_OK && u == 200, "u8");
    CHECK(cllm_gguf_get_i64(g, "i8", &i64) == CLLM_OK && i64 == -10, "i8");
    CHECK(cllm_gguf_get_u64(g, "i8", &u) == CLLM_ERR_FORMAT && strstr(cllm_last_error(), "'i8'"), "negative to u64");
    CHECK(cllm_gguf_get_u64(g, "u16", &u) == CLLM_OK && u == 65535, "u16");
    CHECK(cllm_gguf_get_i64(g, "i16", &i64) == CLLM_OK && i64 == -300, "i16");
    CHECK(cllm_gguf_get_i64(g, "u32", &i64) == CLLM_OK && i64 == 4000000000ll, "u32 as i64");
    CHECK(cllm_gguf_get_i64(g, "i32", &i64) == CLLM_OK && i64 == -70000, "i32");
    CHECK(cllm_gguf_get_f64(g, "f32", &f) == CLLM_OK && f == 1.5, "f32");
    CHECK(cllm_gguf_get_bool(g, "b", &bl) == CLLM_OK && bl, "bool");
    CHECK(cllm_gguf_get_str(g, "s", &s, &len) == CLLM_OK && len == 3 && s[1] == '\0' && s[2] == 'b' && s[3] == '\0',
          "string with NUL");
    CHECK(cllm_gguf_get_u64(g, "u64", &u) == CLLM_OK && u == UINT64_MAX, "u64");
    CHECK(cllm_gguf_get_i64(g, "u64", &i64) == CLLM_ERR_FORMAT && strstr(cllm_last_error(), "does not fit"), "u64 max to i64");
    CHECK(cllm_gguf_get_i64(g, "i64", &i64) == CLLM_OK && i64 == INT64_MIN, "i64");
    CHECK(cllm_gguf_get_f64(g, "f64", &f) == CLLM_OK && f == -2.25, "f64");
    CHECK(cllm_gguf_get_f64(g, "u8", &f) == CLLM_ERR_FORMAT && strstr(cllm_last_error(), "key 'u8' is a uint8"), "u8 as float");
    CHECK(cllm_gguf_get_str(g, "u8", &s, NULL) == CLLM_ERR_FORMAT, "u8 as string");
    CHECK(cllm_gguf_get_bool(g, "s", &bl) == CLLM_ERR_FORMAT, "string as bool");
    CHECK(cllm_gguf_get_u64(g, "nope", &u) == CLLM_ERR_NOT_FOUND && strstr(cllm_last_error(), "'nope'"), "absent");
    int64_t k = cllm_gguf_find_key(g, "arr.i32");
    CHECK(cllm_gguf_arr_type(g, k) == CLLM_GGUF_INT32 && cllm_gguf_arr_n(g, k) == 3, "arr.i32");
    const int32_t *ai = cllm_gguf_arr_data(g, k);
    CHECK(ai && ((uintptr_t)ai % 4) == 0 && ai[0] == 1 && ai[1] == -2 && ai[2] == 3, "arr.i32 values aligned");
    k = cllm_gguf_find_key(g, "arr.f64");
    const double *ad = cllm_gguf_arr_data(g, k);
    CHECK(ad && ((uintptr_t)ad % 8) == 0 && ad[0] == 0.5 && ad[1] == 1e300, "arr.f64");
    k = cllm_gguf_find_key(g, "arr.empty");
    CHECK(k == 14 && cllm_gguf_arr_n(g, k) == 0 && cllm_gguf_arr_type(g, k) == CLLM_GGUF_UINT8, "empty array");
    k = cllm_gguf_find_key(g, "\xe6\x97\xa5\xe6\x9c\xac.key");
    const uint8_t *ab = cllm_gguf_arr_data(g, k);
    CHECK(k == 15 && ab && ab[0] == 1 && ab[1] == 0, "UTF-8 key, bool array");
    CHECK(cllm_gguf_arr_type(g, 0) == (cllm_gguf_type)-1 && cllm_gguf_arr_n(g, 0) == 0 && !cllm_gguf_arr_data(g, 0),
          "scalar is no array");
    CHECK(cllm_gguf_n_tensors(g) == 0 && cllm_gguf_find_tensor(g, "x") == -1, "no tensors");
    cllm_gguf_free(g);
    free(b.p);
}

/* Many keys and tensors: lookups stay fast and every one is found. */
static void check_many(void) {
    enum { N = 100000 };
    buf b = {0};
    hdr(&b, 3, N, N);
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "key.%d", i);
        kv_u32(&b, name, (uint32_t)i);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "t.%d", i);
        tinfo(&b, name, 1, (uint64_t[]){1 + (uint64_t)(i % 32)}, CLLM_TYPE_I8, (uint64_t)i * 32);
    }
    pad(&b, 32);
    zeros(&b, (size_t)N * 32);
    uint64_t t0 = cllm_time_ns();
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open_memory(b.p, b.n, &g);
    double ms = (double)(cllm_time_ns() - t0) / 1e6;
    CHECK(st == CLLM_OK, "many: %s", cllm_last_error());
    if (g) {
        int bad = 0;
        for (int i = 0; i < N; i++) {
            uint64_t u = 0;
            snprintf(name, sizeof name, "key.%d", i);
            if (cllm_gguf_get_u64(g, name, &u) != CLLM_OK || u != (uint64_t)i) bad++;
            snprintf(name, sizeof name, "t.%d", i);
            if (cllm_gguf_find_tensor(g, name) != i) bad++;
        }
        CHECK(bad == 0, "many: %d lookups failed", bad);
        cllm_gguf_free(g);
    }
    /* 100k keys + 100k tensors parse in well under a second even under ASan. */
    CHECK(ms < 3000, "many: open took %.0f ms", ms);
    free(b.p);
}

int main(void) {
    run_bad_cases();
    check_many();
    check_base(3, 0);
    check_base(3, 32);
    check_base(2, 64);
    check_base(3, 256);
    check_all_types();
    /* NULL safety. */
    cllm_gguf_free(NULL);
    CHECK(cllm_gguf_n_kv(NULL) == 0 && cllm_gguf_key(NULL, 0) == NULL && cllm_gguf_find_key(NULL, "x") == -1, "NULL");
    CHECK(cllm_gguf_open_memory(NULL, 10, &(cllm_gguf *){NULL}) == CLLM_ERR_INVALID_ARG, "NULL data");
    CHECK(cllm_gguf_open("/nonexistent/x.gguf", &(cllm_gguf *){NULL}) == CLLM_ERR_NOT_FOUND &&
              strstr(cllm_last_error(), "/nonexistent/x.gguf"),
          "missing file");
    CHECK(cllm_gguf_open("/tmp", &(cllm_gguf *){NULL}) == CLLM_ERR_IO, "directory");
    return test_finish();
}
