/* vocab.c: building a cllm_vocab, from a GGUF file's tokenizer.ggml.* keys
 * (cllm_vocab_load) or from a plain description (cllm_vocab_build, used by
 * the loader and by tests with hand-made vocabs), and the vocab getters.
 *
 * The load-time rules follow llama.cpp (llama_vocab::impl::load): per-type
 * default special ids and flags, the auto-detection of EOT/EOM/FIM tokens by
 * text, the end-of-generation set (tokens with known EOG texts are forced to
 * CONTROL), the special-token cache ordered by text length, and the phi-3
 * rstrip attributes. Where llama.cpp walks a hash map in unspecified order
 * (EOT/FIM detection), cllm takes the first text of its list found in the
 * vocab, so the result is deterministic. */
#include "tokenizer/tok_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arena */
/* Piece texts live in fixed chunks that never move, so the map can hold
 * plain pointers while new pieces are added. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

static const char *arena_add(arena_chunk **head, const char *s, size_t n) {
    arena_chunk *c = *head;
    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > ((size_t)1 << 20) ? n + 1 : ((size_t)1 << 20);
        arena_chunk *nc = malloc(sizeof *nc + cap);
        if (!nc) return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        *head = nc;
        c = nc;
    }
    char *p = c->data + c->used;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    c->used += n + 1;
    return p;
}

static void arena_free(arena_chunk *c) {
    while (c) {
        arena_chunk *n = c->next;
        free(c);
        c = n;
    }
}

static const char *v_arena_add(cllm_vocab *v, const char *s, size_t n) {
    arena_chunk *head = v->arena;
    const char *p = arena_add(&head, s, n);
    v->arena = head;
    return p;
}

/* Append a piece that is not yet in the map; returns its id or -1 on OOM. */
static int32_t add_piece(cllm_vocab *v, const char *s, size_t n) {
    if (v->n_pieces == v->pieces_cap) {
        int32_t cap = v->pieces_cap ? v->pieces_cap + v->pieces_cap / 2 : 1024;
        const char **t = realloc((void *)v->text, (size_t)cap * sizeof *t);
        if (!t) return -1;
        v->text = t;
        uint32_t *l = realloc(v->text_len, (size_t)cap * sizeof *l);
        if (!l) return -1;
        v->text_len = l;
        v->pieces_cap = cap;
        v->map.keys = v->text;
        v->map.lens = v->text_len;
    }
    const char *p = v_arena_add(v, s, n);
    if (!p) return -1;
    if (cllm_strmap_reserve(&v->map, (uint32_t)v->n_pieces + 1) != CLLM_OK) return -1;
    int32_t id = v->n_pieces++;
    v->text[id] = p;
    v->text_len[id] = (uint32_t)n;
    cllm_strmap_insert(&v->map, (uint32_t)id);
    return id;
}

static int32_t intern(cllm_vocab *v, const char *s, size_t n) {
    int32_t id = cllm_vocab_piece(v, s, n);
    return id >= 0 ? id : add_piece(v, s, n);
}

/* ----------------------------------------------------------- description */
void cllm_vocab_desc_init(cllm_vocab_desc *d) {
    memset(d, 0, sizeof *d);
    d->bos = d->eos = d->eot = d->eom = d->unk = d->sep = d->pad = d->cls = d->mask = -2;
    d->fim_pre = d->fim_suf = d->fim_mid = d->fim_pad = d->fim_rep = d->fim_sep = -2;
    d->add_bos = d->add_eos = d->add_sep = d->add_space_prefix = d->remove_extra_ws = -1;
    d->lowercase = d->strip_accents = -1;
}

static int32_t find_cstr(const cllm_vocab *v, const char *s) {
    return cllm_vocab_text_to_token(v, s, strlen(s));
}

/* First token of list found in the vocab (-1): llama.cpp's text heuristics. */
static int32_t find_first(const cllm_vocab *v, const char *const *list) {
    for (; *list; list++) {
        int32_t id = find_cstr(v, *list);
        if (id >= 0) return id;
    }
    return -1;
}

static void force_control(cllm_vocab *v, int32_t id) {
    if (id < 0) return;
    if (!(v->attr[id] & CLLM_TOKEN_ATTR_CONTROL)) {
        CLLM_LOGD("vocab: control-looking token %d '%s' was not control-type; overriding", id, v->text[id]);
        v->attr[id] |= CLLM_TOKEN_ATTR_CONTROL;
    }
}

static const char *const k_eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
    "_<EOT>", "[EOT]", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "<end_of_utterance>",
    NULL};
