/* wb_f32_im2row_ukernel_3x3__neon: patch packing for im2row (3x3, stride 1, padding 1).
 * Each tap's channels are padded to cin4 (a multiple of 4) so that the GEMM's K is one. */
#include <string.h>

#include "wb_neon.h"
#include "wb_f32_ukernels.h"

void wb_f32_im2row_ukernel_3x3__neon(size_t h, size_t w, size_t cin, size_t cin4,
                                     const float *x, size_t y0, size_t y1, float *p)
{
    const size_t row_len = 9 * cin4;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (size_t oy = y0; oy < y1; oy++) {
        for (size_t ox = 0; ox < w; ox++) {
            float *dst = p + (oy * w + ox) * row_len;
            for (int ky = 0; ky < 3; ky++) {
                const long iy = (long)oy + ky - 1;
                for (int kx = 0; kx < 3; kx++, dst += cin4) {
                    const long ix = (long)ox + kx - 1;
                    if (iy < 0 || iy >= (long)h || ix < 0 || ix >= (long)w) {
                        for (size_t c = 0; c < cin4; c += 4)
                            vst1q_f32(dst + c, zero);
                        continue;
                    }
                    const float *src = x + ((size_t)iy * w + (size_t)ix) * cin;
                    if (cin == cin4) {
                        for (size_t c = 0; c < cin; c += 4)
                            vst1q_f32(dst + c, vld1q_f32(src + c));
                    } else { /* odd channel counts: copy, then zero the padding */
                        memcpy(dst, src, cin * sizeof(float));
                        memset(dst + cin, 0, (cin4 - cin) * sizeof(float));
                    }
                }
            }
        }
    }
}
