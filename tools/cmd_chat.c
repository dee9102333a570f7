/* cmd_chat.c: `cllm chat`: an interactive chat in the terminal.
 *   cllm chat (-m MODEL | -hf REPO[:QUANT]) [--system S] [-n N] [-c N_CTX]
 *             [--temp T] [--top-k K] [--top-p P] [--seed S] [-t N]
 *             [--kv f16|f32|q8_0] [--chat-template-file F] [--ignore-eos] [-v]
 * The conversation is a JSON message list rendered with the model's own chat
 * template (ChatML when it has none). Each turn renders the whole
 * conversation, tokenizes it, keeps the longest prefix already in the KV
 * cache (sequence 0) and evaluates only the rest, then streams the answer
 * token by token until an end-of-generation token, -n tokens, a full context
 * or Ctrl-C. Commands: /clear, /save FILE, /load FILE, /help, /quit.
 * Input comes from chat_input.c (readline on a terminal, lines from a pipe). */
#include "chat/chat.h"
#include "chat_input.h"
#include "commands.h"
#include "core/core.h"
#include "engine_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: cllm chat (-m MODEL | -hf REPO[:QUANT]) [--system S] [-n N] [-c N_CTX] [-t N]\n"
            "                 [--temp T] [--top-k K] [--top-p P] [--seed S] [--kv f16|f32|q8_0]\n"
            "                 [--chat-template-file F] [--ignore-eos] [-v]\n"
            "Type a message and Enter. A line ending in \\ continues the message; \"\"\" opens and\n"
            "closes a multiline block. Ctrl-C stops an answer (or clears the line); Ctrl-D or\n"
            "/quit exits. Commands: /clear, /save FILE, /load FILE, /help, /quit.\n");
}

static void help_commands(void) {
    printf("/clear       forget the conversation (the system prompt stays)\n"
           "/save FILE   write the conversation as a JSON array of messages\n"
           "/load FILE   replace the conversation with a saved one\n"
           "/quit        exit (also /exit, Ctrl-D)\n"
           "a line ending in \\ continues the message; \"\"\" opens and closes a multiline block\n");
}

typedef struct chat_state {
    cllm_model *model;
    const cllm_vocab *vocab;
    cllm_context *ctx;
    cllm_sampler *smp;
    cllm_chat *chat;
    json_t *messages;       /* the conversation (OpenAI message objects) */
    const char *system;     /* --system (borrowed from argv) or NULL */
    int32_t *cached;        /* tokens in the KV cache, positions 0..n_cached-1 */
    int32_t n_cached, cap_cached;
    long n_predict;
    bool ignore_eos;
    bool interactive;
    long delay_ms;          /* CLLM_CHAT_TOKEN_DELAY_MS: pause per token (tests, demos) */
    bool verbose;           /* -v: per-turn token counts and speed on stderr */
} chat_state;

static json_t *make_msg(const char *role, const char *content) {
    return json_pack("{s:s, s:s}", "role", role, "content", content);
}

static void reset_messages(chat_state *s) {
    json_array_clear(s->messages);
    if (s->system) json_array_append_new(s->messages, make_msg("system", s->system));
}

static void kv_forget(chat_state *s) {
    cllm_kv_clear(s->ctx);
    s->n_cached = 0;
}

/* Render the conversation with the generation prompt and tokenize it.
 * Returns a malloc'd id array (caller frees) or NULL with a message. */
static int32_t *render_tokens(chat_state *s, int32_t *n_out) {
    json_t *rq = json_pack("{s:O, s:b}", "messages", s->messages, "add_generation_prompt", 1);
    if (!rq) return NULL;
    cllm_chat_result r;
    memset(&r, 0, sizeof r);
    cllm_status st = cllm_chat_apply_json(s->chat, rq, &r);
    json_decref(rq);
    if (st != CLLM_OK) {
        fprintf(stderr, "error: chat template: %s\n", cllm_last_error());
        return NULL;
    }
    size_t len = strlen(r.prompt);
    bool add_bos = !r.starts_with_bos;
    int32_t cap = (int32_t)(len + 16);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
    int32_t n = ids ? cllm_tokenize(s->vocab, r.prompt, len, ids, cap, add_bos, true) : -1;
    cllm_chat_result_clear(&r);
    if (n < 0 || n > cap) {
        fprintf(stderr, "error: tokenization failed\n");
        free(ids);
        return NULL;
    }
    *n_out = n;
    return ids;
}

