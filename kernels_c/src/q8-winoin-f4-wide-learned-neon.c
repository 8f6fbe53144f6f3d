/* wb_q8_winoin_wide_learned_ukernel_f4__neon: wide scheme, V16 = rshift(BTq d BTq^T, shift) in int16 for
 * F(4,3) (a = 6), BTq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoin_wide_learned_ukernel_f4__neon
#define WB_M 4
#define WB_SCHEME WIDE
#define WB_GROUP 1
#include "q8-winoin-scheme-neon.inc"
