/* The int8 convolutions: plan (weight transform, packing), the timed run of im2row and Winograd
 * F(2,3)/F(4,3)/F(6,3) (static or learned transforms), and access to the intermediates.
 *
 * Winograd data flow, int8 between stages as the scheme wants (bench/reference.py, step 5):
 *   input   x (h, w, cin) -> xpad (hp, wp, cin16) zero-padded -> V8[p][tile][cin16] (positions
 *           vpos bytes apart)
 *   gemm    P8[tile][p][cout8] = requant(V8[p] * U8[p]), one product per position p of the
 *           a x a tile, requantization fused in the micro-kernel's epilogue
 *   output  y8 (h, w, cout) = requant(ATq P8 ATq^T) per tile, cropped at the image edge
 * im2row: patches (h*w, k16) -> y8 = requant(patches * wq), fused too, so its output stage is 0.
 * Fused Winograd run (every scheme, where wb_wino_block_tiles says so): threads take blocks of
 * tiles and run the three stages on each in their own V/P buffers, which stay in L2. The full
 * V8/P8 then hold the calibration pass's values (the same, as the run is bit-exact). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_q8_plan.h"
#include "wb_q8_schemes.h"

#if defined(__ARM_FEATURE_DOTPROD)
#include <sys/auxv.h>
#define WB_HWCAP_ASIMDDP (1UL << 20)
/* A dot-product build on a core without SDOT would die of SIGILL in the GEMM: refuse instead. */
static int have_dotprod(void) { return (getauxval(AT_HWCAP) & WB_HWCAP_ASIMDDP) != 0; }
#else
static int have_dotprod(void) { return 1; /* not needed by this build */ }
#endif

typedef struct {
    wb_q8_winoin_fn in;
    wb_q8_winoout_fn out;
} wino_fns;

static const wino_fns static_fns[7] = {
    [2] = {wb_q8_winoin_static_ukernel_f2__neon, wb_q8_winoout_static_ukernel_f2__neon},
    [4] = {wb_q8_winoin_static_ukernel_f4__neon, wb_q8_winoout_static_ukernel_f4__neon},
    [6] = {wb_q8_winoin_static_ukernel_f6__neon, wb_q8_winoout_static_ukernel_f6__neon},
};
static const wino_fns learned_fns[7] = {
    [2] = {wb_q8_winoin_learned_ukernel_f2__neon, wb_q8_winoout_learned_ukernel_f2__neon},
    [4] = {wb_q8_winoin_learned_ukernel_f4__neon, wb_q8_winoout_learned_ukernel_f4__neon},
    [6] = {wb_q8_winoin_learned_ukernel_f6__neon, wb_q8_winoout_learned_ukernel_f6__neon},
};

void wb_q8_plan_destroy(wb_q8_plan *p)
{
    if (!p)
        return;
    wb_free(p->wq);
    wb_free(p->u8);
    wb_free(p->wpacked);
    wb_free(p->xpad);
    wb_free(p->v8);
    wb_free(p->p8);
    wb_free(p->patches);
    wb_free(p->scratch);
    for (int t = 0; t < WB_MAX_THREADS; t++)
        wb_free(p->block[t]);
    wb_q8_scheme_free(p);
    free(p);
}

/* The dense kernels' copy of Tq, with each pass's lane width from the scheme's bounds. */
static void make_tmat(const int64_t *tq, int rows, int a, wb_q8_tmat *tm)
{
    int64_t l1 = 0;
    for (int i = 0; i < rows; i++) {
        int64_t s = 0;
        for (int j = 0; j < a; j++)
            s += llabs(tq[i * a + j]);
        l1 = s > l1 ? s : l1;
    }
    tm->rows = rows;
    tm->a = a;
    tm->lanes1 = 127 * l1 <= 32767 ? 16 : 32;
    tm->lanes2 = 127 * l1 * l1 <= 32767 ? 16 : 32;
    for (int i = 0; i < rows * a; i++) {
        tm->m32[i] = (int32_t)tq[i];
        tm->m16[i] = (int16_t)tq[i]; /* |Tq| <= row L1 <= 4096, the scheme's LIMIT */
    }
}

