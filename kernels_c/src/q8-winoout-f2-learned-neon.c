/* wb_q8_winoout_learned_ukernel_f2__neon: dense Y8 = requant(ATq P8 ATq^T), any 2x4 integer ATq. */
#define WB_M 2
#define WB_PUBLIC wb_q8_winoout_learned_ukernel_f2__neon
#include "q8-winoout-learned-neon.inc"
