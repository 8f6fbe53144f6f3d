/* wb_q8_winoout_static_ukernel_f2__neon: Y8 = requant(ATq P8 ATq^T) for F(2x2,3x3); ATq = AT (k = 0):
 *
 *   ATq = [ 1  1  1  0 ]      |Y| <= 127 * 3^2 = 1143: both passes in 16-bit lanes
 *         [ 0  1 -1  1 ]
 */
#include "wb_q8_neon.h"

static inline void at2_s16(const int16x8_t *d, int16x8_t *r)
{
    r[0] = vaddq_s16(vaddq_s16(d[0], d[1]), d[2]);
    r[1] = vaddq_s16(vsubq_s16(d[1], d[2]), d[3]);
}

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoout_static_ukernel_f2__neon
#endif
#define WB_M 2
#define WB_L1 16
#define WB_L2 16
#define WB_ROWS {0, 1}
#define WB_GROUP 2
#define WB_PASS16(x, y) at2_s16(x, y)
#include "q8-winoout-neon.inc"
