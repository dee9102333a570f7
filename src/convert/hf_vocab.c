/* hf_vocab.c: the tokenizer of a Hugging Face checkpoint as tokenizer.ggml.*
 * keys, written the way llama.cpp's convert_hf_to_gguf.py writes them for
 * llama-family models:
 *  - tokenizer.model (SentencePiece protobuf): "llama" model, pieces, scores
 *    and types from the protobuf, added tokens from added_tokens.json and
 *    tokenizer_config.json's added_tokens_decoder, padded to vocab_size;
 *  - tokenizer.json with a byte-fallback BPE model and a Sequence decoder
 *    (SentencePiece-style BPE, its LlamaHfVocab path): "llama" model, every
 *    score -1000, <0xNN> tokens BYTE, special tokens CONTROL;
 *  - other tokenizer.json BPE models (byte-level, Llama 3 / Qwen2 / GPT-2
 *    style): "gpt2" model with merges; tokenizer.ggml.pre is chosen from the
 *    pre-tokenizer's split regex (the reference hashes the HF tokenizer's
 *    output instead, which needs the HF library);
 * then the special token ids, add_bos/add_eos and the chat template
 * (gguf-py's SpecialVocab). */
#include "convert/convert_internal.h"

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* gguf token types (llama.cpp's llama_token_type) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef struct {
    char **text;
    size_t *len;
    float *score;
    int32_t *type;
    int64_t n;
} tok_list;

static void toks_free(tok_list *t) {
    for (int64_t i = 0; i < t->n; i++) free(t->text[i]);
    free(t->text);
    free(t->len);
    free(t->score);
    free(t->type);
    memset(t, 0, sizeof *t);
}

static bool toks_alloc(tok_list *t, int64_t n) {
    t->text = calloc((size_t)(n > 0 ? n : 1), sizeof *t->text);
    t->len = calloc((size_t)(n > 0 ? n : 1), sizeof *t->len);
    t->score = calloc((size_t)(n > 0 ? n : 1), sizeof *t->score);
    t->type = calloc((size_t)(n > 0 ? n : 1), sizeof *t->type);
    t->n = n;
    return t->text && t->len && t->score && t->type;
}

static bool toks_set(tok_list *t, int64_t i, const char *s, size_t n, float score, int32_t type) {
    char *c = malloc(n + 1);
    if (!c) return false;
    memcpy(c, s, n);
    c[n] = '\0';
    free(t->text[i]);
    t->text[i] = c;
    t->len[i] = n;
    t->score[i] = score;
    t->type[i] = type;
    return true;
}

static bool toks_pad(tok_list *t, int64_t i, int32_t type, float score) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "[PAD%lld]", (long long)i);
    return toks_set(t, i, buf, (size_t)n, score, type);
}

/* Replace every U+2581 with a space (user-defined tokens are stored
 * pre-normalized). */
static void unspace(char *s, size_t *len) {
    size_t o = 0;
    for (size_t i = 0; i < *len;) {
        if (i + 2 < *len + 0 && (unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x96 &&
            (unsigned char)s[i + 2] == 0x81) {
            s[o++] = ' ';
            i += 3;
        } else {
            s[o++] = s[i++];
        }
    }
    s[o] = '\0';
    *len = o;
}

static bool looks_special(const char *s) {
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") || !strcmp(s, "[@BOS@]")) return true;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>")) return true;
    /* "<｜" ... "｜>" (fullwidth bars, deepseek-coder) */
    if (n >= 8 && !strncmp(s, "<\xEF\xBD\x9C", 4) && !strcmp(s + n - 4, "\xEF\xBD\x9C>")) return true;
    if (n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>') return true;
    return false;
}

