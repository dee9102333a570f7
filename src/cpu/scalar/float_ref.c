/* float_ref.c: scalar reference kernels for the float types: F32, F16 and
 * BF16 dot products (products in float, sum in double, like ggml's scalar
 * path) and the float -> F32/F16/BF16 activation conversions. */
#include "core/fp16.h"
#include "cpu/kernels_impl.h"

#include <string.h>

void cllm_cpu_dot_f32_ref(int64_t n, float *s, const void *w, const void *a) {
    const float *x = w, *y = a;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void cllm_cpu_dot_f16_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_fp16 *x = w, *y = a;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(cllm_fp16_to_fp32(x[i]) * cllm_fp16_to_fp32(y[i]));
    *s = (float)sum;
}

void cllm_cpu_dot_bf16_ref(int64_t n, float *s, const void *w, const void *a) {
    const cllm_bf16 *x = w, *y = a;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(cllm_bf16_to_fp32(x[i]) * cllm_bf16_to_fp32(y[i]));
    *s = (float)sum;
}

void cllm_cpu_from_f32_ref(const float *x, void *y, int64_t n) {
    if (n > 0 && (const void *)x != y) memmove(y, x, (size_t)n * sizeof(float));
}

void cllm_cpu_from_f16_ref(const float *x, void *y, int64_t n) {
    cllm_fp16 *o = y;
    for (int64_t i = 0; i < n; i++) o[i] = cllm_fp32_to_fp16(x[i]);
}

void cllm_cpu_from_bf16_ref(const float *x, void *y, int64_t n) {
    cllm_bf16 *o = y;
    for (int64_t i = 0; i < n; i++) o[i] = cllm_fp32_to_bf16(x[i]);
}
