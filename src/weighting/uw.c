/* UW, uncertainty weighting (Kendall, Gal, Cipolla, "Multi-Task Learning Using Uncertainty to
 * Weigh Losses for Scene Geometry and Semantics", CVPR 2018; weighting.md):
 *   L = sum_k ( exp(-s_k) L_k / 2 + s_k / 2 ),  s_k the trainable log variance of task k.
 * As implemented, every step:
 *   lambda_k = exp(-s_k) / 2            (from the current s),
 *   dL/ds_k  = -exp(-s_k) L_k / 2 + 1/2 (with this step's unweighted loss L_k),
 *   s <- Adam(s, dL/ds) at cfg->lr      (mtl__wadam_step: one torch.optim.Adam step on s).
 * s_k starts at cfg->uw_init (0; MTAN uses -0.5). The form is the one above for every task
 * (no regression / classification distinction). A zero or negative loss is valid: it only
 * pushes s_k down (the weight up) by Adam's bounded step; nothing here divides by a loss.
 * State layout (tests/test_weighting_strategies.c reads it): starts with double s[MTL_MAX_TASKS]. */
#include <math.h>

#include "weighting/strategies.h"

typedef struct {
    double s[MTL_MAX_TASKS];
    mtl__wadam adam;
} uw_state;

static mtl_status uw_init(void *state, const mtl_weighting_config *c, int K) {
    uw_state *u = state;
    for (int k = 0; k < K; k++) u->s[k] = c->uw_init;
    return MTL_OK;
}

static mtl_status uw_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    uw_state *u = state;
    double grad[MTL_MAX_TASKS] = {0};
    for (int k = 0; k < x->K; k++) {
        double e = exp(-u->s[k]);
        w[k] = (float)(e / 2);
        grad[k] = -e * x->losses[k] / 2 + 0.5;
    }
    mtl__wadam_step(&u->adam, c->lr, x->K, u->s, grad);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_uw = {
    .name = "uw",
    .description = "uncertainty weighting (Kendall et al.): lambda_k = exp(-s_k)/2, s_k a learned log variance (Adam)",
    .state_size = sizeof(uw_state),
    .init = uw_init,
    .weights = uw_weights};
