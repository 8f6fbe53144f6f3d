/* The int8 entries of the kernel registry (named in wb_registry.c's one table): the
 * float-in, float-out wb_conv_* API on top of the q8 plan (wb_q8.h).
 *
 * create quantizes the float weights (scheme step 1) and plans. Calibration quantizes x and fixes
 * the stage multipliers by the scalar path; it runs once, on the first tensor the convolution
 * sees (wb_conv_calibrate, or else the first run). Runs then convolve the int8 image of that
 * tensor, as a deployed int8 network receives its input already quantized, so a run on another
 * pointer is refused rather than silently answered. The run's stage times and total cover the
 * int8 pipeline only; the dequantization of y8 into the caller's float y comes after the clock. */
#include <stdlib.h>
#include <string.h>

#include "wb_q8_neon.h"
#include "wb_q8_plan.h"

typedef struct {
    int m, learned, scheme;
} q8_desc;

typedef struct {
    wb_q8_plan *plan;
    double s_x, s_w, s_y;
    int8_t *xq, *y8;
    const float *calibrated_x;
} q8_conv;

static void q8_destroy(wb_conv *conv)
{
    q8_conv *q = conv->impl;
    if (!q)
        return;
    wb_q8_plan_destroy(q->plan);
    wb_free(q->xq);
    wb_free(q->y8);
    free(q);
}

static int q8_create(wb_conv *conv, const wb_matrices *mats, const float *weights, char *err,
                     int err_len)
{
    const q8_desc *d = conv->kernel->desc;
    q8_conv *q = calloc(1, sizeof *q);
    if (!q)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    conv->impl = q;
    const size_t nw = (size_t)conv->k * conv->k * conv->cin * conv->cout;
    int8_t *wq = wb_zalloc(nw);
    q->xq = wb_zalloc((size_t)conv->h * conv->w * conv->cin);
    q->y8 = wb_zalloc((size_t)conv->ho * conv->wo * conv->cout);
    if (!wq || !q->xq || !q->y8) {
        wb_free(wq);
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    }
    q->s_w = wb_q8_quantize(weights, nw, wq);
    /* The static kernels hard-code the default matrices; learned ones take mats as given. */
    const int dense = d->learned && mats;
    const wb_q8_spec spec = {d->m, d->learned, d->scheme, dense ? mats->at : NULL, dense ? mats->g : NULL,
                             dense ? mats->bt : NULL, conv->h, conv->w, conv->cin, conv->cout,
                             conv->oy, conv->ox,
                             conv->k, conv->stride, conv->pad, conv->requant};
    const int rc = wb_q8_plan_create(&spec, wq, &q->plan, err, err_len);
    wb_free(wq);
    if (rc == WB_OK)
        conv->gemm_flops = wb_q8_gemm_ops(q->plan); /* int8 ops: 2 per multiply-accumulate */
    return rc;
}

static int q8_calibrate(wb_conv *conv, const float *x)
{
    q8_conv *q = conv->impl;
    q->s_x = wb_q8_quantize(x, (unsigned long long)conv->h * conv->w * conv->cin, q->xq);
    const int rc = wb_q8_calibrate(q->plan, q->xq, NULL);
    if (rc == WB_OK) {
        q->s_y = wb_q8_output_scale(q->plan, q->s_x, q->s_w);
        q->calibrated_x = x;
    }
    return rc;
}

/* y = (float)y8 * (float)s_y, 8 values per step: one float multiply, the same on every build. */
static void dequantize(const int8_t *y8, size_t n, float s_y, float *y)
{
    const float32x4_t vs = vdupq_n_f32(s_y);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const int16x8_t v = wb_q8_load_s16(y8 + i);
        vst1q_f32(y + i, vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(v))), vs));
        vst1q_f32(y + i + 4, vmulq_f32(vcvtq_f32_s32(vmovl_high_s16(v)), vs));
    }
    for (; i < n; i++)
        y[i] = (float)y8[i] * s_y;
}

static int q8_run(wb_conv *conv, const float *x, float *y, wb_pool *pool, double *stage_ms)
{
    q8_conv *q = conv->impl;
    int rc;
    if (!q->calibrated_x && (rc = q8_calibrate(conv, x)) != WB_OK)
        return rc;
    if (x != q->calibrated_x)
        return WB_E_RUNTIME; /* an int8 convolution runs on the tensor it was calibrated on */
    if ((rc = wb_q8_run(q->plan, q->xq, q->y8, pool, stage_ms)) != WB_OK) /* total included */
        return rc;
    dequantize(q->y8, (size_t)conv->ho * conv->wo * conv->cout, (float)q->s_y, y);
    return WB_OK;
}

#define Q8_KERNEL(NAME, ALGO, TRANSFORM, M, LEARNED, SCHEME, SCHEME_NAME)                       \
    static const q8_desc NAME##_desc = {M, LEARNED, SCHEME};                                     \
    const wb_kernel NAME = {.name = #NAME, .algo = ALGO, .transform = TRANSFORM, .bits = 8,      \
                            .scheme = SCHEME_NAME, .desc = &NAME##_desc, .create = q8_create,    \
                            .run = q8_run, .destroy = q8_destroy, .calibrate = q8_calibrate};
#define Q8_SCHEME_KERNELS(S, ID)                                                                   \
    Q8_KERNEL(wb_q8_conv_winograd_##S##_static_f2, "f2", "static", 2, 0, ID, #S)                 \
    Q8_KERNEL(wb_q8_conv_winograd_##S##_static_f4, "f4", "static", 4, 0, ID, #S)                 \
    Q8_KERNEL(wb_q8_conv_winograd_##S##_static_f6, "f6", "static", 6, 0, ID, #S)                 \
    Q8_KERNEL(wb_q8_conv_winograd_##S##_learned_f2, "f2", "learned", 2, 1, ID, #S)               \
    Q8_KERNEL(wb_q8_conv_winograd_##S##_learned_f4, "f4", "learned", 4, 1, ID, #S)               \
    Q8_KERNEL(wb_q8_conv_winograd_##S##_learned_f6, "f6", "learned", 6, 1, ID, #S)
Q8_KERNEL(wb_q8_conv_im2row, "im2row", "none", 0, 0, WB_Q8_TENSOR, "none")
Q8_KERNEL(wb_q8_conv_winograd_static_f2, "f2", "static", 2, 0, WB_Q8_TENSOR, "tensor")
Q8_KERNEL(wb_q8_conv_winograd_static_f4, "f4", "static", 4, 0, WB_Q8_TENSOR, "tensor")
Q8_KERNEL(wb_q8_conv_winograd_static_f6, "f6", "static", 6, 0, WB_Q8_TENSOR, "tensor")
Q8_KERNEL(wb_q8_conv_winograd_learned_f2, "f2", "learned", 2, 1, WB_Q8_TENSOR, "tensor")
Q8_KERNEL(wb_q8_conv_winograd_learned_f4, "f4", "learned", 4, 1, WB_Q8_TENSOR, "tensor")
Q8_KERNEL(wb_q8_conv_winograd_learned_f6, "f6", "learned", 6, 1, WB_Q8_TENSOR, "tensor")
Q8_SCHEME_KERNELS(tap, WB_Q8_TAP)
Q8_SCHEME_KERNELS(wide, WB_Q8_WIDE)
