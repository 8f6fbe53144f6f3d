/* wb_q8_gemm_a53_ukernel_4x4c16__neon: the 4x4c16 int8 GEMM block for in-order cores
 * (Cortex-A53/A55). Same contract, packed W and products (so the same bits) as
 * q8-gemm-4x4c16-neon.c: per 16 k and (row, column), SMULL of the low 8 int8 pairs, SMLAL2 of the
 * high 8 into the same int16 lanes (at most 2 x 127 x 127), SADALP into the int32 accumulator.
 *
 * An in-order core issues in program order, so the order is the schedule; it is fixed in inline
 * asm (gcc's schedulers move the loads of the intrinsics kernel to the top of the loop, where they
 * issue back to back). Software-pipelined over blocks of 16 k: the next block's W columns 0-1 are
 * loaded under columns 0-1's accumulations (their last reader, SMLAL2, is done), its columns 2-3
 * and A's next rows under columns 2-3's, one or two per accumulation, and each pointer advances
 * once per block (immediate offsets: LLVM's A53 model takes a post-indexed load as two micro-ops).
 * Per 256 MACs: LLVM's A53 model 66 cycles (3.88 MAC/cycle), the A53 dual-issue rules 64 (4.0),
 * against 86 and 69 for the intrinsics kernel and 74 and 68 for XNNPACK's best A53 int8 GEMM
 * (kernels_c/README.md, "int8 GEMM for in-order cores"). 64-bit loads (LDR d + LDR x + INS, as
 * the fp32 ld64 kernel) score better by the rules (56) but worse in LLVM's model (80): each INS
 * issues alone there. The last block runs after the loop without loads, so nothing past A's rows
 * or W is read. The 16 accumulators live in v16-v31 (asm register variables); the epilogue
 * (pairwise reduction, requantization) is the intrinsics kernel's. aarch64 only: other targets
 * call the 4x4c16 kernel, which gives the same bits. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

#if defined(__aarch64__)
/* Products of columns J (vJ) and K (vK) with the 4 rows v0-v3 into v8-v15, then their
 * accumulations into the accumulators of columns J and K (C0..C3, D0..D3) */
#define WB_MUL(J, K) \
    "smull v8.8h, v0.8b, v" #J ".8b\n smull v9.8h, v1.8b, v" #J ".8b\n"                      \
    "smull v10.8h, v2.8b, v" #J ".8b\n smull v11.8h, v3.8b, v" #J ".8b\n"                    \
    "smull v12.8h, v0.8b, v" #K ".8b\n smull v13.8h, v1.8b, v" #K ".8b\n"                    \
    "smull v14.8h, v2.8b, v" #K ".8b\n smull v15.8h, v3.8b, v" #K ".8b\n"                    \
    "smlal2 v8.8h, v0.16b, v" #J ".16b\n smlal2 v9.8h, v1.16b, v" #J ".16b\n"                \
    "smlal2 v10.8h, v2.16b, v" #J ".16b\n smlal2 v11.8h, v3.16b, v" #J ".16b\n"              \
    "smlal2 v12.8h, v0.16b, v" #K ".16b\n smlal2 v13.8h, v1.16b, v" #K ".16b\n"              \
    "smlal2 v14.8h, v2.16b, v" #K ".16b\n smlal2 v15.8h, v3.16b, v" #K ".16b\n"
#define WB_ACC(C0, C1, C2, C3, D0, D1, D2, D3) \
    "sadalp %[" #C0 "].4s, v8.8h\n sadalp %[" #C1 "].4s, v9.8h\n"                           \
    "sadalp %[" #C2 "].4s, v10.8h\n sadalp %[" #C3 "].4s, v11.8h\n"                         \
    "sadalp %[" #D0 "].4s, v12.8h\n sadalp %[" #D1 "].4s, v13.8h\n"                         \
    "sadalp %[" #D2 "].4s, v14.8h\n sadalp %[" #D3 "].4s, v15.8h\n"
