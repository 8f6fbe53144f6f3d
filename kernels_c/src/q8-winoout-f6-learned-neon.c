/* wb_q8_winoout_learned_ukernel_f6__neon: dense Y8 = requant(ATq P8 ATq^T), any 6x8 integer ATq.
 * Register-resident, one row of Y at a time: for row k, each column j of P8 is loaded once and
 * made into t = ATq[k] . P8[:, j] (pass 1), which is at once accumulated into the six outputs of
 * the row, Y[k][l] += ATq[l][j] t (pass 2). The six (or twelve) accumulators are independent
 * chains for the in-order A53, and the columns are taken several at a time so that the pass-1
 * sums are too. The lane widths of the two passes (16 or 32, from the scheme's bounds) are picked
 * per call from tm; ATq is held in six int16x8 registers (tm->m16: every |entry| <= 4096, the
 * scheme's row-L1 limit), the 32-bit second pass broadcasts its int32 entries from tm->m32. */
#include "wb_q8_neon.h"
#include "wb_q8_ukernels.h"
#include "wb_q8_wide32_neon.h"

enum { M = 6, A = 8 };

#if defined(__aarch64__)
#define PIN(p) __asm__ volatile("" : "+r"(p))
#define PIN_V(v) __asm__ volatile("" : "+w"(v))
/* a sum kept in the order written (gcc would reassociate the products and hoist their loads) */
#define KEEP(v) __asm__("" : "+w"(v))
#define NO_PRESCHED WB_Q8_TILE_OPT /* the int8 tile transforms' one setting (wb_templates.h) */
#else
#define PIN(p) (void)0
#define PIN_V(v) (void)0
#define KEEP(v) (void)0
#define NO_PRESCHED
#endif

/* ATq row r, entry n: lane n of register r (aarch64), or the value itself (host: SIMDe wants
 * literal lanes, so it broadcasts the same integers) */
typedef struct {
    int16x8_t row[M];
    const int16_t *m16;
    const int32_t *m32;
} at_coefs;

#if defined(__aarch64__)
#define MUL16(x, q, r, n) vmulq_laneq_s16(x, (q)->row[r], n)
#define MLA16(acc, x, q, r, n) vmlaq_laneq_s16(acc, x, (q)->row[r], n)
#define MULL_LO(x, q, r, n) vmull_laneq_s16(vget_low_s16(x), (q)->row[r], n)
#define MULL_HI(x, q, r, n) vmull_high_laneq_s16(x, (q)->row[r], n)
#define MLAL_LO(acc, x, q, r, n) vmlal_laneq_s16(acc, vget_low_s16(x), (q)->row[r], n)
#define MLAL_HI(acc, x, q, r, n) vmlal_high_laneq_s16(acc, x, (q)->row[r], n)
#else
#define MUL16(x, q, r, n) vmulq_n_s16(x, (q)->m16[(r) * A + (n)])
#define MLA16(acc, x, q, r, n) vmlaq_n_s16(acc, x, (q)->m16[(r) * A + (n)])
#define MULL_LO(x, q, r, n) vmull_n_s16(vget_low_s16(x), (q)->m16[(r) * A + (n)])
#define MULL_HI(x, q, r, n) vmull_n_s16(vget_high_s16(x), (q)->m16[(r) * A + (n)])
#define MLAL_LO(acc, x, q, r, n) vmlal_n_s16(acc, vget_low_s16(x), (q)->m16[(r) * A + (n)])
#define MLAL_HI(acc, x, q, r, n) vmlal_n_s16(acc, vget_high_s16(x), (q)->m16[(r) * A + (n)])
#endif
/* int32 entries ATq[r][j0..j0+4) in c32[r] (one load per row and step), lane n = j - j0 */
#if defined(__aarch64__)
#define MUL32(x, c32, q, r, j0, n) vmulq_laneq_s32(x, c32[r], n)
#define MLA32(acc, x, c32, q, r, j0, n) vmlaq_laneq_s32(acc, x, c32[r], n)
#else
#define MUL32(x, c32, q, r, j0, n) vmulq_n_s32(x, (q)->m32[(r) * A + (j0) + (n)])
#define MLA32(acc, x, c32, q, r, j0, n) vmlaq_n_s32(acc, x, (q)->m32[(r) * A + (j0) + (n)])
#endif

/* Row k of Y with lane widths L1 / L2; the columns are taken COLS at a time (8 independent
 * pass-1 sums with 16-bit t, 2 x 2 halves with 32-bit t: 4 columns or a fully unrolled column
 * loop let gcc hoist the int32 entries of later steps, which then spill). */
