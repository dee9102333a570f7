/* types.c: the one traits table for every ggml type cllm reads. */
#include "tensor/types.h"
#include "quant/blocks.h"

#include <ctype.h>
#include <string.h>

#define T(id, nm, bs, ts, q) [id] = {nm, bs, ts, q}

static const cllm_type_traits g_traits[CLLM_TYPE_COUNT] = {
    T(CLLM_TYPE_F32,    "f32",    1,      4,                         false),
    T(CLLM_TYPE_F16,    "f16",    1,      2,                         false),
    T(CLLM_TYPE_BF16,   "bf16",   1,      2,                         false),
    T(CLLM_TYPE_F64,    "f64",    1,      8,                         false),
    T(CLLM_TYPE_I8,     "i8",     1,      1,                         false),
    T(CLLM_TYPE_I16,    "i16",    1,      2,                         false),
    T(CLLM_TYPE_I32,    "i32",    1,      4,                         false),
    T(CLLM_TYPE_I64,    "i64",    1,      8,                         false),
    T(CLLM_TYPE_Q4_0,   "q4_0",   QK4_0,  sizeof(cllm_block_q4_0),   true),
    T(CLLM_TYPE_Q4_1,   "q4_1",   QK4_1,  sizeof(cllm_block_q4_1),   true),
    T(CLLM_TYPE_Q5_0,   "q5_0",   QK5_0,  sizeof(cllm_block_q5_0),   true),
    T(CLLM_TYPE_Q5_1,   "q5_1",   QK5_1,  sizeof(cllm_block_q5_1),   true),
    T(CLLM_TYPE_Q8_0,   "q8_0",   QK8_0,  sizeof(cllm_block_q8_0),   true),
    T(CLLM_TYPE_Q8_1,   "q8_1",   QK8_1,  sizeof(cllm_block_q8_1),   true),
    T(CLLM_TYPE_Q2_K,   "q2_K",   QK_K,   sizeof(cllm_block_q2_K),   true),
    T(CLLM_TYPE_Q3_K,   "q3_K",   QK_K,   sizeof(cllm_block_q3_K),   true),
    T(CLLM_TYPE_Q4_K,   "q4_K",   QK_K,   sizeof(cllm_block_q4_K),   true),
    T(CLLM_TYPE_Q5_K,   "q5_K",   QK_K,   sizeof(cllm_block_q5_K),   true),
    T(CLLM_TYPE_Q6_K,   "q6_K",   QK_K,   sizeof(cllm_block_q6_K),   true),
    T(CLLM_TYPE_Q8_K,   "q8_K",   QK_K,   sizeof(cllm_block_q8_K),   true),
    T(CLLM_TYPE_IQ4_NL, "iq4_nl", QK4_NL, sizeof(cllm_block_iq4_nl), true),
    T(CLLM_TYPE_IQ4_XS, "iq4_xs", QK_K,   sizeof(cllm_block_iq4_xs), true),
};

#undef T

const cllm_type_traits *cllm_type_get_traits(int t) {
    if (t < 0 || t >= CLLM_TYPE_COUNT || g_traits[t].name == NULL) return NULL;
    return &g_traits[t];
}

bool cllm_type_is_known(int t) { return cllm_type_get_traits(t) != NULL; }

uint64_t cllm_type_row_size(cllm_type t, int64_t n) {
    const cllm_type_traits *tr = cllm_type_get_traits(t);
    if (!tr || n < 0 || n % tr->blck_size != 0) return 0;
    return (uint64_t)(n / tr->blck_size) * (uint64_t)tr->type_size;
}

const char *cllm_type_name(cllm_type t) {
    const cllm_type_traits *tr = cllm_type_get_traits(t);
    return tr ? tr->name : NULL;
}

int cllm_type_from_name(const char *name) {
    if (!name) return -1;
    for (int t = 0; t < CLLM_TYPE_COUNT; t++) {
        const char *n = g_traits[t].name;
        if (!n) continue;
        size_t i = 0;
        while (n[i] && name[i] && tolower((unsigned char)n[i]) == tolower((unsigned char)name[i])) i++;
        if (n[i] == '\0' && name[i] == '\0') return t;
    }
    return -1;
}
