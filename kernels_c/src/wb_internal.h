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

/* One entry of the kernel registry (the one table in wb_registry.c): a whole convolution for one
 * (algo, transform, bits, scheme), with the same fields for fp32 and int8 kernels. */
typedef struct wb_kernel {
    const char *name;      /* grammar name, e.g. "wb_f32_conv_winograd_static_f4" */
    const char *algo;      /* "im2row", "f2", "f4", "f6" */
    const char *transform; /* "none" (im2row), "static", "learned" */
    int bits;              /* 32 or 8 */
    const char *scheme;    /* "none" (fp32, int8 im2row), or int8 Winograd's "tensor", "tap", "wide" */
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
} wb_kernel;

struct wb_conv {
    const wb_kernel *kernel;
    int h, w, cin, cout;
    int oy, ox; /* Winograd: outputs before the first in the tile grid (wb_conv_spec.tile_origin) */
    int k, stride, pad, ho, wo; /* the filter's geometry and the output's size */
    int requant; /* int8: 0 int, 1 fp32 (wb_q8_spec.requant); fp32: 0 */
    double weight_transform_ms;
    double gemm_flops;
    void *impl;
};

/* Int8 multiply-accumulate rate in GOP/s (int8 sources); NaN in a build without them
 * (WB_WITHOUT_Q8, which bench/native/build.py defines when WB_BUILD_EXCLUDE leaves q8-registry.c out). */
double wb_q8_peak_gops(double min_ms);
/* The registry entry for a case; scheme: "none", "tensor", "tap" or "wide" (NULL for the default
 * of the (algo, bits): tensor for int8 Winograd, none otherwise). NULL when the build has none. */
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

/* Fused Winograd (input transform, GEMMs and output transform per block of tiles, so the block's
 * V and M stay in L2 instead of going through memory at full size). Sized for the A53's 512 KiB
 * L2, the smallest of the boards we target. WB_WINO_FUSE: -1 (default) fuses where
 * wb_wino_block_tiles decides, 0 never, 1 always (builds for A/B measurements only). */
#define WB_L2_BYTES (512 * 1024)
#ifndef WB_WINO_FUSE
#define WB_WINO_FUSE -1
#endif

/* Most tiles per block of the fused run, or 0 for the staged run. tile_bytes: V + M of one tile
 * (all a*a positions); weight_bytes: all transformed weights, which every block reads again;
 * image_bytes: input and output. Fusion pays when the staged run's data does not fit in L2 but
 * the weights fit beside a block (cachegrind with the A53's caches: 1.2-9x fewer L2 misses then,
 * up to 3x more when the weights do not fit; kernels_c/README.md). A block takes at most a
 * quarter of L2 (and at least 8 tiles, the GEMM's rows). */
static inline size_t wb_wino_block_tiles(size_t tiles, size_t tile_bytes, size_t weight_bytes,
                                         size_t image_bytes)
{
    const size_t staged = tiles * tile_bytes + weight_bytes + image_bytes;
    const int fuse = WB_WINO_FUSE >= 0 ? WB_WINO_FUSE
                                       : staged > WB_L2_BYTES && weight_bytes <= WB_L2_BYTES / 8 * 5;
    if (!fuse)
        return 0;
    const size_t most = WB_L2_BYTES / 4 / tile_bytes / 8 * 8;
    return most < 8 ? 8 : most < tiles ? most : tiles;
}

/* Tiles per block of one fused run on `threads` threads: blocks of at most `most` tiles, about
 * equal, about a multiple of the threads (so none waits long for another's last block), and a
 * multiple of the GEMM's mr rows (a 2-row remainder per block made int8 F4 5-7% slower). */
static inline size_t wb_wino_run_block(size_t tiles, size_t most, int threads, size_t mr)
{
    size_t blocks = (tiles + most - 1) / most;
    blocks = (blocks + threads - 1) / threads * threads;
    blocks = blocks < tiles ? blocks : tiles;
    const size_t bt = ((tiles + blocks - 1) / blocks + mr - 1) / mr * mr;
    return bt < most ? bt : most;
}

/* Stage times of a fused run: each thread sums its blocks' input, GEMM and output times into
 * sums (per thread, padded against false sharing); the wall time of the blocks is split between
 * the stages in proportion, so the three add up to it as the staged run's do. */
typedef struct {
    double ms[8]; /* input, gemm, output; the rest pads to a cache line */
} wb_stage_sums;

static inline void wb_split_wall(double wall, const wb_stage_sums *sums, int threads, double *stage_ms)
{
    double s[3] = {0, 0, 0};
    for (int t = 0; t < threads; t++)
        for (int k = 0; k < 3; k++)
            s[k] += sums[t].ms[k];
    const double all = s[0] + s[1] + s[2];
    for (int k = 0; k < 3; k++)
        stage_ms[k] += all > 0 ? wall * s[k] / all : wall / 3;
}

/* Writes a one-line message into err (if any) and returns code. */
int wb_fail(char *err, int err_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
