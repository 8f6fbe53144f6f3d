/* wb_q8_winoin_wide_static_ukernel_f2__neon: wide scheme, V16 = rshift(BTq d BTq^T, shift) for F(2,3)
 * (a = 4) with the default Cook-Toom matrix as a compile-time constant (BTq = BT 2^0), so that
 * gcc folds the zero and unit entries away (the dense template, specialised):
 *
 *         [ -1  0  1  0 ]
 *         [  0  1  1  0 ]
 *   BTq = [  0 -1  1  0 ]
 *         [  0 -1  0  1 ]
 */
#include "wb_q8_default_tq.h"

#define WB_FN wb_q8_winoin_wide_static_ukernel_f2__neon
#define WB_M 2
#define WB_SCHEME WIDE
#define WB_CONST_MATRIX wb_q8_btq_f2
#define WB_GROUP 4
#include "q8-winoin-scheme-neon.inc"
