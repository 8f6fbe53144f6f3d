/* wb_f32_winoout_learned_ukernel_f4__neon: dense Y = AT M A for F(4x4,3x3), any 4x6 AT. */
#define WB_M 4
#define WB_FN wb_f32_winoout_learned_ukernel_f4__neon
#define WB_ROWS {0, 1, 2, 3}
#define WB_GROUP 2
#include "f32-winoout-learned-neon.inc"
