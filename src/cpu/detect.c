/* detect.c: CPU feature detection (cpuid + xgetbv on x86, HWCAP on aarch64)
 * and a best guess of the number of physical cores. Computed once, then
 * read-only; cllm_cpu_features_get() is thread-safe. */
#include "cpu/kernels.h"
#include "core/core.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static cllm_cpu_features g_feat;
static pthread_once_t g_feat_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) || defined(__i386__)
/* XCR0: which register states the OS saves on context switch. Without the
 * matching bits, AVX/AVX-512 registers are not usable even if cpuid says so.
 * Inline asm so that this file needs no -mxsave. */
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect_x86(cllm_cpu_features *f) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    const unsigned max_leaf = a;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const bool osxsave = (c >> 27) & 1;
    const bool avx = (c >> 28) & 1;
    const bool fma = (c >> 12) & 1;
    const bool f16c = (c >> 29) & 1;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool ymm_ok = (xcr0 & 0x6) == 0x6;      /* XMM + YMM state */
    const bool zmm_ok = (xcr0 & 0xe6) == 0xe6;    /* + opmask, ZMM_Hi256, Hi16_ZMM */
    if (!avx || !ymm_ok) return;
    f->fma = fma;
    f->f16c = f16c;
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = (b >> 5) & 1;
    if (zmm_ok) {
        f->avx512f = (b >> 16) & 1;
        f->avx512bw = (b >> 30) & 1;
        f->avx512vl = (b >> 31) & 1;
        f->avx512vnni = f->avx512f && ((c >> 11) & 1);
    }
    const unsigned max_sub = a;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f->avxvnni = (a >> 4) & 1;
        f->avx512bf16 = zmm_ok && f->avx512f && ((a >> 5) & 1);
    }
}
#endif

#if defined(__aarch64__)
static void detect_arm(cllm_cpu_features *f) {
    f->neon = true; /* mandatory on AArch64 */
#if defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP);
    f->dotprod = (hw & (1UL << 20)) != 0; /* HWCAP_ASIMDDP */
#endif
}
#endif

/* Physical cores: distinct (package, core) pairs from sysfs, else from
 * /proc/cpuinfo, else the online logical CPU count. */
static int count_cores_sysfs(void) {
    enum { MAXC = 1024 };
    static int keys[MAXC];
    int nkeys = 0, misses = 0;
    for (int cpu = 0; cpu < MAXC; cpu++) {
        char path[128];
        int core = -1, pkg = -1;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
        FILE *fp = fopen(path, "r");
        if (!fp) {
            if (cpu == 0 || ++misses > 64) break;
            continue; /* offline holes are possible */
        }
        misses = 0;
        if (fscanf(fp, "%d", &core) != 1) core = -1;
        fclose(fp);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        fp = fopen(path, "r");
        if (fp) {
            if (fscanf(fp, "%d", &pkg) != 1) pkg = 0;
            fclose(fp);
        }
        if (core < 0) continue;
        const int key = (pkg < 0 ? 0 : pkg) * 65536 + core;
        bool seen = false;
        for (int k = 0; k < nkeys; k++) seen |= keys[k] == key;
        if (!seen && nkeys < MAXC) keys[nkeys++] = key;
    }
    return nkeys;
}

static int count_cores_cpuinfo(void) {
    enum { MAXC = 1024 };
    static int keys[MAXC];
    int nkeys = 0, pkg = 0;
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp) return 0;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        int v;
        if (sscanf(line, "physical id : %d", &v) == 1) {
            pkg = v;
        } else if (sscanf(line, "core id : %d", &v) == 1) {
            const int key = pkg * 65536 + v;
            bool seen = false;
            for (int k = 0; k < nkeys; k++) seen |= keys[k] == key;
            if (!seen && nkeys < MAXC) keys[nkeys++] = key;
        }
    }
    fclose(fp);
    return nkeys;
}

static void detect(void) {
    memset(&g_feat, 0, sizeof g_feat);
#if defined(__x86_64__) || defined(__i386__)
    detect_x86(&g_feat);
#endif
#if defined(__aarch64__)
    detect_arm(&g_feat);
#endif
    int n = count_cores_sysfs();
    if (n <= 0) n = count_cores_cpuinfo();
    if (n <= 0) {
        long l = sysconf(_SC_NPROCESSORS_ONLN);
        n = l > 0 ? (int)l : 1;
    }
    /* Never claim more cores than logical CPUs online (containers). */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > 0 && n > online) n = (int)online;
    g_feat.n_physical_cores = n > 0 ? n : 1;
    CLLM_LOGD("cpu: avx2=%d fma=%d f16c=%d avx512f=%d bw=%d vl=%d vnni=%d bf16=%d avxvnni=%d "
              "neon=%d dotprod=%d cores=%d",
              g_feat.avx2, g_feat.fma, g_feat.f16c, g_feat.avx512f, g_feat.avx512bw,
              g_feat.avx512vl, g_feat.avx512vnni, g_feat.avx512bf16, g_feat.avxvnni, g_feat.neon,
              g_feat.dotprod, g_feat.n_physical_cores);
}

const cllm_cpu_features *cllm_cpu_features_get(void) {
    pthread_once(&g_feat_once, detect);
    return &g_feat;
}
