/* NEON helpers shared by the int8 micro-kernels: the requantization steps of the int8 scheme
 * (bench/numerics/reference.py, steps 2 and 8) and widening loads. Private to the q8 sources.
 *
 * fp32 requantization (step 2), bit for bit as the scheme says: (float)T rounds to nearest even
 * (SCVTF / vcvtq_f32_s32), one float32 multiply by the fixed multiplier (never fused: there is no
 * add), round half to even (FCVTNS / vcvtnq_s32_f32), saturating narrows to int8, then clamp to
 * -127 (the narrow saturates at -128, the scheme at -127).
 * int requantization (step 8): SQRDMULH by the multiplier b at the stage's lane width, then
 * narrows; |T| <= amax (the calibrated maximum of the same data) keeps the result within +-127,
 * so no clamp is needed and the narrows never saturate. */
#ifndef WB_Q8_NEON_H
#define WB_Q8_NEON_H

#include "wb_neon.h"

/* float -> int32, rounding half to even. SIMDe 0.7 lacks vcvtnq_s32_f32; FRINTN followed by a
 * (then exact) truncating conversion gives the same integers on the host. */
/* The GEMMs' multiply-accumulate step (ARMv8.0): acc += pairwise(int16(a[0:8] * b[0:8]) +
 * a[8:16] * b[8:16]). Two int8 products fit an int16 because -128 is never used (32258 max). */
static inline __attribute__((always_inline)) int32x4_t wb_q8_mac16(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    p = vmlal_high_s8(p, a, b);
    return vpadalq_s16(acc, p);
}

static inline int32x4_t wb_q8_cvtn(float32x4_t v)
{
#if defined(__aarch64__)
    return vcvtnq_s32_f32(v);
#else
    return vcvtq_s32_f32(vrndnq_f32(v));
#endif
}

/* 8 int32 (two vectors) -> 8 int8 */
static inline int8x8_t wb_q8_requant_s32(int32x4_t lo, int32x4_t hi, float32x4_t mult)
{
    const int32x4_t ql = wb_q8_cvtn(vmulq_f32(vcvtq_f32_s32(lo), mult));
    const int32x4_t qh = wb_q8_cvtn(vmulq_f32(vcvtq_f32_s32(hi), mult));
    const int8x8_t q = vqmovn_s16(vcombine_s16(vqmovn_s32(ql), vqmovn_s32(qh)));
    return vmax_s8(q, vdup_n_s8(-127));
}

/* 8 int16 -> 8 int8 */
static inline int8x8_t wb_q8_requant_s16(int16x8_t v, float32x4_t mult)
{
    return wb_q8_requant_s32(vmovl_s16(vget_low_s16(v)), vmovl_high_s16(v), mult);
}

/* wb_q8_requant_s32 in two steps, so that a 32-bit row pass holds one register per output for its
 * low half while it makes the high half (the same roundings and saturations, the same bytes). */
static inline int16x4_t wb_q8_requant_half(int32x4_t v, float32x4_t mult)
{
    return vqmovn_s32(wb_q8_cvtn(vmulq_f32(vcvtq_f32_s32(v), mult)));
}

static inline int8x8_t wb_q8_requant_join(int16x4_t lo, int16x4_t hi)
{
    return vmax_s8(vqmovn_s16(vcombine_s16(lo, hi)), vdup_n_s8(-127));
}

/* one requantized half (4 channels) stored on its own: the bytes wb_q8_requant_join would give */
static inline void wb_q8_requant_store4(int8_t *p, int16x4_t half)
{
    const int8x8_t q = wb_q8_requant_join(half, half);
    vst1_lane_s32((int32_t *)(void *)p, vreinterpret_s32_s8(q), 0);
}

/* int requantization (step 8): 8 int16 (L = 16) or two int32x4 (L = 32) -> 8 int8 */
static inline int8x8_t wb_q8_rqi_s16(int16x8_t v, int16x8_t b)
{
    return vqmovn_s16(vqrdmulhq_s16(v, b));
}

static inline int8x8_t wb_q8_rqi_s32(int32x4_t lo, int32x4_t hi, int32x4_t b)
{
    /* |result| <= 127: the low 16 bits of each lane (UZP1) are the value */
    const int16x8_t h = vuzp1q_s16(vreinterpretq_s16_s32(vqrdmulhq_s32(lo, b)),
                                   vreinterpretq_s16_s32(vqrdmulhq_s32(hi, b)));
    return vqmovn_s16(h);
}

/* the GEMMs' epilogue: 8 int32 sums requantized in either form (rq.b == 0: fp32, step 2; else the
 * int form at 32-bit lanes, step 8); b and mult arrive in general registers */
static inline int8x8_t wb_q8_requant_rq(int32x4_t lo, int32x4_t hi, float mult, int32_t b)
{
    if (b)
        return wb_q8_rqi_s32(lo, hi, vdupq_n_s32(b));
    return wb_q8_requant_s32(lo, hi, vdupq_n_f32(mult));
}

static inline int16x8_t wb_q8_load_s16(const int8_t *p) { return vmovl_s8(vld1_s8(p)); }

/* Dense 1-D transform y[0..rows) = M x[0..a) with M (rows x a, row-major) known only at run time:
 * a multiply-accumulate by a broadcast scalar per entry, zeros and ones included. */
static inline void wb_q8_dense_s32(const int32_t *m, int rows, int a, const int32x4_t *x,
                                   int32x4_t *y)
{
    for (int i = 0; i < rows; i++) {
        int32x4_t acc = vmulq_n_s32(x[0], m[i * a]);
        for (int k = 1; k < a; k++)
            acc = vmlaq_n_s32(acc, x[k], m[i * a + k]);
        y[i] = acc;
    }
}

#endif
