/* cllm.h: the public C API of cllm, a portable LLM inference runtime.
 *
 * Conventions
 * - Every handle is opaque, created by one cllm_<x>_init/open and released by
 *   the matching cllm_<x>_free, which accepts NULL.
 * - Functions that can fail return cllm_status. A failing call on a handle
 *   stores a message in that handle (cllm_<x>_last_error); a failing
 *   constructor, which has no handle yet, stores it in the calling thread's
 *   cllm_last_error().
 * - Pointers returned by getters are borrowed: they stay valid until the
 *   handle they came from is freed, unless said otherwise.
 * - The library never prints to stdout and never exits; diagnostics go to the
 *   log callback (default: stderr, warnings and errors only).
 */
#ifndef CLLM_H
#define CLLM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLLM_VERSION_MAJOR 0
#define CLLM_VERSION_MINOR 1
#define CLLM_VERSION_PATCH 0

/* ---------------------------------------------------------------- status */
typedef enum cllm_status {
    CLLM_OK = 0,
    CLLM_ERR_INVALID_ARG,   /* a caller-supplied argument is wrong */
    CLLM_ERR_IO,            /* open/read/write/mmap failed */
    CLLM_ERR_FORMAT,        /* a file or payload is malformed */
    CLLM_ERR_UNSUPPORTED,   /* well-formed but not supported (version, type, arch) */
    CLLM_ERR_NOMEM,         /* allocation failed */
    CLLM_ERR_NOT_FOUND,     /* a key, tensor or file does not exist */
    CLLM_ERR_NO_SPACE,      /* a batch does not fit the KV cache / context */
    CLLM_ERR_CANCELLED,     /* stopped by the caller */
    CLLM_ERR_INTERNAL       /* a bug in cllm */
} cllm_status;

/* A short, static description of a status ("invalid argument", ...). */
const char *cllm_status_str(cllm_status st);

/* Message of the last failure of a constructor on this thread ("" if none). */
const char *cllm_last_error(void);

/* ------------------------------------------------------------------- log */
typedef enum cllm_log_level {
    CLLM_LOG_ERROR = 0,
    CLLM_LOG_WARN  = 1,
    CLLM_LOG_INFO  = 2,
    CLLM_LOG_DEBUG = 3
} cllm_log_level;

/* msg is one line without a trailing newline; valid only during the call. */
typedef void (*cllm_log_fn)(cllm_log_level level, const char *msg, void *user);

/* Route all library diagnostics through fn (NULL restores the default
 * stderr logger). Messages above max_level are dropped. Thread-safe. */
void cllm_log_set(cllm_log_fn fn, void *user);
void cllm_log_set_level(cllm_log_level max_level);

/* ---------------------------------------------------------- tensor types */
/* ggml tensor type ids, exactly as stored in GGUF files. */
typedef enum cllm_type {
    CLLM_TYPE_F32     = 0,
    CLLM_TYPE_F16     = 1,
    CLLM_TYPE_Q4_0    = 2,
    CLLM_TYPE_Q4_1    = 3,
    CLLM_TYPE_Q5_0    = 6,
    CLLM_TYPE_Q5_1    = 7,
    CLLM_TYPE_Q8_0    = 8,
    CLLM_TYPE_Q8_1    = 9,
    CLLM_TYPE_Q2_K    = 10,
    CLLM_TYPE_Q3_K    = 11,
    CLLM_TYPE_Q4_K    = 12,
    CLLM_TYPE_Q5_K    = 13,
    CLLM_TYPE_Q6_K    = 14,
    CLLM_TYPE_Q8_K    = 15,
    CLLM_TYPE_IQ4_NL  = 20,
    CLLM_TYPE_IQ4_XS  = 23,
    CLLM_TYPE_I8      = 24,
    CLLM_TYPE_I16     = 25,
    CLLM_TYPE_I32     = 26,
    CLLM_TYPE_I64     = 27,
    CLLM_TYPE_F64     = 28,
    CLLM_TYPE_BF16    = 30,
    CLLM_TYPE_COUNT   = 40  /* one past the largest id we may ever table */
} cllm_type;

/* Name ("q4_K", ...) of a type, or NULL if cllm does not know it. */
const char *cllm_type_name(cllm_type t);
/* Parse a type name, case-insensitive ("Q4_K", "q8_0", "f16"); -1 if unknown. */
int cllm_type_from_name(const char *name);

