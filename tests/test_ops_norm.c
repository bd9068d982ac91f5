/* batchnorm and dropout: finite-difference gradient checks, PyTorch parity for
 * batchnorm (output, gradients and the updated running statistics), statistical and
 * exactness checks for dropout's mask, determinism across thread counts, errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ops/conv_fast.h"
#include "ops/fused.h"

/* ---- batchnorm (forward and fixture cases: th_bn_forward, th_bn_parity in the harness) --- */

/* gradcheck inputs: x, [gamma, beta,] running_mean, running_var */

static void bn_gradcheck(const char *name, mtl_shape xs, bool affine, bool training) {
    int C = xs.d[1];
    int64_t n = mtl_shape_size(xs);
    float *x = malloc((size_t)n * sizeof *x), g[64], b[64], rm[64], rv[64];
    th_fill(x, n, 11, -1.0f, 2.0f);
    th_fill(g, C, 12, 0.5f, 1.5f);
    th_fill(b, C, 13, -1.0f, 1.0f);
    th_fill(rm, C, 14, -0.5f, 0.5f);
    th_fill(rv, C, 15, 0.5f, 1.5f);
    th_bn_ctx ctx = {.affine = affine, .momentum = 0.1f, .eps = 1e-5f};
    th_gradcheck gc = {.name = name, .forward = th_bn_forward, .ctx = &ctx, .training = training};
    if (affine) {
        gc.n_in = 5;
        float *d[5] = {x, g, b, rm, rv};
        mtl_shape s[5] = {xs, MTL_SHAPE(C), MTL_SHAPE(C), MTL_SHAPE(C), MTL_SHAPE(C)};
        bool ck[5] = {1, 1, 1, 0, 0};
        for (int i = 0; i < 5; i++) gc.data[i] = d[i], gc.shape[i] = s[i], gc.check[i] = ck[i];
    } else {
        gc.n_in = 3;
        float *d[3] = {x, rm, rv};
        mtl_shape s[3] = {xs, MTL_SHAPE(C), MTL_SHAPE(C)};
        bool ck[3] = {1, 0, 0};
        for (int i = 0; i < 3; i++) gc.data[i] = d[i], gc.shape[i] = s[i], gc.check[i] = ck[i];
    }
    th_gradcheck_run(&gc);
    free(x);
}

static void gradcheck_batchnorm_train(void) {
    bn_gradcheck("bn train [4,3,5] affine", MTL_SHAPE(4, 3, 5), true, true);
    bn_gradcheck("bn train [4,3,5]", MTL_SHAPE(4, 3, 5), false, true);
    bn_gradcheck("bn train [6,5] affine", MTL_SHAPE(6, 5), true, true);
    bn_gradcheck("bn train [6,5]", MTL_SHAPE(6, 5), false, true);
    /* N*L = 2 (parity case bn_train_n2) is left out here: there xhat = +-d/sqrt(d^2 + 4 eps), d the
     * difference of the two values, which bends too sharply for central differences with step 1e-2 */
    bn_gradcheck("bn train [3,4,1] affine", MTL_SHAPE(3, 4, 1), true, true);
    bn_gradcheck("bn train [3,20,2] affine", MTL_SHAPE(3, 20, 2), true, true); /* channel blocks of 8 */
    bn_gradcheck("bn train [2,2,17] affine", MTL_SHAPE(2, 2, 17), true, true); /* one channel per block */
}

static void gradcheck_batchnorm_eval(void) {
    bn_gradcheck("bn eval [4,3,5] affine", MTL_SHAPE(4, 3, 5), true, false);
    bn_gradcheck("bn eval [4,3,5]", MTL_SHAPE(4, 3, 5), false, false);
    bn_gradcheck("bn eval [6,5] affine", MTL_SHAPE(6, 5), true, false);
    bn_gradcheck("bn eval [1,4] affine", MTL_SHAPE(1, 4), true, false); /* one value per channel is fine here */
}


static void parity_batchnorm(void) {
    mtl_st_file *f = th_fixture("ops_norm.safetensors");
    if (!f) return;
    th_bn_parity(f, "bn_train", true, false, false);
    th_bn_parity(f, "bn_train2d", true, false, false);
    th_bn_parity(f, "bn_train_noaffine", false, false, false);
    th_bn_parity(f, "bn_train_n2", true, false, false);
    th_bn_parity(f, "bn_train_wide", true, false, false);
    th_bn_parity(f, "bn_train_many", true, false, false);
    th_bn_parity(f, "bn_eval", true, true, false);
    th_bn_parity(f, "bn_eval_wide", false, true, false);
    th_bn_parity(f, "bn_eval2d_noaffine", false, true, false);
}

