/* wb_q8_winoin_static_ukernel_f2__neon: V8 = requant(BTq d BTq^T) for F(2x2,3x3), points 0, 1, -1;
 * BTq = BT (k = 0):
 *
 *         [-1  0  1  0 ]
 *   BTq = [ 0  1  1  0 ]      |V| <= 127 * 2^2 = 508: both passes in 16-bit lanes
 *         [ 0 -1  1  0 ]
 *         [ 0 -1  0  1 ]
 */
#include "wb_q8_neon.h"

static inline void bt2_s16(const int16x8_t *d, int16x8_t *r)
{
    r[0] = vsubq_s16(d[2], d[0]);
    r[1] = vaddq_s16(d[1], d[2]);
    r[2] = vsubq_s16(d[2], d[1]);
    r[3] = vsubq_s16(d[3], d[1]);
}

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoin_static_ukernel_f2__neon
#endif
#define WB_M 2
#define WB_L1 16
#define WB_L2 16
#define WB_ROWS {0, 1, 2, 3}
#define WB_PRESCHED 1 /* one or two rows per group: no spills with the scheduler kept */
#define WB_GROUP 2
#define WB_PASS16(x, y) bt2_s16(x, y)
#include "q8-winoin-neon.inc"