static bool cache_push(chat_state *s, int32_t tok) {
    if (s->n_cached == s->cap_cached) {
        int32_t cap = s->cap_cached ? s->cap_cached * 2 : 1024;
        int32_t *nc = realloc(s->cached, sizeof(int32_t) * (size_t)cap);
        if (!nc) return false;
        s->cached = nc;
        s->cap_cached = cap;
    }
    s->cached[s->n_cached++] = tok;
    return true;
}

/* Evaluate ids[from..n) at their positions, logits for the last one. */
static bool eval_tokens(chat_state *s, const int32_t *ids, int32_t from, int32_t n) {
    const int32_t batch_max = 512, seq0 = 0;
    cllm_batch b = cllm_batch_init(batch_max, 1);
    bool ok = true;
    for (int32_t i0 = from; i0 < n && ok; i0 += batch_max) {
        cllm_batch_clear(&b);
        for (int32_t i = i0; i < n && i < i0 + batch_max; i++) cllm_batch_add(&b, ids[i], i, &seq0, 1, i == n - 1);
        if (cllm_decode(s->ctx, &b) != CLLM_OK) {
            fprintf(stderr, "error: %s\n", cllm_context_last_error(s->ctx));
            ok = false;
            break;
        }
        for (int32_t i = i0; i < n && i < i0 + batch_max; i++)
            if (!cache_push(s, ids[i])) ok = false;
    }
    cllm_batch_free(&b);
    if (!ok) kv_forget(s);
    return ok;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && !chat_interrupted) {}
}

/* One user turn: append the message, answer it, append the answer.
 * Returns false only on a fatal error (the conversation is then kept as it
 * was before the turn). */
