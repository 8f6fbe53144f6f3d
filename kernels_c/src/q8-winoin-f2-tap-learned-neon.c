/* wb_q8_winoin_tap_learned_ukernel_f2__neon: tap scheme, V8[p] = requant(BTq d BTq^T, mult[p]) for F(2,3)
 * (a = 4), BTq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoin_tap_learned_ukernel_f2__neon
#define WB_M 2
#define WB_SCHEME TAP
#define WB_GROUP 2
#include "q8-winoin-scheme-neon.inc"
