/* wb_f32_gemm_ukernel_1x8__neon: one row, c[nc] = a[kc] * W[kc x 8] (contract of the 8x8 kernel,
 * f32-gemm-8x8-neon.c, with mr = 1). A single row has only 2 output vectors, so one chain per
 * output would wait on FMA latency; each of the 4 k steps of an iteration gets its own
 * accumulator pair and the pairs are added at the end: ((k0 + k1) + (k2 + k3)). */
#include <stddef.h>
#include <string.h>

#include "wb_neon.h"
#include "wb_f32_ukernels.h"

void wb_f32_gemm_ukernel_1x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                   size_t a_stride, const float *restrict w, float *restrict c,
                                   size_t c_stride)
{
    (void)mr, (void)a_stride, (void)c_stride;
    float32x4_t p0l = vdupq_n_f32(0.0f), p0h = p0l, p1l = p0l, p1h = p0l, p2l = p0l, p2h = p0l;
    float32x4_t p3l = p0l, p3h = p0l;
    for (size_t k = 0; k < kc; k += 4) {
        const float32x4_t va = vld1q_f32(a); a += 4;
        p0l = vfmaq_laneq_f32(p0l, vld1q_f32(w), va, 0);
        p0h = vfmaq_laneq_f32(p0h, vld1q_f32(w + 4), va, 0);
        p1l = vfmaq_laneq_f32(p1l, vld1q_f32(w + 8), va, 1);
        p1h = vfmaq_laneq_f32(p1h, vld1q_f32(w + 12), va, 1);
        p2l = vfmaq_laneq_f32(p2l, vld1q_f32(w + 16), va, 2);
        p2h = vfmaq_laneq_f32(p2h, vld1q_f32(w + 20), va, 2);
        p3l = vfmaq_laneq_f32(p3l, vld1q_f32(w + 24), va, 3);
        p3h = vfmaq_laneq_f32(p3h, vld1q_f32(w + 28), va, 3);
        w += 32;
    }
    float t[8];
    vst1q_f32(t, vaddq_f32(vaddq_f32(p0l, p1l), vaddq_f32(p2l, p3l)));
    vst1q_f32(t + 4, vaddq_f32(vaddq_f32(p0h, p1h), vaddq_f32(p2h, p3h)));
    memcpy(c, t, nc * sizeof(float));
}
