/* im2row for any k x k filter, stride and padding: the geometry the packers read and their
 * prototypes (fp32 and int8 share one implementation, src/im2row-kxk-scalar.inc). */
#ifndef WB_IM2ROW_H
#define WB_IM2ROW_H

#include <stddef.h>
#include <stdint.h>

#include "wb_internal.h"

/* The input (h, w, cin), the filter (k, stride, pad), the output (ho, wo) and the length of a
 * patch row: k*k*cin values, taps (ky, kx) row-major as HWIO weights flatten, then zeros up to
 * row (left untouched: zeroed once at plan time). */
typedef struct wb_im2row_geom {
    size_t h, w, cin, k, stride, pad, ho, wo, row;
} wb_im2row_geom;

static inline wb_im2row_geom wb_conv_geom(const wb_conv *c, size_t row)
{
    const wb_im2row_geom g = {(size_t)c->h, (size_t)c->w, (size_t)c->cin, (size_t)c->k,
                              (size_t)c->stride, (size_t)c->pad, (size_t)c->ho, (size_t)c->wo, row};
    return g;
}

/* 1x1, stride 1, no padding: the input is already the patch matrix (no copy), when its rows
 * (cin values) are a whole number of the GEMM's K steps. */
static inline int wb_im2row_is_direct(const wb_im2row_geom *g, size_t kstep)
{
    return g->k == 1 && g->stride == 1 && g->pad == 0 && g->cin % kstep == 0;
}

/* Patch rows of the output rows [oy0, oy1): row (oy * wo + ox) of p. Each kernel row's k taps
 * read k*cin contiguous input values, so a tap row inside the image is one copy. */
void wb_f32_im2row_ukernel_kxk__scalar(const wb_im2row_geom *g, const float *x, size_t oy0,
                                       size_t oy1, float *p);
void wb_q8_im2row_ukernel_kxk__scalar(const wb_im2row_geom *g, const int8_t *x, size_t oy0,
                                      size_t oy1, int8_t *p);

#endif
