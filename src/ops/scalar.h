/* Scalar helpers shared by op families. */
#ifndef MTL_OPS_SCALAR_H
#define MTL_OPS_SCALAR_H
#include <math.h>

/* 1 / (1 + e^-x) without overflow: e^-|x| is at most 1 */
static inline float mtl__sigmoid1(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
#endif