static const char *const k_eom_texts[] = {"<|eom_id|>", NULL};
static const char *const k_fim_pre_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>",
    "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const k_fim_suf_texts[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>",
    "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const k_fim_mid_texts[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>",
    "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL};
static const char *const k_fim_pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const k_fim_rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                              "<reponame>", NULL};
static const char *const k_fim_sep_texts[] = {"<|file_sep|>", NULL};
/* Texts that end generation; such tokens are forced to CONTROL. */
static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~[", NULL};

/* qsort has no context argument in C11: sort an array of (len, id) pairs. */
typedef struct { uint32_t len; int32_t id; } len_id;
static int cmp_len_id(const void *a, const void *b) {
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;   /* longer first */
    return x->id < y->id ? -1 : (x->id > y->id);
}

static void detect_special(cllm_vocab *v) {
    int32_t n = v->n_tokens;
    if (v->eot < 0) { v->eot = find_first(v, k_eot_texts); force_control(v, v->eot); }
    if (v->eom < 0) { v->eom = find_first(v, k_eom_texts); force_control(v, v->eom); }
    if (v->fim_pre < 0) { v->fim_pre = find_first(v, k_fim_pre_texts); force_control(v, v->fim_pre); }
    if (v->fim_suf < 0) { v->fim_suf = find_first(v, k_fim_suf_texts); force_control(v, v->fim_suf); }
    if (v->fim_mid < 0) { v->fim_mid = find_first(v, k_fim_mid_texts); force_control(v, v->fim_mid); }
    if (v->fim_pad < 0) { v->fim_pad = find_first(v, k_fim_pad_texts); force_control(v, v->fim_pad); }
    if (v->fim_rep < 0) { v->fim_rep = find_first(v, k_fim_rep_texts); force_control(v, v->fim_rep); }
    if (v->fim_sep < 0) { v->fim_sep = find_first(v, k_fim_sep_texts); force_control(v, v->fim_sep); }

    /* Control tokens named "unused" are unused. */
    for (int32_t i = 0; i < n; i++)
        if ((v->attr[i] & CLLM_TOKEN_ATTR_CONTROL) && strstr(v->text[i], "unused"))
            v->attr[i] |= CLLM_TOKEN_ATTR_UNUSED;

    memset(v->eog, 0, (size_t)n);
    if (v->fim_pad >= 0) v->eog[v->fim_pad] = 1;
    if (v->fim_rep >= 0) v->eog[v->fim_rep] = 1;
    if (v->fim_sep >= 0) v->eog[v->fim_sep] = 1;
    for (const char *const *t = k_eog_texts; *t; t++) {
        int32_t id = find_cstr(v, *t);
        if (id < 0) continue;
        v->eog[id] = 1;
        force_control(v, id);
    }
    /* gpt-oss: these structural tokens are always rendered. */
    static const char *const k_user[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};
    for (const char *const *t = k_user; *t; t++) {
        int32_t id = find_cstr(v, *t);
        if (id >= 0) v->attr[id] = CLLM_TOKEN_ATTR_USER_DEFINED;
    }
    if (v->eos >= 0) v->eog[v->eos] = 1;
    if (v->eot >= 0) v->eog[v->eot] = 1;
    if (v->eom >= 0) v->eog[v->eom] = 1;

    /* o200k_harmony / solar-open: "<|end|>" is not EOG when the vocab has
     * <|return|>+<|call|> or <|calls|>+<|flush|>. */
    {
        int32_t ret = find_cstr(v, "<|return|>"), call = find_cstr(v, "<|call|>");
        int32_t calls = find_cstr(v, "<|calls|>"), flush = find_cstr(v, "<|flush|>");
        int32_t end = find_cstr(v, "<|end|>");
        bool has_call = (call >= 0 && v->eog[call]) || (calls >= 0 && v->eog[calls]);
        bool has_ret = ret >= 0 && v->eog[ret], has_flush = flush >= 0 && v->eog[flush];
        if (end >= 0 && v->eog[end] && has_call && (has_ret || has_flush)) {
            v->eog[end] = 0;
            v->attr[end] = CLLM_TOKEN_ATTR_USER_DEFINED;
        }
    }
    /* gemma4 / paddleocr: "</s>" is not EOG next to "<|tool_response>". */
    {
        int32_t tr = find_cstr(v, "<|tool_response>"), s = find_cstr(v, "</s>");
        if (tr >= 0 && s >= 0 && v->eog[tr] && v->eog[s]) {
            v->eog[s] = 0;
            v->attr[s] = CLLM_TOKEN_ATTR_NORMAL;
        }
    }
}

static cllm_status build_special_cache(cllm_vocab *v) {
    int32_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->attr[i] & (CLLM_TOKEN_ATTR_CONTROL | CLLM_TOKEN_ATTR_USER_DEFINED | CLLM_TOKEN_ATTR_UNKNOWN)) n++;
    len_id *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    v->special = malloc((size_t)(n ? n : 1) * sizeof *v->special);
    if (!tmp || !v->special) { free(tmp); return CLLM_ERR_NOMEM; }
    n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->attr[i] & (CLLM_TOKEN_ATTR_CONTROL | CLLM_TOKEN_ATTR_USER_DEFINED | CLLM_TOKEN_ATTR_UNKNOWN)) {
            tmp[n].len = v->text_len[i];
            tmp[n].id = i;
            n++;
        }
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_len_id);
    for (int32_t i = 0; i < n; i++) v->special[i] = tmp[i].id;
    v->n_special = n;
    free(tmp);
    return CLLM_OK;
}

