/* engine_util.c: helpers shared by the engine commands (see engine_util.h). */
#include "engine_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t *cmd_parse_ids(const char *s, int *n_out) {
    *n_out = 0;
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return NULL;
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX) {
            fprintf(stderr, "error: bad token id near '%.20s'\n", p);
            free(ids);
            return NULL;
        }
        if (n == cap) {
            cap *= 2;
            int32_t *ni = realloc(ids, cap * sizeof *ids);
            if (!ni) { free(ids); return NULL; }
            ids = ni;
        }
        ids[n++] = (int32_t)v;
        p = end;
        if (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n') {
            fprintf(stderr, "error: bad token id list near '%.20s'\n", p);
            free(ids);
            return NULL;
        }
    }
    if (n == 0) {
        fprintf(stderr, "error: empty token id list\n");
        free(ids);
        return NULL;
    }
    *n_out = (int)n;
    return ids;
}

int cmd_parse_kv_type(const char *s) {
    int t = cllm_type_from_name(s);
    if (t == CLLM_TYPE_F16 || t == CLLM_TYPE_F32 || t == CLLM_TYPE_Q8_0) return t;
    return -1;
}

bool cmd_parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "error: %s wants an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

int32_t cmd_argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}
