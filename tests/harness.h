/* A small test harness: checks count failures, each test binary ends with
 * "N passed, N failed"; plus finite-difference gradient checks and fixture access. */
#ifndef MTL_TEST_HARNESS_H
#define MTL_TEST_HARNESS_H

#include <stdio.h>

#include "mtl/mtl.h"

extern int th_checks_failed; /* failures inside the running test */

#define CHECK(cond, ...)                                                                                              \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            th_checks_failed++;                                                                                       \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                                                             \
            fprintf(stderr, "\n");                                                                                    \
        }                                                                                                             \
    } while (0)

/* |a - b| <= atol + rtol * max(|a|, |b|) */
#define CHECK_CLOSE(a, b, atol, rtol, what)                                                                           \
    CHECK(th_close((double)(a), (double)(b), atol, rtol), "%s: %.9g vs %.9g", what, (double)(a), (double)(b))

#define CHECK_OK(expr)                                                                                                \
    do {                                                                                                              \
        mtl_status s_ = (expr);                                                                                       \
        CHECK(s_ == MTL_OK, "%s -> %s: %s", #expr, mtl_status_name(s_), mtl_last_error());                          \
    } while (0)

int th_close(double a, double b, double atol, double rtol);

/* runs fn as one test: prints "ok name" / "FAIL name" */
void th_run(const char *name, void (*fn)(void));
#define RUN(fn) th_run(#fn, fn)
/* prints "N passed, N failed" and returns the exit code */
int th_summary(void);

/* Compares n floats; prints the max absolute and relative difference under `what`;
 * fails if any |got-want| > atol + rtol*|want|. Returns 1 if within tolerance. */
int th_compare(const char *what, const float *got, const float *want, int64_t n, double atol, double rtol);

/* ---- finite-difference gradient check ------------------------------------------
 * forward builds the op under test on a fresh tape from the wrapped inputs (each a
 * requires-grad activation) and returns its output y. The check seeds backward with
 * a fixed random dy and compares every input's analytic gradient with central
 * differences of L = sum(y * dy) (accumulated in double), at up to max_elems
 * elements per input. */
typedef mtl_tensor *(*th_forward_fn)(mtl_tape *t, mtl_tensor **in, void *ctx);
typedef struct {
    const char *name;
    int n_in;
    float *data[6];     /* input values (modified and restored during the check) */
    mtl_shape shape[6];
    bool check[6];      /* false: the input gets no gradient check (e.g. running stats) */
    th_forward_fn forward;
    void *ctx;
    float eps;          /* default 1e-2 */
    double atol, rtol;  /* defaults 1e-3, 1e-2 */
    int max_elems;      /* default 64 */
    bool training;      /* tape mode; default false unless set (set it for batchnorm/dropout) */
} th_gradcheck;
/* returns 1 if all checked elements agree; prints the worst element per input */
int th_gradcheck_run(th_gradcheck *g);
/* fills x with uniform values in [lo, hi) from a fixed seed */
void th_fill(float *x, int64_t n, uint64_t seed, float lo, float hi);

/* ---- fixtures: safetensors files in tests/fixtures, made by the tests/parity scripts -
 * The directory is $MTL_FIXTURES (set by ctest) or tests/fixtures. */
mtl_st_file *th_fixture(const char *file);
/* the float32 values of `name` (converted), or NULL and a failed check; shape out */
float *th_fixture_f32(mtl_st_file *f, const char *name, mtl_shape *shape);
/* the same for the tensor named "<prefix>.<leaf>" */
float *th_fixture_f32_of(mtl_st_file *f, const char *prefix, const char *leaf, mtl_shape *shape);
/* class indices stored as I64/I32 converted to int32 */
int32_t *th_fixture_i32(mtl_st_file *f, const char *name, int64_t *count);
/* releases every buffer th_fixture_* returned */
void th_fixture_release(void);

/* ---- batchnorm cases shared by test_ops_norm and test_ops_fused -------------------- */
typedef struct {
    bool affine;
    bool eval;      /* switch the tape to evaluation before the op */
    bool relu;      /* mtl_batchnorm_relu instead of mtl_batchnorm */
    float momentum, eps;
    float *rm, *rv; /* parity: running statistics wrapped by the forward (NULL: in[]) */
    int C;
} th_bn_ctx;
/* th_forward_fn: in = x [, gamma, beta] [, running mean, running var] */
mtl_tensor *th_bn_forward(mtl_tape *t, mtl_tensor **in, void *ctx);
/* the running statistics rm, rv [C] against the fixture's "<p>.running_mean_after" / "_var_after" */
void th_check_running_stats(mtl_st_file *f, const char *p, const float *rm, const float *rv, int C);
/* one fixture case "<p>.*": output and gradients, then the running statistics after the call */
void th_bn_parity(mtl_st_file *f, const char *p, bool affine, bool eval, bool relu);

/* ---- files: a per-test temporary directory and small file helpers --------------- */
/* creates /tmp/<tag>_XXXXXX and returns it (NULL and a message if it cannot) */
const char *th_tmpdir_create(const char *tag);
/* name inside that directory (8 rotating buffers: several may be used at once) */
const char *th_tmp_path(const char *name);
/* removes the directory and everything below it; returns 1 if it is gone */
int th_tmpdir_remove(void);
void th_remove_tree(const char *path);
int th_exists(const char *path);
/* writes n bytes (a failed check if it cannot) */
void th_write_bytes(const char *path, const void *bytes, size_t n);
/* the whole file, NUL-terminated (so text can be used as a string); NULL if unreadable; n
 * may be NULL. Free it. */
char *th_read_file(const char *path, size_t *n);

/* One PyTorch parity case from a fixture written by tests/parity/fixture.py op_case():
 * wraps "<prefix>.<names[i]>" as requires-grad inputs, runs op, compares the output with
 * "<prefix>.y", seeds backward with "<prefix>.dy" and compares every input's gradient
 * with "<prefix>.d<names[i]>" (|got-want| <= atol + rtol |want|), printing max diffs. */
void th_parity_case(mtl_st_file *f, const char *prefix, int n_in, const char *const *names, th_forward_fn op,
                    void *ctx, double atol, double rtol);

/* Checks that an op failed: y is NULL, the tape's status is `want`, its message names
 * `op` (and contains `needle` unless NULL); `what` describes the case. Resets the tape. */
void th_expect_fail(mtl_tape *t, mtl_tensor *y, mtl_status want, const char *op, const char *what, const char *needle);
/* Runs fn in a child process, so that a crash or a sanitizer abort inside the library
 * fails a check here instead of ending the run. */
void th_isolated(const char *what, void (*fn)(void));

#endif
