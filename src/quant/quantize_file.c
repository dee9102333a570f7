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
    static const char *const k_never[] = {
        "_norm.weight", "ffn_gate_inp.weight", "pos_embd", "token_types", "ssm_conv1d", "shortconv.conv",
        "time_mix_first", "time_mix_w0.", "time_mix_w1.", "time_mix_w2.", "time_mix_v0.", "time_mix_v1.",
        "time_mix_v2.", "time_mix_a0.", "time_mix_a1.", "time_mix_a2.", "time_mix_g1.", "time_mix_g2.",
        "time_mix_decay_w1.", "time_mix_decay_w2.", "time_mix_lerp_fused.", "attn_rel_b.weight", "rel_pos",
        "altup", "laurel", "per_layer_model_proj"};
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

/* --------------------------------------------------- per-tensor mixes */

static int layer_of(const char *name);

/* What the mix rules need to know about the model (llama.cpp's
 * quantize_state_impl): hyper-parameters and running per-kind counters. The
 * counters advance in the order tensors are written, as llama.cpp's do. */
typedef struct {
    int ftype;
    bool has_output;        /* output.weight present (else token_embd doubles as it) */
    bool is_falcon;
    bool is_70b;            /* llama-arch 80 layers with GQA (llama.cpp's LLM_TYPE_70B) */
    int64_t n_gqa;          /* n_head / n_head_kv */
    int64_t n_expert;
    int n_attention_wv, i_attention_wv;
    int n_layer, i_ffn_down;
} mix_state;

static bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

/* Layer index of a ffn_down tensor: the running counter, or (MoE models, whose
 * expert tensors are not in layer order) the number in the name. */
static int mix_layer(const mix_state *m, const char *name, int counter) {
    if (m->n_expert > 1) {
        const int l = layer_of(name);
        if (l >= 0 && l < m->n_layer) return l;
    }
    return counter;
}

/* llama.cpp's llama_tensor_get_type for the ftypes cllm writes: start from the
 * file type's base type and raise the precision of the output projection and
 * of some attn_v / ffn_down / attn_output / attn_qkv tensors. */
static cllm_type mix_type(mix_state *m, const cllm_tensor_info *t, cllm_type base) {
    const char *name = t->name;
    const int ft = m->ftype;
    cllm_type nt = base;
    if (strcmp(name, "output.weight") == 0 || (!m->has_output && strcmp(name, "token_embd.weight") == 0)) {
        if (m->is_falcon || t->ne[0] % cllm_type_get_traits(base)->blck_size != 0) nt = CLLM_TYPE_Q8_0;
        else if (base != CLLM_TYPE_Q8_0) nt = CLLM_TYPE_Q6_K;
    } else if (strcmp(name, "token_embd.weight") == 0) {
        /* only the IQ1/IQ2/IQ3_XXS/TQ file types (not written by cllm) change it */
    } else if (strstr(name, "attn_v.weight")) {
        if (ft == CLLM_FTYPE_MOSTLY_Q2_K) nt = m->n_gqa >= 4 ? CLLM_TYPE_Q4_K : CLLM_TYPE_Q3_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q3_K_M) nt = m->i_attention_wv < 2 ? CLLM_TYPE_Q5_K : CLLM_TYPE_Q4_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q3_K_L) nt = CLLM_TYPE_Q5_K;
        else if ((ft == CLLM_FTYPE_MOSTLY_IQ4_NL || ft == CLLM_FTYPE_MOSTLY_IQ4_XS) && m->n_gqa >= 4)
            nt = CLLM_TYPE_Q5_K;
        else if ((ft == CLLM_FTYPE_MOSTLY_Q4_K_M || ft == CLLM_FTYPE_MOSTLY_Q5_K_M) &&
                 use_more_bits(m->i_attention_wv, m->n_attention_wv))
            nt = CLLM_TYPE_Q6_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q4_K_S && m->i_attention_wv < 4) nt = CLLM_TYPE_Q5_K;
        /* 70B: 8 heads share attn_v, so it is small; give it more bits */
        if (m->is_70b && (nt == CLLM_TYPE_Q3_K || nt == CLLM_TYPE_Q4_K)) nt = CLLM_TYPE_Q5_K;
        if (m->n_expert == 8) nt = CLLM_TYPE_Q8_0;
        m->i_attention_wv++;
    } else if (strstr(name, "attn_k.weight")) {
        if (m->n_expert == 8) nt = CLLM_TYPE_Q8_0;
    } else if (strstr(name, "ffn_down")) {
        const int il = mix_layer(m, name, m->i_ffn_down), nl = m->n_layer;
        if (ft == CLLM_FTYPE_MOSTLY_Q2_K) nt = CLLM_TYPE_Q3_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q3_K_M)
            nt = il < nl / 16 ? CLLM_TYPE_Q5_K
                 : (!m->is_falcon || use_more_bits(il, nl)) ? CLLM_TYPE_Q4_K
                                                            : CLLM_TYPE_Q3_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q3_K_L) nt = m->is_falcon ? CLLM_TYPE_Q4_K : CLLM_TYPE_Q5_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q4_K_M) {
            if (m->is_falcon)
                nt = il < nl / 16 ? CLLM_TYPE_Q6_K : use_more_bits(il, nl) ? CLLM_TYPE_Q5_K : CLLM_TYPE_Q4_K;
            else if (use_more_bits(il, nl))
                nt = CLLM_TYPE_Q6_K;
        } else if (il < nl / 8 && (ft == CLLM_FTYPE_MOSTLY_IQ4_NL || ft == CLLM_FTYPE_MOSTLY_IQ4_XS))
            nt = CLLM_TYPE_Q5_K; /* no importance matrix in cllm */
        else if (ft == CLLM_FTYPE_MOSTLY_Q5_K_M && use_more_bits(il, nl))
            nt = CLLM_TYPE_Q6_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q4_K_S && !m->is_falcon && il < nl / 8)
            nt = CLLM_TYPE_Q5_K;
        m->i_ffn_down++;
    } else if (strstr(name, "attn_output.weight")) {
        if (!m->is_falcon) {
            if (m->n_expert == 8) {
                if (ft == CLLM_FTYPE_MOSTLY_Q2_K || ft == CLLM_FTYPE_MOSTLY_Q3_K_S || ft == CLLM_FTYPE_MOSTLY_Q3_K_M ||
                    ft == CLLM_FTYPE_MOSTLY_IQ4_NL || ft == CLLM_FTYPE_MOSTLY_Q4_K_S ||
                    ft == CLLM_FTYPE_MOSTLY_Q4_K_M || ft == CLLM_FTYPE_MOSTLY_IQ4_XS)
                    nt = CLLM_TYPE_Q5_K;
            } else if (ft == CLLM_FTYPE_MOSTLY_Q2_K) nt = CLLM_TYPE_Q3_K;
            else if (ft == CLLM_FTYPE_MOSTLY_Q3_K_M) nt = CLLM_TYPE_Q4_K;
            else if (ft == CLLM_FTYPE_MOSTLY_Q3_K_L) nt = CLLM_TYPE_Q5_K;
        } else if (ft == CLLM_FTYPE_MOSTLY_Q3_K_L) {
            nt = CLLM_TYPE_Q4_K;
        }
    } else if (strstr(name, "attn_qkv.weight")) {
        if (ft == CLLM_FTYPE_MOSTLY_Q3_K_M || ft == CLLM_FTYPE_MOSTLY_Q3_K_L) nt = CLLM_TYPE_Q4_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q4_K_M) nt = CLLM_TYPE_Q5_K;
        else if (ft == CLLM_FTYPE_MOSTLY_Q5_K_M) nt = CLLM_TYPE_Q6_K;
    }
    return nt;
}

