/* test_gguf_shared.c: the GGUF reader on the real files in ../shared: every
 * model and vocab file is accepted with consistent tensor placement, the two
 * files in models/bad are refused with messages naming their defects,
 * tensor offsets/sizes/shapes agree with golden/dequant/index.json, and known
 * metadata values read back. */
#include "core/core.h"
#include "gguf/gguf_internal.h"
#include "tensor/types.h"
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* Structural invariants every accepted file must satisfy. */
static void check_consistent(const char *path, const cllm_gguf *g) {
    uint64_t a = cllm_gguf_alignment(g), size = cllm_gguf_file_size(g), d0 = cllm_gguf_data_offset(g);
    CHECK(a && (a & (a - 1)) == 0, "%s: alignment %llu", path, (unsigned long long)a);
    CHECK(d0 % a == 0, "%s: data offset", path);
    uint64_t sum = 0;
    int bad = 0;
    for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        const cllm_type_traits *tr = cllm_type_get_traits(t->type);
        uint64_t nel = (uint64_t)t->ne[0] * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3];
        if (!tr || t->n_dims < 1 || t->n_dims > 4) bad++;
        else if (t->nbytes != nel / (uint64_t)tr->blck_size * (uint64_t)tr->type_size) bad++;
        else if (t->file_offset != d0 + t->offset || t->file_offset % a || t->file_offset + t->nbytes > size) bad++;
        else if (cllm_gguf_find_tensor(g, t->name) != i) bad++;
        sum += t->nbytes;
    }
    CHECK(bad == 0, "%s: %d inconsistent tensors", path, bad);
    CHECK(cllm_gguf_n_tensors(g) == 0 || d0 + sum <= size, "%s: tensor bytes exceed file", path);
    for (int64_t i = 0; i < cllm_gguf_n_kv(g); i++)
        if (cllm_gguf_find_key(g, cllm_gguf_key(g, i)) != i) bad++;
    CHECK(bad == 0, "%s: key lookup", path);
    const char *arch = NULL;
    CHECK(cllm_gguf_get_str(g, "general.architecture", &arch, NULL) == CLLM_OK && arch[0], "%s: architecture", path);
}

static int scan_dir(const char *rel) {
    const char *dir = test_shared_path(rel);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot list %s", dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".gguf")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        cllm_gguf *g = NULL;
        uint64_t t0 = cllm_time_ns();
        cllm_status st = cllm_gguf_open(path, &g);
        double ms = (double)(cllm_time_ns() - t0) / 1e6;
        CHECK(st == CLLM_OK, "%s refused: %s", path, cllm_last_error());
        /* Header parsing only: even the 262k-token vocabularies take a few ms. */
        CHECK(ms < 2000, "%s: open took %.1f ms", path, ms);
        if (g) check_consistent(path, g);
        cllm_gguf_free(g);
        n++;
    }
    closedir(d);
    return n;
}

static void check_bad(void) {
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open(test_shared_path("models/bad/tinyllamas-stories-260k-f32.gguf"), &g);
    CHECK(st == CLLM_ERR_UNSUPPORTED && g == NULL, "v1 file: %s", cllm_status_str(st));
    CHECK(strstr(cllm_last_error(), "v1") && strstr(cllm_last_error(), "offset 4") &&
              strstr(cllm_last_error(), "tinyllamas-stories-260k-f32.gguf"),
          "v1 message: %s", cllm_last_error());
    st = cllm_gguf_open(test_shared_path("models/bad/tinyllamas-stories-260k-q8_0.gguf"), &g);
    CHECK(st == CLLM_ERR_FORMAT && g == NULL, "q8_0 172 file: %s", cllm_status_str(st));
    CHECK(strstr(cllm_last_error(), "'blk.0.ffn_down.weight'") && strstr(cllm_last_error(), "ne[0]=172") &&
              strstr(cllm_last_error(), "q8_0 block size 32"),
          "block message: %s", cllm_last_error());
}

static void check_golden_index(void) {
    json_error_t err;
    json_t *idx = json_load_file(test_shared_path("golden/dequant/index.json"), 0, &err);
    CHECK(idx && json_is_array(idx), "index.json: %s", err.text);
    if (!idx) return;
    size_t i;
    json_t *e;
    int n = 0;
    json_array_foreach(idx, i, e) {
        const char *model = json_string_value(json_object_get(e, "model"));
        const char *tname = json_string_value(json_object_get(e, "tensor"));
        const char *type = json_string_value(json_object_get(e, "type"));
        json_t *shape = json_object_get(e, "shape");
        if (!model || !tname || !type || !json_is_array(shape)) { CHECK(0, "index entry %zu malformed", i); continue; }
        cllm_gguf *g = NULL;
        if (cllm_gguf_open(test_shared_path(model), &g) != CLLM_OK) { CHECK(0, "%s: %s", model, cllm_last_error()); continue; }
        int64_t ti = cllm_gguf_find_tensor(g, tname);
        const cllm_tensor_info *t = cllm_gguf_tensor(g, ti);
        CHECK(t != NULL, "%s: no tensor %s", model, tname);
        if (t) {
            CHECK(t->file_offset == (uint64_t)json_integer_value(json_object_get(e, "data_offset")),
                  "%s %s: file offset %llu", model, tname, (unsigned long long)t->file_offset);
            CHECK(t->nbytes == (uint64_t)json_integer_value(json_object_get(e, "n_bytes")), "%s %s: bytes", model, tname);
            CHECK(cllm_type_from_name(type) == (int)t->type, "%s %s: type %s vs %s", model, tname, type,
                  cllm_type_name(t->type));
            CHECK((size_t)t->n_dims == json_array_size(shape), "%s %s: n_dims", model, tname);
            for (size_t d = 0; d < json_array_size(shape) && d < 4; d++)
                CHECK(t->ne[d] == json_integer_value(json_array_get(shape, d)), "%s %s: ne[%zu]", model, tname, d);
            n++;
        }
        cllm_gguf_free(g);
    }
    CHECK(n >= 15, "only %d golden entries checked", n);
    json_decref(idx);
}

