/* reader.c: the GGUF reader. Maps a file read-only (or borrows a caller
 * buffer), parses the header, metadata and tensor infos, and validates every
 * count, length, offset and size against the bytes actually present before
 * using it. Tensor data is never read here: opening a multi-GB model only
 * touches its header pages.
 *
 * Layout (GGUF v2/v3, little-endian):
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x { string key | u32 value type | value }
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 type | u64 offset }
 *   zero padding to general.alignment | tensor data (each tensor aligned)
 * where string = u64 length + bytes (no NUL), and an array value is
 * u32 element type + u64 count + elements. */
#include "gguf/gguf_internal.h"
#include "tensor/types.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Smallest possible encodings, used to bound counts before allocating:
 * a kv is key length (8) + >= 1 key byte + value type (4) + >= 1 value byte;
 * a tensor info is name length (8) + >= 1 name byte + n_dims (4) + >= 1 dim
 * (8) + type (4) + offset (8). */
#define MIN_KV_BYTES 14u
#define MIN_TENSOR_INFO_BYTES 33u
#define HEADER_BYTES 24u

/* ------------------------------------------------------------------ arena */
struct cllm_gguf_arena_chunk {
    cllm_gguf_arena_chunk *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK (1u << 20)

static void *arena_alloc(cllm_gguf *g, size_t n, size_t align) {
    cllm_gguf_arena_chunk *c = g->arena;
    if (c) {
        size_t at = (c->used + (align - 1)) & ~(align - 1);
        if (at <= c->cap && n <= c->cap - at) {
            c->used = at + n;
            return c->data + at;
        }
    }
    /* Chunks of 1 MiB, smaller for small files (whose strings are smaller). */
    size_t chunk = g->size < ARENA_CHUNK ? (size_t)g->size + 64 : ARENA_CHUNK;
    size_t cap = n > chunk ? n : chunk;
    if (cap > SIZE_MAX - sizeof *c) return NULL;
    c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->cap = cap;
    c->used = n;
    c->next = g->arena;
    g->arena = c;
    return c->data;
}

static void arena_free(cllm_gguf *g) {
    cllm_gguf_arena_chunk *c = g->arena;
    while (c) {
        cllm_gguf_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    g->arena = NULL;
}

/* ------------------------------------------------------------ value types */
size_t cllm_gguf_type_size(cllm_gguf_type t) {
    switch (t) {
    case CLLM_GGUF_UINT8: case CLLM_GGUF_INT8: case CLLM_GGUF_BOOL: return 1;
    case CLLM_GGUF_UINT16: case CLLM_GGUF_INT16: return 2;
    case CLLM_GGUF_UINT32: case CLLM_GGUF_INT32: case CLLM_GGUF_FLOAT32: return 4;
    case CLLM_GGUF_UINT64: case CLLM_GGUF_INT64: case CLLM_GGUF_FLOAT64: return 8;
    case CLLM_GGUF_STRING: case CLLM_GGUF_ARRAY: return 0;
    }
    return 0;
}

const char *cllm_gguf_type_name(cllm_gguf_type t) {
    switch (t) {
    case CLLM_GGUF_UINT8: return "uint8";
    case CLLM_GGUF_INT8: return "int8";
    case CLLM_GGUF_UINT16: return "uint16";
    case CLLM_GGUF_INT16: return "int16";
    case CLLM_GGUF_UINT32: return "uint32";
    case CLLM_GGUF_INT32: return "int32";
    case CLLM_GGUF_FLOAT32: return "float32";
    case CLLM_GGUF_BOOL: return "bool";
    case CLLM_GGUF_STRING: return "string";
    case CLLM_GGUF_ARRAY: return "array";
    case CLLM_GGUF_UINT64: return "uint64";
    case CLLM_GGUF_INT64: return "int64";
    case CLLM_GGUF_FLOAT64: return "float64";
    }
    return "?";
}

static bool gguf_type_valid(uint32_t t) { return t <= CLLM_GGUF_FLOAT64; }

/* ------------------------------------------------------------------ UTF-8 */
bool cllm_utf8_valid(const char *s, size_t n, size_t *bad_at) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else goto bad;
        if (n - i < len) goto bad;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) goto bad;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
        i += len;
    }
    return true;
bad:
    if (bad_at) *bad_at = i;
    return false;
}

