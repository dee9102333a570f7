/* toolcall_parse.c: turns a model's raw output back into an OpenAI-shaped
 * assistant message: content, reasoning_content and tool_calls (id, name,
 * arguments as a JSON string), for the tool-call syntaxes of the common
 * model families, and streams it as deltas.
 *
 * Streaming design: the parser keeps the whole (UTF-8-cleaned) output and
 * re-parses it on every chunk in "partial" mode, which never commits text
 * that could still turn out to be part of a marker (a suffix that is a
 * prefix of "<tool_call>", "[TOOL_CALLS]", "</think>", ...) and only
 * commits tool-call arguments as a prefix of their final text. Each delta is
 * the difference to what was already emitted, so feeding the text in any
 * chunking produces the same final message as parsing it whole.
 *
 * Whitespace: reasoning and content are trimmed at both ends (trailing
 * whitespace is therefore held back while streaming). */
#include "chat/toolcall_internal.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- the API */
struct cllm_chat_parser {
    cllm_chat_format fmt;
    uint32_t flags;
    char id_seed[64];
    sbuf text;           /* cleaned UTF-8 */
    unsigned char pend[4];
    size_t npend;
    presult cur;
    /* what was emitted so far */
    size_t em_content, em_reasoning;
    size_t em_calls;
    size_t *em_args;
    size_t em_args_cap;
    bool finished;
    cllm_err err;
};

cllm_status cllm_chat_parser_init(cllm_chat_format fmt, uint32_t flags, const char *id_seed, cllm_chat_parser **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: out is NULL");
    *out = NULL;
    if ((int)fmt < 0 || fmt > CLLM_CHAT_FORMAT_KIMI_K2)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: unknown format %d", (int)fmt);
    cllm_chat_parser *p = calloc(1, sizeof *p);
    if (!p) return cllm_set_last_error(CLLM_ERR_NOMEM, "chat parser: out of memory");
    p->fmt = fmt;
    p->flags = flags;
    snprintf(p->id_seed, sizeof p->id_seed, "%s", id_seed ? id_seed : "");
    *out = p;
    return CLLM_OK;
}

void cllm_chat_parser_free(cllm_chat_parser *p) {
    if (!p) return;
    tc_sb_free(&p->text);
    tc_pr_free(&p->cur);
    free(p->em_args);
    free(p);
}

const char *cllm_chat_parser_last_error(const cllm_chat_parser *p) { return p ? p->err.msg : ""; }

/* Append bytes, replacing invalid UTF-8 with U+FFFD and holding an
 * incomplete trailing sequence until more bytes arrive. */
static bool clean_append(cllm_chat_parser *p, const unsigned char *b, size_t n, bool flush) {
    static const char REPL[] = "\xef\xbf\xbd";
    unsigned char tmp[8];
    size_t i = 0;
    while (i < n || (flush && p->npend)) {
        if (p->npend) {
            unsigned char c0 = p->pend[0];
            size_t need = (c0 & 0xE0) == 0xC0 ? 2 : (c0 & 0xF0) == 0xE0 ? 3 : 4;
            while (p->npend < need && i < n && (b[i] & 0xC0) == 0x80) p->pend[p->npend++] = b[i++];
            if (p->npend == need) {
                memcpy(tmp, p->pend, need);
                p->npend = 0;
                if (!tc_sb_put(&p->text, (const char *)tmp, need)) return false;
                continue;
            }
            if (i < n || flush) {   /* broken sequence */
                p->npend = 0;
                if (!tc_sb_put(&p->text, REPL, 3)) return false;
                continue;
            }
            return true;
        }
        unsigned char c = b[i];
        if (c < 0x80) {
            size_t st = i;
            while (i < n && b[i] < 0x80) i++;
            if (!tc_sb_put(&p->text, (const char *)b + st, i - st)) return false;
        } else if ((c & 0xE0) == 0xC0 || (c & 0xF0) == 0xE0 || (c & 0xF8) == 0xF0) {
            if (c == 0xC0 || c == 0xC1 || c > 0xF4) {
                i++;
                if (!tc_sb_put(&p->text, REPL, 3)) return false;
                continue;
            }
            p->pend[p->npend++] = c;
            i++;
        } else {
            i++;
            if (!tc_sb_put(&p->text, REPL, 3)) return false;
        }
    }
    return true;
}

static void make_id(const cllm_chat_parser *p, size_t index, char *out, size_t cap) {
    /* FNV-1a of seed and index: deterministic so a stream and a whole parse agree */
    uint64_t h = 1469598103934665603ull;
    for (const char *q = p->id_seed; *q; q++) h = (h ^ (unsigned char)*q) * 1099511628211ull;
    for (int k = 0; k < 8; k++) h = (h ^ ((index >> (8 * k)) & 0xFF)) * 1099511628211ull;
    snprintf(out, cap, "call_%016llx", (unsigned long long)h);
}

static json_t *call_json(const cllm_chat_parser *p, const pcall *c, size_t index, bool with_index, const char *args,
                         size_t args_n, bool header) {
    json_t *o = json_object();
    if (with_index) json_object_set_new(o, "index", json_integer((json_int_t)index));
    json_t *fn = json_object();
    if (header) {
        char id[40];
        if (c->id.n) json_object_set_new(o, "id", json_stringn(c->id.p, c->id.n));
        else {
            make_id(p, index, id, sizeof id);
            json_object_set_new(o, "id", json_string(id));
        }
        json_object_set_new(o, "type", json_string("function"));
        json_object_set_new(fn, "name", json_stringn(c->name.p ? c->name.p : "", c->name.n));
    }
    json_object_set_new(fn, "arguments", json_stringn(args ? args : "", args_n));
    json_object_set_new(o, "function", fn);
    return o;
}

