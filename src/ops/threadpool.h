/* threadpool.h: the thread pool of the compute ops. The caller's thread is
 * worker 0; n-1 pthreads are workers 1..n-1.
 *
 * Work is a range [0, n) cut into chunks of `grain` items that threads claim
 * from an atomic counter (dynamic scheduling): whichever threads are running
 * do the work, so a worker the OS has not scheduled yet (the machines are
 * shared and often oversubscribed) never holds up a run unless it already
 * claimed a chunk. Idle workers spin briefly (pause, then sched_yield) and
 * then sleep on a condition variable. Nothing is allocated per run. */
#ifndef CLLM_OPS_THREADPOOL_H
#define CLLM_OPS_THREADPOOL_H

#include "cllm.h"

typedef struct cllm_threadpool cllm_threadpool;

/* Process items [i0, i1) on worker ith (0 <= ith < n_threads; use it to pick
 * per-thread scratch). arg is borrowed for the duration of the run. */
typedef void (*cllm_chunk_fn)(void *arg, int64_t i0, int64_t i1, int ith);

/* n_threads >= 1. On failure *out is NULL and cllm_last_error() says why. */
cllm_status cllm_threadpool_init(int n_threads, cllm_threadpool **out);
void        cllm_threadpool_free(cllm_threadpool *tp);
int         cllm_threadpool_n_threads(const cllm_threadpool *tp);

/* Run fn over [0, n) in chunks of grain (>= 1) and return when all are done.
 * n <= grain (or a 1-thread pool) runs inline on the caller. Not reentrant:
 * one run at a time per pool (a context owns its pool). */
void cllm_threadpool_for(cllm_threadpool *tp, int64_t n, int64_t grain, cllm_chunk_fn fn, void *arg);

/* A grain that gives each thread about `per_thread` chunks of n items (>= 1). */
int64_t cllm_threadpool_grain(const cllm_threadpool *tp, int64_t n, int per_thread);

#endif /* CLLM_OPS_THREADPOOL_H */
