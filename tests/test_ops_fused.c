/* Fused ops: batchnorm_relu = relu(batchnorm(...)) and conv1d_bn_relu =
 * relu(batchnorm(conv1d(...))). Finite-difference gradient checks, PyTorch parity
 * (output, gradients, running statistics), agreement with the separate ops at sizes that
 * take the threaded paths (also with the input gradient accumulating into a buffer
 * another op wrote first), determinism across thread counts, the fallback to the separate
 * ops, and argument errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* batchnorm_relu through th_bn_forward (harness): inputs x, [gamma, beta,] running_mean,
 * running_var (unless ctx holds them) */
static void bnr_gradcheck(const char *name, mtl_shape xs, bool affine, bool training) {
    int C = xs.d[1];
    int64_t n = mtl_shape_size(xs);
    float *x = malloc((size_t)n * sizeof *x), g[16], b[16], rm[16], rv[16];
    th_fill(x, n, 11, -1.0f, 2.0f);
    th_fill(g, C, 12, 0.5f, 1.5f);
    th_fill(b, C, 13, 0.2f, 0.6f); /* a positive shift: fewer outputs next to the relu kink */
    th_fill(rm, C, 14, -0.5f, 0.5f);
    th_fill(rv, C, 15, 0.5f, 1.5f);
    th_bn_ctx ctx = {.affine = affine, .relu = true, .momentum = 0.1f, .eps = 1e-5f};
    /* a smaller step than the default: central differences must not straddle the kink */
    th_gradcheck gc = {.name = name, .forward = th_bn_forward, .ctx = &ctx, .training = training, .eps = 2e-3f};
    float *d[5] = {x, g, b, rm, rv};
    mtl_shape s[5] = {xs, MTL_SHAPE(C), MTL_SHAPE(C), MTL_SHAPE(C), MTL_SHAPE(C)};
    bool ck[5] = {1, 1, 1, 0, 0};
    gc.n_in = affine ? 5 : 3;
    for (int i = 0, j = 0; i < 5; i++) {
        if (!affine && (i == 1 || i == 2)) continue;
        gc.data[j] = d[i], gc.shape[j] = s[i], gc.check[j] = ck[i], j++;
    }
    th_gradcheck_run(&gc);
    free(x);
}

static void gradcheck_batchnorm_relu(void) {
    bnr_gradcheck("bnr train [3,2,5] affine", MTL_SHAPE(3, 2, 5), true, true);
    bnr_gradcheck("bnr train [2,2,20] wide", MTL_SHAPE(2, 2, 20), true, true);
    bnr_gradcheck("bnr train [5,3] no affine", MTL_SHAPE(5, 3), false, true);
    bnr_gradcheck("bnr eval [3,2,5] affine", MTL_SHAPE(3, 2, 5), true, false);
}


static void parity_batchnorm_relu(void) {
    mtl_st_file *f = th_fixture("ops_fused.safetensors");
    if (!f) return;
    th_bn_parity(f, "bnr_train_wide", true, false, true);
    th_bn_parity(f, "bnr_train_narrow", true, false, true);
    th_bn_parity(f, "bnr_train_2d_noaffine", false, false, true);
    th_bn_parity(f, "bnr_eval_wide", true, true, true);
    th_bn_parity(f, "bnr_eval_narrow_noaffine", false, true, true);
    th_fixture_release();
}

/* ---- against the two separate ops ------------------------------------------------ */

enum { SN = 6, SC = 5, SL = 300 };

typedef struct {
    float y[SN * SC * SL], dx[SN * SC * SL], dg[SC], db[SC], rm[SC], rv[SC];
} bn_result;

/* forward + backward from dy; fused or relu(batchnorm); pre: x's gradient is first
 * written by another op (x * 2 + its identity: x also feeds an affine added to the output) */
