#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wb_stats.h"

int wb_samples_push(wb_samples *s, double x)
{
    if (s->n == s->cap) {
        const int cap = s->cap ? 2 * s->cap : 64;
        double *v = realloc(s->v, sizeof(double) * cap);
        if (!v)
            return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile q in [0, 1] of sorted values, linear interpolation (numpy's default). */
static double percentile_sorted(const double *v, int n, double q)
{
    const double pos = q * (n - 1);
    const int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

double wb_median(const double *v, int n)
{
    double *s = malloc(sizeof(double) * (n ? n : 1));
    if (!s || !n) {
        free(s);
        return NAN;
    }
    memcpy(s, v, sizeof(double) * n);
    qsort(s, n, sizeof(double), cmp_double);
    const double m = percentile_sorted(s, n, 0.5);
    free(s);
    return m;
}

void wb_json_number(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.9g", x);
    else
        fputs("null", f);
}

void wb_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void wb_json_stats(FILE *f, const char *name, const wb_samples *s)
{
    const int n = s->n;
    double *v = malloc(sizeof(double) * (n ? n : 1)), sum = 0.0;
    memcpy(v, s->v, sizeof(double) * n);
    qsort(v, n, sizeof(double), cmp_double);
    for (int i = 0; i < n; i++)
        sum += v[i];
    const double med = percentile_sorted(v, n, 0.5);
    for (int i = 0; i < n; i++)
        v[i] = fabs(s->v[i] - med);
    qsort(v, n, sizeof(double), cmp_double);
    const double mad = percentile_sorted(v, n, 0.5);
    memcpy(v, s->v, sizeof(double) * n);
    qsort(v, n, sizeof(double), cmp_double);
    fprintf(f, "\"%s\": {\"median\": ", name);
    wb_json_number(f, med);
    fputs(", \"mean\": ", f);
    wb_json_number(f, sum / n);
    fputs(", \"min\": ", f);
    wb_json_number(f, v[0]);
    fputs(", \"p10\": ", f);
    wb_json_number(f, percentile_sorted(v, n, 0.1));
    fputs(", \"p90\": ", f);
    wb_json_number(f, percentile_sorted(v, n, 0.9));
    fputs(", \"mad\": ", f);
    wb_json_number(f, mad);
    fputs(", \"samples\": [", f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? ", %.9g" : "%.9g", s->v[i]);
    fputs("]}", f);
    free(v);
}