#define WB_DEF_ROW(L1, L2, COLS)                                                                 \
    static inline __attribute__((always_inline)) void out_row_##L1##_##L2(                       \
        const int8_t *const *pr, size_t ps, int8_t *const *yo, size_t c, const at_coefs *q,      \
        int k, wb_rqv vm)                                                                        \
    {                                                                                            \
        enum { l1 = L1, l2 = L2, cols = COLS };                                                  \
        int16x8_t y16[M];                                                                        \
        w32 y32[M];                                                                              \
        _Pragma("GCC unroll 2") for (int j0 = 0; j0 < A; j0 += cols)                             \
        {                                                                                        \
            int16x8_t t16[cols];                                                                 \
            w32 t32[cols];                                                                       \
            const size_t o = j0 * ps;                                                            \
            /* pass 1: t[j] = sum_i ATq[k][i] P8[i][j], i outermost */                          \
            _Pragma("GCC unroll 8") for (int i = 0; i < A; i++)                                  \
                _Pragma("GCC unroll 8") for (int u = 0; u < cols; u++)                           \
            {                                                                                    \
                const int16x8_t p = wb_q8_load_s16(pr[i] + o + u * ps);                          \
                if (l1 == 16)                                                                    \
                    t16[u] = i == 0 ? MUL16(p, q, k, 0) : MLA16(t16[u], p, q, k, i);             \
                else if (i == 0)                                                                 \
                    t32[u] = (w32){MULL_LO(p, q, k, 0), MULL_HI(p, q, k, 0)};                    \
                else                                                                             \
                    t32[u] = (w32){MLAL_LO(t32[u].lo, p, q, k, i), MLAL_HI(t32[u].hi, p, q, k, i)}; \
                if (l1 == 16)                                                                    \
                    KEEP(t16[u]);                                                                \
                else {                                                                           \
                    KEEP(t32[u].lo);                                                             \
                    KEEP(t32[u].hi);                                                             \
                }                                                                                \
            }                                                                                    \
            /* pass 2: Y[k][l] += ATq[l][j] t[j] */                                              \
            int32x4_t c32[M];                                                                    \
            if (l1 == 32)                                                                        \
                _Pragma("GCC unroll 6") for (int l = 0; l < M; l++) c32[l] =                     \
                    vld1q_s32(q->m32 + l * A + j0);                                              \
            (void)c32; /* the host build broadcasts from q->m32 instead */                      \
            _Pragma("GCC unroll 8") for (int u = 0; u < cols; u++)                               \
                _Pragma("GCC unroll 6") for (int l = 0; l < M; l++)                              \
            {                                                                                    \
                const int j = j0 + u;                                                            \
                if (l2 == 16)                                                                    \
                    y16[l] = j == 0 ? MUL16(t16[u], q, l, 0) : MLA16(y16[l], t16[u], q, l, j);   \
                else if (l1 == 16 && j == 0)                                                     \
                    y32[l] = (w32){MULL_LO(t16[u], q, l, 0), MULL_HI(t16[u], q, l, 0)};          \
                else if (l1 == 16)                                                               \
                    y32[l] = (w32){MLAL_LO(y32[l].lo, t16[u], q, l, j),                          \
                                   MLAL_HI(y32[l].hi, t16[u], q, l, j)};                         \
                else if (j == 0)                                                                 \
                    y32[l] = (w32){MUL32(t32[u].lo, c32, q, l, j0, u),                           \
                                   MUL32(t32[u].hi, c32, q, l, j0, u)};                          \
                else                                                                             \
                    y32[l] = (w32){MLA32(y32[l].lo, t32[u].lo, c32, q, l, j0, u),                \
                                   MLA32(y32[l].hi, t32[u].hi, c32, q, l, j0, u)};               \
            }                                                                                    \
        }                                                                                        \
        if (l2 == 16)                                                                            \
            _Pragma("GCC unroll 6") for (int l = 0; l < M; l++) y32[l] = W_SHLL(y16[l], 0);     \
        w32_requant_store(y32, M, yo, c, vm);                                                    \
    }
WB_DEF_ROW(16, 16, 8)
WB_DEF_ROW(16, 32, 8)
WB_DEF_ROW(32, 32, 2)

static inline __attribute__((always_inline)) void
tile_loop(size_t channels, const int8_t *p8, size_t p_stride, int8_t *const *out, wb_q8_rq rq,
          const wb_q8_tmat *tm,
          void (*row)(const int8_t *const *, size_t, int8_t *const *, size_t, const at_coefs *,
                      int, wb_rqv))
{
    const uint32_t vm = w32_mult_bits(rq);
    for (size_t c = 0; c < channels; c += 8) {
        const int8_t *pr[A]; /* row pointers of P8: each load is [row, column offset] */
#pragma GCC unroll 8
        for (int i = 0; i < A; i++) {
            pr[i] = p8 + c + (size_t)i * A * p_stride;
            PIN(pr[i]);
        }
#pragma GCC unroll 6
        for (int k = 0; k < M; k++) {
            size_t ps = p_stride;
            const int16_t *m16 = tm->m16;
            const int32_t *m32 = tm->m32;
            PIN(ps);
            PIN(m16); /* ATq loaded per row (the rows it needs only), not held through the loop */
            PIN(m32);
            const at_coefs q = {{vld1q_s16(m16), vld1q_s16(m16 + 8), vld1q_s16(m16 + 16),
                                 vld1q_s16(m16 + 24), vld1q_s16(m16 + 32), vld1q_s16(m16 + 40)},
                                m16, m32};
            row(pr, ps, out + k * M, c, &q, k, w32_mult(vm));
        }
    }
}

#define WB_DEF_TILE(L1, L2)                                                                      \
    static NO_PRESCHED void winoout_##L1##_##L2(size_t channels, const int8_t *p8,               \
                                                size_t p_stride, int8_t *const *out,     \
                                                wb_q8_rq rq, const wb_q8_tmat *tm)               \
    {                                                                                            \
        tile_loop(channels, p8, p_stride, out, rq, tm, out_row_##L1##_##L2);                     \
    }
WB_DEF_TILE(16, 16)
WB_DEF_TILE(16, 32)
WB_DEF_TILE(32, 32)

#ifndef WB_FN /* the int form (WB_REQ_INT) names its own */
#define WB_FN wb_q8_winoout_learned_ukernel_f6__neon
#endif
void WB_FN(size_t channels, const int8_t *p8, size_t p_stride, int8_t *const *out, wb_q8_rq rq,
           const wb_q8_tmat *tm)
{
    if (tm->lanes2 == 16)
        winoout_16_16(channels, p8, p_stride, out, rq, tm);
    else if (tm->lanes1 == 16)
        winoout_16_32(channels, p8, p_stride, out, rq, tm);
    else
        winoout_32_32(channels, p8, p_stride, out, rq, tm);
}
