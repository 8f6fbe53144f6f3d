/* The scalar calibration of the int8 Winograd schemes (bench/numerics/reference.py, steps 5-7): plain
 * int64 loops that read like the reference rather than to be fast (they run once, before
 * timing), measure each stage's amax on the data and fix the multipliers the timed NEON kernels
 * then apply. Tile layouts as in the reference: index ((tile * a + i) * a + j) * channels + c.
 *   tensor  V8 = requant(V), P8 = requant(V8 U8), Y8 = requant(ATq P8 ATq^T), per tensor
 *   tap     V8, P8 per position; Z = P8 Sq; Y8 = requant(rshift(ATq Z, s1) ATq^T)
 *   wide    V16 = rshift(V, sV); Z = rshift(V16 U16, e[p] + h); Y8 = requant(rshift(ATq Z, s1) ATq^T)
 * every requant in the plan's form (int: step 8 at the stage's lane width, or fp32: step 2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wb_q8_plan.h"

/* V = BTq d BTq^T per tile, exact (|V| <= 127 * 4096^2 < 2^31 by the matrix limit), d read
 * from the zero-padded input: v[(tile * a*a + i * a + l) * cin + c]. */
static void exact_v(const wb_q8_plan *p, const int8_t *xq, int32_t *v)
{
    const int m = p->m, a = p->a;
    const size_t aa = (size_t)a * a, cin = p->cin;
    for (size_t t = 0; t < p->tiles; t++) {
        const long y0 = (long)(t / p->tw) * m - p->oy - 1, x0 = (long)(t % p->tw) * m - p->ox - 1;
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

/* M[(t * aa + p) * cout + co] = sum_c A[(t * aa + p) * cin + c] * B[(p * cin + c) * cout + co] */
#define SCALAR_GEMM(mm, A, B)                                                                      \
    for (size_t t = 0; t < p->tiles; t++)                                                          \
        for (size_t q = 0; q < aa; q++)                                                            \
            for (size_t c = 0; c < (size_t)p->cin; c++)                                            \
                for (size_t co = 0; co < (size_t)p->cout; co++)                                    \
                    mm[(t * aa + q) * p->cout + co] +=                                             \
                        (int64_t)(A)[(t * aa + q) * p->cin + c] * (B)[(q * p->cin + c) * p->cout + co]

/* The lane width of Y's requantization in the int form (step 8): tensor by ATq's bound; tap/wide
 * 32 for the int32 output, else 64 (int64 values) */
static int y_lanes(const wb_q8_plan *p)
{
    if (p->scheme == WB_Q8_TENSOR)
        return wb_q8_lanes(p->atq, p->m, p->a);
    return p->sch->out32 ? 32 : 64;
}

/* Whether output t, i (position i = row * m + column of tile t) is in the image. */
static int valid_output(const wb_q8_plan *p, size_t t, size_t i)
{
    const long oy = (long)(t / p->tw) * p->m + (long)i / p->m - p->oy;
    const long ox = (long)(t % p->tw) * p->m + (long)i % p->m - p->ox;
    return oy >= 0 && oy < p->h && ox >= 0 && ox < p->w;
}

/* Row scales (step 9): output position i carries 2^xA[i] beyond the common scale. fp32 form: the
 * amax of Y 2^-xA over the valid outputs (exact in double, |Y| < 2^53) gives mult_Y, and position
 * i takes the float32 multiplier mult_Y 2^-xA[i] (exact: a power of two times a float32). int
 * form: the amax of rshift(Y, xA) gives R and b, and position i the rounding shift R + xA[i]. */
static void row_scales_y(wb_q8_plan *p, const int64_t *y)
{
    const size_t mm = (size_t)p->m * p->m, cout = p->cout;
    int xa[WB_MAX_TILE * WB_MAX_TILE];
    for (size_t i = 0; i < mm; i++)
        xa[i] = p->dA[i / p->m] + p->dA[i % p->m];
    double amax = 0;
    int64_t iamax = 0;
    for (size_t t = 0; t < p->tiles; t++)
        for (size_t i = 0; i < mm; i++)
            for (size_t co = 0; valid_output(p, t, i) && co < cout; co++) {
                const int64_t v = y[(t * mm + i) * cout + co];
                amax = fmax(amax, fabs(ldexp((double)v, -xa[i])));
                iamax = wb_q8_max(iamax, llabs(wb_q8_rshift(v, xa[i])));
            }
    if (p->requant == WB_Q8_RQ_INT) {
        p->rq_y = wb_q8_stage_rq(WB_Q8_RQ_INT, iamax, 64);
        for (size_t i = 0; i < mm; i++)
            p->sch->shift_y[i] = p->rq_y.shift + xa[i];
        return;
    }
    const float mult = amax > 0 ? (float)(127.0 / amax) : 1.0f;
    p->rq_y = (wb_q8_rq){mult, 0, 0};
    for (size_t i = 0; i < mm; i++)
        p->sch->mult_y[i] = (float)ldexp((double)mult, -xa[i]);
}

/* y8 of Y value v at output position i (row scales: that position's requantization) */
static int8_t requant_y(const wb_q8_plan *p, int64_t v, size_t i)
{
    if (!p->row_scales)
        return wb_q8_requant_rq_scalar(v, p->rq_y);
    if (p->requant == WB_Q8_RQ_INT)
        return wb_q8_requant_rq_scalar(v, (wb_q8_rq){0, p->rq_y.b, p->sch->shift_y[i]});
    return wb_q8_requant_scalar(v, p->sch->mult_y[i]);
}

/* Y = rshift(ATq Z, s1) ATq^T per tile and channel, rq_y from its amax over the valid outputs,
 * then y8 there (when not NULL) */
static int scalar_output(wb_q8_plan *p, const int64_t *z, int s1, int8_t *y8)
{
    const int m = p->m, a = p->a;
    const size_t aa = (size_t)a * a, cout = p->cout, mm = (size_t)m * m;
    int64_t *y = malloc(p->tiles * mm * cout * sizeof *y), amax = 0;
    if (!y)
        return WB_E_RUNTIME;
    for (size_t t = 0; t < p->tiles; t++)
        for (size_t co = 0; co < cout; co++) {
            int64_t tt[WB_MAX_TILE][WB_MAX_TILE];
            for (int i = 0; i < m; i++)
                for (int l = 0; l < a; l++) {
                    int64_t s = 0;
                    for (int k = 0; k < a; k++)
                        s += p->atq[i * a + k] * z[(t * aa + (size_t)k * a + l) * cout + co];
                    tt[i][l] = wb_q8_rshift(s, s1);
                }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    int64_t s = 0;
                    for (int l = 0; l < a; l++) s += tt[i][l] * p->atq[j * a + l];
                    y[(t * mm + (size_t)i * m + j) * cout + co] = s;
                    const long oy = (long)(t / p->tw) * m + i - p->oy, ox = (long)(t % p->tw) * m + j - p->ox;
                    if (oy >= 0 && oy < p->h && ox >= 0 && ox < p->w)
                        amax = wb_q8_max(amax, llabs(s));
                }
        }
    if (p->row_scales)
        row_scales_y(p, y);
    else
        p->rq_y = wb_q8_stage_rq(p->requant, amax, y_lanes(p));
    for (size_t t = 0; y8 && t < p->tiles; t++)
        for (size_t i = 0; i < mm; i++) {
            const long oy = (long)(t / p->tw) * m + (long)(i / m) - p->oy;
            const long ox = (long)(t % p->tw) * m + (long)(i % m) - p->ox;
            if (oy >= 0 && oy < p->h && ox >= 0 && ox < p->w)
                for (size_t co = 0; co < cout; co++) /* fp32: (float) of |Y| < 2^53, one rounding */
                    y8[((size_t)oy * p->w + (size_t)ox) * cout + co] = requant_y(p, y[(t * mm + i) * cout + co], i);
        }
    free(y);
    return WB_OK;
}

/* Requantization of a tile tensor t[(tile * aa + p) * ch + c], int32 (t32) or int64 (t64, when
 * t32 is NULL) at the int form's lane width `lanes`, with one requantization per position
 * (rq[aa]) or for the whole tensor (*rq). */
static void requant_tiles(const wb_q8_plan *p, const int32_t *t32, const int64_t *t64, size_t ch,
                          int per_position, int lanes, wb_q8_rq *rq, int8_t *q8)
{
    const size_t aa = (size_t)p->a * p->a;
#define T_AT(k) (t32 ? t32[k] : t64[k])
    int64_t amax[WB_Q8_AA] = {0};
    for (size_t i = 0; i < p->tiles; i++)
        for (size_t q = 0; q < aa; q++)
            for (size_t c = 0; c < ch; c++) {
                const int64_t v = llabs(T_AT((i * aa + q) * ch + c));
                amax[per_position ? q : 0] = wb_q8_max(amax[per_position ? q : 0], v);
            }
    for (size_t q = 0; q < (per_position ? aa : 1); q++)
        rq[q] = wb_q8_stage_rq(p->requant, amax[q], lanes);
    for (size_t i = 0; i < p->tiles; i++)
        for (size_t q = 0; q < aa; q++)
            for (size_t c = 0; c < ch; c++) {
                const size_t k = (i * aa + q) * ch + c;
                q8[k] = wb_q8_requant_rq_scalar(T_AT(k), rq[per_position ? q : 0]);
            }
#undef T_AT
}

/* tap: the per-position requantizations of V8 (rv) and P8 (rp) kept in the scheme state, and the
 * per-position real scales as integer factors Sq of sq_bits bits (scheme steps 6 and 8) */
static void tap_factors(wb_q8_scheme_state *s, size_t aa, const wb_q8_rq *rv, const wb_q8_rq *rp)
{
    double d[WB_Q8_AA], dmin = INFINITY;
    for (size_t q = 0; q < aa; q++) {
        s->mult_v[q] = rv[q].mult, s->b_v[q] = rv[q].b;
        s->mult_p[q] = rp[q].mult, s->b_p[q] = rp[q].b;
        d[q] = wb_q8_rq_real(rv[q]) * (double)s->mult_u[q] * wb_q8_rq_real(rp[q]);
        dmin = d[q] < dmin ? d[q] : dmin;
    }
    s->dmin = dmin;
    for (size_t q = 0; q < aa; q++) {
        const double r = ldexp(dmin / d[q], s->sq_bits);
        s->sq[q] = (int32_t)(r >= 0 ? floor(r + 0.5) : -floor(-r + 0.5));
    }
    const size_t a = (size_t)sqrt((double)aa);
    for (size_t q = 0; s->out32 && q < aa; q++) /* Sq <= 2^14 */
        s->sq16t[8 * (q % a) + q / a] = (int16_t)s->sq[q];
}

/* The plan's V8/P8 (tensor, tap) or V16/M' (wide), read by wb_q8_stage, hold the calibration
 * pass's values until a staged run rewrites them with the same; a fused run keeps its own per
 * block. */
static void keep_intermediates(wb_q8_plan *p, const int8_t *v8, const int16_t *v16, const int8_t *p8,
                               const int64_t *mm)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, cin = p->cin, cout = p->cout;
    for (size_t t = 0; t < p->tiles; t++)
        for (size_t q = 0; q < aa; q++) {
            const size_t iv = (t * aa + q) * cin, im = (t * aa + q) * cout;
            if (p->scheme != WB_Q8_WIDE) {
                memcpy(p->v8 + q * p->vpos + t * p->cin16, v8 + iv, cin);
                memcpy(p->p8 + (t * aa + q) * p->cout8, p8 + im, cout);
                continue;
            }
            memcpy(s->v16 + q * s->vpos16 + t * p->cin16, v16 + iv, cin * sizeof *v16);
            for (size_t c = 0; c < cout; c++)
                s->m32[(t * aa + q) * p->cout8 + c] = (int32_t)mm[im + c];
        }
}

