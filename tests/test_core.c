/* test_core.c: status strings, error slots, fp16/bf16 conversion, type traits. */
#include "core/core.h"
#include "core/fp16.h"
#include "tensor/types.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

static int g_logged;
static void log_cb(cllm_log_level lvl, const char *msg, void *user) {
    (void)lvl;
    (void)user;
    if (strstr(msg, "hello 42")) g_logged++;
}

int main(void) {
    CHECK(strcmp(cllm_status_str(CLLM_OK), "ok") == 0, "ok string");
    CHECK(strcmp(cllm_status_str(CLLM_ERR_NO_SPACE), "no space left in context") == 0, "no space");

    cllm_err e;
    cllm_status st = cllm_err_set(&e, CLLM_ERR_FORMAT, "bad %s at %d", "thing", 7);
    CHECK(st == CLLM_ERR_FORMAT, "status passthrough");
    CHECK(strcmp(e.msg, "bad thing at 7") == 0, "msg '%s'", e.msg);
    CHECK(strcmp(cllm_last_error(), "bad thing at 7") == 0, "thread slot");

    cllm_log_set(log_cb, NULL);
    cllm_log(CLLM_LOG_ERROR, "hello %d", 42);
    cllm_log(CLLM_LOG_DEBUG, "hello %d", 42); /* above default level: dropped */
    cllm_log_set(NULL, NULL);
    CHECK(g_logged == 1, "log callback called %d times", g_logged);

    /* fp16: every half value round-trips exactly through float. */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = cllm_fp16_to_fp32((cllm_fp16)h);
        if (isnan(f)) continue;
        if (cllm_fp32_to_fp16(f) != h) bad++;
    }
    CHECK(bad == 0, "%d half values do not round-trip", bad);
    CHECK(cllm_fp16_to_fp32(0x3c00) == 1.0f, "1.0");
    CHECK(cllm_fp16_to_fp32(0xc000) == -2.0f, "-2.0");
    CHECK(cllm_fp32_to_fp16(65520.0f) == 0x7c00, "overflow to inf");
    /* Ties go to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10. */
    CHECK(cllm_fp32_to_fp16(1.0f + 0x1p-11f) == 0x3c00, "tie to even");
    CHECK(cllm_fp32_to_bf16(1.0f) == 0x3f80, "bf16 1.0");
    CHECK(cllm_bf16_to_fp32(0xc040) == -3.0f, "bf16 -3");
    /* bf16 rounding to nearest even on the dropped 16 bits. */
    CHECK(cllm_fp32_to_bf16(cllm_bits_f32(0x3f808000u)) == 0x3f80, "bf16 tie even down");
    CHECK(cllm_fp32_to_bf16(cllm_bits_f32(0x3f818000u)) == 0x3f82, "bf16 tie even up");

    /* Traits: sizes and ids as in ggml. */
    CHECK(cllm_type_get_traits(CLLM_TYPE_Q4_K)->type_size == 144, "q4_K size");
    CHECK(cllm_type_get_traits(CLLM_TYPE_IQ4_XS)->blck_size == 256, "iq4_xs block");
    CHECK(cllm_type_get_traits(4) == NULL, "id 4 (removed q4_2) unknown");
    CHECK(cllm_type_row_size(CLLM_TYPE_Q8_0, 64) == 68, "q8_0 row");
    CHECK(cllm_type_row_size(CLLM_TYPE_Q8_0, 172) == 0, "172 not a multiple of 32");
    CHECK(cllm_type_from_name("Q4_K") == CLLM_TYPE_Q4_K, "parse Q4_K");
    CHECK(cllm_type_from_name("bf16") == CLLM_TYPE_BF16, "parse bf16");
    CHECK(cllm_type_from_name("q9_9") == -1, "unknown name");
    return test_finish();
}
