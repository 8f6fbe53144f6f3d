/* wb_q8_winoout_learned_ukernel_f2__neon: dense Y8 = requant(ATq P8 ATq^T), any 2x4 integer ATq. */
#define WB_FN wb_q8_winoout_learned_ukernel_f2__neon
#define WB_M 2
#define WB_ROWS {0, 1}
#define WB_GROUP 2
#include "q8-winoout-learned-neon.inc"
