/* cross_entropy, bce_with_logits, mse, l1: finite-difference gradient checks, PyTorch
 * parity, stability at huge logits, thread independence and error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mtl_tensor *fw_ce(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_cross_entropy(t, in[0], ctx); }
static mtl_tensor *fw_bce(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_bce_with_logits(t, in[0], ctx); }
static mtl_tensor *fw_mse(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_mse(t, in[0], in[1]); }
static mtl_tensor *fw_l1(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_l1(t, in[0], in[1]); }

static bool all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return false;
    return true;
}

/* ---- gradient checks --------------------------------------------------------------- */

static void gradcheck_cross_entropy(void) {
    float x[6 * 7];
    th_fill(x, 42, 1, -2, 2);
    int32_t t5[5] = {0, 3, 1, 3, 2}, t6[6] = {6, 0, 2, 5, 1, 4}, t3[3] = {0, 0, 0};
    th_gradcheck g = {.name = "cross_entropy [5,4]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(5, 4)},
                      .check = {1}, .forward = fw_ce, .ctx = t5};
    th_gradcheck_run(&g);
    th_gradcheck g7 = {.name = "cross_entropy [6,7]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(6, 7)},
                       .check = {1}, .forward = fw_ce, .ctx = t6};
    th_gradcheck_run(&g7);
    th_gradcheck g2 = {.name = "cross_entropy [3,2]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(3, 2)},
                       .check = {1}, .forward = fw_ce, .ctx = t3};
    th_gradcheck_run(&g2);
    /* one class: the loss is 0 and so is its gradient */
    th_gradcheck g1 = {.name = "cross_entropy [3,1]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(3, 1)},
                       .check = {1}, .forward = fw_ce, .ctx = t3};
    th_gradcheck_run(&g1);
}

static void gradcheck_bce(void) {
    float x[8], y[8] = {0.0f, 1.0f, 0.0f, 1.0f, 0.3f, 0.5f, 0.9f, 0.05f};
    th_fill(x, 8, 2, -3, 3);
    th_gradcheck g = {.name = "bce_with_logits [8]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(8)}, .check = {1},
                      .forward = fw_bce, .ctx = y};
    th_gradcheck_run(&g);
    th_gradcheck g2 = {.name = "bce_with_logits [8,1]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(8, 1)},
                       .check = {1}, .forward = fw_bce, .ctx = y};
    th_gradcheck_run(&g2);
}

static void gradcheck_mse_l1(void) {
    enum { N = 2 * 3 * 4 };
    float a[N], b[N], off[N];
    th_fill(a, N, 3, -1, 1);
    th_fill(off, N, 4, -1, 1);
    /* b stays at least 0.1 from a, so L1 is checked away from its kink */
    for (int i = 0; i < N; i++) b[i] = a[i] + (off[i] < 0 ? off[i] - 0.1f : off[i] + 0.1f);
    th_gradcheck g = {.name = "mse [2,3,4]", .n_in = 2, .data = {a, b},
                      .shape = {MTL_SHAPE(2, 3, 4), MTL_SHAPE(2, 3, 4)}, .check = {1, 1}, .forward = fw_mse};
    th_gradcheck_run(&g);
    th_gradcheck g2 = {.name = "mse [6,4] (b plain)", .n_in = 2, .data = {a, b},
                       .shape = {MTL_SHAPE(6, 4), MTL_SHAPE(6, 4)}, .check = {1, 0}, .forward = fw_mse};
    th_gradcheck_run(&g2);
    th_gradcheck g3 = {.name = "l1 [2,3,4]", .n_in = 2, .data = {a, b},
                       .shape = {MTL_SHAPE(2, 3, 4), MTL_SHAPE(2, 3, 4)}, .check = {1, 1}, .forward = fw_l1};
    th_gradcheck_run(&g3);
    th_gradcheck g4 = {.name = "l1 [24] (b plain)", .n_in = 2, .data = {a, b},
                       .shape = {MTL_SHAPE(24), MTL_SHAPE(24)}, .check = {1, 0}, .forward = fw_l1};
    th_gradcheck_run(&g4);
    th_gradcheck g5 = {.name = "l1 0-d", .n_in = 2, .data = {a, b}, .shape = {MTL_SCALAR_SHAPE, MTL_SCALAR_SHAPE},
                       .check = {1, 1}, .forward = fw_l1};
    th_gradcheck_run(&g5);
}

