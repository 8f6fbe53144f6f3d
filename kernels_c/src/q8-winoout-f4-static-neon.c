/* wb_q8_winoout_static_ukernel_f4__neon: Y8 = requant(ATq P8 ATq^T) for F(4x4,3x3), points
 * 0, 1, -1, 2, -2; ATq = AT (k = 0):
 *
 *         [ 1  1  1  1  1  0 ]
 *   ATq = [ 0  1 -1  2 -2  0 ]    even rows use the sums x1+x2, x3+x4, odd rows the differences.
 *         [ 0  1  1  4  4  0 ]    Max row L1 = 19: |pass 1| <= 2413 fits 16-bit lanes,
 *         [ 0  1 -1  8 -8  1 ]    |Y| <= 45847 does not: pass 2 in 32-bit lanes
 */
#include "wb_q8_neon.h"

#define WB_DEF_AT4(S, T)                                                                         \
    static inline void at4_##S(const T *d, T *r)                                                 \
    {                                                                                            \
        const T s12 = vaddq_##S(d[1], d[2]), m12 = vsubq_##S(d[1], d[2]);                        \
        const T s34 = vaddq_##S(d[3], d[4]), m34 = vsubq_##S(d[3], d[4]);                        \
        r[0] = vaddq_##S(vaddq_##S(d[0], s12), s34);                                             \
        r[1] = vaddq_##S(m12, vshlq_n_##S(m34, 1));                                              \
        r[2] = vaddq_##S(s12, vshlq_n_##S(s34, 2));                                              \
        r[3] = vaddq_##S(vaddq_##S(m12, vshlq_n_##S(m34, 3)), d[5]);                             \
    }
WB_DEF_AT4(s16, int16x8_t)
WB_DEF_AT4(s32, int32x4_t)

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoout_static_ukernel_f4__neon
#endif
#define WB_M 4
#define WB_L1 16
#define WB_L2 32
#define WB_ROWS {0, 2, 1, 3} /* even rows use the sums, odd rows the differences */
#define WB_GROUP 2
#define WB_PASS16(x, y) at4_s16(x, y)
#define WB_PASS32(x, y) at4_s32(x, y)
#include "q8-winoout-neon.inc"
