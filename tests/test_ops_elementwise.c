/* add, mul (broadcasting), affine, scale_channels, mean, sum: forward values against
 * naive loops, finite-difference gradient checks, PyTorch parity, thread-count
 * independence of the backward, and error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- forwards for the checks ------------------------------------------------------ */

static mtl_tensor *fw_add(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_add(t, in[0], in[1]); }
static mtl_tensor *fw_mul(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_mul(t, in[0], in[1]); }
/* the same tensor on both sides: its gradient collects both contributions */
static mtl_tensor *fw_square(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_mul(t, in[0], in[0]); }
static mtl_tensor *fw_add_self(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_add(t, in[0], in[0]); }
static mtl_tensor *fw_affine(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const float *p = ctx;
    return mtl_affine(t, in[0], p[0], p[1]);
}
static mtl_tensor *fw_scale_channels(mtl_tape *t, mtl_tensor **in, void *ctx) {
    return mtl_scale_channels(t, in[0], in[1]);
}
typedef struct {
    int axis;
    bool keepdim, mean;
} red_ctx;
static mtl_tensor *fw_reduce(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const red_ctx *c = ctx;
    return c->mean ? mtl_mean(t, in[0], c->axis, c->keepdim) : mtl_sum(t, in[0], c->axis, c->keepdim);
}

/* ---- naive reference for broadcasting --------------------------------------------- */

/* pads s to 4 dims (leading 1s) */
static void pad4(mtl_shape s, int d[4]) {
    for (int k = 0; k < 4; k++) d[k] = k < 4 - s.ndim ? 1 : s.d[k - (4 - s.ndim)];
}

/* y = a op b by the definition: every output index maps to a (clamped) index in each input */
static void naive_binary(bool mul, const float *a, mtl_shape sa, const float *b, mtl_shape sb, float *y, int yd[4]) {
    int ad[4], bd[4];
    pad4(sa, ad), pad4(sb, bd);
    for (int k = 0; k < 4; k++) yd[k] = ad[k] == 1 ? bd[k] : ad[k];
    int64_t i = 0;
    for (int i0 = 0; i0 < yd[0]; i0++)
        for (int i1 = 0; i1 < yd[1]; i1++)
            for (int i2 = 0; i2 < yd[2]; i2++)
                for (int i3 = 0; i3 < yd[3]; i3++, i++) {
                    int ia[4] = {ad[0] == 1 ? 0 : i0, ad[1] == 1 ? 0 : i1, ad[2] == 1 ? 0 : i2, ad[3] == 1 ? 0 : i3};
                    int ib[4] = {bd[0] == 1 ? 0 : i0, bd[1] == 1 ? 0 : i1, bd[2] == 1 ? 0 : i2, bd[3] == 1 ? 0 : i3};
                    float va = a[((ia[0] * ad[1] + ia[1]) * ad[2] + ia[2]) * ad[3] + ia[3]];
                    float vb = b[((ib[0] * bd[1] + ib[1]) * bd[2] + ib[2]) * bd[3] + ib[3]];
                    y[i] = mul ? va * vb : va + vb;
                }
}

typedef struct {
    mtl_shape a, b, y;
} bcase;