/* ---- PyTorch parity ------------------------------------------------------------------ */

/* a loss with a non-tensor target (see tests/parity/gen_ops_loss.py): runs it on the
 * fixture's logits, compares the loss, runs mtl_backward with the fixture's seed w and
 * compares the logits' gradient */
static void parity_target_case(mtl_st_file *f, const char *p, bool ce) {
    char key[128];
    mtl_shape xs;
    float *x = th_fixture_f32_of(f, p, "logits", &xs);
    snprintf(key, sizeof key, "%s.target", p);
    int64_t nt = 0;
    int32_t *ti = ce ? th_fixture_i32(f, key, &nt) : NULL;
    float *tf = ce ? NULL : th_fixture_f32(f, key, NULL);
    float *w = th_fixture_f32_of(f, p, "w", NULL);
    float *want = th_fixture_f32_of(f, p, "y", NULL);
    float *dwant = th_fixture_f32_of(f, p, "dlogits", NULL);
    if (!x || !(ti || tf) || !w || !want || !dwant) return;
    if (ce) CHECK(nt == xs.d[0], "%s: %lld targets for %d rows", p, (long long)nt, xs.d[0]);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *X = mtl_tensor_wrap(t, xs, x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *y = ce ? mtl_cross_entropy(t, X, ti) : mtl_bce_with_logits(t, X, tf);
    CHECK(y != NULL, "%s: %s", p, mtl_tape_error(t));
    if (y) {
        CHECK(y->ndim == 0 && y->size == 1, "%s: loss is %d-d with %lld elements", p, y->ndim, (long long)y->size);
        snprintf(key, sizeof key, "%s loss", p);
        th_compare(key, y->data, want, 1, 1e-5, 1e-4);
        CHECK_OK(mtl_backward(t, y, w[0]));
        snprintf(key, sizeof key, "%s.dlogits", p);
        if (X->grad) th_compare(key, X->grad, dwant, X->size, 1e-5, 1e-4);
        else CHECK(0, "%s: no gradient", key);
    }
    mtl_tape_free(t);
}

static void parity_loss(void) {
    mtl_st_file *f = th_fixture("ops_loss.safetensors");
    if (!f) return;
    parity_target_case(f, "ce", true);
    parity_target_case(f, "ce_wide", true);
    parity_target_case(f, "ce_large", true);
    parity_target_case(f, "bce", false);
    parity_target_case(f, "bce_col", false);
    parity_target_case(f, "bce_large", false);
    static const char *ab[] = {"a", "b"};
    th_parity_case(f, "mse", 2, ab, fw_mse, NULL, 1e-5, 1e-4);
    th_parity_case(f, "mse_3d", 2, ab, fw_mse, NULL, 1e-5, 1e-4);
    th_parity_case(f, "l1", 2, ab, fw_l1, NULL, 1e-5, 1e-4);
    th_parity_case(f, "l1_3d", 2, ab, fw_l1, NULL, 1e-5, 1e-4);
}

/* ---- values ----------------------------------------------------------------------- */

static void huge_logits(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[6] = {1000.0f, -1000.0f, 0.0f, -1000.0f, 1000.0f, 1000.0f};
    int32_t target[2] = {1, 2};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 3), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *ce = mtl_cross_entropy(t, X, target);
    CHECK(ce != NULL, "cross_entropy failed: %s", mtl_tape_error(t));
    if (ce) {
        /* row 0: 2000; row 1: log 2 */
        CHECK_CLOSE(ce->data[0], (2000.0 + log(2.0)) / 2, 0, 1e-6, "cross_entropy of huge logits");
        CHECK_OK(mtl_backward(t, ce, 1.0f));
        CHECK(X->grad && all_finite(X->grad, 6), "non-finite cross_entropy gradient");
        if (X->grad) {
            float want[6] = {0.5f, -0.5f, 0.0f, 0.0f, 0.25f, -0.25f};
            th_compare("cross_entropy gradient at huge logits", X->grad, want, 6, 1e-7, 1e-6);
        }
    }
    float xb[4] = {1000.0f, -1000.0f, 1000.0f, -1000.0f}, yb[4] = {0.0f, 1.0f, 1.0f, 0.0f};
    mtl_tensor *B = mtl_tensor_wrap(t, MTL_SHAPE(4), xb);
    mtl_tensor_requires_grad(B);
    mtl_tensor *bce = mtl_bce_with_logits(t, B, yb);
    CHECK(bce != NULL, "bce_with_logits failed: %s", mtl_tape_error(t));
    if (bce) {
        CHECK_CLOSE(bce->data[0], 500.0, 0, 1e-6, "bce_with_logits of huge logits");
        CHECK_OK(mtl_backward(t, bce, 1.0f));
        if (B->grad) {
            float want[4] = {0.25f, -0.25f, 0.0f, 0.0f};
            th_compare("bce_with_logits gradient at huge logits", B->grad, want, 4, 1e-7, 1e-6);
        }
        CHECK(B->grad && all_finite(B->grad, 4), "non-finite bce gradient");
    }
    mtl_tape_free(t);
}

