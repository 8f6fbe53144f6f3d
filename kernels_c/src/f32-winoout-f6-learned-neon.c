/* wb_f32_winoout_learned_ukernel_f6__neon: dense Y = AT M A for F(6x6,3x3), any 6x8 AT. */
#define WB_M 6
#define WB_FN wb_f32_winoout_learned_ukernel_f6__neon
#define WB_ROWS {0, 1, 2, 3, 4, 5}
#define WB_GROUP 1
#include "f32-winoout-learned-neon.inc"