/* running statistics: exact update rule, untouched in evaluation, never given gradients */
static void batchnorm_running_stats(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[4 * 2 * 3], rm[2] = {0.25f, -1.0f}, rv[2] = {2.0f, 0.5f};
    th_fill(x, 24, 5, -1, 1);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(4, 2, 3), x);
    mtl_tensor *RM = mtl_tensor_wrap(t, MTL_SHAPE(2), rm), *RV = mtl_tensor_wrap(t, MTL_SHAPE(2), rv);
    mtl_tensor_requires_grad(X);
    mtl_tensor_requires_grad(RM); /* a caller's mistake: still no gradient for buffers */
    mtl_tensor_requires_grad(RV);
    mtl_tensor *y = mtl_batchnorm(t, X, NULL, NULL, RM, RV, 0.25f, 1e-5f);
    CHECK(y != NULL, "%s", mtl_last_error());
    for (int c = 0; c < 2; c++) { /* double reference */
        double m = 0, v = 0;
        for (int i = 0; i < 4; i++)
            for (int l = 0; l < 3; l++) m += x[(i * 2 + c) * 3 + l];
        m /= 12;
        for (int i = 0; i < 4; i++)
            for (int l = 0; l < 3; l++) v += (x[(i * 2 + c) * 3 + l] - m) * (x[(i * 2 + c) * 3 + l] - m);
        double rm0 = c ? -1.0 : 0.25, rv0 = c ? 0.5 : 2.0;
        CHECK_CLOSE(rm[c], 0.75 * rm0 + 0.25 * m, 1e-7, 1e-6, "running_mean");
        CHECK_CLOSE(rv[c], 0.75 * rv0 + 0.25 * v / 11, 1e-7, 1e-6, "running_var (unbiased)");
        /* the output uses the biased variance */
        for (int i = 0; i < 4; i++)
            for (int l = 0; l < 3; l++) {
                int j = (i * 2 + c) * 3 + l;
                CHECK_CLOSE(y->data[j], (x[j] - m) / sqrt(v / 12 + 1e-5), 1e-6, 1e-5, "output");
            }
    }
    float dy[24];
    th_fill(dy, 24, 6, -1, 1);
    CHECK_OK(mtl_backward_from(t, y, dy));
    CHECK(X->grad != NULL, "x got no gradient");
    CHECK(RM->grad == NULL && RV->grad == NULL, "running statistics got a gradient");

    /* evaluation: normalise with the running statistics, leave them alone */
    mtl_tape_reset(t);
    mtl_tape_set_training(t, false);
    float rm1[2] = {rm[0], rm[1]}, rv1[2] = {rv[0], rv[1]}, g[2] = {2.0f, -0.5f}, b[2] = {0.5f, 1.0f};
    X = mtl_tensor_wrap(t, MTL_SHAPE(4, 2, 3), x);
    RM = mtl_tensor_wrap(t, MTL_SHAPE(2), rm), RV = mtl_tensor_wrap(t, MTL_SHAPE(2), rv);
    y = mtl_batchnorm(t, X, mtl_tensor_wrap(t, MTL_SHAPE(2), g), mtl_tensor_wrap(t, MTL_SHAPE(2), b), RM, RV, 0.25f,
                      1e-3f);
    CHECK(y != NULL, "%s", mtl_last_error());
    CHECK(rm[0] == rm1[0] && rm[1] == rm1[1] && rv[0] == rv1[0] && rv[1] == rv1[1], "eval changed running stats");
    for (int j = 0; j < 24 && y; j++) {
        int c = (j / 3) % 2;
        CHECK_CLOSE(y->data[j], (x[j] - rm[c]) / sqrt(rv[c] + 1e-3) * g[c] + b[c], 1e-6, 1e-5, "eval output");
    }
    /* training without recording (no-grad) still updates the running statistics */
    mtl_tape_reset(t);
    mtl_tape_set_training(t, true);
    mtl_tape_set_recording(t, false);
    X = mtl_tensor_wrap(t, MTL_SHAPE(4, 2, 3), x);
    RM = mtl_tensor_wrap(t, MTL_SHAPE(2), rm), RV = mtl_tensor_wrap(t, MTL_SHAPE(2), rv);
    CHECK(mtl_batchnorm(t, X, NULL, NULL, RM, RV, 0.5f, 1e-5f) != NULL, "%s", mtl_last_error());
    CHECK(rm[0] != rm1[0] && rv[0] != rv1[0], "no-grad training did not update running stats");
    CHECK(mtl_tape_nodes(t) == 0, "no-grad recorded a node");
    mtl_tape_free(t);
}

