/* safetensors.c: mmap-based reader of *.safetensors files and sharded sets
 * (see safetensors.h). Every header field is validated: dtype, shape,
 * offsets inside the data section and consistent with dtype x shape. */
#include "convert/safetensors.h"

#include "core/core.h"
#include "core/fp16.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *path;
    void *map;
    size_t size;
} st_file;

struct cllm_st_set {
    st_file *files;
    int n_files;
    cllm_st_tensor *tensors;
    int64_t n_tensors, cap;
};

#define ST_MAX_HEADER (100u << 20) /* 100 MiB: far above any real header */

const char *cllm_st_dtype_name(cllm_st_dtype t) {
    switch (t) {
    case CLLM_ST_F32: return "F32";
    case CLLM_ST_F16: return "F16";
    case CLLM_ST_BF16: return "BF16";
    case CLLM_ST_F64: return "F64";
    }
    return "?";
}

static int dtype_size(cllm_st_dtype t) { return t == CLLM_ST_F64 ? 8 : t == CLLM_ST_F32 ? 4 : 2; }

void cllm_st_free(cllm_st_set *s) {
    if (!s) return;
    for (int i = 0; i < s->n_files; i++) {
        if (s->files[i].map) munmap(s->files[i].map, s->files[i].size);
        free(s->files[i].path);
    }
    for (int64_t i = 0; i < s->n_tensors; i++) free(s->tensors[i].name);
    free(s->files);
    free(s->tensors);
    free(s);
}

