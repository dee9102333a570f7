/* gguf_internal.h: the in-memory form of a validated GGUF file (the reader's
 * handle), shared by the reader and the writer. Not part of the public API.
 *
 * Ownership: every string (keys, string values, string array elements,
 * tensor names) and every numeric array is copied into the handle's arena and
 * freed with it. Tensor data stays in the mapping (or the caller's buffer for
 * cllm_gguf_open_memory). cllm only runs on little-endian hosts, so numeric
 * values are used as stored. */
#ifndef CLLM_GGUF_INTERNAL_H
#define CLLM_GGUF_INTERNAL_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLLM_GGUF_MAGIC 0x46554747u        /* "GGUF" read as a little-endian u32 */
#define CLLM_GGUF_DEFAULT_ALIGNMENT 32u
#define CLLM_GGUF_MAX_DIMS 4

/* One metadata key/value. */
typedef struct cllm_gguf_kv {
    const char *key;          /* NUL-terminated, valid UTF-8, non-empty */
    size_t key_len;
    cllm_gguf_type type;
    uint64_t file_offset;     /* where the kv's key length starts */
    union {                   /* scalar value (types other than string/array) */
        uint64_t u;           /* uint8..uint64 zero-extended */
        int64_t i;            /* int8..int64 sign-extended */
        double f;             /* float32 widened, float64 */
        bool b;
    } v;
    const char *str;          /* STRING: NUL-terminated copy (may hold NULs) */
    size_t str_len;
    cllm_gguf_type arr_type;  /* ARRAY: element type (never ARRAY) */
    uint64_t arr_n;           /* ARRAY: element count */
    const void *arr_data;     /* numeric ARRAY: arr_n elements, aligned to their size */
    const char **arr_strs;    /* STRING ARRAY: arr_n NUL-terminated copies */
    const size_t *arr_lens;   /* STRING ARRAY: their lengths */
} cllm_gguf_kv;

typedef struct cllm_gguf_arena_chunk cllm_gguf_arena_chunk;

struct cllm_gguf {
    cllm_err err;
    const uint8_t *base;      /* the whole file (mapping or caller buffer) */
    uint64_t size;
    bool mapped;              /* base was mmapped by us (unmap in free) */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;     /* start of the tensor data section */
    int64_t n_kv;
    cllm_gguf_kv *kvs;
    int64_t n_tensors;
    cllm_tensor_info *tensors;
    /* Open-addressing hash tables of index+1 (0 = empty), capacity a power of two. */
    int64_t *kv_hash;
    uint64_t kv_hash_cap;
    int64_t *t_hash;
    uint64_t t_hash_cap;
    uint64_t hash_seed;       /* per handle, so crafted names cannot all collide */
    cllm_gguf_arena_chunk *arena;
};

/* Byte size of one element of a scalar GGUF value type; 0 for string/array or
 * an unknown id. */
size_t cllm_gguf_type_size(cllm_gguf_type t);
/* Name of a GGUF value type ("uint32", "string", ...), "?" if unknown. */
const char *cllm_gguf_type_name(cllm_gguf_type t);
/* The kv at index i, or NULL when i is out of range. Borrowed from g. */
const cllm_gguf_kv *cllm_gguf_kv_at(const cllm_gguf *g, int64_t i);

/* Strict UTF-8 check (no overlongs, surrogates or code points above U+10FFFF).
 * Returns true when valid; otherwise *bad_at is the offset of the bad byte. */
bool cllm_utf8_valid(const char *s, size_t n, size_t *bad_at);

#endif /* CLLM_GGUF_INTERNAL_H */
