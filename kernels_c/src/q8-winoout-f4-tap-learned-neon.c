/* wb_q8_winoout_tap_learned_ukernel_f4__neon: tap scheme, Z = P8 Sq per position, Y8 = requant(
 * rshift(ATq Z, s1) ATq^T) for F(4,3) (a = 6), ATq dense at run time (learned matrices).
 * Register-resident (A53 model 3228 cycles per iteration against 3202 for the tile-buffer
 * template, A57 1602 against 1607: the same, without the stack). */
#define WB_FN wb_q8_winoout_tap_learned_ukernel_f4__neon
#define WB_M 4
#define WB_GROUP 2
#define WB_LANES 4
#define WB_STEP_T 2
#define WB_STEP_Y 4
#define WB_SCHEME TAP
#include "q8-winoout-scheme-neon.inc"
