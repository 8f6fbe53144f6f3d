/* The int8 scheme's scalar steps (bench/numerics/reference.py): input quantization (step 1), the
 * requantization of one value (step 2), transform matrix quantization (step 3) and the bounds the
 * tap/wide shifts are chosen from. Plain C, used offline and by the calibration. */
#include <math.h>
#include <stdlib.h>

#include "wb_q8_plan.h"

static double round_half_away(double v) { return v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5); }

double wb_q8_quantize(const float *x, unsigned long long n, int8_t *q)
{
    float amax = 0; /* |x| is exact in float; a plain compare (gcc 12 -O3 ICEs on fmax here) */
    for (unsigned long long i = 0; i < n; i++)
        amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    const double s = amax > 0 ? (double)amax / 127.0 : 1.0;
    for (unsigned long long i = 0; i < n; i++) {
        const double r = round_half_away((double)x[i] / s);
        q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    }
    return s;
}

int wb_q8_quantize_matrix(const double *t, int rows, int cols, double limit, int64_t *tq, int *k)
{
    int best = -1;
    for (int kk = 0; kk <= 30; kk++) {
        const double scale = ldexp(1.0, kk);
        double worst = 0;
        int exact = 1;
        for (int i = 0; i < rows; i++) {
            double l1 = 0;
            for (int j = 0; j < cols; j++) {
                const double v = t[i * cols + j] * scale, r = round_half_away(v);
                l1 += fabs(r);
                exact &= r == v;
            }
            worst = fmax(worst, l1);
        }
        if (worst > limit)
            break;
        best = kk;
        if (exact)
            break;
    }
    if (best < 0)
        return -1;
    for (int i = 0; i < rows * cols; i++)
        tq[i] = (int64_t)round_half_away(t[i] * ldexp(1.0, best));
    *k = best;
    return 0;
}

int64_t wb_q8_max_row_l1(const int64_t *t, int rows, int cols)
{
    int64_t best = 0;
    for (int i = 0; i < rows; i++) {
        int64_t s = 0;
        for (int j = 0; j < cols; j++)
            s += llabs(t[i * cols + j]);
        best = wb_q8_max(best, s);
    }
    return best;
}

int wb_q8_shift_to_fit(int64_t bound, int64_t limit)
{
    int s = 0;
    while (wb_q8_rshift(bound, s) > limit)
        s++;
    return s;
}

float wb_q8_multiplier(int64_t amax) { return amax > 0 ? (float)(127.0 / (double)amax) : 1.0f; }

int8_t wb_q8_requant_scalar(int64_t v, float mult)
{
    const float r = rintf((float)v * mult); /* (float)v: nearest even; one float multiply */
    return (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
}