static int cmp_tensor_name(const void *a, const void *b) {
    const cllm_st_tensor *x = a, *y = b;
    if (x->file != y->file) return x->file < y->file ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Map path and append its tensors to s. */
static cllm_status add_file(cllm_st_set *s, const char *path) {
    st_file *nf = realloc(s->files, (size_t)(s->n_files + 1) * sizeof *nf);
    if (!nf) return cllm_set_last_error(CLLM_ERR_NOMEM, "safetensors: out of memory");
    s->files = nf;
    st_file *f = &s->files[s->n_files];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) return cllm_set_last_error(CLLM_ERR_NOMEM, "safetensors: out of memory");
    const int file_index = s->n_files++;

    int fd = open(path, O_RDONLY);
    if (fd < 0) return cllm_set_last_error(CLLM_ERR_IO, "safetensors: cannot open %s", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 8) {
        close(fd);
        return cllm_set_last_error(CLLM_ERR_FORMAT, "safetensors: %s: file too short for a header", path);
    }
    f->size = (size_t)sb.st_size;
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        return cllm_set_last_error(CLLM_ERR_IO, "safetensors: cannot map %s", path);
    }
    const uint8_t *b = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > f->size - 8)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "safetensors: %s: header length %llu does not fit the file (%zu bytes)",
                                   path, (unsigned long long)hlen, f->size);
    const uint8_t *data = b + 8 + hlen;
    const uint64_t data_size = f->size - 8 - hlen;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)b + 8, (size_t)hlen, 0, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return cllm_set_last_error(CLLM_ERR_FORMAT, "safetensors: %s: header is not a JSON object (%s at %d)", path,
                                   jerr.text, jerr.position);
    }
    cllm_status st = CLLM_OK;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) continue;
        json_t *jd = json_object_get(val, "dtype"), *js = json_object_get(val, "shape"),
               *jo = json_object_get(val, "data_offsets");
        if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) || json_array_size(jo) != 2) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "safetensors: %s: tensor '%s' lacks dtype/shape/data_offsets",
                                     path, key);
            break;
        }
        cllm_st_tensor t = {0};
        const char *ds = json_string_value(jd);
        if (!strcmp(ds, "F32")) t.dtype = CLLM_ST_F32;
        else if (!strcmp(ds, "F16")) t.dtype = CLLM_ST_F16;
        else if (!strcmp(ds, "BF16")) t.dtype = CLLM_ST_BF16;
        else if (!strcmp(ds, "F64")) t.dtype = CLLM_ST_F64;
        else {
            st = cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "safetensors: %s: tensor '%s' has dtype %s (supported: F32, F16, BF16, F64)",
                                     path, key, ds);
            break;
        }
        if (json_array_size(js) > 4) {
            st = cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "safetensors: %s: tensor '%s' has %zu dimensions (max 4)",
                                     path, key, json_array_size(js));
            break;
        }
        t.n_dims = (int)json_array_size(js);
        t.n_elements = 1;
        bool ok = true;
        for (int d = 0; d < 4; d++) t.shape[d] = 1;
        for (int d = 0; d < t.n_dims; d++) {
            json_t *e = json_array_get(js, (size_t)d);
            json_int_t v = json_is_integer(e) ? json_integer_value(e) : -1;
            if (v < 0 || v > ((int64_t)1 << 40)) ok = false;
            else t.shape[d] = v;
            uint64_t m;
            if (ok && !cllm_mul_u64((uint64_t)t.n_elements, (uint64_t)v, &m)) ok = false;
            if (ok) t.n_elements = (int64_t)m;
        }
        json_t *o0 = json_array_get(jo, 0), *o1 = json_array_get(jo, 1);
        const json_int_t b0 = json_is_integer(o0) ? json_integer_value(o0) : -1;
        const json_int_t b1 = json_is_integer(o1) ? json_integer_value(o1) : -1;
        if (!ok || b0 < 0 || b1 < b0 || (uint64_t)b1 > data_size ||
            (uint64_t)(b1 - b0) != (uint64_t)t.n_elements * (uint64_t)dtype_size(t.dtype)) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT,
                                     "safetensors: %s: tensor '%s': shape/data_offsets [%lld, %lld] inconsistent "
                                     "with dtype %s or outside the %llu-byte data section",
                                     path, key, (long long)b0, (long long)b1, ds, (unsigned long long)data_size);
            break;
        }
        t.data = data + b0;
        t.nbytes = (uint64_t)(b1 - b0);
        t.file = file_index;
        t.name = strdup(key);
        if (!t.name || (s->n_tensors == s->cap &&
                        !(s->cap = s->cap ? s->cap * 2 : 64,
                          s->tensors = realloc(s->tensors, (size_t)s->cap * sizeof *s->tensors)))) {
            free(t.name);
            st = cllm_set_last_error(CLLM_ERR_NOMEM, "safetensors: out of memory");
            break;
        }
        s->tensors[s->n_tensors++] = t;
    }
    json_decref(root);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Shard file names of the folder, sorted: from the index's weight_map when
 * present, else every *.safetensors. Caller frees names and array. */
static cllm_status list_shards(const char *dir, char ***names_out, int *n_out) {
    char path[4096];
    char **names = NULL;
    int n = 0, cap = 0;
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    json_error_t jerr;
    json_t *idx = NULL;
    if (access(path, F_OK) == 0) {
        idx = json_load_file(path, 0, &jerr);
        json_t *wm = idx ? json_object_get(idx, "weight_map") : NULL;
        if (!json_is_object(wm)) {
            json_decref(idx);
            return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: %s: no \"weight_map\" object", path);
        }
        const char *k;
        json_t *v;
        json_object_foreach(wm, k, v) {
            const char *fname = json_string_value(v);
            if (!fname || strchr(fname, '/')) {
                json_decref(idx);
                for (int i = 0; i < n; i++) free(names[i]);
                free(names);
                return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: %s: bad shard name for '%s'", path, k);
            }
            bool seen = false;
            for (int i = 0; i < n && !seen; i++) seen = strcmp(names[i], fname) == 0;
            if (seen) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                char **nn = realloc(names, (size_t)cap * sizeof *nn);
                if (!nn) break;
                names = nn;
            }
            names[n++] = strdup(fname);
        }
        json_decref(idx);
    } else {
        DIR *d = opendir(dir);
        if (!d) return cllm_set_last_error(CLLM_ERR_IO, "convert: cannot open folder %s", dir);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!has_suffix(e->d_name, ".safetensors")) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                char **nn = realloc(names, (size_t)cap * sizeof *nn);
                if (!nn) break;
                names = nn;
            }
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
    }
    for (int i = 0; i < n; i++)
        if (!names[i]) {
            for (int j = 0; j < n; j++) free(names[j]);
            free(names);
            return cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
        }
    if (n == 0) {
        free(names);
        return cllm_set_last_error(CLLM_ERR_NOT_FOUND,
                                   "convert: %s has no *.safetensors weights (PyTorch .bin checkpoints are not supported)",
                                   dir);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *names_out = names;
    *n_out = n;
    return CLLM_OK;
}