/* Read the hyper-parameters the rules use; missing keys leave neutral values. */
static void mix_init(mix_state *m, const cllm_gguf *g, int ftype) {
    memset(m, 0, sizeof *m);
    m->ftype = ftype;
    m->n_gqa = 1;
    m->n_expert = 1;
    const char *arch = NULL;
    char key[160];
    int64_t v = 0, n_head = 0, n_head_kv = 0;
    if (cllm_gguf_get_str(g, "general.architecture", &arch, NULL) != CLLM_OK) arch = "";
    m->is_falcon = strcmp(arch, "falcon") == 0;
    snprintf(key, sizeof key, "%s.block_count", arch);
    if (cllm_gguf_get_i64(g, key, &v) == CLLM_OK && v > 0 && v < 100000) m->n_layer = (int)v;
    snprintf(key, sizeof key, "%s.expert_count", arch);
    if (cllm_gguf_get_i64(g, key, &v) == CLLM_OK && v > 1) m->n_expert = v;
    snprintf(key, sizeof key, "%s.attention.head_count", arch);
    if (cllm_gguf_get_i64(g, key, &v) == CLLM_OK) n_head = v;
    snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
    if (cllm_gguf_get_i64(g, key, &v) == CLLM_OK) n_head_kv = v;
    else n_head_kv = n_head;
    if (n_head > 0 && n_head_kv > 0) m->n_gqa = n_head / n_head_kv;
    m->is_70b = strcmp(arch, "llama") == 0 && m->n_layer == 80 && n_head_kv > 0 && n_head != n_head_kv;
    for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
        const char *name = cllm_gguf_tensor(g, i)->name;
        if (strstr(name, "attn_v.weight") || strstr(name, "attn_qkv.weight") || strstr(name, "attn_kv_b.weight"))
            m->n_attention_wv++;
        else if (strcmp(name, "output.weight") == 0)
            m->has_output = true;
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
    /* split keys go too: the output is always one file */
    return strcmp(key, "general.file_type") == 0 || strcmp(key, "general.quantization_version") == 0 ||
           strcmp(key, "split.no") == 0 || strcmp(key, "split.count") == 0 ||
           strcmp(key, "split.tensors.count") == 0;
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

    for (int64_t i = 0; i < n; i++) order[i] = i;
    pthread_mutex_lock(&g_sort_lock);
    g_sort_src = g;
    qsort(order, (size_t)n, sizeof *order, cmp_tensor_order);
    pthread_mutex_unlock(&g_sort_lock);

    /* Decide each tensor's output type in write order (the mix counters
     * depend on it); refuse quantized inputs up front. */
    mix_state mix;
    mix_init(&mix, g, ftype);
    const bool use_mix = !p->pure && ttr->is_quantized;
    for (int64_t k = 0; k < n; k++) {
        const int64_t i = order[k];
        const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
        out_type[i] = t->type;
        if (!ends_with(t->name, "weight") || t->n_dims < 2 || is_excluded(t->name) || !is_weight_type(t->type))
            continue;
        cllm_type want = use_mix ? mix_type(&mix, t, p->type) : p->type;
        if (t->ne[0] % cllm_type_get_traits(want)->blck_size != 0) {
            const cllm_type first = want;
            want = fallback_type(want);
            /* llama.cpp's last resort for rows no block type divides: F16 */
            if (t->ne[0] % cllm_type_get_traits(want)->blck_size != 0) want = CLLM_TYPE_F16;
            CLLM_LOGW("quantize: %s: row length %lld is not a multiple of %lld, using %s", t->name,
                      (long long)t->ne[0], (long long)cllm_type_get_traits(first)->blck_size, cllm_type_name(want));
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
