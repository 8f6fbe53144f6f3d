/* The int8 plan: integer transform matrices, the scheme's micro-kernels, buffers and the fused
 * run's blocks, the weight transform (q8-weights.c), timed as the weight transform; and what a
 * plan exposes (parameters, intermediates). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_q8_plan.h"

#if defined(__ARM_FEATURE_DOTPROD)
#include <sys/auxv.h>
#define WB_HWCAP_ASIMDDP (1UL << 20)
/* A dot-product build on a core without SDOT would die of SIGILL in the GEMM: refuse instead. */
int wb_q8_have_dotprod(void) { return (getauxval(AT_HWCAP) & WB_HWCAP_ASIMDDP) != 0; }
#else
int wb_q8_have_dotprod(void) { return 1; /* not needed by this build */ }
#endif

/* The tile transforms per [requant form][learned][m]: static kernels fold the default matrices,
 * learned ones take them at run time. The wide input has no requantization: one form. The int
 * form's tap/wide outputs run in int32 where the output matrix allows (out32); learned ones else
 * take their int64 twins (int64_fns). */
#define WB_TILE_FNS2(I, O)                                                                         \
    {                                                                                              \
        [2] = {wb_q8_winoin_##I##ukernel_f2__neon, wb_q8_winoout_##O##ukernel_f2__neon},           \
        [4] = {wb_q8_winoin_##I##ukernel_f4__neon, wb_q8_winoout_##O##ukernel_f4__neon},           \
        [6] = {wb_q8_winoin_##I##ukernel_f6__neon, wb_q8_winoout_##O##ukernel_f6__neon},           \
    }
#define WB_TILE_FNS(V) WB_TILE_FNS2(V, V)
static const struct {
    wb_q8_winoin_fn in;
    wb_q8_winoout_fn out;
} tensor_fns[2][2][7] = {{WB_TILE_FNS(static_int_), WB_TILE_FNS(learned_int_)},
                         {WB_TILE_FNS(static_), WB_TILE_FNS(learned_)}};
static const struct {
    wb_q8_sin_fn in;
    wb_q8_sout_fn out;
} scheme_fns[2][2][2][7] = {
    {{WB_TILE_FNS(tap_static_int_), WB_TILE_FNS(tap_learned_int_)},
     {WB_TILE_FNS2(wide_static_, wide_static_int_), WB_TILE_FNS2(wide_learned_, wide_learned_int_)}},
    {{WB_TILE_FNS(tap_static_), WB_TILE_FNS(tap_learned_)},
     {WB_TILE_FNS(wide_static_), WB_TILE_FNS(wide_learned_)}}};
static const wb_q8_sout_fn int64_fns[2][7] = {
    {[2] = wb_q8_winoout_tap_learned_int64_ukernel_f2__neon,
     [4] = wb_q8_winoout_tap_learned_int64_ukernel_f4__neon,
     [6] = wb_q8_winoout_tap_learned_int64_ukernel_f6__neon},
    {[2] = wb_q8_winoout_wide_learned_int64_ukernel_f2__neon,
     [4] = wb_q8_winoout_wide_learned_int64_ukernel_f4__neon,
     [6] = wb_q8_winoout_wide_learned_int64_ukernel_f6__neon}};
/* wide with row scales (step 9): the learned outputs with a requantization per output position,
 * per requant form (the int form's: int64 passes) */
static const wb_q8_sout_fn rows_fns[2][7] = {
    {[2] = wb_q8_winoout_wide_learned_int64_rows_ukernel_f2__neon,
     [4] = wb_q8_winoout_wide_learned_int64_rows_ukernel_f4__neon,
     [6] = wb_q8_winoout_wide_learned_int64_rows_ukernel_f6__neon},
    {[2] = wb_q8_winoout_wide_learned_rows_ukernel_f2__neon,
     [4] = wb_q8_winoout_wide_learned_rows_ukernel_f4__neon,
     [6] = wb_q8_winoout_wide_learned_rows_ukernel_f6__neon}};

void wb_q8_plan_destroy(wb_q8_plan *p)
{
    if (!p)
        return;
    wb_free(p->wq);
    wb_free(p->u8);
    wb_free(p->wpacked);
    wb_free(p->xpad);
    wb_free(p->v8);
    wb_free(p->p8);
    wb_free(p->patches);
    wb_free(p->scratch);
    for (int t = 0; t < WB_MAX_THREADS; t++)
        wb_free(p->block[t]);
    if (p->sch) {
        wb_free(p->sch->v16);
        wb_free(p->sch->u16);
        wb_free(p->sch->w16);
        wb_free(p->sch->m32);
        free(p->sch);
    }
    free(p);
}

/* The dense kernels' copy of Tq, with each pass's lane width from the scheme's bounds. */
static void make_tmat(const int64_t *tq, int rows, int a, wb_q8_tmat *tm)
{
    const int64_t l1 = wb_q8_max_row_l1(tq, rows, a);
    tm->rows = rows;
    tm->a = a;
    tm->lanes1 = 127 * l1 <= 32767 ? 16 : 32;
    tm->lanes2 = 127 * l1 * l1 <= 32767 ? 16 : 32;
    for (int i = 0; i < rows * a; i++) {
        tm->m32[i] = (int32_t)tq[i];
        tm->m16[i] = (int16_t)tq[i]; /* |Tq| <= row L1 <= 4096, the scheme's LIMIT */
    }
}

static int plan_matrices(wb_q8_plan *p, const double *at, const double *g, const double *bt,
                         char *err, int err_len)
{
    wb_matrices def;
    if (!at) { /* static kernels, or learned fed the defaults */
        wb_default_matrices(p->m, &def);
        at = def.at, g = def.g, bt = def.bt;
    }
    /* row scales (step 9) where they are folded into the kernels: BT and AT of wide (an exact
     * matrix keeps its one scale, d = 0); G keeps one scale */
    const int rows = p->scheme == WB_Q8_WIDE && !p->one_scale;
    if (rows ? wb_q8_quantize_matrix_rows(bt, p->a, p->a, WB_Q8_BT_AT_LIMIT, p->btq, &p->kB, p->dB)
             : wb_q8_quantize_matrix(bt, p->a, p->a, WB_Q8_BT_AT_LIMIT, p->btq, &p->kB))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "BT has a row with L1 norm above %d", WB_Q8_BT_AT_LIMIT);
    if (wb_q8_quantize_matrix(g, p->a, 3, WB_Q8_G_LIMIT, p->gq, &p->kG))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "G has a row with L1 norm above %d", WB_Q8_G_LIMIT);
    if (rows ? wb_q8_quantize_matrix_rows(at, p->m, p->a, WB_Q8_BT_AT_LIMIT, p->atq, &p->kA, p->dA)
             : wb_q8_quantize_matrix(at, p->m, p->a, WB_Q8_BT_AT_LIMIT, p->atq, &p->kA))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "AT has a row with L1 norm above %d", WB_Q8_BT_AT_LIMIT);
    for (int i = 0; i < p->a; i++)
        p->row_scales |= p->dB[i] != 0 || (i < p->m && p->dA[i] != 0);
    make_tmat(p->btq, p->a, p->a, &p->bt);
    make_tmat(p->atq, p->m, p->a, &p->at);
    return WB_OK;
}

