/* wb_q8_winoin_static_ukernel_f6__neon: V8 = requant(BTq d BTq^T) for F(6x6,3x3), points
 * 0, 1, -1, 2, -2, 1/2, -1/2; BT has quarters, so BTq = 4 BT (k = 2):
 *
 *         [-4  0  21   0 -21   0  4  0 ]
 *         [ 0  4   4 -17 -17   4  4  0 ]
 *         [ 0 -4   4  17 -17  -4  4  0 ]
 *   BTq = [ 0  2   1 -10  -5   8  4  0 ]    rows 1/2, 3/4, 5/6 are even +- odd pairs.
 *         [ 0 -2   1  10  -5  -8  4  0 ]    Max row L1 = 60: |pass 1| <= 7680 fits 16-bit lanes,
 *         [ 0  8  16 -10 -20   2  4  0 ]    |V| <= 460800 does not: pass 2 in 32-bit lanes
 *         [ 0 -8  16  10 -20  -2  4  0 ]
 *         [ 0 -4   0  21   0 -21  0  4 ]
 *
 * Register-resident: the rows of t = BTq d are made in pairs (0/7, 1/2, 3/4, 5/6); for a pair
 * each column of d is loaded and transformed keeping only the pair's two rows (16 registers), then
 * each row's 32-bit pass is made by widening operations (SSHLL, SMLAL/SMLSL by scalar, SADDW)
 * straight from its 16-bit lanes, one output (two registers) at a time, requantized and stored.
 * Sums of up to four values of t still fit int16 (4 * 7680), so the shared terms stay 16-bit. */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"
#include "wb_q8_wide32_neon.h"

/* The multipliers, one lane each of one register on aarch64 (a by-element product needs no
 * broadcast register per constant); the host build (SIMDe wants literal lanes) broadcasts them. */
#define K_21 0
#define K_17 1
#define K_10 2
#define K_8 3
#define K_5 4
#define K_20 5
#define K_4 6
#define K_2 7
#if defined(__aarch64__)
#define KVEC {21, 17, 10, 8, 5, 20, 4, 2}
#define MLA16(a, x, n) vmlaq_laneq_s16(a, x, kc, K_##n)
#define MLS16(a, x, n) vmlsq_laneq_s16(a, x, kc, K_##n)
#define MLAL_LO(a, x, n) vmlal_laneq_s16(a, vget_low_s16(x), kc, K_##n)
#define MLAL_HI(a, x, n) vmlal_high_laneq_s16(a, x, kc, K_##n)
#define MLSL_LO(a, x, n) vmlsl_laneq_s16(a, vget_low_s16(x), kc, K_##n)
#define MLSL_HI(a, x, n) vmlsl_high_laneq_s16(a, x, kc, K_##n)
#else
#define MLA16(a, x, n) vmlaq_n_s16(a, x, n)
#define MLS16(a, x, n) vmlsq_n_s16(a, x, n)
#define MLAL_LO(a, x, n) vmlal_n_s16(a, vget_low_s16(x), n)
#define MLAL_HI(a, x, n) vmlal_n_s16(a, vget_high_s16(x), n)
#define MLSL_LO(a, x, n) vmlsl_n_s16(a, vget_low_s16(x), n)
#define MLSL_HI(a, x, n) vmlsl_n_s16(a, vget_high_s16(x), n)
#endif

/* Pass 1 on two columns of int8 pixels d[0], d[1], step by step across both (the in-order A53
 * issues in source order), by widening adds/shifts from int8 (no separate SXTL). The int16
 * arithmetic is exact because every r fits int16. Rows not kept are dropped by gcc. */
