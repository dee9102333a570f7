/* threadpool.h: a fork-join thread pool for the compute ops. The caller's
 * thread is worker 0; n-1 pthreads are workers 1..n-1. A task is a function
 * run once on every worker with (ith, nth); it splits its own work by ith/nth
 * and may call cllm_threadpool_barrier to separate phases. Workers spin on an
 * atomic generation counter for a short while after a task, then sleep on a
 * condition variable, so back-to-back ops cost no syscalls and an idle pool
 * costs no CPU. Nothing is allocated per task. */
#ifndef CLLM_OPS_THREADPOOL_H
#define CLLM_OPS_THREADPOOL_H

#include "cllm.h"

typedef struct cllm_threadpool cllm_threadpool;

/* fn runs on every worker; arg is borrowed for the duration of the run. */
typedef void (*cllm_task_fn)(void *arg, int ith, int nth);

/* n_threads >= 1. On failure *out is NULL and cllm_last_error() says why. */
cllm_status cllm_threadpool_init(int n_threads, cllm_threadpool **out);
void        cllm_threadpool_free(cllm_threadpool *tp);
int         cllm_threadpool_n_threads(const cllm_threadpool *tp);

/* Run fn on all workers and return when every worker has finished. Not
 * reentrant: one run at a time per pool (a context owns its pool). */
void cllm_threadpool_run(cllm_threadpool *tp, cllm_task_fn fn, void *arg);
/* Run fn on the first n workers only (1 <= n <= n_threads); the others skip
 * it. Useful when a task has less parallel work than threads. */
void cllm_threadpool_run_n(cllm_threadpool *tp, int n, cllm_task_fn fn, void *arg);

/* Inside a task: wait until every worker of the current run reached it. */
void cllm_threadpool_barrier(cllm_threadpool *tp);

/* Helper: the [*i0, *i1) share of n items for worker ith of nth. */
static inline void cllm_split_range(int64_t n, int ith, int nth, int64_t *i0, int64_t *i1) {
    const int64_t per = (n + nth - 1) / nth;
    int64_t a = per * ith;
    int64_t b = a + per;
    if (a > n) a = n;
    if (b > n) b = n;
    *i0 = a;
    *i1 = b;
}

#endif /* CLLM_OPS_THREADPOOL_H */