/* statistics in double: a large offset must not cost accuracy */
static void batchnorm_large_mean(void) {
    enum { N = 64, C = 3, L = 40 };
    static float x[N * C * L];
    th_fill(x, N * C * L, 21, -1, 1);
    for (int i = 0; i < N * C * L; i++) x[i] += 1000.0f;
    float rm[C] = {0}, rv[C] = {1, 1, 1};
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *y = mtl_batchnorm(t, mtl_tensor_wrap(t, MTL_SHAPE(N, C, L), x), NULL, NULL,
                                  mtl_tensor_wrap(t, MTL_SHAPE(C), rm), mtl_tensor_wrap(t, MTL_SHAPE(C), rv), 0.1f, 1e-5f);
    CHECK(y != NULL, "%s", mtl_last_error());
    for (int c = 0; c < C && y; c++) {
        double m = 0, v = 0;
        for (int i = 0; i < N; i++)
            for (int l = 0; l < L; l++) m += x[(i * C + c) * L + l];
        m /= N * L;
        for (int i = 0; i < N; i++)
            for (int l = 0; l < L; l++) v += pow(x[(i * C + c) * L + l] - m, 2);
        v /= N * L;
        double worst = 0;
        for (int i = 0; i < N; i++)
            for (int l = 0; l < L; l++) {
                int j = (i * C + c) * L + l;
                worst = fmax(worst, fabs(y->data[j] - (x[j] - m) / sqrt(v + 1e-5)));
            }
        CHECK(worst < 1e-4, "channel %d: max error %g with mean 1000", c, worst);
        CHECK_CLOSE(rm[c], 0.1 * m, 1e-6, 1e-6, "running_mean");
    }
    mtl_tape_free(t);
}

/* the wide run sums (float lanes flushed into double): the AVX-512 kernels give the bits of
 * the portable loop (both orders of the lanes and the flushes), and the sums are accurate */
static void batchnorm_run_sums(void) {
    static const int lens[] = {16, 17, 31, 100, 2048, 4095, 4096, 4097, 9000, 100000};
    static float r[100000], w[100000];
    for (size_t q = 0; q < sizeof lens / sizeof lens[0]; q++) {
        int L = lens[q];
        th_fill(r, L, 31 + q, -1, 1);
        th_fill(w, L, 41 + q, 999, 1001);
        double k = r[0], m = 1000.0 + 1.0 / 3.0; /* m: not a float value, as a batch mean */
        double s1 = 0.5, s2 = 0.25, p1 = 0.5, p2 = 0.25, d1 = 1.5, d2 = -2.0, e1 = 1.5, e2 = -2.0;
        mtl__bn_lanes_portable(r, NULL, L, k, &p1, &p2);
        mtl__bn_lanes_portable(r, w, L, m, &e1, &e2);
        if (mtl__bn_run_sums(r, L, k, &s1, &s2)) {
            CHECK(s1 == p1 && s2 == p2, "L %d: AVX-512 sums %.17g %.17g, portable %.17g %.17g", L, s1, s2, p1, p2);
            CHECK(mtl__bn_run_dsums(r, w, L, m, &d1, &d2), "L %d: dsums", L);
            CHECK(d1 == e1 && d2 == e2, "L %d: AVX-512 dsums %.17g %.17g, portable %.17g %.17g", L, d1, d2, e1, e2);
        }
        double a = 0.5, b = 0.25, c = 1.5, d = -2.0;
        for (int l = 0; l < L; l++) {
            a += (double)r[l] - k, b += ((double)r[l] - k) * ((double)r[l] - k);
            c += r[l], d += (double)r[l] * ((double)w[l] - m);
        }
        char what[64];
        snprintf(what, sizeof what, "L %d: sums of d, d^2, dy, dy (x - m)", L);
        CHECK_CLOSE(p1, a, 1e-9 * L, 1e-6, what);
        CHECK_CLOSE(p2, b, 1e-9 * L, 1e-6, what);
        CHECK_CLOSE(e1, c, 1e-9 * L, 1e-6, what);
        CHECK_CLOSE(e2, d, 1e-9 * L, 1e-5, what);
    }
}

