/* gen_fmt.c: event accumulation shared by the generating routes (gen_fmt.h). */
#include "server/gen_fmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gen_state *gen_state_new(srv_req *r, int n, bool stream, const char *id_prefix) {
    gen_state *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->ch = calloc((size_t)n, sizeof *g->ch);
    if (!g->ch) { free(g); return NULL; }
    g->n = n;
    g->stream = stream;
    g->created = srv_unix_time();
    srv_make_id(g->id, sizeof g->id, id_prefix);
    snprintf(g->model, sizeof g->model, "%s", r->srv->eng->model_id);
    g->first_tok = -1;
    return g;
}

void gen_state_free(void *p) {
    gen_state *g = p;
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        gen_choice *c = &g->ch[i];
        srv_split_free(&c->split);
        free(c->content);
        free(c->reasoning);
        json_decref(c->lp);
        json_decref(c->lp_tokens);
        json_decref(c->lp_vals);
        json_decref(c->lp_top);
        json_decref(c->lp_off);
        free(c->stop_word);
        free(c->err_msg);
    }
    free(g->ch);
    free(g->echo_text);
    json_decref(g->extra);
    free(g);
}

static void split_cb(void *user, bool reasoning, const char *text, size_t len) {
    gen_state *g = user;
    gen_choice *c = &g->ch[g->cur];
    if (!len) return;
    if (reasoning) srv_buf_append(&c->reasoning, &c->rlen, &c->rcap, text, len);
    else srv_buf_append(&c->content, &c->clen, &c->ccap, text, len);
    if (g->stream && g->ops.delta) g->ops.delta(g, g->r, g->cur, reasoning, text, len, NULL);
}

static json_t *bytes_json(const char *s, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer((unsigned char)s[i]));
    return a;
}

static double lp_val(float v) { return isfinite(v) ? v : -9999.0; }
/* null for the first prompt token (no context), else the value */
static json_t *lp_json(float v) { return isnan(v) ? json_null() : json_real(lp_val(v)); }

/* Logprob entries of one token, chat style and completion style. */
static json_t *lp_entry(gen_state *g, gen_choice *c, const srv_event *ev) {
    srv_engine *e = g->r->srv->eng;
    char buf[256];
    int32_t n = e->piece(e, ev->tok, buf, sizeof buf, true);
    if (n < 0) n = 0;
    json_t *ent = json_pack("{s:o, s:f, s:o}", "token", srv_jstr(buf, (size_t)n), "logprob",
                            lp_val(ev->logprob), "bytes", bytes_json(buf, (size_t)n));
    json_t *top = json_array();
    json_t *topd = json_object();
    for (int k = 0; k < ev->n_top; k++) {
        if (ev->top[k].tok < 0) continue;
        char b2[256];
        int32_t m = e->piece(e, ev->top[k].tok, b2, sizeof b2, true);
        if (m < 0) m = 0;
        json_array_append_new(top, json_pack("{s:o, s:f, s:o}", "token", srv_jstr(b2, (size_t)m),
                                             "logprob", lp_val(ev->top[k].logprob), "bytes",
                                             bytes_json(b2, (size_t)m)));
        json_t *ks = srv_jstr(b2, (size_t)m);
        json_object_set_new(topd, json_string_value(ks), json_real(lp_val(ev->top[k].logprob)));
        json_decref(ks);
    }
    json_object_set_new(ent, "top_logprobs", top);
    if (!c->lp_tokens) {
        c->lp_tokens = json_array();
        c->lp_vals = json_array();
        c->lp_top = json_array();
        c->lp_off = json_array();
    }
    json_array_append(c->lp_tokens, json_object_get(ent, "token"));
    json_array_append_new(c->lp_vals, lp_json(ev->logprob));
    if (isnan(ev->logprob)) {
        json_decref(topd);
        topd = json_null();
    }
    json_array_append_new(c->lp_top, topd);
    json_array_append_new(c->lp_off, json_integer((json_int_t)c->text_off));
    /* offsets in the text, which renders no control tokens */
    char pb[256];
    int32_t pn = e->piece(e, ev->tok, pb, sizeof pb, false);
    c->text_off += pn > 0 ? (size_t)pn : 0;
    if (!c->lp) c->lp = json_array();
    json_array_append(c->lp, ent);
    return ent;
}

