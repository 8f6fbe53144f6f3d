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
#include "wb_f32_ukernels.h"

static inline void bt6(const float32x4_t *d, size_t ds, float32x4_t *r, size_t rs)
{
    const float32x4_t c4 = vdupq_n_f32(4.0f), cm4 = vdupq_n_f32(-4.0f);
    const float32x4_t c2 = vdupq_n_f32(2.0f), cm5 = vdupq_n_f32(-5.0f);
    const float32x4_t d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds],
                      d5 = d[5 * ds];
    const float32x4_t d4m2 = vsubq_f32(d4, d2), d3m1 = vsubq_f32(d3, d1);
    r[0] = vfmaq_f32(vfmaq_f32(d4, d0, c4), d2, cm5);                  /* 4d0 - 5d2 + d4 */
    r[rs] = vfmaq_f32(vaddq_f32(d3, d4), vaddq_f32(d1, d2), cm4);      /* d3+d4 - 4(d1+d2) */
    r[2 * rs] = vfmaq_f32(vsubq_f32(d4, d3), vsubq_f32(d1, d2), c4);   /* d4-d3 + 4(d1-d2) */
    r[3 * rs] = vfmaq_f32(d4m2, d3m1, c2);                             /* d4-d2 + 2(d3-d1) */
    r[4 * rs] = vfmaq_f32(d4m2, d3m1, vnegq_f32(c2));                  /* d4-d2 - 2(d3-d1) */
    r[5 * rs] = vfmaq_f32(vfmaq_f32(d5, d1, c4), d3, cm5);             /* 4d1 - 5d3 + d5 */
}

void wb_f32_winoin_static_ukernel_f4__neon(size_t channels, const float *const *in, float *v,
                                           size_t v_stride, const float *bt)
{
    (void)bt;
    for (size_t c = 0; c < channels; c += 4) {
        float32x4_t d[36], t[36], r[36];
        for (int p = 0; p < 36; p++)
            d[p] = vld1q_f32(in[p] + c);
        for (int j = 0; j < 6; j++)
            bt6(d + j, 6, t + j, 6);
        for (int i = 0; i < 6; i++)
            bt6(t + 6 * i, 1, r + 6 * i, 1);
        for (int p = 0; p < 36; p++)
            vst1q_f32(v + p * v_stride + c, r[p]);
    }
}
