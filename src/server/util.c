/* util.c: shared route helpers of `cllm serve` (see util.h). */
#include "server/util.h"
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------- UTF-8 */
/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t need;
    unsigned min;
    if (c < 0x80) return c ? 1 : 0;
    if (c >= 0xC2 && c <= 0xDF) { need = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; min = 0x10000; }
    else return 0;
    if (n < need) return 0;
    unsigned cp = c & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return need;
}

void srv_buf_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    /* Worst case every byte becomes U+FFFD (3 bytes). */
    size_t want = *len + n * 3 + 1;
    if (want > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < want) c *= 2;
        char *p = realloc(*buf, c);
        if (!p) return;
        *buf = p;
        *cap = c;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (k) {
            memcpy(*buf + *len, u + i, k);
            *len += k;
            i += k;
        } else {
            memcpy(*buf + *len, "\xEF\xBF\xBD", 3);
            *len += 3;
            i++;
        }
    }
    (*buf)[*len] = 0;
}

json_t *srv_jstr(const char *s, size_t len) {
    char *b = NULL;
    size_t n = 0, cap = 0;
    srv_buf_append(&b, &n, &cap, s ? s : "", len);
    json_t *j = b ? json_stringn(b, n) : json_string("");
    free(b);
    return j;
}

/* ------------------------------------------------------------ fields */
bool srv_get_num(srv_req *r, json_t *o, const char *key, double lo, double hi, double *out) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_number(v)) {
        srv_reply_error(r, 400, NULL, key, "'%s' must be a number", key);
        return false;
    }
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi)) {
        srv_reply_error(r, 400, NULL, key, "'%s' must be between %g and %g (got %g)", key, lo, hi, d);
        return false;
    }
    *out = d;
    return true;
}

bool srv_get_int(srv_req *r, json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    double d = json_is_real(v) ? json_real_value(v) : 0;
    if (!json_is_integer(v) && !(json_is_real(v) && d == floor(d) && fabs(d) < 9e15)) {
        srv_reply_error(r, 400, NULL, key, "'%s' must be an integer", key);
        return false;
    }
    int64_t i = json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)d;
    if (i < lo || i > hi) {
        srv_reply_error(r, 400, NULL, key, "'%s' must be between %lld and %lld (got %lld)", key,
                        (long long)lo, (long long)hi, (long long)i);
        return false;
    }
    *out = i;
    return true;
}