/* tap, wide: their state, wide's int16/int32 buffers and the output's first-pass shift s1 */
static int plan_scheme(wb_q8_plan *p)
{
    wb_q8_scheme_state *s = p->sch = calloc(1, sizeof *p->sch);
    if (!s)
        return WB_E_RUNTIME;
    const size_t aa = (size_t)p->a * p->a;
    const int64_t l1a = wb_q8_max_row_l1(p->atq, p->m, p->a);
    p->sin = scheme_fns[p->requant][p->scheme - 1][p->learned][p->m].in;
    p->sout = scheme_fns[p->requant][p->scheme - 1][p->learned][p->m].out;
    /* the int form's output in int32 where L1A^2 <= 512 and no row scales (reference steps 8, 9) */
    s->out32 = p->requant == WB_Q8_RQ_INT && l1a * l1a <= WB_Q8_INT32_OUTPUT_L1A2 && !p->row_scales;
    if (p->requant == WB_Q8_RQ_INT && !s->out32 && p->learned)
        p->sout = int64_fns[p->scheme - 1][p->m];
    if (p->scheme == WB_Q8_TAP) {
        s->sq_bits = s->out32 ? WB_Q8_INT_TAP_SCALE_BITS : WB_Q8_TAP_SCALE_BITS;
        s->s1 = s->out32 ? 0 : wb_q8_shift_to_fit((127LL << s->sq_bits) * l1a, WB_Q8_I32_MAX);
        return WB_OK;
    }
    for (int i = 0; p->row_scales && i < p->a; i++)
        for (int j = 0; j < p->a; j++)
            s->xv[i * p->a + j] = p->dB[i] + p->dB[j];
    if (p->row_scales) /* the output's requantization per output position */
        p->sout = rows_fns[p->requant][p->m];
    s->h = s->out32 ? wb_q8_shift_to_fit(WB_Q8_I32_MAX * l1a * l1a, WB_Q8_I32_MAX) : 0;
    s->s1 = s->out32 ? 0 : wb_q8_shift_to_fit(WB_Q8_I32_MAX * l1a, WB_Q8_I32_MAX);
    s->vpos16 = p->tiles * p->cin16 + 32; /* off a power of two, as vpos */
    s->panel16 = wb_round_up(p->cout, 8) * wb_round_up(p->cin, 8);
    s->v16 = wb_zalloc(aa * s->vpos16 * sizeof(int16_t));
    s->u16 = wb_zalloc(aa * p->cin * p->cout * sizeof(int16_t));
    s->w16 = wb_zalloc(aa * s->panel16 * sizeof(int16_t));
    s->m32 = wb_zalloc(p->tiles * aa * p->cout8 * sizeof(int32_t));
    return s->v16 && s->u16 && s->w16 && s->m32 ? WB_OK : WB_E_RUNTIME;
}

