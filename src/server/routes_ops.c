/* routes_ops.c: native and operations routes of `cllm serve`: /health,
 * /v1/models, /props, /metrics (Prometheus text), /slots, /tokenize,
 * /detokenize and /apply-template. */
#include "server/util.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_route_health(srv_req *r, json_t *body) {
    (void)body;
    int st = atomic_load(&r->srv->ready);
    if (st == 1) {
        srv_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    srv_reply_error(r, 503, "unavailable_error", NULL, st < 0 ? "the model failed to load" : "loading model");
}

void srv_route_models(srv_req *r, json_t *body) {
    (void)body;
    srv_engine *e = r->srv->eng;
    json_t *m = json_pack("{s:s, s:s, s:I, s:s, s:{s:s, s:i, s:i, s:i, s:I, s:I}}", "id", e->model_id,
                          "object", "model", "created", (json_int_t)srv_unix_time(), "owned_by", "cllm", "meta",
                          "arch", e->arch ? e->arch : "", "n_vocab", e->n_vocab, "n_ctx_train",
                          e->n_ctx_train, "n_embd", e->n_embd, "n_params", (json_int_t)e->n_params,
                          "size", (json_int_t)e->size_bytes);
    srv_reply_json(r, 200, json_pack("{s:s, s:[o]}", "object", "list", "data", m));
}

void srv_route_props(srv_req *r, json_t *body) {
    (void)body;
    srv_server *s = r->srv;
    srv_engine *e = s->eng;
    srv_sampling d;
    srv_sampling_defaults(&d);
    json_t *o = json_pack(
        "{s:{s:i, s:i, s:{s:f, s:f, s:f, s:i}}, s:i, s:s, s:s, s:b, s:b, s:s, s:{s:b, s:b}}",
        "default_generation_settings", "n_ctx", srv_sched_n_ctx_slot(s->sched), "n_batch", e->n_batch,
        "params", "temperature", (double)d.temperature, "top_p", (double)d.top_p, "min_p",
        (double)d.min_p, "top_k", d.top_k, "total_slots", s->cfg.n_slots, "model_path",
        s->cfg.model_path ? s->cfg.model_path : "", "model_alias", e->model_id, "embeddings",
        s->cfg.embeddings, "metrics", s->cfg.metrics, "build_info", "cllm", "modalities", "vision",
        0, "audio", 0);
    json_object_set_new(o, "n_ctx", json_integer(e->n_ctx));
    json_object_set_new(o, "chat_template",
                        json_string(s->template_src ? "custom (--chat-template-file)"
                                    : e->has_template ? "model" : "chatml (built-in fallback)"));
    srv_reply_json(r, 200, o);
}

static void metric(char **buf, size_t *len, size_t *cap, const char *name, const char *type,
                   const char *help, double v) {
    char line[512];
    int n = snprintf(line, sizeof line, "# HELP cllm:%s %s\n# TYPE cllm:%s %s\ncllm:%s %.17g\n", name,
                     help, name, type, name, v);
    srv_buf_append(buf, len, cap, line, (size_t)n);
}

