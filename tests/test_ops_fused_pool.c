/* The pooled training units: conv1d_bn_relu_maxpool and scaled_conv1d_bn_relu_maxpool
 * (= maxpool(relu(batchnorm(conv1d(scale_channels(x, s)))))) on a training tape, one node
 * for the whole unit. Finite-difference gradient checks of every input, agreement with the
 * separate ops (outputs, every gradient, running statistics; lengths with a vector part, a
 * tail of windows and a tail of positions no window covers), determinism across thread
 * counts, and the fallback to the separate ops where the fused path does not apply. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct {
    int pad, pool, C;
    bool scaled;
    float *rm, *rv;
} cbrp_ctx;

/* inputs: x, w, b, gamma, beta[, s] */
static mtl_tensor *fw_cbrp(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const cbrp_ctx *c = ctx;
    mtl_tensor *rm = mtl_tensor_wrap(t, MTL_SHAPE(c->C), c->rm), *rv = mtl_tensor_wrap(t, MTL_SHAPE(c->C), c->rv);
    if (c->scaled)
        return mtl_scaled_conv1d_bn_relu_maxpool(t, in[0], in[5], in[1], in[2], 1, c->pad, in[3], in[4], rm, rv, 0.1f,
                                                 1e-5f, c->pool);
    return mtl_conv1d_bn_relu_maxpool(t, in[0], in[1], in[2], 1, c->pad, in[3], in[4], rm, rv, 0.1f, 1e-5f, c->pool);
}

static void cbrp_gradcheck(const char *name, int N, int Cin, int Cout, int L, int K, int pad, int pool, bool scaled) {
    int nx = N * Cin * L, nw = Cout * Cin * K;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w), s[64], b[16], g[16], be[16],
          rm[16], rv[16];
    th_fill(x, nx, 151, -1.0f, 1.0f);
    th_fill(w, nw, 152, -0.5f, 0.5f);
    th_fill(s, N * Cin, 153, 1.0f, 2.0f);
    th_fill(b, Cout, 154, -0.2f, 0.2f);
    th_fill(g, Cout, 155, 0.5f, 1.5f);
    th_fill(be, Cout, 156, 0.2f, 0.6f);
    th_fill(rm, Cout, 157, -0.2f, 0.2f);
    th_fill(rv, Cout, 158, 0.5f, 1.5f);
    cbrp_ctx ctx = {.pad = pad, .pool = pool, .C = Cout, .scaled = scaled, .rm = rm, .rv = rv};
    th_gradcheck gc = {.name = name, .n_in = scaled ? 6 : 5, .forward = fw_cbrp, .ctx = &ctx, .training = true,
                       .eps = 1e-3f};
    float *d[6] = {x, w, b, g, be, s};
    mtl_shape sh[6] = {MTL_SHAPE(N, Cin, L), MTL_SHAPE(Cout, Cin, K), MTL_SHAPE(Cout), MTL_SHAPE(Cout),
                       MTL_SHAPE(Cout), MTL_SHAPE(N, Cin)};
    for (int i = 0; i < 6; i++) gc.data[i] = d[i], gc.shape[i] = sh[i], gc.check[i] = true;
    float rm0[16], rv0[16]; /* every forward of the check updates the running statistics: restore them */
    memcpy(rm0, rm, sizeof rm0), memcpy(rv0, rv, sizeof rv0);
    th_gradcheck_run(&gc);
    memcpy(rm, rm0, sizeof rm0), memcpy(rv, rv0, sizeof rv0);
    free(x), free(w);
}

static void gradcheck_pooled_units(void) {
    /* (maxpool has kinks where two window values tie: shapes whose maxima do not swap within the step) */
    cbrp_gradcheck("cbrp k1 pool4 L40 scaled", 2, 3, 4, 40, 1, 0, 4, true);
    cbrp_gradcheck("cbrp k3 pool2 L35 scaled", 2, 2, 3, 35, 3, 1, 2, true);
    cbrp_gradcheck("cbrp k1 pool2 L34", 3, 2, 3, 34, 1, 0, 2, false);
    cbrp_gradcheck("cbrp k5 pool4 L66", 2, 2, 2, 66, 5, 2, 4, false);
}

/* ---- against the separate ops ------------------------------------------------------- */

