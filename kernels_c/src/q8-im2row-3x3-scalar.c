/* wb_q8_im2row_ukernel_3x3__scalar: int8 patch rows [y*w + x] = the 3x3 taps of cin bytes each,
 * contiguous so that K = 9*cin has no per-tap padding (Cin = 3 would otherwise waste 5x). Plain
 * memcpy per tap: the copies are cin bytes long and the C library's memcpy is already vectorized. */
#include <string.h>

#include "wb_q8_ukernels.h"

void wb_q8_im2row_ukernel_3x3__scalar(size_t h, size_t w, size_t cin, size_t k16,
                                      const int8_t *x, size_t y0, size_t y1, int8_t *p)
{
    for (size_t y = y0; y < y1; y++)
        for (size_t xx = 0; xx < w; xx++) {
            int8_t *row = p + (y * w + xx) * k16;
            for (int ky = 0; ky < 3; ky++) {
                const long sy = (long)y + ky - 1;
                for (int kx = 0; kx < 3; kx++, row += cin) {
                    const long sx = (long)xx + kx - 1;
                    if (sy < 0 || sy >= (long)h || sx < 0 || sx >= (long)w)
                        memset(row, 0, cin);
                    else
                        memcpy(row, x + ((size_t)sy * w + (size_t)sx) * cin, cin);
                }
            }
        }
}
