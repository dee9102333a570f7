/* test_server_unit.c: the HTTP layer and scheduler of `cllm serve` against a
 * deterministic fake engine (tests/server/mock_engine.c), so routing,
 * errors, streaming, prompt-cache reuse, continuous batching, the queue
 * limit and disconnects are checked without a model. Every generated text is
 * compared with the fake model's exact continuation, which depends on every
 * token of the sequence, so a wrongly reused or misplaced KV prefix shows. */
#include "server/server.h"
#include "server/util.h"
#include "testutil.h"

#include "server/mock_engine.c"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------- client */
typedef struct resp {
    long status;
    char *body;
    size_t len;
    int abort_after;          /* abort the transfer after this many bytes (0 never) */
} resp;

static size_t on_data(char *p, size_t sz, size_t n, void *u) {
    resp *r = u;
    size_t k = sz * n;
    char *q = realloc(r->body, r->len + k + 1);
    if (!q) return 0;
    r->body = q;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = 0;
    if (r->abort_after && r->len >= (size_t)r->abort_after) return 0;
    return k;
}

static int g_port;

static resp http(const char *method, const char *path, const char *body, const char *hdr, int port) {
    resp r = {0, NULL, 0, 0};
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port ? port : g_port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (hdr) h = curl_slist_append(h, hdr);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r.body) r.body = strdup("");
    return r;
}

static json_t *jparse(const resp *r) { return json_loads(r->body, 0, NULL); }

/* The fake model's continuation of prompt for n tokens (no EOS). */
static void expected(const char *prompt, int n, char *out) {
    int32_t seq[4096];
    int len = 0;
    for (const char *p = prompt; *p; p++) seq[len++] = (unsigned char)*p;
    for (int i = 0; i < n; i++) {
        uint32_t h = 2166136261u;
        for (int k = 0; k < len; k++) h = (h ^ (uint32_t)seq[k]) * 16777619u;
        int32_t t = 'a' + (int32_t)(h % 26);
        out[i] = (char)t;
        seq[len++] = t;
    }
    out[n] = 0;
}

/* The same with the server's context shift at a slot size of ctx tokens. */
static void expected_shift(const char *prompt, int n, int ctx, int n_keep, char *out) {
    static int32_t kv[8192];
    int len = 0;
    for (const char *p = prompt; *p; p++) kv[len++] = (unsigned char)*p;
    for (int i = 0; i < n; i++) {
        uint32_t h = 2166136261u;
        for (int k = 0; k < len; k++) h = (h ^ (uint32_t)kv[k]) * 16777619u;
        int32_t t = 'a' + (int32_t)(h % 26);
        out[i] = (char)t;
        if (i + 1 == n) break;
        if (len + 1 >= ctx) {
            int keep = n_keep < len / 2 ? n_keep : len / 2;
            int nd = (len - keep) / 2;
            memmove(kv + keep, kv + keep + nd, sizeof(int32_t) * (size_t)(len - keep - nd));
            len -= nd;
        }
        kv[len++] = t;
    }
    out[n] = 0;
}

static const char *choice_text(json_t *j) {
    return json_string_value(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "text"));
}

/* Concatenate the text deltas of an SSE completion stream. */
static void sse_text(const char *body, char *out, size_t cap, bool *done, json_t **usage) {
    size_t n = 0;
    *done = false;
    out[0] = 0;
    for (const char *p = strstr(body, "data: "); p; p = strstr(p + 1, "data: ")) {
        p += 6;
        if (!strncmp(p, "[DONE]", 6)) { *done = true; continue; }
        const char *e = strstr(p, "\n\n");
        if (!e) break;
        json_t *j = json_loadb(p, (size_t)(e - p), 0, NULL);
        json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
        const char *t = json_string_value(json_object_get(ch, "text"));
        if (!t) t = json_string_value(json_object_get(json_object_get(ch, "delta"), "content"));
        if (t && n + strlen(t) < cap) { strcpy(out + n, t); n += strlen(t); }
        if (usage && json_object_get(j, "usage") && !json_is_null(json_object_get(j, "usage")))
            *usage = json_incref(json_object_get(j, "usage"));
        json_decref(j);
    }
}

/* ------------------------------------------------------- parallel */
typedef struct job {
    char prompt[64];
    int n;
    bool stream;
    int abort_after;
    resp r;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    char body[256];
    snprintf(body, sizeof body, "{\"prompt\":\"%s\",\"max_tokens\":%d,\"temperature\":0,\"stream\":%s}", j->prompt,
             j->n, j->stream ? "true" : "false");
    resp r = {0, NULL, 0, j->abort_after};
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/completions", g_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
    if (!r.body) r.body = strdup("");
    j->r = r;
    return NULL;
}

