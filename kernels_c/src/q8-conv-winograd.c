/* The timed int8 Winograd run of F(2,3)/F(4,3)/F(6,3), every scheme (bench/numerics/reference.py, steps
 * 5-7), on the plan of q8-plan.c with the multipliers of q8-calib.c. Data flow:
 *   tensor  xpad -> V8[p][tile][cin16] -> P8[tile][p][cout8] = requant(V8[p] U8[p]) (the int8 GEMM,
 *           requantization fused in its epilogue) -> Y8 = requant(ATq P8 ATq^T)
 *   tap     the same, with one multiplier per position p for V8 and P8, and Y8 =
 *           requant(rshift(ATq (P8 Sq), s1) ATq^T)
 *   wide    xpad -> V16[p][tile][cin16] (rshift sV) -> M'[tile][p][cout8] int32 (the int16 GEMM,
 *           rshift e[p] (+ xv[p] with row scales, + h in the int form's int32 output) in its epilogue) -> Y8 =
 *           requant(rshift(ATq M', s1) ATq^T)
 * Every requantization in the plan's form (int or fp32, step 8 / step 2).
 * xpad is x (h, w, cin) zero-padded to (hp, wp, cin16); positions of V are vpos apart; Y8 is
 * cropped at the image edge. Fused run (where wb_wino_block_tiles says so): threads take blocks of
 * tiles and run the three stages on each in their own V/Z buffers, which stay in L2; the plan's
 * full V and Z then keep the calibration pass's values (the same, as the run is bit-exact). */
#include <string.h>

#include "wb_q8_plan.h"

typedef struct {
    wb_q8_plan *p;
    const int8_t *x;
    int8_t *y;
    wb_stage_sums *sums; /* fused run: per thread */
    size_t block;        /* fused run: tiles per block */
} job;

/* Bytes per value of V (int8; wide: int16) and of Z, the GEMM's output (P8 int8; wide: M' int32). */
static size_t v_bytes(const wb_q8_plan *p) { return p->scheme == WB_Q8_WIDE ? 2 : 1; }
static size_t z_bytes(const wb_q8_plan *p) { return p->scheme == WB_Q8_WIDE ? 4 : 1; }

/* The staged run's V and Z, and the distance between V's positions (elements). */
static int8_t *v_all(const wb_q8_plan *p) { return p->scheme == WB_Q8_WIDE ? (int8_t *)p->sch->v16 : p->v8; }
static int8_t *z_all(const wb_q8_plan *p) { return p->scheme == WB_Q8_WIDE ? (int8_t *)p->sch->m32 : p->p8; }
static size_t v_pos(const wb_q8_plan *p) { return p->scheme == WB_Q8_WIDE ? p->sch->vpos16 : p->vpos; }

/* Row `row` of the int8 image x (cin channels) into the plan's zero-padded xpad (cin16 channels). */
static void pad_row(void *ctx, size_t row, int tid)
{
    (void)tid;
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    int8_t *dst = p->xpad + ((row + 1 + p->oy) * p->wp + 1 + p->ox) * p->cin16;
    const int8_t *src = j->x + row * p->w * p->cin;
    if (p->cin16 == (size_t)p->cin)
        memcpy(dst, src, p->w * p->cin);
    else
        for (int c = 0; c < p->w; c++) /* channel tail stays 0 */
            memcpy(dst + c * p->cin16, src + c * p->cin, p->cin);
}

/* V of tile t into v, its a*a positions vs elements apart. */
static void input_tile(const wb_q8_plan *p, size_t t, void *v, size_t vs)
{
    const size_t ty = t / p->tw, tx = t % p->tw, row = p->wp * p->cin16;
    const int8_t *x = p->xpad + (ty * p->m * p->wp + tx * p->m) * p->cin16;
    if (p->scheme == WB_Q8_TENSOR)
        p->winoin(p->cin16, x, row, p->cin16, v, vs, p->rq_v, &p->bt);
    else /* per-position multipliers: float (fp32 form) or b (int form) */
        p->sin(p->cin16, x, row, p->cin16, v, vs,
               p->requant == WB_Q8_RQ_INT ? (const void *)p->sch->b_v : (const void *)p->sch->mult_v,
               p->sch->sv, p->bt.m32);
}

static void input_row(void *ctx, size_t ty, int tid)
{
    (void)tid;
    const wb_q8_plan *p = ((const job *)ctx)->p;
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++)
        input_tile(p, t, v_all(p) + t * p->cin16 * v_bytes(p), v_pos(p));
}

/* Position q's product for `rows` tiles: V rows at v, Z at z (a*a positions of cout8 per tile). */
static void gemm_rows(const wb_q8_plan *p, size_t q, size_t rows, const void *v, void *z)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, ldc = aa * p->cout8, k8 = wb_round_up(p->cin, 8);
    if (p->scheme != WB_Q8_WIDE) {
        const wb_q8_rq rq = p->scheme == WB_Q8_TAP ? (wb_q8_rq){s->mult_p[q], s->b_p[q], 0} : p->rq_p;
        wb_q8_gemm(0, rows, p->cout, p->cin16, v, p->cin16, p->wpacked + q * p->panel_bytes,
                   (int8_t *)z + q * p->cout8, ldc, rq);
        return;
    }
    for (size_t n0 = 0; n0 < (size_t)p->cout; n0 += 8) {
        const size_t nc = p->cout - n0 < 8 ? p->cout - n0 : 8;
        const int16_t *w = s->w16 + q * s->panel16 + n0 * k8;
        for (size_t m0 = 0; m0 < rows; m0 += 4) {
            const size_t mr = rows - m0 < 4 ? rows - m0 : 4;
            (mr == 1 ? wb_q8_gemm_s16_ukernel_1x8__neon : wb_q8_gemm_s16_ukernel_4x8__neon)(
                mr, nc, k8, (const int16_t *)v + m0 * p->cin16, p->cin16, w,
                (int32_t *)z + m0 * ldc + q * p->cout8 + n0, ldc, s->e[q] + s->xv[q] + s->h);
        }
    }
}

