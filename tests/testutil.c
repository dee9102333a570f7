/* testutil.c: the test harness shared by every tests/test_*.c. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int g_test_pass, g_test_fail;

const char *test_shared_dir(void) {
    const char *env = getenv("CLLM_SHARED");
    const char *dir = env && *env ? env : CLLM_SHARED_DIR;
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return dir;
    return NULL;
}

void test_require_shared(const char *why) {
    if (!test_shared_dir()) {
        printf("SKIP: ../shared not found (%s): %s\n", CLLM_SHARED_DIR, why);
        exit(77);
    }
}

const char *test_shared_path(const char *rel) {
    static char bufs[8][4096];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, sizeof bufs[0], "%s/%s", test_shared_dir() ? test_shared_dir() : CLLM_SHARED_DIR, rel);
    return b;
}

void *test_read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0) { fclose(f); return NULL; }
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf) { fclose(f); return NULL; }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); fclose(f); return NULL; }
    buf[n] = '\0';
    fclose(f);
    if (len_out) *len_out = (size_t)n;
    return buf;
}

int test_finish(void) {
    printf("%d passed, %d failed\n", g_test_pass, g_test_fail);
    if (g_test_fail == 0 && g_test_pass == 0) {
        printf("no checks ran\n");
        return 1;
    }
    return g_test_fail ? 1 : 0;
}
