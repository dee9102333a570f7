/* test_gguf_writer.c: the GGUF writer. Every model and vocab file in
 * ../shared is read, rewritten (all metadata + all tensors) and read back:
 * metadata must be identical in type and value, tensor data byte-identical,
 * and the layout canonical (offsets = running padded sizes, as llama.cpp
 * checks). Then the setters, replace/remove semantics, alignment, the memory
 * sink and argument validation. */
#include "core/core.h"
#include "gguf/gguf_internal.h"
#include "gguf/gguf_writer.h"
#include "tensor/types.h"
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_tmp[4096];

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* True when kv a (of ga) and kv b (of gb) have the same key, type and value. */
static bool kv_equal(const cllm_gguf_kv *a, const cllm_gguf_kv *b) {
    if (strcmp(a->key, b->key) || a->type != b->type) return false;
    switch (a->type) {
    case CLLM_GGUF_STRING: return a->str_len == b->str_len && !memcmp(a->str, b->str, a->str_len);
    case CLLM_GGUF_ARRAY:
        if (a->arr_type != b->arr_type || a->arr_n != b->arr_n) return false;
        if (a->arr_type == CLLM_GGUF_STRING) {
            for (uint64_t j = 0; j < a->arr_n; j++)
                if (a->arr_lens[j] != b->arr_lens[j] || memcmp(a->arr_strs[j], b->arr_strs[j], a->arr_lens[j]))
                    return false;
            return true;
        }
        return !memcmp(a->arr_data, b->arr_data, a->arr_n * cllm_gguf_type_size(a->arr_type));
    case CLLM_GGUF_BOOL: return a->v.b == b->v.b;
    default: return !memcmp(&a->v, &b->v, sizeof a->v); /* bits: NaNs and -0 compare exactly */
    }
}

/* Compare two readers fully; returns the number of differences. */
static int compare(const char *what, const cllm_gguf *a, const cllm_gguf *b) {
    int diffs = 0;
    if (cllm_gguf_n_kv(a) != cllm_gguf_n_kv(b) || cllm_gguf_n_tensors(a) != cllm_gguf_n_tensors(b)) {
        fprintf(stderr, "%s: counts differ\n", what);
        return 1;
    }
    for (int64_t i = 0; i < cllm_gguf_n_kv(a); i++)
        if (!kv_equal(cllm_gguf_kv_at(a, i), cllm_gguf_kv_at(b, i))) {
            fprintf(stderr, "%s: kv %lld '%s' differs\n", what, (long long)i, cllm_gguf_key(a, i));
            diffs++;
        }
    for (int64_t i = 0; i < cllm_gguf_n_tensors(a); i++) {
        const cllm_tensor_info *x = cllm_gguf_tensor(a, i), *y = cllm_gguf_tensor(b, i);
        if (strcmp(x->name, y->name) || x->type != y->type || x->n_dims != y->n_dims ||
            memcmp(x->ne, y->ne, sizeof x->ne) || x->nbytes != y->nbytes || memcmp(x->data, y->data, x->nbytes)) {
            fprintf(stderr, "%s: tensor '%s' differs\n", what, x->name);
            diffs++;
        }
    }
    return diffs;
}

/* Offsets must be exactly the running padded sizes (llama.cpp's check). */
static bool canonical(const cllm_gguf *g) {
    uint64_t off = 0, a = cllm_gguf_alignment(g);
    for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        if (t->offset != off) return false;
        off += (t->nbytes + a - 1) / a * a;
    }
    /* The padded data section is fully present. */
    return cllm_gguf_n_tensors(g) == 0 || cllm_gguf_data_offset(g) + off == cllm_gguf_file_size(g);
}

static int g_identical;