/* --------------------------------------------------------------- messages */
/* Printable excerpt of an untrusted string for error messages. */
static void esc(char *out, size_t cap, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= cap) {
            if (o + 4 <= cap) memcpy(out + o, "...", 3), o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

/* Parse state: the bytes, a cursor, and what is being read (for messages). */
typedef struct {
    cllm_gguf *g;
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
    uint64_t el;      /* array element being read, for messages */
    char ctx[200];
} rd;

static cllm_status fail(rd *r, cllm_status st, uint64_t off, const char *fmt, ...) CLLM_PRINTF(4, 5);
static cllm_status fail(rd *r, cllm_status st, uint64_t off, const char *fmt, ...) {
    char msg[CLLM_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cllm_err_set(&r->g->err, st, "offset %" PRIu64 ": %s: %s", off, r->ctx, msg);
}

static uint64_t left(const rd *r) { return r->size - r->pos; }

/* Read n raw bytes; `what` names the field for the truncation message. */
static cllm_status take(rd *r, void *dst, uint64_t n, const char *what) {
    if (n > left(r))
        return fail(r, CLLM_ERR_FORMAT, r->pos, "truncated: %s needs %" PRIu64 " bytes but only %" PRIu64 " are left",
                    what, n, left(r));
    memcpy(dst, r->p + r->pos, (size_t)n);
    r->pos += n;
    return CLLM_OK;
}

static cllm_status rd_u32(rd *r, uint32_t *v, const char *what) {
    *v = 0;
    return take(r, v, 4, what);
}
static cllm_status rd_u64(rd *r, uint64_t *v, const char *what) {
    *v = 0;
    return take(r, v, 8, what);
}

/* Read a string: u64 length, then bytes, copied NUL-terminated into the arena.
 * what == NULL means array element r->el (named only when formatting a failure). */
static cllm_status rd_str(rd *r, const char **out, size_t *len_out, const char *what) {
    uint64_t at = r->pos, n = 0;
    char el[48];
    if (left(r) < 8 || (memcpy(&n, r->p + r->pos, 8), n > left(r) - 8)) {
        if (!what) {
            snprintf(el, sizeof el, "array element %" PRIu64, r->el);
            what = el;
        }
        if (left(r) < 8)
            return fail(r, CLLM_ERR_FORMAT, at, "truncated: string length of %s needs 8 bytes but only %" PRIu64 " are left",
                        what, left(r));
        return fail(r, CLLM_ERR_FORMAT, at, "string length %" PRIu64 " exceeds the %" PRIu64 " bytes left (%s)",
                    n, left(r) - 8, what);
    }
    r->pos += 8;
    char *s = arena_alloc(r->g, (size_t)n + 1, 1);
    if (!s) return fail(r, CLLM_ERR_NOMEM, at, "out of memory copying a string of %" PRIu64 " bytes", n);
    memcpy(s, r->p + r->pos, (size_t)n);
    s[n] = '\0';
    r->pos += n;
    *out = s;
    *len_out = (size_t)n;
    return CLLM_OK;
}

/* Check a key or tensor name: non-empty, no NUL byte, valid UTF-8. */
static cllm_status check_name(rd *r, uint64_t at, const char *s, size_t n, const char *what) {
    char e[80];
    size_t bad;
    if (n == 0) return fail(r, CLLM_ERR_FORMAT, at, "empty %s", what);
    if (memchr(s, '\0', n)) {
        esc(e, sizeof e, s, n);
        return fail(r, CLLM_ERR_FORMAT, at, "%s '%s' contains a NUL byte", what, e);
    }
    if (!cllm_utf8_valid(s, n, &bad)) {
        esc(e, sizeof e, s, n);
        return fail(r, CLLM_ERR_FORMAT, at + 8 + bad, "%s '%s' is not valid UTF-8 (bad byte 0x%02x at index %zu)",
                    what, e, (unsigned)(unsigned char)s[bad], bad);
    }
    return CLLM_OK;
}

/* ------------------------------------------------------------ hash tables */
/* FNV-1a with a per-handle random-ish seed and a final avalanche, so that a
 * crafted file cannot make every key collide (lookups would turn quadratic). */
static uint64_t hash_str(const char *s, uint64_t seed) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 31;
    h *= 0x7fb5d329728ea185ull;
    h ^= h >> 27;
    h *= 0x81dadef4bc2dd44dull;
    return h ^ (h >> 33);
}

static int64_t *hash_new(uint64_t n, uint64_t *cap_out) {
    uint64_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    *cap_out = cap;
    return calloc((size_t)cap, sizeof(int64_t));
}

/* Find `name` in a table whose entries index into names via get(i). */
static int64_t hash_find(const int64_t *tab, uint64_t cap, const char *name,
                         const char *(*get)(const cllm_gguf *, int64_t), const cllm_gguf *g) {
    if (!tab) return -1;
    uint64_t m = cap - 1;
    for (uint64_t h = hash_str(name, g->hash_seed) & m;; h = (h + 1) & m) {
        int64_t v = tab[h];
        if (v == 0) return -1;
        if (strcmp(get(g, v - 1), name) == 0) return v - 1;
    }
}

/* Insert index i; returns the index of an existing equal name, or -1. */
static int64_t hash_insert(int64_t *tab, uint64_t cap, const char *name, int64_t i,
                           const char *(*get)(const cllm_gguf *, int64_t), const cllm_gguf *g) {
    uint64_t m = cap - 1;
    for (uint64_t h = hash_str(name, g->hash_seed) & m;; h = (h + 1) & m) {
        int64_t v = tab[h];
        if (v == 0) { tab[h] = i + 1; return -1; }
        if (strcmp(get(g, v - 1), name) == 0) return v - 1;
    }
}

static const char *kv_name(const cllm_gguf *g, int64_t i) { return g->kvs[i].key; }
static const char *tensor_name(const cllm_gguf *g, int64_t i) { return g->tensors[i].name; }

/* ------------------------------------------------------------------ parse */
static cllm_status parse_scalar(rd *r, cllm_gguf_kv *kv) {
    uint64_t at = r->pos;
    unsigned char b[8];
    size_t n = cllm_gguf_type_size(kv->type);
    cllm_status st = take(r, b, n, cllm_gguf_type_name(kv->type));
    if (st) return st;
    uint8_t u8; uint16_t u16; uint32_t u32; int8_t i8; int16_t i16; int32_t i32; float f32;
    switch (kv->type) {
    case CLLM_GGUF_UINT8: memcpy(&u8, b, 1); kv->v.u = u8; break;
    case CLLM_GGUF_INT8: memcpy(&i8, b, 1); kv->v.i = i8; break;
    case CLLM_GGUF_UINT16: memcpy(&u16, b, 2); kv->v.u = u16; break;
    case CLLM_GGUF_INT16: memcpy(&i16, b, 2); kv->v.i = i16; break;
    case CLLM_GGUF_UINT32: memcpy(&u32, b, 4); kv->v.u = u32; break;
    case CLLM_GGUF_INT32: memcpy(&i32, b, 4); kv->v.i = i32; break;
    case CLLM_GGUF_FLOAT32: memcpy(&f32, b, 4); kv->v.f = f32; break;
    case CLLM_GGUF_UINT64: memcpy(&kv->v.u, b, 8); break;
    case CLLM_GGUF_INT64: memcpy(&kv->v.i, b, 8); break;
    case CLLM_GGUF_FLOAT64: memcpy(&kv->v.f, b, 8); break;
    case CLLM_GGUF_BOOL:
        if (b[0] > 1) return fail(r, CLLM_ERR_FORMAT, at, "bool value %u is neither 0 nor 1", b[0]);
        kv->v.b = b[0] != 0;
        break;
    default:
        return fail(r, CLLM_ERR_INTERNAL, at, "not a scalar type");
    }
    return CLLM_OK;
}

static cllm_status parse_array(rd *r, cllm_gguf_kv *kv) {
    uint64_t at = r->pos;
    uint32_t et;
    uint64_t n;
    cllm_status st = rd_u32(r, &et, "array element type");
    if (st) return st;
    if (et == CLLM_GGUF_ARRAY)
        return fail(r, CLLM_ERR_UNSUPPORTED, at, "nested arrays (array of arrays) are not supported");
    if (!gguf_type_valid(et))
        return fail(r, CLLM_ERR_FORMAT, at, "bad array element type %" PRIu32 " (valid: 0..12)", et);
    kv->arr_type = (cllm_gguf_type)et;
    uint64_t nat = r->pos;
    if ((st = rd_u64(r, &n, "array length"))) return st;
    kv->arr_n = n;
    if (et == CLLM_GGUF_STRING) {
        /* Each element needs at least its 8-byte length. */
        uint64_t need;
        if (!cllm_mul_u64(n, 8, &need) || need > left(r))
            return fail(r, CLLM_ERR_FORMAT, nat, "array of %" PRIu64 " strings needs at least %" PRIu64
                        "x8 bytes but only %" PRIu64 " are left", n, n, left(r));
        const char **strs = arena_alloc(r->g, (size_t)n * sizeof *strs + 1, _Alignof(const char *));
        size_t *lens = arena_alloc(r->g, (size_t)n * sizeof *lens + 1, _Alignof(size_t));
        if (!strs || !lens) return fail(r, CLLM_ERR_NOMEM, nat, "out of memory for %" PRIu64 " strings", n);
        for (uint64_t j = 0; j < n; j++) {
            r->el = j;
            if ((st = rd_str(r, &strs[j], &lens[j], NULL))) return st;
        }
        kv->arr_strs = strs;
        kv->arr_lens = lens;
        return CLLM_OK;
    }
    size_t es = cllm_gguf_type_size((cllm_gguf_type)et);
    uint64_t bytes;
    if (!cllm_mul_u64(n, es, &bytes) || bytes > left(r))
        return fail(r, CLLM_ERR_FORMAT, nat, "array of %" PRIu64 " %s elements exceeds the %" PRIu64 " bytes left",
                    n, cllm_gguf_type_name((cllm_gguf_type)et), left(r));
    void *d = arena_alloc(r->g, (size_t)bytes + 1, es);
    if (!d) return fail(r, CLLM_ERR_NOMEM, nat, "out of memory for an array of %" PRIu64 " bytes", bytes);
    memcpy(d, r->p + r->pos, (size_t)bytes);
    if (et == CLLM_GGUF_BOOL) {
        const uint8_t *b = d;
        for (uint64_t j = 0; j < n; j++)
            if (b[j] > 1)
                return fail(r, CLLM_ERR_FORMAT, r->pos + j, "bool element %" PRIu64 " is %u, neither 0 nor 1",
                            j, b[j]);
    }
    r->pos += bytes;
    kv->arr_data = d;
    return CLLM_OK;
}

static cllm_status parse_kvs(rd *r) {
    cllm_gguf *g = r->g;
    cllm_status st;
    for (int64_t i = 0; i < g->n_kv; i++) {
        cllm_gguf_kv *kv = &g->kvs[i];
        kv->file_offset = r->pos;
        snprintf(r->ctx, sizeof r->ctx, "key %" PRId64, i);
        if ((st = rd_str(r, &kv->key, &kv->key_len, "key"))) return st;
        if ((st = check_name(r, kv->file_offset, kv->key, kv->key_len, "key"))) return st;
        char e[80];
        esc(e, sizeof e, kv->key, kv->key_len);
        snprintf(r->ctx, sizeof r->ctx, "key %" PRId64 " '%s'", i, e);
        int64_t dup = hash_insert(g->kv_hash, g->kv_hash_cap, kv->key, i, kv_name, g);
        if (dup >= 0)
            return fail(r, CLLM_ERR_FORMAT, kv->file_offset, "duplicate key (first at index %" PRId64 ", offset %" PRIu64 ")",
                        dup, g->kvs[dup].file_offset);
        uint64_t tat = r->pos;
        uint32_t t;
        if ((st = rd_u32(r, &t, "value type"))) return st;
        if (!gguf_type_valid(t))
            return fail(r, CLLM_ERR_FORMAT, tat, "bad value type %" PRIu32 " (valid: 0..12)", t);
        kv->type = (cllm_gguf_type)t;
        if (t == CLLM_GGUF_STRING) st = rd_str(r, &kv->str, &kv->str_len, "string");
        else if (t == CLLM_GGUF_ARRAY) st = parse_array(r, kv);
        else st = parse_scalar(r, kv);
        if (st) return st;
        if (!strcmp(kv->key, "general.alignment")) {
            if (t != CLLM_GGUF_UINT32)
                return fail(r, CLLM_ERR_FORMAT, tat, "general.alignment must be a uint32, not %s",
                            cllm_gguf_type_name(kv->type));
            if (kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)) != 0)
                return fail(r, CLLM_ERR_FORMAT, tat + 4, "general.alignment %" PRIu64 " is not a nonzero power of two",
                            kv->v.u);
            g->alignment = kv->v.u;
        }
    }
    return CLLM_OK;
}