static bool chat_turn(chat_state *s, const char *user_text) {
    size_t n_before = json_array_size(s->messages);
    json_array_append_new(s->messages, make_msg("user", user_text));
    int32_t n = 0;
    int32_t *ids = render_tokens(s, &n);
    if (!ids) {
        json_array_remove(s->messages, n_before);
        return true;
    }
    const uint32_t n_ctx = cllm_context_n_ctx(s->ctx);
    if ((uint32_t)n + 1 > n_ctx) {
        fprintf(stderr, "error: the conversation (%d tokens) does not fit the context (%u); /clear or use -c\n", n,
                n_ctx);
        json_array_remove(s->messages, n_before);
        free(ids);
        return true;
    }
    /* Reuse the cached prefix; at least one token must be evaluated to get
     * the logits of the last position. */
    int32_t keep = 0;
    while (keep < n && keep < s->n_cached && s->cached[keep] == ids[keep]) keep++;
    if (keep == n) keep--;
    cllm_kv_seq_rm(s->ctx, 0, keep, -1);
    s->n_cached = keep;
    chat_interrupted = 0;
    uint64_t t0 = cllm_time_ns();
    if (!eval_tokens(s, ids, keep, n)) {
        json_array_remove(s->messages, n_before);
        free(ids);
        return false;
    }
    free(ids);

    const int32_t nv = cllm_model_n_vocab(s->model);
    cllm_detok_stream *ds = cllm_detok_stream_init(s->vocab);
    char *reply = NULL;
    size_t rlen = 0, rcap = 0;
    bool ok = ds != NULL, stopped = false, full = false;
    char out[512];
    const int32_t seq0 = 0;
    cllm_batch b = cllm_batch_init(1, 1);
    uint64_t t1 = cllm_time_ns();
    long gen = 0;
    for (long k = 0; ok && k < s->n_predict; k++) {
        if (chat_interrupted) { stopped = true; break; }
        const float *lg = cllm_get_logits_ith(s->ctx, -1);
        int32_t tok = cllm_sampler_sample(s->smp, lg, nv);
        if (tok < 0) {
            fprintf(stderr, "\nerror: sampling failed: %s\n", cllm_sampler_last_error(s->smp));
            break;
        }
        cllm_sampler_accept(s->smp, tok);
        if (!s->ignore_eos && cllm_vocab_is_eog(s->vocab, tok)) break;
        gen++;
        int32_t w = cllm_detok_stream_push(ds, tok, out, sizeof out);
        for (;;) {
            if (w > 0) {
                fwrite(out, 1, (size_t)w, stdout);
                if (rlen + (size_t)w + 1 > rcap) {
                    size_t nc = rcap ? rcap * 2 : 1024;
                    while (nc < rlen + (size_t)w + 1) nc *= 2;
                    char *nr = realloc(reply, nc);
                    if (!nr) { ok = false; break; }
                    reply = nr;
                    rcap = nc;
                }
                memcpy(reply + rlen, out, (size_t)w);
                rlen += (size_t)w;
            }
            if (w < (int32_t)sizeof out) break;
            w = cllm_detok_stream_flush(ds, out, sizeof out);   /* more queued */
        }
        fflush(stdout);
        if (k + 1 == s->n_predict) break;
        if ((uint32_t)s->n_cached >= n_ctx) { full = true; break; }
        cllm_batch_clear(&b);
        cllm_batch_add(&b, tok, s->n_cached, &seq0, 1, true);
        if (cllm_decode(s->ctx, &b) != CLLM_OK) {
            fprintf(stderr, "\nerror: %s\n", cllm_context_last_error(s->ctx));
            kv_forget(s);
            break;
        }
        if (!cache_push(s, tok)) { kv_forget(s); ok = false; break; }
        if (s->delay_ms > 0) sleep_ms(s->delay_ms);
    }
    cllm_batch_free(&b);
    if (ds) {
        int32_t w;
        while ((w = cllm_detok_stream_flush(ds, out, sizeof out)) > 0) {
            fwrite(out, 1, (size_t)w, stdout);
            char *nr = realloc(reply, rlen + (size_t)w + 1);
            if (!nr) break;
            reply = nr;
            memcpy(reply + rlen, out, (size_t)w);
            rlen += (size_t)w;
        }
    }
    cllm_detok_stream_free(ds);
    if (stopped || chat_interrupted) {
        chat_interrupted = 0;
        printf("\n[stopped]");
    }
    if (full) printf("\n[context full: /clear to start over, or use a larger -c]");
    printf("\n");
    fflush(stdout);
    if (s->verbose) {
        uint64_t t2 = cllm_time_ns();
        fprintf(stderr, "[prompt: %d tokens, %d reused from the cache, %d evaluated in %.3f s; answer: %ld tokens in %.3f s (%.1f t/s)]\n",
                n, keep, n - keep, (double)(t1 - t0) / 1e9, gen, (double)(t2 - t1) / 1e9,
                gen / ((double)(t2 - t1) / 1e9 + 1e-12));
    }
    /* The answer, even a stopped one, joins the conversation. */
    json_array_append_new(s->messages, make_msg("assistant", reply ? (reply[rlen] = 0, reply) : ""));
    free(reply);
    return ok;
}

static bool save_conversation(chat_state *s, const char *path) {
    if (json_dump_file(s->messages, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        fprintf(stderr, "error: cannot write '%s'\n", path);
        return false;
    }
    printf("saved %zu messages to %s\n", json_array_size(s->messages), path);
    return true;
}

/* A saved conversation: a JSON array of {"role": string, "content": string}
 * objects (other keys are kept), or an object with such a "messages" array. */
static bool load_conversation(chat_state *s, const char *path) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        if (err.line < 0) fprintf(stderr, "error: %s\n", err.text);
        else fprintf(stderr, "error: %s: line %d column %d: %s\n", path, err.line, err.column, err.text);
        return false;
    }
    json_t *arr = json_is_object(root) ? json_object_get(root, "messages") : root;
    bool ok = json_is_array(arr);
    size_t i;
    json_t *m;
    if (ok) {
        json_array_foreach(arr, i, m) {
            json_t *role = json_object_get(m, "role");
            json_t *content = json_object_get(m, "content");
            if (!json_is_object(m) || !json_is_string(role) ||
                !(json_is_string(content) || json_is_null(content) || json_is_array(content))) {
                fprintf(stderr, "error: %s: message %zu needs a string \"role\" and a \"content\"\n", path, i);
                json_decref(root);
                return false;
            }
        }
    } else {
        fprintf(stderr, "error: %s: expected a JSON array of messages\n", path);
        json_decref(root);
        return false;
    }
    json_array_clear(s->messages);
    json_array_extend(s->messages, arr);
    json_decref(root);
    printf("loaded %zu messages from %s\n", json_array_size(s->messages), path);
    return true;
}

