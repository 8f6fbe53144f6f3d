/* wb_q8_winoin_learned_ukernel_f2__neon: dense V8 = requant(BTq d BTq^T), any 4x4 integer BTq. */
#define WB_FN wb_q8_winoin_learned_ukernel_f2__neon
#define WB_M 2
#define WB_ROWS {0, 1, 2, 3}
#define WB_GROUP 4
#include "q8-winoin-learned-neon.inc"
