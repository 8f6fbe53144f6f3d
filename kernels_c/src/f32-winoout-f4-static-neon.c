/* wb_f32_winoout_static_ukernel_f4__neon: Y = AT M A for F(4x4,3x3), default points 0, 1, -1, 2, -2.
 *
 *        [ 1  1  1  1  1  0 ]
 *   AT = [ 0  1 -1  2 -2  0 ]      even rows use the sums d1+d2, d3+d4, odd rows the differences
 *        [ 0  1  1  4  4  0 ]
 *        [ 0  1 -1  8 -8  1 ]
 */
#include "wb_neon.h"
#include "wb_f32_ukernels.h"

static inline void at4(const float32x4_t *d, size_t ds, float32x4_t *r, size_t rs)
{
    const float32x4_t c2 = vdupq_n_f32(2.0f), c4 = vdupq_n_f32(4.0f), c8 = vdupq_n_f32(8.0f);
    const float32x4_t d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds],
                      d5 = d[5 * ds];
    const float32x4_t s12 = vaddq_f32(d1, d2), m12 = vsubq_f32(d1, d2);
    const float32x4_t s34 = vaddq_f32(d3, d4), m34 = vsubq_f32(d3, d4);
    r[0] = vaddq_f32(vaddq_f32(d0, s12), s34);
    r[rs] = vfmaq_f32(m12, m34, c2);
    r[2 * rs] = vfmaq_f32(s12, s34, c4);
    r[3 * rs] = vaddq_f32(vfmaq_f32(m12, m34, c8), d5);
}

void wb_f32_winoout_static_ukernel_f4__neon(size_t channels, const float *mm, size_t m_stride,
                                            float *const *out, const float *at)
{
    (void)at;
    for (size_t c = 0; c < channels; c += 4) {
        float32x4_t d[36], t[24], y[16];
        for (int p = 0; p < 36; p++)
            d[p] = vld1q_f32(mm + p * m_stride + c);
        for (int j = 0; j < 6; j++) /* columns: t = AT M (4 x 6) */
            at4(d + j, 6, t + j, 6);
        for (int i = 0; i < 4; i++) /* rows: Y = t A (4 x 4) */
            at4(t + 6 * i, 1, y + 4 * i, 1);
        for (int p = 0; p < 16; p++)
            vst1q_f32(out[p] + c, y[p]);
    }
}