static void run_bn(bool fused, bool pre, bool training, const float *x0, const float *dy, bn_result *r) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *g = mtl_param_add(P, "g", MTL_OWNER_SHARED, MTL_SHAPE(SC), (mtl_init){MTL_INIT_UNIFORM, 0.5f, 1.5f});
    mtl_tensor *b = mtl_param_add(P, "b", MTL_OWNER_SHARED, MTL_SHAPE(SC), (mtl_init){MTL_INIT_UNIFORM, -0.5f, 0.5f});
    CHECK_OK(mtl_params_finalize(P, 3));
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tape_set_training(t, training);
    for (int c = 0; c < SC; c++) r->rm[c] = 0.1f * (float)c, r->rv[c] = 1.0f + 0.2f * (float)c;
    mtl_tensor *x = mtl_tensor_from(t, MTL_SHAPE(SN, SC, SL), x0);
    mtl_tensor_requires_grad(x);
    mtl_tensor *rm = mtl_tensor_wrap(t, MTL_SHAPE(SC), r->rm), *rv = mtl_tensor_wrap(t, MTL_SHAPE(SC), r->rv);
    mtl_tensor *y = fused ? mtl_batchnorm_relu(t, x, g, b, rm, rv, 0.1f, 1e-5f)
                          : mtl_relu(t, mtl_batchnorm(t, x, g, b, rm, rv, 0.1f, 1e-5f));
    if (pre) y = mtl_add(t, y, mtl_affine(t, x, 2.0f, 0.0f)); /* its backward runs first and writes dx */
    CHECK(y != NULL, "forward: %s", mtl_tape_error(t));
    if (y) {
        memcpy(r->y, y->data, sizeof r->y);
        CHECK_OK(mtl_backward_from(t, y, dy));
        memcpy(r->dx, x->grad, sizeof r->dx);
        memcpy(r->dg, g->grad, sizeof r->dg);
        memcpy(r->db, b->grad, sizeof r->db);
    }
    mtl_tape_free(t);
    mtl_params_free(P);
}

static void matches_separate_ops(void) {
    static float x[SN * SC * SL], dy[SN * SC * SL];
    static bn_result a, b;
    th_fill(x, SN * SC * SL, 31, -1.5f, 2.0f);
    th_fill(dy, SN * SC * SL, 32, -1.0f, 1.0f);
    for (int mode = 0; mode < 4; mode++) {
        bool pre = mode & 1, training = mode < 2;
        run_bn(true, pre, training, x, dy, &a);
        run_bn(false, pre, training, x, dy, &b);
        char what[96];
        const char *m = training ? "train" : "eval";
        /* the same float operations in the same order: bit-identical */
        snprintf(what, sizeof what, "%s%s y", m, pre ? " pre" : "");
        th_compare(what, a.y, b.y, SN * SC * SL, 0, 0);
        snprintf(what, sizeof what, "%s%s dx", m, pre ? " pre" : "");
        th_compare(what, a.dx, b.dx, SN * SC * SL, 0, 0);
        snprintf(what, sizeof what, "%s%s dgamma", m, pre ? " pre" : "");
        th_compare(what, a.dg, b.dg, SC, 0, 0);
        snprintf(what, sizeof what, "%s%s dbeta", m, pre ? " pre" : "");
        th_compare(what, a.db, b.db, SC, 0, 0);
        snprintf(what, sizeof what, "%s running stats", m);
        th_compare(what, a.rm, b.rm, SC, 0, 0);
        th_compare(what, a.rv, b.rv, SC, 0, 0);
        if (pre) continue;
        /* the relu is really applied: no negative output, and some zeros */
        int zeros = 0, negative = 0;
        for (int i = 0; i < SN * SC * SL; i++) zeros += a.y[i] == 0.0f, negative += a.y[i] < 0.0f;
        CHECK(zeros > 0 && negative == 0, "%s relu: %d zeros, %d negative", m, zeros, negative);
    }
}

static void determinism_threads(void) {
    static float x[SN * SC * SL], dy[SN * SC * SL];
    static bn_result r1, r2;
    th_fill(x, SN * SC * SL, 41, -1.0f, 1.0f);
    th_fill(dy, SN * SC * SL, 42, -1.0f, 1.0f);
    int keep = mtl_get_threads();
    mtl_set_threads(1);
    run_bn(true, false, true, x, dy, &r1);
    mtl_set_threads(2);
    run_bn(true, false, true, x, dy, &r2);
    mtl_set_threads(keep);
    CHECK(memcmp(r1.y, r2.y, sizeof r1.y) == 0 && memcmp(r1.dx, r2.dx, sizeof r1.dx) == 0 &&
              memcmp(r1.dg, r2.dg, sizeof r1.dg) == 0 && memcmp(r1.db, r2.db, sizeof r1.db) == 0,
          "1 and 2 threads differ");
}

