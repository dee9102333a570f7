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


/* ----------------------------------------------------------- model/engine */
typedef struct cllm_model   cllm_model;     /* weights (mapped) + hyper-parameters + vocab */
typedef struct cllm_context cllm_context;   /* KV cache + scratch + thread pool for decoding */

typedef struct cllm_model_params {
    bool use_mmap;          /* map weights (default true); false reads them into memory */
    bool vocab_only;        /* load hyper-parameters and vocab, no tensors */
} cllm_model_params;

cllm_model_params cllm_model_default_params(void);
/* Load a GGUF by general.architecture. On failure *out is NULL and
 * cllm_last_error() names what is wrong (missing tensor and expected shape, ...). */
cllm_status cllm_model_load(const char *path, const cllm_model_params *params, cllm_model **out);
void        cllm_model_free(cllm_model *m);
const char *cllm_model_arch(const cllm_model *m);          /* "llama", "qwen2", ... */
int32_t     cllm_model_n_vocab(const cllm_model *m);
int32_t     cllm_model_n_embd(const cllm_model *m);
int32_t     cllm_model_n_layer(const cllm_model *m);
int32_t     cllm_model_n_ctx_train(const cllm_model *m);
uint64_t    cllm_model_size_bytes(const cllm_model *m);    /* bytes of weight data */
uint64_t    cllm_model_n_params(const cllm_model *m);
const cllm_gguf *cllm_model_gguf(const cllm_model *m);      /* borrowed */
struct cllm_vocab;
const struct cllm_vocab *cllm_model_vocab(const cllm_model *m); /* borrowed; NULL if none */

typedef struct cllm_context_params {
    uint32_t  n_ctx;        /* KV cells (tokens) shared by all sequences; 0 = model's train ctx, capped at 4096 */
    uint32_t  n_batch;      /* max tokens per cllm_decode call (default 512) */
    uint32_t  n_seq_max;    /* max distinct sequence ids (default 1) */
    int32_t   n_threads;    /* <= 0: physical cores */
    cllm_type kv_type;      /* F16 (default), F32 or Q8_0 */
    bool      embeddings;   /* keep pooled/last hidden states for embeddings */
} cllm_context_params;

cllm_context_params cllm_context_default_params(void);
cllm_status cllm_context_init(cllm_model *m, const cllm_context_params *p, cllm_context **out);
void        cllm_context_free(cllm_context *c);
const char *cllm_context_last_error(const cllm_context *c);
uint32_t    cllm_context_n_ctx(const cllm_context *c);

/* A batch of tokens; each has a position, one or more sequence ids, and a
 * flag saying whether logits are wanted for it. Owned by the caller. */
typedef struct cllm_batch {
    int32_t   n_tokens;
    int32_t  *token;     /* [n_tokens] */
    int32_t  *pos;       /* [n_tokens] */
    int32_t  *n_seq_id;  /* [n_tokens] */
    int32_t **seq_id;    /* [n_tokens][n_seq_id[i]] */
    int8_t   *logits;    /* [n_tokens]: nonzero = output logits for this token */
    int32_t   cap, seq_cap;
} cllm_batch;

cllm_batch cllm_batch_init(int32_t n_tokens_max, int32_t n_seq_max);
void       cllm_batch_free(cllm_batch *b);
void       cllm_batch_clear(cllm_batch *b);
/* Append one token; returns false when the batch is full. */
bool       cllm_batch_add(cllm_batch *b, int32_t token, int32_t pos,
                          const int32_t *seq_ids, int32_t n_seq, bool want_logits);

/* Run the model on a batch, appending its tokens to the KV cache.
 * CLLM_ERR_NO_SPACE when the cache cannot hold it (nothing is changed). */
cllm_status  cllm_decode(cllm_context *c, const cllm_batch *b);
/* Logits (n_vocab floats) of the i-th token of the last batch, NULL if that
 * token did not ask for logits. Valid until the next decode. */
const float *cllm_get_logits_ith(cllm_context *c, int32_t i);
/* Embedding (n_embd floats) of sequence seq from the last batch (pooled per
 * the model's pooling type), NULL unless embeddings were enabled. */
const float *cllm_get_embeddings_seq(cllm_context *c, int32_t seq);

