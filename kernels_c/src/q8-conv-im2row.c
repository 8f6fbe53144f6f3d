/* The int8 im2row convolution on the plan of q8-plan.c, any k x k filter, stride and padding: its
 * scalar calibration and its timed run, patches (ho*wo, k16) -> y8 = requant(patches * wq), the
 * requantization fused in the GEMM, so its output stage is 0. A 1x1 stride-1 plan on rows of whole
 * K steps (p->direct) runs the GEMM on xq itself: an input stage of 0. */
#include <stdlib.h>

#include "wb_im2row.h"
#include "wb_q8_plan.h"

/* acc[ho*wo][cout] = the int32 sums of the convolution, the plain way. */
static void direct_sums(const wb_q8_plan *p, const int8_t *xq, int32_t *acc)
{
    const long h = p->h, w = p->w, k = p->k;
    const size_t cin = p->cin, cout = p->cout;
    for (long oy = 0; oy < p->ho; oy++)
        for (long ox = 0; ox < p->wo; ox++)
            for (long ky = 0; ky < k; ky++)
                for (long kx = 0; kx < k; kx++) {
                    const long sy = oy * p->stride + ky - p->pad, sx = ox * p->stride + kx - p->pad;
                    if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                        continue;
                    const int8_t *src = xq + ((size_t)sy * w + (size_t)sx) * cin;
                    const int8_t *wk = p->wq + (size_t)(ky * k + kx) * cin * cout;
                    int32_t *dst = acc + ((size_t)oy * p->wo + (size_t)ox) * cout;
                    for (size_t ci = 0; ci < cin; ci++)
                        for (size_t co = 0; co < cout; co++)
                            dst[co] += src[ci] * wk[ci * cout + co];
                }
}

int wb_q8_calibrate_im2row(wb_q8_plan *p, const int8_t *xq, int8_t *y8)
{
    const size_t n = (size_t)p->ho * p->wo * p->cout;
    int32_t *acc = calloc(n, sizeof *acc);
    if (!acc)
        return WB_E_RUNTIME;
    direct_sums(p, xq, acc);
    int64_t amax = 0;
    for (size_t i = 0; i < n; i++)
        amax = wb_q8_max(amax, llabs(acc[i]));
    p->rq_y = wb_q8_stage_rq(p->requant, amax, 32);
    if (y8)
        for (size_t i = 0; i < n; i++)
            y8[i] = wb_q8_requant_rq_scalar(acc[i], p->rq_y);
    free(acc);
    p->calibrated = 1;
    return WB_OK;
}

typedef struct {
    const wb_q8_plan *p;
    wb_im2row_geom g;
    const int8_t *x, *a; /* a: the GEMM's A, the patches or xq itself */
    int8_t *y;
    size_t gemm_rows; /* rows of A per GEMM task, or */
    size_t gemm_cols; /* output channels per task (then every task takes all rows) */
} job;

static void im2row_rows(void *ctx, size_t row, int tid)
{
    (void)tid;
    const job *j = ctx;
    wb_q8_im2row_ukernel_kxk__scalar(&j->g, j->x, row, row + 1, j->p->patches);
}

static void im2row_gemm(void *ctx, size_t blk, int tid)
{
    (void)tid;
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t hw = (size_t)p->ho * p->wo, m0 = blk * j->gemm_rows;
    const size_t m1 = m0 + j->gemm_rows < hw ? m0 + j->gemm_rows : hw;
    wb_q8_gemm(m0, m1, p->cout, p->k16, j->a, p->k16, p->wpacked, j->y, p->cout, p->rq_y);
}

static void im2row_gemm_cols(void *ctx, size_t blk, int tid)
{
    (void)tid;
    const job *j = ctx;
    const wb_q8_plan *p = j->p;
    const size_t n = p->cout, n0 = blk * j->gemm_cols;
    const size_t n1 = n0 + j->gemm_cols < n ? n0 + j->gemm_cols : n;
    /* panel n0/4 of W starts at n0 * k16 */
    wb_q8_gemm(0, (size_t)p->ho * p->wo, n1 - n0, p->k16, j->a, p->k16,
               p->wpacked + n0 * p->k16, j->y + n0, n, p->rq_y);
}

void wb_q8_run_im2row(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool, double *st)
{
    const wb_im2row_geom g = {(size_t)p->h, (size_t)p->w, (size_t)p->cin, (size_t)p->k, (size_t)p->stride,
                              (size_t)p->pad, (size_t)p->ho, (size_t)p->wo, p->k16};
    /* GEMM tasks of 64 rows: enough items to balance threads, big enough to amortize. */
    job j = {p, g, xq, p->direct ? xq : p->patches, y8, 64, 0};
    const double t0 = wb_now_ms();
    const size_t hw = (size_t)p->ho * p->wo;
    if (!p->direct)
        wb_parallel_for(pool, p->ho, im2row_rows, &j);
    const double t1 = wb_now_ms();
    /* Fewer output pixels than channels (small late layers): split the weights instead, so
     * a second thread does not stream all of W again. */
    const size_t threads = (size_t)wb_pool_threads(pool);
    if (threads > 1 && hw < (size_t)p->cout) {
        j.gemm_cols = wb_round_up(wb_div_up(p->cout, 4 * threads), WB_Q8_GEMM_NR);
        wb_parallel_for(pool, wb_div_up(p->cout, j.gemm_cols), im2row_gemm_cols, &j);
    } else {
        wb_parallel_for(pool, wb_div_up(hw, j.gemm_rows), im2row_gemm, &j);
    }
    const double t2 = wb_now_ms();
    st[0] = t1 - t0, st[1] = t2 - t1, st[2] = 0; /* requantization is fused in the GEMM */
}
