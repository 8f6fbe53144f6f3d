/* The kernel registry and the public wb_conv_* API on top of it. Dispatch, the runner, the Python
 * binding and the tests all go through wb_find_kernel over the one table below, fp32 and int8
 * alike (the list is wb_kernel_list.h, generated from kernels_c/kernels.toml): adding a kernel is
 * defining its wb_kernel in its source and naming it in the table's convs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_internal.h"
#include "wb_kernel_list.h"

/* A build without the int8 sources (WB_BUILD_EXCLUDE=q8*, bench/native/build.py defines WB_WITHOUT_Q8)
 * has no kernel for bits=8: such cases are "unsupported". */
#ifdef WB_WITHOUT_Q8
#define WB_KERNELS(X) WB_F32_KERNELS(X)
#else
#define WB_KERNELS(X) WB_F32_KERNELS(X) WB_Q8_KERNELS(X)
#endif

#define WB_DECLARE(K) extern const wb_kernel K;
#define WB_ENTRY(K) &K,
WB_KERNELS(WB_DECLARE)
static const wb_kernel *const kernels[] = {WB_KERNELS(WB_ENTRY)};

/* The scheme a (algo, bits) has when none is asked for. */
static const char *default_scheme(const char *algo, int bits)
{
    return bits == 8 && strcmp(algo, "im2row") != 0 ? "tensor" : "none";
}

const wb_kernel *wb_find_kernel(const char *algo, int bits, const char *transform, const char *scheme)
{
    const int is_im2row = strcmp(algo, "im2row") == 0;
    if (!scheme)
        scheme = default_scheme(algo, bits);
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        const wb_kernel *k = kernels[i];
        if (k->bits == bits && strcmp(k->algo, algo) == 0 && strcmp(k->scheme, scheme) == 0 &&
            (is_im2row || strcmp(k->transform, transform) == 0))
            return k;
    }
    return NULL;
}

static int algo_tile(const char *algo)
{
    if (strcmp(algo, "f2") == 0) return 2;
    if (strcmp(algo, "f4") == 0) return 4;
    if (strcmp(algo, "f6") == 0) return 6;
    return strcmp(algo, "im2row") == 0 ? 0 : -1;
}

static int all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* Checks a user transform against the algo's tile size and copies it into mats. */
static int user_matrices(int tile, int m, int r, const double *at, const double *g,
                         const double *bt, wb_matrices *mats, char *err, int err_len)
{
    if (r != 3)
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "matrices have r=%d; only r=3 (3x3) is supported", r);
    if (m != tile)
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "matrices have m=%d but algo f%d needs m=%d", m, tile, tile);
    const int a = m + r - 1;
    if (!at || !g || !bt)
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "AT, G and BT must all be given");
    if (!all_finite(at, m * a)) return wb_fail(err, err_len, WB_E_BAD_MATRICES, "AT has NaN or inf");
    if (!all_finite(g, a * r)) return wb_fail(err, err_len, WB_E_BAD_MATRICES, "G has NaN or inf");
    if (!all_finite(bt, a * a)) return wb_fail(err, err_len, WB_E_BAD_MATRICES, "BT has NaN or inf");
    mats->m = m;
    mats->r = r;
    memcpy(mats->at, at, sizeof(double) * m * a);
    memcpy(mats->g, g, sizeof(double) * a * r);
    memcpy(mats->bt, bt, sizeof(double) * a * a);
    return WB_OK;
}

/* The registry's scheme for a requested one (NULL: the default), or NULL when the (algo, bits)
 * pair does not take it. */
static const char *scheme_key(const char *algo, int tile, int bits, const char *scheme)
{
    const int wino8 = tile > 0 && bits == 8;
    if (!scheme)
        return default_scheme(algo, bits);
    if (strcmp(scheme, wino8 ? "tensor" : "none") == 0 ||
        (wino8 && (strcmp(scheme, "tap") == 0 || strcmp(scheme, "wide") == 0)))
        return scheme;
    return NULL;
}

/* The requantization form of a spec (bench/numerics/reference.py steps 2 and 8): 0 int (the default
 * for int8), 1 fp32, 0 for fp32 kernels ("none"); -1 for a form the bits do not take. */
