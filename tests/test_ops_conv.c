/* conv1d, maxpool1d: finite-difference gradient checks, PyTorch parity, a plain-loop
 * reference at sizes that take the multi-threaded paths, determinism, gradient
 * accumulation and error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct {
    int stride, pad;
} conv_args;
typedef struct {
    int kernel, stride;
} pool_args;

static mtl_tensor *fw_conv(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const conv_args *a = ctx;
    return mtl_conv1d(t, in[0], in[1], in[2], a->stride, a->pad);
}
static mtl_tensor *fw_conv_nobias(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const conv_args *a = ctx;
    return mtl_conv1d(t, in[0], in[1], NULL, a->stride, a->pad);
}
/* x is also the weight: both gradients add into the same buffer */
static mtl_tensor *fw_conv_self(mtl_tape *t, mtl_tensor **in, void *ctx) {
    return mtl_conv1d(t, in[0], in[0], NULL, 1, 0);
}
static mtl_tensor *fw_pool(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const pool_args *a = ctx;
    return mtl_maxpool1d(t, in[0], a->kernel, a->stride);
}

/* ---- gradient checks ------------------------------------------------------------ */

typedef struct {
    const char *name;
    int N, Cin, Cout, L, K, stride, pad;
    bool bias;
} conv_case;

static const conv_case GRAD_CASES[] = {
    {"conv k1", 2, 3, 4, 6, 1, 1, 0, true},
    {"conv k3 pad1", 2, 3, 2, 8, 3, 1, 1, true},
    {"conv k5 stride2 pad2", 2, 2, 3, 11, 5, 2, 2, true},
    {"conv k7 pad3 Cin=1", 2, 1, 3, 10, 7, 1, 3, true},
    {"conv no bias", 2, 3, 2, 7, 3, 1, 0, false},
    {"conv pad beyond need", 2, 2, 2, 5, 3, 1, 4, true},
    {"conv k1 stride2", 2, 3, 2, 9, 1, 2, 0, true},
    {"conv k4 stride3 (tail dropped)", 2, 2, 2, 12, 4, 3, 0, true},
};

static void gradcheck_conv(void) {
    for (size_t c = 0; c < sizeof GRAD_CASES / sizeof *GRAD_CASES; c++) {
        const conv_case *k = &GRAD_CASES[c];
        int nx = k->N * k->Cin * k->L, nw = k->Cout * k->Cin * k->K;
        float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), b[8];
        th_fill(x, nx, 10 + c, -1, 1), th_fill(w, nw, 20 + c, -1, 1), th_fill(b, k->Cout, 30 + c, -1, 1);
        conv_args a = {k->stride, k->pad};
        th_gradcheck g = {.name = k->name, .n_in = k->bias ? 3 : 2, .data = {x, w, b},
                          .shape = {MTL_SHAPE(k->N, k->Cin, k->L), MTL_SHAPE(k->Cout, k->Cin, k->K), MTL_SHAPE(k->Cout)},
                          .check = {1, 1, 1}, .forward = k->bias ? fw_conv : fw_conv_nobias, .ctx = &a};
        th_gradcheck_run(&g);
        free(x), free(w);
    }
}

/* distinct values at least 0.07 apart (a shuffled arithmetic sequence), so the
 * finite-difference step (1e-2) never moves a window's argmax */
static void fill_distinct(float *x, int n, uint64_t seed) {
    int32_t *perm = malloc(n * sizeof *perm);
    mtl_rng r;
    mtl_rng_init(&r, seed, 0);
    CHECK_OK(mtl_rng_permutation(&r, perm, n));
    for (int i = 0; i < n; i++) x[i] = -2.0f + 0.07f * (float)perm[i];
    free(perm);
}

