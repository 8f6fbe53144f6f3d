/* Measuring one case (wb_measure.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_measure.h"

/* What the library does not check: matrices= only for learned Winograd, the matrix file, and the
 * sizes before anything is allocated for them. */
static int check_case(const wb_case *c, wb_matrix_file *mf, char *err, int err_len)
{
    if (c->matrices[0]) {
        if (!strcmp(c->algo, "im2row") || strcmp(c->transform, "learned")) {
            snprintf(err, err_len, "matrices= is only for learned Winograd transforms");
            return WB_E_BAD_CASE;
        }
        if (wb_read_matrices(c->matrices, mf, err, err_len))
            return WB_E_BAD_MATRICES;
    }
    if (c->h < 1 || c->h > 4096 || c->w < 1 || c->w > 4096 || c->cin < 1 || c->cin > 8192 ||
        c->cout < 1 || c->cout > 8192) {
        snprintf(err, err_len, "sizes out of range: h, w in 1..4096, cin, cout in 1..8192");
        return WB_E_BAD_CASE;
    }
    if (c->k < 1 || c->k > 7 || c->k % 2 == 0 || wb_conv_out_size(c->h, c->k, c->stride, c->pad) < 1 ||
        wb_conv_out_size(c->w, c->k, c->stride, c->pad) < 1) {
        snprintf(err, err_len, "filter k=%d stride=%d pad=%d: k 1, 3, 5 or 7 within the padded input",
                 c->k, c->stride, c->pad);
        return WB_E_BAD_CASE;
    }
    return WB_OK;
}

/* ho * wo * cout: the output's values */
static size_t out_values(const wb_case *c)
{
    return (size_t)wb_conv_out_size(c->h, c->k, c->stride, c->pad) *
           (size_t)wb_conv_out_size(c->w, c->k, c->stride, c->pad) * c->cout;
}

static int run_failed(int rc, char *err, int err_len)
{
    snprintf(err, err_len, "the convolution failed (code %d)", rc);
    return rc;
}

/* Warmup runs, then timed runs until both the repetitions and the time are reached. */
static int time_runs(const wb_measure_settings *s, const wb_case *c, wb_conv *conv, const float *x,
                     float *y, wb_pool *pool, wb_result *r, char *err, int err_len)
{
    double ms[4];
    int rc;
    for (int i = 0; i < s->warmup; i++)
        if ((rc = wb_conv_run(conv, x, y, pool, ms)) != WB_OK)
            return run_failed(rc, err, err_len);
    const int min_reps = c->reps ? c->reps : s->min_reps;
    double elapsed = 0.0;
    while (r->ms[3].n < s->max_reps && (r->ms[3].n < min_reps || elapsed < s->min_time_ms)) {
        if ((rc = wb_conv_run(conv, x, y, pool, ms)) != WB_OK)
            return run_failed(rc, err, err_len);
        for (int k = 0; k < 4; k++)
            if (wb_samples_push(&r->ms[k], ms[k])) {
                snprintf(err, err_len, "out of memory");
                return WB_E_RUNTIME;
            }
        elapsed += ms[3];
    }
    return WB_OK;
}

/* The error of y against a plain C double-precision direct convolution of the same data. */
static int verify(const wb_case *c, const float *x, const float *w, const float *y, wb_result *r,
                  char *err, int err_len)
{
    const size_t ny = out_values(c);
    double *ref = malloc(ny * sizeof(double));
    if (!ref) {
        snprintf(err, err_len, "out of memory for --verify");
        return WB_E_RUNTIME;
    }
    wb_conv_direct_f64(x, w, c->h, c->w, c->cin, c->cout, c->k, c->stride, c->pad, ref);
    wb_error_metrics(y, ref, ny, r->error);
    free(ref);
    return WB_OK;
}

/* Plans, calibrates, times and checks the convolution of x and w into y. */
static int measure(const wb_measure_settings *s, wb_pool *pool, const wb_case *c,
                   const wb_matrix_file *mf, const float *x, const float *w, float *y, wb_result *r,
                   char *err, int err_len)
{
    const int user = c->matrices[0] != 0;
    const wb_conv_spec spec = {c->algo, c->bits, c->transform, c->scheme[0] ? c->scheme : NULL,
                               mf->m, mf->r, user ? mf->at : NULL, user ? mf->g : NULL,
                               user ? mf->bt : NULL, c->h, c->w, c->cin, c->cout,
                               c->origin[0] ? c->origin : NULL,
                               c->k, c->stride, c->pad, c->requant[0] ? c->requant : NULL};
    wb_conv *conv = NULL;
    int rc = wb_conv_create(&spec, w, &conv, err, err_len);
    if (rc == WB_OK && (rc = wb_conv_calibrate(conv, x)) != WB_OK) /* int8: quantization */
        snprintf(err, err_len, "calibration failed (code %d)", rc);
    if (rc == WB_OK && (rc = time_runs(s, c, conv, x, y, pool, r, err, err_len)) == WB_OK &&
        (!s->verify || (rc = verify(c, x, w, y, r, err, err_len)) == WB_OK)) {
        snprintf(r->kernel, sizeof r->kernel, "%s", wb_conv_kernel_name(conv));
        r->weight_transform_ms = wb_conv_weight_transform_ms(conv);
        r->gemm_flops = wb_conv_gemm_flops(conv);
        r->checksum = wb_fnv1a64(y, out_values(c) * sizeof(float));
    }
    wb_conv_destroy(conv);
    return rc;
}

int wb_measure_case(const wb_measure_settings *s, wb_pool *pool, const wb_case *c, wb_result *r,
                    char *err, int err_len)
{
    wb_matrix_file mf = {0};
    memset(r, 0, sizeof *r);
    int rc = check_case(c, &mf, err, err_len);
    if (rc != WB_OK)
        return rc;
    const size_t nx = (size_t)c->h * c->w * c->cin, nw = (size_t)c->k * c->k * c->cin * c->cout,
                 ny = out_values(c);
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *y = calloc(ny, sizeof(float));
    if (x && w && y) {
        wb_fill_gaussian(x, nx, s->seed);
        wb_fill_gaussian(w, nw, s->seed + 1);
        rc = measure(s, pool, c, &mf, x, w, y, r, err, err_len);
    } else {
        snprintf(err, err_len, "out of memory");
        rc = WB_E_RUNTIME;
    }
    free(x);
    free(w);
    free(y);
    if (rc != WB_OK)
        wb_result_free(r);
    return rc;
}

void wb_result_free(wb_result *r)
{
    for (int k = 0; k < 4; k++) {
        free(r->ms[k].v);
        r->ms[k] = (wb_samples){0};
    }
}
