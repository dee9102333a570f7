/* cmd_template.c: `cllm template`: print a rendered chat prompt.
 *   cllm template (-m MODEL | -hf REPO) --messages FILE.json [--tools FILE.json]
 *                 [--chat-template-file F] [--no-generation-prompt]
 *       the prompt `cllm chat` / `cllm serve` would give the model (its own
 *       template, a named variant with tools, or the ChatML fallback), via
 *       cllm_chat_apply. FILE.json: an array of messages, or a request object
 *       {"messages": [...], "tools": [...], other template variables}.
 *   cllm template --chat-template-file F --context CTX.json [--generation-tag] [--fixed-clock]
 *       renders F with exactly the variables of CTX.json (the "context"
 *       object of ../shared/templates/README.md's golden cases; a whole case
 *       file, which has a "context" key, works too).
 * The text goes to stdout as it is (no newline added). A template error goes
 * to stderr ("error: <Python exception class>: message") with status 1. */
#include "chat/chat.h"
#include "commands.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm template (-m MODEL | -hf REPO[:QUANT]) --messages FILE.json [--tools FILE.json]\n"
            "                     [--chat-template-file F] [--no-generation-prompt]\n"
            "       cllm template --chat-template-file F --context CTX.json [--generation-tag] [--fixed-clock]\n");
}