static void roundtrip(const char *path) {
    cllm_gguf *src = NULL, *back = NULL;
    cllm_gguf_writer *w = NULL;
    if (cllm_gguf_open(path, &src) != CLLM_OK) { CHECK(0, "%s: %s", path, cllm_last_error()); return; }
    CHECK(cllm_gguf_writer_init(&w) == CLLM_OK, "init");
    CHECK(cllm_gguf_writer_copy_kv(w, src, NULL, NULL) == CLLM_OK, "%s: copy_kv: %s", path, cllm_gguf_writer_last_error(w));
    for (int64_t i = 0; i < cllm_gguf_n_tensors(src); i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(src, i);
        cllm_status st = cllm_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
        CHECK(st == CLLM_OK, "%s: add %s: %s", path, t->name, cllm_gguf_writer_last_error(w));
    }
    cllm_status st = cllm_gguf_writer_write(w, g_tmp);
    CHECK(st == CLLM_OK, "%s: write: %s", path, cllm_gguf_writer_last_error(w));
    if (st == CLLM_OK) {
        st = cllm_gguf_open(g_tmp, &back);
        CHECK(st == CLLM_OK, "%s: rewritten file refused: %s", path, cllm_last_error());
    }
    if (back) {
        CHECK(compare(path, src, back) == 0, "%s: round trip differs", path);
        CHECK(cllm_gguf_version(back) == 3, "v3");
        CHECK(cllm_gguf_alignment(back) == cllm_gguf_alignment(src), "alignment kept");
        CHECK(canonical(back), "%s: rewritten layout not canonical", path);
        /* Memory sink gives the same bytes as the file. */
        void *mem = NULL;
        size_t n = 0, fn = 0;
        CHECK(cllm_gguf_writer_write_memory(w, &mem, &n) == CLLM_OK, "write_memory");
        void *file = test_read_file(g_tmp, &fn);
        CHECK(file && n == fn && !memcmp(mem, file, n), "%s: memory and file output differ", path);
        /* Files in canonical layout with v3 come back byte-identical. */
        size_t on = 0;
        void *orig = test_read_file(path, &on);
        if (orig && on == n && !memcmp(orig, mem, n)) g_identical++;
        else if (getenv("CLLM_TEST_VERBOSE")) printf("not byte-identical: %s (%zu vs %zu bytes)\n", path, on, n);
        free(orig);
        free(file);
        free(mem);
    }
    cllm_gguf_free(back);
    cllm_gguf_writer_free(w);
    cllm_gguf_free(src);
}

static int roundtrip_dir(const char *rel) {
    DIR *d = opendir(test_shared_path(rel));
    CHECK(d != NULL, "cannot list %s", rel);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".gguf")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", test_shared_path(rel), e->d_name);
        roundtrip(p);
        n++;
    }
    closedir(d);
    return n;
}

static bool skip_tokenizer(const char *key, void *user) {
    (*(int *)user)++;
    return !strncmp(key, "tokenizer.", 10);
}

static int g_fill_calls;
static cllm_status fill_pattern(void *user, int64_t index, void *dst, uint64_t nbytes) {
    g_fill_calls++;
    for (uint64_t i = 0; i < nbytes; i++) ((uint8_t *)dst)[i] = (uint8_t)(i * 3 + (uint64_t)index + *(int *)user);
    return CLLM_OK;
}
static cllm_status fill_fail(void *user, int64_t index, void *dst, uint64_t nbytes) {
    (void)user, (void)index, (void)dst, (void)nbytes;
    return CLLM_ERR_CANCELLED;
}

