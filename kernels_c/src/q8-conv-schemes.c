/* The int8 Winograd schemes tap and wide (bench/reference.py, steps 6 and 7): offline weight
 * transform, the scalar calibration pipelines (plain int64 loops that read like the reference)
 * and the timed NEON run. Data flow of the run:
 *   tap   xpad -> V8[p][tile][cin16] (requant per position) -> P8[tile][p][cout8] (the int8 GEMM,
 *         one multiplier per position) -> Y8 = requant(rshift(ATq (P8 Sq) , s1) ATq^T)
 *   wide  xpad -> V16[p][tile][cin16] (rshift sV) -> M'[tile][p][cout8] int32 (the int16 GEMM,
 *         rshift e[p] in its epilogue) -> Y8 = requant(rshift(ATq M', s1) ATq^T) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wb_q8_schemes.h"

#define I32_MAX 2147483647LL
#define I16_MAX 32767LL

typedef struct {
    wb_q8_sin_fn in;
    wb_q8_sout_fn out;
} scheme_fns;

#define SCHEME_FNS(S, V)                                                                           \
    {                                                                                              \
        [2] = {wb_q8_winoin_##S##_##V##_ukernel_f2__neon, wb_q8_winoout_##S##_##V##_ukernel_f2__neon}, \
        [4] = {wb_q8_winoin_##S##_##V##_ukernel_f4__neon, wb_q8_winoout_##S##_##V##_ukernel_f4__neon}, \
        [6] = {wb_q8_winoin_##S##_##V##_ukernel_f6__neon, wb_q8_winoout_##S##_##V##_ukernel_f6__neon}, \
    }
/* [scheme - 1][learned][m]: static kernels fold the default matrices, learned ones take them at
 * run time */
static const scheme_fns fns[2][2][7] = {
    {SCHEME_FNS(tap, static), SCHEME_FNS(tap, learned)},
    {SCHEME_FNS(wide, static), SCHEME_FNS(wide, learned)},
};

static int64_t rshift(int64_t v, int s) { return s ? (v + (1LL << (s - 1))) >> s : v; }
static int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }

static int64_t max_row_l1(const int64_t *t, int rows, int cols)
{
    int64_t best = 0;
    for (int i = 0; i < rows; i++) {
        int64_t s = 0;
        for (int j = 0; j < cols; j++)
            s += llabs(t[i * cols + j]);
        best = max_i64(best, s);
    }
    return best;
}

static int shift_to_fit(int64_t bound, int64_t limit)
{
    int s = 0;
    while (rshift(bound, s) > limit)
        s++;
    return s;
}

/* U = Gq g Gq^T in int64, layout (a*a, cin, cout) */
static int64_t *weights_u64(const wb_q8_plan *p)
{
    const int a = p->a;
    const size_t cin = p->cin, cout = p->cout;
    int64_t *u = malloc((size_t)a * a * cin * cout * sizeof *u);
    if (!u)
        return NULL;
    for (size_t ci = 0; ci < cin; ci++)
        for (size_t co = 0; co < cout; co++) {
            int64_t gg[WB_MAX_TILE][3];
            for (int i = 0; i < a; i++)
                for (int l = 0; l < 3; l++) {
                    int64_t s = 0;
                    for (int k = 0; k < 3; k++)
                        s += p->gq[i * 3 + k] * p->wq[((size_t)(k * 3 + l) * cin + ci) * cout + co];
                    gg[i][l] = s;
                }
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++)
                    u[((size_t)i * a + j) * cin * cout + ci * cout + co] =
                        gg[i][0] * p->gq[j * 3] + gg[i][1] * p->gq[j * 3 + 1] + gg[i][2] * p->gq[j * 3 + 2];
        }
    return u;
}

/* tap: U8 per position, packed for the int8 GEMM */
static void tap_weights(wb_q8_plan *p, const int64_t *u)
{
    const size_t aa = (size_t)p->a * p->a, n = (size_t)p->cin * p->cout;
    for (size_t q = 0; q < aa; q++) {
        int64_t amax = 0;
        for (size_t i = 0; i < n; i++)
            amax = max_i64(amax, llabs(u[q * n + i]));
        p->sch->mult_u[q] = wb_q8_multiplier(amax);
        for (size_t i = 0; i < n; i++)
            p->u8[q * n + i] = wb_q8_requant_scalar(u[q * n + i], p->sch->mult_u[q]);
        wb_q8_packb_ukernel_x4c16__scalar(p->cin, p->cout, p->u8 + q * n, p->cout,
                                          p->wpacked + q * p->panel_bytes);
    }
}

