/* Portable test data, checksums and aligned buffers.
 *
 * wb_fill_gaussian: state = seed; for each value, 12 splitmix64 draws u = (z >> 11) * 2^-53 in
 * [0, 1) are summed in order in double, 6.0 is subtracted and the result rounded to float.
 * Integer arithmetic and exact-order double sums: every build produces the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wb_internal.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void wb_fill_gaussian(float *dst, unsigned long long n, unsigned long long seed)
{
    uint64_t state = seed;
    for (unsigned long long i = 0; i < n; i++) {
        double s = 0.0;
        for (int k = 0; k < 12; k++)
            s += (double)(splitmix64(&state) >> 11) * 0x1.0p-53;
        dst[i] = (float)(s - 6.0);
    }
}

unsigned long long wb_fnv1a64(const void *data, unsigned long long n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned long long i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void *wb_zalloc(size_t bytes)
{
    const size_t rounded = wb_round_up(bytes ? bytes : 1, 64);
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

void wb_free(void *p) { free(p); }
