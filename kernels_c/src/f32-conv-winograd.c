/* wb_f32_conv_winograd_{static,learned}_f{2,4,6}: fp32 Winograd F(mxm,3x3) convolution.
 *
 * Offline (create): U = G g G^T per (cin, cout) in double, rounded to float, packed per position
 * into GEMM panels. Input stage: V[p][tile][cin4] = BT d B for every tile (tiles overhanging the
 * image read zeros). GEMM stage: one product V[p] (tiles x cin4) * U[p] (cin4 x cout) per
 * position p of the a x a tile. Output stage: Y = AT M A per tile, cropped at the image edge.
 * Static and learned variants share all of this; only the two tile-transform micro-kernels
 * differ (sparse hand-written vs dense with run-time matrices).
 * Fused run (wb_wino_block_tiles, wb_internal.h): where the staged V and M would not fit in L2
 * but the weights would, threads take blocks of tiles instead, and each runs the three stages on
 * its block in its own buffers, reused from block to block, so V and M stay in L2. */
#include <stdlib.h>
#include <string.h>

#include "wb_f32_ukernels.h"
#include "wb_internal.h"

typedef struct {
    int m;
    wb_f32_winoin_fn in;
    wb_f32_winoout_fn out;
} wino_desc;

typedef struct {
    const wino_desc *d;
    int m, a;
    size_t th, tw, tiles;
    size_t cin4, cout4, n8;
    size_t v_stride, m_stride; /* floats between two positions in v and mm */
    float *u;        /* a*a packed weight panels, each cin4 x n8 */
    float *v;        /* transformed input, a*a positions of tiles x cin4 (at v_stride) */
    float *mm;       /* GEMM output, a*a positions of tiles x n8 (at m_stride) */
    size_t block_tiles;            /* fused run: most tiles per block (0: staged run, v and mm) */
    size_t vb_stride, mb_stride;   /* fused run: v_stride and m_stride of a block */
    float *block[WB_MAX_THREADS];  /* fused run: per thread, V then M of a block (first run) */
    float *xpad;     /* input with channels padded to cin4 (only when cin % 4 != 0) */
    float *ypad;     /* output with channels padded to cout4 (only when cout % 4 != 0) */
    float *zeros;    /* cin4 zeros: the input outside the image */
    float *overhang; /* WB_MAX_THREADS x cout4: outputs of tiles past the image edge */
    float bt[WB_MAX_TILE * WB_MAX_TILE], at[WB_MAX_TILE * WB_MAX_TILE]; /* for learned kernels */
} wino_plan;

static void wino_destroy(wb_conv *conv)
{
    wino_plan *p = conv->impl;
    if (!p)
        return;
    wb_free(p->u);
    wb_free(p->v);
    wb_free(p->mm);
    wb_free(p->xpad);
    wb_free(p->ypad);
    wb_free(p->zeros);
    wb_free(p->overhang);
    for (int t = 0; t < WB_MAX_THREADS; t++)
        wb_free(p->block[t]);
    free(p);
}

/* U[p][ci][co] = (G g G^T)[p] for the 3x3 filter g of (ci, co), then packed per position. */
static int transform_weights(wino_plan *p, const wb_matrices *mt, const float *w, size_t cin,
                             size_t cout)
{
    const int a = p->a;
    float *all = wb_zalloc((size_t)a * a * p->cin4 * cout * sizeof(float));
    if (!all)
        return WB_E_RUNTIME;
    for (size_t ci = 0; ci < cin; ci++)
        for (size_t co = 0; co < cout; co++) {
            double g[3][3], tmp[WB_MAX_TILE][3];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    g[ky][kx] = w[((size_t)(ky * 3 + kx) * cin + ci) * cout + co];
            for (int i = 0; i < a; i++) /* tmp = G g */
                for (int l = 0; l < 3; l++)
                    tmp[i][l] = mt->g[i * 3] * g[0][l] + mt->g[i * 3 + 1] * g[1][l] +
                                mt->g[i * 3 + 2] * g[2][l];
            for (int i = 0; i < a; i++) /* U = tmp G^T */
                for (int j = 0; j < a; j++) {
                    double s = tmp[i][0] * mt->g[j * 3] + tmp[i][1] * mt->g[j * 3 + 1] +
                               tmp[i][2] * mt->g[j * 3 + 2];
                    all[(((size_t)i * a + j) * p->cin4 + ci) * cout + co] = (float)s;
                }
        }
    for (int pos = 0; pos < a * a; pos++)
        wb_f32_packb_ukernel_x8__scalar(p->cin4, cout, all + (size_t)pos * p->cin4 * cout, cout,
                                        p->u + (size_t)pos * p->cin4 * p->n8);
    wb_free(all);
    return WB_OK;
}

