/* log.c: the library's single logging path (a user callback, stderr default). */
#include "core/core.h"

#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static cllm_log_fn g_log_fn;
static void *g_log_user;
static cllm_log_level g_log_max = CLLM_LOG_WARN;

void cllm_log_set(cllm_log_fn fn, void *user) {
    pthread_mutex_lock(&g_log_mu);
    g_log_fn = fn;
    g_log_user = user;
    pthread_mutex_unlock(&g_log_mu);
}

void cllm_log_set_level(cllm_log_level max_level) {
    pthread_mutex_lock(&g_log_mu);
    g_log_max = max_level;
    pthread_mutex_unlock(&g_log_mu);
}

void cllm_log(cllm_log_level level, const char *fmt, ...) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_log_mu);
    if (level <= g_log_max) {
        if (g_log_fn) {
            g_log_fn(level, buf, g_log_user);
        } else {
            fprintf(stderr, "cllm %s: %s\n", names[level], buf);
        }
    }
    pthread_mutex_unlock(&g_log_mu);
}
