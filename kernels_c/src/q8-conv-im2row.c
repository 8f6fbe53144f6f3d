/* The int8 im2row convolution on the plan of q8-plan.c: its scalar calibration and its timed run,
 * patches (h*w, k16) -> y8 = requant(patches * wq), the requantization fused in the GEMM, so its
 * output stage is 0. */
#include <stdlib.h>

#include "wb_q8_plan.h"

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
    int64_t amax = 0;
    for (size_t i = 0; i < h * w * cout; i++)
        amax = wb_q8_max(amax, llabs(acc[i]));
    p->rq_y = wb_q8_stage_rq(p->requant, amax, 32);
    if (y8)
        for (size_t i = 0; i < h * w * cout; i++)
            y8[i] = wb_q8_requant_rq_scalar(acc[i], p->rq_y);
    free(acc);
    p->calibrated = 1;
    return WB_OK;
}

typedef struct {
    const wb_q8_plan *p;
    const int8_t *x;
    int8_t *y;
    size_t gemm_rows; /* rows of A per GEMM task, or */
    size_t gemm_cols; /* output channels per task (then every task takes all rows) */
} job;

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
    wb_q8_gemm(m0, m1, p->cout, p->k16, p->patches, p->k16, p->wpacked, j->y, p->cout, p->rq_y);
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
               p->wpacked + n0 * p->k16, j->y + n0, n, p->rq_y);
}

void wb_q8_run_im2row(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool, double *st)
{
    /* GEMM tasks of 64 rows: enough items to balance threads, big enough to amortize. */
    job j = {p, xq, y8, 64, 0};
    const double t0 = wb_now_ms();
    const size_t hw = (size_t)p->h * p->w;
    wb_parallel_for(pool, p->h, im2row_rows, &j);
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