/* U = Gq g Gq^T in int64 per (cin, cout), U8 = requant(U) over the whole tensor, then packed. */
static int transform_weights(wb_q8_plan *p)
{
    const int a = p->a;
    const size_t aa = (size_t)a * a, cin = p->cin, cout = p->cout;
    int64_t *u = malloc(aa * cin * cout * sizeof *u);
    if (!u)
        return WB_E_RUNTIME;
    int64_t amax = 0;
    for (size_t ci = 0; ci < cin; ci++)
        for (size_t co = 0; co < cout; co++) {
            int64_t gg[WB_MAX_TILE][3];
            for (int i = 0; i < a; i++) /* Gq g */
                for (int l = 0; l < 3; l++) {
                    int64_t s = 0;
                    for (int k = 0; k < 3; k++)
                        s += p->gq[i * 3 + k] * p->wq[((size_t)(k * 3 + l) * cin + ci) * cout + co];
                    gg[i][l] = s;
                }
            for (int i = 0; i < a; i++) /* (Gq g) Gq^T */
                for (int j = 0; j < a; j++) {
                    const int64_t s = gg[i][0] * p->gq[j * 3] + gg[i][1] * p->gq[j * 3 + 1] +
                                      gg[i][2] * p->gq[j * 3 + 2];
                    u[((size_t)i * a + j) * cin * cout + ci * cout + co] = s;
                    amax = llabs(s) > amax ? llabs(s) : amax;
                }
        }
    p->mult_u = wb_q8_multiplier(amax);
    for (size_t i = 0; i < aa * cin * cout; i++)
        p->u8[i] = wb_q8_requant_scalar(u[i], p->mult_u);
    free(u);
    for (size_t q = 0; q < aa; q++)
        wb_q8_packb_ukernel_x4c16__scalar(cin, cout, p->u8 + q * cin * cout, cout,
                                          p->wpacked + q * p->panel_bytes);
    return WB_OK;
}

/* The fused run's blocks (wb_wino_block_tiles): V int8 (int16 for wide), Z = P8 int8 (M' int32
 * for wide), weights U8 panels (U16 for wide). */
static void plan_blocks(wb_q8_plan *p)
{
    const int wide = p->scheme == WB_Q8_WIDE;
    const size_t aa = (size_t)p->a * p->a, vsz = wide ? 2 : 1, zsz = wide ? 4 : 1;
    const size_t weights = wide ? aa * p->sch->panel16 * sizeof(int16_t) : aa * p->panel_bytes;
    p->block_tiles = wb_wino_block_tiles(p->tiles, aa * (vsz * p->cin16 + zsz * p->cout8), weights,
                                         p->hp * p->wp * p->cin16 + (size_t)p->h * p->w * p->cout);
    p->vbpos = p->block_tiles * p->cin16 + 64 / vsz;
    p->block_bytes = aa * p->vbpos * vsz + p->block_tiles * aa * p->cout8 * zsz;
}

