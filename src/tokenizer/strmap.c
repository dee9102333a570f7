/* strmap.c: the two hash maps of the tokenizer: piece text -> id (open
 * addressing over borrowed key strings) and BPE merge pair -> (rank, result).
 * Both are built once at load and then only read, so lookups are lock-free. */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

/* 64-bit hash of a byte string (a multiply-xorshift over 8-byte words). Fast
 * on the short strings of a vocabulary; quality is enough for linear probing
 * at <= 50% load. */
uint64_t cllm_tok_hash(const void *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)s[i] << (8 * i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint32_t pow2_at_least(uint64_t n) {
    uint64_t c = 16;
    while (c < n) c <<= 1;
    return c > 0x80000000ull ? 0x80000000u : (uint32_t)c;
}

cllm_status cllm_strmap_reserve(cllm_strmap *m, uint32_t n_total) {
    uint32_t want = pow2_at_least((uint64_t)n_total * 2 + 1);
    if (m->slots && m->cap >= want) return CLLM_OK;
    uint32_t *slots = calloc(want, sizeof *slots);
    if (!slots) return CLLM_ERR_NOMEM;
    /* Rehash what is there. */
    for (uint32_t i = 0; m->slots && i < m->cap; i++) {
        uint32_t v = m->slots[i];
        if (!v) continue;
        uint64_t h = cllm_tok_hash(m->keys[v - 1], m->lens[v - 1]);
        uint32_t j = (uint32_t)h & (want - 1);
        while (slots[j]) j = (j + 1) & (want - 1);
        slots[j] = v;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = want;
    return CLLM_OK;
}

bool cllm_strmap_insert(cllm_strmap *m, uint32_t i) {
    const char *k = m->keys[i];
    uint32_t n = m->lens[i];
    uint32_t j = (uint32_t)cllm_tok_hash(k, n) & (m->cap - 1);
    while (m->slots[j]) {
        uint32_t o = m->slots[j] - 1;
        if (m->lens[o] == n && memcmp(m->keys[o], k, n) == 0) return false;
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j] = i + 1;
    m->n++;
    return true;
}

int32_t cllm_strmap_find(const cllm_strmap *m, const char *s, size_t len) {
    if (!m->slots || len > UINT32_MAX) return -1;
    uint32_t j = (uint32_t)cllm_tok_hash(s, len) & (m->cap - 1);
    for (;;) {
        uint32_t v = m->slots[j];
        if (!v) return -1;
        if (m->lens[v - 1] == len && memcmp(m->keys[v - 1], s, len) == 0) return (int32_t)(v - 1);
        j = (j + 1) & (m->cap - 1);
    }
}

void cllm_strmap_free(cllm_strmap *m) {
    if (!m) return;
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- merges */
static inline uint32_t mix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return (uint32_t)k;
}

cllm_status cllm_mergemap_init(cllm_mergemap *m, uint32_t n_expected) {
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least((uint64_t)n_expected * 2 + 1);
    m->slots = malloc((size_t)m->cap * sizeof *m->slots);
    if (!m->slots) return CLLM_ERR_NOMEM;
    for (uint32_t i = 0; i < m->cap; i++) m->slots[i].key = UINT64_MAX;
    return CLLM_OK;
}

cllm_status cllm_mergemap_put(cllm_mergemap *m, uint64_t key, int32_t rank, int32_t result) {
    if ((uint64_t)(m->n + 1) * 2 > m->cap) {
        /* Grow: rehash into a table twice the size. */
        cllm_mergemap bigger = {0};
        bigger.cap = m->cap * 2;
        bigger.slots = malloc((size_t)bigger.cap * sizeof *bigger.slots);
        if (!bigger.slots) return CLLM_ERR_NOMEM;
        for (uint32_t i = 0; i < bigger.cap; i++) bigger.slots[i].key = UINT64_MAX;
        for (uint32_t i = 0; i < m->cap; i++) {
            if (m->slots[i].key == UINT64_MAX) continue;
            uint32_t j = mix64(m->slots[i].key) & (bigger.cap - 1);
            while (bigger.slots[j].key != UINT64_MAX) j = (j + 1) & (bigger.cap - 1);
            bigger.slots[j] = m->slots[i];
        }
        bigger.n = m->n;
        free(m->slots);
        *m = bigger;
    }
    uint32_t j = mix64(key) & (m->cap - 1);
    while (m->slots[j].key != UINT64_MAX) {
        if (m->slots[j].key == key) return CLLM_OK;  /* first occurrence wins */
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].key = key;
    m->slots[j].rank = rank;
    m->slots[j].result = result;
    m->n++;
    return CLLM_OK;
}

const cllm_merge_entry *cllm_mergemap_get(const cllm_mergemap *m, uint64_t key) {
    if (!m->slots) return NULL;
    uint32_t j = mix64(key) & (m->cap - 1);
    for (;;) {
        const cllm_merge_entry *e = &m->slots[j];
        if (e->key == key) return e;
        if (e->key == UINT64_MAX) return NULL;
        j = (j + 1) & (m->cap - 1);
    }
}

void cllm_mergemap_free(cllm_mergemap *m) {
    if (!m) return;
    free(m->slots);
    memset(m, 0, sizeof *m);
}
