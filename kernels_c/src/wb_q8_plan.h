/* The int8 plan (wb_q8.h) and what the q8 sources share. Private to them. They call one another in
 * one direction only, top to bottom:
 *   q8-conv.c            the public entry points: calibrate, run, output scale, peak
 *   q8-conv-winograd.c   the timed Winograd run, every scheme      q8-conv-im2row.c   im2row
 *   q8-calib.c           the scalar calibration of the Winograd schemes
 *   q8-plan.c            plan creation: integer matrices, micro-kernels, buffers, fused blocks;
 *                        the intermediates and parameters a plan exposes
 *   q8-weights.c         the offline weight transforms of every scheme
 *   q8-quantize.c        the scheme's scalar steps (bench/numerics/reference.py) */
#ifndef WB_Q8_PLAN_H
#define WB_Q8_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "wb_internal.h"
#include "wb_q8.h"
#include "wb_q8_ukernels.h"

#define WB_Q8_BT_AT_LIMIT 4096 /* scheme step 3 */
#define WB_Q8_G_LIMIT 32768
#define WB_Q8_TAP_SCALE_BITS 20 /* Sq <= 2^20 (int32) */
#define WB_Q8_AA (WB_MAX_TILE * WB_MAX_TILE)
#define WB_Q8_I32_MAX 2147483647LL
#define WB_Q8_I16_MAX 32767LL

enum { WB_Q8_TENSOR = 0, WB_Q8_TAP = 1, WB_Q8_WIDE = 2 };
enum { WB_Q8_RQ_INT = 0, WB_Q8_RQ_FP32 = 1 }; /* wb_q8_spec.requant */
#define WB_Q8_INT_TAP_SCALE_BITS 14 /* the int form's int32 output: Sq < 2^15 (int16) */
#define WB_Q8_INT32_OUTPUT_L1A2 512 /* the int form's output runs in int32 where L1A^2 <= this */

/* The tap and wide schemes' own state (bench/numerics/reference.py, steps 6 and 7). */
typedef struct wb_q8_scheme_state {
    /* tap: per-position multipliers of V8, U8, P8 (the int form: b of V8 and P8 at 32-bit lanes,
     * bench/numerics/reference.py step 8), the output factors Sq (sq_bits: 20, or 14 for the int
     * form's int32 output) and dmin */
    float mult_v[WB_Q8_AA], mult_u[WB_Q8_AA], mult_p[WB_Q8_AA];
    int32_t b_v[WB_Q8_AA], b_p[WB_Q8_AA];
    int32_t sq[WB_Q8_AA];
    int16_t sq16t[WB_Q8_AA]; /* the int32 output's Sq (< 2^15), transposed: [l][k] at 8 l + k */
    int sq_bits;
    double dmin;
    /* the int form: output passes in int32 (out32; wide: the GEMM's extra shift h) */
    int out32, h;
    /* wide: V shift, U16 levels and per-position exponents, U multiplier */
    int sv, qu;
    int e[WB_Q8_AA];
    float mult_u16;
    int s1; /* both: the output's first-pass shift */
    /* wide with row scales (bench/numerics/reference.py step 9): xv[p] = dB[i] + dB[j], added to
     * e[p] in the GEMM's shift; per output position i * m + j with xA = dA[i] + dA[j], the output's
     * multiplier mult_Y 2^-xA (fp32 form) or rounding shift R + xA (int form) */
    int xv[WB_Q8_AA];
    float mult_y[WB_MAX_TILE * WB_MAX_TILE];
    int32_t shift_y[WB_MAX_TILE * WB_MAX_TILE];
    /* wide buffers: V16 (a*a positions vpos16 elements apart, tiles, cin16), U16 (a*a, cin, cout)
     * and its packed panels, M' (tiles, a*a, cout8) int32 */
    size_t vpos16, panel16;
    int16_t *v16, *u16, *w16;
    int32_t *m32;
} wb_q8_scheme_state;

struct wb_q8_plan {
    int m, a, learned; /* m = 0: im2row */
    int scheme;        /* WB_Q8_TENSOR, _TAP, _WIDE; tap/wide state in sch */
    int requant;       /* WB_Q8_RQ_INT, _FP32 */
    int one_scale;     /* wb_q8_spec.one_scale */
    struct wb_q8_scheme_state *sch;
    int h, w, cin, cout;
    int oy, ox;           /* outputs before the first in the tile grid (the tile origin) */
    int k, stride, pad, ho, wo; /* the filter (Winograd: 3, 1, 1) and the output's size */
    int direct;                 /* im2row 1x1: the GEMM reads xq itself, no patches */
    char name[64];
    size_t th, tw, tiles; /* Winograd tile grid */
    size_t cin16, cout8;  /* channel strides of the V8 rows and of the P8 tiles */
    size_t vpos;          /* bytes between V8 positions: tiles*cin16 + 64, off a power of two */
    size_t k16;           /* im2row: K = k*k*cin padded to 16 (the row stride of the patches) */