static bool all_slots_idle(int tries) {
    for (int t = 0; t < tries; t++) {
        resp r = http("GET", "/slots", NULL, NULL, 0);
        json_t *j = jparse(&r);
        bool idle = json_is_array(j) && json_array_size(j) > 0;
        size_t i;
        json_t *s;
        json_array_foreach(j, i, s) idle &= json_is_false(json_object_get(s, "is_processing"));
        json_decref(j);
        free(r.body);
        if (idle) return true;
        usleep(20000);
    }
    return false;
}

static srv_server *start(srv_config *cfg, srv_engine *e) {
    char err[256];
    srv_server *s = srv_create(cfg, err, sizeof err);
    CHECK(s != NULL, "srv_create: %s", err);
    CHECK(srv_listen(s, err, sizeof err), "listen: %s", err);
    CHECK(srv_attach_engine(s, e, err, sizeof err), "attach: %s", err);
    return s;
}

/* ------------------------------------------------- output splitter */
typedef struct split_out { char content[512], reasoning[512]; int calls; } split_out;
static void split_cb(void *user, bool reasoning, const char *text, size_t len) {
    split_out *o = user;
    char *dst = reasoning ? o->reasoning : o->content;
    strncat(dst, text, len);
    o->calls++;
}
/* Feed text in pieces of `step` bytes; returns the number of tool calls. */
static int split_run_fmt(const char *text, bool tools, bool force, cllm_chat_format fmt, size_t step, split_out *o,
                         json_t **calls) {
    srv_split sp;
    memset(o, 0, sizeof *o);
    srv_split_init(&sp, tools, force, fmt, 0);
    for (size_t i = 0; i < strlen(text); i += step) {
        size_t n = strlen(text) - i < step ? strlen(text) - i : step;
        srv_split_feed(&sp, text + i, n, split_cb, o);
    }
    int n = srv_split_finish(&sp, split_cb, o);
    if (calls) *calls = json_incref(sp.tool_calls);
    srv_split_free(&sp);
    return n;
}
/* The server's format for a model without a template (ChatML: Hermes calls),
 * or GENERIC under the forced-call grammar. */
static int split_run(const char *text, bool tools, bool force, size_t step, split_out *o, json_t **calls) {
    return split_run_fmt(text, tools, force, force ? CLLM_CHAT_FORMAT_GENERIC : cllm_chat_detect_format(NULL), step, o,
                         calls);
}

static void test_splitter(void) {
    split_out o;
    json_t *calls = NULL;
    for (size_t step = 1; step <= 7; step += 3) {
        CHECK(split_run("<think>hmm</think>\n\nHello", false, false, step, &o, NULL) == 0 &&
                  !strcmp(o.reasoning, "hmm") && !strcmp(o.content, "Hello"),
              "think split (step %zu): '%s' / '%s'", step, o.reasoning, o.content);
        CHECK(split_run("Plain <thin text", false, false, step, &o, NULL) == 0 && !strcmp(o.content, "Plain <thin text"),
              "partial tag released: '%s'", o.content);
        int n = split_run("Sure.<tool_call>{\"name\":\"f\",\"arguments\":{\"x\":1}}</tool_call>", true, false, step, &o,
                          &calls);
        CHECK(n == 1 && !strcmp(o.content, "Sure.") &&
                  !strcmp(json_string_value(json_object_get(json_array_get(calls, 0), "name")), "f") &&
                  !strcmp(json_string_value(json_object_get(json_array_get(calls, 0), "arguments")), "{\"x\":1}"),
              "tool_call markup (step %zu): %d '%s'", step, n, o.content);
        json_decref(calls);
        n = split_run_fmt(" [{\"name\":\"a\",\"parameters\":{}},{\"name\":\"b\",\"arguments\":\"{}\"}]", true,
                          false, CLLM_CHAT_FORMAT_GENERIC, step, &o, &calls);
        CHECK(n == 2 && !o.content[0], "bare JSON array of calls: %d '%s'", n, o.content);
        json_decref(calls);
        n = split_run("{not json", true, false, step, &o, NULL);
        CHECK(n == 0 && !strcmp(o.content, "{not json"), "unparsable call text is content: '%s'", o.content);
        n = split_run("{\"a\":1}", false, false, step, &o, NULL);
        CHECK(n == 0 && !strcmp(o.content, "{\"a\":1}"), "no tools: JSON is content");
        n = split_run_fmt("[TOOL_CALLS][{\"name\":\"g\",\"arguments\":{}}]", true, false, CLLM_CHAT_FORMAT_MISTRAL,
                          step, &o, NULL);
        CHECK(n == 1, "[TOOL_CALLS] form: %d", n);
        n = split_run("{\"name\":\"g\",\"arguments\":{\"q\":\"\u00e9\"}}", false, true, step, &o, &calls);
        CHECK(n == 1 && strstr(json_string_value(json_object_get(json_array_get(calls, 0), "arguments")), "\u00e9") != NULL,
              "forced call object: %d", n);
        json_decref(calls);
    }
}

