/* The requantization step of the int8 tile transforms in the form the including file is compiled
 * for (bench/numerics/reference.py, steps 2 and 8): WB_REQ_INT 1 the int form (SQRDMULH by b at the
 * stage's lane width, then narrows), else the fp32 form (SCVTF, FMUL, FCVTNS, narrows, clamp).
 * A kernel holds its multiplier as a wb_rqv (made once per call from the wb_q8_rq it is given) and
 * requantizes with wb_rq_s16 (values in 16-bit lanes), wb_rq_s32 (two 32-bit halves) or, a half at
 * a time, wb_rq_half then wb_rq_join. Private to the q8 tile transforms; one form per translation
 * unit. */
#ifndef WB_Q8_RQ_NEON_H
#define WB_Q8_RQ_NEON_H

#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"

#ifndef WB_REQ_INT
#define WB_REQ_INT 0
#endif

#if WB_REQ_INT
/* rq.b is the multiplier at 32-bit lanes; a stage at 16-bit lanes (step 8's L = 16) has it as
 * b16 << 16, which SQRDMULH at 32 bits applies exactly as b16 at 16 bits */
typedef struct {
    int16x8_t b16; /* b at 16-bit lanes, for values in 16-bit lanes of an L = 16 stage */
    int32x4_t b32; /* b at 32-bit lanes, for values in 32-bit lanes (either L) */
} wb_rqv;

static inline __attribute__((always_inline)) wb_rqv wb_rqv_make(wb_q8_rq rq)
{
    return (wb_rqv){vdupq_n_s16((int16_t)(rq.b >> 16)), vdupq_n_s32(rq.b)};
}

static inline __attribute__((always_inline)) int8x8_t wb_rq_s16(int16x8_t v, wb_rqv r)
{
    return wb_q8_rqi_s16(v, r.b16);
}

static inline __attribute__((always_inline)) int8x8_t wb_rq_s32(int32x4_t lo, int32x4_t hi, wb_rqv r)
{
    return wb_q8_rqi_s32(lo, hi, r.b32);
}

static inline __attribute__((always_inline)) int16x4_t wb_rq_half(int32x4_t v, wb_rqv r)
{
    return vmovn_s32(vqrdmulhq_s32(v, r.b32)); /* |value| <= 127 */
}

static inline __attribute__((always_inline)) int8x8_t wb_rq_join(int16x4_t lo, int16x4_t hi)
{
    return vqmovn_s16(vcombine_s16(lo, hi));
}
#else
typedef struct {
    float32x4_t m;
} wb_rqv;

static inline __attribute__((always_inline)) wb_rqv wb_rqv_make(wb_q8_rq rq)
{
    return (wb_rqv){vdupq_n_f32(rq.mult)};
}

static inline __attribute__((always_inline)) int8x8_t wb_rq_s16(int16x8_t v, wb_rqv r)
{
    return wb_q8_requant_s16(v, r.m);
}

static inline __attribute__((always_inline)) int8x8_t wb_rq_s32(int32x4_t lo, int32x4_t hi, wb_rqv r)
{
    return wb_q8_requant_s32(lo, hi, r.m);
}

static inline __attribute__((always_inline)) int16x4_t wb_rq_half(int32x4_t v, wb_rqv r)
{
    return wb_q8_requant_half(v, r.m);
}

static inline __attribute__((always_inline)) int8x8_t wb_rq_join(int16x4_t lo, int16x4_t hi)
{
    return wb_q8_requant_join(lo, hi);
}
#endif

/* one requantized half (4 channels) stored on its own: the bytes wb_rq_join would give */
static inline __attribute__((always_inline)) void wb_rq_store4(int8_t *p, int16x4_t half)
{
    const int8x8_t q = wb_rq_join(half, half);
    vst1_lane_s32((int32_t *)(void *)p, vreinterpret_s32_s8(q), 0);
}

#endif
