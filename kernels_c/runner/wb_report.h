/* The JSON lines wb-runner prints on stdout (kernels_c/RUNNER.md, "Output lines"), each flushed
 * as soon as it is complete. */
#ifndef WB_REPORT_H
#define WB_REPORT_H

#include "wb_case.h"
#include "wb_measure.h"

/* The info line: the build and the CPUs the runner measures on. */
void wb_print_info(const int *cpus, int ncpus, int threads, unsigned long long seed, int verify);
/* The peak line: fp32 and int8 rates and streaming bandwidth, measured on the calling thread. */
void wb_print_peak(int cpu);
/* The case line of a measured case (cpus: the first `threads` are the ones used). */
void wb_print_case(const wb_case *c, const wb_result *r, const int *cpus, int threads,
                   int verified);
/* The case line of a case that failed with a WB_E_* code. */
void wb_print_error(const wb_case *c, int code, const char *msg);

#endif