/* ------------------------------------------------------------------ GGUF */
/* Metadata value types of the GGUF format (ids as stored in the file). */
typedef enum cllm_gguf_type {
    CLLM_GGUF_UINT8 = 0, CLLM_GGUF_INT8 = 1, CLLM_GGUF_UINT16 = 2,
    CLLM_GGUF_INT16 = 3, CLLM_GGUF_UINT32 = 4, CLLM_GGUF_INT32 = 5,
    CLLM_GGUF_FLOAT32 = 6, CLLM_GGUF_BOOL = 7, CLLM_GGUF_STRING = 8,
    CLLM_GGUF_ARRAY = 9, CLLM_GGUF_UINT64 = 10, CLLM_GGUF_INT64 = 11,
    CLLM_GGUF_FLOAT64 = 12
} cllm_gguf_type;

typedef struct cllm_gguf cllm_gguf;   /* a validated, read-only GGUF file */

/* One tensor of a GGUF file. ne[0] is the row length (ggml order); unused
 * dims are 1. data points into the mapping (borrowed from the cllm_gguf). */
typedef struct cllm_tensor_info {
    const char *name;
    cllm_type   type;
    int         n_dims;
    int64_t     ne[4];
    uint64_t    offset;       /* relative to the start of the data section */
    uint64_t    file_offset;  /* absolute byte offset in the file */
    uint64_t    nbytes;
    const void *data;
} cllm_tensor_info;

/* Map and fully validate a GGUF file. On failure *out is NULL and the reason
 * (naming the defect and its byte offset) is in cllm_last_error(). */
cllm_status cllm_gguf_open(const char *path, cllm_gguf **out);
/* Same over a caller buffer that must outlive the handle (borrowed). */
cllm_status cllm_gguf_open_memory(const void *data, size_t size, cllm_gguf **out);
void        cllm_gguf_free(cllm_gguf *g);

uint32_t cllm_gguf_version(const cllm_gguf *g);
uint64_t cllm_gguf_alignment(const cllm_gguf *g);
uint64_t cllm_gguf_data_offset(const cllm_gguf *g);   /* start of tensor data */
uint64_t cllm_gguf_file_size(const cllm_gguf *g);

/* Metadata: keys are indexed 0..n_kv-1 in file order. */
int64_t        cllm_gguf_n_kv(const cllm_gguf *g);
int64_t        cllm_gguf_find_key(const cllm_gguf *g, const char *key); /* -1 if absent */
const char    *cllm_gguf_key(const cllm_gguf *g, int64_t i);
cllm_gguf_type cllm_gguf_kv_type(const cllm_gguf *g, int64_t i);

/* Scalar getters by key. Integer getters accept any integer type whose value
 * fits; float getters accept float32/float64. CLLM_ERR_NOT_FOUND when absent,
 * CLLM_ERR_FORMAT on a type mismatch (message names the key). */
cllm_status cllm_gguf_get_u64 (const cllm_gguf *g, const char *key, uint64_t *out);
cllm_status cllm_gguf_get_i64 (const cllm_gguf *g, const char *key, int64_t *out);
cllm_status cllm_gguf_get_f64 (const cllm_gguf *g, const char *key, double *out);
cllm_status cllm_gguf_get_bool(const cllm_gguf *g, const char *key, bool *out);
/* String value (NUL-terminated copy owned by g; *len_out may be NULL). */
cllm_status cllm_gguf_get_str (const cllm_gguf *g, const char *key, const char **out, size_t *len_out);

/* Arrays by key index: element type, length, raw little-endian elements for
 * numeric arrays (NULL for strings), and string element j. */
cllm_gguf_type cllm_gguf_arr_type(const cllm_gguf *g, int64_t i);
uint64_t       cllm_gguf_arr_n   (const cllm_gguf *g, int64_t i);
const void    *cllm_gguf_arr_data(const cllm_gguf *g, int64_t i);
const char    *cllm_gguf_arr_str (const cllm_gguf *g, int64_t i, uint64_t j, size_t *len_out);

/* Tensors, in file order. */
int64_t                 cllm_gguf_n_tensors (const cllm_gguf *g);
int64_t                 cllm_gguf_find_tensor(const cllm_gguf *g, const char *name); /* -1 */
const cllm_tensor_info *cllm_gguf_tensor    (const cllm_gguf *g, int64_t i);

/* ------------------------------------------------------------------ chat */
/* A parsed Jinja chat template (tokenizer.chat_template), rendered with the
 * semantics of Hugging Face's jinja2 environment (see docs/chat.md). */
typedef struct cllm_chat_template cllm_chat_template;

/* Flags for cllm_chat_template_init_ex. */
#define CLLM_CHAT_TEMPLATE_GENERATION_TAG 1u  /* accept {% generation %} blocks (rendered as-is) */