static int requant_form(const char *requant, int bits)
{
    if (bits != 8)
        return !requant || strcmp(requant, "none") == 0 ? 0 : -1;
    if (!requant || strcmp(requant, "int") == 0)
        return 0;
    return strcmp(requant, "fp32") == 0 ? 1 : -1;
}

/* Checks a spec (s->transform already defaulted): its tile size (0 for im2row), the registry's
 * scheme and, for Winograd, the matrices the kernel gets. */
static int check_spec(const wb_conv_spec *s, int *tile, const char **key, wb_matrices *mats,
                      char *err, int err_len)
{
    if ((*tile = algo_tile(s->algo)) < 0)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "unknown algo '%s' (im2row, f2, f4, f6)", s->algo);
    if (s->bits != 8 && s->bits != 32)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "bits must be 8 or 32, not %d", s->bits);
    if (!(*key = scheme_key(s->algo, *tile, s->bits, s->scheme)))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "scheme '%s' does not apply to %s at %d bits "
                       "(%s)", s->scheme, s->algo, s->bits, *tile && s->bits == 8 ? "tensor, tap, wide" : "none");
    if (requant_form(s->requant, s->bits) < 0)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "requant '%s' does not apply at %d bits (%s)",
                       s->requant, s->bits, s->bits == 8 ? "int, fp32" : "none");
    const int learned = strcmp(s->transform, "learned") == 0;
    if (*tile && !learned && strcmp(s->transform, "static") != 0)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "unknown transform '%s' (static, learned)", s->transform);
    if (s->h < 1 || s->h > 4096 || s->w < 1 || s->w > 4096)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "h and w must be in 1..4096 (got %d x %d)", s->h, s->w);
    if (s->cin < 1 || s->cin > 8192 || s->cout < 1 || s->cout > 8192)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "cin and cout must be in 1..8192 (got %d, %d)", s->cin, s->cout);
    if (s->k < 1 || s->k > 7 || s->k % 2 == 0 || (s->stride != 1 && s->stride != 2) || s->pad < 0 || s->pad >= s->k)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "filter k=%d stride=%d pad=%d: k 1, 3, 5 or 7, stride "
                       "1 or 2, pad in 0..k-1", s->k, s->stride, s->pad);
    if (wb_conv_out_size(s->h, s->k, s->stride, s->pad) < 1 || wb_conv_out_size(s->w, s->k, s->stride, s->pad) < 1)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "a %dx%d filter with padding %d does not fit a %d x %d "
                       "input", s->k, s->k, s->pad, s->h, s->w);
    if (*tile && (s->k != 3 || s->stride != 1 || s->pad != 1))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "Winograd %s takes 3x3 stride 1 padding 1 only, not "
                       "k=%d stride=%d pad=%d (im2row takes k 1, 3, 5, 7, stride 1 or 2)", s->algo, s->k,
                       s->stride, s->pad);
    const int user = s->at || s->g || s->bt;
    if (user && (!*tile || !learned))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "matrices are only for learned Winograd transforms");
    if (!*tile)
        return WB_OK;
    return user ? user_matrices(*tile, s->m, s->r, s->at, s->g, s->bt, mats, err, err_len)
                : wb_default_matrices(*tile, mats);
}

/* Outputs before the first in the tile grid of a size for a tile origin; -1 for an unknown one. */
static int tile_offset(const char *origin, int size, int m)
{
    if (!origin || strcmp(origin, "top-left") == 0)
        return 0;
    if (strcmp(origin, "symmetric") != 0)
        return -1;
    return m ? (m - size % m) % m / 2 : 0; /* im2row has no tiles */
}

