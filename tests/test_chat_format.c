/* test_chat_format.c: chat formatting. OpenAI-shaped requests (tool-call
 * arguments as JSON strings, null content) built from every golden
 * conversation must render exactly the golden text; template choice (named
 * variants, override, ChatML fallback), BOS detection, open-think detection,
 * raise_exception reporting, format detection on the real templates, and
 * construction from GGUF metadata (a real vocab file and written files). */
#include "chat/chat.h"
#include "gguf/gguf_writer.h"
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *read_tmpl(const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "templates/%s", name);
    return test_read_file(test_shared_path(rel), NULL);
}

/* Golden context -> OpenAI request: arguments as strings, "" content of
 * tool-call turns as null. */
static json_t *to_request(const json_t *ctx) {
    json_t *rq = json_deep_copy(ctx);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(rq, "messages"), i, m) {
        json_t *calls = json_object_get(m, "tool_calls");
        if (!json_is_array(calls)) continue;
        if (json_is_string(json_object_get(m, "content")) && !json_string_length(json_object_get(m, "content")))
            json_object_set_new(m, "content", json_null());
        size_t k;
        json_t *tc;
        json_array_foreach(calls, k, tc) {
            json_t *fn = json_object_get(tc, "function");
            json_t *args = json_object_get(fn, "arguments");
            if (json_is_object(args)) {
                char *s = json_dumps(args, JSON_COMPACT);
                json_object_set_new(fn, "arguments", json_string(s));
                free(s);
            }
        }
    }
    return rq;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void golden_requests(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_shared_path("templates/golden"));
    DIR *d = opendir(dir);
    CHECK(d != NULL, "open %s", dir);
    if (!d) return;
    char *names[1024];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024)
        if (strstr(e->d_name, ".json")) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int ok = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8300];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        json_t *root = json_load_file(path, 0, NULL);
        const char *expected = json_string_value(json_object_get(root, "expected"));
        if (!expected) { json_decref(root); continue; }   /* error cases are covered by test_jinja_golden */
        total++;
        char *src = read_tmpl(json_string_value(json_object_get(root, "template")));
        const json_t *ctx = json_object_get(root, "context");
        cllm_chat_config cfg = {0};
        cfg.template_source = src;
        cfg.bos_token = json_string_value(json_object_get(ctx, "bos_token"));
        cfg.eos_token = json_string_value(json_object_get(ctx, "eos_token"));
        cfg.template_flags = CLLM_CHAT_TEMPLATE_FIXED_CLOCK | CLLM_CHAT_TEMPLATE_NO_TOOL_EMULATION;
        cllm_chat *c = NULL;
        cllm_chat_result r;
        memset(&r, 0, sizeof r);
        json_t *rq = to_request(ctx);
        /* bos/eos come from the config, not the request */
        json_object_del(rq, "bos_token");
        json_object_del(rq, "eos_token");
        json_object_del(rq, "functions");   /* firefunction's extras are derived from tools */
        json_object_del(rq, "datetime");
        bool pass = cllm_chat_init(&cfg, &c) == CLLM_OK && cllm_chat_apply_json(c, rq, &r) == CLLM_OK &&
                    strcmp(r.prompt, expected) == 0;
        if (!pass) fprintf(stderr, "chat request differs: %s (%s)\n", names[i], c ? cllm_chat_last_error(c) : cllm_last_error());
        CHECK(pass, "%s", names[i]);
        if (pass) {
            /* BOS flag: set exactly when the text starts with a non-empty bos_token */
            bool want = cfg.bos_token && cfg.bos_token[0] && strncmp(expected, cfg.bos_token, strlen(cfg.bos_token)) == 0;
            CHECK(r.starts_with_bos == want, "%s: starts_with_bos %d", names[i], r.starts_with_bos);
        }
        ok += pass;
        cllm_chat_result_clear(&r);
        cllm_chat_free(c);
        json_decref(rq);
        free(src);
        json_decref(root);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    printf("golden conversations as OpenAI requests: %d/%d render exactly\n", ok, total);
}

