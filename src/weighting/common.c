/* What the weighting strategies share: unit loss weights, Adam on their own parameters, dot
 * products, the Gram matrix, combinations of the rows, the least-squares per-task scale of a
 * combined gradient, and the random visiting order of pcgrad and gradvac. */
#include <math.h>

#include "weighting/strategies.h"

mtl_status mtl__unit_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *lambda) {
    (void)state, (void)c;
    for (int k = 0; k < x->K; k++) lambda[k] = 1.0f;
    return MTL_OK;
}

void mtl__wadam_step(mtl__wadam *a, double lr, int K, double *p, const double *grad) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    a->t++;
    double c1 = 1 - pow(b1, (double)a->t), c2 = 1 - pow(b2, (double)a->t);
    for (int k = 0; k < K; k++) {
        a->m[k] = b1 * a->m[k] + (1 - b1) * grad[k];
        a->v[k] = b2 * a->v[k] + (1 - b2) * grad[k] * grad[k];
        p[k] -= lr / c1 * a->m[k] / (sqrt(a->v[k] / c2) + eps);
    }
}

double mtl__dot(const float *a, const float *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

void mtl__least_squares_scale(const float *G, int K, int64_t D, const float *d, float *alpha) {
    for (int k = 0; k < K; k++) {
        const float *g = G + (size_t)k * D;
        double gg = mtl__dot(g, g, D);
        alpha[k] = gg > 0 ? (float)(mtl__dot(d, g, D) / gg) : 0.0f;
    }
}

void mtl__gram(const float *G, int K, int64_t D, double *M) {
    for (int i = 0; i < K; i++)
        for (int j = 0; j <= i; j++) M[i * K + j] = M[j * K + i] = mtl__dot(G + (size_t)i * D, G + (size_t)j * D, D);
}

void mtl__combine_rows(const float *G, int K, int64_t D, const double *a, float *d) {
    for (int64_t t = 0; t < D; t++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += a[k] * G[(size_t)k * D + t];
        d[t] = (float)s;
    }
}

mtl_status mtl__visit_order(mtl_rng *rng, int K, int k, int *order) {
    int32_t p[MTL_MAX_TASKS];
    mtl_status s = mtl_rng_permutation(rng, p, K - 1);
    for (int i = 0; i < K - 1 && !s; i++) order[i] = p[i] < k ? p[i] : p[i] + 1;
    return s;
}
