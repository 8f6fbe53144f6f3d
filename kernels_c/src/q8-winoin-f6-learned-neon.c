/* wb_q8_winoin_learned_ukernel_f6__neon: dense V8 = requant(BTq d BTq^T), any 8x8 integer BTq. */
#define WB_FN wb_q8_winoin_learned_ukernel_f6__neon
#define WB_M 6
#define WB_ROWS {0, 1, 2, 3, 4, 5, 6, 7}
#define WB_GROUP 1
#define WB_RENAME 1
#include "q8-winoin-learned-neon.inc"