/* Parse a template. On a syntax error *out is NULL, the status is
 * CLLM_ERR_FORMAT and cllm_last_error() reads "... line L column C: why". */
cllm_status cllm_chat_template_init(const char *source, cllm_chat_template **out);
cllm_status cllm_chat_template_init_ex(const char *source, uint32_t flags, cllm_chat_template **out);
void        cllm_chat_template_free(cllm_chat_template *t);

/* Render with context_json, a JSON object whose keys are the template's
 * variables (messages, tools, add_generation_prompt, bos_token, ...).
 * *out is malloc'd (caller frees). Errors: CLLM_ERR_INVALID_ARG when the
 * template called raise_exception (the message is exactly the template's) or
 * the context is not a JSON object; CLLM_ERR_FORMAT for other render errors
 * (undefined access, type errors, sandbox violations). */
cllm_status cllm_chat_template_render(cllm_chat_template *t, const char *context_json, char **out);
/* Message of the last failed render ("" if none; borrowed). */
const char *cllm_chat_template_last_error(const cllm_chat_template *t);
/* Python exception class of the last failure: "TemplateError",
 * "UndefinedError", "TypeError", "SecurityError", ... ("" if none). */
const char *cllm_chat_template_error_type(const cllm_chat_template *t);

/* Tool-call syntaxes of model families, detected from the template source. */
typedef enum cllm_chat_format {
    CLLM_CHAT_FORMAT_CONTENT_ONLY = 0, /* no tool calls; reasoning still split off */
    CLLM_CHAT_FORMAT_GENERIC,          /* whole-output JSON: {"tool_call(s)": ...} or {"name","arguments"} */
    CLLM_CHAT_FORMAT_HERMES,           /* <tool_call>{json}</tool_call> (Hermes, Qwen, GLM, Qwen3-Coder XML) */
    CLLM_CHAT_FORMAT_LLAMA3,           /* {"name":..,"parameters":..} and <|python_tag|> */
    CLLM_CHAT_FORMAT_MISTRAL,          /* [TOOL_CALLS][...] or [TOOL_CALLS]name[ARGS]{...}; [THINK] */
    CLLM_CHAT_FORMAT_DEEPSEEK,         /* DeepSeek R1 / V3 / V3.1 tool-call markers */
    CLLM_CHAT_FORMAT_FUNCTIONARY_V3_1, /* <function=name>{json}</function> */
    CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2, /* >>>name\n{json} */
    CLLM_CHAT_FORMAT_HARMONY           /* gpt-oss channels (analysis / final / commentary to=functions.x) */
} cllm_chat_format;

cllm_chat_format cllm_chat_detect_format(const char *template_source);  /* NULL: the ChatML fallback */
const char      *cllm_chat_format_name(cllm_chat_format f);

/* Incremental parser of model output into an OpenAI assistant message.
 * Feed text as it streams; each call may return a delta object (malloc'd
 * JSON, caller frees; NULL when there is nothing new):
 *   {"content": "...", "reasoning_content": "...",
 *    "tool_calls": [{"index": 0, "id": "call_..", "type": "function",
 *                    "function": {"name": "..", "arguments": "<fragment>"}}]}
 * The first delta of a call carries id, type and name; later ones only
 * argument fragments. Partial markers are never emitted as content, and any
 * chunking yields the same final message as parsing the text whole. */
typedef struct cllm_chat_parser cllm_chat_parser;
#define CLLM_CHAT_PARSE_TOOLS         1u  /* tools were offered: parse tool calls */
#define CLLM_CHAT_PARSE_THINKING_OPEN 2u  /* the prompt ended inside a <think> block */
#define CLLM_CHAT_PARSE_NO_REASONING  4u  /* keep <think> blocks in the content */

/* id_seed (may be NULL) makes the generated call ids unique per request. */
cllm_status cllm_chat_parser_init(cllm_chat_format fmt, uint32_t flags, const char *id_seed, cllm_chat_parser **out);
void        cllm_chat_parser_free(cllm_chat_parser *p);
cllm_status cllm_chat_parser_feed(cllm_chat_parser *p, const char *text, size_t n, char **delta_json);
/* End of output: flushes held-back text (a final delta, or NULL). */
cllm_status cllm_chat_parser_finish(cllm_chat_parser *p, char **delta_json);
/* The message so far: {"role": "assistant", "content": ... (null when only
 * tool calls), "reasoning_content": ... (when any), "tool_calls": [...]}. */
cllm_status cllm_chat_parser_message(cllm_chat_parser *p, char **message_json);
const char *cllm_chat_parser_last_error(const cllm_chat_parser *p);

#ifdef __cplusplus
}
#endif
#endif /* CLLM_H */
