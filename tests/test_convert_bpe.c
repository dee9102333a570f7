/* test_convert_bpe.c: `cllm convert` of byte-level BPE tokenizers. For the
 * llama3 and qwen3 vocabs of ../shared/vocab (GGUFs made by llama.cpp's
 * converter from the Hugging Face files), a Hugging Face folder is rebuilt
 * (tokenizer.json with the vocab, merges, added tokens and the model's split
 * regex; tokenizer_config.json; config.json; a tiny random safetensors
 * checkpoint), converted, and the result must carry the same tokenizer as
 * the reference: model gpt2, the same pre (llama-bpe / qwen2), identical token
 * list, token types and merges, the same bos/eos, and the vocab's test strings
 * must tokenize to the expected ids. Also a tokenizer.json whose pre-tokenizer
 * regex is unknown is refused with a message naming it. The SentencePiece
 * path: the llama-spm vocab written as a tokenizer.model protobuf converts to
 * identical tokens, scores and types and the reference ids. */
#include "convert/convert.h"
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const RX_LLAMA3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const RX_QWEN2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static bool write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fputs(s, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* A tiny llama checkpoint: hidden 8, 1 layer, 2 heads, ffn 16, F16 weights. */
static bool write_checkpoint(const char *dir, int64_t n_vocab) {
    static const struct { const char *name; int64_t r, c; } k_t[] = {
        {"model.embed_tokens.weight", -1, 8}, {"model.layers.0.input_layernorm.weight", 8, 0},
        {"model.layers.0.mlp.down_proj.weight", 8, 16}, {"model.layers.0.mlp.gate_proj.weight", 16, 8},
        {"model.layers.0.mlp.up_proj.weight", 16, 8}, {"model.layers.0.post_attention_layernorm.weight", 8, 0},
        {"model.layers.0.self_attn.k_proj.weight", 8, 8}, {"model.layers.0.self_attn.o_proj.weight", 8, 8},
        {"model.layers.0.self_attn.q_proj.weight", 8, 8}, {"model.layers.0.self_attn.v_proj.weight", 8, 8},
        {"model.norm.weight", 8, 0}};
    const size_t nt = sizeof k_t / sizeof k_t[0];
    char *hdr = malloc(1 << 16);
    size_t hl = (size_t)snprintf(hdr, 1 << 16, "{");
    uint64_t off = 0, sizes[16];
    for (size_t i = 0; i < nt; i++) {
        const int64_t r = k_t[i].r < 0 ? n_vocab : k_t[i].r, c = k_t[i].c;
        sizes[i] = (uint64_t)(r * (c ? c : 1)) * 2;
        if (c)
            hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[%lld,%lld],",
                                   i ? "," : "", k_t[i].name, (long long)r, (long long)c);
        else
            hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[%lld],",
                                   i ? "," : "", k_t[i].name, (long long)r);
        hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                               (unsigned long long)(off + sizes[i]));
        off += sizes[i];
    }
    hl += (size_t)snprintf(hdr + hl, (1 << 16) - hl, "}");
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL;
    uint8_t len[8];
    for (int b = 0; b < 8; b++) len[b] = (uint8_t)((uint64_t)hl >> (8 * b));
    if (ok) ok = fwrite(len, 1, 8, f) == 8 && fwrite(hdr, 1, hl, f) == hl;
    uint32_t seed = 1;
    for (uint64_t i = 0; i < off / 2 && ok; i++) {
        seed = seed * 1664525u + 1013904223u;
        const uint16_t h = (uint16_t)(0x2000 | ((seed >> 16) & 0x03ff) | ((seed >> 31) << 15)); /* small values */
        ok = fwrite(&h, 2, 1, f) == 1;
    }
    if (f) ok = fclose(f) == 0 && ok;
    free(hdr);
    return ok;
}