/* KV cache by sequence. p1 < 0 means "to the end". */
void    cllm_kv_clear(cllm_context *c);
bool    cllm_kv_seq_rm(cllm_context *c, int32_t seq, int32_t p0, int32_t p1);
void    cllm_kv_seq_cp(cllm_context *c, int32_t src, int32_t dst, int32_t p0, int32_t p1);
void    cllm_kv_seq_keep(cllm_context *c, int32_t seq);
void    cllm_kv_seq_add(cllm_context *c, int32_t seq, int32_t p0, int32_t p1, int32_t delta); /* shift positions */
int32_t cllm_kv_seq_pos_max(const cllm_context *c, int32_t seq);    /* -1 if empty */
/* ------------------------------------------------------------- tokenizer */
/* A model's vocabulary and tokenizer, built from the tokenizer.ggml.* keys of
 * a GGUF file (a vocab-only GGUF is enough). Three tokenizer types, as
 * tokenizer.ggml.model names them: "llama" = SPM (SentencePiece-style merging
 * by score, byte fallback), "gpt2" = BPE (byte-level merges after a regex
 * pre-tokenizer chosen by tokenizer.ggml.pre), "bert" = WPM (WordPiece).
 * Results match llama.cpp's tokenizer. A built vocab is read-only: every
 * function below may be called from several threads at once. */
typedef struct cllm_vocab cllm_vocab;

typedef enum cllm_vocab_type {
    CLLM_VOCAB_SPM = 1,
    CLLM_VOCAB_BPE = 2,
    CLLM_VOCAB_WPM = 3
} cllm_vocab_type;

/* Token attribute bits (cllm_vocab_token_attr); the same values as llama.cpp. */
enum {
    CLLM_TOKEN_ATTR_UNKNOWN      = 1 << 0,
    CLLM_TOKEN_ATTR_UNUSED       = 1 << 1,
    CLLM_TOKEN_ATTR_NORMAL       = 1 << 2,
    CLLM_TOKEN_ATTR_CONTROL      = 1 << 3,
    CLLM_TOKEN_ATTR_USER_DEFINED = 1 << 4,
    CLLM_TOKEN_ATTR_BYTE         = 1 << 5,
    CLLM_TOKEN_ATTR_LSTRIP       = 1 << 7,
    CLLM_TOKEN_ATTR_RSTRIP       = 1 << 8
};

/* Build the vocab of g. Everything needed is copied: g may be freed after.
 * Fails (CLLM_ERR_UNSUPPORTED / CLLM_ERR_FORMAT, message in cllm_last_error())
 * on an unknown tokenizer.ggml.model or tokenizer.ggml.pre (the message names
 * it), a missing or mistyped token list, or bad merges. */
cllm_status cllm_vocab_load(const cllm_gguf *g, cllm_vocab **out);
void        cllm_vocab_free(cllm_vocab *v);
const char *cllm_vocab_last_error(const cllm_vocab *v);

cllm_vocab_type cllm_vocab_get_type(const cllm_vocab *v);
/* tokenizer.ggml.pre as stored ("" when absent; then BPE uses "default"). */
const char *cllm_vocab_pre(const cllm_vocab *v);
int32_t     cllm_vocab_n_tokens(const cllm_vocab *v);

/* Special token ids; -1 when the vocab has none. */
int32_t cllm_vocab_bos(const cllm_vocab *v);
int32_t cllm_vocab_eos(const cllm_vocab *v);
int32_t cllm_vocab_eot(const cllm_vocab *v);
int32_t cllm_vocab_eom(const cllm_vocab *v);
int32_t cllm_vocab_unk(const cllm_vocab *v);
int32_t cllm_vocab_sep(const cllm_vocab *v);
int32_t cllm_vocab_pad(const cllm_vocab *v);
int32_t cllm_vocab_cls(const cllm_vocab *v);   /* BOS when no cls_token_id */
int32_t cllm_vocab_mask(const cllm_vocab *v);
int32_t cllm_vocab_nl(const cllm_vocab *v);    /* the token of "\n" */
int32_t cllm_vocab_fim_pre(const cllm_vocab *v);
int32_t cllm_vocab_fim_suf(const cllm_vocab *v);
int32_t cllm_vocab_fim_mid(const cllm_vocab *v);
/* Whether cllm_tokenize(add_special=true) adds BOS / EOS. WPM vocabs: BOS is
 * CLS and always added; they end with SEP (cllm_vocab_sep), not EOS. */
