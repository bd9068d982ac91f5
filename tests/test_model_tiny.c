/* End-to-end engine check against PyTorch (fixture: tests/parity/gen_model_tiny.py):
 * the tiny two-task network's outputs, gradients (summed and per task), 3 Adam steps
 * with batchnorm statistics, and evaluation-mode outputs; plus the per-task backward
 * identity sum_k w_k row_k == gradient of sum_k w_k L_k. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ATOL 1e-5
#define RTOL 1e-4

static mtl_model *load_model(mtl_st_file *f) {
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = 64, .width = 4};
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("tiny", &cfg, 7, &m));
    if (!m) return NULL;
    for (int i = 0; i < mtl_params_count(m->params); i++) {
        const mtl_param_info *pi = mtl_params_info(m->params, i);
        char key[160];
        snprintf(key, sizeof key, "init.%s", pi->name);
        CHECK_OK(mtl_st_read_f32(f, key, pi->tensor->data, pi->tensor->size));
    }
    return m;
}

/* compares every parameter (and buffer if with_buffers) with "<prefix><name>" */
static void compare_params(mtl_st_file *f, mtl_params *P, const char *prefix, const float *block, bool with_buffers) {
    for (int i = 0; i < mtl_params_count(P); i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        if (!pi->trainable && !with_buffers) continue;
        char key[160];
        snprintf(key, sizeof key, "%s%s", prefix, pi->name);
        float *want = th_fixture_f32(f, key, NULL);
        const float *got = block ? block + pi->offset : pi->tensor->data;
        if (want) th_compare(key, got, want, pi->tensor->size, ATOL, RTOL);
    }
}

static mtl_tensor *forward_losses(mtl_model *m, mtl_tape *t, float *x, int32_t *const *y, mtl_tensor **logits,
                                  mtl_tensor **losses) {
    mtl_tape_reset(t);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(6, 1, 64), x);
    CHECK_OK(mtl_model_forward(m, t, X, logits));
    for (int k = 0; k < 2; k++) losses[k] = mtl_cross_entropy(t, logits[k], y[k]);
    CHECK(losses[0] && losses[1], "losses: %s", mtl_tape_error(t));
    return losses[0];
}

static void tiny_matches_pytorch(void) {
    mtl_st_file *f = th_fixture("model_tiny.safetensors");
    if (!f) return;
    mtl_model *m = load_model(f);
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    float *x = th_fixture_f32(f, "x", NULL);
    int32_t *y[2] = {th_fixture_i32(f, "y0", NULL), th_fixture_i32(f, "y1", NULL)};
    if (!m || !t || !x || !y[0] || !y[1]) goto done;
    mtl_params *P = m->params;
    int64_t D = mtl_params_size(P);

    /* one training-mode forward */
    mtl_tensor *logits[2], *losses[2];
    if (!forward_losses(m, t, x, y, logits, losses)) goto done;
    th_compare("logits task 0", logits[0]->data, th_fixture_f32(f, "logits0", NULL), logits[0]->size, ATOL, RTOL);
    th_compare("logits task 1", logits[1]->data, th_fixture_f32(f, "logits1", NULL), logits[1]->size, ATOL, RTOL);
    th_compare("loss task 0", losses[0]->data, th_fixture_f32(f, "loss0", NULL), 1, ATOL, RTOL);
    th_compare("loss task 1", losses[1]->data, th_fixture_f32(f, "loss1", NULL), 1, ATOL, RTOL);

    /* each task's gradient alone, into its own row; the forward is not repeated */
    float *rows = calloc((size_t)(2 * D), sizeof(float));
    CHECK_OK(mtl_backward_into(t, losses[0], 1.0f, P, rows));
    CHECK_OK(mtl_backward_into(t, losses[1], 1.0f, P, rows + D));
    compare_params(f, P, "task0.grad.", rows, false);
    compare_params(f, P, "task1.grad.", rows + D, false);
    /* task-specific parameters of the other task get nothing from a task's loss */
    int64_t s1, e1;
    mtl_params_owner_range(P, 1, &s1, &e1);
    int nonzero = 0;
    for (int64_t i = s1; i < e1; i++) nonzero += rows[i] != 0.0f;
    CHECK(e1 > s1 && nonzero == 0, "task 0's loss reached %d of task 1's parameters", nonzero);

    /* the summed loss in one pass */
    mtl_params_zero_grad(P);
    float ones[2] = {1, 1};
    CHECK_OK(mtl_backward_weighted(t, 2, losses, ones));
    compare_params(f, P, "grad.", mtl_params_grad(P), false);

    /* 3 Adam steps (the first from the gradient above) */
    mtl_opt_config oc = mtl_opt_defaults(MTL_OPT_ADAM);
    oc.lr = 1e-2f;
    mtl_optimizer *opt = NULL;
    CHECK_OK(mtl_optimizer_create(&opt, P, oc));
    CHECK_OK(mtl_optimizer_step(opt));
    for (int step = 2; step <= 3; step++) {
        if (!forward_losses(m, t, x, y, logits, losses)) break;
        float total = losses[0]->data[0] + losses[1]->data[0];
        char key[32];
        snprintf(key, sizeof key, "step%d.loss", step);
        th_compare(key, &total, th_fixture_f32(f, key, NULL), 1, ATOL, RTOL);
        mtl_params_zero_grad(P);
        CHECK_OK(mtl_backward_weighted(t, 2, losses, ones));
        CHECK_OK(mtl_optimizer_step(opt));
    }
    compare_params(f, P, "final.", NULL, true);

    /* evaluation mode uses the running statistics */
    mtl_tape_reset(t);
    mtl_tape_set_training(t, false);
    mtl_tape_set_recording(t, false);
    CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(6, 1, 64), x), logits));
    th_compare("eval logits task 0", logits[0]->data, th_fixture_f32(f, "eval_logits0", NULL), logits[0]->size, ATOL, RTOL);
    th_compare("eval logits task 1", logits[1]->data, th_fixture_f32(f, "eval_logits1", NULL), logits[1]->size, ATOL, RTOL);
    mtl_optimizer_free(opt);
    free(rows);
