/* peak.c: runs the int8 throughput probe (cpu/peak.h) on several threads at
 * once, the way prompt processing uses the cores. The probe is chosen by CPU
 * detection: zmm VNNI where AVX-512 VNNI exists, else AVX2. */
#include "cpu/peak.h"
#include "core/core.h"
#include "cpu/kernels.h"

#include <pthread.h>

typedef struct {
    uint64_t (*fn)(uint64_t);
    uint64_t iters, macs;
} peak_arg;

static void *peak_thread(void *p) {
    peak_arg *a = p;
    a->macs = a->fn(a->iters);
    return NULL;
}

double cllm_cpu_int8_peak(int n_threads, const char **isa) {
    const cllm_cpu_features *f = cllm_cpu_features_get();
    uint64_t (*fn)(uint64_t) = NULL;
    const char *name = "none";
#if defined(CLLM_ARCH_X86)
    if (f->avx512f && f->avx512bw && f->avx512vnni) {
        fn = cllm_cpu_peak_vnni512;
        name = "avx512-vnni vpdpbusd zmm";
    } else if (f->avx2) {
        fn = cllm_cpu_peak_avx2;
        name = "avx2 vpmaddubsw+vpmaddwd";
    }
#else
    (void)f;
#endif
    if (isa) *isa = name;
    if (!fn) return 0.0;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 64) n_threads = 64;
    peak_arg args[64];
    pthread_t th[64];
    const uint64_t iters = 12000000;   /* ~50 ms at 2 instr/cycle and 3 GHz */
    double best = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        const uint64_t t0 = cllm_time_ns();
        int started = 0;
        for (int i = 1; i < n_threads; i++) {
            args[i] = (peak_arg){fn, iters, 0};
            if (pthread_create(&th[i], NULL, peak_thread, &args[i]) != 0) break;
            started++;
        }
        args[0] = (peak_arg){fn, iters, 0};
        peak_thread(&args[0]);
        for (int i = 1; i <= started; i++) pthread_join(th[i], NULL);
        const uint64_t dt = cllm_time_ns() - t0;
        uint64_t macs = 0;
        for (int i = 0; i <= started; i++) macs += args[i].macs;
        const double r = (double)macs / ((double)dt * 1e-9);
        if (r > best) best = r;
    }
    return best;
}
