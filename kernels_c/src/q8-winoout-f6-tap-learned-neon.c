/* wb_q8_winoout_tap_learned_ukernel_f6__neon: tap scheme, Z = P8 Sq per position, Y8 = requant(
 * rshift(ATq Z, s1) ATq^T) for F(6,3) (a = 8), ATq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoout_tap_learned_ukernel_f6__neon
#define WB_M 6
#define WB_SCHEME TAP
#define WB_GROUP 2
#define WB_LANES 4
#define WB_STEP_T 2
#define WB_STEP_Y 3
#include "q8-winoout-scheme-neon.inc"
