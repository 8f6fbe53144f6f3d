/* wb_q8_winoout_wide_ukernel_f6__neon: wide scheme, Z = M' (int32, the GEMM's rescaled sums),
 * Y8 = requant(rshift(ATq Z, s1) ATq^T) for F(6,3) (a = 8), ATq dense at run time. */
#define WB_FN wb_q8_winoout_wide_ukernel_f6__neon
#define WB_A 8
#define WB_LOADZ(p8, p, ps, c, sq, lo, hi)                                                          \
    do {                                                                                           \
        (void)(sq);                                                                                \
        lo = vld1q_s32((const int32_t *)(p8) + (p) * (ps) + (c));                                  \
        hi = vld1q_s32((const int32_t *)(p8) + (p) * (ps) + (c) + 4);                              \
    } while (0)
#include "q8-winoout-scheme-neon.inc"
