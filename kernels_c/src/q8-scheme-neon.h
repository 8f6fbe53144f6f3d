/* Shared pieces of the tap/wide tile transforms (q8-winoin-scheme-neon.inc,
 * q8-winoout-scheme-neon.inc): dense 1-D transforms on named vector variables (never arrays of
 * vectors: gcc 12 spills those), with the matrix row given at run time. Private to the q8 sources. */
#ifndef WB_Q8_SCHEME_NEON_H
#define WB_Q8_SCHEME_NEON_H

#include "wb_q8_neon.h"

#define WB_ALWAYS static inline __attribute__((always_inline))
#define WB_V8(x) x##0, x##1, x##2, x##3, x##4, x##5, x##6, x##7
#define WB_V8DECL(T, x) T x##0, T x##1, T x##2, T x##3, T x##4, T x##5, T x##6, T x##7

/* sum_k r[k] x_k over k < n, int32 lanes (n is a compile-time constant after inlining) */
WB_ALWAYS int32x4_t wb_dot_s32(const int32_t *r, int n, WB_V8DECL(int32x4_t, x))
{
    int32x4_t acc = vmulq_n_s32(x0, r[0]);
    acc = vmlaq_n_s32(acc, x1, r[1]);
    acc = vmlaq_n_s32(acc, x2, r[2]);
    acc = vmlaq_n_s32(acc, x3, r[3]);
    if (n > 4) {
        acc = vmlaq_n_s32(acc, x4, r[4]);
        acc = vmlaq_n_s32(acc, x5, r[5]);
    }
    if (n > 6) {
        acc = vmlaq_n_s32(acc, x6, r[6]);
        acc = vmlaq_n_s32(acc, x7, r[7]);
    }
    return acc;
}

/* the same with int64 products and sums, 2 lanes per half: returns (lo, hi) of the 4 lanes */
WB_ALWAYS int64x2_t wb_dot_s64_lo(const int32_t *r, int n, WB_V8DECL(int32x4_t, x))
{
    int64x2_t acc = vmull_n_s32(vget_low_s32(x0), r[0]);
    acc = vmlal_n_s32(acc, vget_low_s32(x1), r[1]);
    acc = vmlal_n_s32(acc, vget_low_s32(x2), r[2]);
    acc = vmlal_n_s32(acc, vget_low_s32(x3), r[3]);
    if (n > 4) {
        acc = vmlal_n_s32(acc, vget_low_s32(x4), r[4]);
        acc = vmlal_n_s32(acc, vget_low_s32(x5), r[5]);
    }
    if (n > 6) {
        acc = vmlal_n_s32(acc, vget_low_s32(x6), r[6]);
        acc = vmlal_n_s32(acc, vget_low_s32(x7), r[7]);
    }
    return acc;
}

WB_ALWAYS int64x2_t wb_dot_s64_hi(const int32_t *r, int n, WB_V8DECL(int32x4_t, x))
{
    int64x2_t acc = vmull_n_s32(vget_high_s32(x0), r[0]);
    acc = vmlal_n_s32(acc, vget_high_s32(x1), r[1]);
    acc = vmlal_n_s32(acc, vget_high_s32(x2), r[2]);
    acc = vmlal_n_s32(acc, vget_high_s32(x3), r[3]);
    if (n > 4) {
        acc = vmlal_n_s32(acc, vget_high_s32(x4), r[4]);
        acc = vmlal_n_s32(acc, vget_high_s32(x5), r[5]);
    }
    if (n > 6) {
        acc = vmlal_n_s32(acc, vget_high_s32(x6), r[6]);
        acc = vmlal_n_s32(acc, vget_high_s32(x7), r[7]);
    }
    return acc;
}

/* 8 int8 at p -> two int32x4 */
WB_ALWAYS void wb_load8_s32(const int8_t *p, int32x4_t *lo, int32x4_t *hi)
{
    const int16x8_t e = vmovl_s8(vld1_s8(p));
    *lo = vmovl_s16(vget_low_s16(e));
    *hi = vmovl_high_s16(e);
}