static void errors_batchnorm_relu(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float buf[12] = {0}, s3[3] = {0, 0, 0};
    mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 2), buf), *v = mtl_tensor_wrap(t, MTL_SHAPE(3), s3);
    mtl_tensor *w2 = mtl_tensor_wrap(t, MTL_SHAPE(2), s3);
    th_expect_fail(t, mtl_batchnorm_relu(t, NULL, v, v, v, v, 0.1f, 1e-5f), MTL_ERR_ARG, "batchnorm", "NULL x", NULL);
    x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 2), buf), v = mtl_tensor_wrap(t, MTL_SHAPE(3), s3);
    w2 = mtl_tensor_wrap(t, MTL_SHAPE(2), s3);
    th_expect_fail(t, mtl_batchnorm_relu(t, x, w2, v, v, v, 0.1f, 1e-5f), MTL_ERR_SHAPE, "batchnorm", "gamma [2]",
                   "gamma");
    x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 2), buf), v = mtl_tensor_wrap(t, MTL_SHAPE(3), s3);
    th_expect_fail(t, mtl_batchnorm_relu(t, x, v, v, v, v, 2.0f, 1e-5f), MTL_ERR_ARG, "batchnorm", "momentum 2",
                   "momentum");
    mtl_tape_free(t);
}

/* ---- conv1d_bn_relu ---------------------------------------------------------------- */

typedef struct {
    int stride, pad, C;
    bool eval;
    float *rm, *rv; /* running statistics (wrapped by the forward) */
} cbr_ctx;

/* inputs: x, w, b, gamma, beta */
static mtl_tensor *fw_cbr(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const cbr_ctx *c = ctx;
    if (c->eval) mtl_tape_set_training(t, false);
    mtl_tensor *rm = mtl_tensor_wrap(t, MTL_SHAPE(c->C), c->rm), *rv = mtl_tensor_wrap(t, MTL_SHAPE(c->C), c->rv);
    return mtl_conv1d_bn_relu(t, in[0], in[1], in[2], c->stride, c->pad, in[3], in[4], rm, rv, 0.1f, 1e-5f);
}

static void cbr_gradcheck(const char *name, int N, int Cin, int Cout, int L, int K, int pad, bool training) {
    int nx = N * Cin * L, nw = Cout * Cin * K;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w), b[16], g[16], be[16], rm[16],
          rv[16];
    th_fill(x, nx, 51, -1.0f, 1.0f);
    th_fill(w, nw, 52, -0.5f, 0.5f);
    th_fill(b, Cout, 53, -0.2f, 0.2f);
    th_fill(g, Cout, 54, 0.5f, 1.5f);
    th_fill(be, Cout, 55, 0.2f, 0.6f);
    th_fill(rm, Cout, 56, -0.2f, 0.2f);
    th_fill(rv, Cout, 57, 0.5f, 1.5f);
    cbr_ctx ctx = {.stride = 1, .pad = pad, .C = Cout, .eval = !training, .rm = rm, .rv = rv};
    th_gradcheck gc = {.name = name, .n_in = 5, .forward = fw_cbr, .ctx = &ctx, .training = training, .eps = 2e-3f};
    float *d[5] = {x, w, b, g, be};
    mtl_shape s[5] = {MTL_SHAPE(N, Cin, L), MTL_SHAPE(Cout, Cin, K), MTL_SHAPE(Cout), MTL_SHAPE(Cout), MTL_SHAPE(Cout)};
    for (int i = 0; i < 5; i++) gc.data[i] = d[i], gc.shape[i] = s[i], gc.check[i] = true;
    float rm0[16], rv0[16]; /* every forward of the check updates the running statistics: restore them */
    memcpy(rm0, rm, sizeof rm0), memcpy(rv0, rv, sizeof rv0);
    th_gradcheck_run(&gc);
    memcpy(rm, rm0, sizeof rm0), memcpy(rv, rv0, sizeof rv0);
    free(x), free(w);
}

static void gradcheck_conv1d_bn_relu(void) {
    cbr_gradcheck("cbr train k3 pad1 L20", 2, 3, 4, 20, 3, 1, true);
    cbr_gradcheck("cbr train k1 L17", 3, 2, 3, 17, 1, 0, true);
    cbr_gradcheck("cbr eval k5 pad2 L24", 2, 2, 3, 24, 5, 2, false);
}

