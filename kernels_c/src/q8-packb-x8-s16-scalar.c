/* wb_q8_packb_s16_ukernel_x8__scalar: k x n int16 into ceil(n/8) panels of round_up(k, 8) rows,
 * each row 8 contiguous columns (zeros past k and n): the layout of the s16 GEMM's W loads. */
#include "wb_q8_ukernels.h"

void wb_q8_packb_s16_ukernel_x8__scalar(size_t k, size_t n, const int16_t *b, size_t b_stride,
                                        int16_t *packed)
{
    const size_t k8 = (k + 7) / 8 * 8;
    for (size_t j0 = 0; j0 < n; j0 += 8)
        for (size_t kk = 0; kk < k8; kk++)
            for (size_t j = 0; j < 8; j++)
                *packed++ = kk < k && j0 + j < n ? b[kk * b_stride + j0 + j] : 0;
}
