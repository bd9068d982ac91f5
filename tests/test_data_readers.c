/* Data readers: .mat through libmatio (the real CWRU files and small files written here
 * with libmatio), CSV (plain and gzip'd), NPY, the CWRU directory search and manifests.
 * Synthetic files live in a mkdtemp folder removed at the end. Without the real data the
 * synthetic tests still run, and the binary exits 77 (skipped) unless one of them failed. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <matio.h>
#include <zlib.h>

#include "harness.h"

static char cwru_dir[1024]; /* "" when the real data is missing */




static void write_text(const char *path, const char *text) { th_write_bytes(path, text, strlen(text)); }

/* the first n bytes of src into dst */
static void copy_prefix(const char *src, const char *dst, size_t n) {
    FILE *f = fopen(src, "rb");
    CHECK(f != NULL, "cannot open %s", src);
    if (!f) return;
    unsigned char *b = malloc(n);
    size_t got = fread(b, 1, n, f);
    fclose(f);
    CHECK(got == n, "%s is shorter than %zu bytes", src, n);
    th_write_bytes(dst, b, got);
    free(b);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}


/* the status is `want` and the message contains every needle */
static void expect_error(mtl_status got, mtl_status want, const char *what, const char *n1, const char *n2,
                         const char *n3) {
    const char *msg = mtl_last_error();
    CHECK(got == want, "%s: status %s, want %s (%s)", what, mtl_status_name(got), mtl_status_name(want), msg);
    const char *needles[3] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        if (needles[i]) CHECK(strstr(msg, needles[i]) != NULL, "%s: message '%s' lacks '%s'", what, msg, needles[i]);
    CHECK(strchr(msg, '\n') == NULL, "%s: message spans lines: '%s'", what, msg);
}

/* ---- stderr capture: the readers must not print ------------------------------- */

static int saved_fd = -1;
static char stderr_path[300];
static void quiet_begin(void) {
    fflush(stderr);
    saved_fd = dup(2);
    int fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
}
static void quiet_end(const char *what) {
    fflush(stderr);
    if (saved_fd >= 0) {
        dup2(saved_fd, 2);
        close(saved_fd);
        saved_fd = -1;
    }
    long n = file_size(stderr_path);
    CHECK(n == 0, "%s: the library wrote %ld bytes to stderr", what, n);
}

static mtl_status mat_read_quiet(const char *path, const char *var, const char *ch, mtl_signal *s) {
    quiet_begin();
    mtl_status st = mtl_mat_read(path, var, ch, s);
    quiet_end(path);
    return st;
}

/* ---- writing .mat files with libmatio ------------------------------------------- */

typedef struct {
    const char *name;
    enum matio_classes cls;
    enum matio_types type;
    size_t rows, cols;
    const void *data; /* for complex: a mat_complex_split_t */
    bool complex;
} mvar;

static bool write_mat(const char *path, enum mat_ft ver, bool compress, int n, const mvar *v) {
    mat_t *m = Mat_CreateVer(path, NULL, ver);
    if (!m) return false;
    bool ok = true;
    for (int i = 0; i < n; i++) {
        size_t dims[2] = {v[i].rows, v[i].cols};
        matvar_t *mv = Mat_VarCreate(v[i].name, v[i].cls, v[i].type, 2, dims, (void *)v[i].data,
                                     v[i].complex ? MAT_F_COMPLEX : 0);
        ok = ok && mv && Mat_VarWrite(m, mv, compress ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE) == 0;
        if (mv) Mat_VarFree(mv);
    }
    Mat_Close(m);
    CHECK(ok, "libmatio could not write %s", path);
    return ok;
}

#define DVEC(nm, arr) {nm, MAT_C_DOUBLE, MAT_T_DOUBLE, sizeof(arr) / sizeof(arr[0]), 1, arr, false}

/* ==== synthetic .mat files ======================================================= */

static void mat_variable_names(void) {
    char v[64];
    CHECK_OK(mtl_cwru_variable("/a/b/12k_Drive_End_IR007_0_105.mat", "DE", v, sizeof v));
    CHECK(!strcmp(v, "X105_DE_time"), "got %s", v);
    CHECK_OK(mtl_cwru_variable("99.mat", "fe", v, sizeof v));
    CHECK(!strcmp(v, "X099_FE_time"), "got %s", v);
    CHECK_OK(mtl_cwru_variable("normal_0_97.mat", NULL, v, sizeof v));
    CHECK(!strcmp(v, "X097_DE_time"), "got %s", v);
    CHECK_OK(mtl_cwru_variable("x/3001.mat", "Ba", v, sizeof v));
    CHECK(!strcmp(v, "X3001_BA_time"), "got %s", v);
    expect_error(mtl_cwru_variable("dir_7/recording.mat", "DE", v, sizeof v), MTL_ERR_FORMAT, "no number",
                 "recording.mat", "number", NULL);
    expect_error(mtl_cwru_variable("a_105.mat", "XY", v, sizeof v), MTL_ERR_ARG, "bad channel", "XY", "DE, FE or BA",
                 NULL);
    expect_error(mtl_cwru_variable("a_105.mat", "DEX", v, sizeof v), MTL_ERR_ARG, "long channel", "DEX", NULL, NULL);
    expect_error(mtl_cwru_variable("a_105.mat", "DE", v, 5), MTL_ERR_ARG, "small buffer", "a_105.mat", NULL, NULL);
}

/* 99.mat carries a copy of 98's variables: the file's own number decides */
static void mat_99_quirk(void) {
    double x98[3] = {1, 2, 3}, x99[4] = {9, 8, -7, 6.5};
    mvar v[3] = {DVEC("X098_DE_time", x98), DVEC("X098_FE_time", x98), DVEC("X099_DE_time", x99)};
    const char *p = th_tmp_path("normal_2_99.mat");
    if (!write_mat(p, MAT_FT_MAT5, false, 3, v)) return;
    mtl_signal s;
    CHECK_OK(mat_read_quiet(p, NULL, NULL, &s));
    CHECK(s.channels == 1 && s.length == 4, "got %d x %lld", s.channels, (long long)s.length);
    if (s.length == 4)
        for (int i = 0; i < 4; i++) CHECK(s.x[i] == (float)x99[i], "sample %d: %g", i, (double)s.x[i]);
    CHECK(s.fs == 48000.0, "normal_* files are 48 kHz, got %g", s.fs);
    mtl_signal_free(&s);
    CHECK(s.x == NULL && s.length == 0, "signal_free clears");
    mtl_signal_free(&s); /* twice is harmless */
    /* an explicit variable still reaches the copy */
    CHECK_OK(mat_read_quiet(p, "X098_DE_time", NULL, &s));
    CHECK(s.length == 3 && s.x[2] == 3.0f && s.fs == 48000.0, "X098: %lld samples, fs %g", (long long)s.length, s.fs);
    mtl_signal_free(&s);
    /* the 99 file has no FE of its own */
    expect_error(mat_read_quiet(p, NULL, "FE", &s), MTL_ERR_FORMAT, "99 FE", "normal_2_99.mat",
                 "no variable X099_FE_time", "has X098_DE_time, X098_FE_time, X099_DE_time");
}

