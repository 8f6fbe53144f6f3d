/* Shared pieces of the tap/wide tile transforms (q8-winoin-scheme-neon.inc,
 * q8-winoout-scheme-neon.inc, q8-winoout-scheme-buf-neon.inc): dense 1-D transforms on named
 * vector variables (never arrays of vectors: gcc 12 spills those), with the matrix row given at
 * run time, and the per-position loads and stores of each scheme. Private to the q8 sources. */
#ifndef WB_Q8_SCHEME_NEON_H
#define WB_Q8_SCHEME_NEON_H

#include <string.h>

#include "wb_q8_neon.h"
#include "wb_q8_rq_neon.h"

#define WB_ALWAYS static inline __attribute__((always_inline))
#define WB_V8(x) x##0, x##1, x##2, x##3, x##4, x##5, x##6, x##7
#define WB_V8DECL(T, x) T x##0, T x##1, T x##2, T x##3, T x##4, T x##5, T x##6, T x##7

/* sum_k r[k] x_k over k < n (a compile-time constant after inlining) with int64 products and
 * sums, on the low (h = 0) or high (h = 1) 2 lanes of each x_k */
#define WB_HALF(x, h) ((h) ? vget_high_s32(x) : vget_low_s32(x))
WB_ALWAYS int64x2_t wb_dot_s64(const int32_t *r, int n, int h, WB_V8DECL(int32x4_t, x))
{
    int64x2_t acc = vmull_n_s32(WB_HALF(x0, h), r[0]);
    acc = vmlal_n_s32(acc, WB_HALF(x1, h), r[1]);
    acc = vmlal_n_s32(acc, WB_HALF(x2, h), r[2]);
    acc = vmlal_n_s32(acc, WB_HALF(x3, h), r[3]);
    if (n > 4) {
        acc = vmlal_n_s32(acc, WB_HALF(x4, h), r[4]);
        acc = vmlal_n_s32(acc, WB_HALF(x5, h), r[5]);
    }
    if (n > 6) {
        acc = vmlal_n_s32(acc, WB_HALF(x6, h), r[6]);
        acc = vmlal_n_s32(acc, WB_HALF(x7, h), r[7]);
    }
    return acc;
}

/* 8 int8 at p -> two int32x4 */
WB_ALWAYS void wb_load8_s32(const int8_t *p, int32x4_t *lo, int32x4_t *hi)
{
    const int16x8_t e = vmovl_s8(vld1_s8(p));
    *lo = vmovl_s16(vget_low_s16(e));
    *hi = vmovl_high_s16(e);
}

/* int64 (lo, hi) -> float32x4, through float64: exact below 2^53, then one rounding */
WB_ALWAYS float32x4_t wb_cvt_s64_f32(int64x2_t lo, int64x2_t hi)
{
    return vcombine_f32(vcvt_f32_f64(vcvtq_f64_s64(lo)), vcvt_f32_f64(vcvtq_f64_s64(hi)));
}

/* 8 float32 (two vectors, already multiplied) -> 8 int8, round half to even, clamp to +-127 */
WB_ALWAYS int8x8_t wb_q8_narrow_f32(float32x4_t lo, float32x4_t hi)
{
    const int8x8_t q = vqmovn_s16(vcombine_s16(vqmovn_s32(wb_q8_cvtn(lo)), vqmovn_s32(wb_q8_cvtn(hi))));
    return vmax_s8(q, vdup_n_s8(-127));
}

/* Per-position stores of the input transform (q8-winoin-scheme-neon.inc, picked by WB_SCHEME),
 * the position's multiplier given as a vector vm (the template loads a row's multipliers before
 * its stores: a store may alias mult): tap requantizes to int8, wide shifts into int16; the 16
 * forms take V already in int16 lanes (the same bytes: requant widens first; SRSHL rounds without
 * overflow, and the result fits int16). */
#define WB_TAP_STORE_VM(v, p, vs, c, lo, hi, vm, shift)                                            \
    vst1_s8((int8_t *)(v) + (p) * (vs) + (c), wb_q8_requant_s32(lo, hi, vm))
#define WB_WIDE_STORE_VM(v, p, vs, c, lo, hi, vm, shift)                                           \
    vst1q_s16((int16_t *)(v) + (p) * (vs) + (c),                                                   \
              vcombine_s16(vmovn_s32(vrshlq_s32(lo, vdupq_n_s32(-(shift)))),                       \
                           vmovn_s32(vrshlq_s32(hi, vdupq_n_s32(-(shift))))))
