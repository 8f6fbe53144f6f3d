/* The JSON lines of wb-runner (wb_report.h). */
#include <stdio.h>
#include <string.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "wb.h"
#include "wb_report.h"

#define RUNNER_VERSION 1

/* Written by bench/native/build.py next to the objects of each build. */
extern const char wb_build_cflags[], wb_build_hash[];
double wb_q8_peak_gops(double min_ms);

#if defined(__aarch64__)
#define ARCH "aarch64"
#define NEON_EMULATED "false"
#elif defined(__x86_64__)
#define ARCH "x86_64"
#define NEON_EMULATED "true"
#else
#define ARCH "unknown"
#define NEON_EMULATED "true"
#endif

/* "midr": [...], the MIDR of each CPU of the list where sysfs has it, else null */
static void print_midr(const int *cpus, int ncpus)
{
    printf("\"midr\": [");
    for (int i = 0; i < ncpus; i++) {
        char path[128];
        unsigned long long midr;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/regs/identification/midr_el1",
                 cpus[i]);
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
    printf("]");
}

void wb_print_info(const int *cpus, int ncpus, int threads, unsigned long long seed, int verify)
{
    printf("{\"type\": \"info\", \"runner_version\": %d, \"arch\": ", RUNNER_VERSION);
    wb_json_string(stdout, ARCH);
    printf(", \"compiler\": ");
    wb_json_string(stdout, "gcc " __VERSION__);
    printf(", \"cflags\": ");
    wb_json_string(stdout, wb_build_cflags);
    printf(", \"build_hash\": ");
    wb_json_string(stdout, wb_build_hash);
    printf(", \"cpus\": [");
    for (int i = 0; i < ncpus; i++)
        printf(i ? ", %d" : "%d", cpus[i]);
    printf("], \"threads\": %d, ", threads);
    print_midr(cpus, ncpus);
    int dotprod = 0;
#if defined(__aarch64__)
    dotprod = (getauxval(AT_HWCAP) & (1UL << 20)) != 0; /* HWCAP_ASIMDDP */
#endif
    printf(", \"features\": {\"neon\": true, \"neon_emulated\": %s, \"dotprod\": %s}, "
           "\"seed\": %llu, \"verify\": %s}\n",
           NEON_EMULATED, dotprod ? "true" : "false", seed, verify ? "true" : "false");
    fflush(stdout);
}

void wb_print_peak(int cpu)
{
    printf("{\"type\": \"peak\", \"cpu\": %d, \"f32_gflops\": ", cpu);
    wb_json_number(stdout, wb_peak_f32_gflops(300.0));
    printf(", \"i8_gops\": ");
    wb_json_number(stdout, wb_q8_peak_gops(300.0));
    printf(", \"bw_gbs\": ");
    wb_json_number(stdout, wb_peak_bw_gbs(300.0));
    printf("}\n");
    fflush(stdout);
}

/* {"type": "case", "line": N, "id": ..., the start of every case line */
static void print_case_head(const wb_case *c)
{
    printf("{\"type\": \"case\", \"line\": %d, \"id\": ", c->line);
    if (c->id[0])
        wb_json_string(stdout, c->id);
    else
        printf("null");
}

/* The case as measured: what the case line asked, echoed with its defaults, and where it ran. */
static void print_case_echo(const wb_case *c, const wb_result *r, const int *cpus, int threads)
{
    const int is_wino = strcmp(c->algo, "im2row") != 0;
    const char *scheme = c->scheme[0] ? c->scheme : is_wino && c->bits == 8 ? "tensor" : "none";
    const char *requant = c->requant[0] ? c->requant : c->bits == 8 ? "int" : "none";
    printf(", \"algo\": \"%s\", \"transform\": \"%s\", \"bits\": %d, \"scheme\": \"%s\", "
           "\"requant\": \"%s\", \"h\": %d, \"w\": %d, \"cin\": %d, \"cout\": %d, \"k\": %d, "
           "\"stride\": %d, \"pad\": %d, \"status\": \"ok\", \"kernel\": \"%s\", \"reps\": %d, "
           "\"cpus\": [",
           c->algo, is_wino ? c->transform : "none", c->bits, scheme, requant, c->h, c->w, c->cin,
           c->cout, c->k, c->stride, c->pad, r->kernel, r->ms[3].n);
    for (int i = 0; i < threads; i++)
        printf(i ? ", %d" : "%d", cpus[i]);
    printf("], \"threads\": %d, ", threads);
    if (c->matrices[0]) {
        printf("\"matrices\": ");
        wb_json_string(stdout, c->matrices);
        printf(", ");
    }
}

void wb_print_case(const wb_case *c, const wb_result *r, const int *cpus, int threads, int verified)
{
    static const char *names[4] = {"input_ms", "gemm_ms", "output_ms", "total_ms"};
    static const int order[4] = {3, 0, 1, 2}; /* total first, then the stages */
    print_case_head(c);
    print_case_echo(c, r, cpus, threads);
    printf("\"weight_transform_ms\": ");
    wb_json_number(stdout, r->weight_transform_ms);
    for (int k = 0; k < 4; k++) {
        printf(", ");
        wb_json_stats(stdout, names[order[k]], &r->ms[order[k]]);
    }
    printf(", \"gemm_gflops\": ");
    wb_json_number(stdout, r->gemm_flops / (wb_median(r->ms[1].v, r->ms[1].n) * 1e6));
    printf(", \"checksum\": \"%016llx\"", r->checksum);
    if (verified) {
        printf(", \"error\": {\"sqnr_db\": ");
        wb_json_number(stdout, r->error[0]);
        printf(", \"max_abs\": ");
        wb_json_number(stdout, r->error[1]);
        printf(", \"rel_l2\": ");
        wb_json_number(stdout, r->error[2]);
        printf("}");
    }
    printf("}\n");
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

void wb_print_error(const wb_case *c, int code, const char *msg)
{
    print_case_head(c);
    printf(", \"status\": \"error\", \"error_kind\": \"%s\", \"message\": ", error_kind(code));
    wb_json_string(stdout, msg);
    printf("}\n");
    fflush(stdout);
}