static cllm_status parse_tensor_infos(rd *r) {
    cllm_gguf *g = r->g;
    cllm_status st;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        cllm_tensor_info *t = &g->tensors[i];
        uint64_t at = r->pos;
        snprintf(r->ctx, sizeof r->ctx, "tensor info %" PRId64, i);
        size_t nlen;
        if ((st = rd_str(r, &t->name, &nlen, "tensor name"))) return st;
        if ((st = check_name(r, at, t->name, nlen, "tensor name"))) return st;
        char e[80];
        esc(e, sizeof e, t->name, nlen);
        snprintf(r->ctx, sizeof r->ctx, "tensor %" PRId64 " '%s'", i, e);
        int64_t dup = hash_insert(g->t_hash, g->t_hash_cap, t->name, i, tensor_name, g);
        if (dup >= 0) return fail(r, CLLM_ERR_FORMAT, at, "duplicate tensor name (first is tensor %" PRId64 ")", dup);
        uint64_t dat = r->pos;
        uint32_t nd;
        if ((st = rd_u32(r, &nd, "n_dims"))) return st;
        if (nd < 1 || nd > CLLM_GGUF_MAX_DIMS)
            return fail(r, CLLM_ERR_FORMAT, dat, "n_dims %" PRIu32 " is outside 1..%d", nd, CLLM_GGUF_MAX_DIMS);
        t->n_dims = (int)nd;
        uint64_t nel = 1;
        for (int d = 0; d < CLLM_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t eat = r->pos, v;
            if ((st = rd_u64(r, &v, "dimension"))) return st;
            if (v == 0) return fail(r, CLLM_ERR_FORMAT, eat, "dimension %" PRIu32 " is 0", d);
            if (v > (uint64_t)INT64_MAX || !cllm_mul_u64(nel, v, &nel) || nel > (uint64_t)INT64_MAX)
                return fail(r, CLLM_ERR_FORMAT, eat, "dimension %" PRIu32 " (%" PRIu64 ") makes the element count overflow 63 bits",
                            d, v);
            t->ne[d] = (int64_t)v;
        }
        uint64_t tat = r->pos;
        uint32_t ty;
        if ((st = rd_u32(r, &ty, "tensor type"))) return st;
        const cllm_type_traits *tr = cllm_type_get_traits((int)(ty > 0x7fffffff ? 0x7fffffff : ty));
        if (!tr) return fail(r, CLLM_ERR_UNSUPPORTED, tat, "unknown tensor type %" PRIu32, ty);
        t->type = (cllm_type)ty;
        if (t->ne[0] % tr->blck_size != 0)
            return fail(r, CLLM_ERR_FORMAT, dat + 4, "row length ne[0]=%" PRId64 " is not a multiple of the %s block size %" PRId64,
                        t->ne[0], tr->name, tr->blck_size);
        /* Bytes: rows * row size; ne[0]/blck*size <= ne[0]*size cannot overflow alone
         * but the product with the other dims can. */
        uint64_t row = (uint64_t)(t->ne[0] / tr->blck_size) * (uint64_t)tr->type_size, nb = row;
        for (int d = 1; d < CLLM_GGUF_MAX_DIMS; d++)
            if (!cllm_mul_u64(nb, (uint64_t)t->ne[d], &nb))
                return fail(r, CLLM_ERR_FORMAT, dat, "byte size overflows 64 bits");
        t->nbytes = nb;
        uint64_t oat = r->pos;
        if ((st = rd_u64(r, &t->offset, "tensor offset"))) return st;
        if (t->offset % g->alignment != 0)
            return fail(r, CLLM_ERR_FORMAT, oat, "data offset %" PRIu64 " is not a multiple of the alignment %" PRIu64,
                        t->offset, g->alignment);
    }
    return CLLM_OK;
}

