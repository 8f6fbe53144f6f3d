/* Prototypes of the int8 micro-kernels (dtype q8: symmetric int8, int32 accumulation, int or fp32
 * requantization). Names follow the grammar in kernels_c/README.md: the file
 * <dtype>-<op>-<shape>[-<variant>]-<isa>.c defines wb_<dtype>_<op>[_<variant>]_ukernel_<shape>__<isa>;
 * the variant word `int` marks a tile transform's int requantization form (the others: fp32). */
#ifndef WB_Q8_UKERNELS_H
#define WB_Q8_UKERNELS_H

#include <stddef.h>
#include <stdint.h>

/* One stage's requantization (bench/numerics/reference.py steps 2 and 8): the fp32 form's
 * multiplier, or the int form's b as SQRDMULH takes it at 32-bit lanes (a stage at L = 16 bits
 * has b16 << 16: the same products; 0 in the fp32 form) and, for int64 values, the rounding shift
 * to int32 that comes first. A tile transform is compiled for one form; the GEMMs take either
 * (b == 0: fp32). */
typedef struct wb_q8_rq {
    float mult;
    int32_t b;
    int32_t shift;
} wb_q8_rq;

/* GEMM register block: MR rows of A (pixels or tiles) x NR columns (output channels), K consumed
 * 16 int8 at a time ("c16"): each step is SMULL (8 products into int16), SMLAL2 (8 more: two
 * products per int16 lane, at most 2 * 127 * 127 = 32258 since -128 is never used), SADALP
 * (pairwise add into int32). 16 int32x4 accumulators, 4 + 4 operand registers. */
#define WB_Q8_GEMM_MR 4
#define WB_Q8_GEMM_NR 4
#define WB_Q8_GEMM_KSTEP 16 /* K is zero-padded to a multiple of this */

/* C[mr x nc] (int8) = requant(A[mr x kc] * W[kc x nc], rq) (int32 sums: the int form at 32-bit
 * lanes). A: rows of kc int8 at a_stride bytes. W: one packed panel
 * (wb_q8_packb_ukernel_x4c16__scalar). C: row i at c + i*c_stride. kc % 16 == 0, 1 <= mr <= 4,
 * 1 <= nc <= 4. */
void wb_q8_gemm_ukernel_4x4c16__neon(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
                                     size_t a_stride, const int8_t *restrict w,
                                     int8_t *restrict c, size_t c_stride, wb_q8_rq rq);

/* One row (mr must be 1): for single tiles and 1-row remainders. */
void wb_q8_gemm_ukernel_1x4c16__neon(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
                                     size_t a_stride, const int8_t *restrict w,
                                     int8_t *restrict c, size_t c_stride, wb_q8_rq rq);

/* The same with SDOT (ARMv8.2 dot product), compiled only with -mcpu=...+dotprod. */
void wb_q8_gemm_ukernel_4x4c16__neondot(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
                                        size_t a_stride, const int8_t *restrict w,
                                        int8_t *restrict c, size_t c_stride, wb_q8_rq rq);

/* The same for in-order cores (A53/A55): the loop scheduled in inline asm. */
void wb_q8_gemm_a53_ukernel_4x4c16__neon(size_t mr, size_t nc, size_t kc, const int8_t *restrict a,
                                          size_t a_stride, const int8_t *restrict w,
                                          int8_t *restrict c, size_t c_stride, wb_q8_rq rq);

/* The micro-kernel of this build: neondot where the compiler targets the dot product; for the
 * in-order cores (bench/native/build.py defines WB_INORDER_CORE for -mcpu cortex-a35/a53/a55) the
 * a53 kernel, as XNNPACK and ncnn pick GEMMs per core class. */
#if defined(__ARM_FEATURE_DOTPROD)
#define WB_Q8_GEMM_UKERNEL wb_q8_gemm_ukernel_4x4c16__neondot
#elif defined(WB_INORDER_CORE) && WB_INORDER_CORE
#define WB_Q8_GEMM_UKERNEL wb_q8_gemm_a53_ukernel_4x4c16__neon
#else
#define WB_Q8_GEMM_UKERNEL wb_q8_gemm_ukernel_4x4c16__neon
#endif

/* Packs a k x n row-major int8 matrix b (row stride b_stride) into ceil(n/4) panels of
 * k16 = round_up(k, 16) rows: panel j holds, per 16-row block, 4 columns x 16 k values.
 * Rows past k and columns past n are zero. */
void wb_q8_packb_ukernel_x4c16__scalar(size_t k, size_t n, const int8_t *b, size_t b_stride,
                                       int8_t *packed);