bool cllm_vocab_add_bos(const cllm_vocab *v);
bool cllm_vocab_add_eos(const cllm_vocab *v);

/* End of generation: EOS, EOT, EOM and control tokens with known end texts
 * (<|im_end|>, <|eot_id|>, <end_of_turn>, <|endoftext|>, </s>, ...). */
bool     cllm_vocab_is_eog(const cllm_vocab *v, int32_t id);
bool     cllm_vocab_is_control(const cllm_vocab *v, int32_t id);
uint32_t cllm_vocab_token_attr(const cllm_vocab *v, int32_t id);   /* 0 if out of range */
/* The token's text as stored in the vocab (borrowed; NULL if out of range). */
const char *cllm_vocab_token_text(const cllm_vocab *v, int32_t id, size_t *len_out);
float       cllm_vocab_token_score(const cllm_vocab *v, int32_t id);
/* The id of the token whose stored text is exactly text[0..len), or -1. */
int32_t     cllm_vocab_find(const cllm_vocab *v, const char *text, size_t len);

/* Tokenize text[0..len) (any bytes; invalid UTF-8 never fails). add_special:
 * add BOS/EOS as the vocab says. parse_special: text that spells a control
 * token (<|im_start|>, <s>, ...) becomes that token; otherwise it is plain
 * text. User-defined tokens are always matched first. Returns the number of
 * tokens; when it is > n_max only the first n_max were written, and the call
 * can be repeated with a bigger buffer (out may be NULL when n_max is 0).
 * Negative (-CLLM_ERR_INVALID_ARG, -CLLM_ERR_NOMEM) only on bad arguments
 * (NULL vocab, len > 1 GiB) or allocation failure. */
int32_t cllm_tokenize(const cllm_vocab *v, const char *text, size_t len, int32_t *out, int32_t n_max,
                      bool add_special, bool parse_special);

/* The bytes of one token (not NUL-terminated): SPM U+2581 becomes a space,
 * byte tokens become their byte, BPE byte-level characters become bytes.
 * Control/unknown tokens give "" unless special. Returns the byte count, or
 * -(needed) when len is too small (buf may be NULL when len is 0); 0 for an
 * id out of range. A piece may end inside a UTF-8 sequence. */
int32_t cllm_token_to_piece(const cllm_vocab *v, int32_t id, char *buf, int32_t len, bool special);

/* Text of a whole token sequence, not NUL-terminated. The leading space the
 * SPM tokenizer adds is removed from the first token after any BOS;
 * remove_special drops a leading BOS and trailing EOS the vocab adds;
 * unparse_special renders control tokens as their text. Vocabs with
 * clean_up_tokenization_spaces (GPT-2 style) get its three passes (" ," -> ","
 * ...). Returns the byte count, or -(needed) when len is too small. */
int32_t cllm_detokenize(const cllm_vocab *v, const int32_t *ids, int32_t n, char *buf, int32_t len,
                        bool remove_special, bool unparse_special);

/* Streaming detokenizer for generation: pieces come out as tokens arrive,
 * but an incomplete UTF-8 sequence at the end is held back until the token
 * that completes it (bytes that can never become valid UTF-8 are passed on as
 * they are). Control tokens give nothing unless set_special(true). */
typedef struct cllm_detok_stream cllm_detok_stream;
/* NULL on allocation failure or v == NULL. v is borrowed: it must outlive s. */
cllm_detok_stream *cllm_detok_stream_init(const cllm_vocab *v);
void    cllm_detok_stream_set_special(cllm_detok_stream *s, bool render_special);
/* Accept token id and write up to cap ready bytes to out; returns the number
 * written (>= 0). Bytes that do not fit stay queued for the next push/flush.
 * -CLLM_ERR_INVALID_ARG for a bad id or NULL s (nothing is queued then). */
int32_t cllm_detok_stream_push(cllm_detok_stream *s, int32_t id, char *out, size_t cap);
/* Write up to cap queued bytes, the held-back incomplete tail included;
 * returns the number written (call until it returns 0). */
