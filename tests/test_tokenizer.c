/* test_tokenizer.c: unit tests of the tokenizers on small hand-made vocabs
 * (no files needed): SPM merge order by score and byte fallback, BPE merge
 * order by rank, WPM normalisation and UNK, special tokens with
 * parse_special on and off, EOG forcing, buffer-size contracts, piece and
 * sequence detokenization, the streaming detokenizer, and load errors that
 * name an unknown model or pre-tokenizer. */
#include "cllm.h"
#include "tokenizer/tok_internal.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXT 600

typedef struct tv {
    const char *texts[MAXT];
    uint32_t lens[MAXT];
    float scores[MAXT];
    int32_t types[MAXT];
    char store[MAXT][16];
    int n;
} tv;

static int add(tv *t, const char *s, float score, int type) {
    t->texts[t->n] = s;
    t->lens[t->n] = (uint32_t)strlen(s);
    t->scores[t->n] = score;
    t->types[t->n] = type;
    return t->n++;
}

static int add_bytes_spm(tv *t) {
    int first = t->n;
    for (int b = 0; b < 256; b++) {
        snprintf(t->store[t->n], 16, "<0x%02X>", b);
        add(t, t->store[t->n], 0.0f, CLLM_TOKTYPE_BYTE);
    }
    return first;
}

/* The GPT-2 character of every byte, as BPE vocabs hold them. */
static int add_bytes_bpe(tv *t) {
    int first = t->n;
    for (int b = 0; b < 256; b++) {
        size_t k = cllm_utf8_encode(cllm_gpt2_byte_to_cp((uint8_t)b), t->store[t->n]);
        t->store[t->n][k] = 0;
        add(t, t->store[t->n], 0.0f, CLLM_TOKTYPE_NORMAL);
    }
    return first;
}

static int toks(const cllm_vocab *v, const char *s, int32_t *ids, bool add_special, bool parse_special) {
    return cllm_tokenize(v, s, strlen(s), ids, 256, add_special, parse_special);
}

static bool eq(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, sizeof(int32_t) * (size_t)na) == 0);
}