static void cbr_parity(mtl_st_file *f, const char *p, bool eval) {
    char key[128];
    mtl_shape s;
    float *rm = th_fixture_f32_of(f, p, "running_mean", &s);
    float *rv = th_fixture_f32_of(f, p, "running_var", NULL);
    snprintf(key, sizeof key, "%s.pad", p);
    int32_t *pad = th_fixture_i32(f, key, NULL);
    if (!rm || !rv || !pad) return;
    cbr_ctx ctx = {.stride = 1, .pad = pad[0], .C = s.d[0], .eval = eval, .rm = rm, .rv = rv};
    static const char *names[] = {"x", "w", "b", "gamma", "beta"};
    th_parity_case(f, p, 5, names, fw_cbr, &ctx, 1e-5, 1e-4);
    th_check_running_stats(f, p, rm, rv, s.d[0]);
}

static void parity_conv1d_bn_relu(void) {
    mtl_st_file *f = th_fixture("ops_fused.safetensors");
    if (!f) return;
    cbr_parity(f, "cbr_train_k5", false);
    cbr_parity(f, "cbr_train_k1", false);
    cbr_parity(f, "cbr_train_k4_pad1", false);
    cbr_parity(f, "cbr_eval_k3", true);
    th_fixture_release();
}

typedef struct {
    int N, Cin, Cout, L, K, stride, pad;
} cbr_shape;

typedef struct {
    float *y, *dx, *dw, *db, *dg, *dbeta, rm[64], rv[64];
} cbr_result;

/* forward + backward from dy, fused or conv1d then batchnorm_relu; pre: x's gradient is
 * first written by another op */
static void run_cbr(const cbr_shape *c, bool fused, bool pre, bool training, const float *x0, const float *dy,
                    cbr_result *r) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    float bound = 1.0f / sqrtf((float)(c->Cin * c->K));
    mtl_init u = {MTL_INIT_UNIFORM, -bound, bound};
    mtl_tensor *w = mtl_param_add(P, "w", MTL_OWNER_SHARED, MTL_SHAPE(c->Cout, c->Cin, c->K), u);
    mtl_tensor *b = mtl_param_add(P, "b", MTL_OWNER_SHARED, MTL_SHAPE(c->Cout), u);
    mtl_init gi = {MTL_INIT_UNIFORM, 0.5f, 1.5f}, bi = {MTL_INIT_UNIFORM, -0.3f, 0.3f};
    mtl_tensor *g = mtl_param_add(P, "g", MTL_OWNER_SHARED, MTL_SHAPE(c->Cout), gi);
    mtl_tensor *be = mtl_param_add(P, "be", MTL_OWNER_SHARED, MTL_SHAPE(c->Cout), bi);
    CHECK_OK(mtl_params_finalize(P, 5));
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tape_set_training(t, training);
    for (int o = 0; o < c->Cout; o++) r->rm[o] = 0.01f * (float)o, r->rv[o] = 1.0f + 0.05f * (float)o;
    mtl_tensor *x = mtl_tensor_from(t, MTL_SHAPE(c->N, c->Cin, c->L), x0);
    mtl_tensor_requires_grad(x);
    mtl_tensor *rm = mtl_tensor_wrap(t, MTL_SHAPE(c->Cout), r->rm), *rv = mtl_tensor_wrap(t, MTL_SHAPE(c->Cout), r->rv);
    mtl_tensor *y = fused ? mtl_conv1d_bn_relu(t, x, w, b, c->stride, c->pad, g, be, rm, rv, 0.1f, 1e-5f)
                          : mtl_batchnorm_relu(t, mtl_conv1d(t, x, w, b, c->stride, c->pad), g, be, rm, rv, 0.1f,
                                               1e-5f);
    if (pre) { /* x * 2 summed over its length and broadcast onto y's: its backward writes dx first */
        mtl_tensor *s = mtl_mean(t, mtl_affine(t, x, 2.0f, 0.0f), 2, true);
        y = mtl_add(t, y, mtl_mean(t, s, 1, true));
    }
    CHECK(y != NULL, "forward: %s", mtl_tape_error(t));
    if (y) {
        memcpy(r->y, y->data, (size_t)y->size * sizeof(float));
        CHECK_OK(mtl_backward_from(t, y, dy));
        memcpy(r->dx, x->grad, (size_t)x->size * sizeof(float));
        memcpy(r->dw, w->grad, (size_t)w->size * sizeof(float));
        memcpy(r->db, b->grad, (size_t)b->size * sizeof(float));
        memcpy(r->dg, g->grad, (size_t)g->size * sizeof(float));
        memcpy(r->dbeta, be->grad, (size_t)be->size * sizeof(float));
    }
    mtl_tape_free(t);
    mtl_params_free(P);
}

