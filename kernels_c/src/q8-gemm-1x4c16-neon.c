/* wb_q8_gemm_ukernel_1x4c16__neon: one row of C = requant(A * W[kc x 4]), for the rows the 4x4c16
 * kernel would otherwise compute four times over (a single Winograd tile, a 1-row remainder).
 * Same packing and the same SMULL/SMLAL2/SADALP step; with one row there are only 4 products per
 * 16 k, so two sets of accumulators (even and odd 16-k steps) keep 8 independent chains in flight. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"


void wb_q8_gemm_ukernel_1x4c16__neon(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
                                     size_t a_stride, const int8_t *restrict w,
                                     int8_t *restrict c, size_t c_stride, wb_q8_rq rq)
{
    (void)mr, (void)a_stride, (void)c_stride;
    int32x4_t c0 = vdupq_n_s32(0), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
    size_t k = 0;
    for (; k + 32 <= kc; k += 32, a += 32, w += 128) {
        const int8x16_t va = vld1q_s8(a), vb = vld1q_s8(a + 16);
        c0 = wb_q8_mac16(c0, va, vld1q_s8(w));      c1 = wb_q8_mac16(c1, va, vld1q_s8(w + 16));
        c2 = wb_q8_mac16(c2, va, vld1q_s8(w + 32)); c3 = wb_q8_mac16(c3, va, vld1q_s8(w + 48));
        d0 = wb_q8_mac16(d0, vb, vld1q_s8(w + 64)); d1 = wb_q8_mac16(d1, vb, vld1q_s8(w + 80));
        d2 = wb_q8_mac16(d2, vb, vld1q_s8(w + 96)); d3 = wb_q8_mac16(d3, vb, vld1q_s8(w + 112));
    }
    if (k < kc) { /* an odd number of 16-k steps */
        const int8x16_t va = vld1q_s8(a);
        c0 = wb_q8_mac16(c0, va, vld1q_s8(w));      c1 = wb_q8_mac16(c1, va, vld1q_s8(w + 16));
        c2 = wb_q8_mac16(c2, va, vld1q_s8(w + 32)); c3 = wb_q8_mac16(c3, va, vld1q_s8(w + 48));
    }
    c0 = vaddq_s32(c0, d0), c1 = vaddq_s32(c1, d1), c2 = vaddq_s32(c2, d2), c3 = vaddq_s32(c3, d3);
    const int32x4_t r = vpaddq_s32(vpaddq_s32(c0, c1), vpaddq_s32(c2, c3));
    int8_t t[8];
    vst1_s8(t, wb_q8_requant_rq(r, r, rq.mult, rq.b));
    memcpy(c, t, nc);
}
