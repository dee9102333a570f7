/* test_grammar.c: GBNF parser (every shared grammar parses; malformed ones fail
 * with line and column), the incremental matcher (accept/reject sets for json,
 * arithmetic, list, c, fed whole and in 1/2/3/7-byte pieces that split UTF-8),
 * token references, and vocabulary masking checked against token-by-token
 * brute force. */
#include "cllm.h"
#include "core/core.h"
#include "sampling/grammar.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Feed s in pieces of `chunk` bytes (0 = whole); true if every piece is
 * accepted and the grammar is complete at the end. */
static bool run_text(cllm_grammar *g, const char *s, size_t chunk) {
    cllm_grammar_reset(g);
    size_t n = strlen(s);
    if (chunk == 0) chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk) {
        size_t k = n - i < chunk ? n - i : chunk;
        if (cllm_grammar_accept_bytes(g, s + i, k) != CLLM_OK) return false;
    }
    return cllm_grammar_is_complete(g);
}

static void check_set(const char *name, const char *gbnf, const char *const *good, const char *const *bad) {
    cllm_grammar *g = NULL;
    cllm_status st = cllm_grammar_init(gbnf, NULL, NULL, &g);
    CHECK(st == CLLM_OK, "%s: parse failed: %s", name, cllm_last_error());
    if (st != CLLM_OK) return;
    static const size_t chunks[] = {0, 1, 2, 3, 7};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        for (int i = 0; good[i]; i++)
            CHECK(run_text(g, good[i], chunks[c]), "%s should accept (chunk %zu): %s", name, chunks[c], good[i]);
        for (int i = 0; bad[i]; i++)
            CHECK(!run_text(g, bad[i], chunks[c]), "%s should reject (chunk %zu): %s", name, chunks[c], bad[i]);
    }
    cllm_grammar_free(g);
}

static char *read_grammar(const char *file) {
    char rel[256];
    snprintf(rel, sizeof rel, "grammars/%s", file);
    return test_read_file(test_shared_path(rel), NULL);
}

static void check_error(const char *gbnf, const char *want1, const char *want2) {
    cllm_grammar *g = NULL;
    cllm_status st = cllm_grammar_init(gbnf, NULL, NULL, &g);
    CHECK(st == CLLM_ERR_FORMAT && g == NULL, "should fail: %s", gbnf);
    const char *m = cllm_last_error();
    CHECK(strstr(m, want1) != NULL, "error for [%s] is '%s', want '%s'", gbnf, m, want1);
    if (want2) CHECK(strstr(m, want2) != NULL, "error for [%s] is '%s', want '%s'", gbnf, m, want2);
}

/* ---- a toy vocabulary for token-level tests ---- */
static const char *const k_pieces[] = {
    "<eos>", "{", "}", "\"", "\"a\"", ":", ",", " ", "1", "12", "-", ".", "5", "true", "null",
    "[", "]", "{\"", "\":", "\": ", "a", "b", "\\", "n", "é", "\xc3", "\xa9", "\xe3\x81", "\x82",
    "x", "},", "}]", "\"}", "tr", "ue", "", "\n", "<think>", "0", "e", "E", "+", "\xff",
};
#define N_TOY ((int32_t)(sizeof k_pieces / sizeof k_pieces[0]))

static const char *toy_piece(void *user, int32_t id, size_t *len) {
    (void)user;
    if (id == 0 || id == 35) { /* control tokens: no text */
        *len = 0;
        return NULL;
    }
    *len = strlen(k_pieces[id]);
    return k_pieces[id];
}
static bool toy_eog(void *user, int32_t id) {
    (void)user;
    return id == 0;
}
static const cllm_vocab_view k_toy = {.n_vocab = N_TOY, .piece = toy_piece, .is_eog = toy_eog};

/* Compare cllm_grammar_apply/_token_ok with accepting each token on a fresh
 * grammar after the same prefix. */
