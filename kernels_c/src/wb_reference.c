/* The runner's --verify reference: a plain double-precision direct convolution (k x k, any stride
 * and zero padding, NHWC/HWIO), and the error figures of an fp32 output against it. */
#include <math.h>

#include "wb_internal.h"

void wb_conv_direct_f64(const float *x, const float *weights, int h, int w, int cin, int cout,
                        int k, int stride, int pad, double *y)
{
    const int ho = wb_conv_out_size(h, k, stride, pad), wo = wb_conv_out_size(w, k, stride, pad);
    for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++) {
            double *acc = y + ((size_t)oy * wo + ox) * cout;
            for (int co = 0; co < cout; co++)
                acc[co] = 0.0;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    const int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                        continue;
                    const float *xp = x + ((size_t)iy * w + ix) * cin;
                    const float *wp = weights + (size_t)(ky * k + kx) * cin * cout;
                    for (int ci = 0; ci < cin; ci++)
                        for (int co = 0; co < cout; co++)
                            acc[co] += (double)xp[ci] * (double)wp[(size_t)ci * cout + co];
                }
        }
}

/* err = {sqnr_db, max_abs, rel_l2}; sqnr is +inf for an exact result. */
void wb_error_metrics(const float *y, const double *ref, unsigned long long n, double *err)
{
    double signal = 0.0, noise = 0.0, max_abs = 0.0;
    for (unsigned long long i = 0; i < n; i++) {
        const double e = (double)y[i] - ref[i];
        signal += ref[i] * ref[i];
        noise += e * e;
        if (fabs(e) > max_abs)
            max_abs = fabs(e);
    }
    err[0] = noise > 0.0 ? 10.0 * log10(signal / noise) : INFINITY;
    err[1] = max_abs;
    err[2] = signal > 0.0 ? sqrt(noise / signal) : (noise > 0.0 ? INFINITY : 0.0);
}