static void cbr_alloc(cbr_result *r, int ny, int nx, int nw, int C) {
    r->y = malloc((size_t)ny * sizeof(float)), r->dx = malloc((size_t)nx * sizeof(float));
    r->dw = malloc((size_t)nw * sizeof(float)), r->db = malloc((size_t)C * sizeof(float));
    r->dg = malloc((size_t)C * sizeof(float)), r->dbeta = malloc((size_t)C * sizeof(float));
}

static void cbr_free(cbr_result *r) { free(r->y), free(r->dx), free(r->dw), free(r->db), free(r->dg), free(r->dbeta); }

static void cbr_compare(const char *name, const cbr_result *a, const cbr_result *b, int ny, int nx, int nw, int C,
                        double tol) {
    char what[128];
    const char *part[] = {"y", "dx", "dw", "db", "dgamma", "dbeta", "running_mean", "running_var"};
    const float *pa[] = {a->y, a->dx, a->dw, a->db, a->dg, a->dbeta, a->rm, a->rv};
    const float *pb[] = {b->y, b->dx, b->dw, b->db, b->dg, b->dbeta, b->rm, b->rv};
    int n[] = {ny, nx, nw, C, C, C, C, C};
    for (int i = 0; i < 8; i++) {
        snprintf(what, sizeof what, "%s %s", name, part[i]);
        /* dw and db are sums of N*L products (db is zero up to rounding before a batchnorm),
         * accumulated per sample here and per group of samples by conv1d: absolute tolerance */
        bool sums = i == 2 || i == 3;
        th_compare(what, pa[i], pb[i], n[i], sums ? 100 * tol : tol / 10, sums ? 10 * tol : tol);
    }
}

static void matches_separate_ops_cbr(void) {
    static const cbr_shape shapes[] = {
        {6, 8, 16, 300, 7, 1, 3}, /* k7 pad3, length tail */
        {5, 16, 24, 128, 1, 1, 0}, /* 1x1 */
        {4, 5, 13, 64, 3, 1, 1},  /* odd channel counts */
        {4, 16, 12, 128, 5, 1, 2}, /* Winograd: the fused weight gradient too, conv1d's is direct */
        {4, 5, 8, 64, 3, 2, 1},   /* stride 2: the fallback (the separate ops themselves) */
    };
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const cbr_shape *c = &shapes[k];
        int Lout = (c->L + 2 * c->pad - c->K) / c->stride + 1;
        int nx = c->N * c->Cin * c->L, ny = c->N * c->Cout * Lout, nw = c->Cout * c->Cin * c->K;
        float *x = malloc((size_t)nx * sizeof *x), *dy = malloc((size_t)ny * sizeof *dy);
        th_fill(x, nx, 60 + k, -1.0f, 1.0f);
        th_fill(dy, ny, 70 + k, -1.0f, 1.0f);
        cbr_result a, b;
        cbr_alloc(&a, ny, nx, nw, c->Cout), cbr_alloc(&b, ny, nx, nw, c->Cout);
        for (int mode = 0; mode < 3; mode++) {
            bool training = mode != 2, pre = mode == 1;
            char name[96];
            snprintf(name, sizeof name, "cbr %dx%d k%d s%d L%d %s%s", c->Cin, c->Cout, c->K, c->stride, c->L,
                     training ? "train" : "eval", pre ? " pre" : "");
            run_cbr(c, true, pre, training, x, dy, &a);
            run_cbr(c, false, pre, training, x, dy, &b);
            /* the fused sums run in another order: equal to float rounding (the fallback: exactly) */
            cbr_compare(name, &a, &b, ny, nx, nw, c->Cout, c->stride == 1 ? 1e-5 : 0.0);
        }
        cbr_free(&a), cbr_free(&b);
        free(x), free(dy);
    }
}