static const bcase BCASES[] = {
    {MTL_SHAPE(2, 3, 4), MTL_SHAPE(2, 3, 4), MTL_SHAPE(2, 3, 4)},
    {MTL_SHAPE(2, 3, 4), MTL_SHAPE(3, 1), MTL_SHAPE(2, 3, 4)},
    {MTL_SHAPE(2, 3, 4), MTL_SHAPE(1, 3, 1), MTL_SHAPE(2, 3, 4)},
    {MTL_SHAPE(4), MTL_SHAPE(2, 3, 4), MTL_SHAPE(2, 3, 4)},
    {MTL_SHAPE(2, 1, 4), MTL_SHAPE(1, 3, 1), MTL_SHAPE(2, 3, 4)},
    {MTL_SCALAR_SHAPE, MTL_SHAPE(2, 3), MTL_SHAPE(2, 3)},
    {MTL_SHAPE(2, 3), MTL_SCALAR_SHAPE, MTL_SHAPE(2, 3)},
    {MTL_SCALAR_SHAPE, MTL_SCALAR_SHAPE, MTL_SCALAR_SHAPE},
    {MTL_SHAPE(2, 3, 4), MTL_SHAPE(2, 3, 1), MTL_SHAPE(2, 3, 4)},
    {MTL_SHAPE(2, 3, 2, 3), MTL_SHAPE(3, 1, 3), MTL_SHAPE(2, 3, 2, 3)},
    {MTL_SHAPE(2, 1, 3, 1), MTL_SHAPE(1, 4, 1, 2), MTL_SHAPE(2, 4, 3, 2)},
    {MTL_SHAPE(5, 1), MTL_SHAPE(1, 6), MTL_SHAPE(5, 6)},
    {MTL_SHAPE(1, 1, 4), MTL_SHAPE(4), MTL_SHAPE(1, 1, 4)},
    {MTL_SHAPE(0, 3), MTL_SHAPE(3), MTL_SHAPE(0, 3)},
    /* large enough to use several threads and the chunked paths */
    {MTL_SHAPE(50, 32, 256), MTL_SHAPE(1, 32, 1), MTL_SHAPE(50, 32, 256)},
    {MTL_SHAPE(8, 40000), MTL_SHAPE(8, 40000), MTL_SHAPE(8, 40000)},
    {MTL_SHAPE(1024, 64), MTL_SHAPE(64), MTL_SHAPE(1024, 64)},
    {MTL_SHAPE(1024, 64), MTL_SHAPE(1024, 1), MTL_SHAPE(1024, 64)},
};
#define NBCASES ((int)(sizeof BCASES / sizeof BCASES[0]))

static void broadcast_forward(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    for (int c = 0; c < NBCASES; c++) {
        const bcase *bc = &BCASES[c];
        int64_t na = mtl_shape_size(bc->a), nb = mtl_shape_size(bc->b), ny = mtl_shape_size(bc->y);
        float *a = malloc((size_t)(na + 1) * sizeof *a), *b = malloc((size_t)(nb + 1) * sizeof *b);
        float *want = malloc((size_t)(ny + 1) * sizeof *want);
        th_fill(a, na, 10 + c, -2, 2), th_fill(b, nb, 20 + c, -2, 2);
        for (int mul = 0; mul < 2; mul++) {
            mtl_tape_reset(t);
            mtl_tensor *A = mtl_tensor_wrap(t, bc->a, a), *B = mtl_tensor_wrap(t, bc->b, b);
            mtl_tensor *Y = mul ? mtl_mul(t, A, B) : mtl_add(t, A, B);
            char sa[64], sb[64], what[200];
            snprintf(what, sizeof what, "%s %s %s", mul ? "mul" : "add", mtl_shape_str(bc->a, sa, sizeof sa),
                     mtl_shape_str(bc->b, sb, sizeof sb));
            CHECK(Y != NULL, "%s: %s", what, mtl_last_error());
            if (!Y) continue;
            CHECK(mtl_shape_equal(mtl_tensor_shape(Y), bc->y), "%s: wrong output shape %s", what,
                  mtl_shape_str(mtl_tensor_shape(Y), sa, sizeof sa));
            int yd[4];
            naive_binary(mul, a, bc->a, b, bc->b, want, yd);
            int64_t bad = -1;
            for (int64_t i = 0; i < ny && bad < 0; i++)
                if (Y->data[i] != want[i]) bad = i;
            CHECK(bad < 0, "%s: element %lld is %g, want %g", what, (long long)bad, bad >= 0 ? Y->data[bad] : 0,
                  bad >= 0 ? want[bad] : 0);
        }
        free(a), free(b), free(want);
    }
    mtl_tape_free(t);
}

/* ---- gradient checks ----------------------------------------------------------- */

