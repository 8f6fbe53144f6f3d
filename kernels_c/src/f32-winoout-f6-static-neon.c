/* wb_f32_winoout_static_ukernel_f6__neon: Y = AT M A for F(6x6,3x3),
 * default points 0, 1, -1, 2, -2, 1/2, -1/2.
 *
 *        [ 1  1  1   1   1     1     1  0 ]
 *        [ 0  1 -1   2  -2   1/2  -1/2  0 ]
 *   AT = [ 0  1  1   4   4   1/4   1/4  0 ]   even rows use the pair sums, odd rows the
 *        [ 0  1 -1   8  -8   1/8  -1/8  0 ]   differences, of (d1,d2), (d3,d4), (d5,d6)
 *        [ 0  1  1  16  16  1/16  1/16  0 ]
 *        [ 0  1 -1  32 -32  1/32 -1/32  1 ]
 */
#include "wb_neon.h"

static inline void at6(const float32x4_t *d, float32x4_t *r)
{
    const float32x4_t d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4],
                      d5 = d[5], d6 = d[6], d7 = d[7];
    const float32x4_t s12 = vaddq_f32(d1, d2), m12 = vsubq_f32(d1, d2);
    const float32x4_t s34 = vaddq_f32(d3, d4), m34 = vsubq_f32(d3, d4);
    const float32x4_t s56 = vaddq_f32(d5, d6), m56 = vsubq_f32(d5, d6);
    r[0] = vaddq_f32(vaddq_f32(vaddq_f32(d0, s12), s34), s56);
    r[1] = vfmaq_f32(vfmaq_f32(m12, m34, vdupq_n_f32(2.0f)), m56, vdupq_n_f32(0.5f));
    r[2] = vfmaq_f32(vfmaq_f32(s12, s34, vdupq_n_f32(4.0f)), s56, vdupq_n_f32(0.25f));
    r[3] = vfmaq_f32(vfmaq_f32(m12, m34, vdupq_n_f32(8.0f)), m56, vdupq_n_f32(0.125f));
    r[4] = vfmaq_f32(vfmaq_f32(s12, s34, vdupq_n_f32(16.0f)), s56, vdupq_n_f32(0.0625f));
    r[5] = vaddq_f32(
        vfmaq_f32(vfmaq_f32(m12, m34, vdupq_n_f32(32.0f)), m56, vdupq_n_f32(0.03125f)), d7);
}

#define WB_FN wb_f32_winoout_static_ukernel_f6__neon
#define WB_M 6
#define WB_ROWS {0, 2, 4, 1, 3, 5} /* even rows use the sums, odd rows the differences */
#define WB_GROUP 2
#define WB_PASS(x, y) at6(x, y)
#include "f32-winoout-neon.inc"