#define WB_TAP_STORE16_VM(v, p, vs, c, v16, vm, shift)                                             \
    vst1_s8((int8_t *)(v) + (p) * (vs) + (c), wb_q8_requant_s16(v16, vm))
#define WB_WIDE_STORE16_VM(v, p, vs, c, v16, vm, shift)                                            \
    vst1q_s16((int16_t *)(v) + (p) * (vs) + (c), vrshlq_s16(v16, vdupq_n_s16((int16_t) - (shift))))

/* output transforms (q8-winoout-scheme-neon.inc) */

/* A row of ATq as the products of the output transform take it: static kernels read r (a
 * compile-time constant, so each entry folds), learned ones entry k < 4 from lane k of v0 and the
 * rest from v1 = r[a-4 .. a). */
typedef struct {
    const int32_t *r;
    int32x4_t v0, v1;
    int a, known;
} wb_orow;

WB_ALWAYS wb_orow wb_orow_const(const int32_t *r, int a)
{
    return (wb_orow){r, vdupq_n_s32(0), vdupq_n_s32(0), a, 1};
}

WB_ALWAYS wb_orow wb_orow_load(const int32_t *r, int a)
{
    return (wb_orow){r, vld1q_s32(r), vld1q_s32(r + a - 4), a, 0};
}

/* 1, 2, 4 .. 2048 in lanes: static entries +-2^e multiply by lane e of p[e / 4] */
typedef struct { int32x4_t p0, p1, p2; } wb_pow2;
static const int32_t wb_pow2_tab[12] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048};

WB_ALWAYS wb_pow2 wb_pow2_load(const int32_t *tab)
{
    return (wb_pow2){vld1q_s32(tab), vld1q_s32(tab + 4), vld1q_s32(tab + 8)};
}

/* Products by lane n of v on the low / high half of x: SMULL(2) / SMLAL(2) / SMLSL(2) by element
 * (through vget_high gcc may move the half out first and keep both halves of a vector). SIMDe
 * wants a literal lane, so the host build takes the scalar. */
#if defined(__aarch64__)
#define WB_MULL_LO(x, v, n) vmull_laneq_s32(vget_low_s32(x), v, n)
#define WB_MLAL_LO(a, x, v, n) vmlal_laneq_s32(a, vget_low_s32(x), v, n)
#define WB_MLSL_LO(a, x, v, n) vmlsl_laneq_s32(a, vget_low_s32(x), v, n)
#define WB_MULL_HI(x, v, n) vmull_high_laneq_s32(x, v, n)
#define WB_MLAL_HI(a, x, v, n) vmlal_high_laneq_s32(a, x, v, n)
#define WB_MLSL_HI(a, x, v, n) vmlsl_high_laneq_s32(a, x, v, n)
#else
WB_ALWAYS int32_t wb_lane_s32(int32x4_t v, int n)
{
    int32_t a[4];
    vst1q_s32(a, v);
    return a[n];
}
#define WB_MULL_LO(x, v, n) vmull_n_s32(vget_low_s32(x), wb_lane_s32(v, n))
#define WB_MLAL_LO(a, x, v, n) vmlal_n_s32(a, vget_low_s32(x), wb_lane_s32(v, n))
#define WB_MLSL_LO(a, x, v, n) vmlsl_n_s32(a, vget_low_s32(x), wb_lane_s32(v, n))
#define WB_MULL_HI(x, v, n) vmull_n_s32(vget_high_s32(x), wb_lane_s32(v, n))
#define WB_MLAL_HI(a, x, v, n) vmlal_n_s32(a, vget_high_s32(x), wb_lane_s32(v, n))
#define WB_MLSL_HI(a, x, v, n) vmlsl_n_s32(a, vget_high_s32(x), wb_lane_s32(v, n))
#endif

/* (*lo, *hi) += c * x on int64 lanes by lane n of v (c < 0: subtract); *first: nothing to add to */
WB_ALWAYS void wb_omac_lane(int64x2_t *lo, int64x2_t *hi, int first, int neg, int32x4_t x,
                            int32x4_t v, int n)
{
    if (first) {
        *lo = WB_MULL_LO(x, v, n), *hi = WB_MULL_HI(x, v, n);
        if (neg)
            *lo = vnegq_s64(*lo), *hi = vnegq_s64(*hi);
    } else if (neg) {
        *lo = WB_MLSL_LO(*lo, x, v, n), *hi = WB_MLSL_HI(*hi, x, v, n);
    } else {
        *lo = WB_MLAL_LO(*lo, x, v, n), *hi = WB_MLAL_HI(*hi, x, v, n);
    }
}

