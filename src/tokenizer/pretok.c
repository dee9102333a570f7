/* pretok.c: BPE pre-tokenizers: the regex lists chosen by tokenizer.ggml.pre
 * and the splitting of text into words with PCRE2 (UTF + Unicode properties).
 *
 * As in llama.cpp, a pre-tokenizer is a list of regexes applied in turn:
 * each regex splits every current piece into its matches and the gaps
 * between them (both kept), and the next regex works on those pieces. A
 * lookahead such as \s+(?!\S) therefore sees the end of its piece as the end
 * of the text. The regex strings are llama.cpp's (llama-vocab.cpp), which
 * rewrites the Hugging Face ones for std::regex (e.g. (?i:'s|...) becomes
 * '[sS]|...). llama.cpp runs them on a "collapsed" text where every non-ASCII
 * code point is replaced by a stand-in for its category; PCRE2 with
 * PCRE2_UCP gives the same classes directly. Known difference: llama.cpp's
 * collapsed \p{S} leaves out '~', PCRE2's does not (only pre-tokenizers that
 * use \p{S} -- deepseek-v3 and relatives -- can see it). */
#include "tokenizer/tok_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REGEX 6

typedef struct pretok_def {
    const char *names[12];            /* tokenizer.ggml.pre values */
    const char *regex[MAX_REGEX];
    bool clean_spaces;                /* clean_up_tokenization_spaces on detok */
    bool ignore_merges;               /* a word that is a token is taken whole */
    bool add_bos;                     /* add BOS by default */
    bool no_bos;                      /* no default BOS id */
    bool add_sep;
} pretok_def;

struct cllm_pretok {
    const pretok_def *def;
    pcre2_code *code[MAX_REGEX];
    int n;
};

/* The regexes (C strings: "\\p{N}" is the regex \p{N}). */
#define RX_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RX_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RX_LLAMA3                                                                                        \
    RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|" \
                    "\\s+(?!\\S)|\\s+"
#define RX_QWEN2                                                                                       \
    RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|" \
                    "\\s+(?!\\S)|\\s+"
#define RX_QWEN35                                                                                          \
    RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|" \
                    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* Letters of the deepseek-llm word regex (cased letters, as its tokenizer.json). */
#define RX_DS_LETTERS                                                                                     \
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"        \
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}" \
    "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"        \
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"      \
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"      \
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}"                \
    "\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"               \
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"      \
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"        \
    "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}"               \
    "\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}"                \
    "\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"       \
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"      \
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"                    \
    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"                \
    "\\x{1E900}-\\x{1E943}"
#define RX_DS_PUNCT "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+"
#define RX_DS_CJK "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
#define RX_DS3_CJK "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+"
#define RX_DS3_MAIN                                                                                    \
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|" \
    " ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RX_STARCODER_DIGIT "\\p{N}"
