/* mix, mix_add and rowdot (gate mixing, attention scores): finite-difference gradients, values
 * against the plain loops written out here, shape errors. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mtl_tensor *fw_mix(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_mix(t, in[0], in[1]); }
static mtl_tensor *fw_mix_add(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_mix_add(t, in[2], in[0], in[1]); }
static mtl_tensor *fw_rowdot(mtl_tape *t, mtl_tensor **in, void *ctx) { return mtl_rowdot(t, in[0], in[1]); }

static void gradchecks(void) {
    enum { N = 3, E = 4, U = 5 };
    float w[N * E], v[N * E * U], q[N * U];
    th_fill(w, N * E, 1, -1, 1);
    th_fill(v, N * E * U, 2, -1, 1);
    th_fill(q, N * U, 3, -1, 1);
    th_gradcheck g = {.name = "mix [3,4] x [3,4,5]", .n_in = 2, .data = {w, v},
                      .shape = {MTL_SHAPE(N, E), MTL_SHAPE(N, E, U)}, .check = {1, 1}, .forward = fw_mix};
    CHECK(th_gradcheck_run(&g), "gradient check");
    th_gradcheck r = {.name = "rowdot [3,4,5] x [3,5]", .n_in = 2, .data = {v, q},
                      .shape = {MTL_SHAPE(N, E, U), MTL_SHAPE(N, U)}, .check = {1, 1}, .forward = fw_rowdot};
    CHECK(th_gradcheck_run(&r), "gradient check");
    th_gradcheck a = {.name = "mix_add [3,5] + [3,4] x [3,4,5]", .n_in = 3, .data = {w, v, q},
                      .shape = {MTL_SHAPE(N, E), MTL_SHAPE(N, E, U), MTL_SHAPE(N, U)}, .check = {1, 1, 1},
                      .forward = fw_mix_add};
    CHECK(th_gradcheck_run(&a), "gradient check");
}

static void values_and_errors(void) {
    enum { N = 7, E = 3, U = 9 };
    float w[N * E], v[N * E * U], q[N * U], want_y[N * U] = {0}, want_s[N * E] = {0};
    th_fill(w, N * E, 4, -1, 1);
    th_fill(v, N * E * U, 5, -1, 1);
    th_fill(q, N * U, 6, -1, 1);
    for (int n = 0; n < N; n++)
        for (int e = 0; e < E; e++)
            for (int u = 0; u < U; u++) {
                want_y[n * U + u] += w[n * E + e] * v[(n * E + e) * U + u];
                want_s[n * E + e] += v[(n * E + e) * U + u] * q[n * U + u];
            }
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *tw = mtl_tensor_wrap(t, MTL_SHAPE(N, E), w), *tv = mtl_tensor_wrap(t, MTL_SHAPE(N, E, U), v);
    mtl_tensor *tq = mtl_tensor_wrap(t, MTL_SHAPE(N, U), q);
    mtl_tensor *y = mtl_mix(t, tw, tv), *s = mtl_rowdot(t, tv, tq), *ya = mtl_mix_add(t, tq, tw, tv);
    CHECK(y && s && ya, "%s", mtl_tape_error(t));
    if (y && s && ya) {
        CHECK(y->shape[0] == N && y->shape[1] == U && s->shape[0] == N && s->shape[1] == E, "output shapes");
        th_compare("mix values", y->data, want_y, N * U, 1e-6, 1e-5);
        th_compare("rowdot values", s->data, want_s, N * E, 1e-6, 1e-5);
        float want_a[N * U];
        for (int i = 0; i < N * U; i++) want_a[i] = q[i] + want_y[i];
        th_compare("mix_add values", ya->data, want_a, N * U, 1e-6, 1e-5);
    }
    CHECK(mtl_mix_add(t, tw, tw, tv) == NULL && mtl_tape_status(t) == MTL_ERR_SHAPE &&
              strstr(mtl_tape_error(t), "base") != NULL,
          "mix_add of a base [N,E]");
    mtl_tape_reset(t);
    CHECK(mtl_mix(t, tq, tv) == NULL && mtl_tape_status(t) == MTL_ERR_SHAPE, "mix of w [N,U]"); /* w of the wrong width */
    mtl_tape_reset(t);
    CHECK(mtl_rowdot(t, tv, tw) == NULL && mtl_tape_status(t) == MTL_ERR_SHAPE, "rowdot of q [N,E]"); /* q of the wrong width */
    mtl_tape_free(t);
}

int main(void) {
    RUN(gradchecks);
    RUN(values_and_errors);
    return th_summary();
}