typedef struct {
    int N, Cin, Cout, L, K, pad, pool;
    bool scaled;
} cbrp_shape;

enum { R_Y, R_DX, R_DS, R_DW, R_DB, R_DG, R_DBETA, R_RM, R_RV, R_N };

typedef struct {
    float *v[R_N];
    int64_t n[R_N];
} cbrp_result;

/* forward + backward from dy: the fused unit or maxpool(relu(batchnorm(conv1d(x s)))); pre:
 * x's gradient is first written by another op (its backward runs first) */
static void run_cbrp(const cbrp_shape *c, bool fused, bool pre, const float *x0, const float *s0, const float *dy,
                     cbrp_result *r) {
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
    float *rmd = r->v[R_RM], *rvd = r->v[R_RV];
    for (int o = 0; o < c->Cout; o++) rmd[o] = 0.01f * (float)o, rvd[o] = 1.0f + 0.05f * (float)o;
    mtl_tensor *x = mtl_tensor_from(t, MTL_SHAPE(c->N, c->Cin, c->L), x0);
    mtl_tensor *s = mtl_tensor_from(t, MTL_SHAPE(c->N, c->Cin), s0);
    mtl_tensor_requires_grad(x);
    mtl_tensor_requires_grad(s);
    mtl_tensor *rm = mtl_tensor_wrap(t, MTL_SHAPE(c->Cout), rmd), *rv = mtl_tensor_wrap(t, MTL_SHAPE(c->Cout), rvd);
    mtl_tensor *y;
    if (fused && c->scaled)
        y = mtl_scaled_conv1d_bn_relu_maxpool(t, x, s, w, b, 1, c->pad, g, be, rm, rv, 0.1f, 1e-5f, c->pool);
    else if (fused)
        y = mtl_conv1d_bn_relu_maxpool(t, x, w, b, 1, c->pad, g, be, rm, rv, 0.1f, 1e-5f, c->pool);
    else
        y = mtl_maxpool1d(t,
                          mtl_relu(t, mtl_batchnorm(t, mtl_conv1d(t, c->scaled ? mtl_scale_channels(t, x, s) : x, w, b,
                                                                  1, c->pad),
                                                    g, be, rm, rv, 0.1f, 1e-5f)),
                          c->pool, c->pool);
    if (pre) { /* x * 2 averaged and broadcast onto y: its backward writes dx first */
        mtl_tensor *m = mtl_mean(t, mtl_affine(t, x, 2.0f, 0.0f), 2, true);
        y = mtl_add(t, y, mtl_mean(t, m, 1, true));
    }
    CHECK(y != NULL, "forward: %s", mtl_tape_error(t));
    if (y) {
        CHECK(y->size == r->n[R_Y], "output of %lld values, expected %lld", (long long)y->size, (long long)r->n[R_Y]);
        if (y->size == r->n[R_Y]) {
            memcpy(r->v[R_Y], y->data, (size_t)y->size * sizeof(float));
            CHECK_OK(mtl_backward_from(t, y, dy));
            const mtl_tensor *src[] = {x, s, w, b, g, be};
            for (int i = 0; i < 6; i++) {
                if (i == 1 && !c->scaled) continue;
                if (src[i]->grad) memcpy(r->v[R_DX + i], src[i]->grad, (size_t)r->n[R_DX + i] * sizeof(float));
                else CHECK(0, "input %d has no gradient", i);
            }
        }
    }
    mtl_tape_free(t);
    mtl_params_free(P);
}

static void result_alloc(cbrp_result *r, const cbrp_shape *c) {
    int64_t Lp = (c->L + 2 * c->pad - c->K + 1) / c->pool;
    int64_t n[R_N] = {(int64_t)c->N * c->Cout * Lp, (int64_t)c->N * c->Cin * c->L, (int64_t)c->N * c->Cin,
                      (int64_t)c->Cout * c->Cin * c->K, c->Cout, c->Cout, c->Cout, c->Cout, c->Cout};
    for (int i = 0; i < R_N; i++) r->n[i] = n[i], r->v[i] = calloc((size_t)n[i], sizeof(float));
}

static void result_free(cbrp_result *r) {
    for (int i = 0; i < R_N; i++) free(r->v[i]);
}

static const char *const part_name[R_N] = {"y", "dx", "ds", "dw", "db", "dgamma", "dbeta", "running_mean",
                                           "running_var"};