static void check_mask(const char *gbnf, const int32_t *prefix, int n_prefix) {
    cllm_grammar *g = NULL;
    if (cllm_grammar_init(gbnf, NULL, &k_toy, &g) != CLLM_OK) {
        CHECK(0, "toy grammar: %s", cllm_last_error());
        return;
    }
    for (int i = 0; i < n_prefix; i++)
        CHECK(cllm_grammar_accept_token(g, prefix[i]) == CLLM_OK, "prefix token %d: %s", prefix[i],
              cllm_grammar_last_error(g));
    cllm_token_prob cand[N_TOY];
    for (int32_t t = 0; t < N_TOY; t++) cand[t] = (cllm_token_prob){t, 1.0f, 0.0f};
    cllm_cands c = {cand, (size_t)N_TOY, false};
    cllm_grammar_apply(g, &c);
    int n_allowed = 0;
    for (int32_t t = 0; t < N_TOY; t++) {
        cllm_grammar *h = NULL;
        cllm_grammar_init(gbnf, NULL, &k_toy, &h);
        for (int i = 0; i < n_prefix; i++) cllm_grammar_accept_token(h, prefix[i]);
        bool brute = cllm_grammar_accept_token(h, t) == CLLM_OK;
        bool masked_ok = cand[t].logit != -INFINITY;
        bool one_ok = cllm_grammar_token_ok(g, t);
        n_allowed += brute;
        CHECK(brute == masked_ok, "prefix len %d, token %d '%s': brute %d, mask %d", n_prefix, t,
              k_pieces[t], brute, masked_ok);
        CHECK(brute == one_ok, "prefix len %d, token %d '%s': brute %d, token_ok %d", n_prefix, t,
              k_pieces[t], brute, one_ok);
        cllm_grammar_free(h);
    }
    CHECK(n_allowed > 0, "some token allowed after prefix len %d", n_prefix);
    cllm_grammar_free(g);
}

