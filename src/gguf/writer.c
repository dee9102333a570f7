/* writer.c: the GGUF writer (see gguf_writer.h for the layout and API).
 * Metadata is held in owned copies until write; tensor data is borrowed.
 * Output goes through a small sink that is either a FILE (written to
 * PATH.tmp, renamed on success) or a growing memory buffer. */
#include "gguf/gguf_writer.h"
#include "gguf/gguf_internal.h"
#include "tensor/types.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *key;
    cllm_gguf_type type;
    unsigned char scalar[8];  /* scalar value, little-endian, type-size bytes */
    char *str;                /* STRING: bytes (NUL-terminated for convenience) */
    size_t str_len;
    cllm_gguf_type arr_type;  /* ARRAY */
    uint64_t arr_n;
    void *arr_data;           /* numeric ARRAY: packed elements */
    char *blob;               /* STRING ARRAY: all strings back to back */
    uint64_t *offs;           /* STRING ARRAY: arr_n + 1 offsets into blob */
} wkv;

typedef struct {
    char *name;
    cllm_type type;
    int n_dims;
    int64_t ne[4];
    uint64_t nbytes;
    uint64_t offset;          /* assigned at write time */
    const void *data;         /* borrowed; NULL (and no fill) writes zeros */
    cllm_gguf_tensor_fill_fn fill; /* or: produce the data at write time */
    void *fill_user;
} wtensor;

struct cllm_gguf_writer {
    cllm_err err;
    wkv *kvs;
    int64_t n_kv, cap_kv;
    wtensor *ts;
    int64_t n_t, cap_t;
    uint64_t alignment;
};

static const char *ALIGN_KEY = "general.alignment";

/* ------------------------------------------------------------- lifecycle */
cllm_status cllm_gguf_writer_init(cllm_gguf_writer **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_gguf_writer_init: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return cllm_set_last_error(CLLM_ERR_NOMEM, "out of memory");
    (*out)->alignment = CLLM_GGUF_DEFAULT_ALIGNMENT;
    return CLLM_OK;
}

static void kv_clear_value(wkv *kv) {
    free(kv->str);
    free(kv->arr_data);
    free(kv->blob);
    free(kv->offs);
    kv->str = NULL;
    kv->arr_data = NULL;
    kv->blob = NULL;
    kv->offs = NULL;
    kv->str_len = 0;
    kv->arr_n = 0;
}

void cllm_gguf_writer_free(cllm_gguf_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n_kv; i++) {
        kv_clear_value(&w->kvs[i]);
        free(w->kvs[i].key);
    }
    for (int64_t i = 0; i < w->n_t; i++) free(w->ts[i].name);
    free(w->kvs);
    free(w->ts);
    free(w);
}

const char *cllm_gguf_writer_last_error(const cllm_gguf_writer *w) { return w ? w->err.msg : ""; }

int64_t cllm_gguf_writer_n_kv(const cllm_gguf_writer *w) { return w ? w->n_kv : 0; }
int64_t cllm_gguf_writer_n_tensors(const cllm_gguf_writer *w) { return w ? w->n_t : 0; }

/* ------------------------------------------------------------------ keys */
static cllm_status check_key(cllm_gguf_writer *w, const char *key) {
    if (!key) return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: key is NULL");
    size_t n = strlen(key), bad;
    if (n == 0) return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: empty key");
    if (!cllm_utf8_valid(key, n, &bad))
        return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: key is not valid UTF-8 (byte %zu)", bad);
    return CLLM_OK;
}

static int64_t find_kv(const cllm_gguf_writer *w, const char *key) {
    for (int64_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kvs[i].key, key)) return i;
    return -1;
}

/* Store v (its owned pointers move into the writer) under key. On failure v's
 * pointers are freed. */
