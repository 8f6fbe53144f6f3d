/* Measuring one case of wb-runner (kernels_c/RUNNER.md): the checks the library leaves to the
 * runner, the data, the convolution's plan and calibration, warmup and timed repetitions and,
 * with --verify, the error against the double-precision direct convolution. wb_report.h prints
 * the result. */
#ifndef WB_MEASURE_H
#define WB_MEASURE_H

#include "wb.h"
#include "wb_case.h"
#include "wb_stats.h"

typedef struct {
    unsigned long long seed;          /* x from seed, the weights from seed + 1 */
    int warmup, min_reps, max_reps;   /* a case's reps= overrides min_reps */
    double min_time_ms;
    int verify;
} wb_measure_settings;

typedef struct {
    char kernel[64];                  /* registry name */
    double weight_transform_ms, gemm_flops;
    wb_samples ms[4];                 /* per repetition: input, gemm, output, total */
    unsigned long long checksum;      /* fnv1a64 of the output's bytes */
    double error[3];                  /* with verify: sqnr_db, max_abs, rel_l2 */
} wb_result;

/* Returns WB_OK with r filled (free with wb_result_free), or a WB_E_* code and a one-line
 * message in err. */
int wb_measure_case(const wb_measure_settings *s, wb_pool *pool, const wb_case *c, wb_result *r,
                    char *err, int err_len);
void wb_result_free(wb_result *r);

#endif