static int wino_create(wb_conv *conv, const wb_matrices *mt, const float *weights, char *err,
                       int err_len)
{
    const wino_desc *d = conv->kernel->desc;
    wino_plan *p = calloc(1, sizeof *p);
    if (!p)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    conv->impl = p;
    p->d = d;
    p->m = d->m;
    p->a = d->m + 2;
    p->th = wb_div_up(conv->h + conv->oy, p->m); /* the grid starts oy, ox outputs before the image */
    p->tw = wb_div_up(conv->w + conv->ox, p->m);
    p->tiles = p->th * p->tw;
    p->cin4 = wb_round_up(conv->cin, 4);
    p->cout4 = wb_round_up(conv->cout, 4);
    p->n8 = wb_round_up(conv->cout, WB_F32_GEMM_NR);
    for (int i = 0; i < p->a * p->a; i++)
        p->bt[i] = (float)mt->bt[i];
    for (int i = 0; i < p->m * p->a; i++)
        p->at[i] = (float)mt->at[i];

    /* A tile's a*a values are written (input) and read (output) one position apart. With a
     * power-of-two distance (e.g. 64 tiles x 64 channels x 4 B = 16 KiB) all of them fall in the
     * same L1 set and evict each other; 64 extra bytes per position spread them over the sets. */
    p->v_stride = p->tiles * p->cin4 + 16;
    p->m_stride = p->tiles * p->n8 + 16;
    const size_t aa = (size_t)p->a * p->a, hw = (size_t)conv->h * conv->w;
    p->block_tiles = wb_wino_block_tiles(p->tiles, aa * (p->cin4 + p->n8) * sizeof(float),
                                         aa * p->cin4 * p->n8 * sizeof(float),
                                         hw * (p->cin4 + p->cout4) * sizeof(float));
    p->vb_stride = p->block_tiles * p->cin4 + 16;
    p->mb_stride = p->block_tiles * p->n8 + 16;
    p->u = wb_zalloc(aa * p->cin4 * p->n8 * sizeof(float));
    if (!p->block_tiles) {
        p->v = wb_zalloc(aa * p->v_stride * sizeof(float));
        p->mm = wb_zalloc(aa * p->m_stride * sizeof(float));
    }
    p->zeros = wb_zalloc(p->cin4 * sizeof(float));
    p->overhang = wb_zalloc((size_t)WB_MAX_THREADS * p->cout4 * sizeof(float));
    int ok = p->u && (p->block_tiles || (p->v && p->mm)) && p->zeros && p->overhang;
    if (p->cin4 != (size_t)conv->cin)
        ok = ok && (p->xpad = wb_zalloc(hw * p->cin4 * sizeof(float)));
    if (p->cout4 != (size_t)conv->cout)
        ok = ok && (p->ypad = wb_zalloc(hw * p->cout4 * sizeof(float)));
    if (!ok || transform_weights(p, mt, weights, conv->cin, conv->cout) != WB_OK)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    conv->gemm_flops = 2.0 * aa * p->tiles * conv->cin * conv->cout;
    return WB_OK;
}

typedef struct {
    const wb_conv *conv;
    const wino_plan *p;
    const float *x; /* input with cin4 channels per pixel */
    float *y;       /* where the output transform writes: ystride channels per pixel */
    size_t ystride;
    float *yfinal;  /* the caller's output (cout channels per pixel) */
    wb_stage_sums *sums; /* fused run: per thread */
    size_t block;        /* fused run: tiles per block */
} wino_job;