static void print_ids(const char *what, const int32_t *ids, int n) {
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

#define CHECK_IDS(got, ngot, ...)                                          \
    do {                                                                   \
        const int32_t want_[] = {__VA_ARGS__};                             \
        int nw_ = (int)(sizeof want_ / sizeof want_[0]);                   \
        bool ok_ = eq(got, ngot, want_, nw_);                              \
        CHECK(ok_, "ids differ");                                          \
        if (!ok_) { print_ids("want", want_, nw_); print_ids("got ", got, ngot); } \
    } while (0)

static void test_spm(void) {
    static tv t;
    memset(&t, 0, sizeof t);
    int unk = add(&t, "<unk>", 0, CLLM_TOKTYPE_UNKNOWN);
    int bos = add(&t, "<s>", 0, CLLM_TOKTYPE_CONTROL);
    int eos = add(&t, "</s>", 0, CLLM_TOKTYPE_CONTROL);
    int b0 = add_bytes_spm(&t);
    int sp = add(&t, "\xe2\x96\x81", -1, CLLM_TOKTYPE_NORMAL);          /* ▁ */
    int a = add(&t, "a", -2, CLLM_TOKTYPE_NORMAL);
    int b = add(&t, "b", -2, CLLM_TOKTYPE_NORMAL);
    int c = add(&t, "c", -2, CLLM_TOKTYPE_NORMAL);
    int aa = add(&t, "aa", -2, CLLM_TOKTYPE_NORMAL);
    add(&t, "ab", -5, CLLM_TOKTYPE_NORMAL);
    int bc = add(&t, "bc", -3, CLLM_TOKTYPE_NORMAL);                    /* better than ab */
    int spa = add(&t, "\xe2\x96\x81" "a", -4, CLLM_TOKTYPE_NORMAL);
    int spab = add(&t, "\xe2\x96\x81" "ab", -1, CLLM_TOKTYPE_NORMAL);
    int user = add(&t, "<tag>", 0, CLLM_TOKTYPE_USER_DEFINED);
    int ctl = add(&t, "<|ctl|>", 0, CLLM_TOKTYPE_CONTROL);
    (void)b;
    (void)spab;
    (void)a;
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    d.model = "llama";
    d.n_tokens = t.n;
    d.texts = t.texts;
    d.lens = t.lens;
    d.scores = t.scores;
    d.types = t.types;
    cllm_vocab *v = NULL;
    cllm_status st = cllm_vocab_build(&d, &v);
    CHECK(st == CLLM_OK, "spm build: %s", cllm_last_error());
    if (!v) return;
    CHECK(cllm_vocab_get_type(v) == CLLM_VOCAB_SPM, "type");
    CHECK(cllm_vocab_bos(v) == bos && cllm_vocab_eos(v) == eos && cllm_vocab_unk(v) == unk, "default ids");
    CHECK(cllm_vocab_is_eog(v, eos), "</s> is EOG");
    CHECK(!cllm_vocab_is_eog(v, bos), "<s> is not EOG");
    CHECK(cllm_vocab_nl(v) == b0 + '\n', "nl is <0x0A>");

    int32_t ids[256];
    /* "abc" -> "▁abc": bc (-3) merges before ▁a (-4) and ab (-5); then
     * (a,bc) is no token and ▁a merges: [▁a, bc]. */
    int n = toks(v, "abc", ids, false, false);
    CHECK_IDS(ids, n, spa, bc);
    /* Equal scores: the leftmost pair first. "▁aaa": (a,a) at 1 and 2 tie
     * (-2) and beat ▁a (-4); the left one wins, which leaves ▁ alone. */
    n = toks(v, "aaa", ids, false, false);
    CHECK_IDS(ids, n, sp, aa, a);
    /* add_special: BOS first (add_bos defaults to true for SPM). */
    n = toks(v, "abc", ids, true, false);
    CHECK_IDS(ids, n, bos, spa, bc);
    /* Byte fallback: 'é' (C3 A9) is not a token. */
    n = toks(v, "a\xc3\xa9", ids, false, false);
    CHECK_IDS(ids, n, spa, b0 + 0xC3, b0 + 0xA9);
    /* Invalid UTF-8 never crashes and comes out as bytes. As in llama.cpp,
     * a symbol spans the length its lead byte announces (0xFF: 4, cut to the
     * 2 bytes left), so "\xff" "c" is one symbol and both bytes fall back. */
    n = toks(v, "\xff" "c", ids, false, false);
    CHECK_IDS(ids, n, sp, b0 + 0xFF, b0 + 'c');
    n = toks(v, "c\xff", ids, false, false);
    CHECK_IDS(ids, n, sp, c, b0 + 0xFF);
    /* User-defined tokens match even with parse_special off; control
     * tokens only with it on. After a special token the next raw fragment
     * gets the space prefix again. */
    n = toks(v, "a<tag>a", ids, false, false);
    CHECK_IDS(ids, n, spa, user, spa);
    n = toks(v, "a<|ctl|>", ids, false, true);
    CHECK_IDS(ids, n, spa, ctl);
    n = toks(v, "<|ctl|>", ids, false, false);
    CHECK(n > 1 && ids[0] != ctl, "control text is plain text without parse_special (n=%d)", n);

    /* Detokenize: the space prefix is undone, after a BOS too. */
    char buf[64];
    n = toks(v, "abc a", ids, true, false);
    int32_t m = cllm_detokenize(v, ids, n, buf, sizeof buf, false, false);
    CHECK(m == 5 && memcmp(buf, "abc a", 5) == 0, "detok '%.*s'", m > 0 ? m : 0, buf);
    m = cllm_detokenize(v, ids, n, buf, sizeof buf, false, true);
    CHECK(m == 8 && memcmp(buf, "<s>abc a", 8) == 0, "detok unparse '%.*s'", m > 0 ? m : 0, buf);
    m = cllm_detokenize(v, ids, n, buf, 3, false, false);
    CHECK(m == -5, "detok into a short buffer gives -(needed): %d", m);
    /* Pieces. */
    m = cllm_token_to_piece(v, spa, buf, sizeof buf, false);
    CHECK(m == 2 && memcmp(buf, " a", 2) == 0, "piece of ▁a");
    m = cllm_token_to_piece(v, b0 + 0x41, buf, sizeof buf, false);
    CHECK(m == 1 && buf[0] == 'A', "byte piece");
    CHECK(cllm_token_to_piece(v, eos, buf, sizeof buf, false) == 0, "control piece is empty");
    CHECK(cllm_token_to_piece(v, eos, buf, sizeof buf, true) == 4, "control piece with special");
    CHECK(cllm_token_to_piece(v, eos, buf, 2, true) == -4, "short buffer: -(needed)");
    CHECK(cllm_token_to_piece(v, user, buf, sizeof buf, false) == 5, "user-defined piece is its text");

    /* Buffer contract: the full count comes back, only n_max are written. */
    int32_t small[2] = {-7, -7};
    int32_t full = cllm_tokenize(v, "abc abc abc", 11, small, 1, false, false);
    CHECK(full == 6 && small[0] == spa && small[1] == -7, "n_max=1: count %d, wrote %d %d", full, small[0],
          small[1]);
    CHECK(cllm_tokenize(v, "abc", 3, NULL, 0, false, false) == 2, "counting call with n_max=0");
    CHECK(cllm_tokenize(NULL, "abc", 3, ids, 8, false, false) < 0, "NULL vocab");
    CHECK(cllm_tokenize(v, NULL, 3, ids, 8, false, false) < 0, "NULL text");
    CHECK(cllm_tokenize(v, "", 0, ids, 8, false, false) == 0, "empty text");
    CHECK(cllm_tokenize(v, "", 0, ids, 8, true, false) == 1 && ids[0] == bos, "empty text + BOS");
    cllm_vocab_free(v);

    /* Without byte tokens an unrepresentable byte becomes UNK. */
    static tv t2;
    memset(&t2, 0, sizeof t2);
    add(&t2, "<unk>", 0, CLLM_TOKTYPE_UNKNOWN);
    add(&t2, "<s>", 0, CLLM_TOKTYPE_CONTROL);
    add(&t2, "</s>", 0, CLLM_TOKTYPE_CONTROL);
    int x = add(&t2, "\xe2\x96\x81x", -1, CLLM_TOKTYPE_NORMAL);
    d.n_tokens = t2.n;
    d.texts = t2.texts;
    d.lens = t2.lens;
    d.scores = t2.scores;
    d.types = t2.types;
    st = cllm_vocab_build(&d, &v);
    CHECK(st == CLLM_OK, "spm2 build: %s", cllm_last_error());
    if (!v) return;
    n = toks(v, "x\xe4\xbd\xa0", ids, false, false);
    CHECK_IDS(ids, n, x, 0, 0, 0);
    cllm_vocab_free(v);
}

static cllm_vocab *build_bpe(tv *t, const char *const *merges, int nm, const char *pre, cllm_status *st) {
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    d.model = "gpt2";
    d.pre = pre;
    d.n_tokens = t->n;
    d.texts = t->texts;
    d.lens = t->lens;
    d.types = t->types;
    d.merges = merges;
    d.n_merges = nm;
    d.sep = 0;   /* some pre-tokenizers (roberta-bpe, ...) turn add_sep on */
    cllm_vocab *v = NULL;
    *st = cllm_vocab_build(&d, &v);
    return v;
}

static void test_bpe(void) {
    static tv t;
    memset(&t, 0, sizeof t);
    int byte0 = add_bytes_bpe(&t);
    int ab = add(&t, "ab", 0, CLLM_TOKTYPE_NORMAL);
    int abc = add(&t, "abc", 0, CLLM_TOKTYPE_NORMAL);
    add(&t, "bc", 0, CLLM_TOKTYPE_NORMAL);
    int sp_a = add(&t, "\xc4\xa0" "a", 0, CLLM_TOKTYPE_NORMAL);   /* "Ġa" = " a" */
    int eot = add(&t, "<|endoftext|>", 0, CLLM_TOKTYPE_CONTROL);
    int im_start = add(&t, "<|im_start|>", 0, CLLM_TOKTYPE_CONTROL);
    int im_end = add(&t, "<|im_end|>", 0, CLLM_TOKTYPE_NORMAL);    /* forced CONTROL at load */
    int think = add(&t, "<think>", 0, CLLM_TOKTYPE_USER_DEFINED);
    const char *merges[] = {"b c", "a b", "a bc", "\xc4\xa0 a", "ab c"};
    cllm_status st;
    cllm_vocab *v = build_bpe(&t, merges, 5, "qwen2", &st);
    CHECK(st == CLLM_OK, "bpe build: %s", cllm_last_error());
    if (!v) return;
    int32_t ids[256];
    /* "abc": b c (rank 0) first, then a bc (rank 2) -> abc. */
    int n = toks(v, "abc", ids, false, false);
    CHECK_IDS(ids, n, abc);
    /* "ab": a b -> ab. "cab": c, ab. */
    n = toks(v, "cab", ids, false, false);
    CHECK_IDS(ids, n, byte0 + 'c', ab);
    /* qwen2 pre-tokenizer: " a" is one word (Ġa), digits split one by one. */
    n = toks(v, " a 12", ids, false, false);
    CHECK_IDS(ids, n, sp_a, byte0 + ' ', byte0 + '1', byte0 + '2');
    /* Every byte is representable, invalid UTF-8 becomes U+FFFD (EF BF BD). */
    n = toks(v, "\xff", ids, false, false);
    CHECK_IDS(ids, n, byte0 + 0xEF, byte0 + 0xBF, byte0 + 0xBD);
    /* Special tokens. */
    n = toks(v, "<|im_start|>ab", ids, false, true);
    CHECK_IDS(ids, n, im_start, ab);
    n = toks(v, "<|im_start|>", ids, false, false);
    CHECK(n == 12 && ids[0] == byte0 + '<', "control text as plain text: %d tokens", n);
    n = toks(v, "a<think>b", ids, false, false);
    CHECK_IDS(ids, n, byte0 + 'a', think, byte0 + 'b');
    CHECK(cllm_vocab_is_control(v, im_end), "<|im_end|> forced to CONTROL");
    CHECK(cllm_vocab_is_eog(v, im_end) && cllm_vocab_is_eog(v, eot), "EOG set");
    CHECK(cllm_vocab_eot(v) == im_end, "EOT detected as <|im_end|> (got %d)", cllm_vocab_eot(v));
    CHECK(!cllm_vocab_is_eog(v, im_start), "<|im_start|> is not EOG");
    n = toks(v, "x<|im_end|>", ids, false, true);
    CHECK_IDS(ids, n, byte0 + 'x', im_end);
    /* BPE pieces decode the byte-level alphabet. */
    char buf[64];
    int32_t m = cllm_token_to_piece(v, sp_a, buf, sizeof buf, false);
    CHECK(m == 2 && memcmp(buf, " a", 2) == 0, "piece of Ġa");
    m = cllm_token_to_piece(v, byte0 + 0x0A, buf, sizeof buf, false);
    CHECK(m == 1 && buf[0] == '\n', "piece of Ċ");
    CHECK(cllm_vocab_nl(v) == byte0 + '\n', "nl token");
    /* Round trip of arbitrary valid UTF-8. */
    const char *s = "ab c\n\t\xe4\xbd\xa0\xe5\xa5\xbd ok  ";
    n = toks(v, s, ids, false, false);
    m = cllm_detokenize(v, ids, n, buf, sizeof buf, false, false);
    CHECK(m == (int32_t)strlen(s) && memcmp(buf, s, (size_t)m) == 0, "bpe round trip");
    cllm_vocab_free(v);

    /* Every pre-tokenizer name compiles, and an unknown one is an error that
     * names it. */
    for (const char *const *p = cllm_pretok_names(); *p; p++) {
        v = build_bpe(&t, merges, 5, *p, &st);
        CHECK(st == CLLM_OK, "pre '%s': %s", *p, cllm_last_error());
        if (v) {
            n = toks(v, "Hello, world! 123 \xe4\xbd\xa0\xe5\xa5\xbd  x", ids, false, false);
            CHECK(n > 0, "pre '%s' tokenizes", *p);
        }
        cllm_vocab_free(v);
    }
    v = build_bpe(&t, merges, 5, "no-such-pre", &st);
    CHECK(st != CLLM_OK && !v, "unknown pre fails");
    CHECK(strstr(cllm_last_error(), "no-such-pre") != NULL, "message names the pre: %s", cllm_last_error());
    /* No pre at all: 'default' (gpt-neox). */
    v = build_bpe(&t, merges, 5, NULL, &st);
    CHECK(st == CLLM_OK && v && !strcmp(cllm_vocab_pre(v), ""), "missing pre is the default one");
    cllm_vocab_free(v);
}

/* Words of text under a pre-tokenizer, joined with '|'. */
static void check_split(const char *pre, const char *text, const char *want) {
    static tv t;
    memset(&t, 0, sizeof t);
    add_bytes_bpe(&t);
    cllm_status st;
    cllm_vocab *v = build_bpe(&t, NULL, 0, pre, &st);
    CHECK(st == CLLM_OK, "pre %s: %s", pre, cllm_last_error());
    if (!v) return;
    size_t *spans = NULL, cap = 0;
    int64_t n = cllm_pretok_split(v->pretok, text, strlen(text), &spans, &cap);
    char got[512];
    size_t k = 0;
    for (int64_t i = 0; i < n && k + 64 < sizeof got; i++) {
        if (i) got[k++] = '|';
        memcpy(got + k, text + spans[2 * i], spans[2 * i + 1]);
        k += spans[2 * i + 1];
    }
    got[k] = 0;
    CHECK(!strcmp(got, want), "pre %s: split '%s', want '%s'", pre, got, want);
    free(spans);
    cllm_vocab_free(v);
}

static void test_pretok(void) {
    check_split("gpt-2", "Hello world's  test 123", "Hello| world|'s| | test| 123");
    check_split("llama-bpe", "12345 abc\n\n  x", "123|45| abc|\n\n| | x");
    check_split("qwen2", "x12345", "x|1|2|3|4|5");
    check_split("gpt-4o", "Hello World's CamelCase 12345", "Hello| World's| Camel|Case| |123|45");
    check_split("tekken", "Hello World's CamelCase 123", "Hello| World|'s| Camel|Case| |1|2|3");
    check_split("deepseek-coder", "abc 123 \xe4\xbd\xa0\xe5\xa5\xbd!", "abc| |1|2|3| |\xe4\xbd\xa0\xe5\xa5\xbd|!");
    check_split("falcon", "x 12345 a+=b", "x| |123|45| a|+=|b");
    check_split("starcoder", "ab 12", "ab| |1|2");
    check_split("default", "a, b 1234", "a|,| b| |123|4");
    /* deepseek-llm: "\\s+$" sees the end of its piece as the end of text. */
    check_split("deepseek-llm", "hi  \nyo", "hi|  |\n|yo");
    /* A whitespace run before a word leaves its last space to the word. */
    check_split("qwen2", "a   b", "a|  | b");
}

static void test_wpm(void) {
    static tv t;
    memset(&t, 0, sizeof t);
    int pad = add(&t, "[PAD]", 0, CLLM_TOKTYPE_CONTROL);
    int unk = add(&t, "[UNK]", 0, CLLM_TOKTYPE_CONTROL);
    int cls = add(&t, "[CLS]", 0, CLLM_TOKTYPE_CONTROL);
    int sep = add(&t, "[SEP]", 0, CLLM_TOKTYPE_CONTROL);
    int hello = add(&t, "\xe2\x96\x81hello", 0, CLLM_TOKTYPE_NORMAL);
    int wor = add(&t, "\xe2\x96\x81wor", 0, CLLM_TOKTYPE_NORMAL);
    int ld = add(&t, "ld", 0, CLLM_TOKTYPE_NORMAL);                 /* "##ld" */
    int comma = add(&t, "\xe2\x96\x81,", 0, CLLM_TOKTYPE_NORMAL);
    int bang = add(&t, "\xe2\x96\x81!", 0, CLLM_TOKTYPE_NORMAL);
    int ni = add(&t, "\xe2\x96\x81\xe4\xbd\xa0", 0, CLLM_TOKTYPE_NORMAL); /* 你 */
    int cafe = add(&t, "\xe2\x96\x81" "cafe", 0, CLLM_TOKTYPE_NORMAL);
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    d.model = "bert";
    d.n_tokens = t.n;
    d.texts = t.texts;
    d.lens = t.lens;
    d.types = t.types;
    d.bos = cls;
    d.unk = unk;
    d.sep = sep;
    d.pad = pad;
    cllm_vocab *v = NULL;
    cllm_status st = cllm_vocab_build(&d, &v);
    CHECK(st == CLLM_OK, "wpm build: %s", cllm_last_error());
    if (!v) return;
    int32_t ids[256];
    int n = toks(v, "Hello, WORLD!", ids, false, false);
    CHECK_IDS(ids, n, hello, comma, wor, ld, bang);
    n = toks(v, "hello", ids, true, false);
    CHECK_IDS(ids, n, cls, hello, sep);
    /* Accents are stripped (NFD + drop marks), CJK ideographs stand alone,
     * control characters vanish, an unknown word is one UNK. */
    n = toks(v, "Caf\xc3\xa9\xe4\xbd\xa0\x01xyz", ids, false, false);
    CHECK_IDS(ids, n, cafe, ni, unk);
    n = toks(v, "  \t\n ", ids, false, false);
    CHECK(n == 0, "whitespace only: %d tokens", n);
    char buf[64];
    n = toks(v, "hello world", ids, false, false);
    int32_t m = cllm_detokenize(v, ids, n, buf, sizeof buf, false, false);
    CHECK(m == 12 && memcmp(buf, " hello world", 12) == 0, "wpm detok '%.*s'", m > 0 ? m : 0, buf);
    cllm_vocab_free(v);
}

static void test_stream(void) {
    static tv t;
    memset(&t, 0, sizeof t);
    add(&t, "<unk>", 0, CLLM_TOKTYPE_UNKNOWN);
    add(&t, "<s>", 0, CLLM_TOKTYPE_CONTROL);
    int eos = add(&t, "</s>", 0, CLLM_TOKTYPE_CONTROL);
    int b0 = add_bytes_spm(&t);
    int hi = add(&t, "\xe2\x96\x81hi", -1, CLLM_TOKTYPE_NORMAL);
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    d.model = "llama";
    d.n_tokens = t.n;
    d.texts = t.texts;
    d.lens = t.lens;
    d.scores = t.scores;
    d.types = t.types;
    cllm_vocab *v = NULL;
    cllm_status st = cllm_vocab_build(&d, &v);
    CHECK(st == CLLM_OK, "stream vocab: %s", cllm_last_error());
    if (!v) return;
    cllm_detok_stream *s = cllm_detok_stream_init(v);
    CHECK(s != NULL, "stream init");
    char out[64];
    /* 我 = E6 88 91 in three byte tokens: nothing until the last one. */
    CHECK(cllm_detok_stream_push(s, hi, out, sizeof out) == 3 && !memcmp(out, " hi", 3), "hi");
    CHECK(cllm_detok_stream_push(s, b0 + 0xE6, out, sizeof out) == 0, "held back 1/3");
    CHECK(cllm_detok_stream_push(s, b0 + 0x88, out, sizeof out) == 0, "held back 2/3");
    CHECK(cllm_detok_stream_push(s, b0 + 0x91, out, sizeof out) == 3 && !memcmp(out, "\xe6\x88\x91", 3),
          "complete");
    /* A control token gives nothing unless special is on. */
    CHECK(cllm_detok_stream_push(s, eos, out, sizeof out) == 0, "eos silent");
    cllm_detok_stream_set_special(s, true);
    CHECK(cllm_detok_stream_push(s, eos, out, sizeof out) == 4 && !memcmp(out, "</s>", 4), "eos rendered");
    /* A byte that can never be valid passes at once; an incomplete tail comes
     * out at flush. Small output buffers keep the rest queued. */
    CHECK(cllm_detok_stream_push(s, b0 + 0xFF, out, sizeof out) == 1 && (unsigned char)out[0] == 0xFF, "0xFF");
    CHECK(cllm_detok_stream_push(s, b0 + 0xF0, out, sizeof out) == 0, "4-byte lead held");
    CHECK(cllm_detok_stream_push(s, hi, out, 2) == 2, "partial write");
    CHECK(cllm_detok_stream_flush(s, out, 1) == 1, "flush in pieces");
    CHECK(cllm_detok_stream_flush(s, out, sizeof out) == 1 && out[0] == 'i', "flush rest");
    CHECK(cllm_detok_stream_flush(s, out, sizeof out) == 0, "nothing left");
    CHECK(cllm_detok_stream_push(s, 999999, out, sizeof out) < 0, "bad id");
    cllm_detok_stream_free(s);
    cllm_detok_stream_free(NULL);
    cllm_vocab_free(v);
}

/* Reference special-token partition: llama.cpp's algorithm, literally
 * (one pass per token over a linked list of fragments, leftmost matches),
 * on the same vocab. Writes "T<id>" / "R<text>" items joined by '|'. */
static void ref_partition(const cllm_vocab *v, const char *text, size_t len, bool parse_special, char *out,
                          size_t cap) {
    typedef struct { int32_t token; size_t off, len; } frag;
    frag *f = malloc((2 * len + 2) * sizeof *f), *g = malloc((2 * len + 2) * sizeof *g);
    int n = 0;
    if (len) f[n++] = (frag){-1, 0, len};
    for (int32_t s = 0; s < v->n_special; s++) {
        int32_t id = v->special[s];
        uint32_t attr = v->attr[id];
        if (!parse_special && (attr & (CLLM_TOKEN_ATTR_CONTROL | CLLM_TOKEN_ATTR_UNKNOWN))) continue;
        const char *tt = v->text[id];
        size_t tl = v->text_len[id];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (f[i].token >= 0) { g[m++] = f[i]; continue; }
            size_t off = f[i].off, rem = f[i].len;
            for (;;) {
                size_t k = 0;
                bool found = false;
                for (; k + tl <= rem; k++)
                    if (!memcmp(text + off + k, tt, tl)) { found = true; break; }
                if (!found) break;
                size_t left = k;
                if (attr & CLLM_TOKEN_ATTR_LSTRIP)
                    while (left > 0 && (text[off + left - 1] == ' ' || (text[off + left - 1] >= 9 && text[off + left - 1] <= 13))) left--;
                if (left) g[m++] = (frag){-1, off, left};
                g[m++] = (frag){id, 0, 0};
                size_t roff = off + k + tl, rlen = rem - k - tl;
                if (attr & CLLM_TOKEN_ATTR_RSTRIP)
                    while (rlen > 0 && (text[roff] == ' ' || (text[roff] >= 9 && text[roff] <= 13))) { roff++; rlen--; }
                off = roff;
                rem = rlen;
            }
            if (rem) g[m++] = (frag){-1, off, rem};
        }
        memcpy(f, g, sizeof(frag) * (size_t)m);
        n = m;
    }
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < n && o + 64 < cap; i++) {
        if (f[i].token >= 0) o += (size_t)snprintf(out + o, cap - o, "|T%d", f[i].token);
        else o += (size_t)snprintf(out + o, cap - o, "|R%.*s", (int)f[i].len, text + f[i].off);
    }
    free(f);
    free(g);
}

