/* The weighting strategies (one file each in src/weighting/). */
#ifndef MTL_WEIGHTING_STRATEGIES_H
#define MTL_WEIGHTING_STRATEGIES_H
#include "mtl/weighting.h"

extern const mtl_weighting_kind mtl_weighting_ew;
extern const mtl_weighting_kind mtl_weighting_dwa;
#endif
