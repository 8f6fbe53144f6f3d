/* wb_q8_winoin_learned_ukernel_f6__neon: dense V8 = requant(BTq d BTq^T), any 8x8 integer BTq. */
#define WB_A 8
#define WB_PUBLIC wb_q8_winoin_learned_ukernel_f6__neon
#include "q8-winoin-learned-neon.inc"
