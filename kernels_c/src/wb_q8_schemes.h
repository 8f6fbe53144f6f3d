/* The int8 Winograd schemes tap and wide (bench/reference.py, steps 6 and 7): their plan state,
 * micro-kernels and drivers. The tensor scheme (step 5) is q8-conv.c's; wb_q8_plan carries a
 * scheme number and, for tap and wide, a pointer to the state below. Private to the q8 sources. */
#ifndef WB_Q8_SCHEMES_H
#define WB_Q8_SCHEMES_H

#include <stddef.h>
#include <stdint.h>

#include "wb_q8_plan.h"

enum { WB_Q8_TENSOR = 0, WB_Q8_TAP = 1, WB_Q8_WIDE = 2 };
#define WB_Q8_TAP_SCALE_BITS 20 /* Sq <= 2^20 (int32) */
#define WB_Q8_AA (WB_MAX_TILE * WB_MAX_TILE)

typedef struct wb_q8_scheme_state {
    /* tap: per-position multipliers of V8, U8, P8, the output factors Sq and dmin */
    float mult_v[WB_Q8_AA], mult_u[WB_Q8_AA], mult_p[WB_Q8_AA];
    int32_t sq[WB_Q8_AA];
    double dmin;
    /* wide: V shift, U16 levels and per-position exponents, U multiplier */
    int sv, qu;
    int e[WB_Q8_AA];
    float mult_u16;
    int s1; /* both: the output's first-pass shift */
    /* wide buffers: V16 (a*a positions vpos16 elements apart, tiles, cin16), U16 (a*a, cin, cout)
     * and its packed panels, M' (tiles, a*a, cout8) int32 */
    size_t vpos16, panel16;
    int16_t *v16, *u16, *w16;
    int32_t *m32;
} wb_q8_scheme_state;

/* ---- micro-kernels (names: kernels_c/README.md) ---------------------------------------------- */

/* Winograd input tile, V = BTq d BTq^T exact in int32 lanes, 8 channels per step, then per
 * position p: tap stores int8 requant(V, mult[p]) to (int8_t *)v + p*v_stride; wide stores int16
 * rshift(V, shift) to (int16_t *)v + p*v_stride (strides in elements). bt: BTq (a x a) row-major. */
typedef void (*wb_q8_sin_fn)(size_t channels, const int8_t *x, size_t x_row, size_t x_px, void *v,
                             size_t v_stride, const float *mult, int shift, const int32_t *bt);
/* Winograd output tile: Z[p] = tap: P8[p] * sq[p] (p8 int8), wide: M'[p] (p8 int32), positions
 * p_stride elements apart; Y = rshift(ATq Z, s1) ATq^T in int64 lanes, out[i*m + j] = requant(Y,
 * mult). at: ATq (m x a) row-major. */
typedef void (*wb_q8_sout_fn)(size_t channels, const void *p8, size_t p_stride, const int32_t *sq,
                              int s1, int8_t *const *out, float mult, const int32_t *at);

#define WB_Q8_SIN(name)                                                                            \
    void name(size_t, const int8_t *, size_t, size_t, void *, size_t, const float *, int,          \
              const int32_t *)
#define WB_Q8_SOUT(name)                                                                           \
    void name(size_t, const void *, size_t, const int32_t *, int, int8_t *const *, float,          \
              const int32_t *)

WB_Q8_SIN(wb_q8_winoin_tap_static_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_tap_static_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_tap_static_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_tap_learned_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_wide_static_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_wide_learned_ukernel_f2__neon);
WB_Q8_SIN(wb_q8_winoin_wide_static_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_wide_learned_ukernel_f4__neon);
WB_Q8_SIN(wb_q8_winoin_wide_static_ukernel_f6__neon);
WB_Q8_SIN(wb_q8_winoin_wide_learned_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_static_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_tap_learned_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_ukernel_f2__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_ukernel_f4__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_static_ukernel_f6__neon);
WB_Q8_SOUT(wb_q8_winoout_wide_learned_ukernel_f6__neon);

/* int16 GEMM block: C[mr x nc] (int32) = rshift(A[mr x kc] * W[kc x nc], shift). A: int16 rows
 * at a_stride elements; W: one panel of wb_q8_packb_s16_ukernel_x8__scalar; kc % 8 == 0,
 * 1 <= mr <= 4, 1 <= nc <= 8. SMLAL/SMLAL2 by lane (ARMv8.0), 8 int32x4 accumulators. */
void wb_q8_gemm_s16_ukernel_4x8__neon(size_t mr, size_t nc, size_t kc, const int16_t *restrict a,
                                      size_t a_stride, const int16_t *restrict w,
                                      int32_t *restrict c, size_t c_stride, int shift);
/* One row (mr must be 1): single-tile layers and 1-row remainders. */
void wb_q8_gemm_s16_ukernel_1x8__neon(size_t mr, size_t nc, size_t kc, const int16_t *restrict a,
                                      size_t a_stride, const int16_t *restrict w,
                                      int32_t *restrict c, size_t c_stride, int shift);
/* k x n int16 (row stride b_stride) -> ceil(n/8) panels of round_up(k, 8) rows x 8 columns. */
void wb_q8_packb_s16_ukernel_x8__scalar(size_t k, size_t n, const int16_t *b, size_t b_stride,
                                        int16_t *packed);

/* ---- drivers (q8-conv-schemes.c) ------------------------------------------------------------ */

int wb_q8_plan_scheme(wb_q8_plan *p, char *err, int err_len); /* after plan_winograd's matrices */
void wb_q8_scheme_free(wb_q8_plan *p);
int wb_q8_calibrate_scheme(wb_q8_plan *p, const int8_t *xq, int8_t *y8);
int wb_q8_run_scheme(wb_q8_plan *p, const int8_t *xq, int8_t *y8, struct wb_pool *pool,
                     double *stage_ms);
double wb_q8_output_scale_scheme(const wb_q8_plan *p, double s_x, double s_w);
int wb_q8_stage_scheme(const wb_q8_plan *p, const char *name, void *out);

#endif
