/* attn_plan.c: the per-batch attention visibility plan (see ops.h). Built
 * once per decode from the tokens' sequence masks and positions and the KV
 * cells' masks and positions; attention then iterates only the cells of a
 * token's set instead of every cell below the highest used one. Cost:
 * O(n_tok * n_sets) to group tokens plus O(n_sets * n_kv) cheap mask tests,
 * paid once per decode instead of once per layer and head. */
#include "ops/ops.h"

#include <stdlib.h>

static bool grow_i32(int32_t **p, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    int32_t *q = realloc(*p, n * sizeof(int32_t));
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

bool cllm_attn_plan_build(cllm_attn_plan *p, int n_tok, const int32_t *tok_pos, const uint64_t *tok_seq,
                          int n_kv, const int32_t *cell_pos, const uint64_t *cell_seq) {
    p->n_sets = 0;
    size_t cs = (size_t)p->cap_sets, ct = (size_t)p->cap_toks;
    /* at most n_tok sets: size every per-set array for that up front */
    if (!grow_i32(&p->set_tok_off, &cs, (size_t)n_tok + 1)) return false;
    size_t cs2 = (size_t)p->cap_sets;
    if (!grow_i32(&p->set_cell_off, &cs2, (size_t)n_tok + 1)) return false;
    p->cap_sets = (int)(cs < cs2 ? cs : cs2);
    if (!grow_i32(&p->set_toks, &ct, (size_t)n_tok)) return false;
    p->cap_toks = (int)ct;

    /* Group tokens by mask, keeping first-appearance order of the sets and
     * batch order inside a set. set_cell_off is borrowed as the per-token
     * set id while grouping (it is rebuilt below). */
    int32_t *tok_set = p->set_toks;   /* temporarily: set id of token t */
    uint64_t masks_small[64];
    int ns = 0;
    for (int t = 0; t < n_tok; t++) {
        int s = 0;
        /* sets are few (one per slot) in practice; linear search */
        for (s = 0; s < ns; s++) {
            const uint64_t m = s < 64 ? masks_small[s] : tok_seq[p->set_cell_off[s]];
            if (m == tok_seq[t]) break;
        }
        if (s == ns) {
            if (ns < 64) masks_small[ns] = tok_seq[t];
            p->set_cell_off[ns] = t;   /* first token of the set */
            ns++;
        }
        tok_set[t] = s;
    }
    /* counting sort of tokens by set: set_tok_off from counts */
    for (int s = 0; s <= ns; s++) p->set_tok_off[s] = 0;
    for (int t = 0; t < n_tok; t++) p->set_tok_off[tok_set[t] + 1]++;
    for (int s = 0; s < ns; s++) p->set_tok_off[s + 1] += p->set_tok_off[s];
    /* first-token-of-set index, needed for the mask after tok_set is overwritten */
    int32_t *first = p->set_cell_off;  /* still holds the first token per set */
    /* place tokens: tok_set aliases set_toks, so compute into a second pass
     * using the ordering property (stable): walk sets, collect their tokens */
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(n_tok > 0 ? n_tok : 1));
    if (!order) return false;
    {
        int k = 0;
        for (int s = 0; s < ns; s++)
            for (int t = first[s]; t < n_tok; t++)
                if (tok_seq[t] == tok_seq[first[s]]) order[k++] = t;
    }
    uint64_t *set_mask = malloc(sizeof(uint64_t) * (size_t)(ns > 0 ? ns : 1));
    int32_t *set_pos = malloc(sizeof(int32_t) * (size_t)(ns > 0 ? ns : 1));
    if (!set_mask || !set_pos) {
        free(order);
        free(set_mask);
        free(set_pos);
        return false;
    }
    for (int s = 0; s < ns; s++) {
        set_mask[s] = tok_seq[first[s]];
        set_pos[s] = INT32_MIN;
        for (int k = p->set_tok_off[s]; k < p->set_tok_off[s + 1]; k++)
            if (tok_pos[order[k]] > set_pos[s]) set_pos[s] = tok_pos[order[k]];
    }
    for (int k = 0; k < n_tok; k++) p->set_toks[k] = order[k];
    free(order);

    /* visible cells per set */
    size_t cc = p->cap_cells, n = 0;
    p->set_cell_off[0] = 0;
    bool ok = true;
    for (int s = 0; s < ns && ok; s++) {
        const uint64_t m = set_mask[s];
        for (int j = 0; j < n_kv; j++) {
            const uint64_t c = cell_seq[j];
            if (c == 0 || (m & ~c) != 0 || cell_pos[j] > set_pos[s]) continue;
            if (n == cc && !grow_i32(&p->cells, &cc, n + 1)) {
                ok = false;
                break;
            }
            p->cells[n++] = j;
        }
        p->set_cell_off[s + 1] = (int32_t)n;
    }
    p->cap_cells = cc;
    free(set_mask);
    free(set_pos);
    if (!ok) return false;
    p->n_sets = ns;
    return true;
}

void cllm_attn_plan_free(cllm_attn_plan *p) {
    if (!p) return;
    free(p->set_tok_off);
    free(p->set_toks);
    free(p->set_cell_off);
    free(p->cells);
    *p = (cllm_attn_plan){0};
}