static int plan_winograd(wb_q8_plan *p, const double *at, const double *g, const double *bt,
                         char *err, int err_len)
{
    const int m = p->m, a = p->a;
    wb_matrices def;
    if (!at) { /* static kernels, or learned fed the defaults */
        wb_default_matrices(m, &def);
        at = def.at, g = def.g, bt = def.bt;
    }
    if (wb_q8_quantize_matrix(bt, a, a, WB_Q8_BT_AT_LIMIT, p->btq, &p->kB))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "BT has a row with L1 norm above %d", WB_Q8_BT_AT_LIMIT);
    if (wb_q8_quantize_matrix(g, a, 3, WB_Q8_G_LIMIT, p->gq, &p->kG))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "G has a row with L1 norm above %d", WB_Q8_G_LIMIT);
    if (wb_q8_quantize_matrix(at, m, a, WB_Q8_BT_AT_LIMIT, p->atq, &p->kA))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "AT has a row with L1 norm above %d", WB_Q8_BT_AT_LIMIT);
    make_tmat(p->btq, a, a, &p->bt);
    make_tmat(p->atq, m, a, &p->at);
    const wino_fns *f = p->learned ? &learned_fns[m] : &static_fns[m];
    p->winoin = f->in;
    p->winoout = f->out;

    p->th = wb_div_up(p->h, m);
    p->tw = wb_div_up(p->w, m);
    p->tiles = p->th * p->tw;
    p->cin16 = wb_round_up(p->cin, 16);
    p->cout8 = wb_round_up(p->cout, 8);
    p->hp = p->th * m + 2;
    p->wp = p->tw * m + 2;
    const size_t aa = (size_t)a * a;
    p->panel_bytes = wb_round_up(p->cout, WB_Q8_GEMM_NR) * p->cin16;
    p->u8 = wb_zalloc(aa * p->cin * p->cout);
    p->wpacked = wb_zalloc(aa * p->panel_bytes);
    p->xpad = wb_zalloc(p->hp * p->wp * p->cin16);
    /* A power-of-two distance between positions would put the a*a stores of a tile in one L1
     * set (the fp32 kernels measured 3-5x slower transforms): skew it by a cache line. */
    p->vpos = p->tiles * p->cin16 + 64;
    p->v8 = wb_zalloc(aa * p->vpos);
    p->p8 = wb_zalloc(p->tiles * aa * p->cout8);
    p->scratch = wb_zalloc((size_t)WB_MAX_THREADS * m * m * p->cout8);
    if (!p->u8 || !p->wpacked || !p->xpad || !p->v8 || !p->p8 || !p->scratch)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    if (p->scheme) { /* tap, wide: their own weight transform (q8-conv-schemes.c) */
        const int rc = wb_q8_plan_scheme(p, err, err_len);
        if (rc != WB_OK)
            return rc;
    } else if (transform_weights(p) != WB_OK)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    plan_blocks(p);
    p->gemm_ops = 2.0 * aa * p->tiles * p->cin * p->cout;
    static const char *const prefix[] = {"", "tap_", "wide_"};
    snprintf(p->name, sizeof p->name, "wb_q8_conv_winograd_%s%s_f%d", prefix[p->scheme],
             p->learned ? "learned" : "static", m);
    return WB_OK;
}

static int plan_im2row(wb_q8_plan *p, char *err, int err_len)
{
    const size_t k = 9 * (size_t)p->cin, hw = (size_t)p->h * p->w;
    p->k16 = wb_round_up(k, 16);
    p->panel_bytes = wb_round_up(p->cout, WB_Q8_GEMM_NR) * p->k16;
    p->wpacked = wb_zalloc(p->panel_bytes);
    p->patches = wb_zalloc(hw * p->k16);
    if (!p->wpacked || !p->patches)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    wb_q8_packb_ukernel_x4c16__scalar(k, p->cout, p->wq, p->cout, p->wpacked);
    p->gemm_ops = 2.0 * hw * k * p->cout;
    snprintf(p->name, sizeof p->name, "wb_q8_conv_im2row");
    return WB_OK;
}

int wb_q8_plan_create(int m, int learned, const double *at, const double *g, const double *bt,
                      int h, int w, int cin, int cout, const int8_t *wq, wb_q8_plan **out,
                      char *err, int err_len)
{
    return wb_q8_plan_create_scheme(m, learned, WB_Q8_TENSOR, at, g, bt, h, w, cin, cout, wq, out,
                                    err, err_len);
}