/* forward and backward give identical bits with 1 and 2 threads */
static void bn_run(mtl_shape xs, int threads, float *y_out, float *dx_out, float *dg_out) {
    mtl_set_threads(threads);
    int64_t n = mtl_shape_size(xs);
    int C = xs.d[1];
    float *x = malloc((size_t)n * sizeof *x), *dy = malloc((size_t)n * sizeof *dy);
    float *g = malloc((size_t)C * sizeof *g), *b = malloc((size_t)C * sizeof *b);
    float *rm = calloc((size_t)C, sizeof *rm), *rv = malloc((size_t)C * sizeof *rv);
    th_fill(x, n, 31, -2, 3), th_fill(dy, n, 32, -1, 1), th_fill(g, C, 33, 0.5f, 1.5f), th_fill(b, C, 34, -1, 1);
    for (int c = 0; c < C; c++) rv[c] = 1.0f;
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *X = mtl_tensor_wrap(t, xs, x), *G = mtl_tensor_wrap(t, MTL_SHAPE(C), g);
    mtl_tensor_requires_grad(X);
    mtl_tensor_requires_grad(G);
    mtl_tensor *y = mtl_batchnorm(t, X, G, mtl_tensor_wrap(t, MTL_SHAPE(C), b), mtl_tensor_wrap(t, MTL_SHAPE(C), rm),
                                  mtl_tensor_wrap(t, MTL_SHAPE(C), rv), 0.1f, 1e-5f);
    CHECK(y != NULL, "%s", mtl_last_error());
    if (y) {
        CHECK_OK(mtl_backward_from(t, y, dy));
        memcpy(y_out, y->data, (size_t)n * sizeof *y_out);
        if (X->grad) memcpy(dx_out, X->grad, (size_t)n * sizeof *dx_out);
        if (G->grad) memcpy(dg_out, G->grad, (size_t)C * sizeof *dg_out);
    }
    mtl_tape_free(t);
    free(x), free(dy), free(g), free(b), free(rm), free(rv);
}

static void batchnorm_threads(void) {
    int keep = mtl_get_threads();
    mtl_shape shapes[2] = {MTL_SHAPE(50, 16, 256), MTL_SHAPE(1024, 72)};
    for (int k = 0; k < 2; k++) {
        int64_t n = mtl_shape_size(shapes[k]);
        int C = shapes[k].d[1];
        float *y1 = calloc((size_t)n, 4), *y2 = calloc((size_t)n, 4), *dx1 = calloc((size_t)n, 4),
              *dx2 = calloc((size_t)n, 4), *dg1 = calloc((size_t)C, 4), *dg2 = calloc((size_t)C, 4);
        bn_run(shapes[k], 1, y1, dx1, dg1);
        bn_run(shapes[k], 2, y2, dx2, dg2);
        CHECK(memcmp(y1, y2, (size_t)n * 4) == 0, "shape %d: output depends on the thread count", k);
        CHECK(memcmp(dx1, dx2, (size_t)n * 4) == 0, "shape %d: dx depends on the thread count", k);
        CHECK(memcmp(dg1, dg2, (size_t)C * 4) == 0, "shape %d: dgamma depends on the thread count", k);
        free(y1), free(y2), free(dx1), free(dx2), free(dg1), free(dg2);
    }
    mtl_set_threads(keep);
}