#define FOR2 _Pragma("GCC unroll 2") for (int u = 0; u < 2; u++)
static inline __attribute__((always_inline)) void bt6_col2(int8x8_t d[2][8], int16x8_t r[2][8],
                                                           int16x8_t kc)
{
    int16x8_t p15[2], p26[2], p34[2], m34[2], d3[2], d4[2], o1[2], e1[2], o2[2], e2[2];
    FOR2 r[u][0] = vshlq_n_s16(vsubl_s8(d[u][6], d[u][0]), 2);
    FOR2 r[u][7] = vshlq_n_s16(vsubl_s8(d[u][7], d[u][1]), 2);
    FOR2 p15[u] = vaddl_s8(d[u][1], d[u][5]);
    FOR2 p26[u] = vaddl_s8(d[u][2], d[u][6]);
    FOR2 p34[u] = vaddl_s8(d[u][3], d[u][4]);
    FOR2 m34[u] = vsubl_s8(d[u][3], d[u][4]);
    FOR2 r[u][0] = MLA16(r[u][0], vsubl_s8(d[u][2], d[u][4]), 21);
    FOR2 r[u][7] = MLA16(r[u][7], vsubl_s8(d[u][3], d[u][5]), 21);
    FOR2 r[u][1] = vshlq_n_s16(vaddq_s16(p26[u], p15[u]), 2);
    FOR2 r[u][2] = vshlq_n_s16(vsubq_s16(p26[u], p15[u]), 2);
    FOR2 r[u][1] = MLS16(r[u][1], p34[u], 17);
    FOR2 r[u][2] = MLA16(r[u][2], m34[u], 17);
    /* odd 2d1 - 10d3 + 8d5, even d2 - 5d4 + 4d6; odd 8d1 - 10d3 + 2d5, even 16d2 - 20d4 + 4d6 */
    FOR2 d3[u] = vmovl_s8(d[u][3]);
    FOR2 d4[u] = vmovl_s8(d[u][4]);
    FOR2 o1[u] = vaddq_s16(vshll_n_s8(d[u][1], 1), vshll_n_s8(d[u][5], 3));
    FOR2 e1[u] = vaddw_s8(vshll_n_s8(d[u][6], 2), d[u][2]);
    FOR2 o2[u] = vaddq_s16(vshll_n_s8(d[u][1], 3), vshll_n_s8(d[u][5], 1));
    FOR2 e2[u] = vaddq_s16(vshll_n_s8(d[u][2], 4), vshll_n_s8(d[u][6], 2));
    FOR2 o1[u] = MLS16(o1[u], d3[u], 10);
    FOR2 e1[u] = MLS16(e1[u], d4[u], 5);
    FOR2 o2[u] = MLS16(o2[u], d3[u], 10);
    FOR2 e2[u] = MLS16(e2[u], d4[u], 20);
    FOR2 r[u][3] = vaddq_s16(e1[u], o1[u]);
    FOR2 r[u][4] = vsubq_s16(e1[u], o1[u]);
    FOR2 r[u][5] = vaddq_s16(e2[u], o2[u]);
    FOR2 r[u][6] = vsubq_s16(e2[u], o2[u]);
}

/* widening by-element products into 8 values in 32-bit lanes (w32, wb_q8_wide32_neon.h) */
#define W_MLAL(a, x, n) ((w32){MLAL_LO((a).lo, x, n), MLAL_HI((a).hi, x, n)})
#define W_MLSL(a, x, n) ((w32){MLSL_LO((a).lo, x, n), MLSL_HI((a).hi, x, n)})

/* Requantize four outputs (step by step across them, w32_requant) and store them */
static inline __attribute__((always_inline)) void put4(int8_t *p0, int8_t *p1, int8_t *p2,
                                                       int8_t *p3, w32 a, w32 b, w32 c, w32 d,
                                                       wb_rqv vm)
{
    const w32 y[4] = {a, b, c, d};
    int8x8_t q[4];
    w32_requant(y, 4, vm, q);
    vst1_s8(p0, q[0]);
    vst1_s8(p1, q[1]);
    vst1_s8(p2, q[2]);
    vst1_s8(p3, q[3]);
}

/* Pass 2 on one 16-bit row x of t: V row = BTq x, requantized, stored at vi + l*vs. Written step
 * by step across four outputs (eight independent halves per step), for the in-order A53. */
