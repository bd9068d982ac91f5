/* GLS, geometric loss strategy (Chennupati et al., "MultiNet++: Multi-Stream Feature
 * Aggregation and Geometric Loss Strategy for Multi-Task Learning", CVPR Workshops 2019;
 * weighting.md): L = (prod_k L_k)^(1/K). Its gradient is sum_k (L / (K L_k)) grad L_k, so
 *   lambda_k = L / (K L_k),  L = exp(mean_k log L_k)  (in log space: no overflow of the product).
 * A loss below MTL__LOSS_FLOOR (1e-8; a perfect fit in float) counts as 1e-8, so the product
 * never vanishes; a negative loss is MTL_ERR_NUMERIC naming the task. */
#include <math.h>

#include "weighting/strategies.h"

static mtl_status gls_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    (void)state, (void)c;
    int K = x->K;
    double mean_log = 0;
    for (int k = 0; k < K; k++) {
        if (!(x->losses[k] >= 0))
            return mtl_error(MTL_ERR_NUMERIC, "weighting gls: task %d's loss is %g (expected >= 0)", k,
                             (double)x->losses[k]);
        mean_log += log(fmax(x->losses[k], MTL__LOSS_FLOOR)) / K;
    }
    for (int k = 0; k < K; k++) w[k] = (float)(exp(mean_log - log(fmax(x->losses[k], MTL__LOSS_FLOOR))) / K);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_gls = {
    .name = "gls",
    .description = "geometric loss strategy: the K-th root of the product of the task losses",
    .weights = gls_weights};