#define RX_PORO " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+"
#define RX_TEKKEN                                                                                       \
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?"        \
    "((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|" \
    "\\s+(?!\\S)|\\s+"
#define RX_GPT4O                                                                                         \
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+" RX_CONTRACTIONS                \
    "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" RX_CONTRACTIONS             \
    "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RX_TINY_AYA_MAIN                                                                                 \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" RX_CONTRACTIONS \
    "?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"             \
    RX_CONTRACTIONS "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static const pretok_def k_pretoks[] = {
    /* "default" also serves vocabs without tokenizer.ggml.pre (gpt-neox). */
    {{"default", ""},
     {"[\\p{P}\\$\\+<=>\\^~\\|]+", RX_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, true, false, false, false, false},
    {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"},
     {RX_LLAMA3}, true, true, true, false, false},
    {{"dbrx", "smaug-bpe"}, {RX_LLAMA3}, true, false, false, false, false},
    {{"chatglm-bpe", "glm4"}, {RX_LLAMA3}, true, false, false, true, false},
    {{"deepseek-llm"},
     {"[\r\n]", "\\s?[" RX_DS_LETTERS "]+", RX_DS_PUNCT, "\\s+$", RX_DS_CJK, "\\p{N}+"}, false, false, false,
     false, false},
    {{"deepseek-coder"}, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RX_DS_CJK, "\\p{N}"}, false, false, false, false,
     false},
    {{"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"}, {"\\p{N}{1,3}", RX_DS3_CJK, RX_DS3_MAIN}, false, false,
     false, false, false},
    {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RX_GPT2, "[0-9][0-9][0-9]"}, true, false, false, false, false},
    {{"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, {RX_STARCODER_DIGIT, RX_GPT2}, true,
     false, false, false, false},
    {{"command-r", "smollm"}, {RX_STARCODER_DIGIT, RX_GPT2}, false, false, false, false, false},
    {{"gpt-2", "mpt", "olmo", "jais", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
      "a.x-4.0", "mellum"},
     {RX_GPT2}, true, false, false, false, false},
    {{"modern-bert", "exaone4"}, {RX_GPT2}, true, false, false, false, false},
    {{"jina-v1-en", "jina-v2-code", "roberta-bpe"}, {RX_GPT2}, true, false, false, false, true},
    {{"trillion", "granite-docling"}, {RX_GPT2}, false, false, false, false, false},
    {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open"}, {RX_QWEN2}, false, false, false,
     false, false},
    {{"stablelm2", "megrez"}, {RX_QWEN2}, true, false, false, false, false},
    {{"qwen35"}, {RX_QWEN35}, false, false, false, false, false},
    {{"poro-chat"}, {RX_PORO}, false, false, false, false, false},
    {{"bloom", "gpt3-finnish"}, {RX_PORO}, true, false, false, false, false},
    {{"viking"}, {RX_PORO, "\\p{N}"}, false, false, false, false, false},
    {{"tekken"}, {RX_TEKKEN}, false, true, true, false, false},
    {{"chameleon"},
     {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
      "[\\p{P}!-/:-@\\[-`{-~]", RX_GPT2},
     false, false, true, false, false},
    {{"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, {RX_GPT4O}, false, false, false, false, false},
    {{"tiny_aya", "cohere2moe"}, {"\\d{1,3}(?=(?:\\d{3})*\\b)", RX_TINY_AYA_MAIN}, false, false, false, false,
     false},
    {{"superbpe"}, {"\\p{N}+", "(?=(\\d{3})+(?!\\d))"}, false, false, false, false, false},
    {{"bailingmoe", "bailingmoe2", "llada-moe"},
     {"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
      "[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"},
     false, false, false, false, false},
    {{"seed-coder"},
     {RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|"
                      "\\s+(?!\\S)|\\s+"},
     false, false, false, false, false},
    {{"grok-2"}, {RX_QWEN2}, false, false, false, false, false},
    {{"ufakzeka"},
     {"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, false,
     false, false, false, false},
    {{"laguna"}, {"[^\\n]+|[\\n]+", RX_QWEN2}, false, false, false, false, false},
    {{"minicpm5"},
     {"\\p{N}{1,3}",
      RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
                      "\\s+(?!\\S)|\\s+"},
     true, true, false, false, false},
    {{"jais-2"},
     {RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
                      "\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|"
                      "\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"},
     true, false, false, false, false},
    {{"exaone-moe"},
     {RX_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
                      "[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"},
     true, false, false, false, false},
};

static const pretok_def *find_def(const char *pre) {
    for (size_t i = 0; i < sizeof k_pretoks / sizeof k_pretoks[0]; i++)
        for (int j = 0; j < 12 && k_pretoks[i].names[j]; j++)
            if (!strcmp(k_pretoks[i].names[j], pre)) return &k_pretoks[i];
    return NULL;
}

static const char *g_names[128];
static pthread_once_t g_names_once = PTHREAD_ONCE_INIT;

static void names_init(void) {
    int k = 0;
    for (size_t i = 0; i < sizeof k_pretoks / sizeof k_pretoks[0]; i++)
        for (int j = 0; j < 12 && k_pretoks[i].names[j]; j++)
            if (k_pretoks[i].names[j][0] && k < 127) g_names[k++] = k_pretoks[i].names[j];
    g_names[k] = NULL;
}

const char *const *cllm_pretok_names(void) {
    pthread_once(&g_names_once, names_init);
    return g_names;
}

void cllm_pretok_free(cllm_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) pcre2_code_free(p->code[i]);
    free(p);
}

cllm_status cllm_pretok_create(const char *pre, cllm_vocab *v, cllm_pretok **out) {
    *out = NULL;
    const pretok_def *def = find_def(pre ? pre : "");
    if (!def)
        return cllm_set_last_error(CLLM_ERR_UNSUPPORTED, "tokenizer.ggml.pre '%s' is not a known pre-tokenizer",
                                   pre);
    if (!pre || !pre[0]) CLLM_LOGW("vocab: no tokenizer.ggml.pre; using the 'default' pre-tokenizer");
    cllm_pretok *p = calloc(1, sizeof *p);
    if (!p) return cllm_set_last_error(CLLM_ERR_NOMEM, "pre-tokenizer: out of memory");
    p->def = def;
    for (int i = 0; i < MAX_REGEX && def->regex[i]; i++) {
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)def->regex[i], PCRE2_ZERO_TERMINATED,
                                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
        if (!c) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof msg);
            cllm_pretok_free(p);
            return cllm_set_last_error(CLLM_ERR_INTERNAL, "pre-tokenizer '%s': regex %d does not compile at %zu: %s",
                                       pre, i, (size_t)eo, (const char *)msg);
        }
        /* JIT when the platform has it; the interpreter otherwise. */
        (void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
        p->code[p->n++] = c;
    }
    v->clean_spaces = def->clean_spaces;
    v->ignore_merges = def->ignore_merges;
    if (def->add_bos) v->add_bos = true;
    if (def->add_sep) v->add_sep = true;
    *out = p;
    return CLLM_OK;
}

/* Spans are (start, length) byte pairs. */
typedef struct spanbuf {
    size_t *s;
    size_t n, cap;   /* n = number of size_t values (2 per span) */
} spanbuf;

static bool span_push(spanbuf *b, size_t start, size_t len) {
    if (len == 0) return true;
    if (b->n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        size_t *ns = realloc(b->s, cap * sizeof *ns);
        if (!ns) return false;
        b->s = ns;
        b->cap = cap;
    }
    b->s[b->n++] = start;
    b->s[b->n++] = len;
    return true;
}

/* Split piece [start, start+len) of text by regex c into matches and gaps. */
static bool split_one(pcre2_code *c, pcre2_match_data *md, pcre2_match_context *mc, const char *text, size_t start,
                      size_t len, spanbuf *out) {
    const unsigned char *subj = (const unsigned char *)text + start;
    size_t pos = 0, last = 0;
    while (pos <= len) {
        int rc = pcre2_match(c, subj, len, pos, PCRE2_NO_UTF_CHECK, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            /* Match limits on pathological input: keep the rest as one word
             * rather than fail the whole tokenization. */
            CLLM_LOGD("pre-tokenizer: regex match error %d; rest of piece kept whole", rc);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (ms > last && !span_push(out, start + last, ms - last)) return false;
        if (me > ms) {
            if (!span_push(out, start + ms, me - ms)) return false;
            last = me;
            pos = me;
        } else {
            /* An empty match is a split point; step one character on. */
            if (ms > last) last = ms;
            if (ms >= len) break;
            size_t step = cllm_utf8_lead_len(subj[ms]);
            pos = ms + (step > len - ms ? len - ms : step);
        }
    }
    if (last < len && !span_push(out, start + last, len - last)) return false;
    return true;
}

int64_t cllm_pretok_split(const cllm_pretok *p, const char *text, size_t len, size_t **spans, size_t *spans_cap) {
    spanbuf cur = {*spans, 0, *spans_cap}, nxt = {0};
    if (!span_push(&cur, 0, len)) return -1;
    pcre2_match_data *md = NULL;
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    /* A bigger JIT stack than the default 32 KiB for long runs; NULL where
     * PCRE2 has no JIT (the interpreter needs none). */
    pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, NULL);
    int64_t result = -1;
    if (!mc) goto done;
    if (js) pcre2_jit_stack_assign(mc, NULL, js);
    for (int r = 0; r < p->n; r++) {
        if (!md) {
            md = pcre2_match_data_create(16, NULL);
            if (!md) goto done;
        }
        nxt.n = 0;
        for (size_t i = 0; i < cur.n; i += 2)
            if (!split_one(p->code[r], md, mc, text, cur.s[i], cur.s[i + 1], &nxt)) goto done;
        spanbuf t = cur;
        cur = nxt;
        nxt = t;
    }
    result = (int64_t)(cur.n / 2);
done:
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    pcre2_jit_stack_free(js);
    free(nxt.s);
    *spans = cur.s;
    *spans_cap = cur.cap;
    return result;
}