/* The fused run's blocks (wb_wino_block_tiles): V int8 (int16 for wide), Z = P8 int8 (M' int32
 * for wide), weights U8 panels (U16 for wide). */
static void plan_blocks(wb_q8_plan *p)
{
    const int wide = p->scheme == WB_Q8_WIDE;
    const size_t aa = (size_t)p->a * p->a, vsz = wide ? 2 : 1, zsz = wide ? 4 : 1;
    const size_t weights = wide ? aa * p->sch->panel16 * sizeof(int16_t) : aa * p->panel_bytes;
    p->block_tiles = wb_wino_block_tiles(p->tiles, aa * (vsz * p->cin16 + zsz * p->cout8), weights,
                                         p->hp * p->wp * p->cin16 + (size_t)p->h * p->w * p->cout);
    p->vbpos = p->block_tiles * p->cin16 + 64 / vsz;
    p->block_bytes = aa * p->vbpos * vsz + p->block_tiles * aa * p->cout8 * zsz;
}

static int plan_winograd(wb_q8_plan *p, const double *at, const double *g, const double *bt,
                         char *err, int err_len)
{
    const int m = p->m, a = p->a;
    int rc = plan_matrices(p, at, g, bt, err, err_len);
    if (rc != WB_OK)
        return rc;
    p->winoin = tensor_fns[p->requant][p->learned][m].in;
    p->winoout = tensor_fns[p->requant][p->learned][m].out;
    p->th = wb_div_up(p->h + p->oy, m); /* the grid starts oy, ox outputs before the image */
    p->tw = wb_div_up(p->w + p->ox, m);
    p->tiles = p->th * p->tw;
    p->cin16 = wb_round_up(p->cin, 16);
    p->cout8 = wb_round_up(p->cout, 8);
    p->hp = p->th * m + 2;
    p->wp = p->tw * m + 2;
    const size_t aa = (size_t)a * a;
    p->panel_bytes = wb_round_up(p->cout, WB_Q8_GEMM_NR) * p->cin16;
    p->u8 = wb_zalloc(aa * p->cin * p->cout);
    p->wpacked = wb_zalloc(aa * p->panel_bytes);
    p->xpad = wb_zalloc(p->hp * p->wp * p->cin16);
    /* A power-of-two distance between positions would put the a*a stores of a tile in one L1
     * set (the fp32 kernels measured 3-5x slower transforms): skew it by a cache line. */
    p->vpos = p->tiles * p->cin16 + 64;
    p->v8 = wb_zalloc(aa * p->vpos);
    p->p8 = wb_zalloc(p->tiles * aa * p->cout8);
    p->scratch = wb_zalloc((size_t)WB_MAX_THREADS * m * m * p->cout8);
    if (!p->u8 || !p->wpacked || !p->xpad || !p->v8 || !p->p8 || !p->scratch ||
        (p->scheme && plan_scheme(p) != WB_OK))
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    if ((rc = wb_q8_transform_weights(p, err, err_len)) != WB_OK)
        return rc;
    plan_blocks(p);
    p->gemm_ops = 2.0 * aa * p->tiles * p->cin * p->cout;
    static const char *const prefix[] = {"", "tap_", "wide_"};
    snprintf(p->name, sizeof p->name, "wb_q8_conv_winograd_%s%s_f%d", prefix[p->scheme],
             p->learned ? "learned" : "static", m);
    return WB_OK;
}