static void test_partition(void) {
    static tv t;
    memset(&t, 0, sizeof t);
    add_bytes_bpe(&t);
    const char *sp[] = {"<a>", "<a><b>", "ab", "b", "aa", "aaa", " x", "<", "a><", "\n\n", "xx"};
    int types[] = {3, 4, 4, 4, 3, 4, 4, 4, 3, 4, 2};
    int first = t.n;
    for (int i = 0; i < 11; i++) add(&t, sp[i], 0, types[i]);
    cllm_status st;
    cllm_vocab *v = build_bpe(&t, NULL, 0, "gpt-2", &st);
    CHECK(st == CLLM_OK, "partition vocab: %s", cllm_last_error());
    if (!v) return;
    const char alpha[] = "<a>b x\n";
    uint64_t rng = 88172645463325252ull;
    int bad = 0;
    for (int it = 0; it < 4000; it++) {
        /* Random strip attributes on a few tokens each round. */
        for (int i = 0; i < 11; i++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            v->attr[first + i] &= ~(uint32_t)(CLLM_TOKEN_ATTR_LSTRIP | CLLM_TOKEN_ATTR_RSTRIP);
            if ((rng & 7) == 0) v->attr[first + i] |= CLLM_TOKEN_ATTR_LSTRIP;
            if ((rng & 56) == 0) v->attr[first + i] |= CLLM_TOKEN_ATTR_RSTRIP;
        }
        static char text[70000];
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        /* Mostly short texts; every 500th one long enough for the unhashed
         * two-byte index. */
        size_t n = it % 500 == 7 ? 66000 + rng % 4000 : rng % 40;
        for (size_t i = 0; i < n; i++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            text[i] = alpha[rng % (sizeof alpha - 1)];
        }
        bool ps = (it & 1) != 0;
        static char want[1 << 20], got[1 << 20];
        ref_partition(v, text, n, ps, want, sizeof want);
        cllm_fragments fr;
        st = cllm_special_partition(v, text, n, ps, &fr);
        size_t o = 0;
        got[0] = 0;
        for (int32_t i = fr.head; i >= 0 && o + 64 < sizeof got; i = fr.f[i].next) {
            if (fr.f[i].token >= 0) o += (size_t)snprintf(got + o, sizeof got - o, "|T%d", fr.f[i].token);
            else o += (size_t)snprintf(got + o, sizeof got - o, "|R%.*s", (int)fr.f[i].len, text + fr.f[i].off);
        }
        cllm_fragments_free(&fr);
        if (st != CLLM_OK || strcmp(want, got) != 0) {
            if (bad++ < 3)
                fprintf(stderr, "partition '%.*s' (ps=%d):\n  want %.200s\n  got  %.200s\n", (int)(n < 80 ? n : 80),
                        text, ps, want, got);
        }
    }
    CHECK(bad == 0, "%d of 4000 partitions differ from the reference", bad);
    cllm_vocab_free(v);
}

