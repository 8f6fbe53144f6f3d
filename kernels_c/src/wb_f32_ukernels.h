/* Prototypes of the fp32 micro-kernels. Names follow the grammar in kernels_c/README.md: the file
 * <dtype>-<op>-<shape>[-<variant>]-<isa>.c defines wb_<dtype>_<op>[_<variant>]_ukernel_<shape>__<isa>. */
#ifndef WB_F32_UKERNELS_H
#define WB_F32_UKERNELS_H

#include <stddef.h>

/* GEMM register block: MR rows of A (pixels or tiles) x NR columns (output channels). */
#define WB_F32_GEMM_MR 8
#define WB_F32_GEMM_NR 8
#define WB_F32_GEMM_KSTEP 4 /* K is zero-padded to a multiple of this */

/* The family: 8x8 for full blocks, 4x8 and 1x8 for row remainders (same packed W). */
typedef void (*wb_f32_gemm_fn)(size_t mr, size_t nc, size_t kc, const float *restrict a,
                               size_t a_stride, const float *restrict w, float *restrict c,
                               size_t c_stride);
void wb_f32_gemm_ukernel_8x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                   size_t a_stride, const float *restrict w, float *restrict c,
                                   size_t c_stride);
/* The 8x8 block for in-order cores (A53/A55): 64-bit loads that dual-issue with FMLA. */
void wb_f32_gemm_ld64_ukernel_8x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                        size_t a_stride, const float *restrict w, float *restrict c,
                                        size_t c_stride);
/* The build's 8x8 block, chosen by its -mcpu (bench/native/build.py defines WB_INORDER_CORE for
 * in-order cores), as XNNPACK and ncnn pick GEMMs per core class. */
#if defined(WB_INORDER_CORE) && WB_INORDER_CORE
#define WB_F32_GEMM_UKERNEL_8X8 wb_f32_gemm_ld64_ukernel_8x8__neon
#else
#define WB_F32_GEMM_UKERNEL_8X8 wb_f32_gemm_ukernel_8x8__neon
#endif
void wb_f32_gemm_ukernel_4x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                   size_t a_stride, const float *restrict w, float *restrict c,
                                   size_t c_stride);
void wb_f32_gemm_ukernel_1x8__neon(size_t mr, size_t nc, size_t kc, const float *restrict a,
                                   size_t a_stride, const float *restrict w, float *restrict c,
                                   size_t c_stride);

/* Packs a k x n row-major matrix b (row stride b_stride) into ceil(n/8) panels of k rows x 8
 * columns, panel after panel; columns past n are zero. */
void wb_f32_packb_ukernel_x8__scalar(size_t k, size_t n, const float *b, size_t b_stride,
                                     float *packed);

/* im2row patch packing: wb_im2row.h. */

/* The GEMM stage: C[m x n] = A[m x k] * packed W (panels from packb, k % 4 == 0), for the rows
 * [m0, m1) of A and C; rows of A at lda, of C at ldc (floats). Blocks M so that the rows of A in
 * use stay in L2 while each 8-column panel of W stays in L1. */
void wb_f32_gemm(size_t m0, size_t m1, size_t n, size_t k, const float *a, size_t lda,
                 const float *wpacked, float *c, size_t ldc);

/* Winograd tile transforms, one tile at a time, 4 channels per step (channels % 4 == 0).
 * Input: in[i*a + j] points at the channels of input pixel (i, j) of the a x a tile (a zero
 * buffer outside the image); writes V = BT d B, position p = i*a + j, to v + p*v_stride.
 * Output: reads M at mm + p*m_stride for the a*a positions, writes Y = AT M A, output pixel
 * (i, j) of the m x m tile to out[i*m + j] (a scratch buffer where the tile overhangs).
 * bt/at: float row-major matrices, used by the learned (dense) kernels, ignored by static ones. */
typedef void (*wb_f32_winoin_fn)(size_t channels, const float *const *in, float *v,
                                 size_t v_stride, const float *bt);
typedef void (*wb_f32_winoout_fn)(size_t channels, const float *mm, size_t m_stride,
                                  float *const *out, const float *at);

void wb_f32_winoin_static_ukernel_f2__neon(size_t, const float *const *, float *, size_t, const float *);
void wb_f32_winoin_static_ukernel_f4__neon(size_t, const float *const *, float *, size_t, const float *);
void wb_f32_winoin_static_ukernel_f6__neon(size_t, const float *const *, float *, size_t, const float *);
void wb_f32_winoin_learned_ukernel_f2__neon(size_t, const float *const *, float *, size_t, const float *);
void wb_f32_winoin_learned_ukernel_f4__neon(size_t, const float *const *, float *, size_t, const float *);
void wb_f32_winoin_learned_ukernel_f6__neon(size_t, const float *const *, float *, size_t, const float *);

void wb_f32_winoout_static_ukernel_f2__neon(size_t, const float *, size_t, float *const *, const float *);
void wb_f32_winoout_static_ukernel_f4__neon(size_t, const float *, size_t, float *const *, const float *);
void wb_f32_winoout_static_ukernel_f6__neon(size_t, const float *, size_t, float *const *, const float *);
void wb_f32_winoout_learned_ukernel_f2__neon(size_t, const float *, size_t, float *const *, const float *);
void wb_f32_winoout_learned_ukernel_f4__neon(size_t, const float *, size_t, float *const *, const float *);
void wb_f32_winoout_learned_ukernel_f6__neon(size_t, const float *, size_t, float *const *, const float *);

#endif
