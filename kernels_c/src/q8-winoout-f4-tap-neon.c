/* wb_q8_winoout_tap_ukernel_f4__neon: tap scheme, Z = P8 * Sq per position, Y8 = requant(
 * rshift(ATq Z, s1) ATq^T) for F(4,3) (a = 6), ATq dense at run time. */
#define WB_FN wb_q8_winoout_tap_ukernel_f4__neon
#define WB_A 6
#define WB_LOADZ(p8, p, ps, c, sq, lo, hi)                                                          \
    do {                                                                                           \
        wb_load8_s32((const int8_t *)(p8) + (p) * (ps) + (c), &lo, &hi);                           \
        lo = vmulq_n_s32(lo, (sq)[p]);                                                             \
        hi = vmulq_n_s32(hi, (sq)[p]);                                                             \
    } while (0)
#include "q8-winoout-scheme-neon.inc"
