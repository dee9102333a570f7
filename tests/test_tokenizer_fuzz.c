/* test_tokenizer_fuzz.c: random inputs (random bytes with invalid UTF-8,
 * random code points, special-token texts glued together, whitespace runs)
 * through every shared vocab (and a hand-made one, so the test also runs
 * without ../shared), with parse_special on and off. Nothing may crash (run it
 * under -DCLLM_SANITIZE=ON), every id must be in range, the streaming
 * detokenizer must give exactly the concatenated pieces, and valid UTF-8
 * must round-trip through BPE and SPM vocabs wherever every byte has a token,
 * and SPM must give the same ids with and without its space cuts. Deterministic (fixed seed);
 * CLLM_FUZZ_ITERS overrides the iteration count per vocab, CLLM_FUZZ_SEED
 * the seed. */
#include "cllm.h"
#include "tokenizer/tok_internal.h"
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

static const uint32_t k_cps[] = {' ', ' ', '\n', '\t', '\r', 'a', 'Z', '0', '9', '\'', '.', ',', '!', '?', '-',
                                 '_', '<', '|', '>', 0xA0, 0xE9, 0xC4, 0x3B1, 0x416, 0x5D0, 0x627, 0x915, 0xE01,
                                 0x17A2, 0x3000, 0x3042, 0x4E00, 0x6211, 0xAC00, 0xFF01, 0x1F600, 0x1F999, 0x200D,
                                 0xFE0F, 0x2028, 0x85, 0x1680, 0xFFFD, 0x10FFFF};

/* Fill buf with a random test string; returns its length. valid_out says
 * whether it is valid UTF-8 free of U+2581 (whose SPM piece is a space). */
static size_t gen(const cllm_vocab *v, char *buf, size_t cap, bool *valid_out) {
    size_t n = 0, want = rnd() % 600;
    int mode = (int)(rnd() % 4);
    bool valid = mode != 0;
    while (n + 8 < cap && n < want) {
        uint32_t r = rnd() % 100;
        if (mode == 0 && r < 60) {
            buf[n++] = (char)(rnd() & 0xFF);
        } else if (r < 75) {
            uint32_t cp = k_cps[rnd() % (sizeof k_cps / sizeof k_cps[0])];
            n += cllm_utf8_encode(cp, buf + n);
        } else if (r < 85) {
            uint32_t cp = rnd() % 0x2FFFF;
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
            if (cp == 0x2581) cp = 'y';
            n += cllm_utf8_encode(cp, buf + n);
        } else if (r < 93 && v->n_special > 0) {
            int32_t id = v->special[rnd() % (uint32_t)v->n_special];
            size_t l = v->text_len[id];
            if (n + l + 8 < cap) {
                memcpy(buf + n, v->text[id], l);
                n += l;
            }
        } else {
            int k = (int)(rnd() % 9);
            for (int i = 0; i < k && n + 8 < cap; i++) buf[n++] = (rnd() & 1) ? ' ' : '\n';
        }
    }
    /* Special texts may contain U+2581 (SPM vocabs): check validity last. */
    if (valid) {
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            size_t k = cllm_utf8_decode((const unsigned char *)buf + i, n - i, &cp);
            if (k == 0 || cp == 0x2581) { valid = false; break; }
            i += k;
        }
    }
    *valid_out = valid;
    return n;
}

static int g_iters = 300;

/* Whether every byte of text has a token (its byte token or byte-level
 * character): only then must the round trip be exact. Some vocabs lack a few
 * (falcon has no token for 0x19, gpt-neox none for 0xF5..0xFF). */
static bool representable(const cllm_vocab *v, const char *text, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)text[i];
        int32_t t = v->type == CLLM_VOCAB_BPE ? v->byte_piece[b] : v->byte_token[b];
        if (t < 0 || t >= v->n_tokens) return false;
    }
    return true;
}

/* SPM cuts the text before spaces no token can join (spm.c); with every
 * byte marked as gluing there are no cuts: the ids must be the same. */
static bool spm_cut_same(cllm_vocab *v, const char *text, size_t n, const int32_t *ids, int32_t nt) {
    static int32_t ids2[16384];
    uint8_t saved[256];
    memcpy(saved, v->spm_glue_before_space, 256);
    memset(v->spm_glue_before_space, 1, 256);
    int32_t n2 = cllm_tokenize(v, text, n, ids2, 16384, false, false);
    memcpy(v->spm_glue_before_space, saved, 256);
    return n2 == nt && memcmp(ids, ids2, sizeof(int32_t) * (size_t)nt) == 0;
}

