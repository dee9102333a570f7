/* fuzz_gguf.c: libFuzzer target for the GGUF reader (and the writer): open
 * the input with cllm_gguf_open_memory, walk every getter and touch every
 * byte a getter returns (ASan checks they lie inside the input or the
 * handle), then rewrite accepted files with the writer and require the
 * result to read back identically. Built with -DCLLM_FUZZ=ON (see
 * scripts/fuzz.sh). */
#include "cllm.h"
#include "gguf/gguf_internal.h"
#include "gguf/gguf_writer.h"

#include <stdlib.h>
#include <string.h>

static volatile unsigned g_sink;

static void touch(const void *p, size_t n) {
    const unsigned char *b = p;
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) s += b[i];
    g_sink += s;
}

static void walk(const cllm_gguf *g) {
    g_sink += cllm_gguf_version(g) + (unsigned)cllm_gguf_alignment(g) + (unsigned)cllm_gguf_data_offset(g) +
              (unsigned)cllm_gguf_file_size(g);
    for (int64_t i = 0; i < cllm_gguf_n_kv(g); i++) {
        const char *k = cllm_gguf_key(g, i);
        touch(k, strlen(k) + 1);
        if (cllm_gguf_find_key(g, k) != i) abort();
        uint64_t u;
        int64_t s;
        double f;
        bool b;
        const char *str;
        size_t len;
        (void)cllm_gguf_get_u64(g, k, &u);
        (void)cllm_gguf_get_i64(g, k, &s);
        (void)cllm_gguf_get_f64(g, k, &f);
        (void)cllm_gguf_get_bool(g, k, &b);
        if (cllm_gguf_get_str(g, k, &str, &len) == CLLM_OK) touch(str, len + 1);
        if (cllm_gguf_kv_type(g, i) == CLLM_GGUF_ARRAY) {
            cllm_gguf_type t = cllm_gguf_arr_type(g, i);
            uint64_t n = cllm_gguf_arr_n(g, i);
            if (t == CLLM_GGUF_STRING) {
                for (uint64_t j = 0; j < n; j++) {
                    str = cllm_gguf_arr_str(g, i, j, &len);
                    if (!str) abort();
                    touch(str, len + 1);
                }
                if (cllm_gguf_arr_str(g, i, n, NULL)) abort();
            } else {
                touch(cllm_gguf_arr_data(g, i), n * cllm_gguf_type_size(t));
            }
        }
    }
    for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        touch(t->name, strlen(t->name) + 1);
        if (cllm_gguf_find_tensor(g, t->name) != i) abort();
        touch(t->data, (size_t)t->nbytes);
    }
}

/* Rewrite g and read it back: what the reader accepted, the writer must be
 * able to write (unless a tensor name is too long for llama.cpp) and the
 * reader must accept again with the same counts. */
static void rewrite(const cllm_gguf *g) {
    cllm_gguf_writer *w = NULL;
    if (cllm_gguf_writer_init(&w) != CLLM_OK) return;
    bool ok = cllm_gguf_writer_copy_kv(w, g, NULL, NULL) == CLLM_OK;
    for (int64_t i = 0; ok && i < cllm_gguf_n_tensors(g); i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        if (strlen(t->name) > CLLM_GGUF_MAX_TENSOR_NAME) { ok = false; break; }
        if (cllm_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data) != CLLM_OK) abort();
    }
    void *mem = NULL;
    size_t n = 0;
    if (ok && cllm_gguf_writer_write_memory(w, &mem, &n) == CLLM_OK) {
        cllm_gguf *back = NULL;
        if (cllm_gguf_open_memory(mem, n, &back) != CLLM_OK) abort();
        if (cllm_gguf_n_kv(back) != cllm_gguf_n_kv(g) || cllm_gguf_n_tensors(back) != cllm_gguf_n_tensors(g)) abort();
        for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++)
            if (memcmp(cllm_gguf_tensor(g, i)->data, cllm_gguf_tensor(back, i)->data, cllm_gguf_tensor(g, i)->nbytes))
                abort();
        cllm_gguf_free(back);
    }
    free(mem);
    cllm_gguf_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cllm_log_set_level(CLLM_LOG_ERROR);
    cllm_gguf *g = NULL;
    if (cllm_gguf_open_memory(size ? (const void *)data : (const void *)"", size, &g) == CLLM_OK) {
        walk(g);
        /* Writing copies every tensor: keep it to inputs the fuzzer can afford. */
        if (size <= (1u << 20)) rewrite(g);
        cllm_gguf_free(g);
    } else if (g != NULL || cllm_last_error()[0] == '\0') {
        abort(); /* a refusal must leave no handle and say why */
    }
    return 0;
}
