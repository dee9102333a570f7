/* http.c: the HTTP layer of `cllm serve` over libmicrohttpd: daemon set-up
 * (thread pool, keep-alive, suspend/resume), body collection with a size
 * limit (413), routing (404/405), CORS, API-key check (401, constant-time),
 * JSON errors in the route's shape, and asynchronous replies: a request
 * whose answer comes from the scheduler is suspended (non-stream) or served
 * by a content-reader callback that suspends itself while no bytes are
 * ready (SSE), and is resumed by the task sink. */
#include "server/server.h"
#include "core/core.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

void srv_config_defaults(srv_config *c) {
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->n_slots = 4;
    c->n_ctx = 0;
    c->n_batch = 512;
    c->n_threads = 0;
    c->http_threads = 4;
    c->queue_max = 64;
    c->max_body = 8u << 20;
    c->timeout_s = 600;
}

/* ------------------------------------------------------------ routing */
typedef struct route {
    const char *method, *path;
    srv_route_fn fn;
    bool is_public;     /* no API key needed */
    bool needs_model;   /* 503 while loading */
    bool json_body;     /* parse the body as a JSON object */
} route;

static const route g_routes[] = {
    {"GET", "/health", srv_route_health, true, false, false},
    {"GET", "/v1/health", srv_route_health, true, false, false},
    {"GET", "/", srv_route_webui, true, false, false},
    {"GET", "/index.html", srv_route_webui, true, false, false},
    {"GET", "/v1/models", srv_route_models, false, true, false},
    {"GET", "/models", srv_route_models, false, true, false},
    {"GET", "/props", srv_route_props, false, true, false},
    {"GET", "/metrics", srv_route_metrics, false, true, false},
    {"GET", "/slots", srv_route_slots, false, true, false},
    {"POST", "/tokenize", srv_route_tokenize, false, true, true},
    {"POST", "/detokenize", srv_route_detokenize, false, true, true},
    {"POST", "/apply-template", srv_route_apply_template, false, true, true},
    {"POST", "/v1/completions", srv_route_completions, false, true, true},
    {"POST", "/completions", srv_route_completions, false, true, true},
    {"POST", "/v1/chat/completions", srv_route_chat, false, true, true},
    {"POST", "/chat/completions", srv_route_chat, false, true, true},
    {"POST", "/v1/embeddings", srv_route_embeddings, false, true, true},
    {"POST", "/embeddings", srv_route_embeddings, false, true, true},
    {"POST", "/v1/responses", srv_route_responses, false, true, true},
    {"POST", "/v1/messages", srv_route_messages, false, true, true},
    {"POST", "/v1/messages/count_tokens", srv_route_count_tokens, false, true, true},
};
#define N_ROUTES (sizeof g_routes / sizeof g_routes[0])

/* ---------------------------------------------------------- requests */
static void req_unref(srv_req *r) {
    pthread_mutex_lock(&r->mu);
    int left = --r->refs;
    pthread_mutex_unlock(&r->mu);
    if (left > 0) return;
    for (int i = 0; i < r->n_tasks; i++) srv_task_free(r->tasks[i], r->srv->eng);
    free(r->tasks);
    if (r->fmt.free_state) r->fmt.free_state(r->fmt.state);
    pthread_mutex_destroy(&r->mu);
    free(r->url);
    free(r->body);
    free(r->out);
    free(r->resp_body);
    free(r);
}

