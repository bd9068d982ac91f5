/* Error handling of the public API (ops.h, nn.h, optim.h, model.h, data.h, train.h):
 * NULL arguments and impossible sizes give an error status (or NULL with the tape's
 * status set) and a message, never a crash. Also run under ASan + UBSan, where
 * leaks on error paths fail the run too. Each op also gets one valid call, so that
 * an op that always fails cannot pass. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
/* impossible allocations must come back as NULL (MTL_ERR_NOMEM), not abort the run */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif

/* ---- op checks -------------------------------------------------------------------
 * The inputs are parameters/buffers (their headers live outside the tape), so the
 * tape can be reset before each call. */

static int n_op_checks;

static void expect_null_(mtl_tape *t, mtl_tensor *y, mtl_status want, const char *expr, int line) {
    n_op_checks++;
    CHECK(y == NULL, "line %d: %s returned a tensor", line, expr);
    mtl_status s = mtl_tape_status(t);
    if (want != MTL_OK)
        CHECK(s == want, "line %d: %s: tape status '%s', expected '%s' (%s)", line, expr, mtl_status_name(s),
              mtl_status_name(want), mtl_tape_error(t));
    else
        CHECK(s != MTL_OK, "line %d: %s: tape status ok", line, expr);
    CHECK(mtl_tape_error(t)[0] != '\0', "line %d: %s: empty tape message", line, expr);
    CHECK(mtl_last_error()[0] != '\0', "line %d: %s: empty mtl_last_error()", line, expr);
    /* the failure sticks: a later valid op returns NULL and the first error is kept */
    char first[512];
    snprintf(first, sizeof first, "%s", mtl_tape_error(t));
    mtl_tensor *z = mtl_tensor_zeros(t, MTL_SHAPE(2));
    CHECK(z == NULL && mtl_tape_status(t) == s && strcmp(first, mtl_tape_error(t)) == 0,
          "line %d: %s: the tape forgot its error", line, expr);
}
/* want MTL_OK means "any error" (ops.h does not name the status) */
#define EXPECT_NULL(t, expr, want)                                                                                    \
    do {                                                                                                              \
        mtl_tape_reset(t);                                                                                            \
        mtl_clear_error();                                                                                            \
        expect_null_(t, (expr), want, #expr, __LINE__);                                                               \
    } while (0)

#define EXPECT_TENSOR(t, expr)                                                                                        \
    do {                                                                                                              \
        mtl_tape_reset(t);                                                                                            \
        mtl_tensor *y_ = (expr);                                                                                      \
        CHECK(y_ != NULL && mtl_tape_status(t) == MTL_OK, "line %d: valid call %s failed: %s", __LINE__, #expr,       \
              mtl_tape_error(t));                                                                                     \
    } while (0)

/* no tape: NULL and a message */
#define EXPECT_NO_TAPE(expr)                                                                                          \
    do {                                                                                                              \
        mtl_clear_error();                                                                                            \
        mtl_tensor *y_ = (expr);                                                                                      \
        CHECK(y_ == NULL, "%s with a NULL tape returned a tensor", #expr);                                            \
        CHECK(mtl_last_error()[0] != '\0', "%s with a NULL tape: no message", #expr);                                 \
    } while (0)

#define EXPECT_STATUS(expr, want)                                                                                     \
    do {                                                                                                              \
        mtl_clear_error();                                                                                            \
        mtl_status s_ = (expr);                                                                                       \
        CHECK(s_ == (want), "%s -> '%s', expected '%s' (%s)", #expr, mtl_status_name(s_), mtl_status_name(want),      \
              mtl_last_error());                                                                                      \
        CHECK(s_ == MTL_OK || mtl_last_error()[0] != '\0', "%s: no message", #expr);                                  \
    } while (0)

#define EXPECT_ERROR(expr)                                                                                            \
    do {                                                                                                              \
        mtl_clear_error();                                                                                            \
        mtl_status s_ = (expr);                                                                                       \
        CHECK(s_ != MTL_OK, "%s succeeded", #expr);                                                                   \
        CHECK(mtl_last_error()[0] != '\0', "%s: no message", #expr);                                                  \
    } while (0)

static bool has(const char *needle) { return strstr(mtl_last_error(), needle) != NULL; }

/* ---- fixture tensors -------------------------------------------------------------- */

typedef struct {
    mtl_params *P;
    mtl_tensor *x2, *x3, *w2, *w3, *w3c2, *w3long, *b3, *b4, *b5, *v4, *s0, *ba, *bb, *bc, *sc, *sc_bad, *table, *logits,
        *l1, *rm, *rv, *rm4, *lg2, *x4d;
} fx;

static mtl_tensor *P_(fx *f, const char *name, mtl_shape s, bool buffer) {
    mtl_init u = {MTL_INIT_UNIFORM, -1, 1};
    mtl_tensor *x = buffer ? mtl_buffer_add(f->P, name, -1, s, u) : mtl_param_add(f->P, name, -1, s, u);
    CHECK(x != NULL, "fixture %s: %s", name, mtl_last_error());
    return x;
}

static void fx_make(fx *f) {
    memset(f, 0, sizeof *f);
    CHECK_OK(mtl_params_create(&f->P));
    f->x2 = P_(f, "x2", MTL_SHAPE(4, 3), false);      /* [N=4, in=3] */
    f->x3 = P_(f, "x3", MTL_SHAPE(2, 3, 8), false);   /* [N=2, C=3, L=8] */
    f->w2 = P_(f, "w2", MTL_SHAPE(5, 3), false);      /* linear 3 -> 5 */
    f->w3 = P_(f, "w3", MTL_SHAPE(4, 3, 3), false);   /* conv 3 -> 4, k 3 */
    f->w3c2 = P_(f, "w3c2", MTL_SHAPE(4, 2, 3), false); /* conv with Cin 2 */
    f->w3long = P_(f, "w3long", MTL_SHAPE(4, 3, 20), false);
    f->b3 = P_(f, "b3", MTL_SHAPE(3), false);
    f->b4 = P_(f, "b4", MTL_SHAPE(4), false);
    f->b5 = P_(f, "b5", MTL_SHAPE(5), false);
    f->v4 = P_(f, "v4", MTL_SHAPE(4), false);
    f->s0 = P_(f, "s0", MTL_SCALAR_SHAPE, false);
    f->ba = P_(f, "ba", MTL_SHAPE(2, 3, 4), false);
    f->bb = P_(f, "bb", MTL_SHAPE(2, 4, 5), false);
    f->bc = P_(f, "bc", MTL_SHAPE(3, 4, 5), false);
    f->sc = P_(f, "sc", MTL_SHAPE(2, 3), false);
    f->sc_bad = P_(f, "sc_bad", MTL_SHAPE(3, 2), false);
    f->table = P_(f, "table", MTL_SHAPE(10, 4), false);
    f->logits = P_(f, "logits", MTL_SHAPE(4, 5), false);
    f->l1 = P_(f, "l1", MTL_SHAPE(4, 1), false);
    f->lg2 = P_(f, "lg2", MTL_SHAPE(4, 2), false);
    f->x4d = P_(f, "x4d", MTL_SHAPE(2, 3, 2, 2), false);
    f->rm = P_(f, "rm", MTL_SHAPE(3), true);
    f->rv = P_(f, "rv", MTL_SHAPE(3), true);
    f->rm4 = P_(f, "rm4", MTL_SHAPE(4), true);
    CHECK_OK(mtl_params_finalize(f->P, 1));
    for (int i = 0; i < 3; i++) f->rv->data[i] = 1.0f;
}

/* ==== ops.h ======================================================================== */

static void ops_dense_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    EXPECT_TENSOR(t, mtl_linear(t, f.x2, f.w2, f.b5));
    EXPECT_TENSOR(t, mtl_linear(t, f.x2, f.w2, NULL));
    EXPECT_NO_TAPE(mtl_linear(NULL, f.x2, f.w2, f.b5));
    EXPECT_NULL(t, mtl_linear(t, NULL, f.w2, f.b5), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_linear(t, f.x2, NULL, f.b5), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_linear(t, f.ba, f.w2, NULL), MTL_ERR_SHAPE); /* last dim 4, weight wants 3 */
    EXPECT_NULL(t, mtl_linear(t, f.x2, f.w3, NULL), MTL_ERR_SHAPE); /* 3-d weight */
    EXPECT_NULL(t, mtl_linear(t, f.x2, f.w2, f.b4), MTL_ERR_SHAPE); /* bias [4] for 5 outputs */
    EXPECT_NULL(t, mtl_linear(t, f.x2, f.w2, f.sc), MTL_ERR_SHAPE); /* 2-d bias */

    EXPECT_TENSOR(t, mtl_matmul(t, f.x2, f.sc_bad)); /* [4,3] x [3,2] */
    EXPECT_NO_TAPE(mtl_matmul(NULL, f.x2, f.w2));
    EXPECT_NULL(t, mtl_matmul(t, NULL, f.w2), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_matmul(t, f.x2, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_matmul(t, f.x2, f.x2), MTL_ERR_SHAPE); /* [4,3] x [4,3] */
    EXPECT_NULL(t, mtl_matmul(t, f.ba, f.bb), MTL_ERR_SHAPE); /* 3-d */
    EXPECT_NULL(t, mtl_matmul(t, f.v4, f.x2), MTL_ERR_SHAPE); /* 1-d */

    EXPECT_TENSOR(t, mtl_bmm(t, f.ba, f.bb, false, false));
    EXPECT_NO_TAPE(mtl_bmm(NULL, f.ba, f.bb, false, false));
    EXPECT_NULL(t, mtl_bmm(t, NULL, f.bb, false, false), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_bmm(t, f.ba, NULL, false, false), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_bmm(t, f.ba, f.bc, false, false), MTL_ERR_SHAPE); /* batch 2 vs 3 */
    EXPECT_NULL(t, mtl_bmm(t, f.ba, f.bb, true, false), MTL_ERR_SHAPE);  /* [2,4,3] x [2,4,5] */
    EXPECT_NULL(t, mtl_bmm(t, f.ba, f.bb, false, true), MTL_ERR_SHAPE);  /* [2,3,4] x [2,5,4] */
    EXPECT_NULL(t, mtl_bmm(t, f.x2, f.w2, false, true), MTL_ERR_SHAPE);  /* 2-d */
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

static void ops_conv_pool_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    EXPECT_TENSOR(t, mtl_conv1d(t, f.x3, f.w3, f.b4, 1, 1));
    EXPECT_TENSOR(t, mtl_conv1d(t, f.x3, f.w3long, NULL, 1, 6)); /* 8 + 12 = 20 = K */
    EXPECT_NO_TAPE(mtl_conv1d(NULL, f.x3, f.w3, f.b4, 1, 1));
    EXPECT_NULL(t, mtl_conv1d(t, NULL, f.w3, f.b4, 1, 1), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, NULL, f.b4, 1, 1), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3c2, NULL, 1, 1), MTL_ERR_SHAPE); /* Cin 2 vs 3 channels */
    CHECK(strstr(mtl_tape_error(t), "conv1d") != NULL, "message '%s' does not name conv1d", mtl_tape_error(t));
    EXPECT_NULL(t, mtl_conv1d(t, f.x2, f.w3, NULL, 1, 1), MTL_ERR_SHAPE);   /* 2-d input */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w2, NULL, 1, 1), MTL_ERR_SHAPE);   /* 2-d weight */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3, f.b5, 1, 1), MTL_ERR_SHAPE);   /* bias [5] for 4 outputs */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3, NULL, 0, 1), MTL_ERR_ARG);     /* stride 0 */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3, NULL, -2, 1), MTL_ERR_ARG);    /* stride < 0 */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3, NULL, 1, -1), MTL_ERR_ARG);    /* pad < 0 */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3long, NULL, 1, 5), MTL_ERR_SHAPE); /* K 20 > 8 + 10 */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3, NULL, 1, INT_MAX), MTL_ERR_SHAPE); /* padded length overflows int */
    EXPECT_NULL(t, mtl_conv1d(t, f.x3, f.w3, NULL, 1, 1 << 29), MTL_ERR_SHAPE); /* Cin*K*Lout > INT_MAX */

    EXPECT_TENSOR(t, mtl_maxpool1d(t, f.x3, 2, 2));
    EXPECT_TENSOR(t, mtl_maxpool1d(t, f.x3, 8, 100));
    EXPECT_NO_TAPE(mtl_maxpool1d(NULL, f.x3, 2, 2));
    EXPECT_NULL(t, mtl_maxpool1d(t, NULL, 2, 2), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_maxpool1d(t, f.x3, 0, 2), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_maxpool1d(t, f.x3, 2, 0), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_maxpool1d(t, f.x3, 9, 1), MTL_ERR_SHAPE);       /* kernel longer than L = 8 */
    EXPECT_NULL(t, mtl_maxpool1d(t, f.x3, INT_MAX, 1), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_maxpool1d(t, f.x2, 2, 2), MTL_ERR_SHAPE);       /* 2-d */
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