static int plan_im2row(wb_q8_plan *p, char *err, int err_len)
{
    const size_t k = (size_t)p->k * p->k * p->cin, hw = (size_t)p->ho * p->wo;
    p->k16 = wb_round_up(k, WB_Q8_GEMM_KSTEP);
    p->direct = p->k == 1 && p->stride == 1 && p->pad == 0 && p->cin % WB_Q8_GEMM_KSTEP == 0;
    p->panel_bytes = wb_round_up(p->cout, WB_Q8_GEMM_NR) * p->k16;
    p->wpacked = wb_zalloc(p->panel_bytes);
    if (!p->direct)
        p->patches = wb_zalloc(hw * p->k16);
    if (!p->wpacked || (!p->direct && !p->patches))
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    wb_q8_packb_ukernel_x4c16__scalar(k, p->cout, p->wq, p->cout, p->wpacked);
    p->gemm_ops = 2.0 * hw * k * p->cout;
    snprintf(p->name, sizeof p->name, "wb_q8_conv_im2row");
    return WB_OK;
}

static int check_spec(const wb_q8_spec *s, char *err, int err_len)
{
    if (s->m != 0 && s->m != 2 && s->m != 4 && s->m != 6)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "tile size m=%d (0 for im2row, 2, 4, 6)", s->m);
    if (s->scheme < WB_Q8_TENSOR || s->scheme > WB_Q8_WIDE || (!s->m && s->scheme != WB_Q8_TENSOR))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "int8 scheme %d (0 tensor, 1 tap, 2 wide; "
                       "im2row takes 0 only)", s->scheme);
    if (s->requant != WB_Q8_RQ_INT && s->requant != WB_Q8_RQ_FP32)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "int8 requant %d (0 int, 1 fp32)", s->requant);
    if (s->h < 1 || s->w < 1 || s->cin < 1 || s->cout < 1)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "sizes must be positive");
    if (s->oy < 0 || s->ox < 0 || (s->m && (s->oy >= s->m || s->ox >= s->m)))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "tile origin offsets %d, %d (0 to m - 1)", s->oy, s->ox);
    if (s->k && (s->k > 7 || s->k % 2 == 0 || (s->stride != 1 && s->stride != 2) || s->pad < 0 || s->pad >= s->k ||
                 wb_conv_out_size(s->h, s->k, s->stride, s->pad) < 1 ||
                 wb_conv_out_size(s->w, s->k, s->stride, s->pad) < 1))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "filter k=%d stride=%d pad=%d (k 1, 3, 5 or 7, "
                       "stride 1 or 2, pad 0..k-1, the filter within the padded input)", s->k, s->stride, s->pad);
    if (s->m && s->k && (s->k != 3 || s->stride != 1 || s->pad != 1))
        return wb_fail(err, err_len, WB_E_BAD_CASE, "Winograd takes 3x3 stride 1 padding 1 only");
    if (!wb_q8_have_dotprod())
        return wb_fail(err, err_len, WB_E_UNSUPPORTED, "this build's int8 GEMM uses SDOT (ARMv8.2 "
                       "dot product) and this core lacks it (no asimddp in HWCAP)");
    if ((s->at || s->g || s->bt) && (!s->at || !s->g || !s->bt || !s->learned || !s->m))
        return wb_fail(err, err_len, WB_E_BAD_MATRICES, "matrices need learned Winograd and all of AT, G, BT");
    return WB_OK;
}

int wb_q8_plan_create(const wb_q8_spec *spec, const int8_t *wq, wb_q8_plan **out, char *err,
                      int err_len)
{
    *out = NULL;
    int rc = check_spec(spec, err, err_len);
    if (rc != WB_OK)
        return rc;
    wb_q8_plan *p = calloc(1, sizeof *p);
    if (!p)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    const int m = spec->m;
    p->m = m, p->a = m ? m + 2 : 0, p->learned = m ? spec->learned : 0, p->scheme = spec->scheme;
    p->requant = spec->requant, p->one_scale = spec->one_scale;
    p->h = spec->h, p->w = spec->w, p->cin = spec->cin, p->cout = spec->cout;
    p->oy = m ? spec->oy : 0, p->ox = m ? spec->ox : 0;
    p->k = spec->k ? spec->k : 3, p->stride = spec->k ? spec->stride : 1, p->pad = spec->k ? spec->pad : 1;
    p->ho = wb_conv_out_size(p->h, p->k, p->stride, p->pad);
    p->wo = wb_conv_out_size(p->w, p->k, p->stride, p->pad);
    const double t0 = wb_now_ms();
    const size_t wbytes = (size_t)p->k * p->k * p->cin * p->cout;
    rc = (p->wq = wb_zalloc(wbytes)) ? WB_OK : wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    if (rc == WB_OK) {
        memcpy(p->wq, wq, wbytes);
        rc = m ? plan_winograd(p, spec->at, spec->g, spec->bt, err, err_len) : plan_im2row(p, err, err_len);
    }
    p->weight_ms = wb_now_ms() - t0;
    if (rc != WB_OK) {
        wb_q8_plan_destroy(p);
        return rc;
    }
    *out = p;
    return WB_OK;
}