static void determinism_cbr(void) {
    const cbr_shape c = {7, 8, 16, 200, 5, 1, 2};
    int nx = c.N * c.Cin * c.L, ny = c.N * c.Cout * c.L, nw = c.Cout * c.Cin * c.K;
    float *x = malloc((size_t)nx * sizeof *x), *dy = malloc((size_t)ny * sizeof *dy);
    th_fill(x, nx, 81, -1.0f, 1.0f);
    th_fill(dy, ny, 82, -1.0f, 1.0f);
    cbr_result r[3];
    int keep = mtl_get_threads();
    for (int i = 0; i < 3; i++) {
        cbr_alloc(&r[i], ny, nx, nw, c.Cout);
        mtl_set_threads(i == 0 ? 1 : 2);
        run_cbr(&c, true, false, true, x, dy, &r[i]);
    }
    mtl_set_threads(keep);
    bool same = memcmp(r[1].y, r[2].y, (size_t)ny * 4) == 0 && memcmp(r[1].dx, r[2].dx, (size_t)nx * 4) == 0 &&
                memcmp(r[1].dw, r[2].dw, (size_t)nw * 4) == 0 && memcmp(r[1].dg, r[2].dg, (size_t)c.Cout * 4) == 0;
    CHECK(same, "two runs at 2 threads differ");
    /* 1 vs 2 threads: dw partials add in another order (and the samples of a group differ), everything else is
     * per element */
    CHECK(memcmp(r[0].y, r[1].y, (size_t)ny * 4) == 0 && memcmp(r[0].dx, r[1].dx, (size_t)nx * 4) == 0,
          "y or dx depend on the thread count");
    th_compare("cbr dw 1 vs 2 threads", r[0].dw, r[1].dw, nw, 1e-5, 1e-4);
    for (int i = 0; i < 3; i++) cbr_free(&r[i]);
    free(x), free(dy);
}

/* one unit in evaluation mode on seeded random inputs: conv1d_bn_relu (pool 0) or
 * conv1d_bn_relu_maxpool; recorded (the general path) or not (inference: folded batchnorm,
 * pooling in the kernel). Returns a copy of the output (n values), NULL on failure. */
static float *eval_unit(int N, int Cin, int Cout, int K, int pad, int L, int pool, bool recorded, int64_t *n) {
    float *x = malloc((size_t)N * Cin * L * sizeof *x), *w = malloc((size_t)Cout * Cin * K * sizeof *w), *out = NULL;
    float b[32], g[32], be[32], rm[32], rv[32];
    th_fill(x, (int64_t)N * Cin * L, 31, -1.0f, 1.0f);
    th_fill(w, (int64_t)Cout * Cin * K, 32, -0.5f, 0.5f);
    th_fill(b, Cout, 33, -0.2f, 0.2f);
    th_fill(g, Cout, 34, 0.5f, 1.5f);
    th_fill(be, Cout, 35, -0.3f, 0.3f);
    th_fill(rm, Cout, 36, -0.2f, 0.2f);
    th_fill(rv, Cout, 37, 0.5f, 1.5f);
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    if (t) {
        mtl_tape_set_training(t, false);
        mtl_tape_set_recording(t, recorded);
        mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N, Cin, L), x), *W = mtl_tensor_wrap(t, MTL_SHAPE(Cout, Cin, K), w);
        mtl_tensor *B = mtl_tensor_wrap(t, MTL_SHAPE(Cout), b), *G = mtl_tensor_wrap(t, MTL_SHAPE(Cout), g);
        mtl_tensor *BE = mtl_tensor_wrap(t, MTL_SHAPE(Cout), be), *RM = mtl_tensor_wrap(t, MTL_SHAPE(Cout), rm);
        mtl_tensor *RV = mtl_tensor_wrap(t, MTL_SHAPE(Cout), rv);
        if (recorded) mtl_tensor_requires_grad(W);
        mtl_tensor *y = pool ? mtl_conv1d_bn_relu_maxpool(t, X, W, B, 1, pad, G, BE, RM, RV, 0.1f, 1e-5f, pool)
                             : mtl_conv1d_bn_relu(t, X, W, B, 1, pad, G, BE, RM, RV, 0.1f, 1e-5f);
        CHECK(y != NULL, "unit (recorded %d, pool %d): %s", recorded, pool, mtl_tape_error(t));
        int Lout = L + 2 * pad - K + 1;
        if (y) CHECK(y->ndim == 3 && y->shape[2] == (pool ? Lout / pool : Lout), "output length %d", y->shape[2]);
        if (y && (out = malloc((size_t)y->size * sizeof(float)))) {
            memcpy(out, y->data, (size_t)y->size * sizeof(float));
            *n = y->size;
        }
        mtl_tape_free(t);
    }
    free(x), free(w);
    return out;
}