/* gamma/beta as parameters and running statistics as buffers of an mtl_params block */
static void batchnorm_params(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *g = mtl_param_add(P, "bn.weight", MTL_OWNER_SHARED, MTL_SHAPE(3), (mtl_init){MTL_INIT_ONES, 0, 0});
    mtl_tensor *b = mtl_param_add(P, "bn.bias", MTL_OWNER_SHARED, MTL_SHAPE(3), MTL_INIT_Z);
    mtl_tensor *rm = mtl_buffer_add(P, "bn.running_mean", MTL_OWNER_SHARED, MTL_SHAPE(3), MTL_INIT_Z);
    mtl_tensor *rv = mtl_buffer_add(P, "bn.running_var", MTL_OWNER_SHARED, MTL_SHAPE(3), (mtl_init){MTL_INIT_ONES, 0, 0});
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[5 * 3 * 4];
    th_fill(x, 60, 41, -1, 1);
    /* before finalize the tensors have no data */
    CHECK(mtl_batchnorm(t, mtl_tensor_wrap(t, MTL_SHAPE(5, 3, 4), x), g, b, rm, rv, 0.1f, 1e-5f) == NULL,
          "unfinalized parameters accepted");
    CHECK(mtl_tape_status(t) == MTL_ERR_STATE, "status %s", mtl_status_name(mtl_tape_status(t)));
    CHECK_OK(mtl_params_finalize(P, 1));
    float *grad = mtl_params_grad(P);
    for (int i = 0; i < 6; i++) grad[i] = 1.0f; /* backward must add, not overwrite */
    for (int step = 0; step < 2; step++) {
        mtl_tape_reset(t);
        mtl_tensor *y = mtl_batchnorm(t, mtl_tensor_wrap(t, MTL_SHAPE(5, 3, 4), x), g, b, rm, rv, 0.1f, 1e-5f);
        CHECK(y != NULL, "%s", mtl_last_error());
        float dy[60];
        for (int i = 0; i < 60; i++) dy[i] = 1.0f;
        if (y) CHECK_OK(mtl_backward_from(t, y, dy));
    }
    /* d beta = sum dy = 20 per step; d gamma = sum xhat = 0 */
    for (int c = 0; c < 3; c++) {
        CHECK_CLOSE(b->grad[c], 41.0, 1e-4, 1e-6, "dbeta accumulated over two steps");
        CHECK_CLOSE(g->grad[c], 1.0, 1e-4, 1e-6, "dgamma accumulated");
    }
    CHECK(rm->data[0] != 0.0f && rv->data[0] != 1.0f, "buffers not updated");
    mtl_tape_free(t);
    mtl_params_free(P);
}

static void errors_batchnorm(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[2 * 3 * 4] = {0}, v3[3] = {1, 1, 1}, v4[4] = {1, 1, 1, 1};
    float x1[3] = {1, 2, 3}, x4[24] = {0};
#define MK(shape, d) mtl_tensor_wrap(t, shape, d)
#define EXPECT(call, code, what)                                                                                     \
    do {                                                                                                             \
        mtl_tape_reset(t);                                                                                           \
        mtl_tensor *X = MK(MTL_SHAPE(2, 3, 4), x), *V = MK(MTL_SHAPE(3), v3), *W = MK(MTL_SHAPE(4), v4);            \
        (void)X, (void)V, (void)W;                                                                                   \
        CHECK((call) == NULL, "%s accepted", what);                                                                  \
        CHECK(mtl_tape_status(t) == (code), "%s: status %s, want %s", what, mtl_status_name(mtl_tape_status(t)),    \
              mtl_status_name(code));                                                                                \
        CHECK(strstr(mtl_tape_error(t), "batchnorm") != NULL, "%s: message '%s' does not name the op", what,         \
              mtl_tape_error(t));                                                                                    \
    } while (0)
    EXPECT(mtl_batchnorm(t, NULL, V, V, V, V, 0.1f, 1e-5f), MTL_ERR_ARG, "NULL x");
    EXPECT(mtl_batchnorm(t, X, V, V, NULL, V, 0.1f, 1e-5f), MTL_ERR_ARG, "NULL running_mean");
    EXPECT(mtl_batchnorm(t, X, V, V, V, NULL, 0.1f, 1e-5f), MTL_ERR_ARG, "NULL running_var");
    EXPECT(mtl_batchnorm(t, X, V, NULL, V, V, 0.1f, 1e-5f), MTL_ERR_ARG, "gamma without beta");
    EXPECT(mtl_batchnorm(t, X, NULL, V, V, V, 0.1f, 1e-5f), MTL_ERR_ARG, "beta without gamma");
    EXPECT(mtl_batchnorm(t, MK(MTL_SHAPE(24), x), NULL, NULL, V, V, 0.1f, 1e-5f), MTL_ERR_SHAPE, "1-d x");
    EXPECT(mtl_batchnorm(t, MK(MTL_SHAPE(1, 2, 3, 4), x), NULL, NULL, V, V, 0.1f, 1e-5f), MTL_ERR_SHAPE, "4-d x");
    EXPECT(mtl_batchnorm(t, X, W, W, V, V, 0.1f, 1e-5f), MTL_ERR_SHAPE, "gamma [4] for 3 channels");
    EXPECT(mtl_batchnorm(t, X, V, W, V, V, 0.1f, 1e-5f), MTL_ERR_SHAPE, "beta [4] for 3 channels");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, W, V, 0.1f, 1e-5f), MTL_ERR_SHAPE, "running_mean [4]");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, V, W, 0.1f, 1e-5f), MTL_ERR_SHAPE, "running_var [4]");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, MK(MTL_SHAPE(3, 1), v3), V, 0.1f, 1e-5f), MTL_ERR_SHAPE,
           "running_mean [3,1]");
    EXPECT(mtl_batchnorm(t, MK(MTL_SHAPE(4, 6), x4), NULL, NULL, V, V, 0.1f, 1e-5f), MTL_ERR_SHAPE,
           "x [4,6] with [3] stats");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, V, V, -0.1f, 1e-5f), MTL_ERR_ARG, "momentum -0.1");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, V, V, 1.5f, 1e-5f), MTL_ERR_ARG, "momentum 1.5");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, V, V, NAN, 1e-5f), MTL_ERR_ARG, "momentum NaN");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, V, V, 0.1f, -1e-5f), MTL_ERR_ARG, "eps < 0");
    EXPECT(mtl_batchnorm(t, X, NULL, NULL, V, V, 0.1f, INFINITY), MTL_ERR_ARG, "eps inf");
    /* training needs more than one value per channel (PyTorch's rule) */
    EXPECT(mtl_batchnorm(t, MK(MTL_SHAPE(1, 3), x1), NULL, NULL, V, V, 0.1f, 1e-5f), MTL_ERR_SHAPE, "x [1,3] training");
    EXPECT(mtl_batchnorm(t, MK(MTL_SHAPE(1, 3, 1), x1), V, V, V, V, 0.1f, 1e-5f), MTL_ERR_SHAPE,
           "x [1,3,1] training");
    CHECK(strstr(mtl_tape_error(t), "more than 1 value") != NULL, "message: %s", mtl_tape_error(t));
