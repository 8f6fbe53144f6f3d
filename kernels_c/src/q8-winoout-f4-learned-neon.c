/* wb_q8_winoout_learned_ukernel_f4__neon: dense Y8 = requant(ATq P8 ATq^T), any 4x6 integer ATq. */
#define WB_M 4
#define WB_PUBLIC wb_q8_winoout_learned_ukernel_f4__neon
#include "q8-winoout-learned-neon.inc"