/* Rebuild the HF folder of a vocab GGUF. */
static bool make_folder(const cllm_gguf *g, const char *dir, const char *regex) {
    const int64_t kt = cllm_gguf_find_key(g, "tokenizer.ggml.tokens"), ky = cllm_gguf_find_key(g, "tokenizer.ggml.token_type"),
                  km = cllm_gguf_find_key(g, "tokenizer.ggml.merges");
    if (kt < 0 || ky < 0 || km < 0) return false;
    const int64_t n = (int64_t)cllm_gguf_arr_n(g, kt);
    const int32_t *ty = cllm_gguf_arr_data(g, ky);
    json_t *vocab = json_object(), *added = json_array(), *merges = json_array();
    for (int64_t i = 0; i < n; i++) {
        size_t l;
        const char *s = cllm_gguf_arr_str(g, kt, (uint64_t)i, &l);
        if (ty[i] == 5) continue; /* [PADn]: absent from the HF vocab */
        json_object_setn_new(vocab, s, l, json_integer(i));
        if (ty[i] == 3 || ty[i] == 4) {
            json_t *a = json_object();
            json_object_set_new(a, "id", json_integer(i));
            json_object_set_new(a, "content", json_stringn(s, l));
            json_object_set_new(a, "special", json_boolean(ty[i] == 3));
            json_array_append_new(added, a);
        }
    }
    for (uint64_t i = 0; i < cllm_gguf_arr_n(g, km); i++) {
        size_t l;
        const char *s = cllm_gguf_arr_str(g, km, i, &l);
        json_array_append_new(merges, json_stringn(s, l));
    }
    json_t *tj = json_pack("{s:s, s:o, s:{s:s, s:o, s:o, s:b, s:b}, s:{s:s, s:[{s:s, s:{s:s}, s:s}, {s:s, s:b}]}, s:{s:s}}",
                           "version", "1.0", "added_tokens", added, "model", "type", "BPE", "vocab", vocab, "merges",
                           merges, "byte_fallback", 0, "ignore_merges", 1, "pre_tokenizer", "type", "Sequence",
                           "pretokenizers", "type", "Split", "pattern", "Regex", regex, "behavior", "Isolated", "type",
                           "ByteLevel", "use_regex", 0, "decoder", "type", "ByteLevel");
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    bool ok = tj && json_dump_file(tj, path, JSON_COMPACT) == 0;
    json_decref(tj);
    uint64_t bos = 0, eos = 0;
    cllm_gguf_get_u64(g, "tokenizer.ggml.bos_token_id", &bos);
    cllm_gguf_get_u64(g, "tokenizer.ggml.eos_token_id", &eos);
    bool add_bos = false;
    cllm_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    size_t lb, le;
    const char *sb = cllm_gguf_arr_str(g, kt, bos, &lb), *se = cllm_gguf_arr_str(g, kt, eos, &le);
    json_t *tc = json_pack("{s:s%, s:s%, s:b}", "bos_token", sb, lb, "eos_token", se, le, "add_bos_token", add_bos);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    ok = ok && tc && json_dump_file(tc, path, 0) == 0;
    json_decref(tc);
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 8, \"intermediate_size\": 16, "
             "\"num_attention_heads\": 2, \"num_key_value_heads\": 2, \"num_hidden_layers\": 1, "
             "\"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0, "
             "\"vocab_size\": %lld, \"tie_word_embeddings\": true}",
             (long long)n);
    snprintf(path, sizeof path, "%s/config.json", dir);
    return ok && write_text(path, cfg) && write_checkpoint(dir, n);
}

static void pb_varint(FILE *f, uint64_t v) {
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b |= 0x80;
        fputc(b, f);
    } while (v);
}

/* tokenizer.model (sentencepiece ModelProto: pieces = field 1, each
 * {1: piece, 2: score, 3: type}) from a vocab GGUF, plus a trainer-spec-like
 * field 2 that readers must skip. */
