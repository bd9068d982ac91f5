/* relu, sigmoid, tanh, softmax, log_softmax: finite-difference gradient checks, PyTorch
 * parity, numerical stability, threading and error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mtl_tensor *fw_relu(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_relu(t, in[0]); }
static mtl_tensor *fw_sigmoid(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_sigmoid(t, in[0]); }
static mtl_tensor *fw_tanh(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_tanh(t, in[0]); }
static mtl_tensor *fw_softmax(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_softmax(t, in[0], *(int *)ctx); }
static mtl_tensor *fw_log_softmax(mtl_tape *t, mtl_tensor **in, void *ctx) {
    return mtl_log_softmax(t, in[0], *(int *)ctx);
}

/* ---- gradient checks --------------------------------------------------------------- */

static void gradcheck_elementwise(void) {
    enum { N = 3 * 4 * 5 };
    float x[N];
    th_fill(x, N, 1, -1, 1);
    /* relu: keep every value at least 0.1 from the kink (the check's eps is 0.01) */
    for (int i = 0; i < N; i++) x[i] = x[i] < 0 ? x[i] - 0.1f : x[i] + 0.1f;
    th_gradcheck g = {.name = "relu [3,4,5]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(3, 4, 5)},
                      .check = {1}, .forward = fw_relu};
    th_gradcheck_run(&g);
    float s[1] = {0.7f};
    th_gradcheck g0 = {.name = "relu 0-d", .n_in = 1, .data = {s}, .shape = {MTL_SCALAR_SHAPE}, .check = {1},
                       .forward = fw_relu};
    th_gradcheck_run(&g0);

    th_fill(x, N, 2, -4, 4);
    th_gradcheck gs = {.name = "sigmoid [3,4,5]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(3, 4, 5)},
                       .check = {1}, .forward = fw_sigmoid};
    th_gradcheck_run(&gs);
    th_gradcheck gs1 = {.name = "sigmoid [60]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(60)}, .check = {1},
                        .forward = fw_sigmoid};
    th_gradcheck_run(&gs1);
    th_fill(x, N, 3, -2.5f, 2.5f);
    th_gradcheck gt = {.name = "tanh [3,4,5]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(3, 4, 5)},
                       .check = {1}, .forward = fw_tanh};
    th_gradcheck_run(&gt);
    th_gradcheck gt2 = {.name = "tanh [2,30]", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(2, 30)}, .check = {1},
                        .forward = fw_tanh};
    th_gradcheck_run(&gt2);
}

static void gradcheck_softmax(void) {
    float x[2 * 3 * 70];
    th_fill(x, 2 * 3 * 70, 4, -2, 2);
    int axes[] = {0, 1, -1, 2, -3};
    for (int k = 0; k < 5; k++) {
        char name[2][48];
        snprintf(name[0], sizeof name[0], "softmax [3,4,5] axis %d", axes[k]);
        snprintf(name[1], sizeof name[1], "log_softmax [3,4,5] axis %d", axes[k]);
        th_gradcheck g = {.name = name[0], .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(3, 4, 5)}, .check = {1},
                          .forward = fw_softmax, .ctx = &axes[k]};
        th_gradcheck_run(&g);
        th_gradcheck gl = {.name = name[1], .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(3, 4, 5)}, .check = {1},
                           .forward = fw_log_softmax, .ctx = &axes[k]};
        th_gradcheck_run(&gl);
    }
    int a0 = 0, a2 = 2, a1 = 1;
    th_gradcheck g1 = {.name = "softmax [7] axis 0", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(7)}, .check = {1},
                       .forward = fw_softmax, .ctx = &a0};
    th_gradcheck_run(&g1);
    th_gradcheck g4 = {.name = "log_softmax [2,3,4,3] axis 2", .n_in = 1, .data = {x},
                       .shape = {MTL_SHAPE(2, 3, 4, 3)}, .check = {1}, .forward = fw_log_softmax, .ctx = &a2};
    th_gradcheck_run(&g4);
    /* 70 inner positions: a full column block of 64 and a partial one of 6 */
    th_gradcheck gw = {.name = "softmax [2,3,70] axis 1", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(2, 3, 70)},
                       .check = {1}, .forward = fw_softmax, .ctx = &a1, .max_elems = 128};
    th_gradcheck_run(&gw);
    th_gradcheck gwl = {.name = "log_softmax [2,3,70] axis 1", .n_in = 1, .data = {x},
                        .shape = {MTL_SHAPE(2, 3, 70)}, .check = {1}, .forward = fw_log_softmax, .ctx = &a1,
                        .max_elems = 128};
    th_gradcheck_run(&gwl);
}