#undef EXPECT
    /* ... which evaluation does not */
    mtl_tape_reset(t);
    mtl_tape_set_training(t, false);
    float rm[3] = {0, 0, 0}, rv[3] = {1, 1, 1};
    mtl_tensor *y = mtl_batchnorm(t, MK(MTL_SHAPE(1, 3), x1), NULL, NULL, MK(MTL_SHAPE(3), rm), MK(MTL_SHAPE(3), rv),
                                  0.1f, 1e-5f);
    CHECK(y != NULL, "eval [1,3] refused: %s", mtl_tape_error(t));
    /* [1,3,2] in training has 2 values per channel */
    mtl_tape_reset(t);
    mtl_tape_set_training(t, true);
    CHECK(mtl_batchnorm(t, MK(MTL_SHAPE(1, 3, 2), x4), NULL, NULL, MK(MTL_SHAPE(3), rm), MK(MTL_SHAPE(3), rv), 0.1f,
                        1e-5f) != NULL,
          "[1,3,2] refused: %s", mtl_tape_error(t));
    /* the first error sticks */
    mtl_tape_reset(t);
    CHECK(mtl_batchnorm(t, MK(MTL_SHAPE(24), x), NULL, NULL, MK(MTL_SHAPE(3), rm), MK(MTL_SHAPE(3), rv), 0.1f, 1e-5f) ==
              NULL,
          "1-d accepted");
    CHECK(mtl_dropout(t, NULL, 0.5f) == NULL, "NULL accepted");
    CHECK(strstr(mtl_tape_error(t), "batchnorm") != NULL, "first error lost: %s", mtl_tape_error(t));
#undef MK
    CHECK(mtl_batchnorm(NULL, NULL, NULL, NULL, NULL, NULL, 0.1f, 1e-5f) == NULL, "NULL tape accepted");
    mtl_tape_free(t);
}

/* ---- dropout -------------------------------------------------------------------- */

static mtl_tensor *fw_dropout(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_dropout(t, in[0], *(float *)ctx); }

/* x is away from 0 so that y != 0 identifies the kept elements */
static void fill_nonzero(float *x, int64_t n, uint64_t seed) {
    th_fill(x, n, seed, 0.5f, 1.5f);
    for (int64_t i = 0; i < n; i += 2) x[i] = -x[i];
}