static void lower_copy(char *dst, size_t cap, const char *src) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++) dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = 0;
}

/* Per-model token attributes llama.cpp sets by name. */
static void name_attrs(cllm_vocab *v, const char *name) {
    char lname[256];
    lower_copy(lname, sizeof lname, name);
    if (strstr(v->pre_name, "jina-v2-de") || strstr(v->pre_name, "jina-v2-es") ||
        strstr(v->pre_name, "jina-v2-code")) {
        int32_t id = find_cstr(v, "<mask>");
        if (id >= 0) v->attr[id] |= CLLM_TOKEN_ATTR_LSTRIP;
    } else if (strstr(lname, "phi-3") || strstr(lname, "phi3")) {
        for (int32_t i = 0; i < v->n_special; i++) v->attr[v->special[i]] |= CLLM_TOKEN_ATTR_RSTRIP;
        int32_t id = find_cstr(v, "</s>");
        if (id >= 0) v->attr[id] |= CLLM_TOKEN_ATTR_RSTRIP;
        static const char *const k_no[] = {"<unk>", "<s>", "<|endoftext|>", NULL};
        for (const char *const *t = k_no; *t; t++) {
            id = find_cstr(v, *t);
            if (id >= 0) v->attr[id] &= ~(uint32_t)CLLM_TOKEN_ATTR_RSTRIP;
        }
    } else if (strstr(lname, "modern-bert")) {
        int32_t id = find_cstr(v, "[MASK]");
        if (id >= 0) v->attr[id] |= CLLM_TOKEN_ATTR_LSTRIP;
    }
}

