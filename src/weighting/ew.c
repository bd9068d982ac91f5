/* EW, equal weighting: lambda_k = 1 (the plain sum of the task losses). */
#include "weighting/strategies.h"

const mtl_weighting_kind mtl_weighting_ew = {
    .name = "ew", .description = "equal weighting: the sum of the task losses", .weights = mtl__unit_weights};
