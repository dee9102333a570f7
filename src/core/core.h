/* core.h: internal helpers shared by every module: error messages, logging,
 * checked arithmetic, small allocation helpers. Not part of the public API. */
#ifndef CLLM_CORE_H
#define CLLM_CORE_H

#include "cllm.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define CLLM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLLM_PRINTF(a, b)
#endif

#define CLLM_ERRMSG_MAX 512

/* A handle's last-error slot. Embed one in every handle struct. */
typedef struct cllm_err {
    char msg[CLLM_ERRMSG_MAX];
} cllm_err;

/* Format a message into e (may be NULL) and return st, so that error paths
 * read `return cllm_err_set(&h->err, CLLM_ERR_FORMAT, "...", ...);`. */
cllm_status cllm_err_set(cllm_err *e, cllm_status st, const char *fmt, ...) CLLM_PRINTF(3, 4);
cllm_status cllm_err_setv(cllm_err *e, cllm_status st, const char *fmt, va_list ap);
/* Set the calling thread's last error (for constructors); returns st. */
cllm_status cllm_set_last_error(cllm_status st, const char *fmt, ...) CLLM_PRINTF(2, 3);
void cllm_clear_last_error(void);

/* Log through the user's callback (see cllm_log_set). */
void cllm_log(cllm_log_level level, const char *fmt, ...) CLLM_PRINTF(2, 3);
#define CLLM_LOGE(...) cllm_log(CLLM_LOG_ERROR, __VA_ARGS__)
#define CLLM_LOGW(...) cllm_log(CLLM_LOG_WARN, __VA_ARGS__)
#define CLLM_LOGI(...) cllm_log(CLLM_LOG_INFO, __VA_ARGS__)
#define CLLM_LOGD(...) cllm_log(CLLM_LOG_DEBUG, __VA_ARGS__)

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool cllm_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool cllm_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

/* Aligned allocation for SIMD buffers (64-byte aligned); free with cllm_afree. */
void *cllm_amalloc(size_t n);
void  cllm_afree(void *p);

/* Monotonic time in nanoseconds. */
uint64_t cllm_time_ns(void);

#define CLLM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CLLM_MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLLM_UNUSED(x) ((void)(x))

#endif /* CLLM_CORE_H */