static cllm_status parse_merges(cllm_vocab *v, const cllm_vocab_desc *d) {
    if (cllm_mergemap_init(&v->merges, (uint32_t)(d->n_merges > 0 ? d->n_merges : 16)) != CLLM_OK)
        return cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory for %lld merges", (long long)d->n_merges);
    char *buf = NULL;
    size_t buf_cap = 0;
    for (int64_t i = 0; i < d->n_merges; i++) {
        const char *m = d->merges[i];
        size_t n = d->merge_lens ? d->merge_lens[i] : strlen(m);
        /* "left right": split at the first space after the first byte. */
        const char *sp = n > 1 ? memchr(m + 1, ' ', n - 1) : NULL;
        if (!sp) {
            CLLM_LOGD("vocab: merge %lld has no separator; ignored", (long long)i);
            continue;
        }
        size_t ln = (size_t)(sp - m), rn = n - ln - 1;
        if (buf_cap < ln + rn) {
            buf_cap = (ln + rn) * 2 + 64;
            char *nb = realloc(buf, buf_cap);
            if (!nb) { free(buf); return cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory"); }
            buf = nb;
        }
        int32_t l = intern(v, m, ln);
        int32_t r = intern(v, sp + 1, rn);
        memcpy(buf, m, ln);
        memcpy(buf + ln, sp + 1, rn);
        int32_t res = intern(v, buf, ln + rn);
        if (l < 0 || r < 0 || res < 0 ||
            cllm_mergemap_put(&v->merges, ((uint64_t)(uint32_t)l << 32) | (uint32_t)r, (int32_t)i, res) != CLLM_OK) {
            free(buf);
            return cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory at merge %lld", (long long)i);
        }
    }
    free(buf);
    return CLLM_OK;
}

/* Resolve a given special id: -2 keeps the default (disabled when out of
 * range), -1 disables, out-of-range values are ignored with a warning. */
static int32_t resolve_id(const char *what, int32_t def, int32_t given, int32_t n) {
    if (def >= n) {
        if (given == -2) CLLM_LOGD("vocab: default %s id %d out of range; disabled", what, def);
        def = -1;
    }
    if (given == -2) return def;
    if (given < 0) return -1;
    if (given >= n) {
        CLLM_LOGW("vocab: %s id %d out of range (n_tokens %d); using %d", what, given, n, def);
        return def;
    }
    return given;
}

cllm_status cllm_vocab_build(const cllm_vocab_desc *d, cllm_vocab **out) {
    *out = NULL;
    if (!d || !d->model) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "vocab: no tokenizer model");
    cllm_vocab_type type;
    if (!strcmp(d->model, "llama")) type = CLLM_VOCAB_SPM;
    else if (!strcmp(d->model, "gpt2")) type = CLLM_VOCAB_BPE;
    else if (!strcmp(d->model, "bert")) type = CLLM_VOCAB_WPM;
    else
        return cllm_set_last_error(CLLM_ERR_UNSUPPORTED,
                                   "tokenizer.ggml.model '%s' is not supported (known: llama, gpt2, bert)", d->model);
    if (d->n_tokens <= 0 || !d->texts)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.tokens is missing or empty");
    if (type == CLLM_VOCAB_BPE && d->n_merges > 0 && !d->merges)
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "vocab: merges count without merges");

    cllm_vocab *v = calloc(1, sizeof *v);
    if (!v) return cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory");
    cllm_status st = CLLM_OK;
    int32_t n = d->n_tokens;
    v->type = type;
    snprintf(v->model_name, sizeof v->model_name, "%s", d->model);
    snprintf(v->pre_name, sizeof v->pre_name, "%s", d->pre ? d->pre : "");
    v->n_tokens = n;
    v->score = calloc((size_t)n, sizeof *v->score);
    v->attr = calloc((size_t)n, sizeof *v->attr);
    v->eog = calloc((size_t)n, 1);
    if (!v->score || !v->attr || !v->eog) { st = CLLM_ERR_NOMEM; goto oom; }
    v->pieces_cap = n + 1024;
    v->text = malloc((size_t)v->pieces_cap * sizeof *v->text);
    v->text_len = malloc((size_t)v->pieces_cap * sizeof *v->text_len);
    if (!v->text || !v->text_len) { st = CLLM_ERR_NOMEM; goto oom; }
    for (int32_t i = 0; i < n; i++) {
        const char *t = d->texts[i];
        size_t len = d->lens ? d->lens[i] : (t ? strlen(t) : 0);
        char tmp[32];
        if (!t || len == 0) {
            /* llama.cpp renames empty tokens so that every text is unique. */
            CLLM_LOGW("vocab: empty token at index %d", i);
            snprintf(tmp, sizeof tmp, "[EMPTY_%d]", i);
            t = tmp;
            len = strlen(tmp);
        }
        const char *p = v_arena_add(v, t, len);
        if (!p) { st = CLLM_ERR_NOMEM; goto oom; }
        v->text[i] = p;
        v->text_len[i] = (uint32_t)len;
        if ((int32_t)len > v->max_token_len) v->max_token_len = (int32_t)len;
        v->score[i] = d->scores ? d->scores[i] : 0.0f;
        uint32_t a = CLLM_TOKEN_ATTR_NORMAL;
        if (d->types) {
            switch (d->types[i]) {
            case CLLM_TOKTYPE_UNKNOWN: a = CLLM_TOKEN_ATTR_UNKNOWN; break;
            case CLLM_TOKTYPE_UNUSED: a = CLLM_TOKEN_ATTR_UNUSED; break;
            case CLLM_TOKTYPE_NORMAL: a = CLLM_TOKEN_ATTR_NORMAL; break;
            case CLLM_TOKTYPE_CONTROL: a = CLLM_TOKEN_ATTR_CONTROL; break;
            case CLLM_TOKTYPE_USER_DEFINED: a = CLLM_TOKEN_ATTR_USER_DEFINED; break;
            case CLLM_TOKTYPE_BYTE: a = CLLM_TOKEN_ATTR_BYTE; break;
            default: a = 0; break;
            }
        }
        v->attr[i] = a;
    }
    v->n_pieces = n;
    /* text -> id; a duplicate text keeps the id of its first occurrence
     * (llama.cpp rejects such vocabs; cllm warns and goes on). */
    v->map.keys = v->text;
    v->map.lens = v->text_len;
    if (cllm_strmap_reserve(&v->map, (uint32_t)n) != CLLM_OK) { st = CLLM_ERR_NOMEM; goto oom; }
    for (int32_t i = 0; i < n; i++)
        if (!cllm_strmap_insert(&v->map, (uint32_t)i))
            CLLM_LOGW("vocab: duplicate token text '%s' at id %d; id %d keeps it", v->text[i], i,
                      cllm_vocab_piece(v, v->text[i], v->text_len[i]));

    /* Per-type defaults (llama.cpp). */
    int32_t def_bos = -1, def_eos = -1, def_unk = -1, def_sep = -1, def_pad = -1, def_mask = -1;
    switch (type) {
    case CLLM_VOCAB_SPM:
        def_bos = 1; def_eos = 2; def_unk = 0;
        v->add_space_prefix = true;
        v->clean_spaces = false;
        v->add_bos = true;
        v->escape_whitespaces = true;
        break;
    case CLLM_VOCAB_WPM:
        def_bos = 101; def_unk = 100; def_sep = 102; def_pad = 0; def_mask = 103;
        v->add_bos = true;
        v->add_sep = true;
        v->clean_spaces = true;
        break;
    case CLLM_VOCAB_BPE:
        def_bos = 11; def_eos = 11;
        v->clean_spaces = true;
        st = cllm_pretok_create(v->pre_name, v, &v->pretok);
        if (st != CLLM_OK) goto fail;
        break;
    }
    if (d->add_space_prefix >= 0) v->add_space_prefix = d->add_space_prefix;
    if (d->remove_extra_ws >= 0) v->remove_extra_ws = d->remove_extra_ws;

    v->bos = resolve_id("bos", def_bos, d->bos, n);
    v->eos = resolve_id("eos", def_eos, d->eos, n);
    v->eot = resolve_id("eot", -1, d->eot, n);
    v->eom = resolve_id("eom", -1, d->eom, n);
    v->unk = resolve_id("unk", def_unk, d->unk, n);
    v->sep = resolve_id("sep", def_sep, d->sep, n);
    v->pad = resolve_id("pad", def_pad, d->pad, n);
    v->mask = resolve_id("mask", def_mask, d->mask, n);
    v->cls = resolve_id("cls", v->bos, d->cls, n);
    v->fim_pre = resolve_id("fim_pre", -1, d->fim_pre, n);
    v->fim_suf = resolve_id("fim_suf", -1, d->fim_suf, n);
    v->fim_mid = resolve_id("fim_mid", -1, d->fim_mid, n);
    v->fim_pad = resolve_id("fim_pad", -1, d->fim_pad, n);
    v->fim_rep = resolve_id("fim_rep", -1, d->fim_rep, n);
    v->fim_sep = resolve_id("fim_sep", -1, d->fim_sep, n);

    if (d->add_bos >= 0) v->add_bos = d->add_bos;
    if (d->add_eos >= 0) v->add_eos = d->add_eos;
    if (d->add_sep >= 0) v->add_sep = d->add_sep;
    if (v->add_bos && v->bos < 0) {
        st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.add_bos_token is true, but no bos_token_id");
        goto fail;
    }
    if (v->add_eos && v->eos < 0) {
        st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.add_eos_token is true, but no eos_token_id");
        goto fail;
    }
    if (v->add_sep && v->sep < 0) {
        st = cllm_set_last_error(CLLM_ERR_FORMAT,
                                 "vocab: tokenizer.ggml.add_sep_token is true, but no seperator_token_id");
        goto fail;
    }
    v->wpm_lowercase = d->lowercase >= 0 ? d->lowercase : true;
    v->wpm_strip_accents = d->strip_accents >= 0 ? d->strip_accents : v->wpm_lowercase;

    detect_special(v);
    st = build_special_cache(v);
    if (st != CLLM_OK) goto oom;
    name_attrs(v, d->name);

    /* Byte tokens. */
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        int32_t id = find_cstr(v, hex);
        if (id < 0) {
            char c = (char)b;
            id = cllm_vocab_text_to_token(v, &c, 1);
        }
        v->byte_token[b] = id;
        char u[4];
        size_t ul = cllm_utf8_encode(cllm_gpt2_byte_to_cp((uint8_t)b), u);
        v->byte_piece[b] = -1;
        if (type == CLLM_VOCAB_BPE) v->byte_piece[b] = cllm_vocab_piece(v, u, ul);
    }

    if (type == CLLM_VOCAB_SPM) {
        for (int32_t i = 0; i < n; i++) {
            const char *t = v->text[i];
            for (uint32_t k = 1; k + 3 <= v->text_len[i]; k++)
                if (!memcmp(t + k, CLLM_ESCAPED_SPACE, 3)) v->spm_glue_before_space[(unsigned char)t[k - 1]] = 1;
        }
    }
    if (type == CLLM_VOCAB_BPE) {
        st = parse_merges(v, d);
        if (st != CLLM_OK) goto fail;
        /* Merges may have added pieces for byte characters. */
        for (int b = 0; b < 256; b++) {
            char u[4];
            size_t ul = cllm_utf8_encode(cllm_gpt2_byte_to_cp((uint8_t)b), u);
            v->byte_piece[b] = cllm_vocab_piece(v, u, ul);
        }
    }

    /* The newline token. */
    if (type == CLLM_VOCAB_SPM) {
        v->nl = v->byte_token['\n'] >= 0 ? v->byte_token['\n'] : v->pad;
    } else if (type == CLLM_VOCAB_WPM) {
        v->nl = v->pad;
    } else {
        cllm_tokbuf tb = {0};
        cllm_bpe_tokenize(v, "\n", 1, &tb);
        v->nl = tb.n > 0 ? tb.ids[0] : v->pad;
        free(tb.ids);
    }
    *out = v;
    return CLLM_OK;

