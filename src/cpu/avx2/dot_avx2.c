/* dot_avx2.c: AVX2 integer dot products of every quantized type (the shared
 * 256-bit kernels of x86_dot256.inc.h with vpmaddubsw + vpmaddwd). */
#include "cpu/avx2/avx2_impl.h"

#include <immintrin.h>

#define X86_VNNI 0
#define X86_FN(name) name##_avx2
#include "cpu/x86_dot256.inc.h"
#include "cpu/x86_tile256.inc.h"

void cllm_cpu_avx2_fill_quant(cllm_kernels *k) {
    fill_quant_avx2(k);
    fill_tiles_avx2(k);
}