static void mat_classes(void) {
    int16_t i16[4] = {-32768, -1, 0, 32767};
    int32_t i32[3] = {-100000, 5, 2000000};
    float f32[3] = {0.5f, -1.25f, 3e30f};
    uint8_t u8[2] = {0, 255};
    double row[5] = {1, 2, 3, 4, 5};
    mvar v[6] = {{"X011_DE_time", MAT_C_INT16, MAT_T_INT16, 4, 1, i16, false},
                 {"i32", MAT_C_INT32, MAT_T_INT32, 1, 3, i32, false},
                 {"f32", MAT_C_SINGLE, MAT_T_SINGLE, 3, 1, f32, false},
                 {"u8", MAT_C_UINT8, MAT_T_UINT8, 2, 1, u8, false},
                 {"row", MAT_C_DOUBLE, MAT_T_DOUBLE, 1, 5, row, false},
                 {"one", MAT_C_DOUBLE, MAT_T_DOUBLE, 1, 1, row, false}};
    for (int compress = 0; compress < 2; compress++) {
        const char *p = th_tmp_path(compress ? "classes_z_11.mat" : "classes_11.mat");
        if (!write_mat(p, MAT_FT_MAT5, compress, 6, v)) return;
        mtl_signal s;
        CHECK_OK(mat_read_quiet(p, NULL, "de", &s));
        CHECK(s.length == 4 && s.x[0] == -32768.0f && s.x[1] == -1.0f && s.x[3] == 32767.0f, "int16 (compress %d)",
              compress);
        CHECK(s.fs == 0.0, "a name that is not CWRU's: fs unknown, got %g", s.fs);
        mtl_signal_free(&s);
        CHECK_OK(mat_read_quiet(p, "i32", NULL, &s));
        CHECK(s.length == 3 && s.x[0] == -100000.0f && s.x[2] == 2000000.0f, "int32 1 x N");
        mtl_signal_free(&s);
        CHECK_OK(mat_read_quiet(p, "f32", NULL, &s));
        CHECK(s.length == 3 && s.x[1] == -1.25f && s.x[2] == 3e30f, "single");
        mtl_signal_free(&s);
        CHECK_OK(mat_read_quiet(p, "u8", NULL, &s));
        CHECK(s.length == 2 && s.x[1] == 255.0f, "uint8");
        mtl_signal_free(&s);
        CHECK_OK(mat_read_quiet(p, "row", NULL, &s));
        CHECK(s.length == 5 && s.x[4] == 5.0f, "double 1 x N");
        mtl_signal_free(&s);
        CHECK_OK(mat_read_quiet(p, "one", NULL, &s));
        CHECK(s.length == 1 && s.x[0] == 1.0f, "a scalar is a 1-sample vector");
        mtl_signal_free(&s);
    }
}

static void mat_bad_contents(void) {
    double good[4] = {0.1, 0.2, 0.3, 0.4}, nan_x[5] = {1, 2, 3, NAN, 5}, inf_x[3] = {1, -INFINITY, 0};
    double big[2] = {1, 1e300}, m34[12] = {0};
    double re[3] = {1, 2, 3}, im[3] = {0, 1, 0};
    mat_complex_split_t cx = {re, im};
    const char *chars = "hello";
    mvar v[8] = {DVEC("X005_DE_time", nan_x),
                 DVEC("X005_FE_time", inf_x),
                 DVEC("X005_BA_time", big),
                 {"matrix", MAT_C_DOUBLE, MAT_T_DOUBLE, 3, 4, m34, false},
                 {"cplx", MAT_C_DOUBLE, MAT_T_DOUBLE, 3, 1, &cx, true},
                 {"text", MAT_C_CHAR, MAT_T_UINT8, 1, 5, chars, false},
                 {"empty", MAT_C_DOUBLE, MAT_T_DOUBLE, 0, 0, NULL, false},
                 DVEC("X005RPM", good)};
    const char *p = th_tmp_path("bad_5.mat");
    if (!write_mat(p, MAT_FT_MAT5, false, 8, v)) return;
    mtl_signal s;
    expect_error(mat_read_quiet(p, NULL, NULL, &s), MTL_ERR_NUMERIC, "NaN", "bad_5.mat",
                 "variable X005_DE_time: NaN at sample 3", NULL);
    CHECK(s.x == NULL, "no signal on error");
    expect_error(mat_read_quiet(p, NULL, "FE", &s), MTL_ERR_NUMERIC, "Inf", "bad_5.mat", "infinity at sample 1", NULL);
    expect_error(mat_read_quiet(p, NULL, "BA", &s), MTL_ERR_NUMERIC, "float overflow", "bad_5.mat",
                 "float range at sample 1", NULL);
    expect_error(mat_read_quiet(p, "matrix", NULL, &s), MTL_ERR_FORMAT, "matrix", "bad_5.mat", "3 x 4 matrix",
                 "expected a vector");
    expect_error(mat_read_quiet(p, "cplx", NULL, &s), MTL_ERR_FORMAT, "complex", "bad_5.mat", "cplx is complex",
                 NULL);
    expect_error(mat_read_quiet(p, "text", NULL, &s), MTL_ERR_FORMAT, "char", "bad_5.mat", "char variable", NULL);
    expect_error(mat_read_quiet(p, "empty", NULL, &s), MTL_ERR_FORMAT, "empty", "bad_5.mat", "empty is empty", NULL);
    /* 8 variables: the list stops after 6 */
    expect_error(mat_read_quiet(p, "nothere", NULL, &s), MTL_ERR_FORMAT, "missing", "no variable nothere",
                 "has X005_DE_time, X005_FE_time, X005_BA_time, matrix, cplx, text, ...", "(8 in all)");

    /* a file without any DE variable */
    mvar w[2] = {DVEC("X007_FE_time", good), DVEC("X007RPM", good)};
    const char *q = th_tmp_path("noDE_7.mat");
    if (!write_mat(q, MAT_FT_MAT5, false, 2, w)) return;
    expect_error(mat_read_quiet(q, NULL, NULL, &s), MTL_ERR_FORMAT, "no DE", "noDE_7.mat", "no variable X007_DE_time",
                 "has X007_FE_time, X007RPM)");
}

