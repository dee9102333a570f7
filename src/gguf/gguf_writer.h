/* gguf_writer.h: building GGUF v3 files (metadata + tensors) in the standard
 * layout llama.cpp reads: header, key/values in insertion order, tensor
 * infos, zero padding to the alignment, then each tensor's data at the next
 * aligned offset in insertion order (offsets are exactly the running padded
 * sizes, which llama.cpp checks), the last one padded too.
 *
 * Usage:
 *   cllm_gguf_writer *w;
 *   cllm_gguf_writer_init(&w);
 *   cllm_gguf_writer_copy_kv(w, src, skip_fn, NULL);     // metadata of a reader
 *   cllm_gguf_writer_set_u32(w, "general.file_type", 7);
 *   cllm_gguf_writer_add_tensor(w, "blk.0.ffn_up.weight", CLLM_TYPE_Q8_0, 2, ne, data);
 *   cllm_gguf_writer_write(w, "out.gguf");
 *   cllm_gguf_writer_free(w);
 *
 * Setting a key that exists replaces its value in place (its position in the
 * file is kept). "general.alignment" must be a uint32 nonzero power of two;
 * it sets the alignment of the written file (default 32, key not written
 * unless set). Every setter copies its arguments; only tensor data is
 * borrowed (it must stay valid until write returns). Failing calls return a
 * status and leave a message in cllm_gguf_writer_last_error(w) (and the
 * thread's cllm_last_error()). */
#ifndef CLLM_GGUF_WRITER_H
#define CLLM_GGUF_WRITER_H

#include "cllm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cllm_gguf_writer cllm_gguf_writer;

/* ggml's name limit: llama.cpp refuses tensor names of 64 bytes or more. */
#define CLLM_GGUF_MAX_TENSOR_NAME 63

cllm_status cllm_gguf_writer_init(cllm_gguf_writer **out);
void        cllm_gguf_writer_free(cllm_gguf_writer *w);
const char *cllm_gguf_writer_last_error(const cllm_gguf_writer *w);

/* Scalars. key: non-empty UTF-8 without NUL bytes (copied). */
cllm_status cllm_gguf_writer_set_u8  (cllm_gguf_writer *w, const char *key, uint8_t v);
cllm_status cllm_gguf_writer_set_i8  (cllm_gguf_writer *w, const char *key, int8_t v);
cllm_status cllm_gguf_writer_set_u16 (cllm_gguf_writer *w, const char *key, uint16_t v);
cllm_status cllm_gguf_writer_set_i16 (cllm_gguf_writer *w, const char *key, int16_t v);
cllm_status cllm_gguf_writer_set_u32 (cllm_gguf_writer *w, const char *key, uint32_t v);
cllm_status cllm_gguf_writer_set_i32 (cllm_gguf_writer *w, const char *key, int32_t v);
cllm_status cllm_gguf_writer_set_f32 (cllm_gguf_writer *w, const char *key, float v);
cllm_status cllm_gguf_writer_set_bool(cllm_gguf_writer *w, const char *key, bool v);
cllm_status cllm_gguf_writer_set_u64 (cllm_gguf_writer *w, const char *key, uint64_t v);
cllm_status cllm_gguf_writer_set_i64 (cllm_gguf_writer *w, const char *key, int64_t v);
cllm_status cllm_gguf_writer_set_f64 (cllm_gguf_writer *w, const char *key, double v);
/* String value: NUL-terminated (set_str) or n bytes that may hold NULs. */
cllm_status cllm_gguf_writer_set_str (cllm_gguf_writer *w, const char *key, const char *s);
cllm_status cllm_gguf_writer_set_strn(cllm_gguf_writer *w, const char *key, const char *s, size_t n);
/* Numeric array of n elements of elem_type (any scalar type but string;
 * little-endian, elements packed; copied). data may be NULL when n == 0. */
cllm_status cllm_gguf_writer_set_arr(cllm_gguf_writer *w, const char *key, cllm_gguf_type elem_type,
                                     const void *data, uint64_t n);
/* String array: n strings; lens may be NULL (then each is NUL-terminated). Copied. */
cllm_status cllm_gguf_writer_set_arr_str(cllm_gguf_writer *w, const char *key, const char *const *strs,
                                         const size_t *lens, uint64_t n);
/* Remove a key (CLLM_ERR_NOT_FOUND if absent). */
cllm_status cllm_gguf_writer_remove(cllm_gguf_writer *w, const char *key);
int64_t     cllm_gguf_writer_n_kv(const cllm_gguf_writer *w);

/* Copy every key/value of src (type and value exactly) except those for
 * which skip(key, user) returns true; skip may be NULL (copy all). */
typedef bool (*cllm_gguf_key_skip_fn)(const char *key, void *user);
cllm_status cllm_gguf_writer_copy_kv(cllm_gguf_writer *w, const cllm_gguf *src, cllm_gguf_key_skip_fn skip,
                                     void *user);
/* Copy one key of src (CLLM_ERR_NOT_FOUND if src lacks it). */
cllm_status cllm_gguf_writer_copy_key(cllm_gguf_writer *w, const cllm_gguf *src, const char *key);

/* Add a tensor. ne[0] is the row length and must be a multiple of the
 * type's block size; n_dims in 1..4, every ne > 0. name: 1..63 bytes of
 * UTF-8, unique. data (cllm_type_row_size(type, ne[0]) * ne[1]*ne[2]*ne[3]
 * bytes) is borrowed until cllm_gguf_writer_write returns; NULL writes zeros. */
cllm_status cllm_gguf_writer_add_tensor(cllm_gguf_writer *w, const char *name, cllm_type type, int n_dims,
                                        const int64_t *ne, const void *data);
/* Same, but the data is produced at write time: fill(user, index, dst, nbytes)
 * must write the tensor's nbytes bytes to dst (a buffer owned by the writer,
 * valid during the call) and return CLLM_OK; any other status aborts the
 * write with that status. index is the tensor's position (0-based). Lets a
 * converter or quantizer stream a model without holding all outputs. */
typedef cllm_status (*cllm_gguf_tensor_fill_fn)(void *user, int64_t index, void *dst, uint64_t nbytes);
cllm_status cllm_gguf_writer_add_tensor_fn(cllm_gguf_writer *w, const char *name, cllm_type type, int n_dims,
                                           const int64_t *ne, cllm_gguf_tensor_fill_fn fill, void *user);
int64_t     cllm_gguf_writer_n_tensors(const cllm_gguf_writer *w);

/* Write the file (GGUF v3). Writes PATH.tmp then renames it over path, so a
 * failed write never leaves a partial file at path. */
cllm_status cllm_gguf_writer_write(cllm_gguf_writer *w, const char *path);
/* Same into a malloc'd buffer (caller frees *out). */
cllm_status cllm_gguf_writer_write_memory(cllm_gguf_writer *w, void **out, size_t *size_out);

#endif /* CLLM_GGUF_WRITER_H */
