/* The one place that decides where NEON comes from: <arm_neon.h> on Arm, SIMDe's portable
 * implementation elsewhere. Build the host side with FMA enabled (-mfma or -march=native):
 * without it SIMDe turns vfmaq_f32 into a multiply and an add and the results differ from Arm. */
#ifndef WB_NEON_H
#define WB_NEON_H

#if defined(__aarch64__)
#include <arm_neon.h>
#else
#if !defined(__FMA__)
#error "host builds need FMA (-mfma or -march=native) so that vfmaq_f32 rounds once, as on Arm"
#endif
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
/* SIMDe implements the by-lane FMA as a multiply and an add (two roundings); Arm's FMLA (by
 * element) rounds once. Route it through vfmaq_f32, which SIMDe maps to a real FMA. */
#undef vfmaq_laneq_f32
#define vfmaq_laneq_f32(a, b, v, lane) vfmaq_f32((a), (b), vdupq_laneq_f32((v), (lane)))
#endif
/* SIMDe has no vfmsq_f32: kernels write a - b*c as vfmaq_f32(a, b, -c) (negation is exact). */

#endif