static void gradcheck_maxpool(void) {
    static const struct {
        const char *name;
        int N, C, L, kernel, stride;
    } cases[] = {
        {"maxpool k4 s4", 2, 3, 16, 4, 4},
        {"maxpool k2 s2 (odd L)", 2, 3, 11, 2, 2},
        {"maxpool k3 s2 (overlap)", 2, 2, 13, 3, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int n = cases[c].N * cases[c].C * cases[c].L;
        float *x = malloc(n * sizeof *x);
        fill_distinct(x, n, 40 + c);
        pool_args a = {cases[c].kernel, cases[c].stride};
        th_gradcheck g = {.name = cases[c].name, .n_in = 1, .data = {x},
                          .shape = {MTL_SHAPE(cases[c].N, cases[c].C, cases[c].L)}, .check = {1},
                          .forward = fw_pool, .ctx = &a, .max_elems = 128};
        th_gradcheck_run(&g);
        free(x);
    }
}

/* ---- PyTorch parity (tests/parity/gen_ops_conv.py) ------------------------------ */

static void parity_conv(void) {
    mtl_st_file *f = th_fixture("ops_conv.safetensors");
    if (!f) return;
    static const struct {
        const char *name;
        int stride, pad;
        bool bias;
    } cases[] = {
        {"conv_k1", 1, 0, true},        {"conv_k3p1", 1, 1, true},    {"conv_k5s2p2", 2, 2, true},
        {"conv_k7p3_cin1", 1, 3, true}, {"conv_nobias", 1, 0, false}, {"conv_bigpad", 1, 4, true},
        {"conv_k1s2", 2, 0, true},      {"conv_k4s3", 3, 0, true},    {"conv_k12s2p5", 2, 5, true},
        {"conv_k16s4p6", 4, 6, true},
    };
    static const char *xwb[] = {"x", "w", "b"}, *xs[] = {"x"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        conv_args a = {cases[c].stride, cases[c].pad};
        th_parity_case(f, cases[c].name, cases[c].bias ? 3 : 2, xwb, cases[c].bias ? fw_conv : fw_conv_nobias, &a,
                       1e-5, 1e-4);
    }
    th_parity_case(f, "conv_self", 1, xs, fw_conv_self, NULL, 1e-5, 1e-4);
}

static void parity_maxpool(void) {
    mtl_st_file *f = th_fixture("ops_conv.safetensors");
    if (!f) return;
    static const struct {
        const char *name;
        int kernel, stride;
    } cases[] = {
        {"pool_k4s4", 4, 4}, {"pool_k2s2", 2, 2}, {"pool_k3s2", 3, 2}, {"pool_k5s1", 5, 1},
        {"pool_ties_k3s2", 3, 2}, {"pool_ties_k4s4", 4, 4}, /* equal maxima: the first one gets dy */
    };
    static const char *xs[] = {"x"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        pool_args a = {cases[c].kernel, cases[c].stride};
        th_parity_case(f, cases[c].name, 1, xs, fw_pool, &a, 1e-6, 1e-6);
    }
}

/* ---- plain-loop reference at sizes that use the threaded paths ------------------- */

typedef struct {
    float *x, *w, *b, *dy;
    float *y, *dx, *dw, *db; /* results from mtl */
} conv_run;

/* forward + backward_from on a fresh tape; copies the output and gradients out */
static void run_conv(const conv_case *k, conv_run *r) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(k->N, k->Cin, k->L), r->x);
    mtl_tensor *W = mtl_tensor_wrap(t, MTL_SHAPE(k->Cout, k->Cin, k->K), r->w);
    mtl_tensor *B = k->bias ? mtl_tensor_wrap(t, MTL_SHAPE(k->Cout), r->b) : NULL;
    mtl_tensor_requires_grad(X), mtl_tensor_requires_grad(W), mtl_tensor_requires_grad(B);
    mtl_tensor *Y = mtl_conv1d(t, X, W, B, k->stride, k->pad);
    CHECK(Y != NULL, "%s: %s", k->name, mtl_tape_error(t));
    if (Y) {
        memcpy(r->y, Y->data, Y->size * sizeof(float));
        CHECK_OK(mtl_backward_from(t, Y, r->dy));
        memcpy(r->dx, X->grad, X->size * sizeof(float));
        memcpy(r->dw, W->grad, W->size * sizeof(float));
        if (B) memcpy(r->db, B->grad, B->size * sizeof(float));
    }
    mtl_tape_free(t);
}

/* compares n floats with a double-precision reference */
static void cmp_ref(const char *name, const char *what, const float *got, const double *ref, int n) {
    float *want = malloc((size_t)(n ? n : 1) * sizeof *want);
    for (int i = 0; i < n; i++) want[i] = (float)ref[i];
    char label[96];
    snprintf(label, sizeof label, "%s %s", name, what);
    th_compare(label, got, want, n, 1e-4, 1e-4);
    free(want);
}

