/* wb_q8_gemm_ukernel_4x4c16__neon: C[mr x nc] = requant(A[mr x kc] * W[kc x 4]), one register block.
 *
 * ARMv8.0 only (no SDOT): per 16 k and per (row, column) pair, SMULL multiplies 8 int8 pairs into
 * int16, SMLAL2 adds the next 8 products to the same lanes (two products per lane: |sum| <= 32258
 * because -128 never occurs), SADALP folds the int16 pairs into the int32 accumulator. Each
 * accumulator thus holds 4 partial sums of one C element; the epilogue reduces them with ADDP.
 * Accumulators are 16 named variables (an array would be spilled by gcc on aarch64). Rows past mr
 * alias the last valid row (computed, never stored), so the loop has no branches. gcc's pre-RA
 * scheduler hoists the products ahead of their SADALPs and spills 4 accumulators per iteration on
 * aarch64 (20 stack accesses in the loop with gcc 12); without it the loop runs from registers
 * and keeps the source order, in which the 8 product chains of two columns are interleaved: an
 * in-order core (no register renaming) overlaps them instead of waiting on one product register
 * (A53 model: 199 -> 88 cycles per 256 MACs; `bench kernels`). */
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
                                     int8_t *restrict c, size_t c_stride, wb_q8_rq rq)
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
        /* Two columns of W at a time, their 8 product chains interleaved (8 product registers,
         * so an in-order core never waits on one chain): 16 accumulators + 4 A + 2 B + 8
         * products = 30 of the 32 NEON registers. */
#define WB_COLUMNS(J, C0, C1, C2, C3, D0, D1, D2, D3)                                             \
    do {                                                                                          \
        const int8x16_t vb = vld1q_s8(w + 16 * (J)), vc = vld1q_s8(w + 16 * (J) + 16);            \
        int16x8_t p0 = vmull_s8(vget_low_s8(va0), vget_low_s8(vb));                               \
        int16x8_t p1 = vmull_s8(vget_low_s8(va1), vget_low_s8(vb));                               \
        int16x8_t p2 = vmull_s8(vget_low_s8(va2), vget_low_s8(vb));                               \
        int16x8_t p3 = vmull_s8(vget_low_s8(va3), vget_low_s8(vb));                               \
        int16x8_t q0 = vmull_s8(vget_low_s8(va0), vget_low_s8(vc));                               \
        int16x8_t q1 = vmull_s8(vget_low_s8(va1), vget_low_s8(vc));                               \
        int16x8_t q2 = vmull_s8(vget_low_s8(va2), vget_low_s8(vc));                               \
        int16x8_t q3 = vmull_s8(vget_low_s8(va3), vget_low_s8(vc));                               \
        p0 = vmlal_high_s8(p0, va0, vb); p1 = vmlal_high_s8(p1, va1, vb);                         \
        p2 = vmlal_high_s8(p2, va2, vb); p3 = vmlal_high_s8(p3, va3, vb);                         \
        q0 = vmlal_high_s8(q0, va0, vc); q1 = vmlal_high_s8(q1, va1, vc);                         \
        q2 = vmlal_high_s8(q2, va2, vc); q3 = vmlal_high_s8(q3, va3, vc);                         \
        C0 = vpadalq_s16(C0, p0); C1 = vpadalq_s16(C1, p1);                                       \
        C2 = vpadalq_s16(C2, p2); C3 = vpadalq_s16(C3, p3);                                       \
        D0 = vpadalq_s16(D0, q0); D1 = vpadalq_s16(D1, q1);                                       \
        D2 = vpadalq_s16(D2, q2); D3 = vpadalq_s16(D3, q3);                                       \
    } while (0)
        WB_COLUMNS(0, c00, c10, c20, c30, c01, c11, c21, c31);
        WB_COLUMNS(2, c02, c12, c22, c32, c03, c13, c23, c33);
#undef WB_COLUMNS
        w += 64;
    }

    /* Row i: [sum c_i0, sum c_i1, sum c_i2, sum c_i3] by two rounds of pairwise adds. */
    const int32x4_t r0 = vpaddq_s32(vpaddq_s32(c00, c01), vpaddq_s32(c02, c03));
    const int32x4_t r1 = vpaddq_s32(vpaddq_s32(c10, c11), vpaddq_s32(c12, c13));
    const int32x4_t r2 = vpaddq_s32(vpaddq_s32(c20, c21), vpaddq_s32(c22, c23));
    const int32x4_t r3 = vpaddq_s32(vpaddq_s32(c30, c31), vpaddq_s32(c32, c33));
    int8_t t[16];
    vst1_s8(t, wb_q8_requant_rq(r0, r1, rq.mult, rq.b));
    vst1_s8(t + 8, wb_q8_requant_rq(r2, r3, rq.mult, rq.b));
    for (size_t i = 0; i < mr; i++)
        memcpy(c + i * c_stride, t + 4 * i, nc);
}
