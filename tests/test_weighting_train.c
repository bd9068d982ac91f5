/* The trainer's side of the weighting strategies: per-task backward passes on one tape
 * (shared rows, task-specific parameters untouched), the representation gradient, and
 * whole training steps under a gradient strategy and under FAMO. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtl/ops.h"

/* model + batch + per-task losses on a fresh tape */
typedef struct {
    mtl_model *m;
    mtl_tape *t;
    mtl_dataset d;
    mtl_tensor *logits[MTL_MAX_TASKS], *loss[MTL_MAX_TASKS];
} setup;

static int setup_make(setup *u, const char *kind, int n, int length) {
    memset(u, 0, sizeof *u);
    CHECK_OK(mtl_synth_tones(&u->d, n, length, 0.3f, 5));
    mtl_model_config mc = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = length};
    CHECK_OK(mtl_model_create(kind, &mc, 11, &u->m));
    CHECK_OK(mtl_tape_create(&u->t));
    if (!u->m || !u->t) return 0;
    mtl_tensor *x = mtl_tensor_wrap(u->t, MTL_SHAPE(n, 1, length), u->d.x);
    CHECK_OK(mtl_model_forward(u->m, u->t, x, u->logits));
    for (int k = 0; k < 2; k++) u->loss[k] = mtl_cross_entropy(u->t, u->logits[k], u->d.y[k]);
    CHECK_OK(mtl_tape_status(u->t));
    return mtl_tape_status(u->t) == MTL_OK;
}

static void setup_free(setup *u) {
    mtl_tape_free(u->t);
    mtl_model_free(u->m);
    mtl_dataset_free(&u->d);
}

/* 1e-5 of the largest |x|: float sums in another order cancel differently near zero */
static double scaled_atol(const float *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    return 1e-5 * m;
}

/* the reference: one weighted backward into the gradient block */
static float *full_gradient(setup *u, const float *w) {
    int64_t P = mtl_params_size(u->m->params);
    mtl_params_zero_grad(u->m->params);
    CHECK_OK(mtl_backward_weighted(u->t, 2, u->loss, w));
    float *g = malloc((size_t)P * sizeof(float));
    memcpy(g, mtl_params_grad(u->m->params), (size_t)P * sizeof(float));
    return g;
}

/* backward_split per task: the shared rows add up to the shared gradient and the
 * task-specific block equals the weighted backward's, for a model whose tasks share
 * layers after task-specific ones (tiny: conv2 is shared but runs on each task's ECA) */
static void split_rows(void) {
    const char *kinds[] = {"tiny", "mtagn", "mt1dcnn"};
    for (int i = 0; i < 3; i++) {
        setup u;
        if (!setup_make(&u, kinds[i], 6, 2048)) {
            setup_free(&u);
            continue;
        }
        float w[2] = {0.7f, 1.9f};
        float *ref = full_gradient(&u, w);
        mtl_params *P = u.m->params;
        int64_t D = mtl_params_size(P), S = mtl_params_shared_size(P);
        CHECK(S > 0 && S < D, "%s has shared and task-specific parameters (%lld of %lld)", kinds[i], (long long)S,
              (long long)D);
        float *rows = calloc((size_t)(2 * S), sizeof(float));
        mtl_params_zero_grad(P);
        for (int k = 0; k < 2; k++) CHECK_OK(mtl_backward_split(u.t, u.loss[k], w[k], P, rows + k * S));
        float *sum = malloc((size_t)S * sizeof(float));
        for (int64_t j = 0; j < S; j++) sum[j] = rows[j] + rows[S + j];
        th_compare("shared rows sum to the shared gradient", sum, ref, S, scaled_atol(ref, S), 1e-4);
        const float *g = mtl_params_grad(P);
        bool zero = true;
        for (int64_t j = 0; j < S; j++) zero &= g[j] == 0.0f;
        CHECK(zero, "%s: the block's shared part is left untouched", kinds[i]);
        th_compare("task-specific gradients as in one weighted backward", g + S, ref + S, D - S, 1e-7, 1e-5);
        /* each row is that task's alone: task 0's row equals a backward of task 0 only */
        float w0[2] = {w[0], 0};
        float *ref0 = full_gradient(&u, w0);
        th_compare("row 0 = task 0's shared gradient", rows, ref0, S, 1e-7, 1e-5);
        free(ref0), free(sum), free(rows), free(ref);
        setup_free(&u);
    }
}

/* backward_to + backward_from through mt1dcnn's trunk output equals the full backward;
 * a representation that is not the only path is refused */
