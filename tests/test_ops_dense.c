/* linear, matmul, bmm: finite-difference gradient checks and PyTorch parity. */
#include <string.h>

#include "harness.h"

static mtl_tensor *fw_linear(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_linear(t, in[0], in[1], in[2]); }
static mtl_tensor *fw_linear_nobias(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_linear(t, in[0], in[1], NULL); }
static mtl_tensor *fw_linear_relu(mtl_tape *t, mtl_tensor **in, void *ctx) {
    return mtl_linear_relu(t, in[0], in[1], in[2]);
}
static mtl_tensor *fw_matmul(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_matmul(t, in[0], in[1]); }
static mtl_tensor *fw_bmm(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const bool *tr = ctx;
    return mtl_bmm(t, in[0], in[1], tr[0], tr[1]);
}

static void gradcheck_linear(void) {
    float x[5 * 7], w[4 * 7], b[4];
    th_fill(x, 35, 1, -1, 1), th_fill(w, 28, 2, -1, 1), th_fill(b, 4, 3, -1, 1);
    th_gradcheck g = {.name = "linear", .n_in = 3, .data = {x, w, b},
                      .shape = {MTL_SHAPE(5, 7), MTL_SHAPE(4, 7), MTL_SHAPE(4)}, .check = {1, 1, 1},
                      .forward = fw_linear};
    th_gradcheck_run(&g);
    th_gradcheck g2 = {.name = "linear (no bias, 3-d input)", .n_in = 2, .data = {x, w},
                       .shape = {MTL_SHAPE(5, 1, 7), MTL_SHAPE(4, 7)}, .check = {1, 1}, .forward = fw_linear_nobias};
    th_gradcheck_run(&g2);
    th_fill(b, 4, 13, -0.3f, 0.3f); /* some outputs below 0, some above */
    th_gradcheck g3 = {.name = "linear_relu", .n_in = 3, .data = {x, w, b},
                       .shape = {MTL_SHAPE(5, 7), MTL_SHAPE(4, 7), MTL_SHAPE(4)}, .check = {1, 1, 1},
                       .forward = fw_linear_relu};
    th_gradcheck_run(&g3);
}

/* linear_relu against relu(linear): the same bits forward and backward, with x used a second
 * time (its gradient then accumulates) and without; some outputs are cut by the relu */
static void linear_relu_matches(void) {
    enum { N = 37, IN = 19, OUT = 23 };
    static float x[N * IN], w[OUT * IN], b[OUT], dy[N * OUT], r[2][4][N * IN];
    th_fill(x, N * IN, 21, -1, 1), th_fill(w, OUT * IN, 22, -0.5f, 0.5f), th_fill(b, OUT, 23, -0.5f, 0.5f);
    th_fill(dy, N * OUT, 24, -1, 1);
    for (int twice = 0; twice < 2; twice++) {
        int cut = 0;
        for (int fused = 0; fused < 2; fused++) {
            mtl_tape *t;
            CHECK_OK(mtl_tape_create(&t));
            mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N, IN), x), *W = mtl_tensor_wrap(t, MTL_SHAPE(OUT, IN), w);
            mtl_tensor *B = mtl_tensor_wrap(t, MTL_SHAPE(OUT), b);
            mtl_tensor_requires_grad(X), mtl_tensor_requires_grad(W), mtl_tensor_requires_grad(B);
            mtl_tensor *y = fused ? mtl_linear_relu(t, X, W, B) : mtl_relu(t, mtl_linear(t, X, W, B));
            if (twice && y) y = mtl_add(t, y, mtl_linear(t, X, W, NULL));
            CHECK(y != NULL, "%s", mtl_tape_error(t));
            if (y) {
                memcpy(r[fused][0], y->data, sizeof(float) * N * OUT);
                CHECK_OK(mtl_backward_from(t, y, dy));
                memcpy(r[fused][1], X->grad, sizeof x), memcpy(r[fused][2], W->grad, sizeof w);
                memcpy(r[fused][3], B->grad, sizeof b);
                if (!twice && fused)
                    for (int i = 0; i < N * OUT; i++) cut += y->data[i] == 0.0f;
            }
            mtl_tape_free(t);
        }
        static const char *what[4] = {"y", "dx", "dw", "db"};
        static const int n[4] = {N * OUT, N * IN, OUT * IN, OUT};
        for (int k = 0; k < 4; k++) CHECK(memcmp(r[0][k], r[1][k], sizeof(float) * n[k]) == 0, "%s differs (x used %s)",
                                          what[k], twice ? "twice" : "once");
        if (!twice) CHECK(cut > N * OUT / 10 && cut < N * OUT, "%d of %d outputs cut by the relu", cut, N * OUT);
    }
}