/* Tensors produced at write time by a fill function. */
static void fill_fn(void) {
    cllm_gguf_writer *w = NULL;
    int base = 5;
    CHECK(cllm_gguf_writer_init(&w) == CLLM_OK, "init");
    CHECK(cllm_gguf_writer_add_tensor(w, "a", CLLM_TYPE_F32, 1, (int64_t[]){3}, NULL) == CLLM_OK, "a");
    CHECK(cllm_gguf_writer_add_tensor_fn(w, "b", CLLM_TYPE_Q4_0, 2, (int64_t[]){64, 3}, fill_pattern, &base) == CLLM_OK,
          "b");
    CHECK(cllm_gguf_writer_add_tensor_fn(w, "c", CLLM_TYPE_F16, 1, (int64_t[]){8}, NULL, NULL) == CLLM_ERR_INVALID_ARG,
          "NULL fill");
    CHECK(cllm_gguf_writer_write(w, g_tmp) == CLLM_OK, "write: %s", cllm_gguf_writer_last_error(w));
    CHECK(g_fill_calls == 1, "fill called %d times", g_fill_calls);
    cllm_gguf *g = NULL;
    CHECK(cllm_gguf_open(g_tmp, &g) == CLLM_OK, "read: %s", cllm_last_error());
    const cllm_tensor_info *t = g ? cllm_gguf_tensor(g, 1) : NULL;
    bool same = t && t->nbytes == 6 * 18 && t->offset == 32;
    for (uint64_t i = 0; same && i < t->nbytes; i++) same = ((const uint8_t *)t->data)[i] == (uint8_t)(i * 3 + 1 + 5);
    CHECK(same, "filled bytes");
    cllm_gguf_free(g);
    /* A failing fill aborts the write with its status and leaves no file. */
    unlink(g_tmp);
    CHECK(cllm_gguf_writer_add_tensor_fn(w, "d", CLLM_TYPE_F32, 1, (int64_t[]){2}, fill_fail, NULL) == CLLM_OK, "d");
    CHECK(cllm_gguf_writer_write(w, g_tmp) == CLLM_ERR_CANCELLED &&
              strstr(cllm_gguf_writer_last_error(w), "tensor 'd': fill failed"),
          "failing fill: %s", cllm_gguf_writer_last_error(w));
    char tmp2[4200];
    snprintf(tmp2, sizeof tmp2, "%s.tmp", g_tmp);
    CHECK(access(g_tmp, F_OK) != 0 && access(tmp2, F_OK) != 0, "no file left behind");
    void *mem = NULL;
    size_t n = 0;
    CHECK(cllm_gguf_writer_write_memory(w, &mem, &n) == CLLM_ERR_CANCELLED && mem == NULL, "memory: failing fill");
    cllm_gguf_writer_free(w);
}

