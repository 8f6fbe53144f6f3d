/* wb_q8_winoin_static_ukernel_f6__neon: V8 = requant(BTq d BTq^T) for F(6x6,3x3), points
 * 0, 1, -1, 2, -2, 1/2, -1/2; BT has quarters, so BTq = 4 BT (k = 2):
 *
 *         [-4  0  21   0 -21   0  4  0 ]
 *         [ 0  4   4 -17 -17   4  4  0 ]
 *         [ 0 -4   4  17 -17  -4  4  0 ]
 *   BTq = [ 0  2   1 -10  -5   8  4  0 ]    rows 1/2, 3/4, 5/6 are even +- odd pairs.
 *         [ 0 -2   1  10  -5  -8  4  0 ]    Max row L1 = 60: |pass 1| <= 7620 fits 16-bit lanes,
 *         [ 0  8  16 -10 -20   2  4  0 ]    |V| <= 457200 does not: pass 2 in 32-bit lanes
 *         [ 0 -8  16  10 -20  -2  4  0 ]
 *         [ 0 -4   0  21   0 -21  0  4 ]
 */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

/* One body for 16- and 32-bit lanes: S is the intrinsic suffix, T the vector type. */
#define WB_DEF_BT6(S, T)                                                                         \
    static inline void bt6_##S(const T *d, T *r)                                                 \
    {                                                                                            \
        const T p15 = vaddq_##S(d[1], d[5]), p26 = vaddq_##S(d[2], d[6]);                        \
        const T p34 = vaddq_##S(d[3], d[4]), m34 = vsubq_##S(d[3], d[4]);                        \
        /* 4(d6 - d0) + 21(d2 - d4) */                                                           \
        r[0] = vmlaq_n_##S(vshlq_n_##S(vsubq_##S(d[6], d[0]), 2), vsubq_##S(d[2], d[4]), 21);    \
        /* 4(d1 + d2 + d5 + d6) - 17(d3 + d4),  4(d2 + d6 - d1 - d5) + 17(d3 - d4) */            \
        r[1] = vmlsq_n_##S(vshlq_n_##S(vaddq_##S(p26, p15), 2), p34, 17);                        \
        r[2] = vmlaq_n_##S(vshlq_n_##S(vsubq_##S(p26, p15), 2), m34, 17);                        \
        /* odd 2d1 - 10d3 + 8d5, even d2 - 5d4 + 4d6 */                                          \
        const T o1 = vaddq_##S(vmlsq_n_##S(vshlq_n_##S(d[1], 1), d[3], 10), vshlq_n_##S(d[5], 3)); \
        const T e1 = vaddq_##S(vmlsq_n_##S(d[2], d[4], 5), vshlq_n_##S(d[6], 2));                \
        r[3] = vaddq_##S(e1, o1);                                                                \
        r[4] = vsubq_##S(e1, o1);                                                                \
        /* odd 8d1 - 10d3 + 2d5, even 16d2 - 20d4 + 4d6 */                                       \
        const T o2 = vaddq_##S(vmlsq_n_##S(vshlq_n_##S(d[1], 3), d[3], 10), vshlq_n_##S(d[5], 1)); \
        const T e2 = vaddq_##S(vmlsq_n_##S(vshlq_n_##S(d[2], 4), d[4], 20), vshlq_n_##S(d[6], 2)); \
        r[5] = vaddq_##S(e2, o2);                                                                \
        r[6] = vsubq_##S(e2, o2);                                                                \
        /* 4(d7 - d1) + 21(d3 - d5) */                                                           \
        r[7] = vmlaq_n_##S(vshlq_n_##S(vsubq_##S(d[7], d[1]), 2), vsubq_##S(d[3], d[5]), 21);    \
    }
WB_DEF_BT6(s16, int16x8_t)
WB_DEF_BT6(s32, int32x4_t)

/* The tile loop of the template before it was made register-resident (commit 5ec33ea), kept for
 * F6 alone: llvm-mca scores every row grouping of the template slower here on both the A53 and the
 * A57 models (the 32-bit row pass leaves too few registers for a group). d and t live in memory. */
void wb_q8_winoin_static_ukernel_f6__neon(size_t channels, const int8_t *x, size_t x_row,
                                          size_t x_px, int8_t *v, size_t v_stride, float mult,
                                          const wb_q8_tmat *tm)
{
    enum { A = 8 };
    (void)tm;
    const float32x4_t vm = vdupq_n_f32(mult);
    for (size_t c = 0; c < channels; c += 8) {
        int16x8_t d[A][A], t[A][A]; /* t = BTq d, column by column */
        for (int i = 0; i < A; i++)
            for (int j = 0; j < A; j++)
                d[i][j] = wb_q8_load_s16(x + i * x_row + j * x_px + c);
        for (int j = 0; j < A; j++) {
            int16x8_t col[A], r[A];
            for (int i = 0; i < A; i++) col[i] = d[i][j];
            bt6_s16(col, r);
            for (int i = 0; i < A; i++) t[i][j] = r[i];
        }
        for (int i = 0; i < A; i++) { /* V = t BTq^T in 32-bit lanes, row by row, requantized */
            int8_t *vi = v + (size_t)i * A * v_stride + c;
            int32x4_t xl[A], xh[A], rl[A], rh[A];
            for (int k = 0; k < A; k++) {
                xl[k] = vmovl_s16(vget_low_s16(t[i][k]));
                xh[k] = vmovl_high_s16(t[i][k]);
            }
            bt6_s32(xl, rl);
            bt6_s32(xh, rh);
            for (int l = 0; l < A; l++)
                vst1_s8(vi + l * v_stride, wb_q8_requant_s32(rl[l], rh[l], vm));
        }
    }
}