static void pad_input_row(void *ctx, size_t row, int tid)
{
    (void)tid;
    const wino_job *j = ctx;
    const size_t w = j->conv->w, cin = j->conv->cin, cin4 = j->p->cin4;
    for (size_t x = row * w; x < (row + 1) * w; x++)
        memcpy(j->p->xpad + x * cin4, j->x + x * cin, cin * sizeof(float)); /* tail stays 0 */
}

/* V of tile t, its a*a positions v_stride apart, into v. */
static void input_tile(const wino_job *j, size_t t, float *v, size_t v_stride)
{
    const wino_plan *p = j->p;
    const long h = j->conv->h, w = j->conv->w;
    const long y0 = (long)(t / p->tw) * p->m - j->conv->oy - 1, x0 = (long)(t % p->tw) * p->m - j->conv->ox - 1;
    const float *in[WB_MAX_TILE * WB_MAX_TILE];
    for (int i = 0; i < p->a; i++)
        for (int k = 0; k < p->a; k++) {
            const long iy = y0 + i, ix = x0 + k;
            in[i * p->a + k] = iy < 0 || iy >= h || ix < 0 || ix >= w
                                   ? p->zeros
                                   : j->x + ((size_t)iy * w + (size_t)ix) * p->cin4;
        }
    p->d->in(p->cin4, in, v, v_stride, p->bt);
}

static void input_tile_row(void *ctx, size_t ty, int tid)
{
    (void)tid;
    const wino_job *j = ctx;
    const wino_plan *p = j->p;
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++)
        input_tile(j, t, p->v + t * p->cin4, p->v_stride);
}

static void gemm_position(void *ctx, size_t pos, int tid)
{
    (void)tid;
    const wino_job *j = ctx;
    const wino_plan *p = j->p;
    wb_f32_gemm(0, p->tiles, p->n8, p->cin4, p->v + pos * p->v_stride, p->cin4,
                p->u + pos * p->cin4 * p->n8, p->mm + pos * p->m_stride, p->n8);
}

/* Y of tile t from M at mm (positions m_stride apart), cropped at the image edges. */
static void output_tile(const wino_job *j, size_t t, const float *mm, size_t m_stride, int tid)
{
    const wino_plan *p = j->p;
    const long h = j->conv->h, w = j->conv->w;
    const long y0 = (long)(t / p->tw) * p->m - j->conv->oy, x0 = (long)(t % p->tw) * p->m - j->conv->ox;
    float *out[WB_MAX_TILE * WB_MAX_TILE];
    for (int i = 0; i < p->m; i++)
        for (int k = 0; k < p->m; k++) {
            const long oy = y0 + i, ox = x0 + k;
            out[i * p->m + k] = oy >= 0 && oy < h && ox >= 0 && ox < w
                                    ? j->y + ((size_t)oy * w + (size_t)ox) * j->ystride
                                    : p->overhang + (size_t)tid * p->cout4;
        }
    p->d->out(p->cout4, mm, m_stride, out, p->at);
}

static void output_tile_row(void *ctx, size_t ty, int tid)
{
    const wino_job *j = ctx;
    const wino_plan *p = j->p;
    for (size_t t = ty * p->tw; t < (ty + 1) * p->tw; t++)
        output_tile(j, t, p->mm + t * p->n8, p->m_stride, tid);
}

/* The three stages on block blk of tiles, in this thread's buffers. */
static void fused_block(void *ctx, size_t blk, int tid)
{
    const wino_job *j = ctx;
    const wino_plan *p = j->p;
    const size_t t0 = blk * j->block, t1 = t0 + j->block < p->tiles ? t0 + j->block : p->tiles;
    const size_t aa = (size_t)p->a * p->a;
    float *v = p->block[tid], *mm = v + aa * p->vb_stride;
    const double c0 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        input_tile(j, t, v + (t - t0) * p->cin4, p->vb_stride);
    const double c1 = wb_now_ms();
    for (size_t pos = 0; pos < aa; pos++) /* the weight panel of pos, reused by the block's rows */
        wb_f32_gemm(0, t1 - t0, p->n8, p->cin4, v + pos * p->vb_stride, p->cin4,
                    p->u + pos * p->cin4 * p->n8, mm + pos * p->mb_stride, p->n8);
    const double c2 = wb_now_ms();
    for (size_t t = t0; t < t1; t++)
        output_tile(j, t, mm + (t - t0) * p->n8, p->mb_stride, tid);
    double *ms = j->sums[tid].ms;
    ms[0] += c1 - c0, ms[1] += c2 - c1, ms[2] += wb_now_ms() - c2;
}

