/* status.c: status strings, per-thread and per-handle error messages. */
#include "core/core.h"

#include <stdio.h>
#include <string.h>

const char *cllm_status_str(cllm_status st) {
    switch (st) {
    case CLLM_OK:               return "ok";
    case CLLM_ERR_INVALID_ARG:  return "invalid argument";
    case CLLM_ERR_IO:           return "i/o error";
    case CLLM_ERR_FORMAT:       return "malformed input";
    case CLLM_ERR_UNSUPPORTED:  return "unsupported";
    case CLLM_ERR_NOMEM:        return "out of memory";
    case CLLM_ERR_NOT_FOUND:    return "not found";
    case CLLM_ERR_NO_SPACE:     return "no space left in context";
    case CLLM_ERR_CANCELLED:    return "cancelled";
    case CLLM_ERR_INTERNAL:     return "internal error";
    }
    return "unknown status";
}

static _Thread_local char g_last_error[CLLM_ERRMSG_MAX];

const char *cllm_last_error(void) { return g_last_error; }

void cllm_clear_last_error(void) { g_last_error[0] = '\0'; }

cllm_status cllm_err_setv(cllm_err *e, cllm_status st, const char *fmt, va_list ap) {
    char buf[CLLM_ERRMSG_MAX];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (e) memcpy(e->msg, buf, sizeof buf);
    /* Mirror into the thread slot so callers holding no handle can read it. */
    memcpy(g_last_error, buf, sizeof buf);
    return st;
}

cllm_status cllm_err_set(cllm_err *e, cllm_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cllm_err_setv(e, st, fmt, ap);
    va_end(ap);
    return st;
}

cllm_status cllm_set_last_error(cllm_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cllm_err_setv(NULL, st, fmt, ap);
    va_end(ap);
    return st;
}
