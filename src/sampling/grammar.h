/* grammar.h: internal representation of a parsed GBNF grammar and the match
 * state that the sampler drives.
 *
 * A grammar is a flat array of elements; rule r occupies
 * elems[rule_start[r] ..] as alternatives separated by GR_ALT and terminated
 * by GR_END. A character class is one GR_CHAR/GR_CHAR_NOT element followed by
 * GR_CHAR_RNG_UPPER (upper end of the preceding range) and GR_CHAR_ALT
 * (further members) elements. A "position" is an index into elems. A parse
 * stack is an array of positions whose last entry is the next element to
 * match; the match state is a set of such stacks, each advanced until its top
 * is a terminal (character or token element) or it is empty (complete). */
#ifndef CLLM_SAMPLING_GRAMMAR_H
#define CLLM_SAMPLING_GRAMMAR_H

#include "cllm.h"
#include "core/core.h"
#include "sampling/samplers.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    GR_END = 0,        /* end of rule */
    GR_ALT,            /* start of another alternative */
    GR_RULE_REF,       /* value: rule id */
    GR_CHAR,           /* value: code point (starts a positive class) */
    GR_CHAR_NOT,       /* value: code point (starts a negated class) */
    GR_CHAR_RNG_UPPER, /* value: upper end of the range whose lower end precedes */
    GR_CHAR_ALT,       /* value: another code point of the class */
    GR_CHAR_ANY,       /* '.': any code point */
    GR_TOKEN,          /* value: token id */
    GR_TOKEN_NOT       /* value: token id; matches any other single token */
};

typedef struct gr_elem {
    uint32_t type;
    uint32_t value;
} gr_elem;

typedef struct cllm_gbnf {
    gr_elem  *elems;
    size_t    n_elems;
    uint32_t *rule_start;   /* [n_rules] */
    char    **rule_names;   /* [n_rules]; generated rules have a '~' in the name */
    size_t    n_rules;
    uint32_t  root;
} cllm_gbnf;

/* Parse GBNF text. vocab (may be NULL) resolves token references <...>.
 * On error: CLLM_ERR_FORMAT and "line L, column C: what" in err. */
cllm_status cllm_gbnf_parse(const char *text, const char *root, const cllm_vocab_view *vocab,
                            cllm_gbnf *out, cllm_err *err);
void cllm_gbnf_free(cllm_gbnf *g);

/* Sampler hooks (grammar_match.c). The grammar must have a vocab view. */
/* True if token id may come next. */
bool cllm_grammar_token_ok(cllm_grammar *g, int32_t id);
/* True when the current state's whole-vocabulary mask is cached, so
 * cllm_grammar_apply costs a bit test per candidate (else a vocabulary
 * walk, milliseconds on 32k tokens). */
bool cllm_grammar_mask_cached(cllm_grammar *g);
/* Set the logit of every candidate the grammar rejects to -inf. */
void cllm_grammar_apply(cllm_grammar *g, cllm_cands *c);
/* Distance (fewest code points to completion) after accepting token, state
 * unchanged; -1 if the grammar rejects it. */
int32_t cllm_grammar_distance_after(cllm_grammar *g, int32_t token);
/* Whether the vocab view marks token id as end of generation. */
bool cllm_grammar_token_is_eog(const cllm_grammar *g, int32_t id);
/* Number of stacks in the current state (tests). */
size_t cllm_grammar_n_stacks(const cllm_grammar *g);

#endif
