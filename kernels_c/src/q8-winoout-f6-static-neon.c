/* wb_q8_winoout_static_ukernel_f6__neon: Y8 = requant(ATq P8 ATq^T) for F(6x6,3x3), points
 * 0, 1, -1, 2, -2, 1/2, -1/2; AT has 1/32, so ATq = 32 AT (k = 5):
 *
 *         [ 32  32  32   32    32  32  32   0 ]
 *         [  0  32 -32   64   -64  16 -16   0 ]
 *   ATq = [  0  32  32  128   128   8   8   0 ]    every entry is a power of two: shifts and adds
 *         [  0  32 -32  256  -256   4  -4   0 ]    on the sums/differences of pairs (1,2) (3,4)
 *         [  0  32  32  512   512   2   2   0 ]    (5,6). Max row L1 = 2146: |pass 1| <= 272542,
 *         [  0  32 -32 1024 -1024   1  -1  32 ]    so both passes in 32-bit lanes
 *
 * Register-resident. Rows 0-3 of t = ATq P8 are 32, 16, 8, 4 times int16 values u0..u3
 * (u0 = P0 + s12 + s34 + s56, u1 = 2m12 + 4m34 + m56, u2 = 4s12 + 16s34 + s56,
 * u3 = 8m12 + 64m34 + m56, |u| <= 73 * 254): they are made in 16-bit lanes in pairs, and the
 * power of two goes into the requantization multiplier (exact: scaling by 2^k commutes with the
 * float conversion and the rounded product, and with SQRDMULH while b 2^k fits int32, which the
 * plan checks for the int form). Rows 4 and 5 are made in 32-bit lanes, one each.
 * For each group every column of P8 is loaded and transformed keeping only the group's rows;
 * then each row's second pass is made in 32-bit lanes (widening sums straight from the 16-bit
 * rows), requantized and stored, step by step across the outputs for the in-order A53. */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"
#include "wb_q8_wide32_neon.h"

enum { M = 6, A = 8 };
#define FOR2 _Pragma("GCC unroll 2") for (int v = 0; v < 2; v++)

/* Y row = ATq x, requantized with vm and stored at yo[l] + c, for a row x of t in 16-bit lanes
 * (S = 16: widening sums) or 32-bit lanes (S = 32). Ordered so that each term dies soon after it
 * is made (the row's other terms are still in registers in 16-bit lanes). */