/* ---- what a plan exposes ------------------------------------------------------------------- */

void wb_q8_plan_info(const wb_q8_plan *p, int *k, float *mult)
{
    k[0] = p->kB, k[1] = p->kG, k[2] = p->kA;
    mult[0] = p->rq_v.mult, mult[1] = p->mult_u, mult[2] = p->rq_p.mult, mult[3] = p->rq_y.mult;
}

void wb_q8_int_info(const wb_q8_plan *p, int32_t *stage_b, int32_t *position_b, int *ints)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a;
    stage_b[0] = p->rq_v.b, stage_b[1] = p->rq_p.b, stage_b[2] = p->rq_y.b;
    ints[0] = p->requant, ints[1] = p->rq_y.shift, ints[2] = s ? s->out32 : 0;
    ints[3] = s ? s->sq_bits : 0, ints[4] = s ? s->h : 0;
    for (size_t q = 0; s && q < aa; q++)
        position_b[q] = s->b_v[q], position_b[aa + q] = s->b_p[q];
}

void wb_q8_scheme_info(const wb_q8_plan *p, int *ints, float *mults, int32_t *per_position)
{
    const wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a;
    ints[0] = p->scheme, ints[1] = s ? s->s1 : 0, ints[2] = s ? s->sv : 0, ints[3] = s ? s->qu : 0;
    for (size_t q = 0; s && q < aa; q++) {
        mults[q] = s->mult_v[q], mults[aa + q] = s->mult_u[q], mults[2 * aa + q] = s->mult_p[q];
        mults[3 * aa + q] = s->mult_u16;
        per_position[q] = p->scheme == WB_Q8_TAP ? s->sq[q] : s->e[q];
    }
}

/* out[(t * a*a + q) * ch ..] = the ch values of tile t, position q, at src + q * q_stride +
 * t * t_stride (elements of esz bytes) */
static void gather_tiles(const wb_q8_plan *p, void *out, const void *src, size_t esz, size_t ch,
                         size_t q_stride, size_t t_stride)
{
    const size_t aa = (size_t)p->a * p->a;
    for (size_t t = 0; t < p->tiles; t++)
        for (size_t q = 0; q < aa; q++)
            memcpy((char *)out + (t * aa + q) * ch * esz,
                   (const char *)src + (q * q_stride + t * t_stride) * esz, ch * esz);
}

int wb_q8_stage(const wb_q8_plan *p, const char *name, int8_t *out)
{
    if (!p->m)
        return WB_E_BAD_CASE;
    const wb_q8_scheme_state *s = p->sch;
    const int wide = p->scheme == WB_Q8_WIDE;
    const size_t aa = (size_t)p->a * p->a, z_stride = aa * p->cout8;
    if (strcmp(name, wide ? "U16" : "U8") == 0)
        memcpy(out, wide ? (const void *)s->u16 : p->u8, aa * p->cin * p->cout * (wide ? 2 : 1));
    else if (strcmp(name, wide ? "V16" : "V8") == 0)
        gather_tiles(p, out, wide ? (const void *)s->v16 : p->v8, wide ? 2 : 1, p->cin,
                     wide ? s->vpos16 : p->vpos, p->cin16);
    else if (strcmp(name, wide ? "M" : "P8") == 0)
        gather_tiles(p, out, wide ? (const void *)s->m32 : p->p8, wide ? 4 : 1, p->cout, p->cout8,
                     z_stride);
    else
        return WB_E_BAD_CASE;
    return WB_OK;
}

double wb_q8_weight_transform_ms(const wb_q8_plan *p) { return p->weight_ms; }
double wb_q8_gemm_ops(const wb_q8_plan *p) { return p->gemm_ops; }
const char *wb_q8_kernel_name(const wb_q8_plan *p) { return p->name; }