/* int64 (lo, hi) -> float32x4, through float64: exact below 2^53, then one rounding */
WB_ALWAYS float32x4_t wb_cvt_s64_f32(int64x2_t lo, int64x2_t hi)
{
    return vcombine_f32(vcvt_f32_f64(vcvtq_f64_s64(lo)), vcvt_f32_f64(vcvtq_f64_s64(hi)));
}

/* 8 float32 (two vectors, already multiplied) -> 8 int8, round half to even, clamp to +-127 */
WB_ALWAYS int8x8_t wb_q8_narrow_f32(float32x4_t lo, float32x4_t hi)
{
    const int8x8_t q = vqmovn_s16(vcombine_s16(vqmovn_s32(wb_q8_cvtn(lo)), vqmovn_s32(wb_q8_cvtn(hi))));
    return vmax_s8(q, vdup_n_s8(-127));
}

/* Per-position stores of the input transform (WB_STORE of q8-winoin-scheme-neon.inc): tap
 * requantizes to int8 with the position's multiplier, wide shifts into int16. */
#define WB_TAP_STORE(v, p, vs, c, lo, hi, mult, shift)                                             \
    vst1_s8((int8_t *)(v) + (p) * (vs) + (c), wb_q8_requant_s32(lo, hi, vdupq_n_f32((mult)[p])))
#define WB_WIDE_STORE(v, p, vs, c, lo, hi, mult, shift)                                            \
    vst1q_s16((int16_t *)(v) + (p) * (vs) + (c),                                                   \
              vcombine_s16(vmovn_s32(vrshlq_s32(lo, vdupq_n_s32(-(shift)))),                       \
                           vmovn_s32(vrshlq_s32(hi, vdupq_n_s32(-(shift))))))

/* Per-position loads of the output transform (WB_LOADZ of q8-winoout-scheme-neon.inc): tap
 * widens P8 and multiplies by Sq[p], wide reads the int32 sums M'. */
#define WB_TAP_LOADZ(p8, p, ps, c, sq, lo, hi)                                                     \
    do {                                                                                           \
        wb_load8_s32((const int8_t *)(p8) + (p) * (ps) + (c), &lo, &hi);                           \
        lo = vmulq_n_s32(lo, (sq)[p]);                                                             \
        hi = vmulq_n_s32(hi, (sq)[p]);                                                             \
    } while (0)
#define WB_WIDE_LOADZ(p8, p, ps, c, sq, lo, hi)                                                    \
    do {                                                                                           \
        lo = vld1q_s32((const int32_t *)(p8) + (p) * (ps) + (c));                                  \
        hi = vld1q_s32((const int32_t *)(p8) + (p) * (ps) + (c) + 4);                              \
    } while (0)

/* input transforms (q8-winoin-scheme-neon.inc) */
/* WB_TAP_STORE / WB_WIDE_STORE with the position's multiplier given as a vector vm (the template
 * loads a row's multipliers before its stores: a store may alias mult), and their forms for V
 * already in int16 lanes (the same bytes: requant widens first; SRSHL rounds without overflow,
 * and the result fits int16) */
#define WB_TAP_STORE_VM(v, p, vs, c, lo, hi, vm, shift)                                            \
    vst1_s8((int8_t *)(v) + (p) * (vs) + (c), wb_q8_requant_s32(lo, hi, vm))
#define WB_WIDE_STORE_VM(v, p, vs, c, lo, hi, vm, shift) WB_WIDE_STORE(v, p, vs, c, lo, hi, 0, shift)
#define WB_TAP_STORE16_VM(v, p, vs, c, v16, vm, shift)                                             \
    vst1_s8((int8_t *)(v) + (p) * (vs) + (c), wb_q8_requant_s16(v16, vm))
#define WB_WIDE_STORE16_VM(v, p, vs, c, v16, vm, shift)                                            \
    vst1q_s16((int16_t *)(v) + (p) * (vs) + (c), vrshlq_s16(v16, vdupq_n_s16((int16_t) - (shift))))

#endif
