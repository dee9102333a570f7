/* dot_vnni256.c: the shared 256-bit kernels of x86_dot256.inc.h compiled
 * with AVX512_VNNI + AVX512VL (vpdpbusd / vpdpwssd on ymm). Used by the
 * AVX-512 table for the slots that have no zmm kernel, and for tails. */
#include "cpu/avx512/avx512_impl.h"

#include <immintrin.h>

#define X86_VNNI 1
#define X86_FN(name) name##_vnni256
#include "cpu/x86_dot256.inc.h"
#include "cpu/x86_tile256.inc.h"

void cllm_cpu_vnni256_fill_quant(cllm_kernels *k) {
    fill_quant_vnni256(k);
    fill_tiles_vnni256(k);
}
