/* wb_f32_winoin_learned_ukernel_f4__neon: dense V = BT d B for F(4x4,3x3), any 6x6 BT. */
#define WB_M 4
#define WB_FN wb_f32_winoin_learned_ukernel_f4__neon
#define WB_ROWS {0, 1, 2, 3, 4, 5}
#define WB_GROUP 2
#include "f32-winoin-learned-neon.inc"