static cllm_status put_kv(cllm_gguf_writer *w, const char *key, wkv *v) {
    if (!w) {
        kv_clear_value(v);
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL writer");
    }
    cllm_status st = check_key(w, key);
    if (st) { kv_clear_value(v); return st; }
    bool is_align = !strcmp(key, ALIGN_KEY);
    uint32_t a = 0;
    if (is_align) {
        if (v->type != CLLM_GGUF_UINT32) {
            kv_clear_value(v);
            return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: %s must be a uint32, not %s", ALIGN_KEY,
                                cllm_gguf_type_name(v->type));
        }
        memcpy(&a, v->scalar, 4);
        if (a == 0 || (a & (a - 1)))
            return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: %s %" PRIu32 " is not a nonzero power of two",
                                ALIGN_KEY, a);
    }
    int64_t i = find_kv(w, key);
    if (i >= 0) {
        kv_clear_value(&w->kvs[i]);
        v->key = w->kvs[i].key;
        w->kvs[i] = *v;
    } else {
        if (w->n_kv == w->cap_kv) {
            int64_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
            wkv *nk = realloc(w->kvs, (size_t)cap * sizeof *nk);
            if (!nk) { kv_clear_value(v); return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory"); }
            w->kvs = nk;
            w->cap_kv = cap;
        }
        v->key = strdup(key);
        if (!v->key) { kv_clear_value(v); return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory"); }
        w->kvs[w->n_kv++] = *v;
    }
    if (is_align) w->alignment = a;
    return CLLM_OK;
}

static cllm_status set_scalar(cllm_gguf_writer *w, const char *key, cllm_gguf_type t, const void *v) {
    wkv kv = {0};
    kv.type = t;
    memcpy(kv.scalar, v, cllm_gguf_type_size(t));
    return put_kv(w, key, &kv);
}

cllm_status cllm_gguf_writer_set_u8(cllm_gguf_writer *w, const char *key, uint8_t v) { return set_scalar(w, key, CLLM_GGUF_UINT8, &v); }
cllm_status cllm_gguf_writer_set_i8(cllm_gguf_writer *w, const char *key, int8_t v) { return set_scalar(w, key, CLLM_GGUF_INT8, &v); }
cllm_status cllm_gguf_writer_set_u16(cllm_gguf_writer *w, const char *key, uint16_t v) { return set_scalar(w, key, CLLM_GGUF_UINT16, &v); }
cllm_status cllm_gguf_writer_set_i16(cllm_gguf_writer *w, const char *key, int16_t v) { return set_scalar(w, key, CLLM_GGUF_INT16, &v); }
cllm_status cllm_gguf_writer_set_u32(cllm_gguf_writer *w, const char *key, uint32_t v) { return set_scalar(w, key, CLLM_GGUF_UINT32, &v); }
cllm_status cllm_gguf_writer_set_i32(cllm_gguf_writer *w, const char *key, int32_t v) { return set_scalar(w, key, CLLM_GGUF_INT32, &v); }
cllm_status cllm_gguf_writer_set_f32(cllm_gguf_writer *w, const char *key, float v) { return set_scalar(w, key, CLLM_GGUF_FLOAT32, &v); }
cllm_status cllm_gguf_writer_set_u64(cllm_gguf_writer *w, const char *key, uint64_t v) { return set_scalar(w, key, CLLM_GGUF_UINT64, &v); }
cllm_status cllm_gguf_writer_set_i64(cllm_gguf_writer *w, const char *key, int64_t v) { return set_scalar(w, key, CLLM_GGUF_INT64, &v); }
cllm_status cllm_gguf_writer_set_f64(cllm_gguf_writer *w, const char *key, double v) { return set_scalar(w, key, CLLM_GGUF_FLOAT64, &v); }
cllm_status cllm_gguf_writer_set_bool(cllm_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return set_scalar(w, key, CLLM_GGUF_BOOL, &b);
}

cllm_status cllm_gguf_writer_set_strn(cllm_gguf_writer *w, const char *key, const char *s, size_t n) {
    if (!s && n) return w ? cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: NULL string for '%s'", key ? key : "")
                          : CLLM_ERR_INVALID_ARG;
    wkv kv = {0};
    kv.type = CLLM_GGUF_STRING;
    kv.str = malloc(n + 1);
    if (!kv.str) return w ? cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory") : CLLM_ERR_NOMEM;
    if (n) memcpy(kv.str, s, n);
    kv.str[n] = '\0';
    kv.str_len = n;
    return put_kv(w, key, &kv);
}

cllm_status cllm_gguf_writer_set_str(cllm_gguf_writer *w, const char *key, const char *s) {
    return cllm_gguf_writer_set_strn(w, key, s, s ? strlen(s) : 0);
}

cllm_status cllm_gguf_writer_set_arr(cllm_gguf_writer *w, const char *key, cllm_gguf_type et, const void *data,
                                     uint64_t n) {
    if (!w) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL writer");
    size_t es = cllm_gguf_type_size(et);
    if (es == 0)
        return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: '%s': element type %d is not a numeric type",
                            key ? key : "", (int)et);
    uint64_t bytes;
    if (!cllm_mul_u64(n, es, &bytes) || bytes > SIZE_MAX - 1 || (!data && n))
        return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: '%s': bad array (%" PRIu64 " elements)",
                            key ? key : "", n);
    if (et == CLLM_GGUF_BOOL)
        for (uint64_t j = 0; j < n; j++)
            if (((const uint8_t *)data)[j] > 1)
                return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: '%s': bool element %" PRIu64 " is not 0/1",
                                    key ? key : "", j);
    wkv kv = {0};
    kv.type = CLLM_GGUF_ARRAY;
    kv.arr_type = et;
    kv.arr_n = n;
    kv.arr_data = malloc((size_t)bytes + 1);
    if (!kv.arr_data) return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
    if (bytes) memcpy(kv.arr_data, data, (size_t)bytes);
    return put_kv(w, key, &kv);
}

