/* wb_f32_winoin_static_ukernel_f2__neon: V = BT d B for F(2x2,3x3), default points 0, 1, -1.
 *
 *        [-1  0  1  0 ]
 *   BT = [ 0  1  1  0 ]      only additions: 4 per 1-D transform
 *        [ 0 -1  1  0 ]
 *        [ 0 -1  0  1 ]
 */
#include "wb_neon.h"

/* r = BT d on 4 vectors. */
static inline void bt4(const float32x4_t *d, float32x4_t *r)
{
    r[0] = vsubq_f32(d[2], d[0]);
    r[1] = vaddq_f32(d[1], d[2]);
    r[2] = vsubq_f32(d[2], d[1]);
    r[3] = vsubq_f32(d[3], d[1]);
}

#define WB_PRESCHED 1 /* the tile fits the registers: keep the pre-allocation scheduler */
#define WB_FN wb_f32_winoin_static_ukernel_f2__neon
#define WB_M 2
#define WB_ROWS {0, 1, 2, 3}
#define WB_GROUP 4 /* the whole 4x4 tile fits the registers */
#define WB_PASS(x, y) bt4(x, y)
#include "f32-winoin-neon.inc"
