/* RLW, random loss weighting (Lin et al., "Reasonable Effectiveness of Random Weighting: A
 * Litmus Test for Multi-Task Learning", TMLR 2022; weighting.md):
 *   z ~ N(0, I_K) drawn every step,  lambda_k = exp(z_k) / sum_i exp(z_i)  (softmax: sum = 1).
 * Draws: one mtl_rng_normal(rng, z, K, 0, 1) call per weights() on the strategy's stream
 * (Box-Muller, ceil(K / 4) Philox blocks); the softmax is computed in double, shifted by
 * max z. The losses are not used (any value is fine). */
#include <math.h>

#include "weighting/strategies.h"

static mtl_status rlw_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    (void)state, (void)c;
    float z[MTL_MAX_TASKS];
    mtl_rng_normal(x->rng, z, x->K, 0.0f, 1.0f);
    double zmax = -INFINITY, sum = 0;
    for (int k = 0; k < x->K; k++)
        if (z[k] > zmax) zmax = z[k];
    for (int k = 0; k < x->K; k++) sum += exp(z[k] - zmax);
    for (int k = 0; k < x->K; k++) w[k] = (float)(exp(z[k] - zmax) / sum);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_rlw = {
    .name = "rlw",
    .description = "random loss weighting: lambda = softmax(z), z ~ N(0, I) drawn every step",
    .weights = rlw_weights};