static void unit(void) {
    cllm_gguf_writer *w = NULL;
    CHECK(cllm_gguf_writer_init(&w) == CLLM_OK, "init");
    CHECK(cllm_gguf_writer_set_u8(w, "u8", 250) == CLLM_OK, "u8");
    CHECK(cllm_gguf_writer_set_i8(w, "i8", -5) == CLLM_OK, "i8");
    CHECK(cllm_gguf_writer_set_u16(w, "u16", 65000) == CLLM_OK, "u16");
    CHECK(cllm_gguf_writer_set_i16(w, "i16", -32768) == CLLM_OK, "i16");
    CHECK(cllm_gguf_writer_set_u32(w, "u32", 7) == CLLM_OK, "u32");
    CHECK(cllm_gguf_writer_set_i32(w, "i32", -7) == CLLM_OK, "i32");
    CHECK(cllm_gguf_writer_set_f32(w, "f32", 0.1f) == CLLM_OK, "f32");
    CHECK(cllm_gguf_writer_set_bool(w, "bool", true) == CLLM_OK, "bool");
    CHECK(cllm_gguf_writer_set_str(w, "str", "first") == CLLM_OK, "str");
    CHECK(cllm_gguf_writer_set_u64(w, "u64", UINT64_MAX) == CLLM_OK, "u64");
    CHECK(cllm_gguf_writer_set_i64(w, "i64", INT64_MIN) == CLLM_OK, "i64");
    CHECK(cllm_gguf_writer_set_f64(w, "f64", 1e-300) == CLLM_OK, "f64");
    const float sc[3] = {-1.0f, 0.5f, 2.0f};
    CHECK(cllm_gguf_writer_set_arr(w, "arr.f32", CLLM_GGUF_FLOAT32, sc, 3) == CLLM_OK, "arr f32");
    CHECK(cllm_gguf_writer_set_arr(w, "arr.empty", CLLM_GGUF_INT64, NULL, 0) == CLLM_OK, "empty arr");
    const char *toks[4] = {"<unk>", "", "a\0b", "\xe2\x96\x81the"};
    const size_t lens[4] = {5, 0, 3, 6};
    CHECK(cllm_gguf_writer_set_arr_str(w, "arr.str", toks, lens, 4) == CLLM_OK, "arr str");
    CHECK(cllm_gguf_writer_set_str(w, "str", "replaced") == CLLM_OK, "replace");
    CHECK(cllm_gguf_writer_set_u32(w, "general.alignment", 64) == CLLM_OK, "alignment 64");
    CHECK(cllm_gguf_writer_set_str(w, "gone", "x") == CLLM_OK && cllm_gguf_writer_remove(w, "gone") == CLLM_OK,
          "remove");
    CHECK(cllm_gguf_writer_remove(w, "gone") == CLLM_ERR_NOT_FOUND, "remove twice");
    CHECK(cllm_gguf_writer_n_kv(w) == 16, "n_kv %lld", (long long)cllm_gguf_writer_n_kv(w));

    /* Argument validation. */
    CHECK(cllm_gguf_writer_set_u32(w, "general.alignment", 48) == CLLM_ERR_INVALID_ARG &&
              strstr(cllm_gguf_writer_last_error(w), "power of two"),
          "alignment 48");
    CHECK(cllm_gguf_writer_set_u64(w, "general.alignment", 64) == CLLM_ERR_INVALID_ARG, "alignment as u64");
    CHECK(cllm_gguf_writer_set_u32(w, "", 1) == CLLM_ERR_INVALID_ARG, "empty key");
    CHECK(cllm_gguf_writer_set_u32(w, "bad\xff", 1) == CLLM_ERR_INVALID_ARG, "bad UTF-8 key");
    CHECK(cllm_gguf_writer_set_arr(w, "x", CLLM_GGUF_STRING, toks, 1) == CLLM_ERR_INVALID_ARG, "string via set_arr");
    CHECK(cllm_gguf_writer_set_arr(w, "x", CLLM_GGUF_BOOL, "\x02", 1) == CLLM_ERR_INVALID_ARG, "bool 2");

    float wdata[64 * 2];
    for (int i = 0; i < 128; i++) wdata[i] = (float)i * 0.25f - 3.0f;
    uint8_t q8[2 * 34];
    for (int i = 0; i < 68; i++) q8[i] = (uint8_t)(i * 37);
    CHECK(cllm_gguf_writer_add_tensor(w, "w", CLLM_TYPE_F32, 2, (int64_t[]){64, 2}, wdata) == CLLM_OK, "add w");
    CHECK(cllm_gguf_writer_add_tensor(w, "q", CLLM_TYPE_Q8_0, 1, (int64_t[]){64}, q8) == CLLM_OK, "add q");
    CHECK(cllm_gguf_writer_add_tensor(w, "z", CLLM_TYPE_F16, 3, (int64_t[]){3, 1, 5}, NULL) == CLLM_OK, "add zeros");
    CHECK(cllm_gguf_writer_add_tensor(w, "w", CLLM_TYPE_F32, 1, (int64_t[]){4}, wdata) == CLLM_ERR_INVALID_ARG &&
              strstr(cllm_gguf_writer_last_error(w), "duplicate"),
          "duplicate tensor");
    CHECK(cllm_gguf_writer_add_tensor(w, "r", CLLM_TYPE_Q8_0, 1, (int64_t[]){40}, q8) == CLLM_ERR_INVALID_ARG &&
              strstr(cllm_gguf_writer_last_error(w), "block size 32"),
          "row not multiple");
    CHECK(cllm_gguf_writer_add_tensor(w, "d0", CLLM_TYPE_F32, 2, (int64_t[]){4, 0}, wdata) == CLLM_ERR_INVALID_ARG, "zero dim");
    CHECK(cllm_gguf_writer_add_tensor(w, "d5", CLLM_TYPE_F32, 5, (int64_t[]){1, 1, 1, 1, 1}, wdata) == CLLM_ERR_INVALID_ARG, "5 dims");
    CHECK(cllm_gguf_writer_add_tensor(w, "t4", (cllm_type)4, 1, (int64_t[]){32}, wdata) == CLLM_ERR_INVALID_ARG, "type 4");
    char longname[80];
    memset(longname, 'x', 64);
    longname[64] = '\0';
    CHECK(cllm_gguf_writer_add_tensor(w, longname, CLLM_TYPE_F32, 1, (int64_t[]){4}, wdata) == CLLM_ERR_INVALID_ARG,
          "64-byte name");
    longname[63] = '\0';
    CHECK(cllm_gguf_writer_add_tensor(w, longname, CLLM_TYPE_F32, 1, (int64_t[]){4}, wdata) == CLLM_OK, "63-byte name");
    CHECK(cllm_gguf_writer_n_tensors(w) == 4, "n_tensors");

    void *mem = NULL;
    size_t n = 0;
    CHECK(cllm_gguf_writer_write_memory(w, &mem, &n) == CLLM_OK, "write_memory: %s", cllm_gguf_writer_last_error(w));
    cllm_gguf *g = NULL;
    CHECK(cllm_gguf_open_memory(mem, n, &g) == CLLM_OK, "read back: %s", cllm_last_error());
    if (g) {
        uint64_t u;
        int64_t i;
        double f;
        bool b;
        const char *s;
        size_t len;
        CHECK(cllm_gguf_alignment(g) == 64 && canonical(g), "alignment 64, canonical");
        CHECK(cllm_gguf_get_u64(g, "u8", &u) == CLLM_OK && u == 250 && cllm_gguf_kv_type(g, 0) == CLLM_GGUF_UINT8, "u8");
        CHECK(cllm_gguf_get_i64(g, "i8", &i) == CLLM_OK && i == -5 && cllm_gguf_kv_type(g, 1) == CLLM_GGUF_INT8, "i8");
        CHECK(cllm_gguf_get_u64(g, "u16", &u) == CLLM_OK && u == 65000, "u16");
        CHECK(cllm_gguf_get_i64(g, "i16", &i) == CLLM_OK && i == -32768, "i16");
        CHECK(cllm_gguf_get_u64(g, "u32", &u) == CLLM_OK && u == 7, "u32");
        CHECK(cllm_gguf_get_i64(g, "i32", &i) == CLLM_OK && i == -7, "i32");
        CHECK(cllm_gguf_get_f64(g, "f32", &f) == CLLM_OK && (float)f == 0.1f && cllm_gguf_kv_type(g, 6) == CLLM_GGUF_FLOAT32, "f32");
        CHECK(cllm_gguf_get_bool(g, "bool", &b) == CLLM_OK && b, "bool");
        CHECK(cllm_gguf_get_str(g, "str", &s, &len) == CLLM_OK && !strcmp(s, "replaced") && cllm_gguf_find_key(g, "str") == 8,
              "replaced in place");
        CHECK(cllm_gguf_get_u64(g, "u64", &u) == CLLM_OK && u == UINT64_MAX, "u64");
        CHECK(cllm_gguf_get_i64(g, "i64", &i) == CLLM_OK && i == INT64_MIN, "i64");
        CHECK(cllm_gguf_get_f64(g, "f64", &f) == CLLM_OK && f == 1e-300, "f64");
        int64_t k = cllm_gguf_find_key(g, "arr.f32");
        const float *af = cllm_gguf_arr_data(g, k);
        CHECK(af && cllm_gguf_arr_n(g, k) == 3 && af[0] == -1.0f && af[2] == 2.0f, "arr f32");
        k = cllm_gguf_find_key(g, "arr.empty");
        CHECK(cllm_gguf_arr_type(g, k) == CLLM_GGUF_INT64 && cllm_gguf_arr_n(g, k) == 0, "empty arr");
        k = cllm_gguf_find_key(g, "arr.str");
        s = cllm_gguf_arr_str(g, k, 2, &len);
        CHECK(s && len == 3 && !memcmp(s, "a\0b", 3), "string with NUL");
        s = cllm_gguf_arr_str(g, k, 3, &len);
        CHECK(s && !strcmp(s, "\xe2\x96\x81the"), "UTF-8 token");
        CHECK(cllm_gguf_find_key(g, "gone") < 0, "removed key absent");
        const cllm_tensor_info *t = cllm_gguf_tensor(g, cllm_gguf_find_tensor(g, "w"));
        CHECK(t && t->offset == 0 && t->nbytes == 512 && !memcmp(t->data, wdata, 512), "w data");
        t = cllm_gguf_tensor(g, cllm_gguf_find_tensor(g, "q"));
        CHECK(t && t->offset == 512 && t->nbytes == 68 && !memcmp(t->data, q8, 68), "q data");
        t = cllm_gguf_tensor(g, cllm_gguf_find_tensor(g, "z"));
        CHECK(t && t->offset == 640 && t->nbytes == 30 && t->n_dims == 3 && t->ne[2] == 5, "z shape");
        bool zero = t != NULL;
        for (uint64_t j = 0; t && j < t->nbytes; j++) zero = zero && ((const uint8_t *)t->data)[j] == 0;
        CHECK(zero, "NULL data written as zeros");
        /* Padding between the header and data, and after tensors, is zero. */
        const uint8_t *p = mem;
        bool padz = true;
        for (uint64_t j = 512 + 68; j < 640; j++) padz = padz && p[cllm_gguf_data_offset(g) + j] == 0;
        CHECK(padz, "padding zero");

        /* copy_kv with a skip predicate, then copy_key. */
        cllm_gguf_writer *w2 = NULL;
        int calls = 0;
        CHECK(cllm_gguf_writer_init(&w2) == CLLM_OK, "init 2");
        CHECK(cllm_gguf_writer_set_str(w2, "tokenizer.ggml.model", "llama") == CLLM_OK, "set");
        CHECK(cllm_gguf_writer_copy_kv(w2, g, skip_tokenizer, &calls) == CLLM_OK && calls == 16, "copy_kv skip");
        CHECK(cllm_gguf_writer_n_kv(w2) == 17, "17 kvs");
        CHECK(cllm_gguf_writer_copy_key(w2, g, "nope") == CLLM_ERR_NOT_FOUND, "copy missing key");
        CHECK(cllm_gguf_writer_copy_key(w2, g, "str") == CLLM_OK && cllm_gguf_writer_n_kv(w2) == 17, "copy_key replaces");
        cllm_gguf_writer_free(w2);
        cllm_gguf_free(g);
    }
    free(mem);
    CHECK(cllm_gguf_writer_remove(w, "general.alignment") == CLLM_OK, "remove alignment");
    CHECK(cllm_gguf_writer_write_memory(w, &mem, &n) == CLLM_OK, "write again");
    if (cllm_gguf_open_memory(mem, n, &g) == CLLM_OK) {
        CHECK(cllm_gguf_alignment(g) == 32 && canonical(g), "back to 32");
        cllm_gguf_free(g);
    } else {
        CHECK(0, "read back after removing alignment: %s", cllm_last_error());
    }
    free(mem);
    /* A write to a missing directory fails cleanly. */
    CHECK(cllm_gguf_writer_write(w, "/nonexistent-dir/x.gguf") == CLLM_ERR_IO &&
              strstr(cllm_gguf_writer_last_error(w), "/nonexistent-dir/x.gguf.tmp"),
          "write to missing dir");
    cllm_gguf_writer_free(w);
    cllm_gguf_writer_free(NULL);
}

int main(void) {
    const char *td = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/cllm_test_gguf_writer_%d.gguf", td && *td ? td : "/tmp", (int)getpid());
    unit();
    fill_fn();
    if (test_shared_dir()) {
        int n = roundtrip_dir("models/real") + roundtrip_dir("models/synthetic") + roundtrip_dir("vocab");
        CHECK(n >= 42, "only %d files round-tripped", n);
        printf("%d shared GGUF files round-tripped, %d of them byte-identical to the original\n", n, g_identical);
        /* The shared files come from llama.cpp/gguf-py, which write the same
         * canonical layout: our output must reproduce them exactly. */
        CHECK(g_identical == n, "%d of %d rewritten files differ from the original bytes", n - g_identical, n);
    } else {
        printf("SKIP part: ../shared not found, only unit checks ran\n");
    }
    unlink(g_tmp);
    return test_finish();
}
