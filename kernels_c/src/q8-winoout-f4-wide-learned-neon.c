/* wb_q8_winoout_wide_learned_ukernel_f4__neon: wide scheme, Z = M' (the int16 GEMM's int32 sums),
 * Y8 = requant(rshift(ATq Z, s1) ATq^T) for F(4,3) (a = 6), ATq dense at run time (learned matrices). */
#define WB_FN wb_q8_winoout_wide_learned_ukernel_f4__neon
#define WB_M 4
#define WB_SCHEME WIDE
#define WB_GROUP 2
#define WB_LANES 4
#define WB_STEP_T 3
#define WB_STEP_Y 4
#include "q8-winoout-scheme-neon.inc"
