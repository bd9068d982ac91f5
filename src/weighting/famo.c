/* FAMO, Fast Adaptive Multitask Optimization (Liu, Liu, Jin, Stone, Liu, NeurIPS 2023;
 * weighting.md). Logits xi (start at 0), z = softmax(xi). The model steps along
 * sum_k c z_k grad L_k / L_k (the gradient of sum_k c z_k log L_k), so
 *   weights():  c = (sum_k z_k / L_k)^-1,  lambda_k = c z_k / L_k   (sum_k lambda_k = 1);
 *   after():    delta_k = log L_k(before) - log L_k(after)  (the same batch, before / after the step),
 *               xi <- xi - beta (J_z(xi)^T delta + gamma xi),  J_z = diag(z) - z z^T (symmetric), so
 *               J_z^T delta = z * delta - z (z . delta),
 * beta = cfg->famo_beta (0.025), gamma = cfg->famo_gamma (0.001), z taken at the xi used in weights().
 * Choices: the spec's plain gradient step on xi; FAMO's own code (and LibMTL's) steps xi with Adam
 * (lr beta, weight decay gamma) instead, and adds 1e-8 to the losses (minus a per-task lower bound
 * of 0): here a loss below MTL__LOSS_FLOOR (1e-8) counts as 1e-8 and a negative loss (before or
 * after) is MTL_ERR_NUMERIC naming the task. after() without a weights() since the last after() is MTL_ERR_STATE.
 * State layout (tests/test_weighting_strategies.c reads it): starts with double xi[MTL_MAX_TASKS]. */
#include <math.h>

#include "weighting/strategies.h"

typedef struct {
    double xi[MTL_MAX_TASKS];
    double z[MTL_MAX_TASKS];      /* softmax(xi) of the last weights() */
    double before[MTL_MAX_TASKS]; /* the losses of the last weights() */
    bool pending;                 /* weights() given, after() not yet */
} famo_state;

static mtl_status check_losses(const float *L, int K, const char *when) {
    for (int k = 0; k < K; k++)
        if (!(L[k] >= 0))
            return mtl_error(MTL_ERR_NUMERIC, "weighting famo: task %d's loss %s is %g (expected >= 0)", k, when,
                             (double)L[k]);
    return MTL_OK;
}

static mtl_status famo_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    (void)c;
    famo_state *f = state;
    int K = x->K;
    mtl_status s = check_losses(x->losses, K, "before the step");
    if (s) return s;
    double xmax = -INFINITY, zsum = 0, inv = 0;
    for (int k = 0; k < K; k++)
        if (f->xi[k] > xmax) xmax = f->xi[k];
    for (int k = 0; k < K; k++) zsum += f->z[k] = exp(f->xi[k] - xmax);
    for (int k = 0; k < K; k++) {
        f->z[k] /= zsum;
        f->before[k] = fmax(x->losses[k], MTL__LOSS_FLOOR);
        inv += f->z[k] / f->before[k];
    }
    for (int k = 0; k < K; k++) w[k] = (float)(f->z[k] / f->before[k] / inv);
    f->pending = true;
    return MTL_OK;
}

static mtl_status famo_after(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x,
                             const float *after) {
    famo_state *f = state;
    int K = x->K;
    if (!f->pending) return mtl_error(MTL_ERR_STATE, "weighting famo: after() without weights() for this step");
    mtl_status s = check_losses(after, K, "after the step");
    if (s) return s;
    double delta[MTL_MAX_TASKS], zd = 0;
    for (int k = 0; k < K; k++) {
        delta[k] = log(f->before[k]) - log(fmax(after[k], MTL__LOSS_FLOOR));
        zd += f->z[k] * delta[k];
    }
    for (int k = 0; k < K; k++) f->xi[k] -= c->famo_beta * (f->z[k] * (delta[k] - zd) + c->famo_gamma * f->xi[k]);
    f->pending = false;
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_famo = {
    .name = "famo",
    .description = "FAMO: loss weights c z_k / L_k from logits xi, updated from the losses' decrease after each step",
    .state_size = sizeof(famo_state),
    .flags = MTL_WEIGHTING_LOSSES_AFTER,
    .weights = famo_weights,
    .after = famo_after};