static json_t *load_json_opt(const char *dir, const char *name, cllm_status *st) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *st = CLLM_OK;
    if (access(path, F_OK) != 0) return NULL;
    json_error_t e;
    json_t *j = json_load_file(path, JSON_DECODE_ANY, &e);
    /* integers beyond int64 (tokenizer_config's model_max_length is often
     * 1e30): read the file again with every integer as a real */
    if (!j && strstr(e.text, "too big")) j = json_load_file(path, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &e);
    if (!j) *st = cllm_set_last_error(CLLM_ERR_FORMAT, "convert: %s: line %d: %s", path, e.line, e.text);
    return j;
}

/* Content of a tokenizer_config "<typ>_token" entry (string or {"content": ...}). */
static const char *token_content(json_t *e) {
    if (json_is_string(e)) return json_string_value(e);
    if (json_is_object(e)) return json_string_value(json_object_get(e, "content"));
    return NULL;
}

/* ------------------------------------------------------------ specials */

static const char *const k_special_types[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
static const char *const k_special_keys[] = {
    "tokenizer.ggml.bos_token_id",     "tokenizer.ggml.eos_token_id",     "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.seperator_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.cls_token_id",
    "tokenizer.ggml.mask_token_id"};
#define N_SPECIAL 7

/* gguf-py's SpecialVocab: ids from tokenizer_config + tokenizer.json's
 * added_tokens, then config.json's <typ>_token_id; written in the order found. */
static cllm_status write_specials(cllm_gguf_writer *w, const hf_files *hf, int64_t n_vocab) {
    int64_t ids[N_SPECIAL];
    int order[N_SPECIAL], n_order = 0;
    for (int k = 0; k < N_SPECIAL; k++) ids[k] = -1;
    json_t *added = hf->tok_json ? json_object_get(hf->tok_json, "added_tokens") : NULL;
    for (int k = 0; k < N_SPECIAL && hf->tok_config; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token", k_special_types[k]);
        const char *content = token_content(json_object_get(hf->tok_config, key));
        if (!content) continue;
        size_t i;
        json_t *a;
        json_array_foreach(added, i, a) {
            const char *c = json_string_value(json_object_get(a, "content"));
            json_t *id = json_object_get(a, "id");
            if (c && !strcmp(c, content) && json_is_integer(id)) {
                const int64_t v = json_integer_value(id);
                if (v >= 0 && (n_vocab <= 0 || v < n_vocab)) {
                    ids[k] = v;
                    order[n_order++] = k;
                }
                break;
            }
        }
    }
    for (int k = 0; k < N_SPECIAL && hf->config; k++) {
        if (ids[k] >= 0) continue;
        char key[32];
        snprintf(key, sizeof key, "%s_token_id", k_special_types[k]);
        json_t *v = json_object_get(hf->config, key);
        if (json_is_array(v)) v = json_array_get(v, 0); /* eos lists: the first */
        if (!json_is_integer(v)) continue;
        const int64_t id = json_integer_value(v);
        if (id >= 0 && (n_vocab <= 0 || id < n_vocab)) {
            ids[k] = id;
            order[n_order++] = k;
        }
    }
    cllm_status st = CLLM_OK;
    for (int o = 0; o < n_order && st == CLLM_OK; o++)
        st = cllm_gguf_writer_set_u32(w, k_special_keys[order[o]], (uint32_t)ids[order[o]]);
    static const char *const add_types[] = {"bos", "eos"};
    for (int k = 0; k < 2 && st == CLLM_OK && hf->tok_config; k++) {
        char key[40], gkey[48];
        snprintf(key, sizeof key, "add_%s_token", add_types[k]);
        json_t *v = json_object_get(hf->tok_config, key);
        if (!json_is_boolean(v)) continue;
        snprintf(gkey, sizeof gkey, "tokenizer.ggml.add_%s_token", add_types[k]);
        st = cllm_gguf_writer_set_bool(w, gkey, json_is_true(v));
    }
    /* chat template: tokenizer_config's string (or list of named ones), else
     * a chat_template.jinja file next to it */
    json_t *tmpl = hf->tok_config ? json_object_get(hf->tok_config, "chat_template") : NULL;
    if (st == CLLM_OK && json_is_string(tmpl)) {
        st = cllm_gguf_writer_set_str(w, "tokenizer.chat_template", json_string_value(tmpl));
    } else if (st == CLLM_OK && json_is_array(tmpl)) {
        size_t i;
        json_t *e;
        json_array_foreach(tmpl, i, e) {
            const char *name = json_string_value(json_object_get(e, "name"));
            const char *src = json_string_value(json_object_get(e, "template"));
            if (!name || !src || st != CLLM_OK) continue;
            char key[256];
            if (!strcmp(name, "default")) snprintf(key, sizeof key, "tokenizer.chat_template");
            else snprintf(key, sizeof key, "tokenizer.chat_template.%s", name);
            st = cllm_gguf_writer_set_str(w, key, src);
        }
    } else if (st == CLLM_OK && hf->chat_template_file) {
        st = cllm_gguf_writer_set_str(w, "tokenizer.chat_template", hf->chat_template_file);
    }
    if (st != CLLM_OK)
        return cllm_set_last_error(st, "convert: tokenizer metadata: %s", cllm_gguf_writer_last_error(w));
    return CLLM_OK;
}

/* ------------------------------------------------- SentencePiece protobuf */

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (int sh = 0; sh < 64 && *p < end; sh += 7) {
        const uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Skip a field of wire type wt; false when malformed. */
static bool pb_skip(const uint8_t **p, const uint8_t *end, unsigned wt) {
    uint64_t v;
    switch (wt) {
    case 0: return pb_varint(p, end, &v);
    case 1: if (end - *p < 8) return false; *p += 8; return true;
    case 5: if (end - *p < 4) return false; *p += 4; return true;
    case 2:
        if (!pb_varint(p, end, &v) || v > (uint64_t)(end - *p)) return false;
        *p += v;
        return true;
    default: return false;
    }
}

/* ModelProto.pieces (field 1): SentencePiece {1: piece, 2: score, 3: type}. */
static cllm_status spm_load(const char *path, tok_list *t) {
    size_t size = 0;
    uint8_t *buf = (uint8_t *)cllm_convert_read_file(path, &size);
    if (!buf) return cllm_set_last_error(CLLM_ERR_IO, "convert: cannot read %s", path);
    cllm_status st = CLLM_OK;
    int64_t cap = 0;
    const uint8_t *p = buf, *end = buf + size;
    while (p < end && st == CLLM_OK) {
        uint64_t key, len;
        if (!pb_varint(&p, end, &key)) { st = CLLM_ERR_FORMAT; break; }
        if (key != ((1u << 3) | 2)) {
            if (!pb_skip(&p, end, (unsigned)(key & 7))) st = CLLM_ERR_FORMAT;
            continue;
        }
        if (!pb_varint(&p, end, &len) || len > (uint64_t)(end - p)) { st = CLLM_ERR_FORMAT; break; }
        const uint8_t *q = p, *qe = p + len;
        p = qe;
        const char *piece = NULL;
        size_t piece_len = 0;
        float score = 0.0f;
        int32_t type = 1;
        while (q < qe) {
            uint64_t k2, v;
            if (!pb_varint(&q, qe, &k2)) { st = CLLM_ERR_FORMAT; break; }
            if (k2 == ((1u << 3) | 2)) {
                if (!pb_varint(&q, qe, &v) || v > (uint64_t)(qe - q)) { st = CLLM_ERR_FORMAT; break; }
                piece = (const char *)q;
                piece_len = (size_t)v;
                q += v;
            } else if (k2 == ((2u << 3) | 5)) {
                if (qe - q < 4) { st = CLLM_ERR_FORMAT; break; }
                memcpy(&score, q, 4);
                q += 4;
            } else if (k2 == ((3u << 3) | 0)) {
                if (!pb_varint(&q, qe, &v)) { st = CLLM_ERR_FORMAT; break; }
                type = (int32_t)v;
            } else if (!pb_skip(&q, qe, (unsigned)(k2 & 7))) {
                st = CLLM_ERR_FORMAT;
                break;
            }
        }
        if (st != CLLM_OK) break;
        if (t->n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **a = realloc(t->text, (size_t)cap * sizeof *a);
            size_t *b = a ? realloc(t->len, (size_t)cap * sizeof *b) : NULL;
            float *c = b ? realloc(t->score, (size_t)cap * sizeof *c) : NULL;
            int32_t *d = c ? realloc(t->type, (size_t)cap * sizeof *d) : NULL;
            if (a) t->text = a;
            if (b) t->len = b;
            if (c) t->score = c;
            if (d) t->type = d;
            if (!d) { st = CLLM_ERR_NOMEM; break; }
        }
        /* sentencepiece types: 1 normal 2 unknown 3 control 4 user-defined
         * 5 unused 6 byte; the reference writes user-defined ones as normal */
        const int32_t tt = type == 2 ? TT_UNKNOWN : type == 3 ? TT_CONTROL : type == 5 ? TT_UNUSED
                         : type == 6 ? TT_BYTE : TT_NORMAL;
        t->text[t->n] = NULL;
        if (!toks_set(t, t->n, piece ? piece : "", piece_len, score, tt)) { st = CLLM_ERR_NOMEM; break; }
        t->n++;
    }
    free(buf);
    if (st == CLLM_ERR_FORMAT) return cllm_set_last_error(st, "convert: %s: malformed SentencePiece model", path);
    if (st != CLLM_OK) return cllm_set_last_error(st, "convert: out of memory reading %s", path);
    if (t->n == 0) return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: %s holds no pieces", path);
    return CLLM_OK;
}

static cllm_status vocab_sentencepiece(cllm_gguf_writer *w, const hf_files *hf, int64_t vocab_size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.model", hf->dir);
    tok_list sp = {0}, t = {0};
    cllm_status st = spm_load(path, &sp);
    if (st != CLLM_OK) {
        toks_free(&sp);
        return st;
    }
    const int64_t n = vocab_size > 0 ? vocab_size : sp.n;
    if (!toks_alloc(&t, n)) st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    for (int64_t i = 0; i < n && st == CLLM_OK; i++) {
        bool ok = i < sp.n ? toks_set(&t, i, sp.text[i], sp.len[i], sp.score[i], sp.type[i])
                           : toks_pad(&t, i, TT_UNUSED, -10000.0f);
        if (!ok) st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    }
    /* added_tokens.json {"text": id}: user-defined tokens */
    cllm_status jst;
    json_t *added = load_json_opt(hf->dir, "added_tokens.json", &jst);
    if (jst != CLLM_OK && st == CLLM_OK) st = jst;
    const char *k;
    json_t *v;
    if (json_is_object(added) && st == CLLM_OK) json_object_foreach(added, k, v) {
        const int64_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id >= n) {
            CLLM_LOGW("convert: added token '%s' id %lld is outside the vocab (%lld), ignored", k, (long long)id,
                      (long long)n);
            continue;
        }
        if (!toks_set(&t, id, k, strlen(k), -1000.0f, TT_USER_DEFINED)) st = CLLM_ERR_NOMEM;
    }
    json_decref(added);
    /* tokenizer_config.json added_tokens_decoder {"id": {"content", "special"}} */
    json_t *dec = hf->tok_config ? json_object_get(hf->tok_config, "added_tokens_decoder") : NULL;
    if (json_is_object(dec) && st == CLLM_OK) json_object_foreach(dec, k, v) {
        char *endp = NULL;
        const long long id = strtoll(k, &endp, 10);
        const char *content = json_string_value(json_object_get(v, "content"));
        if (!content || *endp || id < 0 || id >= n) continue;
        char *c = strdup(content);
        if (!c) { st = CLLM_ERR_NOMEM; break; }
        size_t len = strlen(c);
        int32_t tt = TT_CONTROL;
        if (!json_is_true(json_object_get(v, "special")) && !looks_special(c)) {
            unspace(c, &len);
            tt = TT_USER_DEFINED;
        }
        if (!toks_set(&t, id, c, len, -1000.0f, tt)) st = CLLM_ERR_NOMEM;
        free(c);
    }
    if (st == CLLM_ERR_NOMEM) cllm_set_last_error(st, "convert: out of memory");
    if (st == CLLM_OK) {
        if ((st = cllm_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) == CLLM_OK &&
            (st = cllm_gguf_writer_set_str(w, "tokenizer.ggml.pre", "default")) == CLLM_OK &&
            (st = cllm_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)t.text, t.len,
                                               (uint64_t)t.n)) == CLLM_OK &&
            (st = cllm_gguf_writer_set_arr(w, "tokenizer.ggml.scores", CLLM_GGUF_FLOAT32, t.score, (uint64_t)t.n)) ==
                CLLM_OK)
            st = cllm_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", CLLM_GGUF_INT32, t.type, (uint64_t)t.n);
        if (st != CLLM_OK) cllm_set_last_error(st, "convert: tokenizer: %s", cllm_gguf_writer_last_error(w));
    }
    if (st == CLLM_OK) st = write_specials(w, hf, t.n);
    toks_free(&sp);
    toks_free(&t);
    return st;
}