static void gradcheck_binary(void) {
    float a[64], b[64];
    for (int c = 0; c < NBCASES; c++) {
        const bcase *bc = &BCASES[c];
        int64_t ny = mtl_shape_size(bc->y);
        if (ny == 0 || ny > 200) continue; /* the small, non-empty cases */
        th_fill(a, 64, 30 + c, -1, 1), th_fill(b, 64, 40 + c, -1, 1);
        for (int mul = 0; mul < 2; mul++) {
            char sa[64], sb[64], name[160];
            snprintf(name, sizeof name, "%s %s %s", mul ? "mul" : "add", mtl_shape_str(bc->a, sa, sizeof sa),
                     mtl_shape_str(bc->b, sb, sizeof sb));
            th_gradcheck g = {.name = name, .n_in = 2, .data = {a, b}, .shape = {bc->a, bc->b}, .check = {1, 1},
                              .forward = mul ? fw_mul : fw_add};
            th_gradcheck_run(&g);
        }
    }
    /* only one side needs a gradient */
    th_fill(a, 64, 50, -1, 1), th_fill(b, 64, 51, -1, 1);
    th_gradcheck g1 = {.name = "mul [2,3,4]*[3,1] (a only)", .n_in = 2, .data = {a, b},
                       .shape = {MTL_SHAPE(2, 3, 4), MTL_SHAPE(3, 1)}, .check = {1, 0}, .forward = fw_mul};
    th_gradcheck_run(&g1);
    th_gradcheck g2 = {.name = "add [2,3,4]+[3,1] (b only)", .n_in = 2, .data = {a, b},
                       .shape = {MTL_SHAPE(2, 3, 4), MTL_SHAPE(3, 1)}, .check = {0, 1}, .forward = fw_add};
    th_gradcheck_run(&g2);
    /* the same tensor as both operands */
    th_gradcheck g3 = {.name = "mul x*x", .n_in = 1, .data = {a}, .shape = {MTL_SHAPE(3, 5)}, .check = {1},
                       .forward = fw_square};
    th_gradcheck_run(&g3);
    th_gradcheck g4 = {.name = "add x+x", .n_in = 1, .data = {a}, .shape = {MTL_SHAPE(3, 5)}, .check = {1},
                       .forward = fw_add_self};
    th_gradcheck_run(&g4);
}

static void gradcheck_affine(void) {
    float x[30];
    th_fill(x, 30, 60, -1, 1);
    float p1[2] = {1.7f, -0.3f}, p2[2] = {-0.5f, 1.0f};
    th_gradcheck g = {.name = "affine 1.7x-0.3", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(5, 6)}, .check = {1},
                      .forward = fw_affine, .ctx = p1};
    th_gradcheck_run(&g);
    th_gradcheck g2 = {.name = "affine -0.5x+1 (3-d)", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(2, 3, 5)},
                       .check = {1}, .forward = fw_affine, .ctx = p2};
    th_gradcheck_run(&g2);
}

static void gradcheck_scale_channels(void) {
    float x[66], s[12];
    th_fill(x, 66, 70, -1, 1), th_fill(s, 12, 71, -1, 1);
    th_gradcheck g = {.name = "scale_channels [3,4,5]", .n_in = 2, .data = {x, s},
                      .shape = {MTL_SHAPE(3, 4, 5), MTL_SHAPE(3, 4)}, .check = {1, 1}, .forward = fw_scale_channels};
    th_gradcheck_run(&g);
    th_gradcheck g2 = {.name = "scale_channels [2,3,11]", .n_in = 2, .data = {x, s},
                       .shape = {MTL_SHAPE(2, 3, 11), MTL_SHAPE(2, 3)}, .check = {1, 1}, .forward = fw_scale_channels};
    th_gradcheck_run(&g2);
}

