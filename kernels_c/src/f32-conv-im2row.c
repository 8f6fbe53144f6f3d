/* wb_f32_conv_im2row: fp32 im2row convolution for any k x k filter, stride and padding. Input
 * stage: patch packing into P[ho*wo][k4] (k4 = k*k*cin rounded up to the GEMM's K step, taps
 * contiguous so that Cin = 3 wastes no lanes per tap); GEMM stage: P times the packed weights,
 * written straight into y; output stage: nothing to do in fp32 (the GEMM writes the NHWC output
 * in place), timed anyway so every algo reports 3 stages. A 1x1 stride-1 unpadded filter on
 * rows of whole K steps is a plain GEMM on x itself: no packing, an input stage of 0. */
#include <stdlib.h>
#include <string.h>

#include "wb_f32_ukernels.h"
#include "wb_im2row.h"

typedef struct {
    wb_im2row_geom g;
    int direct;     /* the GEMM reads x itself */
    size_t k4;      /* the GEMM's reduction length */
    float *wpacked; /* ceil(cout/8) panels of k4 x 8 */
    float *patches; /* ho*wo rows of k4 (NULL when direct) */
} im2row_plan;

static int im2row_create(wb_conv *conv, const wb_matrices *mats, const float *weights, char *err,
                         int err_len)
{
    (void)mats;
    const size_t cout = conv->cout, kk = (size_t)conv->k * conv->k * conv->cin;
    im2row_plan *p = calloc(1, sizeof *p);
    if (!p)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    conv->impl = p;
    p->k4 = wb_round_up(kk, WB_F32_GEMM_KSTEP);
    p->g = wb_conv_geom(conv, p->k4);
    p->direct = wb_im2row_is_direct(&p->g, WB_F32_GEMM_KSTEP);
    float *padded = wb_zalloc(p->k4 * cout * sizeof(float)); /* HWIO rows, then zero rows to k4 */
    p->wpacked = wb_zalloc(p->k4 * wb_round_up(cout, WB_F32_GEMM_NR) * sizeof(float));
    if (!p->direct)
        p->patches = wb_zalloc((size_t)conv->ho * conv->wo * p->k4 * sizeof(float));
    if (!padded || !p->wpacked || (!p->direct && !p->patches)) {
        wb_free(padded);
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    }
    memcpy(padded, weights, kk * cout * sizeof(float));
    wb_f32_packb_ukernel_x8__scalar(p->k4, cout, padded, cout, p->wpacked);
    wb_free(padded);
    conv->gemm_flops = 2.0 * conv->ho * conv->wo * (double)kk * cout;
    return WB_OK;
}

typedef struct {
    const wb_conv *conv;
    const im2row_plan *p;
    const float *x, *a; /* a: the GEMM's A, the patches or x itself */
    float *y;
    size_t rows_per_item; /* split over rows of A, or */
    size_t cols_per_item; /* over output channels (then every item takes all rows) */
} im2row_job;

static void pack_rows(void *ctx, size_t i, int tid)
{
    (void)tid;
    const im2row_job *j = ctx;
    wb_f32_im2row_ukernel_kxk__scalar(&j->p->g, j->x, i, i + 1, j->p->patches);
}

static void gemm_rows(void *ctx, size_t i, int tid)
{
    (void)tid;
    const im2row_job *j = ctx;
    const size_t m = (size_t)j->conv->ho * j->conv->wo, m0 = i * j->rows_per_item;
    const size_t m1 = m0 + j->rows_per_item < m ? m0 + j->rows_per_item : m;
    wb_f32_gemm(m0, m1, j->conv->cout, j->p->k4, j->a, j->p->k4, j->p->wpacked, j->y,
                j->conv->cout);
}

static void gemm_cols(void *ctx, size_t i, int tid)
{
    (void)tid;
    const im2row_job *j = ctx;
    const size_t m = (size_t)j->conv->ho * j->conv->wo, n = j->conv->cout, n0 = i * j->cols_per_item;
    const size_t n1 = n0 + j->cols_per_item < n ? n0 + j->cols_per_item : n;
    /* panel n0/8 of W starts at n0 * k4 */
    wb_f32_gemm(0, m, n1 - n0, j->p->k4, j->a, j->p->k4, j->p->wpacked + n0 * j->p->k4, j->y + n0, n);
}

static int im2row_run(wb_conv *conv, const float *x, float *y, wb_pool *pool, double *stage_ms)
{
    const im2row_plan *p = conv->impl;
    const size_t m = (size_t)conv->ho * conv->wo;
    const size_t threads = (size_t)wb_pool_threads(pool);
    /* One item per thread would leave threads idle at the end; 4 per thread, whole micro-tiles. */
    size_t rows = threads == 1 ? m : wb_round_up(wb_div_up(m, 4 * threads), WB_F32_GEMM_MR);
    /* Fewer rows than output channels (small late layers): split the weights, the bigger
     * operand, so each thread streams only its share of W instead of all of it. */
    const size_t cols = threads > 1 && m < conv->cout
                            ? wb_round_up(wb_div_up(conv->cout, 4 * threads), WB_F32_GEMM_NR) : 0;
    im2row_job job = {conv, p, x, p->direct ? x : p->patches, y, rows, cols};

    double t0 = wb_now_ms();
    if (!p->direct)
        wb_parallel_for(pool, conv->ho, pack_rows, &job);
    double t1 = wb_now_ms();
    if (cols)
        wb_parallel_for(pool, wb_div_up(conv->cout, cols), gemm_cols, &job);
    else
        wb_parallel_for(pool, wb_div_up(m, rows), gemm_rows, &job);
    double t2 = wb_now_ms();
    double t3 = wb_now_ms(); /* empty output stage */
    stage_ms[0] = t1 - t0;
    stage_ms[1] = t2 - t1;
    stage_ms[2] = t3 - t2;
    return WB_OK;
}

static void im2row_destroy(wb_conv *conv)
{
    im2row_plan *p = conv->impl;
    if (!p)
        return;
    wb_free(p->wpacked);
    wb_free(p->patches);
    free(p);
}

const wb_kernel wb_f32_conv_im2row = {
    .name = "wb_f32_conv_im2row", .algo = "im2row", .transform = "none", .bits = 32, .scheme = "none",
    .create = im2row_create, .run = im2row_run, .destroy = im2row_destroy,
};
