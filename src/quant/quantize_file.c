/* quantize_file.c: whole-file quantization (the engine behind `cllm
 * quantize`): choose which tensors to convert, convert them row-parallel with
 * pthreads, and write a new GGUF through the GGUF writer. See
 * quantize_file.h for the rules. */
#include "quant/quantize_file.h"

#include "core/core.h"
#include "gguf/gguf_writer.h"
#include "quant/quants.h"
#include "tensor/types.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGML_QNT_VERSION 2   /* general.quantization_version llama.cpp writes */

/* ---------------------------------------------------------------- targets */

typedef struct { const char *name; cllm_type type; int ftype; } target_name;

static const target_name k_targets[] = {
    {"f32", CLLM_TYPE_F32, CLLM_FTYPE_ALL_F32},         {"f16", CLLM_TYPE_F16, CLLM_FTYPE_MOSTLY_F16},
    {"bf16", CLLM_TYPE_BF16, CLLM_FTYPE_MOSTLY_BF16},   {"q4_0", CLLM_TYPE_Q4_0, CLLM_FTYPE_MOSTLY_Q4_0},
    {"q4_1", CLLM_TYPE_Q4_1, CLLM_FTYPE_MOSTLY_Q4_1},   {"q5_0", CLLM_TYPE_Q5_0, CLLM_FTYPE_MOSTLY_Q5_0},
    {"q5_1", CLLM_TYPE_Q5_1, CLLM_FTYPE_MOSTLY_Q5_1},   {"q8_0", CLLM_TYPE_Q8_0, CLLM_FTYPE_MOSTLY_Q8_0},
    {"q2_k", CLLM_TYPE_Q2_K, CLLM_FTYPE_MOSTLY_Q2_K},   {"q3_k", CLLM_TYPE_Q3_K, CLLM_FTYPE_MOSTLY_Q3_K_S},
    {"q3_k_s", CLLM_TYPE_Q3_K, CLLM_FTYPE_MOSTLY_Q3_K_S}, {"q3_k_m", CLLM_TYPE_Q3_K, CLLM_FTYPE_MOSTLY_Q3_K_M},
    {"q3_k_l", CLLM_TYPE_Q3_K, CLLM_FTYPE_MOSTLY_Q3_K_L}, {"q4_k", CLLM_TYPE_Q4_K, CLLM_FTYPE_MOSTLY_Q4_K_S},
    {"q4_k_s", CLLM_TYPE_Q4_K, CLLM_FTYPE_MOSTLY_Q4_K_S}, {"q4_k_m", CLLM_TYPE_Q4_K, CLLM_FTYPE_MOSTLY_Q4_K_M},
    {"q5_k", CLLM_TYPE_Q5_K, CLLM_FTYPE_MOSTLY_Q5_K_S}, {"q5_k_s", CLLM_TYPE_Q5_K, CLLM_FTYPE_MOSTLY_Q5_K_S},
    {"q5_k_m", CLLM_TYPE_Q5_K, CLLM_FTYPE_MOSTLY_Q5_K_M}, {"q6_k", CLLM_TYPE_Q6_K, CLLM_FTYPE_MOSTLY_Q6_K},
    {"iq4_nl", CLLM_TYPE_IQ4_NL, CLLM_FTYPE_MOSTLY_IQ4_NL}, {"iq4_xs", CLLM_TYPE_IQ4_XS, CLLM_FTYPE_MOSTLY_IQ4_XS},
};

static bool name_eq_ci(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
    return *a == *b;
}

bool cllm_quant_parse_target(const char *name, cllm_type *type, int *ftype) {
    if (!name) return false;
    for (size_t i = 0; i < sizeof k_targets / sizeof k_targets[0]; i++)
        if (name_eq_ci(name, k_targets[i].name)) {
            if (type) *type = k_targets[i].type;
            if (ftype) *ftype = k_targets[i].ftype;
            return true;
        }
    return false;
}

static int default_ftype(cllm_type t) {
    for (size_t i = 0; i < sizeof k_targets / sizeof k_targets[0]; i++)
        if (k_targets[i].type == t) return k_targets[i].ftype; /* first entry = plain name */
    return -1;
}

/* ---------------------------------------------------------- tensor rules */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Weights llama.cpp never quantizes even when 2-D (routers, positional and
 * type embeddings, convolution kernels of recurrent blocks). */
static bool is_excluded(const char *name) {
    static const char *const k_never[] = {"ffn_gate_inp.weight", "pos_embd", "token_types", "ssm_conv1d",
                                          "shortconv.conv", "time_mix_first", "rel_pos", "altup", "laurel",
                                          "per_layer_model_proj"};
    for (size_t i = 0; i < sizeof k_never / sizeof k_never[0]; i++)
        if (strstr(name, k_never[i])) return true;
    return false;
}

static bool is_float_type(cllm_type t) {
    return t == CLLM_TYPE_F32 || t == CLLM_TYPE_F16 || t == CLLM_TYPE_BF16;
}