/* ------------------------------------- scripted Hermes reply (src/chat parser) */
/* The fake engine answers with a <think> block and a Hermes <tool_call>; the
 * chat route must return reasoning_content and tool_calls, not raw text. */
static const char k_script[] = "<think>plan it</think>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                               "{\"city\": \"Paris\"}}\n</tool_call>";
#define TOOLS_REQ                                                                                                  \
    "{\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],\"max_tokens\":300,\"tools\":[{\"type\":"        \
    "\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\",\"properties\":{"   \
    "\"city\":{\"type\":\"string\"}}}}}]"

static void check_call(json_t *name, json_t *args, const char *what) {
    CHECK(json_is_string(name) && !strcmp(json_string_value(name), "get_weather"), "%s: tool name", what);
    json_t *a = json_is_string(args) ? json_loads(json_string_value(args), 0, NULL) : NULL;
    CHECK(a && !strcmp(json_string_value(json_object_get(a, "city")) ? json_string_value(json_object_get(a, "city"))
                                                                         : "",
                       "Paris"),
          "%s: arguments %s", what, json_is_string(args) ? json_string_value(args) : "(none)");
    json_decref(a);
}

static void test_scripted_reply(void) {
    srv_config cfg;
    srv_config_defaults(&cfg);
    cfg.port = 0;
    cfg.n_slots = 1;
    cfg.model_path = "mock.gguf";
    srv_engine *e = mock_engine_new(1, 2048, 64, 0, 0);
    ((mock *)e->impl)->script = k_script;
    srv_server *s = start(&cfg, e);
    g_port = srv_port(s);

    resp r = http("POST", "/v1/chat/completions", TOOLS_REQ "}", NULL, 0);
    json_t *j = jparse(&r);
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    json_t *m = json_object_get(ch, "message");
    CHECK(r.status == 200 && m, "scripted chat: %ld %s", r.status, r.body);
    CHECK(!strcmp(json_string_value(json_object_get(m, "reasoning_content")) ? json_string_value(json_object_get(m, "reasoning_content")) : "", "plan it"),
          "non-stream reasoning_content: %s", r.body);
    json_t *tc = json_array_get(json_object_get(m, "tool_calls"), 0);
    CHECK(json_array_size(json_object_get(m, "tool_calls")) == 1, "non-stream one tool call: %s", r.body);
    check_call(json_object_get(json_object_get(tc, "function"), "name"),
               json_object_get(json_object_get(tc, "function"), "arguments"), "non-stream");
    CHECK(json_is_string(json_object_get(tc, "id")), "tool call id");
    const char *c = json_string_value(json_object_get(m, "content"));
    CHECK(!c || !strstr(c, "tool_call"), "no markup in content: %s", c ? c : "null");
    CHECK(!strcmp(json_string_value(json_object_get(ch, "finish_reason")) ? json_string_value(json_object_get(ch, "finish_reason")) : "", "tool_calls"),
          "finish_reason tool_calls");
    json_decref(j);
    free(r.body);

    /* streamed: concatenate reasoning/content deltas and tool-call pieces */
    r = http("POST", "/v1/chat/completions", TOOLS_REQ ",\"stream\":true}", NULL, 0);
    CHECK(r.status == 200, "scripted stream status %ld", r.status);
    char reasoning[256] = "", content[256] = "", args[256] = "", name[64] = "", finish[32] = "";
    bool done = false;
    for (char *line = r.body; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (!strcmp(line, "data: [DONE]")) done = true;
        else if (!strncmp(line, "data: ", 6)) {
            json_t *ev = json_loads(line + 6, 0, NULL);
            json_t *c0 = json_array_get(json_object_get(ev, "choices"), 0);
            json_t *d = json_object_get(c0, "delta");
            const char *v;
            if ((v = json_string_value(json_object_get(d, "reasoning_content"))))
                strncat(reasoning, v, sizeof reasoning - strlen(reasoning) - 1);
            if ((v = json_string_value(json_object_get(d, "content"))))
                strncat(content, v, sizeof content - strlen(content) - 1);
            size_t k;
            json_t *t;
            json_array_foreach(json_object_get(d, "tool_calls"), k, t) {
                json_t *f = json_object_get(t, "function");
                if ((v = json_string_value(json_object_get(f, "name")))) snprintf(name, sizeof name, "%s", v);
                if ((v = json_string_value(json_object_get(f, "arguments"))))
                    strncat(args, v, sizeof args - strlen(args) - 1);
            }
            if ((v = json_string_value(json_object_get(c0, "finish_reason")))) snprintf(finish, sizeof finish, "%s", v);
            json_decref(ev);
        }
        line = nl ? nl + 1 : NULL;
    }
    CHECK(done, "stream ends with [DONE]");
    CHECK(!strcmp(reasoning, "plan it"), "stream reasoning_content '%s'", reasoning);
    CHECK(!strstr(content, "tool_call") && !strstr(content, "think"), "stream content without markup '%s'", content);
    json_t *jn = json_string(name), *ja = json_string(args);
    check_call(jn, ja, "stream");
    json_decref(jn);
    json_decref(ja);
    CHECK(!strcmp(finish, "tool_calls"), "stream finish_reason '%s'", finish);
    free(r.body);

    /* Anthropic messages: a thinking block and a tool_use block */
    r = http("POST", "/v1/messages",
             "{\"model\":\"m\",\"max_tokens\":300,\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],"
             "\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\"}}]}",
             NULL, 0);
    j = jparse(&r);
    CHECK(r.status == 200 && !strcmp(json_string_value(json_object_get(j, "stop_reason")) ? json_string_value(json_object_get(j, "stop_reason")) : "", "tool_use"),
          "anthropic stop_reason tool_use: %ld %s", r.status, r.body);
    bool thinking = false, tool_use = false;
    size_t k;
    json_t *b;
    json_array_foreach(json_object_get(j, "content"), k, b) {
        const char *ty = json_string_value(json_object_get(b, "type"));
        if (ty && !strcmp(ty, "thinking")) thinking = true;
        if (ty && !strcmp(ty, "tool_use")) {
            tool_use = true;
            json_t *city = json_object_get(json_object_get(b, "input"), "city");
            CHECK(json_is_string(city) && !strcmp(json_string_value(city), "Paris"), "anthropic tool_use input");
        }
    }
    CHECK(thinking && tool_use, "anthropic blocks thinking=%d tool_use=%d: %s", thinking, tool_use, r.body);
    json_decref(j);
    free(r.body);
    srv_destroy(s);
}

int main(int argc, char **argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    srv_config cfg;
    if (argc >= 3 && !strcmp(argv[1], "--serve")) {
        /* Development aid: serve the fake engine until killed:
         * test_server_unit --serve PORT [API_KEY] */
        srv_config_defaults(&cfg);
        cfg.port = atoi(argv[2]);
        cfg.model_path = "mock.gguf";
        cfg.metrics = cfg.embeddings = true;
        cfg.n_ctx = 1024;
        if (argc >= 4) snprintf(cfg.api_key, sizeof cfg.api_key, "%s", argv[3]);
        srv_server *s = start(&cfg, mock_engine_new(4, 1024, 64, 1000, 200));
        printf("mock server on port %d\n", srv_port(s));
        fflush(stdout);
        for (;;) pause();
    }
    srv_config_defaults(&cfg);
    cfg.port = 0;
    cfg.n_slots = 4;
    cfg.queue_max = 64;
    cfg.metrics = true;
    cfg.embeddings = true;
    cfg.max_body = 4096;
    cfg.model_path = "mock.gguf";
    test_splitter();
    srv_server *s = start(&cfg, mock_engine_new(4, 2048, 64, 300, 0));
    g_port = srv_port(s);
    char want[512], got[4096];

    /* ops routes */
    resp r = http("GET", "/health", NULL, NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "\"ok\""), "health %ld %s", r.status, r.body);
    free(r.body);
    r = http("GET", "/v1/models", NULL, NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "mock-model"), "models %ld %s", r.status, r.body);
    free(r.body);
    r = http("GET", "/props", NULL, NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "\"total_slots\":4"), "props %ld %s", r.status, r.body);
    free(r.body);
    r = http("POST", "/tokenize", "{\"content\":\"ab\"}", NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "[97,98]"), "tokenize %ld %s", r.status, r.body);
    free(r.body);
    r = http("POST", "/detokenize", "{\"tokens\":[104,105]}", NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "\"hi\""), "detokenize %ld %s", r.status, r.body);
    free(r.body);
    r = http("POST", "/apply-template", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "<|im_start|>user\\nx<|im_end|>"), "apply-template %ld %s", r.status, r.body);
    free(r.body);
    r = http("GET", "/", NULL, NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "<title>cllm chat</title>"), "webui %ld", r.status);
    free(r.body);

    /* errors */
    r = http("POST", "/v1/completions", "{bad json", NULL, 0);
    CHECK(r.status == 400 && strstr(r.body, "invalid JSON"), "bad json %ld %s", r.status, r.body);
    free(r.body);
    r = http("GET", "/nope", NULL, NULL, 0);
    CHECK(r.status == 404 && strstr(r.body, "\"error\""), "404 %ld %s", r.status, r.body);
    free(r.body);
    r = http("GET", "/v1/completions", NULL, NULL, 0);
    CHECK(r.status == 405, "405 %ld %s", r.status, r.body);
    free(r.body);
    r = http("POST", "/v1/messages", "[]", NULL, 0);
    CHECK(r.status == 400 && strstr(r.body, "\"type\":\"error\""), "anthropic shape %ld %s", r.status, r.body);
    free(r.body);
    char big[6000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    r = http("POST", "/v1/completions", big, NULL, 0);
    CHECK(r.status == 413, "413 %ld %s", r.status, r.body);
    free(r.body);
    r = http("POST", "/v1/completions", "{\"prompt\":\"x\",\"temperature\":\"hot\"}", NULL, 0);
    CHECK(r.status == 400 && strstr(r.body, "temperature"), "field error %ld %s", r.status, r.body);
    free(r.body);
    r = http("POST", "/v1/completions", "{\"prompt\":\"x\",\"logit_bias\":{\"999\":1}}", NULL, 0);
    CHECK(r.status == 400 && strstr(r.body, "logit_bias"), "logit_bias %ld %s", r.status, r.body);
    free(r.body);
    /* prompt too long for a slot (2048/4 = 512 tokens) */
    char lng[800];
    snprintf(lng, sizeof lng, "{\"prompt\":\"%0600d\"}", 0);
    r = http("POST", "/v1/completions", lng, NULL, 0);
    CHECK(r.status == 400 && strstr(r.body, "shorten"), "overflow %ld %s", r.status, r.body);
    free(r.body);

    /* completion: exact text, usage, determinism, cache reuse */
    r = http("POST", "/v1/completions", "{\"prompt\":\"hello\",\"max_tokens\":7}", NULL, 0);
    json_t *j = jparse(&r);
    expected("hello", 7, want);
    CHECK(r.status == 200 && choice_text(j) && !strcmp(choice_text(j), want), "completion '%s' want '%s'",
          choice_text(j) ? choice_text(j) : r.body, want);
    json_t *u = json_object_get(j, "usage");
    CHECK(json_integer_value(json_object_get(u, "prompt_tokens")) == 5 &&
              json_integer_value(json_object_get(u, "completion_tokens")) == 7,
          "usage %s", r.body);
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "finish_reason")),
                  "length"), "finish length");
    json_decref(j);
    free(r.body);
    r = http("POST", "/v1/completions", "{\"prompt\":\"hello world\",\"max_tokens\":4}", NULL, 0);
    j = jparse(&r);
    expected("hello world", 4, want);
    CHECK(choice_text(j) && !strcmp(choice_text(j), want), "reuse text '%s' want '%s'", choice_text(j), want);
    CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(j, "usage"), "prompt_tokens_details"),
                                             "cached_tokens")) == 5,
          "cached tokens: %s", r.body);
    json_decref(j);
    free(r.body);

    /* max_tokens 0: the prompt is read, nothing generated; echo gives it back */
    r = http("POST", "/v1/completions", "{\"prompt\":\"zero\",\"max_tokens\":0,\"echo\":true}", NULL, 0);
    j = jparse(&r);
    CHECK(r.status == 200 && choice_text(j) && !strcmp(choice_text(j), "zero") &&
              json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens")) == 0,
          "max_tokens 0: %s", r.body);
    json_decref(j);
    free(r.body);

    /* echo + logprobs: the prompt tokens' log-probs (first one null) */
    r = http("POST", "/v1/completions", "{\"prompt\":\"abc\",\"max_tokens\":0,\"echo\":true,\"logprobs\":1}", NULL, 0);
    j = jparse(&r);
    {
        json_t *lpv = json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "logprobs"),
                                      "token_logprobs");
        double lse = log(exp(10.0) + exp(5.0) + 255.0);
        bool ok = json_array_size(lpv) == 3 && json_is_null(json_array_get(lpv, 0));
        for (size_t k = 1; k < json_array_size(lpv); k++) {
            double v = json_number_value(json_array_get(lpv, k));
            ok &= fabs(v - (10 - lse)) < 1e-4 || fabs(v - (5 - lse)) < 1e-4 || fabs(v + lse) < 1e-4;
        }
        CHECK(ok, "prompt logprobs: %s", r.body);
    }
    json_decref(j);
    free(r.body);

    /* stop string: cut before it, finish_reason stop */
    expected("abc", 10, want);
    char stop[4] = {want[4], want[5], 0};
    char body[256];
    snprintf(body, sizeof body, "{\"prompt\":\"abc\",\"max_tokens\":10,\"stop\":[\"%s\"]}", stop);
    r = http("POST", "/v1/completions", body, NULL, 0);
    j = jparse(&r);
    const char *first = strstr(want, stop);
    want[first - want] = 0;
    CHECK(choice_text(j) && !strcmp(choice_text(j), want), "stop text '%s' want '%s'", choice_text(j), want);
    json_decref(j);
    free(r.body);

    /* streaming equals non-streaming, [DONE], usage chunk */
    r = http("POST", "/v1/completions",
             "{\"prompt\":\"stream me\",\"max_tokens\":9,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
             NULL, 0);
    bool done;
    json_t *usage = NULL;
    sse_text(r.body, got, sizeof got, &done, &usage);
    expected("stream me", 9, want);
    CHECK(r.status == 200 && done && !strcmp(got, want), "stream '%s' want '%s' done %d", got, want, done);
    CHECK(usage && json_integer_value(json_object_get(usage, "completion_tokens")) == 9, "stream usage");
    json_decref(usage);
    free(r.body);

    /* chat (ChatML fallback), streamed and not */
    r = http("POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6}",
             NULL, 0);
    j = jparse(&r);
    expected("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", 6, want);
    const char *content = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content"));
    CHECK(r.status == 200 && content && !strcmp(content, want), "chat '%s' want '%s' (%s)", content, want, r.body);
    json_decref(j);
    free(r.body);
    r = http("POST", "/v1/chat/completions",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6,\"stream\":true}", NULL, 0);
    sse_text(r.body, got, sizeof got, &done, NULL);
    CHECK(done && !strcmp(got, want), "chat stream '%s' want '%s'", got, want);
    free(r.body);

    /* Anthropic messages and count_tokens, responses, embeddings */
    r = http("POST", "/v1/messages",
             "{\"max_tokens\":6,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}",
             NULL, 0);
    j = jparse(&r);
    const char *mt = json_string_value(json_object_get(json_array_get(json_object_get(j, "content"), 0), "text"));
    CHECK(r.status == 200 && mt && !strcmp(mt, want) &&
              !strcmp(json_string_value(json_object_get(j, "stop_reason")), "max_tokens"),
          "messages %s", r.body);
    json_decref(j);
    free(r.body);
    r = http("POST", "/v1/messages",
             "{\"max_tokens\":6,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 0);
    CHECK(strstr(r.body, "event: message_start") && strstr(r.body, "event: content_block_delta") &&
              strstr(r.body, "event: message_delta") && strstr(r.body, "event: message_stop"),
          "messages stream %s", r.body);
    free(r.body);
    r = http("POST", "/v1/messages/count_tokens", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "\"input_tokens\":52"), "count_tokens %ld %s", r.status, r.body);
    free(r.body);
    r = http("POST", "/v1/messages", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, 0);
    CHECK(r.status == 400 && strstr(r.body, "max_tokens"), "messages needs max_tokens %ld", r.status);
    free(r.body);
    r = http("POST", "/v1/responses", "{\"input\":\"hi\",\"max_output_tokens\":6}", NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "\"object\":\"response\"") && strstr(r.body, "output_text"),
          "responses %s", r.body);
    free(r.body);
    r = http("POST", "/v1/responses", "{\"input\":\"hi\",\"max_output_tokens\":6,\"stream\":true}", NULL, 0);
    CHECK(strstr(r.body, "event: response.created") && strstr(r.body, "event: response.output_text.delta") &&
              strstr(r.body, "event: response.completed"),
          "responses stream %s", r.body);
    free(r.body);
    r = http("POST", "/v1/embeddings", "{\"input\":[\"aa\",\"ab\"]}", NULL, 0);
    j = jparse(&r);
    json_t *e0 = json_object_get(json_array_get(json_object_get(j, "data"), 0), "embedding");
    json_t *e1 = json_object_get(json_array_get(json_object_get(j, "data"), 1), "embedding");
    CHECK(r.status == 200 && json_array_size(e0) == 8 && json_array_size(e1) == 8, "embeddings %s", r.body);
    /* "aa": 97 % 8 = 1 twice -> unit vector on index 1 */
    CHECK(fabs(json_real_value(json_array_get(e0, 1)) - 1.0) < 1e-6, "embedding value %s", r.body);
    json_decref(j);
    free(r.body);

    /* many concurrent requests with shared prefixes: every text exact */
    {
        enum { NJ = 24 };
        job jobs[NJ];
        pthread_t th[NJ];
        for (int i = 0; i < NJ; i++) {
            memset(&jobs[i], 0, sizeof jobs[i]);
            snprintf(jobs[i].prompt, sizeof jobs[i].prompt, "shared prefix %d", i % 5);
            if (i % 3 == 0) strcat(jobs[i].prompt, " and more");
            jobs[i].n = 5 + i % 7;
            jobs[i].stream = i % 2;
            pthread_create(&th[i], NULL, run_job, &jobs[i]);
        }
        int bad = 0;
        for (int i = 0; i < NJ; i++) {
            pthread_join(th[i], NULL);
            expected(jobs[i].prompt, jobs[i].n, want);
            if (jobs[i].stream) sse_text(jobs[i].r.body, got, sizeof got, &done, NULL);
            else {
                json_t *jj = json_loads(jobs[i].r.body, 0, NULL);
                snprintf(got, sizeof got, "%s", choice_text(jj) ? choice_text(jj) : "(none)");
                json_decref(jj);
            }
            if (jobs[i].r.status != 200 || strcmp(got, want)) {
                bad++;
                fprintf(stderr, "job %d: %ld '%s' want '%s' %s\n", i, jobs[i].r.status, got, want, jobs[i].r.body);
            }
            free(jobs[i].r.body);
        }
        CHECK(bad == 0, "%d of %d concurrent requests wrong", bad, NJ);
        CHECK(all_slots_idle(100), "slots idle after concurrent run");
    }

    /* no max_tokens: generate until the slot's context (2048 / 4) is full */
    r = http("POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"long\"}]}", NULL, 0);
    j = jparse(&r);
    json_int_t np = json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens"));
    json_int_t nc = json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens"));
    CHECK(r.status == 200 && np + nc == 512 &&
              !strcmp(json_string_value(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "finish_reason")),
                      "length"),
          "context-full stop: %lld + %lld", (long long)np, (long long)nc);
    json_decref(j);
    free(r.body);

    /* context shift: 1200 tokens through a 512-token slot */
    {
        static char big_want[2048];
        r = http("POST", "/v1/completions",
                 "{\"prompt\":\"shift me\",\"max_tokens\":1200,\"context_shift\":true,\"n_keep\":2}", NULL, 0);
        j = jparse(&r);
        expected_shift("shift me", 1200, 512, 2, big_want);
        const char *txt = choice_text(j);
        CHECK(r.status == 200 && txt && !strcmp(txt, big_want), "context shift text (%zu chars) %.80s",
              txt ? strlen(txt) : 0, r.body);
        CHECK(json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens")) == 8 &&
                  json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens")) == 1200,
              "context shift usage %s", r.body + (r.len > 300 ? r.len - 300 : 0));
        json_decref(j);
        free(r.body);
    }

    /* prefix reuse across slots: C copies the prefix held by busy slot B */
    {
        r = http("POST", "/v1/completions", "{\"prompt\":\"cross-slot prefix text\",\"max_tokens\":1}", NULL, 0);
        free(r.body);
        job jb;
        memset(&jb, 0, sizeof jb);
        snprintf(jb.prompt, sizeof jb.prompt, "cross-slot prefix text, B");
        jb.n = 300;
        jb.stream = true;
        pthread_t tb;
        pthread_create(&tb, NULL, run_job, &jb);
        usleep(30000);
        r = http("POST", "/v1/completions", "{\"prompt\":\"cross-slot prefix text, C\",\"max_tokens\":6}", NULL, 0);
        j = jparse(&r);
        expected("cross-slot prefix text, C", 6, want);
        json_int_t cached = json_integer_value(
            json_object_get(json_object_get(json_object_get(j, "usage"), "prompt_tokens_details"), "cached_tokens"));
        CHECK(choice_text(j) && !strcmp(choice_text(j), want), "cross-slot text '%s' want '%s'", choice_text(j), want);
        CHECK(cached == (json_int_t)strlen("cross-slot prefix text, "), "cross-slot cached %lld", (long long)cached);
        json_decref(j);
        free(r.body);
        pthread_join(tb, NULL);
        expected("cross-slot prefix text, B", 300, want);
        sse_text(jb.r.body, got, sizeof got, &done, NULL);
        CHECK(!strcmp(got, want), "slot B undisturbed by the copy");
        free(jb.r.body);
    }

    /* disconnect mid-stream frees the slot */
    {
        job jb;
        memset(&jb, 0, sizeof jb);
        snprintf(jb.prompt, sizeof jb.prompt, "long one");
        jb.n = 100000;
        jb.stream = true;
        jb.abort_after = 600;
        run_job(&jb);
        free(jb.r.body);
        CHECK(all_slots_idle(50), "slot freed after disconnect");
    }
    /* metrics */
    r = http("GET", "/metrics", NULL, NULL, 0);
    CHECK(r.status == 200 && strstr(r.body, "cllm:tokens_predicted_total") &&
              strstr(r.body, "cllm:requests_cancelled_total 1"),
          "metrics %s", r.body);
    free(r.body);
    srv_destroy(s);

    /* second server: 1 slot, queue 1, API key */
    srv_config_defaults(&cfg);
    cfg.port = 0;
    cfg.n_slots = 1;
    cfg.queue_max = 1;
    cfg.model_path = "mock.gguf";
    snprintf(cfg.api_key, sizeof cfg.api_key, "sekret");
    s = start(&cfg, mock_engine_new(1, 1024, 32, 2000, 0));
    g_port = srv_port(s);
    r = http("GET", "/v1/models", NULL, NULL, 0);
    CHECK(r.status == 401 && strstr(r.body, "invalid_api_key"), "401 %ld %s", r.status, r.body);
    free(r.body);
    r = http("GET", "/v1/models", NULL, "Authorization: Bearer sekreT", 0);
    CHECK(r.status == 401, "401 wrong key %ld", r.status);
    free(r.body);
    r = http("GET", "/v1/models", NULL, "Authorization: Bearer sekret", 0);
    CHECK(r.status == 200, "key ok %ld", r.status);
    free(r.body);
    r = http("GET", "/health", NULL, NULL, 0);
    CHECK(r.status == 200, "health without key %ld", r.status);
    free(r.body);
    r = http("POST", "/v1/messages", "{}", "x-api-key: nope", 0);
    CHECK(r.status == 401 && strstr(r.body, "authentication_error"), "anthropic 401 %s", r.body);
    free(r.body);
    srv_destroy(s);

    srv_config_defaults(&cfg);
    cfg.port = 0;
    cfg.n_slots = 1;
    cfg.queue_max = 1;
    cfg.model_path = "mock.gguf";
    s = start(&cfg, mock_engine_new(1, 1024, 32, 3000, 0));
    g_port = srv_port(s);
    {
        job jobs[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            memset(&jobs[i], 0, sizeof jobs[i]);
            snprintf(jobs[i].prompt, sizeof jobs[i].prompt, "q%d", i);
            jobs[i].n = 60;
            pthread_create(&th[i], NULL, run_job, &jobs[i]);
            usleep(30000);
        }
        int ok = 0, busy = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            ok += jobs[i].r.status == 200;
            busy += jobs[i].r.status == 503;
            free(jobs[i].r.body);
        }
        CHECK(ok == 2 && busy == 2, "queue: %d ok, %d busy (want 2 and 2)", ok, busy);
    }
    srv_destroy(s);
    test_scripted_reply();
    curl_global_cleanup();
    return test_finish();
}