/* a block of 16 k that loads the next one (W at w + 64, A at a_i + 16) */
#define WB_BLOCK_LOAD \
    "smull v8.8h, v0.8b, v4.8b\n smull v9.8h, v1.8b, v4.8b\n"          \
    "smull v10.8h, v2.8b, v4.8b\n smull v11.8h, v3.8b, v4.8b\n"        \
    "smull v12.8h, v0.8b, v5.8b\n smull v13.8h, v1.8b, v5.8b\n"        \
    "smull v14.8h, v2.8b, v5.8b\n smull v15.8h, v3.8b, v5.8b\n"        \
    "smlal2 v8.8h, v0.16b, v4.16b\n smlal2 v9.8h, v1.16b, v4.16b\n"    \
    "smlal2 v10.8h, v2.16b, v4.16b\n smlal2 v11.8h, v3.16b, v4.16b\n"  \
    "smlal2 v12.8h, v0.16b, v5.16b\n smlal2 v13.8h, v1.16b, v5.16b\n"  \
    "smlal2 v14.8h, v2.16b, v5.16b\n smlal2 v15.8h, v3.16b, v5.16b\n"  \
    "sadalp %[c00].4s, v8.8h\n ldr q4, [%[w], #64]\n"                  \
    "sadalp %[c10].4s, v9.8h\n ldr q5, [%[w], #80]\n"                  \
    "sadalp %[c20].4s, v10.8h\n sadalp %[c30].4s, v11.8h\n"            \
    "sadalp %[c01].4s, v12.8h\n sadalp %[c11].4s, v13.8h\n"            \
    "sadalp %[c21].4s, v14.8h\n sadalp %[c31].4s, v15.8h\n"            \
    "smull v8.8h, v0.8b, v6.8b\n smull v9.8h, v1.8b, v6.8b\n"          \
    "smull v10.8h, v2.8b, v6.8b\n smull v11.8h, v3.8b, v6.8b\n"        \
    "smull v12.8h, v0.8b, v7.8b\n smull v13.8h, v1.8b, v7.8b\n"        \
    "smull v14.8h, v2.8b, v7.8b\n smull v15.8h, v3.8b, v7.8b\n"        \
    "smlal2 v8.8h, v0.16b, v6.16b\n smlal2 v9.8h, v1.16b, v6.16b\n"    \
    "smlal2 v10.8h, v2.16b, v6.16b\n smlal2 v11.8h, v3.16b, v6.16b\n"  \
    "smlal2 v12.8h, v0.16b, v7.16b\n smlal2 v13.8h, v1.16b, v7.16b\n"  \
    "smlal2 v14.8h, v2.16b, v7.16b\n smlal2 v15.8h, v3.16b, v7.16b\n"  \
    "sadalp %[c02].4s, v8.8h\n ldr q0, [%[a0], #16]\n"                 \
    "ldr q1, [%[a1], #16]\n sadalp %[c12].4s, v9.8h\n"                 \
    "ldr q2, [%[a2], #16]\n ldr q3, [%[a3], #16]\n"                    \
    "sadalp %[c22].4s, v10.8h\n ldr q6, [%[w], #96]\n"                 \
    "ldr q7, [%[w], #112]\n sadalp %[c32].4s, v11.8h\n"                \
    "add %[a0], %[a0], #16\n add %[a1], %[a1], #16\n"                  \
    "sadalp %[c03].4s, v12.8h\n add %[a2], %[a2], #16\n"               \
    "add %[a3], %[a3], #16\n sadalp %[c13].4s, v13.8h\n"               \
    "add %[w], %[w], #64\n sadalp %[c23].4s, v14.8h\n"                 \
    "sadalp %[c33].4s, v15.8h\n"
#define WB_BLOCK_LAST \
    WB_MUL(4, 5) WB_ACC(c00, c10, c20, c30, c01, c11, c21, c31)                              \
    WB_MUL(6, 7) WB_ACC(c02, c12, c22, c32, c03, c13, c23, c33)
#endif