static json_t *load_json(const char *path) {
    json_error_t err;
    json_t *j = json_load_file(path, JSON_DECODE_ANY, &err);
    if (!j && err.line < 0) fprintf(stderr, "error: %s\n", err.text);
    else if (!j) fprintf(stderr, "error: %s: line %d column %d: %s\n", path, err.line, err.column, err.text);
    return j;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "error: cannot open '%s'\n", path); return NULL; }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "error: cannot read '%s'\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (strlen(buf) != n) {
        fprintf(stderr, "error: '%s' contains a NUL byte\n", path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* --context mode: one template file, one context object. */
static int render_context(const char *tmpl_file, const char *ctx_file, uint32_t flags) {
    json_t *ctx = load_json(ctx_file);
    if (!ctx) return 1;
    json_t *obj = ctx;
    if (json_is_object(ctx) && json_is_object(json_object_get(ctx, "context")) && json_object_get(ctx, "template"))
        obj = json_object_get(ctx, "context");   /* a whole golden case file */
    if (!json_is_object(obj)) {
        fprintf(stderr, "error: %s: the context must be a JSON object\n", ctx_file);
        json_decref(ctx);
        return 1;
    }
    char *src = read_file(tmpl_file);
    if (!src) { json_decref(ctx); return 1; }
    cllm_chat_template *t = NULL;
    int rc = 1;
    if (cllm_chat_template_init_ex(src, flags, &t) != CLLM_OK) {
        fprintf(stderr, "error: TemplateSyntaxError: %s: %s\n", tmpl_file, cllm_last_error());
    } else {
        char *out = NULL;
        if (cllm_chat_template_render_json(t, obj, &out) != CLLM_OK) {
            /* The message may already start with the class name. */
            const char *type = cllm_chat_template_error_type(t), *msg = cllm_chat_template_last_error(t);
            size_t tl = strlen(type);
            if (tl && !strncmp(msg, type, tl) && msg[tl] == ':') fprintf(stderr, "error: %s\n", msg);
            else fprintf(stderr, "error: %s: %s\n", type, msg);
        } else {
            fwrite(out, 1, strlen(out), stdout);
            rc = fflush(stdout) ? 1 : 0;
            free(out);
        }
    }
    cllm_chat_template_free(t);
    free(src);
    json_decref(ctx);
    return rc;
}

/* -m mode: the model's chat formatting. */
static int render_model(const char *model, const char *tmpl_file, const char *msgs_file, const char *tools_file,
                        bool gen_prompt) {
    json_t *msgs = load_json(msgs_file);
    if (!msgs) return 1;
    json_t *rq = NULL;
    if (json_is_array(msgs)) rq = json_pack("{s:O}", "messages", msgs);
    else if (json_is_object(msgs) && json_is_array(json_object_get(msgs, "messages"))) rq = json_deep_copy(msgs);
    json_decref(msgs);
    if (!rq) {
        fprintf(stderr, "error: %s: expected an array of messages or an object with \"messages\"\n", msgs_file);
        return 1;
    }
    if (tools_file) {
        json_t *tools = load_json(tools_file);
        if (!tools) { json_decref(rq); return 1; }
        if (!json_is_array(tools)) {
            fprintf(stderr, "error: %s: expected an array of tools\n", tools_file);
            json_decref(tools);
            json_decref(rq);
            return 1;
        }
        json_object_set_new(rq, "tools", tools);
    }
    if (!gen_prompt) json_object_set_new(rq, "add_generation_prompt", json_false());
    int rc = 1;
    cllm_gguf *g = NULL;
    cllm_chat *chat = NULL;
    if (cllm_gguf_open(model, &g) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    if (cllm_chat_init_gguf(g, tmpl_file, &chat) != CLLM_OK) {
        fprintf(stderr, "error: chat template: %s\n", cllm_last_error());
        goto done;
    }
    cllm_chat_result r;
    memset(&r, 0, sizeof r);
    if (cllm_chat_apply_json(chat, rq, &r) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    fwrite(r.prompt, 1, strlen(r.prompt), stdout);
    rc = fflush(stdout) ? 1 : 0;
    fprintf(stderr, "template: %s, format: %s%s%s\n", r.template_name ? r.template_name : "?",
            cllm_chat_format_name(r.format), r.starts_with_bos ? ", starts with BOS" : "",
            r.thinking_open ? ", thinking open" : "");
    cllm_chat_result_clear(&r);
done:
    cllm_chat_free(chat);
    cllm_gguf_free(g);
    json_decref(rq);
    return rc;
}

int cllm_cmd_template(int argc, char **argv) {
    const char *model = NULL, *hf = NULL, *tmpl_file = NULL, *ctx_file = NULL, *msgs_file = NULL,
               *tools_file = NULL;
    bool gen_prompt = true, gen_tag = false, fixed_clock = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--no-generation-prompt")) { gen_prompt = false; continue; }
        if (!strcmp(a, "--generation-tag")) { gen_tag = true; continue; }
        if (!strcmp(a, "--fixed-clock")) { fixed_clock = true; continue; }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "error: %s needs a value\n", a); usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-hf") || !strcmp(a, "--hf-repo")) hf = v;
        else if (!strcmp(a, "--chat-template-file")) tmpl_file = v;
        else if (!strcmp(a, "--context")) ctx_file = v;
        else if (!strcmp(a, "--messages")) msgs_file = v;
        else if (!strcmp(a, "--tools")) tools_file = v;
        else { fprintf(stderr, "error: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    if (ctx_file) {
        if (!tmpl_file || model || hf || msgs_file || tools_file) { usage(stderr); return 2; }
        uint32_t flags = (gen_tag ? CLLM_CHAT_TEMPLATE_GENERATION_TAG : 0u) |
                         (fixed_clock ? CLLM_CHAT_TEMPLATE_FIXED_CLOCK : 0u);
        return render_context(tmpl_file, ctx_file, flags);
    }
    if (!!model == !!hf || !msgs_file || gen_tag || fixed_clock) { usage(stderr); return 2; }
    char *pulled = NULL;
    if (hf) {
        if (cllm_pull_resolve(hf, &pulled) != CLLM_OK) {
            fprintf(stderr, "error: %s\n", cllm_last_error());
            return 1;
        }
        model = pulled;
    }
    int rc = render_model(model, tmpl_file, msgs_file, tools_file, gen_prompt);
    free(pulled);
    return rc;
}