void srv_route_metrics(srv_req *r, json_t *body) {
    (void)body;
    srv_server *s = r->srv;
    if (!s->cfg.metrics) {
        srv_reply_error(r, 501, "not_supported_error", NULL, "metrics are off; start the server with --metrics");
        return;
    }
    srv_sched_stats st;
    srv_sched_stats_get(s->sched, &st);
    char *b = NULL;
    size_t len = 0, cap = 0;
    metric(&b, &len, &cap, "prompt_tokens_total", "counter", "Prompt tokens evaluated.",
           (double)st.prompt_tokens);
    metric(&b, &len, &cap, "prompt_tokens_cached_total", "counter", "Prompt tokens reused from the cache.",
           (double)st.cached_tokens);
    metric(&b, &len, &cap, "tokens_predicted_total", "counter", "Generated tokens.", (double)st.gen_tokens);
    metric(&b, &len, &cap, "prompt_seconds_total", "counter", "Time spent reading prompts.",
           st.prompt_ms / 1e3);
    metric(&b, &len, &cap, "tokens_predicted_seconds_total", "counter", "Time spent generating.",
           st.gen_ms / 1e3);
    metric(&b, &len, &cap, "prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.",
           st.prompt_ms > 0 ? (double)st.prompt_tokens * 1e3 / st.prompt_ms : 0);
    double up = (double)(cllm_time_ns() - s->t_start_ns) / 1e9;
    metric(&b, &len, &cap, "predicted_tokens_seconds", "gauge",
           "Average generation throughput in tokens/s over the uptime.",
           up > 0 ? (double)st.gen_tokens / up : 0);
    metric(&b, &len, &cap, "requests_processing", "gauge", "Requests in a slot.", st.processing);
    metric(&b, &len, &cap, "requests_deferred", "gauge", "Requests waiting for a slot.", st.deferred);
    metric(&b, &len, &cap, "requests_finished_total", "counter", "Generation tasks finished.",
           (double)st.requests_done);
    metric(&b, &len, &cap, "requests_cancelled_total", "counter", "Tasks cancelled (client gone).",
           (double)st.requests_cancelled);
    metric(&b, &len, &cap, "requests_rejected_total", "counter", "Requests refused with 503 (queue full).",
           (double)st.requests_rejected);
    metric(&b, &len, &cap, "http_requests_total", "counter", "HTTP requests received.",
           (double)atomic_load(&s->n_http_requests));
    metric(&b, &len, &cap, "http_errors_total", "counter", "HTTP responses with status >= 400.",
           (double)atomic_load(&s->n_http_errors));
    metric(&b, &len, &cap, "decode_steps_total", "counter", "Batched decode steps.", (double)st.steps);
    metric(&b, &len, &cap, "kv_cache_tokens", "gauge", "KV cells held by slots (shared prefixes counted per slot).",
           st.kv_used);
    metric(&b, &len, &cap, "kv_cache_usage_ratio", "gauge", "KV cache usage (0..1).",
           st.kv_total ? (double)st.kv_used / st.kv_total : 0);
    srv_slot_info info[256];
    int n = srv_sched_slots(s->sched, info, 256);
    const char *hdr = "# HELP cllm:slot_state 1 for the state a slot is in.\n# TYPE cllm:slot_state gauge\n";
    srv_buf_append(&b, &len, &cap, hdr, strlen(hdr));
    static const char *states[] = {"idle", "prompt", "generating"};
    for (int i = 0; i < n && i < 256; i++)
        for (int k = 0; k < 3; k++) {
            char line[160];
            int m = snprintf(line, sizeof line, "cllm:slot_state{slot=\"%d\",state=\"%s\"} %d\n", i,
                             states[k], !strcmp(info[i].state, states[k]));
            srv_buf_append(&b, &len, &cap, line, (size_t)m);
        }
    srv_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b ? b : "", len);
    free(b);
}

void srv_route_slots(srv_req *r, json_t *body) {
    (void)body;
    srv_slot_info info[256];
    int n = srv_sched_slots(r->srv->sched, info, 256);
    json_t *a = json_array();
    for (int i = 0; i < n && i < 256; i++)
        json_array_append_new(a, json_pack("{s:i, s:s, s:b, s:i, s:i, s:i, s:i}", "id", info[i].id,
                                           "state", info[i].state, "is_processing",
                                           strcmp(info[i].state, "idle") != 0, "n_ctx", info[i].n_ctx,
                                           "n_cached", info[i].n_cached, "n_prompt", info[i].n_prompt,
                                           "n_decoded", info[i].n_gen));
    srv_reply_json(r, 200, a);
}