static void gradcheck_reduce(void) {
    float x[64];
    th_fill(x, 64, 80, -1, 1);
    for (int mean = 0; mean < 2; mean++)
        for (int axis = -1; axis < 3; axis++)
            for (int keep = 0; keep < 2; keep++) {
                red_ctx c = {axis, keep, mean};
                char name[64];
                snprintf(name, sizeof name, "%s axis %d keepdim %d", mean ? "mean" : "sum", axis, keep);
                th_gradcheck g = {.name = name, .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(2, 3, 4)}, .check = {1},
                                  .forward = fw_reduce, .ctx = &c};
                th_gradcheck_run(&g);
            }
    red_ctx c1 = {0, false, true}, c4 = {2, false, false}, c0 = {-4, true, true};
    th_gradcheck g1 = {.name = "mean of 1-d -> 0-d", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(7)}, .check = {1},
                       .forward = fw_reduce, .ctx = &c1};
    th_gradcheck_run(&g1);
    th_gradcheck g2 = {.name = "sum [2,2,3,2] axis 2", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(2, 2, 3, 2)},
                       .check = {1}, .forward = fw_reduce, .ctx = &c4};
    th_gradcheck_run(&g2);
    th_gradcheck g3 = {.name = "mean [2,2,3,2] axis -4 keepdim", .n_in = 1, .data = {x},
                       .shape = {MTL_SHAPE(2, 2, 3, 2)}, .check = {1}, .forward = fw_reduce, .ctx = &c0};
    th_gradcheck_run(&g3);
}

/* ---- shapes and values of reductions ---------------------------------------------- */

static void reduce_values(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    /* x[o, k, i] over shapes that exercise both kernels (inner 1 and inner > 1), large
     * enough for several threads: compare with double sums */
    static const int shapes[][3] = {{50, 128, 64}, {3, 1000, 70}, {1, 5000, 40}, {7, 3, 1}, {2, 0, 3}};
    for (int s = 0; s < 5; s++) {
        int O = shapes[s][0], K = shapes[s][1], I = shapes[s][2];
        int64_t n = (int64_t)O * K * I;
        float *x = malloc((size_t)(n + 1) * sizeof *x);
        th_fill(x, n, 90 + s, -1, 1);
        for (int mean = 0; mean < 2; mean++) {
            mtl_tape_reset(t);
            mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(O, K, I), x);
            mtl_tensor *Y = mean ? mtl_mean(t, X, 1, false) : mtl_sum(t, X, 1, false);
            CHECK(Y != NULL, "%s: %s", mean ? "mean" : "sum", mtl_last_error());
            if (!Y) continue;
            CHECK(Y->ndim == 2 && Y->shape[0] == O && Y->shape[1] == I, "wrong shape");
            double worst = 0;
            for (int o = 0; o < O; o++)
                for (int i = 0; i < I; i++) {
                    double acc = 0;
                    for (int k = 0; k < K; k++) acc += x[((int64_t)o * K + k) * I + i];
                    if (mean) acc = K ? acc / K : NAN;
                    float got = Y->data[(int64_t)o * I + i];
                    if (K == 0 && mean) CHECK(isnan(got), "mean over an empty axis is %g, want NaN", got);
                    else if (fabs(got - acc) > worst) worst = fabs(got - acc);
                }
            /* float sums in a fixed order: rounding grows at most with K */
            CHECK(worst <= (mean ? 1e-6 : 1e-6 * K), "%s [%d,%d,%d] axis 1: max diff %g", mean ? "mean" : "sum", O,
                  K, I, worst);
        }
        free(x);
    }
    /* output shapes */
    float x[24] = {0};
    mtl_tape_reset(t);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 4), x), *V = mtl_tensor_wrap(t, MTL_SHAPE(5), x);
    mtl_tensor *y1 = mtl_mean(t, X, -1, false), *y2 = mtl_sum(t, X, 1, true), *y3 = mtl_mean(t, V, 0, false);
    mtl_tensor *y4 = mtl_sum(t, V, -1, true);
    CHECK(y1 && mtl_shape_equal(mtl_tensor_shape(y1), MTL_SHAPE(2, 3)), "mean axis -1 shape");
    CHECK(y2 && mtl_shape_equal(mtl_tensor_shape(y2), MTL_SHAPE(2, 1, 4)), "sum keepdim shape");
    CHECK(y3 && y3->ndim == 0 && y3->size == 1, "mean of a 1-d tensor is not 0-d");
    CHECK(y4 && mtl_shape_equal(mtl_tensor_shape(y4), MTL_SHAPE(1)), "sum keepdim of 1-d shape");
    mtl_tape_free(t);
}

/* ---- determinism: the backward does not depend on the thread count ---------------- */