#define PAIR_ADD16(x, i, j) W_ADDL(x[i], x[j])
#define PAIR_SUB16(x, i, j) W_SUBL(x[i], x[j])
#define ADD_X0_16(y, x) W_ADDW(y, x[0])
#define X7_SHL16(x) W_SHLL(x[7], 5)
#define PAIR_ADD32(x, i, j) W_ADD(x[i], x[j])
#define PAIR_SUB32(x, i, j) W_SUB(x[i], x[j])
#define ADD_X0_32(y, x) W_ADD(y, x[0])
#define X7_SHL32(x) W_SHL(x[7], 5)
#define WB_DEF_AT6_ROW(S, T)                                                                     \
    static inline __attribute__((always_inline)) void at6_row##S(const T *x, int8_t *const *yo,  \
                                                                 size_t c, wb_rqv vm)            \
    {                                                                                            \
        w32 y[M];                                                                                \
        const w32 s12 = PAIR_ADD##S(x, 1, 2), m12 = PAIR_SUB##S(x, 1, 2);                        \
        y[0] = ADD_X0_##S(s12, x);                                                               \
        const w32 e = W_SHL(s12, 5), o = W_SHL(m12, 5); /* 32 (x1 +- x2) */                      \
        const w32 s34 = PAIR_ADD##S(x, 3, 4), m34 = PAIR_SUB##S(x, 3, 4);                        \
        y[1] = W_SHL(m34, 6);                                                                    \
        y[3] = W_SHL(m34, 8);                                                                    \
        y[5] = W_SHL(m34, 10);                                                                   \
        y[2] = W_SHL(s34, 7);                                                                    \
        y[4] = W_SHL(s34, 9);                                                                    \
        y[0] = W_ADD(y[0], s34);                                                                 \
        y[1] = W_ADD(y[1], o);                                                                   \
        y[3] = W_ADD(y[3], o);                                                                   \
        y[5] = W_ADD(y[5], o);                                                                   \
        y[2] = W_ADD(y[2], e);                                                                   \
        y[4] = W_ADD(y[4], e);                                                                   \
        const w32 s56 = PAIR_ADD##S(x, 5, 6), m56 = PAIR_SUB##S(x, 5, 6);                        \
        y[0] = W_ADD(y[0], s56);                                                                 \
        y[1] = W_ADD(y[1], W_SHL(m56, 4));                                                       \
        y[2] = W_ADD(y[2], W_SHL(s56, 3));                                                       \
        y[3] = W_ADD(y[3], W_SHL(m56, 2));                                                       \
        y[4] = W_ADD(y[4], W_SHL(s56, 1));                                                       \
        y[5] = W_ADD(y[5], m56);                                                                 \
        y[0] = W_SHL(y[0], 5);                                                                   \
        y[5] = W_ADD(y[5], X7_SHL##S(x));                                                        \
        w32_requant_store(y, M, yo, c, vm);                                                      \
    }
WB_DEF_AT6_ROW(16, int16x8_t)
WB_DEF_AT6_ROW(32, w32)

/* ATq[l][j] as sign * 2^(e - 1) in AT_E[l][j] = sign * e (0: a zero entry) */
static const signed char AT_E[M][A] = {
    {6, 6, 6, 6, 6, 6, 6, 0},   {0, 6, -6, 7, -7, 5, -5, 0},  {0, 6, 6, 8, 8, 4, 4, 0},
    {0, 6, -6, 9, -9, 3, -3, 0}, {0, 6, 6, 10, 10, 2, 2, 0}, {0, 6, -6, 11, -11, 1, -1, 6}};

/* y[l] (+)= ATq[l][j] x for the six outputs of a row, x a 16-bit column value of t: a widening
 * product by element of a power of two held in the lanes of p2 (2^0..2^7) and p2hi (2^8..2^10);
 * twelve independent sums for the in-order A53. */
#if defined(__aarch64__)
#define POW_LANE(f, acc, x, e)                                                                   \
    ((e) < 8 ? f(acc, x, p2, (e)) : f(acc, x, p2hi, (e) - 8))
#define MLAL_LO_P(acc, x, p, n) vmlal_laneq_s16(acc, vget_low_s16(x), p, n)
#define MLAL_HI_P(acc, x, p, n) vmlal_high_laneq_s16(acc, x, p, n)
#define MLSL_LO_P(acc, x, p, n) vmlsl_laneq_s16(acc, vget_low_s16(x), p, n)
#define MLSL_HI_P(acc, x, p, n) vmlsl_high_laneq_s16(acc, x, p, n)
#else
#define POW_LANE(f, acc, x, e) f(acc, x, 0, e)
#define MLAL_LO_P(acc, x, p, e) vmlal_n_s16(acc, vget_low_s16(x), (int16_t)(1 << (e)))
#define MLAL_HI_P(acc, x, p, e) vmlal_n_s16(acc, vget_high_s16(x), (int16_t)(1 << (e)))
#define MLSL_LO_P(acc, x, p, e) vmlsl_n_s16(acc, vget_low_s16(x), (int16_t)(1 << (e)))
#define MLSL_HI_P(acc, x, p, e) vmlsl_n_s16(acc, vget_high_s16(x), (int16_t)(1 << (e)))
#endif
static inline __attribute__((always_inline)) void at6_acc(w32 *y, int16x8_t x, int j,
                                                          int16x8_t p2, int16x8_t p2hi)
{
#pragma GCC unroll 6
    for (int l = 0; l < M; l++) {
        const int e = AT_E[l][j] < 0 ? -AT_E[l][j] - 1 : AT_E[l][j] - 1;
        if (AT_E[l][j] == 0)
            continue;
        if (j == (l == 0 ? 0 : 1)) /* the first entry of the row: start the sum */
            y[l] = W_SHLL(x, e);
        else if (AT_E[l][j] > 0)
            y[l] = (w32){POW_LANE(MLAL_LO_P, y[l].lo, x, e), POW_LANE(MLAL_HI_P, y[l].hi, x, e)};
        else
            y[l] = (w32){POW_LANE(MLSL_LO_P, y[l].lo, x, e), POW_LANE(MLSL_HI_P, y[l].hi, x, e)};
    }
}

/* Compiler fences: without opaque pointers gcc keeps all 64 addresses in general registers, and
 * its pre-allocation scheduler hoists loads past what the registers hold. */
#if defined(__aarch64__)
#define PIN(p) __asm__ volatile("" : "+r"(p))
#if WB_REQ_INT /* the multiplier of row k (0-3), b << (5 - k): the plan checks it fits int32 */
#define ROW_MULT(vms, rq, k) ((wb_rqv){vdupq_n_s16(0), vdupq_laneq_s32(vms, k)})
#else
#define ROW_MULT(vms, rq, k) ((wb_rqv){vdupq_laneq_f32(vms, k)}) /* the multiplier of row k (0-3) */
#endif
#define NO_PRESCHED WB_Q8_TILE_OPT /* the int8 tile transforms' one setting (wb_templates.h) */
#else
#define PIN(p) (void)0
#define NO_PRESCHED
#if WB_REQ_INT /* SIMDe */
#define ROW_MULT(vms, rq, k) ((void)(vms), (wb_rqv){vdupq_n_s16(0), vdupq_n_s32((rq).b * (32 >> (k)))})
#else
#define ROW_MULT(vms, rq, k) ((void)(vms), (wb_rqv){vdupq_n_f32((rq).mult * (float)(32 >> (k)))})
#endif
#endif

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoout_static_ukernel_f6__neon
#endif
NO_PRESCHED void WB_FN(size_t channels, const int8_t *p8, size_t p_stride, int8_t *const *out,
                       wb_q8_rq rq, const wb_q8_tmat *tm)
{
    (void)tm;
    /* the multipliers of rows 0-3 (t = 32 u0, 16 u1, 8 u2, 4 u3) and of rows 4-5 */
#if WB_REQ_INT
    const int32x4_t vms = {rq.b * 32, rq.b * 16, rq.b * 8, rq.b * 4};
#else
    const float32x4_t vms = {rq.mult * 32.0f, rq.mult * 16.0f, rq.mult * 8.0f, rq.mult * 4.0f};
#endif
    const uint32_t vm = w32_mult_bits(rq);
    static const int16_t pow2[16] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    for (size_t c = 0; c < channels; c += 8) {
        const int8_t *pr[4]; /* rows 0-3 of P8; rows 4-7 are 4 rows on (a second column offset) */
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            pr[i] = p8 + c + (size_t)i * A * p_stride;
            PIN(pr[i]);
        }
#pragma GCC unroll 6
        for (int k = 0; k < M; k++) { /* row k of t, then row k of Y */
            int8_t *const *yo = out + k * M;
            size_t ps = p_stride, o = 0, o4 = 4 * A * p_stride;
            const int16_t *pw = pow2;
            PIN(yo);
            PIN(ps);
            PIN(pw); /* the powers loaded per row, not held through rows 4-5 */
            const int16x8_t p2 = vld1q_s16(pw), p2hi = vld1q_s16(pw + 8);
            int16x8_t u[A]; /* rows 0-3: t / 32, 16, 8, 4, summed into y at once */
            w32 t[A], y[M]; /* rows 4, 5 */
#pragma GCC unroll 4
            for (int j = 0; j < A; j += 2) { /* two columns, step by step across both */
                int8x8_t d[2][A];
                int16x8_t s12[2], m12[2], s34[2], m34[2], s56[2], m56[2], a[2];
#pragma GCC unroll 8
                for (int i = 0; i < A; i++) {
                    d[0][i] = vld1_s8(pr[i % 4] + (i < 4 ? o : o4));
                    d[1][i] = vld1_s8(pr[i % 4] + (i < 4 ? o : o4) + ps);
                }
                FOR2 s12[v] = vaddl_s8(d[v][1], d[v][2]);
                FOR2 m12[v] = vsubl_s8(d[v][1], d[v][2]);
                FOR2 s34[v] = vaddl_s8(d[v][3], d[v][4]);
                FOR2 m34[v] = vsubl_s8(d[v][3], d[v][4]);
                FOR2 s56[v] = vaddl_s8(d[v][5], d[v][6]);
                FOR2 m56[v] = vsubl_s8(d[v][5], d[v][6]);
                if (k == 0) {
                    FOR2 a[v] = vaddw_s8(s12[v], d[v][0]);
                    FOR2 a[v] = vaddq_s16(a[v], s34[v]);
                    FOR2 u[j + v] = vaddq_s16(a[v], s56[v]);
                } else if (k == 1 || k == 3) { /* (m12 + 2 m34) 2 + m56, (m12 + 8 m34) 8 + m56 */
                    FOR2 a[v] = vshlq_n_s16(m34[v], k == 1 ? 1 : 3);
                    FOR2 a[v] = vaddq_s16(m12[v], a[v]);
                    FOR2 a[v] = vshlq_n_s16(a[v], k == 1 ? 1 : 3);
                    FOR2 u[j + v] = vaddq_s16(a[v], m56[v]);
                } else if (k == 2) { /* (s12 + 4 s34) 4 + s56 */
                    FOR2 a[v] = vshlq_n_s16(s34[v], 2);
                    FOR2 a[v] = vaddq_s16(s12[v], a[v]);
                    FOR2 a[v] = vshlq_n_s16(a[v], 2);
                    FOR2 u[j + v] = vaddq_s16(a[v], s56[v]);
                } else if (k == 4) { /* 2 (16 s12 + s56) + 512 s34 */
                    FOR2 a[v] = vshlq_n_s16(s12[v], 4);
                    FOR2 a[v] = vaddq_s16(a[v], s56[v]);
                    FOR2 t[j + v] = W_SHLL(a[v], 1);
                    FOR2 t[j + v] = W_ADD(t[j + v], W_SHLL(s34[v], 9));
                } else { /* 32 (m12 + P7) + m56 + 1024 m34 */
                    FOR2 a[v] = vaddw_s8(m12[v], d[v][7]);
                    FOR2 a[v] = vshlq_n_s16(a[v], 5);
                    FOR2 a[v] = vaddq_s16(a[v], m56[v]);
                    FOR2 t[j + v] = W_SHLL(a[v], 0);
                    FOR2 t[j + v] = W_ADD(t[j + v], W_SHLL(m34[v], 10));
                }
                if (k < 4) {
                    at6_acc(y, u[j], j, p2, p2hi);
                    at6_acc(y, u[j + 1], j + 1, p2, p2hi);
                }
                o += 2 * ps;
                o4 += 2 * ps;
                PIN(o);
                PIN(o4);
            }
            if (k < 4)
                w32_requant_store(y, M, yo, c, ROW_MULT(vms, rq, k));
            else
                at6_row32(t, yo, c, w32_mult(vm));
        }
    }
}
