/* wb_q8_winoin_static_ukernel_f4__neon: V8 = requant(BTq d BTq^T) for F(4x4,3x3), points
 * 0, 1, -1, 2, -2; BTq = BT (k = 0), both passes in 16-bit lanes (8 channels per instruction):
 * wb_q8_bt4_s16 (wb_q8_static_neon.h, the matrix in its comment). */
#include "wb_q8_static_neon.h"

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoin_static_ukernel_f4__neon
#endif
#define WB_M 4
#define WB_L1 16
#define WB_L2 16
#define WB_ROWS {1, 2, 0, 3, 4, 5} /* rows 1/2 and 3/4 share terms */
#define WB_GROUP 3
#define WB_PASS8(x, y) wb_q8_bt4_s8(x, y)
#define WB_PASS16(x, y) wb_q8_bt4_s16(x, y)
#include "q8-winoin-neon.inc"
