/* wb_q8_winoout_tap_learned_ukernel_f2__neon: tap scheme, Z = P8 Sq per position, Y8 = requant(
 * rshift(ATq Z, s1) ATq^T) for F(2,3) (a = 4), ATq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoout_tap_learned_ukernel_f2__neon
#define WB_M 2
#define WB_SCHEME TAP
#define WB_GROUP 2
#define WB_LANES 4
#define WB_STEP_T 2
#define WB_STEP_Y 2
#define WB_PRESCHED 1
#include "q8-winoout-scheme-neon.inc"
