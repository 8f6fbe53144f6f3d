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
#include "wb_f32_ukernels.h"

static inline void bt8(const float32x4_t *d, size_t ds, float32x4_t *r, size_t rs)
{
    const float32x4_t c5_25 = vdupq_n_f32(5.25f), cm4_25 = vdupq_n_f32(-4.25f);
    const float32x4_t c0_25 = vdupq_n_f32(0.25f), cm1_25 = vdupq_n_f32(-1.25f);
    const float32x4_t c0_5 = vdupq_n_f32(0.5f), cm2_5 = vdupq_n_f32(-2.5f);
    const float32x4_t c2 = vdupq_n_f32(2.0f), c4 = vdupq_n_f32(4.0f);
    const float32x4_t d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds],
                      d5 = d[5 * ds], d6 = d[6 * ds], d7 = d[7 * ds];
    r[0] = vfmaq_f32(vsubq_f32(d6, d0), vsubq_f32(d2, d4), c5_25);
    r[7 * rs] = vfmaq_f32(vsubq_f32(d7, d1), vsubq_f32(d3, d5), c5_25);
    const float32x4_t a12 = vfmaq_f32(vaddq_f32(d2, d6), d4, cm4_25);     /* d2 + d6 - 4.25 d4 */
    const float32x4_t b12 = vfmaq_f32(vaddq_f32(d1, d5), d3, cm4_25);     /* d1 + d5 - 4.25 d3 */
    r[rs] = vaddq_f32(a12, b12);
    r[2 * rs] = vsubq_f32(a12, b12);
    const float32x4_t a34 = vfmaq_f32(vfmaq_f32(d6, d2, c0_25), d4, cm1_25); /* .25d2 - 1.25d4 + d6 */
    const float32x4_t b34 = vfmaq_f32(vfmaq_f32(vmulq_f32(d1, c0_5), d3, cm2_5), d5, c2);
    r[3 * rs] = vaddq_f32(a34, b34);                                      /* b34 = .5d1 - 2.5d3 + 2d5 */
    r[4 * rs] = vsubq_f32(a34, b34);
    const float32x4_t a56 = vfmaq_f32(d6, vfmaq_f32(d2, d4, cm1_25), c4);  /* 4(d2 - 1.25d4) + d6 */
    const float32x4_t b56 = vfmaq_f32(vfmaq_f32(vmulq_f32(d1, c2), d3, cm2_5), d5, c0_5);
    r[5 * rs] = vaddq_f32(a56, b56);                                      /* b56 = 2d1 - 2.5d3 + .5d5 */
    r[6 * rs] = vsubq_f32(a56, b56);
}

void wb_f32_winoin_static_ukernel_f6__neon(size_t channels, const float *const *in, float *v,
                                           size_t v_stride, const float *bt)
{
    (void)bt;
    for (size_t c = 0; c < channels; c += 4) {
        float32x4_t d[64], t[64], r[64];
        for (int p = 0; p < 64; p++)
            d[p] = vld1q_f32(in[p] + c);
        for (int j = 0; j < 8; j++)
            bt8(d + j, 8, t + j, 8);
        for (int i = 0; i < 8; i++)
            bt8(t + 8 * i, 1, r + 8 * i, 1);
        for (int p = 0; p < 64; p++)
            vst1q_f32(v + p * v_stride + c, r[p]);
    }
}