/* Diff the current parse against what was emitted; returns a delta or NULL. */
static json_t *make_delta(cllm_chat_parser *p) {
    presult *r = &p->cur;
    json_t *d = json_object();
    if (r->reasoning.n > p->em_reasoning) {
        json_object_set_new(d, "reasoning_content",
                            json_stringn(r->reasoning.p + p->em_reasoning, r->reasoning.n - p->em_reasoning));
        p->em_reasoning = r->reasoning.n;
    }
    if (r->content.n > p->em_content) {
        json_object_set_new(d, "content", json_stringn(r->content.p + p->em_content, r->content.n - p->em_content));
        p->em_content = r->content.n;
    }
    json_t *calls = NULL;
    for (size_t i = 0; i < r->ncalls; i++) {
        pcall *c = &r->calls[i];
        if (!c->name_done) break;
        if (i >= p->em_calls) {
            if (p->em_args_cap <= i) {
                size_t nc = p->em_args_cap ? p->em_args_cap * 2 : 8;
                while (nc <= i) nc *= 2;
                size_t *na = realloc(p->em_args, nc * sizeof(size_t));
                if (!na) { r->oom = true; break; }
                p->em_args = na;
                p->em_args_cap = nc;
            }
            p->em_args[i] = c->args.n;
            p->em_calls = i + 1;
            if (!calls) calls = json_array();
            json_array_append_new(calls, call_json(p, c, i, true, c->args.p, c->args.n, true));
        } else if (c->args.n > p->em_args[i]) {
            if (!calls) calls = json_array();
            json_array_append_new(calls, call_json(p, c, i, true, c->args.p + p->em_args[i], c->args.n - p->em_args[i], false));
            p->em_args[i] = c->args.n;
        }
    }
    if (calls) json_object_set_new(d, "tool_calls", calls);
    if (json_object_size(d) == 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

cllm_status cllm_chat_parser_feed_json(cllm_chat_parser *p, const char *text, size_t n, json_t **delta) {
    if (delta) *delta = NULL;
    if (!p || (!text && n)) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: NULL argument");
    if (p->finished) return cllm_err_set(&p->err, CLLM_ERR_INVALID_ARG, "chat parser: feed after finish");
    if (!clean_append(p, (const unsigned char *)text, n, false))
        return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    tc_parse_all(p->fmt, p->flags, p->text.p ? p->text.p : "", p->text.n, false, &p->cur);
    if (p->cur.oom) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    json_t *d = make_delta(p);
    if (delta) *delta = d;
    else json_decref(d);
    return CLLM_OK;
}

cllm_status cllm_chat_parser_finish_json(cllm_chat_parser *p, json_t **delta) {
    if (delta) *delta = NULL;
    if (!p) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: NULL argument");
    if (!p->finished) {
        if (!clean_append(p, NULL, 0, true)) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
        p->finished = true;
    }
    tc_parse_all(p->fmt, p->flags, p->text.p ? p->text.p : "", p->text.n, true, &p->cur);
    if (p->cur.oom) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    json_t *d = make_delta(p);
    if (delta) *delta = d;
    else json_decref(d);
    return CLLM_OK;
}

json_t *cllm_chat_parser_message_json(const cllm_chat_parser *p) {
    if (!p) return NULL;
    const presult *r = &p->cur;
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string("assistant"));
    bool has_calls = false;
    for (size_t i = 0; i < r->ncalls; i++) has_calls |= r->calls[i].name_done;
    if (r->content.n || !has_calls) json_object_set_new(m, "content", json_stringn(r->content.p ? r->content.p : "", r->content.n));
    else json_object_set_new(m, "content", json_null());
    if (r->reasoning.n) json_object_set_new(m, "reasoning_content", json_stringn(r->reasoning.p, r->reasoning.n));
    if (has_calls) {
        json_t *calls = json_array();
        for (size_t i = 0; i < r->ncalls; i++) {
            const pcall *c = &r->calls[i];
            if (!c->name_done) break;
            json_array_append_new(calls, call_json(p, c, i, false, c->args.p, c->args.n, true));
        }
        json_object_set_new(m, "tool_calls", calls);
    }
    return m;
}

static cllm_status dump_out(cllm_chat_parser *p, json_t *j, char **out) {
    *out = NULL;
    if (!j) return CLLM_OK;
    *out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!*out) return cllm_err_set(&p->err, CLLM_ERR_NOMEM, "chat parser: out of memory");
    return CLLM_OK;
}

cllm_status cllm_chat_parser_feed(cllm_chat_parser *p, const char *text, size_t n, char **delta_json) {
    json_t *d = NULL;
    cllm_status st = cllm_chat_parser_feed_json(p, text, n, &d);
    if (!delta_json) { json_decref(d); return st; }
    *delta_json = NULL;
    if (st != CLLM_OK) return st;
    return dump_out(p, d, delta_json);
}

cllm_status cllm_chat_parser_finish(cllm_chat_parser *p, char **delta_json) {
    json_t *d = NULL;
    cllm_status st = cllm_chat_parser_finish_json(p, &d);
    if (!delta_json) { json_decref(d); return st; }
    *delta_json = NULL;
    if (st != CLLM_OK) return st;
    return dump_out(p, d, delta_json);
}

cllm_status cllm_chat_parser_message(cllm_chat_parser *p, char **message_json) {
    if (!p || !message_json) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "chat parser: NULL argument");
    return dump_out(p, cllm_chat_parser_message_json(p), message_json);
}