/* -------------------------------------------------------- tokenizer.json */

/* The special tokens transformers reports (all_special_ids): the named
 * tokenizer_config entries plus additional_special_tokens. */
static bool is_special_content(const hf_files *hf, const char *content) {
    if (!hf->tok_config) return false;
    for (int k = 0; k < N_SPECIAL; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token", k_special_types[k]);
        const char *c = token_content(json_object_get(hf->tok_config, key));
        if (c && !strcmp(c, content)) return true;
    }
    json_t *extra = json_object_get(hf->tok_config, "additional_special_tokens");
    size_t i;
    json_t *e;
    json_array_foreach(extra, i, e) {
        const char *c = token_content(e);
        if (c && !strcmp(c, content)) return true;
    }
    return false;
}

static json_t *added_entry(const hf_files *hf, int64_t id) {
    json_t *added = json_object_get(hf->tok_json, "added_tokens");
    size_t i;
    json_t *a;
    json_array_foreach(added, i, a) {
        json_t *jid = json_object_get(a, "id");
        if (json_is_integer(jid) && json_integer_value(jid) == id) return a;
    }
    return NULL;
}

/* id -> token text of model.vocab plus added_tokens; max id in *n_out. */
static cllm_status reverse_vocab(const hf_files *hf, const char ***rev, int64_t *n_base, int64_t *n_all) {
    json_t *vocab = json_object_get(json_object_get(hf->tok_json, "model"), "vocab");
    if (!json_is_object(vocab)) return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: tokenizer.json: model.vocab is not an object");
    int64_t max_id = -1;
    const char *k;
    json_t *v;
    json_object_foreach(vocab, k, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (1 << 24))
            return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: tokenizer.json: bad id for token '%s'", k);
        if (json_integer_value(v) > max_id) max_id = json_integer_value(v);
    }
    *n_base = (int64_t)json_object_size(vocab);
    json_t *added = json_object_get(hf->tok_json, "added_tokens");
    size_t i;
    json_t *a;
    json_array_foreach(added, i, a) {
        json_t *jid = json_object_get(a, "id");
        if (json_is_integer(jid) && json_integer_value(jid) > max_id && json_integer_value(jid) < (1 << 24))
            max_id = json_integer_value(jid);
    }
    const char **r = calloc((size_t)(max_id + 2), sizeof *r);
    if (!r) return cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    json_object_foreach(vocab, k, v) r[json_integer_value(v)] = k;
    json_array_foreach(added, i, a) {
        json_t *jid = json_object_get(a, "id");
        const char *c = json_string_value(json_object_get(a, "content"));
        if (json_is_integer(jid) && json_integer_value(jid) >= 0 && c) r[json_integer_value(jid)] = c;
    }
    *rev = r;
    *n_all = max_id + 1;
    return CLLM_OK;
}

