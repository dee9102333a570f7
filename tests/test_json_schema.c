/* test_json_schema.c: JSON Schema -> GBNF. Every schema in tests/schemas/
 * converts, its grammar parses, its valid instances are accepted (compact and
 * indented), its invalid texts rejected (ajv agrees on both sets: see
 * test_json_schema_ajv.sh), as are "stricter_text" documents that the schema
 * allows but the grammar deliberately does not generate; integer ranges are checked
 * exhaustively against brute force; unsupported keywords are errors that name
 * the keyword and where it is. */
#include "cllm.h"
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>


static bool accepts(cllm_grammar *g, const char *text) {
    cllm_grammar_reset(g);
    if (cllm_grammar_accept_bytes(g, text, strlen(text)) != CLLM_OK) return false;
    return cllm_grammar_is_complete(g);
}

static cllm_grammar *grammar_for(const char *schema, char **gbnf_out) {
    char *gbnf = NULL;
    char err[256];
    cllm_status st = cllm_json_schema_to_grammar(schema, &gbnf, err, sizeof err);
    CHECK(st == CLLM_OK, "convert %s: %s", schema, err);
    if (st != CLLM_OK) return NULL;
    cllm_grammar *g = NULL;
    st = cllm_grammar_init(gbnf, NULL, NULL, &g);
    CHECK(st == CLLM_OK, "grammar of %s does not parse: %s\n%s", schema, cllm_last_error(), gbnf);
    if (gbnf_out) *gbnf_out = gbnf;
    else free(gbnf);
    return g;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void check_file(const char *path) {
    json_error_t je;
    json_t *d = json_load_file(path, 0, &je);
    CHECK(d != NULL, "%s: %s", path, je.text);
    if (!d) return;
    char *schema = json_dumps(json_object_get(d, "schema"), JSON_COMPACT | JSON_ENCODE_ANY);
    char *gbnf = NULL;
    cllm_grammar *g = grammar_for(schema, &gbnf);
    if (g) {
        size_t i;
        json_t *v;
        int n_valid = 0, n_invalid = 0;
        json_array_foreach(json_object_get(d, "valid"), i, v) {
            char *compact = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            char *pretty = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
            CHECK(accepts(g, compact), "%s: valid instance rejected: %s\n%s", path, compact, gbnf);
            CHECK(accepts(g, pretty), "%s: valid indented instance rejected: %s", path, pretty);
            free(compact);
            free(pretty);
            n_valid++;
        }
        json_array_foreach(json_object_get(d, "invalid_text"), i, v) {
            const char *t = json_string_value(v);
            CHECK(t && !accepts(g, t), "%s: invalid instance accepted: %s\n%s", path, t, gbnf);
            n_invalid++;
        }
        /* Schema-valid documents the grammar deliberately does not produce
         * (extra keys without additionalProperties, short tuples, ...). */
        json_array_foreach(json_object_get(d, "stricter_text"), i, v) {
            const char *t = json_string_value(v);
            CHECK(t && !accepts(g, t), "%s: stricter-than-schema text accepted: %s", path, t);
        }
        CHECK(n_valid > 0 && n_invalid > 0, "%s has both sets", path);
        cllm_grammar_free(g);
    }
    free(gbnf);
    free(schema);
    json_decref(d);
}

static void check_int_range(const char *schema, long lo, long hi) {
    cllm_grammar *g = grammar_for(schema, NULL);
    if (!g) return;
    int bad = 0;
    char buf[32];
    for (long x = -3000; x <= 3000; x++) {
        snprintf(buf, sizeof buf, "%ld", x);
        bool want = x >= lo && x <= hi;
        if (accepts(g, buf) != want) {
            if (bad++ < 5) CHECK(0, "%s: %ld %s", schema, x, want ? "rejected" : "accepted");
        }
    }
    CHECK(bad == 0, "%s: %d mismatches", schema, bad);
    CHECK(!accepts(g, "-0") && !accepts(g, "007") && !accepts(g, "1.0"), "%s: no -0 / leading zeros / fraction", schema);
    cllm_grammar_free(g);
}

static void check_unsupported(const char *schema, cllm_status want, const char *s1, const char *s2) {
    char *gbnf = (char *)1;
    char err[256];
    cllm_status st = cllm_json_schema_to_grammar(schema, &gbnf, err, sizeof err);
    CHECK(st == want && gbnf == NULL, "%s: status %d", schema, st);
    CHECK(strstr(err, s1) != NULL, "%s: error '%s' lacks '%s'", schema, err, s1);
    if (s2) CHECK(strstr(err, s2) != NULL, "%s: error '%s' lacks '%s'", schema, err, s2);
    CHECK(strcmp(cllm_last_error(), err) == 0, "last error mirrors");
}

static int list_schemas(char *dir, size_t dirlen, char **names, int max) {
    snprintf(dir, dirlen, "%s/tests/schemas", CLLM_SOURCE_DIR);
    DIR *dp = opendir(dir);
    CHECK(dp != NULL, "open %s", dir);
    int n = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp)) && n < max) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) names[n++] = strdup(de->d_name);
    }
    if (dp) closedir(dp);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

