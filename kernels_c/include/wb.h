/* Public C API of the winobench kernels: plain declarations only (no macros, no intrinsics), so
 * that the Python binding can hand this file to cffi's cdef. Everything is batch 1, square k x k
 * filters (Winograd: 3x3, stride 1, padding 1 only), zero padding of `pad` on each side; x is NHWC
 * (1,h,w,cin), weights HWIO (k,k,cin,cout), y NHWC (1,ho,wo,cout) with
 * ho = (h + 2 pad - k) / stride + 1 (wo likewise). */
#ifndef WB_H /* preprocessor lines: the binding drops them */
#define WB_H

typedef struct wb_conv wb_conv;
typedef struct wb_pool wb_pool;

/* Status codes; the runner maps them to its error_kind strings. */
enum {
    WB_OK = 0,
    WB_E_BAD_CASE = 1,     /* unknown algo/transform, size out of range */
    WB_E_BAD_MATRICES = 2, /* transform matrices of the wrong shape, or non-finite */
    WB_E_UNSUPPORTED = 3,  /* a valid request no linked kernel implements (e.g. int8 without its sources) */
    WB_E_RUNTIME = 4       /* out of memory, thread creation failed, ... */
};

/* What to convolve and how. Zero or NULL fields take the defaults noted. */
typedef struct wb_conv_spec {
    const char *algo;      /* "im2row", "f2", "f4", "f6" */
    int bits;              /* 32 or 8 */
    const char *transform; /* "static" (NULL too) or "learned"; ignored for im2row */
    const char *scheme;    /* int8 Winograd: "tensor" (NULL too), "tap", "wide"; else "none" (NULL) */
    int m, r;              /* learned with matrices: their tile size m (the algo's) and r = 3 */
    const double *at;      /* learned: row-major AT (m x a), G (a x r), BT (a x a), a = m + r - 1 */
    const double *g;       /* (all NULL: the default Cook-Toom matrices) */
    const double *bt;
    int h, w, cin, cout;   /* h, w in 1..4096; cin, cout in 1..8192 */
    const char *tile_origin; /* Winograd: "top-left" (NULL too): tiles from the image's corner;
                              * "symmetric": the grid centred, (m - size % m) % m / 2 outputs before
                              * the first (how the Winograd-aware training code pads) */
    int k, stride, pad;    /* k 1, 3, 5 or 7 (0: 3x3, stride 1, padding 1, the other two ignored);
                            * stride 1 or 2 (0: 1); pad in 0..k-1 on each side (-1: k / 2) */
    const char *requant;   /* int8: "int" (NULL too: SQRDMULH) or "fp32"; fp32: "none" (NULL) */
} wb_conv_spec;

/* Plans a convolution and transforms/packs the weights (timed apart: wb_conv_weight_transform_ms).
 * A scheme or requant the (algo, bits) pair does not take is WB_E_BAD_CASE. On failure returns a WB_E_* code,
 * *out = NULL and a one-line message in err. */
int wb_conv_create(const wb_conv_spec *spec, const float *weights, wb_conv **out, char *err,
                   int err_len);

/* Fixes the data-dependent parameters of the convolution on x, before timing. fp32: nothing.
 * int8 (bits=8): quantizes x (symmetric per tensor), measures each stage's amax on it with a
 * plain scalar pass and fixes the requantization multipliers; later runs must be given the same
 * x (they convolve its int8 image, as an int8 network receives its input already quantized) and
 * a run on another pointer fails with WB_E_RUNTIME. A first run without calibration calibrates. */
int wb_conv_calibrate(wb_conv *conv, const float *x);

/* Runs the convolution, on the pool's threads when pool is not NULL. stage_ms receives
 * {input, gemm, output, total} in milliseconds (may be NULL). Returns a WB_E_* code. For bits=8,
 * y is the dequantized int8 output and total covers the int8 pipeline (dequantization excluded). */
int wb_conv_run(wb_conv *conv, const float *x, float *y, wb_pool *pool, double *stage_ms);
void wb_conv_destroy(wb_conv *conv);
double wb_conv_weight_transform_ms(const wb_conv *conv);
double wb_conv_gemm_flops(const wb_conv *conv); /* useful flops of the GEMM stage, padding excluded */
const char *wb_conv_kernel_name(const wb_conv *conv); /* e.g. "wb_f32_conv_winograd_static_f4" */

/* Thread pool: n threads, thread i pinned to cpus[i] (cpus may be NULL: no pinning). The calling
 * thread is thread 0 and works too. Returns NULL and a message in err on failure. */
wb_pool *wb_pool_create(int n, const int *cpus, char *err, int err_len);
void wb_pool_destroy(wb_pool *pool);

/* Portable data: splitmix64 + Irwin-Hall (sum of 12 uniforms - 6) in double, rounded to float. */
void wb_fill_gaussian(float *dst, unsigned long long n, unsigned long long seed);
unsigned long long wb_fnv1a64(const void *data, unsigned long long n);

/* Plain double-precision direct convolution (the runner's --verify reference): k x k weights,
 * stride and zero padding pad; y is (ho, wo, cout) as above. */
void wb_conv_direct_f64(const float *x, const float *weights, int h, int w, int cin, int cout,
                        int k, int stride, int pad, double *y);
/* ho for an input of h rows (wo the same for w), < 1 when the filter does not fit. */
int wb_conv_out_size(int h, int k, int stride, int pad);
/* Error of y against ref: err = {sqnr_db, max_abs, rel_l2}. */
void wb_error_metrics(const float *y, const double *ref, unsigned long long n, double *err);

/* Sustained fp32 FMA rate of one thread in GFLOP/s, measured for about min_ms. */
double wb_peak_f32_gflops(double min_ms);
/* Streaming read bandwidth of one thread in GB/s over a 64 MiB buffer (beyond the caches); NaN
 * when the buffer cannot be allocated. */
double wb_peak_bw_gbs(double min_ms);

#endif
