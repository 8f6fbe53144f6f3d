/* wb_q8_winoout_tap_learned_ukernel_f4__neon: tap scheme, Z = P8 Sq per position, Y8 = requant(
 * rshift(ATq Z, s1) ATq^T) for F(4,3) (a = 6), ATq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoout_tap_learned_ukernel_f4__neon
#define WB_A 6
#define WB_LOADZ WB_TAP_LOADZ
#include "q8-winoout-scheme-buf-neon.inc"
