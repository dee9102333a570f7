/* threadpool.c: dynamic-chunk thread pool (see threadpool.h).
 *
 * A run publishes its job (fn, arg, n, grain, counters) and then sets `open`
 * and bumps `gen` under `mu` (so sleepers cannot miss it). A worker that sees
 * a new gen registers in `active` *before* checking `open`; the caller clears
 * `open` *before* waiting for `active` to reach 0 (both seq_cst), so a worker
 * either takes part in the run, and is waited for, or sees it closed and
 * touches nothing. Chunks are claimed with fetch_add on `next`; the run is
 * complete when `done` (items finished) reaches n. */
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
    worker *workers;           /* [n], index 0 unused (the caller) */
    /* the current job; stable while open */
    cllm_chunk_fn fn;
    void *arg;
    int64_t n_items, grain;
    atomic_llong next;         /* next unclaimed item */
    atomic_llong done;         /* items finished */
    atomic_bool open;
    atomic_int active;         /* workers inside the current job */
    atomic_uint gen;           /* bumped once per run */
    atomic_bool stop;
    atomic_int n_sleeping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Wait politely: pause spins, then yield so a descheduled peer can run. */
static inline void spin_step(int *spins) {
    if (++*spins < CLLM_PAUSE_SPINS) cpu_relax();
    else sched_yield();
}

/* Claim and run chunks until none are left. */
static void work(cllm_threadpool *tp, int ith) {
    for (;;) {
        const int64_t i0 = atomic_fetch_add_explicit(&tp->next, tp->grain, memory_order_relaxed);
        if (i0 >= tp->n_items) return;
        const int64_t i1 = i0 + tp->grain < tp->n_items ? i0 + tp->grain : tp->n_items;
        tp->fn(tp->arg, i0, i1, ith);
        atomic_fetch_add_explicit(&tp->done, i1 - i0, memory_order_release);
    }
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
        atomic_fetch_add(&tp->active, 1);          /* seq_cst: before reading open */
        if (atomic_load(&tp->open)) work(tp, w->ith);
        atomic_fetch_sub(&tp->active, 1);
    }
}

cllm_status cllm_threadpool_init(int n_threads, cllm_threadpool **out) {
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "thread pool: %d threads (want 1..1024)", n_threads);
    cllm_threadpool *tp = calloc(1, sizeof *tp);
    if (!tp) return cllm_set_last_error(CLLM_ERR_NOMEM, "thread pool: out of memory");
    tp->n = n_threads;
    tp->workers = calloc((size_t)n_threads, sizeof *tp->workers);
    if (!tp->workers) {
        free(tp);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "thread pool: out of memory");
    }
    atomic_init(&tp->next, 0);
    atomic_init(&tp->done, 0);
    atomic_init(&tp->open, false);
    atomic_init(&tp->active, 0);
    atomic_init(&tp->gen, 0);
    atomic_init(&tp->stop, false);
    atomic_init(&tp->n_sleeping, 0);
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

int64_t cllm_threadpool_grain(const cllm_threadpool *tp, int64_t n, int per_thread) {
    const int64_t parts = (int64_t)cllm_threadpool_n_threads(tp) * (per_thread < 1 ? 1 : per_thread);
    const int64_t g = (n + parts - 1) / parts;
    return g < 1 ? 1 : g;
}

void cllm_threadpool_for(cllm_threadpool *tp, int64_t n, int64_t grain, cllm_chunk_fn fn, void *arg) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (!tp || tp->n == 1 || n <= grain) {   /* serial: do not wake anyone */
        fn(arg, 0, n, 0);
        return;
    }
    /* No worker is inside a job here (the previous run waited for active == 0). */
    tp->fn = fn;
    tp->arg = arg;
    tp->n_items = n;
    tp->grain = grain;
    atomic_store_explicit(&tp->next, 0, memory_order_relaxed);
    atomic_store_explicit(&tp->done, 0, memory_order_relaxed);
    atomic_store(&tp->open, true);           /* publishes the fields above */
    pthread_mutex_lock(&tp->mu);
    atomic_fetch_add_explicit(&tp->gen, 1, memory_order_acq_rel);
    if (atomic_load_explicit(&tp->n_sleeping, memory_order_acquire) > 0) pthread_cond_broadcast(&tp->cv);
    pthread_mutex_unlock(&tp->mu);
    work(tp, 0);
    int spins = 0;
    while (atomic_load_explicit(&tp->done, memory_order_acquire) < n) spin_step(&spins);
    atomic_store(&tp->open, false);          /* seq_cst: before reading active */
    spins = 0;
    while (atomic_load(&tp->active) > 0) spin_step(&spins);
}