static void matches_separate_ops(void) {
    static const cbrp_shape shapes[] = {
        {6, 8, 16, 300, 1, 0, 4, true},  /* 1x1, 75 windows: vector steps and a tail of windows */
        {5, 5, 13, 130, 3, 1, 2, true},  /* odd channels, one tail window */
        {4, 6, 8, 67, 5, 2, 4, true},    /* positions past the last window */
        {5, 16, 32, 256, 1, 0, 4, false}, /* unscaled */
        {3, 4, 8, 64, 3, 1, 2, false},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const cbrp_shape *c = &shapes[k];
        cbrp_result a, b;
        result_alloc(&a, c), result_alloc(&b, c);
        float *x = malloc((size_t)a.n[R_DX] * sizeof *x), *s = malloc((size_t)a.n[R_DS] * sizeof *s);
        float *dy = malloc((size_t)a.n[R_Y] * sizeof *dy);
        th_fill(x, a.n[R_DX], 160 + k, -1.0f, 1.0f);
        th_fill(s, a.n[R_DS], 170 + k, 1.0f, 2.0f);
        th_fill(dy, a.n[R_Y], 180 + k, -1.0f, 1.0f);
        for (int pre = 0; pre < 2; pre++) {
            run_cbrp(c, true, pre, x, s, dy, &a);
            run_cbrp(c, false, pre, x, s, dy, &b);
            for (int i = 0; i < R_N; i++) {
                if (i == R_DS && !c->scaled) continue;
                char what[128];
                snprintf(what, sizeof what, "cbrp %dx%d k%d L%d pool %d%s%s %s", c->Cin, c->Cout, c->K, c->L, c->pool,
                         c->scaled ? " scaled" : "", pre ? " pre" : "", part_name[i]);
                /* sums of many products in another order (dw, db: near zero before batchnorm) */
                bool sums = i == R_DW || i == R_DB || i == R_DS;
                th_compare(what, a.v[i], b.v[i], a.n[i], sums ? 1e-4 : 1e-5, sums ? 1e-3 : 1e-4);
            }
            if (pre) continue;
            /* the pooling and the relu are really there: some zeros, no negative output */
            int zeros = 0, negative = 0;
            for (int64_t i = 0; i < a.n[R_Y]; i++) zeros += a.v[R_Y][i] == 0.0f, negative += a.v[R_Y][i] < 0.0f;
            CHECK(zeros > 0 && negative == 0, "relu: %d zeros, %d negative", zeros, negative);
        }
        free(x), free(s), free(dy);
        result_free(&a), result_free(&b);
    }
}

static void determinism_threads(void) {
    const cbrp_shape c = {8, 16, 32, 512, 1, 0, 4, true};
    cbrp_result r[3];
    for (int i = 0; i < 3; i++) result_alloc(&r[i], &c);
    float *x = malloc((size_t)r[0].n[R_DX] * sizeof *x), *s = malloc((size_t)r[0].n[R_DS] * sizeof *s);
    float *dy = malloc((size_t)r[0].n[R_Y] * sizeof *dy);
    th_fill(x, r[0].n[R_DX], 191, -1.0f, 1.0f);
    th_fill(s, r[0].n[R_DS], 192, 1.0f, 2.0f);
    th_fill(dy, r[0].n[R_Y], 193, -1.0f, 1.0f);
    int keep = mtl_get_threads();
    for (int i = 0; i < 3; i++) {
        mtl_set_threads(i == 0 ? 1 : 2);
        run_cbrp(&c, true, false, x, s, dy, &r[i]);
    }
    mtl_set_threads(keep);
    bool same = true;
    for (int i = 0; i < R_N; i++) same &= memcmp(r[1].v[i], r[2].v[i], (size_t)r[1].n[i] * sizeof(float)) == 0;
    CHECK(same, "two runs at 2 threads differ");
    /* 1 vs 2 threads: only the dw / db partials add in another order (other sample groups) */
    for (int i = 0; i < R_N; i++) {
        if (i == R_DW || i == R_DB) continue;
        CHECK(memcmp(r[0].v[i], r[1].v[i], (size_t)r[0].n[i] * sizeof(float)) == 0, "%s depends on the threads",
              part_name[i]);
    }
    th_compare("cbrp dw 1 vs 2 threads", r[0].v[R_DW], r[1].v[R_DW], r[0].n[R_DW], 1e-5, 1e-4);
    for (int i = 0; i < 3; i++) result_free(&r[i]);
    free(x), free(s), free(dy);
}

