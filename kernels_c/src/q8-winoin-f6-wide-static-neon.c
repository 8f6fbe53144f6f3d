/* wb_q8_winoin_wide_static_ukernel_f6__neon: wide scheme, V16 = rshift(BTq d BTq^T, shift) for F(6,3)
 * (a = 8) with the default Cook-Toom matrix as a compile-time constant (BTq = BT 2^2), so that
 * gcc folds the zero and unit entries away (the dense template, specialised):
 *
 *         [  -4   0  21   0 -21   0   4   0 ]
 *         [   0   4   4 -17 -17   4   4   0 ]
 *         [   0  -4   4  17 -17  -4   4   0 ]
 *         [   0   2   1 -10  -5   8   4   0 ]
 *   BTq = [   0  -2   1  10  -5  -8   4   0 ]
 *         [   0   8  16 -10 -20   2   4   0 ]
 *         [   0  -8  16  10 -20  -2   4   0 ]
 *         [   0  -4   0  21   0 -21   0   4 ]
 */
#include "q8-scheme-neon.h"
#include "wb_q8_default_tq.h"
#include "wb_q8_schemes.h"

/* Not the register-resident template (q8-winoin-scheme-neon.inc): its version of this kernel has
 * no stack reference in the loop and, on the a53 build, scores 1497 cycles per iteration in the
 * A57 model for 2328 here, but 2760 in the A53 model for 2596 here; the in-order A53 decides, so
 * this keeps the old template's loop (84 stack references per iteration: the a x a x 8 int32 tile
 * buffer carrying the row pass to the column pass). kernels_c/README.md, "Tile transforms". */
void wb_q8_winoin_wide_static_ukernel_f6__neon(size_t channels, const int8_t *x, size_t x_row,
                                               size_t x_px, void *v, size_t v_stride,
                                               const float *mult, int shift, const int32_t *bt)
{
    enum { A = 8 };
    (void)mult;
    (void)bt;
    bt = wb_q8_btq_f6; /* a constant: zeros and ones fold away */
    int32_t t[A][A][8] __attribute__((aligned(16))); /* t[i][l] = sum_j d[i][j] BTq[l][j] */
    const int32x4_t z = vdupq_n_s32(0);
    for (size_t c = 0; c < channels; c += 8) {
        for (int i = 0; i < A; i++) { /* rows of d */
            const int8_t *xi = x + i * x_row + c;
            int32x4_t l0, l1, l2, l3, l4 = z, l5 = z, l6 = z, l7 = z;
            int32x4_t h0, h1, h2, h3, h4 = z, h5 = z, h6 = z, h7 = z;
            wb_load8_s32(xi, &l0, &h0);
            wb_load8_s32(xi + x_px, &l1, &h1);
            wb_load8_s32(xi + 2 * x_px, &l2, &h2);
            wb_load8_s32(xi + 3 * x_px, &l3, &h3);
            if (A > 4) {
                wb_load8_s32(xi + 4 * x_px, &l4, &h4);
                wb_load8_s32(xi + 5 * x_px, &l5, &h5);
            }
            if (A > 6) {
                wb_load8_s32(xi + 6 * x_px, &l6, &h6);
                wb_load8_s32(xi + 7 * x_px, &l7, &h7);
            }
            for (int l = 0; l < A; l++) {
                vst1q_s32(t[i][l], wb_dot_s32(bt + l * A, A, WB_V8(l)));
                vst1q_s32(t[i][l] + 4, wb_dot_s32(bt + l * A, A, WB_V8(h)));
            }
        }
        for (int l = 0; l < A; l++) { /* columns of t */
            int32x4_t l0, l1, l2, l3, l4 = z, l5 = z, l6 = z, l7 = z;
            int32x4_t h0, h1, h2, h3, h4 = z, h5 = z, h6 = z, h7 = z;
            l0 = vld1q_s32(t[0][l]), h0 = vld1q_s32(t[0][l] + 4);
            l1 = vld1q_s32(t[1][l]), h1 = vld1q_s32(t[1][l] + 4);
            l2 = vld1q_s32(t[2][l]), h2 = vld1q_s32(t[2][l] + 4);
            l3 = vld1q_s32(t[3][l]), h3 = vld1q_s32(t[3][l] + 4);
            if (A > 4) {
                l4 = vld1q_s32(t[4][l]), h4 = vld1q_s32(t[4][l] + 4);
                l5 = vld1q_s32(t[5][l]), h5 = vld1q_s32(t[5][l] + 4);
            }
            if (A > 6) {
                l6 = vld1q_s32(t[6][l]), h6 = vld1q_s32(t[6][l] + 4);
                l7 = vld1q_s32(t[7][l]), h7 = vld1q_s32(t[7][l] + 4);
            }
            for (int k = 0; k < A; k++) {
                const int32x4_t vl = wb_dot_s32(bt + k * A, A, WB_V8(l));
                const int32x4_t vh = wb_dot_s32(bt + k * A, A, WB_V8(h));
                WB_WIDE_STORE(v, k * A + l, v_stride, c, vl, vh, mult, shift);
            }
        }
    }
}
