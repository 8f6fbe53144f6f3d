/* wb_f32_winoout_static_ukernel_f2__neon: Y = AT M A for F(2x2,3x3), default points 0, 1, -1.
 *
 *   AT = [ 1  1  1  0 ]
 *        [ 0  1 -1  1 ]
 */
#include "wb_neon.h"

static inline void at2(const float32x4_t *d, float32x4_t *r)
{
    const float32x4_t d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
    r[0] = vaddq_f32(vaddq_f32(d0, d1), d2);
    r[1] = vaddq_f32(vsubq_f32(d1, d2), d3);
}

#define WB_PRESCHED 1 /* the tile fits the registers: keep the pre-allocation scheduler */
#define WB_FN wb_f32_winoout_static_ukernel_f2__neon
#define WB_M 2
#define WB_ROWS {0, 1}
#define WB_GROUP 2
#define WB_PASS(x, y) at2(x, y)
#include "f32-winoout-neon.inc"
