/* The plain scalar side of the int8 scheme (bench/reference.py): input quantization, transform
 * matrix quantization, and the calibration pipelines that measure each stage's amax on the data
 * and fix the multipliers the timed NEON kernels then apply. Straight loops in int64, written to
 * read like the reference rather than to be fast: calibration runs once, before timing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

float wb_q8_multiplier(int64_t amax) { return amax > 0 ? (float)(127.0 / (double)amax) : 1.0f; }

int8_t wb_q8_requant_scalar(int64_t v, float mult)
{
    const float r = rintf((float)v * mult); /* (float)v: nearest even; one float multiply */
    return (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
}

static int64_t amax_of(const int32_t *t, size_t n)
{
    int64_t a = 0;
    for (size_t i = 0; i < n; i++)
        a = llabs(t[i]) > a ? llabs(t[i]) : a;
    return a;
}

int wb_q8_calibrate_im2row(wb_q8_plan *p, const int8_t *xq, int8_t *y8)
{
    const size_t h = p->h, w = p->w, cin = p->cin, cout = p->cout;
    int32_t *acc = calloc(h * w * cout, sizeof *acc);
    if (!acc)
        return WB_E_RUNTIME;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    const long sy = (long)y + ky - 1, sx = (long)x + kx - 1;
                    if (sy < 0 || sy >= (long)h || sx < 0 || sx >= (long)w)
                        continue;
                    const int8_t *src = xq + ((size_t)sy * w + (size_t)sx) * cin;
                    const int8_t *wk = p->wq + (size_t)(ky * 3 + kx) * cin * cout;
                    int32_t *dst = acc + (y * w + x) * cout;
                    for (size_t ci = 0; ci < cin; ci++)
                        for (size_t co = 0; co < cout; co++)
                            dst[co] += src[ci] * wk[ci * cout + co];
                }
    p->mult_y = wb_q8_multiplier(amax_of(acc, h * w * cout));
    if (y8)
        for (size_t i = 0; i < h * w * cout; i++)
            y8[i] = wb_q8_requant_scalar(acc[i], p->mult_y);
    free(acc);
    p->calibrated = 1;
    return WB_OK;
}

/* V = BTq d BTq^T per tile, exact (|V| <= 127 * 4096^2 < 2^31 by the matrix limit), d read
 * from the zero-padded input: v[(tile * a*a + i * a + l) * cin + c]. */
void wb_q8_exact_v(const wb_q8_plan *p, const int8_t *xq, int32_t *v)
{
    const int m = p->m, a = p->a;
    const size_t aa = (size_t)a * a, cin = p->cin;
    for (size_t t = 0; t < p->tiles; t++) {
        const long y0 = (long)(t / p->tw) * m - 1, x0 = (long)(t % p->tw) * m - 1;
        for (size_t c = 0; c < cin; c++) {
            int64_t d[WB_MAX_TILE][WB_MAX_TILE], bd[WB_MAX_TILE][WB_MAX_TILE];
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++) {
                    const long sy = y0 + i, sx = x0 + j;
                    d[i][j] = sy < 0 || sy >= p->h || sx < 0 || sx >= p->w
                                  ? 0 : xq[((size_t)sy * p->w + (size_t)sx) * cin + c];
                }
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++) {
                    int64_t s = 0;
                    for (int k = 0; k < a; k++) s += p->btq[i * a + k] * d[k][j];
                    bd[i][j] = s;
                }
            for (int i = 0; i < a; i++)
                for (int l = 0; l < a; l++) {
                    int64_t s = 0;
                    for (int k = 0; k < a; k++) s += bd[i][k] * p->btq[l * a + k];
                    v[(t * aa + (size_t)i * a + l) * cin + c] = (int32_t)s;
                }
        }
    }
}