int32_t cllm_detok_stream_flush(cllm_detok_stream *s, char *out, size_t cap);
void    cllm_detok_stream_free(cllm_detok_stream *s);
/* ------------------------------------------------------------------ chat */
/* A parsed Jinja chat template (tokenizer.chat_template), rendered with the
 * semantics of Hugging Face's jinja2 environment (see docs/chat.md). */
typedef struct cllm_chat_template cllm_chat_template;

/* Flags for cllm_chat_template_init_ex. */
#define CLLM_CHAT_TEMPLATE_GENERATION_TAG 1u  /* accept {% generation %} blocks (rendered as-is) */
#define CLLM_CHAT_TEMPLATE_FIXED_CLOCK    2u  /* strftime_now() sees 2026-07-26 10:00:00 (reproducible
                                                  renders, as the golden files); default: local time */
#define CLLM_CHAT_TEMPLATE_NO_TOOL_EMULATION 4u /* cllm_chat: pass tools to templates that ignore them, as is */

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
 * (undefined access, type errors, sandbox violations). One render at a
 * time per handle (the error slot is shared); cllm_chat serializes its own. */
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
    CLLM_CHAT_FORMAT_HERMES,           /* tag-wrapped calls: <tool_call>{json}</tool_call> (Hermes, Qwen, GLM,
                                          Qwen3-Coder XML), <tool_calls>[..] (Apriel), <seed:tool_call>,
                                          <minimax:tool_call>, <|tool_call_start|>[f(k=v)] (LFM2) */
    CLLM_CHAT_FORMAT_LLAMA3,           /* {"name":..,"parameters":..} and <|python_tag|> */
    CLLM_CHAT_FORMAT_MISTRAL,          /* [TOOL_CALLS][...] or [TOOL_CALLS]name[ARGS]{...}; [THINK] */
    CLLM_CHAT_FORMAT_DEEPSEEK,         /* DeepSeek R1 / V3 / V3.1 tool-call markers */
    CLLM_CHAT_FORMAT_FUNCTIONARY_V3_1, /* <function=name>{json}</function> */
    CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2, /* >>>name\n{json} */
    CLLM_CHAT_FORMAT_HARMONY,          /* gpt-oss channels (analysis / final / commentary to=functions.x) */
    CLLM_CHAT_FORMAT_KIMI_K2           /* <|tool_calls_section_begin|> ... functions.NAME:IDX ... */
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

/* One parser per generated reply. id_seed (may be NULL) makes the
 * generated call ids unique per request. */
cllm_status cllm_chat_parser_init(cllm_chat_format fmt, uint32_t flags, const char *id_seed, cllm_chat_parser **out);
void        cllm_chat_parser_free(cllm_chat_parser *p);
cllm_status cllm_chat_parser_feed(cllm_chat_parser *p, const char *text, size_t n, char **delta_json);
/* End of output: flushes held-back text (a final delta, or NULL). */
cllm_status cllm_chat_parser_finish(cllm_chat_parser *p, char **delta_json);
/* The message so far: {"role": "assistant", "content": ... (null when only
 * tool calls), "reasoning_content": ... (when any), "tool_calls": [...]}. */
cllm_status cllm_chat_parser_message(cllm_chat_parser *p, char **message_json);
const char *cllm_chat_parser_last_error(const cllm_chat_parser *p);

/* Chat formatting: OpenAI-style requests to prompt text with the model's
 * template (an override file, a named variant such as
 * tokenizer.chat_template.tool_use, the default, or a ChatML fallback). */
typedef struct cllm_chat cllm_chat;

typedef struct cllm_chat_config {
    const char *template_source;          /* tokenizer.chat_template; NULL/"": none */
    size_t n_named;                       /* named variants (tokenizer.chat_template.<name>) */
    const char *const *named_names;       /* e.g. "tool_use" */
    const char *const *named_sources;
    const char *override_source;          /* replaces all of the above when set */
    const char *bos_token, *eos_token;    /* texts of the BOS / EOS tokens (NULL: "") */
    uint32_t template_flags;              /* extra CLLM_CHAT_TEMPLATE_* (the generation tag is always on) */
} cllm_chat_config;

/* All strings are copied. A template that does not parse fails the call
 * (CLLM_ERR_FORMAT, message with line:column in cllm_last_error()). */