oom:
    st = cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory building a %d-token vocab", n);
fail:
    cllm_vocab_free(v);
    return st;
}

void cllm_vocab_free(cllm_vocab *v) {
    if (!v) return;
    arena_free(v->arena);
    free((void *)v->text);
    free(v->text_len);
    free(v->score);
    free(v->attr);
    free(v->eog);
    free(v->special);
    cllm_strmap_free(&v->map);
    cllm_mergemap_free(&v->merges);
    cllm_pretok_free(v->pretok);
    free(v);
}

/* ------------------------------------------------------------ from GGUF */
static int32_t gguf_id(const cllm_gguf *g, const char *key) {
    int64_t x;
    if (cllm_gguf_find_key(g, key) < 0) return -2;
    if (cllm_gguf_get_i64(g, key, &x) != CLLM_OK) {
        CLLM_LOGW("vocab: %s is not an integer; ignored", key);
        return -2;
    }
    /* Converters write "no such token" as -1, which a uint32 key stores as
     * 0xFFFFFFFF: both mean absent, not an out-of-range id. */
    if (x < 0 || x == (int64_t)UINT32_MAX) return -1;
    return x > INT32_MAX ? INT32_MAX : (int32_t)x;
}

static int8_t gguf_flag(const cllm_gguf *g, const char *key) {
    bool b;
    if (cllm_gguf_find_key(g, key) < 0) return -1;
    if (cllm_gguf_get_bool(g, key, &b) != CLLM_OK) {
        CLLM_LOGW("vocab: %s is not a bool; ignored", key);
        return -1;
    }
    return b ? 1 : 0;
}

