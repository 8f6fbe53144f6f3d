/* wb_f32_winoin_static_ukernel_f4__neon: V = BT d B for F(4x4,3x3), default points 0, 1, -1, 2, -2.
 *
 *        [ 4  0 -5  0  1  0 ]
 *        [ 0 -4 -4  1  1  0 ]
 *   BT = [ 0  4 -4 -1  1  0 ]      rows 1/2 and 3/4 are sum/difference pairs of shared terms;
 *        [ 0 -2 -1  2  1  0 ]      12 FMAs/adds per 1-D transform instead of 36
 *        [ 0  2 -1 -2  1  0 ]
 *        [ 0  4  0 -5  0  1 ]
 */
#include "wb_neon.h"

static inline void bt6(const float32x4_t *d, float32x4_t *r)
{
    const float32x4_t c4 = vdupq_n_f32(4.0f), cm4 = vdupq_n_f32(-4.0f);
    const float32x4_t c2 = vdupq_n_f32(2.0f), cm2 = vdupq_n_f32(-2.0f), cm5 = vdupq_n_f32(-5.0f);
    const float32x4_t d4m2 = vsubq_f32(d[4], d[2]), d3m1 = vsubq_f32(d[3], d[1]);
    r[0] = vfmaq_f32(vfmaq_f32(d[4], d[0], c4), d[2], cm5);                   /* 4d0 - 5d2 + d4 */
    r[1] = vfmaq_f32(vaddq_f32(d[3], d[4]), vaddq_f32(d[1], d[2]), cm4);      /* d3+d4 - 4(d1+d2) */
    r[2] = vfmaq_f32(vsubq_f32(d[4], d[3]), vsubq_f32(d[1], d[2]), c4);       /* d4-d3 + 4(d1-d2) */
    r[3] = vfmaq_f32(d4m2, d3m1, c2);                                         /* d4-d2 + 2(d3-d1) */
    r[4] = vfmaq_f32(d4m2, d3m1, cm2);                                        /* d4-d2 - 2(d3-d1) */
    r[5] = vfmaq_f32(vfmaq_f32(d[5], d[1], c4), d[3], cm5);                   /* 4d1 - 5d3 + d5 */
}

#define WB_FN wb_f32_winoin_static_ukernel_f4__neon
#define WB_M 4
#define WB_ROWS {0, 5, 1, 2, 3, 4} /* 3 and 4 share d4-d2 and d3-d1 */
#define WB_GROUP 2
#define WB_PASS(x, y) bt6(x, y)
#include "f32-winoin-neon.inc"
