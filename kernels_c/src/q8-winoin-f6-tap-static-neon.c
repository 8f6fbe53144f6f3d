/* wb_q8_winoin_tap_static_ukernel_f6__neon: tap scheme, V8[p] = requant(BTq d BTq^T, mult[p]) for F(6,3)
 * (a = 8) with the default Cook-Toom matrix as a compile-time constant (BTq = BT 2^2), so that
 * gcc folds the zero and unit entries away (the dense template, specialised):
 *
 *         [  -4   0  21   0 -21   0   4   0 ]
 *         [   0   4   4 -17 -17   4   4   0 ]
 *         [   0  -4   4  17 -17  -4   4   0 ]
 *         [   0   2   1 -10  -5   8   4   0 ]
 *   BTq = [   0  -2   1  10  -5  -8   4   0 ]
 *         [   0   8  16 -10 -20   2   4   0 ]
 *         [   0  -8  16  10 -20  -2   4   0 ]
 *         [   0  -4   0  21   0 -21   0   4 ]
 */
#include "wb_q8_default_tq.h"

#define WB_FN wb_q8_winoin_tap_static_ukernel_f6__neon
#define WB_M 6
#define WB_SCHEME TAP
#define WB_CONST_MATRIX wb_q8_btq_f6
#define WB_GROUP 2
#include "q8-winoin-scheme-neon.inc"
