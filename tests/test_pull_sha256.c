/* test_pull_sha256.c: the SHA-256 used to verify downloads, on the FIPS
 * 180-4 / NIST test vectors (empty, "abc", the 448-bit message, a million
 * 'a'), fed in one piece and in uneven pieces, and cllm_sha256_file. */
#include "pull/sha256.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex_of(const void *d, size_t n, size_t step, char out[65]) {
    cllm_sha256 s;
    cllm_sha256_init(&s);
    const unsigned char *p = d;
    for (size_t i = 0; i < n; i += step) cllm_sha256_update(&s, p + i, n - i < step ? n - i : step);
    uint8_t dg[32];
    cllm_sha256_final(&s, dg);
    cllm_sha256_hex(dg, out);
}

int main(void) {
    static const struct { const char *msg, *hex; } k_vec[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[65];
    for (size_t k = 0; k < sizeof k_vec / sizeof k_vec[0]; k++) {
        const size_t n = strlen(k_vec[k].msg);
        static const size_t steps[] = {1, 3, 7, 63, 64, 65, 1000};
        for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
            hex_of(k_vec[k].msg, n, steps[s], hex);
            CHECK(!strcmp(hex, k_vec[k].hex), "vector %zu, pieces of %zu: %s", k, steps[s], hex);
        }
    }
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    hex_of(a, 1000000, 4096, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "million a: %s", hex);
    hex_of(a, 1000000, 1000000, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "million a (one piece)");
    char path[64];
    snprintf(path, sizeof path, "/tmp/cllm_test_sha_%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(a, 1, 1000000, f) == 1000000, "write");
    if (f) fclose(f);
    CHECK(cllm_sha256_file(path, hex) && !strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
          "file: %s", hex);
    CHECK(!cllm_sha256_file("/nonexistent/x", hex), "missing file");
    unlink(path);
    free(a);
    return test_finish();
}
