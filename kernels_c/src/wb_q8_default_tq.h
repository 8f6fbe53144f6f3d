/* The default Cook-Toom transforms as the int8 scheme's integer matrices (bench/reference.py
 * step 3: BTq = BT 2^kB, ATq = AT 2^kA; kB = kA = 0 for F2 and F4, kB = 2 and kA = 5 for F6),
 * row-major, for the static tap/wide tile kernels, which take them as compile-time constants.
 * tests/test_kernels_q8_schemes.py checks them against bench.reference.quantize_matrix. */
#ifndef WB_Q8_DEFAULT_TQ_H
#define WB_Q8_DEFAULT_TQ_H

#include <stdint.h>

static const int32_t wb_q8_btq_f2[16] = {
    -1, 0, 1, 0,
    0, 1, 1, 0,
    0, -1, 1, 0,
    0, -1, 0, 1,
};

static const int32_t wb_q8_atq_f2[8] = {
    1, 1, 1, 0,
    0, 1, -1, 1,
};

static const int32_t wb_q8_btq_f4[36] = {
    4, 0, -5, 0, 1, 0,
    0, -4, -4, 1, 1, 0,
    0, 4, -4, -1, 1, 0,
    0, -2, -1, 2, 1, 0,
    0, 2, -1, -2, 1, 0,
    0, 4, 0, -5, 0, 1,
};

static const int32_t wb_q8_atq_f4[24] = {
    1, 1, 1, 1, 1, 0,
    0, 1, -1, 2, -2, 0,
    0, 1, 1, 4, 4, 0,
    0, 1, -1, 8, -8, 1,
};

static const int32_t wb_q8_btq_f6[64] = {
    -4, 0, 21, 0, -21, 0, 4, 0,
    0, 4, 4, -17, -17, 4, 4, 0,
    0, -4, 4, 17, -17, -4, 4, 0,
    0, 2, 1, -10, -5, 8, 4, 0,
    0, -2, 1, 10, -5, -8, 4, 0,
    0, 8, 16, -10, -20, 2, 4, 0,
    0, -8, 16, 10, -20, -2, 4, 0,
    0, -4, 0, 21, 0, -21, 0, 4,
};

static const int32_t wb_q8_atq_f6[48] = {
    32, 32, 32, 32, 32, 32, 32, 0,
    0, 32, -32, 64, -64, 16, -16, 0,
    0, 32, 32, 128, 128, 8, 8, 0,
    0, 32, -32, 256, -256, 4, -4, 0,
    0, 32, 32, 512, 512, 2, 2, 0,
    0, 32, -32, 1024, -1024, 1, -1, 32,
};

#endif
