/* jinja_lexer.c: splits a template into text and tag tokens, applying the
 * whitespace rules of Hugging Face's environment: trim_blocks (drop the first
 * newline after a block or comment tag), lstrip_blocks (drop spaces/tabs
 * before a block or comment tag at the start of a line), the -/+ modifiers,
 * and the dropped trailing newline of the source (keep_trailing_newline off).
 * Inside tags it produces names, literals and operators; brackets are
 * balanced so that `}}` inside a dict literal does not end a tag. */
#include "chat/jinja.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexpos { size_t off; int line, col; } lexpos;

static void lc_at(jparse_state *ps, lexpos *lp, size_t off) {
    if (off < lp->off) { lp->off = 0; lp->line = 1; lp->col = 1; }
    while (lp->off < off && lp->off < ps->srcn) {
        if (ps->src[lp->off] == '\n') { lp->line++; lp->col = 1; }
        else if (((unsigned char)ps->src[lp->off] & 0xC0) != 0x80) lp->col++;
        lp->off++;
    }
}

void jinja_syntax_error(jparse_state *ps, int line, int col, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, sizeof ps->err, "line %d column %d: %s", line, col, msg);
    ps->err_kind = JE_SYNTAX;
    longjmp(ps->jb, 1);
}

static jtoken *push_tok(jparse_state *ps, lexpos *lp, int type, size_t off) {
    if (ps->ntok == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 256;
        jtoken *nt = ja_alloc(ps->arena, nc * sizeof(jtoken));
        if (!nt) {
            ps->err_kind = JE_NOMEM;
            snprintf(ps->err, sizeof ps->err, "out of memory");
            longjmp(ps->jb, 1);
        }
        if (ps->ntok) memcpy(nt, ps->toks, ps->ntok * sizeof(jtoken));
        ps->toks = nt;
        ps->cap = nc;
    }
    jtoken *t = &ps->toks[ps->ntok++];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    lc_at(ps, lp, off);
    t->line = lp->line;
    t->col = lp->col;
    return t;
}

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'; }
static bool is_name0(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static void put_u8(char *d, size_t *n, uint32_t cp) {
    if (cp < 0x80) d[(*n)++] = (char)cp;
    else if (cp < 0x800) { d[(*n)++] = (char)(0xC0 | (cp >> 6)); d[(*n)++] = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
        d[(*n)++] = (char)(0xE0 | (cp >> 12)); d[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        d[(*n)++] = (char)(0xF0 | (cp >> 18)); d[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        d[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F)); d[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* A quoted string starting at src[p] (the quote); returns the offset after
 * the closing quote. Escapes follow Python string literals. */
static size_t lex_string(jparse_state *ps, lexpos *lp, size_t p, jtoken *t) {
    const char *s = ps->src;
    char q = s[p];
    size_t i = p + 1, end = ps->srcn;
    size_t close = i;
    while (close < end && s[close] != q) {
        if (s[close] == '\\') close++;
        close++;
    }
    if (close >= end) {
        lc_at(ps, lp, p);
        jinja_syntax_error(ps, lp->line, lp->col, "unterminated string literal");
    }
    char *d = ja_alloc(ps->arena, (close - i) + 1);
    if (!d) { ps->err_kind = JE_NOMEM; longjmp(ps->jb, 1); }
    size_t n = 0;
    while (i < close) {
        char ch = s[i];
        if (ch != '\\') { d[n++] = ch; i++; continue; }
        char e = s[i + 1];
        i += 2;
        switch (e) {
        case 'n': d[n++] = '\n'; break;
        case 't': d[n++] = '\t'; break;
        case 'r': d[n++] = '\r'; break;
        case 'b': d[n++] = '\b'; break;
        case 'f': d[n++] = '\f'; break;
        case 'v': d[n++] = '\v'; break;
        case 'a': d[n++] = '\a'; break;
        case '0': d[n++] = '\0'; break;
        case '\\': d[n++] = '\\'; break;
        case '\'': d[n++] = '\''; break;
        case '"': d[n++] = '"'; break;
        case '\n': break;
        case 'x': case 'u': case 'U': {
            int want = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            int k;
            for (k = 0; k < want && i + (size_t)k < close; k++) {
                int h = hexval(s[i + (size_t)k]);
                if (h < 0) break;
                cp = cp * 16 + (uint32_t)h;
            }
            if (k != want || cp > 0x10FFFF) {
                lc_at(ps, lp, i);
                jinja_syntax_error(ps, lp->line, lp->col, "bad \\%c escape in string literal", e);
            }
            i += (size_t)want;
            /* \u escapes take more bytes than they encode only for cp >= 0x10000
             * with \U (10 source bytes for 4 output bytes), so d is big enough. */
            put_u8(d, &n, cp);
            break;
        }
        default: d[n++] = '\\'; d[n++] = e; break;
        }
    }
    d[n] = 0;
    t->s = d;
    t->n = n;
    return close + 1;
}

static const char *const OPS2[] = {"//", "**", "==", "!=", "<=", ">=", NULL};
static const char OPS1[] = "+-*/%~<>=()[]{},.:|";

/* Tokens of one tag body, from p; returns the offset after the closing
 * delimiter, and sets *strip_after when it was `-%}` / `-}}`. */
static size_t lex_tag(jparse_state *ps, lexpos *lp, size_t p, bool block, bool *strip_after) {
    const char *s = ps->src;
    size_t n = ps->srcn;
    int depth = 0;
    char endc = block ? '%' : '}';
    for (;;) {
        while (p < n && is_ws(s[p])) p++;
        if (p >= n) {
            lc_at(ps, lp, p);
            jinja_syntax_error(ps, lp->line, lp->col, "unexpected end of template, expected '%s'",
                               block ? "%}" : "}}");
        }
        if (depth == 0) {
            if (s[p] == '-' && p + 2 < n + 0 && s[p + 1] == endc && s[p + 2] == '}') {
                push_tok(ps, lp, block ? T_BLOCK_END : T_VAR_END, p);
                *strip_after = true;
                return p + 3;
            }
            if (s[p] == endc && p + 1 < n && s[p + 1] == '}') {
                push_tok(ps, lp, block ? T_BLOCK_END : T_VAR_END, p);
                *strip_after = false;
                return p + 2;
            }
        }
        char ch = s[p];
        if (is_name0(ch)) {
            size_t q = p;
            while (q < n && (is_name0(s[q]) || is_digit(s[q]))) q++;
            jtoken *t = push_tok(ps, lp, T_NAME, p);
            char *d = ja_alloc(ps->arena, q - p + 1);
            if (!d) { ps->err_kind = JE_NOMEM; longjmp(ps->jb, 1); }
            memcpy(d, s + p, q - p);
            t->s = d;
            t->n = q - p;
            p = q;
            continue;
        }
        if (is_digit(ch)) {
            size_t q = p;
            bool is_float = false;
            while (q < n && (is_digit(s[q]) || s[q] == '_')) q++;
            if (q + 1 < n && s[q] == '.' && is_digit(s[q + 1])) {
                is_float = true;
                q++;
                while (q < n && (is_digit(s[q]) || s[q] == '_')) q++;
            }
            if (q < n && (s[q] == 'e' || s[q] == 'E')) {
                size_t r = q + 1;
                if (r < n && (s[r] == '+' || s[r] == '-')) r++;
                if (r < n && is_digit(s[r])) {
                    is_float = true;
                    q = r;
                    while (q < n && is_digit(s[q])) q++;
                }
            }
            char buf[64];
            size_t bn = 0;
            for (size_t k = p; k < q && bn < sizeof buf - 1; k++)
                if (s[k] != '_') buf[bn++] = s[k];
            buf[bn] = 0;
            jtoken *t = push_tok(ps, lp, is_float ? T_FLOAT : T_INT, p);
            if (is_float) t->f = strtod(buf, NULL);
            else t->i = strtoll(buf, NULL, 10);
            p = q;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            jtoken *t = push_tok(ps, lp, T_STRING, p);
            p = lex_string(ps, lp, p, t);
            continue;
        }
        const char *op = NULL;
        size_t oplen = 0;
        for (int k = 0; OPS2[k]; k++)
            if (p + 1 < n && s[p] == OPS2[k][0] && s[p + 1] == OPS2[k][1]) { op = OPS2[k]; oplen = 2; break; }
        if (!op) {
            const char *hit = strchr(OPS1, ch);
            if (hit && ch) { op = hit; oplen = 1; }
        }
        if (!op) {
            lc_at(ps, lp, p);
            jinja_syntax_error(ps, lp->line, lp->col, "unexpected char '%c'", ch);
        }
        if (oplen == 1) {
            if (ch == '(' || ch == '[' || ch == '{') depth++;
            else if (ch == ')' || ch == ']' || ch == '}') {
                if (depth == 0) {
                    lc_at(ps, lp, p);
                    jinja_syntax_error(ps, lp->line, lp->col, "unexpected '%c'", ch);
                }
                depth--;
            }
        }
        jtoken *t = push_tok(ps, lp, T_OP, p);
        t->s = s + p;
        t->n = oplen;
        p += oplen;
    }
}

/* The offset of a `{% endraw %}` tag (with optional -), and its end. */
static bool find_endraw(const char *s, size_t n, size_t from, size_t *tag_start, size_t *tag_end,
                        bool *strip_before, bool *strip_after) {
    for (size_t p = from; p + 1 < n; p++) {
        if (s[p] != '{' || s[p + 1] != '%') continue;
        size_t q = p + 2;
        *strip_before = q < n && s[q] == '-';
        if (q < n && (s[q] == '-' || s[q] == '+')) q++;
        while (q < n && is_ws(s[q])) q++;
        if (q + 6 > n || memcmp(s + q, "endraw", 6) != 0) continue;
        q += 6;
        while (q < n && is_ws(s[q])) q++;
        *strip_after = q < n && s[q] == '-';
        if (*strip_after) q++;
        if (q + 1 < n && s[q] == '%' && s[q + 1] == '}') {
            *tag_start = p;
            *tag_end = q + 2;
            return true;
        }
    }
    return false;
}

static void emit_text(jparse_state *ps, lexpos *lp, size_t off, size_t len) {
    if (!len) return;
    jtoken *t = push_tok(ps, lp, T_TEXT, off);
    t->s = ps->src + off;
    t->n = len;
}

void jinja_lex(jparse_state *ps) {
    const char *s = ps->src;
    size_t n = ps->srcn;
    if (n && s[n - 1] == '\n') {   /* keep_trailing_newline=False */
        n--;
        if (n && s[n - 1] == '\r') n--;
    }
    ps->srcn = n;
    lexpos lp = {0, 1, 1};
    size_t pos = 0;
    bool line_starting = true;
    for (;;) {
        size_t k = pos;
        while (k + 1 < n && !(s[k] == '{' && (s[k + 1] == '{' || s[k + 1] == '%' || s[k + 1] == '#'))) k++;
        if (k + 1 >= n) {
            emit_text(ps, &lp, pos, n - pos);
            break;
        }
        char kind = s[k + 1];
        char sign = k + 2 < n ? s[k + 2] : 0;
        size_t tlen = k - pos;
        if (sign == '-') {
            while (tlen && is_ws(s[pos + tlen - 1])) tlen--;
        } else if (sign != '+' && kind != '{') {
            /* lstrip_blocks: only spaces/tabs between the line start and the tag. */
            size_t lpos = tlen;
            while (lpos && s[pos + lpos - 1] != '\n') lpos--;
            if (lpos > 0 || line_starting) {
                bool only = true;
                for (size_t q = lpos; q < tlen; q++)
                    if (s[pos + q] != ' ' && s[pos + q] != '\t') { only = false; break; }
                if (only) tlen = lpos;
            }
        }
        emit_text(ps, &lp, pos, tlen);
        size_t body = k + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
        size_t after;
        bool strip_after = false;
        if (kind == '#') {
            size_t e = body;
            while (e + 1 < n && !(s[e] == '#' && s[e + 1] == '}')) e++;
            if (e + 1 >= n) {
                lc_at(ps, &lp, k);
                jinja_syntax_error(ps, lp.line, lp.col, "missing end of comment tag");
            }
            strip_after = e > body && s[e - 1] == '-';
            after = e + 2;
            if (!strip_after && after < n && s[after] == '\n') after++;   /* trim_blocks */
            else if (!strip_after && after + 1 < n && s[after] == '\r' && s[after + 1] == '\n') after += 2;
        } else {
            bool block = kind == '%';
            /* {% raw %}: everything up to {% endraw %} is text. */
            size_t q = body;
            while (q < n && is_ws(s[q])) q++;
            if (block && q + 3 <= n && memcmp(s + q, "raw", 3) == 0 && !(q + 3 < n && (is_name0(s[q + 3]) || is_digit(s[q + 3])))) {
                size_t r = q + 3;
                while (r < n && is_ws(s[r])) r++;
                bool raw_strip = r < n && s[r] == '-';
                if (raw_strip) r++;
                if (r + 1 < n && s[r] == '%' && s[r + 1] == '}') {
                    size_t bstart = r + 2, ts, te;
                    bool sb, sa;
                    if (raw_strip) while (bstart < n && is_ws(s[bstart])) bstart++;
                    else if (bstart < n && s[bstart] == '\n') bstart++;
                    if (!find_endraw(s, n, bstart, &ts, &te, &sb, &sa)) {
                        lc_at(ps, &lp, k);
                        jinja_syntax_error(ps, lp.line, lp.col, "missing end of raw directive");
                    }
                    size_t blen = ts - bstart;
                    if (sb) while (blen && is_ws(s[bstart + blen - 1])) blen--;
                    else {
                        size_t lpos = blen;
                        while (lpos && s[bstart + lpos - 1] != '\n') lpos--;
                        bool only = true;
                        for (size_t z = lpos; z < blen; z++)
                            if (s[bstart + z] != ' ' && s[bstart + z] != '\t') { only = false; break; }
                        if (only && (lpos > 0)) blen = lpos;
                    }
                    emit_text(ps, &lp, bstart, blen);
                    after = te;
                    if (sa) while (after < n && is_ws(s[after])) after++;
                    else if (after < n && s[after] == '\n') after++;
                    line_starting = after > 0 && s[after - 1] == '\n';
                    pos = after;
                    continue;
                }
            }
            push_tok(ps, &lp, block ? T_BLOCK_BEGIN : T_VAR_BEGIN, k);
            after = lex_tag(ps, &lp, body, block, &strip_after);
            if (!strip_after && block) {
                if (after < n && s[after] == '\n') after++;
                else if (after + 1 < n && s[after] == '\r' && s[after + 1] == '\n') after += 2;
            }
        }
        if (strip_after)
            while (after < n && is_ws(s[after])) after++;
        line_starting = after > 0 && s[after - 1] == '\n';
        pos = after;
    }
    push_tok(ps, &lp, T_EOF, n);
}
