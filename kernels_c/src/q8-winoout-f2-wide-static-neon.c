/* wb_q8_winoout_wide_static_ukernel_f2__neon: wide scheme, Y8 = requant(rshift(ATq M', s1) ATq^T) for F(2,3)
 * (a = 4) with the default Cook-Toom matrix as a compile-time constant (ATq = AT 2^0), so that
 * gcc folds the zero and unit entries away (the dense template, specialised):
 *
 *         [  1  1  1  0 ]
 *   ATq = [  0  1 -1  1 ]
 */
#include "wb_q8_default_tq.h"

#define WB_FN wb_q8_winoout_wide_static_ukernel_f2__neon
#define WB_M 2
#define WB_SCHEME WIDE
#define WB_CONST_MATRIX wb_q8_atq_f2
#include "q8-winoout-scheme-buf-neon.inc"