/* the same for a static entry c that is +-1 or no power of two */
WB_ALWAYS void wb_omac_scalar(int64x2_t *lo, int64x2_t *hi, int first, int32x4_t x, int32_t c)
{
    const uint32_t m = c < 0 ? -(uint32_t)c : (uint32_t)c;
    if (m != 1) {
        const int64x2_t pl = vmull_n_s32(vget_low_s32(x), (int32_t)m);
        const int64x2_t ph = vmull_n_s32(vget_high_s32(x), (int32_t)m);
        if (first)
            *lo = c < 0 ? vnegq_s64(pl) : pl, *hi = c < 0 ? vnegq_s64(ph) : ph;
        else if (c < 0)
            *lo = vsubq_s64(*lo, pl), *hi = vsubq_s64(*hi, ph);
        else
            *lo = vaddq_s64(*lo, pl), *hi = vaddq_s64(*hi, ph);
    } else if (first) {
        *lo = vmovl_s32(vget_low_s32(x)), *hi = vmovl_high_s32(x);
        if (c < 0)
            *lo = vnegq_s64(*lo), *hi = vnegq_s64(*hi);
    } else if (c < 0) {
        *lo = vsubw_s32(*lo, vget_low_s32(x)), *hi = vsubw_high_s32(*hi, x);
    } else {
        *lo = vaddw_s32(*lo, vget_low_s32(x)), *hi = vaddw_high_s32(*hi, x);
    }
}

/* (*lo, *hi) += w.r[k] * x on int64 lanes (first: the accumulators hold nothing yet); returns
 * whether a term was added. Static: zero entries vanish, +-1 is a widening add or subtract, +-2^e
 * (e < 12) a multiply by lane of the powers of two; learned: a multiply by lane of the row. */
WB_ALWAYS int wb_omac(int64x2_t *lo, int64x2_t *hi, int first, int32x4_t x, wb_orow w, int k,
                      wb_pow2 pw)
{
    if (!w.known) {
        wb_omac_lane(lo, hi, first, 0, x, k < 4 ? w.v0 : w.v1, k < 4 ? k : k - (w.a - 4));
        return 1;
    }
    const int32_t c = w.r[k];
    const uint32_t m = c < 0 ? -(uint32_t)c : (uint32_t)c;
    if (c == 0)
        return 0;
    if (m == 1 || (m & (m - 1)) != 0 || m > 2048) {
        wb_omac_scalar(lo, hi, first, x, c);
    } else {
        const int e = __builtin_ctz(m);
        wb_omac_lane(lo, hi, first, c < 0, x, e < 4 ? pw.p0 : e < 8 ? pw.p1 : pw.p2, e & 3);
    }
    return 1;
}

/* 4 int8 at p (any alignment) -> int32x4 */
WB_ALWAYS int32x4_t wb_load4_s32(const int8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return vmovl_s16(vget_low_s16(vmovl_s8(vcreate_s8(w))));
}

/* 4 float32 (already multiplied) -> 4 int8 at p, as wb_q8_narrow_f32 */
WB_ALWAYS void wb_store4_q8(int8_t *p, float32x4_t v)
{
    const int16x4_t s = vqmovn_s32(wb_q8_cvtn(v));
    const int8x8_t q = vmax_s8(vqmovn_s16(vcombine_s16(s, s)), vdup_n_s8(-127));
    const uint32_t w = vget_lane_u32(vreinterpret_u32_s8(q), 0);
    memcpy(p, &w, 4);
}

/* The output's requantization of int64 sums (lo, hi: 4 values) in the form of the kernel: fp32
 * through float64 -> float32 times mult; int (step 8) a rounding shift by rq.shift to int32, then
 * SQRDMULH by b. wb_rq64 gives the 4 values before the narrows of wb_rq64_store8 / _store4. */