int main(void) {
    /* ---------- built-in semantics (no shared data needed) ---------- */
    {
        const char *good[] = {"aa", "aaa", NULL};
        const char *bad[] = {"", "a", "aaaa", "b", NULL};
        check_set("rep{2,3}", "root ::= \"a\"{2,3}", good, bad);
    }
    {
        const char *good[] = {"ab", "abab", "ababab", NULL};
        const char *bad[] = {"", "a", "aba", NULL};
        check_set("group+", "root ::= (\"a\" \"b\")+", good, bad);
    }
    {
        const char *good[] = {"", "x", "xyz", "zzz9", NULL};
        const char *bad[] = {"9", "x-", NULL};
        check_set("class*", "root ::= ([x-z] [a-z0-9]*)?  # comment\n", good, bad);
    }
    {
        const char *good[] = {"aaa", "aaaa", "aaaaaaaa", NULL};
        const char *bad[] = {"aa", NULL};
        check_set("{3,}", "root ::= \"a\"{3,}", good, bad);
    }
    {
        const char *good[] = {"q", "\xce\xbb", "\xe2\x82\xac", "\xf0\x9f\x98\x80", NULL};
        const char *bad[] = {"\n", "\"", "qq", NULL};
        check_set("negated + any", "root ::= [^\\n\"\\x00-\\x1F] | \"\\u20AC\" .", good, bad);
    }
    {
        /* escapes in literals and \U, dot matching multi-byte */
        const char *good[] = {"\t\"\\\xf0\x9f\x98\x80", NULL};
        const char *bad[] = {"\t\"\\x", NULL};
        check_set("escapes", "root ::= \"\\t\\\"\\\\\" \"\\U0001F600\"", good, bad);
    }
    {
        const char *good[] = {"(a)", "((a))", "(((a)))", NULL};
        const char *bad[] = {"(a", "a)", "((a)", NULL};
        check_set("nesting", "root ::= \"(\" inner \")\"\ninner ::= root | \"a\"", good, bad);
    }

    /* ---------- parse errors: line and column ---------- */
    check_error("root ::= \"abc", "line 1", "unterminated literal");
    check_error("root ::= foo", "line 1, column 10", "undefined rule 'foo'");
    check_error("root ::= a\na ::= a \"x\"", "line 2, column 1", "left-recursive");
    check_error("root ::= b\nb ::= x root\nx ::= \"a\" |", "line 1, column 1", "left-recursive");
    check_error("root ::= (\"a\"", "line 1", "expecting ')'");
    check_error("root ::= \"a\"{3,1}", "line 1, column 13", "below min");
    check_error("root ::= \"\\q\"", "line 1, column 11", "unknown escape");
    check_error("x ::= \"a\"", "no rule named 'root'", NULL);
    check_error("root ::= \"a\"\nroot ::= \"b\"", "line 2, column 1", "defined twice");
    check_error("root ::= <foo>", "line 1, column 10", "needs a vocabulary");
    check_error("root ::= *", "line 1, column 10", "expecting an item");
    check_error("root \"a\"", "line 1, column 6", "expecting '::='");
    check_error("root ::= [z-a]", "line 1", "reversed");
    check_error("root ::= \"a\" )", "line 1, column 14", "unexpected ')'");
    check_error("\n\n  root ::= [abc", "line 3, column 12", "unterminated character class");
    /* each '+' doubles the expansion: must fail fast, not exhaust memory */
    {
        static char big[1200];
        memset(big, 0, sizeof big);
        strcpy(big, "root ::= \"");
        memset(big + strlen(big), 'a', 1000);
        strcat(big, "\"{10000}");
        check_error(big, "line 1", "too large");
    }
    /* Fuzzer regression: duplicate stacks right at the linear/hashed dedupe
     * switch used to fill the index forever. */
    {
        cllm_grammar *g = NULL;
        CHECK(cllm_grammar_init("root ::=...+..+++++++++.+++++++++++++", NULL, NULL, &g) == CLLM_OK, "fuzz grammar");
        static const char txt[] = "\0` [ \\t\\n]*| ";
        uint64_t t0 = cllm_time_ns();
        for (size_t i = 0; g && i + 1 < sizeof txt; i++)
            if (cllm_grammar_accept_bytes(g, txt + i, 1) != CLLM_OK) break;
        double ms = (double)(cllm_time_ns() - t0) / 1e6;
        CHECK(ms < 5000, "fuzz regression input: %.0f ms", ms);
        cllm_grammar_free(g);
    }
    /* A very ambiguous grammar: many parse stacks per step, still quick. */
    {
        cllm_grammar *g = NULL;
        CHECK(cllm_grammar_init("root ::= . . .+ . .++++++++++++++++++++++++++++++++++ .* . . . .", NULL, NULL, &g) == CLLM_OK,
              "ambiguous grammar parses: %s", cllm_last_error());
        uint64_t t0 = cllm_time_ns();
        bool ok = g && run_text(g, "abcdefghijklmnopqrstuvwxyz0123456789", 1);
        double ms = (double)(cllm_time_ns() - t0) / 1e6;
        /* The number of distinct parses explodes: the matcher stops at its
         * stack limit with a clear error instead of exhausting memory. */
        CHECK(!ok && g && strstr(cllm_grammar_last_error(g), "too ambiguous"), "ambiguity limit: %s",
              g ? cllm_grammar_last_error(g) : "");
        CHECK(ms < 5000, "ambiguous grammar: %.0f ms", ms);
        printf("ambiguous grammar: stopped after %.1f ms\n", ms);
        cllm_grammar_free(g);
    }

    /* ---------- long rule chains: work, or fail cleanly (no stack overflow) ---------- */
    for (int n = 1500; n <= 100000; n += 98500) {
        size_t cap = (size_t)n * 32 + 64, len = 0;
        char *gb = malloc(cap);
        len += (size_t)snprintf(gb + len, cap - len, "root ::= r0\n");
        for (int i = 0; i < n; i++) len += (size_t)snprintf(gb + len, cap - len, "r%d ::= r%d\n", i, i + 1);
        snprintf(gb + len, cap - len, "r%d ::= \"x\"\n", n);
        cllm_grammar *g = NULL;
        cllm_status st = cllm_grammar_init(gb, NULL, NULL, &g);
        if (n == 1500) {
            CHECK(st == CLLM_OK, "1500-rule chain: %s", cllm_last_error());
            CHECK(g && run_text(g, "x", 0), "1500-rule chain matches");
        } else {
            CHECK(st == CLLM_ERR_FORMAT && strstr(cllm_last_error(), "deep"), "100000-rule chain: %s",
                  cllm_last_error());
        }
        cllm_grammar_free(g);
        free(gb);
    }

    /* ---------- token references ---------- */
    {
        cllm_grammar *g = NULL;
        CHECK(cllm_grammar_init("root ::= <think> \"x\"+ <[2]> !<[1]>", NULL, &k_toy, &g) == CLLM_OK,
              "token refs: %s", cllm_last_error());
        if (g) {
            CHECK(cllm_grammar_accept_token(g, 29) != CLLM_OK, "x before <think> rejected");
            CHECK(cllm_grammar_accept_token(g, 37) == CLLM_OK, "<think> token accepted");
            CHECK(cllm_grammar_accept_token(g, 29) == CLLM_OK, "x");
            CHECK(cllm_grammar_accept_bytes(g, "xx", 2) == CLLM_OK, "xx as text");
            CHECK(!cllm_grammar_is_complete(g), "not complete yet");
            CHECK(cllm_grammar_accept_bytes(g, "}", 1) != CLLM_OK, "text '}' is not token 2");
            CHECK(cllm_grammar_accept_token(g, 2) == CLLM_OK, "token 2");
            CHECK(cllm_grammar_accept_token(g, 1) != CLLM_OK, "!<[1]> rejects token 1");
            CHECK(cllm_grammar_accept_token(g, 0) != CLLM_OK, "eog before complete");
            CHECK(cllm_grammar_accept_token(g, 20) == CLLM_OK, "!<[1]> takes token 20");
            CHECK(cllm_grammar_is_complete(g), "complete");
            CHECK(cllm_grammar_accept_token(g, 0) == CLLM_OK, "eog when complete");
            cllm_grammar_free(g);
        }
        CHECK(cllm_grammar_init("root ::= <[99]>", NULL, &k_toy, &g) == CLLM_ERR_FORMAT, "id out of range");
        CHECK(cllm_grammar_init("root ::= <nope>", NULL, &k_toy, &g) == CLLM_ERR_FORMAT, "unknown token text");
        CHECK(strstr(cllm_last_error(), "<nope>") != NULL, "names the text: %s", cllm_last_error());
    }

    /* ---------- shared grammars ---------- */
    test_require_shared("grammars");
    static const char *const files[] = {"arithmetic.gbnf", "c.gbnf", "chess.gbnf", "english.gbnf",
                                        "japanese.gbnf", "json.gbnf", "json_arr.gbnf", "list.gbnf"};
    char *text[8] = {0};
    for (int i = 0; i < 8; i++) {
        text[i] = read_grammar(files[i]);
        CHECK(text[i] != NULL, "read %s", files[i]);
        if (!text[i]) continue;
        cllm_gbnf gb;
        cllm_status st = cllm_gbnf_parse(text[i], NULL, NULL, &gb, NULL);
        CHECK(st == CLLM_OK, "%s parses: %s", files[i], cllm_last_error());
        if (st == CLLM_OK) {
            CHECK(gb.n_rules > 0 && gb.n_elems > 0, "%s has rules", files[i]);
            cllm_gbnf_free(&gb);
        }
    }
    if (text[5]) {
        const char *good[] = {"{}", "{\"a\": 1}", "{\"a\":[1, 2,{\"b\":null}],\"c\":\"x\\\"y\\u00e9\"}",
                              "{\"k\": -0.5e12}", "{\"a\": true, \"b\": false}",
                              "{ \"nested\": {\"x\": [ ]}}", "{\"h\\u00e9\": \"h\xc3\xa9llo \xe6\x97\xa5\"}",
                              "{\n  \"a\": 1\n}", "{\"n\": 0.25}",
                              "{\"max\": \"\xf4\x8f\xbf\xbf\xef\xbf\xbd\"}", NULL};
        const char *bad[] = {"[1]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":01}", "{\"a\":\"\\x\"}",
                             "{\"a\":1,}", "{\"a\":\"line\nbreak\"}", "{\"a\":1}}", "{", "{\"a\":tru}",
                             "{\"a\":\"\xe6\x97\"}",
                             /* invalid UTF-8: bad lead, overlong, surrogate, > U+10FFFF, stray continuation */
                             "{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xe0\x80\x80\"}",
                             "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\x80\"}", NULL};
        check_set("json.gbnf", text[5], good, bad);
    }
    if (text[0]) {
        const char *good[] = {"1+2=3\n", "a*(b+c)=x\n", "12 = 12\n1=1\n", "x_1/y = 7\n", NULL};
        const char *bad[] = {"1+=2\n", "=1\n", "1=2", "A=1\n", "1+2\n", NULL};
        check_set("arithmetic.gbnf", text[0], good, bad);
    }
    if (text[7]) {
        const char *good[] = {"- a\n", "- milk\n- eggs\n", "- h\xc3\xa9llo w\xc3\xb6rld\n", NULL};
        const char *bad[] = {"-a\n", "- \n", "- a", "* a\n", "- a\xe2\x80\xa8" "b\n", "- a\rb\n", NULL};
        check_set("list.gbnf", text[7], good, bad);
    }
    if (text[1]) {
        const char *good[] = {"int main(){return 0;}", "int f(int x){x = x+1;return x;}",
                              "float g(){while(a<b){a = a+1;}}", "int h(){// hi\n}",
                              "char c(){/* a * b */if(a==b){return 1;}else{return 2;}}",
                              "int a(){}int b(){}", "", NULL};
        const char *bad[] = {"int main() {return 0;}", "int(){}", "main(){}", "int f(){return 0}",
                             "int f(){x=1;}", "int f(){", NULL};
        check_set("c.gbnf", text[1], good, bad);
    }
    if (text[2]) {
        const char *good[] = {"1. e4 e5\n2. Nf3 Nc6\n", "1. d4 d5\n2. c4 dxc4\n3. O-O Qxd1+\n", NULL};
        const char *bad[] = {"1. e4 e5\n", "1. e9 e5\n2. a3 a6\n", NULL};
        check_set("chess.gbnf", text[2], good, bad);
    }
    if (text[4]) {
        const char *good[] = {"\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf",
                              "\xe6\x97\xa5\xe6\x9c\xac \xe3\x82\xab\xe3\x82\xbf", NULL};
        const char *bad[] = {"abc", "\xe3\x81\x93 ", NULL};
        check_set("japanese.gbnf", text[4], good, bad);
    }
    if (text[3]) {
        const char *good[] = {"Hello, world!", "a\tb\nc [x] {y} \\z", NULL};
        const char *bad[] = {"", "two  spaces", "caf\xc3\xa9", NULL};
        check_set("english.gbnf", text[3], good, bad);
    }

    /* ---------- distance to completion ---------- */
    if (text[5]) {
        cllm_grammar *g = NULL;
        cllm_grammar_init(text[5], NULL, NULL, &g);
        if (g) {
            CHECK(cllm_grammar_distance(g) == 2, "json start: {} (%d)", cllm_grammar_distance(g));
            cllm_grammar_accept_bytes(g, "{", 1);
            CHECK(cllm_grammar_distance(g) == 1, "after {: } (%d)", cllm_grammar_distance(g));
            cllm_grammar_accept_bytes(g, "\"a", 2);
            CHECK(cllm_grammar_distance(g) == 4, "after {\"a: \":0} (%d)", cllm_grammar_distance(g));
            cllm_grammar_accept_bytes(g, "\":[[", 4);
            CHECK(cllm_grammar_distance(g) == 3, "after {\"a\":[[: ]]} (%d)", cllm_grammar_distance(g));
            cllm_grammar_accept_bytes(g, "]]}", 3);
            CHECK(cllm_grammar_distance(g) == 0 && cllm_grammar_is_complete(g), "complete: 0");
            cllm_grammar_free(g);
        }
        cllm_grammar_init("root ::= \"ab\" x\nx ::= \"c\"{3} | y\ny ::= \"de\"", NULL, NULL, &g);
        CHECK(g && cllm_grammar_distance(g) == 4, "shortest alternative (%d)", g ? cllm_grammar_distance(g) : -1);
        cllm_grammar_free(g);
    }

    /* ---------- masking over a toy vocabulary vs brute force ---------- */
    if (text[5]) {
        /* empty, "{", "{\"", "{\"a\"", "{\"a\":", "{\"a\": ", "{\"a\": 1", '{"a": "\xc3' (partial é) */
        const int32_t p1[] = {1, 3, 20, 3, 5, 7, 8};
        for (int n = 0; n <= 7; n++) check_mask(text[5], p1, n);
        const int32_t p2[] = {17, 20, 18, 3, 25}; /* {"a": then a string with a split é */
        check_mask(text[5], p2, 5);
        const int32_t p3[] = {17, 20, 19, 33}; /* {"a": tr  (token spanning two elements next) */
        check_mask(text[5], p3, 4);
        const int32_t p4[] = {1, 2}; /* {} : complete, eos allowed */
        check_mask(text[5], p4, 2);
    }
    if (text[4]) {
        const int32_t pj[] = {27}; /* half of a hiragana character */
        check_mask(text[4], pj, 1);
    }
    for (int i = 0; i < 8; i++) free(text[i]);
    return test_finish();
}
