/* Aligned-MTL, independent component alignment (Senushkin, Patakin, Kuznetsov, Konushin, CVPR
 * 2023; weighting.md). Supports the representation gradient (MTL_WEIGHTING_REP) as in the paper.
 *   M = G G^T = V S V^T (mtl_solve_sym_eigen, double); eigenvalues <= max_i S_i * K * FLT_EPSILON
 *   are dropped (the rank tolerance of the paper's code and LibMTL), r = the number kept;
 *   sigma_min = sqrt(smallest kept eigenvalue) (the smallest non-zero singular value of G);
 *   B = sigma_min V_r S_r^{-1/2} V_r^T   (K x K, symmetric);
 *   d = w^T B G = sum_k alpha_k g_k with alpha = B^T w, w = 1 (the plain sum of the rows of B G)
 *   or, with cfg->aligned_weighted, w = ctx->lambda (the loss weights, 1 from weights()).
 * Choice: the spec writes B = sqrt(sigma_min) V S^-1/2 V^T; we follow the paper (Alg. 1: G is
 * rescaled so that all its singular values equal the smallest one, sigma_min) and its code /
 * LibMTL (B = sqrt(lambda_min) V S^-1/2 V^T with lambda the eigenvalues of G G^T): the factor is
 * sigma_min itself; sqrt(sigma_min) would not be scale-equivariant (d would scale as
 * ||G||^{1/2}).
 * Degenerate cases: all rows zero (max eigenvalue <= 0): alpha = 0, d = 0. A zero row lies in
 * the dropped null space, so its alpha is 0 (up to rounding). Identical rows (rank 1): B is the
 * projector onto their common direction in task space, alpha = (1, 1), d = 2 g. Opposite rows:
 * alpha = 0, d = 0. B does not depend on the choice of eigenvectors for repeated eigenvalues. */
#include <float.h>
#include <math.h>

#include "weighting/strategies.h"

static mtl_status aligned_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                                  int64_t D, float *d, float *alpha) {
    (void)state;
    int K = x->K;
    double M[MTL_MAX_TASKS * MTL_MAX_TASKS], V[MTL_MAX_TASKS * MTL_MAX_TASKS], e[MTL_MAX_TASKS], a[MTL_MAX_TASKS] = {0};
    mtl__gram(G, K, D, M);
    mtl_solve_sym_eigen(M, K, e, V);
    if (e[K - 1] > 0) {
        double tol = e[K - 1] * K * FLT_EPSILON, smin;
        int first = 0;
        while (!(e[first] > tol)) first++; /* ascending: the kept ones are first..K-1 */
        smin = sqrt(e[first]);
        for (int j = 0; j < K; j++) /* alpha_j = sum_i w_i B_ij */
            for (int i = 0; i < K; i++) {
                double Bij = 0, w = c->aligned_weighted ? x->lambda[i] : 1.0;
                for (int l = first; l < K; l++) Bij += V[i * K + l] * V[j * K + l] / sqrt(e[l]);
                a[j] += w * smin * Bij;
            }
    }
    for (int k = 0; k < K; k++) alpha[k] = (float)a[k];
    mtl__combine_rows(G, K, D, a, d);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_aligned = {
    .name = "aligned",
    .description = "Aligned-MTL: the task gradients rescaled to equal singular values (sigma_min), then summed",
    .flags = MTL_WEIGHTING_GRADS | MTL_WEIGHTING_REP,
    .weights = mtl__unit_weights,
    .combine = aligned_combine};
