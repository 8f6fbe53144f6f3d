/* wb_q8_winoout_static_ukernel_f6__neon: Y8 = requant(ATq P8 ATq^T) for F(6x6,3x3), points
 * 0, 1, -1, 2, -2, 1/2, -1/2; AT has 1/32, so ATq = 32 AT (k = 5):
 *
 *         [ 32  32  32   32    32  32  32   0 ]
 *         [  0  32 -32   64   -64  16 -16   0 ]
 *   ATq = [  0  32  32  128   128   8   8   0 ]    every entry is a power of two: shifts and adds
 *         [  0  32 -32  256  -256   4  -4   0 ]    on the sums/differences of pairs (1,2) (3,4)
 *         [  0  32  32  512   512   2   2   0 ]    (5,6). Max row L1 = 2146: |pass 1| <= 272542,
 *         [  0  32 -32 1024 -1024   1  -1  32 ]    so both passes in 32-bit lanes
 */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

static inline void at6_s32(const int32x4_t *d, int32x4_t *r)
{
    const int32x4_t s12 = vaddq_s32(d[1], d[2]), m12 = vsubq_s32(d[1], d[2]);
    const int32x4_t s34 = vaddq_s32(d[3], d[4]), m34 = vsubq_s32(d[3], d[4]);
    const int32x4_t s56 = vaddq_s32(d[5], d[6]), m56 = vsubq_s32(d[5], d[6]);
    const int32x4_t e = vshlq_n_s32(s12, 5), o = vshlq_n_s32(m12, 5); /* 32 (x1 +- x2) */
    r[0] = vshlq_n_s32(vaddq_s32(vaddq_s32(d[0], s12), vaddq_s32(s34, s56)), 5);
    r[1] = vaddq_s32(vaddq_s32(o, vshlq_n_s32(m34, 6)), vshlq_n_s32(m56, 4));
    r[2] = vaddq_s32(vaddq_s32(e, vshlq_n_s32(s34, 7)), vshlq_n_s32(s56, 3));
    r[3] = vaddq_s32(vaddq_s32(o, vshlq_n_s32(m34, 8)), vshlq_n_s32(m56, 2));
    r[4] = vaddq_s32(vaddq_s32(e, vshlq_n_s32(s34, 9)), vshlq_n_s32(s56, 1));
    r[5] = vaddq_s32(vaddq_s32(o, vshlq_n_s32(m34, 10)), vaddq_s32(m56, vshlq_n_s32(d[7], 5)));
}

/* The tile loop of the template before it was made register-resident (commit 5ec33ea), kept for
 * F6 alone: llvm-mca scores every row grouping of the template slower here on both the A53 and the
 * A57 models (both passes are 32-bit, two registers per value). */
void wb_q8_winoout_static_ukernel_f6__neon(size_t channels, const int8_t *p8, size_t p_stride,
                                           int8_t *const *out, float mult, const wb_q8_tmat *tm)
{
    enum { M = 6, A = 8 };
    (void)tm;
    const float32x4_t vm = vdupq_n_f32(mult);
    for (size_t c = 0; c < channels; c += 8) {
        int16x8_t d[A][A];
        for (int i = 0; i < A; i++)
            for (int j = 0; j < A; j++)
                d[i][j] = wb_q8_load_s16(p8 + (i * A + j) * p_stride + c);
        int32x4_t tl[M][A], th[M][A]; /* t = ATq P8, column by column */
        for (int j = 0; j < A; j++) {
            int32x4_t cl[A], ch[A], rl[M], rh[M];
            for (int i = 0; i < A; i++) {
                cl[i] = vmovl_s16(vget_low_s16(d[i][j]));
                ch[i] = vmovl_high_s16(d[i][j]);
            }
            at6_s32(cl, rl);
            at6_s32(ch, rh);
            for (int i = 0; i < M; i++) { tl[i][j] = rl[i]; th[i][j] = rh[i]; }
        }
        for (int i = 0; i < M; i++) { /* Y = t ATq^T, row by row, then requantize */
            int32x4_t rl[M], rh[M];
            at6_s32(tl[i], rl);
            at6_s32(th[i], rh);
            for (int j = 0; j < M; j++)
                vst1_s8(out[i * M + j] + c, wb_q8_requant_s32(rl[j], rh[j], vm));
        }
    }
}
