/* fuzz_jinja.c: libFuzzer target for the Jinja engine and the tool-call
 * parser. Input: a template, then optionally "\x00" and a JSON context. The
 * template is parsed (with and without the generation tag) and rendered with
 * the context (or a small default conversation); the input is also fed to
 * the streaming parser of every format in two chunks, and the result must
 * equal the whole-text parse. Built with -DCLLM_FUZZ=ON (scripts/fuzz.sh). */
#include "cllm.h"
#include "chat/chat.h"

#include <stdlib.h>
#include <string.h>

static const char DEFAULT_CTX[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Hi \\u00e9\"}, "
    "{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", "
    "\"function\": {\"name\": \"f\", \"arguments\": {\"a\": [1, 2.5, null]}}}]}, {\"role\": \"tool\", \"content\": "
    "\"r\"}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {}}}], "
    "\"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

static char *parse_message(cllm_chat_format f, uint32_t flags, const char *s, size_t n, size_t cut) {
    cllm_chat_parser *p = NULL;
    if (cllm_chat_parser_init(f, flags, "fz", &p) != CLLM_OK) return NULL;
    if (cut > n) cut = n;
    cllm_chat_parser_feed(p, s, cut, NULL);
    cllm_chat_parser_feed(p, s + cut, n - cut, NULL);
    cllm_chat_parser_finish(p, NULL);
    char *m = NULL;
    cllm_chat_parser_message(p, &m);
    cllm_chat_parser_free(p);
    return m;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size > 20000) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    size_t tlen = strlen(buf);
    const char *ctx = tlen < size ? buf + tlen + 1 : DEFAULT_CTX;
    for (uint32_t flags = 0; flags < 2; flags++) {
        cllm_chat_template *t = NULL;
        if (cllm_chat_template_init_ex(buf, flags, &t) == CLLM_OK) {
            char *out = NULL;
            if (cllm_chat_template_render(t, ctx, &out) == CLLM_OK) free(out);
            cllm_chat_template_free(t);
        }
    }
    for (int f = 0; f <= CLLM_CHAT_FORMAT_KIMI_K2; f++) {
        uint32_t flags = (uint32_t)(size % 8);
        char *whole = parse_message((cllm_chat_format)f, flags, buf, tlen, tlen);
        char *split = parse_message((cllm_chat_format)f, flags, buf, tlen, tlen / 2);
        if ((whole == NULL) != (split == NULL) || (whole && strcmp(whole, split) != 0)) abort();
        free(whole);
        free(split);
    }
    free(buf);
    return 0;
}