int wb_q8_plan_create_scheme(int m, int learned, int scheme, const double *at, const double *g,
                             const double *bt, int h, int w, int cin, int cout, const int8_t *wq,
                             wb_q8_plan **out, char *err, int err_len)
{
    *out = NULL;
    if (m != 0 && m != 2 && m != 4 && m != 6)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "tile size m=%d (0 for im2row, 2, 4, 6)", m);
    if (scheme < WB_Q8_TENSOR || scheme > WB_Q8_WIDE || (!m && scheme != WB_Q8_TENSOR))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "int8 scheme %d (0 tensor, 1 tap, 2 wide; "
                       "im2row takes 0 only)", scheme);
    if (h < 1 || w < 1 || cin < 1 || cout < 1)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "sizes must be positive");
    if (!have_dotprod())
        return wb_fail(err, err_len, WB_E_UNSUPPORTED, "this build's int8 GEMM uses SDOT (ARMv8.2 "
                       "dot product) and this core lacks it (no asimddp in HWCAP)");
    if ((at || g || bt) && (!at || !g || !bt || !learned || !m))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "matrices need learned Winograd and all of AT, G, BT");
    wb_q8_plan *p = calloc(1, sizeof *p);
    if (!p)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    p->m = m, p->a = m ? m + 2 : 0, p->learned = m ? learned : 0, p->scheme = scheme;
    p->h = h, p->w = w, p->cin = cin, p->cout = cout;
    const double t0 = wb_now_ms();
    const size_t wbytes = (size_t)9 * cin * cout;
    int rc = (p->wq = wb_zalloc(wbytes)) ? WB_OK : wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    if (rc == WB_OK) {
        memcpy(p->wq, wq, wbytes);
        rc = m ? plan_winograd(p, at, g, bt, err, err_len) : plan_im2row(p, err, err_len);
    }
    p->weight_ms = wb_now_ms() - t0;
    if (rc != WB_OK) {
        wb_q8_plan_destroy(p);
        return rc;
    }
    *out = p;
    return WB_OK;
}

int wb_q8_calibrate(wb_q8_plan *p, const int8_t *xq, int8_t *y8)
{
    if (p->scheme)
        return wb_q8_calibrate_scheme(p, xq, y8);
    return p->m ? wb_q8_calibrate_winograd(p, xq, y8) : wb_q8_calibrate_im2row(p, xq, y8);
}

/* ---- the timed run ------------------------------------------------------------------------ */

typedef struct {
    wb_q8_plan *p;
    const int8_t *x;
    int8_t *y;
    size_t gemm_rows; /* im2row: rows of A per GEMM task, or */
    size_t gemm_cols; /* output channels per task (then every task takes all rows) */
    wb_stage_sums *sums; /* fused Winograd run: per thread */
    size_t block;        /* fused Winograd run: tiles per block */
} job;

void wb_q8_pad_row(const wb_q8_plan *p, const int8_t *x, size_t row)
{
    int8_t *dst = p->xpad + ((row + 1) * p->wp + 1) * p->cin16;
    const int8_t *src = x + row * p->w * p->cin;
    if (p->cin16 == (size_t)p->cin)
        memcpy(dst, src, p->w * p->cin);
    else
        for (int c = 0; c < p->w; c++) /* channel tail stays 0 */
            memcpy(dst + c * p->cin16, src + c * p->cin, p->cin);
}

static void pad_rows(void *ctx, size_t row, int tid)
{
    (void)tid;
    const job *j = ctx;
    wb_q8_pad_row(j->p, j->x, row);
}

/* V8 of tile t, its a*a positions vs bytes apart, into v. */
static void input_tile(const wb_q8_plan *p, size_t t, int8_t *v, size_t vs)
{
    const size_t ty = t / p->tw, tx = t % p->tw;
    p->winoin(p->cin16, p->xpad + (ty * p->m * p->wp + tx * p->m) * p->cin16, p->wp * p->cin16,
              p->cin16, v, vs, p->mult_v, &p->bt);
}

static void input_tile_row(void *ctx, size_t ty, int tid)
{
    (void)tid;
    const wb_q8_plan *p = ((const job *)ctx)->p;
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++)
        input_tile(p, t, p->v8 + t * p->cin16, p->vpos);
}

