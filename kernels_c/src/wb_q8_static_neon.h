/* The sparse 1-D input transforms of the default int8 matrices in 16-bit lanes (F2, F4: both passes
 * fit int16), shared by every scheme's static input kernel that takes the tile template
 * q8-winoin-neon.inc (WB_PASS16). Each carries its dense matrix in a comment; the matrices are
 * those of kernels.toml's q8_default_matrices. Private to the q8 sources. */
#ifndef WB_Q8_STATIC_NEON_H
#define WB_Q8_STATIC_NEON_H

#include "wb_q8_neon.h"

/*         [-1  0  1  0 ]
 *   BTq = [ 0  1  1  0 ]      F(2x2,3x3), points 0, 1, -1 (k = 0): |V| <= 127 * 2^2 = 508
 *         [ 0 -1  1  0 ]
 *         [ 0 -1  0  1 ] */
static inline void wb_q8_bt2_s16(const int16x8_t *d, int16x8_t *r)
{
    r[0] = vsubq_s16(d[2], d[0]);
    r[1] = vaddq_s16(d[1], d[2]);
    r[2] = vsubq_s16(d[2], d[1]);
    r[3] = vsubq_s16(d[3], d[1]);
}

/*         [ 4  0 -5  0  1  0 ]
 *         [ 0 -4 -4  1  1  0 ]
 *   BTq = [ 0  4 -4 -1  1  0 ]    F(4x4,3x3), points 0, 1, -1, 2, -2 (k = 0); rows 1/2 and 3/4
 *         [ 0 -2 -1  2  1  0 ]    are sum/difference pairs of shared terms. Max row L1 = 10:
 *         [ 0  2 -1 -2  1  0 ]    |pass 1| <= 1270, |V| <= 12700: both passes in 16-bit lanes
 *         [ 0  4  0 -5  0  1 ] */
/* In-order cores (A53: MLA by element issues in one slot) take the products by 4 and 2 as
 * multiply-accumulates; A57/A72/A73-class ones shifts and adds, which spread over both vector pipes
 * (MLA is F0 only). The same integers either way. */
#if !defined(WB_Q8_BT4_MLA) && defined(WB_INORDER_CORE) && WB_INORDER_CORE
#define WB_Q8_BT4_MLA 1
#elif !defined(WB_Q8_BT4_MLA)
#define WB_Q8_BT4_MLA 0
#endif
static inline void wb_q8_bt4_s16(const int16x8_t *d, int16x8_t *r)
{
#if WB_Q8_BT4_MLA
    const int16x8_t s12 = vaddq_s16(d[1], d[2]), s34 = vaddq_s16(d[3], d[4]);
    const int16x8_t m12 = vsubq_s16(d[1], d[2]), m43 = vsubq_s16(d[4], d[3]);
    const int16x8_t d42 = vsubq_s16(d[4], d[2]), d31 = vsubq_s16(d[3], d[1]);
    r[0] = vmlsq_n_s16(vaddq_s16(vshlq_n_s16(d[0], 2), d[4]), d[2], 5);
    r[1] = vmlsq_n_s16(s34, s12, 4);
    r[2] = vmlaq_n_s16(m43, m12, 4);
    r[3] = vmlaq_n_s16(d42, d31, 2);
    r[4] = vmlsq_n_s16(d42, d31, 2);
    r[5] = vmlsq_n_s16(vaddq_s16(vshlq_n_s16(d[1], 2), d[5]), d[3], 5);
    return;
#endif
    const int16x8_t d4m2 = vsubq_s16(d[4], d[2]), d3m1 = vsubq_s16(d[3], d[1]);
    r[0] = vmlsq_n_s16(vaddq_s16(vshlq_n_s16(d[0], 2), d[4]), d[2], 5);               /* 4d0 - 5d2 + d4 */
    r[1] = vsubq_s16(vaddq_s16(d[3], d[4]), vshlq_n_s16(vaddq_s16(d[1], d[2]), 2));   /* d3+d4 - 4(d1+d2) */
    r[2] = vaddq_s16(vsubq_s16(d[4], d[3]), vshlq_n_s16(vsubq_s16(d[1], d[2]), 2));   /* d4-d3 + 4(d1-d2) */
    r[3] = vaddq_s16(d4m2, vshlq_n_s16(d3m1, 1));                                     /* d4-d2 + 2(d3-d1) */
    r[4] = vsubq_s16(d4m2, vshlq_n_s16(d3m1, 1));                                     /* d4-d2 - 2(d3-d1) */
    r[5] = vmlsq_n_s16(vaddq_s16(vshlq_n_s16(d[1], 2), d[5]), d[3], 5);               /* 4d1 - 5d3 + d5 */
}

/* Pass 1 straight from the int8 pixels (as ncnn's int8 input transform): the widening is part of the
 * arithmetic (SSUBL/SADDL/SSHLL/SMLSL on 8-bit lanes into 16), no separate SXTL per pixel. The same
 * integers as widening first, then wb_q8_bt2_s16 / wb_q8_bt4_s16 (every value fits int16). */
static inline void wb_q8_bt2_s8(const int8x8_t *d, int16x8_t *r)
{
    r[0] = vsubl_s8(d[2], d[0]);
    r[1] = vaddl_s8(d[1], d[2]);
    r[2] = vsubl_s8(d[2], d[1]);
    r[3] = vsubl_s8(d[3], d[1]);
}

static inline void wb_q8_bt4_s8(const int8x8_t *d, int16x8_t *r)
{
    const int8x8_t k5 = vdup_n_s8(5);
    const int16x8_t s12 = vaddl_s8(d[1], d[2]), s34 = vaddl_s8(d[3], d[4]);
    const int16x8_t m12 = vsubl_s8(d[1], d[2]), m43 = vsubl_s8(d[4], d[3]);
    const int16x8_t d42 = vsubl_s8(d[4], d[2]), d31 = vsubl_s8(d[3], d[1]);
    r[0] = vaddw_s8(vmlsl_s8(vshll_n_s8(d[0], 2), d[2], k5), d[4]);  /* 4d0 - 5d2 + d4 */
    r[1] = vsubq_s16(s34, vshlq_n_s16(s12, 2));                       /* d3+d4 - 4(d1+d2) */
    r[2] = vaddq_s16(m43, vshlq_n_s16(m12, 2));                       /* d4-d3 + 4(d1-d2) */
    r[3] = vaddq_s16(d42, vshlq_n_s16(d31, 1));                       /* d4-d2 + 2(d3-d1) */
    r[4] = vsubq_s16(d42, vshlq_n_s16(d31, 1));                       /* d4-d2 - 2(d3-d1) */
    r[5] = vaddw_s8(vmlsl_s8(vshll_n_s8(d[1], 2), d[3], k5), d[5]);  /* 4d1 - 5d3 + d5 */
}

#endif
