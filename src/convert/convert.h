/* convert.h: Hugging Face llama-family checkpoints (config.json,
 * *.safetensors, tokenizer files) to GGUF, as llama.cpp's
 * convert_hf_to_gguf.py writes them for LlamaForCausalLM: tensor names mapped
 * to blk.N.*, Q/K rows permuted to the GGUF rotary layout, llama.* hyper-
 * parameters, tokenizer.ggml.* keys, tied embeddings without output.weight. */
#ifndef CLLM_CONVERT_CONVERT_H
#define CLLM_CONVERT_CONVERT_H

#include "cllm.h"

#include <stdint.h>

/* Called once per tensor after it is converted (from the calling thread). */
typedef void (*cllm_convert_progress_fn)(int64_t i, int64_t n, const char *src_name, const char *dst_name,
                                         cllm_type type, const int64_t ne[4], void *user);

typedef struct cllm_convert_params {
    cllm_type outtype;   /* F32, F16, BF16 or Q8_0 for the 2-D weights (norms stay F32) */
    const char *name;    /* general.name; NULL: the folder's name */
    cllm_convert_progress_fn progress; /* may be NULL */
    void *user;
} cllm_convert_params;

/* Convert the checkpoint folder dir to out_path. On failure the status names
 * the unsupported or malformed part in cllm_last_error() and out_path is not
 * created. */
cllm_status cllm_convert_hf(const char *dir, const char *out_path, const cllm_convert_params *p);

#endif /* CLLM_CONVERT_CONVERT_H */
