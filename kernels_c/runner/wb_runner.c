/* wb-runner: the on-board measurement program (protocol: kernels_c/RUNNER.md). Reads cases,
 * measures each convolution (wb_measure.c) and prints one JSON line per case on stdout
 * (wb_report.c); a bad case gives an error line and the next case runs. Diagnostics go to
 * stderr. This file: the command line, the CPUs and the loop over the cases. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb.h"
#include "wb_case.h"
#include "wb_measure.h"
#include "wb_report.h"

#define MAX_CPUS 256

typedef struct {
    int cpus[MAX_CPUS], ncpus, pinned, threads, peak;
    const char *cases;
    wb_measure_settings m;
} options;

static void usage(FILE *f)
{
    fputs("usage: wb-runner [--cpus LIST] [--threads N] [--verify] [--seed S] [--min-time-ms T]\n"
          "                 [--min-reps N] [--max-reps N] [--warmup N] [--peak] [--cases FILE]\n"
          "Cases (one per line, key=value) from FILE, or stdin when absent or '-'.\n"
          "LIST: CPU numbers and ranges, e.g. 4,5 or 4-7.\n", f);
}

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("wb-runner: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    usage(stderr);
    return 2;
}

static int parse_cpus(const char *s, options *o)
{
    char *end;
    o->ncpus = 0;
    while (*s) {
        errno = 0;
        long lo = strtol(s, &end, 10), hi = lo;
        if (end == s || errno || lo < 0)
            return -1;
        s = end;
        if (*s == '-') {
            hi = strtol(s + 1, &end, 10);
            if (end == s + 1 || hi < lo)
                return -1;
            s = end;
        }
        for (long c = lo; c <= hi; c++) {
            if (o->ncpus == MAX_CPUS || c >= CPU_SETSIZE)
                return -1;
            o->cpus[o->ncpus++] = (int)c;
        }
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return o->ncpus ? 0 : -1;
}

static int parse_count(const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.threads = 1, .cases = "-",
                   .m = {.seed = 1, .warmup = 2, .min_reps = 10, .max_reps = 100000,
                         .min_time_ms = 200.0}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--verify")) {
            o->m.verify = 1;
        } else if (!strcmp(a, "--peak")) {
            o->peak = 1;
        } else if (!v) {
            return bad_usage("option %s needs a value (or is unknown)", a);
        } else if (!strcmp(a, "--cpus")) {
            if (parse_cpus(v, o))
                return bad_usage("bad CPU list '%s' (e.g. 4,5 or 4-7)", v);
            o->pinned = 1, i++;
        } else if (!strcmp(a, "--cases")) {
            o->cases = v, i++;
        } else if (!strcmp(a, "--min-time-ms")) {
            char *end;
            o->m.min_time_ms = strtod(v, &end);
            if (end == v || *end || !(o->m.min_time_ms >= 0))
                return bad_usage("bad --min-time-ms '%s'", v);
            i++;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o->m.seed = strtoull(v, &end, 10);
            if (errno || end == v || *end)
                return bad_usage("bad --seed '%s'", v);
            i++;
        } else {
            int *dst = !strcmp(a, "--threads")    ? &o->threads
                       : !strcmp(a, "--min-reps") ? &o->m.min_reps
                       : !strcmp(a, "--max-reps") ? &o->m.max_reps
                       : !strcmp(a, "--warmup")   ? &o->m.warmup
                                                  : NULL;
            if (!dst)
                return bad_usage("unknown option %s", a);
            if (parse_count(v, dst == &o->m.warmup ? 0 : 1, &n) || n > 100000000)
                return bad_usage("bad value for %s", a);
            *dst = (int)n, i++;
        }
    }
    return 0;
}

/* Pins the process (sched_setaffinity) to --cpus, or reads the CPUs it may run on. */
static int setup_cpus(options *o)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (o->pinned) {
        for (int i = 0; i < o->ncpus; i++)
            CPU_SET(o->cpus[i], &set);
        if (sched_setaffinity(0, sizeof set, &set)) {
            fprintf(stderr, "wb-runner: cannot pin to the CPU list given with --cpus: %s\n",
                    strerror(errno));
            return 2;
        }
    } else {
        if (sched_getaffinity(0, sizeof set, &set))
            return 2;
        for (int c = 0; c < CPU_SETSIZE && o->ncpus < MAX_CPUS; c++)
            if (CPU_ISSET(c, &set))
                o->cpus[o->ncpus++] = c;
    }
    if (o->threads > o->ncpus) {
        fprintf(stderr, "wb-runner: --threads %d needs at least as many CPUs (have %d)\n",
                o->threads, o->ncpus);
        return 2;
    }
    return 0;
}

/* Measures the case and prints its line, or its error line. */
static void run_case(const options *o, wb_pool *pool, const wb_case *c)
{
    char err[512] = "";
    wb_result r;
    const int rc = wb_measure_case(&o->m, pool, c, &r, err, sizeof err);
    if (rc != WB_OK) {
        wb_print_error(c, rc, err);
        return;
    }
    wb_print_case(c, &r, o->cpus, o->threads, o->m.verify);
    wb_result_free(&r);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if ((rc = setup_cpus(&o)))
        return rc;
    FILE *in = strcmp(o.cases, "-") ? fopen(o.cases, "r") : stdin;
    if (!in) {
        fprintf(stderr, "wb-runner: cannot read cases file %s: %s\n", o.cases, strerror(errno));
        return 2;
    }
    char err[512];
    wb_pool *pool = wb_pool_create(o.threads, o.pinned ? o.cpus : NULL, err, sizeof err);
    if (!pool) {
        fprintf(stderr, "wb-runner: %s\n", err);
        return 2;
    }
    wb_print_info(o.cpus, o.ncpus, o.threads, o.m.seed, o.m.verify);
    if (o.peak)
        wb_print_peak(o.cpus[0]);
    char *line = NULL;
    size_t cap = 0;
    wb_case c = {0};
    for (int lineno = 1; getline(&line, &cap, in) >= 0; lineno++) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        c.line = lineno;
        err[0] = 0;
        if (wb_parse_case(line, &c, err, sizeof err))
            wb_print_error(&c, WB_E_BAD_CASE, err);
        else
            run_case(&o, pool, &c);
    }
    free(line);
    if (in != stdin)
        fclose(in);
    wb_pool_destroy(pool);
    return 0;
}