void wb_q8_gemm_a53_ukernel_4x4c16__neon(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
                                         size_t a_stride, const int8_t *restrict w,
                                         int8_t *restrict c, size_t c_stride, wb_q8_rq rq)
{
#if defined(__aarch64__)
    const int8_t *a0 = a;
    const int8_t *a1 = mr > 1 ? a0 + a_stride : a0;
    const int8_t *a2 = mr > 2 ? a1 + a_stride : a1;
    const int8_t *a3 = mr > 3 ? a2 + a_stride : a2;
    size_t blocks = kc / 16;
    /* outputs only (an in-out operand counts twice against gcc's 30): zeroed in the asm */
    register int32x4_t c00 __asm__("v16"), c10 __asm__("v17"), c20 __asm__("v18"), c30 __asm__("v19");
    register int32x4_t c01 __asm__("v20"), c11 __asm__("v21"), c21 __asm__("v22"), c31 __asm__("v23");
    register int32x4_t c02 __asm__("v24"), c12 __asm__("v25"), c22 __asm__("v26"), c32 __asm__("v27");
    register int32x4_t c03 __asm__("v28"), c13 __asm__("v29"), c23 __asm__("v30"), c33 __asm__("v31");
    __asm__ volatile(
        "movi %[c00].4s, #0\n movi %[c10].4s, #0\n movi %[c20].4s, #0\n movi %[c30].4s, #0\n"
        "movi %[c01].4s, #0\n movi %[c11].4s, #0\n movi %[c21].4s, #0\n movi %[c31].4s, #0\n"
        "movi %[c02].4s, #0\n movi %[c12].4s, #0\n movi %[c22].4s, #0\n movi %[c32].4s, #0\n"
        "movi %[c03].4s, #0\n movi %[c13].4s, #0\n movi %[c23].4s, #0\n movi %[c33].4s, #0\n"
        "ldr q0, [%[a0]]\n ldr q1, [%[a1]]\n ldr q2, [%[a2]]\n ldr q3, [%[a3]]\n"
        "ldr q4, [%[w]]\n ldr q5, [%[w], #16]\n ldr q6, [%[w], #32]\n ldr q7, [%[w], #48]\n"
        "subs %[blocks], %[blocks], #1\n b.eq 2f\n"
        "1:\n" WB_BLOCK_LOAD
        "subs %[blocks], %[blocks], #1\n b.ne 1b\n"
        "2:\n" WB_BLOCK_LAST
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w] "+r"(w),
          [blocks] "+r"(blocks), [c00] "=w"(c00), [c10] "=w"(c10), [c20] "=w"(c20),
          [c30] "=w"(c30), [c01] "=w"(c01), [c11] "=w"(c11), [c21] "=w"(c21), [c31] "=w"(c31),
          [c02] "=w"(c02), [c12] "=w"(c12), [c22] "=w"(c22), [c32] "=w"(c32), [c03] "=w"(c03),
          [c13] "=w"(c13), [c23] "=w"(c23), [c33] "=w"(c33)
        :
        : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
          "v14", "v15", "cc", "memory");
    /* Row i: [sum c_i0, sum c_i1, sum c_i2, sum c_i3] by two rounds of pairwise adds. */
    const int32x4_t r0 = vpaddq_s32(vpaddq_s32(c00, c01), vpaddq_s32(c02, c03));
    const int32x4_t r1 = vpaddq_s32(vpaddq_s32(c10, c11), vpaddq_s32(c12, c13));
    const int32x4_t r2 = vpaddq_s32(vpaddq_s32(c20, c21), vpaddq_s32(c22, c23));
    const int32x4_t r3 = vpaddq_s32(vpaddq_s32(c30, c31), vpaddq_s32(c32, c33));
    int8_t t[16];
    vst1_s8(t, wb_q8_requant_rq(r0, r1, rq.mult, rq.b));
    vst1_s8(t + 8, wb_q8_requant_rq(r2, r3, rq.mult, rq.b));
    for (size_t i = 0; i < mr; i++)
        memcpy(c + i * c_stride, t + 4 * i, nc);
#else
    wb_q8_gemm_ukernel_4x4c16__neon(mr, nc, kc, a, a_stride, w, c, c_stride, rq);
#endif
}