static void dropout_fraction_and_values(void) {
    enum { N = 100000 };
    float *x = malloc(N * sizeof *x);
    fill_nonzero(x, N, 51);
    float ps[3] = {0.2f, 0.5f, 0.8f};
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    for (int k = 0; k < 3; k++) {
        float p = ps[k];
        mtl_tape_reset(t);
        mtl_tape_set_seed(t, 7);
        mtl_tensor *y = mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE(100, 1000), x), p);
        CHECK(y != NULL, "%s", mtl_last_error());
        if (!y) continue;
        int kept = 0, bad = 0;
        for (int i = 0; i < N; i++) {
            if (y->data[i] != 0.0f) {
                kept++;
                if (y->data[i] != x[i] / (1.0f - p)) bad++;
            }
        }
        double frac = kept / (double)N;
        printf("     dropout p=%.1f: kept %.4f (expected %.4f)\n", p, frac, 1.0 - p);
        CHECK(fabs(frac - (1.0 - p)) < 0.01, "p=%g: kept fraction %g", p, frac);
        CHECK(bad == 0, "p=%g: %d values are neither x/(1-p) nor 0", p, bad);
    }
    mtl_tape_free(t);
    free(x);
}

static void dropout_backward_mask(void) {
    enum { N = 3000 };
    float x[N], dy[N];
    fill_nonzero(x, N, 52);
    th_fill(dy, N, 53, -1, 1);
    float p = 0.3f;
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(30, 100), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *y = mtl_dropout(t, X, p);
    CHECK(y != NULL, "%s", mtl_last_error());
    if (y) {
        CHECK_OK(mtl_backward_from(t, y, dy));
        int bad = 0;
        for (int i = 0; i < N && X->grad; i++) {
            float want = y->data[i] != 0.0f ? dy[i] / (1.0f - p) : 0.0f;
            if (X->grad[i] != want) bad++;
        }
        CHECK(X->grad != NULL && bad == 0, "%d gradients differ from dy * mask / (1-p)", bad);
    }
    mtl_tape_free(t);
}

static void gradcheck_dropout(void) {
    float x[4 * 5 * 6];
    fill_nonzero(x, 120, 54);
    float ps[2] = {0.3f, 0.0f};
    for (int k = 0; k < 2; k++) {
        th_gradcheck g = {.name = k ? "dropout p=0 (training)" : "dropout p=0.3 (training)", .n_in = 1, .data = {x},
                          .shape = {MTL_SHAPE(4, 5, 6)}, .check = {1}, .forward = fw_dropout, .ctx = &ps[k],
                          .training = true, .max_elems = 120};
        th_gradcheck_run(&g);
    }
    float p = 0.5f;
    th_gradcheck g = {.name = "dropout p=0.5 (eval)", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(120)},
                      .check = {1}, .forward = fw_dropout, .ctx = &p, .training = false};
    th_gradcheck_run(&g);
}

static void dropout_identity(void) {
    enum { N = 500 };
    float x[N], dy[N];
    fill_nonzero(x, N, 55);
    th_fill(dy, N, 56, -1, 1);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    for (int k = 0; k < 2; k++) { /* evaluation with p = 0.5; training with p = 0 */
        mtl_tape_reset(t);
        mtl_tape_set_training(t, k == 1);
        mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N), x);
        mtl_tensor_requires_grad(X);
        mtl_tensor *y = mtl_dropout(t, X, k ? 0.0f : 0.5f);
        CHECK(y != NULL && y != X, "no new tensor: %s", mtl_last_error());
        if (!y) continue;
        CHECK(memcmp(y->data, x, sizeof x) == 0, "case %d: not the identity", k);
        CHECK_OK(mtl_backward_from(t, y, dy));
        CHECK(X->grad && memcmp(X->grad, dy, sizeof dy) == 0, "case %d: gradient is not dy", k);
    }
    mtl_tape_free(t);
}

/* the keep mask (1/0) of dropout(p) of n ones under seed, after `skip` earlier calls */
static void dropout_mask(uint64_t seed, int threads, int skip, int64_t n, uint8_t *mask) {
    mtl_set_threads(threads);
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f;
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tape_set_seed(t, seed);
    mtl_tensor *y = NULL;
    for (int s = 0; s <= skip; s++) y = mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE((int)n), x), 0.5f);
    CHECK(y != NULL, "%s", mtl_last_error());
    for (int64_t i = 0; i < n; i++) mask[i] = y && y->data[i] != 0.0f;
    mtl_tape_free(t);
    free(x);
}

