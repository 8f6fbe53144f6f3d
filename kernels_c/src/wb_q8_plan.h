/* The int8 plan shared by the q8 drivers (q8-conv.c) and the scalar calibration path
 * (q8-calib.c). Private to the q8 sources. */
#ifndef WB_Q8_PLAN_H
#define WB_Q8_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "wb_internal.h"
#include "wb_q8.h"
#include "wb_q8_ukernels.h"

#define WB_Q8_BT_AT_LIMIT 4096 /* scheme step 3 */
#define WB_Q8_G_LIMIT 32768

struct wb_q8_plan {
    int m, a, learned; /* m = 0: im2row */
    int scheme;        /* WB_Q8_TENSOR, _TAP, _WIDE (wb_q8_schemes.h); tap/wide state in sch */
    struct wb_q8_scheme_state *sch;
    int h, w, cin, cout;
    char name[64];
    size_t th, tw, tiles; /* Winograd tile grid */
    size_t cin16, cout8;  /* channel strides of the V8 rows and of the P8 tiles */
    size_t vpos;          /* bytes between V8 positions: tiles*cin16 + 64, off a power of two */
    size_t k16;           /* im2row: K = 9 cin padded to 16 */

    /* Integer transforms (scheme step 3): Tq = T 2^k, row-major int64. */
    int kB, kG, kA;
    int64_t btq[WB_MAX_TILE * WB_MAX_TILE], gq[WB_MAX_TILE * 3], atq[WB_MAX_TILE * WB_MAX_TILE];
    wb_q8_tmat bt, at; /* the same for the dense kernels, with their lane widths */
    wb_q8_winoin_fn winoin;
    wb_q8_winoout_fn winoout;

    /* Weights: U8 (a*a, cin, cout) for Winograd, wq (9 cin, cout) for im2row, and their packed
     * panels, one set per Winograd position. */
    int8_t *wq, *u8, *wpacked;
    size_t panel_bytes;
    float mult_u;
    double weight_ms, gemm_ops;

    /* Calibrated multipliers (0 until wb_q8_calibrate). */
    int calibrated;
    float mult_v, mult_p, mult_y;

    /* Work buffers: padded input (hp, wp, cin16), V8 (a*a positions vpos apart, tiles, cin16),
     * P8 (tiles, a*a, cout8),
     * im2row patches (h*w, k16), per-thread output scratch (m*m, cout8). */
    size_t hp, wp;
    int8_t *xpad, *v8, *p8, *patches, *scratch;

    /* Fused run (wb_wino_block_tiles): tiles per block (0: staged run), the block's distance
     * between V positions (elements), and per thread a block's V then P8 (or M'), block_bytes
     * in all, made by the first run with that many threads (wb_q8_ensure_blocks). */
    size_t block_tiles, vbpos, block_bytes;
    int8_t *block[WB_MAX_THREADS];
};

int wb_q8_ensure_blocks(wb_q8_plan *p, int threads); /* WB_OK or WB_E_RUNTIME */
/* Row `row` of the int8 image x (Cin channels) into the plan's zero-padded xpad (Cin16 channels). */
void wb_q8_pad_row(const wb_q8_plan *p, const int8_t *x, size_t row);

/* Scheme step 3: Tq = round_half_away(T 2^k), smallest exact k within limit, else the largest k
 * within it. Returns 0, or -1 when even k = 0 exceeds the limit. */
int wb_q8_quantize_matrix(const double *t, int rows, int cols, double limit, int64_t *tq, int *k);
float wb_q8_multiplier(int64_t amax);                 /* float(127 / amax), 1 for 0 */
int8_t wb_q8_requant_scalar(int64_t v, float mult); /* scheme step 2, one value */

/* V = BTq d BTq^T per tile in the reference's layout (tile, a, a, cin), exact in int32. */
void wb_q8_exact_v(const wb_q8_plan *p, const int8_t *xq, int32_t *v);

/* The scalar pipelines: fix plan->mult_{v,p,y} from xq's per-stage amax; y8 may be NULL. */
int wb_q8_calibrate_im2row(wb_q8_plan *p, const int8_t *xq, int8_t *y8);
int wb_q8_calibrate_winograd(wb_q8_plan *p, const int8_t *xq, int8_t *y8);

#endif
