/* wb_f32_gemm_ld64_ukernel_8x8__neon: the 8x8 GEMM block for in-order cores (Cortex-A53/A55).
 * Same contract, packed W and accumulation order (so the same bits) as f32-gemm-8x8-neon.c.
 *
 * The A53 issues a 128-bit load (LDR q / LD1 .4s) alone for two cycles. A 64-bit LDR d takes one
 * cycle, shared with an INS v.d[i], x; LDR x and pointer updates pair with an FMLA (ncnn's
 * docs/developer-guide/arm-a53-a55-dual-issue.md; XNNPACK's *-cortex-a53 GEMMs load this way).
 * So A is read 2 k at a time (FMLA by lanes 0 and 1), rows 0-3 as LDR d, rows 4-7 as LDR x +
 * INS v.d[0]; each 4-float vector of W as LDR d + LDR x + INS v.d[1]: per pair of k, 8 LDR d and
 * 8 INS share 8 cycles beside 32 FMLA (80% of peak by these rules, against 65% for the
 * 128-bit-load kernel).
 * gcc turns such intrinsics back into 128-bit or lane loads, hence the inline asm (aarch64 only;
 * other targets call the 8x8 kernel, which gives the same bits).
 *
 * Software-pipelined over pairs of k: lane 0's FMLAs load W's next k (v10, v11), lane 1's FMLAs
 * load the next pair's A (v0-v7, each row right after its last use) and W (v8, v9). The last
 * pair runs outside the loop without those loads, so nothing past A's rows or W is read. */
#include <stddef.h>
#include <string.h>

#include "wb_neon.h"
#include "wb_f32_ukernels.h"

#if defined(__aarch64__)
/* Lane 0 with W's k in v8/v9, loading W's k+1 into v10/v11 (x11, x12: their high halves). */
#define WB_LANE0                                                                                  \
    "fmla v16.4s, v8.4s, v0.s[0]\n ldr d10, [%[w], #32]\n fmla v17.4s, v9.4s, v0.s[0]\n"          \
    "ldr x11, [%[w], #40]\n fmla v18.4s, v8.4s, v1.s[0]\n ldr d11, [%[w], #48]\n"                 \
    "fmla v19.4s, v9.4s, v1.s[0]\n ldr x12, [%[w], #56]\n fmla v20.4s, v8.4s, v2.s[0]\n"          \
    "fmla v21.4s, v9.4s, v2.s[0]\n fmla v22.4s, v8.4s, v3.s[0]\n ins v10.d[1], x11\n"             \
    "fmla v23.4s, v9.4s, v3.s[0]\n ins v11.d[1], x12\n fmla v24.4s, v8.4s, v4.s[0]\n"             \
    "fmla v25.4s, v9.4s, v4.s[0]\n fmla v26.4s, v8.4s, v5.s[0]\n fmla v27.4s, v9.4s, v5.s[0]\n"   \
    "fmla v28.4s, v8.4s, v6.s[0]\n fmla v29.4s, v9.4s, v6.s[0]\n fmla v30.4s, v8.4s, v7.s[0]\n"   \
    "fmla v31.4s, v9.4s, v7.s[0]\n add %[w], %[w], #64\n"
/* Row R's two FMLAs of lane 1 with W's k+1 in v10/v11. */
#define WB_LANE1(R, L, H) "fmla v" #L ".4s, v10.4s, v" #R ".s[1]\n fmla v" #H ".4s, v11.4s, v" #R ".s[1]\n"
#endif

