/* q8_driver: runs one int8 convolution on given int8 data, for tests that compare a build (the
 * aarch64 one under qemu in particular) with bench.reference on data the runner cannot make
 * (values at the int8 limits). Not shipped to boards.
 *
 *   q8_driver IN OUT [SCHEME [REQUANT]]
 *                        IN: int32 m, learned, h, w, cin, cout, then xq (h*w*cin int8) and
 *                        wq (9*cin*cout int8); learned also reads AT, G, BT as float64.
 *                        SCHEME: 0 tensor (default), 1 tap, 2 wide (wb_q8_spec).
 *                        REQUANT: 0 int (default), 1 fp32 (wb_q8_spec).
 *                        OUT: y8 of the timed NEON path, then y8 of the scalar calibration path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "wb.h"
#include "wb_q8.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: q8_driver IN OUT [SCHEME [REQUANT]]\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    int32_t hdr[6];
    if (!in || fread(hdr, sizeof hdr, 1, in) != 1) {
        fprintf(stderr, "q8_driver: cannot read %s\n", argv[1]);
        return 2;
    }
    const int m = hdr[0], learned = hdr[1], h = hdr[2], w = hdr[3], cin = hdr[4], cout = hdr[5];
    const size_t nx = (size_t)h * w * cin, nw = (size_t)9 * cin * cout, ny = (size_t)h * w * cout;
    const int a = m + 2;
    int8_t *xq = malloc(nx), *wq = malloc(nw), *y8 = malloc(ny), *ys = malloc(ny);
    double mats[3][64];
    int ok = xq && wq && y8 && ys && fread(xq, 1, nx, in) == nx && fread(wq, 1, nw, in) == nw;
    if (ok && learned)
        ok = fread(mats[0], sizeof(double), (size_t)m * a, in) == (size_t)m * a &&
             fread(mats[1], sizeof(double), (size_t)a * 3, in) == (size_t)a * 3 &&
             fread(mats[2], sizeof(double), (size_t)a * a, in) == (size_t)a * a;
    fclose(in);
    if (!ok) {
        fprintf(stderr, "q8_driver: short input\n");
        return 2;
    }
    char err[256];
    wb_q8_plan *p;
    const int scheme = argc >= 4 ? atoi(argv[3]) : 0, requant = argc == 5 ? atoi(argv[4]) : 0;
    const wb_q8_spec spec = {m, learned, scheme, learned ? mats[0] : NULL, learned ? mats[1] : NULL,
                             learned ? mats[2] : NULL, h, w, cin, cout, 0, 0, 0, 0, 0, requant};
    int rc = wb_q8_plan_create(&spec, wq, &p, err, sizeof err);
    if (rc) {
        fprintf(stderr, "q8_driver: %s\n", err);
        return 1;
    }
    if ((rc = wb_q8_calibrate(p, xq, ys)) || (rc = wb_q8_run(p, xq, y8, NULL, NULL))) {
        fprintf(stderr, "q8_driver: failed with code %d\n", rc);
        return 1;
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(y8, 1, ny, out) != ny || fwrite(ys, 1, ny, out) != ny || fclose(out)) {
        fprintf(stderr, "q8_driver: cannot write %s\n", argv[2]);
        return 1;
    }
    wb_q8_plan_destroy(p);
    return 0;
}
