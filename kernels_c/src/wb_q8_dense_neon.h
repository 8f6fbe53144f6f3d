/* The dense 16-bit 1-D transform of the learned int8 tile kernels with the coefficients in vector
 * lanes (as wb_f32_dense_neon.h): y[0..rows) = T x[0..cols) for the row-major int16 matrix
 * tm->m16, whose n-th value is lane n % 8 of vector n / 8, loaded once per call (8 vectors hold
 * any a <= 8). Each product is one MUL/MLA by element; the low 16 bits are those of the scalar
 * form, so the bytes are unchanged. The 32-bit passes keep wb_q8_dense_s32. */
#ifndef WB_Q8_DENSE_NEON_H
#define WB_Q8_DENSE_NEON_H

#include "wb_q8_neon.h"

typedef struct {
    int16x8_t q0, q1, q2, q3, q4, q5, q6, q7;
    const int16_t *m; /* the matrix itself, for the host build's broadcasts */
} wb_q8_coefs16;

static inline __attribute__((always_inline)) int16x8_t wb_q8_coef16(const wb_q8_coefs16 *q, int i)
{
    switch (i) {
    case 0: return q->q0; case 1: return q->q1; case 2: return q->q2; case 3: return q->q3;
    case 4: return q->q4; case 5: return q->q5; case 6: return q->q6; default: return q->q7;
    }
}

#if defined(__aarch64__)
#define WB_Q8_PIN16(q, count, i)                                                                 \
    if (8 * (i) < (count))                                                                       \
    __asm__ volatile("" : "+w"((q)->q##i))
#define WB_Q8_MLA16(acc, x, q, n) vmlaq_laneq_s16((acc), (x), wb_q8_coef16((q), (n) / 8), (n) % 8)
#define WB_Q8_MUL16(x, q, n) vmulq_laneq_s16((x), wb_q8_coef16((q), (n) / 8), (n) % 8)
/* widening: the low (h = 0) or high (h = 1) 4 lanes of x times value n, in int32 lanes */
#define WB_Q8_MULL16(x, h, q, n)                                                                 \
    ((h) ? vmull_high_laneq_s16((x), wb_q8_coef16((q), (n) / 8), (n) % 8)                        \
         : vmull_laneq_s16(vget_low_s16(x), wb_q8_coef16((q), (n) / 8), (n) % 8))
#define WB_Q8_MLAL16(acc, x, h, q, n)                                                            \
    ((h) ? vmlal_high_laneq_s16((acc), (x), wb_q8_coef16((q), (n) / 8), (n) % 8)                 \
         : vmlal_laneq_s16((acc), vget_low_s16(x), wb_q8_coef16((q), (n) / 8), (n) % 8))
#else /* SIMDe wants a literal lane: broadcast the value from the matrix (same products) */
#define WB_Q8_PIN16(q, count, i) (void)0
#define WB_Q8_MLA16(acc, x, q, n) vmlaq_n_s16((acc), (x), (q)->m[n])
#define WB_Q8_MUL16(x, q, n) vmulq_n_s16((x), (q)->m[n])
#define WB_Q8_MULL16(x, h, q, n) vmull_n_s16((h) ? vget_high_s16(x) : vget_low_s16(x), (q)->m[n])
#define WB_Q8_MLAL16(acc, x, h, q, n)                                                            \
    vmlal_n_s16((acc), (h) ? vget_high_s16(x) : vget_low_s16(x), (q)->m[n])
#endif

static inline __attribute__((always_inline)) wb_q8_coefs16 wb_q8_load_coefs16(const int16_t *m)
{
    return (wb_q8_coefs16){vld1q_s16(m),      vld1q_s16(m + 8),  vld1q_s16(m + 16),
                           vld1q_s16(m + 24), vld1q_s16(m + 32), vld1q_s16(m + 40),
                           vld1q_s16(m + 48), vld1q_s16(m + 56), m};
}

static inline __attribute__((always_inline)) void wb_q8_pin_coefs16(wb_q8_coefs16 *q, int count)
{
    WB_Q8_PIN16(q, count, 0); WB_Q8_PIN16(q, count, 1); WB_Q8_PIN16(q, count, 2);
    WB_Q8_PIN16(q, count, 3); WB_Q8_PIN16(q, count, 4); WB_Q8_PIN16(q, count, 5);
    WB_Q8_PIN16(q, count, 6); WB_Q8_PIN16(q, count, 7);
}

static inline __attribute__((always_inline)) void
wb_q8_dense16_lanes(const wb_q8_coefs16 *q, int rows, int cols, const int16x8_t *x, int16x8_t *y)
{
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
        int16x8_t acc = WB_Q8_MUL16(x[0], q, i * cols);
#pragma GCC unroll 8
        for (int k = 1; k < cols; k++)
            acc = WB_Q8_MLA16(acc, x[k], q, i * cols + k);
        y[i] = acc;
    }
}

/* the same products widened to int32 (exact: the int32 sums of wb_q8_dense_s32 on the widened
 * x), on half h (lanes 0-3 or 4-7) of the int16 x: a 32-bit first pass from int16 coefficients */
static inline __attribute__((always_inline)) void
wb_q8_dense16_32_lanes(const wb_q8_coefs16 *q, int rows, int cols, const int16x8_t *x, int h,
                       int32x4_t *y)
{
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
        int32x4_t acc = WB_Q8_MULL16(x[0], h, q, i * cols);
#pragma GCC unroll 8
        for (int k = 1; k < cols; k++)
            acc = WB_Q8_MLAL16(acc, x[k], h, q, i * cols + k);
        y[i] = acc;
    }
}
#endif
