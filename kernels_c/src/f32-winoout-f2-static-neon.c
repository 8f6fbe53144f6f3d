/* wb_f32_winoout_static_ukernel_f2__neon: Y = AT M A for F(2x2,3x3), default points 0, 1, -1.
 *
 *   AT = [ 1  1  1  0 ]
 *        [ 0  1 -1  1 ]
 */
#include "wb_neon.h"
#include "wb_f32_ukernels.h"

static inline void at2(const float32x4_t *d, size_t ds, float32x4_t *r, size_t rs)
{
    const float32x4_t d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds];
    r[0] = vaddq_f32(vaddq_f32(d0, d1), d2);
    r[rs] = vaddq_f32(vsubq_f32(d1, d2), d3);
}

void wb_f32_winoout_static_ukernel_f2__neon(size_t channels, const float *mm, size_t m_stride,
                                            float *const *out, const float *at)
{
    (void)at;
    for (size_t c = 0; c < channels; c += 4) {
        float32x4_t d[16], t[8], y[4];
        for (int p = 0; p < 16; p++)
            d[p] = vld1q_f32(mm + p * m_stride + c);
        for (int j = 0; j < 4; j++) /* columns: t = AT M (2 x 4) */
            at2(d + j, 4, t + j, 4);
        for (int i = 0; i < 2; i++) /* rows: Y = t A (2 x 2) */
            at2(t + 4 * i, 1, y + 2 * i, 1);
        for (int p = 0; p < 4; p++)
            vst1q_f32(out[p] + c, y[p]);
    }
}