static void mat_broken_files(void) {
    mtl_signal s;
    /* truncated v5: uncompressed and compressed */
    static double x[5000];
    for (int i = 0; i < 5000; i++) x[i] = sin(0.01 * i);
    mvar v[2] = {DVEC("X021_DE_time", x), DVEC("X021_FE_time", x)};
    for (int z = 0; z < 2; z++) {
        const char *full = th_tmp_path(z ? "full_z_21.mat" : "full_21.mat");
        if (!write_mat(full, MAT_FT_MAT5, z, 2, v)) return;
        CHECK_OK(mat_read_quiet(full, NULL, "FE", &s));
        CHECK(s.length == 5000 && fabsf(s.x[4999] - (float)x[4999]) == 0, "full file reads (compress %d)", z);
        mtl_signal_free(&s);
        long n = file_size(full);
        const long cuts[3] = {1000, n / 2 + 7, n - 3};
        for (int c = 0; c < 3; c++) {
            const char *cut = th_tmp_path("cut_21.mat");
            copy_prefix(full, cut, (size_t)cuts[c]);
            /* the DE variable comes first: cut at its middle, or the FE one is cut */
            expect_error(mat_read_quiet(cut, NULL, c == 2 ? "FE" : "DE", &s), MTL_ERR_FORMAT, "truncated v5",
                         "cut_21.mat", "truncated", NULL);
        }
        copy_prefix(full, th_tmp_path("hdr_21.mat"), 100);
        expect_error(mat_read_quiet(th_tmp_path("hdr_21.mat"), NULL, NULL, &s), MTL_ERR_FORMAT, "header cut",
                     "hdr_21.mat", "128-byte header", NULL);
    }
    /* v4 files: read, and truncated */
    const char *v4 = th_tmp_path("old_21.mat");
    if (write_mat(v4, MAT_FT_MAT4, false, 2, v)) {
        CHECK_OK(mat_read_quiet(v4, NULL, NULL, &s));
        CHECK(s.length == 5000 && s.x[123] == (float)x[123], "v4 file reads");
        mtl_signal_free(&s);
        copy_prefix(v4, th_tmp_path("old_cut_21.mat"), (size_t)file_size(v4) - 100);
        expect_error(mat_read_quiet(th_tmp_path("old_cut_21.mat"), NULL, "FE", &s), MTL_ERR_FORMAT, "v4 cut",
                     "old_cut_21.mat", "truncated", NULL);
    }
    /* v7.3 (HDF5) when libmatio was built with it */
    const char *v73 = th_tmp_path("new_21.mat");
    mat_t *probe = Mat_CreateVer(v73, NULL, MAT_FT_MAT73);
    if (probe) {
        Mat_Close(probe);
        if (write_mat(v73, MAT_FT_MAT73, false, 2, v)) {
            CHECK_OK(mat_read_quiet(v73, NULL, NULL, &s));
            CHECK(s.length == 5000 && s.x[4000] == (float)x[4000], "v7.3 file reads");
            mtl_signal_free(&s);
            copy_prefix(v73, th_tmp_path("new_cut_21.mat"), (size_t)file_size(v73) / 2);
            expect_error(mat_read_quiet(th_tmp_path("new_cut_21.mat"), NULL, NULL, &s), MTL_ERR_FORMAT, "v7.3 cut",
                         "new_cut_21.mat", NULL, NULL);
        }
    } else {
        printf("     (libmatio without MAT v7.3 support: v7.3 cases not run)\n");
    }
    /* not MAT files at all */
    write_text(th_tmp_path("text_3.mat"), "this is a text file, not a MAT file\n");
    expect_error(mat_read_quiet(th_tmp_path("text_3.mat"), NULL, NULL, &s), MTL_ERR_FORMAT, "text", "text_3.mat",
                 "not a MATLAB .mat file", NULL);
    write_text(th_tmp_path("empty_3.mat"), "");
    expect_error(mat_read_quiet(th_tmp_path("empty_3.mat"), NULL, NULL, &s), MTL_ERR_FORMAT, "empty file",
                 "empty_3.mat", NULL, NULL);
    expect_error(mat_read_quiet(th_tmp_path("missing_3.mat"), NULL, NULL, &s), MTL_ERR_IO, "missing", "missing_3.mat",
                 "cannot open", NULL);
    mkdir(th_tmp_path("folder_3.mat"), 0700);
    expect_error(mat_read_quiet(th_tmp_path("folder_3.mat"), NULL, NULL, &s), MTL_ERR_IO, "folder", "folder_3.mat",
                 "directory", NULL);
    expect_error(mtl_mat_read(NULL, NULL, NULL, &s), MTL_ERR_ARG, "null path", NULL, NULL, NULL);
    expect_error(mtl_mat_read(th_tmp_path("full_21.mat"), NULL, NULL, NULL), MTL_ERR_ARG, "null out", NULL, NULL, NULL);
}

/* ==== CSV ======================================================================= */

