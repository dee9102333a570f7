/* engine_util.h: small helpers shared by the engine commands (run, eval,
 * bench): token-id list parsing, -m/-hf model resolution and the sampling
 * flags (--temp ... --json-schema) parsed into a cllm_sampler_params. */
#ifndef CLLM_TOOLS_ENGINE_UTIL_H
#define CLLM_TOOLS_ENGINE_UTIL_H

#include "cllm.h"
#include <stdbool.h>
#include <stdint.h>

/* Parse "1,2,3" (commas or spaces) into a malloc'd array (caller frees).
 * Returns NULL with a message on stderr for a malformed list. */
int32_t *cmd_parse_ids(const char *s, int *n_out);
/* Parse a KV cache type name (f16, f32, q8_0); -1 if unknown. */
int cmd_parse_kv_type(const char *s);
/* Parse a non-negative integer option value; false (and a message) if bad. */
bool cmd_parse_int(const char *opt, const char *s, long lo, long hi, long *out);
/* Index of the largest value (lowest index on ties). */
int32_t cmd_argmax(const float *x, int32_t n);

/* The model path from -m MODEL or -hf REPO[:QUANT] (exactly one of them;
 * the caller checks). For -hf the repo is resolved with cllm_pull_resolve
 * (downloaded into the cache when missing) and *owned is set to the
 * malloc'd path (caller frees); otherwise *owned is NULL and model is
 * returned. NULL (message on stderr) when the pull fails. */
const char *cmd_model_path(const char *model, const char *hf, char **owned);

/* Sampling flags (llama.cpp's names):
 *   --temp T --top-k K --top-p P --min-p P --typical P --repeat-penalty X
 *   --repeat-last-n N --presence-penalty X --frequency-penalty X
 *   --mirostat 0|1|2 --mirostat-lr ETA --mirostat-ent TAU --seed S (-1: random)
 *   --grammar GBNF --grammar-file F --json-schema JSON|@FILE --samplers ORDER
 *   --ignore-eos
 * Strings (grammar text, schema, order) are borrowed from argv. */
typedef struct cmd_sampling {
    cllm_sampler_params p;
    const char *grammar_text;   /* --grammar (borrowed) */
    const char *grammar_file;   /* --grammar-file (borrowed) */
    const char *json_schema;    /* --json-schema (borrowed; "@path" = a file) */
    char *grammar;              /* owned: the resolved GBNF after cmd_sampling_finish */
    bool ignore_eos;
} cmd_sampling;

/* llama.cpp's defaults (cllm_sampler_default_params), random seed. */
void cmd_sampling_init(cmd_sampling *s);
/* If argv[*i] is a sampling flag, consume it (and its value, advancing *i)
 * and return 1; 0 if it is not one; -1 for a missing or bad value (message
 * on stderr: a usage error, exit 2). */
int  cmd_sampling_parse(cmd_sampling *s, int argc, char **argv, int *i);
/* After parsing: read --grammar-file, convert --json-schema, and point
 * s->p.grammar at the result (NULL: unconstrained). Returns 2 for
 * conflicting flags, 1 for an unreadable file or a bad schema (message on
 * stderr), 0 when fine. */
int  cmd_sampling_finish(cmd_sampling *s);
void cmd_sampling_free(cmd_sampling *s);
/* One line of usage text for the flags above. */
extern const char cmd_sampling_usage[];

/* Read a whole file (NUL-terminated, caller frees); NULL with a message on
 * stderr naming the file. */
char *cmd_read_text_file(const char *path);

#endif
