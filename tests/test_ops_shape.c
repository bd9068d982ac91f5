/* concat, slice, reshape: values, finite-difference gradient checks (including
 * gradients that several ops add into the same input), PyTorch parity, error paths. */
#include <string.h>

#include "harness.h"

typedef struct {
    int n, axis;
} cat_ctx;
static mtl_tensor *fw_concat(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const cat_ctx *c = ctx;
    return mtl_concat(t, c->n, in, c->axis);
}
typedef struct {
    int axis, start, len;
} slice_ctx;
static mtl_tensor *fw_slice(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const slice_ctx *c = ctx;
    return mtl_slice(t, in[0], c->axis, c->start, c->len);
}
static mtl_tensor *fw_reshape(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_reshape(t, in[0], *(mtl_shape *)ctx); }

/* overlapping slices of x (axis 1 of [2,5,3]) put back together: x's gradient collects
 * the contributions of both slices; the concat also takes x itself */
static mtl_tensor *fw_slices_concat(mtl_tape *t, mtl_tensor **in, void *ctx) {
    mtl_tensor *a = mtl_slice(t, in[0], 1, 0, 3), *b = mtl_slice(t, in[0], 1, 1, 4);
    mtl_tensor *parts[3] = {a, b, in[0]};
    mtl_tensor *c = mtl_concat(t, 3, parts, 1);
    return mtl_reshape(t, c, MTL_SHAPE(2, 36));
}

/* ---- values ---------------------------------------------------------------------- */

static void shape_values(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float a[6] = {0, 1, 2, 3, 4, 5}, b[4] = {10, 11, 12, 13};
    mtl_tensor *A = mtl_tensor_wrap(t, MTL_SHAPE(2, 3), a), *B = mtl_tensor_wrap(t, MTL_SHAPE(2, 2), b);
    mtl_tensor *AB[2] = {A, B};
    mtl_tensor *C = mtl_concat(t, 2, AB, 1);
    static const float want_c[10] = {0, 1, 2, 10, 11, 3, 4, 5, 12, 13};
    CHECK(C && mtl_shape_equal(mtl_tensor_shape(C), MTL_SHAPE(2, 5)), "concat shape");
    if (C) CHECK(memcmp(C->data, want_c, sizeof want_c) == 0, "concat axis 1 values");
    mtl_tensor *AA[2] = {A, A};
    mtl_tensor *C0 = mtl_concat(t, 2, AA, -2);
    CHECK(C0 && mtl_shape_equal(mtl_tensor_shape(C0), MTL_SHAPE(4, 3)), "concat axis -2 shape");
    if (C0) CHECK(memcmp(C0->data, a, sizeof a) == 0 && memcmp(C0->data + 6, a, sizeof a) == 0, "concat axis 0");
    mtl_tensor *C1 = mtl_concat(t, 1, &A, 0);
    CHECK(C1 && C1 != A && mtl_shape_equal(mtl_tensor_shape(C1), MTL_SHAPE(2, 3)), "concat of one tensor");
    if (C1) CHECK(memcmp(C1->data, a, sizeof a) == 0, "concat of one tensor: values");
    mtl_tensor *S = mtl_slice(t, C, 1, 2, 2);
    static const float want_s[4] = {2, 10, 5, 12};
    CHECK(S && mtl_shape_equal(mtl_tensor_shape(S), MTL_SHAPE(2, 2)), "slice shape");
    if (S) CHECK(memcmp(S->data, want_s, sizeof want_s) == 0, "slice values");
    mtl_tensor *S0 = mtl_slice(t, C, -2, 1, 1);
    CHECK(S0 && mtl_shape_equal(mtl_tensor_shape(S0), MTL_SHAPE(1, 5)), "slice axis -2 keeps the dim");
    if (S0) CHECK(memcmp(S0->data, want_c + 5, 5 * sizeof(float)) == 0, "slice row values");
    mtl_tensor *R = mtl_reshape(t, C, MTL_SHAPE(5, -1));
    CHECK(R && mtl_shape_equal(mtl_tensor_shape(R), MTL_SHAPE(5, 2)), "reshape with -1");
    if (R) CHECK(R->data == C->data, "reshape is a view: the same data");
    float one = 3;
    mtl_tensor *R0 = mtl_reshape(t, mtl_tensor_wrap(t, MTL_SHAPE(1, 1), &one), MTL_SCALAR_SHAPE);
    CHECK(R0 && R0->ndim == 0 && R0->data[0] == 3, "reshape [1,1] -> 0-d");
    mtl_tensor *R1 = R0 ? mtl_reshape(t, R0, MTL_SHAPE(1)) : NULL;
    CHECK(R1 && R1->ndim == 1 && R1->data[0] == 3, "reshape 0-d -> [1]");
    /* large enough for several threads in the copies */
    enum { N = 50, Ch = 64, L = 300 };
    static float big[N * Ch * L];
    th_fill(big, N * Ch * L, 5, -1, 1);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N, Ch, L), big);
    mtl_tensor *Xs = mtl_slice(t, X, 2, 100, 150);
    mtl_tensor *Xr = mtl_reshape(t, X, MTL_SHAPE(N * Ch, L));
    CHECK(Xs && Xr, "%s", mtl_last_error());
    if (Xs && Xr) {
        int bad = 0;
        for (int r = 0; r < N * Ch; r++)
            for (int l = 0; l < 150; l++) bad += Xs->data[r * 150 + l] != big[r * L + 100 + l];
        CHECK(bad == 0, "large slice: %d wrong elements", bad);
        CHECK(memcmp(Xr->data, big, sizeof big) == 0, "large reshape");
    }
    CHECK(mtl_tape_status(t) == MTL_OK, "%s", mtl_tape_error(t));
    mtl_tape_free(t);
}