/* Sort helper data: qsort has no context argument in C11, so sort an array of
 * (offset, index) pairs. */
typedef struct { uint64_t off, end; int64_t i; } span;
static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

static cllm_status place_tensors(rd *r) {
    cllm_gguf *g = r->g;
    uint64_t infos_end = r->pos, pad;
    /* data_offset = infos_end rounded up to the alignment (a power of two). */
    if (!cllm_add_u64(infos_end, g->alignment - 1, &pad))
        return cllm_err_set(&g->err, CLLM_ERR_FORMAT, "offset %" PRIu64 ": data section start overflows", infos_end);
    g->data_offset = pad & ~(g->alignment - 1);
    if (g->n_tensors == 0) return CLLM_OK;
    if (g->data_offset > g->size)
        return cllm_err_set(&g->err, CLLM_ERR_FORMAT,
                            "offset %" PRIu64 ": data section starts at %" PRIu64 ", past end of file (size %" PRIu64 ")",
                            infos_end, g->data_offset, g->size);
    span *sp = malloc((size_t)g->n_tensors * sizeof *sp);
    if (!sp) return cllm_err_set(&g->err, CLLM_ERR_NOMEM, "out of memory sorting %" PRId64 " tensors", g->n_tensors);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        cllm_tensor_info *t = &g->tensors[i];
        char e[80];
        esc(e, sizeof e, t->name, strlen(t->name));
        uint64_t fo, end;
        if (!cllm_add_u64(g->data_offset, t->offset, &fo)) {
            free(sp);
            return cllm_err_set(&g->err, CLLM_ERR_FORMAT, "tensor '%s': data offset %" PRIu64 " overflows 64 bits", e,
                                t->offset);
        }
        if (!cllm_add_u64(fo, t->nbytes, &end)) end = UINT64_MAX;
        if (end > g->size) {
            free(sp);
            return cllm_err_set(&g->err, CLLM_ERR_FORMAT,
                                "tensor '%s': data [%" PRIu64 ", %" PRIu64 ") runs past end of file (size %" PRIu64 ")",
                                e, fo, end, g->size);
        }
        t->file_offset = fo;
        t->data = g->base + fo;
        sp[i] = (span){t->offset, t->offset + t->nbytes, i};
    }
    qsort(sp, (size_t)g->n_tensors, sizeof *sp, cmp_span);
    for (int64_t k = 1; k < g->n_tensors; k++) {
        if (sp[k].off < sp[k - 1].end) {
            const cllm_tensor_info *a = &g->tensors[sp[k - 1].i], *b = &g->tensors[sp[k].i];
            char ea[80], eb[80];
            esc(ea, sizeof ea, a->name, strlen(a->name));
            esc(eb, sizeof eb, b->name, strlen(b->name));
            cllm_status st = cllm_err_set(&g->err, CLLM_ERR_FORMAT,
                "offset %" PRIu64 ": tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64 ", %" PRIu64 ") overlap",
                b->file_offset, ea, a->file_offset, a->file_offset + a->nbytes, eb, b->file_offset,
                b->file_offset + b->nbytes);
            free(sp);
            return st;
        }
    }
    free(sp);
    return CLLM_OK;
}