static bool make_spm_folder(const cllm_gguf *g, const char *dir) {
    const int64_t kt = cllm_gguf_find_key(g, "tokenizer.ggml.tokens"), ks = cllm_gguf_find_key(g, "tokenizer.ggml.scores"),
                  ky = cllm_gguf_find_key(g, "tokenizer.ggml.token_type");
    if (kt < 0 || ks < 0 || ky < 0) return false;
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    const float *sc = cllm_gguf_arr_data(g, ks);
    const int32_t *ty = cllm_gguf_arr_data(g, ky);
    for (uint64_t i = 0; i < cllm_gguf_arr_n(g, kt); i++) {
        size_t l;
        const char *s = cllm_gguf_arr_str(g, kt, i, &l);
        uint8_t tb[16];
        size_t tl = 0;
        for (uint64_t v = (uint64_t)ty[i];; ) { tb[tl] = (uint8_t)(v & 0x7f); v >>= 7; if (v) tb[tl++] |= 0x80; else { tl++; break; } }
        size_t ll = 0;
        for (uint64_t v = l; v; v >>= 7) ll++;
        if (!ll) ll = 1;
        const uint64_t body = 1 + ll + l + 1 + 4 + 1 + tl;
        fputc((1 << 3) | 2, f);
        pb_varint(f, body);
        fputc((1 << 3) | 2, f);
        pb_varint(f, l);
        fwrite(s, 1, l, f);
        fputc((2 << 3) | 5, f);
        fwrite(&sc[i], 4, 1, f);
        fputc((3 << 3) | 0, f);
        fwrite(tb, 1, tl, f);
    }
    fputc((2 << 3) | 2, f); /* a field the converter does not use */
    pb_varint(f, 3);
    fwrite("abc", 1, 3, f);
    bool ok = fclose(f) == 0;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    ok = ok && write_text(path, "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"unk_token\": \"<unk>\", "
                                "\"add_bos_token\": true, \"add_eos_token\": false}");
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 8, \"intermediate_size\": 16, "
             "\"num_attention_heads\": 2, \"num_hidden_layers\": 1, \"bos_token_id\": 1, \"eos_token_id\": 2, "
             "\"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-05, \"vocab_size\": %llu, "
             "\"tie_word_embeddings\": true}",
             (unsigned long long)cllm_gguf_arr_n(g, kt));
    snprintf(path, sizeof path, "%s/config.json", dir);
    return ok && write_text(path, cfg) && write_checkpoint(dir, (int64_t)cllm_gguf_arr_n(g, kt));
}