bool srv_get_bool(srv_req *r, json_t *o, const char *key, bool *out) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_boolean(v)) {
        srv_reply_error(r, 400, NULL, key, "'%s' must be a boolean", key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

bool srv_get_str(srv_req *r, json_t *o, const char *key, const char **out) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v)) {
        srv_reply_error(r, 400, NULL, key, "'%s' must be a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool srv_tokenize(srv_req *r, const char *text, size_t len, bool add_special, bool parse_special,
                  int32_t **out, int32_t *n_out) {
    srv_engine *e = r->srv->eng;
    char err[256] = "";
    int32_t n = e->tokenize(e, text, len, add_special, parse_special, out, err, sizeof err);
    if (n < 0) {
        srv_reply_error(r, 400, NULL, NULL, "cannot tokenize the input: %s", err);
        return false;
    }
    *n_out = n;
    return true;
}

/* ------------------------------------------------------- generation */
void srv_sampling_defaults(srv_sampling *s) {
    memset(s, 0, sizeof *s);
    s->temperature = 0.8f;
    s->top_p = 0.95f;
    s->min_p = 0.05f;
    s->top_k = 40;
    s->repeat_penalty = 1.0f;
}

void srv_sampling_clear(srv_sampling *s) {
    free(s->bias);
    free(s->grammar);
    s->bias = NULL;
    s->grammar = NULL;
    s->n_bias = 0;
}

void srv_gen_init(srv_gen *g) {
    memset(g, 0, sizeof *g);
    srv_sampling_defaults(&g->sp);
    g->n_predict = -1;
    g->n = 1;
    g->n_keep = -2;
}

void srv_gen_clear(srv_gen *g) {
    srv_sampling_clear(&g->sp);
    for (int i = 0; i < g->n_stop; i++) free(g->stop[i]);
    free(g->stop);
    g->stop = NULL;
    g->n_stop = 0;
}

static bool add_stop(srv_gen *g, const char *s) {
    char **p = realloc(g->stop, sizeof *p * (size_t)(g->n_stop + 1));
    if (!p) return false;
    g->stop = p;
    g->stop[g->n_stop] = strdup(s);
    if (!g->stop[g->n_stop]) return false;
    g->n_stop++;
    return true;
}

bool srv_gen_parse(srv_req *r, json_t *body, srv_gen *g, bool anthropic) {
    srv_engine *e = r->srv->eng;
    double d;
    int64_t i;
    d = g->sp.temperature;
    if (!srv_get_num(r, body, "temperature", 0, 2, &d)) return false;
    g->sp.temperature = (float)d;
    d = g->sp.top_p;
    if (!srv_get_num(r, body, "top_p", 0, 1, &d)) return false;
    g->sp.top_p = (float)d;
    d = g->sp.min_p;
    if (!srv_get_num(r, body, "min_p", 0, 1, &d)) return false;
    g->sp.min_p = (float)d;
    i = g->sp.top_k;
    if (!srv_get_int(r, body, "top_k", 0, e->n_vocab, &i)) return false;
    g->sp.top_k = (int32_t)i;
    d = 0;
    if (!srv_get_num(r, body, "presence_penalty", -2, 2, &d)) return false;
    g->sp.presence_penalty = (float)d;
    d = 0;
    if (!srv_get_num(r, body, "frequency_penalty", -2, 2, &d)) return false;
    g->sp.frequency_penalty = (float)d;
    d = 1;
    if (!srv_get_num(r, body, "repeat_penalty", 0, 10, &d)) return false;
    g->sp.repeat_penalty = (float)d;
    json_t *seed = json_object_get(body, "seed");
    if (seed && !json_is_null(seed)) {
        if (!json_is_integer(seed)) {
            srv_reply_error(r, 400, NULL, "seed", "'seed' must be an integer");
            return false;
        }
        g->sp.seed = (uint64_t)json_integer_value(seed);
        g->sp.has_seed = true;
    }
    i = 1;
    if (!srv_get_int(r, body, "n", 1, 16, &i)) return false;
    g->n = (int)i;
    if (!srv_get_bool(r, body, "stream", &g->stream)) return false;
    if (!srv_get_bool(r, body, "ignore_eos", &g->ignore_eos)) return false;
    g->context_shift = r->srv->cfg.context_shift;
    if (!srv_get_bool(r, body, "context_shift", &g->context_shift)) return false;
    int64_t nk = g->n_keep;
    if (!srv_get_int(r, body, "n_keep", -1, 1 << 30, &nk)) return false;
    g->n_keep = (int32_t)nk;
    json_t *so = json_object_get(body, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so)) {
            srv_reply_error(r, 400, NULL, "stream_options", "'stream_options' must be an object");
            return false;
        }
        if (!srv_get_bool(r, so, "include_usage", &g->include_usage)) return false;
    }
    /* max tokens */
    int64_t mt = g->n_predict;
    /* The first of the length fields that is set (not null); Anthropic's is max_tokens. */
    static const char *const mt_keys[] = {"max_completion_tokens", "max_output_tokens", "n_predict", "max_tokens"};
    const char *mt_key = "max_tokens";
    for (int k = 0; k < 4 && !anthropic; k++) {
        json_t *v = json_object_get(body, mt_keys[k]);
        if (v && !json_is_null(v)) { mt_key = mt_keys[k]; break; }
    }
    if (!srv_get_int(r, body, mt_key, anthropic ? 1 : -1, 1 << 30, &mt)) return false;
    json_t *mtv = json_object_get(body, "max_tokens");
    if (anthropic && (!mtv || json_is_null(mtv))) {
        srv_reply_error(r, 400, NULL, "max_tokens", "'max_tokens' is required");
        return false;
    }
    g->n_predict = (int32_t)mt;
    /* logit_bias: {"token id": bias} */
    json_t *lb = json_object_get(body, "logit_bias");
    if (lb && !json_is_null(lb)) {
        if (!json_is_object(lb)) {
            srv_reply_error(r, 400, NULL, "logit_bias", "'logit_bias' must be an object of token id -> bias");
            return false;
        }
        size_t n = json_object_size(lb);
        g->sp.bias = calloc(n ? n : 1, sizeof *g->sp.bias);
        if (!g->sp.bias) { srv_reply_error(r, 500, NULL, NULL, "out of memory"); return false; }
        const char *k;
        json_t *v;
        json_object_foreach(lb, k, v) {
            char *end;
            long id = strtol(k, &end, 10);
            if (!*k || *end || id < 0 || id >= e->n_vocab) {
                srv_reply_error(r, 400, NULL, "logit_bias", "logit_bias key '%s' is not a token id in [0, %d)",
                                k, e->n_vocab);
                return false;
            }
            if (!json_is_number(v) || fabs(json_number_value(v)) > 100) {
                srv_reply_error(r, 400, NULL, "logit_bias", "logit_bias['%s'] must be a number in [-100, 100]", k);
                return false;
            }
            g->sp.bias[g->sp.n_bias++] = (srv_logit_bias){(int32_t)id, (float)json_number_value(v)};
        }
    }
    /* stop strings */
    const char *stop_key = anthropic ? "stop_sequences" : "stop";
    json_t *st = json_object_get(body, stop_key);
    if (st && !json_is_null(st)) {
        if (json_is_string(st) && !anthropic) {
            if (json_string_length(st) && !add_stop(g, json_string_value(st))) return false;
        } else if (json_is_array(st)) {
            if (json_array_size(st) > 16) {
                srv_reply_error(r, 400, NULL, stop_key, "'%s' has more than 16 entries", stop_key);
                return false;
            }
            size_t k;
            json_t *v;
            json_array_foreach(st, k, v) {
                if (!json_is_string(v)) {
                    srv_reply_error(r, 400, NULL, stop_key, "'%s[%zu]' must be a string", stop_key, k);
                    return false;
                }
                if (json_string_length(v) && !add_stop(g, json_string_value(v))) return false;
            }
        } else {
            srv_reply_error(r, 400, NULL, stop_key, "'%s' must be %s", stop_key,
                            anthropic ? "an array of strings" : "a string or an array of strings");
            return false;
        }
    }
    return true;
}