static void csv_signals(void) {
    mtl_signal s;
    write_text(th_tmp_path("two.csv"), "time,accel\n0,1.5\n1,-2.25\n2,3e-3\n\n3,  4 \n");
    CHECK_OK(mtl_csv_read_signal(th_tmp_path("two.csv"), 1, &s));
    CHECK(s.channels == 1 && s.length == 4, "length %lld", (long long)s.length);
    if (s.length == 4) {
        CHECK(s.x[0] == 1.5f && s.x[1] == -2.25f && s.x[2] == 3e-3f && s.x[3] == 4.0f, "values %g %g %g %g",
              (double)s.x[0], (double)s.x[1], (double)s.x[2], (double)s.x[3]);
    }
    CHECK(s.fs == 0.0, "fs unknown");
    mtl_signal_free(&s);
    CHECK_OK(mtl_csv_read_signal(th_tmp_path("two.csv"), 0, &s));
    CHECK(s.length == 4 && s.x[3] == 3.0f, "column 0");
    mtl_signal_free(&s);

    /* gzip'd, CRLF, no header, no final newline */
    gzFile g = gzopen(th_tmp_path("sig.csv.gz"), "wb");
    CHECK(g != NULL, "gzopen for writing");
    if (!g) return;
    for (int i = 0; i < 3000; i++) gzprintf(g, "%d,%.6f\r\n", i, 0.001 * i - 1.0);
    gzprintf(g, "3000,7.5");
    gzclose(g);
    CHECK_OK(mtl_csv_read_signal(th_tmp_path("sig.csv.gz"), 1, &s));
    CHECK(s.length == 3001, "gz length %lld", (long long)s.length);
    if (s.length == 3001)
        CHECK(s.x[0] == -1.0f && fabsf(s.x[2000] - 1.0f) < 1e-6f && s.x[3000] == 7.5f, "gz values");
    mtl_signal_free(&s);
    CHECK_OK(mtl_signal_read(th_tmp_path("sig.csv.gz"), "1", NULL, &s)); /* by extension; variable = column */
    CHECK(s.length == 3001, "signal_read .csv.gz");
    mtl_signal_free(&s);
    /* truncated gzip stream */
    copy_prefix(th_tmp_path("sig.csv.gz"), th_tmp_path("cut.csv.gz"), (size_t)file_size(th_tmp_path("sig.csv.gz")) / 2);
    expect_error(mtl_csv_read_signal(th_tmp_path("cut.csv.gz"), 1, &s), MTL_ERR_FORMAT, "cut gz", "cut.csv.gz", "gzip",
                 NULL);

    /* whitespace separated .txt */
    write_text(th_tmp_path("ws.txt"), "  1.0   2.0\n\t3.0 4.0\n");
    CHECK_OK(mtl_signal_read(th_tmp_path("ws.txt"), NULL, NULL, &s));
    CHECK(s.length == 2 && s.x[0] == 1.0f && s.x[1] == 3.0f, "whitespace column 0");
    mtl_signal_free(&s);
    CHECK_OK(mtl_csv_read_signal(th_tmp_path("ws.txt"), 1, &s));
    CHECK(s.length == 2 && s.x[1] == 4.0f, "whitespace column 1");
    mtl_signal_free(&s);

    /* errors name the file and the line */
    write_text(th_tmp_path("bad.csv"), "a,b\n1,2\n3,4\n5,oops\n");
    expect_error(mtl_csv_read_signal(th_tmp_path("bad.csv"), 1, &s), MTL_ERR_FORMAT, "not a number", "bad.csv:4:",
                 "'oops' is not a number", NULL);
    write_text(th_tmp_path("short.csv"), "1,2\n3\n");
    expect_error(mtl_csv_read_signal(th_tmp_path("short.csv"), 1, &s), MTL_ERR_FORMAT, "short row", "short.csv:2:",
                 "no column 1", NULL);
    write_text(th_tmp_path("nan.csv"), "x\n1\nnan\n");
    expect_error(mtl_csv_read_signal(th_tmp_path("nan.csv"), 0, &s), MTL_ERR_NUMERIC, "NaN", "nan.csv",
                 "NaN at sample 1", NULL);
    write_text(th_tmp_path("hdr.csv"), "only,a,header\n");
    expect_error(mtl_csv_read_signal(th_tmp_path("hdr.csv"), 0, &s), MTL_ERR_FORMAT, "header only", "hdr.csv",
                 "no samples", NULL);
    expect_error(mtl_csv_read_signal(th_tmp_path("none.csv"), 0, &s), MTL_ERR_IO, "missing", "none.csv", NULL, NULL);
    expect_error(mtl_csv_read_signal(th_tmp_path("two.csv"), -1, &s), MTL_ERR_ARG, "column -1", "two.csv", NULL, NULL);
    expect_error(mtl_signal_read(th_tmp_path("two.csv"), "accel", NULL, &s), MTL_ERR_ARG, "named column", "two.csv",
                 "column number", NULL);
    expect_error(mtl_signal_read(th_tmp_path("two.wav"), NULL, NULL, &s), MTL_ERR_FORMAT, "extension", "two.wav",
                 "unknown file type", NULL);
}

/* ==== NPY ======================================================================= */

/* a v1 (or v2) .npy file: header dict padded to a multiple of 64, then data bytes */
static void write_npy(const char *path, int version, const char *dict, const void *data, size_t nbytes) {
    size_t pre = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    unsigned char *b = calloc(1, total + nbytes);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)version, b[7] = 0;
    for (size_t i = 0; i < (version == 1 ? 2u : 4u); i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
    memset(b + pre, ' ', hlen);
    memcpy(b + pre, dict, dl);
    b[total - 1] = '\n';
    if (nbytes) memcpy(b + total, data, nbytes);
    th_write_bytes(path, b, total + nbytes);
    free(b);
}