static void gemm_position(void *ctx, size_t q, int tid)
{
    (void)tid;
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t aa = (size_t)p->a * p->a;
    wb_q8_gemm(0, p->tiles, p->cout, p->cin16, p->v8 + q * p->vpos, p->cin16,
               p->wpacked + q * p->panel_bytes, p->p8 + q * p->cout8, aa * p->cout8, p->mult_p);
}

/* y8 of tile t from its P8 (a*a positions of cout8), cropped at the image edge. */
static void output_tile(const job *j, size_t t, const int8_t *p8, int tid)
{
    const wb_q8_plan *p = j->p;
    const size_t m = p->m, cout = p->cout;
    int8_t *scratch = p->scratch + (size_t)tid * m * m * p->cout8;
    int8_t *out[WB_MAX_TILE * WB_MAX_TILE];
    const size_t oy = t / p->tw * m, ox = t % p->tw * m;
    const size_t mh = p->h - oy < m ? p->h - oy : m, mw = p->w - ox < m ? p->w - ox : m;
    /* Write straight into y when the whole tile fits and 8-channel stores cannot overrun. */
    const int direct = mh == m && mw == m && cout % 8 == 0;
    for (size_t i = 0; i < m * m; i++)
        out[i] = direct ? j->y + ((oy + i / m) * p->w + ox + i % m) * cout : scratch + i * p->cout8;
    p->winoout(p->cout8, p8, p->cout8, out, p->mult_y, &p->at);
    if (!direct)
        for (size_t i = 0; i < mh; i++)
            for (size_t k = 0; k < mw; k++)
                memcpy(j->y + ((oy + i) * p->w + ox + k) * cout, out[i * m + k], cout);
}

static void output_tile_row(void *ctx, size_t ty, int tid)
{
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t aa = (size_t)p->a * p->a;
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++)
        output_tile(j, t, p->p8 + t * aa * p->cout8, tid);
}

/* The three stages on block blk of tiles, in this thread's buffers (V8 then P8). */
static void fused_block(void *ctx, size_t blk, int tid)
{
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t aa = (size_t)p->a * p->a, t0 = blk * j->block;
    const size_t t1 = t0 + j->block < p->tiles ? t0 + j->block : p->tiles;
    int8_t *v8 = p->block[tid], *p8 = v8 + aa * p->vbpos;
    const double c0 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        input_tile(p, t, v8 + (t - t0) * p->cin16, p->vbpos);
    const double c1 = wb_now_ms();
    for (size_t q = 0; q < aa; q++) /* the weight panel of q, reused by the block's rows */
        wb_q8_gemm(0, t1 - t0, p->cout, p->cin16, v8 + q * p->vbpos, p->cin16,
                   p->wpacked + q * p->panel_bytes, p8 + q * p->cout8, aa * p->cout8, p->mult_p);
    const double c2 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        output_tile(j, t, p8 + (t - t0) * aa * p->cout8, tid);
    double *ms = j->sums[tid].ms;
    ms[0] += c1 - c0, ms[1] += c2 - c1, ms[2] += wb_now_ms() - c2;
}

static void im2row_rows(void *ctx, size_t row, int tid)
{
    (void)tid;
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    wb_q8_im2row_ukernel_3x3__scalar(p->h, p->w, p->cin, p->k16, j->x, row, row + 1, p->patches);
}

static void im2row_gemm(void *ctx, size_t blk, int tid)
{
    (void)tid;
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t hw = (size_t)p->h * p->w, m0 = blk * j->gemm_rows;
    const size_t m1 = m0 + j->gemm_rows < hw ? m0 + j->gemm_rows : hw;
    wb_q8_gemm(m0, m1, p->cout, p->k16, p->patches, p->k16, p->wpacked, j->y, p->cout, p->mult_y);
}