static void gemm_position(void *ctx, size_t q, int tid)
{
    (void)tid;
    const wb_q8_plan *p = ((const job *)ctx)->p;
    gemm_rows(p, q, p->tiles, v_all(p) + q * v_pos(p) * v_bytes(p), z_all(p));
}

/* Y8 of tile t from its Z (a*a positions of cout8), cropped at the image edges: rows i0..i1 and
 * columns k0..k1 of the tile are in the image (the grid starts oy, ox outputs before it). */
static void output_tile(const job *j, size_t t, const void *z, int tid)
{
    const wb_q8_plan *p = j->p;
    const long m = p->m, y0 = (long)(t / p->tw) * m - p->oy, x0 = (long)(t % p->tw) * m - p->ox;
    const size_t cout = p->cout;
    const long i0 = y0 < 0 ? -y0 : 0, k0 = x0 < 0 ? -x0 : 0;
    const long i1 = p->h - y0 < m ? p->h - y0 : m, k1 = p->w - x0 < m ? p->w - x0 : m;
    /* Write straight into y when the whole tile fits and 8-channel stores cannot overrun. */
    const int direct = i0 == 0 && k0 == 0 && i1 == m && k1 == m && cout % 8 == 0;
    int8_t *scratch = p->scratch + (size_t)tid * m * m * p->cout8;
    int8_t *out[WB_MAX_TILE * WB_MAX_TILE];
    for (long i = 0; i < m * m; i++)
        out[i] = direct ? j->y + ((size_t)(y0 + i / m) * p->w + (size_t)(x0 + i % m)) * cout : scratch + i * p->cout8;
    if (p->scheme == WB_Q8_TENSOR)
        p->winoout(p->cout8, z, p->cout8, out, p->rq_y, &p->at);
    else
        p->sout(p->cout8, z, p->cout8,
                p->row_scales ? p->requant == WB_Q8_RQ_INT ? (const void *)p->sch->shift_y
                                                           : (const void *)p->sch->mult_y
                              : p->sch->out32 ? (const void *)p->sch->sq16t : p->sch->sq,
                p->sch->s1, out, p->rq_y, p->at.m32);
    for (long i = i0; !direct && i < i1; i++)
        for (long k = k0; k < k1; k++)
            memcpy(j->y + ((size_t)(y0 + i) * p->w + (size_t)(x0 + k)) * cout, out[i * m + k], cout);
}

static void output_row(void *ctx, size_t ty, int tid)
{
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t zt = (size_t)p->a * p->a * p->cout8 * z_bytes(p); /* Z bytes per tile */
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++)
        output_tile(j, t, z_all(p) + t * zt, tid);
}

/* The three stages on block blk of tiles, in this thread's buffers (V, then Z). */
static void fused_block(void *ctx, size_t blk, int tid)
{
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t aa = (size_t)p->a * p->a, t0 = blk * j->block, vb = v_bytes(p);
    const size_t t1 = t0 + j->block < p->tiles ? t0 + j->block : p->tiles;
    int8_t *v = p->block[tid], *z = v + aa * p->vbpos * vb;
    const size_t zt = aa * p->cout8 * z_bytes(p); /* Z bytes per tile */
    const double c0 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        input_tile(p, t, v + (t - t0) * p->cin16 * vb, p->vbpos);
    const double c1 = wb_now_ms();
    for (size_t q = 0; q < aa; q++) /* the weight panel of q, reused by the block's rows */
        gemm_rows(p, q, t1 - t0, v + q * p->vbpos * vb, z);
    const double c2 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        output_tile(j, t, z + (t - t0) * zt, tid);
    double *ms = j->sums[tid].ms;
    ms[0] += c1 - c0, ms[1] += c2 - c1, ms[2] += wb_now_ms() - c2;
}

/* Per thread, a block's buffers (made by the first fused run with that many threads). */
static int ensure_blocks(wb_q8_plan *p, int threads)
{
    for (int t = 0; t < threads; t++)
        if (!p->block[t] && !(p->block[t] = wb_zalloc(p->block_bytes)))
            return WB_E_RUNTIME;
    return WB_OK;
}

int wb_q8_run_winograd(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool,
                       double *st)
{
    const int threads = wb_pool_threads(pool);
    if (p->block_tiles && ensure_blocks(p, threads) != WB_OK)
        return WB_E_RUNTIME;
    wb_stage_sums sums[WB_MAX_THREADS] = {{{0}}};
    job j = {p, xq, y8, sums, 0};
    const double t0 = wb_now_ms();
    wb_parallel_for(pool, p->h, pad_row, &j);
    if (p->block_tiles) {
        const double t1 = wb_now_ms();
        j.block = wb_wino_run_block(p->tiles, p->block_tiles, threads, WB_Q8_GEMM_MR);
        wb_parallel_for(pool, wb_div_up(p->tiles, j.block), fused_block, &j);
        st[0] = t1 - t0, st[1] = 0, st[2] = 0;
        wb_split_wall(wb_now_ms() - t1, sums, threads, st);
        return WB_OK;
    }
    wb_parallel_for(pool, p->th, input_row, &j);
    const double t1 = wb_now_ms();
    wb_parallel_for(pool, (size_t)p->a * p->a, gemm_position, &j);
    const double t2 = wb_now_ms();
    wb_parallel_for(pool, p->th, output_row, &j);
    st[0] = t1 - t0, st[1] = t2 - t1, st[2] = wb_now_ms() - t2;
    return WB_OK;
}
