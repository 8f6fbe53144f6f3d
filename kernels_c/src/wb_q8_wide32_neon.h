/* Eight int8 channels in 32-bit lanes (low and high halves), the widening steps that make them from
 * 16-bit lanes, and their requantization step by step across several values. Private to the
 * register-resident int8 F6 tile kernels, whose second pass needs 32-bit lanes. */
#ifndef WB_Q8_WIDE32_NEON_H
#define WB_Q8_WIDE32_NEON_H

#include "wb_q8_neon.h"
#include "wb_q8_rq_neon.h" /* the form: WB_REQ_INT */
#include "wb_templates.h"  /* WB_PIN_GREG, WB_PIN_VREG */

/* the multiplier kept in a general register (fp32: the float's bits; int: b at 32-bit lanes),
 * broadcast where it is used */
static inline __attribute__((always_inline)) uint32_t w32_mult_bits(wb_q8_rq rq)
{
#if WB_REQ_INT
    return (uint32_t)rq.b;
#else
    union {
        float f;
        uint32_t u;
    } b = {rq.mult};
    return b.u;
#endif
}

static inline __attribute__((always_inline)) wb_rqv w32_mult(uint32_t bits)
{
    WB_PIN_GREG(bits);
#if WB_REQ_INT
    return (wb_rqv){vdupq_n_s16(0), vreinterpretq_s32_u32(vdupq_n_u32(bits))};
#else
    return (wb_rqv){vreinterpretq_f32_u32(vdupq_n_u32(bits))};
#endif
}

typedef struct {
    int32x4_t lo, hi;
} w32;

#define W_SHLL(x, n) ((w32){vshll_n_s16(vget_low_s16(x), n), vshll_n_s16(vget_high_s16(x), n)})
#define W_ADDL(x, y) ((w32){vaddl_s16(vget_low_s16(x), vget_low_s16(y)), vaddl_high_s16(x, y)})
#define W_SUBL(x, y) ((w32){vsubl_s16(vget_low_s16(x), vget_low_s16(y)), vsubl_high_s16(x, y)})
#define W_ADDW(a, x) ((w32){vaddw_s16((a).lo, vget_low_s16(x)), vaddw_high_s16((a).hi, x)})
#define W_SHL(a, n) ((w32){vshlq_n_s32((a).lo, n), vshlq_n_s32((a).hi, n)})
#define W_ADD(a, b) ((w32){vaddq_s32((a).lo, (b).lo), vaddq_s32((a).hi, (b).hi)})
#define W_SUB(a, b) ((w32){vsubq_s32((a).lo, (b).lo), vsubq_s32((a).hi, (b).hi)})

/* b[0..n) = the requantized y[0..n), each step made for all n values before the next: the
 * in-order A53 then finds independent work between a step and the one that needs it (the
 * kernels turn gcc's pre-allocation scheduler off, so the source order is the issue order). */
static inline __attribute__((always_inline)) void w32_requant(const w32 *y, int n, wb_rqv vr,
                                                              int8x8_t *b)
{
#if WB_REQ_INT
    int32x4_t q[16];
#pragma GCC unroll 8
    for (int l = 0; l < n; l++) {
        q[2 * l] = vqrdmulhq_s32(y[l].lo, vr.b32);
        q[2 * l + 1] = vqrdmulhq_s32(y[l].hi, vr.b32);
    }
#pragma GCC unroll 8
    for (int l = 0; l < n; l++) /* |q| <= 127: the low 16 bits of each lane are the value */
        b[l] = vqmovn_s16(vuzp1q_s16(vreinterpretq_s16_s32(q[2 * l]), vreinterpretq_s16_s32(q[2 * l + 1])));
#else
    const float32x4_t vm = vr.m;
    float32x4_t f[16];
    int32x4_t q[16];
    int16x8_t h[8];
    int8x8_t lo = vdup_n_s8(-127);
    WB_PIN_VREG(lo); /* made per call, not held in a register through the loop */
#pragma GCC unroll 8
    for (int l = 0; l < n; l++) {
        f[2 * l] = vcvtq_f32_s32(y[l].lo);
        f[2 * l + 1] = vcvtq_f32_s32(y[l].hi);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 2 * n; i++)
        f[i] = vmulq_f32(f[i], vm);
#pragma GCC unroll 16
    for (int i = 0; i < 2 * n; i++)
        q[i] = wb_q8_cvtn(f[i]);
#pragma GCC unroll 8
    for (int l = 0; l < n; l++)
        h[l] = vcombine_s16(vqmovn_s32(q[2 * l]), vqmovn_s32(q[2 * l + 1]));
#pragma GCC unroll 8
    for (int l = 0; l < n; l++)
        b[l] = vmax_s8(vqmovn_s16(h[l]), lo);
#endif
}

/* requantize y[0..n) and store output l at yo[l] + c */
static inline __attribute__((always_inline)) void w32_requant_store(const w32 *y, int n,
                                                                    int8_t *const *yo, size_t c,
                                                                    wb_rqv vm)
{
    int8x8_t b[8];
    w32_requant(y, n, vm, b);
#pragma GCC unroll 8
    for (int l = 0; l < n; l++)
        vst1_s8(yo[l] + c, b[l]);
}

#endif
