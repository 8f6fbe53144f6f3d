/* wb_q8_winoin_learned_ukernel_f4__neon: dense V8 = requant(BTq d BTq^T), any 6x6 integer BTq. */
#define WB_FN wb_q8_winoin_learned_ukernel_f4__neon
#define WB_M 4
#define WB_ROWS {0, 1, 2, 3, 4, 5}
#define WB_GROUP 2
#include "q8-winoin-learned-neon.inc"
