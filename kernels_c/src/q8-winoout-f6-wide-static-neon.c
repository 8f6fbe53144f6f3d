/* wb_q8_winoout_wide_static_ukernel_f6__neon: wide scheme, Y8 = requant(rshift(ATq M', s1) ATq^T) for F(6,3)
 * (a = 8) with the default Cook-Toom matrix as a compile-time constant (ATq = AT 2^5), so that
 * gcc folds the zero and unit entries away (the dense template, specialised):
 *
 *         [    32    32    32    32    32    32    32     0 ]
 *         [     0    32   -32    64   -64    16   -16     0 ]
 *         [     0    32    32   128   128     8     8     0 ]
 *   ATq = [     0    32   -32   256  -256     4    -4     0 ]
 *         [     0    32    32   512   512     2     2     0 ]
 *         [     0    32   -32  1024 -1024     1    -1    32 ]
 */
#include "wb_q8_default_tq.h"

#define WB_FN wb_q8_winoout_wide_static_ukernel_f6__neon
#define WB_M 6
#define WB_SCHEME WIDE
#define WB_GROUP 2
#define WB_LANES 4
#define WB_STEP_T 2
#define WB_STEP_Y 6
#define WB_CONST_MATRIX wb_q8_atq_f6
#include "q8-winoout-scheme-neon.inc"
