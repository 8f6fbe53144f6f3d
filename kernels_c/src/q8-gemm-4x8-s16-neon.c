/* wb_q8_gemm_s16_ukernel_4x8__neon: the wide scheme's GEMM, int16 x int16 -> int32 (ARMv8.0
 * SMLAL / SMLAL2 by lane: no SDOT). Per 8 k: 4 A loads (8 k of a row), 8 W loads (8 columns of
 * one k), 64 SMLAL into 8 named int32x4 accumulators (row r: c{r}l columns 0-3, c{r}h 4-7). The
 * scheme bounds every sum below 2^31 (bench/numerics/reference.py step 7), so int32 never wraps. The
 * epilogue applies the position's rounding shift (SRSHL by -shift). Rows past mr alias the last
 * valid row: computed, not stored. */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

/* SMLAL2 by lane; SIMDe lacks vmlal_high_laneq_s16 (and gcc does not fuse vget_high into it) */
#if defined(__aarch64__)
#define WB_MLAL_HI(acc, w, a, k) vmlal_high_laneq_s16(acc, w, a, k)
#else
#define WB_MLAL_HI(acc, w, a, k) vmlal_laneq_s16(acc, vget_high_s16(w), a, k)
#endif

#define WB_STEP(k, wk)                                                                             \
    c0l = vmlal_laneq_s16(c0l, vget_low_s16(wk), a0v, k);                                          \
    c0h = WB_MLAL_HI(c0h, wk, a0v, k);                                                             \
    c1l = vmlal_laneq_s16(c1l, vget_low_s16(wk), a1v, k);                                          \
    c1h = WB_MLAL_HI(c1h, wk, a1v, k);                                                             \
    c2l = vmlal_laneq_s16(c2l, vget_low_s16(wk), a2v, k);                                          \
    c2h = WB_MLAL_HI(c2h, wk, a2v, k);                                                             \
    c3l = vmlal_laneq_s16(c3l, vget_low_s16(wk), a3v, k);                                          \
    c3h = WB_MLAL_HI(c3h, wk, a3v, k)

static inline void store_row(int32_t *c, size_t nc, int32x4_t lo, int32x4_t hi, int32x4_t ns)
{
    int32_t tmp[8];
    lo = vrshlq_s32(lo, ns);
    hi = vrshlq_s32(hi, ns);
    if (nc == 8) {
        vst1q_s32(c, lo);
        vst1q_s32(c + 4, hi);
        return;
    }
    vst1q_s32(tmp, lo);
    vst1q_s32(tmp + 4, hi);
    for (size_t j = 0; j < nc; j++)
        c[j] = tmp[j];
}

void wb_q8_gemm_s16_ukernel_4x8__neon(size_t mr, size_t nc, size_t kc, const int16_t *restrict a,
                                      size_t a_stride, const int16_t *restrict w,
                                      int32_t *restrict c, size_t c_stride, int shift)
{
    const int16_t *a0 = a, *a1 = mr > 1 ? a0 + a_stride : a0;
    const int16_t *a2 = mr > 2 ? a1 + a_stride : a1, *a3 = mr > 3 ? a2 + a_stride : a2;
    int32x4_t c0l = vdupq_n_s32(0), c0h = c0l, c1l = c0l, c1h = c0l;
    int32x4_t c2l = c0l, c2h = c0l, c3l = c0l, c3h = c0l;
    for (size_t k = 0; k < kc; k += 8) {
        const int16x8_t a0v = vld1q_s16(a0 + k), a1v = vld1q_s16(a1 + k);
        const int16x8_t a2v = vld1q_s16(a2 + k), a3v = vld1q_s16(a3 + k);
        const int16x8_t w0 = vld1q_s16(w), w1 = vld1q_s16(w + 8), w2 = vld1q_s16(w + 16),
                        w3 = vld1q_s16(w + 24);
        WB_STEP(0, w0);
        WB_STEP(1, w1);
        WB_STEP(2, w2);
        WB_STEP(3, w3);
        const int16x8_t w4 = vld1q_s16(w + 32), w5 = vld1q_s16(w + 40), w6 = vld1q_s16(w + 48),
                        w7 = vld1q_s16(w + 56);
        WB_STEP(4, w4);
        WB_STEP(5, w5);
        WB_STEP(6, w6);
        WB_STEP(7, w7);
        w += 64;
    }
    const int32x4_t ns = vdupq_n_s32(-shift);
    store_row(c, nc, c0l, c0h, ns);
    if (mr > 1)
        store_row(c + c_stride, nc, c1l, c1h, ns);
    if (mr > 2)
        store_row(c + 2 * c_stride, nc, c2l, c2h, ns);
    if (mr > 3)
        store_row(c + 3 * c_stride, nc, c3l, c3h, ns);
}