static bool is_byte_token(const char *s) {
    return strlen(s) == 6 && !strncmp(s, "<0x", 3) && s[5] == '>' && strchr("0123456789abcdefABCDEF", s[3]) &&
           strchr("0123456789abcdefABCDEF", s[4]) && s[3] && s[4];
}

/* gguf-py's LlamaHfVocab: SentencePiece-style BPE from tokenizer.json. */
static cllm_status vocab_llama_hf(cllm_gguf_writer *w, const hf_files *hf) {
    const char **rev = NULL;
    int64_t n_base = 0, n_all = 0;
    cllm_status st = reverse_vocab(hf, &rev, &n_base, &n_all);
    if (st != CLLM_OK) return st;
    tok_list t = {0};
    if (!toks_alloc(&t, n_all)) st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    for (int64_t i = 0; i < n_all && st == CLLM_OK; i++) {
        bool ok;
        if (!rev[i]) {
            ok = toks_pad(&t, i, TT_UNUSED, -1000.0f);
        } else {
            json_t *a = i >= n_base ? added_entry(hf, i) : NULL;
            int32_t tt;
            if (a && !is_special_content(hf, rev[i])) tt = TT_USER_DEFINED; /* added, not special */
            else if (is_byte_token(rev[i])) tt = TT_BYTE;
            else if (is_special_content(hf, rev[i])) tt = TT_CONTROL;
            else tt = TT_NORMAL;
            ok = toks_set(&t, i, rev[i], strlen(rev[i]), -1000.0f, tt);
        }
        if (!ok) st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    }
    if (st == CLLM_OK) {
        if ((st = cllm_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) == CLLM_OK &&
            (st = cllm_gguf_writer_set_str(w, "tokenizer.ggml.pre", "default")) == CLLM_OK &&
            (st = cllm_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)t.text, t.len,
                                               (uint64_t)t.n)) == CLLM_OK &&
            (st = cllm_gguf_writer_set_arr(w, "tokenizer.ggml.scores", CLLM_GGUF_FLOAT32, t.score, (uint64_t)t.n)) ==
                CLLM_OK)
            st = cllm_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", CLLM_GGUF_INT32, t.type, (uint64_t)t.n);
        if (st != CLLM_OK) cllm_set_last_error(st, "convert: tokenizer: %s", cllm_gguf_writer_last_error(w));
    }
    if (st == CLLM_OK) st = write_specials(w, hf, t.n);
    free(rev);
    toks_free(&t);
    return st;
}