/* wide: QU and e[p] (step 7), U16, packed for the int16 GEMM */
static int wide_weights(wb_q8_plan *p, const int64_t *u, char *err, int err_len)
{
    wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, cin = p->cin, cout = p->cout, n = cin * cout;
    const int64_t vbound = 127 * max_row_l1(p->btq, p->a, p->a) * max_row_l1(p->btq, p->a, p->a);
    s->sv = shift_to_fit(vbound, I16_MAX);
    const int64_t B = I32_MAX / rshift(vbound, s->sv);
    int64_t amax = 0, lsum[WB_Q8_AA], pmax[WB_Q8_AA], lmax = 0;
    for (size_t q = 0; q < aa; q++) {
        lsum[q] = pmax[q] = 0;
        for (size_t co = 0; co < cout; co++) {
            int64_t l = 0;
            for (size_t ci = 0; ci < cin; ci++) {
                const int64_t v = llabs(u[q * n + ci * cout + co]);
                l += v;
                pmax[q] = max_i64(pmax[q], v);
            }
            lsum[q] = max_i64(lsum[q], l);
        }
        amax = max_i64(amax, pmax[q]);
        lmax = max_i64(lmax, lsum[q]);
    }
    const int64_t room = (B - (int64_t)cin) * amax;
    const int64_t qu = lmax ? (room / lmax < I16_MAX ? room / lmax : I16_MAX) : I16_MAX;
    if (qu < 1)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "wide scheme: cin=%zu is past the int32 bound "
                       "for these weights ((B - cin) * max|U| < max column L1 of U, B = %lld)",
                       cin, (long long)B);
    s->qu = (int)qu;
    s->mult_u16 = amax ? (float)((double)qu / (double)amax) : 1.0f;
    for (size_t q = 0; q < aa; q++) {
        int e = 0;
        while (e < 15 && pmax[q] * (qu << (e + 1)) <= I16_MAX * amax && lsum[q] * (qu << (e + 1)) <= room)
            e++;
        s->e[q] = e;
        const float mult = ldexpf(s->mult_u16, e);
        for (size_t i = 0; i < n; i++) {
            const float r = rintf((float)u[q * n + i] * mult);
            s->u16[q * n + i] = (int16_t)(r > 32767.0f ? 32767 : r < -32767.0f ? -32767 : (int)r);
        }
        wb_q8_packb_s16_ukernel_x8__scalar(cin, cout, s->u16 + q * n, cout, s->w16 + q * s->panel16);
    }
    return WB_OK;
}

void wb_q8_scheme_free(wb_q8_plan *p)
{
    if (!p->sch)
        return;
    wb_free(p->sch->v16);
    wb_free(p->sch->u16);
    wb_free(p->sch->w16);
    wb_free(p->sch->m32);
    free(p->sch);
    p->sch = NULL;
}

int wb_q8_plan_scheme(wb_q8_plan *p, char *err, int err_len)
{
    wb_q8_scheme_state *s = p->sch = calloc(1, sizeof *p->sch);
    if (!s)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    const size_t aa = (size_t)p->a * p->a;
    const int64_t l1a = max_row_l1(p->atq, p->m, p->a);
    if (p->scheme == WB_Q8_WIDE) {
        s->vpos16 = p->tiles * p->cin16 + 32; /* off a power of two, as vpos */
        s->panel16 = wb_round_up(p->cout, 8) * wb_round_up(p->cin, 8);
        s->v16 = wb_zalloc(aa * s->vpos16 * sizeof(int16_t));
        s->u16 = wb_zalloc(aa * p->cin * p->cout * sizeof(int16_t));
        s->w16 = wb_zalloc(aa * s->panel16 * sizeof(int16_t));
        s->m32 = wb_zalloc(p->tiles * aa * p->cout8 * sizeof(int32_t));
        if (!s->v16 || !s->u16 || !s->w16 || !s->m32)
            return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    }
    int64_t *u = weights_u64(p);
    if (!u)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    int rc = WB_OK;
    if (p->scheme == WB_Q8_TAP) {
        tap_weights(p, u);
        s->s1 = shift_to_fit((127LL << WB_Q8_TAP_SCALE_BITS) * l1a, I32_MAX);
    } else {
        rc = wide_weights(p, u, err, err_len);
        s->s1 = shift_to_fit(I32_MAX * l1a, I32_MAX);
    }
    free(u);
    return rc;
}

