/* cmd_gguf.c: `cllm gguf`: inspect, validate and extract from GGUF files.
 *
 *   cllm gguf info FILE [--json] [--full]   header, metadata, tensor table, totals
 *   cllm gguf validate FILE                 exit 0 "valid", or 1 and the defect
 *   cllm gguf tensor FILE NAME -o OUT.f32   one tensor as raw little-endian float32
 *
 * Exit status: 0 ok, 1 failure (bad file, I/O), 2 usage error. */
#include "commands.h"
#include "cllm.h"
#include "gguf/gguf_internal.h"
#include "quant/quants.h"
#include "tensor/types.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm gguf info FILE [--json] [--full]\n"
            "       cllm gguf validate FILE\n"
            "       cllm gguf tensor FILE NAME -o OUT.f32\n"
            "\n"
            "info      version, alignment, metadata (long arrays summarised unless --full),\n"
            "          tensor table (name, type, shape, offset, bytes), totals, bits per weight\n"
            "validate  exit 0 and print 'valid' when the file passes every check; else exit 1\n"
            "tensor    write one tensor dequantized to raw little-endian float32, ggml order\n"
            "          (ne[0] fastest); '-o -' writes to stdout\n");
}

/* ------------------------------------------------------------ text output */
/* Print s (n bytes) quoted, escaping controls, quotes and backslashes;
 * at most max bytes of it (0 = all), then "..." and the length. */
static void print_quoted(FILE *f, const char *s, size_t n, size_t max) {
    size_t m = (max && n > max) ? max : n;
    fputc('"', f);
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
    if (m < n) fprintf(f, "... (%zu bytes)", n);
}

static void print_scalar(FILE *f, const cllm_gguf_kv *kv) {
    switch (kv->type) {
    case CLLM_GGUF_UINT8: case CLLM_GGUF_UINT16: case CLLM_GGUF_UINT32: case CLLM_GGUF_UINT64:
        fprintf(f, "%" PRIu64, kv->v.u);
        break;
    case CLLM_GGUF_INT8: case CLLM_GGUF_INT16: case CLLM_GGUF_INT32: case CLLM_GGUF_INT64:
        fprintf(f, "%" PRId64, kv->v.i);
        break;
    case CLLM_GGUF_FLOAT32: fprintf(f, "%.9g", kv->v.f); break;
    case CLLM_GGUF_FLOAT64: fprintf(f, "%.17g", kv->v.f); break;
    case CLLM_GGUF_BOOL: fputs(kv->v.b ? "true" : "false", f); break;
    case CLLM_GGUF_STRING: print_quoted(f, kv->str, kv->str_len, 80); break;
    default: fputs("?", f); break;
    }
}

/* Element j of a numeric array, printed. */
static void print_elem(FILE *f, cllm_gguf_type t, const void *data, uint64_t j) {
    const unsigned char *p = (const unsigned char *)data + j * cllm_gguf_type_size(t);
    switch (t) {
    case CLLM_GGUF_UINT8: fprintf(f, "%u", (unsigned)*p); break;
    case CLLM_GGUF_INT8: fprintf(f, "%d", (int)(int8_t)*p); break;
    case CLLM_GGUF_UINT16: { uint16_t v; memcpy(&v, p, 2); fprintf(f, "%u", (unsigned)v); break; }
    case CLLM_GGUF_INT16: { int16_t v; memcpy(&v, p, 2); fprintf(f, "%d", (int)v); break; }
    case CLLM_GGUF_UINT32: { uint32_t v; memcpy(&v, p, 4); fprintf(f, "%" PRIu32, v); break; }
    case CLLM_GGUF_INT32: { int32_t v; memcpy(&v, p, 4); fprintf(f, "%" PRId32, v); break; }
    case CLLM_GGUF_UINT64: { uint64_t v; memcpy(&v, p, 8); fprintf(f, "%" PRIu64, v); break; }
    case CLLM_GGUF_INT64: { int64_t v; memcpy(&v, p, 8); fprintf(f, "%" PRId64, v); break; }
    case CLLM_GGUF_FLOAT32: { float v; memcpy(&v, p, 4); fprintf(f, "%.9g", v); break; }
    case CLLM_GGUF_FLOAT64: { double v; memcpy(&v, p, 8); fprintf(f, "%.17g", v); break; }
    case CLLM_GGUF_BOOL: fputs(*p ? "true" : "false", f); break;
    default: fputs("?", f); break;
    }
}