static void on_event(srv_req *r, srv_task *t, const srv_event *ev) {
    gen_state *g = r->fmt.state;
    int i = t->index < g->n ? t->index : 0;
    gen_choice *c = &g->ch[i];
    g->r = r;
    g->cur = i;
    if (g->first_tok >= 0 && !c->first_done) {
        /* echo + logprobs: the first prompt token has no log-prob */
        c->first_done = true;
        srv_event fe = {.type = SRV_EV_PROMPT, .tok = g->first_tok, .logprob = NAN};
        json_decref(lp_entry(g, c, &fe));
    }
    if (ev->type == SRV_EV_PROMPT) {
        json_decref(lp_entry(g, c, ev));
        return;
    }
    c->usage = ev->usage;
    if (ev->type == SRV_EV_TOKEN) {
        json_t *ent = (g->logprobs && ev->tok >= 0) ? lp_entry(g, c, ev) : NULL;
        if (g->raw) {
            if (ev->text_len) srv_buf_append(&c->content, &c->clen, &c->ccap, ev->text, ev->text_len);
            if (g->stream && g->ops.delta && (ev->text_len || ent))
                g->ops.delta(g, r, i, false, ev->text, ev->text_len, ent);
        } else {
            if (ent && g->stream && g->ops.delta) g->ops.delta(g, r, i, false, "", 0, ent);
            srv_split_feed(&c->split, ev->text, ev->text_len, split_cb, g);
        }
        json_decref(ent);
        return;
    }
    c->done = true;
    if (ev->type == SRV_EV_ERROR) {
        c->err_status = ev->status ? ev->status : 500;
        c->err_msg = strdup(ev->message ? ev->message : "generation failed");
        c->finish = "error";
    } else {
        c->finish = !strcmp(ev->finish, "length") ? "length"
                    : !strcmp(ev->finish, "cancelled") ? "cancelled" : "stop";
        if (ev->stop_word) c->stop_word = strdup(ev->stop_word);
    }
    if (!g->raw) srv_split_finish(&c->split, split_cb, g);
    if (c->split.tool_calls && c->finish && !strcmp(c->finish, "stop")) c->finish = "tool_calls";
    if (g->stream && g->ops.choice_done) g->ops.choice_done(g, r, i);
}

static void on_finish(srv_req *r) {
    gen_state *g = r->fmt.state;
    g->r = r;
    if (g->ops.finish) g->ops.finish(g, r);
}

srv_fmt gen_fmt(gen_state *g) {
    srv_fmt f = {on_event, on_finish, gen_state_free, g};
    return f;
}

void gen_usage(const gen_state *g, srv_usage *u) {
    memset(u, 0, sizeof *u);
    for (int i = 0; i < g->n; i++) {
        const srv_usage *c = &g->ch[i].usage;
        if (i == 0) {
            u->n_prompt = c->n_prompt;
            u->n_cached = c->n_cached;
            u->t_prompt_ms = c->t_prompt_ms;
        }
        u->n_gen += c->n_gen;
        if (c->t_gen_ms > u->t_gen_ms) u->t_gen_ms = c->t_gen_ms;
    }
    if (u->n_prompt == 0) u->n_prompt = g->n_prompt;
}

json_t *gen_timings_json(const gen_state *g) {
    srv_usage u;
    gen_usage(g, &u);
    int32_t evald = u.n_prompt - u.n_cached;
    return json_pack("{s:i, s:i, s:f, s:f, s:i, s:f, s:f}", "cache_n", u.n_cached, "prompt_n", evald,
                     "prompt_ms", u.t_prompt_ms, "prompt_per_second",
                     u.t_prompt_ms > 0 ? evald * 1000.0 / u.t_prompt_ms : 0.0, "predicted_n", u.n_gen,
                     "predicted_ms", u.t_gen_ms, "predicted_per_second",
                     u.t_gen_ms > 0 ? u.n_gen * 1000.0 / u.t_gen_ms : 0.0);
}

int gen_error(const gen_state *g, const char **msg) {
    for (int i = 0; i < g->n; i++) {
        if (g->ch[i].err_status) {
            *msg = g->ch[i].err_msg;
            return g->ch[i].err_status;
        }
        if (g->ch[i].finish && !strcmp(g->ch[i].finish, "cancelled")) {
            *msg = "the request was cancelled (client gone or server shutting down)";
            return 503;
        }
    }
    return 0;
}