static void reference_conv(void) {
    static const conv_case cases[] = {
        {"ref k7 pad3", 6, 4, 8, 300, 7, 1, 3, true},
        {"ref k3 no bias", 5, 8, 8, 128, 3, 1, 0, false},
        {"ref k1 direct", 6, 16, 32, 200, 1, 1, 0, true},
        {"ref k12 s2 p5", 4, 2, 16, 512, 12, 2, 5, true},
        {"ref k64 s16 p24", 4, 1, 16, 2048, 64, 16, 24, true},
        {"ref N=1 (parallel GEMM)", 1, 16, 16, 1024, 5, 1, 2, true},
        {"ref pad beyond need", 4, 8, 8, 100, 3, 2, 7, true},
        /* the direct stride-1 kernels (conv_fast.c): row and length tails, every kernel
         * size up to 7, padding from 0 to K-1, one sample split over threads */
        {"ref fast k5 Cout 13 L77", 3, 3, 13, 77, 5, 1, 2, true},
        {"ref fast k2 pad1", 4, 5, 9, 50, 2, 1, 1, true},
        {"ref fast k6 pad0 no bias", 3, 4, 6, 40, 6, 1, 0, false},
        {"ref fast k4 pad3", 3, 3, 10, 33, 4, 1, 3, true},
        {"ref fast k7 N=1", 1, 16, 24, 130, 7, 1, 3, true},
        {"ref fast k1 L20", 7, 9, 5, 20, 1, 1, 0, true},
        {"ref fast k3 pad1 Cin 1 L3", 5, 1, 3, 3, 3, 1, 1, true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const conv_case *k = &cases[c];
        int Lout = (k->L + 2 * k->pad - k->K) / k->stride + 1;
        int nx = k->N * k->Cin * k->L, nw = k->Cout * k->Cin * k->K, ny = k->N * k->Cout * Lout;
        conv_run r;
        float *buf = calloc(2 * nx + 2 * nw + 2 * ny + 2 * k->Cout, sizeof(float)), *p = buf;
        r.x = p, p += nx, r.w = p, p += nw, r.b = p, p += k->Cout, r.dy = p, p += ny;
        r.y = p, p += ny, r.dx = p, p += nx, r.dw = p, p += nw, r.db = p;
        th_fill(r.x, nx, 50 + c, -1, 1), th_fill(r.w, nw, 60 + c, -1, 1), th_fill(r.b, k->Cout, 70 + c, -1, 1);
        th_fill(r.dy, ny, 80 + c, -1, 1);
        run_conv(k, &r);

        double *ry = calloc(ny, sizeof *ry), *rdx = calloc(nx, sizeof *rdx), *rdw = calloc(nw, sizeof *rdw);
        double *rdb = calloc(k->Cout, sizeof *rdb);
        for (int n = 0; n < k->N; n++)
            for (int o = 0; o < k->Cout; o++)
                for (int j = 0; j < Lout; j++) {
                    size_t yi = ((size_t)n * k->Cout + o) * Lout + j;
                    double s = k->bias ? r.b[o] : 0.0, g = r.dy[yi];
                    for (int ci = 0; ci < k->Cin; ci++)
                        for (int q = 0; q < k->K; q++) {
                            int at = j * k->stride + q - k->pad;
                            if (at < 0 || at >= k->L) continue;
                            size_t xi = ((size_t)n * k->Cin + ci) * k->L + at, wi = ((size_t)o * k->Cin + ci) * k->K + q;
                            s += (double)r.w[wi] * r.x[xi];
                            rdx[xi] += g * r.w[wi];
                            rdw[wi] += g * r.x[xi];
                        }
                    ry[yi] = s;
                    rdb[o] += g;
                }
        cmp_ref(k->name, "y", r.y, ry, ny);
        cmp_ref(k->name, "dx", r.dx, rdx, nx);
        cmp_ref(k->name, "dw", r.dw, rdw, nw);
        if (k->bias) cmp_ref(k->name, "db", r.db, rdb, k->Cout);
        free(ry), free(rdx), free(rdw), free(rdb), free(buf);
    }
}

static void reference_maxpool(void) {
    const int N = 8, C = 16, L = 501, K = 3, S = 2, Lout = (L - K) / S + 1;
    int nx = N * C * L, ny = N * C * Lout;
    float *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy), *want = malloc(nx * sizeof *want);
    th_fill(x, nx, 90, -1, 1), th_fill(dy, ny, 91, -1, 1);
    for (int i = 0; i < nx; i += 7) x[i + 1 < nx ? i + 1 : i] = x[i]; /* some ties */
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N, C, L), x);
    mtl_tensor_requires_grad(X);
    mtl_tensor *Y = mtl_maxpool1d(t, X, K, S);
    CHECK(Y && Y->shape[2] == Lout, "maxpool1d failed: %s", mtl_tape_error(t));
    if (Y) {
        CHECK_OK(mtl_backward_from(t, Y, dy));
        memset(want, 0, nx * sizeof *want);
        int bad = 0;
        for (int r = 0; r < N * C; r++)
            for (int j = 0; j < Lout; j++) {
                const float *win = x + (size_t)r * L + j * S;
                int at = 0;
                for (int q = 1; q < K; q++)
                    if (win[q] > win[at]) at = q;
                bad += Y->data[(size_t)r * Lout + j] != win[at];
                want[(size_t)r * L + j * S + at] += dy[(size_t)r * Lout + j];
            }
        CHECK(bad == 0, "%d outputs differ from the window maxima", bad);
        th_compare("maxpool k3 s2 dx", X->grad, want, nx, 1e-6, 1e-6);
    }
    mtl_tape_free(t);
    free(x), free(dy), free(want);
}

