/* wb_f32_winoout_static_ukernel_f4__neon: Y = AT M A for F(4x4,3x3), default points 0, 1, -1, 2, -2.
 *
 *        [ 1  1  1  1  1  0 ]
 *   AT = [ 0  1 -1  2 -2  0 ]      even rows use the sums d1+d2, d3+d4, odd rows the differences
 *        [ 0  1  1  4  4  0 ]
 *        [ 0  1 -1  8 -8  1 ]
 */
#include "wb_neon.h"

static inline void at4(const float32x4_t *d, float32x4_t *r)
{
    const float32x4_t c2 = vdupq_n_f32(2.0f), c4 = vdupq_n_f32(4.0f), c8 = vdupq_n_f32(8.0f);
    const float32x4_t d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5];
    const float32x4_t s12 = vaddq_f32(d1, d2), m12 = vsubq_f32(d1, d2);
    const float32x4_t s34 = vaddq_f32(d3, d4), m34 = vsubq_f32(d3, d4);
    r[0] = vaddq_f32(vaddq_f32(d0, s12), s34);
    r[1] = vfmaq_f32(m12, m34, c2);
    r[2] = vfmaq_f32(s12, s34, c4);
    r[3] = vaddq_f32(vfmaq_f32(m12, m34, c8), d5);
}

#define WB_FN wb_f32_winoout_static_ukernel_f4__neon
#define WB_M 4
#define WB_ROWS {0, 2, 1, 3} /* even rows use the sums, odd rows the differences */
#define WB_GROUP 2
#define WB_PASS(x, y) at4(x, y)
#include "f32-winoout-neon.inc"