static cllm_status finish(cllm_st_set *s, cllm_st_set **out) {
    qsort(s->tensors, (size_t)s->n_tensors, sizeof *s->tensors, cmp_tensor_name);
    for (int64_t i = 1; i < s->n_tensors; i++)
        if (strcmp(s->tensors[i].name, s->tensors[i - 1].name) == 0) {
            cllm_status st = cllm_set_last_error(CLLM_ERR_FORMAT, "safetensors: tensor '%s' appears in two shards",
                                                 s->tensors[i].name);
            cllm_st_free(s);
            return st;
        }
    *out = s;
    return CLLM_OK;
}

cllm_status cllm_st_open_file(const char *path, cllm_st_set **out) {
    if (!out || !path) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "safetensors: NULL argument");
    *out = NULL;
    cllm_st_set *s = calloc(1, sizeof *s);
    if (!s) return cllm_set_last_error(CLLM_ERR_NOMEM, "safetensors: out of memory");
    cllm_status st = add_file(s, path);
    if (st != CLLM_OK) {
        cllm_st_free(s);
        return st;
    }
    return finish(s, out);
}

cllm_status cllm_st_open_dir(const char *dir, cllm_st_set **out) {
    if (!out || !dir) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "safetensors: NULL argument");
    *out = NULL;
    char **names = NULL;
    int n = 0;
    cllm_status st = list_shards(dir, &names, &n);
    if (st != CLLM_OK) return st;
    cllm_st_set *s = calloc(1, sizeof *s);
    if (!s) st = cllm_set_last_error(CLLM_ERR_NOMEM, "safetensors: out of memory");
    for (int i = 0; i < n && st == CLLM_OK; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        st = add_file(s, path);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st != CLLM_OK) {
        cllm_st_free(s);
        return st;
    }
    return finish(s, out);
}

int64_t cllm_st_n_tensors(const cllm_st_set *s) { return s ? s->n_tensors : 0; }

const cllm_st_tensor *cllm_st_tensor_at(const cllm_st_set *s, int64_t i) {
    return s && i >= 0 && i < s->n_tensors ? &s->tensors[i] : NULL;
}

const cllm_st_tensor *cllm_st_find(const cllm_st_set *s, const char *name) {
    for (int64_t i = 0; s && i < s->n_tensors; i++)
        if (strcmp(s->tensors[i].name, name) == 0) return &s->tensors[i];
    return NULL;
}

void cllm_st_to_f32(const cllm_st_tensor *t, int64_t first, int64_t n, float *dst) {
    const uint8_t *p = (const uint8_t *)t->data + (size_t)first * (size_t)dtype_size(t->dtype);
    for (int64_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case CLLM_ST_F32: memcpy(&dst[i], p + 4 * i, 4); break;
        case CLLM_ST_F16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = cllm_fp16_to_fp32(h);
            break;
        }
        case CLLM_ST_BF16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = cllm_bf16_to_fp32(h);
            break;
        }
        case CLLM_ST_F64: {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
            break;
        }
        }
    }
}