static cllm_status parse(cllm_gguf *g) {
    rd r = {.g = g, .p = g->base, .size = g->size, .pos = 0};
    snprintf(r.ctx, sizeof r.ctx, "header");
    uint32_t magic, version;
    if (g->size < 4)
        return fail(&r, CLLM_ERR_FORMAT, 0, "truncated: file has %" PRIu64 " bytes, a GGUF header needs %u", g->size,
                    HEADER_BYTES);
    memcpy(&magic, g->base, 4);
    if (magic != CLLM_GGUF_MAGIC) {
        char e[40];
        esc(e, sizeof e, (const char *)g->base, 4);
        return fail(&r, CLLM_ERR_FORMAT, 0, "bad magic '%s' (0x%08" PRIx32 "), not a GGUF file", e, magic);
    }
    if (g->size < 8)
        return fail(&r, CLLM_ERR_FORMAT, 4, "truncated: file has %" PRIu64 " bytes, a GGUF header needs %u", g->size,
                    HEADER_BYTES);
    memcpy(&version, g->base + 4, 4);
    if (version == 1)
        return fail(&r, CLLM_ERR_UNSUPPORTED, 4,
                    "GGUF v1 is not supported (only v2 and v3): v1 files used 32-bit counts; convert the model again");
    if (version != 2 && version != 3) {
        uint32_t sw = __builtin_bswap32(version);
        if (sw >= 1 && sw <= 3)
            return fail(&r, CLLM_ERR_UNSUPPORTED, 4,
                        "version field reads 0x%08" PRIx32 ": this is a big-endian GGUF file; only little-endian files are supported",
                        version);
        return fail(&r, CLLM_ERR_UNSUPPORTED, 4, "unsupported GGUF version %" PRIu32 " (only v2 and v3)", version);
    }
    g->version = version;
    if (g->size < HEADER_BYTES)
        return fail(&r, CLLM_ERR_FORMAT, 8, "truncated: file has %" PRIu64 " bytes, a GGUF header needs %u", g->size,
                    HEADER_BYTES);
    uint64_t nt, nkv;
    memcpy(&nt, g->base + 8, 8);
    memcpy(&nkv, g->base + 16, 8);
    r.pos = HEADER_BYTES;
    uint64_t need_kv, need_t, need;
    if (!cllm_mul_u64(nkv, MIN_KV_BYTES, &need_kv) || need_kv > left(&r))
        return fail(&r, CLLM_ERR_FORMAT, 16, "n_kv %" PRIu64 " needs at least %" PRIu64 "x%u bytes but only %" PRIu64
                    " are left", nkv, nkv, MIN_KV_BYTES, left(&r));
    if (!cllm_mul_u64(nt, MIN_TENSOR_INFO_BYTES, &need_t) || need_t > left(&r))
        return fail(&r, CLLM_ERR_FORMAT, 8, "n_tensors %" PRIu64 " needs at least %" PRIu64 "x%u bytes but only %" PRIu64
                    " are left", nt, nt, MIN_TENSOR_INFO_BYTES, left(&r));
    if (!cllm_add_u64(need_kv, need_t, &need) || need > left(&r))
        return fail(&r, CLLM_ERR_FORMAT, 8, "n_tensors %" PRIu64 " and n_kv %" PRIu64 " need at least %" PRIu64
                    " bytes but only %" PRIu64 " are left", nt, nkv, need, left(&r));
    g->n_kv = (int64_t)nkv;
    g->n_tensors = (int64_t)nt;
    g->kvs = calloc((size_t)nkv + 1, sizeof *g->kvs);
    g->tensors = calloc((size_t)nt + 1, sizeof *g->tensors);
    g->kv_hash = hash_new(nkv, &g->kv_hash_cap);
    g->t_hash = hash_new(nt, &g->t_hash_cap);
    if (!g->kvs || !g->tensors || !g->kv_hash || !g->t_hash)
        return fail(&r, CLLM_ERR_NOMEM, 8, "out of memory for %" PRIu64 " keys and %" PRIu64 " tensors", nkv, nt);
    cllm_status st = parse_kvs(&r);
    if (st) return st;
    if ((st = parse_tensor_infos(&r))) return st;
    return place_tensors(&r);
}