static void test_errors(void) {
    static tv t;
    memset(&t, 0, sizeof t);
    add(&t, "a", 0, CLLM_TOKTYPE_NORMAL);
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    d.model = "rwkv-ish";
    d.n_tokens = t.n;
    d.texts = t.texts;
    d.lens = t.lens;
    cllm_vocab *v = NULL;
    CHECK(cllm_vocab_build(&d, &v) == CLLM_ERR_UNSUPPORTED && !v, "unknown model");
    CHECK(strstr(cllm_last_error(), "rwkv-ish") != NULL, "message names the model: %s", cllm_last_error());
    CHECK(cllm_vocab_load(NULL, &v) == CLLM_ERR_INVALID_ARG, "NULL gguf");
    /* add_bos with no BOS id is a load error (llama.cpp). */
    d.model = "gpt2";
    d.pre = "gpt-2";
    d.bos = -1;
    d.add_bos = 1;
    CHECK(cllm_vocab_build(&d, &v) == CLLM_ERR_FORMAT && !v, "add_bos without bos");
    cllm_vocab_free(NULL);
    CHECK(cllm_vocab_n_tokens(NULL) == 0 && cllm_vocab_bos(NULL) == -1, "NULL getters");
}

int main(void) {
    test_spm();
    test_bpe();
    test_pretok();
    test_partition();
    test_wpm();
    test_stream();
    test_errors();
    return test_finish();
}