void wb_f32_gemm_ld64_ukernel_8x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                        size_t a_stride, const float *restrict w, float *restrict c,
                                        size_t c_stride)
{
#if defined(__aarch64__)
    const float *a0 = a;
    const float *a1 = mr > 1 ? a0 + a_stride : a0;
    const float *a2 = mr > 2 ? a1 + a_stride : a1;
    const float *a3 = mr > 3 ? a2 + a_stride : a2;
    const float *a4 = mr > 4 ? a3 + a_stride : a3;
    const float *a5 = mr > 5 ? a4 + a_stride : a4;
    const float *a6 = mr > 6 ? a5 + a_stride : a5;
    const float *a7 = mr > 7 ? a6 + a_stride : a6;
    size_t pairs = kc / 2;
    float t[64], *tp = t; /* the block, row i at t + 8*i */

    __asm__ volatile(
        "movi v16.4s, #0\n movi v17.4s, #0\n movi v18.4s, #0\n movi v19.4s, #0\n"
        "movi v20.4s, #0\n movi v21.4s, #0\n movi v22.4s, #0\n movi v23.4s, #0\n"
        "movi v24.4s, #0\n movi v25.4s, #0\n movi v26.4s, #0\n movi v27.4s, #0\n"
        "movi v28.4s, #0\n movi v29.4s, #0\n movi v30.4s, #0\n movi v31.4s, #0\n"
        "ldr d0, [%[a0]], #8\n ldr d1, [%[a1]], #8\n ldr d2, [%[a2]], #8\n ldr d3, [%[a3]], #8\n"
        "ldr d4, [%[a4]], #8\n ldr d5, [%[a5]], #8\n ldr d6, [%[a6]], #8\n ldr d7, [%[a7]], #8\n"
        "ldr d8, [%[w]]\n ldr x9, [%[w], #8]\n ldr d9, [%[w], #16]\n ldr x10, [%[w], #24]\n"
        "ins v8.d[1], x9\n ins v9.d[1], x10\n"
        "subs %[pairs], %[pairs], #1\n b.eq 2f\n"
        "1:\n" WB_LANE0
        WB_LANE1(0, 16, 17) "ldr d8, [%[w]]\n ldr d0, [%[a0]], #8\n ldr x13, [%[a4]], #8\n"
        WB_LANE1(1, 18, 19) "ldr x9, [%[w], #8]\n ldr d1, [%[a1]], #8\n ldr x14, [%[a5]], #8\n"
        WB_LANE1(2, 20, 21) "ldr d9, [%[w], #16]\n ldr d2, [%[a2]], #8\n ldr x15, [%[a6]], #8\n"
        WB_LANE1(3, 22, 23) "ldr x10, [%[w], #24]\n ldr d3, [%[a3]], #8\n ldr x16, [%[a7]], #8\n"
        WB_LANE1(4, 24, 25) "ins v8.d[1], x9\n ins v4.d[0], x13\n"
        WB_LANE1(5, 26, 27) "ins v9.d[1], x10\n ins v5.d[0], x14\n"
        WB_LANE1(6, 28, 29) "ins v6.d[0], x15\n subs %[pairs], %[pairs], #1\n"
        WB_LANE1(7, 30, 31) "ins v7.d[0], x16\n b.ne 1b\n"
        "2:\n" WB_LANE0
        WB_LANE1(0, 16, 17) WB_LANE1(1, 18, 19) WB_LANE1(2, 20, 21) WB_LANE1(3, 22, 23)
        WB_LANE1(4, 24, 25) WB_LANE1(5, 26, 27) WB_LANE1(6, 28, 29) WB_LANE1(7, 30, 31)
        "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[t]], #64\n"
        "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[t]], #64\n"
        "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[t]], #64\n"
        "st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[t]], #64\n"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4),
          [a5] "+r"(a5), [a6] "+r"(a6), [a7] "+r"(a7), [w] "+r"(w), [pairs] "+r"(pairs),
          [t] "+r"(tp)
        :
        : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v16", "v17",
          "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
          "v31", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "cc", "memory");
    for (size_t i = 0; i < mr; i++)
        memcpy(c + i * c_stride, t + 8 * i, nc * sizeof(float));
#else
    wb_f32_gemm_ukernel_8x8__neon(mr, nc, kc, a, a_stride, w, c, c_stride);
#endif
}