static void grads_for(int threads, bool mul, mtl_shape sa, mtl_shape sb, const float *a, const float *b,
                      float *ga, float *gb) {
    mtl_set_threads(threads);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *A = mtl_tensor_wrap(t, sa, (float *)a), *B = mtl_tensor_wrap(t, sb, (float *)b);
    mtl_tensor_requires_grad(A), mtl_tensor_requires_grad(B);
    mtl_tensor *Y = mul ? mtl_mul(t, A, B) : mtl_add(t, A, B);
    CHECK(Y != NULL, "%s", mtl_last_error());
    if (Y) {
        float *dy = malloc((size_t)Y->size * sizeof *dy);
        th_fill(dy, Y->size, 7, -1, 1);
        CHECK_OK(mtl_backward_from(t, Y, dy));
        memcpy(ga, A->grad, (size_t)A->size * sizeof *ga);
        memcpy(gb, B->grad, (size_t)B->size * sizeof *gb);
        free(dy);
    }
    mtl_tape_free(t);
}

static void deterministic_backward(void) {
    int keep = mtl_get_threads();
    static const bcase cases[] = {
        {MTL_SHAPE(50, 64, 128), MTL_SHAPE(1, 64, 1), MTL_SHAPE(50, 64, 128)},
        {MTL_SHAPE(1024, 256), MTL_SHAPE(256), MTL_SHAPE(1024, 256)},
        {MTL_SHAPE(1024, 256), MTL_SHAPE(1024, 1), MTL_SHAPE(1024, 256)},
        {MTL_SHAPE(64, 1, 512), MTL_SHAPE(1, 32, 1), MTL_SHAPE(64, 32, 512)},
        {MTL_SHAPE(300, 400), MTL_SCALAR_SHAPE, MTL_SHAPE(300, 400)},
    };
    for (int c = 0; c < 5; c++) {
        int64_t na = mtl_shape_size(cases[c].a), nb = mtl_shape_size(cases[c].b);
        float *a = malloc((size_t)na * sizeof *a), *b = malloc((size_t)nb * sizeof *b);
        float *ga1 = malloc((size_t)na * sizeof *a), *gb1 = malloc((size_t)nb * sizeof *b);
        float *ga4 = malloc((size_t)na * sizeof *a), *gb4 = malloc((size_t)nb * sizeof *b);
        th_fill(a, na, 1, -1, 1), th_fill(b, nb, 2, -1, 1);
        for (int mul = 0; mul < 2; mul++) {
            grads_for(1, mul, cases[c].a, cases[c].b, a, b, ga1, gb1);
            grads_for(4, mul, cases[c].a, cases[c].b, a, b, ga4, gb4);
            CHECK(memcmp(ga1, ga4, (size_t)na * sizeof *a) == 0, "case %d %s: da differs between 1 and 4 threads", c,
                  mul ? "mul" : "add");
            CHECK(memcmp(gb1, gb4, (size_t)nb * sizeof *b) == 0, "case %d %s: db differs between 1 and 4 threads", c,
                  mul ? "mul" : "add");
            /* and the broadcast operand's gradient is the right sum */
            if (!mul && c == 0) { /* db[c] = sum of dy over n and l (dy as in grads_for) */
                float *dy = malloc((size_t)na * sizeof *dy);
                th_fill(dy, na, 7, -1, 1);
                double worst = 0;
                for (int ch = 0; ch < 64; ch++) {
                    double acc = 0;
                    for (int n = 0; n < 50; n++)
                        for (int l = 0; l < 128; l++) acc += dy[((int64_t)n * 64 + ch) * 128 + l];
                    if (fabs(acc - gb1[ch]) > worst) worst = fabs(acc - gb1[ch]);
                }
                free(dy);
                CHECK(worst < 1e-3, "bias gradient off by %g", worst);
            }
        }
        free(a), free(b), free(ga1), free(gb1), free(ga4), free(gb4);
    }
    mtl_set_threads(keep);
}

/* ---- recording off: plain forward ---------------------------------------------------- */