/* the target arrays are copied: changing them after the forward does not change backward */
static void targets_copied(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[4] = {0.5f, -0.5f, 1.0f, 2.0f};
    int32_t target[2] = {0, 1};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 2), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *ce = mtl_cross_entropy(t, X, target);
    target[0] = 1, target[1] = 0;
    CHECK_OK(mtl_backward(t, ce, 1.0f));
    if (X->grad) {
        float e = (float)(0.5 * (1.0 / (1.0 + exp(-1.0)) - 1.0)); /* row 0, class 0: (p0 - 1) / 2 */
        CHECK_CLOSE(X->grad[0], e, 1e-7, 1e-5, "cross_entropy d/dx[0,0] after the caller changed its targets");
    }
    mtl_tape_reset(t);
    float xb[2] = {0.0f, 0.0f}, yb[2] = {1.0f, 0.0f};
    mtl_tensor *B = mtl_tensor_wrap(t, MTL_SHAPE(2), xb);
    mtl_tensor_requires_grad(B);
    mtl_tensor *bce = mtl_bce_with_logits(t, B, yb);
    yb[0] = 0.0f, yb[1] = 1.0f;
    CHECK_OK(mtl_backward(t, bce, 1.0f));
    if (B->grad) CHECK(B->grad[0] == -0.25f && B->grad[1] == 0.25f, "bce gradient %g %g", B->grad[0], B->grad[1]);
    mtl_tape_free(t);
}

