/* test_tokenizer_perf.c: tokenizing 1 MiB of mixed text (C code, English
 * prose, Chinese, Japanese, long whitespace and digit runs) with the qwen3
 * vocab (151936 tokens, BPE) must take under a second, and give the same
 * ids in pieces as in one call and from four threads at once. The figure
 * is printed; docs/PERFORMANCE.md records it. The time limit is not checked
 * in sanitizer or unoptimized builds (they are several times slower). */
#include "cllm.h"
#include "core/core.h"
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every part of the text ends with a newline and is followed by " #N ": for
 * qwen2's regex a word ends after that newline (\s*[\r\n]+ stops there and
 * " #" is the next word), so the text can be cut there without changing the
 * ids. True when text[i] is such a newline. */
static bool cut_point(const char *text, size_t i, size_t n) {
    return i + 2 < n && text[i] == '\n' && text[i + 1] == ' ' && text[i + 2] == '#';
}

/* Concurrent use: threads tokenize parts of the text with the same vocab. */
typedef struct job {
    const cllm_vocab *v;
    const char *text;
    size_t len;
    int32_t *ids;
    int32_t cap, n;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    for (int rep = 0; rep < 3; rep++) j->n = cllm_tokenize(j->v, j->text, j->len, j->ids, j->cap, false, false);
    return NULL;
}

/* CPU time of this thread: the limit is checked on it, so that other jobs on
 * a shared machine do not make the test flaky; wall time is printed too. */
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const k_parts[] = {
    "static int parse_header(const uint8_t *buf, size_t len, struct header *out) {\n"
    "    if (len < 24) return -EINVAL;\n    memcpy(&out->magic, buf, 4);\n"
    "    for (int i = 0; i < out->n_kv; i++) { out->kv[i] = read_kv(buf + off, &off); }\n"
    "    return 0; // ok\n}\n\n",
    "The quick brown fox jumps over the lazy dog. It wasn't the first time; they'd all seen it "
    "before, and they'll see it again. \"Really?\" she asked -- twice!  Numbers: 3.14159, 1,000,000 "
    "and 2024-11-29.\n",
    "\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8\xe8\x8b\xb9\xe6\x9e\x9c\xe5\xb7\xa5\xe4\xbd\x9c\xef\xbc\x8c"
    "\xe4\xbb\x8a\xe5\xa4\xa9\xe5\xa4\xa9\xe6\xb0\x94\xe5\xbe\x88\xe5\xa5\xbd\xe3\x80\x82"
    "\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xaf\xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xae\xe9\xa6\x96\xe9\x83\xbd"
    "\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\n",
    "def tokenize(text):\n    return [t for t in text.split() if t]\n\n\t\t  \n",
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80! "
    "Caf\xc3\xa9 na\xc3\xafve \xf0\x9f\xa6\x99\xf0\x9f\x9a\x80 emoji   spaces      end\n",
};

