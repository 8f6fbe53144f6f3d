/* Memory bandwidth probe for the roofline: the sustained rate at which one thread streams a buffer
 * far larger than any cache of the boards we target (A53/A73 L2 <= 2 MiB, x86 hosts' L3 here 32 MiB)
 * through 128-bit loads, summing it so the loads cannot be dropped. A read-only stream is what the
 * convolution stages mostly do (they read far more than they write), and it needs no assumption
 * about write-allocate traffic. */
#include <math.h>

#include "wb_neon.h"
#include "wb_internal.h"

#define WB_BW_BYTES ((size_t)64 << 20)

/* Four independent accumulators so the adds never limit the rate of the loads. */
static float stream_sum(const float *p, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 16) {
        s0 = vaddq_f32(s0, vld1q_f32(p + i));
        s1 = vaddq_f32(s1, vld1q_f32(p + i + 4));
        s2 = vaddq_f32(s2, vld1q_f32(p + i + 8));
        s3 = vaddq_f32(s3, vld1q_f32(p + i + 12));
    }
    return vgetq_lane_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)), 0);
}

/* Best pass of at least 5 and of about min_ms in all, in GB/s (1e9 bytes). NaN when the buffer
 * cannot be allocated (a small board: the peak line then says null rather than failing). */
double wb_peak_bw_gbs(double min_ms)
{
    float *buf = wb_zalloc(WB_BW_BYTES);
    if (!buf)
        return NAN;
    const size_t n = WB_BW_BYTES / sizeof(float);
    for (size_t i = 0; i < n; i++) /* touch every page (and give the sum something to add) */
        buf[i] = (float)(i & 1023);
    volatile float sink = 0.0f;
    double best = INFINITY, spent = 0.0;
    for (int pass = 0; pass < 5 || (spent < min_ms && pass < 100); pass++) {
        const double t0 = wb_now_ms();
        sink += stream_sum(buf, n);
        const double dt = wb_now_ms() - t0;
        spent += dt;
        if (dt < best)
            best = dt;
    }
    (void)sink;
    wb_free(buf);
    return (double)WB_BW_BYTES / (best * 1e6);
}
