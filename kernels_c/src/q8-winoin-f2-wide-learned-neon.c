/* wb_q8_winoin_wide_learned_ukernel_f2__neon: wide scheme, V16 = rshift(BTq d BTq^T, shift) in int16 for
 * F(2,3) (a = 4), BTq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoin_wide_learned_ukernel_f2__neon
#define WB_M 2
#define WB_SCHEME WIDE
#define WB_GROUP 2
#include "q8-winoin-scheme-neon.inc"