/* From V (exact) to Z, the output transform's input, in mm; the V and P intermediates on the way. */
static int scheme_z(wb_q8_plan *p, const int32_t *v, int8_t *v8, int16_t *v16, int8_t *p8, int64_t *mm)
{
    wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, nv = p->tiles * aa * p->cin, nm = p->tiles * aa * p->cout;
    if (p->scheme == WB_Q8_WIDE) {
        for (size_t i = 0; i < nv; i++)
            v16[i] = (int16_t)wb_q8_rshift(v[i], s->sv);
        SCALAR_GEMM(mm, v16, s->u16);
        for (size_t i = 0; i < nm; i++) {
            if (llabs(mm[i]) > WB_Q8_I32_MAX) /* excluded by QU and e: a broken invariant */
                return WB_E_RUNTIME;
            mm[i] = wb_q8_rshift(mm[i], s->e[(i / p->cout) % aa] + s->xv[(i / p->cout) % aa] + s->h);
        }
        return WB_OK;
    }
    const int tap = p->scheme == WB_Q8_TAP;
    wb_q8_rq rv[WB_Q8_AA], rp[WB_Q8_AA];
    requant_tiles(p, v, NULL, p->cin, tap, wb_q8_lanes(p->btq, p->a, p->a), rv, v8);
    SCALAR_GEMM(mm, v8, p->u8);
    requant_tiles(p, NULL, mm, p->cout, tap, 32, rp, p8);
    if (tap)
        tap_factors(s, aa, rv, rp);
    else
        p->rq_v = rv[0], p->rq_p = rp[0];
    for (size_t i = 0; i < nm; i++)
        mm[i] = (int64_t)p8[i] * (tap ? s->sq[(i / p->cout) % aa] : 1);
    return WB_OK;
}

