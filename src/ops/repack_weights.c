/* repack_weights.c: load-time repacking of weight tensors into the
 * interleaved GEMM layouts of cpu/repack.h (prompt processing), kept in a
 * list owned by the model. CLLM_REPACK=0 turns it off (plain tiles then). */
#include "core/core.h"
#include "cpu/kernels.h"
#include "cpu/repack.h"
#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

struct cllm_rp_buf {
    struct cllm_rp_buf *next;
    void *data;   /* cllm_amalloc'd */
};

static bool repack_enabled(void) {
    const char *e = getenv("CLLM_REPACK");
    return !(e && strcmp(e, "0") == 0);
}

void cllm_ops_weight_repack(cllm_weight *w, cllm_rp_buf **list) {
    if (!w || !w->data || w->rp || !repack_enabled()) return;
    const cllm_kernels *k = cllm_kernels_get();
    if (w->type < 0 || w->type >= CLLM_TYPE_COUNT || (!k->type[w->type].gemm_rp && !k->type[w->type].gemm_rpx)) return;
    if (!cllm_repack_supported(w->type, w->ne0, w->ne1)) return;
    cllm_rp_buf *node = malloc(sizeof *node);
    const size_t bytes = cllm_repack_group_bytes(w->type, w->ne0) * (size_t)(w->ne1 / CLLM_RP_ROWS);
    void *dst = node ? cllm_amalloc(bytes) : NULL;
    if (!dst) {
        free(node);
        cllm_log(CLLM_LOG_WARN, "repack: out of memory for '%s'; using the plain layout", w->name ? w->name : "?");
        return;
    }
    cllm_repack_rows(w->type, w->ne0, w->ne1, w->data, dst);
    node->data = dst;
    node->next = *list;
    *list = node;
    w->rp = dst;
}

void cllm_ops_rp_free(cllm_rp_buf *list) {
    while (list) {
        cllm_rp_buf *n = list->next;
        cllm_afree(list->data);
        free(list);
        list = n;
    }
}