/* ---- PyTorch parity ------------------------------------------------------------------ */

static void parity_activation(void) {
    mtl_st_file *f = th_fixture("ops_activation.safetensors");
    if (!f) return;
    static const char *x[] = {"x"};
    th_parity_case(f, "relu", 1, x, fw_relu, NULL, 1e-5, 1e-4);
    th_parity_case(f, "sigmoid", 1, x, fw_sigmoid, NULL, 1e-5, 1e-4);
    th_parity_case(f, "tanh", 1, x, fw_tanh, NULL, 1e-5, 1e-4);
    int a0 = 0, a1 = 1, am1 = -1, a2 = 2;
    th_parity_case(f, "softmax_a0", 1, x, fw_softmax, &a0, 1e-5, 1e-4);
    th_parity_case(f, "softmax_a1", 1, x, fw_softmax, &a1, 1e-5, 1e-4);
    th_parity_case(f, "softmax_am1", 1, x, fw_softmax, &am1, 1e-5, 1e-4);
    th_parity_case(f, "log_softmax_a0", 1, x, fw_log_softmax, &a0, 1e-5, 1e-4);
    th_parity_case(f, "log_softmax_a1", 1, x, fw_log_softmax, &a1, 1e-5, 1e-4);
    th_parity_case(f, "log_softmax_am1", 1, x, fw_log_softmax, &am1, 1e-5, 1e-4);
    th_parity_case(f, "softmax_1d", 1, x, fw_softmax, &a0, 1e-5, 1e-4);
    th_parity_case(f, "softmax_4d", 1, x, fw_softmax, &a2, 1e-5, 1e-4);
    th_parity_case(f, "log_softmax_wide", 1, x, fw_log_softmax, &a1, 1e-5, 1e-4);
    th_parity_case(f, "softmax_large", 1, x, fw_softmax, &am1, 1e-5, 1e-4);
    th_parity_case(f, "log_softmax_large", 1, x, fw_log_softmax, &am1, 1e-5, 1e-4);
}

/* ---- values at the edges --------------------------------------------------------------- */

static bool all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return false;
    return true;
}

static void relu_kink_and_nan(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[4] = {-1.0f, 0.0f, 2.0f, NAN};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(4), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *y = mtl_relu(t, X);
    CHECK(y && y->data[0] == 0.0f && y->data[1] == 0.0f && y->data[2] == 2.0f && isnan(y->data[3]),
          "relu values wrong");
    float dy[4] = {1, 1, 1, 1};
    CHECK_OK(mtl_backward_from(t, y, dy));
    CHECK(X->grad && X->grad[0] == 0.0f && X->grad[1] == 0.0f && X->grad[2] == 1.0f,
          "relu gradient at -1, 0, 2 should be 0, 0, 1");
    mtl_tape_free(t);
}

