/* wb_f32_winoin_learned_ukernel_f6__neon: dense V = BT d B for F(6x6,3x3), any 8x8 BT. */
#define WB_M 6
#define WB_FN wb_f32_winoin_learned_ukernel_f6__neon
#define WB_ROWS {0, 1, 2, 3, 4, 5, 6, 7}
#define WB_GROUP 1
#include "f32-winoin-learned-neon.inc"