bool srv_gen_tasks(srv_req *r, srv_gen *g, const int32_t *prompt, int32_t n_prompt,
                   srv_task **tasks) {
    srv_server *s = r->srv;
    srv_engine *e = s->eng;
    int32_t n_ctx_slot = srv_sched_n_ctx_slot(s->sched);
    if (!e->sampler_new) {
        srv_reply_error(r, 501, "not_supported_error", NULL,
                        "text generation needs the sampling module, which is not in this build");
        return false;
    }
    if (n_prompt <= 0) {
        srv_reply_error(r, 400, NULL, NULL, "the prompt is empty");
        return false;
    }
    if (n_prompt >= n_ctx_slot) {
        srv_reply_error(r, 400, NULL, NULL,
                        "the prompt has %d tokens but a slot's context holds %d (-c %d over %d slots); "
                        "shorten the prompt",
                        n_prompt, n_ctx_slot, s->cfg.n_ctx ? s->cfg.n_ctx : e->n_ctx, s->cfg.n_slots);
        return false;
    }
    for (int k = 0; k < g->n; k++) tasks[k] = NULL;
    for (int k = 0; k < g->n; k++) {
        srv_task *t = srv_task_new(SRV_TASK_COMPLETION);
        if (!t) goto oom;
        tasks[k] = t;
        t->index = k;
        t->prompt = malloc(sizeof(int32_t) * (size_t)n_prompt);
        if (!t->prompt) goto oom;
        memcpy(t->prompt, prompt, sizeof(int32_t) * (size_t)n_prompt);
        t->n_prompt = n_prompt;
        t->n_predict = g->n_predict;
        t->want_logprob = g->logprobs;
        t->n_top = g->top_logprobs;
        t->ignore_eos = g->ignore_eos;
        t->context_shift = g->context_shift;
        /* With a context shift nothing else bounds an unlimited request. */
        if (t->context_shift && t->n_predict < 0) t->n_predict = 8 * n_ctx_slot;
        t->n_keep = g->n_keep == -1 ? n_prompt
                    : g->n_keep >= 0 ? g->n_keep
                    : (e->bos >= 0 && prompt[0] == e->bos) ? 1 : 0;
        if (g->n_stop) {
            t->stop = calloc((size_t)g->n_stop, sizeof *t->stop);
            if (!t->stop) goto oom;
            for (int j = 0; j < g->n_stop; j++) {
                t->stop[j] = strdup(g->stop[j]);
                if (!t->stop[j]) goto oom;
                t->n_stop++;
            }
        }
        srv_sampling sp = g->sp;
        if (k > 0 && sp.has_seed) sp.seed += (uint64_t)k; /* distinct choices */
        char err[512] = "";
        t->sampler = e->sampler_new(e, &sp, err, sizeof err);
        if (!t->sampler) {
            for (int j = 0; j < g->n; j++) srv_task_free(tasks[j], e);
            srv_reply_error(r, 400, NULL, g->sp.grammar ? "response_format" : NULL,
                            "invalid sampling parameters: %s", err);
            return false;
        }
    }
    return true;
oom:
    for (int j = 0; j < g->n; j++) srv_task_free(tasks[j], e);
    srv_reply_error(r, 500, NULL, NULL, "out of memory");
    return false;
}

/* ------------------------------------------------------------- misc */
void srv_make_id(char *buf, size_t len, const char *prefix) {
    static atomic_ullong ctr;
    unsigned long long c = atomic_fetch_add(&ctr, 1);
    uint64_t t = cllm_time_ns();
    uint64_t x = (t ^ (c * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    snprintf(buf, len, "%s%016llx%04llx", prefix, (unsigned long long)x, c & 0xFFFF);
}

long long srv_unix_time(void) { return (long long)time(NULL); }
