/* test_quant_dequant.c: dequantize the raw tensor bytes of every entry in
 * ../shared/golden/dequant/index.json (read straight from the model file at
 * data_offset/n_bytes) and compare bit for bit with llama.cpp's result. Also
 * checks the plain integer/float conversions on hand-made data. */
#include "quant/quants.h"
#include "tensor/types.h"
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Read n bytes at offset off of path (caller frees); NULL on failure. */
static void *read_range(const char *path, long off, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *buf = malloc(n ? n : 1);
    if (buf && (fseek(f, off, SEEK_SET) != 0 || fread(buf, 1, n, f) != n)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void check_plain_types(void) {
    const int8_t i8[4] = {-128, -1, 0, 127};
    const int16_t i16[4] = {-32768, -7, 0, 32767};
    const int32_t i32[4] = {-5, 1 << 24, 3, 16777217};
    const int64_t i64[4] = {-9, 0, 1LL << 40, 42};
    const double f64[4] = {0.1, -2.5, 1e30, 0.0};
    float out[4];
    CHECK(cllm_quant_dequantize_row(CLLM_TYPE_I8, i8, out, 4) && out[0] == -128.f && out[3] == 127.f, "i8");
    CHECK(cllm_quant_dequantize_row(CLLM_TYPE_I16, i16, out, 4) && out[0] == -32768.f && out[1] == -7.f, "i16");
    CHECK(cllm_quant_dequantize_row(CLLM_TYPE_I32, i32, out, 4) && out[1] == 16777216.f && out[3] == 16777216.f, "i32");
    CHECK(cllm_quant_dequantize_row(CLLM_TYPE_I64, i64, out, 4) && out[2] == 1099511627776.f, "i64");
    CHECK(cllm_quant_dequantize_row(CLLM_TYPE_F64, f64, out, 4) && out[0] == 0.1f && out[2] == 1e30f, "f64");
    const float f32[4] = {1.5f, -0.f, 3.f, 4.f};
    CHECK(cllm_quant_dequantize_row(CLLM_TYPE_F32, f32, out, 4) && memcmp(out, f32, 16) == 0, "f32 copy");
    CHECK(!cllm_quant_dequantize_row(CLLM_TYPE_Q4_0, f32, out, 4), "q4_0 row of 4 refused");
    CHECK(!cllm_quant_dequantize_row((cllm_type)17, f32, out, 4), "unknown type refused");
}

int main(void) {
    check_plain_types();
    test_require_shared("dequant goldens");

    json_error_t jerr;
    json_t *idx = json_load_file(test_shared_path("golden/dequant/index.json"), 0, &jerr);
    CHECK(idx && json_is_array(idx), "index.json: %s", idx ? "not an array" : jerr.text);
    if (!idx) return test_finish();

    size_t i;
    json_t *e;
    int n_ok = 0;
    json_array_foreach(idx, i, e) {
        const char *model = json_string_value(json_object_get(e, "model"));
        const char *tname = json_string_value(json_object_get(e, "type"));
        const char *golden = json_string_value(json_object_get(e, "f32"));
        const char *tensor = json_string_value(json_object_get(e, "tensor"));
        json_t *shape = json_object_get(e, "shape");
        long off = (long)json_integer_value(json_object_get(e, "data_offset"));
        size_t nbytes = (size_t)json_integer_value(json_object_get(e, "n_bytes"));
        if (!model || !tname || !golden || !json_is_array(shape)) {
            CHECK(0, "entry %zu malformed", i);
            continue;
        }
        int t = cllm_type_from_name(tname);
        CHECK(t >= 0, "unknown type %s", tname);
        if (t < 0) continue;
        int64_t ne0 = json_integer_value(json_array_get(shape, 0));
        int64_t ne1 = json_integer_value(json_array_get(shape, 1));
        int64_t n = ne0 * ne1;
        CHECK(cllm_type_row_size((cllm_type)t, ne0) * (uint64_t)ne1 == nbytes,
              "%s: n_bytes %zu does not match the shape", model, nbytes);

        char mpath[1024];
        snprintf(mpath, sizeof mpath, "%s", test_shared_path(model));
        void *raw = read_range(mpath, off, nbytes);
        size_t glen = 0;
        float *ref = test_read_file(test_shared_path(golden), &glen);
        float *out = malloc((size_t)n * sizeof(float));
        CHECK(raw && ref && out, "%s: cannot read data", model);
        if (raw && ref && out) {
            CHECK(glen == (size_t)n * sizeof(float), "%s golden size %zu", golden, glen);
            /* Row by row, as the runtime will call it. */
            const uint64_t rs = cllm_type_row_size((cllm_type)t, ne0);
            bool ok = true;
            for (int64_t r = 0; r < ne1 && ok; r++)
                ok = cllm_quant_dequantize_row((cllm_type)t, (const uint8_t *)raw + r * rs, out + r * ne0, ne0);
            CHECK(ok, "%s: dequantize refused", tname);
            int64_t ndiff = 0, first = -1;
            for (int64_t k = 0; k < n; k++)
                if (memcmp(&out[k], &ref[k], 4) != 0) {
                    if (first < 0) first = k;
                    ndiff++;
                }
            bool same = ok && glen == (size_t)n * sizeof(float) && ndiff == 0;
            printf("%-7s %-32s %-22s %8lld values: %s", tname, model + 17, tensor, (long long)n,
                   same ? "bit-exact\n" : "DIFFERENT");
            if (!same && first >= 0)
                printf(" (%lld differ; first at %lld: %.9g vs %.9g)\n", (long long)ndiff,
                       (long long)first, out[first], ref[first]);
            else if (!same)
                printf("\n");
            CHECK(same, "%s %s not bit-exact", model, tensor);
            if (same) n_ok++;
        }
        free(raw);
        free(ref);
        free(out);
    }
    printf("%d of %zu golden tensors bit-exact\n", n_ok, json_array_size(idx));
    CHECK(json_array_size(idx) == 17, "expected 17 entries, got %zu", json_array_size(idx));
    json_decref(idx);
    return test_finish();
}