static void im2row_gemm_cols(void *ctx, size_t blk, int tid)
{
    (void)tid;
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t n = p->cout, n0 = blk * j->gemm_cols;
    const size_t n1 = n0 + j->gemm_cols < n ? n0 + j->gemm_cols : n;
    /* panel n0/4 of W starts at n0 * k16 */
    wb_q8_gemm(0, (size_t)p->h * p->w, n1 - n0, p->k16, p->patches, p->k16,
               p->wpacked + n0 * p->k16, j->y + n0, n, p->mult_y);
}

int wb_q8_ensure_blocks(wb_q8_plan *p, int threads)
{
    for (int t = 0; t < threads; t++)
        if (!p->block[t] && !(p->block[t] = wb_zalloc(p->block_bytes)))
            return WB_E_RUNTIME;
    return WB_OK;
}

static int run_winograd(wb_q8_plan *p, job *j, struct wb_pool *pool, double *st)
{
    const int threads = wb_pool_threads(pool);
    if (p->block_tiles && wb_q8_ensure_blocks(p, threads) != WB_OK)
        return WB_E_RUNTIME;
    wb_stage_sums sums[WB_MAX_THREADS] = {{{0}}};
    j->sums = sums;
    const double t0 = wb_now_ms();
    wb_parallel_for(pool, p->h, pad_rows, j);
    if (p->block_tiles) {
        const double t1 = wb_now_ms();
        j->block = wb_wino_run_block(p->tiles, p->block_tiles, threads, WB_Q8_GEMM_MR);
        wb_parallel_for(pool, wb_div_up(p->tiles, j->block), fused_block, j);
        const double t2 = wb_now_ms();
        st[0] = t1 - t0, st[1] = 0, st[2] = 0;
        wb_split_wall(t2 - t1, sums, threads, st);
        return WB_OK;
    }
    wb_parallel_for(pool, p->th, input_tile_row, j);
    const double t1 = wb_now_ms();
    wb_parallel_for(pool, (size_t)p->a * p->a, gemm_position, j);
    const double t2 = wb_now_ms();
    wb_parallel_for(pool, p->th, output_tile_row, j);
    const double t3 = wb_now_ms();
    st[0] = t1 - t0, st[1] = t2 - t1, st[2] = t3 - t2;
    return WB_OK;
}

static void run_im2row(wb_q8_plan *p, job *j, struct wb_pool *pool, double *st)
{
    const double t0 = wb_now_ms();
    const size_t hw = (size_t)p->h * p->w;
    /* GEMM tasks of 64 rows: enough items to balance threads, big enough to amortize. */
    j->gemm_rows = 64;
    wb_parallel_for(pool, p->h, im2row_rows, j);
    const double t1 = wb_now_ms();
    /* Fewer output pixels than channels (small late layers): split the weights instead, so
     * a second thread does not stream all of W again. */
    const size_t threads = (size_t)wb_pool_threads(pool);
    if (threads > 1 && hw < (size_t)p->cout) {
        j->gemm_cols = wb_round_up(wb_div_up(p->cout, 4 * threads), WB_Q8_GEMM_NR);
        wb_parallel_for(pool, wb_div_up(p->cout, j->gemm_cols), im2row_gemm_cols, j);
    } else {
        wb_parallel_for(pool, wb_div_up(hw, j->gemm_rows), im2row_gemm, j);
    }
    const double t2 = wb_now_ms();
    st[0] = t1 - t0, st[1] = t2 - t1, st[2] = 0; /* requantization is fused in the GEMM */
}

int wb_q8_run(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool, double *stage_ms)
{
    if (!p->calibrated)
        return WB_E_RUNTIME;
    if (p->scheme)
        return wb_q8_run_scheme(p, xq, y8, pool, stage_ms);
    job j = {p, xq, y8, 0, 0, NULL, 0};
    double st[4];
    const double t0 = wb_now_ms();
    if (!p->m)
        run_im2row(p, &j, pool, st);
    else if (run_winograd(p, &j, pool, st) != WB_OK)
        return WB_E_RUNTIME;
    st[3] = wb_now_ms() - t0;
    if (stage_ms)
        memcpy(stage_ms, st, sizeof st);
    return WB_OK;
}

