/* MGDA / MGDA-UB, Multiple Gradient Descent Algorithm (Sener & Koltun, "Multi-Task Learning as
 * Multi-Objective Optimization", NeurIPS 2018; weighting.md). "UB" is the same method applied to
 * the gradient of the shared representation (MTL_WEIGHTING_REP).
 *
 *   n_k   = 1 (none) | ||g_k|| (l2) | L_k (loss) | L_k ||g_k|| (loss+), cfg->mgda_norm;
 *           a normaliser that is not > 0 (zero row, zero loss) leaves its row as it is (n_k = 1)
 *   alpha = argmin over the simplex of || sum_k alpha_k g_k / n_k ||^2
 *           (mtl_solve_min_norm on M_ij = g_i . g_j / (n_i n_j), in double)
 *   d     = sum_k alpha_k g_k   with the UN-normalised rows; alpha is logged as it is.
 * lambda = 1 (the rows are the plain task gradients).
 *
 * Choice: d uses the raw rows as in Sener & Koltun's code, which scales the unnormalised task
 * losses by the solver's weights. LibMTL differs: without rep_grad it writes back
 * sum_k alpha_k g_k / n_k (the normalised rows), with rep_grad the raw per-sample rows; with the
 * default normalisation "none" all three agree.
 * Degenerate cases (see solvers.c): identical rows, K = 2: alpha = (1/2, 1/2); opposite rows:
 * the weights for which the normalised rows cancel ((1/2, 1/2) with l2), so d = 0 with "none"
 * (with a normalisation d is the raw rows' combination and need not vanish); a zero row: alpha puts all weight on it, d = 0
 * (0 is in the convex hull, no common descent direction); all rows zero: alpha = 1/K, d = 0;
 * K = 1: alpha = 1, d = g_1. */
#include <math.h>

#include "weighting/strategies.h"

static mtl_status mgda_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                               int64_t D, float *d, float *alpha) {
    (void)state;
    int K = x->K;
    double M[MTL_MAX_TASKS * MTL_MAX_TASKS], n[MTL_MAX_TASKS], a[MTL_MAX_TASKS];
    mtl__gram(G, K, D, M);
    for (int k = 0; k < K; k++) {
        double norm = sqrt(M[k * K + k]), loss = x->losses[k];
        switch (c->mgda_norm) {
        case MTL_MGDA_L2: n[k] = norm; break;
        case MTL_MGDA_LOSS: n[k] = loss; break;
        case MTL_MGDA_LOSS_PLUS: n[k] = loss * norm; break;
        default: n[k] = 1; break;
        }
        if (!(n[k] > 0) || !isfinite(n[k])) n[k] = 1;
    }
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) M[i * K + j] /= n[i] * n[j];
    mtl_solve_min_norm(M, K, a);
    mtl__combine_rows(G, K, D, a, d);
    for (int k = 0; k < K; k++) alpha[k] = (float)a[k];
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_mgda = {
    .name = "mgda",
    .description = "MGDA(-UB): min-norm point of the (normalised) task gradients' convex hull (Frank-Wolfe)",
    .flags = MTL_WEIGHTING_GRADS | MTL_WEIGHTING_REP,
    .weights = mtl__unit_weights,
    .combine = mgda_combine};
