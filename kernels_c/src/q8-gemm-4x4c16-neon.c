/* wb_q8_gemm_ukernel_4x4c16__neon: C[mr x nc] = requant(A[mr x kc] * W[kc x 4]), one register block.
 *
 * ARMv8.0 only (no SDOT): per 16 k and per (row, column) pair, SMULL multiplies 8 int8 pairs into
 * int16, SMLAL2 adds the next 8 products to the same lanes (two products per lane: |sum| <= 32258
 * because -128 never occurs), SADALP folds the int16 pairs into the int32 accumulator. Each
 * accumulator thus holds 4 partial sums of one C element; the epilogue reduces them with ADDP.
 * Accumulators are 16 named variables (an array would be spilled by gcc on aarch64). Rows past mr
 * alias the last valid row (computed, never stored), so the loop has no branches. gcc's pre-RA
 * scheduler hoists the products ahead of their SADALPs and spills 4 accumulators per iteration on
 * aarch64 (20 stack accesses in the loop with gcc 12); without it the loop runs from registers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
void wb_q8_gemm_ukernel_4x4c16__neon(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
                                     size_t a_stride, const int8_t *restrict w,
                                     int8_t *restrict c, size_t c_stride, float mult)
{
    const int8_t *a0 = a;
    const int8_t *a1 = mr > 1 ? a0 + a_stride : a0;
    const int8_t *a2 = mr > 2 ? a1 + a_stride : a1;
    const int8_t *a3 = mr > 3 ? a2 + a_stride : a2;

    int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00;
    int32x4_t c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    int32x4_t c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    int32x4_t c30 = c00, c31 = c00, c32 = c00, c33 = c00;

    for (size_t k = 0; k < kc; k += 16) {
        const int8x16_t va0 = vld1q_s8(a0); a0 += 16;
        const int8x16_t va1 = vld1q_s8(a1); a1 += 16;
        const int8x16_t va2 = vld1q_s8(a2); a2 += 16;
        const int8x16_t va3 = vld1q_s8(a3); a3 += 16;
        /* One column of W at a time keeps a single B register live: 16 accumulators, 4 + 1
         * operands and the products fit the 32 NEON registers without spills. */
        const int8x16_t vb0 = vld1q_s8(w);
        c00 = wb_q8_mac16(c00, va0, vb0); c10 = wb_q8_mac16(c10, va1, vb0);
        c20 = wb_q8_mac16(c20, va2, vb0); c30 = wb_q8_mac16(c30, va3, vb0);
        const int8x16_t vb1 = vld1q_s8(w + 16);
        c01 = wb_q8_mac16(c01, va0, vb1); c11 = wb_q8_mac16(c11, va1, vb1);
        c21 = wb_q8_mac16(c21, va2, vb1); c31 = wb_q8_mac16(c31, va3, vb1);
        const int8x16_t vb2 = vld1q_s8(w + 32);
        c02 = wb_q8_mac16(c02, va0, vb2); c12 = wb_q8_mac16(c12, va1, vb2);
        c22 = wb_q8_mac16(c22, va2, vb2); c32 = wb_q8_mac16(c32, va3, vb2);
        const int8x16_t vb3 = vld1q_s8(w + 48);
        c03 = wb_q8_mac16(c03, va0, vb3); c13 = wb_q8_mac16(c13, va1, vb3);
        c23 = wb_q8_mac16(c23, va2, vb3); c33 = wb_q8_mac16(c33, va3, vb3);
        w += 64;
    }

    /* Row i: [sum c_i0, sum c_i1, sum c_i2, sum c_i3] by two rounds of pairwise adds. */
    const int32x4_t r0 = vpaddq_s32(vpaddq_s32(c00, c01), vpaddq_s32(c02, c03));
    const int32x4_t r1 = vpaddq_s32(vpaddq_s32(c10, c11), vpaddq_s32(c12, c13));
    const int32x4_t r2 = vpaddq_s32(vpaddq_s32(c20, c21), vpaddq_s32(c22, c23));
    const int32x4_t r3 = vpaddq_s32(vpaddq_s32(c30, c31), vpaddq_s32(c32, c33));
    const float32x4_t vm = vdupq_n_f32(mult);
    int8_t t[16];
    vst1_s8(t, wb_q8_requant_s32(r0, r1, vm));
    vst1_s8(t + 8, wb_q8_requant_s32(r2, r3, vm));
    for (size_t i = 0; i < mr; i++)
        memcpy(c + i * c_stride, t + 4 * i, nc);
}