/* Types whose rows we can read as floats (weights: floats or quantized). */
static bool is_weight_type(cllm_type t) {
    const cllm_type_traits *tr = cllm_type_get_traits(t);
    return tr && (is_float_type(t) || tr->is_quantized);
}

/* llama.cpp's fallback when a row does not divide into the target's
 * 256-value super-blocks. */
static cllm_type fallback_type(cllm_type t) {
    switch (t) {
    case CLLM_TYPE_Q2_K: case CLLM_TYPE_Q3_K: case CLLM_TYPE_IQ4_XS: return CLLM_TYPE_IQ4_NL;
    case CLLM_TYPE_Q4_K: return CLLM_TYPE_Q5_0;
    case CLLM_TYPE_Q5_K: return CLLM_TYPE_Q5_1;
    case CLLM_TYPE_Q6_K: return CLLM_TYPE_Q8_0;
    default: return t;
    }
}

/* llama.cpp's tensor order: tensors outside "blk.N." first, then by layer
 * number, by name within each group (its weight_name_comparer). */
static int layer_of(const char *name) {
    if (strncmp(name, "blk.", 4) != 0 || !isdigit((unsigned char)name[4])) return -1;
    long v = strtol(name + 4, NULL, 10);
    return v > 1000000 ? 1000000 : (int)v;
}