/* Handles a /command. Returns 1 to go on, 0 to quit. */
static int run_command(chat_state *s, const char *line) {
    const char *arg = line + strcspn(line, " \t");
    size_t cmdlen = (size_t)(arg - line);
    arg += strspn(arg, " \t");
    char path[4096];
    snprintf(path, sizeof path, "%s", arg);
    for (size_t n = strlen(path); n && (path[n - 1] == ' ' || path[n - 1] == '\t'); n--) path[n - 1] = 0;
#define IS(name) (cmdlen == strlen(name) && !strncmp(line, name, cmdlen))
    if (IS("/quit") || IS("/exit") || IS("/bye")) return 0;
    if (IS("/help") || IS("/?")) {
        help_commands();
    } else if (IS("/clear")) {
        reset_messages(s);
        kv_forget(s);
        cllm_sampler_reset(s->smp);
        printf("conversation cleared\n");
    } else if (IS("/save") || IS("/load")) {
        if (!path[0]) fprintf(stderr, "error: %.5s needs a file name\n", line);
        else if (IS("/save")) save_conversation(s, path);
        else load_conversation(s, path);
    } else {
        fprintf(stderr, "unknown command '%.*s' (/help lists them)\n", (int)cmdlen, line);
    }
#undef IS
    fflush(stdout);
    return 1;
}

static bool parse_float(const char *opt, const char *v, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || x != x) {
        fprintf(stderr, "error: %s wants a number, got '%s'\n", opt, v);
        return false;
    }
    *out = x;
    return true;
}

