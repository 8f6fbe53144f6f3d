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

int wb_q8_quantize_matrix_rows(const double *t, int rows, int cols, double limit, int64_t *tq, int *k,
                                int *d)
{
    if (wb_q8_quantize_matrix(t, rows, cols, limit, tq, k))
        return -1;
    int exact = 1, ks[WB_MAX_TILE], kmin = 31, kmax = -1;
    for (int i = 0; i < rows * cols; i++)
        exact &= (double)tq[i] == t[i] * ldexp(1.0, *k);
    for (int i = 0; i < rows; i++)
        d[i] = 0;
    if (exact) /* an exact matrix keeps its one scale */
        return 0;
    for (int i = 0; i < rows; i++) {
        int zero = 1;
        for (int j = 0; j < cols; j++)
            zero &= t[i * cols + j] == 0;
        /* a row alone fits at the matrix's k, so this cannot fail; a zero row takes no scale of its
         * own (ks = -1 until it gets the largest below) */
        ks[i] = -1;
        if (!zero && !wb_q8_quantize_matrix(t + i * cols, 1, cols, limit, tq + i * cols, &ks[i])) {
            kmin = ks[i] < kmin ? ks[i] : kmin;
            kmax = ks[i] > kmax ? ks[i] : kmax;
        }
    }
    for (int i = 0; i < rows; i++)
        d[i] = (ks[i] < 0 ? kmax : ks[i]) - kmin;
    *k = kmin;
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

/* ---- the int form (step 8) -------------------------------------------------------------------- */

int wb_q8_lanes(const int64_t *tq, int rows, int cols)
{
    const int64_t l1 = wb_q8_max_row_l1(tq, rows, cols);
    return 127 * l1 * l1 <= 32767 ? 16 : 32;
}

wb_q8_rq wb_q8_stage_rq(int form, int64_t amax, int lanes)
{
    if (form == WB_Q8_RQ_FP32)
        return (wb_q8_rq){wb_q8_multiplier(amax), 0, 0};
    int shift = 0;
    if (lanes == 64) { /* int64 values: a rounding shift to int32 first */
        shift = wb_q8_shift_to_fit(amax, WB_Q8_I32_MAX);
        amax = wb_q8_rshift(amax, shift);
        lanes = 32;
    }
    const int64_t top = ((int64_t)1 << (lanes - 1)) - 1;
    const int64_t b = amax <= 0 ? top : ((int64_t)127 << (lanes - 1)) / amax;
    /* as SQRDMULH takes it at 32-bit lanes: b16 << 16 gives the same products */
    return (wb_q8_rq){0, (int32_t)((b < top ? b : top) << (32 - lanes)), shift};
}

int8_t wb_q8_requant_rq_scalar(int64_t v, wb_q8_rq rq)
{
    if (!rq.b)
        return wb_q8_requant_scalar(v, rq.mult);
    const int64_t x = wb_q8_rshift(v, rq.shift);
    const int64_t q = (2 * x * (int64_t)rq.b + ((int64_t)1 << 31)) >> 32; /* SQRDMULH, |x| < 2^31 */
    return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

double wb_q8_rq_real(wb_q8_rq rq) { return rq.b ? ldexp((double)rq.b, -31 - rq.shift) : (double)rq.mult; }
