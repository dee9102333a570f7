/* threadpool.c: fork-join pool with spin-then-sleep workers (see threadpool.h).
 *
 * Protocol: the caller stores the task, then bumps `gen` (release). Workers
 * wait for gen to change: first spinning (CLLM_SPIN_ITERS polls with a CPU
 * pause), then sleeping on `cv` under `mu`. The caller always takes `mu` when
 * bumping gen, so a sleeper cannot miss the wake-up. Completion is counted on
 * `n_done`; the caller spins on it (the work is short and the caller has
 * nothing else to do). The barrier is a sense-reversing counter. */
#include "ops/threadpool.h"
#include "core/core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define CLLM_SPIN_ITERS 20000   /* polls (pause, then yield) before sleeping */
#define CLLM_PAUSE_SPINS 2000   /* pause-only polls before yielding */

typedef struct worker {
    struct cllm_threadpool *tp;
    int ith;
    pthread_t th;
} worker;

struct cllm_threadpool {
    int n;
    int n_active;              /* workers taking part in the current run */
    worker *workers;           /* [n], index 0 unused (the caller) */
    cllm_task_fn fn;
    void *arg;
    atomic_uint gen;           /* bumped once per run */
    atomic_int n_done;         /* workers (1..n-1) finished with this run */
    atomic_bool stop;
    atomic_int n_sleeping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* barrier */
    atomic_int bar_count;
    atomic_uint bar_phase;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Wait politely: a few pause spins, then yield the CPU so that a descheduled
 * peer (machines are often oversubscribed) gets to run. */
static inline void spin_step(int *spins) {
    if (++*spins < CLLM_PAUSE_SPINS) cpu_relax();
    else sched_yield();
}

static void *worker_main(void *p) {
    worker *w = p;
    cllm_threadpool *tp = w->tp;
    unsigned seen = 0;   /* gen's initial value: a run posted before this thread started is not missed */
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&tp->gen, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&tp->stop, memory_order_acquire)) return NULL;
            if (spins < CLLM_SPIN_ITERS) {
                spin_step(&spins);
                continue;
            }
            pthread_mutex_lock(&tp->mu);
            atomic_fetch_add(&tp->n_sleeping, 1);
            while (atomic_load_explicit(&tp->gen, memory_order_acquire) == seen &&
                   !atomic_load_explicit(&tp->stop, memory_order_acquire))
                pthread_cond_wait(&tp->cv, &tp->mu);
            atomic_fetch_sub(&tp->n_sleeping, 1);
            pthread_mutex_unlock(&tp->mu);
            spins = 0;
        }
        seen = g;
        if (atomic_load_explicit(&tp->stop, memory_order_acquire)) return NULL;
        if (w->ith < tp->n_active) tp->fn(tp->arg, w->ith, tp->n_active);
        atomic_fetch_add_explicit(&tp->n_done, 1, memory_order_acq_rel);
    }
}

cllm_status cllm_threadpool_init(int n_threads, cllm_threadpool **out) {
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "thread pool: %d threads (want 1..1024)", n_threads);
    cllm_threadpool *tp = calloc(1, sizeof *tp);
    if (!tp) return cllm_set_last_error(CLLM_ERR_NOMEM, "thread pool: out of memory");
    tp->n = n_threads;
    tp->n_active = n_threads;
    tp->workers = calloc((size_t)n_threads, sizeof *tp->workers);
    if (!tp->workers) {
        free(tp);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "thread pool: out of memory");
    }
    atomic_init(&tp->gen, 0);
    atomic_init(&tp->n_done, 0);
    atomic_init(&tp->stop, false);
    atomic_init(&tp->n_sleeping, 0);
    atomic_init(&tp->bar_count, 0);
    atomic_init(&tp->bar_phase, 0);
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->cv, NULL);
    for (int i = 1; i < n_threads; i++) {
        tp->workers[i].tp = tp;
        tp->workers[i].ith = i;
        if (pthread_create(&tp->workers[i].th, NULL, worker_main, &tp->workers[i]) != 0) {
            tp->n = i; /* join only the ones that started */
            cllm_threadpool_free(tp);
            return cllm_set_last_error(CLLM_ERR_NOMEM, "thread pool: cannot start thread %d", i);
        }
    }
    *out = tp;
    return CLLM_OK;
}

void cllm_threadpool_free(cllm_threadpool *tp) {
    if (!tp) return;
    pthread_mutex_lock(&tp->mu);
    atomic_store(&tp->stop, true);
    atomic_fetch_add(&tp->gen, 1);
    pthread_cond_broadcast(&tp->cv);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 1; i < tp->n; i++) pthread_join(tp->workers[i].th, NULL);
    pthread_mutex_destroy(&tp->mu);
    pthread_cond_destroy(&tp->cv);
    free(tp->workers);
    free(tp);
}

int cllm_threadpool_n_threads(const cllm_threadpool *tp) { return tp ? tp->n : 1; }

void cllm_threadpool_run_n(cllm_threadpool *tp, int n, cllm_task_fn fn, void *arg) {
    if (n < 1) n = 1;
    if (n > tp->n) n = tp->n;
    if (n == 1) {   /* serial work: do not wake anyone (workers are idle) */
        tp->n_active = 1;   /* so that a barrier inside fn returns at once */
        fn(arg, 0, 1);
        return;
    }
    tp->fn = fn;
    tp->arg = arg;
    tp->n_active = n;
    atomic_store_explicit(&tp->n_done, 0, memory_order_relaxed);
    /* Bump under mu: a worker that is about to sleep re-checks gen under mu,
     * so it either sees the new gen or is already waiting for the broadcast. */
    pthread_mutex_lock(&tp->mu);
    atomic_fetch_add_explicit(&tp->gen, 1, memory_order_acq_rel);
    if (atomic_load_explicit(&tp->n_sleeping, memory_order_acquire) > 0) pthread_cond_broadcast(&tp->cv);
    pthread_mutex_unlock(&tp->mu);
    fn(arg, 0, n);
    int spins = 0;
    while (atomic_load_explicit(&tp->n_done, memory_order_acquire) < tp->n - 1) spin_step(&spins);
}

void cllm_threadpool_run(cllm_threadpool *tp, cllm_task_fn fn, void *arg) {
    cllm_threadpool_run_n(tp, tp ? tp->n : 1, fn, arg);
}

void cllm_threadpool_barrier(cllm_threadpool *tp) {
    if (!tp || tp->n_active <= 1) return;
    const unsigned phase = atomic_load_explicit(&tp->bar_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&tp->bar_count, 1, memory_order_acq_rel) == tp->n_active - 1) {
        atomic_store_explicit(&tp->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&tp->bar_phase, 1, memory_order_acq_rel);
        return;
    }
    int spins = 0;
    while (atomic_load_explicit(&tp->bar_phase, memory_order_acquire) == phase) spin_step(&spins);
}
