/* wb_q8_gemm_s16_ukernel_1x8__neon: one row of the wide scheme's int16 GEMM (single-tile layers
 * such as 4x4 with F4/F6, and 1-row remainders), which the 4x8 kernel would compute four times
 * over. Per 8 k: 1 A load, 8 W loads, 16 SMLAL/SMLAL2 by lane split over two accumulator pairs
 * (even and odd k) to hide the multiply-accumulate latency; same epilogue as the 4x8 kernel. */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

#if defined(__aarch64__)
#define WB_MLAL_HI(acc, w, a, k) vmlal_high_laneq_s16(acc, w, a, k)
#else
#define WB_MLAL_HI(acc, w, a, k) vmlal_laneq_s16(acc, vget_high_s16(w), a, k)
#endif
#define WB_STEP(l, h, k, wk)                                                                       \
    l = vmlal_laneq_s16(l, vget_low_s16(wk), av, k);                                               \
    h = WB_MLAL_HI(h, wk, av, k)

void wb_q8_gemm_s16_ukernel_1x8__neon(size_t mr, size_t nc, size_t kc, const int16_t *restrict a,
                                      size_t a_stride, const int16_t *restrict w,
                                      int32_t *restrict c, size_t c_stride, int shift)
{
    (void)mr, (void)a_stride, (void)c_stride;
    int32x4_t el = vdupq_n_s32(0), eh = el, ol = el, oh = el;
    for (size_t k = 0; k < kc; k += 8) {
        const int16x8_t av = vld1q_s16(a + k);
        const int16x8_t w0 = vld1q_s16(w), w1 = vld1q_s16(w + 8), w2 = vld1q_s16(w + 16),
                        w3 = vld1q_s16(w + 24), w4 = vld1q_s16(w + 32), w5 = vld1q_s16(w + 40),
                        w6 = vld1q_s16(w + 48), w7 = vld1q_s16(w + 56);
        WB_STEP(el, eh, 0, w0);
        WB_STEP(ol, oh, 1, w1);
        WB_STEP(el, eh, 2, w2);
        WB_STEP(ol, oh, 3, w3);
        WB_STEP(el, eh, 4, w4);
        WB_STEP(ol, oh, 5, w5);
        WB_STEP(el, eh, 6, w6);
        WB_STEP(ol, oh, 7, w7);
        w += 64;
    }
    const int32x4_t ns = vdupq_n_s32(-shift);
    const int32x4_t lo = vrshlq_s32(vaddq_s32(el, ol), ns), hi = vrshlq_s32(vaddq_s32(eh, oh), ns);
    int32_t tmp[8];
    vst1q_s32(tmp, lo);
    vst1q_s32(tmp + 4, hi);
    for (size_t j = 0; j < nc; j++)
        c[j] = tmp[j];
}