/* evaluation mode, a pooling other than 2 or 4, stride 2: the separate ops themselves */
static void fallback_paths(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float xb[2 * 3 * 36], wb[4 * 3 * 3], sb[6], v4[4], one[4] = {1, 1, 1, 1}, zero[4] = {0};
    th_fill(xb, 2 * 3 * 36, 201, -1.0f, 1.0f);
    th_fill(wb, 4 * 3 * 3, 202, -0.5f, 0.5f);
    th_fill(sb, 6, 203, 1.0f, 2.0f);
    th_fill(v4, 4, 204, -0.1f, 0.1f);
    for (int mode = 0; mode < 3; mode++) {
        mtl_tape_reset(t);
        mtl_tape_set_training(t, mode != 0);
        mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 36), xb), *w = mtl_tensor_wrap(t, MTL_SHAPE(4, 3, 3), wb);
        mtl_tensor *s = mtl_tensor_wrap(t, MTL_SHAPE(2, 3), sb), *b = mtl_tensor_wrap(t, MTL_SHAPE(4), v4);
        mtl_tensor *g = mtl_tensor_wrap(t, MTL_SHAPE(4), one), *be = mtl_tensor_wrap(t, MTL_SHAPE(4), zero);
        float rmb[4] = {0}, rvb[4] = {1, 1, 1, 1}, rmb2[4] = {0}, rvb2[4] = {1, 1, 1, 1};
        mtl_tensor *rm = mtl_tensor_wrap(t, MTL_SHAPE(4), rmb), *rv = mtl_tensor_wrap(t, MTL_SHAPE(4), rvb);
        mtl_tensor *rm2 = mtl_tensor_wrap(t, MTL_SHAPE(4), rmb2), *rv2 = mtl_tensor_wrap(t, MTL_SHAPE(4), rvb2);
        mtl_tensor_requires_grad(w);
        int stride = mode == 2 ? 2 : 1, pool = mode == 1 ? 3 : 2;
        mtl_tensor *y = mtl_scaled_conv1d_bn_relu_maxpool(t, x, s, w, b, stride, 1, g, be, rm, rv, 0.1f, 1e-5f, pool);
        mtl_tensor *want = mtl_maxpool1d(
            t, mtl_relu(t, mtl_batchnorm(t, mtl_conv1d(t, mtl_scale_channels(t, x, s), w, b, stride, 1), g, be, rm2,
                                         rv2, 0.1f, 1e-5f)),
            pool, pool);
        CHECK(y && want, "mode %d: %s", mode, mtl_tape_error(t));
        if (y && want && y->size == want->size) th_compare("fallback y", y->data, want->data, y->size, 1e-6, 1e-5);
    }
    /* errors from the separate ops */
    mtl_tape_reset(t);
    mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 36), xb), *w = mtl_tensor_wrap(t, MTL_SHAPE(4, 3, 3), wb);
    mtl_tensor *s5 = mtl_tensor_wrap(t, MTL_SHAPE(2, 2), sb), *v = mtl_tensor_wrap(t, MTL_SHAPE(4), v4);
    th_expect_fail(t, mtl_scaled_conv1d_bn_relu_maxpool(t, x, s5, w, v, 1, 1, v, v, v, v, 0.1f, 1e-5f, 2),
                   MTL_ERR_SHAPE, "scale_channels", "s [2,2] for 3 channels", "s must be");
    x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 36), xb), w = mtl_tensor_wrap(t, MTL_SHAPE(4, 3, 3), wb);
    v = mtl_tensor_wrap(t, MTL_SHAPE(4), v4);
    th_expect_fail(t, mtl_scaled_conv1d_bn_relu_maxpool(t, x, NULL, w, v, 1, 1, v, v, v, v, 0.1f, 1e-5f, 2),
                   MTL_ERR_ARG, "scaled_conv1d_bn_relu_maxpool", "NULL s", NULL);
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradcheck_pooled_units);
    RUN(matches_separate_ops);
    RUN(determinism_threads);
    RUN(fallback_paths);
    return th_summary();
}