void srv_route_tokenize(srv_req *r, json_t *body) {
    srv_engine *e = r->srv->eng;
    json_t *c = json_object_get(body, "content");
    if (!json_is_string(c)) {
        srv_reply_error(r, 400, NULL, "content", "'content' must be a string");
        return;
    }
    bool add_special = false, parse_special = true, with_pieces = false;
    if (!srv_get_bool(r, body, "add_special", &add_special) ||
        !srv_get_bool(r, body, "parse_special", &parse_special) ||
        !srv_get_bool(r, body, "with_pieces", &with_pieces))
        return;
    int32_t *toks = NULL, n = 0;
    if (!srv_tokenize(r, json_string_value(c), json_string_length(c), add_special, parse_special, &toks, &n))
        return;
    json_t *a = json_array();
    for (int32_t i = 0; i < n; i++) {
        if (!with_pieces) {
            json_array_append_new(a, json_integer(toks[i]));
            continue;
        }
        char buf[256];
        int32_t m = e->piece(e, toks[i], buf, sizeof buf, true);
        json_array_append_new(a, json_pack("{s:i, s:o}", "id", toks[i], "piece",
                                           srv_jstr(buf, m > 0 ? (size_t)m : 0)));
    }
    free(toks);
    srv_reply_json(r, 200, json_pack("{s:o}", "tokens", a));
}

void srv_route_detokenize(srv_req *r, json_t *body) {
    srv_engine *e = r->srv->eng;
    json_t *t = json_object_get(body, "tokens");
    if (!json_is_array(t)) {
        srv_reply_error(r, 400, NULL, "tokens", "'tokens' must be an array of token ids");
        return;
    }
    char *b = NULL;
    size_t len = 0, cap = 0;
    size_t i;
    json_t *v;
    int32_t *ids = malloc(sizeof *ids * (json_array_size(t) + 1));
    if (!ids) { srv_reply_error(r, 500, NULL, NULL, "out of memory"); return; }
    json_array_foreach(t, i, v) {
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id >= e->n_vocab) {
            free(ids);
            srv_reply_error(r, 400, NULL, "tokens", "tokens[%zu] is not a token id in [0, %d)", i, e->n_vocab);
            return;
        }
        ids[i] = (int32_t)id;
    }
    int32_t n = (int32_t)json_array_size(t);
    /* Raw bytes first, UTF-8 repaired once, so multi-token characters survive. */
    char *raw = NULL;
    size_t rl = 0;
    if (e->detokenize) {
        raw = e->detokenize(e, ids, n, &rl);
    } else {
        size_t rc = 0;
        for (int32_t k = 0; k < n; k++) {
            char buf[256];
            int32_t m = e->piece(e, ids[k], buf, sizeof buf, false);
            if (m <= 0) continue;
            if (rl + (size_t)m + 1 > rc) {
                rc = (rl + (size_t)m + 1) * 2;
                char *p = realloc(raw, rc);
                if (!p) break;
                raw = p;
            }
            memcpy(raw + rl, buf, (size_t)m);
            rl += (size_t)m;
        }
    }
    free(ids);
    srv_buf_append(&b, &len, &cap, raw ? raw : "", rl);
    free(raw);
    srv_reply_json(r, 200, json_pack("{s:o}", "content", srv_jstr(b ? b : "", len)));
    free(b);
}

void srv_route_apply_template(srv_req *r, json_t *body) {
    json_t *tools = NULL;
    if (!srv_check_tools(r, json_object_get(body, "tools"), &tools)) return;
    bool add_gen = true;
    if (!srv_get_bool(r, body, "add_generation_prompt", &add_gen)) return;
    json_t *msgs = srv_normalize_messages(r, json_object_get(body, "messages"));
    if (!msgs) return;
    cllm_chat_result res;
    bool ok = srv_render_chat(r, msgs, tools, add_gen, &res);
    json_decref(msgs);
    if (!ok) return;
    srv_reply_json(r, 200, json_pack("{s:o}", "prompt", srv_jstr(res.prompt, strlen(res.prompt))));
    cllm_chat_result_clear(&res);
}
