/* wb_q8_winoin_static_ukernel_f2__neon: V8 = requant(BTq d BTq^T) for F(2x2,3x3), points 0, 1, -1;
 * BTq = BT (k = 0), both passes in 16-bit lanes: wb_q8_bt2_s16 (wb_q8_static_neon.h, the matrix
 * in its comment). */
#include "wb_q8_static_neon.h"

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoin_static_ukernel_f2__neon
#endif
#define WB_M 2
#define WB_L1 16
#define WB_L2 16
#define WB_ROWS {0, 1, 2, 3}
#define WB_GROUP 2
#define WB_PASS16(x, y) wb_q8_bt2_s16(x, y)
#include "q8-winoin-neon.inc"
