/* safetensors.h: read-only access to Hugging Face *.safetensors checkpoints,
 * single files or sharded sets (model.safetensors.index.json).
 *
 * File layout: u64 little-endian header length N, then N bytes of JSON
 * ({"name": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [b, e]},
 * "__metadata__": {...}}), then the data section; offsets are relative to
 * its start. Shapes are in PyTorch order (shape[0] is the outermost dim, the
 * last dim is contiguous), i.e. the reverse of ggml's ne order. Files are
 * mapped; tensor data pointers are borrowed from the set. */
#ifndef CLLM_CONVERT_SAFETENSORS_H
#define CLLM_CONVERT_SAFETENSORS_H

#include "cllm.h"

#include <stddef.h>
#include <stdint.h>

typedef enum cllm_st_dtype { CLLM_ST_F32, CLLM_ST_F16, CLLM_ST_BF16, CLLM_ST_F64 } cllm_st_dtype;

typedef struct cllm_st_tensor {
    char *name;
    cllm_st_dtype dtype;
    int n_dims;            /* 0..4 */
    int64_t shape[4];      /* PyTorch order */
    int64_t n_elements;
    const void *data;      /* into the mapping (borrowed) */
    uint64_t nbytes;
    int file;              /* index of the shard it lives in */
} cllm_st_tensor;

typedef struct cllm_st_set cllm_st_set;

/* Open every safetensors file of a checkpoint folder: dir/model.safetensors.
 * index.json's shards when present, else every DIR/NAME.safetensors (sorted by
 * name). Tensors are listed shard by shard, by name within a shard (the order
 * llama.cpp's converter sees them in). On failure *out is NULL and
 * cllm_last_error() names the file and the defect. */
cllm_status cllm_st_open_dir(const char *dir, cllm_st_set **out);
/* Open one file. */
cllm_status cllm_st_open_file(const char *path, cllm_st_set **out);
void        cllm_st_free(cllm_st_set *s);

int64_t               cllm_st_n_tensors(const cllm_st_set *s);
const cllm_st_tensor *cllm_st_tensor_at(const cllm_st_set *s, int64_t i);
const cllm_st_tensor *cllm_st_find(const cllm_st_set *s, const char *name); /* NULL if absent */
const char           *cllm_st_dtype_name(cllm_st_dtype t);

/* Convert n elements starting at element `first` of t to float32. */
void cllm_st_to_f32(const cllm_st_tensor *t, int64_t first, int64_t n, float *dst);

#endif /* CLLM_CONVERT_SAFETENSORS_H */
