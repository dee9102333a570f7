/* test_chat_toolcall.c: the tool-call / reasoning parser per model family
 * on realistic outputs. Each case is parsed whole, then streamed split at
 * every byte boundary (two chunks) and byte by byte; the message rebuilt
 * from the deltas must equal the whole-text message, which must equal the
 * expected content, reasoning and calls. Deltas must never contain a partial
 * marker. */
#include "chat/chat.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct tcase {
    const char *name;
    cllm_chat_format fmt;
    uint32_t flags;
    const char *text;
    const char *content;     /* expected; NULL = null content */
    const char *reasoning;   /* expected; NULL = none */
    int ncalls;
    const char *call_name[3];
    const char *call_args[3];
    const char *call_id0;    /* expected id of call 0 when the model gave one */
} tcase;

#define T CLLM_CHAT_PARSE_TOOLS
#define DSB "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define DSE "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>"
#define DCB "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define DCE "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>"
#define DSEP "<\xef\xbd\x9ctool\xe2\x96\x81" "sep\xef\xbd\x9c>"

static const tcase CASES[] = {
    {"hermes one call", CLLM_CHAT_FORMAT_HERMES, T,
     "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
     NULL, NULL, 1, {"get_weather"}, {"{\"location\": \"Paris\", \"unit\": \"celsius\"}"}, NULL},
    {"qwen3 think + text + two calls", CLLM_CHAT_FORMAT_HERMES, T,
     "<think>\nThe user wants the weather and the time.\n</think>\n\nLet me check both.\n<tool_call>\n"
     "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>\n<tool_call>\n"
     "{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>",
     "Let me check both.", "The user wants the weather and the time.", 2, {"get_weather", "get_time"},
     {"{\"location\": \"Paris\"}", "{}"}, NULL},
    {"hermes arguments as a string", CLLM_CHAT_FORMAT_HERMES, T,
     "<tool_call>{\"arguments\": \"{\\\"q\\\": 1}\", \"name\": \"search\"}</tool_call>", NULL, NULL, 1, {"search"},
     {"{\"q\": 1}"}, NULL},
    {"qwen3-coder xml", CLLM_CHAT_FORMAT_HERMES, T,
     "I'll look it up.\n<tool_call>\n<function=get_weather>\n<parameter=location>\nParis, France\n</parameter>\n"
     "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
     "I'll look it up.", NULL, 1, {"get_weather"}, {"{\"location\": \"Paris, France\", \"days\": 3}"}, NULL},
    {"glm arg_key", CLLM_CHAT_FORMAT_HERMES, T,
     "<tool_call>get_weather\n<arg_key>location</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>", NULL, NULL, 1,
     {"get_weather"}, {"{\"location\": \"Paris\"}"}, NULL},
    {"hermes plain text with angle brackets", CLLM_CHAT_FORMAT_HERMES, T,
     "Use a < b, <tool> tags and <tool_cal without closing.", "Use a < b, <tool> tags and <tool_cal without closing.",
     NULL, 0, {NULL}, {NULL}, NULL},
    {"hermes unicode", CLLM_CHAT_FORMAT_HERMES, T,
     "Caf\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87<tool_call>{\"name\": \"t\", \"arguments\": {\"s\": \"\xe2\x9c\x93\"}}</tool_call>",
     "Caf\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87", NULL, 1, {"t"}, {"{\"s\": \"\xe2\x9c\x93\"}"}, NULL},
    {"tools not offered: markup stays text", CLLM_CHAT_FORMAT_HERMES, 0,
     "<tool_call>{\"name\": \"x\"}</tool_call>", "<tool_call>{\"name\": \"x\"}</tool_call>", NULL, 0, {NULL}, {NULL}, NULL},
    {"truncated call keeps what was streamed", CLLM_CHAT_FORMAT_HERMES, T,
     "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, 2", NULL, NULL, 1, {"f"}, {"{\"a\": [1, 2"}, NULL},
    {"llama3 json", CLLM_CHAT_FORMAT_LLAMA3, T,
     "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}", NULL, NULL, 1, {"get_weather"},
     {"{\"location\": \"Paris\"}"}, NULL},
    {"llama3 python_tag builtin", CLLM_CHAT_FORMAT_LLAMA3, T,
     "<|python_tag|>brave_search.call(query=\"weather in Paris\", count=3)", NULL, NULL, 1, {"brave_search"},
     {"{\"query\":\"weather in Paris\",\"count\":3}"}, NULL},
    {"llama3 python_tag code", CLLM_CHAT_FORMAT_LLAMA3, T, "<|python_tag|>print(6 * 7)", NULL, NULL, 1, {"python"},
     {"{\"code\":\"print(6 * 7)\"}"}, NULL},
    {"llama3 plain content", CLLM_CHAT_FORMAT_LLAMA3, T, "The weather in Paris is {sunny}.",
     "The weather in Paris is {sunny}.", NULL, 0, {NULL}, {NULL}, NULL},
    {"llama3 json that is not a call", CLLM_CHAT_FORMAT_LLAMA3, T, "{\"answer\": 42}", "{\"answer\": 42}", NULL, 0,
     {NULL}, {NULL}, NULL},
    {"mistral nemo array with id", CLLM_CHAT_FORMAT_MISTRAL, T,
     "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}, \"id\": \"abc123def\"}, "
     "{\"name\": \"get_time\", \"arguments\": {\"tz\": \"CET\"}, \"id\": \"xyz987uvw\"}]",
     NULL, NULL, 2, {"get_weather", "get_time"}, {"{\"location\": \"Paris\"}", "{\"tz\": \"CET\"}"}, "abc123def"},
    {"mistral small 3.2", CLLM_CHAT_FORMAT_MISTRAL, T,
     "Sure.[TOOL_CALLS]get_weather[ARGS]{\"location\": \"Paris\"}[TOOL_CALLS]get_time[ARGS]{}", "Sure.", NULL, 2,
     {"get_weather", "get_time"}, {"{\"location\": \"Paris\"}", "{}"}, NULL},
    {"ministral think", CLLM_CHAT_FORMAT_MISTRAL, T, "[THINK]Need to greet.[/THINK]Hello! How can I help?",
     "Hello! How can I help?", "Need to greet.", 0, {NULL}, {NULL}, NULL},
    {"deepseek r1 (prompt opened <think>)", CLLM_CHAT_FORMAT_DEEPSEEK, T | CLLM_CHAT_PARSE_THINKING_OPEN,
     "The user wants weather.\n</think>\n\n" DSB DCB "function" DSEP "get_weather\n```json\n{\"location\": \"Paris\"}\n```" DCE DSE,
     NULL, "The user wants weather.", 1, {"get_weather"}, {"{\"location\": \"Paris\"}"}, NULL},
    {"deepseek v3.1", CLLM_CHAT_FORMAT_DEEPSEEK, T,
     "Checking." DSB DCB "get_weather" DSEP "{\"location\": \"Paris\"}" DCE DCB "get_time" DSEP "{}" DCE DSE,
     "Checking.", NULL, 2, {"get_weather", "get_time"}, {"{\"location\": \"Paris\"}", "{}"}, NULL},
    {"deepseek plain answer", CLLM_CHAT_FORMAT_DEEPSEEK, T | CLLM_CHAT_PARSE_THINKING_OPEN,
     "Simple.\n</think>\n\nThe answer is 4.", "The answer is 4.", "Simple.", 0, {NULL}, {NULL}, NULL},
    {"functionary v3.1", CLLM_CHAT_FORMAT_FUNCTIONARY_V3_1, T,
     "<function=get_weather>{\"location\": \"Paris\"}</function>", NULL, NULL, 1, {"get_weather"},
     {"{\"location\": \"Paris\"}"}, NULL},
    {"functionary v3.2", CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2, T,
     "all\nLet me look that up.>>>get_weather\n{\"location\": \"Paris\"}", "Let me look that up.", NULL, 1,
     {"get_weather"}, {"{\"location\": \"Paris\"}"}, NULL},
    {"functionary v3.2 text only", CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2, T, "all\nHello >> there", "Hello >> there",
     NULL, 0, {NULL}, {NULL}, NULL},
    {"harmony tool call", CLLM_CHAT_FORMAT_HARMONY, T,
     "<|channel|>analysis<|message|>User asks for weather. Use the tool.<|end|><|start|>assistant<|channel|>commentary "
     "to=functions.get_weather <|constrain|>json<|message|>{\"location\":\"Paris\"}<|call|>",
     NULL, "User asks for weather. Use the tool.", 1, {"get_weather"}, {"{\"location\":\"Paris\"}"}, NULL},
    {"harmony final", CLLM_CHAT_FORMAT_HARMONY, 0,
     "<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final<|message|>Hello there!<|return|>",
     "Hello there!", "Greet back.", 0, {NULL}, {NULL}, NULL},
    {"harmony recipient in the start header", CLLM_CHAT_FORMAT_HARMONY, T,
     "<|start|>assistant to=functions.lookup<|channel|>commentary json<|message|>{\"id\": 7}<|call|>", NULL, NULL, 1,
     {"lookup"}, {"{\"id\": 7}"}, NULL},
    {"generic tool_call", CLLM_CHAT_FORMAT_GENERIC, T,
     "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}}", NULL, NULL, 1,
     {"get_weather"}, {"{\"location\":\"Paris\"}"}, NULL},
    {"generic tool_calls", CLLM_CHAT_FORMAT_GENERIC, T,
     "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"x\": 1}}]}", NULL,
     NULL, 2, {"a", "b"}, {"{}", "{\"x\":1}"}, NULL},
    {"generic response", CLLM_CHAT_FORMAT_GENERIC, T, "{\"response\": \"Hi there\"}", "Hi there", NULL, 0, {NULL},
     {NULL}, NULL},
    {"generic text", CLLM_CHAT_FORMAT_GENERIC, T, "  Just text.  ", "Just text.", NULL, 0, {NULL}, {NULL}, NULL},
    {"think only, unclosed", CLLM_CHAT_FORMAT_HERMES, T, "<think>Still thinking about", "", "Still thinking about", 0,
     {NULL}, {NULL}, NULL},
    {"kimi k2", CLLM_CHAT_FORMAT_KIMI_K2, T,
     "<think>Need the tool.</think>Checking.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
     "<|tool_call_argument_begin|>{\"location\": \"Paris, France\"}<|tool_call_end|><|tool_call_begin|>functions.get_time:1"
     "<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>",
     "Checking.", "Need the tool.", 2, {"get_weather", "get_time"}, {"{\"location\": \"Paris, France\"}", "{}"},
     "functions.get_weather:0"},
    {"apriel tool_calls array", CLLM_CHAT_FORMAT_HERMES, T,
     "<tool_calls>[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}, \"id\": \"call00001\"}]</tool_calls>",
     NULL, NULL, 1, {"get_weather"}, {"{\"location\": \"Paris\"}"}, "call00001"},
    {"seed-oss", CLLM_CHAT_FORMAT_HERMES, T,
     "<seed:think>Plan the call.</seed:think><seed:tool_call>\n<function=get_weather>\n<parameter=location>Paris, France"
     "</parameter>\n</function>\n</seed:tool_call>",
     NULL, "Plan the call.", 1, {"get_weather"}, {"{\"location\": \"Paris, France\"}"}, NULL},
    {"minimax", CLLM_CHAT_FORMAT_HERMES, T,
     "<think>x</think>\n\n<minimax:tool_call>\n<invoke name=\"get_weather\">\n<parameter name=\"location\">Paris, France"
     "</parameter>\n<parameter name=\"days\">2</parameter>\n</invoke>\n</minimax:tool_call>",
     NULL, "x", 1, {"get_weather"}, {"{\"location\": \"Paris, France\", \"days\": 2}"}, NULL},
    {"lfm2 pythonic", CLLM_CHAT_FORMAT_HERMES, T,
     "<|tool_call_start|>[get_weather(location=\"Paris\", days=2, detail=True, tags=['a', \"b\"]), get_time()]<|tool_call_end|>Checking.",
     "Checking.", NULL, 2, {"get_weather", "get_time"},
     {"{\"location\":\"Paris\",\"days\":2,\"detail\":true,\"tags\":[\"a\",\"b\"]}", "{}"}, NULL},
    {"invalid utf-8 replaced", CLLM_CHAT_FORMAT_CONTENT_ONLY, 0, "ok \xff\xc3 end", "ok \xef\xbf\xbd\xef\xbf\xbd end",
     NULL, 0, {NULL}, {NULL}, NULL},
};