/* inference (a tape that does not record) takes a max-only kernel: the same values,
 * NaN included, for the common (4, 4), (2, 2) and a general pooling */
static void maxpool_inference_matches(void) {
    enum { N = 3, C = 5, L = 203 };
    static float x[N * C * L];
    th_fill(x, N * C * L, 91, -1.0f, 1.0f);
    x[7] = NAN, x[9] = NAN, x[L + 20] = NAN, x[2 * L + 100] = INFINITY, x[3 * L + 5] = -INFINITY;
    static const int kinds[3][2] = {{4, 4}, {2, 2}, {3, 2}};
    for (int k = 0; k < 3; k++) {
        mtl_tape *t;
        CHECK_OK(mtl_tape_create(&t));
        mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N, C, L), x);
        mtl_tensor_requires_grad(X);
        mtl_tensor *A = mtl_maxpool1d(t, X, kinds[k][0], kinds[k][1]);
        mtl_tape_set_recording(t, false);
        mtl_tensor *B = mtl_maxpool1d(t, X, kinds[k][0], kinds[k][1]);
        CHECK(A && B && A->size == B->size, "pool %d: %s", k, mtl_tape_error(t));
        for (int64_t i = 0; A && B && i < A->size; i++) {
            bool same = isnan(A->data[i]) ? isnan(B->data[i]) : A->data[i] == B->data[i];
            if (!same) {
                CHECK(same, "pool (%d, %d) element %lld: %g vs %g", kinds[k][0], kinds[k][1], (long long)i,
                      A->data[i], B->data[i]);
                break;
            }
        }
        mtl_tape_free(t);
    }
}

/* ---- determinism and accumulation ------------------------------------------------ */

