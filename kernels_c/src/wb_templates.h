/* The Winograd tile-transform templates (the src/ files ending -neon.inc) and their settings,
 * named once here. A kernel file (generated from kernels_c/kernels.toml, or hand-written) defines
 * its settings, then includes one template; every template includes this header.
 *
 *   WB_FN              the function's name (the file name mirrors it)
 *   WB_M               output tile size m: 2, 4 or 6; the input tile a = m + 2 is WB_A below
 *   WB_ROWS            rows of the result in group order, e.g. {0, 5, 1, 2, 3, 4}: rows that
 *                      share terms of the 1-D transform go in one group (fp32, int8 tensor)
 *   WB_GROUP           rows per group on Arm; the host build (SIMDe) takes the whole tile at once
 *   WB_PRESCHED 1      fp32: keep gcc's pre-allocation scheduler (the group fits the registers);
 *                      without it the template turns that scheduler off. The int8 tile transforms
 *                      take one setting for all, static and learned alike: WB_Q8_TILE_OPT below
 *   WB_PASS(x, y)      fp32 static kernels: the sparse 1-D transform y = T x (float32x4_t arrays)
 *   WB_PASS16(x, y), WB_PASS32(x, y), WB_PASS16_32(x, h, y)
 *                      int8 tensor static kernels: the same in 16-bit lanes, in 32-bit lanes, and
 *                      from half h of 16-bit x into 32-bit lanes
 *   WB_L1, WB_L2       int8 tensor: lane width (16 or 32) of the first and second pass
 *   WB_SCHEME          int8 tap/wide: TAP or WIDE (its loads and stores, wb_q8_scheme_neon.h)
 *   WB_CONST_MATRIX    int8 tap/wide static kernels: the default integer matrix
 *                      (wb_q8_default_tq.h) as a compile-time constant; absent: learned
 *   WB_LANES, WB_STEP_T, WB_STEP_Y
 *                      int8 tap/wide output on Arm: channels per pass (4 or 8), columns of Z
 *                      transformed at a time, rows of Y made at a time
 * and, set by the learned templates for the tile templates they include:
 *   WB_COEFS(mat), WB_PIN_COEFS()   coefficients loaded once per call, pinned per group
 *   WB_ROW_PASS16_32(x, vi, vs, vm) int8 16/32: a row's whole 32-bit pass, requantized, stored
 *   WB_STATIC_FN                    `static`: one lane-width variant of a learned int8 kernel */
#ifndef WB_TEMPLATES_H
#define WB_TEMPLATES_H

#define WB_A (WB_M + 2)

#define WB_CAT(a, b) a##b
#define WB_XCAT(a, b) WB_CAT(a, b)

/* Compiler fences: a pointer (general register) or vector gcc must take as opaque where it
 * stands, so that it neither hoists the work that depends on it nor keeps it live and spills. */
#if defined(__aarch64__)
#define WB_PIN_GREG(v) __asm__ volatile("" : "+r"(v))
#define WB_PIN_VREG(v) __asm__ volatile("" : "+w"(v))
#else
#define WB_PIN_GREG(v) (void)0
#define WB_PIN_VREG(v) (void)0
#endif

/* The compiler setting of every int8 tile transform, static and learned alike (so that the
 * models compare their code, never a setting): no pre-allocation scheduling (it hoists loads and
 * products past what the registers hold and spills), registers renamed after allocation (the
 * post-allocation scheduler then interleaves the unscheduled code for the in-order A53), no
 * temporary expression replacement (else gcc rebuilds each sum at its last use and keeps every
 * loaded row live). */
#if defined(__aarch64__)
#define WB_Q8_TILE_OPT __attribute__((optimize("no-schedule-insns", "rename-registers", "no-tree-ter")))
#else
#define WB_Q8_TILE_OPT
#endif

#endif