cllm_status cllm_vocab_load(const cllm_gguf *g, cllm_vocab **out) {
    if (!out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_vocab_load: out is NULL");
    *out = NULL;
    if (!g) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "cllm_vocab_load: gguf is NULL");
    cllm_vocab_desc d;
    cllm_vocab_desc_init(&d);
    const char *model = NULL;
    if (cllm_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL) != CLLM_OK)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.model is missing or not a string");
    d.model = model;
    const char *pre = NULL, *name = NULL;
    if (cllm_gguf_find_key(g, "tokenizer.ggml.pre") >= 0 &&
        cllm_gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL) != CLLM_OK)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.pre is not a string");
    d.pre = pre;
    if (cllm_gguf_find_key(g, "general.name") >= 0) cllm_gguf_get_str(g, "general.name", &name, NULL);
    d.name = name;

    int64_t ti = cllm_gguf_find_key(g, "tokenizer.ggml.tokens");
    if (ti < 0) return cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.tokens is missing");
    if (cllm_gguf_kv_type(g, ti) != CLLM_GGUF_ARRAY || cllm_gguf_arr_type(g, ti) != CLLM_GGUF_STRING)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.tokens is not an array of strings");
    uint64_t n = cllm_gguf_arr_n(g, ti);
    if (n == 0 || n > INT32_MAX / 4)
        return cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.tokens has %llu entries",
                                   (unsigned long long)n);
    d.n_tokens = (int32_t)n;

    cllm_status st = CLLM_OK;
    const char **texts = malloc(n * sizeof *texts);
    uint32_t *lens = malloc(n * sizeof *lens);
    float *scores = NULL;
    int32_t *types = NULL;
    const char **merges = NULL;
    uint32_t *merge_lens = NULL;
    if (!texts || !lens) { st = cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory"); goto done; }
    for (uint64_t i = 0; i < n; i++) {
        size_t l = 0;
        texts[i] = cllm_gguf_arr_str(g, ti, i, &l);
        if (!texts[i] || l > UINT32_MAX) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: token %llu is unreadable", (unsigned long long)i);
            goto done;
        }
        lens[i] = (uint32_t)l;
    }
    d.texts = texts;
    d.lens = lens;

    int64_t si = cllm_gguf_find_key(g, "tokenizer.ggml.scores");
    if (si >= 0) {
        cllm_gguf_type at = cllm_gguf_arr_type(g, si);
        if (cllm_gguf_kv_type(g, si) != CLLM_GGUF_ARRAY || (at != CLLM_GGUF_FLOAT32 && at != CLLM_GGUF_INT32)) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.scores is not a float32/int32 array");
            goto done;
        }
        if (cllm_gguf_arr_n(g, si) < n) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.scores has %llu entries < %llu tokens",
                                     (unsigned long long)cllm_gguf_arr_n(g, si), (unsigned long long)n);
            goto done;
        }
        scores = malloc(n * sizeof *scores);
        if (!scores) { st = cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory"); goto done; }
        const unsigned char *raw = cllm_gguf_arr_data(g, si);
        for (uint64_t i = 0; i < n; i++) {
            if (at == CLLM_GGUF_FLOAT32) {
                memcpy(&scores[i], raw + 4 * i, 4);
            } else {
                int32_t x;
                memcpy(&x, raw + 4 * i, 4);
                scores[i] = (float)x;
            }
        }
        d.scores = scores;
    }
    int64_t yi = cllm_gguf_find_key(g, "tokenizer.ggml.token_type");
    if (yi >= 0) {
        if (cllm_gguf_kv_type(g, yi) != CLLM_GGUF_ARRAY || cllm_gguf_arr_type(g, yi) != CLLM_GGUF_INT32) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.token_type is not an int32 array");
            goto done;
        }
        if (cllm_gguf_arr_n(g, yi) < n) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.token_type has %llu entries < %llu tokens",
                                     (unsigned long long)cllm_gguf_arr_n(g, yi), (unsigned long long)n);
            goto done;
        }
        types = malloc(n * sizeof *types);
        if (!types) { st = cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory"); goto done; }
        memcpy(types, cllm_gguf_arr_data(g, yi), n * 4);
        d.types = types;
    }
    int64_t mi = cllm_gguf_find_key(g, "tokenizer.ggml.merges");
    if (!strcmp(model, "gpt2")) {
        if (mi < 0) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: BPE vocab without tokenizer.ggml.merges");
            goto done;
        }
    }
    if (mi >= 0 && !strcmp(model, "gpt2")) {
        if (cllm_gguf_kv_type(g, mi) != CLLM_GGUF_ARRAY || cllm_gguf_arr_type(g, mi) != CLLM_GGUF_STRING) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: tokenizer.ggml.merges is not an array of strings");
            goto done;
        }
        uint64_t nm = cllm_gguf_arr_n(g, mi);
        if (nm > INT32_MAX / 4) {
            st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: %llu merges is too many", (unsigned long long)nm);
            goto done;
        }
        merges = malloc((nm ? nm : 1) * sizeof *merges);
        merge_lens = malloc((nm ? nm : 1) * sizeof *merge_lens);
        if (!merges || !merge_lens) { st = cllm_set_last_error(CLLM_ERR_NOMEM, "vocab: out of memory"); goto done; }
        for (uint64_t i = 0; i < nm; i++) {
            size_t l = 0;
            merges[i] = cllm_gguf_arr_str(g, mi, i, &l);
            if (!merges[i] || l > UINT32_MAX) {
                st = cllm_set_last_error(CLLM_ERR_FORMAT, "vocab: merge %llu is unreadable", (unsigned long long)i);
                goto done;
            }
            merge_lens[i] = (uint32_t)l;
        }
        d.n_merges = (int64_t)nm;
        d.merges = merges;
        d.merge_lens = merge_lens;
    }

    d.bos = gguf_id(g, "tokenizer.ggml.bos_token_id");
    d.eos = gguf_id(g, "tokenizer.ggml.eos_token_id");
    d.eot = gguf_id(g, "tokenizer.ggml.eot_token_id");
    d.eom = gguf_id(g, "tokenizer.ggml.eom_token_id");
    d.unk = gguf_id(g, "tokenizer.ggml.unknown_token_id");
    d.sep = gguf_id(g, "tokenizer.ggml.seperator_token_id");
    d.pad = gguf_id(g, "tokenizer.ggml.padding_token_id");
    d.cls = gguf_id(g, "tokenizer.ggml.cls_token_id");
    d.mask = gguf_id(g, "tokenizer.ggml.mask_token_id");
    d.fim_pre = gguf_id(g, "tokenizer.ggml.fim_pre_token_id");
    d.fim_suf = gguf_id(g, "tokenizer.ggml.fim_suf_token_id");
    d.fim_mid = gguf_id(g, "tokenizer.ggml.fim_mid_token_id");
    d.fim_pad = gguf_id(g, "tokenizer.ggml.fim_pad_token_id");
    d.fim_rep = gguf_id(g, "tokenizer.ggml.fim_rep_token_id");
    d.fim_sep = gguf_id(g, "tokenizer.ggml.fim_sep_token_id");
    /* Deprecated spellings of the FIM ids. */
    if (d.fim_pre == -2) d.fim_pre = gguf_id(g, "tokenizer.ggml.prefix_token_id");
    if (d.fim_suf == -2) d.fim_suf = gguf_id(g, "tokenizer.ggml.suffix_token_id");
    if (d.fim_mid == -2) d.fim_mid = gguf_id(g, "tokenizer.ggml.middle_token_id");
    d.add_bos = gguf_flag(g, "tokenizer.ggml.add_bos_token");
    d.add_eos = gguf_flag(g, "tokenizer.ggml.add_eos_token");
    d.add_sep = gguf_flag(g, "tokenizer.ggml.add_sep_token");
    d.add_space_prefix = gguf_flag(g, "tokenizer.ggml.add_space_prefix");
    d.remove_extra_ws = gguf_flag(g, "tokenizer.ggml.remove_extra_whitespaces");
    d.lowercase = gguf_flag(g, "tokenizer.ggml.normalizer.lowercase");
    d.strip_accents = gguf_flag(g, "tokenizer.ggml.normalizer.strip_accents");

    st = cllm_vocab_build(&d, out);