static const cllm_gguf *g_sort_src; /* qsort has no user pointer; guarded by g_sort_lock */
static pthread_mutex_t g_sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int cmp_tensor_order(const void *pa, const void *pb) {
    const cllm_tensor_info *a = cllm_gguf_tensor(g_sort_src, *(const int64_t *)pa);
    const cllm_tensor_info *b = cllm_gguf_tensor(g_sort_src, *(const int64_t *)pb);
    const int la = layer_of(a->name), lb = layer_of(b->name);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* ------------------------------------------------------ parallel convert */

typedef struct {
    const uint8_t *src;
    cllm_type st;
    uint64_t src_rs;
    uint8_t *dst;
    cllm_type dt;
    uint64_t dst_rs;
    int64_t ne0, r0, r1;
    bool ok;
} convert_job;

static void *convert_rows(void *arg) {
    convert_job *j = arg;
    float *buf = malloc((size_t)j->ne0 * sizeof(float));
    j->ok = buf != NULL;
    for (int64_t r = j->r0; r < j->r1 && j->ok; r++) {
        j->ok = cllm_quant_dequantize_row(j->st, j->src + (uint64_t)r * j->src_rs, buf, j->ne0) &&
                cllm_quant_quantize_row(j->dt, buf, j->dst + (uint64_t)r * j->dst_rs, j->ne0, NULL);
    }
    free(buf);
    return NULL;
}

/* Convert nrow rows of ne0 values from st to dt using up to n_threads. */
static bool convert_tensor(const uint8_t *src, cllm_type st, uint8_t *dst, cllm_type dt, int64_t ne0,
                           int64_t nrow, int n_threads) {
    int nt = n_threads < 1 ? 1 : n_threads;
    if (nt > nrow) nt = (int)(nrow > 0 ? nrow : 1);
    convert_job *jobs = calloc((size_t)nt, sizeof *jobs);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    bool *started = calloc((size_t)nt, sizeof *started);
    bool ok = jobs && th && started;
    for (int k = 0; k < nt && ok; k++) {
        jobs[k] = (convert_job){src, st, cllm_type_row_size(st, ne0), dst, dt, cllm_type_row_size(dt, ne0), ne0,
                                nrow * k / nt, nrow * (k + 1) / nt, false};
        if (k == 0) continue; /* the calling thread does job 0 */
        started[k] = pthread_create(&th[k], NULL, convert_rows, &jobs[k]) == 0;
        if (!started[k]) convert_rows(&jobs[k]); /* could not start: do it here */
    }
    if (ok) convert_rows(&jobs[0]);
    for (int k = 1; k < nt && ok; k++)
        if (started[k]) pthread_join(th[k], NULL);
    for (int k = 0; k < nt && ok; k++) ok = jobs[k].ok;
    free(jobs);
    free(th);
    free(started);
    return ok;
}

/* ------------------------------------------------------------ the file */

static bool skip_version_keys(const char *key, void *user) {
    (void)user;
    return strcmp(key, "general.file_type") == 0 || strcmp(key, "general.quantization_version") == 0;
}

cllm_status cllm_quant_file(const char *in_path, const char *out_path, const cllm_quant_file_params *p,
                            cllm_quant_file_stats *stats) {
    if (!in_path || !out_path || !p) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "quantize: NULL argument");
    const cllm_type_traits *ttr = cllm_type_get_traits(p->type);
    const int ftype = p->ftype >= 0 ? p->ftype : default_ftype(p->type);
    if (!ttr || ftype < 0 || !is_weight_type(p->type))
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "quantize: %s is not a file type cllm can write",
                                   ttr ? ttr->name : "unknown type");
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open(in_path, &g);
    if (st != CLLM_OK) return st; /* message already names the defect */

    const int64_t n = cllm_gguf_n_tensors(g);
    int64_t *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    cllm_type *out_type = malloc((size_t)(n > 0 ? n : 1) * sizeof *out_type);
    uint8_t **bufs = calloc((size_t)(n > 0 ? n : 1), sizeof *bufs);
    cllm_gguf_writer *w = NULL;
    cllm_quant_file_stats s = {0};
    s.n_tensors = n;
    if (!order || !out_type || !bufs) {
        st = cllm_set_last_error(CLLM_ERR_NOMEM, "quantize: out of memory");
        goto done;
    }

    /* Decide each tensor's output type; refuse quantized inputs up front. */
    for (int64_t i = 0; i < n; i++) {
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        order[i] = i;
        out_type[i] = t->type;
        if (!ends_with(t->name, "weight") || t->n_dims < 2 || is_excluded(t->name) || !is_weight_type(t->type))
            continue;
        cllm_type want = p->type;
        if (t->ne[0] % cllm_type_get_traits(want)->blck_size != 0) {
            want = fallback_type(want);
            /* llama.cpp's last resort for rows no block type divides: F16 */
            if (t->ne[0] % cllm_type_get_traits(want)->blck_size != 0) want = CLLM_TYPE_F16;
            CLLM_LOGW("quantize: %s: row length %lld is not a multiple of %lld, using %s", t->name,
                      (long long)t->ne[0], (long long)ttr->blck_size, cllm_type_name(want));
        }
        if (want == t->type) continue;
        if (!is_float_type(t->type) && !p->allow_requantize) {
            st = cllm_set_last_error(CLLM_ERR_UNSUPPORTED,
                                     "quantize: %s: tensor '%s' is already quantized (%s); requantizing loses "
                                     "quality, allow it explicitly (--allow-requantize)",
                                     in_path, t->name, cllm_type_name(t->type));
            goto done;
        }
        out_type[i] = want;
    }
    pthread_mutex_lock(&g_sort_lock);
    g_sort_src = g;
    qsort(order, (size_t)n, sizeof *order, cmp_tensor_order);
    pthread_mutex_unlock(&g_sort_lock);

    if ((st = cllm_gguf_writer_init(&w)) != CLLM_OK) goto done;
    if ((st = cllm_gguf_writer_copy_kv(w, g, skip_version_keys, NULL)) != CLLM_OK ||
        (st = cllm_gguf_writer_set_u32(w, "general.quantization_version", GGML_QNT_VERSION)) != CLLM_OK ||
        (st = cllm_gguf_writer_set_u32(w, "general.file_type", (uint32_t)ftype)) != CLLM_OK) {
        cllm_set_last_error(st, "quantize: metadata: %s", cllm_gguf_writer_last_error(w));
        goto done;
    }

    for (int64_t k = 0; k < n; k++) {
        const int64_t i = order[k];
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        const cllm_type dt = out_type[i];
        const int64_t nrow = t->ne[1] * t->ne[2] * t->ne[3];
        const void *data = t->data;
        uint64_t out_bytes = t->nbytes;
        if (dt != t->type) {
            out_bytes = cllm_type_row_size(dt, t->ne[0]) * (uint64_t)nrow;
            bufs[i] = malloc(out_bytes ? out_bytes : 1);
            if (!bufs[i]) {
                st = cllm_set_last_error(CLLM_ERR_NOMEM, "quantize: out of memory for tensor '%s' (%llu bytes)",
                                         t->name, (unsigned long long)out_bytes);
                goto done;
            }
            if (!convert_tensor(t->data, t->type, bufs[i], dt, t->ne[0], nrow, p->n_threads)) {
                st = cllm_set_last_error(CLLM_ERR_INTERNAL, "quantize: converting tensor '%s' from %s to %s failed",
                                         t->name, cllm_type_name(t->type), cllm_type_name(dt));
                goto done;
            }
            data = bufs[i];
            s.n_quantized++;
        }
        s.in_bytes += t->nbytes;
        s.out_bytes += out_bytes;
        if ((st = cllm_gguf_writer_add_tensor(w, t->name, dt, t->n_dims, t->ne, data)) != CLLM_OK) {
            cllm_set_last_error(st, "quantize: %s", cllm_gguf_writer_last_error(w));
            goto done;
        }
        if (p->progress) p->progress(k, n, t->name, t->type, dt, t->ne, t->nbytes, out_bytes, p->user);
    }
    if ((st = cllm_gguf_writer_write(w, out_path)) != CLLM_OK)
        cllm_set_last_error(st, "quantize: writing %s: %s", out_path, cllm_gguf_writer_last_error(w));

done:
    if (stats) *stats = s;
    cllm_gguf_writer_free(w);
    if (bufs)
        for (int64_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(order);
    free(out_type);
    cllm_gguf_free(g);
    return st;
}
