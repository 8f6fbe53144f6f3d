/* Public C API of the int8 convolutions (dtype q8), plain declarations only so that the Python
 * binding can hand this file to cffi's cdef (C users include <stdint.h> and wb.h first). The scheme is the one in bench/numerics/reference.py's
 * docstring; every step is integer or a single IEEE operation, so results are bit-exact.
 *
 * Life of an int8 convolution, as a deployed network would run it:
 *   wb_q8_quantize            float x, w -> int8 with their scales (scheme step 1)
 *   wb_q8_plan_create         integer transform matrices (step 3), weight transform in int64,
 *                             U8 requantization and packing: offline, timed apart
 *   wb_q8_calibrate           per-stage amax on the data by a plain scalar path, fixing the
 *                             multipliers of V8, P8 and Y8 (done once, before timing)
 *   wb_q8_run                 the timed NEON path: int8 in, int8 out, fixed multipliers
 *   wb_q8_output_scale        the real scale of the int8 output, to dequantize it */
#ifndef WB_Q8_H /* preprocessor lines: the binding drops them */
#define WB_Q8_H

typedef struct wb_q8_plan wb_q8_plan;
struct wb_pool;

/* Symmetric per-tensor quantization: q = clamp(round_half_away(x / s), -127, 127), s = amax/127
 * (1.0 for an all-zero tensor). Returns s. */
double wb_q8_quantize(const float *x, unsigned long long n, int8_t *q);

/* What to plan. The scheme (bench/numerics/reference.py steps 5-7): 0 tensor, 1 tap, 2 wide; im2row
 * takes 0 only. The requantization form (steps 2 and 8): 0 int (SQRDMULH, the default), 1 fp32. */
typedef struct wb_q8_spec {
    int m;            /* 0 for im2row, else 2, 4 or 6 */
    int learned;      /* 0: the static (sparse) kernels for the default Cook-Toom matrices;
                       * 1: the dense kernels fed at (m x a), g (a x 3), bt (a x a) */
    int scheme;
    const double *at; /* learned: row-major doubles; all NULL: the default matrices */
    const double *g;
    const double *bt;
    int h, w, cin, cout;
    int oy, ox;       /* Winograd: outputs before the first in the tile grid (the tile origin) */
    int k, stride, pad; /* im2row: as wb_conv_spec (0: 3x3 stride 1 padding 1); Winograd: 0 or 3, 1, 1 */
    int requant;
    int one_scale;    /* 1: one power-of-two scale per transform matrix even where the scheme takes
                       * one per row (wide, fp32 form: bench/numerics/reference.py step 9) */
} wb_q8_spec;

/* The integer matrices, weight transform and packing of spec; wq: HWIO int8 (k, k, cin, cout).
 * Returns 0, or a WB_E_* code (wb.h) with *out = NULL and a one-line message in err. */
int wb_q8_plan_create(const wb_q8_spec *spec, const int8_t *wq, wb_q8_plan **out, char *err,
                      int err_len);
void wb_q8_plan_destroy(wb_q8_plan *plan);

/* Calibration by the scalar path on xq (NHWC int8); writes that path's output to y8 when not
 * NULL (the NEON path must then give the same bytes). Returns 0 or WB_E_RUNTIME. */
int wb_q8_calibrate(wb_q8_plan *plan, const int8_t *xq, int8_t *y8);

/* The timed convolution (requires calibration): y8 NHWC int8 (1, ho, wo, cout). stage_ms receives
 * {input, gemm, output, total} in ms (may be NULL); pool may be NULL (calling thread only). */
int wb_q8_run(wb_q8_plan *plan, const int8_t *xq, int8_t *y8, struct wb_pool *pool,
              double *stage_ms);

/* Real scale of y8 given the scales of x and w (scheme steps 4 and 5). */
double wb_q8_output_scale(const wb_q8_plan *plan, double s_x, double s_w);

/* Matrix exponents {kB, kG, kA} (0 for im2row) and multipliers {V, U, P, Y} (im2row: Y only,
 * the others 0); multipliers V, P, Y are 0 before calibration. */
void wb_q8_plan_info(const wb_q8_plan *plan, int *k, float *mult);

/* The int form's figures (bench/numerics/reference.py step 8): stage_b = {V, P, Y} multipliers b
 * as SQRDMULH takes them at 32-bit lanes (b << (32 - L)), position_b (2 a*a) = tap's V then P
 * b per position, ints = {requant, shift of Y (int64 stages), out32, tap's Sq bits, wide's h};
 * 0 in the fp32 form (and before calibration). */
void wb_q8_int_info(const wb_q8_plan *plan, int32_t *stage_b, int32_t *position_b, int *ints);

/* Copies an intermediate of the last wb_q8_run (or of plan creation for "U8") into out in the
 * layout of bench.reference.winograd_int8_stages: "V8" (th, tw, a, a, cin), "U8" (a, a, cin,
 * cout), "P8" (th, tw, a, a, cout). Returns 0, or WB_E_BAD_CASE for an unknown name or im2row. */
int wb_q8_stage(const wb_q8_plan *plan, const char *name, int8_t *out);

/* tap and wide: ints = {scheme, s1, sV, QU}; mults (4 a*a floats) = per-position multipliers of
 * V8, U8, P8 (tap) then mult_U of U16 (wide) repeated; per_position (a*a) = Sq (tap) or e (wide).
 * wb_q8_stage also gives, for wide, "V16" and "U16" (int16) and "M" (int32, after rshift e[p],
 * plus BT's row excess dB[i] + dB[j] with row scales and h in the int form's int32 output),
 * written as those types into out. */
void wb_q8_scheme_info(const wb_q8_plan *plan, int *ints, float *mults, int32_t *per_position);

double wb_q8_weight_transform_ms(const wb_q8_plan *plan);
double wb_q8_gemm_ops(const wb_q8_plan *plan); /* 2 x useful MACs of the GEMM stage */
const char *wb_q8_kernel_name(const wb_q8_plan *plan);

/* Sustained rate, in GOP/s (2 ops per MAC), of the int8 GEMM's own inner loop (the 4x4c16
 * micro-kernel: SMULL/SMLAL2/SADALP) on L1-resident operands, measured for about min_ms. */
double wb_q8_peak_gops(double min_ms);

#endif