static void check_vocab(const char *name, const char *regex, const char *pre) {
    char src[256], dir[256], out[300], path[600];
    snprintf(src, sizeof src, "vocab/ggml-vocab-%s.gguf", name);
    snprintf(dir, sizeof dir, "/tmp/cllm_test_convert_bpe_%d_%s", (int)getpid(), name);
    snprintf(out, sizeof out, "%s.gguf", dir);
    mkdir(dir, 0700);
    cllm_gguf *g = NULL, *o = NULL;
    CHECK(cllm_gguf_open(test_shared_path(src), &g) == CLLM_OK, "open %s", src);
    if (!g) return;
    const bool spm = regex == NULL;
    CHECK(spm ? make_spm_folder(g, dir) : make_folder(g, dir, regex), "%s: building the HF folder", name);
    cllm_convert_params p = {.outtype = CLLM_TYPE_F16};
    cllm_status st = cllm_convert_hf(dir, out, &p);
    CHECK(st == CLLM_OK, "%s: convert: %s", name, cllm_last_error());
    if (st == CLLM_OK) CHECK(cllm_gguf_open(out, &o) == CLLM_OK, "open output: %s", cllm_last_error());
    if (o) {
        const char *model = "", *gpre = "";
        cllm_gguf_get_str(o, "tokenizer.ggml.model", &model, NULL);
        cllm_gguf_get_str(o, "tokenizer.ggml.pre", &gpre, NULL);
        CHECK(!strcmp(model, spm ? "llama" : "gpt2") && !strcmp(gpre, pre), "%s: model %s pre %s", name, model, gpre);
        static const char *const keys[] = {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                                           "tokenizer.ggml.scores"};
        for (int k = 0; k < 4; k++) {
            if ((k == 2 && spm) || (k == 3 && !spm)) continue;
            const int64_t a = cllm_gguf_find_key(g, keys[k]), b = cllm_gguf_find_key(o, keys[k]);
            bool same = a >= 0 && b >= 0 && cllm_gguf_arr_n(g, a) == cllm_gguf_arr_n(o, b);
            int64_t first_bad = -1;
            for (uint64_t i = 0; same && i < cllm_gguf_arr_n(g, a); i++) {
                if (k == 1 || k == 3) { /* int32 types / float32 scores: compare the bits */
                    same = ((const int32_t *)cllm_gguf_arr_data(g, a))[i] == ((const int32_t *)cllm_gguf_arr_data(o, b))[i];
                } else {
                    size_t la, lb;
                    const char *sa = cllm_gguf_arr_str(g, a, i, &la), *sb = cllm_gguf_arr_str(o, b, i, &lb);
                    same = la == lb && memcmp(sa, sb, la) == 0;
                }
                if (!same) first_bad = (int64_t)i;
            }
            CHECK(same, "%s: %s differs from the reference (first at %lld)", name, keys[k], (long long)first_bad);
        }
        uint64_t b1 = 0, b2 = 1, e1 = 0, e2 = 1;
        cllm_gguf_get_u64(g, "tokenizer.ggml.bos_token_id", &b1);
        cllm_gguf_get_u64(o, "tokenizer.ggml.bos_token_id", &b2);
        cllm_gguf_get_u64(g, "tokenizer.ggml.eos_token_id", &e1);
        cllm_gguf_get_u64(o, "tokenizer.ggml.eos_token_id", &e2);
        CHECK(b1 == b2 && e1 == e2, "%s: bos/eos %llu/%llu vs %llu/%llu", name, (unsigned long long)b2,
              (unsigned long long)e2, (unsigned long long)b1, (unsigned long long)e1);
        /* the vocab's test strings */
        cllm_vocab *v = NULL;
        CHECK(cllm_vocab_load(o, &v) == CLLM_OK, "%s: vocab: %s", name, cllm_last_error());
        size_t li = 0, lo = 0;
        snprintf(path, sizeof path, "vocab/ggml-vocab-%s.gguf.inp", name);
        char *inp = test_read_file(test_shared_path(path), &li);
        snprintf(path, sizeof path, "vocab/ggml-vocab-%s.gguf.out", name);
        char *outp = test_read_file(test_shared_path(path), &lo);
        int cases = 0, good = 0;
        if (v && inp && outp) {
            const char *sep = "\n__ggml_vocab_test__\n";
            char *s = inp, *line = outp;
            int32_t *ids = malloc(sizeof *ids * 65536);
            while (s < inp + li && line < outp + lo) {
                char *e = strstr(s, sep);
                const size_t n = e ? (size_t)(e - s) : strlen(s);
                char *nl = strchr(line, '\n');
                if (nl) *nl = '\0';
                const int32_t got = cllm_tokenize(v, s, n, ids, 65536, false, false);
                bool same = true;
                int32_t k = 0;
                for (char *q = line; *q;) {
                    while (*q == ' ') q++;
                    if (!*q) break;
                    long want = strtol(q, &q, 10);
                    same = same && k < got && ids[k] == want;
                    k++;
                }
                same = same && k == got;
                cases++;
                good += same;
                if (!e) break;
                s = e + strlen(sep);
                line = nl ? nl + 1 : outp + lo;
            }
            free(ids);
        }
        printf("%s: converted tokenizer (%s, pre %s): %d/%d test strings give the reference ids\n", name, model, gpre,
               good, cases);
        CHECK(cases > 10 && good == cases, "%s: %d of %d test strings differ", name, cases - good, cases);
        free(inp);
        free(outp);
        cllm_vocab_free(v);
    }
    /* an unknown pre-tokenizer regex is an error naming it */
    if (!strcmp(name, "llama3")) {
        CHECK(make_folder(g, dir, "\\p{L}+|\\p{N}+"), "rebuild");
        st = cllm_convert_hf(dir, out, &p);
        CHECK(st == CLLM_ERR_UNSUPPORTED && strstr(cllm_last_error(), "\\p{L}+|\\p{N}+"), "unknown regex: %s",
              cllm_last_error());
    }
    cllm_gguf_free(o);
    cllm_gguf_free(g);
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "config.json", "model.safetensors",
                                        "tokenizer.model"};
    for (int k = 0; k < 5; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        unlink(path);
    }
    rmdir(dir);
    unlink(out);
}

int main(void) {
    test_require_shared("vocab GGUFs");
    check_vocab("llama3", RX_LLAMA3, "llama-bpe");
    check_vocab("qwen3", RX_QWEN2, "qwen2");
    check_vocab("llama-spm", NULL, "default");
    return test_finish();
}