static void add_common_headers(srv_req *r, struct MHD_Response *resp) {
    const srv_config *c = &r->srv->cfg;
    if (c->cors_origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", c->cors_origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
}

static void queue_buffer(srv_req *r, int status, const char *ctype, const char *data, size_t len) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp) return;
    MHD_add_response_header(resp, "Content-Type", ctype);
    add_common_headers(r, resp);
    if (status == 503) MHD_add_response_header(resp, "Retry-After", "1");
    if (status == 405) {
        char allow[64] = "";
        for (size_t i = 0; i < N_ROUTES; i++)
            if (!strcmp(g_routes[i].path, r->url)) {
                if (allow[0]) strcat(allow, ", ");
                strcat(allow, g_routes[i].method);
            }
        if (r->srv->cfg.cors_origin) strcat(allow, ", OPTIONS");
        MHD_add_response_header(resp, "Allow", allow);
    }
    if (status == 401 && r->shape == SRV_SHAPE_OPENAI)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (status >= 400) atomic_fetch_add(&r->srv->n_http_errors, 1);
    r->handled = true;
}

void srv_reply_text(srv_req *r, int status, const char *ctype, const char *text, size_t len) {
    queue_buffer(r, status, ctype, text, len);
}

void srv_reply_json(srv_req *r, int status, json_t *body) {
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(body);
    if (!s) {
        const char *m = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}";
        queue_buffer(r, 500, "application/json", m, strlen(m));
        return;
    }
    queue_buffer(r, status, "application/json", s, strlen(s));
    free(s);
}

/* The error object in the route's shape; type derived from the status
 * unless given. */
static json_t *error_json(srv_shape shape, int status, const char *type, const char *param,
                          const char *msg) {
    if (shape == SRV_SHAPE_ANTHROPIC) {
        if (!type) {
            switch (status) {
            case 401: type = "authentication_error"; break;
            case 403: type = "permission_error"; break;
            case 404: type = "not_found_error"; break;
            case 413: type = "request_too_large"; break;
            case 503: type = "overloaded_error"; break;
            default: type = status >= 500 ? "api_error" : "invalid_request_error";
            }
        }
        return json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type,
                         "message", msg);
    }
    const char *code = NULL;
    if (!type) {
        switch (status) {
        case 401: type = "authentication_error"; code = "invalid_api_key"; break;
        case 404: type = "not_found_error"; break;
        case 405: type = "invalid_request_error"; code = "method_not_allowed"; break;
        case 413: type = "invalid_request_error"; code = "request_too_large"; break;
        case 503: type = "unavailable_error"; code = "server_busy"; break;
        default: type = status >= 500 ? "server_error" : "invalid_request_error";
        }
    }
    json_t *e = json_pack("{s:s, s:s}", "message", msg, "type", type);
    json_object_set_new(e, "param", param ? json_string(param) : json_null());
    json_object_set_new(e, "code", code ? json_string(code) : json_null());
    return json_pack("{s:o}", "error", e);
}

void srv_reply_error(srv_req *r, int status, const char *type, const char *param,
                     const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_reply_json(r, status, error_json(r->shape, status, type, param, msg));
}

/* ------------------------------------------------------------- output */
void srv_out_append(srv_req *r, const char *data, size_t len) {
    if (r->out_len + len + 1 > r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap : 1024;
        while (cap < r->out_len + len + 1) cap *= 2;
        char *p = realloc(r->out, cap);
        if (!p) return;
        r->out = p;
        r->out_cap = cap;
    }
    memcpy(r->out + r->out_len, data, len);
    r->out_len += len;
    r->out[r->out_len] = 0;
}

void srv_out_raw(srv_req *r, const char *s) { srv_out_append(r, s, strlen(s)); }

void srv_out_sse(srv_req *r, const char *event, json_t *data) {
    char *s = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(data);
    if (!s) return;
    if (event) {
        srv_out_raw(r, "event: ");
        srv_out_raw(r, event);
        srv_out_raw(r, "\n");
    }
    srv_out_raw(r, "data: ");
    srv_out_raw(r, s);
    srv_out_raw(r, "\n\n");
    free(s);
}