/* ---- gradient checks ---------------------------------------------------------------- */

static void gradcheck_concat(void) {
    float a[40], b[40], c[40];
    th_fill(a, 40, 1, -1, 1), th_fill(b, 40, 2, -1, 1), th_fill(c, 40, 3, -1, 1);
    struct {
        int axis;
        mtl_shape s[3];
    } cases[] = {
        {0, {MTL_SHAPE(1, 3, 4), MTL_SHAPE(2, 3, 4), MTL_SHAPE(3, 3, 4)}},
        {1, {MTL_SHAPE(2, 1, 4), MTL_SHAPE(2, 2, 4), MTL_SHAPE(2, 3, 4)}},
        {2, {MTL_SHAPE(2, 3, 1), MTL_SHAPE(2, 3, 2), MTL_SHAPE(2, 3, 3)}},
        {-1, {MTL_SHAPE(4, 2), MTL_SHAPE(4, 5), MTL_SHAPE(4, 1)}},
        {0, {MTL_SHAPE(3), MTL_SHAPE(1), MTL_SHAPE(4)}},
        {3, {MTL_SHAPE(2, 1, 2, 2), MTL_SHAPE(2, 1, 2, 1), MTL_SHAPE(2, 1, 2, 3)}},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        cat_ctx ctx = {3, cases[i].axis};
        char s0[32], name[80];
        snprintf(name, sizeof name, "concat axis %d %s..", cases[i].axis, mtl_shape_str(cases[i].s[0], s0, sizeof s0));
        th_gradcheck g = {.name = name, .n_in = 3, .data = {a, b, c},
                          .shape = {cases[i].s[0], cases[i].s[1], cases[i].s[2]}, .check = {1, 1, 1},
                          .forward = fw_concat, .ctx = &ctx};
        th_gradcheck_run(&g);
    }
    /* the middle tensor needs no gradient */
    cat_ctx ctx = {3, 1};
    th_gradcheck g = {.name = "concat, middle without grad", .n_in = 3, .data = {a, b, c},
                      .shape = {MTL_SHAPE(2, 1, 4), MTL_SHAPE(2, 2, 4), MTL_SHAPE(2, 3, 4)}, .check = {1, 0, 1},
                      .forward = fw_concat, .ctx = &ctx};
    th_gradcheck_run(&g);
    cat_ctx one = {1, 0};
    th_gradcheck g1 = {.name = "concat of one tensor", .n_in = 1, .data = {a}, .shape = {MTL_SHAPE(2, 5)},
                       .check = {1}, .forward = fw_concat, .ctx = &one};
    th_gradcheck_run(&g1);
}

static void gradcheck_slice(void) {
    float x[72];
    th_fill(x, 72, 4, -1, 1);
    struct {
        mtl_shape s;
        slice_ctx c;
    } cases[] = {
        {MTL_SHAPE(3, 4, 5), {0, 1, 2}}, {MTL_SHAPE(3, 4, 5), {1, 0, 4}}, {MTL_SHAPE(3, 4, 5), {-1, 2, 3}},
        {MTL_SHAPE(3, 4, 5), {2, 4, 1}}, {MTL_SHAPE(9), {0, 3, 4}},       {MTL_SHAPE(2, 3, 2, 6), {3, 5, 1}},
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        char s0[32], name[80];
        snprintf(name, sizeof name, "slice %s axis %d [%d,+%d)", mtl_shape_str(cases[i].s, s0, sizeof s0),
                 cases[i].c.axis, cases[i].c.start, cases[i].c.len);
        th_gradcheck g = {.name = name, .n_in = 1, .data = {x}, .shape = {cases[i].s}, .check = {1},
                          .forward = fw_slice, .ctx = &cases[i].c};
        th_gradcheck_run(&g);
    }
    th_gradcheck g = {.name = "overlapping slices + concat", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(2, 5, 3)},
                      .check = {1}, .forward = fw_slices_concat};
    th_gradcheck_run(&g);
}

