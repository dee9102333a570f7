/* convert_internal.h: pieces shared by the files of src/convert/ (the
 * Hugging Face checkpoint folder's JSON files, the vocab writer). */
#ifndef CLLM_CONVERT_INTERNAL_H
#define CLLM_CONVERT_INTERNAL_H

#include "cllm.h"
#include "gguf/gguf_writer.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The JSON files of a checkpoint folder (NULL when absent; config required). */
typedef struct hf_files {
    const char *dir;            /* borrowed */
    json_t *config;             /* config.json */
    json_t *tok_json;           /* tokenizer.json */
    json_t *tok_config;         /* tokenizer_config.json */
    char *chat_template_file;   /* chat_template.jinja contents */
} hf_files;

cllm_status cllm_convert_hf_files_load(const char *dir, hf_files *hf);
void        cllm_convert_hf_files_free(hf_files *hf);

/* Write the tokenizer.ggml.* keys (and the chat template) for hf.
 * vocab_size: config.json's vocab_size (pads the vocab), or <= 0. */
cllm_status cllm_convert_vocab(cllm_gguf_writer *w, const hf_files *hf, int64_t vocab_size);

/* Whole file into a NUL-terminated malloc'd buffer (caller frees); NULL on error. */
char *cllm_convert_read_file(const char *path, size_t *len_out);

#endif /* CLLM_CONVERT_INTERNAL_H */