/* inference folds batchnorm into the convolution (and, with pooling, pools inside the kernel,
 * whole 32-position tiles; other lengths take maxpool1d of the unit): the same outputs as the
 * recorded evaluation path up to rounding */
static void inference_matches_recorded(void) {
    static const int cfg[8][6] = {/* Cin, Cout, K, pad, L, pool */
                                  {4, 8, 7, 3, 96, 0},    {8, 16, 5, 2, 96, 0},  {16, 32, 1, 0, 96, 0},
                                  {16, 32, 1, 0, 128, 4}, {4, 8, 7, 3, 96, 2},   {8, 16, 5, 2, 64, 4},
                                  {32, 21, 1, 0, 64, 2},  {4, 8, 3, 1, 40, 4} /* not whole tiles */};
    for (int c = 0; c < 8; c++) {
        const int *k = cfg[c];
        int64_t n0 = 0, n1 = 0;
        float *fast = eval_unit(2, k[0], k[1], k[2], k[3], k[4], k[5], false, &n0);
        float *general = eval_unit(2, k[0], k[1], k[2], k[3], k[4], k[5], true, &n1);
        char what[64];
        snprintf(what, sizeof what, "inference, k%d pad %d L%d pool %d", k[2], k[3], k[4], k[5]);
        CHECK(n0 == n1, "%s: %lld vs %lld values", what, (long long)n0, (long long)n1);
        if (fast && general && n0 == n1) th_compare(what, fast, general, n0, 1e-5, 1e-4);
        free(fast), free(general);
    }
}

static void errors_conv1d_bn_relu(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float xb[2 * 3 * 32] = {0}, wb[4 * 3 * 3] = {0}, v4[4] = {0}, v3[3] = {0};
    mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 32), xb), *w = mtl_tensor_wrap(t, MTL_SHAPE(4, 3, 3), wb);
    mtl_tensor *v = mtl_tensor_wrap(t, MTL_SHAPE(4), v4);
    th_expect_fail(t, mtl_conv1d_bn_relu(t, NULL, w, v, 1, 1, v, v, v, v, 0.1f, 1e-5f), MTL_ERR_ARG, "conv1d_bn_relu",
                   "NULL x", NULL);
    x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 32), xb), w = mtl_tensor_wrap(t, MTL_SHAPE(4, 3, 3), wb);
    mtl_tensor *v3t = mtl_tensor_wrap(t, MTL_SHAPE(3), v3);
    v = mtl_tensor_wrap(t, MTL_SHAPE(4), v4);
    th_expect_fail(t, mtl_conv1d_bn_relu(t, x, w, v, 1, 1, v3t, v, v, v, 0.1f, 1e-5f), MTL_ERR_SHAPE, "batchnorm",
                   "gamma [3] for 4 channels", "gamma");
    x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 32), xb), w = mtl_tensor_wrap(t, MTL_SHAPE(4, 3, 3), wb);
    v3t = mtl_tensor_wrap(t, MTL_SHAPE(3), v3);
    v = mtl_tensor_wrap(t, MTL_SHAPE(4), v4);
    th_expect_fail(t, mtl_conv1d_bn_relu(t, x, w, v3t, 1, 1, v, v, v, v, 0.1f, 1e-5f), MTL_ERR_SHAPE, "conv1d",
                   "bias [3] for 4 channels", "bias");
    x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 32), xb), w = mtl_tensor_wrap(t, MTL_SHAPE(4, 3, 3), wb);
    v = mtl_tensor_wrap(t, MTL_SHAPE(4), v4);
    th_expect_fail(t, mtl_conv1d_bn_relu(t, x, w, v, 0, 1, v, v, v, v, 0.1f, 1e-5f), MTL_ERR_ARG, "conv1d", "stride 0",
                   "stride");
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_batchnorm_relu);
    RUN(parity_batchnorm_relu);
    RUN(matches_separate_ops);
    RUN(determinism_threads);
    RUN(errors_batchnorm_relu);
    RUN(gradcheck_conv1d_bn_relu);
    RUN(parity_conv1d_bn_relu);
    RUN(matches_separate_ops_cbr);
    RUN(determinism_cbr);
    RUN(errors_conv1d_bn_relu);
    RUN(inference_matches_recorded);
    return th_summary();
}
