/* Peak probes: the sustained rate of the instruction sequence the fp32 GEMM uses (vfmaq_f32 on
 * 128-bit vectors), with enough independent accumulators to cover the FMA latency of an A53, an
 * A73 and x86 cores. The int8 probe belongs to the int8 sources (wb_q8_peak_gops); until they
 * are linked, a weak default reports NaN (printed as null). */
#include <math.h>

#include "wb_neon.h"
#include "wb_internal.h"

#if defined(__aarch64__)
#define WB_REG(v) "+w"(v)
#else
#define WB_REG(v) "+x"(v)
#endif

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
        /* Keep 16 separate 128-bit chains: without this barrier gcc merges them into wider
         * vectors on x86 (AVX-512) and the "NEON peak" would be 4x too high. */
        __asm__ volatile("" : WB_REG(a0), WB_REG(a1), WB_REG(a2), WB_REG(a3), WB_REG(a4),
                         WB_REG(a5), WB_REG(a6), WB_REG(a7));
        __asm__ volatile("" : WB_REG(a8), WB_REG(a9), WB_REG(a10), WB_REG(a11), WB_REG(a12),
                         WB_REG(a13), WB_REG(a14), WB_REG(a15));
    }
    float32x4_t s = vaddq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)),
                              vaddq_f32(vaddq_f32(a4, a5), vaddq_f32(a6, a7)));
    s = vaddq_f32(s, vaddq_f32(vaddq_f32(vaddq_f32(a8, a9), vaddq_f32(a10, a11)),
                               vaddq_f32(vaddq_f32(a12, a13), vaddq_f32(a14, a15))));
    return vgetq_lane_f32(s, 0);
}

double wb_peak_f32_gflops(double min_ms)
{
    volatile float sink = 0.0f;
    long n = 1024;
    double t;
    for (;;) { /* grow until one run takes a fifth of the budget */
        const double t0 = wb_now_ms();
        sink += fma_chains(n);
        t = wb_now_ms() - t0;
        if (t >= min_ms / 5 || n > (1L << 40))
            break;
        n *= 2;
    }
    for (int rep = 0; rep < 3; rep++) { /* best of 3 */
        const double t0 = wb_now_ms();
        sink += fma_chains(n);
        const double dt = wb_now_ms() - t0;
        if (dt < t)
            t = dt;
    }
    (void)sink;
    return (double)n * 16 * 4 * 2 / (t * 1e6);
}

__attribute__((weak)) double wb_q8_peak_gops(double min_ms)
{
    (void)min_ms;
    return NAN;
}
