/* CAGrad, Conflict-Averse Gradient descent (Liu, Liu, Jin, Stone, Liu, NeurIPS 2021;
 * weighting.md):
 *   g0 = (1/K) sum_k g_k,   c' = c ||g0||   (c = cfg->cagrad_c in [0, 1), 0.5),
 *   w  = argmin over the simplex of F(w) = g_w . g0 + c' ||g_w||,   g_w = sum_k w_k g_k,
 *   d  = (g0 + lambda g_w) / (1 + c^2 if cfg->cagrad_rescale),   lambda = c' / ||g_w||,
 *   alpha_k = (1/K + lambda w_k) / (1 + c^2 if rescale)   (so d = sum_k alpha_k g_k, logged).
 * lambda = 1 from weights().
 *
 * The dual problem is solved in double on M = G G^T (b = M 1 / K = G g0): with
 * c' ||p|| = min_{tau > 0} (c'/2)(||p||^2 / tau + tau), F's minimum is min over tau of the convex
 * psi(tau) = min_w b.w + (c'/2)(w^T M w / tau + tau); the inner minimiser is the min-norm point of
 * the shifted rows g_k + (tau/c') g0 (mtl_solve_min_norm on
 * M + s (b 1^T + 1 b^T) + s^2 ||g0||^2 1 1^T, s = tau/c'), and psi'(tau) has the sign of
 * tau - ||g_w(tau)||, so tau* = ||g_w|| is found by 64 bisection steps on [0, max_k ||g_k||]
 * (psi' >= 0 at the right end since ||g_w|| <= max_k ||g_k||). LibMTL (after the official code)
 * instead runs scipy's SLSQP with +1e-8 smoothing terms; the optimum is the same.
 * Degenerate cases: c = 0 or ||g0|| <= 1e-10 max_k ||g_k|| (e.g. opposite rows, all rows zero):
 * lambda = 0, d = g0 / (1 + c^2), w = 1/K; if the optimal g_w vanishes (||g_w|| <= 1e-8 max_k
 * ||g_k||: 0 is the best point of the hull, its direction is undefined) likewise lambda = 0 and
 * d = g0 / (1 + c^2) (the centre of CAGrad's ball). Identical rows need no special case. */
#include <math.h>

#include "weighting/strategies.h"

static double quad(const double *M, int K, const double *w) {
    double s = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) s += w[i] * M[i * K + j] * w[j];
    return s > 0 ? s : 0;
}

/* w(tau): the min-norm point of the rows g_k + s g0 */
static void inner(const double *M, const double *b, double g0sq, int K, double s, double *w) {
    double Ms[MTL_MAX_TASKS * MTL_MAX_TASKS];
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) Ms[i * K + j] = M[i * K + j] + s * (b[i] + b[j]) + s * s * g0sq;
    mtl_solve_min_norm(Ms, K, w);
}

static mtl_status cagrad_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                                 int64_t D, float *d, float *alpha) {
    (void)state;
    int K = x->K;
    double M[MTL_MAX_TASKS * MTL_MAX_TASKS], b[MTL_MAX_TASKS], w[MTL_MAX_TASKS], g0sq = 0, rmax = 0, lam = 0;
    mtl__gram(G, K, D, M);
    for (int64_t t = 0; t < D; t++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += G[(size_t)k * D + t];
        g0sq += (s / K) * (s / K);
    }
    for (int i = 0; i < K; i++) {
        b[i] = 0;
        for (int j = 0; j < K; j++) b[i] += M[i * K + j] / K;
        rmax = fmax(rmax, sqrt(M[i * K + i]));
        w[i] = 1.0 / K;
    }
    double cp = c->cagrad_c * sqrt(g0sq);
    if (cp > 1e-10 * rmax && cp > 0) {
        double lo = 0, hi = rmax;
        for (int it = 0; it < 64; it++) {
            double tau = 0.5 * (lo + hi);
            inner(M, b, g0sq, K, tau / cp, w);
            if (tau >= sqrt(quad(M, K, w))) hi = tau;
            else lo = tau;
        }
        inner(M, b, g0sq, K, hi / cp, w);
        double gw = sqrt(quad(M, K, w));
        if (gw > 1e-8 * rmax) lam = cp / gw;
    }
    double scale = c->cagrad_rescale ? 1 / (1 + c->cagrad_c * c->cagrad_c) : 1, a[MTL_MAX_TASKS];
    for (int k = 0; k < K; k++) alpha[k] = (float)(a[k] = (1.0 / K + lam * w[k]) * scale);
    mtl__combine_rows(G, K, D, a, d);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_cagrad = {
    .name = "cagrad",
    .description = "CAGrad: the mean gradient moved (radius c ||g0||) towards the worst-off task's direction",
    .flags = MTL_WEIGHTING_GRADS,
    .weights = mtl__unit_weights,
    .combine = cagrad_combine};