/* The GEMM stage: C = requant(A * packed W) for rows [m0, m1); A rows at lda, C rows at ldc. */
void wb_q8_gemm(size_t m0, size_t m1, size_t n, size_t k16, const int8_t *a, size_t lda,
                const int8_t *wpacked, int8_t *c, size_t ldc, wb_q8_rq rq);

/* im2row patch packing: wb_im2row.h. */

/* An integer transform matrix (rows x a, row-major) for the dense ("learned") kernels, with the
 * lane width of each 1-D pass chosen at plan time from the scheme's bound: 16-bit lanes when
 * 127 * (max row L1) fits int16 (first pass) or 127 * (max row L1)^2 does (second pass), 32-bit
 * lanes otherwise. */
typedef struct wb_q8_tmat {
    int rows, a;
    int lanes1, lanes2; /* 16 or 32 */
    int16_t m16[64];    /* the same entries as int16 (|entry| <= 4096 always fits) */
    int32_t m32[64];
} wb_q8_tmat;

/* Winograd tile transforms, one tile at a time, 8 channels per step (channels % 8 == 0).
 * Input: pixel (i, j) of the a x a tile is at x + i*x_row + j*x_px (a zero-padded buffer);
 * writes V8 = requant(BTq d BTq^T), position p = i*a + j, to v + p*v_stride.
 * Output: reads P8 at p8 + p*p_stride for the a*a positions, writes Y8 = requant(ATq P8 ATq^T),
 * output pixel (i, j) of the m x m tile to out[i*m + j]. tm: the learned kernels' matrix,
 * ignored by the static ones. rq: the kernel's form reads mult (fp32) or b (int, at the lane width
 * of its last pass, tm->lanes2 for the learned ones). */
typedef void (*wb_q8_winoin_fn)(size_t channels, const int8_t *x, size_t x_row, size_t x_px,
                                int8_t *v, size_t v_stride, wb_q8_rq rq, const wb_q8_tmat *tm);
typedef void (*wb_q8_winoout_fn)(size_t channels, const int8_t *p8, size_t p_stride,
                                 int8_t *const *out, wb_q8_rq rq, const wb_q8_tmat *tm);

#define WB_Q8_WINOIN(name) \
    void name(size_t, const int8_t *, size_t, size_t, int8_t *, size_t, wb_q8_rq, const wb_q8_tmat *)
#define WB_Q8_WINOOUT(name) \
    void name(size_t, const int8_t *, size_t, int8_t *const *, wb_q8_rq, const wb_q8_tmat *)

WB_Q8_WINOIN(wb_q8_winoin_static_ukernel_f2__neon);
WB_Q8_WINOIN(wb_q8_winoin_static_ukernel_f4__neon);
WB_Q8_WINOIN(wb_q8_winoin_static_ukernel_f6__neon);
WB_Q8_WINOIN(wb_q8_winoin_learned_ukernel_f2__neon);
WB_Q8_WINOIN(wb_q8_winoin_learned_ukernel_f4__neon);
WB_Q8_WINOIN(wb_q8_winoin_learned_ukernel_f6__neon);
WB_Q8_WINOOUT(wb_q8_winoout_static_ukernel_f2__neon);
WB_Q8_WINOOUT(wb_q8_winoout_static_ukernel_f4__neon);
WB_Q8_WINOOUT(wb_q8_winoout_static_ukernel_f6__neon);
WB_Q8_WINOOUT(wb_q8_winoout_learned_ukernel_f2__neon);
WB_Q8_WINOOUT(wb_q8_winoout_learned_ukernel_f4__neon);
WB_Q8_WINOOUT(wb_q8_winoout_learned_ukernel_f6__neon);
WB_Q8_WINOIN(wb_q8_winoin_static_int_ukernel_f2__neon);
WB_Q8_WINOIN(wb_q8_winoin_static_int_ukernel_f4__neon);
WB_Q8_WINOIN(wb_q8_winoin_static_int_ukernel_f6__neon);
WB_Q8_WINOIN(wb_q8_winoin_learned_int_ukernel_f2__neon);
WB_Q8_WINOIN(wb_q8_winoin_learned_int_ukernel_f4__neon);
WB_Q8_WINOIN(wb_q8_winoin_learned_int_ukernel_f6__neon);
WB_Q8_WINOOUT(wb_q8_winoout_static_int_ukernel_f2__neon);
WB_Q8_WINOOUT(wb_q8_winoout_static_int_ukernel_f4__neon);
WB_Q8_WINOOUT(wb_q8_winoout_static_int_ukernel_f6__neon);
WB_Q8_WINOOUT(wb_q8_winoout_learned_int_ukernel_f2__neon);
WB_Q8_WINOOUT(wb_q8_winoout_learned_int_ukernel_f4__neon);
WB_Q8_WINOOUT(wb_q8_winoout_learned_int_ukernel_f6__neon);

