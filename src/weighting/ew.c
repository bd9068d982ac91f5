/* EW, equal weighting: lambda_k = 1 (the plain sum of the task losses). */
#include "weighting/strategies.h"

static mtl_status ew_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    (void)state, (void)c;
    for (int k = 0; k < x->K; k++) w[k] = 1.0f;
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_ew = {
    .name = "ew", .description = "equal weighting: the sum of the task losses", .weights = ew_weights};