/* ---- the scalar pipelines (calibration) ------------------------------------------------------ */

/* M[(t * aa + p) * cout + co] = sum_c A[(t * aa + p) * cin + c] * B[(p * cin + c) * cout + co] */
#define SCALAR_GEMM(mm, A, B)                                                                      \
    for (size_t t = 0; t < p->tiles; t++)                                                          \
        for (size_t q = 0; q < aa; q++)                                                            \
            for (size_t c = 0; c < (size_t)p->cin; c++)                                                    \
                for (size_t co = 0; co < (size_t)p->cout; co++)                                            \
                    mm[(t * aa + q) * p->cout + co] +=                                             \
                        (int64_t)(A)[(t * aa + q) * p->cin + c] * (B)[(q * p->cin + c) * p->cout + co]

/* Y = rshift(ATq Z, s1) ATq^T per tile and channel, then y8 over the valid outputs */
static int scalar_output(wb_q8_plan *p, const int64_t *z, int8_t *y8)
{
    const int m = p->m, a = p->a, s1 = p->sch->s1;
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
                    tt[i][l] = rshift(s, s1);
                }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    int64_t s = 0;
                    for (int l = 0; l < a; l++) s += tt[i][l] * p->atq[j * a + l];
                    y[(t * mm + (size_t)i * m + j) * cout + co] = s;
                    const size_t oy = (t / p->tw) * m + i, ox = (t % p->tw) * m + j;
                    if (oy < (size_t)p->h && ox < (size_t)p->w)
                        amax = max_i64(amax, llabs(s));
                }
        }
    p->mult_y = wb_q8_multiplier(amax);
    for (size_t t = 0; y8 && t < p->tiles; t++)
        for (size_t i = 0; i < mm; i++) {
            const size_t oy = (t / p->tw) * m + i / m, ox = (t % p->tw) * m + i % m;
            if (oy < (size_t)p->h && ox < (size_t)p->w)
                for (size_t co = 0; co < cout; co++) /* (float) of |Y| < 2^53: one rounding */
                    y8[(oy * p->w + ox) * cout + co] = wb_q8_requant_scalar(y[(t * mm + i) * cout + co], p->mult_y);
        }
    free(y);
    return WB_OK;
}

/* per-position requantization of a tile tensor t[(tile * aa + p) * ch + c], int32 (t32) or int64
 * (t64, when t32 is NULL) */
static void requant_positions(const wb_q8_plan *p, const int32_t *t32, const int64_t *t64, size_t ch,
                              float *mult, int8_t *q8)
{
    const size_t aa = (size_t)p->a * p->a;
    for (size_t q = 0; q < aa; q++) {
        int64_t amax = 0;
        for (size_t i = 0; i < p->tiles; i++)
            for (size_t c = 0; c < ch; c++) {
                const size_t k = (i * aa + q) * ch + c;
                amax = max_i64(amax, llabs(t32 ? t32[k] : t64[k]));
            }
        mult[q] = wb_q8_multiplier(amax);
        for (size_t i = 0; i < p->tiles; i++)
            for (size_t c = 0; c < ch; c++) {
                const size_t k = (i * aa + q) * ch + c;
                q8[k] = wb_q8_requant_scalar(t32 ? t32[k] : t64[k], mult[q]);
            }
    }
}

static void tap_factors(wb_q8_scheme_state *s, size_t aa)
{
    double d[WB_Q8_AA], dmin = INFINITY;
    for (size_t q = 0; q < aa; q++) {
        d[q] = (double)s->mult_v[q] * (double)s->mult_u[q] * (double)s->mult_p[q];
        dmin = d[q] < dmin ? d[q] : dmin;
    }
    s->dmin = dmin;
    for (size_t q = 0; q < aa; q++) {
        const double r = ldexp(dmin / d[q], WB_Q8_TAP_SCALE_BITS);
        s->sq[q] = (int32_t)(r >= 0 ? floor(r + 0.5) : -floor(-r + 0.5));
    }
}

/* The plan's V8/P8 (tap) or V16/M' (wide), read by wb_q8_stage, hold the calibration pass's values
 * until a staged run rewrites them with the same; a fused run keeps its own per block. */