int main(void) {
    /* ---------- data-driven schemas ---------- */
    char dir[1024], *names[64];
    int n = list_schemas(dir, sizeof dir, names, 64);
    CHECK(n >= 10, "at least 10 schemas (%d)", n);
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        check_file(path);
        free(names[i]);
    }

    /* ---------- integer ranges vs brute force ---------- */
    check_int_range("{\"type\":\"integer\",\"minimum\":-123,\"maximum\":2567}", -123, 2567);
    check_int_range("{\"type\":\"integer\",\"minimum\":0,\"maximum\":0}", 0, 0);
    check_int_range("{\"type\":\"integer\",\"minimum\":7,\"maximum\":7}", 7, 7);
    check_int_range("{\"type\":\"integer\",\"minimum\":-50,\"maximum\":-3}", -50, -3);
    check_int_range("{\"type\":\"integer\",\"minimum\":10}", 10, 1L << 40);
    check_int_range("{\"type\":\"integer\",\"maximum\":25}", -(1L << 40), 25);
    check_int_range("{\"type\":\"integer\",\"maximum\":-25}", -(1L << 40), -25);
    check_int_range("{\"type\":\"integer\",\"minimum\":-999}", -999, 1L << 40);
    check_int_range("{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000}", 1, 1000);
    check_int_range("{\"type\":\"integer\",\"minimum\":99,\"maximum\":1001}", 99, 1001);
    check_int_range("{\"type\":\"integer\",\"exclusiveMinimum\":1.5,\"maximum\":19.9}", 2, 19);
    check_int_range("{\"type\":\"integer\",\"minimum\":-2999,\"maximum\":2999}", -2999, 2999);
    check_int_range("{\"type\":\"integer\",\"minimum\":1234,\"maximum\":1299}", 1234, 1299);

    /* ---------- extreme bounds still give a parsable grammar ---------- */
    {
        cllm_grammar *g = grammar_for("{\"type\":\"integer\",\"minimum\":1000000000000000}", NULL);
        CHECK(g && accepts(g, "1000000000000000") && accepts(g, "9999999999999999") && !accepts(g, "999999999999999"),
              "minimum 1e15");
        cllm_grammar_free(g);
        g = grammar_for("{\"type\":\"integer\",\"maximum\":-1000000000000000}", NULL);
        CHECK(g && accepts(g, "-1000000000000000") && !accepts(g, "-999999999999999"), "maximum -1e15");
        cllm_grammar_free(g);
    }

    /* ---------- errors ---------- */
    check_unsupported("{\"type\":\"string\",\"pattern\":\"^a\"}", CLLM_ERR_UNSUPPORTED, "'pattern'", NULL);
    check_unsupported("{\"properties\":{\"x\":{\"type\":\"string\",\"format\":\"email\"}}}", CLLM_ERR_UNSUPPORTED,
                      "'email'", "#/properties/x");
    check_unsupported("{\"type\":\"array\",\"items\":{\"multipleOf\":2}}", CLLM_ERR_UNSUPPORTED, "'multipleOf'",
                      "#/items");
    check_unsupported("{\"$ref\":\"http://example.com/s.json\"}", CLLM_ERR_UNSUPPORTED, "local", NULL);
    check_unsupported("{\"$ref\":\"#/$defs/missing\"}", CLLM_ERR_FORMAT, "does not resolve", NULL);
    check_unsupported("{\"type\":\"integer\",\"minimum\":5,\"maximum\":1}", CLLM_ERR_FORMAT, "no integer", NULL);
    check_unsupported("{\"type\":\"object\",", CLLM_ERR_FORMAT, "invalid JSON", "line 1");
    check_unsupported("{\"type\":\"strin\"}", CLLM_ERR_FORMAT, "unknown type 'strin'", NULL);
    check_unsupported("{\"uniqueItems\":true}", CLLM_ERR_UNSUPPORTED, "'uniqueItems'", NULL);
    check_unsupported("{\"type\":\"number\",\"minimum\":-1.5}", CLLM_ERR_UNSUPPORTED, "minimum", NULL);
    check_unsupported("false", CLLM_ERR_UNSUPPORTED, "matches nothing", NULL);

    /* ---------- output shape ---------- */
    {
        char *gbnf = NULL;
        CHECK(cllm_json_schema_to_grammar("{\"type\":\"boolean\"}", &gbnf, NULL, 0) == CLLM_OK, "boolean");
        CHECK(gbnf && strncmp(gbnf, "root ::= ", 9) == 0, "starts with root: %s", gbnf ? gbnf : "");
        free(gbnf);
        /* a recursive schema via "#" */
        cllm_grammar *g = grammar_for(
            "{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}},"
            "\"required\":[\"kids\"]}",
            NULL);
        if (g) {
            CHECK(accepts(g, "{\"kids\":[{\"kids\":[]},{\"kids\":[{\"kids\":[]}]}]}"), "recursive root ref");
            CHECK(!accepts(g, "{\"kids\":[{}]}"), "recursive root ref rejects missing key");
            cllm_grammar_free(g);
        }
    }
    return test_finish();
}