done:
    mtl_tape_free(t);
    mtl_model_free(m);
}

/* sum_k w_k * (gradient of L_k alone) == gradient of sum_k w_k L_k, for 3 tasks */
static void per_task_rows_sum_to_weighted_gradient(void) {
    mtl_model_config cfg = {.n_tasks = 3, .n_classes = {4, 3, 2}, .in_channels = 2, .length = 48, .width = 6};
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("tiny", &cfg, 11, &m));
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    if (!m || !t) return;
    enum { B = 5 };
    float x[B * 2 * 48];
    th_fill(x, B * 2 * 48, 3, -2, 2);
    int32_t y[3][B] = {{0, 1, 2, 3, 1}, {2, 0, 1, 1, 0}, {1, 0, 0, 1, 1}};
    mtl_tensor *logits[3], *losses[3];
    CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(B, 2, 48), x), logits));
    for (int k = 0; k < 3; k++) losses[k] = mtl_cross_entropy(t, logits[k], y[k]);
    if (!losses[0] || !losses[1] || !losses[2]) {
        CHECK(0, "forward failed: %s", mtl_tape_error(t));
        return;
    }
    mtl_params *P = m->params;
    int64_t D = mtl_params_size(P), Ds = mtl_params_shared_size(P);
    CHECK(Ds > 0 && Ds < D, "shared size %lld of %lld", (long long)Ds, (long long)D);
    float w[3] = {0.3f, 1.7f, 0.9f};
    float *rows = calloc((size_t)(3 * D), sizeof(float)), *combo = calloc((size_t)D, sizeof(float));
    for (int k = 0; k < 3; k++) CHECK_OK(mtl_backward_into(t, losses[k], 1.0f, P, rows + k * D));
    for (int64_t i = 0; i < D; i++) combo[i] = w[0] * rows[i] + w[1] * rows[D + i] + w[2] * rows[2 * D + i];
    mtl_params_zero_grad(P);
    CHECK_OK(mtl_backward_weighted(t, 3, losses, w));
    th_compare("sum_k w_k row_k vs weighted backward", combo, mtl_params_grad(P), D, 1e-6, 1e-5);
    /* a second weighted backward on the same tape accumulates: twice the gradient */
    CHECK_OK(mtl_backward_weighted(t, 3, losses, w));
    for (int64_t i = 0; i < D; i++) combo[i] *= 2;
    th_compare("accumulation over two backward passes", combo, mtl_params_grad(P), D, 1e-6, 1e-5);
    free(rows);
    free(combo);
    mtl_tape_free(t);
    mtl_model_free(m);
}

int main(void) {
    mtl_set_threads(2);
    RUN(tiny_matches_pytorch);
    RUN(per_task_rows_sum_to_weighted_gradient);
    return th_summary();
}