static void saturation(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[6] = {-1000.0f, -100.0f, -20.0f, 20.0f, 100.0f, 1000.0f};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(6), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *s = mtl_sigmoid(t, X), *h = mtl_tanh(t, X);
    CHECK(s && h, "forward failed: %s", mtl_tape_error(t));
    if (!s || !h) {
        mtl_tape_free(t);
        return;
    }
    CHECK(all_finite(s->data, 6) && all_finite(h->data, 6), "non-finite sigmoid/tanh at large |x|");
    CHECK(s->data[0] == 0.0f && s->data[5] == 1.0f, "sigmoid(-1000)=%g sigmoid(1000)=%g", s->data[0], s->data[5]);
    CHECK(h->data[0] == -1.0f && h->data[5] == 1.0f, "tanh(+-1000) = %g, %g", h->data[0], h->data[5]);
    CHECK_CLOSE(s->data[2], 2.0611536e-9, 0, 1e-5, "sigmoid(-20)");
    float dy[6] = {1, 1, 1, 1, 1, 1};
    CHECK_OK(mtl_backward_from(t, s, dy));
    CHECK(all_finite(X->grad, 6), "non-finite sigmoid gradient");
    CHECK_OK(mtl_backward_from(t, h, dy));
    CHECK(all_finite(X->grad, 6), "non-finite tanh gradient");

    /* softmax and log_softmax of huge logits */
    float z[6] = {1000.0f, -1000.0f, 0.0f, 1000.0f, 999.0f, -1000.0f};
    mtl_tensor *Z = mtl_tensor_wrap(t, MTL_SHAPE(2, 3), z);
    mtl_tensor_requires_grad(Z);
    mtl_tensor *p = mtl_softmax(t, Z, 1), *lp = mtl_log_softmax(t, Z, -1);
    CHECK(p && lp, "forward failed: %s", mtl_tape_error(t));
    if (!p || !lp) {
        mtl_tape_free(t);
        return;
    }
    CHECK(all_finite(p->data, 6), "softmax not finite");
    CHECK(all_finite(lp->data, 6), "log_softmax not finite");
    CHECK_CLOSE(p->data[0], 1.0, 1e-7, 0, "softmax row 0");
    CHECK_CLOSE(p->data[3], 1.0 / (1.0 + exp(-1.0)), 1e-7, 1e-6, "softmax row 1");
    CHECK_CLOSE(lp->data[1], -2000.0, 0, 1e-6, "log_softmax(-1000 vs 1000)");
    CHECK_CLOSE(lp->data[4], -log(1.0 + exp(1.0)), 1e-6, 1e-5, "log_softmax(999 vs 1000)");
    CHECK_OK(mtl_backward_from(t, lp, dy));
    CHECK(all_finite(Z->grad, 6), "non-finite log_softmax gradient");
    CHECK_OK(mtl_backward_from(t, p, dy));
    CHECK(all_finite(Z->grad, 6), "non-finite softmax gradient");
    mtl_tape_free(t);
}

/* softmax over each axis of a [8,48,300] tensor (big enough for several threads) against a
 * double-precision reference; the result must not depend on the thread count */
static void softmax_large_threads(void) {
    enum { A = 8, B = 48, C = 300, N = A * B * C };
    int dims[3] = {A, B, C};
    float *x = malloc(N * sizeof *x), *one = malloc(N * sizeof *one), *dx1 = malloc(N * sizeof *dx1);
    float *dy = malloc(N * sizeof *dy);
    th_fill(x, N, 9, -6, 6);
    th_fill(dy, N, 10, -1, 1);
    int keep = mtl_get_threads();
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    for (int lg = 0; lg < 2; lg++)
        for (int axis = 0; axis < 3; axis++) {
            int64_t outer = 1, inner = 1;
            for (int d = 0; d < axis; d++) outer *= dims[d];
            for (int d = axis + 1; d < 3; d++) inner *= dims[d];
            int n = dims[axis];
            for (int run = 0; run < 2; run++) {
                mtl_set_threads(run == 0 ? 1 : 2);
                mtl_tape_reset(t);
                mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(A, B, C), x);
                mtl_tensor_requires_grad(X);
                mtl_tensor *y = lg ? mtl_log_softmax(t, X, axis) : mtl_softmax(t, X, axis);
                CHECK(y != NULL, "forward failed: %s", mtl_tape_error(t));
                if (!y) break;
                CHECK_OK(mtl_backward_from(t, y, dy));
                if (run == 0) {
                    memcpy(one, y->data, N * sizeof *one);
                    memcpy(dx1, X->grad, N * sizeof *dx1);
                    /* reference for a few rows */
                    double worst = 0;
                    for (int64_t r = 0; r < outer * inner; r += 97) {
                        int64_t base = (r / inner) * n * inner + r % inner;
                        double m = -INFINITY, s = 0;
                        for (int k = 0; k < n; k++) m = fmax(m, x[base + k * inner]);
                        for (int k = 0; k < n; k++) s += exp(x[base + k * inner] - m);
                        for (int k = 0; k < n; k++) {
                            double ref = x[base + k * inner] - m - log(s);
                            if (!lg) ref = exp(ref);
                            worst = fmax(worst, fabs(ref - y->data[base + k * inner]));
                        }
                    }
                    CHECK(worst < 1e-5, "%s axis %d: max diff to reference %g", lg ? "log_softmax" : "softmax",
                          axis, worst);
                } else {
                    CHECK(memcmp(one, y->data, N * sizeof *one) == 0, "axis %d: output depends on threads", axis);
                    CHECK(memcmp(dx1, X->grad, N * sizeof *dx1) == 0, "axis %d: gradient depends on threads",
                          axis);
                }
            }
        }
    mtl_set_threads(keep);
    mtl_tape_free(t);
    free(x), free(one), free(dx1), free(dy);
}

