/* quantize_file.h: quantize a whole GGUF model file the way llama-quantize
 * does without an importance matrix: either every quantizable 2-D weight
 * becomes the target type (--pure), or the file type's per-tensor mix
 * (llama.cpp's llama_tensor_get_type rules) is applied; other tensors are copied,
 * metadata is copied with general.file_type / general.quantization_version
 * updated, and tensors are written in llama.cpp's order (non-layer tensors
 * first, then by layer number, by name within each group), so outputs of the
 * deterministic types are byte-identical to llama-quantize's. */
#ifndef CLLM_QUANT_QUANTIZE_FILE_H
#define CLLM_QUANT_QUANTIZE_FILE_H

#include "cllm.h"

#include <stdbool.h>
#include <stdint.h>

/* llama.cpp's llama_ftype values (stored as general.file_type). */
enum {
    CLLM_FTYPE_ALL_F32 = 0, CLLM_FTYPE_MOSTLY_F16 = 1, CLLM_FTYPE_MOSTLY_Q4_0 = 2,
    CLLM_FTYPE_MOSTLY_Q4_1 = 3, CLLM_FTYPE_MOSTLY_Q8_0 = 7, CLLM_FTYPE_MOSTLY_Q5_0 = 8,
    CLLM_FTYPE_MOSTLY_Q5_1 = 9, CLLM_FTYPE_MOSTLY_Q2_K = 10, CLLM_FTYPE_MOSTLY_Q3_K_S = 11,
    CLLM_FTYPE_MOSTLY_Q3_K_M = 12, CLLM_FTYPE_MOSTLY_Q3_K_L = 13, CLLM_FTYPE_MOSTLY_Q4_K_S = 14,
    CLLM_FTYPE_MOSTLY_Q4_K_M = 15, CLLM_FTYPE_MOSTLY_Q5_K_S = 16, CLLM_FTYPE_MOSTLY_Q5_K_M = 17,
    CLLM_FTYPE_MOSTLY_Q6_K = 18, CLLM_FTYPE_MOSTLY_IQ4_NL = 25, CLLM_FTYPE_MOSTLY_IQ4_XS = 30,
    CLLM_FTYPE_MOSTLY_BF16 = 32
};

/* Parse a target name: a type name (q4_0, Q4_K, iq4_xs, f16, ...) or a
 * llama.cpp file-type name (Q3_K_M, Q4_K_S, Q5_K_M, ...; case-insensitive).
 * Sets the tensor type and the llama_ftype to record. False if unknown. */
bool cllm_quant_parse_target(const char *name, cllm_type *type, int *ftype);

/* Progress: called once per tensor after it is done, from the calling thread.
 * src/dst types are those of the input and output tensor (equal when the
 * tensor was copied). */
typedef void (*cllm_quant_progress_fn)(int64_t i, int64_t n, const char *name, cllm_type src, cllm_type dst,
                                       const int64_t ne[4], uint64_t src_bytes, uint64_t dst_bytes, void *user);

typedef struct cllm_quant_file_params {
    cllm_type type;           /* target tensor type */
    int ftype;                /* general.file_type to write; -1: derive from type */
    int n_threads;            /* >= 1 */
    bool allow_requantize;    /* accept already-quantized weights as input */
    bool pure;                /* every weight gets `type` (llama-quantize --pure); false: the file
                                 type's per-tensor mix (output -> Q6_K, some attn_v/ffn_down
                                 higher, ...), as llama-quantize does by default */
    cllm_quant_progress_fn progress; /* may be NULL */
    void *user;
} cllm_quant_file_params;

/* Totals reported back (may be NULL). */
typedef struct cllm_quant_file_stats {
    int64_t n_tensors, n_quantized;
    uint64_t in_bytes, out_bytes;   /* tensor data only */
} cllm_quant_file_stats;

/* Quantize in_path to out_path. On failure returns the status with the reason
 * in cllm_last_error() (naming the tensor or key at fault); out_path is not
 * created or left partial. */
cllm_status cllm_quant_file(const char *in_path, const char *out_path, const cllm_quant_file_params *p,
                            cllm_quant_file_stats *stats);

#endif /* CLLM_QUANT_QUANTIZE_FILE_H */