/* ---- scales, introspection ---------------------------------------------------------------- */

double wb_q8_output_scale(const wb_q8_plan *p, double s_x, double s_w)
{
    if (!p->m)
        return s_x * s_w / (double)p->mult_y;
    if (p->scheme)
        return wb_q8_output_scale_scheme(p, s_x, s_w);
    const double s_v = s_x * ldexp(1.0, -2 * p->kB) / (double)p->mult_v;
    const double s_u = s_w * ldexp(1.0, -2 * p->kG) / (double)p->mult_u;
    const double s_p = s_v * s_u / (double)p->mult_p;
    return s_p * ldexp(1.0, -2 * p->kA) / (double)p->mult_y;
}

void wb_q8_plan_info(const wb_q8_plan *p, int *k, float *mult)
{
    k[0] = p->kB, k[1] = p->kG, k[2] = p->kA;
    mult[0] = p->mult_v, mult[1] = p->mult_u, mult[2] = p->mult_p, mult[3] = p->mult_y;
}

int wb_q8_stage(const wb_q8_plan *p, const char *name, int8_t *out)
{
    if (!p->m)
        return WB_E_BAD_CASE;
    if (p->scheme == WB_Q8_WIDE)
        return wb_q8_stage_scheme(p, name, out);
    const size_t aa = (size_t)p->a * p->a;
    if (strcmp(name, "U8") == 0) {
        memcpy(out, p->u8, aa * p->cin * p->cout);
        return WB_OK;
    }
    const int is_v = strcmp(name, "V8") == 0;
    if (!is_v && strcmp(name, "P8") != 0)
        return WB_E_BAD_CASE;
    const size_t ch = is_v ? p->cin : p->cout;
    for (size_t t = 0; t < p->tiles; t++)
        for (size_t q = 0; q < aa; q++)
            memcpy(out + (t * aa + q) * ch,
                   is_v ? p->v8 + q * p->vpos + t * p->cin16 : p->p8 + (t * aa + q) * p->cout8, ch);
    return WB_OK;
}

double wb_q8_weight_transform_ms(const wb_q8_plan *p) { return p->weight_ms; }
double wb_q8_gemm_ops(const wb_q8_plan *p) { return p->gemm_ops; }
const char *wb_q8_kernel_name(const wb_q8_plan *p) { return p->name; }

/* The GEMM micro-kernel of this build itself on a 4 x 4 block with kc = 1024 (8 KiB of operands,
 * L1-resident): the epilogue is 1/64 of the work, so this is the sustained rate of the inner loop.
 * Best of 10 short runs, as the fp32 probe: a peak, so the least disturbed run counts. */
double wb_q8_peak_gops(double min_ms)
{
    enum { KC = 1024 };
    if (!have_dotprod())
        return NAN;
    int8_t *a = wb_zalloc(4 * KC), *w = wb_zalloc(4 * KC);
    int8_t c[16];
    if (!a || !w) {
        wb_free(a);
        wb_free(w);
        return NAN;
    }
    for (int i = 0; i < 4 * KC; i++)
        a[i] = (int8_t)(i % 255 - 127), w[i] = (int8_t)((i * 7) % 255 - 127);
    long calls = 16;
    double best = 0;
    for (int rep = 0; rep < 10;) {
        const double t0 = wb_now_ms();
        for (long r = 0; r < calls; r++)
            WB_Q8_GEMM_UKERNEL(4, 4, KC, a, KC, w, c, 4, 1e-6f);
        const double dt = wb_now_ms() - t0;
        if (dt < min_ms / 10 && calls < (1L << 40)) { /* grow until a run takes a tenth */
            calls *= 2;
            continue;
        }
        const double gops = 2.0 * 16 * KC * (double)calls / (dt * 1e6);
        best = gops > best ? gops : best;
        rep++;
    }
    wb_free(a);
    wb_free(w);
    return best;
}