/* The split regexes of known byte-level BPE pre-tokenizers, as written in
 * tokenizer.json, and the tokenizer.ggml.pre the reference assigns them. */
static const struct { const char *pre, *regex; } k_pre_regex[] = {
    {"llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                  "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    {"qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
              "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};

/* Find the first Split regex or ByteLevel(use_regex) in a pre_tokenizer tree. */
static void scan_pretok(json_t *p, const char **regex, bool *bytelevel_regex) {
    if (!json_is_object(p)) return;
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type) return;
    if (!strcmp(type, "Sequence")) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(p, "pretokenizers"), i, e) scan_pretok(e, regex, bytelevel_regex);
    } else if (!strcmp(type, "Split") && !*regex) {
        *regex = json_string_value(json_object_get(json_object_get(p, "pattern"), "Regex"));
    } else if (!strcmp(type, "ByteLevel")) {
        json_t *u = json_object_get(p, "use_regex");
        if (!u || json_is_true(u)) *bytelevel_regex = true;
    }
}

static cllm_status detect_pre(const hf_files *hf, const char **pre) {
    const char *regex = NULL;
    bool bl = false;
    scan_pretok(json_object_get(hf->tok_json, "pre_tokenizer"), &regex, &bl);
    if (regex) {
        for (size_t i = 0; i < sizeof k_pre_regex / sizeof k_pre_regex[0]; i++)
            if (!strcmp(regex, k_pre_regex[i].regex)) {
                *pre = k_pre_regex[i].pre;
                return CLLM_OK;
            }
        return cllm_set_last_error(CLLM_ERR_UNSUPPORTED,
                                   "convert: tokenizer.json: BPE pre-tokenizer regex not recognized (%.200s); known: "
                                   "Llama 3 (llama-bpe), Qwen2, GPT-2 byte-level",
                                   regex);
    }
    if (bl) {
        *pre = "gpt-2";
        return CLLM_OK;
    }
    return cllm_set_last_error(CLLM_ERR_UNSUPPORTED,
                               "convert: tokenizer.json: byte-level BPE without a recognized pre-tokenizer");
}