static void gradcheck_reshape(void) {
    float x[24];
    th_fill(x, 24, 6, -1, 1);
    mtl_shape to[] = {MTL_SHAPE(4, 6), MTL_SHAPE(24), MTL_SHAPE(2, -1, 2), MTL_SHAPE(1, 2, 3, 4)};
    for (int i = 0; i < 4; i++) {
        char s0[32], name[80];
        snprintf(name, sizeof name, "reshape [2,3,4] -> %s", mtl_shape_str(to[i], s0, sizeof s0));
        th_gradcheck g = {.name = name, .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(2, 3, 4)}, .check = {1},
                          .forward = fw_reshape, .ctx = &to[i]};
        th_gradcheck_run(&g);
    }
    mtl_shape s0 = MTL_SCALAR_SHAPE;
    th_gradcheck g = {.name = "reshape [1] -> 0-d", .n_in = 1, .data = {x}, .shape = {MTL_SHAPE(1)}, .check = {1},
                      .forward = fw_reshape, .ctx = &s0};
    th_gradcheck_run(&g);
}

/* ---- parity ---------------------------------------------------------------------- */

static void parity_shape(void) {
    mtl_st_file *f = th_fixture("ops_shape.safetensors");
    if (!f) return;
    static const char *abc[] = {"a", "b", "c"}, *x1[] = {"x"};
    cat_ctx c0 = {3, 0}, c1 = {3, 1}, c2 = {3, 2}, cm = {3, -1};
    th_parity_case(f, "cat0", 3, abc, fw_concat, &c0, 1e-6, 0);
    th_parity_case(f, "cat1", 3, abc, fw_concat, &c1, 1e-6, 0);
    th_parity_case(f, "cat2", 3, abc, fw_concat, &c2, 1e-6, 0);
    th_parity_case(f, "catm1", 3, abc, fw_concat, &cm, 1e-6, 0);
    slice_ctx s0 = {0, 1, 2}, s1 = {1, 0, 4}, s2 = {2, 2, 3}, sm = {-1, 5, 1}, s1d = {0, 3, 4};
    th_parity_case(f, "slice0", 1, x1, fw_slice, &s0, 1e-6, 0);
    th_parity_case(f, "slice1", 1, x1, fw_slice, &s1, 1e-6, 0);
    th_parity_case(f, "slice2", 1, x1, fw_slice, &s2, 1e-6, 0);
    th_parity_case(f, "slicem1", 1, x1, fw_slice, &sm, 1e-6, 0);
    th_parity_case(f, "slice1d", 1, x1, fw_slice, &s1d, 1e-6, 0);
    mtl_shape r0 = MTL_SHAPE(24), r1 = MTL_SHAPE(4, 6), r2 = MTL_SHAPE(2, 3, 2, 2);
    th_parity_case(f, "reshape_flat", 1, x1, fw_reshape, &r0, 1e-6, 0);
    th_parity_case(f, "reshape_2d", 1, x1, fw_reshape, &r1, 1e-6, 0);
    th_parity_case(f, "reshape_4d", 1, x1, fw_reshape, &r2, 1e-6, 0);
}

/* ---- error paths ------------------------------------------------------------------ */

