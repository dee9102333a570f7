/* blocks.h: the on-disk block layouts of ggml's quantized types, bit-compatible
 * with files in the wild. Each struct's size is checked at compile time. */
#ifndef CLLM_QUANT_BLOCKS_H
#define CLLM_QUANT_BLOCKS_H

#include "core/fp16.h"
#include <stdint.h>

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK4_NL 32
#define QK_K 256
#define K_SCALE_SIZE 12

/* 4-bit, scale d: x = d * (q - 8). qs: low nibbles hold elements 0..15,
 * high nibbles 16..31. */
typedef struct { cllm_fp16 d; uint8_t qs[QK4_0 / 2]; } cllm_block_q4_0;
/* 4-bit with minimum: x = d * q + m. */
typedef struct { cllm_fp16 d; cllm_fp16 m; uint8_t qs[QK4_1 / 2]; } cllm_block_q4_1;
/* 5-bit: qh holds the 5th bit of each of the 32 elements. x = d * (q - 16). */
typedef struct { cllm_fp16 d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } cllm_block_q5_0;
typedef struct { cllm_fp16 d; cllm_fp16 m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } cllm_block_q5_1;
/* 8-bit: x = d * q. */
typedef struct { cllm_fp16 d; int8_t qs[QK8_0]; } cllm_block_q8_0;
/* 8-bit with s = d * sum(qs), used for activations against Q4_1/Q5_1. */
typedef struct { cllm_fp16 d; cllm_fp16 s; int8_t qs[QK8_1]; } cllm_block_q8_1;

/* K-quants: super-blocks of 256 elements. */
typedef struct {
    uint8_t scales[QK_K / 16];  /* 4-bit scale and 4-bit min per 16 elements */
    uint8_t qs[QK_K / 4];       /* 2-bit quants */
    cllm_fp16 d;                /* super-block scale for scales */
    cllm_fp16 dmin;             /* super-block scale for mins */
} cllm_block_q2_K;
typedef struct {
    uint8_t hmask[QK_K / 8];    /* high bit of each quant */
    uint8_t qs[QK_K / 4];       /* low 2 bits */
    uint8_t scales[12];         /* 16 6-bit scales, packed */
    cllm_fp16 d;
} cllm_block_q3_K;
typedef struct {
    cllm_fp16 d;
    cllm_fp16 dmin;
    uint8_t scales[K_SCALE_SIZE]; /* 8 6-bit scales and 8 6-bit mins, packed */
    uint8_t qs[QK_K / 2];
} cllm_block_q4_K;
typedef struct {
    cllm_fp16 d;
    cllm_fp16 dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} cllm_block_q5_K;
typedef struct {
    uint8_t ql[QK_K / 2];       /* low 4 bits */
    uint8_t qh[QK_K / 4];       /* high 2 bits */
    int8_t scales[QK_K / 16];   /* 8-bit scales per 16 elements */
    cllm_fp16 d;
} cllm_block_q6_K;
/* Activation type for K-quant dot products (never stored in model files by
 * llama.cpp, but a valid ggml type). */
typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];   /* sums of groups of 16 quants */
} cllm_block_q8_K;

/* Non-linear 4-bit: x = d * kvalues_iq4nl[q]. */
typedef struct { cllm_fp16 d; uint8_t qs[QK4_NL / 2]; } cllm_block_iq4_nl;
typedef struct {
    cllm_fp16 d;
    uint16_t scales_h;          /* high 2 bits of 8 6-bit scales */
    uint8_t scales_l[QK_K / 64];/* low 4 bits of 8 scales */
    uint8_t qs[QK_K / 2];
} cllm_block_iq4_xs;

_Static_assert(sizeof(cllm_block_q4_0) == 18, "q4_0 block size");
_Static_assert(sizeof(cllm_block_q4_1) == 20, "q4_1 block size");
_Static_assert(sizeof(cllm_block_q5_0) == 22, "q5_0 block size");
_Static_assert(sizeof(cllm_block_q5_1) == 24, "q5_1 block size");
_Static_assert(sizeof(cllm_block_q8_0) == 34, "q8_0 block size");
_Static_assert(sizeof(cllm_block_q8_1) == 36, "q8_1 block size");
_Static_assert(sizeof(cllm_block_q2_K) == 84, "q2_K block size");
_Static_assert(sizeof(cllm_block_q3_K) == 110, "q3_K block size");
_Static_assert(sizeof(cllm_block_q4_K) == 144, "q4_K block size");
_Static_assert(sizeof(cllm_block_q5_K) == 176, "q5_K block size");
_Static_assert(sizeof(cllm_block_q6_K) == 210, "q6_K block size");
_Static_assert(sizeof(cllm_block_q8_K) == 292, "q8_K block size");
_Static_assert(sizeof(cllm_block_iq4_nl) == 18, "iq4_nl block size");
_Static_assert(sizeof(cllm_block_iq4_xs) == 136, "iq4_xs block size");

/* The 16 non-linear levels of IQ4_NL / IQ4_XS. */
extern const int8_t cllm_kvalues_iq4nl[16];

#endif /* CLLM_QUANT_BLOCKS_H */