cllm_status cllm_gguf_writer_set_arr_str(cllm_gguf_writer *w, const char *key, const char *const *strs,
                                         const size_t *lens, uint64_t n) {
    if (!w) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL writer");
    if (!strs && n) return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: '%s': NULL strings", key ? key : "");
    if (n > SIZE_MAX / sizeof(uint64_t) - 1) return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
    wkv kv = {0};
    kv.type = CLLM_GGUF_ARRAY;
    kv.arr_type = CLLM_GGUF_STRING;
    kv.arr_n = n;
    kv.offs = malloc(((size_t)n + 1) * sizeof *kv.offs);
    if (!kv.offs) return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
    uint64_t total = 0;
    kv.offs[0] = 0;
    for (uint64_t j = 0; j < n; j++) {
        if (!strs[j]) {
            kv_clear_value(&kv);
            return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: '%s': string %" PRIu64 " is NULL",
                                key ? key : "", j);
        }
        size_t l = lens ? lens[j] : strlen(strs[j]);
        if (!cllm_add_u64(total, l, &total)) {
            kv_clear_value(&kv);
            return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
        }
        kv.offs[j + 1] = total;
    }
    kv.blob = total < SIZE_MAX ? malloc((size_t)total + 1) : NULL;
    if (!kv.blob) { kv_clear_value(&kv); return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory"); }
    for (uint64_t j = 0; j < n; j++)
        memcpy(kv.blob + kv.offs[j], strs[j], (size_t)(kv.offs[j + 1] - kv.offs[j]));
    return put_kv(w, key, &kv);
}

cllm_status cllm_gguf_writer_remove(cllm_gguf_writer *w, const char *key) {
    if (!w || !key) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL argument");
    int64_t i = find_kv(w, key);
    if (i < 0) return cllm_err_set(&w->err, CLLM_ERR_NOT_FOUND, "gguf writer: no key '%s'", key);
    kv_clear_value(&w->kvs[i]);
    free(w->kvs[i].key);
    memmove(&w->kvs[i], &w->kvs[i + 1], (size_t)(w->n_kv - i - 1) * sizeof *w->kvs);
    w->n_kv--;
    if (!strcmp(key, ALIGN_KEY)) w->alignment = CLLM_GGUF_DEFAULT_ALIGNMENT;
    return CLLM_OK;
}