static void ops_norm_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    EXPECT_TENSOR(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, f.rm, f.rv, 0.1f, 1e-5f));
    EXPECT_TENSOR(t, mtl_batchnorm(t, f.x2, NULL, NULL, f.rm, f.rv, 0.1f, 1e-5f));
    EXPECT_NO_TAPE(mtl_batchnorm(NULL, f.x3, f.b3, f.b3, f.rm, f.rv, 0.1f, 1e-5f));
    EXPECT_NULL(t, mtl_batchnorm(t, NULL, f.b3, f.b3, f.rm, f.rv, 0.1f, 1e-5f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, NULL, f.rv, 0.1f, 1e-5f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, f.rm, NULL, 0.1f, 1e-5f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, NULL, f.rm, f.rv, 0.1f, 1e-5f), MTL_ERR_ARG); /* gamma without beta */
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b4, f.b4, f.rm, f.rv, 0.1f, 1e-5f), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, f.rm4, f.rv, 0.1f, 1e-5f), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_batchnorm(t, f.v4, NULL, NULL, f.rm, f.rv, 0.1f, 1e-5f), MTL_ERR_SHAPE); /* 1-d */
    EXPECT_NULL(t, mtl_batchnorm(t, f.x4d, NULL, NULL, f.rm, f.rv, 0.1f, 1e-5f), MTL_ERR_SHAPE); /* 4-d */
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, f.rm, f.rv, 1.5f, 1e-5f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, f.rm, f.rv, NAN, 1e-5f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, f.rm, f.rv, 0.1f, -1.0f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_batchnorm(t, f.x3, f.b3, f.b3, f.rm, f.rv, 0.1f, NAN), MTL_ERR_ARG);
    /* training with one value per channel: no batch statistics (PyTorch raises) */
    mtl_tape_set_training(t, true);
    EXPECT_NULL(t, mtl_batchnorm(t, mtl_slice(t, f.x2, 0, 0, 1), NULL, NULL, f.rm, f.rv, 0.1f, 1e-5f), MTL_ERR_SHAPE);
    mtl_tape_set_training(t, false);
    EXPECT_TENSOR(t, mtl_batchnorm(t, mtl_slice(t, f.x2, 0, 0, 1), NULL, NULL, f.rm, f.rv, 0.1f, 1e-5f));
    mtl_tape_set_training(t, true);

    EXPECT_TENSOR(t, mtl_dropout(t, f.x3, 0.5f));
    EXPECT_TENSOR(t, mtl_dropout(t, f.x3, 0.0f));
    EXPECT_NO_TAPE(mtl_dropout(NULL, f.x3, 0.5f));
    EXPECT_NULL(t, mtl_dropout(t, NULL, 0.5f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_dropout(t, f.x3, 1.0f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_dropout(t, f.x3, -0.1f), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_dropout(t, f.x3, NAN), MTL_ERR_ARG);
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

static void ops_embedding_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    int32_t ok_ids[3] = {0, 9, 3}, big[3] = {0, 10, 3}, neg[2] = {1, -1}, huge[1] = {INT32_MAX};
    EXPECT_TENSOR(t, mtl_embedding(t, f.table, ok_ids, 3));
    EXPECT_TENSOR(t, mtl_embedding(t, f.table, NULL, 0));
    EXPECT_NO_TAPE(mtl_embedding(NULL, f.table, ok_ids, 3));
    EXPECT_NULL(t, mtl_embedding(t, NULL, ok_ids, 3), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_embedding(t, f.table, NULL, 3), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_embedding(t, f.table, ok_ids, -1), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_embedding(t, f.table, big, 3), MTL_ERR_RANGE); /* id == V */
    CHECK(strstr(mtl_tape_error(t), "10") != NULL, "message '%s' lacks the bad id", mtl_tape_error(t));
    EXPECT_NULL(t, mtl_embedding(t, f.table, neg, 2), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_embedding(t, f.table, huge, 1), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_embedding(t, f.v4, ok_ids, 1), MTL_ERR_SHAPE);  /* 1-d table */
    EXPECT_NULL(t, mtl_embedding(t, f.ba, ok_ids, 1), MTL_ERR_SHAPE);  /* 3-d table */
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

typedef mtl_tensor *(*unary_fn)(mtl_tape *, mtl_tensor *);

static void ops_activation_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    unary_fn un[3] = {mtl_relu, mtl_sigmoid, mtl_tanh};
    for (int i = 0; i < 3; i++) {
        EXPECT_TENSOR(t, un[i](t, f.x3));
        EXPECT_TENSOR(t, un[i](t, f.s0));
        EXPECT_NO_TAPE(un[i](NULL, f.x3));
        EXPECT_NULL(t, un[i](t, NULL), MTL_ERR_ARG);
    }
    EXPECT_TENSOR(t, mtl_softmax(t, f.logits, -1));
    EXPECT_TENSOR(t, mtl_softmax(t, f.x3, 1));
    EXPECT_TENSOR(t, mtl_log_softmax(t, f.logits, 0));
    EXPECT_TENSOR(t, mtl_log_softmax(t, f.x3, -2));
    EXPECT_NO_TAPE(mtl_softmax(NULL, f.logits, 1));
    EXPECT_NO_TAPE(mtl_log_softmax(NULL, f.logits, 1));
    EXPECT_NULL(t, mtl_softmax(t, NULL, 1), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_log_softmax(t, NULL, 1), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_softmax(t, f.logits, 2), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_softmax(t, f.logits, -3), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_log_softmax(t, f.x3, 3), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_log_softmax(t, f.x3, INT_MIN), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_softmax(t, f.s0, 0), MTL_OK); /* 0-d: no axis */
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

static void ops_elementwise_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    EXPECT_TENSOR(t, mtl_add(t, f.x2, f.b3)); /* [4,3] + [3] */
    EXPECT_TENSOR(t, mtl_mul(t, f.x2, f.l1)); /* [4,3] * [4,1] */
    EXPECT_TENSOR(t, mtl_add(t, f.s0, f.x3));
    EXPECT_NO_TAPE(mtl_add(NULL, f.x2, f.x2));
    EXPECT_NO_TAPE(mtl_mul(NULL, f.x2, f.x2));
    EXPECT_NULL(t, mtl_add(t, NULL, f.x2), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_add(t, f.x2, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_mul(t, NULL, f.x2), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_mul(t, f.x2, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_add(t, f.x2, f.w2), MTL_ERR_SHAPE); /* [4,3] + [5,3] */
    EXPECT_NULL(t, mtl_mul(t, f.x2, f.v4), MTL_ERR_SHAPE); /* [4,3] * [4]: right-aligned 3 vs 4 */
    EXPECT_NULL(t, mtl_mul(t, f.x3, f.lg2), MTL_ERR_SHAPE);

    EXPECT_TENSOR(t, mtl_affine(t, f.x3, 2.0f, -1.0f));
    EXPECT_NO_TAPE(mtl_affine(NULL, f.x3, 2.0f, 1.0f));
    EXPECT_NULL(t, mtl_affine(t, NULL, 2.0f, 1.0f), MTL_ERR_ARG);

    EXPECT_TENSOR(t, mtl_scale_channels(t, f.x3, f.sc));
    EXPECT_NO_TAPE(mtl_scale_channels(NULL, f.x3, f.sc));
    EXPECT_NULL(t, mtl_scale_channels(t, NULL, f.sc), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_scale_channels(t, f.x3, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_scale_channels(t, f.x3, f.sc_bad), MTL_ERR_SHAPE); /* [3,2] for [2,3,8] */
    EXPECT_NULL(t, mtl_scale_channels(t, f.x3, f.b3), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_scale_channels(t, f.x2, f.sc), MTL_ERR_SHAPE);     /* 2-d x */

    EXPECT_TENSOR(t, mtl_mean(t, f.x3, 2, false));
    EXPECT_TENSOR(t, mtl_sum(t, f.x3, -1, true));
    EXPECT_NO_TAPE(mtl_mean(NULL, f.x3, 0, false));
    EXPECT_NO_TAPE(mtl_sum(NULL, f.x3, 0, false));
    EXPECT_NULL(t, mtl_mean(t, NULL, 0, false), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_sum(t, NULL, 0, false), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_mean(t, f.x3, 3, false), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_sum(t, f.x3, -4, true), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_sum(t, f.s0, 0, false), MTL_ERR_RANGE);
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

static void ops_shape_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *pair[2] = {f.x2, f.w2}, *with_null[2] = {f.x2, NULL}, *mixed[2] = {f.x2, f.x3};
    EXPECT_TENSOR(t, mtl_concat(t, 2, pair, 0)); /* [4,3] ++ [5,3] */
    EXPECT_TENSOR(t, mtl_concat(t, 1, pair, 1));
    EXPECT_NO_TAPE(mtl_concat(NULL, 2, pair, 0));
    EXPECT_NULL(t, mtl_concat(t, 0, pair, 0), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_concat(t, -1, pair, 0), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_concat(t, 2, NULL, 0), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_concat(t, 2, with_null, 0), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_concat(t, 2, pair, 1), MTL_ERR_SHAPE);  /* dim 0: 4 vs 5 */
    EXPECT_NULL(t, mtl_concat(t, 2, mixed, 0), MTL_ERR_SHAPE); /* 2-d with 3-d */
    EXPECT_NULL(t, mtl_concat(t, 2, pair, 2), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_concat(t, 2, pair, -3), MTL_ERR_RANGE);

    EXPECT_TENSOR(t, mtl_slice(t, f.x2, 0, 1, 3));
    EXPECT_TENSOR(t, mtl_slice(t, f.x3, -1, 7, 1));
    EXPECT_NO_TAPE(mtl_slice(NULL, f.x2, 0, 0, 1));
    EXPECT_NULL(t, mtl_slice(t, NULL, 0, 0, 1), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_slice(t, f.x2, 0, 3, 2), MTL_ERR_RANGE);  /* past the end */
    EXPECT_NULL(t, mtl_slice(t, f.x2, 0, -1, 2), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_slice(t, f.x2, 0, 0, 0), MTL_ERR_RANGE);  /* empty */
    EXPECT_NULL(t, mtl_slice(t, f.x2, 0, 1, -1), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_slice(t, f.x2, 0, INT_MAX, 1), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_slice(t, f.x2, 0, 1, INT_MAX), MTL_ERR_RANGE); /* start + len overflows int */
    EXPECT_NULL(t, mtl_slice(t, f.x2, 2, 0, 1), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_slice(t, f.s0, 0, 0, 1), MTL_ERR_RANGE);

    EXPECT_TENSOR(t, mtl_reshape(t, f.x2, MTL_SHAPE(2, 6)));
    EXPECT_TENSOR(t, mtl_reshape(t, f.x2, MTL_SHAPE(-1, 2)));
    EXPECT_TENSOR(t, mtl_reshape(t, f.s0, MTL_SCALAR_SHAPE));
    EXPECT_NO_TAPE(mtl_reshape(NULL, f.x2, MTL_SHAPE(12)));
    EXPECT_NULL(t, mtl_reshape(t, NULL, MTL_SHAPE(12)), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_reshape(t, f.x2, MTL_SHAPE(5, 3)), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_reshape(t, f.x2, MTL_SHAPE(-1, 5)), MTL_ERR_SHAPE);  /* 12 not divisible by 5 */
    EXPECT_NULL(t, mtl_reshape(t, f.x2, MTL_SHAPE(-1, -1)), MTL_ERR_SHAPE); /* two inferred dims */
    EXPECT_NULL(t, mtl_reshape(t, f.x2, MTL_SHAPE(-2, -6)), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_reshape(t, f.x2, MTL_SHAPE(0, -1)), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_reshape(t, f.x2, ((mtl_shape){5, {1, 1, 1, 12}})), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_reshape(t, f.x2, ((mtl_shape){-1, {12}})), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_reshape(t, f.x2, MTL_SHAPE(65536, 65536, 65536, 65536)), MTL_ERR_SHAPE); /* overflow */
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

static void ops_loss_errors(void) {
    fx f;
    fx_make(&f);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    int32_t y_ok[4] = {0, 4, 2, 1}, y_neg[4] = {0, 1, -1, 2}, y_c[4] = {0, 1, 2, 5}, y_big[4] = {INT32_MAX, 0, 0, 0};
    EXPECT_TENSOR(t, mtl_cross_entropy(t, f.logits, y_ok));
    EXPECT_NO_TAPE(mtl_cross_entropy(NULL, f.logits, y_ok));
    EXPECT_NULL(t, mtl_cross_entropy(t, NULL, y_ok), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_cross_entropy(t, f.logits, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_cross_entropy(t, f.logits, y_neg), MTL_ERR_RANGE);
    CHECK(strstr(mtl_tape_error(t), "-1") != NULL, "message '%s' lacks the bad target", mtl_tape_error(t));
    EXPECT_NULL(t, mtl_cross_entropy(t, f.logits, y_c), MTL_ERR_RANGE); /* target == C */
    EXPECT_NULL(t, mtl_cross_entropy(t, f.logits, y_big), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_cross_entropy(t, f.v4, y_ok), MTL_ERR_SHAPE);  /* 1-d logits */
    EXPECT_NULL(t, mtl_cross_entropy(t, f.x3, y_ok), MTL_ERR_SHAPE);  /* 3-d logits */
    EXPECT_NULL(t, mtl_cross_entropy(t, f.s0, y_ok), MTL_ERR_SHAPE);

    float p_ok[4] = {0, 1, 0.5f, 0.25f}, p_big[4] = {0, 1.5f, 0, 0}, p_neg[4] = {0, 0, -0.5f, 0}, p_nan[4] = {0, NAN, 0, 0};
    EXPECT_TENSOR(t, mtl_bce_with_logits(t, f.v4, p_ok));
    EXPECT_TENSOR(t, mtl_bce_with_logits(t, f.l1, p_ok));
    EXPECT_NO_TAPE(mtl_bce_with_logits(NULL, f.v4, p_ok));
    EXPECT_NULL(t, mtl_bce_with_logits(t, NULL, p_ok), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_bce_with_logits(t, f.v4, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_bce_with_logits(t, f.lg2, p_ok), MTL_ERR_SHAPE); /* [4,2] */
    EXPECT_NULL(t, mtl_bce_with_logits(t, f.s0, p_ok), MTL_ERR_SHAPE);  /* 0-d */
    EXPECT_NULL(t, mtl_bce_with_logits(t, f.v4, p_big), MTL_OK);        /* target outside [0, 1] */
    EXPECT_NULL(t, mtl_bce_with_logits(t, f.v4, p_neg), MTL_OK);
    EXPECT_NULL(t, mtl_bce_with_logits(t, f.v4, p_nan), MTL_OK);

    typedef mtl_tensor *(*pair_fn)(mtl_tape *, mtl_tensor *, mtl_tensor *);
    pair_fn fns[2] = {mtl_mse, mtl_l1};
    for (int i = 0; i < 2; i++) {
        EXPECT_TENSOR(t, fns[i](t, f.x2, f.x2));
        EXPECT_NO_TAPE(fns[i](NULL, f.x2, f.x2));
        EXPECT_NULL(t, fns[i](t, NULL, f.x2), MTL_ERR_ARG);
        EXPECT_NULL(t, fns[i](t, f.x2, NULL), MTL_ERR_ARG);
        EXPECT_NULL(t, fns[i](t, f.x2, f.w2), MTL_ERR_SHAPE);
        EXPECT_NULL(t, fns[i](t, f.x2, f.sc), MTL_ERR_SHAPE);
    }
    mtl_tape_free(t);
    mtl_params_free(f.P);
}

/* a parameter that is registered but not finalized has no data: ops say so */
static void ops_unfinalized_inputs(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_tensor *w = mtl_param_add(P, "w", -1, MTL_SHAPE(5, 3), MTL_INIT_Z);
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float x[12] = {0};
    mtl_tape_reset(t);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(4, 3), x);
    mtl_clear_error();
    expect_null_(t, mtl_linear(t, X, w, NULL), MTL_ERR_STATE, "linear with an unfinalized weight", __LINE__);
    mtl_tape_free(t);
    mtl_params_free(P);
}

/* ==== nn.h ========================================================================== */

/* a model part without parameters: finalize works and gives an empty block */
static void params_finalize_empty(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    CHECK_OK(mtl_params_finalize(P, 0));
    CHECK(mtl_params_finalized(P) && mtl_params_size(P) == 0 && mtl_params_count(P) == 0, "empty params");
    mtl_params_free(P);
}

static void nn_params_null(void) {
    int64_t s = 7, e = 9;
    EXPECT_STATUS(mtl_params_create(NULL), MTL_ERR_ARG);
    mtl_params_free(NULL);
    mtl_clear_error();
    CHECK(mtl_param_add(NULL, "a", -1, MTL_SHAPE(1), MTL_INIT_Z) == NULL && mtl_last_error()[0], "param_add(NULL)");
    mtl_clear_error();
    CHECK(mtl_buffer_add(NULL, "a", -1, MTL_SHAPE(1), MTL_INIT_Z) == NULL && mtl_last_error()[0], "buffer_add(NULL)");
    EXPECT_STATUS(mtl_params_set_init(NULL, NULL, MTL_INIT_Z), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_params_finalize(NULL, 0), MTL_ERR_ARG);
    CHECK(!mtl_params_finalized(NULL), "finalized(NULL)");
    CHECK(mtl_params_size(NULL) == 0 && mtl_params_shared_size(NULL) == 0 && mtl_params_count(NULL) == 0, "sizes");
    CHECK(mtl_params_data(NULL) == NULL && mtl_params_grad(NULL) == NULL, "blocks of NULL");
    mtl_params_zero_grad(NULL);
    CHECK(mtl_params_info(NULL, 0) == NULL && mtl_params_find(NULL, "a") == NULL, "info/find of NULL");
    mtl_params_owner_range(NULL, -1, &s, &e);
    CHECK(s == e, "owner_range(NULL) = [%lld, %lld)", (long long)s, (long long)e);
    /* before finalize */
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_params_zero_grad(P);
    CHECK(mtl_params_data(P) == NULL && mtl_params_size(P) == 0, "data before finalize");
    EXPECT_STATUS(mtl_params_set_init(P, NULL, MTL_INIT_Z), MTL_ERR_ARG);
    mtl_params_free(P);
    th_isolated("finalize with nothing registered", params_finalize_empty);
}

static void nn_modules_errors(void) {
    mtl_params *P;
    CHECK_OK(mtl_params_create(&P));
    mtl_nn_linear lin;
    mtl_nn_conv1d conv;
    mtl_nn_batchnorm bn;
    mtl_nn_embedding emb;
    mtl_nn_eca eca;
    EXPECT_STATUS(mtl_nn_linear_init(NULL, P, "l", -1, 3, 5, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_linear_init(&lin, NULL, "l", -1, 3, 5, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_linear_init(&lin, P, "l", -1, 0, 5, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_linear_init(&lin, P, "l", -1, 3, -5, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_conv1d_init(NULL, P, "c", -1, 3, 4, 3, 1, 1, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_conv1d_init(&conv, NULL, "c", -1, 3, 4, 3, 1, 1, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_conv1d_init(&conv, P, "c", -1, 0, 4, 3, 1, 1, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_conv1d_init(&conv, P, "c", -1, 3, 4, 0, 1, 1, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_conv1d_init(&conv, P, "c", -1, 3, 4, 3, 0, 1, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_conv1d_init(&conv, P, "c", -1, 3, 4, 3, 1, -1, true), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_batchnorm_init(NULL, P, "b", -1, 3, 0.1f, 1e-5f), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_batchnorm_init(&bn, NULL, "b", -1, 3, 0.1f, 1e-5f), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_batchnorm_init(&bn, P, "b", -1, 0, 0.1f, 1e-5f), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_batchnorm_init(&bn, P, "b", -1, 3, 1.5f, 1e-5f), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_batchnorm_init(&bn, P, "b", -1, 3, NAN, 1e-5f), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_batchnorm_init(&bn, P, "b", -1, 3, 0.1f, 0.0f), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_embedding_init(NULL, P, "e", -1, 10, 4), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_embedding_init(&emb, NULL, "e", -1, 10, 4), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_embedding_init(&emb, P, "e", -1, 0, 4), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_embedding_init(&emb, P, "e", -1, 10, 0), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_eca_init(NULL, P, "a", -1, 3), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_eca_init(&eca, NULL, "a", -1, 3), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_nn_eca_init(&eca, P, "a", -1, 4), MTL_ERR_ARG); /* even kernel */
    EXPECT_STATUS(mtl_nn_eca_init(&eca, P, "a", -1, 0), MTL_ERR_ARG);
    CHECK(mtl_params_count(P) == 0, "failed inits registered %d tensors", mtl_params_count(P));
    /* a prefix so long that "<prefix>.weight" does not fit */
    char longp[MTL_NAME_MAX];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    EXPECT_ERROR(mtl_nn_linear_init(&lin, P, longp, -1, 3, 5, true));
    EXPECT_ERROR(mtl_nn_eca_init(&eca, P, longp, -1, 3));
    /* the same prefix twice: duplicate names */
    mtl_nn_linear lin2;
    CHECK_OK(mtl_nn_linear_init(&lin, P, "head", 0, 3, 5, true));
    EXPECT_ERROR(mtl_nn_linear_init(&lin2, P, "head", 0, 3, 5, true));
    CHECK(has("head.weight"), "message '%s' does not name the duplicate", mtl_last_error());
    CHECK_OK(mtl_nn_conv1d_init(&conv, P, "conv", -1, 3, 4, 3, 1, 1, true));
    CHECK_OK(mtl_nn_batchnorm_init(&bn, P, "bn", -1, 4, 0.1f, 1e-5f));
    CHECK_OK(mtl_nn_embedding_init(&emb, P, "emb", 1, 10, 4));
    CHECK_OK(mtl_nn_eca_init(&eca, P, "eca", 0, 3));

    /* forward before finalize: the parameters have no data */
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    float xd[2 * 3 * 8] = {0};
    int32_t ids[2] = {1, 2}, bad_ids[2] = {1, 10};
    mtl_tape_reset(t);
    mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(2, 3, 8), xd);
    mtl_clear_error();
    expect_null_(t, mtl_nn_conv1d_forward(t, &conv, x), MTL_ERR_STATE, "conv1d forward before finalize", __LINE__);

    CHECK_OK(mtl_params_finalize(P, 3));
    EXPECT_ERROR(mtl_nn_linear_init(&lin2, P, "late", 0, 3, 5, true)); /* after finalize */
#define WRAPX(shape) mtl_tensor_wrap(t, shape, xd)
    EXPECT_TENSOR(t, mtl_nn_linear_forward(t, &lin, WRAPX(MTL_SHAPE(4, 3))));
    EXPECT_TENSOR(t, mtl_nn_conv1d_forward(t, &conv, WRAPX(MTL_SHAPE(2, 3, 8))));
    EXPECT_TENSOR(t, mtl_nn_batchnorm_forward(t, &bn, WRAPX(MTL_SHAPE(2, 4, 6))));
    EXPECT_TENSOR(t, mtl_nn_embedding_forward(t, &emb, ids, 2));
    EXPECT_TENSOR(t, mtl_nn_eca_forward(t, &eca, WRAPX(MTL_SHAPE(2, 3, 8)), NULL));
    EXPECT_NULL(t, mtl_nn_linear_forward(t, NULL, WRAPX(MTL_SHAPE(4, 3))), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_linear_forward(t, &lin, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_linear_forward(t, &lin, WRAPX(MTL_SHAPE(4, 4))), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_nn_conv1d_forward(t, NULL, WRAPX(MTL_SHAPE(2, 3, 8))), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_conv1d_forward(t, &conv, WRAPX(MTL_SHAPE(2, 2, 8))), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_nn_batchnorm_forward(t, NULL, WRAPX(MTL_SHAPE(2, 4, 6))), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_batchnorm_forward(t, &bn, WRAPX(MTL_SHAPE(2, 3, 6))), MTL_ERR_SHAPE);
    EXPECT_NULL(t, mtl_nn_embedding_forward(t, NULL, ids, 2), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_embedding_forward(t, &emb, bad_ids, 2), MTL_ERR_RANGE);
    EXPECT_NULL(t, mtl_nn_embedding_forward(t, &emb, NULL, 2), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_eca_forward(t, NULL, WRAPX(MTL_SHAPE(2, 3, 8)), NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_eca_forward(t, &eca, NULL, NULL), MTL_ERR_ARG);
    EXPECT_NULL(t, mtl_nn_eca_forward(t, &eca, WRAPX(MTL_SHAPE(6, 8)), NULL), MTL_ERR_SHAPE);
    float running = bn.num_batches_tracked->data[0];
    EXPECT_NULL(t, mtl_nn_batchnorm_forward(t, &bn, WRAPX(MTL_SHAPE(2, 3, 6))), MTL_ERR_SHAPE);
    CHECK(bn.num_batches_tracked->data[0] == running, "a failed batchnorm forward counted a batch");
    EXPECT_NO_TAPE(mtl_nn_linear_forward(NULL, &lin, NULL));
    EXPECT_NO_TAPE(mtl_nn_linear_forward(NULL, NULL, NULL));
    EXPECT_NO_TAPE(mtl_nn_conv1d_forward(NULL, &conv, NULL));
    EXPECT_NO_TAPE(mtl_nn_batchnorm_forward(NULL, &bn, NULL));
    EXPECT_NO_TAPE(mtl_nn_embedding_forward(NULL, &emb, ids, 2));
    EXPECT_NO_TAPE(mtl_nn_eca_forward(NULL, &eca, NULL, NULL));
#undef WRAPX
    mtl_tape_free(t);
    mtl_params_free(P);
}

/* ==== optim.h ======================================================================= */

static void optim_errors(void) {
    mtl_params *P, *U;
    CHECK_OK(mtl_params_create(&P));
    CHECK_OK(mtl_params_create(&U));
    CHECK(mtl_param_add(P, "w", -1, MTL_SHAPE(8), (mtl_init){MTL_INIT_CONST, 1, 0}) != NULL, "add");
    CHECK(mtl_param_add(U, "w", -1, MTL_SHAPE(8), MTL_INIT_Z) != NULL, "add");
    CHECK_OK(mtl_params_finalize(P, 0));
    mtl_optimizer *o = (mtl_optimizer *)&o;
    mtl_opt_config sgd = mtl_opt_defaults(MTL_OPT_SGD), adam = mtl_opt_defaults(MTL_OPT_ADAM),
                   adamw = mtl_opt_defaults(MTL_OPT_ADAMW), c;
    EXPECT_STATUS(mtl_optimizer_create(NULL, P, sgd), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_optimizer_create(&o, NULL, sgd), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_optimizer_create(&o, U, sgd), MTL_ERR_STATE); /* not finalized */
    CHECK(o == NULL, "out not cleared on failure");
    mtl_opt_config bad[48];
    int nb = 0;
    const mtl_opt_config base[3] = {sgd, adam, adamw};
    for (int k = 0; k < 3; k++) {
        c = base[k], c.lr = NAN, bad[nb++] = c;
        c = base[k], c.lr = -1e-3f, bad[nb++] = c;
        c = base[k], c.lr = INFINITY, bad[nb++] = c;
        c = base[k], c.weight_decay = -0.1f, bad[nb++] = c;
        c = base[k], c.weight_decay = NAN, bad[nb++] = c;
    }
    c = sgd, c.momentum = -0.5f, bad[nb++] = c;
    c = sgd, c.momentum = NAN, bad[nb++] = c;
    c = sgd, c.nesterov = true, c.momentum = 0, bad[nb++] = c;           /* Nesterov needs momentum */
    c = sgd, c.nesterov = true, c.momentum = 0.9f, c.dampening = 0.1f, bad[nb++] = c; /* ... and no dampening */
    for (int k = 1; k < 3; k++) {
        c = base[k], c.beta1 = 1.0f, bad[nb++] = c;
        c = base[k], c.beta2 = 1.0f, bad[nb++] = c;
        c = base[k], c.beta1 = 1.5f, bad[nb++] = c;
        c = base[k], c.beta2 = -0.1f, bad[nb++] = c;
        c = base[k], c.beta1 = NAN, bad[nb++] = c;
        c = base[k], c.eps = -1e-8f, bad[nb++] = c;
        c = base[k], c.eps = NAN, bad[nb++] = c;
    }
    c = adam, c.kind = (mtl_opt_kind)3, bad[nb++] = c;
    for (int i = 0; i < nb; i++) {
        o = (mtl_optimizer *)&o;
        mtl_clear_error();
        mtl_status s = mtl_optimizer_create(&o, P, bad[i]);
        CHECK(s == MTL_ERR_ARG, "bad config %d (kind %d lr %g wd %g mom %g damp %g nest %d b1 %g b2 %g eps %g) -> %s", i,
              (int)bad[i].kind, bad[i].lr, bad[i].weight_decay, bad[i].momentum, bad[i].dampening, bad[i].nesterov,
              bad[i].beta1, bad[i].beta2, bad[i].eps, mtl_status_name(s));
        CHECK(mtl_last_error()[0], "bad config %d: no message", i);
        CHECK(o == NULL, "bad config %d: out not cleared", i);
        if (s == MTL_OK) mtl_optimizer_free(o);
    }
    /* the valid ones work and step */
    for (int k = 0; k < 3; k++) {
        CHECK_OK(mtl_optimizer_create(&o, P, base[k]));
        mtl_params_grad(P)[0] = 1.0f;
        CHECK_OK(mtl_optimizer_step(o));
        CHECK(mtl_optimizer_steps(o) == 1 && mtl_params_data(P)[0] < 1.0f, "kind %d did not step", k);
        mtl_optimizer_free(o);
        mtl_params_data(P)[0] = 1.0f;
    }
    EXPECT_STATUS(mtl_optimizer_step(NULL), MTL_ERR_ARG);
    mtl_optimizer_free(NULL);
    mtl_optimizer_set_lr(NULL, 0.1f);
    CHECK(mtl_optimizer_lr(NULL) == 0.0f && mtl_optimizer_steps(NULL) == 0, "getters of NULL");
    /* schedules: no error channel, but never NaN or a crash */
    CHECK(mtl_schedule_lr(NULL, 0.1f, 3) == 0.1f, "schedule NULL");
    mtl_schedule st = {MTL_SCHED_STEP, 0, 0.5f};
    CHECK(mtl_schedule_lr(&st, 0.1f, 5) == 0.1f, "step_size 0");
    st.step_size = 2;
    CHECK(mtl_schedule_lr(&st, 0.1f, -1) == 0.1f, "negative epoch");
    CHECK(fabsf(mtl_schedule_lr(&st, 0.1f, 5) - 0.025f) < 1e-7f, "step schedule");
    mtl_params_free(P);
    mtl_params_free(U);
}

/* ==== model.h ======================================================================= */

static mtl_model_config tiny_cfg(void) {
    mtl_model_config c = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = 32};
    return c;
}

static void model_errors(void) {
    mtl_model_config c = tiny_cfg();
    mtl_model *m = (mtl_model *)&m;
    EXPECT_STATUS(mtl_model_create("nope", &c, 0, &m), MTL_ERR_ARG);
    CHECK(has("nope") && has("tiny"), "message '%s' does not list the known models", mtl_last_error());
    CHECK(m == NULL, "out not cleared");
    EXPECT_STATUS(mtl_model_create(NULL, &c, 0, &m), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_model_create("tiny", NULL, 0, &m), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_model_create("tiny", &c, 0, NULL), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_model_create("", &c, 0, &m), MTL_ERR_ARG);
    c = tiny_cfg(), c.n_tasks = 0;
    EXPECT_STATUS(mtl_model_create("tiny", &c, 0, &m), MTL_ERR_ARG);
    c = tiny_cfg(), c.n_tasks = MTL_MAX_TASKS + 1;
    EXPECT_STATUS(mtl_model_create("tiny", &c, 0, &m), MTL_ERR_ARG);
    c = tiny_cfg(), c.n_tasks = -1;
    EXPECT_STATUS(mtl_model_create("tiny", &c, 0, &m), MTL_ERR_ARG);
    c = tiny_cfg(), c.n_classes[1] = 1;
    EXPECT_STATUS(mtl_model_create("tiny", &c, 0, &m), MTL_ERR_ARG);
    c = tiny_cfg(), c.n_classes[0] = -4;
    EXPECT_STATUS(mtl_model_create("tiny", &c, 0, &m), MTL_ERR_ARG);
    c = tiny_cfg(), c.length = 4;
    EXPECT_STATUS(mtl_model_create("tiny", &c, 0, &m), MTL_ERR_ARG);
    CHECK(m == NULL, "out set on failure");
    mtl_model_free(NULL);
    const mtl_model_kind *k = mtl_model_kinds();
    CHECK(k && k[0].name && strcmp(k[0].name, "tiny") == 0 && k[0].create, "kinds");

    /* forward errors */
    c = tiny_cfg();
    CHECK_OK(mtl_model_create("tiny", &c, 1, &m));
    if (!m) return;
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    static float xd[4 * 2 * 32];
    mtl_tensor *logits[MTL_MAX_TASKS];
    mtl_tape_reset(t);
    CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(4, 1, 32), xd), logits));
    CHECK(logits[0] && logits[0]->shape[1] == 4 && logits[1] && logits[1]->shape[1] == 3, "logits shapes");
    mtl_tape_reset(t);
    EXPECT_STATUS(mtl_model_forward(NULL, t, mtl_tensor_wrap(t, MTL_SHAPE(4, 1, 32), xd), logits), MTL_ERR_ARG);
    mtl_tape_reset(t);
    EXPECT_STATUS(mtl_model_forward(m, NULL, NULL, logits), MTL_ERR_ARG);
    mtl_tape_reset(t);
    EXPECT_STATUS(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(4, 1, 32), xd), NULL), MTL_ERR_ARG);
    mtl_tape_reset(t);
    EXPECT_STATUS(mtl_model_forward(m, t, NULL, logits), MTL_ERR_ARG);
    CHECK(logits[0] == NULL && logits[1] == NULL, "logits set on failure");
    mtl_tape_reset(t);
    EXPECT_STATUS(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(4, 2, 32), xd), logits), MTL_ERR_SHAPE);
    CHECK(has("tiny") && has("conv1d"), "message '%s' names neither the model nor the op", mtl_last_error());
    mtl_tape_reset(t);
    EXPECT_STATUS(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(4, 32), xd), logits), MTL_ERR_SHAPE);
    mtl_tape_reset(t);
    EXPECT_ERROR(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(4, 1, 2), xd), logits)); /* too short */
    mtl_tape_free(t);
    mtl_model_free(m);
}

/* ==== data.h ======================================================================== */

static void data_errors(void) {
    mtl_dataset d;
    EXPECT_STATUS(mtl_dataset_alloc(NULL, 4, 1, 8, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_dataset_alloc(&d, 0, 1, 8, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_dataset_alloc(&d, 4, 0, 8, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_dataset_alloc(&d, 4, 1, -8, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_dataset_alloc(&d, 4, 1, 8, -1), MTL_ERR_ARG); /* 0 tasks is allowed: unlabelled windows */
    EXPECT_STATUS(mtl_dataset_alloc(&d, 4, 1, 8, MTL_MAX_TASKS + 1), MTL_ERR_ARG);
    CHECK(d.x == NULL && d.n == 0, "a failed alloc left data behind");
    /* n * channels * length * 4 bytes = 2^64: the size wraps to 0 */
    mtl_clear_error();
    mtl_status s = mtl_dataset_alloc(&d, 1 << 21, 1 << 21, 1 << 20, 1);
    CHECK(s != MTL_OK, "2^62 floats accepted: the byte count overflowed");
    CHECK(s == MTL_OK || mtl_last_error()[0], "no message");
    mtl_dataset_free(&d);
    /* big but representable: out of memory, cleanly */
    mtl_clear_error();
    s = mtl_dataset_alloc(&d, 1 << 30, 1 << 10, 1 << 10, 1);
    CHECK(s == MTL_ERR_NOMEM, "4 PiB of samples: %s", mtl_status_name(s));
    CHECK(s == MTL_OK || mtl_last_error()[0], "no message");
    mtl_dataset_free(&d);
    mtl_dataset_free(NULL);

    EXPECT_STATUS(mtl_dataset_validate(NULL, "data"), MTL_ERR_ARG);
    memset(&d, 0, sizeof d);
    EXPECT_STATUS(mtl_dataset_validate(&d, "data"), MTL_ERR_ARG);

    EXPECT_STATUS(mtl_synth_tones(NULL, 8, 64, 0.1f, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_synth_tones(&d, 0, 64, 0.1f, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_synth_tones(&d, 8, 16, 0.1f, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_synth_tones(&d, 8, 64, -0.1f, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_synth_tones(&d, 8, 64, NAN, 1), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_synth_tones(&d, 8, 64, INFINITY, 1), MTL_ERR_ARG);
    mtl_dataset_free(&d);

    /* validation names the sample, the task and the problem */
    CHECK_OK(mtl_synth_tones(&d, 10, 32, 0.1f, 5));
    CHECK_OK(mtl_dataset_validate(&d, "tones"));
    d.y[1][6] = 3; /* task 1 has 3 classes */
    EXPECT_STATUS(mtl_dataset_validate(&d, "tones"), MTL_ERR_RANGE);
    CHECK(has("tones") && has("sample 6") && has("amplitude"), "message '%s'", mtl_last_error());
    d.y[1][6] = -1;
    EXPECT_STATUS(mtl_dataset_validate(&d, "tones"), MTL_ERR_RANGE);
    CHECK(has("sample 6"), "message '%s'", mtl_last_error());
    d.y[1][6] = 0;
    d.x[4 * 32 + 9] = NAN;
    EXPECT_STATUS(mtl_dataset_validate(&d, "tones"), MTL_ERR_NUMERIC);
    CHECK(has("sample 4") && has("NaN"), "message '%s'", mtl_last_error());
    d.x[4 * 32 + 9] = -INFINITY;
    EXPECT_STATUS(mtl_dataset_validate(&d, "tones"), MTL_ERR_NUMERIC);
    CHECK(has("sample 4"), "message '%s'", mtl_last_error());
    mtl_dataset_free(&d);
    CHECK(d.x == NULL && d.y[0] == NULL, "free does not clear");
    mtl_dataset_free(&d); /* twice */
}

/* ==== train.h ======================================================================= */

static int epochs_seen;
static void count_epochs(const mtl_epoch_stats *s, void *user) {
    (void)user;
    epochs_seen++;
    for (int k = 0; k < s->n_tasks; k++)
        CHECK(isfinite(s->train_loss[k]) && isfinite(s->eval_loss[k]), "epoch %d task %d: loss %g / %g", s->epoch, k,
              s->train_loss[k], s->eval_loss[k]);
}

static void train_errors(void) {
    mtl_model_config mc = tiny_cfg();
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("tiny", &mc, 3, &m));
    if (!m) return;
    mtl_dataset tr, ev;
    CHECK_OK(mtl_synth_tones(&tr, 24, 32, 0.1f, 1));
    CHECK_OK(mtl_synth_tones(&ev, 12, 32, 0.1f, 2));
    mtl_train_config c = {.epochs = 1, .batch_size = 8, .opt = mtl_opt_defaults(MTL_OPT_ADAM), .seed = 1};
    double loss[MTL_MAX_TASKS], acc[MTL_MAX_TASKS];

    /* a valid run first */
    epochs_seen = 0;
    CHECK_OK(mtl_train(m, &tr, &ev, &c, count_epochs, NULL));
    CHECK(epochs_seen == 1, "callback ran %d times", epochs_seen);
    CHECK_OK(mtl_evaluate(m, &ev, 5, loss, acc));

    EXPECT_STATUS(mtl_train(NULL, &tr, NULL, &c, NULL, NULL), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_train(m, NULL, NULL, &c, NULL, NULL), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_train(m, &tr, NULL, NULL, NULL, NULL), MTL_ERR_ARG);
    mtl_train_config b = c;
    b.epochs = 0;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &b, NULL, NULL), MTL_ERR_ARG);
    b = c, b.batch_size = 1;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &b, NULL, NULL), MTL_ERR_ARG);
    b = c, b.batch_size = -5;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &b, NULL, NULL), MTL_ERR_ARG);
    b = c, b.opt.lr = NAN;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &b, NULL, NULL), MTL_ERR_ARG);
    b = c, b.opt.beta1 = 1.0f;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &b, NULL, NULL), MTL_ERR_ARG);

    /* labels out of range: the message names the sample (training and evaluation data) */
    tr.y[0][5] = 4; /* task 0 has 4 classes */
    EXPECT_ERROR(mtl_train(m, &tr, NULL, &c, NULL, NULL));
    CHECK(has("sample 5"), "message '%s' does not name sample 5", mtl_last_error());
    tr.y[0][5] = -1;
    EXPECT_ERROR(mtl_train(m, &tr, NULL, &c, NULL, NULL));
    CHECK(has("sample 5"), "message '%s' does not name sample 5", mtl_last_error());
    tr.y[0][5] = 0;
    ev.y[1][11] = 7;
    EXPECT_ERROR(mtl_train(m, &tr, &ev, &c, NULL, NULL));
    CHECK(has("sample 11") && has("evaluation"), "message '%s'", mtl_last_error());
    EXPECT_ERROR(mtl_evaluate(m, &ev, 4, loss, acc));
    CHECK(has("sample 11"), "message '%s'", mtl_last_error());
    ev.y[1][11] = 0;
    /* NaN in a signal */
    tr.x[17 * 32 + 3] = NAN;
    EXPECT_ERROR(mtl_train(m, &tr, NULL, &c, NULL, NULL));
    CHECK(has("sample 17"), "message '%s' does not name sample 17", mtl_last_error());
    EXPECT_ERROR(mtl_evaluate(m, &tr, 4, loss, acc));
    CHECK(has("sample 17"), "message '%s' does not name sample 17", mtl_last_error());
    tr.x[17 * 32 + 3] = 0.0f;

    /* data that does not fit the model */
    tr.n_classes[1] = 5;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &c, NULL, NULL), MTL_ERR_SHAPE);
    EXPECT_STATUS(mtl_evaluate(m, &tr, 4, loss, acc), MTL_ERR_SHAPE);
    tr.n_classes[1] = 3;
    tr.n_tasks = 1;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &c, NULL, NULL), MTL_ERR_SHAPE);
    tr.n_tasks = 2;
    mtl_dataset two;
    CHECK_OK(mtl_dataset_alloc(&two, 8, 2, 32, 2));
    two.n_classes[0] = 4, two.n_classes[1] = 3;
    memset(two.x, 0, sizeof(float) * 8 * 2 * 32);
    EXPECT_STATUS(mtl_train(m, &two, NULL, &c, NULL, NULL), MTL_ERR_SHAPE); /* 2 channels, model has 1 */
    EXPECT_STATUS(mtl_evaluate(m, &two, 4, loss, acc), MTL_ERR_SHAPE);
    mtl_dataset_free(&two);

    EXPECT_STATUS(mtl_evaluate(NULL, &ev, 4, loss, acc), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_evaluate(m, NULL, 4, loss, acc), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_evaluate(m, &ev, 4, NULL, acc), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_evaluate(m, &ev, 4, loss, NULL), MTL_ERR_ARG);
    EXPECT_STATUS(mtl_evaluate(m, &ev, 0, loss, acc), MTL_ERR_ARG);

    /* a diverging run reports a non-finite loss instead of training on */
    b = c;
    b.epochs = 20;
    b.opt = mtl_opt_defaults(MTL_OPT_SGD);
    b.opt.lr = 1e30f;
    EXPECT_STATUS(mtl_train(m, &tr, NULL, &b, NULL, NULL), MTL_ERR_NUMERIC);
    mtl_model_free(m);

    /* one sample cannot make a batch (batch statistics need two): nothing can be trained */
    CHECK_OK(mtl_model_create("tiny", &mc, 3, &m));
    mtl_dataset one;
    CHECK_OK(mtl_synth_tones(&one, 1, 32, 0.1f, 3));
    epochs_seen = 0;
    EXPECT_ERROR(mtl_train(m, &one, NULL, &c, count_epochs, NULL));
    mtl_dataset_free(&one);
    mtl_model_free(m);
    mtl_dataset_free(&tr);
    mtl_dataset_free(&ev);
}

int main(void) {
    RUN(ops_dense_errors);
    RUN(ops_conv_pool_errors);
    RUN(ops_norm_errors);
    RUN(ops_embedding_errors);
    RUN(ops_activation_errors);
    RUN(ops_elementwise_errors);
    RUN(ops_shape_errors);
    RUN(ops_loss_errors);
    RUN(ops_unfinalized_inputs);
    RUN(nn_params_null);
    RUN(nn_modules_errors);
    RUN(optim_errors);
    RUN(model_errors);
    RUN(data_errors);
    RUN(train_errors);
    printf("(%d failing-op checks)\n", n_op_checks);
    return th_summary();
}
