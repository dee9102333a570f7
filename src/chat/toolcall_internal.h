/* toolcall_internal.h: shared internals of the tool-call parser
 * (toolcall_util.c: buffers and scanners; toolcall_formats.c: the model
 * families; toolcall_parse.c: streaming API). Not part of the public API. */
#ifndef CLLM_CHAT_TOOLCALL_INTERNAL_H
#define CLLM_CHAT_TOOLCALL_INTERNAL_H

#include "chat/chat.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* malloc-backed growable byte string, NUL-terminated when non-empty */
typedef struct sbuf { char *p; size_t n, cap; } sbuf;

typedef struct pcall {
    sbuf name, args, id;
    bool name_done;    /* the name is final: the call may be emitted */
    bool args_done;
} pcall;

typedef struct presult {
    sbuf content, reasoning;
    pcall *calls;
    size_t ncalls, cap;
    bool oom;
} presult;

/* One parse over the whole text so far; final = no more text will come. */
typedef struct P {
    const char *s;
    size_t n;
    bool final;
    uint32_t flags;
    presult *r;
} P;

#define NPOS ((size_t)-1)

bool   tc_sb_put(sbuf *b, const char *s, size_t n);   /* false on OOM */
void   tc_sb_free(sbuf *b);
void   tc_sb_reset(sbuf *b);
void   tc_pr_clear(presult *r);
void   tc_pr_free(presult *r);
pcall *tc_pr_call(presult *r);                        /* a new zeroed call; NULL (and r->oom) on OOM */

bool   tc_is_ws(char ch);
size_t tc_find(const char *s, size_t n, size_t from, const char *m);   /* NPOS when absent */
bool   tc_starts(const char *s, size_t n, size_t i, const char *m);
/* Length of the longest suffix of s[0..n) that is a proper prefix of a marker. */
size_t tc_holdback(const char *s, size_t n, const char *const *markers);
void   tc_add_content(P *p, size_t a, size_t b);
size_t tc_json_skip(const char *s, size_t n, size_t i, bool final, bool *complete, bool *ok);
bool   tc_json_str_decode(const char *s, size_t a, size_t b, sbuf *out);
size_t tc_scan_call_object(P *p, size_t i, pcall *c, bool *complete, bool *ok);
void   tc_put_param_value(presult *r, sbuf *args, const char *v, size_t n);
void   tc_put_json_key(presult *r, sbuf *args, const char *k, size_t n);
bool   tc_parse_xml_function(P *p, size_t a, size_t b);
bool   tc_parse_argkey_call(P *p, size_t a, size_t b);
void   tc_parse_call_body(P *p, size_t a, size_t b, bool complete);
json_t *tc_py_value(const char *s, size_t k, size_t stop, size_t *end);
json_t *tc_py_kwargs(const char *s, size_t k, size_t stop);
void   tc_trim(sbuf *b, bool final);

/* Parse s[0..n) in the given format into r (cleared first). */
void   tc_parse_all(cllm_chat_format fmt, uint32_t flags, const char *s, size_t n, bool final, presult *r);

#endif /* CLLM_CHAT_TOOLCALL_INTERNAL_H */