/* with recording off (inference) the ops compute and record nothing */
static void no_record(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tape_set_recording(t, false);
    float x[6] = {1, 2, 3, -1, -2, -3};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 3), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *y = mtl_log_softmax(t, mtl_tanh(t, mtl_sigmoid(t, mtl_relu(t, X))), 0);
    y = mtl_softmax(t, y, 1);
    CHECK(y != NULL, "forward failed: %s", mtl_tape_error(t));
    CHECK(mtl_tape_nodes(t) == 0, "%d nodes recorded", mtl_tape_nodes(t));
    if (y) CHECK_CLOSE(y->data[0] + y->data[1] + y->data[2], 1.0, 1e-6, 0, "softmax row sum");
    mtl_tape_free(t);
}

/* ---- errors ------------------------------------------------------------------------- */

static void errors_activation(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[24] = {0};
    th_expect_fail(t, mtl_relu(t, NULL), MTL_ERR_ARG, "relu", "relu", NULL);
    th_expect_fail(t, mtl_sigmoid(t, NULL), MTL_ERR_ARG, "sigmoid", "sigmoid", NULL);
    th_expect_fail(t, mtl_tanh(t, NULL), MTL_ERR_ARG, "tanh", "tanh", NULL);
    th_expect_fail(t, mtl_softmax(t, NULL, 0), MTL_ERR_ARG, "softmax", "softmax", NULL);
    th_expect_fail(t, mtl_log_softmax(t, NULL, 0), MTL_ERR_ARG, "log_softmax", "log_softmax", NULL);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 4), x);
    th_expect_fail(t, mtl_softmax(t, X, 3), MTL_ERR_RANGE, "softmax", "softmax", NULL);
    X = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 4), x);
    th_expect_fail(t, mtl_log_softmax(t, X, -4), MTL_ERR_RANGE, "log_softmax", "log_softmax", NULL);
    X = mtl_tensor_wrap(t, MTL_SCALAR_SHAPE, x);
    th_expect_fail(t, mtl_softmax(t, X, 0), MTL_ERR_SHAPE, "softmax", "softmax", NULL);
    /* the first error sticks: later ops return NULL and keep it */
    X = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 4), x);
    CHECK(mtl_softmax(t, X, 7) == NULL, "axis 7 accepted");
    CHECK(mtl_relu(t, X) == NULL, "op after a failure returned a tensor");
    CHECK(strstr(mtl_tape_error(t), "softmax") != NULL, "first error lost: %s", mtl_tape_error(t));
    mtl_tape_reset(t);
    CHECK(mtl_relu(NULL, X) == NULL && mtl_softmax(NULL, X, 0) == NULL, "NULL tape accepted");
    CHECK(strstr(mtl_last_error(), "softmax") != NULL, "NULL tape message '%s'", mtl_last_error());
    /* empty tensors pass through */
    X = mtl_tensor_wrap(t, MTL_SHAPE(0, 3), x);
    mtl_tensor *y = mtl_softmax(t, X, 1);
    CHECK(y && y->size == 0, "softmax of [0,3] failed: %s", mtl_tape_error(t));
    y = mtl_log_softmax(t, X, 0);
    CHECK(y && y->size == 0, "log_softmax of [0,3] over the empty axis failed: %s", mtl_tape_error(t));
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_elementwise);
    RUN(gradcheck_softmax);
    RUN(parity_activation);
    RUN(relu_kink_and_nan);
    RUN(saturation);
    RUN(softmax_large_threads);
    RUN(no_record);
    RUN(errors_activation);
    return th_summary();
}
