/* wb_q8_winoin_static_ukernel_f4__neon: V8 = requant(BTq d BTq^T) for F(4x4,3x3), points
 * 0, 1, -1, 2, -2; BTq = BT (k = 0):
 *
 *         [ 4  0 -5  0  1  0 ]
 *         [ 0 -4 -4  1  1  0 ]
 *   BTq = [ 0  4 -4 -1  1  0 ]    rows 1/2 and 3/4 are sum/difference pairs of shared terms.
 *         [ 0 -2 -1  2  1  0 ]    Max row L1 = 10: |pass 1| <= 1270, |V| <= 12700, so both
 *         [ 0  2 -1 -2  1  0 ]    passes fit 16-bit lanes (8 channels per instruction)
 *         [ 0  4  0 -5  0  1 ]
 */
#include "wb_q8_neon.h"

static inline void bt4_s16(const int16x8_t *d, int16x8_t *r)
{
    const int16x8_t d4m2 = vsubq_s16(d[4], d[2]), d3m1 = vsubq_s16(d[3], d[1]);
    r[0] = vmlsq_n_s16(vaddq_s16(vshlq_n_s16(d[0], 2), d[4]), d[2], 5);               /* 4d0 - 5d2 + d4 */
    r[1] = vsubq_s16(vaddq_s16(d[3], d[4]), vshlq_n_s16(vaddq_s16(d[1], d[2]), 2));   /* d3+d4 - 4(d1+d2) */
    r[2] = vaddq_s16(vsubq_s16(d[4], d[3]), vshlq_n_s16(vsubq_s16(d[1], d[2]), 2));   /* d4-d3 + 4(d1-d2) */
    r[3] = vaddq_s16(d4m2, vshlq_n_s16(d3m1, 1));                                     /* d4-d2 + 2(d3-d1) */
    r[4] = vsubq_s16(d4m2, vshlq_n_s16(d3m1, 1));                                     /* d4-d2 - 2(d3-d1) */
    r[5] = vmlsq_n_s16(vaddq_s16(vshlq_n_s16(d[1], 2), d[5]), d[3], 5);               /* 4d1 - 5d3 + d5 */
}

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoin_static_ukernel_f4__neon
#endif
#define WB_M 4
#define WB_L1 16
#define WB_L2 16
#define WB_PRESCHED 1 /* one or two rows per group: no spills with the scheduler kept */
#define WB_ROWS {0, 5, 1, 2, 3, 4}
#define WB_GROUP 1
#define WB_PASS16(x, y) bt4_s16(x, y)
#include "q8-winoin-neon.inc"