/* Merges as "a b" strings; the list-of-pairs form (transformers >= 4.45)
 * is joined with spaces inside parts encoded as U+0120 (as gguf-py does). */
static cllm_status write_merges(cllm_gguf_writer *w, const hf_files *hf) {
    json_t *merges = json_object_get(json_object_get(hf->tok_json, "model"), "merges");
    const size_t n = json_array_size(merges);
    if (n == 0) return CLLM_OK;
    char **m = calloc(n, sizeof *m);
    if (!m) return cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    cllm_status st = CLLM_OK;
    for (size_t i = 0; i < n && st == CLLM_OK; i++) {
        json_t *e = json_array_get(merges, i);
        if (json_is_string(e)) {
            m[i] = strdup(json_string_value(e));
        } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
                   json_is_string(json_array_get(e, 1))) {
            const char *a = json_string_value(json_array_get(e, 0)), *b = json_string_value(json_array_get(e, 1));
            m[i] = malloc(2 * (strlen(a) + strlen(b)) + 2);
            if (m[i]) {
                char *o = m[i];
                for (const char *s = a; *s; s++) {
                    if (*s == ' ') { *o++ = (char)0xC4; *o++ = (char)0xA0; } else *o++ = *s;
                }
                *o++ = ' ';
                for (const char *s = b; *s; s++) {
                    if (*s == ' ') { *o++ = (char)0xC4; *o++ = (char)0xA0; } else *o++ = *s;
                }
                *o = '\0';
            }
        } else {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "convert: tokenizer.json: merge %zu is malformed", i);
            break;
        }
        if (!m[i]) st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    }
    if (st == CLLM_OK &&
        (st = cllm_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)m, NULL, n)) != CLLM_OK)
        cllm_set_last_error(st, "convert: merges: %s", cllm_gguf_writer_last_error(w));
    for (size_t i = 0; i < n; i++) free(m[i]);
    free(m);
    return st;
}