/* 0-d results, weighted backward, sign(0) = 0 for L1, repeated input, inference mode */
static void scalar_results(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float a[4] = {1.0f, 2.0f, 3.0f, 4.0f}, b[4] = {1.0f, 0.0f, 5.0f, 4.0f};
    mtl_tensor *A = mtl_tensor_wrap(t, MTL_SHAPE(2, 2), a), *B = mtl_tensor_wrap(t, MTL_SHAPE(2, 2), b);
    mtl_tensor_requires_grad(A);
    mtl_tensor_requires_grad(B);
    mtl_tensor *l1 = mtl_l1(t, A, B), *mse = mtl_mse(t, A, B);
    CHECK(l1 && mse, "forward failed: %s", mtl_tape_error(t));
    if (l1 && mse) {
        CHECK(l1->ndim == 0 && l1->size == 1 && mse->ndim == 0, "losses are not 0-d");
        CHECK(l1->data[0] == 1.0f && mse->data[0] == 2.0f, "l1 %g mse %g", l1->data[0], mse->data[0]);
        CHECK_OK(mtl_backward(t, l1, 2.0f));
        float wa[4] = {0.0f, 0.5f, -0.5f, 0.0f}, wb[4] = {0.0f, -0.5f, 0.5f, 0.0f};
        if (A->grad && B->grad) {
            th_compare("l1 da (sign(0) = 0)", A->grad, wa, 4, 0, 0);
            th_compare("l1 db", B->grad, wb, 4, 0, 0);
        } else CHECK(0, "no l1 gradients");
        CHECK_OK(mtl_backward(t, mse, 1.0f));
        float ma[4] = {0.0f, 1.0f, -1.0f, 0.0f};
        if (A->grad) th_compare("mse da", A->grad, ma, 4, 0, 0);
    }
    /* the same tensor twice: zero loss, zero gradient */
    mtl_tensor *same = mtl_mse(t, A, A);
    CHECK(same && same->data[0] == 0.0f, "mse(a, a) != 0");
    CHECK_OK(mtl_backward(t, same, 1.0f));
    if (A->grad) CHECK(A->grad[1] == 0.0f, "mse(a, a) gradient %g", A->grad[1]);
    mtl_tape_reset(t);
    mtl_tape_set_recording(t, false);
    A = mtl_tensor_wrap(t, MTL_SHAPE(4), a);
    mtl_tensor_requires_grad(A);
    int32_t target[2] = {1, 1};
    float yb[4] = {1, 0, 1, 0};
    mtl_tensor *ce = mtl_cross_entropy(t, mtl_tensor_wrap(t, MTL_SHAPE(2, 2), a), target);
    mtl_tensor *bce = mtl_bce_with_logits(t, A, yb);
    CHECK(ce && bce && mtl_tape_nodes(t) == 0, "inference: %s, %d nodes", mtl_tape_error(t), mtl_tape_nodes(t));
    if (ce) CHECK_CLOSE(ce->data[0], log(1.0 + exp(-1.0)), 1e-7, 1e-6, "cross_entropy without recording");
    mtl_tape_free(t);
}

