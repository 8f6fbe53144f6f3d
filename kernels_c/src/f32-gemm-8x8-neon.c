/* wb_f32_gemm_ukernel_8x8__neon: C[mr x nc] = A[mr x kc] * W[kc x 8], one register block.
 *
 * A: row-major, row i at a + i*a_stride (floats), rows read 4 floats (4 k) at a time.
 * W: one packed panel, kc rows of 8 floats (wb_f32_packb_ukernel_x8__scalar); columns >= nc are 0.
 * C: row i at c + i*c_stride; only mr rows and nc columns are written.
 * kc must be a positive multiple of 4 (callers pad K with zeros); 1 <= mr <= 8, 1 <= nc <= 8.
 *
 * Accumulators are 16 named variables, not an array: gcc spills arrays of vectors to the stack
 * every iteration on aarch64. Rows past mr alias the last valid row (computed, never stored), so
 * the inner loop has no branches. */
#include <stddef.h>
#include <string.h>

#include "wb_neon.h"
#include "wb_f32_ukernels.h"

void wb_f32_gemm_ukernel_8x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                   size_t a_stride, const float *restrict w, float *restrict c,
                                   size_t c_stride)
{
    const float *a0 = a;
    const float *a1 = mr > 1 ? a0 + a_stride : a0;
    const float *a2 = mr > 2 ? a1 + a_stride : a1;
    const float *a3 = mr > 3 ? a2 + a_stride : a2;
    const float *a4 = mr > 4 ? a3 + a_stride : a3;
    const float *a5 = mr > 5 ? a4 + a_stride : a4;
    const float *a6 = mr > 6 ? a5 + a_stride : a5;
    const float *a7 = mr > 7 ? a6 + a_stride : a6;

    float32x4_t c0l = vdupq_n_f32(0.0f), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l;
    float32x4_t c3l = c0l, c3h = c0l, c4l = c0l, c4h = c0l, c5l = c0l, c5h = c0l;
    float32x4_t c6l = c0l, c6h = c0l, c7l = c0l, c7h = c0l;

    for (size_t k = 0; k < kc; k += 4) {
        const float32x4_t va0 = vld1q_f32(a0); a0 += 4;
        const float32x4_t va1 = vld1q_f32(a1); a1 += 4;
        const float32x4_t va2 = vld1q_f32(a2); a2 += 4;
        const float32x4_t va3 = vld1q_f32(a3); a3 += 4;
        const float32x4_t va4 = vld1q_f32(a4); a4 += 4;
        const float32x4_t va5 = vld1q_f32(a5); a5 += 4;
        const float32x4_t va6 = vld1q_f32(a6); a6 += 4;
        const float32x4_t va7 = vld1q_f32(a7); a7 += 4;
/* One k step: a rank-1 update of the 8x8 block with lane L of each row's 4 loaded A values. */
#define WB_RANK1(L)                                                                               \
    do {                                                                                          \
        const float32x4_t bl = vld1q_f32(w + 8 * (L)), bh = vld1q_f32(w + 8 * (L) + 4);          \
        c0l = vfmaq_laneq_f32(c0l, bl, va0, L); c0h = vfmaq_laneq_f32(c0h, bh, va0, L);           \
        c1l = vfmaq_laneq_f32(c1l, bl, va1, L); c1h = vfmaq_laneq_f32(c1h, bh, va1, L);           \
        c2l = vfmaq_laneq_f32(c2l, bl, va2, L); c2h = vfmaq_laneq_f32(c2h, bh, va2, L);           \
        c3l = vfmaq_laneq_f32(c3l, bl, va3, L); c3h = vfmaq_laneq_f32(c3h, bh, va3, L);           \
        c4l = vfmaq_laneq_f32(c4l, bl, va4, L); c4h = vfmaq_laneq_f32(c4h, bh, va4, L);           \
        c5l = vfmaq_laneq_f32(c5l, bl, va5, L); c5h = vfmaq_laneq_f32(c5h, bh, va5, L);           \
        c6l = vfmaq_laneq_f32(c6l, bl, va6, L); c6h = vfmaq_laneq_f32(c6h, bh, va6, L);           \
        c7l = vfmaq_laneq_f32(c7l, bl, va7, L); c7h = vfmaq_laneq_f32(c7h, bh, va7, L);           \
    } while (0)
        WB_RANK1(0);
        WB_RANK1(1);
        WB_RANK1(2);
        WB_RANK1(3);
#undef WB_RANK1
        w += 32;
    }

    if (nc == 8) {
        vst1q_f32(c, c0l); vst1q_f32(c + 4, c0h);
        if (mr > 1) { c += c_stride; vst1q_f32(c, c1l); vst1q_f32(c + 4, c1h); }
        if (mr > 2) { c += c_stride; vst1q_f32(c, c2l); vst1q_f32(c + 4, c2h); }
        if (mr > 3) { c += c_stride; vst1q_f32(c, c3l); vst1q_f32(c + 4, c3h); }
        if (mr > 4) { c += c_stride; vst1q_f32(c, c4l); vst1q_f32(c + 4, c4h); }
        if (mr > 5) { c += c_stride; vst1q_f32(c, c5l); vst1q_f32(c + 4, c5h); }
        if (mr > 6) { c += c_stride; vst1q_f32(c, c6l); vst1q_f32(c + 4, c6h); }
        if (mr > 7) { c += c_stride; vst1q_f32(c, c7l); vst1q_f32(c + 4, c7h); }
        return;
    }
    /* Column tail: spill the block and copy nc columns of each row. */
    float t[8][8];
    vst1q_f32(t[0], c0l); vst1q_f32(t[0] + 4, c0h); vst1q_f32(t[1], c1l); vst1q_f32(t[1] + 4, c1h);
    vst1q_f32(t[2], c2l); vst1q_f32(t[2] + 4, c2h); vst1q_f32(t[3], c3l); vst1q_f32(t[3] + 4, c3h);
    vst1q_f32(t[4], c4l); vst1q_f32(t[4] + 4, c4h); vst1q_f32(t[5], c5l); vst1q_f32(t[5] + 4, c5h);
    vst1q_f32(t[6], c6l); vst1q_f32(t[6] + 4, c6h); vst1q_f32(t[7], c7l); vst1q_f32(t[7] + 4, c7h);
    for (size_t i = 0; i < mr; i++)
        memcpy(c + i * c_stride, t[i], nc * sizeof(float));
}
