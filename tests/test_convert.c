/* test_convert.c: `cllm convert` (cllm_convert_hf) on the TinyStories-656K
 * Hugging Face checkpoint: hyper-parameter and tokenizer keys, tensor names,
 * shapes and types, the Q/K row permutation (checked against the safetensors
 * source), tied embeddings (no output.weight), the tokenizer's ids for the
 * golden prompt ([1, 80, 147, 201, 282, 57], the HF tokenizer's), the other
 * output types, a sharded copy of the checkpoint (index.json + 2 shards)
 * giving the identical file, and errors that name the unsupported part.
 * The logits check against the F32 golden lives in test_convert_logits.sh. */
#include "convert/convert.h"
#include "convert/safetensors.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

static uint64_t get_u(const cllm_gguf *g, const char *key) {
    uint64_t v = 0;
    CHECK(cllm_gguf_get_u64(g, key, &v) == CLLM_OK, "key %s", key);
    return v;
}

static const char *get_s(const cllm_gguf *g, const char *key) {
    const char *s = "";
    CHECK(cllm_gguf_get_str(g, key, &s, NULL) == CLLM_OK, "key %s", key);
    return s;
}

static bool write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Write tensors [i0, i1) of src as one safetensors file. */
static bool write_shard(const cllm_st_set *src, int64_t i0, int64_t i1, const char *path) {
    char *hdr = malloc(1 << 16);
    size_t hl = 0;
    uint64_t off = 0;
    hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int64_t i = i0; i < i1; i++) {
        const cllm_st_tensor *t = cllm_st_tensor_at(src, i);
        hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name,
                               cllm_st_dtype_name(t->dtype));
        for (int d = 0; d < t->n_dims; d++)
            hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                               (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "}");
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL;
    uint8_t len[8];
    for (int b = 0; b < 8; b++) len[b] = (uint8_t)((uint64_t)hl >> (8 * b));
    if (ok) ok = fwrite(len, 1, 8, f) == 8 && fwrite(hdr, 1, hl, f) == hl;
    for (int64_t i = i0; i < i1 && ok; i++) {
        const cllm_st_tensor *t = cllm_st_tensor_at(src, i);
        ok = fwrite(t->data, 1, t->nbytes, f) == t->nbytes;
    }
    if (f) ok = fclose(f) == 0 && ok;
    free(hdr);
    return ok;
}

static void copy_file(const char *from, const char *to) {
    size_t n = 0;
    void *d = test_read_file(from, &n);
    CHECK(d && write_file(to, d, n), "copy %s", from);
    free(d);
}

static void check_tokenizer(const cllm_gguf *g) {
    cllm_vocab *v = NULL;
    CHECK(cllm_vocab_load(g, &v) == CLLM_OK, "vocab: %s", cllm_last_error());
    if (!v) return;
    int32_t ids[64];
    const char *prompt = "Once upon a time";
    int n = cllm_tokenize(v, prompt, strlen(prompt), ids, 64, true, false);
    const int32_t want[] = {1, 80, 147, 201, 282, 57};
    bool same = n == 6;
    for (int i = 0; i < 6 && same; i++) same = ids[i] == want[i];
    printf("tokenizer: \"%s\" -> %d ids:", prompt, n);
    for (int i = 0; i < n && i < 64; i++) printf(" %d", ids[i]);
    printf(" (%s the HF tokenizer's)\n", same ? "equal to" : "DIFFERENT from");
    CHECK(same, "golden prompt ids");
    CHECK(cllm_vocab_bos(v) == 1 && cllm_vocab_eos(v) == 2 && cllm_vocab_add_bos(v), "bos/eos/add_bos");
    cllm_vocab_free(v);
}