cllm_status cllm_chat_init(const cllm_chat_config *cfg, cllm_chat **out);
/* From a GGUF's metadata; template_file (may be NULL) overrides the model's. */
cllm_status cllm_chat_init_gguf(const cllm_gguf *g, const char *template_file, cllm_chat **out);
void        cllm_chat_free(cllm_chat *c);
const char *cllm_chat_last_error(const cllm_chat *c);
size_t      cllm_chat_n_templates(const cllm_chat *c);
const char *cllm_chat_template_name(const cllm_chat *c, size_t i);   /* "default", "tool_use", "chatml", ... */

typedef struct cllm_chat_result {
    char *prompt;               /* the rendered text (free with cllm_chat_result_clear) */
    bool starts_with_bos;       /* prompt begins with the BOS text: tokenize it WITHOUT adding BOS */
    bool thinking_open;         /* prompt ends inside <think> / [THINK] */
    cllm_chat_format format;    /* tool-call syntax of the reply */
    uint32_t parser_flags;      /* CLLM_CHAT_PARSE_* to pass to cllm_chat_parser_init */
    const char *template_name;  /* variant used (borrowed from the cllm_chat) */
} cllm_chat_result;

/* Templates that never mention tools get them emulated (unless
 * CLLM_CHAT_TEMPLATE_NO_TOOL_EMULATION): the tool list and a JSON reply
 * convention go into the first system (else first) turn, earlier calls
 * become that JSON in the assistant text, tool results become user turns,
 * and the reply is parsed with CLLM_CHAT_FORMAT_GENERIC.
 * request_json: {"messages": [...], "tools": [...] (OpenAI shape, optional),
 * "add_generation_prompt": bool (default true), "template": "tool_use"
 * (optional variant name), and any other template variables
 * (enable_thinking, reasoning_effort, ...)}. Messages: content may be a
 * string, null, or an array of text parts (joined); tool_calls arguments may
 * be JSON strings (parsed to objects for the template). With tools and a
 * "tool_use" variant, that variant is used. A template's raise_exception()
 * fails with CLLM_ERR_INVALID_ARG and its message. */
cllm_status cllm_chat_apply(cllm_chat *c, const char *request_json, cllm_chat_result *out);
/* cllm_chat_apply may be called from several threads on one handle; the
 * failure message is then best read with cllm_last_error() (per thread). */
void        cllm_chat_result_clear(cllm_chat_result *r);

/* -------------------------------------------------------------- sampling */
/* Sampler chain, GBNF grammars and JSON-schema-to-grammar. See docs/sampling.md. */

/* What the grammar and DRY need from a tokenizer, without depending on it.
 * All callbacks get `user`. Borrowed by cllm_sampler_init/cllm_grammar_init
 * only during the call: pieces are copied/decoded then. */
typedef struct cllm_vocab_view {
    int32_t n_vocab;
    /* Bytes token `id` adds to the output text (may hold partial UTF-8);
     * *len set; NULL or *len 0 for tokens with no text (control tokens).
     * The pointer must stay valid until the next call. */
    const char *(*piece)(void *user, int32_t id, size_t *len);
    /* True for end-of-generation tokens (EOS, EOT, ...). May be NULL. */
    bool (*is_eog)(void *user, int32_t id);
    void *user;
    /* Optional: id of the token whose text is exactly text[0..len), or -1;
     * resolves grammar references like <think>. NULL: match pieces. */
    int32_t (*find)(void *user, const char *text, size_t len);
} cllm_vocab_view;

/* A view over a cllm_vocab (pieces: cllm_token_to_piece without special
 * text, so control tokens have none; EOG: cllm_vocab_is_eog; find:
 * cllm_vocab_find). vocab is borrowed; free the view with
 * cllm_vocab_view_free once the sampler/grammar is built. */
cllm_status cllm_vocab_view_init(cllm_vocab_view *view, const struct cllm_vocab *vocab);
void        cllm_vocab_view_free(cllm_vocab_view *view);

typedef struct cllm_logit_bias { int32_t token; float bias; } cllm_logit_bias;

/* One candidate as the chain sees it: logit, and probability after softmax. */
typedef struct cllm_token_prob { int32_t id; float logit; float p; } cllm_token_prob;

