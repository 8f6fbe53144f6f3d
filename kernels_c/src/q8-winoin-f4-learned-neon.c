/* wb_q8_winoin_learned_ukernel_f4__neon: dense V8 = requant(BTq d BTq^T), any 6x6 integer BTq. */
#define WB_A 6
#define WB_PUBLIC wb_q8_winoin_learned_ukernel_f4__neon
#include "q8-winoin-learned-neon.inc"