static void inference_mode(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tape_set_recording(t, false);
    float x[6] = {1, 2, 3, 4, 5, 6}, s[2] = {2, -1};
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(1, 2, 3), x), *S = mtl_tensor_wrap(t, MTL_SHAPE(1, 2), s);
    mtl_tensor_requires_grad(X);
    mtl_tensor *Y = mtl_scale_channels(t, X, S);
    mtl_tensor *Z = mtl_affine(t, Y, 0.5f, 1.0f);
    mtl_tensor *M = mtl_mean(t, Z, -1, false);
    CHECK(M && M->size == 2, "%s", mtl_last_error());
    if (M) {
        CHECK_CLOSE(M->data[0], 3.0, 1e-6, 0, "mean row 0"); /* 0.5*2*[1,2,3]+1 = [2,3,4] */
        CHECK_CLOSE(M->data[1], -1.5, 1e-6, 0, "mean row 1"); /* -0.5*[4,5,6]+1 = [-1,-1.5,-2] */
    }
    CHECK(mtl_tape_nodes(t) == 0, "recorded %d nodes while not recording", mtl_tape_nodes(t));
    mtl_tape_free(t);
}

/* ---- parity ---------------------------------------------------------------------- */

static void parity_elementwise(void) {
    mtl_st_file *f = th_fixture("ops_elementwise.safetensors");
    if (!f) return;
    static const char *ab[] = {"a", "b"}, *x1[] = {"x"}, *xs[] = {"x", "s"};
    static const char *pat[] = {"same", "chan", "chan2", "row", "last", "front", "both", "scalar", "d4"};
    char p[64];
    for (int i = 0; i < 9; i++) {
        snprintf(p, sizeof p, "add_%s", pat[i]);
        th_parity_case(f, p, 2, ab, fw_add, NULL, 1e-5, 1e-4);
        snprintf(p, sizeof p, "mul_%s", pat[i]);
        th_parity_case(f, p, 2, ab, fw_mul, NULL, 1e-5, 1e-4);
    }
    float aff1[2] = {1.5f, -0.25f}, aff2[2] = {1.0f, 1.0f};
    th_parity_case(f, "affine", 1, x1, fw_affine, aff1, 1e-5, 1e-4);
    th_parity_case(f, "affine_shift", 1, x1, fw_affine, aff2, 1e-5, 1e-4);
    th_parity_case(f, "scale_channels", 2, xs, fw_scale_channels, NULL, 1e-5, 1e-4);
    th_parity_case(f, "scale_channels_long", 2, xs, fw_scale_channels, NULL, 1e-5, 1e-4);
    for (int mean = 1; mean >= 0; mean--) {
        const char *r = mean ? "mean" : "sum";
        for (int axis = 0; axis < 4; axis++)
            for (int keep = 0; keep < 2; keep++) {
                red_ctx c = {axis == 3 ? -1 : axis, keep, mean};
                snprintf(p, sizeof p, "%s_a%d_k%d", r, c.axis, keep);
                th_parity_case(f, p, 1, x1, fw_reduce, &c, 1e-5, 1e-4);
            }
        red_ctx c0 = {0, false, mean}, cl = {-1, false, mean};
        snprintf(p, sizeof p, "%s_1d", r);
        th_parity_case(f, p, 1, x1, fw_reduce, &c0, 1e-5, 1e-4);
        snprintf(p, sizeof p, "%s_gap", r);
        th_parity_case(f, p, 1, x1, fw_reduce, &cl, 1e-5, 1e-4);
    }
}

/* ---- error paths ------------------------------------------------------------------ */