/* Rebuild a message from deltas. */
typedef struct acc {
    char content[4096], reasoning[4096];
    int ncalls;
    char name[4][128], args[4][1024], id[4][64];
    bool bad;
} acc;

static void cat(char *dst, size_t cap, const char *s) {
    size_t n = strlen(dst);
    snprintf(dst + n, cap - n, "%s", s);
}

static void apply_delta(acc *a, const char *js) {
    if (!js) return;
    json_error_t je;
    json_t *d = json_loads(js, 0, &je);
    if (!d) { a->bad = true; return; }
    json_t *c = json_object_get(d, "content"), *r = json_object_get(d, "reasoning_content");
    if (c) cat(a->content, sizeof a->content, json_string_value(c));
    if (r) cat(a->reasoning, sizeof a->reasoning, json_string_value(r));
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(d, "tool_calls"), i, tc) {
        int idx = (int)json_integer_value(json_object_get(tc, "index"));
        if (idx < 0 || idx > 3) { a->bad = true; continue; }
        if (idx >= a->ncalls) {
            if (idx != a->ncalls || !json_object_get(tc, "id")) a->bad = true;   /* calls appear in order with a header */
            a->ncalls = idx + 1;
            snprintf(a->id[idx], sizeof a->id[idx], "%s", json_string_value(json_object_get(tc, "id")));
            snprintf(a->name[idx], sizeof a->name[idx], "%s",
                     json_string_value(json_object_get(json_object_get(tc, "function"), "name")));
        }
        cat(a->args[idx], sizeof a->args[idx], json_string_value(json_object_get(json_object_get(tc, "function"), "arguments")));
    }
    json_decref(d);
}

