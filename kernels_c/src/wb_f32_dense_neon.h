/* The dense 1-D transform of the learned fp32 tile kernels: y[0..rows) = T x[0..cols) for a
 * row-major matrix T whose n-th value lives in lane n % 4 of coefficient vector n / 4, loaded
 * once per call. The vectors are named struct fields, not an array: gcc 12 keeps an array of
 * vectors in memory, while fields picked by a constant (after full unrolling) stay in registers.
 * Every product is then one FMLA by element and no coefficient is reloaded in the tile loop. */
#ifndef WB_F32_DENSE_NEON_H
#define WB_F32_DENSE_NEON_H

#include "wb_neon.h"

typedef struct {
    float32x4_t q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, q10, q11, q12, q13, q14, q15;
    const float *mat; /* the matrix itself, for the host build's broadcasts */
} wb_f32_coefs;

/* The first `count` values of mat (count <= 64, padded to a multiple of 4 by the caller). */
static inline __attribute__((always_inline)) wb_f32_coefs wb_f32_load_coefs(const float *mat,
                                                                             int count)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
#define WB_LOAD_Q(i) (count > 4 * (i) ? vld1q_f32(mat + 4 * (i)) : z)
    return (wb_f32_coefs){WB_LOAD_Q(0),  WB_LOAD_Q(1),  WB_LOAD_Q(2),  WB_LOAD_Q(3),
                          WB_LOAD_Q(4),  WB_LOAD_Q(5),  WB_LOAD_Q(6),  WB_LOAD_Q(7),
                          WB_LOAD_Q(8),  WB_LOAD_Q(9),  WB_LOAD_Q(10), WB_LOAD_Q(11),
                          WB_LOAD_Q(12), WB_LOAD_Q(13), WB_LOAD_Q(14), WB_LOAD_Q(15), mat};
#undef WB_LOAD_Q
}

static inline __attribute__((always_inline)) float32x4_t wb_f32_coef_vec(const wb_f32_coefs *q,
                                                                         int i)
{
    switch (i) {
    case 0: return q->q0;   case 1: return q->q1;   case 2: return q->q2;   case 3: return q->q3;
    case 4: return q->q4;   case 5: return q->q5;   case 6: return q->q6;   case 7: return q->q7;
    case 8: return q->q8;   case 9: return q->q9;   case 10: return q->q10; case 11: return q->q11;
    case 12: return q->q12; case 13: return q->q13; case 14: return q->q14; default: return q->q15;
    }
}

/* Called at the top of each tile: makes the coefficients opaque to the loop optimizer, which would
 * otherwise hoist one DUP per coefficient out of the loop (FMLA by element is a DUP + FMA in
 * gcc's intermediate code) and spill the a*a broadcast vectors to the stack. Costs nothing. */
#if defined(__aarch64__)
#define WB_PIN_Q(q, count, i)                                                                    \
    if (4 * (i) < (count))                                                                       \
    __asm__ volatile("" : "+w"((q)->q##i))
#else
#define WB_PIN_Q(q, count, i) (void)0
#endif
static inline __attribute__((always_inline)) void wb_f32_pin_coefs(wb_f32_coefs *q, int count)
{
    WB_PIN_Q(q, count, 0);  WB_PIN_Q(q, count, 1);  WB_PIN_Q(q, count, 2);  WB_PIN_Q(q, count, 3);
    WB_PIN_Q(q, count, 4);  WB_PIN_Q(q, count, 5);  WB_PIN_Q(q, count, 6);  WB_PIN_Q(q, count, 7);
    WB_PIN_Q(q, count, 8);  WB_PIN_Q(q, count, 9);  WB_PIN_Q(q, count, 10); WB_PIN_Q(q, count, 11);
    WB_PIN_Q(q, count, 12); WB_PIN_Q(q, count, 13); WB_PIN_Q(q, count, 14); WB_PIN_Q(q, count, 15);
}
#undef WB_PIN_Q

/* acc + x * T[n] and x * T[n]. SIMDe needs a literal lane, which a constant after unrolling is
 * not: the host build broadcasts the value from the matrix instead (same roundings). */
#if defined(__aarch64__)
#define WB_COEF_FMA(acc, x, q, n) vfmaq_laneq_f32((acc), (x), wb_f32_coef_vec((q), (n) / 4), (n) % 4)
#define WB_COEF_MUL(x, q, n) vmulq_laneq_f32((x), wb_f32_coef_vec((q), (n) / 4), (n) % 4)
#else
#define WB_COEF_FMA(acc, x, q, n) vfmaq_f32((acc), (x), vdupq_n_f32((q)->mat[n]))
#define WB_COEF_MUL(x, q, n) vmulq_f32((x), vdupq_n_f32((q)->mat[n]))
#endif

static inline __attribute__((always_inline)) void
wb_f32_dense(const wb_f32_coefs *q, int rows, int cols, const float32x4_t *x, float32x4_t *y)
{
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
        float32x4_t acc = WB_COEF_MUL(x[0], q, i * cols);
#pragma GCC unroll 8
        for (int k = 1; k < cols; k++)
            acc = WB_COEF_FMA(acc, x[k], q, i * cols + k);
        y[i] = acc;
    }
}

#endif
