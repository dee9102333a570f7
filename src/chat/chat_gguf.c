/* chat_gguf.c: builds a chat formatter from a GGUF file's metadata: the
 * default template (tokenizer.chat_template), its named variants
 * (tokenizer.chat_template.<name>, e.g. tool_use), and the text of the BOS
 * and EOS tokens, optionally replaced by a template file. */
#include "chat/chat.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_FILE_MAX (4u << 20)

static char *read_text_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cllm_set_last_error(CLLM_ERR_IO, "chat template file '%s': cannot open", path);
        return NULL;
    }
    char *buf = malloc(TEMPLATE_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, TEMPLATE_FILE_MAX + 1, f) : 0;
    bool err = ferror(f) != 0;
    fclose(f);
    if (!buf) {
        cllm_set_last_error(CLLM_ERR_NOMEM, "chat template file '%s': out of memory", path);
        return NULL;
    }
    if (err || n > TEMPLATE_FILE_MAX || memchr(buf, 0, n)) {
        free(buf);
        cllm_set_last_error(err ? CLLM_ERR_IO : CLLM_ERR_FORMAT, "chat template file '%s': %s", path,
                            err ? "read error" : n > TEMPLATE_FILE_MAX ? "larger than 4 MiB" : "contains NUL bytes");
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

/* Text of token `id_key`'s id in tokenizer.ggml.tokens; "" when absent. */
static const char *token_text(const cllm_gguf *g, const char *id_key, size_t *len) {
    uint64_t id;
    *len = 0;
    if (cllm_gguf_get_u64(g, id_key, &id) != CLLM_OK) return "";
    int64_t ki = cllm_gguf_find_key(g, "tokenizer.ggml.tokens");
    if (ki < 0 || cllm_gguf_kv_type(g, ki) != CLLM_GGUF_ARRAY || cllm_gguf_arr_type(g, ki) != CLLM_GGUF_STRING ||
        id >= cllm_gguf_arr_n(g, ki))
        return "";
    const char *s = cllm_gguf_arr_str(g, ki, id, len);
    return s ? s : "";
}

cllm_status cllm_chat_init_gguf(const cllm_gguf *g, const char *template_file, cllm_chat **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat: out is NULL");
    *out = NULL;
    if (!g) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat: NULL gguf");
    cllm_chat_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char *override = NULL;
    if (template_file) {
        override = read_text_file(template_file);
        if (!override) return (cllm_status)(strstr(cllm_last_error(), "memory") ? CLLM_ERR_NOMEM : CLLM_ERR_IO);
        cfg.override_source = override;
    }
    const char *src = NULL;
    if (cllm_gguf_get_str(g, "tokenizer.chat_template", &src, NULL) == CLLM_OK) cfg.template_source = src;
    int64_t nkv = cllm_gguf_n_kv(g);
    const char **names = calloc((size_t)(nkv > 0 ? nkv : 1), sizeof *names);
    const char **srcs = calloc((size_t)(nkv > 0 ? nkv : 1), sizeof *srcs);
    if (!names || !srcs) {
        free(names);
        free(srcs);
        free(override);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "chat: out of memory");
    }
    static const char prefix[] = "tokenizer.chat_template.";
    for (int64_t i = 0; i < nkv; i++) {
        const char *key = cllm_gguf_key(g, i);
        if (!key || strncmp(key, prefix, sizeof prefix - 1) != 0 || !key[sizeof prefix - 1]) continue;
        const char *s = NULL;
        if (cllm_gguf_get_str(g, key, &s, NULL) != CLLM_OK) continue;
        names[cfg.n_named] = key + sizeof prefix - 1;
        srcs[cfg.n_named] = s;
        cfg.n_named++;
    }
    cfg.named_names = names;
    cfg.named_sources = srcs;
    size_t bl, el;
    const char *bos = token_text(g, "tokenizer.ggml.bos_token_id", &bl);
    const char *eos = token_text(g, "tokenizer.ggml.eos_token_id", &el);
    char *bos_c = strndup(bos, bl), *eos_c = strndup(eos, el);
    cllm_status st;
    if (!bos_c || !eos_c) st = cllm_set_last_error(CLLM_ERR_NOMEM, "chat: out of memory");
    else {
        cfg.bos_token = bos_c;
        cfg.eos_token = eos_c;
        st = cllm_chat_init(&cfg, out);
    }
    free(bos_c);
    free(eos_c);
    free(names);
    free(srcs);
    free(override);
    return st;
}
