/* wb_q8_winoout_learned_ukernel_f6__neon: dense Y8 = requant(ATq P8 ATq^T), any 6x8 integer ATq. */
#define WB_M 6
#define WB_PUBLIC wb_q8_winoout_learned_ukernel_f6__neon
#include "q8-winoout-learned-neon.inc"
