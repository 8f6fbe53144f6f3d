/* Peak probes: the sustained rate of the instruction sequence the fp32 GEMM uses (vfmaq_f32 on
 * 128-bit vectors), with enough independent accumulators to cover the FMA latency of an A53, an
 * A73 and x86 cores. The int8 probe belongs to the int8 sources (wb_q8_peak_gops); a build
 * without them (WB_WITHOUT_Q8) reports NaN (printed as null). */
#include <math.h>

#include "wb_neon.h"
#include "wb_internal.h"

#if defined(__aarch64__)
#define WB_KEEP(v) __asm__ volatile("" : "+w"(v))
#else
#define WB_KEEP(v) __asm__ volatile("" : "+v"(v))
#endif

/* 16 independent FMA chains of 128-bit vectors. The empty asm statements pin every chain to its
 * own register each iteration, so the compiler can neither merge identical chains nor widen
 * them into AVX/AVX-512 vectors on x86 (the probe must measure the 128-bit rate). */
static float fma_chains(long n)
{
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
                a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0,
                a15 = a0;
    const float32x4_t x = vdupq_n_f32(1e-6f), y = vdupq_n_f32(0.999f);
    for (long i = 0; i < n; i++) {
        a0 = vfmaq_f32(a0, x, y); a1 = vfmaq_f32(a1, x, y); a2 = vfmaq_f32(a2, x, y);
        a3 = vfmaq_f32(a3, x, y); a4 = vfmaq_f32(a4, x, y); a5 = vfmaq_f32(a5, x, y);
        a6 = vfmaq_f32(a6, x, y); a7 = vfmaq_f32(a7, x, y); a8 = vfmaq_f32(a8, x, y);
        a9 = vfmaq_f32(a9, x, y); a10 = vfmaq_f32(a10, x, y); a11 = vfmaq_f32(a11, x, y);
        a12 = vfmaq_f32(a12, x, y); a13 = vfmaq_f32(a13, x, y); a14 = vfmaq_f32(a14, x, y);
        a15 = vfmaq_f32(a15, x, y);
        WB_KEEP(a0); WB_KEEP(a1); WB_KEEP(a2); WB_KEEP(a3); WB_KEEP(a4); WB_KEEP(a5);
        WB_KEEP(a6); WB_KEEP(a7); WB_KEEP(a8); WB_KEEP(a9); WB_KEEP(a10); WB_KEEP(a11);
        WB_KEEP(a12); WB_KEEP(a13); WB_KEEP(a14); WB_KEEP(a15);
    }
    float32x4_t s = vaddq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)),
                              vaddq_f32(vaddq_f32(a4, a5), vaddq_f32(a6, a7)));
    s = vaddq_f32(s, vaddq_f32(vaddq_f32(vaddq_f32(a8, a9), vaddq_f32(a10, a11)),
                               vaddq_f32(vaddq_f32(a12, a13), vaddq_f32(a14, a15))));
    return vgetq_lane_f32(s, 0);
}

/* Best of 10 short runs: a peak, so the least disturbed run counts (the host may be shared). */
double wb_peak_f32_gflops(double min_ms)
{
    volatile float sink = 0.0f;
    long n = 1024;
    double best;
    for (;;) { /* grow until one run takes a tenth of the budget */
        const double t0 = wb_now_ms();
        sink += fma_chains(n);
        best = wb_now_ms() - t0;
        if (best >= min_ms / 10 || n > (1L << 40))
            break;
        n *= 2;
    }
    for (int rep = 0; rep < 9; rep++) {
        const double t0 = wb_now_ms();
        sink += fma_chains(n);
        const double dt = wb_now_ms() - t0;
        if (dt < best)
            best = dt;
    }
    (void)sink;
    return (double)n * 16 * 4 * 2 / (best * 1e6);
}

#ifdef WB_WITHOUT_Q8
double wb_q8_peak_gops(double min_ms)
{
    (void)min_ms;
    return NAN;
}
#endif