/* big enough for several threads: the losses and gradients must not depend on the thread count */
static void threads_deterministic(void) {
    enum { N = 1024, C = 40, M = 50 * 16 * 300 };
    float *x = malloc(N * C * sizeof *x), *a = malloc(M * sizeof *a), *b = malloc(M * sizeof *b);
    float *g1 = malloc(N * C * sizeof *g1);
    int32_t *target = malloc(N * sizeof *target);
    float *yb = malloc(N * sizeof *yb);
    th_fill(x, N * C, 5, -5, 5);
    th_fill(a, M, 6, -1, 1);
    th_fill(b, M, 7, -1, 1);
    th_fill(yb, N, 8, 0, 1);
    for (int i = 0; i < N; i++) target[i] = (i * 7) % C;
    int keep = mtl_get_threads();
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float v[2][4];
    double ref_mse = 0, ref_l1 = 0, ref_ce = 0;
    for (int i = 0; i < M; i++) {
        double d = (double)a[i] - b[i];
        ref_mse += d * d, ref_l1 += fabs(d);
    }
    for (int r = 0; r < N; r++) {
        double m = -INFINITY, s = 0;
        for (int k = 0; k < C; k++) m = fmax(m, x[r * C + k]);
        for (int k = 0; k < C; k++) s += exp(x[r * C + k] - m);
        ref_ce += m + log(s) - x[r * C + target[r]];
    }
    for (int run = 0; run < 2; run++) {
        mtl_set_threads(run == 0 ? 1 : 2);
        mtl_tape_reset(t);
        mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N, C), x);
        mtl_tensor_requires_grad(X);
        mtl_tensor *A = mtl_tensor_wrap(t, MTL_SHAPE(50, 16, 300), a), *B = mtl_tensor_wrap(t, MTL_SHAPE(50, 16, 300), b);
        mtl_tensor *ls[4] = {mtl_cross_entropy(t, X, target), mtl_mse(t, A, B), mtl_l1(t, A, B),
                             mtl_bce_with_logits(t, mtl_tensor_wrap(t, MTL_SHAPE(N), x), yb)};
        CHECK(mtl_tape_status(t) == MTL_OK, "forward failed: %s", mtl_tape_error(t));
        if (mtl_tape_status(t) != MTL_OK) break;
        for (int k = 0; k < 4; k++) v[run][k] = ls[k]->data[0];
        CHECK_OK(mtl_backward(t, ls[0], 1.0f));
        if (run == 0 && X->grad) memcpy(g1, X->grad, N * C * sizeof *g1);
        else if (X->grad) CHECK(memcmp(g1, X->grad, N * C * sizeof *g1) == 0, "CE gradient depends on threads");
    }
    CHECK(memcmp(v[0], v[1], sizeof v[0]) == 0, "losses depend on threads: %.9g %.9g %.9g %.9g vs %.9g %.9g %.9g %.9g",
          v[0][0], v[0][1], v[0][2], v[0][3], v[1][0], v[1][1], v[1][2], v[1][3]);
    CHECK_CLOSE(v[0][0], ref_ce / N, 0, 1e-6, "cross_entropy [1024,40]");
    CHECK_CLOSE(v[0][1], ref_mse / M, 0, 1e-6, "mse of 240000");
    CHECK_CLOSE(v[0][2], ref_l1 / M, 0, 1e-6, "l1 of 240000");
    mtl_set_threads(keep);
    mtl_tape_free(t);
    free(x), free(a), free(b), free(g1), free(target), free(yb);
}

/* ---- errors ------------------------------------------------------------------------- */