/* Copy kv i of src under its own key. */
static cllm_status copy_one(cllm_gguf_writer *w, const cllm_gguf *src, int64_t i) {
    const cllm_gguf_kv *kv = cllm_gguf_kv_at(src, i);
    if (!kv) return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: no kv %" PRId64 " in source", i);
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; float f32; } s;
    switch (kv->type) {
    case CLLM_GGUF_UINT8: s.u8 = (uint8_t)kv->v.u; return set_scalar(w, kv->key, kv->type, &s);
    case CLLM_GGUF_INT8: s.i8 = (int8_t)kv->v.i; return set_scalar(w, kv->key, kv->type, &s);
    case CLLM_GGUF_UINT16: s.u16 = (uint16_t)kv->v.u; return set_scalar(w, kv->key, kv->type, &s);
    case CLLM_GGUF_INT16: s.i16 = (int16_t)kv->v.i; return set_scalar(w, kv->key, kv->type, &s);
    case CLLM_GGUF_UINT32: s.u32 = (uint32_t)kv->v.u; return set_scalar(w, kv->key, kv->type, &s);
    case CLLM_GGUF_INT32: s.i32 = (int32_t)kv->v.i; return set_scalar(w, kv->key, kv->type, &s);
    /* float32 -> double -> float is exact, NaN payloads included on IEEE hosts. */
    case CLLM_GGUF_FLOAT32: s.f32 = (float)kv->v.f; return set_scalar(w, kv->key, kv->type, &s);
    case CLLM_GGUF_UINT64: return set_scalar(w, kv->key, kv->type, &kv->v.u);
    case CLLM_GGUF_INT64: return set_scalar(w, kv->key, kv->type, &kv->v.i);
    case CLLM_GGUF_FLOAT64: return set_scalar(w, kv->key, kv->type, &kv->v.f);
    case CLLM_GGUF_BOOL: return cllm_gguf_writer_set_bool(w, kv->key, kv->v.b);
    case CLLM_GGUF_STRING: return cllm_gguf_writer_set_strn(w, kv->key, kv->str, kv->str_len);
    case CLLM_GGUF_ARRAY:
        if (kv->arr_type == CLLM_GGUF_STRING)
            return cllm_gguf_writer_set_arr_str(w, kv->key, kv->arr_strs, kv->arr_lens, kv->arr_n);
        return cllm_gguf_writer_set_arr(w, kv->key, kv->arr_type, kv->arr_data, kv->arr_n);
    }
    return cllm_err_set(&w->err, CLLM_ERR_INTERNAL, "gguf writer: kv '%s' has unknown type", kv->key);
}

cllm_status cllm_gguf_writer_copy_kv(cllm_gguf_writer *w, const cllm_gguf *src, cllm_gguf_key_skip_fn skip,
                                     void *user) {
    if (!w || !src) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL argument");
    for (int64_t i = 0; i < cllm_gguf_n_kv(src); i++) {
        if (skip && skip(cllm_gguf_key(src, i), user)) continue;
        cllm_status st = copy_one(w, src, i);
        if (st) return st;
    }
    return CLLM_OK;
}

cllm_status cllm_gguf_writer_copy_key(cllm_gguf_writer *w, const cllm_gguf *src, const char *key) {
    if (!w || !src || !key) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL argument");
    int64_t i = cllm_gguf_find_key(src, key);
    if (i < 0) return cllm_err_set(&w->err, CLLM_ERR_NOT_FOUND, "gguf writer: source has no key '%s'", key);
    return copy_one(w, src, i);
}

/* --------------------------------------------------------------- tensors */
static cllm_status add_tensor(cllm_gguf_writer *w, const char *name, cllm_type type, int n_dims, const int64_t *ne,
                              const void *data, cllm_gguf_tensor_fill_fn fill, void *user) {
    if (!w) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL writer");
    if (!name || !ne) return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: NULL tensor name or shape");
    size_t n = strlen(name), bad;
    if (n == 0 || n > CLLM_GGUF_MAX_TENSOR_NAME)
        return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor name '%.80s' must be 1..%d bytes (is %zu)",
                            name, CLLM_GGUF_MAX_TENSOR_NAME, n);
    if (!cllm_utf8_valid(name, n, &bad))
        return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor name is not valid UTF-8 (byte %zu)", bad);
    for (int64_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->ts[i].name, name))
            return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: duplicate tensor '%s'", name);
    const cllm_type_traits *tr = cllm_type_get_traits(type);
    if (!tr) return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor '%s': unknown type %d", name, (int)type);
    if (n_dims < 1 || n_dims > 4)
        return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor '%s': n_dims %d outside 1..4", name, n_dims);
    wtensor t = {0};
    t.type = type;
    t.n_dims = n_dims;
    uint64_t nel = 1;
    for (int d = 0; d < 4; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] <= 0 || !cllm_mul_u64(nel, (uint64_t)t.ne[d], &nel) || nel > (uint64_t)INT64_MAX)
            return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor '%s': bad dimension %d (%" PRId64 ")",
                                name, d, t.ne[d]);
    }
    if (t.ne[0] % tr->blck_size)
        return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG,
                            "gguf writer: tensor '%s': row length %" PRId64 " is not a multiple of the %s block size %" PRId64,
                            name, t.ne[0], tr->name, tr->blck_size);
    uint64_t nb = (uint64_t)(t.ne[0] / tr->blck_size) * (uint64_t)tr->type_size;
    for (int d = 1; d < 4; d++)
        if (!cllm_mul_u64(nb, (uint64_t)t.ne[d], &nb))
            return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor '%s': byte size overflows", name);
    t.nbytes = nb;
    t.data = data;
    t.fill = fill;
    t.fill_user = user;
    if (w->n_t == w->cap_t) {
        int64_t cap = w->cap_t ? w->cap_t * 2 : 64;
        wtensor *nt = realloc(w->ts, (size_t)cap * sizeof *nt);
        if (!nt) return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
        w->ts = nt;
        w->cap_t = cap;
    }
    t.name = strdup(name);
    if (!t.name) return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
    w->ts[w->n_t++] = t;
    return CLLM_OK;
}

