/* EW, equal weighting: lambda_k = 1 (the plain sum of the task losses). */
#include "weighting/strategies.h"

static mtl_status ew_epoch(void *state, const mtl_weighting_config *c, int K, int epoch, const double *history,
                           float *w) {
    for (int k = 0; k < K; k++) w[k] = 1.0f;
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_ew = {"ew", "equal weighting: the sum of the task losses", 0, ew_epoch, NULL};