static void fuzz_vocab(const char *name, cllm_vocab *v) {
    static char text[8192], dt[1 << 16], want[1 << 16], st[1 << 16], piece[4096];
    static int32_t ids[16384];
    int bad_range = 0, bad_stream = 0, bad_rt = 0, bad_count = 0, rt_checked = 0, bad_cut = 0;
    for (int it = 0; it < g_iters; it++) {
        bool valid;
        size_t n = gen(v, text, sizeof text, &valid);
        for (int ps = 0; ps < 2; ps++) {
            bool add_special = (rnd() & 1) != 0;
            int32_t nt = cllm_tokenize(v, text, n, ids, 16384, add_special, ps == 1);
            if (nt < 0 || nt > 16384) { bad_count++; continue; }
            /* Asking with a too-small buffer gives the same count. */
            int32_t small;
            if (cllm_tokenize(v, text, n, &small, 1, add_special, ps == 1) != nt) bad_count++;
            for (int32_t i = 0; i < nt; i++)
                if (ids[i] < 0 || ids[i] >= cllm_vocab_n_tokens(v)) bad_range++;
            if (cllm_vocab_get_type(v) == CLLM_VOCAB_SPM && !add_special && ps == 0 && !spm_cut_same(v, text, n, ids, nt))
                bad_cut++;
            if (bad_range) continue;
            /* Stream == concatenated pieces (special rendering on or off). */
            bool special = (rnd() & 1) != 0;
            size_t wl = 0, sl = 0;
            cllm_detok_stream *s = cllm_detok_stream_init(v);
            cllm_detok_stream_set_special(s, special);
            for (int32_t i = 0; i < nt; i++) {
                int32_t k = cllm_token_to_piece(v, ids[i], piece, sizeof piece, special);
                if (k > 0 && wl + (size_t)k < sizeof want) { memcpy(want + wl, piece, (size_t)k); wl += (size_t)k; }
                size_t cap = 1 + rnd() % 64;
                if (sl + cap > sizeof st) cap = sizeof st - sl;
                int32_t o = cllm_detok_stream_push(s, ids[i], st + sl, cap);
                if (o > 0) sl += (size_t)o;
            }
            int32_t o;
            while ((o = cllm_detok_stream_flush(s, st + sl, sizeof st - sl)) > 0) sl += (size_t)o;
            cllm_detok_stream_free(s);
            if (wl != sl || memcmp(want, st, wl) != 0) bad_stream++;
            /* Round trip. */
            int32_t m = cllm_detokenize(v, ids, nt, dt, sizeof dt, true, false);
            if (m < 0) { bad_count++; continue; }
            if (valid && ps == 0 && cllm_vocab_get_type(v) != CLLM_VOCAB_WPM && representable(v, text, n)) {
                memcpy(want, text, n);
                int32_t el = (int32_t)n;
                if (v->clean_spaces) el = cllm_detok_clean_spaces(want, el);
                rt_checked++;
                if (m != el || memcmp(dt, want, (size_t)el) != 0) {
                    if (bad_rt++ < 3) {
                        fprintf(stderr, "round trip %s (%zu bytes):", name, n);
                        for (size_t i = 0; i < n; i++) fprintf(stderr, " %02x", (unsigned char)text[i]);
                        fprintf(stderr, "\n  back (%d bytes):", m);
                        for (int32_t i = 0; i < m; i++) fprintf(stderr, " %02x", (unsigned char)dt[i]);
                        fprintf(stderr, "\n");
                    }
                }
            }
        }
    }
    CHECK(bad_count == 0, "%s: %d bad counts", name, bad_count);
    CHECK(bad_range == 0, "%s: %d ids out of range", name, bad_range);
    CHECK(bad_stream == 0, "%s: %d stream mismatches", name, bad_stream);
    CHECK(bad_rt == 0, "%s: %d of %d round trips fail", name, bad_rt, rt_checked);
    CHECK(bad_cut == 0, "%s: %d SPM results change with the space cuts", name, bad_cut);
    printf("fuzz %-36s %d inputs x 2, %d round trips checked\n", name, g_iters, rt_checked);
}

static cllm_vocab *hand_bpe(void) {
    static const char *texts[300];
    static uint32_t lens[300];
    static int32_t types[300];
    static char store[256][4];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        size_t k = cllm_utf8_encode(cllm_gpt2_byte_to_cp((uint8_t)b), store[b]);
        texts[n] = store[b];
        lens[n] = (uint32_t)k;
        types[n++] = CLLM_TOKTYPE_NORMAL;
    }
    const char *extra[] = {"ab", "abc", "<|im_start|>", "<|im_end|>", "<think>", "\xc4\xa0\xc4\xa0"};
    int extra_types[] = {1, 1, 3, 3, 4, 1};
    for (int i = 0; i < 6; i++) {
        texts[n] = extra[i];
        lens[n] = (uint32_t)strlen(extra[i]);
        types[n++] = extra_types[i];
    }
    static const char *merges[] = {"a b", "ab c", "\xc4\xa0 \xc4\xa0"};
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    d.model = "gpt2";
    d.pre = "llama-bpe";
    d.n_tokens = n;
    d.texts = texts;
    d.lens = lens;
    d.types = types;
    d.merges = merges;
    d.n_merges = 3;
    d.bos = 256 + 2;
    cllm_vocab *v = NULL;
    cllm_status st = cllm_vocab_build(&d, &v);
    CHECK(st == CLLM_OK, "hand vocab: %s", cllm_last_error());
    return v;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    const char *env = getenv("CLLM_FUZZ_ITERS");
    if (env && atoi(env) > 0) g_iters = atoi(env);
    const char *seed = getenv("CLLM_FUZZ_SEED");
    if (seed && strtoull(seed, NULL, 0)) g_rng = strtoull(seed, NULL, 0);
    cllm_vocab *h = hand_bpe();
    if (h) fuzz_vocab("hand-made BPE (llama-bpe)", h);
    cllm_vocab_free(h);
    if (!test_shared_dir()) {
        printf("note: ../shared absent; only the hand-made vocab was fuzzed\n");
        return test_finish();
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_shared_path("vocab"));
    DIR *d = opendir(dir);
    if (!d) return test_finish();
    char *names[256];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 256) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".gguf")) names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    for (int i = 0; i < nn; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        cllm_gguf *g = NULL;
        cllm_vocab *v = NULL;
        if (cllm_gguf_open(path, &g) == CLLM_OK) cllm_vocab_load(g, &v);
        cllm_gguf_free(g);
        CHECK(v != NULL, "%s: load: %s", names[i], cllm_last_error());
        if (v) fuzz_vocab(names[i], v);
        cllm_vocab_free(v);
        free(names[i]);
    }
    return test_finish();
}
