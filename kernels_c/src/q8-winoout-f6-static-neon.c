/* wb_q8_winoout_static_ukernel_f6__neon: Y8 = requant(ATq P8 ATq^T) for F(6x6,3x3), points
 * 0, 1, -1, 2, -2, 1/2, -1/2; AT has 1/32, so ATq = 32 AT (k = 5):
 *
 *         [ 32  32  32   32    32  32  32   0 ]
 *         [  0  32 -32   64   -64  16 -16   0 ]
 *   ATq = [  0  32  32  128   128   8   8   0 ]    every entry is a power of two: shifts and adds
 *         [  0  32 -32  256  -256   4  -4   0 ]    on the sums/differences of pairs (1,2) (3,4)
 *         [  0  32  32  512   512   2   2   0 ]    (5,6). Max row L1 = 2146: |pass 1| <= 272542,
 *         [  0  32 -32 1024 -1024   1  -1  32 ]    so both passes in 32-bit lanes
 */
#include "wb_q8_neon.h"

static inline void at6_s32(const int32x4_t *d, int32x4_t *r)
{
    const int32x4_t s12 = vaddq_s32(d[1], d[2]), m12 = vsubq_s32(d[1], d[2]);
    const int32x4_t s34 = vaddq_s32(d[3], d[4]), m34 = vsubq_s32(d[3], d[4]);
    const int32x4_t s56 = vaddq_s32(d[5], d[6]), m56 = vsubq_s32(d[5], d[6]);
    const int32x4_t e = vshlq_n_s32(s12, 5), o = vshlq_n_s32(m12, 5); /* 32 (x1 +- x2) */
    r[0] = vshlq_n_s32(vaddq_s32(vaddq_s32(d[0], s12), vaddq_s32(s34, s56)), 5);
    r[1] = vaddq_s32(vaddq_s32(o, vshlq_n_s32(m34, 6)), vshlq_n_s32(m56, 4));
    r[2] = vaddq_s32(vaddq_s32(e, vshlq_n_s32(s34, 7)), vshlq_n_s32(s56, 3));
    r[3] = vaddq_s32(vaddq_s32(o, vshlq_n_s32(m34, 8)), vshlq_n_s32(m56, 2));
    r[4] = vaddq_s32(vaddq_s32(e, vshlq_n_s32(s34, 9)), vshlq_n_s32(s56, 1));
    r[5] = vaddq_s32(vaddq_s32(o, vshlq_n_s32(m34, 10)), vaddq_s32(m56, vshlq_n_s32(d[7], 5)));
}

#define WB_FN wb_q8_winoout_static_ukernel_f6__neon
#define WB_STATIC_FN
#define WB_M 6
#define WB_L1 32
#define WB_L2 32
#define WB_ROWS {0, 2, 4, 1, 3, 5} /* even rows use the sums, odd rows the differences */
#define WB_GROUP 1
#define WB_AT32(x, y) at6_s32(x, y)
#include "q8-winoout-neon.inc"
