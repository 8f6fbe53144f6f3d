/* wb_f32_gemm_ukernel_4x8__neon: C[mr x nc] = A[mr x kc] * W[kc x 8] for 1 <= mr <= 4.
 * Same contract and accumulation order as the 8x8 kernel (f32-gemm-8x8-neon.c): it serves the
 * row remainders of small GEMMs (a Winograd position of a small layer has few tiles), where an
 * 8-row block would mostly compute aliased rows. */
#include <stddef.h>
#include <string.h>

#include "wb_neon.h"
#include "wb_f32_ukernels.h"

void wb_f32_gemm_ukernel_4x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                   size_t a_stride, const float *restrict w, float *restrict c,
                                   size_t c_stride)
{
    const float *a0 = a;
    const float *a1 = mr > 1 ? a0 + a_stride : a0;
    const float *a2 = mr > 2 ? a1 + a_stride : a1;
    const float *a3 = mr > 3 ? a2 + a_stride : a2;

    float32x4_t c0l = vdupq_n_f32(0.0f), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l;
    float32x4_t c3l = c0l, c3h = c0l;

    for (size_t k = 0; k < kc; k += 4) {
        const float32x4_t va0 = vld1q_f32(a0); a0 += 4;
        const float32x4_t va1 = vld1q_f32(a1); a1 += 4;
        const float32x4_t va2 = vld1q_f32(a2); a2 += 4;
        const float32x4_t va3 = vld1q_f32(a3); a3 += 4;
#define WB_RANK1(L)                                                                               \
    do {                                                                                          \
        const float32x4_t bl = vld1q_f32(w + 8 * (L)), bh = vld1q_f32(w + 8 * (L) + 4);          \
        c0l = vfmaq_laneq_f32(c0l, bl, va0, L); c0h = vfmaq_laneq_f32(c0h, bh, va0, L);           \
        c1l = vfmaq_laneq_f32(c1l, bl, va1, L); c1h = vfmaq_laneq_f32(c1h, bh, va1, L);           \
        c2l = vfmaq_laneq_f32(c2l, bl, va2, L); c2h = vfmaq_laneq_f32(c2h, bh, va2, L);           \
        c3l = vfmaq_laneq_f32(c3l, bl, va3, L); c3h = vfmaq_laneq_f32(c3h, bh, va3, L);           \
    } while (0)
        WB_RANK1(0);
        WB_RANK1(1);
        WB_RANK1(2);
        WB_RANK1(3);
#undef WB_RANK1
        w += 32;
    }

    float t[4][8];
    vst1q_f32(t[0], c0l); vst1q_f32(t[0] + 4, c0h); vst1q_f32(t[1], c1l); vst1q_f32(t[1] + 4, c1h);
    vst1q_f32(t[2], c2l); vst1q_f32(t[2] + 4, c2h); vst1q_f32(t[3], c3l); vst1q_f32(t[3] + 4, c3h);
    for (size_t i = 0; i < mr; i++)
        memcpy(c + i * c_stride, t[i], nc * sizeof(float));
}
