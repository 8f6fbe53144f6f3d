/* wb_q8_packb_ukernel_x4c16__scalar: weights into the panels wb_q8_gemm_ukernel_4x4c16__neon reads
 * (see wb_q8_ukernels.h). Offline (plan time), so plain scalar code. */
#include "wb_q8_ukernels.h"

void wb_q8_packb_ukernel_x4c16__scalar(size_t k, size_t n, const int8_t *b, size_t b_stride,
                                       int8_t *packed)
{
    const size_t k16 = (k + 15) / 16 * 16;
    for (size_t n0 = 0; n0 < n; n0 += 4)
        for (size_t kb = 0; kb < k16; kb += 16)
            for (size_t j = 0; j < 4; j++)
                for (size_t kk = 0; kk < 16; kk++) {
                    const size_t row = kb + kk, col = n0 + j;
                    *packed++ = row < k && col < n ? b[row * b_stride + col] : 0;
                }
}