#define CLLM_SEED_RANDOM UINT64_MAX   /* seed from the clock at init/reset */

typedef struct cllm_sampler_params {
    uint64_t seed;              /* CLLM_SEED_RANDOM (default) or a fixed seed */
    int32_t  n_ctx;             /* what a *_last_n of -1 means (default 4096) */
    int32_t  min_keep;          /* samplers keep at least this many (default 0) */
    float    temp;              /* <= 0: greedy (default 0.8) */
    float    dynatemp_range;    /* > 0: temp varies in [temp-range, temp+range] by entropy (0) */
    float    dynatemp_exponent; /* (1.0) */
    int32_t  top_k;             /* <= 0: off (40) */
    float    top_p;             /* >= 1: off (0.95) */
    float    min_p;             /* <= 0: off (0.05) */
    float    typical_p;         /* >= 1: off (1.0) */
    float    xtc_probability;   /* <= 0: off (0.0) */
    float    xtc_threshold;     /* > 0.5: off (0.1) */
    float    top_n_sigma;       /* <= 0: off (-1) */
    int32_t  penalty_last_n;    /* 0: off, -1: n_ctx (64) */
    float    penalty_repeat;    /* 1.0: off (1.0) */
    float    penalty_freq;      /* 0: off */
    float    penalty_present;   /* 0: off */
    float    dry_multiplier;    /* 0: off */
    float    dry_base;          /* (1.75) */
    int32_t  dry_allowed_length;/* (2) */
    int32_t  dry_penalty_last_n;/* 0: off, -1: n_ctx (-1) */
    const char *const *dry_sequence_breakers; /* NULL: "\n" ":" "\"" "*"; borrowed during init */
    int32_t  n_dry_sequence_breakers;
    int      mirostat;          /* 0 off, 1 v1, 2 v2; replaces the chain after temperature */
    float    mirostat_tau;      /* (5.0) */
    float    mirostat_eta;      /* (0.1) */
    const cllm_logit_bias *logit_bias; /* applied first; borrowed during init */
    int32_t  n_logit_bias;
    const char *grammar;        /* GBNF text or NULL; borrowed during init */
    const char *grammar_root;   /* start rule, NULL = "root" */
    /* Chain order, names separated by ';' (or the one-letter form "edskypmxt"):
     * penalties(e) dry(d) top_n_sigma(s) top_k(k) typ_p(y) top_p(p) min_p(m)
     * xtc(x) temperature(t). NULL = that default order. */
    const char *order;
} cllm_sampler_params;

typedef struct cllm_sampler cllm_sampler;

/* llama.cpp common defaults: temp 0.8, top_k 40, top_p 0.95, min_p 0.05, ... */
cllm_sampler_params cllm_sampler_default_params(void);
/* vocab may be NULL unless params has a grammar (or DRY breakers are wanted).
 * On failure *out is NULL and cllm_last_error() says why (grammar errors give
 * line and column). */
cllm_status cllm_sampler_init(const cllm_sampler_params *p, const cllm_vocab_view *vocab,
                              cllm_sampler **out);
void        cllm_sampler_free(cllm_sampler *s);
/* Apply logit bias, the chain and the grammar to logits[n_vocab] (borrowed,
 * not modified) and draw a token. Does not accept it (call _accept).
 * Returns -1 when nothing can be sampled (e.g. grammar dead end); see
 * cllm_sampler_last_error. */
int32_t     cllm_sampler_sample(cllm_sampler *s, const float *logits, int32_t n_vocab);
/* Record a token (sampled or forced): penalty/DRY history and grammar state.
 * CLLM_ERR_INVALID_ARG if the grammar rejects it (state unchanged). */
cllm_status cllm_sampler_accept(cllm_sampler *s, int32_t token);
/* Same; with use_grammar false only the penalty/DRY history is updated (for
 * prompt tokens, as llama.cpp's accept_grammar=false). */
cllm_status cllm_sampler_accept_ex(cllm_sampler *s, int32_t token, bool use_grammar);
/* Forget history, restart the grammar, reset mirostat, reseed. */
void        cllm_sampler_reset(cllm_sampler *s);
const char *cllm_sampler_last_error(const cllm_sampler *s);
/* Candidates left after the last sample's chain, sorted by p when the chain
 * computed probabilities (borrowed until the next call). Returns the count. */