/* Called by the scheduler thread for each event of each task. */
static void req_sink(srv_task *t, const srv_event *ev) {
    srv_req *r = t->user;
    bool release = false;
    pthread_mutex_lock(&r->mu);
    if (r->fmt.on_event) r->fmt.on_event(r, t, ev);
    if (ev->type == SRV_EV_DONE || ev->type == SRV_EV_ERROR) {
        r->n_done++;
        if (r->n_done == r->n_tasks) {
            if (r->fmt.finish) r->fmt.finish(r);
            r->all_done = true;
            r->ready = true;
            release = true;
        }
    }
    if (r->suspended && !r->conn_done &&
        (r->ready || (r->stream && r->out_pos < r->out_len))) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
    }
    pthread_mutex_unlock(&r->mu);
    if (release) req_unref(r);
}

/* Whether the client of a task has gone away (scheduler probe). A suspended
 * connection is not polled by libmicrohttpd, so peek at its socket. */
static bool task_gone(srv_task *t) {
    srv_req *r = t->user;
    bool gone = false;
    pthread_mutex_lock(&r->mu);
    if (r->conn_done) {
        gone = true;
    } else if (r->suspended && r->fd >= 0) {
        char c;
        ssize_t n = recv(r->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) gone = true;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) gone = true;
    }
    pthread_mutex_unlock(&r->mu);
    return gone;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    srv_req *r = cls;
    pthread_mutex_lock(&r->mu);
    if (r->out_pos < r->out_len) {
        size_t n = r->out_len - r->out_pos;
        if (n > max) n = max;
        memcpy(buf, r->out + r->out_pos, n);
        r->out_pos += n;
        if (r->out_pos == r->out_len) r->out_pos = r->out_len = 0;
        pthread_mutex_unlock(&r->mu);
        return (ssize_t)n;
    }
    if (r->all_done) {
        pthread_mutex_unlock(&r->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    MHD_suspend_connection(r->conn);
    r->suspended = true;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

void srv_reply_async(srv_req *r, srv_task **tasks, int n, bool stream, srv_fmt fmt) {
    srv_server *s = r->srv;
    r->fmt = fmt;
    r->tasks = malloc(sizeof *tasks * (size_t)n);
    if (!r->tasks) {
        for (int i = 0; i < n; i++) srv_task_free(tasks[i], s->eng);
        srv_reply_error(r, 500, NULL, NULL, "out of memory");
        return;
    }
    memcpy(r->tasks, tasks, sizeof *tasks * (size_t)n);
    r->n_tasks = n;
    r->stream = stream;
    for (int i = 0; i < n; i++) {
        tasks[i]->sink = req_sink;
        tasks[i]->user = r;
        tasks[i]->index = tasks[i]->index ? tasks[i]->index : i;
    }
    pthread_mutex_lock(&r->mu);
    r->refs++; /* the scheduler's */
    if (!srv_sched_submit(s->sched, r->tasks, n)) {
        r->refs--;
        pthread_mutex_unlock(&r->mu);
        srv_reply_error(r, 503, NULL, NULL,
                        "all %d slots are busy and the queue (%d) is full; retry later",
                        s->cfg.n_slots, s->cfg.queue_max);
        return;
    }
    r->handled = true;
    if (stream) {
        struct MHD_Response *resp =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, r, NULL);
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        add_common_headers(r, resp);
        MHD_queue_response(r->conn, 200, resp);
        MHD_destroy_response(resp);
    } else {
        MHD_suspend_connection(r->conn);
        r->suspended = true;
    }
    pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------- auth */
static bool key_equal(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < lb; i++) diff |= (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)b[i];
    return diff == 0;
}

static bool authorized(srv_req *r) {
    const char *key = r->srv->cfg.api_key;
    if (!key[0]) return true;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        h += 7;
        while (*h == ' ') h++;
        if (key_equal(h, key)) return true;
    }
    h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-api-key");
    return h && key_equal(h, key);
}