/* [N type: e0, e1, e2, ...] with at most `max` elements shown (0 = all). */
static void print_array(FILE *f, const cllm_gguf_kv *kv, uint64_t max) {
    uint64_t n = kv->arr_n, m = (max && n > max) ? max : n;
    const char *tn = cllm_gguf_type_name(kv->arr_type);
    fprintf(f, "[%" PRIu64 " %s%s", n, kv->arr_type == CLLM_GGUF_STRING ? "string" : tn,
            n == 1 ? "" : "s");
    if (n) fputs(": ", f);
    for (uint64_t j = 0; j < m; j++) {
        if (j) fputs(", ", f);
        if (kv->arr_type == CLLM_GGUF_STRING) print_quoted(f, kv->arr_strs[j], kv->arr_lens[j], max ? 40 : 0);
        else print_elem(f, kv->arr_type, kv->arr_data, j);
    }
    if (m < n) fputs(", ...", f);
    fputc(']', f);
}

static void shape_str(char *out, size_t cap, const cllm_tensor_info *t) {
    size_t o = 0;
    o += (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < t->n_dims && o < cap; d++)
        o += (size_t)snprintf(out + o, cap - o, "%s%" PRId64, d ? ", " : "", t->ne[d]);
    if (o < cap) snprintf(out + o, cap - o, "]");
}

static uint64_t n_elements(const cllm_tensor_info *t) {
    return (uint64_t)t->ne[0] * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3];
}

static int info_text(const char *path, const cllm_gguf *g, bool full) {
    printf("file: %s\n", path);
    printf("GGUF v%" PRIu32 ", alignment %" PRIu64 ", data offset %" PRIu64 ", file size %" PRIu64 "\n",
           cllm_gguf_version(g), cllm_gguf_alignment(g), cllm_gguf_data_offset(g), cllm_gguf_file_size(g));
    int64_t nkv = cllm_gguf_n_kv(g);
    printf("\nmetadata (%" PRId64 " keys):\n", nkv);
    size_t w = 0;
    for (int64_t i = 0; i < nkv; i++) w = CLLM_MAX(w, strlen(cllm_gguf_key(g, i)));
    w = CLLM_MIN(w, 48);
    for (int64_t i = 0; i < nkv; i++) {
        const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
        printf("  %-*s %-7s ", (int)w, kv->key, cllm_gguf_type_name(kv->type));
        if (kv->type == CLLM_GGUF_ARRAY) print_array(stdout, kv, full ? 0 : 3);
        else if (kv->type == CLLM_GGUF_STRING && full) print_quoted(stdout, kv->str, kv->str_len, 0);
        else print_scalar(stdout, kv);
        putchar('\n');
    }
    int64_t nt = cllm_gguf_n_tensors(g);
    printf("\ntensors (%" PRId64 "):\n", nt);
    size_t nw = 4;
    for (int64_t i = 0; i < nt; i++) nw = CLLM_MAX(nw, strlen(cllm_gguf_tensor(g, i)->name));
    nw = CLLM_MIN(nw, 64);
    if (nt) printf("  %5s  %-*s %-7s %-24s %12s %12s\n", "#", (int)nw, "name", "type", "shape", "offset", "bytes");
    uint64_t tot_el = 0, tot_b = 0;
    for (int64_t i = 0; i < nt; i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        char sh[128];
        shape_str(sh, sizeof sh, t);
        printf("  %5" PRId64 "  %-*s %-7s %-24s %12" PRIu64 " %12" PRIu64 "\n", i, (int)nw, t->name,
               cllm_type_name(t->type), sh, t->offset, t->nbytes);
        tot_el += n_elements(t);
        tot_b += t->nbytes;
    }
    printf("\ntotals: %" PRId64 " tensors, %" PRIu64 " parameters, %" PRIu64 " bytes of tensor data", nt, tot_el,
           tot_b);
    if (tot_el) printf(", %.2f bits per weight", (double)tot_b * 8.0 / (double)tot_el);
    putchar('\n');
    /* Per type: tensor count and share of the parameters. */
    if (nt) {
        printf("types:");
        for (int ty = 0; ty < CLLM_TYPE_COUNT; ty++) {
            int64_t cnt = 0;
            uint64_t el = 0;
            for (int64_t i = 0; i < nt; i++) {
                const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
                if ((int)t->type == ty) { cnt++; el += n_elements(t); }
            }
            if (cnt) printf(" %s %" PRId64 " (%.1f%%)", cllm_type_name((cllm_type)ty), cnt, 100.0 * (double)el / (double)tot_el);
        }
        putchar('\n');
    }
    return 0;
}