cllm_status cllm_gguf_writer_add_tensor(cllm_gguf_writer *w, const char *name, cllm_type type, int n_dims,
                                        const int64_t *ne, const void *data) {
    return add_tensor(w, name, type, n_dims, ne, data, NULL, NULL);
}

cllm_status cllm_gguf_writer_add_tensor_fn(cllm_gguf_writer *w, const char *name, cllm_type type, int n_dims,
                                           const int64_t *ne, cllm_gguf_tensor_fill_fn fill, void *user) {
    if (w && !fill) return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor '%s': NULL fill function",
                                        name ? name : "");
    return add_tensor(w, name, type, n_dims, ne, NULL, fill, user);
}

/* ------------------------------------------------------------------ sink */
typedef struct {
    FILE *f;              /* file sink, or NULL for memory */
    unsigned char *buf;   /* memory sink */
    size_t n, cap;
    bool failed;
    uint64_t pos;
} sink;

static void sk_put(sink *s, const void *p, size_t n) {
    if (s->failed || n == 0) return;
    s->pos += n;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n) s->failed = true;
        return;
    }
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + n) {
            if (cap > SIZE_MAX / 2) { s->failed = true; return; }
            cap *= 2;
        }
        unsigned char *nb = realloc(s->buf, cap);
        if (!nb) { s->failed = true; return; }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

static void sk_u32(sink *s, uint32_t v) { sk_put(s, &v, 4); }
static void sk_u64(sink *s, uint64_t v) { sk_put(s, &v, 8); }
static void sk_str(sink *s, const char *p, uint64_t n) { sk_u64(s, n); sk_put(s, p, (size_t)n); }

static void sk_zeros(sink *s, uint64_t n) {
    static const unsigned char z[4096];
    while (n) {
        size_t k = n > sizeof z ? sizeof z : (size_t)n;
        sk_put(s, z, k);
        n -= k;
    }
}

static void sk_pad(sink *s, uint64_t align) {
    uint64_t r = s->pos % align;
    if (r) sk_zeros(s, align - r);
}

/* Write everything; returns a status other than OK only when a fill
 * function fails or its buffer cannot be allocated (sink failures are in
 * s->failed). */