/* ---- the tap and wide schemes (bench/numerics/reference.py, steps 6 and 7) ---------------------------- */

/* Winograd input tile, V = BTq d BTq^T exact in int32 lanes, 8 channels per step, then per
 * position p: tap stores int8 requant(V, mult[p]) to (int8_t *)v + p*v_stride; wide stores int16
 * rshift(V, shift) to (int16_t *)v + p*v_stride (strides in elements). bt: BTq (a x a) row-major.
 * mult: per position, float (fp32 form) or int32 b (int form; at 16-bit lanes where the kernel's
 * second pass is 16-bit). */
typedef void (*wb_q8_sin_fn)(size_t channels, const int8_t *x, size_t x_row, size_t x_px, void *v,
                             size_t v_stride, const void *mult, int shift, const int32_t *bt);
/* Winograd output tile: Z[p] = tap: P8[p] * sq[p] (p8 int8), wide: M'[p] (p8 int32), positions
 * p_stride elements apart; Y = rshift(ATq Z, s1) ATq^T in int64 lanes, out[i*m + j] = requant(Y,
 * rq) (the int form: rq.shift to int32, then SQRDMULH at 32 bits); sq: int32 Sq[a*a]. The int
 * form's int32 kernels (bench/numerics/reference.py step 8, L1A^2 <= 512) make Y = ATq Z ATq^T in
 * int32 lanes, take no s1 and read sq as int16 Sq transposed (column l at 8 l, row k at lane k).
 * at: ATq (m x a) row-major. */
typedef void (*wb_q8_sout_fn)(size_t channels, const void *p8, size_t p_stride, const void *sq,
                              int s1, int8_t *const *out, wb_q8_rq rq, const int32_t *at);

#define WB_Q8_SIN(name)                                                                            \
    void name(size_t, const int8_t *, size_t, size_t, void *, size_t, const void *, int,           \
              const int32_t *)
#define WB_Q8_SOUT(name)                                                                           \
    void name(size_t, const void *, size_t, const void *, int, int8_t *const *, wb_q8_rq,          \
              const int32_t *)

WB_Q8_SIN(wb_q8_winoin_tap_static_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_tap_static_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_tap_static_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_wide_static_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_wide_learned_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_wide_static_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_wide_learned_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_wide_static_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_wide_learned_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_ukernel_f6__neon);
/* wide with row scales (step 9), fp32 form: sq is the float multiplier of each output position */
WB_Q8_SOUT(wb_q8_winoout_wide_learned_rows_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_rows_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_rows_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_tap_static_int_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_int_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_tap_static_int_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_int_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_tap_static_int_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_int_ukernel_f6__neon);
/* the int form's outputs: static F2/F4 int32 lanes, F6 int64 lanes; learned ones both, the plan
 * picks by the rule (int: int32 lanes, int64: the fallback) */
WB_Q8_SOUT(wb_q8_winoout_tap_static_int_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_int_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_int_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_int_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_int_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_int_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_int64_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_int64_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_int64_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_int_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_int_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_int_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int64_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int64_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int64_ukernel_f6__neon);
/* wide with row scales in the int form: sq is the int32 rounding shift of each output position */
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int64_rows_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int64_rows_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_int64_rows_ukernel_f6__neon);

/* int16 GEMM block: C[mr x nc] (int32) = rshift(A[mr x kc] * W[kc x nc], shift). A: int16 rows
 * at a_stride elements; W: one panel of wb_q8_packb_s16_ukernel_x8__scalar; kc % 8 == 0,
 * 1 <= mr <= 4, 1 <= nc <= 8. SMLAL/SMLAL2 by lane (ARMv8.0), 8 int32x4 accumulators. */
void wb_q8_gemm_s16_ukernel_4x8__neon(size_t mr, size_t nc, size_t kc, const int16_t *restrict a,
                                      size_t a_stride, const int16_t *restrict w,
                                      int32_t *restrict c, size_t c_stride, int shift);
/* One row (mr must be 1): single-tile layers and 1-row remainders. */
void wb_q8_gemm_s16_ukernel_1x8__neon(size_t mr, size_t nc, size_t kc, const int16_t *restrict a,
                                      size_t a_stride, const int16_t *restrict w,
                                      int32_t *restrict c, size_t c_stride, int shift);
/* k x n int16 (row stride b_stride) -> ceil(n/8) panels of round_up(k, 8) rows x 8 columns. */
void wb_q8_packb_s16_ukernel_x8__scalar(size_t k, size_t n, const int16_t *b, size_t b_stride,
                                        int16_t *packed);

#endif