/* _set_vocab_gpt2: byte-level BPE. */
static cllm_status vocab_gpt2(cllm_gguf_writer *w, const hf_files *hf, int64_t vocab_size) {
    const char *pre = NULL;
    cllm_status st = detect_pre(hf, &pre);
    if (st != CLLM_OK) return st;
    const char **rev = NULL;
    int64_t n_base = 0, n_all = 0;
    if ((st = reverse_vocab(hf, &rev, &n_base, &n_all)) != CLLM_OK) return st;
    const int64_t n = vocab_size > 0 ? vocab_size : n_all;
    if (n_all > n) {
        free(rev);
        return cllm_set_last_error(CLLM_ERR_FORMAT, "convert: tokenizer has ids up to %lld but vocab_size is %lld",
                                   (long long)(n_all - 1), (long long)n);
    }
    tok_list t = {0};
    if (!toks_alloc(&t, n)) st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    for (int64_t i = 0; i < n && st == CLLM_OK; i++) {
        bool ok;
        if (i >= n_all || !rev[i]) {
            ok = toks_pad(&t, i, TT_UNUSED, 0.0f);
        } else {
            json_t *a = added_entry(hf, i);
            if (a) {
                if (json_is_true(json_object_get(a, "special")) || looks_special(rev[i])) {
                    ok = toks_set(&t, i, rev[i], strlen(rev[i]), 0.0f, TT_CONTROL);
                } else {
                    char *c = strdup(rev[i]);
                    size_t len = c ? strlen(c) : 0;
                    if (c) unspace(c, &len);
                    ok = c && toks_set(&t, i, c, len, 0.0f, TT_USER_DEFINED);
                    free(c);
                }
            } else {
                ok = toks_set(&t, i, rev[i], strlen(rev[i]), 0.0f, TT_NORMAL);
            }
        }
        if (!ok) st = cllm_set_last_error(CLLM_ERR_NOMEM, "convert: out of memory");
    }
    if (st == CLLM_OK) {
        if ((st = cllm_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2")) == CLLM_OK &&
            (st = cllm_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre)) == CLLM_OK &&
            (st = cllm_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)t.text, t.len,
                                               (uint64_t)t.n)) == CLLM_OK)
            st = cllm_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", CLLM_GGUF_INT32, t.type, (uint64_t)t.n);
        if (st != CLLM_OK) cllm_set_last_error(st, "convert: tokenizer: %s", cllm_gguf_writer_last_error(w));
    }
    if (st == CLLM_OK) st = write_merges(w, hf);
    if (st == CLLM_OK) st = write_specials(w, hf, t.n);
    free(rev);
    toks_free(&t);
    return st;
}

