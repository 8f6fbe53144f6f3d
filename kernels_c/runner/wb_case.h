/* One line of the runner's case list, and the transform-matrix files of RUNNER.md. */
#ifndef WB_CASE_H
#define WB_CASE_H

#define WB_MAX_A 8

typedef struct {
    int line;
    char id[128]; /* "" when absent */
    char algo[16], transform[16];
    char scheme[16]; /* "" when absent: tensor for int8 Winograd, none otherwise */
    char origin[16]; /* "" when absent: the tile grid from the top-left */
    char requant[16]; /* "" when absent: int for int8, none otherwise */
    int bits, h, w, cin, cout;
    int k, stride, pad; /* defaults 3, 1, k / 2 */
    int reps;           /* 0: the --min-reps default */
    char matrices[1024]; /* "" when absent */
} wb_case;

/* Parses "key=value ..." (comments already stripped). Returns 0 on success, -1 with a one-line
 * message in err on a malformed line (missing key, unknown key, non-integer size). */
int wb_parse_case(char *text, wb_case *c, char *err, int err_len);

typedef struct {
    int m, r;
    double at[WB_MAX_A * WB_MAX_A], g[WB_MAX_A * 3], bt[WB_MAX_A * WB_MAX_A];
} wb_matrix_file;

/* Reads "m r" then the rows of AT, G, BT. Returns 0, or -1 with a message in err. */
int wb_read_matrices(const char *path, wb_matrix_file *mf, char *err, int err_len);

#endif