done:
    free(texts);
    free(lens);
    free(scores);
    free(types);
    free(merges);
    free(merge_lens);
    return st;
}

/* --------------------------------------------------------------- getters */
const char *cllm_vocab_last_error(const cllm_vocab *v) { return v ? v->err.msg : ""; }
cllm_vocab_type cllm_vocab_get_type(const cllm_vocab *v) { return v ? v->type : (cllm_vocab_type)0; }
const char *cllm_vocab_pre(const cllm_vocab *v) { return v ? v->pre_name : ""; }
int32_t cllm_vocab_n_tokens(const cllm_vocab *v) { return v ? v->n_tokens : 0; }
int32_t cllm_vocab_bos(const cllm_vocab *v) { return v ? v->bos : -1; }
int32_t cllm_vocab_eos(const cllm_vocab *v) { return v ? v->eos : -1; }
int32_t cllm_vocab_eot(const cllm_vocab *v) { return v ? v->eot : -1; }
int32_t cllm_vocab_eom(const cllm_vocab *v) { return v ? v->eom : -1; }
int32_t cllm_vocab_unk(const cllm_vocab *v) { return v ? v->unk : -1; }
int32_t cllm_vocab_sep(const cllm_vocab *v) { return v ? v->sep : -1; }
int32_t cllm_vocab_pad(const cllm_vocab *v) { return v ? v->pad : -1; }
int32_t cllm_vocab_cls(const cllm_vocab *v) { return v ? v->cls : -1; }
int32_t cllm_vocab_mask(const cllm_vocab *v) { return v ? v->mask : -1; }
int32_t cllm_vocab_nl(const cllm_vocab *v) { return v ? v->nl : -1; }
int32_t cllm_vocab_fim_pre(const cllm_vocab *v) { return v ? v->fim_pre : -1; }
int32_t cllm_vocab_fim_suf(const cllm_vocab *v) { return v ? v->fim_suf : -1; }
int32_t cllm_vocab_fim_mid(const cllm_vocab *v) { return v ? v->fim_mid : -1; }
bool cllm_vocab_add_bos(const cllm_vocab *v) { return v && (v->type == CLLM_VOCAB_WPM || v->add_bos); }
bool cllm_vocab_add_eos(const cllm_vocab *v) { return v && v->add_eos; }

bool cllm_vocab_is_eog(const cllm_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->n_tokens && v->eog[id];
}
bool cllm_vocab_is_control(const cllm_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->n_tokens && (v->attr[id] & CLLM_TOKEN_ATTR_CONTROL);
}
uint32_t cllm_vocab_token_attr(const cllm_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->n_tokens ? v->attr[id] : 0;
}
const char *cllm_vocab_token_text(const cllm_vocab *v, int32_t id, size_t *len_out) {
    if (!v || id < 0 || id >= v->n_tokens) return NULL;
    if (len_out) *len_out = v->text_len[id];
    return v->text[id];
}
float cllm_vocab_token_score(const cllm_vocab *v, int32_t id) {
    return v && id >= 0 && id < v->n_tokens ? v->score[id] : 0.0f;
}
int32_t cllm_vocab_find(const cllm_vocab *v, const char *text, size_t len) {
    if (!v || (!text && len)) return -1;
    return cllm_vocab_text_to_token(v, text ? text : "", len);
}
