/* wb_q8_winoin_wide_ukernel_f6__neon: wide scheme, V16 = rshift(BTq d BTq^T, shift) for F(6,3)
 * (a = 8), int16 (the shift makes it fit), BTq dense at run time. */
#define WB_FN wb_q8_winoin_wide_ukernel_f6__neon
#define WB_A 8
#define WB_STORE(v, p, vs, c, lo, hi, mult, shift)                                                  \
    vst1q_s16((int16_t *)(v) + (p) * (vs) + (c),                                                    \
              vcombine_s16(vmovn_s32(vrshlq_s32(lo, vdupq_n_s32(-(shift)))),                       \
                           vmovn_s32(vrshlq_s32(hi, vdupq_n_s32(-(shift))))))
#include "q8-winoin-scheme-neon.inc"
