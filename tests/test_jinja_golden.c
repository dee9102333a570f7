/* test_jinja_golden.c: renders every golden case of ../shared/templates
 * (golden/: plain environment; golden-generation-ext/: with the
 * {% generation %} tag enabled) and checks the output byte for byte, or the
 * failure's Python exception class (and, for raise_exception, the message).
 * Prints the pass count per template and overall. Set JINJA_GOLDEN_VERBOSE=1
 * to see the first difference of each failing case. */
#include "chat/chat.h"
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void show_diff(const char *exp, const char *got) {
    size_t i = 0;
    while (exp[i] && exp[i] == got[i]) i++;
    size_t from = i > 60 ? i - 60 : 0;
    fprintf(stderr, "    first difference at byte %zu\n    expected: ", i);
    for (size_t k = from; exp[k] && k < i + 60; k++) fputc(exp[k] == '\n' ? '|' : exp[k], stderr);
    fprintf(stderr, "\n    got:      ");
    for (size_t k = from; got[k] && k < i + 60; k++) fputc(got[k] == '\n' ? '|' : got[k], stderr);
    fprintf(stderr, "\n");
}

/* Returns the number of cases that matched; *total gets the case count. */
static int run_dir(const char *sub, uint32_t flags, int *total) {
    char dirpath[4096];
    snprintf(dirpath, sizeof dirpath, "%s", test_shared_path(sub));
    DIR *d = opendir(dirpath);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dirpath);
        *total = 0;
        return 0;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    bool verbose = getenv("JINJA_GOLDEN_VERBOSE") != NULL;
    const char *only = getenv("JINJA_GOLDEN_ONLY");
    int ok_all = 0, tot = 0;
    char cur_tpl[512] = "";
    int tpl_ok = 0, tpl_n = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *tname = NULL;
        json_t *root = NULL;
        if (i < n) {
            if (only && !strstr(names[i], only)) continue;
            char path[8300];
            snprintf(path, sizeof path, "%s/%s", dirpath, names[i]);
            json_error_t je;
            root = json_load_file(path, 0, &je);
            CHECK(root != NULL, "%s: %s", names[i], je.text);
            if (!root) continue;
            tname = json_string_value(json_object_get(root, "template"));
        }
        if (i == n || strcmp(tname, cur_tpl) != 0) {
            if (cur_tpl[0]) printf("  %-55s %d/%d\n", cur_tpl, tpl_ok, tpl_n);
            if (i == n) break;
            snprintf(cur_tpl, sizeof cur_tpl, "%s", tname);
            tpl_ok = tpl_n = 0;
        }
        tpl_n++;
        tot++;
        char tpath[8300];
        snprintf(tpath, sizeof tpath, "%s/%s", test_shared_path("templates"), tname);
        char *src = test_read_file(tpath, NULL);
        CHECK(src != NULL, "read %s", tpath);
        const json_t *ctx = json_object_get(root, "context");
        const char *expected = json_string_value(json_object_get(root, "expected"));
        const char *err_type = json_string_value(json_object_get(root, "error_type"));
        const char *err_msg = json_string_value(json_object_get(root, "error"));
        cllm_chat_template *t = NULL;
        char *out = NULL;
        const char *got_type = "";
        char got_msg[1024] = "";
        cllm_status st = src ? cllm_chat_template_init_ex(src, flags, &t) : CLLM_ERR_IO;
        if (st != CLLM_OK) {
            got_type = "TemplateSyntaxError";
            snprintf(got_msg, sizeof got_msg, "%s", cllm_last_error());
        } else {
            st = cllm_chat_template_render_json(t, ctx, &out);
            if (st != CLLM_OK) {
                got_type = cllm_chat_template_error_type(t);
                snprintf(got_msg, sizeof got_msg, "%s", cllm_chat_template_last_error(t));
            }
        }
        bool ok;
        if (expected) {
            ok = out && strcmp(out, expected) == 0;
            if (!ok && verbose) {
                fprintf(stderr, "MISMATCH %s (%s)\n", names[i], out ? "render differs" : got_msg);
                if (out) show_diff(expected, out);
            }
        } else {
            ok = !out && strcmp(got_type, err_type ? err_type : "") == 0;
            if (ok && strcmp(err_type, "TemplateError") == 0) ok = strcmp(got_msg, err_msg) == 0;
            if (!ok && verbose)
                fprintf(stderr, "MISMATCH %s: expected %s (%s), got %s (%s)\n", names[i], err_type, err_msg,
                        out ? "success" : got_type, got_msg);
        }
        CHECK(ok, "%s", names[i]);
        if (ok) {
            tpl_ok++;
            ok_all++;
        }
        free(out);
        cllm_chat_template_free(t);
        free(src);
        json_decref(root);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    *total = tot;
    return ok_all;
}

int main(void) {
    test_require_shared("chat template golden renders");
    int total = 0, total_ext = 0;
    printf("templates/golden:\n");
    int ok = run_dir("templates/golden", CLLM_CHAT_TEMPLATE_FIXED_CLOCK, &total);
    printf("templates/golden-generation-ext (generation tag on):\n");
    int ok_ext = run_dir("templates/golden-generation-ext",
                         CLLM_CHAT_TEMPLATE_GENERATION_TAG | CLLM_CHAT_TEMPLATE_FIXED_CLOCK, &total_ext);
    printf("golden: %d/%d cases pass; golden-generation-ext: %d/%d\n", ok, total, ok_ext, total_ext);
    if (!getenv("JINJA_GOLDEN_ONLY")) {
        CHECK(total == 447, "expected 447 golden cases, found %d", total);
        CHECK(total_ext == 30, "expected 30 generation-ext cases, found %d", total_ext);
    }
    return test_finish();
}