static cllm_status emit(cllm_gguf_writer *w, sink *s) {
    sk_put(s, "GGUF", 4);
    sk_u32(s, 3);
    sk_u64(s, (uint64_t)w->n_t);
    sk_u64(s, (uint64_t)w->n_kv);
    for (int64_t i = 0; i < w->n_kv; i++) {
        const wkv *kv = &w->kvs[i];
        sk_str(s, kv->key, strlen(kv->key));
        sk_u32(s, (uint32_t)kv->type);
        if (kv->type == CLLM_GGUF_STRING) {
            sk_str(s, kv->str, kv->str_len);
        } else if (kv->type == CLLM_GGUF_ARRAY) {
            sk_u32(s, (uint32_t)kv->arr_type);
            sk_u64(s, kv->arr_n);
            if (kv->arr_type == CLLM_GGUF_STRING)
                for (uint64_t j = 0; j < kv->arr_n; j++)
                    sk_str(s, kv->blob + kv->offs[j], kv->offs[j + 1] - kv->offs[j]);
            else
                sk_put(s, kv->arr_data, (size_t)(kv->arr_n * cllm_gguf_type_size(kv->arr_type)));
        } else {
            sk_put(s, kv->scalar, cllm_gguf_type_size(kv->type));
        }
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->ts[i];
        sk_str(s, t->name, strlen(t->name));
        sk_u32(s, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) sk_u64(s, (uint64_t)t->ne[d]);
        sk_u32(s, (uint32_t)t->type);
        sk_u64(s, t->offset);
    }
    /* A file without tensors ends after its infos (as gguf-py writes them). */
    if (w->n_t) sk_pad(s, w->alignment);
    for (int64_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->ts[i];
        if (t->fill) {
            void *buf = malloc(t->nbytes ? (size_t)t->nbytes : 1);
            if (!buf)
                return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "gguf writer: tensor '%s': out of memory for %" PRIu64 " bytes",
                                    t->name, t->nbytes);
            cllm_status st = t->fill(t->fill_user, i, buf, t->nbytes);
            if (st != CLLM_OK) {
                free(buf);
                /* The message names the tensor; the fill function may have logged details. */
                return cllm_err_set(&w->err, st, "gguf writer: tensor '%s': fill failed: %s", t->name,
                                    cllm_status_str(st));
            }
            sk_put(s, buf, (size_t)t->nbytes);
            free(buf);
        } else if (t->data) {
            sk_put(s, t->data, (size_t)t->nbytes);
        } else {
            sk_zeros(s, t->nbytes);
        }
        sk_pad(s, w->alignment);
    }
    return CLLM_OK;
}

/* Assign each tensor its offset: the running sum of padded sizes. */
static cllm_status layout(cllm_gguf_writer *w) {
    uint64_t off = 0, a = w->alignment;
    for (int64_t i = 0; i < w->n_t; i++) {
        wtensor *t = &w->ts[i];
        uint64_t padded;
        t->offset = off;
        if (!cllm_add_u64(t->nbytes, a - 1, &padded) || !cllm_add_u64(off, padded & ~(a - 1), &off) ||
            t->nbytes > SIZE_MAX)
            return cllm_err_set(&w->err, CLLM_ERR_INVALID_ARG, "gguf writer: tensor data exceeds 64 bits");
    }
    return CLLM_OK;
}

cllm_status cllm_gguf_writer_write_memory(cllm_gguf_writer *w, void **out, size_t *size_out) {
    if (!w || !out || !size_out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL argument");
    *out = NULL;
    *size_out = 0;
    cllm_status st = layout(w);
    if (st) return st;
    sink s = {0};
    st = emit(w, &s);
    if (st != CLLM_OK) {
        free(s.buf);
        return st;
    }
    if (s.failed) {
        free(s.buf);
        return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "gguf writer: out of memory for a %" PRIu64 "-byte file", s.pos);
    }
    *out = s.buf ? (void *)s.buf : malloc(1);
    *size_out = s.n;
    return *out ? CLLM_OK : cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
}

cllm_status cllm_gguf_writer_write(cllm_gguf_writer *w, const char *path) {
    if (!w || !path) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "gguf writer: NULL argument");
    cllm_status st = layout(w);
    if (st) return st;
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    if (!tmp) return cllm_err_set(&w->err, CLLM_ERR_NOMEM, "out of memory");
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    sink s = {0};
    s.f = fopen(tmp, "wb");
    if (!s.f) {
        st = cllm_err_set(&w->err, CLLM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    setvbuf(s.f, NULL, _IOFBF, 1 << 20);
    st = emit(w, &s);
    bool ok = !s.failed && st == CLLM_OK;
    if (fclose(s.f) != 0) ok = false;
    if (st != CLLM_OK) {
        unlink(tmp);
        free(tmp);
        return st;
    }
    if (!ok) {
        st = cllm_err_set(&w->err, CLLM_ERR_IO, "%s: write failed after %" PRIu64 " bytes", tmp, s.pos);
        unlink(tmp);
        free(tmp);
        return st;
    }
    if (rename(tmp, path) != 0) {
        st = cllm_err_set(&w->err, CLLM_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return CLLM_OK;
}