static void gradcheck_matmul(void) {
    float a[3 * 5], b[5 * 4];
    th_fill(a, 15, 4, -1, 1), th_fill(b, 20, 5, -1, 1);
    th_gradcheck g = {.name = "matmul", .n_in = 2, .data = {a, b}, .shape = {MTL_SHAPE(3, 5), MTL_SHAPE(5, 4)},
                      .check = {1, 1}, .forward = fw_matmul};
    th_gradcheck_run(&g);
}

static void gradcheck_bmm(void) {
    float a[2 * 3 * 4], b[2 * 4 * 5];
    th_fill(a, 24, 6, -1, 1), th_fill(b, 40, 7, -1, 1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            bool tr[2] = {ta, tb};
            char name[32];
            snprintf(name, sizeof name, "bmm ta=%d tb=%d", ta, tb);
            th_gradcheck g = {.name = name, .n_in = 2, .data = {a, b},
                              .shape = {ta ? MTL_SHAPE(2, 4, 3) : MTL_SHAPE(2, 3, 4), tb ? MTL_SHAPE(2, 5, 4) : MTL_SHAPE(2, 4, 5)},
                              .check = {1, 1}, .forward = fw_bmm, .ctx = tr};
            th_gradcheck_run(&g);
        }
}

static void parity_dense(void) {
    mtl_st_file *f = th_fixture("ops_dense.safetensors");
    if (!f) return;
    static const char *lin[] = {"x", "w", "b"}, *ab[] = {"a", "b"};
    th_parity_case(f, "linear", 3, lin, fw_linear, NULL, 1e-5, 1e-4);
    th_parity_case(f, "matmul", 2, ab, fw_matmul, NULL, 1e-5, 1e-4);
    bool tr00[2] = {0, 0}, tr11[2] = {1, 1}, tr01[2] = {0, 1};
    th_parity_case(f, "bmm", 2, ab, fw_bmm, tr00, 1e-5, 1e-4);
    th_parity_case(f, "bmm_tt", 2, ab, fw_bmm, tr11, 1e-5, 1e-4);
    th_parity_case(f, "bmm_scores", 2, ab, fw_bmm, tr01, 1e-5, 1e-4);
}

static void errors_dense(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[6] = {0}, w[6] = {0};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 3), x), *W = mtl_tensor_wrap(t, MTL_SHAPE(3, 2), w);
    CHECK(mtl_linear(t, X, W, NULL) == NULL, "shape mismatch accepted");
    CHECK(mtl_tape_status(t) == MTL_ERR_SHAPE, "status %d", mtl_tape_status(t));
    CHECK(strstr(mtl_last_error(), "linear") != NULL, "message '%s' does not name the op", mtl_last_error());
    /* the first error sticks; later ops given NULL return NULL */
    CHECK(mtl_matmul(t, NULL, W) == NULL, "NULL input accepted");
    CHECK(strstr(mtl_tape_error(t), "linear") != NULL, "first error lost: %s", mtl_tape_error(t));
    mtl_tape_reset(t);
    CHECK(mtl_tape_status(t) == MTL_OK, "reset keeps the error");
    CHECK(mtl_matmul(t, X, X) == NULL, "matmul [2,3]x[2,3] accepted");
    mtl_tape_reset(t);
    CHECK(mtl_bmm(t, X, W, false, false) == NULL, "bmm of 2-d accepted");
    CHECK(mtl_linear(NULL, X, W, NULL) == NULL, "NULL tape accepted");
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_linear);
    RUN(linear_relu_matches);
    RUN(gradcheck_matmul);
    RUN(gradcheck_bmm);
    RUN(parity_dense);
    RUN(errors_dense);
    return th_summary();
}
