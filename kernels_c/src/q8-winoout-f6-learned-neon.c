/* wb_q8_winoout_learned_ukernel_f6__neon: dense Y8 = requant(ATq P8 ATq^T), any 6x8 integer ATq.
 * The tile loop of the template before it was made register-resident (commit 5ec33ea), kept for
 * F6 alone: llvm-mca scores the register-resident template slower here on both the A53 and the
 * A57 models. Coefficients are broadcast from tm per product; P8 and t live in memory. The lane
 * widths of the two passes (16 or 32, from the scheme's bounds) are picked per call from tm. */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

enum { M = 6, A = 8 };

static inline __attribute__((always_inline)) void
tile_loop(size_t channels, const int8_t *p8, size_t p_stride, int8_t *const *out, float mult,
          const wb_q8_tmat *tm, int l1, int l2)
{
    const float32x4_t vm = vdupq_n_f32(mult);
    for (size_t c = 0; c < channels; c += 8) {
        int16x8_t d[A][A], t[M][A];
        int32x4_t tl[M][A], th[M][A];
        for (int i = 0; i < A; i++)
            for (int j = 0; j < A; j++)
                d[i][j] = wb_q8_load_s16(p8 + (i * A + j) * p_stride + c);
        for (int j = 0; j < A; j++) { /* t = ATq P8, column by column */
            if (l1 == 16) {
                int16x8_t col[A], r[M];
                for (int i = 0; i < A; i++) col[i] = d[i][j];
                wb_q8_dense_s16(tm->m16, M, A, col, r);
                for (int i = 0; i < M; i++) t[i][j] = r[i];
            } else {
                int32x4_t cl[A], ch[A], rl[M], rh[M];
                for (int i = 0; i < A; i++) {
                    cl[i] = vmovl_s16(vget_low_s16(d[i][j]));
                    ch[i] = vmovl_high_s16(d[i][j]);
                }
                wb_q8_dense_s32(tm->m32, M, A, cl, rl);
                wb_q8_dense_s32(tm->m32, M, A, ch, rh);
                for (int i = 0; i < M; i++) { tl[i][j] = rl[i]; th[i][j] = rh[i]; }
            }
        }
        for (int i = 0; i < M; i++) { /* Y = t ATq^T, row by row, then requantize */
            if (l2 == 16) {
                int16x8_t r[M];
                wb_q8_dense_s16(tm->m16, M, A, t[i], r);
                for (int j = 0; j < M; j++)
                    vst1_s8(out[i * M + j] + c, wb_q8_requant_s16(r[j], vm));
            } else {
                int32x4_t xl[A], xh[A], rl[M], rh[M];
                for (int k = 0; k < A; k++) {
                    xl[k] = l1 == 16 ? vmovl_s16(vget_low_s16(t[i][k])) : tl[i][k];
                    xh[k] = l1 == 16 ? vmovl_high_s16(t[i][k]) : th[i][k];
                }
                wb_q8_dense_s32(tm->m32, M, A, xl, rl);
                wb_q8_dense_s32(tm->m32, M, A, xh, rh);
                for (int j = 0; j < M; j++)
                    vst1_s8(out[i * M + j] + c, wb_q8_requant_s32(rl[j], rh[j], vm));
            }
        }
    }
}

#define WB_DEF_TILE(L1, L2)                                                                      \
    static void winoout_##L1##_##L2(size_t channels, const int8_t *p8, size_t p_stride,          \
                                    int8_t *const *out, float mult, const wb_q8_tmat *tm)        \
    {                                                                                            \
        tile_loop(channels, p8, p_stride, out, mult, tm, L1, L2);                                \
    }
WB_DEF_TILE(16, 16)
WB_DEF_TILE(16, 32)
WB_DEF_TILE(32, 32)

void wb_q8_winoout_learned_ukernel_f6__neon(size_t channels, const int8_t *p8, size_t p_stride,
                                            int8_t *const *out, float mult, const wb_q8_tmat *tm)
{
    if (tm->lanes2 == 16)
        winoout_16_16(channels, p8, p_stride, out, mult, tm);
    else if (tm->lanes1 == 16)
        winoout_16_32(channels, p8, p_stride, out, mult, tm);
    else
        winoout_32_32(channels, p8, p_stride, out, mult, tm);
}
