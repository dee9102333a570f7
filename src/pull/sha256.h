/* sha256.h: SHA-256 (FIPS 180-4), streaming, for verifying downloads against
 * the Hugging Face hub's LFS oids. */
#ifndef CLLM_PULL_SHA256_H
#define CLLM_PULL_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct cllm_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
} cllm_sha256;

void cllm_sha256_init(cllm_sha256 *s);
void cllm_sha256_update(cllm_sha256 *s, const void *data, size_t n);
void cllm_sha256_final(cllm_sha256 *s, uint8_t out[32]);
/* Digest as 64 lowercase hex digits + NUL. */
void cllm_sha256_hex(const uint8_t d[32], char out[65]);
/* Hash a whole file; false if it cannot be read. */
int  cllm_sha256_file(const char *path, char hex_out[65]);

#endif /* CLLM_PULL_SHA256_H */
