/* wb_f32_winoin_static_ukernel_f6__neon: V = BT d B for F(6x6,3x3),
 * default points 0, 1, -1, 2, -2, 1/2, -1/2.
 *
 *        [-1    0  21/4     0 -21/4     0    1  0 ]
 *        [ 0    1     1 -17/4 -17/4     1    1  0 ]
 *        [ 0   -1     1  17/4 -17/4    -1    1  0 ]
 *   BT = [ 0  1/2   1/4  -5/2  -5/4     2    1  0 ]   rows 1/2, 3/4, 5/6 are a +- b pairs:
 *        [ 0 -1/2   1/4   5/2  -5/4    -2    1  0 ]   even-index terms (a) and odd (b) shared
 *        [ 0    2     4  -5/2    -5   1/2    1  0 ]
 *        [ 0   -2     4   5/2    -5  -1/2    1  0 ]
 *        [ 0   -1     0  21/4     0 -21/4    0  1 ]
 */
#include "wb_neon.h"

static inline void bt8(const float32x4_t *d, float32x4_t *r)
{
    const float32x4_t c5_25 = vdupq_n_f32(5.25f), cm4_25 = vdupq_n_f32(-4.25f);
    const float32x4_t c0_25 = vdupq_n_f32(0.25f), cm1_25 = vdupq_n_f32(-1.25f);
    const float32x4_t c0_5 = vdupq_n_f32(0.5f), cm2_5 = vdupq_n_f32(-2.5f);
    const float32x4_t c2 = vdupq_n_f32(2.0f), c4 = vdupq_n_f32(4.0f);
    const float32x4_t d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5], d6 = d[6],
                      d7 = d[7];
    r[0] = vfmaq_f32(vsubq_f32(d6, d0), vsubq_f32(d2, d4), c5_25);
    r[7] = vfmaq_f32(vsubq_f32(d7, d1), vsubq_f32(d3, d5), c5_25);
    const float32x4_t a12 = vfmaq_f32(vaddq_f32(d2, d6), d4, cm4_25);     /* d2 + d6 - 4.25 d4 */
    const float32x4_t b12 = vfmaq_f32(vaddq_f32(d1, d5), d3, cm4_25);     /* d1 + d5 - 4.25 d3 */
    r[1] = vaddq_f32(a12, b12);
    r[2] = vsubq_f32(a12, b12);
    const float32x4_t a34 = vfmaq_f32(vfmaq_f32(d6, d2, c0_25), d4, cm1_25); /* .25d2 - 1.25d4 + d6 */
    const float32x4_t b34 = vfmaq_f32(vfmaq_f32(vmulq_f32(d1, c0_5), d3, cm2_5), d5, c2);
    r[3] = vaddq_f32(a34, b34);                                      /* b34 = .5d1 - 2.5d3 + 2d5 */
    r[4] = vsubq_f32(a34, b34);
    const float32x4_t a56 = vfmaq_f32(d6, vfmaq_f32(d2, d4, cm1_25), c4);  /* 4(d2 - 1.25d4) + d6 */
    const float32x4_t b56 = vfmaq_f32(vfmaq_f32(vmulq_f32(d1, c2), d3, cm2_5), d5, c0_5);
    r[5] = vaddq_f32(a56, b56);                                      /* b56 = 2d1 - 2.5d3 + .5d5 */
    r[6] = vsubq_f32(a56, b56);
}

#define WB_FN wb_f32_winoin_static_ukernel_f6__neon
#define WB_M 6
#define WB_ROWS {0, 7, 1, 2, 3, 4, 5, 6} /* pairs 1/2, 3/4, 5/6 share their even and odd terms */
#define WB_GROUP 2
#define WB_PASS(x, y) bt8(x, y)
#include "f32-winoin-neon.inc"
