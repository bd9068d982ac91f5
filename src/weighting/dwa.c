/* DWA, Dynamic Weight Average (Liu, Johns, Davison, CVPR 2019; weighting.md):
 *   r_k = Lbar_k(t-1) / Lbar_k(t-2),  lambda_k(t) = K exp(r_k / T) / sum_i exp(r_i / T),
 * Lbar_k(e) the mean UNWEIGHTED training loss of task k in epoch e; lambda = 1 in epochs
 * 0 and 1; fixed within an epoch. */
#include <math.h>

#include "weighting/strategies.h"

static mtl_status dwa_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    (void)state;
    int K = x->K, epoch = x->epoch;
    const double *h = x->history;
    if (epoch < 2) {
        for (int k = 0; k < K; k++) w[k] = 1.0f;
        return MTL_OK;
    }
    const double *prev = h + (size_t)(epoch - 1) * K, *prev2 = h + (size_t)(epoch - 2) * K;
    double r[MTL_MAX_TASKS], rmax = -INFINITY, sum = 0;
    for (int k = 0; k < K; k++) {
        if (!(prev2[k] > 0))
            return mtl_error(MTL_ERR_NUMERIC, "weighting dwa: task %d's mean loss in epoch %d is %g (expected > 0)", k,
                             epoch - 2, prev2[k]);
        r[k] = prev[k] / prev2[k] / c->temperature;
        if (r[k] > rmax) rmax = r[k];
    }
    for (int k = 0; k < K; k++) sum += exp(r[k] - rmax); /* shifted: same ratio, no overflow */
    for (int k = 0; k < K; k++) w[k] = (float)(K * exp(r[k] - rmax) / sum);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_dwa = {
    .name = "dwa",
    .description = "Dynamic Weight Average (MTAN): weights from the ratio of the last two epochs' losses, temperature T",
    .weights = dwa_weights};
