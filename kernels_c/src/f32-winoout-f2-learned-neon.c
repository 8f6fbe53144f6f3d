/* wb_f32_winoout_learned_ukernel_f2__neon: dense Y = AT M A for F(2x2,3x3), any 2x4 AT. */
#define WB_M 2
#define WB_PRESCHED 1 /* the tile fits the registers: keep the pre-allocation scheduler */
#define WB_FN wb_f32_winoout_learned_ukernel_f2__neon
#define WB_ROWS {0, 1}
#define WB_GROUP 2
#include "f32-winoout-learned-neon.inc"
