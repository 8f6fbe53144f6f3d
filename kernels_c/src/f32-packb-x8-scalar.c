/* wb_f32_packb_ukernel_x8__scalar: weight packing for the 8-column GEMM block. Runs once per
 * plan (offline), so plain C is enough. Panel layout: panel j holds columns 8j..8j+7, k rows of 8
 * floats, so the micro-kernel reads W as one linear stream. */
#include <stddef.h>

#include "wb_f32_ukernels.h"

void wb_f32_packb_ukernel_x8__scalar(size_t k, size_t n, const float *b, size_t b_stride,
                                     float *packed)
{
    for (size_t n0 = 0; n0 < n; n0 += WB_F32_GEMM_NR)
        for (size_t kk = 0; kk < k; kk++)
            for (size_t j = 0; j < WB_F32_GEMM_NR; j++)
                *packed++ = n0 + j < n ? b[kk * b_stride + n0 + j] : 0.0f;
}
