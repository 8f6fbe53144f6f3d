/* wb_q8_gemm_ukernel_4x4c16__neondot: the 4x4c16 GEMM with the ARMv8.2 dot product (SDOT), for
 * builds with -mcpu=...+dotprod only (A55, A76, ...; not the A53/A73). Same packing, same
 * epilogue as wb_q8_gemm_ukernel_4x4c16__neon: one SDOT adds 4 products into each int32 lane
 * where SMULL + SMLAL2 + SADALP needed three instructions for the same 16 products. A core
 * without the feature never reaches this code: wb_q8_plan_create refuses the build there. */
#if defined(__ARM_FEATURE_DOTPROD)
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

void wb_q8_gemm_ukernel_4x4c16__neondot(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
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
        const int8x16_t vb0 = vld1q_s8(w), vb1 = vld1q_s8(w + 16);
        const int8x16_t vb2 = vld1q_s8(w + 32), vb3 = vld1q_s8(w + 48);
        w += 64;
        c00 = vdotq_s32(c00, va0, vb0); c01 = vdotq_s32(c01, va0, vb1);
        c02 = vdotq_s32(c02, va0, vb2); c03 = vdotq_s32(c03, va0, vb3);
        c10 = vdotq_s32(c10, va1, vb0); c11 = vdotq_s32(c11, va1, vb1);
        c12 = vdotq_s32(c12, va1, vb2); c13 = vdotq_s32(c13, va1, vb3);
        c20 = vdotq_s32(c20, va2, vb0); c21 = vdotq_s32(c21, va2, vb1);
        c22 = vdotq_s32(c22, va2, vb2); c23 = vdotq_s32(c23, va2, vb3);
        c30 = vdotq_s32(c30, va3, vb0); c31 = vdotq_s32(c31, va3, vb1);
        c32 = vdotq_s32(c32, va3, vb2); c33 = vdotq_s32(c33, va3, vb3);
    }

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
#endif