/* Compare an accumulated message with the whole-text message object. */
static bool same(const acc *a, json_t *m, char *why, size_t whyn) {
    json_t *c = json_object_get(m, "content");
    const char *cs = json_is_string(c) ? json_string_value(c) : "";
    if (strcmp(a->content, cs) != 0) { snprintf(why, whyn, "content '%.200s' vs '%.200s'", a->content, cs); return false; }
    json_t *r = json_object_get(m, "reasoning_content");
    const char *rs = r ? json_string_value(r) : "";
    if (strcmp(a->reasoning, rs) != 0) { snprintf(why, whyn, "reasoning '%.200s' vs '%.200s'", a->reasoning, rs); return false; }
    json_t *calls = json_object_get(m, "tool_calls");
    if ((size_t)a->ncalls != json_array_size(calls)) { snprintf(why, whyn, "%d calls vs %zu", a->ncalls, json_array_size(calls)); return false; }
    for (int i = 0; i < a->ncalls; i++) {
        json_t *tc = json_array_get(calls, (size_t)i);
        json_t *fn = json_object_get(tc, "function");
        if (strcmp(a->name[i], json_string_value(json_object_get(fn, "name"))) ||
            strcmp(a->args[i], json_string_value(json_object_get(fn, "arguments"))) ||
            strcmp(a->id[i], json_string_value(json_object_get(tc, "id")))) {
            snprintf(why, whyn, "call %d: %.100s(%.200s) id %.60s", i, a->name[i], a->args[i], a->id[i]);
            return false;
        }
    }
    if (a->bad) { snprintf(why, whyn, "malformed delta, or streamed text that is not a prefix of the final"); return false; }
    return true;
}