static void detection(void) {
    static const struct { const char *file; cllm_chat_format f; } D[] = {
        {"Qwen-Qwen2.5-7B-Instruct.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"Qwen-Qwen3-0.6B.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"Qwen3-Coder.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"meta-llama-Llama-3.1-8B-Instruct.jinja", CLLM_CHAT_FORMAT_LLAMA3},
        {"meta-llama-Llama-3.2-3B-Instruct.jinja", CLLM_CHAT_FORMAT_LLAMA3},
        {"mistralai-Mistral-Nemo-Instruct-2407.jinja", CLLM_CHAT_FORMAT_MISTRAL},
        {"Mistral-Small-3.2-24B-Instruct-2506.jinja", CLLM_CHAT_FORMAT_MISTRAL},
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", CLLM_CHAT_FORMAT_DEEPSEEK},
        {"deepseek-ai-DeepSeek-V3.1.jinja", CLLM_CHAT_FORMAT_DEEPSEEK},
        {"meetkai-functionary-medium-v3.1.jinja", CLLM_CHAT_FORMAT_FUNCTIONARY_V3_1},
        {"meetkai-functionary-medium-v3.2.jinja", CLLM_CHAT_FORMAT_FUNCTIONARY_V3_2},
        {"openai-gpt-oss-120b.jinja", CLLM_CHAT_FORMAT_HARMONY},
        {"microsoft-Phi-3.5-mini-instruct.jinja", CLLM_CHAT_FORMAT_GENERIC},
        {"google-gemma-2-2b-it.jinja", CLLM_CHAT_FORMAT_GENERIC},
        {"moonshotai-Kimi-K2.jinja", CLLM_CHAT_FORMAT_KIMI_K2},
        {"Kimi-K2-Thinking.jinja", CLLM_CHAT_FORMAT_KIMI_K2},
        {"Apriel-1.6-15b-Thinker-fixed.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"MiniMax-M2.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"ByteDance-Seed-OSS.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"LFM2.5-8B-A1B.jinja", CLLM_CHAT_FORMAT_HERMES},
        {"GLM-4.6.jinja", CLLM_CHAT_FORMAT_HERMES},
    };
    for (size_t i = 0; i < sizeof D / sizeof D[0]; i++) {
        char *src = read_tmpl(D[i].file);
        cllm_chat_format f = cllm_chat_detect_format(src);
        CHECK(f == D[i].f, "%s detected as %s", D[i].file, cllm_chat_format_name(f));
        free(src);
    }
    CHECK(cllm_chat_detect_format(NULL) == CLLM_CHAT_FORMAT_HERMES, "fallback is hermes");
}

static cllm_chat *make_chat(const char *tmpl_file, const char *bos) {
    char *src = tmpl_file ? read_tmpl(tmpl_file) : NULL;
    cllm_chat_config cfg = {0};
    cfg.template_source = src;
    cfg.bos_token = bos;
    cfg.template_flags = CLLM_CHAT_TEMPLATE_FIXED_CLOCK;
    cllm_chat *c = NULL;
    cllm_status st = cllm_chat_init(&cfg, &c);
    CHECK(st == CLLM_OK, "init %s: %s", tmpl_file ? tmpl_file : "(none)", cllm_last_error());
    free(src);
    return c;
}

static void behaviour(void) {
    cllm_chat_result r;
    const char *hi = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}";

    /* ChatML fallback */
    cllm_chat *c = make_chat(NULL, NULL);
    CHECK(c && strcmp(cllm_chat_template_name(c, 0), "chatml") == 0, "fallback named chatml");
    CHECK(cllm_chat_apply(c, hi, &r) == CLLM_OK &&
          strcmp(r.prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n") == 0, "chatml: %s", r.prompt);
    CHECK(!r.starts_with_bos && r.format == CLLM_CHAT_FORMAT_HERMES && r.parser_flags == 0, "chatml result flags");
    cllm_chat_result_clear(&r);
    CHECK(cllm_chat_apply(c,
                          "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": "
                          "[{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\", \"text\": \"b\"}]}, "
                          "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"1\", \"type\": \"function\", "
                          "\"function\": {\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 1}\"}}]}, {\"role\": \"tool\", "
                          "\"tool_call_id\": \"1\", \"content\": \"ok\"}], \"tools\": [{\"type\": \"function\", \"function\": "
                          "{\"name\": \"f\", \"parameters\": {}}}], \"add_generation_prompt\": false}",
                          &r) == CLLM_OK,
          "chatml with tools: %s", cllm_chat_last_error(c));
    CHECK(r.prompt && strstr(r.prompt, "<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {}}}\n</tools>") &&
              strstr(r.prompt, "<|im_start|>user\nab<|im_end|>") &&
              strstr(r.prompt, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n</tool_call><|im_end|>") &&
              strstr(r.prompt, "<tool_response>\nok\n</tool_response>") && !strstr(r.prompt, "assistant\n<|im_end|>\n<|im_start|>assistant"),
          "chatml tools render: %s", r.prompt);
    CHECK(r.parser_flags == CLLM_CHAT_PARSE_TOOLS, "tools flag");
    cllm_chat_result_clear(&r);
    CHECK(cllm_chat_apply(c, "{\"messages\": 3}", &r) == CLLM_ERR_INVALID_ARG && strstr(cllm_chat_last_error(c), "messages"), "bad messages");
    CHECK(cllm_chat_apply(c, "{\"messages\": [{\"content\": \"x\"}]}", &r) == CLLM_ERR_INVALID_ARG, "message without role");
    CHECK(cllm_chat_apply(c, "not json", &r) == CLLM_ERR_INVALID_ARG, "bad JSON");
    CHECK(cllm_chat_apply(c, "{\"messages\": [], \"template\": \"nope\"}", &r) == CLLM_ERR_NOT_FOUND, "unknown variant");
    cllm_chat_free(c);

    /* BOS in the template and strftime_now: Llama 3.2 */
    c = make_chat("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>");
    CHECK(cllm_chat_apply(c, hi, &r) == CLLM_OK && r.starts_with_bos && strncmp(r.prompt, "<|begin_of_text|>", 17) == 0,
          "llama3 starts with BOS");
    CHECK(strstr(r.prompt, "Today Date: 26 Jul 2026") != NULL, "fixed clock: %s", r.prompt);
    CHECK(r.format == CLLM_CHAT_FORMAT_LLAMA3, "llama3 format");
    cllm_chat_result_clear(&r);
    cllm_chat_free(c);

    /* R1 distill: the prompt opens <think> */
    c = make_chat("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
    CHECK(cllm_chat_apply(c, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"enable_thinking\": true}", &r) == CLLM_OK &&
              r.thinking_open && (r.parser_flags & CLLM_CHAT_PARSE_THINKING_OPEN) && r.starts_with_bos,
          "r1 thinking open");
    cllm_chat_result_clear(&r);
    cllm_chat_free(c);

    /* raise_exception reaches the caller verbatim */
    c = make_chat("google-gemma-2-2b-it.jinja", "<bos>");
    CHECK(cllm_chat_apply(c, "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Hi\"}]}", &r) ==
                  CLLM_ERR_INVALID_ARG &&
              strcmp(cllm_chat_last_error(c), "System role not supported") == 0,
          "raise_exception: %s", cllm_chat_last_error(c));
    cllm_chat_free(c);

    /* tool emulation for templates without tool support (Gemma 2 also
     * insists on alternating roles and no system turn) */
    c = make_chat("google-gemma-2-2b-it.jinja", "<bos>");
    const char *conv =
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather?\"}, {\"role\": \"assistant\", \"content\": null, "
        "\"tool_calls\": [{\"id\": \"a\", \"type\": \"function\", \"function\": {\"name\": \"w\", \"arguments\": \"{\\\"c\\\": "
        "\\\"Paris\\\"}\"}}, {\"id\": \"b\", \"type\": \"function\", \"function\": {\"name\": \"t\", \"arguments\": \"{}\"}}]}, "
        "{\"role\": \"tool\", \"tool_call_id\": \"a\", \"content\": \"21C\"}, {\"role\": \"tool\", \"tool_call_id\": \"b\", "
        "\"content\": \"noon\"}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"w\", \"parameters\": {}}}]}";
    CHECK(cllm_chat_apply(c, conv, &r) == CLLM_OK, "gemma emulated tools: %s", cllm_chat_last_error(c));
    CHECK(r.prompt && r.format == CLLM_CHAT_FORMAT_GENERIC && r.parser_flags == CLLM_CHAT_PARSE_TOOLS &&
              strstr(r.prompt, "<start_of_turn>user\nYou can call these tools (OpenAI function schemas):\n[{\"type\":\"function\"") &&
              strstr(r.prompt, "Otherwise reply normally.\n\nWeather?<end_of_turn>") &&
              strstr(r.prompt, "<start_of_turn>model\n{\"tool_calls\":[{\"name\":\"w\",\"arguments\":{\"c\":\"Paris\"}},"
                               "{\"name\":\"t\",\"arguments\":{}}]}<end_of_turn>") &&
              strstr(r.prompt, "<start_of_turn>user\nTool result: 21C\nTool result: noon<end_of_turn>\n<start_of_turn>model\n"),
          "emulated prompt: %s", r.prompt ? r.prompt : "");
    cllm_chat_result_clear(&r);
    cllm_chat_free(c);

    /* named variants and override */
    const char *names[] = {"tool_use", "rag"};
    const char *srcs[] = {"TOOLS{{ tools | length }}", "RAG"};
    cllm_chat_config cfg = {0};
    cfg.template_source = "DEFAULT{{ messages | length }}";
    cfg.n_named = 2;
    cfg.named_names = names;
    cfg.named_sources = srcs;
    CHECK(cllm_chat_init(&cfg, &c) == CLLM_OK && cllm_chat_n_templates(c) == 3, "three templates");
    CHECK(cllm_chat_apply(c, hi, &r) == CLLM_OK && strcmp(r.prompt, "DEFAULT1") == 0 && strcmp(r.template_name, "default") == 0, "default chosen");
    cllm_chat_result_clear(&r);
    CHECK(cllm_chat_apply(c, "{\"messages\": [], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}", &r) == CLLM_OK &&
              strcmp(r.prompt, "TOOLS1") == 0,
          "tool_use chosen with tools");
    cllm_chat_result_clear(&r);
    CHECK(cllm_chat_apply(c, "{\"messages\": [], \"tools\": []}", &r) == CLLM_OK && strcmp(r.prompt, "DEFAULT0") == 0, "empty tools: default");
    cllm_chat_result_clear(&r);
    CHECK(cllm_chat_apply(c, "{\"messages\": [], \"template\": \"rag\"}", &r) == CLLM_OK && strcmp(r.prompt, "RAG") == 0, "explicit variant");
    cllm_chat_result_clear(&r);
    cllm_chat_free(c);
    cfg.override_source = "OVERRIDE";
    CHECK(cllm_chat_init(&cfg, &c) == CLLM_OK && cllm_chat_n_templates(c) == 1, "override replaces all");
    CHECK(cllm_chat_apply(c, hi, &r) == CLLM_OK && strcmp(r.prompt, "OVERRIDE") == 0, "override renders");
    cllm_chat_result_clear(&r);
    cllm_chat_free(c);
    cfg.override_source = "{% if %}";
    CHECK(cllm_chat_init(&cfg, &c) == CLLM_ERR_FORMAT && strstr(cllm_last_error(), "line 1"), "bad template: %s", cllm_last_error());
}

static void from_gguf(void) {
    /* a real vocab file that ships a template (Phi-3) */
    cllm_gguf *g = NULL;
    CHECK(cllm_gguf_open(test_shared_path("vocab/ggml-vocab-phi-3.gguf"), &g) == CLLM_OK, "open phi-3 vocab");
    cllm_chat *c = NULL;
    CHECK(g && cllm_chat_init_gguf(g, NULL, &c) == CLLM_OK, "chat from gguf: %s", cllm_last_error());
    cllm_chat_result r;
    if (c) {
        CHECK(cllm_chat_apply(c, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}", &r) == CLLM_OK, "apply");
        CHECK(r.prompt && strstr(r.prompt, "<|user|>") && strstr(r.prompt, "Hi") && strstr(r.prompt, "<|assistant|>"), "phi-3 prompt: %s", r.prompt);
        CHECK(r.format == CLLM_CHAT_FORMAT_GENERIC, "phi-3 format %s", cllm_chat_format_name(r.format));
        cllm_chat_result_clear(&r);
        cllm_chat_free(c);
    }
    cllm_gguf_free(g);

    /* a written file with variants and BOS/EOS tokens */
    char path[] = "/tmp/cllm_chat_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    cllm_gguf_writer *w = NULL;
    cllm_gguf_writer_init(&w);
    const char *toks[] = {"<unk>", "<s>", "</s>", "a"};
    cllm_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 4);
    cllm_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    cllm_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    cllm_gguf_writer_set_str(w, "tokenizer.chat_template", "{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}");
    cllm_gguf_writer_set_str(w, "tokenizer.chat_template.tool_use", "{{ bos_token }}T<tool_call>");
    int64_t ne[2] = {32, 1};
    cllm_gguf_writer_add_tensor(w, "x", CLLM_TYPE_F32, 1, ne, NULL);
    CHECK(cllm_gguf_writer_write(w, path) == CLLM_OK, "write gguf: %s", cllm_gguf_writer_last_error(w));
    cllm_gguf_writer_free(w);
    CHECK(cllm_gguf_open(path, &g) == CLLM_OK, "open written");
    CHECK(g && cllm_chat_init_gguf(g, NULL, &c) == CLLM_OK, "chat from written gguf: %s", cllm_last_error());
    if (c) {
        CHECK(cllm_chat_n_templates(c) == 2 && strcmp(cllm_chat_template_name(c, 1), "tool_use") == 0, "variant found");
        CHECK(cllm_chat_apply(c, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}", &r) == CLLM_OK &&
                  strcmp(r.prompt, "<s>[Hi]</s>") == 0 && r.starts_with_bos,
              "bos/eos from the vocab: %s", r.prompt);
        cllm_chat_result_clear(&r);
        CHECK(cllm_chat_apply(c, "{\"messages\": [], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}", &r) == CLLM_OK &&
                  strcmp(r.prompt, "<s>T<tool_call>") == 0 && r.format == CLLM_CHAT_FORMAT_HERMES,
              "tool_use variant: %s", r.prompt);
        cllm_chat_result_clear(&r);
        cllm_chat_free(c);
    }
    /* override file */
    char tpath[] = "/tmp/cllm_chat_tmpl_XXXXXX";
    fd = mkstemp(tpath);
    if (fd >= 0) {
        const char *t = "FILE:{{ messages[0].content }}\n";
        CHECK(write(fd, t, strlen(t)) == (ssize_t)strlen(t), "write template file");
        close(fd);
        CHECK(cllm_chat_init_gguf(g, tpath, &c) == CLLM_OK, "override file");
        CHECK(c && cllm_chat_apply(c, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}", &r) == CLLM_OK &&
                  strcmp(r.prompt, "FILE:Hi") == 0,
              "file template renders: %s", r.prompt);
        cllm_chat_result_clear(&r);
        cllm_chat_free(c);
        unlink(tpath);
    }
    CHECK(cllm_chat_init_gguf(g, "/nonexistent/x.jinja", &c) == CLLM_ERR_IO && strstr(cllm_last_error(), "nonexistent"), "missing file");
    cllm_gguf_free(g);
    unlink(path);
}

/* Render with tools, parse a reply, feed the parsed message back: the next
 * prompt must show the call the way the template writes calls. */
static void round_trip(void) {
    char *src = read_tmpl("Qwen-Qwen2.5-7B-Instruct.jinja");
    cllm_chat_config cfg = {0};
    cfg.template_source = src;
    cfg.eos_token = "<|im_end|>";
    cllm_chat *c = NULL;
    CHECK(cllm_chat_init(&cfg, &c) == CLLM_OK, "init qwen");
    free(src);
    if (!c) return;
    json_error_t je;
    json_t *rq = json_loads("{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris?\"}], \"tools\": "
                            "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": "
                            "{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\"}}}}}]}",
                            0, &je);
    cllm_chat_result r;
    CHECK(cllm_chat_apply_json(c, rq, &r) == CLLM_OK, "apply: %s", cllm_chat_last_error(c));
    CHECK(r.format == CLLM_CHAT_FORMAT_HERMES && r.parser_flags == CLLM_CHAT_PARSE_TOOLS, "qwen hermes + tools");
    cllm_chat_parser *p = NULL;
    CHECK(cllm_chat_parser_init(r.format, r.parser_flags, "rt", &p) == CLLM_OK, "parser");
    cllm_chat_result_clear(&r);
    const char *reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>";
    cllm_chat_parser_feed_json(p, reply, strlen(reply), NULL);
    cllm_chat_parser_finish_json(p, NULL);
    json_t *msg = cllm_chat_parser_message_json(p);
    cllm_chat_parser_free(p);
    const char *id = json_string_value(json_object_get(json_array_get(json_object_get(msg, "tool_calls"), 0), "id"));
    json_t *msgs = json_object_get(rq, "messages");
    json_array_append_new(msgs, msg);
    json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "role", "tool", "tool_call_id", id ? id : "", "content", "{\"temp\": 21}"));
    CHECK(cllm_chat_apply_json(c, rq, &r) == CLLM_OK, "apply 2: %s", cllm_chat_last_error(c));
    CHECK(r.prompt && strstr(r.prompt, "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                                      "{\"location\": \"Paris\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n"
                                      "{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"),
          "round trip prompt: %s", r.prompt ? r.prompt : "");
    cllm_chat_result_clear(&r);
    json_decref(rq);
    cllm_chat_free(c);
}

int main(void) {
    test_require_shared("chat templates and vocab files");
    round_trip();
    golden_requests();
    detection();
    behaviour();
    from_gguf();
    return test_finish();
}