int main(void) {
    test_require_shared("tinystories-656k-hf");
    char src[1024];
    snprintf(src, sizeof src, "%s", test_shared_path("models/real/tinystories-656k-hf"));
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cllm_test_convert_%d", (int)getpid());
    mkdir(g_tmp, 0700);

    /* 1. F32 conversion: structure */
    cllm_convert_params p = {.outtype = CLLM_TYPE_F32};
    cllm_status st = cllm_convert_hf(src, tmp_path("f32.gguf"), &p);
    CHECK(st == CLLM_OK, "convert f32: %s", cllm_last_error());
    cllm_gguf *g = NULL;
    CHECK(st == CLLM_OK && cllm_gguf_open(tmp_path("f32.gguf"), &g) == CLLM_OK, "open: %s", cllm_last_error());
    cllm_st_set *sts = NULL;
    CHECK(cllm_st_open_dir(src, &sts) == CLLM_OK, "safetensors: %s", cllm_last_error());
    if (g && sts) {
        CHECK(!strcmp(get_s(g, "general.architecture"), "llama"), "arch");
        CHECK(get_u(g, "llama.block_count") == 2 && get_u(g, "llama.context_length") == 512 &&
                  get_u(g, "llama.embedding_length") == 128 && get_u(g, "llama.feed_forward_length") == 384 &&
                  get_u(g, "llama.attention.head_count") == 8 && get_u(g, "llama.attention.head_count_kv") == 4 &&
                  get_u(g, "llama.rope.dimension_count") == 16 && get_u(g, "llama.vocab_size") == 2048 &&
                  get_u(g, "general.file_type") == 0,
              "llama hyper-parameters");
        double eps = 0, theta = 0;
        CHECK(cllm_gguf_get_f64(g, "llama.attention.layer_norm_rms_epsilon", &eps) == CLLM_OK &&
                  (float)eps == 1e-6f,
              "rms eps %g", eps);
        CHECK(cllm_gguf_get_f64(g, "llama.rope.freq_base", &theta) == CLLM_OK && theta == 10000.0, "rope theta");
        CHECK(!strcmp(get_s(g, "tokenizer.ggml.model"), "llama") && !strcmp(get_s(g, "tokenizer.ggml.pre"), "default"),
              "tokenizer model/pre");
        CHECK(get_u(g, "tokenizer.ggml.bos_token_id") == 1 && get_u(g, "tokenizer.ggml.eos_token_id") == 2 &&
                  get_u(g, "tokenizer.ggml.unknown_token_id") == 0 && get_u(g, "tokenizer.ggml.padding_token_id") == 0,
              "special ids");
        int64_t kt = cllm_gguf_find_key(g, "tokenizer.ggml.tokens");
        CHECK(kt >= 0 && cllm_gguf_arr_n(g, kt) == 2048, "2048 tokens");
        int64_t ky = cllm_gguf_find_key(g, "tokenizer.ggml.token_type");
        if (ky >= 0) {
            const int32_t *ty = cllm_gguf_arr_data(g, ky);
            CHECK(ty[0] == 3 && ty[1] == 3 && ty[2] == 3 && ty[3] == 1 && ty[100] == 1, "token types (control 0-2)");
        }
        CHECK(cllm_gguf_n_tensors(g) == 20, "20 tensors (tied: no output.weight), got %lld",
              (long long)cllm_gguf_n_tensors(g));
        CHECK(cllm_gguf_find_tensor(g, "output.weight") < 0, "no output.weight");
        static const struct { const char *gg, *hf; int64_t ne0, ne1; } k_map[] = {
            {"token_embd.weight", "lm_head.weight", 128, 2048},
            {"output_norm.weight", "model.norm.weight", 128, 1},
            {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", 128, 1},
            {"blk.1.ffn_norm.weight", "model.layers.1.post_attention_layernorm.weight", 128, 1},
            {"blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight", 128, 64},
            {"blk.1.attn_output.weight", "model.layers.1.self_attn.o_proj.weight", 128, 128},
            {"blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight", 128, 384},
            {"blk.1.ffn_up.weight", "model.layers.1.mlp.up_proj.weight", 128, 384},
            {"blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight", 384, 128},
        };
        for (size_t k = 0; k < sizeof k_map / sizeof k_map[0]; k++) {
            int64_t i = cllm_gguf_find_tensor(g, k_map[k].gg);
            const cllm_st_tensor *s = cllm_st_find(sts, k_map[k].hf);
            CHECK(i >= 0 && s, "%s present", k_map[k].gg);
            if (i < 0 || !s) continue;
            const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
            CHECK(t->type == CLLM_TYPE_F32 && t->ne[0] == k_map[k].ne0 && t->ne[1] == k_map[k].ne1, "%s shape/type",
                  t->name);
            CHECK(t->nbytes == s->nbytes && memcmp(t->data, s->data, s->nbytes) == 0, "%s data equals %s", t->name,
                  s->name);
        }
        /* Q (8 heads) and K (4 heads), head_dim 16: GGUF row h*16 + 2i + s
         * is HF row h*16 + s*8 + i */
        for (int l = 0; l < 2; l++)
            for (int qk = 0; qk < 2; qk++) {
                char gn[64], hn[96];
                snprintf(gn, sizeof gn, "blk.%d.attn_%s.weight", l, qk ? "k" : "q");
                snprintf(hn, sizeof hn, "model.layers.%d.self_attn.%s_proj.weight", l, qk ? "k" : "q");
                int64_t i = cllm_gguf_find_tensor(g, gn);
                const cllm_st_tensor *s = cllm_st_find(sts, hn);
                if (i < 0 || !s) {
                    CHECK(0, "%s missing", gn);
                    continue;
                }
                const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
                const int64_t rows = s->shape[0], heads = qk ? 4 : 8;
                CHECK(t->ne[0] == 128 && t->ne[1] == rows, "%s shape", gn);
                int bad = 0;
                for (int64_t h = 0; h < heads; h++)
                    for (int64_t s2 = 0; s2 < 2; s2++)
                        for (int64_t j = 0; j < 8; j++) {
                            const float *a = (const float *)t->data + (h * 16 + 2 * j + s2) * 128;
                            const float *b = (const float *)s->data + (h * 16 + s2 * 8 + j) * 128;
                            bad += memcmp(a, b, 128 * sizeof(float)) != 0;
                        }
                CHECK(bad == 0, "%s: %d rows not where the rotary permutation puts them", gn, bad);
                CHECK(memcmp(t->data, s->data, s->nbytes) != 0, "%s is permuted (differs from HF order)", gn);
            }
        check_tokenizer(g);
    }
    cllm_gguf_free(g);
    g = NULL;

    /* 2. other output types */
    static const struct { cllm_type t; int ftype; } k_out[] = {
        {CLLM_TYPE_F16, 1}, {CLLM_TYPE_BF16, 32}, {CLLM_TYPE_Q8_0, 7}};
    for (size_t k = 0; k < sizeof k_out / sizeof k_out[0]; k++) {
        p.outtype = k_out[k].t;
        st = cllm_convert_hf(src, tmp_path("x.gguf"), &p);
        CHECK(st == CLLM_OK, "convert %s: %s", cllm_type_name(k_out[k].t), cllm_last_error());
        if (st != CLLM_OK || cllm_gguf_open(tmp_path("x.gguf"), &g) != CLLM_OK) continue;
        int n2d = 0, nf32 = 0;
        for (int64_t i = 0; i < cllm_gguf_n_tensors(g); i++) {
            const cllm_tensor_info *t = cllm_gguf_tensor(g, i);
            if (t->n_dims == 2) n2d += t->type == k_out[k].t;
            else nf32 += t->type == CLLM_TYPE_F32;
        }
        CHECK(n2d == 15 && nf32 == 5, "%s: %d 2-D weights converted (15), %d norms F32 (5)",
              cllm_type_name(k_out[k].t), n2d, nf32);
        CHECK(get_u(g, "general.file_type") == (uint64_t)k_out[k].ftype, "file type");
        cllm_gguf_free(g);
        g = NULL;
    }

    /* 3. a sharded copy (index.json + two shards) gives the identical file */
    char sd[600];
    snprintf(sd, sizeof sd, "%s/sharded", g_tmp);
    mkdir(sd, 0700);
    if (sts) {
        char path[800];
        const int64_t n = cllm_st_n_tensors(sts), half = n / 2;
        snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", sd);
        CHECK(write_shard(sts, 0, half, path), "shard 1");
        snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", sd);
        CHECK(write_shard(sts, half, n, path), "shard 2");
        char *idx = malloc(1 << 16);
        size_t il = (size_t)snprintf(idx, 1 << 16, "{\"metadata\":{},\"weight_map\":{");
        for (int64_t i = 0; i < n; i++)
            il += (size_t)snprintf(idx + il, (1 << 16) - il, "%s\"%s\":\"model-0000%d-of-00002.safetensors\"",
                                   i ? "," : "", cllm_st_tensor_at(sts, i)->name, i < half ? 1 : 2);
        il += (size_t)snprintf(idx + il, (1 << 16) - il, "}}");
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", sd);
        CHECK(write_file(path, idx, il), "index");
        free(idx);
        static const char *const k_copy[] = {"config.json", "tokenizer.json", "tokenizer_config.json"};
        for (size_t k = 0; k < 3; k++) {
            char from[1200], to[1200];
            snprintf(from, sizeof from, "%s/%s", src, k_copy[k]);
            snprintf(to, sizeof to, "%s/%s", sd, k_copy[k]);
            copy_file(from, to);
        }
        p.outtype = CLLM_TYPE_F32;
        p.name = "tinystories-656k-hf"; /* same general.name as the unsharded folder */
        st = cllm_convert_hf(sd, tmp_path("sharded.gguf"), &p);
        CHECK(st == CLLM_OK, "convert sharded: %s", cllm_last_error());
        size_t la = 0, lb = 0;
        void *a = test_read_file(tmp_path("sharded.gguf"), &la), *b = test_read_file(tmp_path("f32.gguf"), &lb);
        CHECK(a && b && la == lb && memcmp(a, b, la) == 0, "sharded conversion differs from the single-file one");
        free(a);
        free(b);
        p.name = NULL;

        /* 4. errors name the unsupported part */
        snprintf(path, sizeof path, "%s/config.json", sd);
        const char *cfg = "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 2048}";
        CHECK(write_file(path, cfg, strlen(cfg)), "write config");
        st = cllm_convert_hf(sd, tmp_path("bad.gguf"), &p);
        CHECK(st == CLLM_ERR_UNSUPPORTED && strstr(cllm_last_error(), "GPT2LMHeadModel"), "arch error: %s",
              cllm_last_error());
        CHECK(access(tmp_path("bad.gguf"), F_OK) != 0, "no output after a failure");
        snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", sd);
        unlink(path);
        copy_file(test_shared_path("models/real/tinystories-656k-hf/config.json"), tmp_path("sharded/config.json"));
        st = cllm_convert_hf(sd, tmp_path("bad.gguf"), &p);
        CHECK(st != CLLM_OK && strstr(cllm_last_error(), "model-00002-of-00002"), "missing shard: %s",
              cllm_last_error());
        unlink(path);
        unlink(tmp_path("sharded/model-00001-of-00002.safetensors"));
        unlink(tmp_path("sharded/model.safetensors.index.json"));
        unlink(tmp_path("sharded/config.json"));
        unlink(tmp_path("sharded/tokenizer.json"));
        unlink(tmp_path("sharded/tokenizer_config.json"));
        rmdir(sd);
    }
    st = cllm_convert_hf("/nonexistent/dir", tmp_path("bad.gguf"), &p);
    CHECK(st != CLLM_OK && strstr(cllm_last_error(), "config.json"), "missing folder: %s", cllm_last_error());

    cllm_st_free(sts);
    unlink(tmp_path("f32.gguf"));
    unlink(tmp_path("x.gguf"));
    unlink(tmp_path("sharded.gguf"));
    rmdir(g_tmp);
    return test_finish();
}
