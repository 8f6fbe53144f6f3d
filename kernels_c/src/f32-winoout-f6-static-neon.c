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
#include "wb_f32_ukernels.h"

static inline void at6(const float32x4_t *d, size_t ds, float32x4_t *r, size_t rs)
{
    const float32x4_t d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds],
                      d5 = d[5 * ds], d6 = d[6 * ds], d7 = d[7 * ds];
    const float32x4_t s12 = vaddq_f32(d1, d2), m12 = vsubq_f32(d1, d2);
    const float32x4_t s34 = vaddq_f32(d3, d4), m34 = vsubq_f32(d3, d4);
    const float32x4_t s56 = vaddq_f32(d5, d6), m56 = vsubq_f32(d5, d6);
    r[0] = vaddq_f32(vaddq_f32(vaddq_f32(d0, s12), s34), s56);
    r[rs] = vfmaq_f32(vfmaq_f32(m12, m34, vdupq_n_f32(2.0f)), m56, vdupq_n_f32(0.5f));
    r[2 * rs] = vfmaq_f32(vfmaq_f32(s12, s34, vdupq_n_f32(4.0f)), s56, vdupq_n_f32(0.25f));
    r[3 * rs] = vfmaq_f32(vfmaq_f32(m12, m34, vdupq_n_f32(8.0f)), m56, vdupq_n_f32(0.125f));
    r[4 * rs] = vfmaq_f32(vfmaq_f32(s12, s34, vdupq_n_f32(16.0f)), s56, vdupq_n_f32(0.0625f));
    r[5 * rs] = vaddq_f32(
        vfmaq_f32(vfmaq_f32(m12, m34, vdupq_n_f32(32.0f)), m56, vdupq_n_f32(0.03125f)), d7);
}

void wb_f32_winoout_static_ukernel_f6__neon(size_t channels, const float *mm, size_t m_stride,
                                            float *const *out, const float *at)
{
    (void)at;
    for (size_t c = 0; c < channels; c += 4) {
        float32x4_t d[64], t[48], y[36];
        for (int p = 0; p < 64; p++)
            d[p] = vld1q_f32(mm + p * m_stride + c);
        for (int j = 0; j < 8; j++) /* columns: t = AT M (6 x 8) */
            at6(d + j, 8, t + j, 8);
        for (int i = 0; i < 6; i++) /* rows: Y = t A (6 x 6) */
            at6(t + 8 * i, 1, y + 6 * i, 1);
        for (int p = 0; p < 36; p++)
            vst1q_f32(out[p] + c, y[p]);
    }
}