static void errors_elementwise(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float d[64] = {0};
#define W(...) mtl_tensor_wrap(t, MTL_SHAPE(__VA_ARGS__), d)
    th_expect_fail(t, mtl_add(t, NULL, W(2)), MTL_ERR_ARG, "add", "add NULL a", NULL);
    th_expect_fail(t, mtl_mul(t, W(2), NULL), MTL_ERR_ARG, "mul", "mul NULL b", NULL);
    th_expect_fail(t, mtl_add(t, W(2, 3), W(4)), MTL_ERR_SHAPE, "add", "add [2,3]+[4]", NULL);
    CHECK(strstr(mtl_last_error(), "[2, 3]") && strstr(mtl_last_error(), "[4]"), "message '%s' lacks the shapes",
          mtl_last_error());
    th_expect_fail(t, mtl_mul(t, W(2, 3), W(3, 2)), MTL_ERR_SHAPE, "mul", "mul [2,3]*[3,2]", NULL);
    th_expect_fail(t, mtl_add(t, W(2, 3, 4), W(2, 2, 4)), MTL_ERR_SHAPE, "add", "add [2,3,4]+[2,2,4]", NULL);
    th_expect_fail(t, mtl_affine(t, NULL, 1, 0), MTL_ERR_ARG, "affine", "affine NULL", NULL);
    th_expect_fail(t, mtl_affine(t, W(3), NAN, 0), MTL_ERR_NUMERIC, "affine", "affine NaN scale", NULL);
    th_expect_fail(t, mtl_affine(t, W(3), 1, INFINITY), MTL_ERR_NUMERIC, "affine", "affine infinite shift", NULL);
    th_expect_fail(t, mtl_scale_channels(t, NULL, W(2, 3)), MTL_ERR_ARG, "scale_channels", "scale_channels NULL x", NULL);
    th_expect_fail(t, mtl_scale_channels(t, W(2, 3, 4), NULL), MTL_ERR_ARG, "scale_channels", "scale_channels NULL s", NULL);
    th_expect_fail(t, mtl_scale_channels(t, W(2, 3), W(2, 3)), MTL_ERR_SHAPE, "scale_channels", "scale_channels 2-d x", NULL);
    th_expect_fail(t, mtl_scale_channels(t, W(2, 3, 4), W(3, 2)), MTL_ERR_SHAPE, "scale_channels", "s [3,2]", NULL);
    th_expect_fail(t, mtl_scale_channels(t, W(2, 3, 4), W(2, 3, 1)), MTL_ERR_SHAPE, "scale_channels", "s [2,3,1]", NULL);
    th_expect_fail(t, mtl_scale_channels(t, W(2, 3, 4), W(6)), MTL_ERR_SHAPE, "scale_channels", "s [6]", NULL);
    th_expect_fail(t, mtl_mean(t, NULL, 0, false), MTL_ERR_ARG, "mean", "mean NULL", NULL);
    th_expect_fail(t, mtl_sum(t, W(2, 3, 4), 3, false), MTL_ERR_RANGE, "sum", "sum axis 3 of 3-d", NULL);
    th_expect_fail(t, mtl_mean(t, W(2, 3, 4), -4, true), MTL_ERR_RANGE, "mean", "mean axis -4 of 3-d", NULL);
    th_expect_fail(t, mtl_sum(t, mtl_tensor_wrap(t, MTL_SCALAR_SHAPE, d), 0, false), MTL_ERR_RANGE, "sum", "sum of a 0-d tensor", NULL);
    /* NULL tape: NULL and a message */
    mtl_clear_error();
    CHECK(mtl_add(NULL, W(2), W(2)) == NULL, "NULL tape accepted");
    CHECK(strstr(mtl_last_error(), "add") != NULL, "message '%s'", mtl_last_error());
    CHECK(mtl_scale_channels(NULL, W(1, 1, 1), W(1, 1)) == NULL, "NULL tape accepted");
    CHECK(mtl_sum(NULL, W(2), 0, false) == NULL, "NULL tape accepted");
    /* the first error sticks and later ops return NULL */
    CHECK(mtl_add(t, W(2), W(3)) == NULL, "add [2]+[3] accepted");
    CHECK(mtl_mean(t, W(2), 0, false) == NULL, "an op ran after a failure");
    CHECK(strstr(mtl_tape_error(t), "add") != NULL, "first error lost: %s", mtl_tape_error(t));
#undef W
    mtl_tape_free(t);
}

int main(void) {
    RUN(broadcast_forward);
    RUN(gradcheck_binary);
    RUN(gradcheck_affine);
    RUN(gradcheck_scale_channels);
    RUN(gradcheck_reduce);
    RUN(reduce_values);
    RUN(deterministic_backward);
    RUN(inference_mode);
    RUN(parity_elementwise);
    RUN(errors_elementwise);
    return th_summary();
}