/* ---------------------------------------------------------- dispatch */
static void dispatch(srv_req *r) {
    srv_server *s = r->srv;
    if (r->too_large) {
        srv_reply_error(r, 413, NULL, NULL, "request body is larger than the limit of %zu bytes",
                        s->cfg.max_body);
        return;
    }
    const route *rt = NULL;
    bool path_known = false;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (strcmp(g_routes[i].path, r->url)) continue;
        path_known = true;
        if (!strcmp(g_routes[i].method, r->method)) { rt = &g_routes[i]; break; }
    }
    if (!strcmp(r->method, "OPTIONS") && path_known) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        add_common_headers(r, resp);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Content-Type, Authorization, x-api-key, anthropic-version, "
                                "anthropic-beta, openai-organization, openai-project");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
        MHD_queue_response(r->conn, 204, resp);
        MHD_destroy_response(resp);
        r->handled = true;
        return;
    }
    if (!path_known) {
        srv_reply_error(r, 404, NULL, NULL, "no route %s %s", r->method, r->url);
        return;
    }
    if (!rt) {
        srv_reply_error(r, 405, NULL, NULL, "method %s is not allowed on %s", r->method, r->url);
        return;
    }
    if (!rt->is_public && !authorized(r)) {
        srv_reply_error(r, 401, NULL, NULL, "missing or invalid API key");
        return;
    }
    if (rt->needs_model && atomic_load(&s->ready) != 1) {
        srv_reply_error(r, 503, NULL, NULL, "the model is %s",
                        atomic_load(&s->ready) < 0 ? "not available (loading failed)" : "loading");
        return;
    }
    json_t *body = NULL;
    if (rt->json_body) {
        json_error_t je;
        if (!r->body || r->body_len == 0) {
            srv_reply_error(r, 400, NULL, NULL, "request body is empty; expected a JSON object");
            return;
        }
        body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
        if (!body) {
            srv_reply_error(r, 400, NULL, NULL, "invalid JSON at line %d column %d: %s", je.line,
                            je.column, je.text);
            return;
        }
        if (!json_is_object(body)) {
            json_decref(body);
            srv_reply_error(r, 400, NULL, NULL, "request body must be a JSON object");
            return;
        }
    }
    r->json = body;
    rt->fn(r, body);
    r->json = NULL;
    json_decref(body);
    if (!r->handled) srv_reply_error(r, 500, NULL, NULL, "route produced no response");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
    (void)version;
    srv_server *s = cls;
    srv_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->refs = 1;
        r->fd = -1;
        r->t_start_ns = cllm_time_ns();
        pthread_mutex_init(&r->mu, NULL);
        snprintf(r->method, sizeof r->method, "%s", method);
        r->url = strdup(url);
        if (!r->url) { pthread_mutex_destroy(&r->mu); free(r); return MHD_NO; }
        r->shape = strncmp(url, "/v1/messages", 12) ? SRV_SHAPE_OPENAI : SRV_SHAPE_ANTHROPIC;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) r->fd = ci->connect_fd;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body) r->too_large = true;
        *con_cls = r;
        atomic_fetch_add(&s->n_http_requests, 1);
        if (r->too_large) {
            dispatch(r); /* 413 now; the body is discarded */
            return MHD_YES;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->handled) return MHD_YES;
        if (r->too_large || r->body_len + n > s->cfg.max_body) {
            r->too_large = true;
            free(r->body);
            r->body = NULL;
            r->body_len = r->body_cap = 0;
            dispatch(r);
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n + 1) cap *= 2;
            char *p = realloc(r->body, cap);
            if (!p) return MHD_NO;
            r->body = p;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = 0;
        return MHD_YES;
    }
    if (!r->handled) {
        dispatch(r);
        return MHD_YES;
    }
    /* Resumed after an asynchronous non-stream answer. */
    pthread_mutex_lock(&r->mu);
    bool send = r->ready && !r->stream && !r->sent;
    if (send) r->sent = true;
    pthread_mutex_unlock(&r->mu);
    if (send) {
        const char *b = r->resp_body ? r->resp_body : "{}";
        queue_buffer(r, r->status ? r->status : 200, "application/json", b, strlen(b));
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)conn;
    (void)toe;
    srv_server *s = cls;
    srv_req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    bool any = false;
    pthread_mutex_lock(&r->mu);
    r->conn_done = true;
    r->suspended = false;
    if (!r->all_done)
        for (int i = 0; i < r->n_tasks; i++) {
            atomic_store(&r->tasks[i]->cancelled, 1);
            any = true;
        }
    pthread_mutex_unlock(&r->mu);
    if (any && s->sched) srv_sched_kick(s->sched);
    req_unref(r);
}