/* ------------------------------------------------------------ JSON output */
/* A JSON string for n bytes that may not be valid UTF-8: invalid bytes become
 * U+FFFD so the output is always valid JSON. */
static json_t *jstr(const char *s, size_t n) {
    if (cllm_utf8_valid(s, n, NULL)) return json_stringn(s, n);
    size_t cap = n * 3 + 1, o = 0;
    char *t = malloc(cap);
    if (!t) return json_null();
    size_t i = 0;
    while (i < n) {
        size_t bad;
        if (cllm_utf8_valid(s + i, n - i, &bad)) bad = n - i;
        memcpy(t + o, s + i, bad);
        o += bad;
        i += bad;
        if (i < n) {
            memcpy(t + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(t, o);
    free(t);
    return j;
}

static json_t *jelem(cllm_gguf_type t, const void *data, uint64_t j) {
    const unsigned char *p = (const unsigned char *)data + j * cllm_gguf_type_size(t);
    switch (t) {
    case CLLM_GGUF_UINT8: return json_integer(*p);
    case CLLM_GGUF_INT8: return json_integer((int8_t)*p);
    case CLLM_GGUF_UINT16: { uint16_t v; memcpy(&v, p, 2); return json_integer(v); }
    case CLLM_GGUF_INT16: { int16_t v; memcpy(&v, p, 2); return json_integer(v); }
    case CLLM_GGUF_UINT32: { uint32_t v; memcpy(&v, p, 4); return json_integer(v); }
    case CLLM_GGUF_INT32: { int32_t v; memcpy(&v, p, 4); return json_integer(v); }
    case CLLM_GGUF_UINT64: {
        /* json_integer is signed 64-bit: larger values are written as reals. */
        uint64_t v; memcpy(&v, p, 8);
        return v > (uint64_t)INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v);
    }
    case CLLM_GGUF_INT64: { int64_t v; memcpy(&v, p, 8); return json_integer(v); }
    case CLLM_GGUF_FLOAT32: { float v; memcpy(&v, p, 4); return json_real(v); }
    case CLLM_GGUF_FLOAT64: { double v; memcpy(&v, p, 8); return json_real(v); }
    case CLLM_GGUF_BOOL: return json_boolean(*p);
    default: return json_null();
    }
}

static json_t *jscalar(const cllm_gguf_kv *kv) {
    switch (kv->type) {
    case CLLM_GGUF_UINT8: case CLLM_GGUF_UINT16: case CLLM_GGUF_UINT32: case CLLM_GGUF_UINT64:
        return kv->v.u > (uint64_t)INT64_MAX ? json_real((double)kv->v.u) : json_integer((json_int_t)kv->v.u);
    case CLLM_GGUF_INT8: case CLLM_GGUF_INT16: case CLLM_GGUF_INT32: case CLLM_GGUF_INT64:
        return json_integer(kv->v.i);
    case CLLM_GGUF_FLOAT32: case CLLM_GGUF_FLOAT64: return json_real(kv->v.f);
    case CLLM_GGUF_BOOL: return json_boolean(kv->v.b);
    case CLLM_GGUF_STRING: return jstr(kv->str, kv->str_len);
    default: return json_null();
    }
}

/* Arrays longer than this are cut to their first JSON_HEAD elements unless --full. */
#define JSON_MAX_ARRAY 64
#define JSON_HEAD 8

static int info_json(const char *path, const cllm_gguf *g, bool full) {
    json_t *root = json_object();
    json_object_set_new(root, "file", jstr(path, strlen(path)));
    json_object_set_new(root, "version", json_integer(cllm_gguf_version(g)));
    json_object_set_new(root, "alignment", json_integer((json_int_t)cllm_gguf_alignment(g)));
    json_object_set_new(root, "data_offset", json_integer((json_int_t)cllm_gguf_data_offset(g)));
    json_object_set_new(root, "file_size", json_integer((json_int_t)cllm_gguf_file_size(g)));
    json_t *meta = json_array();
    for (int64_t i = 0; i < cllm_gguf_n_kv(g); i++) {
        const cllm_gguf_kv *kv = cllm_gguf_kv_at(g, i);
        json_t *o = json_object();
        json_object_set_new(o, "key", jstr(kv->key, kv->key_len));
        json_object_set_new(o, "type", json_string(cllm_gguf_type_name(kv->type)));
        if (kv->type == CLLM_GGUF_ARRAY) {
            json_object_set_new(o, "element_type", json_string(cllm_gguf_type_name(kv->arr_type)));
            json_object_set_new(o, "count", json_integer((json_int_t)kv->arr_n));
            uint64_t m = (!full && kv->arr_n > JSON_MAX_ARRAY) ? JSON_HEAD : kv->arr_n;
            json_t *a = json_array();
            for (uint64_t j = 0; j < m; j++)
                json_array_append_new(a, kv->arr_type == CLLM_GGUF_STRING ? jstr(kv->arr_strs[j], kv->arr_lens[j])
                                                                          : jelem(kv->arr_type, kv->arr_data, j));
            json_object_set_new(o, "value", a);
            if (m < kv->arr_n) json_object_set_new(o, "truncated", json_true());
        } else {
            json_object_set_new(o, "value", jscalar(kv));
        }
        json_array_append_new(meta, o);
    }
    json_object_set_new(root, "metadata", meta);
    json_t *tens = json_array();
    uint64_t tot_el = 0, tot_b = 0;
    for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(t->name, strlen(t->name)));
        json_object_set_new(o, "type", json_string(cllm_type_name(t->type)));
        json_t *sh = json_array();
        for (int d = 0; d < t->n_dims; d++) json_array_append_new(sh, json_integer(t->ne[d]));
        json_object_set_new(o, "shape", sh);
        json_object_set_new(o, "offset", json_integer((json_int_t)t->offset));
        json_object_set_new(o, "file_offset", json_integer((json_int_t)t->file_offset));
        json_object_set_new(o, "bytes", json_integer((json_int_t)t->nbytes));
        json_array_append_new(tens, o);
        tot_el += n_elements(t);
        tot_b += t->nbytes;
    }
    json_object_set_new(root, "tensors", tens);
    json_t *tot = json_object();
    json_object_set_new(tot, "tensors", json_integer(cllm_gguf_n_tensors(g)));
    json_object_set_new(tot, "parameters", json_integer((json_int_t)tot_el));
    json_object_set_new(tot, "bytes", json_integer((json_int_t)tot_b));
    json_object_set_new(tot, "bits_per_weight", tot_el ? json_real((double)tot_b * 8.0 / (double)tot_el) : json_null());
    json_object_set_new(root, "totals", tot);
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : 1;
    putchar('\n');
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------ subcommands */
static int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    bool json = false, full = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--full")) full = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        else if (argv[i][0] == '-' && argv[i][1]) { fprintf(stderr, "cllm gguf info: unknown option '%s'\n", argv[i]); return 2; }
        else if (!path) path = argv[i];
        else { fprintf(stderr, "cllm gguf info: unexpected argument '%s'\n", argv[i]); return 2; }
    }
    if (!path) { usage(stderr); return 2; }
    cllm_gguf *g = NULL;
    if (cllm_gguf_open(path, &g) != CLLM_OK) {
        fprintf(stderr, "cllm gguf info: %s\n", cllm_last_error());
        return 1;
    }
    int rc = json ? info_json(path, g, full) : info_text(path, g, full);
    cllm_gguf_free(g);
    if (fflush(stdout) != 0) rc = 1;
    return rc;
}