static inline __attribute__((always_inline)) void bt6_row(const int16x8_t *x, int8_t *vi, size_t vs,
                                                          wb_rqv vm, int16x8_t kc)
{
    /* rows 0, 7, 1, 2: 4(x6 - x0) + 21(x2 - x4), 4(x7 - x1) + 21(x3 - x5),
     * 4(x1 + x2 + x5 + x6) - 17(x3 + x4), 4(x2 + x6 - x1 - x5) + 17(x3 - x4); all in int16 first */
    const int16x8_t a06 = vsubq_s16(x[6], x[0]), a17 = vsubq_s16(x[7], x[1]);
    const int16x8_t p15 = vaddq_s16(x[1], x[5]), p26 = vaddq_s16(x[2], x[6]);
    const int16x8_t b24 = vsubq_s16(x[2], x[4]), b35 = vsubq_s16(x[3], x[5]);
    w32 v0 = W_SHLL(a06, 2), v7 = W_SHLL(a17, 2);
    const int16x8_t s4 = vaddq_s16(p26, p15), d4 = vsubq_s16(p26, p15);
    v0 = W_MLAL(v0, b24, 21);
    v7 = W_MLAL(v7, b35, 21);
    w32 v1 = W_SHLL(s4, 2), v2 = W_SHLL(d4, 2);
    v1 = W_MLSL(v1, vaddq_s16(x[3], x[4]), 17);
    v2 = W_MLAL(v2, vsubq_s16(x[3], x[4]), 17);
    put4(vi, vi + 7 * vs, vi + vs, vi + 2 * vs, v0, v7, v1, v2, vm);
    /* rows 3, 4 = e1 +- o1, 5, 6 = e2 +- o2: odd 2x1 - 10x3 + 8x5, even x2 - 5x4 + 4x6,
     * odd 8x1 - 10x3 + 2x5, even 16x2 - 20x4 + 4x6 */
    w32 o1 = W_SHLL(x[1], 1), e1 = W_SHLL(x[6], 2), o2 = W_SHLL(x[1], 3), e2 = W_SHLL(x[2], 4);
    o1 = W_MLSL(o1, x[3], 10);
    e1 = W_MLSL(e1, x[4], 5);
    o2 = W_MLSL(o2, x[3], 10);
    e2 = W_MLSL(e2, x[4], 20);
    o1 = W_MLAL(o1, x[5], 8);
    e1 = W_ADDW(e1, x[2]);
    o2 = W_MLAL(o2, x[5], 2);
    e2 = W_MLAL(e2, x[6], 4);
    put4(vi + 3 * vs, vi + 4 * vs, vi + 5 * vs, vi + 6 * vs, W_ADD(e1, o1), W_SUB(e1, o1),
         W_ADD(e2, o2), W_SUB(e2, o2), vm);
}

/* Compiler fence: without opaque pointers gcc keeps all 64 addresses in general registers. */
#if defined(__aarch64__)
#define PIN(p) __asm__ volatile("" : "+r"(p))
/* gcc's pre-allocation scheduler hoists loads and products past what the registers hold */
#define NO_PRESCHED WB_Q8_TILE_OPT /* the int8 tile transforms' one setting (wb_templates.h) */
#else
#define PIN(p) (void)0
#define NO_PRESCHED
#endif

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoin_static_ukernel_f6__neon
#endif
NO_PRESCHED void WB_FN(size_t channels, const int8_t *x, size_t x_row, size_t x_px, int8_t *v,
                       size_t v_stride, wb_q8_rq rq, const wb_q8_tmat *tm)
{
    enum { A = 8 };
    static const int pairs[A] = {0, 7, 1, 2, 3, 4, 5, 6}; /* rows sharing terms */
    (void)tm;
    const wb_rqv vm = wb_rqv_make(rq);
#if defined(__aarch64__)
    static const int16_t kv[8] = KVEC;
    const int16x8_t kc = vld1q_s16(kv);
#else
    const int16x8_t kc = vdupq_n_s16(0); /* unused: the host build broadcasts */
#endif
    for (size_t c = 0; c < channels; c += 8) {
        const int8_t *xi[A]; /* row pointers: each load is [row, column offset] */
#pragma GCC unroll 8
        for (int i = 0; i < A; i++) {
            xi[i] = x + c + i * x_row;
            PIN(xi[i]);
        }
#pragma GCC unroll 4
        for (int g = 0; g < A; g += 2) {
            int8_t *vc = v + c;
            size_t xp = x_px, vs = v_stride, o = 0;
            PIN(vc);
            PIN(xp);
            PIN(vs);
            int16x8_t ta[A], tb[A]; /* rows pairs[g], pairs[g + 1] of t */
#pragma GCC unroll 4
            for (int j = 0; j < A; j += 2) {
                int8x8_t d[2][A];
                int16x8_t r[2][A];
#pragma GCC unroll 8
                for (int i = 0; i < A; i++) {
                    d[0][i] = vld1_s8(xi[i] + o);
                    d[1][i] = vld1_s8(xi[i] + o + xp);
                }
                bt6_col2(d, r, kc);
                ta[j] = r[0][pairs[g]];
                tb[j] = r[0][pairs[g + 1]];
                ta[j + 1] = r[1][pairs[g]];
                tb[j + 1] = r[1][pairs[g + 1]];
                o += 2 * xp;
                PIN(o);
            }
            bt6_row(ta, vc + (size_t)pairs[g] * A * vs, vs, vm, kc);
            bt6_row(tb, vc + (size_t)pairs[g + 1] * A * vs, vs, vm, kc);
        }
    }
}