static void unpad_output_row(void *ctx, size_t row, int tid)
{
    (void)tid;
    const wino_job *j = ctx;
    const size_t w = j->conv->w, cout = j->conv->cout, cout4 = j->p->cout4;
    for (size_t x = row * w; x < (row + 1) * w; x++)
        memcpy(j->yfinal + x * cout, j->p->ypad + x * cout4, cout * sizeof(float));
}

/* Per-thread block buffers, made by the first fused run with that many threads. */
static int ensure_blocks(wino_plan *p, int threads)
{
    const size_t aa = (size_t)p->a * p->a;
    for (int t = 0; t < threads; t++)
        if (!p->block[t] &&
            !(p->block[t] = wb_zalloc(aa * (p->vb_stride + p->mb_stride) * sizeof(float))))
            return WB_E_RUNTIME;
    return WB_OK;
}

static int wino_run(wb_conv *conv, const float *x, float *y, wb_pool *pool, double *stage_ms)
{
    wino_plan *p = conv->impl;
    const int threads = wb_pool_threads(pool);
    if (p->block_tiles && ensure_blocks(p, threads) != WB_OK)
        return WB_E_RUNTIME;
    wb_stage_sums sums[WB_MAX_THREADS] = {{{0}}};
    wino_job job = {conv, p, x, p->ypad ? p->ypad : y, p->ypad ? p->cout4 : (size_t)conv->cout, y,
                    sums, p->block_tiles ? wb_wino_run_block(p->tiles, p->block_tiles, threads, WB_F32_GEMM_MR) : 0};

    double t0 = wb_now_ms();
    if (p->xpad) {
        wb_parallel_for(pool, conv->h, pad_input_row, &job);
        job.x = p->xpad;
    }
    double t1 = wb_now_ms(), t2;
    if (p->block_tiles) {
        wb_parallel_for(pool, wb_div_up(p->tiles, job.block), fused_block, &job);
        t2 = wb_now_ms();
        stage_ms[0] = t1 - t0, stage_ms[1] = 0, stage_ms[2] = 0;
        wb_split_wall(t2 - t1, sums, threads, stage_ms);
    } else {
        wb_parallel_for(pool, p->th, input_tile_row, &job);
        const double ti = wb_now_ms();
        wb_parallel_for(pool, (size_t)p->a * p->a, gemm_position, &job);
        const double tg = wb_now_ms();
        wb_parallel_for(pool, p->th, output_tile_row, &job);
        t2 = wb_now_ms();
        stage_ms[0] = ti - t0, stage_ms[1] = tg - ti, stage_ms[2] = t2 - tg;
    }
    if (p->ypad)
        wb_parallel_for(pool, conv->h, unpad_output_row, &job);
    stage_ms[2] += wb_now_ms() - t2;
    return WB_OK;
}

#define WB_WINO_KERNEL(M, VARIANT)                                                                \
    static const wino_desc desc_##VARIANT##_f##M = {                                              \
        M, wb_f32_winoin_##VARIANT##_ukernel_f##M##__neon,                                        \
        wb_f32_winoout_##VARIANT##_ukernel_f##M##__neon};                                         \
    const wb_kernel wb_f32_conv_winograd_##VARIANT##_f##M = {                                     \
        .name = "wb_f32_conv_winograd_" #VARIANT "_f" #M, .algo = "f" #M, .transform = #VARIANT,  \
        .bits = 32, .scheme = "none", .desc = &desc_##VARIANT##_f##M, .create = wino_create,      \
        .run = wino_run, .destroy = wino_destroy}

WB_WINO_KERNEL(2, static);
WB_WINO_KERNEL(4, static);
WB_WINO_KERNEL(6, static);
WB_WINO_KERNEL(2, learned);
WB_WINO_KERNEL(4, learned);
WB_WINO_KERNEL(6, learned);
