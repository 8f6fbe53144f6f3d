/* What the convolution drivers share beside the pool (wb_pool.c): one-line error messages and the
 * default Cook-Toom matrices. Below the drivers and the registry, which call it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wb_default_transforms.h"
#include "wb_internal.h"

int wb_fail(char *err, int err_len, int code, const char *fmt, ...)
{
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, (size_t)err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

int wb_default_matrices(int m, wb_matrices *out)
{
    const double *at, *g, *bt;
    switch (m) {
    case 2: at = wb_default_at_f2, g = wb_default_g_f2, bt = wb_default_bt_f2; break;
    case 4: at = wb_default_at_f4, g = wb_default_g_f4, bt = wb_default_bt_f4; break;
    case 6: at = wb_default_at_f6, g = wb_default_g_f6, bt = wb_default_bt_f6; break;
    default: return WB_E_BAD_CASE;
    }
    const int a = m + 2;
    out->m = m;
    out->r = 3;
    memcpy(out->at, at, sizeof(double) * m * a);
    memcpy(out->g, g, sizeof(double) * a * 3);
    memcpy(out->bt, bt, sizeof(double) * a * a);
    return WB_OK;
}