int main(void) {
    test_require_shared("qwen3 vocab in ../shared/vocab");
    cllm_gguf *g = NULL;
    cllm_status st = cllm_gguf_open(test_shared_path("vocab/ggml-vocab-qwen3.gguf"), &g);
    CHECK(st == CLLM_OK, "open: %s", cllm_last_error());
    if (st != CLLM_OK) return test_finish();
    cllm_vocab *v = NULL;
    uint64_t t0 = cllm_time_ns();
    st = cllm_vocab_load(g, &v);
    uint64_t t_load = cllm_time_ns() - t0;
    cllm_gguf_free(g);
    CHECK(st == CLLM_OK, "load: %s", cllm_last_error());
    if (!v) return test_finish();
    CHECK(cllm_vocab_n_tokens(v) == 151936, "n_tokens %d", cllm_vocab_n_tokens(v));

    /* 1 MiB: the parts in a varying order, with a counter so that the text
     * does not repeat exactly. */
    const size_t target = 1u << 20;
    char *text = malloc(target + 4096);
    size_t n = 0;
    unsigned seq = 12345;
    while (n < target) {
        seq = seq * 1103515245u + 12345u;
        const char *p = k_parts[(seq >> 16) % (sizeof k_parts / sizeof k_parts[0])];
        size_t pl = strlen(p);
        memcpy(text + n, p, pl);
        n += pl;
        n += (size_t)snprintf(text + n, 32, " #%u ", seq % 100000);
    }
    n = target;
    /* Do not end inside a UTF-8 sequence (it would still work, but the chunk
     * comparison below wants clean boundaries). */
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;

    int32_t cap = (int32_t)n;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
    t0 = cllm_time_ns();
    double c0 = cpu_seconds();
    int32_t nt = cllm_tokenize(v, text, n, ids, cap, false, false);
    double secs = cpu_seconds() - c0;
    uint64_t t_tok = cllm_time_ns() - t0;
    CHECK(nt > 0 && nt <= cap, "tokens %d", nt);
    printf("qwen3 vocab load: %.3f s; tokenize %zu bytes -> %d tokens in %.3f s CPU, %.3f s wall (%.2f MiB/s)\n",
           (double)t_load / 1e9, n, nt, secs, (double)t_tok / 1e9, (double)n / (1 << 20) / secs);
#if defined(__SANITIZE_ADDRESS__) || defined(__OPTIMIZE__) == 0
    printf("(sanitizer or -O0 build: the 1 s limit is not checked)\n");
#else
    CHECK(secs < 1.0, "1 MiB took %.3f s (limit 1 s)", secs);
#endif

    /* Same ids when the text is cut after a newline and tokenized in two calls. */
    size_t cut = n / 2;
    while (cut < n && !cut_point(text, cut, n)) cut++;
    cut++;
    int32_t *a = malloc(sizeof(int32_t) * (size_t)cap);
    int32_t na = cllm_tokenize(v, text, cut, a, cap, false, false);
    int32_t nb = na >= 0 ? cllm_tokenize(v, text + cut, n - cut, a + na, cap - na, false, false) : -1;
    CHECK(na > 0 && nb > 0 && na + nb == nt && memcmp(a, ids, sizeof(int32_t) * (size_t)nt) == 0,
          "split tokenization differs (%d + %d vs %d)", na, nb, nt);

    /* Four threads at once, each on a quarter cut at a newline, must give
     * the ids of the sequential run. */
    {
        job jobs[4];
        pthread_t th[4];
        size_t start = 0;
        for (int k = 0; k < 4; k++) {
            size_t end = k == 3 ? n : (n / 4) * (size_t)(k + 1);
            while (end < n && !cut_point(text, end, n)) end++;
            if (end < n) end++;
            jobs[k].v = v;
            jobs[k].text = text + start;
            jobs[k].len = end - start;
            jobs[k].cap = cap;
            jobs[k].ids = malloc(sizeof(int32_t) * (size_t)cap);
            jobs[k].n = -1;
            start = end;
        }
        for (int k = 0; k < 4; k++) pthread_create(&th[k], NULL, run_job, &jobs[k]);
        for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
        int32_t off = 0;
        bool same = true;
        for (int k = 0; k < 4; k++) {
            if (jobs[k].n < 0 || off + jobs[k].n > nt ||
                memcmp(jobs[k].ids, ids + off, sizeof(int32_t) * (size_t)jobs[k].n) != 0)
                same = false;
            off += jobs[k].n > 0 ? jobs[k].n : 0;
            free(jobs[k].ids);
        }
        CHECK(same && off == nt, "threaded tokenization differs (%d vs %d tokens)", off, nt);
    }

    /* Round trip of the whole MiB. */
    char *back = malloc(n + 16);
    int32_t m = cllm_detokenize(v, ids, nt, back, (int32_t)n + 16, false, false);
    CHECK(m == (int32_t)n && memcmp(back, text, n) == 0, "round trip of 1 MiB (%d bytes back)", m);

    free(back);
    free(a);
    free(ids);
    free(text);
    cllm_vocab_free(v);
    return test_finish();
}