/* ------------------------------------------------------------- open/free */
static cllm_status finish_open(cllm_gguf *g, cllm_gguf **out) {
    cllm_status st = parse(g);
    if (st != CLLM_OK) {
        /* The message is in g->err and mirrored in the thread slot. */
        cllm_gguf_free(g);
        return st;
    }
    *out = g;
    return CLLM_OK;
}

cllm_status cllm_gguf_open_memory(const void *data, size_t size, cllm_gguf **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_gguf_open_memory: data is NULL");
    cllm_gguf *g = calloc(1, sizeof *g);
    if (!g) return cllm_set_last_error(CLLM_ERR_NOMEM, "out of memory");
    g->base = data;
    g->size = size;
    g->alignment = CLLM_GGUF_DEFAULT_ALIGNMENT;
    g->hash_seed = cllm_time_ns() ^ (uint64_t)(uintptr_t)g;
    return finish_open(g, out);
}

cllm_status cllm_gguf_open(const char *path, cllm_gguf **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_gguf_open: out is NULL");
    *out = NULL;
    if (!path) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_gguf_open: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return cllm_set_last_error(e == ENOENT ? CLLM_ERR_NOT_FOUND : CLLM_ERR_IO, "%s: cannot open: %s", path,
                                   strerror(e));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cllm_set_last_error(CLLM_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cllm_set_last_error(CLLM_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return cllm_set_last_error(CLLM_ERR_FORMAT, "%s: offset 0: header: file is empty", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "%s: file too large to map", path);
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return cllm_set_last_error(CLLM_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
    cllm_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(m, (size_t)sb.st_size);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "out of memory");
    }
    g->base = m;
    g->size = (uint64_t)sb.st_size;
    g->mapped = true;
    g->alignment = CLLM_GGUF_DEFAULT_ALIGNMENT;
    g->hash_seed = cllm_time_ns() ^ (uint64_t)(uintptr_t)g;
    cllm_status st = finish_open(g, out);
    if (st != CLLM_OK) {
        /* Prefix the path so the caller's message says which file. */
        char msg[CLLM_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", cllm_last_error());
        cllm_set_last_error(st, "%s: %s", path, msg);
    }
    return st;
}

void cllm_gguf_free(cllm_gguf *g) {
    if (!g) return;
    if (g->mapped && g->base) munmap((void *)g->base, (size_t)g->size);
    free(g->kvs);
    free(g->tensors);
    free(g->kv_hash);
    free(g->t_hash);
    arena_free(g);
    free(g);
}

/* ---------------------------------------------------------------- getters */
uint32_t cllm_gguf_version(const cllm_gguf *g) { return g ? g->version : 0; }
uint64_t cllm_gguf_alignment(const cllm_gguf *g) { return g ? g->alignment : 0; }
uint64_t cllm_gguf_data_offset(const cllm_gguf *g) { return g ? g->data_offset : 0; }
uint64_t cllm_gguf_file_size(const cllm_gguf *g) { return g ? g->size : 0; }
int64_t cllm_gguf_n_kv(const cllm_gguf *g) { return g ? g->n_kv : 0; }

const cllm_gguf_kv *cllm_gguf_kv_at(const cllm_gguf *g, int64_t i) {
    if (!g || i < 0 || i >= g->n_kv) return NULL;
    return &g->kvs[i];
}

int64_t cllm_gguf_find_key(const cllm_gguf *g, const char *key) {
    if (!g || !key) return -1;
    return hash_find(g->kv_hash, g->kv_hash_cap, key, kv_name, g);
}

const char *cllm_gguf_key(const cllm_gguf *g, int64_t i) {
    const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
    return kv ? kv->key : NULL;
}

cllm_gguf_type cllm_gguf_kv_type(const cllm_gguf *g, int64_t i) {
    const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
    return kv ? kv->type : (cllm_gguf_type)-1;
}

/* The kv for key, or NULL with CLLM_ERR_NOT_FOUND / INVALID_ARG in *st. */
static const cllm_gguf_kv *lookup(const cllm_gguf *g, const char *key, cllm_status *st) {
    if (!g || !key) {
        *st = cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf getter: NULL handle or key");
        return NULL;
    }
    int64_t i = cllm_gguf_find_key(g, key);
    if (i < 0) {
        *st = cllm_set_last_error(CLLM_ERR_NOT_FOUND, "key '%s' not found", key);
        return NULL;
    }
    *st = CLLM_OK;
    return &g->kvs[i];
}

static bool is_unsigned(cllm_gguf_type t) {
    return t == CLLM_GGUF_UINT8 || t == CLLM_GGUF_UINT16 || t == CLLM_GGUF_UINT32 || t == CLLM_GGUF_UINT64;
}
static bool is_signed(cllm_gguf_type t) {
    return t == CLLM_GGUF_INT8 || t == CLLM_GGUF_INT16 || t == CLLM_GGUF_INT32 || t == CLLM_GGUF_INT64;
}

cllm_status cllm_gguf_get_u64(const cllm_gguf *g, const char *key, uint64_t *out) {
    cllm_status st;
    const cllm_gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (is_unsigned(kv->type)) { *out = kv->v.u; return CLLM_OK; }
    if (is_signed(kv->type)) {
        if (kv->v.i < 0)
            return cllm_set_last_error(CLLM_ERR_FORMAT, "key '%s': value %" PRId64 " is negative, expected unsigned",
                                       key, kv->v.i);
        *out = (uint64_t)kv->v.i;
        return CLLM_OK;
    }
    return cllm_set_last_error(CLLM_ERR_FORMAT, "key '%s' is a %s, expected an integer", key,
                               cllm_gguf_type_name(kv->type));
}

cllm_status cllm_gguf_get_i64(const cllm_gguf *g, const char *key, int64_t *out) {
    cllm_status st;
    const cllm_gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (is_signed(kv->type)) { *out = kv->v.i; return CLLM_OK; }
    if (is_unsigned(kv->type)) {
        if (kv->v.u > (uint64_t)INT64_MAX)
            return cllm_set_last_error(CLLM_ERR_FORMAT, "key '%s': value %" PRIu64 " does not fit int64", key, kv->v.u);
        *out = (int64_t)kv->v.u;
        return CLLM_OK;
    }
    return cllm_set_last_error(CLLM_ERR_FORMAT, "key '%s' is a %s, expected an integer", key,
                               cllm_gguf_type_name(kv->type));
}

cllm_status cllm_gguf_get_f64(const cllm_gguf *g, const char *key, double *out) {
    cllm_status st;
    const cllm_gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (kv->type == CLLM_GGUF_FLOAT32 || kv->type == CLLM_GGUF_FLOAT64) { *out = kv->v.f; return CLLM_OK; }
    return cllm_set_last_error(CLLM_ERR_FORMAT, "key '%s' is a %s, expected a float", key,
                               cllm_gguf_type_name(kv->type));
}

cllm_status cllm_gguf_get_bool(const cllm_gguf *g, const char *key, bool *out) {
    cllm_status st;
    const cllm_gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (kv->type == CLLM_GGUF_BOOL) { *out = kv->v.b; return CLLM_OK; }
    return cllm_set_last_error(CLLM_ERR_FORMAT, "key '%s' is a %s, expected a bool", key,
                               cllm_gguf_type_name(kv->type));
}

cllm_status cllm_gguf_get_str(const cllm_gguf *g, const char *key, const char **out, size_t *len_out) {
    cllm_status st;
    const cllm_gguf_kv *kv = lookup(g, key, &st);
    if (!kv) return st;
    if (kv->type == CLLM_GGUF_STRING) {
        *out = kv->str;
        if (len_out) *len_out = kv->str_len;
        return CLLM_OK;
    }
    return cllm_set_last_error(CLLM_ERR_FORMAT, "key '%s' is a %s, expected a string", key,
                               cllm_gguf_type_name(kv->type));
}

cllm_gguf_type cllm_gguf_arr_type(const cllm_gguf *g, int64_t i) {
    const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
    return kv && kv->type == CLLM_GGUF_ARRAY ? kv->arr_type : (cllm_gguf_type)-1;
}

uint64_t cllm_gguf_arr_n(const cllm_gguf *g, int64_t i) {
    const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
    return kv && kv->type == CLLM_GGUF_ARRAY ? kv->arr_n : 0;
}

const void *cllm_gguf_arr_data(const cllm_gguf *g, int64_t i) {
    const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
    return kv && kv->type == CLLM_GGUF_ARRAY ? kv->arr_data : NULL;
}

const char *cllm_gguf_arr_str(const cllm_gguf *g, int64_t i, uint64_t j, size_t *len_out) {
    const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
    if (!kv || kv->type != CLLM_GGUF_ARRAY || kv->arr_type != CLLM_GGUF_STRING || j >= kv->arr_n) return NULL;
    if (len_out) *len_out = kv->arr_lens[j];
    return kv->arr_strs[j];
}

int64_t cllm_gguf_n_tensors(const cllm_gguf *g) { return g ? g->n_tensors : 0; }

int64_t cllm_gguf_find_tensor(const cllm_gguf *g, const char *name) {
    if (!g || !name) return -1;
    return hash_find(g->t_hash, g->t_hash_cap, name, tensor_name, g);
}

const cllm_tensor_info *cllm_gguf_tensor(const cllm_gguf *g, int64_t i) {
    if (!g || i < 0 || i >= g->n_tensors) return NULL;
    return &g->tensors[i];
}