cllm_status cllm_convert_vocab(cllm_gguf_writer *w, const hf_files *hf, int64_t vocab_size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.model", hf->dir);
    if (access(path, F_OK) == 0) return vocab_sentencepiece(w, hf, vocab_size);
    if (!hf->tok_json)
        return cllm_set_last_error(CLLM_ERR_NOT_FOUND, "convert: %s has neither tokenizer.model nor tokenizer.json",
                                   hf->dir);
    json_t *model = json_object_get(hf->tok_json, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    if (!type || strcmp(type, "BPE") != 0)
        return cllm_set_last_error(CLLM_ERR_UNSUPPORTED,
                                   "convert: tokenizer.json: model type %s is not supported (only BPE; a "
                                   "SentencePiece Unigram model needs tokenizer.model)",
                                   type ? type : "(missing)");
    const bool byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    const bool ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    const char *dec = json_string_value(json_object_get(json_object_get(hf->tok_json, "decoder"), "type"));
    /* LlamaHfVocab takes SentencePiece-style BPE (byte fallback, Sequence
     * decoder); everything else (Llama 3 and other byte-level BPE) is gpt2 */
    if (byte_fallback && !ignore_merges && dec && !strcmp(dec, "Sequence")) return vocab_llama_hf(w, hf);
    return vocab_gpt2(w, hf, vocab_size);
}

cllm_status cllm_convert_hf_files_load(const char *dir, hf_files *hf) {
    memset(hf, 0, sizeof *hf);
    hf->dir = dir;
    cllm_status st;
    hf->config = load_json_opt(dir, "config.json", &st);
    if (st != CLLM_OK) return st;
    if (!json_is_object(hf->config))
        return cllm_set_last_error(CLLM_ERR_NOT_FOUND, "convert: %s/config.json is missing or not a JSON object", dir);
    hf->tok_json = load_json_opt(dir, "tokenizer.json", &st);
    if (st != CLLM_OK) return st;
    hf->tok_config = load_json_opt(dir, "tokenizer_config.json", &st);
    if (st != CLLM_OK) return st;
    char path[4096];
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    if (access(path, F_OK) == 0) {
        size_t n = 0;
        hf->chat_template_file = cllm_convert_read_file(path, &n);
    }
    return CLLM_OK;
}

void cllm_convert_hf_files_free(hf_files *hf) {
    json_decref(hf->config);
    json_decref(hf->tok_json);
    json_decref(hf->tok_config);
    free(hf->chat_template_file);
    memset(hf, 0, sizeof *hf);
}
