/* wb_q8_winoin_static_ukernel_f6__neon: V8 = requant(BTq d BTq^T) for F(6x6,3x3), points
 * 0, 1, -1, 2, -2, 1/2, -1/2; BT has quarters, so BTq = 4 BT (k = 2):
 *
 *         [-4  0  21   0 -21   0  4  0 ]
 *         [ 0  4   4 -17 -17   4  4  0 ]
 *         [ 0 -4   4  17 -17  -4  4  0 ]
 *   BTq = [ 0  2   1 -10  -5   8  4  0 ]    rows 1/2, 3/4, 5/6 are even +- odd pairs.
 *         [ 0 -2   1  10  -5  -8  4  0 ]    Max row L1 = 60: |pass 1| <= 7620 fits 16-bit lanes,
 *         [ 0  8  16 -10 -20   2  4  0 ]    |V| <= 457200 does not: pass 2 in 32-bit lanes
 *         [ 0 -8  16  10 -20  -2  4  0 ]
 *         [ 0 -4   0  21   0 -21  0  4 ]
 */
#include "wb_q8_neon.h"

/* One body for 16- and 32-bit lanes: S is the intrinsic suffix, T the vector type. */
#define WB_DEF_BT6(S, T)                                                                         \
    static inline void bt6_##S(const T *d, T *r)                                                 \
    {                                                                                            \
        const T p15 = vaddq_##S(d[1], d[5]), p26 = vaddq_##S(d[2], d[6]);                        \
        const T p34 = vaddq_##S(d[3], d[4]), m34 = vsubq_##S(d[3], d[4]);                        \
        /* 4(d6 - d0) + 21(d2 - d4) */                                                           \
        r[0] = vmlaq_n_##S(vshlq_n_##S(vsubq_##S(d[6], d[0]), 2), vsubq_##S(d[2], d[4]), 21);    \
        /* 4(d1 + d2 + d5 + d6) - 17(d3 + d4),  4(d2 + d6 - d1 - d5) + 17(d3 - d4) */            \
        r[1] = vmlsq_n_##S(vshlq_n_##S(vaddq_##S(p26, p15), 2), p34, 17);                        \
        r[2] = vmlaq_n_##S(vshlq_n_##S(vsubq_##S(p26, p15), 2), m34, 17);                        \
        /* odd 2d1 - 10d3 + 8d5, even d2 - 5d4 + 4d6 */                                          \
        const T o1 = vaddq_##S(vmlsq_n_##S(vshlq_n_##S(d[1], 1), d[3], 10), vshlq_n_##S(d[5], 3)); \
        const T e1 = vaddq_##S(vmlsq_n_##S(d[2], d[4], 5), vshlq_n_##S(d[6], 2));                \
        r[3] = vaddq_##S(e1, o1);                                                                \
        r[4] = vsubq_##S(e1, o1);                                                                \
        /* odd 8d1 - 10d3 + 2d5, even 16d2 - 20d4 + 4d6 */                                       \
        const T o2 = vaddq_##S(vmlsq_n_##S(vshlq_n_##S(d[1], 3), d[3], 10), vshlq_n_##S(d[5], 1)); \
        const T e2 = vaddq_##S(vmlsq_n_##S(vshlq_n_##S(d[2], 4), d[4], 20), vshlq_n_##S(d[6], 2)); \
        r[5] = vaddq_##S(e2, o2);                                                                \
        r[6] = vsubq_##S(e2, o2);                                                                \
        /* 4(d7 - d1) + 21(d3 - d5) */                                                           \
        r[7] = vmlaq_n_##S(vshlq_n_##S(vsubq_##S(d[7], d[1]), 2), vsubq_##S(d[3], d[5]), 21);    \
    }
WB_DEF_BT6(s16, int16x8_t)
WB_DEF_BT6(s32, int32x4_t)

#define WB_FN wb_q8_winoin_static_ukernel_f6__neon
#define WB_STATIC_FN
#define WB_A 8
#define WB_L1 16
#define WB_L2 32
#define WB_ROWS {0, 1, 2, 3, 4, 5, 6, 7}
#define WB_GROUP 1 /* pass 2 in 32-bit lanes needs the registers */
#define WB_BT16(x, y) bt6_s16(x, y)
#define WB_BT32(x, y) bt6_s32(x, y)
#include "q8-winoin-neon.inc"
