/* wb_q8_winoin_learned_ukernel_f2__neon: dense V8 = requant(BTq d BTq^T), any 4x4 integer BTq. */
#define WB_A 4
#define WB_PUBLIC wb_q8_winoin_learned_ukernel_f2__neon
#include "q8-winoin-learned-neon.inc"