static void keep_intermediates(wb_q8_plan *p, const int8_t *v8, const int16_t *v16, const int8_t *p8,
                               const int64_t *mm)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, cin = p->cin, cout = p->cout;
    for (size_t t = 0; t < p->tiles; t++)
        for (size_t q = 0; q < aa; q++) {
            const size_t iv = (t * aa + q) * cin, im = (t * aa + q) * cout;
            if (p->scheme == WB_Q8_TAP) {
                memcpy(p->v8 + q * p->vpos + t * p->cin16, v8 + iv, cin);
                memcpy(p->p8 + (t * aa + q) * p->cout8, p8 + im, cout);
                continue;
            }
            memcpy(s->v16 + q * s->vpos16 + t * p->cin16, v16 + iv, cin * sizeof *v16);
            for (size_t c = 0; c < cout; c++)
                s->m32[(t * aa + q) * p->cout8 + c] = (int32_t)mm[im + c];
        }
}

int wb_q8_calibrate_scheme(wb_q8_plan *p, const int8_t *xq, int8_t *y8)
{
    wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, nv = p->tiles * aa * p->cin, nm = p->tiles * aa * p->cout;
    int32_t *v = malloc(nv * sizeof *v);
    int64_t *mm = calloc(nm, sizeof *mm);
    int8_t *v8 = malloc(nv), *p8 = malloc(nm);
    int16_t *v16 = malloc(nv * sizeof *v16);
    int rc = WB_E_RUNTIME;
    if (!v || !mm || !v8 || !p8 || !v16)
        goto done;
    wb_q8_exact_v(p, xq, v);
    if (p->scheme == WB_Q8_TAP) {
        requant_positions(p, v, NULL, p->cin, s->mult_v, v8);
        SCALAR_GEMM(mm, v8, p->u8);
        requant_positions(p, NULL, mm, p->cout, s->mult_p, p8);
        tap_factors(s, aa);
        for (size_t i = 0; i < nm; i++)
            mm[i] = (int64_t)p8[i] * s->sq[(i / p->cout) % aa];
    } else {
        for (size_t i = 0; i < nv; i++)
            v16[i] = (int16_t)rshift(v[i], s->sv);
        SCALAR_GEMM(mm, v16, s->u16);
        for (size_t i = 0; i < nm; i++) {
            if (llabs(mm[i]) > I32_MAX) /* excluded by QU and e: a broken invariant */
                goto done;
            mm[i] = rshift(mm[i], s->e[(i / p->cout) % aa]);
        }
    }
    keep_intermediates(p, v8, v16, p8, mm);
    if ((rc = scalar_output(p, mm, y8)) == WB_OK)
        p->calibrated = 1;
done:
    free(v);
    free(mm);
    free(v8);
    free(p8);
    free(v16);
    return rc;
}

/* ---- the timed run ---------------------------------------------------------------------------- */

typedef struct {
    wb_q8_plan *p;
    const int8_t *x;
    int8_t *y;
    wb_stage_sums *sums; /* fused run: per thread */
    size_t block;        /* fused run: tiles per block */
} job;

static void pad_row(void *ctx, size_t row, int tid)
{
    (void)tid;
    const job *j = ctx;
    wb_q8_pad_row(j->p, j->x, row);
}

/* V of tile t (int8 for tap, int16 for wide) into v, positions vs elements apart. */
static void input_tile(const wb_q8_plan *p, size_t t, void *v, size_t vs)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t ty = t / p->tw, tx = t % p->tw;
    fns[p->scheme - 1][p->learned][p->m].in(p->cin16, p->xpad + (ty * p->m * p->wp + tx * p->m) * p->cin16,
                                            p->wp * p->cin16, p->cin16, v, vs, s->mult_v, s->sv, p->bt.m32);
}

static void input_row(void *ctx, size_t ty, int tid)
{
    (void)tid;
    const wb_q8_plan *p = ((const job *)ctx)->p;
    const wb_q8_scheme_state *s = p->sch;
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++) {
        if (p->scheme == WB_Q8_WIDE)
            input_tile(p, t, s->v16 + t * p->cin16, s->vpos16);
        else
            input_tile(p, t, p->v8 + t * p->cin16, p->vpos);
    }
}

/* Position q's product for `rows` tiles: V rows at v (int8 tap, int16 wide), Z at z (P8 int8 tap,
 * M' int32 wide; a*a positions of cout8 per tile). */
