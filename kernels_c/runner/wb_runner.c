/* wb-runner: the on-board measurement program (protocol: kernels_c/RUNNER.md). Reads cases,
 * runs each convolution with warmup and repetitions, prints one JSON line per case on stdout;
 * a bad case gives an error line and the next case runs. Diagnostics go to stderr. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "wb.h"
#include "wb_case.h"
#include "wb_stats.h"

#define RUNNER_VERSION 1
#define MAX_CPUS 256

/* Written by bench/build.py next to the objects of each build. */
extern const char wb_build_cflags[], wb_build_hash[];
double wb_q8_peak_gops(double min_ms);

typedef struct {
    int cpus[MAX_CPUS], ncpus, pinned, threads, verify, warmup, min_reps, max_reps, peak;
    unsigned long long seed;
    double min_time_ms;
    const char *cases;
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
    *o = (options){.threads = 1, .warmup = 2, .min_reps = 10, .max_reps = 100000, .seed = 1,
                   .min_time_ms = 200.0, .cases = "-"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--verify")) {
            o->verify = 1;
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
            o->min_time_ms = strtod(v, &end);
            if (end == v || *end || !(o->min_time_ms >= 0))
                return bad_usage("bad --min-time-ms '%s'", v);
            i++;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (errno || end == v || *end)
                return bad_usage("bad --seed '%s'", v);
            i++;
        } else {
            int *dst = !strcmp(a, "--threads")    ? &o->threads
                       : !strcmp(a, "--min-reps") ? &o->min_reps
                       : !strcmp(a, "--max-reps") ? &o->max_reps
                       : !strcmp(a, "--warmup")   ? &o->warmup
                                                  : NULL;
            if (!dst)
                return bad_usage("unknown option %s", a);
            if (parse_count(v, dst == &o->warmup ? 0 : 1, &n) || n > 100000000)
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

static void print_info(const options *o)
{
    printf("{\"type\": \"info\", \"runner_version\": %d, \"arch\": ", RUNNER_VERSION);
#if defined(__aarch64__)
    wb_json_string(stdout, "aarch64");
#elif defined(__x86_64__)
    wb_json_string(stdout, "x86_64");
#else
    wb_json_string(stdout, "unknown");
#endif
    printf(", \"compiler\": ");
    wb_json_string(stdout, "gcc " __VERSION__);
    printf(", \"cflags\": ");
    wb_json_string(stdout, wb_build_cflags);
    printf(", \"build_hash\": ");
    wb_json_string(stdout, wb_build_hash);
    printf(", \"cpus\": [");
    for (int i = 0; i < o->ncpus; i++)
        printf(i ? ", %d" : "%d", o->cpus[i]);
    printf("], \"threads\": %d, \"midr\": [", o->threads);
    for (int i = 0; i < o->ncpus; i++) { /* aligned with cpus; null where unreadable */
        char path[128];
        unsigned long long midr;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/regs/identification/midr_el1",
                 o->cpus[i]);
        FILE *f = fopen(path, "r");
        const int ok = f && fscanf(f, "%llx", &midr) == 1;
        if (f)
            fclose(f);
        printf(i ? ", " : "");
        if (ok)
            printf("\"0x%08llx\"", midr);
        else
            printf("null");
    }
    int dotprod = 0;
#if defined(__aarch64__)
    dotprod = (getauxval(AT_HWCAP) & (1UL << 20)) != 0; /* HWCAP_ASIMDDP */
#endif
    printf("], \"features\": {\"neon\": true, \"neon_emulated\": %s, \"dotprod\": %s}, "
           "\"seed\": %llu, \"verify\": %s}\n",
#if defined(__aarch64__)
           "false",
#else
           "true",
#endif
           dotprod ? "true" : "false", o->seed, o->verify ? "true" : "false");
    fflush(stdout);
}

static const char *error_kind(int code)
{
    switch (code) {
    case WB_E_BAD_CASE: return "bad_case";
    case WB_E_BAD_MATRICES: return "bad_matrices";
    case WB_E_UNSUPPORTED: return "unsupported";
    default: return "runtime";
    }
}

static void print_error(const wb_case *c, int code, const char *msg)
{
    printf("{\"type\": \"case\", \"line\": %d, \"id\": ", c->line);
    if (c->id[0])
        wb_json_string(stdout, c->id);
    else
        printf("null");
    printf(", \"status\": \"error\", \"error_kind\": \"%s\", \"message\": ", error_kind(code));
    wb_json_string(stdout, msg);
    printf("}\n");
    fflush(stdout);
}

/* Measures one case and prints its line. Returns a WB_E_* code (the line is printed by the
 * caller on failure). */
static int run_case(const options *o, wb_pool *pool, const wb_case *c, char *err, int err_len)
{
    const int is_wino = strcmp(c->algo, "im2row") != 0;
    wb_matrix_file mf = {0};
    if (c->matrices[0]) {
        if (!is_wino || strcmp(c->transform, "learned")) {
            snprintf(err, err_len, "matrices= is only for learned Winograd transforms");
            return WB_E_BAD_CASE;
        }
        if (wb_read_matrices(c->matrices, &mf, err, err_len))
            return WB_E_BAD_MATRICES;
    }
    if (c->h < 1 || c->h > 4096 || c->w < 1 || c->w > 4096 || c->cin < 1 || c->cin > 8192 ||
        c->cout < 1 || c->cout > 8192) {
        snprintf(err, err_len, "sizes out of range: h, w in 1..4096, cin, cout in 1..8192");
        return WB_E_BAD_CASE;
    }
    const size_t nx = (size_t)c->h * c->w * c->cin, nw = (size_t)9 * c->cin * c->cout,
                 ny = (size_t)c->h * c->w * c->cout;
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float));
    float *y = calloc(ny, sizeof(float));
    wb_samples st[4] = {{0}};
    wb_conv *conv = NULL;
    int rc = WB_E_RUNTIME;
    if (!x || !w || !y) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }
    wb_fill_gaussian(x, nx, o->seed);
    wb_fill_gaussian(w, nw, o->seed + 1);
    const int user = c->matrices[0] != 0;
    const wb_conv_spec spec = {c->algo, c->bits, c->transform, c->scheme[0] ? c->scheme : NULL,
                               mf.m, mf.r, user ? mf.at : NULL, user ? mf.g : NULL,
                               user ? mf.bt : NULL, c->h, c->w, c->cin, c->cout};
    rc = wb_conv_create(&spec, w, &conv, err, err_len);
    if (rc != WB_OK)
        goto done;
    if ((rc = wb_conv_calibrate(conv, x)) != WB_OK) { /* int8: quantization, before timing */
        snprintf(err, err_len, "calibration failed (code %d)", rc);
        goto done;
    }

    double ms[4];
    for (int i = 0; i < o->warmup; i++)
        if ((rc = wb_conv_run(conv, x, y, pool, ms)) != WB_OK)
            goto run_failed;
    const int min_reps = c->reps ? c->reps : o->min_reps;
    double elapsed = 0.0;
    while (st[3].n < o->max_reps && (st[3].n < min_reps || elapsed < o->min_time_ms)) {
        if ((rc = wb_conv_run(conv, x, y, pool, ms)) != WB_OK)
            goto run_failed;
        for (int s = 0; s < 4; s++)
            if (wb_samples_push(&st[s], ms[s])) {
                snprintf(err, err_len, "out of memory");
                rc = WB_E_RUNTIME;
                goto done;
            }
        elapsed += ms[3];
    }

    double error[3];
    if (o->verify) {
        double *ref = malloc(ny * sizeof(double));
        if (!ref) {
            snprintf(err, err_len, "out of memory for --verify");
            rc = WB_E_RUNTIME;
            goto done;
        }
        wb_conv_direct_f64(x, w, c->h, c->w, c->cin, c->cout, ref);
        wb_error_metrics(y, ref, ny, error);
        free(ref);
    }

    printf("{\"type\": \"case\", \"line\": %d, \"id\": ", c->line);
    if (c->id[0])
        wb_json_string(stdout, c->id);
    else
        printf("null");
    const char *scheme = c->scheme[0] ? c->scheme : is_wino && c->bits == 8 ? "tensor" : "none";
    printf(", \"algo\": \"%s\", \"transform\": \"%s\", \"bits\": %d, \"scheme\": \"%s\", \"h\": %d, "
           "\"w\": %d, \"cin\": %d, \"cout\": %d, \"status\": \"ok\", \"kernel\": \"%s\", "
           "\"reps\": %d, \"cpus\": [",
           c->algo, is_wino ? c->transform : "none", c->bits, scheme, c->h, c->w, c->cin, c->cout,
           wb_conv_kernel_name(conv), st[3].n);
    for (int i = 0; i < o->threads; i++)
        printf(i ? ", %d" : "%d", o->cpus[i]);
    printf("], \"threads\": %d, ", o->threads);
    if (c->matrices[0]) {
        printf("\"matrices\": ");
        wb_json_string(stdout, c->matrices);
        printf(", ");
    }
    printf("\"weight_transform_ms\": ");
    wb_json_number(stdout, wb_conv_weight_transform_ms(conv));
    static const char *names[4] = {"input_ms", "gemm_ms", "output_ms", "total_ms"};
    static const int order[4] = {3, 0, 1, 2}; /* total first, then the stages */
    for (int k = 0; k < 4; k++) {
        printf(", ");
        wb_json_stats(stdout, names[order[k]], &st[order[k]]);
    }
    printf(", \"gemm_gflops\": ");
    wb_json_number(stdout, wb_conv_gemm_flops(conv) / (wb_median(st[1].v, st[1].n) * 1e6));
    printf(", \"checksum\": \"%016llx\"", wb_fnv1a64(y, ny * sizeof(float)));
    if (o->verify) {
        printf(", \"error\": {\"sqnr_db\": ");
        wb_json_number(stdout, error[0]);
        printf(", \"max_abs\": ");
        wb_json_number(stdout, error[1]);
        printf(", \"rel_l2\": ");
        wb_json_number(stdout, error[2]);
        printf("}");
    }
    printf("}\n");
    fflush(stdout);
    rc = WB_OK;
    goto done;
run_failed:
    snprintf(err, err_len, "the convolution failed (code %d)", rc);
done:
    wb_conv_destroy(conv);
    free(x);
    free(w);
    free(y);
    for (int s = 0; s < 4; s++)
        free(st[s].v);
    return rc;
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
    print_info(&o);
    if (o.peak) {
        printf("{\"type\": \"peak\", \"cpu\": %d, \"f32_gflops\": ", o.cpus[0]);
        wb_json_number(stdout, wb_peak_f32_gflops(300.0));
        printf(", \"i8_gops\": ");
        wb_json_number(stdout, wb_q8_peak_gops(300.0));
        printf(", \"bw_gbs\": ");
        wb_json_number(stdout, wb_peak_bw_gbs(300.0));
        printf("}\n");
        fflush(stdout);
    }
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
        if (wb_parse_case(line, &c, err, sizeof err)) {
            print_error(&c, WB_E_BAD_CASE, err);
            continue;
        }
        rc = run_case(&o, pool, &c, err, sizeof err);
        if (rc != WB_OK)
            print_error(&c, rc, err);
    }
    free(line);
    if (in != stdin)
        fclose(in);
    wb_pool_destroy(pool);
    return 0;
}
