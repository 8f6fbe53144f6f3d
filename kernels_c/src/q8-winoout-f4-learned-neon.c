/* wb_q8_winoout_learned_ukernel_f4__neon: dense Y8 = requant(ATq P8 ATq^T), any 4x6 integer ATq. */
#define WB_FN wb_q8_winoout_learned_ukernel_f4__neon
#define WB_M 4
#define WB_ROWS {0, 1, 2, 3}
#define WB_GROUP 2
#include "q8-winoout-learned-neon.inc"