static void check_known_values(void) {
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open(test_shared_path("models/real/stories260K.gguf"), &g);
    CHECK(st == CLLM_OK, "stories260K: %s", cllm_last_error());
    if (!g) return;
    uint64_t u = 0;
    double f = 0;
    CHECK(cllm_gguf_version(g) == 3 && cllm_gguf_n_kv(g) == 19 && cllm_gguf_n_tensors(g) == 48, "counts");
    CHECK(cllm_gguf_data_offset(g) == 14176, "data offset %llu", (unsigned long long)cllm_gguf_data_offset(g));
    CHECK(cllm_gguf_get_u64(g, "llama.embedding_length", &u) == CLLM_OK && u == 64, "n_embd");
    CHECK(cllm_gguf_get_u64(g, "llama.feed_forward_length", &u) == CLLM_OK && u == 172, "n_ff");
    CHECK(cllm_gguf_get_u64(g, "llama.block_count", &u) == CLLM_OK && u == 5, "n_layer");
    CHECK(cllm_gguf_get_u64(g, "tokenizer.ggml.seperator_token_id", &u) == CLLM_OK && u == 4294967295u, "sep id");
    CHECK(cllm_gguf_get_f64(g, "llama.attention.layer_norm_rms_epsilon", &f) == CLLM_OK && f == (double)1e-5f, "eps");
    int64_t k = cllm_gguf_find_key(g, "tokenizer.ggml.tokens");
    CHECK(k == 0 && cllm_gguf_arr_n(g, k) == 512 && cllm_gguf_arr_type(g, k) == CLLM_GGUF_STRING, "tokens");
    size_t len;
    const char *s = cllm_gguf_arr_str(g, k, 0, &len);
    CHECK(s && !strcmp(s, "<unk>") && len == 5, "token 0");
    s = cllm_gguf_arr_str(g, k, 3, &len);
    CHECK(s && !strcmp(s, "<0x00>"), "token 3");
    k = cllm_gguf_find_key(g, "tokenizer.ggml.token_type");
    const int32_t *tt = cllm_gguf_arr_data(g, k);
    CHECK(tt && cllm_gguf_arr_type(g, k) == CLLM_GGUF_INT32 && tt[0] == 2 && tt[1] == 3 && tt[3] == 6, "token types");
    const cllm_tensor_info *t = cllm_gguf_tensor(g, cllm_gguf_find_tensor(g, "blk.0.ffn_down.weight"));
    CHECK(t && t->type == CLLM_TYPE_F32 && t->ne[0] == 172 && t->ne[1] == 64 && t->n_dims == 2 && t->nbytes == 44032,
          "ffn_down");
    cllm_gguf_free(g);

    st = cllm_gguf_open(test_shared_path("vocab/ggml-vocab-gemma3.gguf"), &g);
    CHECK(st == CLLM_OK, "gemma3 vocab: %s", cllm_last_error());
    if (!g) return;
    k = cllm_gguf_find_key(g, "tokenizer.ggml.tokens");
    CHECK(cllm_gguf_arr_n(g, k) == 262208, "gemma3 tokens %llu", (unsigned long long)cllm_gguf_arr_n(g, k));
    s = cllm_gguf_arr_str(g, k, 2, NULL);
    CHECK(s && !strcmp(s, "<bos>"), "gemma3 token 2");
    bool b = false;
    CHECK(cllm_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == CLLM_OK && b, "add_bos");
    CHECK(cllm_gguf_get_str(g, "tokenizer.chat_template", &s, &len) == CLLM_OK && len == 1532, "template");
    cllm_gguf_free(g);
}

int main(void) {
    test_require_shared("GGUF files");
    int n = scan_dir("models/real") + scan_dir("models/synthetic") + scan_dir("vocab");
    CHECK(n >= 3 + 23 + 16, "only %d GGUF files found", n);
    printf("%d shared GGUF files accepted\n", n);
    check_bad();
    check_golden_index();
    check_known_values();
    return test_finish();
}
