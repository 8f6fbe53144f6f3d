/* Internal plumbing shared by the conv drivers, the registry and the runner: the plan object, the
 * kernel registry entry, the thread pool's parallel-for, aligned buffers and the clock. */
#ifndef WB_INTERNAL_H
#define WB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "wb.h"

#define WB_MAX_TILE 8    /* largest Winograd input tile a = m + r - 1 (F(6,3)) */
#define WB_MAX_THREADS 64

/* Transform matrices handed to a kernel's create(), row-major, double. */
typedef struct wb_matrices {
    int m, r;
    double at[WB_MAX_TILE * WB_MAX_TILE]; /* m x a */
    double g[WB_MAX_TILE * 3];            /* a x r */
    double bt[WB_MAX_TILE * WB_MAX_TILE]; /* a x a */
} wb_matrices;

/* One entry of the kernel registry: a whole convolution for one (algo, bits, transform). */
typedef struct wb_kernel {
    const char *name;      /* grammar name, e.g. "wb_f32_conv_winograd_static_f4" */
    const char *algo;      /* "im2row", "f2", "f4", "f6" */
    int bits;              /* 32 or 8 */
    const char *transform; /* "none" (im2row), "static", "learned" */
    const void *desc;      /* kernel-specific constant data (micro-kernels, tile size) */
    /* Plans the convolution and transforms/packs the weights into conv->impl. mats is the
     * default or user transform for Winograd kernels, NULL for im2row. */
    int (*create)(wb_conv *conv, const wb_matrices *mats, const float *weights, char *err,
                  int err_len);
    /* stage_ms receives {input, gemm, output} in milliseconds, and {total} when the kernel times
     * its own total (int8: the int8 pipeline without the dequantization of y); otherwise
     * wb_conv_run measures the total around run. */
    int (*run)(wb_conv *conv, const float *x, float *y, wb_pool *pool, double *stage_ms);
    void (*destroy)(wb_conv *conv);
    /* Optional (NULL for fp32): fixes data-dependent parameters on x before timing (int8:
     * quantize x, per-stage amax and multipliers). Runs then convolve that same x. */
    int (*calibrate)(wb_conv *conv, const float *x);
    const char *scheme; /* int8 Winograd "tap" or "wide"; NULL: tensor (int8 Winograd) or none */
} wb_kernel;

struct wb_conv {
    const wb_kernel *kernel;
    int h, w, cin, cout;
    double weight_transform_ms;
    double gemm_flops;
    void *impl;
};

/* Kernel lookup over the fp32 table (wb_registry.c) and the int8 one: the int8 sources define
 * wb_q8_kernel_table(); in a build without them (WB_BUILD_EXCLUDE=q8*) a weak default in
 * wb_registry.c returns none. */
const wb_kernel *const *wb_q8_kernel_table(int *count);
/* Int8 multiply-accumulate rate in GOP/s (int8 sources); NaN when not linked. */
double wb_q8_peak_gops(double min_ms);
/* scheme: "tap", "wide", or NULL for the tensor scheme (int8 Winograd) and none (the others). */
const wb_kernel *wb_find_kernel(const char *algo, int bits, const char *transform, const char *scheme);

/* Default Cook-Toom matrices for F(m,3), m in {2,4,6}; 0 on success. */
int wb_default_matrices(int m, wb_matrices *out);

/* Runs fn(ctx, i, tid) for i in [0, n) on the pool's threads (tid = 0..threads-1), or serially
 * on the caller when pool is NULL. Returns when all items are done. */
typedef void (*wb_task_fn)(void *ctx, size_t i, int tid);
void wb_parallel_for(wb_pool *pool, size_t n, wb_task_fn fn, void *ctx);
int wb_pool_threads(const wb_pool *pool);

/* 64-byte aligned, zero-filled buffer; NULL on failure. Free with wb_free. */
void *wb_zalloc(size_t bytes);
void wb_free(void *p);

static inline double wb_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static inline size_t wb_round_up(size_t x, size_t q) { return (x + q - 1) / q * q; }
static inline size_t wb_div_up(size_t x, size_t q) { return (x + q - 1) / q; }

/* Writes a one-line message into err (if any) and returns code. */
int wb_fail(char *err, int err_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