int cllm_cmd_chat(int argc, char **argv) {
    const char *model = NULL, *hf = NULL, *system = NULL, *tmpl_file = NULL;
    long n_predict = -1, threads = 0, n_ctx = 0, seed = -1, top_k = -1;
    double temp = 0.8, top_p = -1;
    int kv = CLLM_TYPE_F16;
    bool ignore_eos = false, verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--ignore-eos")) { ignore_eos = true; continue; }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) { verbose = true; continue; }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "error: %s needs a value\n", a); usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-hf") || !strcmp(a, "--hf-repo")) hf = v;
        else if (!strcmp(a, "--system") || !strcmp(a, "-sys")) system = v;
        else if (!strcmp(a, "--chat-template-file")) tmpl_file = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { if (!cmd_parse_int(a, v, 1, 1 << 24, &n_predict)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!cmd_parse_int(a, v, 0, 1024, &threads)) return 2; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { if (!cmd_parse_int(a, v, 0, 1 << 24, &n_ctx)) return 2; }
        else if (!strcmp(a, "--seed")) { if (!cmd_parse_int(a, v, 0, 0x7fffffffL, &seed)) return 2; }
        else if (!strcmp(a, "--top-k")) { if (!cmd_parse_int(a, v, 0, 1 << 24, &top_k)) return 2; }
        else if (!strcmp(a, "--temp")) { if (!parse_float(a, v, &temp)) return 2; }
        else if (!strcmp(a, "--top-p")) { if (!parse_float(a, v, &top_p)) return 2; }
        else if (!strcmp(a, "--kv")) {
            kv = cmd_parse_kv_type(v);
            if (kv < 0) { fprintf(stderr, "error: --kv wants f32, f16 or q8_0\n"); return 2; }
        } else { fprintf(stderr, "error: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    if (!!model == !!hf) { usage(stderr); return 2; }

    char *pulled = NULL;
    if (hf) {
        if (cllm_pull_resolve(hf, &pulled) != CLLM_OK) {
            fprintf(stderr, "error: %s\n", cllm_last_error());
            return 1;
        }
        model = pulled;
    }
    chat_state s;
    memset(&s, 0, sizeof s);
    s.system = system;
    s.ignore_eos = ignore_eos;
    s.verbose = verbose;
    s.interactive = isatty(STDIN_FILENO);
    const char *delay = getenv("CLLM_CHAT_TOKEN_DELAY_MS");
    s.delay_ms = delay ? strtol(delay, NULL, 10) : 0;
    int rc = 1;
    chat_input *in = NULL;
    if (cllm_model_load(model, NULL, &s.model) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    s.vocab = cllm_model_vocab(s.model);
    if (!s.vocab) { fprintf(stderr, "error: the model has no usable tokenizer\n"); goto done; }
    if (cllm_chat_init_gguf(cllm_model_gguf(s.model), tmpl_file, &s.chat) != CLLM_OK) {
        fprintf(stderr, "error: chat template: %s\n", cllm_last_error());
        goto done;
    }
    cllm_context_params cp = cllm_context_default_params();
    cp.n_threads = (int32_t)threads;
    cp.kv_type = (cllm_type)kv;
    cp.n_ctx = (uint32_t)n_ctx;   /* 0: the model's training context, capped at 4096 */
    if (cllm_context_init(s.model, &cp, &s.ctx) != CLLM_OK) {
        fprintf(stderr, "error: %s\n", cllm_last_error());
        goto done;
    }
    s.n_predict = n_predict > 0 ? n_predict : (long)cllm_context_n_ctx(s.ctx);
    cllm_sampler_params sp = cllm_sampler_default_params();
    sp.temp = (float)temp;
    if (top_k >= 0) sp.top_k = (int32_t)top_k;
    if (top_p >= 0) sp.top_p = (float)top_p;
    sp.seed = seed >= 0 ? (uint64_t)seed : CLLM_SEED_RANDOM;
    cllm_vocab_view vv;
    if (cllm_vocab_view_init(&vv, s.vocab) != CLLM_OK) { fprintf(stderr, "error: %s\n", cllm_last_error()); goto done; }
    cllm_status sst = cllm_sampler_init(&sp, &vv, &s.smp);
    cllm_vocab_view_free(&vv);
    if (sst != CLLM_OK) { fprintf(stderr, "error: %s\n", cllm_last_error()); goto done; }
    s.messages = json_array();
    if (!s.messages) goto done;
    reset_messages(&s);

    char hist[4096] = "";
    const char *hist_env = getenv("CLLM_CHAT_HISTORY");
    const char *home = getenv("HOME");
    if (hist_env) snprintf(hist, sizeof hist, "%s", hist_env);
    else if (home && *home) snprintf(hist, sizeof hist, "%s/.cllm_chat_history", home);
    in = chat_input_init(s.interactive, hist);
    if (!in) goto done;
    if (s.interactive)
        fprintf(stderr, "cllm chat: %s, template %s, context %u tokens. /help for commands, Ctrl-D to quit.\n",
                cllm_model_arch(s.model), cllm_chat_n_templates(s.chat) ? cllm_chat_template_name(s.chat, 0) : "?",
                cllm_context_n_ctx(s.ctx));
    rc = 0;
    for (;;) {
        char *msg = chat_input_read(in);
        if (!msg) break;
        int go = 1;
        if (msg[0] == '/') go = run_command(&s, msg);
        else if (!chat_turn(&s, msg)) rc = 1;
        free(msg);
        if (!go) break;
    }
done:
    chat_input_free(in);
    json_decref(s.messages);
    free(s.cached);
    cllm_sampler_free(s.smp);
    cllm_context_free(s.ctx);
    cllm_chat_free(s.chat);
    cllm_model_free(s.model);
    free(pulled);
    return rc;
}
