/* wb_f32_winoin_static_ukernel_f2__neon: V = BT d B for F(2x2,3x3), default points 0, 1, -1.
 *
 *        [-1  0  1  0 ]
 *   BT = [ 0  1  1  0 ]      only additions: 4 per 1-D transform
 *        [ 0 -1  1  0 ]
 *        [ 0 -1  0  1 ]
 */
#include "wb_neon.h"
#include "wb_f32_ukernels.h"

/* r = BT d on 4 vectors read at stride ds, written at stride rs. */
static inline void bt4(const float32x4_t *d, size_t ds, float32x4_t *r, size_t rs)
{
    const float32x4_t d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds];
    r[0] = vsubq_f32(d2, d0);
    r[rs] = vaddq_f32(d1, d2);
    r[2 * rs] = vsubq_f32(d2, d1);
    r[3 * rs] = vsubq_f32(d3, d1);
}

void wb_f32_winoin_static_ukernel_f2__neon(size_t channels, const float *const *in, float *v,
                                           size_t v_stride, const float *bt)
{
    (void)bt;
    for (size_t c = 0; c < channels; c += 4) {
        float32x4_t d[16], t[16], r[16];
        for (int p = 0; p < 16; p++)
            d[p] = vld1q_f32(in[p] + c);
        for (int j = 0; j < 4; j++) /* columns: t = BT d */
            bt4(d + j, 4, t + j, 4);
        for (int i = 0; i < 4; i++) /* rows: V = t B */
            bt4(t + 4 * i, 1, r + 4 * i, 1);
        for (int p = 0; p < 16; p++)
            vst1q_f32(v + p * v_stride + c, r[p]);
    }
}
