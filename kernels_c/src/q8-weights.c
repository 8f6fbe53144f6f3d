/* The offline weight transform of the int8 Winograd schemes (bench/numerics/reference.py, steps 5-7):
 * U = Gq g Gq^T in int64 per (cin, cout), then per scheme
 *   tensor  U8 = requant(U) with one multiplier for the whole tensor,
 *   tap     U8 = requant(U) with one multiplier per position,
 *   wide    U16 = U * mult_u16 * 2^e[p] in int16 (QU and e[p] chosen so that no sum can wrap),
 * packed per position for the scheme's GEMM. Timed as the weight transform, never in a run. */
#include <math.h>
#include <stdlib.h>

#include "wb_q8_plan.h"

/* U = Gq g Gq^T in int64, layout (a*a, cin, cout) */
static int64_t *weights_u64(const wb_q8_plan *p)
{
    const int a = p->a;
    const size_t cin = p->cin, cout = p->cout;
    int64_t *u = malloc((size_t)a * a * cin * cout * sizeof *u);
    if (!u)
        return NULL;
    for (size_t ci = 0; ci < cin; ci++)
        for (size_t co = 0; co < cout; co++) {
            int64_t gg[WB_MAX_TILE][3];
            for (int i = 0; i < a; i++) /* Gq g */
                for (int l = 0; l < 3; l++) {
                    int64_t s = 0;
                    for (int k = 0; k < 3; k++)
                        s += p->gq[i * 3 + k] * p->wq[((size_t)(k * 3 + l) * cin + ci) * cout + co];
                    gg[i][l] = s;
                }
            for (int i = 0; i < a; i++) /* (Gq g) Gq^T */
                for (int j = 0; j < a; j++)
                    u[((size_t)i * a + j) * cin * cout + ci * cout + co] =
                        gg[i][0] * p->gq[j * 3] + gg[i][1] * p->gq[j * 3 + 1] + gg[i][2] * p->gq[j * 3 + 2];
        }
    return u;
}

/* U8 of position q with multiplier mult, packed for the int8 GEMM */
static void pack_u8(wb_q8_plan *p, const int64_t *u, size_t q, float mult)
{
    const size_t n = (size_t)p->cin * p->cout;
    for (size_t i = 0; i < n; i++)
        p->u8[q * n + i] = wb_q8_requant_scalar(u[q * n + i], mult);
    wb_q8_packb_ukernel_x4c16__scalar(p->cin, p->cout, p->u8 + q * n, p->cout,
                                      p->wpacked + q * p->panel_bytes);
}

static int64_t amax_of(const int64_t *u, size_t n)
{
    int64_t amax = 0;
    for (size_t i = 0; i < n; i++)
        amax = wb_q8_max(amax, llabs(u[i]));
    return amax;
}

/* tensor: one multiplier for all positions (mult_u); tap: one per position (sch->mult_u) */
static void int8_weights(wb_q8_plan *p, const int64_t *u)
{
    const int tap = p->scheme == WB_Q8_TAP;
    const size_t aa = (size_t)p->a * p->a, n = (size_t)p->cin * p->cout;
    if (!tap)
        p->mult_u = wb_q8_multiplier(amax_of(u, aa * n));
    for (size_t q = 0; q < aa; q++)
        pack_u8(p, u, q, tap ? (p->sch->mult_u[q] = wb_q8_multiplier(amax_of(u + q * n, n))) : p->mult_u);
}

/* wide: QU and e[p] (step 7), U16, packed for the int16 GEMM */
static int wide_weights(wb_q8_plan *p, const int64_t *u, char *err, int err_len)
{
    wb_q8_scheme_state *s = p->sch;
    const size_t aa = (size_t)p->a * p->a, cin = p->cin, cout = p->cout, n = cin * cout;
    const int64_t l1b = wb_q8_max_row_l1(p->btq, p->a, p->a), vbound = 127 * l1b * l1b;
    s->sv = wb_q8_shift_to_fit(vbound, WB_Q8_I16_MAX);
    const int64_t B = WB_Q8_I32_MAX / wb_q8_rshift(vbound, s->sv);
    int64_t amax = 0, lsum[WB_Q8_AA], pmax[WB_Q8_AA], lmax = 0;
    for (size_t q = 0; q < aa; q++) {
        lsum[q] = pmax[q] = 0;
        for (size_t co = 0; co < cout; co++) {
            int64_t l = 0;
            for (size_t ci = 0; ci < cin; ci++) {
                const int64_t v = llabs(u[q * n + ci * cout + co]);
                l += v;
                pmax[q] = wb_q8_max(pmax[q], v);
            }
            lsum[q] = wb_q8_max(lsum[q], l);
        }
        amax = wb_q8_max(amax, pmax[q]);
        lmax = wb_q8_max(lmax, lsum[q]);
    }
    const int64_t room = (B - (int64_t)cin) * amax;
    const int64_t qu = lmax ? (room / lmax < WB_Q8_I16_MAX ? room / lmax : WB_Q8_I16_MAX) : WB_Q8_I16_MAX;
    if (qu < 1)
        return wb_fail(err, err_len, WB_E_BAD_CASE, "wide scheme: cin=%zu is past the int32 bound "
                       "for these weights ((B - cin) * max|U| < max column L1 of U, B = %lld)",
                       cin, (long long)B);
    s->qu = (int)qu;
    s->mult_u16 = amax ? (float)((double)qu / (double)amax) : 1.0f;
    for (size_t q = 0; q < aa; q++) {
        int e = 0;
        while (e < 15 && pmax[q] * (qu << (e + 1)) <= WB_Q8_I16_MAX * amax && lsum[q] * (qu << (e + 1)) <= room)
            e++;
        s->e[q] = e;
        const float mult = ldexpf(s->mult_u16, e);
        for (size_t i = 0; i < n; i++) {
            const float r = rintf((float)u[q * n + i] * mult);
            s->u16[q * n + i] = (int16_t)(r > 32767.0f ? 32767 : r < -32767.0f ? -32767 : (int)r);
        }
        wb_q8_packb_s16_ukernel_x8__scalar(cin, cout, s->u16 + q * n, cout, s->w16 + q * s->panel16);
    }
    return WB_OK;
}

int wb_q8_transform_weights(wb_q8_plan *p, char *err, int err_len)
{
    int64_t *u = weights_u64(p);
    if (!u)
        return wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
    int rc = WB_OK;
    if (p->scheme == WB_Q8_WIDE)
        rc = wide_weights(p, u, err, err_len);
    else
        int8_weights(p, u);
    free(u);
    return rc;
}