static void determinism_conv(void) {
    static const conv_case cases[] = {
        {"det k5 s2 p2", 12, 8, 16, 256, 5, 2, 2, true},
        {"det k1", 12, 16, 32, 128, 1, 1, 0, true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const conv_case *k = &cases[c];
        int Lout = (k->L + 2 * k->pad - k->K) / k->stride + 1;
        int nx = k->N * k->Cin * k->L, nw = k->Cout * k->Cin * k->K, ny = k->N * k->Cout * Lout;
        size_t per = 2 * (size_t)nx + 2 * nw + 2 * ny + 2 * k->Cout;
        float *buf = calloc(2 * per, sizeof(float));
        conv_run r[2];
        for (int rep = 0; rep < 2; rep++) {
            float *p = buf + rep * per;
            r[rep].x = p, p += nx, r[rep].w = p, p += nw, r[rep].b = p, p += k->Cout, r[rep].dy = p, p += ny;
            r[rep].y = p, p += ny, r[rep].dx = p, p += nx, r[rep].dw = p, p += nw, r[rep].db = p;
            th_fill(r[rep].x, nx, 1, -1, 1), th_fill(r[rep].w, nw, 2, -1, 1);
            th_fill(r[rep].b, k->Cout, 3, -1, 1), th_fill(r[rep].dy, ny, 4, -1, 1);
            run_conv(k, &r[rep]);
        }
        CHECK(memcmp(r[0].y, r[1].y, ny * sizeof(float)) == 0, "%s: outputs differ", k->name);
        CHECK(memcmp(r[0].dx, r[1].dx, nx * sizeof(float)) == 0, "%s: dx differs", k->name);
        CHECK(memcmp(r[0].dw, r[1].dw, nw * sizeof(float)) == 0, "%s: dw differs", k->name);
        CHECK(memcmp(r[0].db, r[1].db, k->Cout * sizeof(float)) == 0, "%s: db differs", k->name);
        free(buf);
    }
}

/* parameter gradients ADD: two backward passes give twice the gradient of one */
static void accumulate_conv(void) {
    const int N = 8, Cin = 8, Cout = 16, L = 256, K = 3;
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *W = mtl_param_add(P, "w", MTL_OWNER_SHARED, MTL_SHAPE(Cout, Cin, K), (mtl_init){MTL_INIT_UNIFORM, -1, 1});
    mtl_tensor *B = mtl_param_add(P, "b", MTL_OWNER_SHARED, MTL_SHAPE(Cout), (mtl_init){MTL_INIT_UNIFORM, -1, 1});
    CHECK_OK(mtl_params_finalize(P, 7));
    float *x = malloc(N * Cin * L * sizeof *x), *dy = malloc(N * Cout * L * sizeof *dy);
    th_fill(x, N * Cin * L, 5, -1, 1), th_fill(dy, N * Cout * L, 6, -1, 1);
    int64_t D = mtl_params_size(P);
    float *once = malloc(D * sizeof *once);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *Y = mtl_conv1d(t, mtl_tensor_wrap(t, MTL_SHAPE(N, Cin, L), x), W, B, 1, 1);
    CHECK(Y != NULL, "conv1d failed: %s", mtl_tape_error(t));
    if (Y) {
        mtl_params_zero_grad(P);
        CHECK_OK(mtl_backward_from(t, Y, dy));
        memcpy(once, mtl_params_grad(P), D * sizeof *once);
        CHECK_OK(mtl_backward_from(t, Y, dy));
        int bad = 0;
        for (int64_t i = 0; i < D; i++) bad += !th_close(mtl_params_grad(P)[i], 2.0 * once[i], 1e-5, 1e-5);
        CHECK(bad == 0, "%d of %lld gradient elements are not doubled", bad, (long long)D);
    }
    /* no recording: same output, nothing recorded */
    mtl_tape_reset(t);
    mtl_tape_set_recording(t, false);
    mtl_tensor *Y2 = mtl_conv1d(t, mtl_tensor_wrap(t, MTL_SHAPE(N, Cin, L), x), W, B, 1, 1);
    CHECK(Y2 != NULL && mtl_tape_nodes(t) == 0, "inference conv1d: %s", mtl_tape_error(t));
    mtl_tape_free(t);
    mtl_params_free(P);
    free(x), free(dy), free(once);
}

/* zero input channels: the output is the bias, db the sum of dy; nothing crashes */
static void degenerate_conv(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float xd[1] = {0}, wd[1] = {0}, bd[3] = {0.5f, -1.0f, 2.0f}, dy[2 * 3 * 5];
    for (int i = 0; i < 30; i++) dy[i] = 1.0f;
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 0, 5), xd), *W = mtl_tensor_wrap(t, MTL_SHAPE(3, 0, 3), wd);
    mtl_tensor *B = mtl_tensor_wrap(t, MTL_SHAPE(3), bd);
    mtl_tensor_requires_grad(X), mtl_tensor_requires_grad(W), mtl_tensor_requires_grad(B);
    mtl_tensor *Y = mtl_conv1d(t, X, W, B, 1, 1);
    CHECK(Y && Y->shape[0] == 2 && Y->shape[1] == 3 && Y->shape[2] == 5, "Cin=0: %s", mtl_tape_error(t));
    if (Y) {
        int bad = 0;
        for (int i = 0; i < 30; i++) bad += Y->data[i] != bd[(i / 5) % 3];
        CHECK(bad == 0, "Cin=0: %d outputs are not the bias", bad);
        CHECK_OK(mtl_backward_from(t, Y, dy));
        CHECK(B->grad && B->grad[0] == 10.0f && B->grad[2] == 10.0f, "Cin=0: db wrong");
    }
    mtl_tape_free(t);
}

/* ---- error paths ------------------------------------------------------------------ */