static void errors_loss(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[12] = {0}, y[12] = {0};
    int32_t target[3] = {0, 1, 2};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
    th_expect_fail(t, mtl_cross_entropy(t, NULL, target), MTL_ERR_ARG, "cross_entropy", "cross_entropy", NULL);
    X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
    th_expect_fail(t, mtl_cross_entropy(t, X, NULL), MTL_ERR_ARG, "cross_entropy", "cross_entropy", "target");
    X = mtl_tensor_wrap(t, MTL_SHAPE(12), x);
    th_expect_fail(t, mtl_cross_entropy(t, X, target), MTL_ERR_SHAPE, "cross_entropy", "cross_entropy", NULL);
    X = mtl_tensor_wrap(t, MTL_SHAPE(0, 4), x);
    th_expect_fail(t, mtl_cross_entropy(t, X, target), MTL_ERR_SHAPE, "cross_entropy", "cross_entropy", NULL);
    int32_t bad[3] = {0, 4, 1};
    X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
    th_expect_fail(t, mtl_cross_entropy(t, X, bad), MTL_ERR_RANGE, "cross_entropy", "cross_entropy", "target[1] = 4 is outside [0, 4)");
    bad[1] = 1, bad[2] = -1;
    X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
    th_expect_fail(t, mtl_cross_entropy(t, X, bad), MTL_ERR_RANGE, "cross_entropy", "cross_entropy", "target[2] = -1");

    float yt[3] = {0.0f, 1.0f, 0.5f};
    th_expect_fail(t, mtl_bce_with_logits(t, NULL, yt), MTL_ERR_ARG, "bce_with_logits", "bce_with_logits", NULL);
    X = mtl_tensor_wrap(t, MTL_SHAPE(3), x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, NULL), MTL_ERR_ARG, "bce_with_logits", "bce_with_logits", "target");
    X = mtl_tensor_wrap(t, MTL_SHAPE(3, 2), x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, yt), MTL_ERR_SHAPE, "bce_with_logits", "bce_with_logits", NULL);
    X = mtl_tensor_wrap(t, MTL_SCALAR_SHAPE, x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, yt), MTL_ERR_SHAPE, "bce_with_logits", "bce_with_logits", NULL);
    X = mtl_tensor_wrap(t, MTL_SHAPE(0), x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, yt), MTL_ERR_SHAPE, "bce_with_logits", "bce_with_logits", NULL);
    float ybad[3] = {0.0f, 1.5f, 0.5f};
    X = mtl_tensor_wrap(t, MTL_SHAPE(3, 1), x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, ybad), MTL_ERR_RANGE, "bce_with_logits", "bce_with_logits", "target[1]");
    ybad[1] = -0.1f;
    X = mtl_tensor_wrap(t, MTL_SHAPE(3), x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, ybad), MTL_ERR_RANGE, "bce_with_logits", "bce_with_logits", NULL);
    ybad[1] = 0.5f, ybad[2] = NAN;
    X = mtl_tensor_wrap(t, MTL_SHAPE(3), x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, ybad), MTL_ERR_NUMERIC, "bce_with_logits", "bce_with_logits", "target[2]");
    ybad[2] = INFINITY;
    X = mtl_tensor_wrap(t, MTL_SHAPE(3), x);
    th_expect_fail(t, mtl_bce_with_logits(t, X, ybad), MTL_ERR_RANGE, "bce_with_logits", "bce_with_logits", NULL);

    const char *names[2] = {"mse", "l1"};
    for (int k = 0; k < 2; k++) {
        mtl_tensor *(*fn)(mtl_tape *, mtl_tensor *, mtl_tensor *) = k ? mtl_l1 : mtl_mse;
        X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
        th_expect_fail(t, fn(t, X, NULL), MTL_ERR_ARG, names[k], names[k], NULL);
        X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
        th_expect_fail(t, fn(t, NULL, X), MTL_ERR_ARG, names[k], names[k], NULL);
        X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
        mtl_tensor *Y = mtl_tensor_wrap(t, MTL_SHAPE(4, 3), y);
        th_expect_fail(t, fn(t, X, Y), MTL_ERR_SHAPE, names[k], names[k], "[3, 4]");
        X = mtl_tensor_wrap(t, MTL_SHAPE(12), x);
        Y = mtl_tensor_wrap(t, MTL_SHAPE(12, 1), y);
        th_expect_fail(t, fn(t, X, Y), MTL_ERR_SHAPE, names[k], names[k], NULL);
        X = mtl_tensor_wrap(t, MTL_SHAPE(0, 3), x);
        Y = mtl_tensor_wrap(t, MTL_SHAPE(0, 3), y);
        th_expect_fail(t, fn(t, X, Y), MTL_ERR_SHAPE, names[k], names[k], NULL);
        CHECK(fn(NULL, X, Y) == NULL, "%s: NULL tape accepted", names[k]);
    }
    CHECK(mtl_cross_entropy(NULL, X, target) == NULL && mtl_bce_with_logits(NULL, X, yt) == NULL,
          "NULL tape accepted");
    /* the first failure sticks */
    X = mtl_tensor_wrap(t, MTL_SHAPE(3, 4), x);
    CHECK(mtl_cross_entropy(t, X, bad) == NULL, "bad target accepted");
    CHECK(mtl_mse(t, X, X) == NULL, "op after a failure returned a tensor");
    CHECK(mtl_tape_status(t) == MTL_ERR_RANGE && strstr(mtl_tape_error(t), "cross_entropy"), "first error lost: %s",
          mtl_tape_error(t));
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_cross_entropy);
    RUN(gradcheck_bce);
    RUN(gradcheck_mse_l1);
    RUN(parity_loss);
    RUN(huge_logits);
    RUN(targets_copied);
    RUN(scalar_results);
    RUN(threads_deterministic);
    RUN(errors_loss);
    return th_summary();
}