static void errors_shape(void) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float d[64] = {0};
#define W(...) mtl_tensor_wrap(t, MTL_SHAPE(__VA_ARGS__), d)
    mtl_tensor *xs[3];
    xs[0] = W(2, 3), xs[1] = W(2, 4), xs[2] = W(2, 3);
    th_expect_fail(t, mtl_concat(t, 0, xs, 0), MTL_ERR_ARG, "concat", "concat n = 0", NULL);
    th_expect_fail(t, mtl_concat(t, -1, xs, 0), MTL_ERR_ARG, "concat", "concat n = -1", NULL);
    th_expect_fail(t, mtl_concat(t, 2, NULL, 0), MTL_ERR_ARG, "concat", "concat xs NULL", NULL);
    xs[0] = W(2, 3), xs[1] = NULL;
    th_expect_fail(t, mtl_concat(t, 2, xs, 0), MTL_ERR_ARG, "concat", "concat xs[1] NULL", NULL);
    xs[0] = W(2, 3), xs[1] = W(2, 4);
    th_expect_fail(t, mtl_concat(t, 2, xs, 0), MTL_ERR_SHAPE, "concat", "concat [2,3], [2,4] axis 0", NULL);
    xs[0] = W(2, 3), xs[1] = W(2, 3, 1);
    th_expect_fail(t, mtl_concat(t, 2, xs, 1), MTL_ERR_SHAPE, "concat", "concat 2-d with 3-d", NULL);
    xs[0] = W(2, 3), xs[1] = W(2, 4);
    th_expect_fail(t, mtl_concat(t, 2, xs, 2), MTL_ERR_RANGE, "concat", "concat axis 2 of 2-d", NULL);
    xs[0] = W(2, 3), xs[1] = W(2, 4);
    th_expect_fail(t, mtl_concat(t, 2, xs, -3), MTL_ERR_RANGE, "concat", "concat axis -3 of 2-d", NULL);
    xs[0] = mtl_tensor_wrap(t, MTL_SCALAR_SHAPE, d);
    th_expect_fail(t, mtl_concat(t, 1, xs, 0), MTL_ERR_RANGE, "concat", "concat of 0-d", NULL);
    CHECK(mtl_concat(NULL, 1, xs, 0) == NULL, "NULL tape accepted");

    th_expect_fail(t, mtl_slice(t, NULL, 0, 0, 1), MTL_ERR_ARG, "slice", "slice NULL", NULL);
    th_expect_fail(t, mtl_slice(t, W(3, 4), 2, 0, 1), MTL_ERR_RANGE, "slice", "slice axis 2 of 2-d", NULL);
    th_expect_fail(t, mtl_slice(t, W(3, 4), 1, -1, 2), MTL_ERR_RANGE, "slice", "slice start -1", NULL);
    th_expect_fail(t, mtl_slice(t, W(3, 4), 1, 0, 0), MTL_ERR_RANGE, "slice", "slice len 0", NULL);
    th_expect_fail(t, mtl_slice(t, W(3, 4), 1, 3, 2), MTL_ERR_RANGE, "slice", "slice past the end", NULL);
    th_expect_fail(t, mtl_slice(t, W(3, 4), 0, 4, 1), MTL_ERR_RANGE, "slice", "slice start = dim", NULL);
    th_expect_fail(t, mtl_slice(t, W(3, 4), 0, 1, 0x7fffffff), MTL_ERR_RANGE, "slice", "slice start+len overflows int", NULL);

    th_expect_fail(t, mtl_reshape(t, NULL, MTL_SHAPE(2)), MTL_ERR_ARG, "reshape", "reshape NULL", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), MTL_SHAPE(4, 2)), MTL_ERR_SHAPE, "reshape", "reshape 6 -> 8", NULL);
    CHECK(strstr(mtl_last_error(), "[2, 3]") && strstr(mtl_last_error(), "[4, 2]"), "message '%s' lacks the shapes",
          mtl_last_error());
    th_expect_fail(t, mtl_reshape(t, W(2, 3), MTL_SHAPE(-1, -1)), MTL_ERR_SHAPE, "reshape", "reshape two -1", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), MTL_SHAPE(4, -1)), MTL_ERR_SHAPE, "reshape", "reshape 6 as [4, -1]", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), MTL_SHAPE(-2, -3)), MTL_ERR_SHAPE, "reshape", "reshape negative dims", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 0), MTL_SHAPE(0, -1)), MTL_ERR_SHAPE, "reshape", "reshape ambiguous -1", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), (mtl_shape){5, {1, 2, 3, 1}}), MTL_ERR_SHAPE, "reshape", "reshape 5 dims", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), (mtl_shape){-1, {6}}), MTL_ERR_SHAPE, "reshape", "reshape ndim -1", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), MTL_SCALAR_SHAPE), MTL_ERR_SHAPE, "reshape", "reshape 6 -> 0-d", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), MTL_SHAPE(-1, 2000000000, 2000000000, 2000000000)), MTL_ERR_SHAPE, "reshape", "reshape with an overflowing size", NULL);
    th_expect_fail(t, mtl_reshape(t, W(2, 3), MTL_SHAPE(2000000000, 2000000000, 2000000000, 3)), MTL_ERR_SHAPE, "reshape", "reshape with an overflowing size (no -1)", NULL);
    CHECK(mtl_reshape(NULL, W(2), MTL_SHAPE(2)) == NULL, "NULL tape accepted");
    /* the first error sticks */
    CHECK(mtl_slice(t, W(3), 0, 3, 1) == NULL, "bad slice accepted");
    CHECK(mtl_reshape(t, W(3), MTL_SHAPE(3)) == NULL, "an op ran after a failure");
    CHECK(strstr(mtl_tape_error(t), "slice") != NULL, "first error lost: %s", mtl_tape_error(t));
#undef W
    mtl_tape_free(t);
}

int main(void) {
    RUN(shape_values);
    RUN(gradcheck_concat);
    RUN(gradcheck_slice);
    RUN(gradcheck_reshape);
    RUN(parity_shape);
    RUN(errors_shape);
    return th_summary();
}
