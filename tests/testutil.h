/* testutil.h: a tiny test harness: counted checks, shared-data lookup, file
 * helpers. Each test binary ends with `return test_finish();`. */
#ifndef CLLM_TESTUTIL_H
#define CLLM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int g_test_pass, g_test_fail;

/* Count a check; on failure print file:line and the formatted reason. */
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            g_test_pass++;                                                 \
        } else {                                                           \
            g_test_fail++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);\
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

/* The ../shared folder, or NULL when absent. */
const char *test_shared_dir(void);
/* Exit 77 (ctest: skipped) with a message when ../shared is absent. */
void test_require_shared(const char *why);
/* Path under ../shared in a static rotating buffer. */
const char *test_shared_path(const char *rel);
/* Read a whole file (caller frees); NULL on failure. */
void *test_read_file(const char *path, size_t *len_out);
/* Print "N passed, N failed" and return the exit status. */
int test_finish(void);

#endif