/* ------------------------------------------------------------ server */
srv_server *srv_create(const srv_config *cfg, char *err, size_t errlen) {
    srv_server *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    s->cfg = *cfg;
    s->t_start_ns = cllm_time_ns();
    if (cfg->chat_template_file) {
        FILE *f = fopen(cfg->chat_template_file, "rb");
        if (!f) {
            snprintf(err, errlen, "cannot open chat template file '%s': %s", cfg->chat_template_file,
                     strerror(errno));
            free(s);
            return NULL;
        }
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap);
        size_t got;
        while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
            n += got;
            if (n + 1 >= cap) {
                char *p = realloc(buf, cap * 2);
                if (!p) { free(buf); buf = NULL; break; }
                buf = p;
                cap *= 2;
            }
        }
        fclose(f);
        if (!buf) { snprintf(err, errlen, "out of memory"); free(s); return NULL; }
        buf[n] = 0;
        s->template_src = buf;
    }
    return s;
}

bool srv_listen(srv_server *s, char *err, size_t errlen) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)s->cfg.port);
    if (inet_pton(AF_INET, s->cfg.host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "--host '%s' is not an IPv4 address", s->cfg.host);
        return false;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC;
    unsigned pool = (unsigned)(s->cfg.http_threads > 0 ? s->cfg.http_threads : 1);
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                              MHD_OPTION_THREAD_POOL_SIZE, pool,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg.timeout_s,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(err, errlen, "cannot listen on %s:%d (port in use or not permitted)",
                 s->cfg.host, s->cfg.port);
        return false;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->cfg.port;
    return true;
}

bool srv_attach_engine(srv_server *s, srv_engine *e, char *err, size_t errlen) {
    s->eng = e;
    s->chat = e->chat;
    if (!s->chat || s->template_src) {
        /* a fake engine, or --chat-template-file: formatting from what the engine tells */
        cllm_chat_config cc;
        memset(&cc, 0, sizeof cc);
        cc.template_source = e->template_text;
        cc.override_source = s->template_src;
        cc.bos_token = e->bos_text;
        cc.eos_token = e->eos_text;
        if (cllm_chat_init(&cc, &s->chat_own) != CLLM_OK) {
            /* the other routes still work; chat requests get this message */
            snprintf(s->chat_err, sizeof s->chat_err, "%s", cllm_last_error());
            cllm_log(CLLM_LOG_WARN, "serve: chat template: %s", s->chat_err);
        }
        s->chat = s->chat_own;
    }
    s->sched = srv_sched_start(e, s->cfg.n_slots, s->cfg.queue_max);
    if (!s->sched) {
        snprintf(err, errlen, "cannot start the scheduler");
        atomic_store(&s->ready, -1);
        return false;
    }
    srv_sched_set_probe(s->sched, task_gone);
    atomic_store(&s->ready, 1);
    return true;
}

void srv_destroy(srv_server *s) {
    if (!s) return;
    if (s->mhd) MHD_quiesce_daemon(s->mhd);
    /* Stop generation first so that every task gets its terminal event and
     * suspended connections are resumed, then stop HTTP. */
    if (s->sched) srv_sched_stop(s->sched);
    if (s->mhd) MHD_stop_daemon(s->mhd);
    srv_sched_free(s->sched);
    if (s->eng && s->eng->free) s->eng->free(s->eng);
    cllm_chat_free(s->chat_own);
    free(s->template_src);
    free(s);
}

int srv_port(const srv_server *s) { return s->port; }