int wb_q8_calibrate_winograd(wb_q8_plan *p, const int8_t *xq, int8_t *y8)
{
    const size_t aa = (size_t)p->a * p->a, nv = p->tiles * aa * p->cin, nm = p->tiles * aa * p->cout;
    int32_t *v = malloc(nv * sizeof *v);
    int64_t *mm = calloc(nm, sizeof *mm);
    int8_t *v8 = malloc(nv), *p8 = malloc(nm);
    int16_t *v16 = malloc(nv * sizeof *v16);
    int rc = WB_E_RUNTIME;
    if (v && mm && v8 && p8 && v16) {
        exact_v(p, xq, v);
        rc = scheme_z(p, v, v8, v16, p8, mm);
    }
    if (rc == WB_OK) {
        keep_intermediates(p, v8, v16, p8, mm);
        if ((rc = scalar_output(p, mm, p->sch ? p->sch->s1 : 0, y8)) == WB_OK)
            p->calibrated = 1;
        /* the int form of the static F6 output folds 32 b into its multiplier (exact where it fits
         * int32); else its dense twin, fed the same default matrix, gives the same bytes */
        if (p->requant == WB_Q8_RQ_INT && p->scheme == WB_Q8_TENSOR && p->m == 6 && !p->learned &&
            (int64_t)p->rq_y.b * 32 > WB_Q8_I32_MAX)
            p->winoout = wb_q8_winoout_learned_int_ukernel_f6__neon;
    }
    free(v);
    free(mm);
    free(v8);
    free(p8);
    free(v16);
    return rc;
}