static void npy_signals(void) {
    mtl_signal s;
    float f4[3] = {1.5f, -2.0f, 3.25f};
    write_npy(th_tmp_path("f4.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4, sizeof f4);
    CHECK_OK(mtl_npy_read_signal(th_tmp_path("f4.npy"), &s));
    CHECK(s.channels == 1 && s.length == 3 && s.x[0] == 1.5f && s.x[2] == 3.25f, "f4 1-D");
    mtl_signal_free(&s);

    double f8[4] = {0.1, -1e10, 2.5, 7};
    write_npy(th_tmp_path("f8.npy"), 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", f8, sizeof f8);
    CHECK_OK(mtl_signal_read(th_tmp_path("f8.npy"), NULL, NULL, &s));
    CHECK(s.length == 4 && s.x[0] == 0.1f && s.x[1] == -1e10f && s.x[3] == 7.0f, "f8 v2 header");
    mtl_signal_free(&s);

    int16_t i2[3] = {-32768, 12, 32767};
    write_npy(th_tmp_path("i2.npy"), 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", i2, sizeof i2);
    CHECK_OK(mtl_npy_read_signal(th_tmp_path("i2.npy"), &s));
    CHECK(s.length == 3 && s.x[0] == -32768.0f && s.x[2] == 32767.0f, "i2");
    mtl_signal_free(&s);

    int32_t i4[2] = {-70000, 123456};
    write_npy(th_tmp_path("i4.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", i4, sizeof i4);
    CHECK_OK(mtl_npy_read_signal(th_tmp_path("i4.npy"), &s));
    CHECK(s.length == 2 && s.x[0] == -70000.0f && s.x[1] == 123456.0f, "i4");
    mtl_signal_free(&s);

    float m23[6] = {1, 2, 3, 4, 5, 6}; /* C order: channel 0 = 1 2 3 */
    write_npy(th_tmp_path("m23.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", m23, sizeof m23);
    CHECK_OK(mtl_npy_read_signal(th_tmp_path("m23.npy"), &s));
    CHECK(s.channels == 2 && s.length == 3 && s.x[2] == 3.0f && s.x[3] == 4.0f, "2-D [channels, length]");
    mtl_signal_free(&s);

    write_npy(th_tmp_path("fort.npy"), 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", m23, sizeof m23);
    expect_error(mtl_npy_read_signal(th_tmp_path("fort.npy"), &s), MTL_ERR_FORMAT, "fortran", "fort.npy", "Fortran",
                 NULL);
    write_npy(th_tmp_path("big.npy"), 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", f4, sizeof f4);
    expect_error(mtl_npy_read_signal(th_tmp_path("big.npy"), &s), MTL_ERR_FORMAT, "big endian", "big.npy",
                 "big-endian", NULL);
    write_npy(th_tmp_path("u1.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", f4, 3);
    expect_error(mtl_npy_read_signal(th_tmp_path("u1.npy"), &s), MTL_ERR_FORMAT, "dtype", "u1.npy", "'|u1'", NULL);
    write_npy(th_tmp_path("cut.npy"), 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", f8, 20);
    expect_error(mtl_npy_read_signal(th_tmp_path("cut.npy"), &s), MTL_ERR_FORMAT, "truncated", "cut.npy", "truncated",
                 NULL);
    write_npy(th_tmp_path("d3.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", m23,
              sizeof m23);
    expect_error(mtl_npy_read_signal(th_tmp_path("d3.npy"), &s), MTL_ERR_FORMAT, "3-D", "d3.npy", "2 dimensions", NULL);
    float nan4[3] = {0, NAN, 1};
    write_npy(th_tmp_path("nan.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", nan4, sizeof nan4);
    expect_error(mtl_npy_read_signal(th_tmp_path("nan.npy"), &s), MTL_ERR_NUMERIC, "NaN", "nan.npy", "NaN at sample 1",
                 NULL);
    write_text(th_tmp_path("fake.npy"), "not numpy at all");
    expect_error(mtl_npy_read_signal(th_tmp_path("fake.npy"), &s), MTL_ERR_FORMAT, "magic", "fake.npy", "not a NumPy",
                 NULL);
    expect_error(mtl_signal_read(th_tmp_path("f4.npy"), "x", NULL, &s), MTL_ERR_ARG, "npy variable", "f4.npy", NULL,
                 NULL);
}

/* ==== the CWRU directory search on small synthetic files ======================== */

static const int cond_type[10] = {0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, cond_sev[10] = {0, 1, 2, 3, 1, 2, 3, 1, 2, 3};

static void cwru_synthetic_tree(void) {
    /* load 2 in a made-up tree: each record's DE samples are [file_no, k] */
    static const char *const files[10] = {
        "normal/normal_2_99.mat",           "a/12k_Drive_End_IR007_2_107.mat", "a/12k_Drive_End_IR014_2_171.mat",
        "a/deep/er/x_IR021_2_211.mat",      "b/12k_Drive_End_OR007@6_2_132.mat", "b/12k_Drive_End_OR014@6_2_199.mat",
        "b/12k_Drive_End_OR021@6_2_236.mat", "c/12k_Drive_End_B007_2_120.mat", "c/12k_Drive_End_B014_2_187.mat",
        "c/12k_Drive_End_B021_2_224.mat"};
    static const int nos[10] = {99, 107, 171, 211, 132, 199, 236, 120, 187, 224};
    const char *dirs[7] = {"tree", "tree/normal", "tree/a", "tree/a/deep", "tree/a/deep/er", "tree/b", "tree/c"};
    for (int i = 0; i < 7; i++) mkdir(th_tmp_path(dirs[i]), 0700);
    for (int i = 0; i < 10; i++) {
        char rel[256], de[32], fe[32];
        snprintf(rel, sizeof rel, "tree/%s", files[i]);
        snprintf(de, sizeof de, "X%03d_DE_time", nos[i]);
        snprintf(fe, sizeof fe, "X%03d_FE_time", nos[i]);
        double xd[2] = {nos[i], 1}, xf[3] = {nos[i], 2, 2};
        mvar v[3] = {DVEC(de, xd), DVEC(fe, xf), DVEC("X098_DE_time", xf)};
        if (!write_mat(th_tmp_path(rel), MAT_FT_MAT5, i % 2, i == 0 ? 3 : 2, v)) return;
    }
    /* decoys: another load, an outer race at 3:00, a 0.028 in fault, not .mat */
    double one[1] = {1};
    mvar d[1] = {DVEC("X144_DE_time", one)};
    write_mat(th_tmp_path("tree/c/12k_Drive_End_OR007@3_2_144.mat"), MAT_FT_MAT5, false, 1, d);
    write_mat(th_tmp_path("tree/c/12k_Drive_End_IR028_2_3003.mat"), MAT_FT_MAT5, false, 1, d);
    write_mat(th_tmp_path("tree/c/12k_Drive_End_IR007_1_106.mat"), MAT_FT_MAT5, false, 1, d);
    write_text(th_tmp_path("tree/c/12k_Drive_End_IR007_2_107.txt"), "1\n");

    mtl_recordset r;
    CHECK_OK(mtl_cwru_open(th_tmp_path("tree"), 2, NULL, &r));
    CHECK(r.n_records == 10, "records: %d", r.n_records);
    CHECK(r.n_tasks == 2 && r.n_classes[0] == 4 && r.n_classes[1] == 4, "tasks");
    CHECK(!strcmp(r.task_names[0], "fault_type") && !strcmp(r.task_names[1], "fault_severity"), "task names");
    CHECK(!strcmp(r.class_names[0][3], "RF") && !strcmp(r.class_names[1][2], "0.014"), "class names");
    for (int i = 0; i < r.n_records && i < 10; i++) {
        const mtl_record *R = &r.rec[i];
        CHECK(R->file_no == nos[i] && R->load_hp == 2, "record %d: file %d load %d", i, R->file_no, R->load_hp);
        CHECK(R->label[0] == cond_type[i] && R->label[1] == cond_sev[i], "record %d labels %d %d", i, R->label[0],
              R->label[1]);
        CHECK(R->sig.length == 2 && R->sig.x[0] == (float)nos[i], "record %d read its own X%03d", i, nos[i]);
        CHECK(R->sig.fs == (i == 0 ? 48000.0 : 12000.0), "record %d fs %g", i, R->sig.fs);
        CHECK(strstr(R->path, files[i]) != NULL, "record %d path %s", i, R->path);
    }
    if (r.n_records == 10) {
        CHECK(!strcmp(r.rec[0].name, "normal_2_99"), "name %s", r.rec[0].name);
        CHECK(!strcmp(r.rec[3].name, "IR021_2_211"), "name %s", r.rec[3].name);
        CHECK(!strcmp(r.rec[5].name, "OR014@6_2_199"), "name %s", r.rec[5].name);
        CHECK(!strcmp(r.rec[0].var, "X099_DE_time"), "var %s", r.rec[0].var);
    }
    mtl_recordset_free(&r);
    CHECK(r.rec == NULL && r.n_records == 0, "recordset_free clears");
    mtl_recordset_free(&r);

    CHECK_OK(mtl_cwru_open(th_tmp_path("tree//"), 2, "fe", &r));
    CHECK(r.n_records == 10 && r.rec[9].sig.length == 3 && !strcmp(r.rec[9].var, "X224_FE_time"), "FE channel");
    CHECK(r.n_records == 10 && strstr(r.rec[9].path, "//") == NULL, "path %s", r.rec[9].path);
    mtl_recordset_free(&r);

    /* missing conditions are listed; load 1 has only one file here */
    unlink(th_tmp_path("tree/a/12k_Drive_End_IR014_2_171.mat"));
    expect_error(mtl_cwru_open(th_tmp_path("tree"), 2, NULL, &r), MTL_ERR_IO, "one missing", "*_IR014_2_*.mat",
                 th_tmp_path("tree"), "1 of the 10");
    CHECK(r.rec == NULL && r.n_records == 0, "nothing returned on error");
    expect_error(mtl_cwru_open(th_tmp_path("tree"), 1, NULL, &r), MTL_ERR_IO, "load 1", "normal_1_*.mat",
                 "*_B021_1_*.mat", "9 of the 10");
    expect_error(mtl_cwru_open(th_tmp_path("tree"), 3, NULL, &r), MTL_ERR_IO, "load 3", "no CWRU files for load 3",
                 th_tmp_path("tree"), NULL);
    /* two files for one condition */
    write_mat(th_tmp_path("tree/a/12k_Drive_End_IR014_2_171.mat"), MAT_FT_MAT5, false, 1, d);
    write_mat(th_tmp_path("tree/b/copy_IR014_2_171.mat"), MAT_FT_MAT5, false, 1, d);
    expect_error(mtl_cwru_open(th_tmp_path("tree"), 2, NULL, &r), MTL_ERR_FORMAT, "duplicate", "copy_IR014_2_171.mat",
                 "12k_Drive_End_IR014_2_171.mat", "same condition");
    unlink(th_tmp_path("tree/b/copy_IR014_2_171.mat"));
    /* a file that cannot be read: the message names it */
    expect_error(mtl_cwru_open(th_tmp_path("tree"), 2, NULL, &r), MTL_ERR_FORMAT, "unreadable record",
                 "12k_Drive_End_IR014_2_171.mat", "no variable X171_DE_time", NULL);
    expect_error(mtl_cwru_open(th_tmp_path("tree"), 4, NULL, &r), MTL_ERR_ARG, "load 4", "load 4", NULL, NULL);
    expect_error(mtl_cwru_open(th_tmp_path("tree"), -1, NULL, &r), MTL_ERR_ARG, "load -1", "load -1", NULL, NULL);
    expect_error(mtl_cwru_open(th_tmp_path("tree"), 0, "XX", &r), MTL_ERR_ARG, "channel", "'XX'", NULL, NULL);
    expect_error(mtl_cwru_open(th_tmp_path("no_such_dir"), 0, NULL, &r), MTL_ERR_IO, "no dir", "no_such_dir", NULL,
                 NULL);
}

/* ==== manifests ================================================================= */

static void manifest_files(void) {
    mkdir(th_tmp_path("man"), 0700);
    mkdir(th_tmp_path("man/sub"), 0700);
    write_text(th_tmp_path("man/sub/a,b.csv"), "v\n1\n2\n3\n");
    float f4[3] = {4, 5, 6};
    write_npy(th_tmp_path("man/sub/r.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4,
              sizeof f4);
    double x12[2] = {12, 13}, sig[4] = {7, 7, 7, 7};
    mvar v[2] = {DVEC("X012_DE_time", x12), DVEC("sig", sig)};
    write_mat(th_tmp_path("man/sub/rec_12.mat"), MAT_FT_MAT5, false, 2, v);
    char text[2048];
    snprintf(text, sizeof text,
             "path,variable,fs,condition,severity\r\n"
             "\"sub/a,b.csv\",,25600,healthy,0\r\n"
             "sub/r.npy,,,\"inner \"\"race\"\"\",2\r\n"
             "\r\n"
             "%s,sig,1000,healthy,1\r\n"
             "sub/rec_12.mat,,,outer,2\r\n",
             th_tmp_path("man/sub/rec_12.mat"));
    write_text(th_tmp_path("man/m.csv"), text);
    mtl_recordset r;
    CHECK_OK(mtl_manifest_open(th_tmp_path("man/m.csv"), &r));
    CHECK(r.n_records == 4, "records %d", r.n_records);
    CHECK(r.n_tasks == 2 && !strcmp(r.task_names[0], "condition") && !strcmp(r.task_names[1], "severity"), "tasks");
    CHECK(r.n_classes[0] == 3 && r.n_classes[1] == 3, "classes %d %d", r.n_classes[0], r.n_classes[1]);
    CHECK(!strcmp(r.class_names[0][0], "healthy") && !strcmp(r.class_names[0][1], "inner \"race\"") &&
              !strcmp(r.class_names[0][2], "outer"),
          "class names in order of appearance");
    CHECK(r.class_names[1][0][0] == '\0', "integer classes are unnamed");
    if (r.n_records == 4) {
        const int want0[4] = {0, 1, 0, 2}, want1[4] = {0, 2, 1, 2};
        for (int i = 0; i < 4; i++)
            CHECK(r.rec[i].label[0] == want0[i] && r.rec[i].label[1] == want1[i], "row %d labels %d %d", i,
                  r.rec[i].label[0], r.rec[i].label[1]);
        CHECK(r.rec[0].sig.length == 3 && r.rec[0].sig.x[2] == 3.0f && r.rec[0].sig.fs == 25600.0, "csv row");
        CHECK(strstr(r.rec[0].path, "man/sub/a,b.csv") != NULL && !strcmp(r.rec[0].name, "a,b"), "path %s name %s",
              r.rec[0].path, r.rec[0].name);
        CHECK(r.rec[1].sig.length == 3 && r.rec[1].sig.x[0] == 4.0f && r.rec[1].sig.fs == 0.0, "npy row, fs unknown");
        CHECK(r.rec[2].sig.length == 4 && r.rec[2].sig.fs == 1000.0 && !strcmp(r.rec[2].var, "sig"), "absolute path");
        CHECK(r.rec[3].sig.length == 2 && r.rec[3].sig.x[0] == 12.0f && !strcmp(r.rec[3].var, "X012_DE_time") &&
                  r.rec[3].file_no == 12,
              "CWRU naming: var %s file_no %d", r.rec[3].var, r.rec[3].file_no);
    }
    mtl_recordset_free(&r);

    struct {
        const char *name, *text, *n1, *n2;
        mtl_status want;
    } bad[] = {
        {"bad1.csv", "path,variable,fs,t\nsub/r.npy,,,a\nsub/r.npy,,\n", "bad1.csv:3:4", "missing column 't'",
         MTL_ERR_FORMAT},
        {"bad2.csv", "path,variable,fs,t\nsub/r.npy,,,a\nsub/r.npy,,,b\n\nsub/gone.npy,,,a\n", "bad2.csv:5:1",
         "gone.npy", MTL_ERR_IO},
        {"bad3.csv", "file,variable,fs,t\nsub/r.npy,,,a\n", "bad3.csv:1:1", "expected 'path'", MTL_ERR_FORMAT},
        {"bad4.csv", "path,variable,fs,t\nsub/r.npy,,-5,a\n", "bad4.csv:2:3", "'-5'", MTL_ERR_FORMAT},
        {"bad5.csv", "path,variable,fs,t\nsub/r.npy,,,a\nsub/r.npy,,,\n", "bad5.csv:3:4", "empty class",
         MTL_ERR_FORMAT},
        {"bad6.csv", "path,variable,fs,t,t\nsub/r.npy,,,a,b\n", "bad6.csv:1:5", "twice", MTL_ERR_FORMAT},
        {"bad7.csv", "path,variable,fs,t\n", "bad7.csv", "no recordings", MTL_ERR_FORMAT},
        {"bad8.csv", "path,variable,fs,t\n\"sub/r.npy,,,a\n", "bad8.csv:2:1", "never closed", MTL_ERR_FORMAT},
        {"bad9.csv", "path,variable,fs,t\nsub/r.npy,,,1\nsub/r.npy,,,-2\n", "bad9.csv:3:4", "class -2",
         MTL_ERR_FORMAT},
        {"bad10.csv", "path,variable,fs,t\nsub/r.npy,,,a,extra\n", "bad10.csv:2:5", "extra field", MTL_ERR_FORMAT},
        {"bad11.csv", "path,variable,fs,t\nsub/a,b.csv,,,a\n", "bad11.csv:2:5", "extra field", MTL_ERR_FORMAT},
        {"bad12.csv", "path,variable,fs,t\nsub/rec_12.mat,nope,,a\n", "bad12.csv:2:1", "no variable nope",
         MTL_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[64];
        snprintf(p, sizeof p, "man/%s", bad[i].name);
        write_text(th_tmp_path(p), bad[i].text);
        expect_error(mtl_manifest_open(th_tmp_path(p), &r), bad[i].want, bad[i].name, bad[i].n1, bad[i].n2, NULL);
        CHECK(r.rec == NULL && r.n_records == 0, "%s: nothing returned", bad[i].name);
    }
    expect_error(mtl_manifest_open(th_tmp_path("man/none.csv"), &r), MTL_ERR_IO, "no manifest", "none.csv", NULL, NULL);
}

/* ==== the real CWRU files ======================================================== */

typedef struct {
    char path[128];
    int no, load, fs, n, lab0, lab1;
    char var[32];
} man_row;

/* the data set's own manifest.csv (plain comma-separated, no quoting) */
static int read_data_manifest(man_row *rows, int cap) {
    char p[1100];
    snprintf(p, sizeof p, "%s/manifest.csv", cwru_dir);
    FILE *f = fopen(p, "r");
    CHECK(f != NULL, "cannot open %s", p);
    if (!f) return 0;
    char line[1024];
    int n = 0;
    CHECK(fgets(line, sizeof line, f) && strstr(line, "n_samples_de"), "manifest header");
    while (n < cap && fgets(line, sizeof line, f)) {
        char *fld[20];
        int k = 0;
        for (char *tok = line; k < 20 && tok; k++) {
            fld[k] = tok;
            tok = strchr(tok, ',');
            if (tok) *tok++ = '\0';
        }
        if (k < 14) continue;
        man_row *r = &rows[n++];
        snprintf(r->path, sizeof r->path, "%s", fld[0]);
        r->no = atoi(fld[1]), r->load = atoi(fld[2]), r->fs = atoi(fld[8]), r->n = atoi(fld[10]);
        snprintf(r->var, sizeof r->var, "%s", fld[9]);
        r->lab0 = atoi(fld[12]), r->lab1 = atoi(fld[13]);
    }
    fclose(f);
    return n;
}

static void real_cwru_load0(void) {
    man_row rows[64];
    int n_rows = read_data_manifest(rows, 64);
    CHECK(n_rows == 37, "manifest rows %d", n_rows);
    /* the README's table: NC, IF007/014/021, OF007/014/021, RF007/014/021 at 0 hp */
    const int nos[10] = {97, 105, 169, 209, 130, 197, 234, 118, 185, 222};
    mtl_recordset r;
    quiet_begin();
    mtl_status st = mtl_cwru_open(cwru_dir, 0, NULL, &r);
    quiet_end("cwru_open load 0");
    CHECK_OK(st);
    CHECK(r.n_records == 10, "records %d", r.n_records);
    for (int i = 0; i < r.n_records && i < 10; i++) {
        const mtl_record *R = &r.rec[i];
        CHECK(R->file_no == nos[i] && R->load_hp == 0, "record %d: file %d", i, R->file_no);
        CHECK(R->label[0] == cond_type[i] && R->label[1] == cond_sev[i], "record %d labels", i);
        const man_row *m = NULL;
        for (int j = 0; j < n_rows; j++)
            if (rows[j].no == R->file_no) m = &rows[j];
        CHECK(m != NULL, "file %d not in manifest.csv", R->file_no);
        if (!m) continue;
        CHECK(R->sig.channels == 1 && R->sig.length == m->n, "file %d: %lld samples, manifest %d", m->no,
              (long long)R->sig.length, m->n);
        CHECK(R->sig.fs == (double)m->fs && R->sig.fs == (m->no == 97 ? 48000.0 : 12000.0), "file %d fs %g", m->no,
              R->sig.fs);
        CHECK(R->label[0] == m->lab0 && R->label[1] == m->lab1, "file %d labels vs manifest", m->no);
        CHECK(!strcmp(R->var, m->var), "file %d var %s vs %s", m->no, R->var, m->var);
        size_t pl = strlen(R->path), ml = strlen(m->path);
        CHECK(pl >= ml && !strcmp(R->path + pl - ml, m->path), "path %s", R->path);
    }
    if (r.n_records == 10) {
        CHECK(!strcmp(r.rec[1].name, "IR007_0_105") && !strcmp(r.rec[0].name, "normal_0_97") &&
                  !strcmp(r.rec[4].name, "OR007@6_0_130"),
              "names %s %s %s", r.rec[0].name, r.rec[1].name, r.rec[4].name);
        /* X105_DE_time samples 0, 1, 2, 1000, 60000, 121264 as float64, read independently:
         * /usr/bin/python3 walking the MAT v5 elements of 12k_Drive_End_IR007_0_105.mat with
         * struct.unpack (tag, array flags, dims, name, then the miDOUBLE real part) */
        const int idx[6] = {0, 1, 2, 1000, 60000, 121264};
        const double want[6] = {-0.08300435129740519, -0.19573433133732535, 0.23341928143712576,
                                -0.1739680239520958,  -0.0030862674650698604, 0.26736822355289425};
        for (int k = 0; k < 6; k++)
            CHECK_CLOSE(r.rec[1].sig.x[idx[k]], want[k], 0, 1e-7, "X105_DE_time sample");
    }
    mtl_recordset_free(&r);

    for (int load = 1; load <= 3; load++) {
        char needle[32];
        snprintf(needle, sizeof needle, "normal_%d_*.mat", load);
        expect_error(mtl_cwru_open(cwru_dir, load, NULL, &r), MTL_ERR_IO, "load 1-3", "no normal record", needle,
                     cwru_dir);
    }

    CHECK_OK(mtl_cwru_open(cwru_dir, 0, "FE", &r));
    if (r.n_records == 10) {
        const mtl_signal *s = &r.rec[0].sig;
        CHECK(!strcmp(r.rec[0].var, "X097_FE_time") && s->length == 243938, "97 FE: %s %lld", r.rec[0].var,
              (long long)s->length);
        /* X097_FE_time[0] and [243937], read like the values above */
        CHECK_CLOSE(s->x[0], 0.14566727272727273, 0, 1e-7, "X097_FE_time[0]");
        CHECK_CLOSE(s->x[243937], 0.09019454545454544, 0, 1e-7, "X097_FE_time[243937]");
    }
    mtl_recordset_free(&r);
    expect_error(mtl_cwru_open(cwru_dir, 0, "BA", &r), MTL_ERR_FORMAT, "97 BA", "normal_0_97.mat",
                 "no variable X097_BA_time", "has X097_DE_time, X097_FE_time, X097RPM");

    /* single files */
    char p[1200];
    snprintf(p, sizeof p, "%s/12k_drive_end/0HP/12k_Drive_End_IR007_0_105.mat", cwru_dir);
    mtl_signal s;
    CHECK_OK(mat_read_quiet(p, NULL, "BA", &s));
    CHECK(s.length == 121265 && s.fs == 12000.0, "105 BA: %lld samples, fs %g", (long long)s.length, s.fs);
    mtl_signal_free(&s);
    CHECK_OK(mtl_signal_read(p, "X105RPM", NULL, &s));
    CHECK(s.length == 1 && s.x[0] == 1797.0f, "X105RPM (uint16 1 x 1) = %g", s.length ? (double)s.x[0] : -1.0);
    mtl_signal_free(&s);
    copy_prefix(p, th_tmp_path("12k_Drive_End_IR007_0_105.mat"), 1000);
    expect_error(mat_read_quiet(th_tmp_path("12k_Drive_End_IR007_0_105.mat"), NULL, NULL, &s), MTL_ERR_FORMAT,
                 "real file cut at 1000 bytes", "12k_Drive_End_IR007_0_105.mat", "truncated", NULL);
    CHECK(s.x == NULL, "no signal");
}

/* ==== main ====================================================================== */

static bool find_data(void) {
    const char *env = getenv("MTL_DATA"), *src = getenv("MTL_SOURCE_DIR");
    if (env && *env) snprintf(cwru_dir, sizeof cwru_dir, "%s/cwru", env);
    else snprintf(cwru_dir, sizeof cwru_dir, "%s/../shared/data/cwru", src && *src ? src : "..");
    char p[1100];
    snprintf(p, sizeof p, "%s/manifest.csv", cwru_dir);
    if (th_exists(p)) return true;
    printf("SKIP: real CWRU data not found at %s (set MTL_DATA): real-data tests not run\n", cwru_dir);
    cwru_dir[0] = '\0';
    return false;
}

int main(void) {
    const char *tmpdir = th_tmpdir_create("mtl_readers");
    if (!tmpdir) return 1;
    snprintf(stderr_path, sizeof stderr_path, "%s/stderr.txt", tmpdir);
    bool have_data = find_data();
    RUN(mat_variable_names);
    RUN(mat_99_quirk);
    RUN(mat_classes);
    RUN(mat_bad_contents);
    RUN(mat_broken_files);
    RUN(csv_signals);
    RUN(npy_signals);
    RUN(cwru_synthetic_tree);
    RUN(manifest_files);
    if (have_data) RUN(real_cwru_load0);
    int removed = th_tmpdir_remove();
    int rc = th_summary();
    if (!removed) {
        fprintf(stderr, "FAIL: temp dir %s was not removed\n", tmpdir);
        rc = 1;
    }
    return rc == 0 && !have_data ? 77 : rc;
}
