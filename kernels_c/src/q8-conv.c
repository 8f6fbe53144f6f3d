/* The int8 convolutions' public entry points (wb_q8.h) past the plan (q8-plan.c): calibration,
 * the timed run and the output scale, each handing the plan to the im2row or Winograd code, and
 * the int8 GEMM's peak rate. */
#include <math.h>
#include <string.h>

#include "wb_q8_plan.h"

int wb_q8_calibrate(wb_q8_plan *p, const int8_t *xq, int8_t *y8)
{
    return p->m ? wb_q8_calibrate_winograd(p, xq, y8) : wb_q8_calibrate_im2row(p, xq, y8);
}

int wb_q8_run(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool, double *stage_ms)
{
    if (!p->calibrated)
        return WB_E_RUNTIME;
    double st[4];
    const double t0 = wb_now_ms();
    if (!p->m)
        wb_q8_run_im2row(p, xq, y8, pool, st);
    else if (wb_q8_run_winograd(p, xq, y8, pool, st) != WB_OK)
        return WB_E_RUNTIME;
    st[3] = wb_now_ms() - t0;
    if (stage_ms)
        memcpy(stage_ms, st, sizeof st);
    return WB_OK;
}

/* Scheme steps 4-7, in the reference's order of operations. */
double wb_q8_output_scale(const wb_q8_plan *p, double s_x, double s_w)
{
    const wb_q8_scheme_state *s = p->sch;
    const double m_y = wb_q8_rq_real(p->rq_y);
    if (!p->m)
        return s_x * s_w / m_y;
    if (p->scheme == WB_Q8_TAP)
        return s_x * s_w * ldexp(1.0, -2 * p->kB - 2 * p->kG - s->sq_bits) / s->dmin *
               ldexp(1.0, s->s1 - 2 * p->kA) / m_y;
    if (p->scheme == WB_Q8_WIDE)
        return s_x * s_w * ldexp(1.0, s->sv - 2 * p->kB - 2 * p->kG) / (double)s->mult_u16 *
               ldexp(1.0, s->s1 + s->h - 2 * p->kA) / m_y;
    const double s_v = s_x * ldexp(1.0, -2 * p->kB) / wb_q8_rq_real(p->rq_v);
    const double s_u = s_w * ldexp(1.0, -2 * p->kG) / (double)p->mult_u;
    const double s_p = s_v * s_u / wb_q8_rq_real(p->rq_p);
    return s_p * ldexp(1.0, -2 * p->kA) / m_y;
}

/* The GEMM micro-kernel of this build itself on a 4 x 4 block with kc = 1024 (8 KiB of operands,
 * L1-resident): the epilogue is 1/64 of the work, so this is the sustained rate of the inner loop.
 * Best of 10 short runs, as the fp32 probe: a peak, so the least disturbed run counts. */
double wb_q8_peak_gops(double min_ms)
{
    enum { KC = 1024 };
    if (!wb_q8_have_dotprod())
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
            WB_Q8_GEMM_UKERNEL(4, 4, KC, a, KC, w, c, 4, (wb_q8_rq){1e-6f, 0, 0});
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