static void gemm_rows(const wb_q8_plan *p, size_t q, size_t rows, const void *v, void *z)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, ldc = aa * p->cout8, k8 = wb_round_up(p->cin, 8);
    if (p->scheme == WB_Q8_TAP) {
        wb_q8_gemm(0, rows, p->cout, p->cin16, v, p->cin16, p->wpacked + q * p->panel_bytes,
                   (int8_t *)z + q * p->cout8, ldc, s->mult_p[q]);
        return;
    }
    for (size_t n0 = 0; n0 < (size_t)p->cout; n0 += 8) {
        const size_t nc = p->cout - n0 < 8 ? p->cout - n0 : 8;
        const int16_t *w = s->w16 + q * s->panel16 + n0 * k8;
        for (size_t m0 = 0; m0 < rows; m0 += 4) {
            const size_t mr = rows - m0 < 4 ? rows - m0 : 4;
            (mr == 1 ? wb_q8_gemm_s16_ukernel_1x8__neon : wb_q8_gemm_s16_ukernel_4x8__neon)(
                mr, nc, k8, (const int16_t *)v + m0 * p->cin16, p->cin16, w,
                (int32_t *)z + m0 * ldc + q * p->cout8 + n0, ldc, s->e[q]);
        }
    }
}

static void gemm_position(void *ctx, size_t q, int tid)
{
    (void)tid;
    const wb_q8_plan *p = ((const job *)ctx)->p;
    const wb_q8_scheme_state *s = p->sch;
    if (p->scheme == WB_Q8_TAP)
        gemm_rows(p, q, p->tiles, p->v8 + q * p->vpos, p->p8);
    else
        gemm_rows(p, q, p->tiles, s->v16 + q * s->vpos16, s->m32);
}

/* y8 of tile t from its Z (a*a positions of cout8: P8 int8 tap, M' int32 wide), cropped at the
 * image edge. */
static void output_tile(const job *j, size_t t, const void *z, int tid)
{
    const wb_q8_plan *p = j->p;
    const wb_q8_scheme_state *s = p->sch;
    const size_t m = p->m, cout = p->cout, oy = t / p->tw * m, ox = t % p->tw * m;
    const size_t mh = p->h - oy < m ? p->h - oy : m, mw = p->w - ox < m ? p->w - ox : m;
    const int direct = mh == m && mw == m && cout % 8 == 0; /* 8-channel stores fit in y */
    int8_t *scratch = p->scratch + (size_t)tid * m * m * p->cout8;
    int8_t *out[WB_MAX_TILE * WB_MAX_TILE];
    for (size_t i = 0; i < m * m; i++)
        out[i] = direct ? j->y + ((oy + i / m) * p->w + ox + i % m) * cout : scratch + i * p->cout8;
    fns[p->scheme - 1][p->learned][p->m].out(p->cout8, z, p->cout8, s->sq, s->s1, out, p->mult_y, p->at.m32);
    for (size_t i = 0; !direct && i < mh * mw; i++)
        memcpy(j->y + ((oy + i / mw) * p->w + ox + i % mw) * cout, out[(i / mw) * m + i % mw], cout);
}

static void output_row(void *ctx, size_t ty, int tid)
{
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t zt = (size_t)p->a * p->a * p->cout8; /* Z elements per tile */
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++) {
        if (p->scheme == WB_Q8_WIDE)
            output_tile(j, t, p->sch->m32 + t * zt, tid);
        else
            output_tile(j, t, p->p8 + t * zt, tid);
    }
}

/* The three stages on block blk of tiles, in this thread's buffers (V, then Z). */
static void fused_block(void *ctx, size_t blk, int tid)
{
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const int wide = p->scheme == WB_Q8_WIDE;
    const size_t aa = (size_t)p->a * p->a, t0 = blk * j->block, esz = wide ? 2 : 1;
    const size_t t1 = t0 + j->block < p->tiles ? t0 + j->block : p->tiles;
    int8_t *v = p->block[tid], *z = v + aa * p->vbpos * esz;
    const size_t zt = aa * p->cout8 * (wide ? 4 : 1); /* Z bytes per tile */
    const double c0 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        input_tile(p, t, v + (t - t0) * p->cin16 * esz, p->vbpos);
    const double c1 = wb_now_ms();
    for (size_t q = 0; q < aa; q++) /* the weight panel of q, reused by the block's rows */
        gemm_rows(p, q, t1 - t0, v + q * p->vbpos * esz, z);
    const double c2 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        output_tile(j, t, z + (t - t0) * zt, tid);
    double *ms = j->sums[tid].ms;
    ms[0] += c1 - c0, ms[1] += c2 - c1, ms[2] += wb_now_ms() - c2;
}