static void errors_conv(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float d[512] = {0};
#define T(...) mtl_tensor_wrap(t, MTL_SHAPE(__VA_ARGS__), d)
    th_expect_fail(t, mtl_conv1d(t, NULL, T(4, 3, 3), NULL, 1, 0), MTL_ERR_ARG, "conv1d", "NULL x", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), NULL, NULL, 1, 0), MTL_ERR_ARG, "conv1d", "NULL w", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), T(4, 3, 3), T(4), 0, 0), MTL_ERR_ARG, "conv1d", "stride 0", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), T(4, 3, 3), T(4), 1, -1), MTL_ERR_ARG, "conv1d", "pad -1", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(3, 10), T(4, 3, 3), NULL, 1, 0), MTL_ERR_SHAPE, "conv1d", "2-d x", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), T(4, 9), NULL, 1, 0), MTL_ERR_SHAPE, "conv1d", "2-d w", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), T(4, 2, 3), NULL, 1, 0), MTL_ERR_SHAPE, "conv1d", "Cin mismatch", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), T(4, 3, 3), T(3), 1, 0), MTL_ERR_SHAPE, "conv1d", "bias [3] for Cout 4", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), T(4, 3, 3), T(4, 1), 1, 0), MTL_ERR_SHAPE, "conv1d", "2-d bias", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 10), T(4, 3, 0), NULL, 1, 0), MTL_ERR_SHAPE, "conv1d", "kernel 0", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 4), T(4, 3, 7), NULL, 1, 1), MTL_ERR_SHAPE, "conv1d", "kernel > padded L", NULL);
    th_expect_fail(t, mtl_conv1d(t, T(2, 3, 4), T(4, 3, 3), NULL, 1, 1 << 30), MTL_ERR_SHAPE, "conv1d", "huge pad", NULL);
    /* just fits: kernel == padded length gives one output */
    mtl_tensor *y = mtl_conv1d(t, T(2, 3, 4), T(4, 3, 6), NULL, 5, 1);
    CHECK(y && y->shape[0] == 2 && y->shape[1] == 4 && y->shape[2] == 1, "kernel == padded length: %s",
          mtl_tape_error(t));
    /* empty batch */
    y = mtl_conv1d(t, T(0, 3, 10), T(4, 3, 3), T(4), 1, 1);
    CHECK(y && y->size == 0 && y->shape[2] == 10, "empty batch: %s", mtl_tape_error(t));
    mtl_tape_reset(t);
    /* a failed tape keeps its first error */
    CHECK(mtl_conv1d(t, T(2, 3, 10), T(4, 2, 3), NULL, 1, 0) == NULL, "mismatch accepted");
    CHECK(mtl_conv1d(t, T(2, 3, 10), T(4, 3, 3), NULL, 1, 0) == NULL, "op on a failed tape succeeded");
    CHECK(strstr(mtl_tape_error(t), "channels") != NULL, "first error lost: %s", mtl_tape_error(t));
    mtl_tape_reset(t);
    CHECK(mtl_conv1d(NULL, T(2, 3, 10), T(4, 3, 3), NULL, 1, 0) == NULL, "NULL tape accepted");
    CHECK(strstr(mtl_last_error(), "conv1d") != NULL, "message '%s'", mtl_last_error());

    th_expect_fail(t, mtl_maxpool1d(t, NULL, 2, 2), MTL_ERR_ARG, "maxpool1d", "NULL x", NULL);
    th_expect_fail(t, mtl_maxpool1d(t, T(2, 3, 10), 0, 2), MTL_ERR_ARG, "maxpool1d", "kernel 0", NULL);
    th_expect_fail(t, mtl_maxpool1d(t, T(2, 3, 10), 2, 0), MTL_ERR_ARG, "maxpool1d", "stride 0", NULL);
    th_expect_fail(t, mtl_maxpool1d(t, T(2, 3, 10), 2, -1), MTL_ERR_ARG, "maxpool1d", "stride -1", NULL);
    th_expect_fail(t, mtl_maxpool1d(t, T(30, 10), 2, 2), MTL_ERR_SHAPE, "maxpool1d", "2-d x", NULL);
    th_expect_fail(t, mtl_maxpool1d(t, T(2, 3, 3), 4, 4), MTL_ERR_SHAPE, "maxpool1d", "kernel > L", NULL);
    CHECK(mtl_maxpool1d(NULL, T(2, 3, 10), 2, 2) == NULL, "NULL tape accepted");
    y = mtl_maxpool1d(t, T(2, 3, 9), 4, 4);
    CHECK(y && y->shape[2] == 2, "floor mode: want length 2, got %d", y ? y->shape[2] : -1);
#undef T
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_conv);
    RUN(gradcheck_maxpool);
    RUN(parity_conv);
    RUN(parity_maxpool);
    RUN(reference_conv);
    RUN(reference_maxpool);
    RUN(maxpool_inference_matches);
    RUN(determinism_conv);
    RUN(accumulate_conv);
    RUN(degenerate_conv);
    RUN(errors_conv);
    return th_summary();
}
