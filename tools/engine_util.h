/* engine_util.h: small helpers shared by the engine commands (run, eval,
 * bench): token-id list parsing and model/context setup from flags. */
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

#endif
