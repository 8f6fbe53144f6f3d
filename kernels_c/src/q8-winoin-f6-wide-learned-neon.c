/* wb_q8_winoin_wide_learned_ukernel_f6__neon: wide scheme, V16 = rshift(BTq d BTq^T, shift) in int16 for
 * F(6,3) (a = 8), BTq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoin_wide_learned_ukernel_f6__neon
#define WB_M 6
#define WB_SCHEME WIDE
#define WB_GROUP 1
#include "q8-winoin-scheme-neon.inc"