    /* Integer transforms (scheme step 3): Tq = T 2^k, row-major int64. */
    int kB, kG, kA;
    int row_scales; /* step 9: BT or AT quantized per row (wide), d their rows' excess */
    int dB[WB_MAX_TILE], dA[WB_MAX_TILE];
    int64_t btq[WB_MAX_TILE * WB_MAX_TILE], gq[WB_MAX_TILE * 3], atq[WB_MAX_TILE * WB_MAX_TILE];
    wb_q8_tmat bt, at; /* the same for the dense kernels, with their lane widths */
    /* The tile transforms of the scheme: tensor winoin/winoout, tap and wide sin/sout. */
    wb_q8_winoin_fn winoin;
    wb_q8_winoout_fn winoout;
    wb_q8_sin_fn sin;
    wb_q8_sout_fn sout;

    /* Weights: U8 (a*a, cin, cout) for Winograd, wq (k*k*cin, cout) for im2row, and their packed
     * panels, one set per Winograd position. */
    int8_t *wq, *u8, *wpacked;
    size_t panel_bytes;
    float mult_u;
    double weight_ms, gemm_ops;

    /* Calibrated requantizations of V8, P8, Y8 in the plan's form (0 until wb_q8_calibrate). */
    int calibrated;
    wb_q8_rq rq_v, rq_p, rq_y;

    /* Work buffers: padded input (hp, wp, cin16), V8 (a*a positions vpos apart, tiles, cin16),
     * P8 (tiles, a*a, cout8), im2row patches (ho*wo, k16), per-thread output scratch (m*m, cout8). */
    size_t hp, wp;
    int8_t *xpad, *v8, *p8, *patches, *scratch;

    /* Fused run (wb_wino_block_tiles): tiles per block (0: staged run), the block's distance
     * between V positions (elements), and per thread a block's V then P8 (or M'), block_bytes
     * in all, made by the first run with that many threads. */
    size_t block_tiles, vbpos, block_bytes;
    int8_t *block[WB_MAX_THREADS];
};

/* ---- q8-conv-winograd.c, q8-conv-im2row.c, q8-calib.c: the runners of q8-conv.c ------------- */

/* The timed runs: stage_ms[0..3) = input, gemm, output (q8-conv.c times the total). */
int wb_q8_run_winograd(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool,
                       double *stage_ms);
void wb_q8_run_im2row(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool,
                      double *stage_ms);
/* The scalar pipelines: fix the plan's multipliers from xq's per-stage amax; y8 may be NULL. */
int wb_q8_calibrate_winograd(wb_q8_plan *p, const int8_t *xq, int8_t *y8);
int wb_q8_calibrate_im2row(wb_q8_plan *p, const int8_t *xq, int8_t *y8);

/* ---- q8-plan.c ------------------------------------------------------------------------------ */

int wb_q8_have_dotprod(void); /* 0 on a dot-product build whose core lacks SDOT */

/* ---- q8-weights.c: U = Gq g Gq^T, requantized and packed per scheme ------------------------- */

int wb_q8_transform_weights(wb_q8_plan *p, char *err, int err_len); /* WB_OK or a WB_E_* code */

/* ---- q8-quantize.c: the scheme's scalar steps ------------------------------------------------ */

/* Scheme step 3: Tq = round_half_away(T 2^k), smallest exact k within limit, else the largest k
 * within it. Returns 0, or -1 when even k = 0 exceeds the limit. */
int wb_q8_quantize_matrix(const double *t, int rows, int cols, double limit, int64_t *tq, int *k);
/* Step 9: the same, one power-of-two scale per row where one per matrix leaves t inexact: row i is
 * step 3 of that row alone, Tq[i] ~ T[i] 2^(k + d[i]), k the smallest row exponent (a zero row takes
 * the largest); an exact matrix keeps its one scale with d = 0. */
int wb_q8_quantize_matrix_rows(const double *t, int rows, int cols, double limit, int64_t *tq, int *k,
                                int *d);
int64_t wb_q8_max_row_l1(const int64_t *t, int rows, int cols);
float wb_q8_multiplier(int64_t amax);                 /* float(127 / amax), 1 for 0 */
int8_t wb_q8_requant_scalar(int64_t v, float mult); /* scheme step 2, one value */
/* Step 8: the requantization of a stage with calibrated amax at lanes 16, 32 or 64 (int64 values)
 * in the plan's form: {mult, 0, 0} (fp32) or {0, b at 32-bit lanes, shift to int32} (int). */
wb_q8_rq wb_q8_stage_rq(int form, int64_t amax, int lanes);
int8_t wb_q8_requant_rq_scalar(int64_t v, wb_q8_rq rq); /* either form, one value */
double wb_q8_rq_real(wb_q8_rq rq);                     /* the real multiplier of rq */
int wb_q8_lanes(const int64_t *tq, int rows, int cols); /* 16 when 127 L1^2 fits int16, else 32 */
/* Smallest s with rshift(bound, s) <= limit. */
int wb_q8_shift_to_fit(int64_t bound, int64_t limit);

/* round(v / 2^s), halves up (the reference's rshift) */
static inline int64_t wb_q8_rshift(int64_t v, int s) { return s ? (v + (1LL << (s - 1))) >> s : v; }
static inline int64_t wb_q8_max(int64_t a, int64_t b) { return a > b ? a : b; }

#endif
