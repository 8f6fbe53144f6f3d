/* The GEMM stage shared by im2row and every Winograd variant: loops the 8x8 micro-kernel over
 * C. Not a micro-kernel itself, so it has a plain name (wb_f32_gemm). */
#include "wb_f32_ukernels.h"

/* Rows of A per L2 block: about 128 KiB of A, so a block is reused from L2 by all 8-column
 * panels of W (each panel, k*32 bytes, stays in L1 across the block's micro-tiles). */
#define WB_F32_GEMM_L2_BYTES (128 * 1024)

#define WB_SMALL_M 32 /* rows */

void wb_f32_gemm(size_t m0, size_t m1, size_t n, size_t k, const float *a, size_t lda,
                 const float *wpacked, float *c, size_t ldc)
{
    size_t mc = WB_F32_GEMM_L2_BYTES / (k * sizeof(float));
    mc = mc < WB_F32_GEMM_MR ? WB_F32_GEMM_MR : mc / WB_F32_GEMM_MR * WB_F32_GEMM_MR;
    /* Few rows (a late layer's tiles or pixels): N outermost, so each panel of W is loaded
     * once and reused by every row while it is in L1, however large K is. */
    if (m1 - m0 <= WB_SMALL_M)
        mc = m1 - m0 ? m1 - m0 : 1;
    for (size_t mb0 = m0; mb0 < m1; mb0 += mc) {
        const size_t mb1 = mb0 + mc < m1 ? mb0 + mc : m1;
        for (size_t n0 = 0; n0 < n; n0 += WB_F32_GEMM_NR) {
            const size_t nc = n - n0 < WB_F32_GEMM_NR ? n - n0 : WB_F32_GEMM_NR;
            const float *panel = wpacked + n0 * k; /* panel n0/8 starts at (n0/8) * k * 8 */
            for (size_t i = mb0, mr; i < mb1; i += mr) {
                /* 8 rows at a time; a remainder of 5-7 rows in one 8x8 call, 2-4 in a 4x8, 1 in the 1x8. */
                const size_t left = mb1 - i;
                const wb_f32_gemm_fn ukernel = left >= 5   ? WB_F32_GEMM_UKERNEL_8X8
                                               : left >= 2 ? wb_f32_gemm_ukernel_4x8__neon
                                                           : wb_f32_gemm_ukernel_1x8__neon;
                mr = left >= 8 ? 8 : left;
                ukernel(mr, nc, k, a + i * lda, lda, panel, c + i * ldc + n0, ldc);
            }
        }
    }
}
