/* Sample statistics and JSON output helpers for wb-runner. */
#ifndef WB_STATS_H
#define WB_STATS_H

#include <stdio.h>

typedef struct {
    double *v;
    int n, cap;
} wb_samples;

int wb_samples_push(wb_samples *s, double x); /* 0, or -1 when out of memory */
double wb_median(const double *v, int n);
/* "name": {"median":..,"mean":..,"min":..,"p10":..,"p90":..,"mad":..,"samples":[..]} */
void wb_json_stats(FILE *f, const char *name, const wb_samples *s);
void wb_json_number(FILE *f, double x); /* null when not finite */
void wb_json_string(FILE *f, const char *s);

#endif
