/* The weighting strategies (one file each in src/weighting/) and what they share. */
#ifndef MTL_WEIGHTING_STRATEGIES_H
#define MTL_WEIGHTING_STRATEGIES_H
#include "mtl/model.h"
#include "mtl/weighting.h"

extern const mtl_weighting_kind mtl_weighting_ew;
extern const mtl_weighting_kind mtl_weighting_dwa;
extern const mtl_weighting_kind mtl_weighting_uw;
extern const mtl_weighting_kind mtl_weighting_rlw;
extern const mtl_weighting_kind mtl_weighting_gls;
extern const mtl_weighting_kind mtl_weighting_famo;
extern const mtl_weighting_kind mtl_weighting_gradnorm;
extern const mtl_weighting_kind mtl_weighting_mgda;
extern const mtl_weighting_kind mtl_weighting_pcgrad;
extern const mtl_weighting_kind mtl_weighting_graddrop;
extern const mtl_weighting_kind mtl_weighting_cagrad;
extern const mtl_weighting_kind mtl_weighting_imtl;
extern const mtl_weighting_kind mtl_weighting_gradvac;
extern const mtl_weighting_kind mtl_weighting_nash;
extern const mtl_weighting_kind mtl_weighting_aligned;

/* lambda_k = 1: ew's weights, and those of the gradient strategies whose rows are the plain task
 * gradients */
mtl_status mtl__unit_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *lambda);

/* Adam (torch.optim.Adam's formulas, betas 0.9 / 0.999, eps 1e-8) on a strategy's own K
 * parameters (uw's log variances, imtl's loss scales, gradnorm's weights) */
typedef struct {
    double m[MTL_MAX_TASKS], v[MTL_MAX_TASKS];
    int64_t t;
} mtl__wadam;
void mtl__wadam_step(mtl__wadam *a, double lr, int K, double *p, const double *grad);

/* alpha_k = d . g_k / ||g_k||^2 (0 for a zero row): the per-task scale of a combined
 * gradient d for strategies with no weights of their own; G [K x D] must still hold the rows */
void mtl__least_squares_scale(const float *G, int K, int64_t D, const float *d, float *alpha);
/* famo and gls divide by the losses and take their logarithm: a loss below this floor (a
 * perfect fit rounds a cross-entropy to 0 in float) counts as the floor, as FAMO's code adds
 * 1e-8; a negative loss is an error */
#define MTL__LOSS_FLOOR 1e-8

/* the other tasks in the order task k visits them (pcgrad, gradvac): one
 * mtl_rng_permutation(rng, p, K - 1) per call, order[i] = the p[i]-th other task in ascending
 * order; K = 2 draws nothing */
mtl_status mtl__visit_order(mtl_rng *rng, int K, int k, int *order);

/* dot product in double */
double mtl__dot(const float *a, const float *b, int64_t n);
/* M = G G^T [K x K] in double, G [K x D] row-major */
void mtl__gram(const float *G, int K, int64_t D, double *M);
/* d = sum_k a_k g_k, accumulated in double */
void mtl__combine_rows(const float *G, int K, int64_t D, const double *a, float *d);
#endif