int wb_q8_run_scheme(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool,
                     double *stage_ms)
{
    const int threads = wb_pool_threads(pool);
    if (p->block_tiles && wb_q8_ensure_blocks(p, threads) != WB_OK)
        return WB_E_RUNTIME;
    wb_stage_sums sums[WB_MAX_THREADS] = {{{0}}};
    job j = {p, xq, y8, sums, p->block_tiles ? wb_wino_run_block(p->tiles, p->block_tiles, threads, WB_Q8_GEMM_MR) : 0};
    double st[4];
    const double t0 = wb_now_ms();
    wb_parallel_for(pool, p->h, pad_row, &j);
    const double t1 = wb_now_ms();
    if (p->block_tiles) {
        wb_parallel_for(pool, wb_div_up(p->tiles, j.block), fused_block, &j);
        st[0] = t1 - t0, st[1] = 0, st[2] = 0;
        wb_split_wall(wb_now_ms() - t1, sums, threads, st);
    } else {
        wb_parallel_for(pool, p->th, input_row, &j);
        const double t2 = wb_now_ms();
        wb_parallel_for(pool, (size_t)p->a * p->a, gemm_position, &j);
        const double t3 = wb_now_ms();
        wb_parallel_for(pool, p->th, output_row, &j);
        st[0] = t2 - t0, st[1] = t3 - t2, st[2] = wb_now_ms() - t3;
    }
    st[3] = wb_now_ms() - t0;
    if (stage_ms)
        memcpy(stage_ms, st, sizeof st);
    return WB_OK;
}

/* ---- scales, introspection -------------------------------------------------------------------- */

double wb_q8_output_scale_scheme(const wb_q8_plan *p, double s_x, double s_w)
{
    const wb_q8_scheme_state *s = p->sch;
    if (p->scheme == WB_Q8_TAP) /* the reference's order of operations */
        return s_x * s_w * ldexp(1.0, -2 * p->kB - 2 * p->kG - WB_Q8_TAP_SCALE_BITS) / s->dmin *
               ldexp(1.0, s->s1 - 2 * p->kA) / (double)p->mult_y;
    return s_x * s_w * ldexp(1.0, s->sv - 2 * p->kB - 2 * p->kG) / (double)s->mult_u16 *
           ldexp(1.0, s->s1 - 2 * p->kA) / (double)p->mult_y;
}

/* wide: "V16" (th, tw, a, a, cin) int16, "U16" (a, a, cin, cout) int16, "M" (th, tw, a, a, cout)
 * int32 after the GEMM's rshift by e[p] */
int wb_q8_stage_scheme(const wb_q8_plan *p, const char *name, void *out)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a;
    if (strcmp(name, "U16") == 0) {
        memcpy(out, s->u16, aa * p->cin * p->cout * sizeof(int16_t));
        return WB_OK;
    }
    const int is_v = strcmp(name, "V16") == 0;
    if (!is_v && strcmp(name, "M") != 0)
        return WB_E_BAD_CASE;
    for (size_t t = 0; t < p->tiles; t++)
        for (size_t q = 0; q < aa; q++) {
            if (is_v)
                memcpy((int16_t *)out + (t * aa + q) * p->cin, s->v16 + q * s->vpos16 + t * p->cin16,
                       p->cin * sizeof(int16_t));
            else
                memcpy((int32_t *)out + (t * aa + q) * p->cout, s->m32 + (t * aa + q) * p->cout8,
                       p->cout * sizeof(int32_t));
        }
    return WB_OK;
}

void wb_q8_scheme_info(const wb_q8_plan *p, int *ints, float *mults, int32_t *per_position)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a;
    ints[0] = p->scheme, ints[1] = s ? s->s1 : 0, ints[2] = s ? s->sv : 0, ints[3] = s ? s->qu : 0;
    for (size_t q = 0; s && q < aa; q++) {
        mults[q] = s->mult_v[q], mults[aa + q] = s->mult_u[q], mults[2 * aa + q] = s->mult_p[q];
        mults[3 * aa + q] = s->mult_u16;
        per_position[q] = p->scheme == WB_Q8_TAP ? s->sq[q] : s->e[q];
    }
}