/* Tile layouts as in the reference: index ((tile * a + i) * a + j) * channels + c. */
int wb_q8_calibrate_winograd(wb_q8_plan *p, const int8_t *xq, int8_t *y8)
{
    const int m = p->m, a = p->a;
    const size_t aa = (size_t)a * a, tiles = p->tiles, cin = p->cin, cout = p->cout;
    int32_t *v = malloc(tiles * aa * cin * sizeof *v);
    int32_t *mm = calloc(tiles * aa * cout, sizeof *mm);
    int32_t *y = malloc(tiles * (size_t)m * m * cout * sizeof *y);
    int8_t *v8 = malloc(tiles * aa * cin), *p8 = malloc(tiles * aa * cout);
    int rc = WB_E_RUNTIME;
    if (!v || !mm || !y || !v8 || !p8)
        goto done;

    wb_q8_exact_v(p, xq, v);
    p->mult_v = wb_q8_multiplier(amax_of(v, tiles * aa * cin));
    for (size_t i = 0; i < tiles * aa * cin; i++)
        v8[i] = wb_q8_requant_scalar(v[i], p->mult_v);

    /* M = sum over cin of V8 * U8, per tile and position. */
    for (size_t t = 0; t < tiles; t++)
        for (size_t q = 0; q < aa; q++) {
            const int8_t *vr = v8 + (t * aa + q) * cin, *u = p->u8 + q * cin * cout;
            int32_t *dst = mm + (t * aa + q) * cout;
            for (size_t c = 0; c < cin; c++)
                for (size_t co = 0; co < cout; co++)
                    dst[co] += vr[c] * u[c * cout + co];
        }
    p->mult_p = wb_q8_multiplier(amax_of(mm, tiles * aa * cout));
    for (size_t i = 0; i < tiles * aa * cout; i++)
        p8[i] = wb_q8_requant_scalar(mm[i], p->mult_p);

    /* Y = ATq P8 ATq^T per tile; its amax over the valid h x w outputs only. */
    int64_t amax_y = 0;
    for (size_t t = 0; t < tiles; t++)
        for (size_t co = 0; co < cout; co++) {
            int64_t ap[WB_MAX_TILE][WB_MAX_TILE];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < a; j++) {
                    int64_t s = 0;
                    for (int k = 0; k < a; k++)
                        s += p->atq[i * a + k] * p8[(t * aa + (size_t)k * a + j) * cout + co];
                    ap[i][j] = s;
                }
            for (int i = 0; i < m; i++)
                for (int l = 0; l < m; l++) {
                    int64_t s = 0;
                    for (int k = 0; k < a; k++) s += ap[i][k] * p->atq[l * a + k];
                    y[(t * m * m + (size_t)i * m + l) * cout + co] = (int32_t)s;
                    const size_t oy = (t / p->tw) * m + i, ox = (t % p->tw) * m + l;
                    if (oy < (size_t)p->h && ox < (size_t)p->w)
                        amax_y = llabs(s) > amax_y ? llabs(s) : amax_y;
                }
        }
    p->mult_y = wb_q8_multiplier(amax_y);
    if (y8)
        for (size_t t = 0; t < tiles; t++)
            for (int i = 0; i < m; i++)
                for (int l = 0; l < m; l++) {
                    const size_t oy = (t / p->tw) * m + i, ox = (t % p->tw) * m + l;
                    if (oy >= (size_t)p->h || ox >= (size_t)p->w)
                        continue;
                    for (size_t co = 0; co < cout; co++)
                        y8[(oy * p->w + ox) * cout + co] = wb_q8_requant_scalar(
                            y[(t * m * m + (size_t)i * m + l) * cout + co], p->mult_y);
                }
    /* The plan's V8 and P8 (wb_q8_stage) hold these until a staged run rewrites them with the
     * same values; a fused run keeps its own in per-block buffers. */
    for (size_t t = 0; t < tiles; t++)
        for (size_t q = 0; q < aa; q++) {
            memcpy(p->v8 + q * p->vpos + t * p->cin16, v8 + (t * aa + q) * cin, cin);
            memcpy(p->p8 + (t * aa + q) * p->cout8, p8 + (t * aa + q) * cout, cout);
        }
    p->calibrated = 1;
    rc = WB_OK;
done:
    free(v);
    free(mm);
    free(y);
    free(v8);
    free(p8);
    return rc;
}