int wb_conv_create(const wb_conv_spec *spec, const float *weights, wb_conv **out, char *err,
                   int err_len)
{
    *out = NULL;
    if (err && err_len > 0)
        err[0] = 0;
    wb_conv_spec s = *spec;
    s.transform = s.transform ? s.transform : "static";
    if (!s.k) /* the default filter: 3x3, stride 1, same padding */
        s.k = 3, s.stride = 1, s.pad = 1;
    s.stride = s.stride ? s.stride : 1;
    s.pad = s.pad == -1 ? s.k / 2 : s.pad;
    int tile, rc;
    const char *key = NULL;
    wb_matrices mats;
    if ((rc = check_spec(&s, &tile, &key, &mats, err, err_len)) != WB_OK)
        return rc;
    const wb_kernel *k = wb_find_kernel(s.algo, s.bits, s.transform, key);
    if (!k)
        return wb_fail(err, err_len, WB_E_UNSUPPORTED, "no %d-bit kernel for algo=%s transform=%s in this build",
                       s.bits, s.algo, tile ? s.transform : "none");
    const int oy = tile_offset(s.tile_origin, s.h, tile), ox = tile_offset(s.tile_origin, s.w, tile);
    if (oy < 0)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "unknown tile origin '%s' (top-left, symmetric)", s.tile_origin);
    wb_conv *c = calloc(1, sizeof *c);
    if (!c)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    c->kernel = k;
    c->h = s.h, c->w = s.w, c->cin = s.cin, c->cout = s.cout, c->oy = oy, c->ox = ox;
    c->k = s.k, c->stride = s.stride, c->pad = s.pad;
    c->ho = wb_conv_out_size(s.h, s.k, s.stride, s.pad), c->wo = wb_conv_out_size(s.w, s.k, s.stride, s.pad);
    c->h = s.h, c->w = s.w, c->cin = s.cin, c->cout = s.cout;
    c->requant = requant_form(s.requant, s.bits);
    const double t0 = wb_now_ms();
    rc = k->create(c, tile ? &mats : NULL, weights, err, err_len);
    c->weight_transform_ms = wb_now_ms() - t0;
    if (rc != WB_OK) {
        wb_conv_destroy(c);
        return rc;
    }
    *out = c;
    return WB_OK;
}

int wb_conv_calibrate(wb_conv *conv, const float *x)
{
    return conv->kernel->calibrate ? conv->kernel->calibrate(conv, x) : WB_OK;
}

#ifdef WB_SLOW_KERNEL
/* Test builds only (the check of `bench compare`, tests/analysis/test_compare.py): the kernel named
 * WB_SLOW_KERNEL spins for WB_SLOW_PERCENT % of its own run time more. Normal builds never
 * define it (bench.build adds defines only when asked, and they change the build hash). */
static double slow_spin(const wb_conv *conv, double ran_ms)
{
    if (strcmp(conv->kernel->name, WB_SLOW_KERNEL))
        return 0.0;
    const double extra = ran_ms * (WB_SLOW_PERCENT) / 100.0, t0 = wb_now_ms();
    while (wb_now_ms() - t0 < extra)
        ;
    return extra;
}
#endif

int wb_conv_run(wb_conv *conv, const float *x, float *y, wb_pool *pool, double *stage_ms)
{
    double st[4] = {0, 0, 0, -1};
    const double t0 = wb_now_ms();
    const int rc = conv->kernel->run(conv, x, y, pool, st);
#ifdef WB_SLOW_KERNEL
    const double extra = slow_spin(conv, wb_now_ms() - t0);
    if (st[3] >= 0) /* the kernel timed its own total: the spin belongs to it too */
        st[3] += extra;
#endif
    const double t1 = wb_now_ms();
    if (st[3] < 0) /* the kernel did not time its own total */
        st[3] = t1 - t0;
    if (stage_ms)
        memcpy(stage_ms, st, sizeof st);
    return rc;
}

void wb_conv_destroy(wb_conv *conv)
{
    if (!conv)
        return;
    conv->kernel->destroy(conv);
    free(conv);
}

int wb_conv_out_size(int h, int k, int stride, int pad)
{
    return h + 2 * pad < k || stride < 1 ? 0 : (h + 2 * pad - k) / stride + 1;
}

double wb_conv_weight_transform_ms(const wb_conv *conv) { return conv->weight_transform_ms; }
double wb_conv_gemm_flops(const wb_conv *conv) { return conv->gemm_flops; }
const char *wb_conv_kernel_name(const wb_conv *conv) { return conv->kernel->name; }
