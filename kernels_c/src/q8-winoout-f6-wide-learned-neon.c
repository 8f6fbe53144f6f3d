/* wb_q8_winoout_wide_learned_ukernel_f6__neon: wide scheme, Z = M' (the int16 GEMM's int32 sums),
 * Y8 = requant(rshift(ATq Z, s1) ATq^T) for F(6,3) (a = 8), ATq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoout_wide_learned_ukernel_f6__neon
#define WB_A 8
#define WB_LOADZ WB_WIDE_LOADZ /* the host build's form */
#define WB_LOADZ4 WB_WIDE_LOADZ4
#define WB_LOADZ8 WB_WIDE_LOADZ8
#define WB_GROUP 2
#define WB_LANES 4
#define WB_STEP_T 2
#define WB_STEP_Y 3
#include "q8-winoout-scheme-neon.inc"
