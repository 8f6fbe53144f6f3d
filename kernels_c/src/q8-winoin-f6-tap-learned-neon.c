/* wb_q8_winoin_tap_learned_ukernel_f6__neon: tap scheme, V8[p] = requant(BTq d BTq^T, mult[p]) for F(6,3)
 * (a = 8), BTq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoin_tap_learned_ukernel_f6__neon
#define WB_M 6
#define WB_SCHEME TAP
#define WB_GROUP 1
#include "q8-winoin-scheme-neon.inc"
