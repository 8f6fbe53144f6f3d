/* wb_q8_winoin_learned_ukernel_f6__neon: dense V8 = requant(BTq d BTq^T), any 8x8 integer BTq.
 * The tile loop of the template before it was made register-resident (commit 5ec33ea), kept for
 * F6 alone: llvm-mca scores the register-resident template slower here on both the A53 and the
 * A57 models. Coefficients are broadcast from tm per product; d and t live in memory. The lane
 * widths of the two passes (16 or 32, from the scheme's bounds) are picked per call from tm. */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

enum { A = 8 };

static inline __attribute__((always_inline)) void
tile_loop(size_t channels, const int8_t *x, size_t x_row, size_t x_px, int8_t *v, size_t v_stride,
          float mult, const wb_q8_tmat *tm, int l1, int l2)
{
    const float32x4_t vm = vdupq_n_f32(mult);
    for (size_t c = 0; c < channels; c += 8) {
        int16x8_t d[A][A], t[A][A];
        int32x4_t tl[A][A], th[A][A];
        for (int i = 0; i < A; i++)
            for (int j = 0; j < A; j++)
                d[i][j] = wb_q8_load_s16(x + i * x_row + j * x_px + c);
        for (int j = 0; j < A; j++) { /* t = BTq d, column by column */
            if (l1 == 16) {
                int16x8_t col[A], r[A];
                for (int i = 0; i < A; i++) col[i] = d[i][j];
                wb_q8_dense_s16(tm->m16, A, A, col, r);
                for (int i = 0; i < A; i++) t[i][j] = r[i];
            } else {
                int32x4_t cl[A], ch[A], rl[A], rh[A];
                for (int i = 0; i < A; i++) {
                    cl[i] = vmovl_s16(vget_low_s16(d[i][j]));
                    ch[i] = vmovl_high_s16(d[i][j]);
                }
                wb_q8_dense_s32(tm->m32, A, A, cl, rl);
                wb_q8_dense_s32(tm->m32, A, A, ch, rh);
                for (int i = 0; i < A; i++) { tl[i][j] = rl[i]; th[i][j] = rh[i]; }
            }
        }
        for (int i = 0; i < A; i++) { /* V = t BTq^T, row by row, then requantize */
            int8_t *vi = v + (size_t)i * A * v_stride + c;
            if (l2 == 16) {
                int16x8_t r[A];
                wb_q8_dense_s16(tm->m16, A, A, t[i], r);
                for (int l = 0; l < A; l++)
                    vst1_s8(vi + l * v_stride, wb_q8_requant_s16(r[l], vm));
            } else {
                int32x4_t xl[A], xh[A], rl[A], rh[A];
                for (int k = 0; k < A; k++) {
                    xl[k] = l1 == 16 ? vmovl_s16(vget_low_s16(t[i][k])) : tl[i][k];
                    xh[k] = l1 == 16 ? vmovl_high_s16(t[i][k]) : th[i][k];
                }
                wb_q8_dense_s32(tm->m32, A, A, xl, rl);
                wb_q8_dense_s32(tm->m32, A, A, xh, rh);
                for (int l = 0; l < A; l++)
                    vst1_s8(vi + l * v_stride, wb_q8_requant_s32(rl[l], rh[l], vm));
            }
        }
    }
}

#define WB_DEF_TILE(L1, L2)                                                                      \
    static void winoin_##L1##_##L2(size_t channels, const int8_t *x, size_t x_row, size_t x_px,  \
                                   int8_t *v, size_t v_stride, float mult, const wb_q8_tmat *tm) \
    {                                                                                            \
        tile_loop(channels, x, x_row, x_px, v, v_stride, mult, tm, L1, L2);                      \
    }
WB_DEF_TILE(16, 16)
WB_DEF_TILE(16, 32)
WB_DEF_TILE(32, 32)

void wb_q8_winoin_learned_ukernel_f6__neon(size_t channels, const int8_t *x, size_t x_row,
                                           size_t x_px, int8_t *v, size_t v_stride, float mult,
                                           const wb_q8_tmat *tm)
{
    if (tm->lanes2 == 16)
        winoin_16_16(channels, x, x_row, x_px, v, v_stride, mult, tm);
    else if (tm->lanes1 == 16)
        winoin_16_32(channels, x, x_row, x_px, v, v_stride, mult, tm);
    else
        winoin_32_32(channels, x, x_row, x_px, v, v_stride, mult, tm);
}
