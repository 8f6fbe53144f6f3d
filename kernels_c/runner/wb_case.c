/* Parsing of case lines and matrix files for wb-runner (formats in kernels_c/RUNNER.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_case.h"

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    if (strlen(src) >= cap)
        return -1;
    strcpy(dst, src);
    return 0;
}

int wb_parse_case(char *text, wb_case *c, char *err, int err_len)
{
    const int line = c->line;
    memset(c, 0, sizeof *c);
    c->line = line;
    c->bits = 32;
    strcpy(c->transform, "static");
    c->k = 3, c->stride = 1, c->pad = -1; /* pad: k / 2 unless given */
    int seen_h = 0, seen_w = 0, seen_cin = 0, seen_cout = 0;
    for (char *save = NULL, *tok = strtok_r(text, " \t\r\n", &save); tok;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(err, err_len, "token '%s' is not key=value", tok);
            return -1;
        }
        *eq = 0;
        const char *key = tok, *val = eq + 1;
        int bad = 0;
        if (!strcmp(key, "algo")) bad = copy_str(c->algo, sizeof c->algo, val);
        else if (!strcmp(key, "transform")) bad = copy_str(c->transform, sizeof c->transform, val);
        else if (!strcmp(key, "scheme")) bad = copy_str(c->scheme, sizeof c->scheme, val);
        else if (!strcmp(key, "origin")) bad = copy_str(c->origin, sizeof c->origin, val);
        else if (!strcmp(key, "requant")) bad = copy_str(c->requant, sizeof c->requant, val);
        else if (!strcmp(key, "id")) bad = copy_str(c->id, sizeof c->id, val);
        else if (!strcmp(key, "matrices")) bad = copy_str(c->matrices, sizeof c->matrices, val);
        else if (!strcmp(key, "bits")) bad = parse_int(val, &c->bits);
        else if (!strcmp(key, "h")) bad = parse_int(val, &c->h), seen_h = 1;
        else if (!strcmp(key, "w")) bad = parse_int(val, &c->w), seen_w = 1;
        else if (!strcmp(key, "cin")) bad = parse_int(val, &c->cin), seen_cin = 1;
        else if (!strcmp(key, "cout")) bad = parse_int(val, &c->cout), seen_cout = 1;
        else if (!strcmp(key, "k")) bad = parse_int(val, &c->k);
        else if (!strcmp(key, "stride")) bad = parse_int(val, &c->stride);
        else if (!strcmp(key, "pad")) bad = parse_int(val, &c->pad) || c->pad < 0;
        else if (!strcmp(key, "reps")) bad = parse_int(val, &c->reps) || c->reps < 1;
        else {
            snprintf(err, err_len, "unknown key '%s'", key);
            return -1;
        }
        if (bad) {
            snprintf(err, err_len, "bad value for %s: '%s'", key, val);
            return -1;
        }
    }
    if (!c->algo[0] || !seen_h || !seen_w || !seen_cin || !seen_cout) {
        snprintf(err, err_len, "a case needs algo, h, w, cin and cout");
        return -1;
    }
    if (c->pad < 0)
        c->pad = c->k / 2;
    return 0;
}

int wb_read_matrices(const char *path, wb_matrix_file *mf, char *err, int err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot read matrices file %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = -1;
    if (fscanf(f, "%d %d", &mf->m, &mf->r) != 2) {
        snprintf(err, err_len, "%s: first line must be 'm r'", path);
        goto done;
    }
    const int a = mf->m + mf->r - 1;
    if (mf->m < 1 || mf->r < 1 || mf->r > 3 || a > WB_MAX_A) {
        snprintf(err, err_len, "%s: unsupported m=%d r=%d", path, mf->m, mf->r);
        goto done;
    }
    struct { const char *name; double *dst; int n; } parts[3] = {
        {"AT", mf->at, mf->m * a}, {"G", mf->g, a * mf->r}, {"BT", mf->bt, a * a}};
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < parts[p].n; i++)
            if (fscanf(f, "%lf", &parts[p].dst[i]) != 1) {
                snprintf(err, err_len, "%s: %s has too few numbers or a malformed one", path, parts[p].name);
                goto done;
            }
    char extra[2];
    if (fscanf(f, "%1s", extra) == 1) {
        snprintf(err, err_len, "%s: extra data after BT", path);
        goto done;
    }
    rc = 0;
done:
    fclose(f);
    return rc;
}