static int cmd_validate(int argc, char **argv) {
    if (argc != 1 || argv[0][0] == '-') { usage(argc == 1 ? stdout : stderr); return argc == 1 ? 0 : 2; }
    cllm_gguf *g = NULL;
    if (cllm_gguf_open(argv[0], &g) != CLLM_OK) {
        printf("%s: invalid\n", argv[0]);
        fprintf(stderr, "%s\n", cllm_last_error());
        return 1;
    }
    printf("%s: valid (GGUF v%" PRIu32 ", %" PRId64 " keys, %" PRId64 " tensors)\n", argv[0], cllm_gguf_version(g),
           cllm_gguf_n_kv(g), cllm_gguf_n_tensors(g));
    /* Not a defect for cllm, but llama.cpp requires each tensor to start at the
     * running padded size of the ones before it. */
    uint64_t off = 0, a = cllm_gguf_alignment(g);
    for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        if (t->offset != off) {
            printf("note: tensor '%s' has offset %" PRIu64 ", llama.cpp expects %" PRIu64
                   " (tensors not packed in file order; llama.cpp would refuse this file)\n",
                   t->name, t->offset, off);
            break;
        }
        off += (t->nbytes + a - 1) / a * a;
    }
    cllm_gguf_free(g);
    return 0;
}