static void dropout_seeds(void) {
    int keep = mtl_get_threads();
    enum { N = 200003 }; /* large enough for 2 threads, not a multiple of the chunk */
    uint8_t *a = malloc(N), *b = malloc(N), *c = malloc(N), *d = malloc(N), *e = malloc(N);
    dropout_mask(1, 1, 0, N, a);
    dropout_mask(1, 2, 0, N, b);
    dropout_mask(2, 2, 0, N, c);
    dropout_mask(1, 2, 1, N, d);
    dropout_mask(1, 1, 1, N, e);
    CHECK(memcmp(a, b, N) == 0, "same seed, 1 and 2 threads: different masks");
    CHECK(memcmp(a, c, N) != 0, "different seeds: same mask");
    CHECK(memcmp(a, d, N) != 0, "second dropout of a step: same mask as the first");
    CHECK(memcmp(d, e, N) == 0, "second dropout: depends on the thread count");
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == c[i];
    CHECK(fabs(same / (double)N - 0.5) < 0.01, "seeds 1 and 2 agree on %d of %d (correlated)", same, N);
    /* a new step (reset) draws a new mask; the same seed and step repeat it */
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[256];
    for (int i = 0; i < 256; i++) x[i] = 1.0f;
    float y1[256], y2[256], y3[256];
    mtl_tape_set_seed(t, 9);
    mtl_tape_reset(t);
    mtl_tensor *y = mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE(256), x), 0.5f);
    if (y) memcpy(y1, y->data, sizeof y1);
    mtl_tape_reset(t);
    y = mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE(256), x), 0.5f);
    if (y) memcpy(y2, y->data, sizeof y2);
    mtl_tape_set_seed(t, 9);
    mtl_tape_reset(t);
    y = mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE(256), x), 0.5f);
    if (y) memcpy(y3, y->data, sizeof y3);
    CHECK(y != NULL, "%s", mtl_last_error());
    CHECK(memcmp(y1, y2, sizeof y1) != 0, "the next step repeats the mask");
    CHECK(memcmp(y1, y3, sizeof y1) == 0, "same seed and step: different mask");
    mtl_tape_free(t);
    free(a), free(b), free(c), free(d), free(e);
    mtl_set_threads(keep);
}

static void errors_dropout(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[4] = {1, 2, 3, 4};
    float bad_p[4] = {1.0f, -0.1f, 1.5f, NAN};
    for (int k = 0; k < 4; k++) {
        mtl_tape_reset(t);
        CHECK(mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE(4), x), bad_p[k]) == NULL, "p=%g accepted", bad_p[k]);
        CHECK(mtl_tape_status(t) == MTL_ERR_ARG, "p=%g: status %s", bad_p[k], mtl_status_name(mtl_tape_status(t)));
        CHECK(strstr(mtl_tape_error(t), "dropout") != NULL, "message '%s' does not name the op", mtl_tape_error(t));
    }
    /* evaluation checks p too */
    mtl_tape_reset(t);
    mtl_tape_set_training(t, false);
    CHECK(mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE(4), x), 1.0f) == NULL, "p=1 accepted in eval");
    mtl_tape_reset(t);
    CHECK(mtl_dropout(t, NULL, 0.5f) == NULL, "NULL x accepted");
    CHECK(mtl_tape_status(t) == MTL_ERR_ARG, "status %s", mtl_status_name(mtl_tape_status(t)));
    CHECK(strstr(mtl_tape_error(t), "dropout") != NULL, "message '%s'", mtl_tape_error(t));
    CHECK(mtl_dropout(NULL, NULL, 0.5f) == NULL, "NULL tape accepted");
    /* an empty tensor is fine */
    mtl_tape_reset(t);
    mtl_tape_set_training(t, true);
    mtl_tensor *y = mtl_dropout(t, mtl_tensor_wrap(t, MTL_SHAPE(0, 3), x), 0.5f);
    CHECK(y != NULL && y->size == 0, "empty input: %s", mtl_tape_error(t));
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_batchnorm_train);
    RUN(gradcheck_batchnorm_eval);
    RUN(parity_batchnorm);
    RUN(batchnorm_running_stats);
    RUN(batchnorm_large_mean);
    RUN(batchnorm_run_sums);
    RUN(batchnorm_threads);
    RUN(batchnorm_params);
    RUN(errors_batchnorm);
    RUN(gradcheck_dropout);
    RUN(dropout_fraction_and_values);
    RUN(dropout_backward_mask);
    RUN(dropout_identity);
    RUN(dropout_seeds);
    RUN(errors_dropout);
    return th_summary();
}