static json_t *parse_whole(const tcase *tc) {
    cllm_chat_parser *p = NULL;
    if (cllm_chat_parser_init(tc->fmt, tc->flags, "req-1", &p) != CLLM_OK) return NULL;
    cllm_chat_parser_feed(p, tc->text, strlen(tc->text), NULL);
    cllm_chat_parser_finish(p, NULL);
    json_t *m = cllm_chat_parser_message_json(p);
    cllm_chat_parser_free(p);
    return m;
}

static bool stream(const tcase *tc, const size_t *cuts, size_t ncuts, json_t *whole, char *why, size_t whyn) {
    cllm_chat_parser *p = NULL;
    if (cllm_chat_parser_init(tc->fmt, tc->flags, "req-1", &p) != CLLM_OK) return false;
    acc *a = calloc(1, sizeof *a);
    size_t n = strlen(tc->text), prev = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : n;
        char *d = NULL;
        if (cllm_chat_parser_feed(p, tc->text + prev, to - prev, &d) != CLLM_OK) a->bad = true;
        apply_delta(a, d);
        free(d);
        prev = to;
        /* what was streamed so far is a prefix of the final message: no
         * partial marker or other text was emitted and later retracted */
        json_t *wc = json_object_get(whole, "content"), *wr = json_object_get(whole, "reasoning_content");
        const char *wcs = json_is_string(wc) ? json_string_value(wc) : "", *wrs = wr ? json_string_value(wr) : "";
        if (strncmp(a->content, wcs, strlen(a->content)) != 0 || strncmp(a->reasoning, wrs, strlen(a->reasoning)) != 0)
            a->bad = true;
    }
    char *d = NULL;
    cllm_chat_parser_finish(p, &d);
    apply_delta(a, d);
    free(d);
    bool ok = same(a, whole, why, whyn);
    free(a);
    cllm_chat_parser_free(p);
    return ok;
}