int32_t     cllm_sampler_last_candidates(const cllm_sampler *s, const cllm_token_prob **out);
/* Grammar only: fewest code points that complete the grammar (0 when
 * complete), -1 without a grammar. */
int32_t     cllm_sampler_grammar_distance(const cllm_sampler *s);
/* Grammar only: in closing mode every sampled token must shorten that
 * distance (the most likely such token is taken), and once the grammar is
 * complete the most likely EOG token is. Each token then adds at least one
 * code point, so a caller with a token budget that turns this on when
 * tokens_left <= distance (+ a margin) ends with complete output. */
void        cllm_sampler_set_closing(cllm_sampler *s, bool on);

/* A parsed GBNF grammar plus its match state. */
typedef struct cllm_grammar cllm_grammar;
/* root NULL = "root"; vocab may be NULL (then token references <...> are
 * errors and accept_token is unavailable). Errors: "line L, column C: ...". */
cllm_status cllm_grammar_init(const char *gbnf, const char *root, const cllm_vocab_view *vocab,
                              cllm_grammar **out);
void        cllm_grammar_free(cllm_grammar *g);
/* Advance by text bytes (a token piece; may split UTF-8 sequences).
 * CLLM_ERR_INVALID_ARG when the grammar rejects them (state unchanged). */
cllm_status cllm_grammar_accept_bytes(cllm_grammar *g, const char *bytes, size_t len);
/* Advance by a token id (needs a vocab view). An EOG token is accepted only
 * when the grammar is complete. */
cllm_status cllm_grammar_accept_token(cllm_grammar *g, int32_t token);
/* True when the text so far is a complete sentence of the grammar. */
bool        cllm_grammar_is_complete(const cllm_grammar *g);
void        cllm_grammar_reset(cllm_grammar *g);
const char *cllm_grammar_last_error(const cllm_grammar *g);
/* The fewest code points that would complete the text so far (0 when
 * complete; INT32_MAX if no completion exists). */
int32_t     cllm_grammar_distance(const cllm_grammar *g);

/* JSON Schema (text) to GBNF (caller frees *gbnf_out with free()). On error
 * returns CLLM_ERR_UNSUPPORTED (naming the keyword) or CLLM_ERR_FORMAT, with
 * the message in err (if non-NULL) and cllm_last_error(). */
cllm_status cllm_json_schema_to_grammar(const char *schema_json, char **gbnf_out,
                                        char *err, size_t errlen);

/* ------------------------------------------------------------------ pull */
/* Models from a Hugging Face hub (`cllm pull`, `-hf REPO[:QUANT]`): the
 * GGUF of REPO whose file name carries the quant tag (case-insensitive;
 * default Q4_K_M, else the repo's first GGUF), every part of a split model,
 * downloaded with resume into the cache ($CLLM_CACHE or ~/.cache/cllm,
 * as CACHE/owner/name/file) and checked against the hub's size and sha256.
 * A cached file and the cached listing are reused when the hub cannot be
 * reached. See docs/tools.md. */
typedef void (*cllm_pull_progress_fn)(const char *file, uint64_t done, uint64_t total, void *user);

typedef struct cllm_pull_params {
    const char *endpoint;   /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *token;      /* bearer token for gated repos ($HF_TOKEN) */
    const char *cache_dir;  /* NULL: $CLLM_CACHE, else ~/.cache/cllm */
    bool offline;           /* use only the cache ($CLLM_OFFLINE / $HF_HUB_OFFLINE) */
    cllm_pull_progress_fn progress; /* called during downloads; may be NULL */
    void *user;
} cllm_pull_params;

/* Defaults from the environment (HF_ENDPOINT, HF_TOKEN, CLLM_CACHE, ...). */
cllm_pull_params cllm_pull_default_params(void);
/* Resolve "owner/name[:QUANT]" to a local file, downloading what is missing.
 * *path_out (caller frees) is the model file, or the first part of a split
 * model. Errors name the repo, the quant or the file. */
cllm_status cllm_pull_resolve(const char *repo_spec, char **path_out);
cllm_status cllm_pull_resolve_ex(const char *repo_spec, const cllm_pull_params *p, char **path_out);

#ifdef __cplusplus
}
#endif
#endif /* CLLM_H */
