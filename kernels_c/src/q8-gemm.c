/* The int8 GEMM stage shared by im2row and every Winograd variant: loops the 4x4c16 micro-kernel
 * (SMULL/SMLAL2/SADALP, or SDOT in dot-product builds) over C, requantizing in its epilogue. Not a micro-kernel itself, so a plain name
 * (wb_q8_gemm). */
#include "wb_q8_ukernels.h"

/* Rows of A per L2 block: about 128 KiB of A, reused from L2 by all 4-column panels of W while
 * each panel (k16 * 4 bytes) stays in L1 across the block's micro-tiles. */
#define WB_Q8_GEMM_L2_BYTES (128 * 1024)

#define WB_SMALL_M 32 /* rows */

void wb_q8_gemm(size_t m0, size_t m1, size_t n, size_t k16, const int8_t *a, size_t lda,
                const int8_t *wpacked, int8_t *c, size_t ldc, wb_q8_rq rq)
{
    size_t mc = WB_Q8_GEMM_L2_BYTES / k16;
    mc = mc < WB_Q8_GEMM_MR ? WB_Q8_GEMM_MR : mc / WB_Q8_GEMM_MR * WB_Q8_GEMM_MR;
    /* Few rows (a late layer's tiles or pixels): N outermost, so each panel of W is loaded
     * once and reused by every row while it is in L1, however large K is. */
    if (m1 - m0 <= WB_SMALL_M)
        mc = m1 - m0 ? m1 - m0 : 1;
    for (size_t mb0 = m0; mb0 < m1; mb0 += mc) {
        const size_t mb1 = mb0 + mc < m1 ? mb0 + mc : m1;
        for (size_t n0 = 0; n0 < n; n0 += WB_Q8_GEMM_NR) {
            const size_t nc = n - n0 < WB_Q8_GEMM_NR ? n - n0 : WB_Q8_GEMM_NR;
            const int8_t *panel = wpacked + n0 * k16; /* panel n0/4 starts at (n0/4) * k16 * 4 */
            for (size_t i = mb0; i < mb1; i += WB_Q8_GEMM_MR) {
                const size_t mr = mb1 - i < WB_Q8_GEMM_MR ? mb1 - i : WB_Q8_GEMM_MR;
                /* 1 row left: the 1x4 kernel instead of computing 4 rows for 1 (2-3 rows: 4x4) */
                if (mr == 1)
                    wb_q8_gemm_ukernel_1x4c16__neon(1, nc, k16, a + i * lda, lda, panel,
                                                    c + i * ldc + n0, ldc, rq);
                else
                    WB_Q8_GEMM_UKERNEL(mr, nc, k16, a + i * lda, lda, panel, c + i * ldc + n0, ldc,
                                       rq);
            }
        }
    }
}