int main(void) {
    size_t ncase = sizeof CASES / sizeof CASES[0];
    for (size_t ci = 0; ci < ncase; ci++) {
        const tcase *tc = &CASES[ci];
        json_t *m = parse_whole(tc);
        CHECK(m != NULL, "%s: parse", tc->name);
        if (!m) continue;
        /* expected values */
        json_t *c = json_object_get(m, "content");
        if (tc->content) CHECK(json_is_string(c) && strcmp(json_string_value(c), tc->content) == 0, "%s: content '%s'",
                               tc->name, json_is_string(c) ? json_string_value(c) : "(null)");
        else CHECK(json_is_null(c), "%s: content should be null, got '%s'", tc->name, json_string_value(c));
        json_t *r = json_object_get(m, "reasoning_content");
        if (tc->reasoning) CHECK(r && strcmp(json_string_value(r), tc->reasoning) == 0, "%s: reasoning '%s'", tc->name,
                                 r ? json_string_value(r) : "(none)");
        else CHECK(!r, "%s: unexpected reasoning '%s'", tc->name, json_string_value(r));
        json_t *calls = json_object_get(m, "tool_calls");
        CHECK((int)json_array_size(calls) == tc->ncalls, "%s: %zu calls, want %d", tc->name, json_array_size(calls), tc->ncalls);
        for (int k = 0; k < tc->ncalls && k < (int)json_array_size(calls); k++) {
            json_t *call = json_array_get(calls, (size_t)k);
            json_t *fn = json_object_get(call, "function");
            CHECK(strcmp(json_string_value(json_object_get(call, "type")), "function") == 0, "%s: type", tc->name);
            CHECK(strcmp(json_string_value(json_object_get(fn, "name")), tc->call_name[k]) == 0, "%s: name %s", tc->name,
                  json_string_value(json_object_get(fn, "name")));
            CHECK(strcmp(json_string_value(json_object_get(fn, "arguments")), tc->call_args[k]) == 0, "%s: args %s",
                  tc->name, json_string_value(json_object_get(fn, "arguments")));
            const char *id = json_string_value(json_object_get(call, "id"));
            if (tc->call_id0) {
                if (k == 0) CHECK(id && strcmp(id, tc->call_id0) == 0, "%s: id %s", tc->name, id);
            } else CHECK(id && strncmp(id, "call_", 5) == 0 && strlen(id) > 8, "%s: generated id %s", tc->name, id);
        }
        /* streaming at every split point, and byte by byte */
        size_t n = strlen(tc->text);
        int bad_splits = 0;
        char why[1024] = "";
        for (size_t cut = 0; cut <= n; cut++) {
            char w[512];
            if (!stream(tc, &cut, 1, m, w, sizeof w)) {
                if (!bad_splits) snprintf(why, sizeof why, "split at %zu: %s", cut, w);
                bad_splits++;
            }
        }
        CHECK(bad_splits == 0, "%s: %d split points differ (%s)", tc->name, bad_splits, why);
        size_t *cuts = malloc(n * sizeof *cuts);
        for (size_t k = 0; k < n; k++) cuts[k] = k;
        char w[512] = "";
        CHECK(stream(tc, cuts, n, m, w, sizeof w), "%s: byte-by-byte stream differs: %s", tc->name, w);
        free(cuts);
        json_decref(m);
    }
    printf("%zu parser cases, each streamed at every byte boundary\n", ncase);

    /* API behaviour */
    cllm_chat_parser *p = NULL;
    CHECK(cllm_chat_parser_init((cllm_chat_format)99, 0, NULL, &p) == CLLM_ERR_INVALID_ARG, "bad format refused");
    CHECK(cllm_chat_parser_init(CLLM_CHAT_FORMAT_HERMES, T, NULL, &p) == CLLM_OK, "init");
    char *d = NULL, *msg = NULL;
    CHECK(cllm_chat_parser_feed(p, "<tool_", 6, &d) == CLLM_OK && d == NULL, "partial marker held back");
    CHECK(cllm_chat_parser_feed(p, "x", 1, &d) == CLLM_OK && d && strcmp(d, "{\"content\":\"<tool_x\"}") == 0, "released: %s", d ? d : "");
    free(d);
    CHECK(cllm_chat_parser_finish(p, &d) == CLLM_OK && d == NULL, "nothing left");
    CHECK(cllm_chat_parser_feed(p, "y", 1, &d) == CLLM_ERR_INVALID_ARG, "feed after finish refused");
    CHECK(cllm_chat_parser_message(p, &msg) == CLLM_OK && strcmp(msg, "{\"role\":\"assistant\",\"content\":\"<tool_x\"}") == 0,
          "message %s", msg ? msg : "");
    free(msg);
    cllm_chat_parser_free(p);
    cllm_chat_parser_free(NULL);
    return test_finish();
}
