/* wb_f32_winoin_learned_ukernel_f2__neon: dense V = BT d B for F(2x2,3x3), any 4x4 BT. */
#define WB_M 2
#define WB_PRESCHED 1 /* the tile fits the registers: keep the pre-allocation scheduler */
#define WB_FN wb_f32_winoin_learned_ukernel_f2__neon
#define WB_ROWS {0, 1, 2, 3}
#define WB_GROUP 4
#include "f32-winoin-learned-neon.inc"