static int cmd_tensor(int argc, char **argv) {
    const char *path = NULL, *name = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) { fprintf(stderr, "cllm gguf tensor: -o needs a file\n"); return 2; }
            out = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        else if (!path) path = argv[i];
        else if (!name) name = argv[i];
        else { fprintf(stderr, "cllm gguf tensor: unexpected argument '%s'\n", argv[i]); return 2; }
    }
    if (!path || !name || !out) { usage(stderr); return 2; }
    cllm_gguf *g = NULL;
    if (cllm_gguf_open(path, &g) != CLLM_OK) {
        fprintf(stderr, "cllm gguf tensor: %s\n", cllm_last_error());
        return 1;
    }
    int64_t ti = cllm_gguf_find_tensor(g, name);
    if (ti < 0) {
        fprintf(stderr, "cllm gguf tensor: %s: no tensor named '%s'\n", path, name);
        cllm_gguf_free(g);
        return 1;
    }
    const cllm_tensor_info *t = cllm_gguf_tensor(g, ti);
    uint64_t row_bytes = cllm_type_row_size(t->type, t->ne[0]);
    uint64_t nrows = (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3];
    float *row = malloc((size_t)t->ne[0] * sizeof *row);
    bool to_stdout = !strcmp(out, "-");
    FILE *f = to_stdout ? stdout : fopen(out, "wb");
    int rc = 0;
    if (!row || !f) {
        fprintf(stderr, "cllm gguf tensor: %s\n", !row ? "out of memory" : "cannot open output file");
        rc = 1;
    }
    for (uint64_t r = 0; rc == 0 && r < nrows; r++) {
        const uint8_t *src = (const uint8_t *)t->data + r * row_bytes;
        if (!cllm_quant_dequantize_row(t->type, src, row, t->ne[0])) {
            fprintf(stderr, "cllm gguf tensor: cannot convert type %s to float\n", cllm_type_name(t->type));
            rc = 1;
        } else if (fwrite(row, sizeof *row, (size_t)t->ne[0], f) != (size_t)t->ne[0]) {
            fprintf(stderr, "cllm gguf tensor: write to %s failed\n", out);
            rc = 1;
        }
    }
    if (f && !to_stdout && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "cllm gguf tensor: write to %s failed\n", out);
        rc = 1;
    }
    if (to_stdout && fflush(stdout) != 0) rc = 1;
    if (rc == 0 && !to_stdout)
        fprintf(stderr, "%s: %s %s, %" PRIu64 " floats -> %s\n", name, cllm_type_name(t->type),
                t->n_dims == 1 ? "vector" : "tensor", nrows * (uint64_t)t->ne[0], out);
    free(row);
    cllm_gguf_free(g);
    return rc;
}

int cllm_cmd_gguf(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) { usage(stdout); return 0; }
    if (!strcmp(sub, "info")) return cmd_info(argc - 2, argv + 2);
    if (!strcmp(sub, "validate")) return cmd_validate(argc - 2, argv + 2);
    if (!strcmp(sub, "tensor")) return cmd_tensor(argc - 2, argv + 2);
    fprintf(stderr, "cllm gguf: unknown sub-command '%s'\n", sub);
    usage(stderr);
    return 2;
}