#if WB_REQ_INT
typedef struct { int64x2_t ns; int32x4_t b; } wb_rq64v;
typedef int32x4_t wb_rq64q;
WB_ALWAYS wb_rq64v wb_rq64v_make(wb_q8_rq rq)
{
    return (wb_rq64v){vdupq_n_s64(-(int64_t)rq.shift), vdupq_n_s32(rq.b)};
}
WB_ALWAYS wb_rq64q wb_rq64(int64x2_t lo, int64x2_t hi, wb_rq64v r)
{
    const int32x4_t t = vcombine_s32(vmovn_s64(vrshlq_s64(lo, r.ns)), vmovn_s64(vrshlq_s64(hi, r.ns)));
    return vqrdmulhq_s32(t, r.b);
}
/* |value| <= 127: the low 16 bits of each lane (UZP1) are the value */
WB_ALWAYS int8x8_t wb_rq64_narrow(wb_rq64q a, wb_rq64q b)
{
    return vqmovn_s16(vuzp1q_s16(vreinterpretq_s16_s32(a), vreinterpretq_s16_s32(b)));
}
WB_ALWAYS void wb_rq64_store4(int8_t *p, wb_rq64q a)
{
    const uint32_t w = vget_lane_u32(vreinterpret_u32_s8(wb_rq64_narrow(a, a)), 0);
    memcpy(p, &w, 4);
}
#else
typedef float32x4_t wb_rq64v;
typedef float32x4_t wb_rq64q;
WB_ALWAYS wb_rq64v wb_rq64v_make(wb_q8_rq rq) { return vdupq_n_f32(rq.mult); }
WB_ALWAYS wb_rq64q wb_rq64(int64x2_t lo, int64x2_t hi, wb_rq64v vm)
{
    return vmulq_f32(wb_cvt_s64_f32(lo, hi), vm);
}
WB_ALWAYS int8x8_t wb_rq64_narrow(wb_rq64q a, wb_rq64q b) { return wb_q8_narrow_f32(a, b); }
WB_ALWAYS void wb_rq64_store4(int8_t *p, wb_rq64q a) { wb_store4_q8(p, a); }
#endif

/* The requantization of output position pos: the kernel's one (vm), or with WB_ROW_SCALES 1 (row
 * scales, bench/numerics/reference.py step 9) entry pos of the table tab, m * m of them row-major:
 * the float multiplier mult_Y 2^-xA[pos] (fp32 form) or the int32 rounding shift R + xA[pos] with
 * vm's b (int form). */
#if defined(WB_ROW_SCALES) && WB_ROW_SCALES && WB_REQ_INT
#define WB_RQ64V_AT(vm, tab, pos) \
    ((wb_rq64v){vdupq_n_s64(-(int64_t)((const int32_t *)(tab))[pos]), (vm).b})
#elif defined(WB_ROW_SCALES) && WB_ROW_SCALES
#define WB_RQ64V_AT(vm, tab, pos) vld1q_dup_f32((const float *)(tab) + (pos))
#else
#define WB_RQ64V_AT(vm, tab, pos) (vm)
#endif

/* Z at position p, 4 or 8 channels from c (the loads of q8-winoout-scheme-neon.inc and
 * q8-winoout-scheme-buf-neon.inc, picked by WB_SCHEME): tap widens P8 and multiplies by Sq[p],
 * wide reads the int32 sums M'. */
#define WB_TAP_LOADZ4(p8, p, ps, c, sq)                                                            \
    vmulq_n_s32(wb_load4_s32((const int8_t *)(p8) + (p) * (ps) + (c)), (sq)[p])
#define WB_WIDE_LOADZ4(p8, p, ps, c, sq) vld1q_s32((const int32_t *)(p8) + (p) * (ps) + (c))
#define WB_TAP_LOADZ8(p8, p, ps, c, sq, lo, hi)                                                    \
    do {                                                                                           \
        wb_load8_s32((const int8_t *)(p8) + (p) * (ps) + (c), &lo, &hi);                           \
        lo = vmulq_n_s32(lo, (sq)[p]);                                                             \
        hi = vmulq_n_s32(hi, (sq)[p]);                                                             \
    } while (0)
#define WB_WIDE_LOADZ8(p8, p, ps, c, sq, lo, hi)                                                   \
    do {                                                                                           \
        lo = vld1q_s32((const int32_t *)(p8) + (p) * (ps) + (c));                                  \
        hi = vld1q_s32((const int32_t *)(p8) + (p) * (ps) + (c) + 4);                              \
    } while (0)

#endif