static void rep_gradient(void) {
    setup u;
    if (setup_make(&u, "mt1dcnn", 6, 1024)) {
        mtl_tensor *rep = u.m->taps.rep;
        CHECK(rep != NULL, "mt1dcnn exposes its trunk output");
        float w[2] = {1.3f, 0.4f};
        float *ref = full_gradient(&u, w);
        mtl_params *P = u.m->params;
        int64_t D = mtl_params_size(P), S = mtl_params_shared_size(P), R = rep ? rep->size : 0;
        float *rg = calloc((size_t)(2 * R + 1), sizeof(float));
        mtl_params_zero_grad(P);
        for (int k = 0; k < 2 && rep; k++) CHECK_OK(mtl_backward_to(u.t, u.loss[k], w[k], rep, P, rg + k * R));
        const float *g = mtl_params_grad(P);
        bool zero = true;
        for (int64_t j = 0; j < S; j++) zero &= g[j] == 0.0f;
        CHECK(zero, "the shared layers are not reached before the combination");
        th_compare("task-specific gradients after the per-task passes", g + S, ref + S, D - S, 1e-7, 1e-5);
        for (int64_t j = 0; j < R; j++) rg[j] += rg[R + j];
        if (rep) CHECK_OK(mtl_backward_from(u.t, rep, rg));
        th_compare("shared gradient through the representation", g, ref, S, scaled_atol(ref, S), 1e-4);
        /* task 1's features are not a cut for the sum of both losses: branch 0 reads the trunk */
        mtl_tensor *both = mtl_add(u.t, u.loss[0], u.loss[1]);
        mtl_status s = mtl_backward_to(u.t, both, 1.0f, u.m->taps.features[1], P, rg);
        CHECK(s == MTL_ERR_STATE, "a second path to the shared layers is refused (%s)", mtl_status_name(s));
        CHECK(strstr(mtl_last_error(), "representation") != NULL, "message: %s", mtl_last_error());
        free(rg), free(ref);
    }
    setup_free(&u);
    /* mtagn has no single shared representation: the trainer refuses --rep-grad */
    if (setup_make(&u, "mtagn", 4, 2048)) CHECK(u.m->taps.rep == NULL, "mtagn exposes no representation");
    setup_free(&u);
}

static mtl_status train_one_step(const char *kind, const char *weighting, bool rep_grad, mtl_model **out) {
    mtl_dataset d;
    mtl_status s = mtl_synth_tones(&d, 8, 1024, 0.3f, 7);
    if (s) return s;
    mtl_model_config mc = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = 1024};
    if ((s = mtl_model_create(kind, &mc, 3, out))) {
        mtl_dataset_free(&d);
        return s;
    }
    mtl_train_config c = {.epochs = 1, .batch_size = 8, .opt = mtl_opt_defaults(MTL_OPT_SGD), .seed = 2,
                          .weighting = weighting, .wcfg = mtl_weighting_defaults(), .rep_grad = rep_grad};
    c.opt.lr = 0.5f;
    s = mtl_train(*out, &d, NULL, &c, NULL, NULL);
    mtl_dataset_free(&d);
    return s;
}

/* one SGD step under a gradient strategy vs equal weighting from the same start: the
 * task-specific parameters move identically (their gradients are the tasks' own), the
 * shared ones differently; batchnorm statistics as after one forward */
static void strategy_step(void) {
    const char *names[] = {"pcgrad", "mgda", "cagrad", "nash", "aligned", "imtl", "gradvac", "graddrop"};
    mtl_model *ew = NULL;
    CHECK_OK(train_one_step("mt1dcnn", "ew", false, &ew));
    for (int i = 0; i < 8 && ew; i++) {
        mtl_model *m = NULL;
        mtl_status s = train_one_step("mt1dcnn", names[i], false, &m);
        CHECK(s == MTL_OK, "%s: %s", names[i], mtl_last_error());
        if (s) {
            mtl_model_free(m);
            continue;
        }
        mtl_params *P = m->params;
        int64_t D = mtl_params_size(P), S = mtl_params_shared_size(P);
        const float *a = mtl_params_data(P), *b = mtl_params_data(ew->params);
        double diff = 0;
        for (int64_t j = 0; j < S; j++) diff = fmax(diff, fabs((double)a[j] - b[j]));
        CHECK(diff > 0, "%s changes the shared step", names[i]);
        /* imtl's default mode also scales the task losses: its task-specific step differs */
        if (strcmp(names[i], "imtl")) th_compare(names[i], a + S, b + S, D - S, 1e-6, 1e-5);
        mtl_model_free(m);
    }
    /* FAMO's second forward (the losses after the step) leaves the running statistics alone */
    mtl_model *f = NULL;
    CHECK_OK(train_one_step("mt1dcnn", "famo", false, &f));
    if (f && ew) {
        int np = mtl_params_count(f->params);
        for (int i = 0; i < np; i++) {
            const mtl_param_info *pi = mtl_params_info(f->params, i);
            if (!pi->trainable && pi->tensor->ndim == 1 && pi->tensor->size > 1)
                th_compare(pi->name, pi->tensor->data, mtl_params_info(ew->params, i)->tensor->data, pi->tensor->size,
                           1e-6, 1e-5);
        }
    }
    mtl_model_free(f);
    /* the representation path trains; a model or strategy without one is refused */
    mtl_model *r = NULL;
    CHECK_OK(train_one_step("mt1dcnn", "mgda", true, &r));
    mtl_model_free(r), r = NULL;
    CHECK(train_one_step("mtagn", "mgda", true, &r) == MTL_ERR_ARG, "mtagn has no representation");
    CHECK(strstr(mtl_last_error(), "rep-grad") != NULL, "names the flag: %s", mtl_last_error());
    mtl_model_free(r), r = NULL;
    CHECK(train_one_step("mt1dcnn", "pcgrad", true, &r) == MTL_ERR_ARG, "pcgrad is not a representation method");
    mtl_model_free(r);
    mtl_model_free(ew);
}

int main(void) {
    RUN(split_rows);
    RUN(rep_gradient);
    RUN(strategy_step);
    return th_summary();
}
