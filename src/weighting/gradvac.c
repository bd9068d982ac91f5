/* GradVac, gradient vaccine (Wang, Tsvetkov, Firat, Cao, "Gradient Vaccine: Investigating and
 * Improving Multi-task Optimization in Massively Multilingual Models", ICLR 2021; weighting.md).
 * Per ordered pair (k, j) an EMA target phi^_kj of the cosine (starts at 0). For each task k:
 *   g'_k = g_k; for j != k in a random order:
 *     phi = cos(g'_k, g_j)   (the CURRENT g'_k against the ORIGINAL g_j);
 *     if phi < phi^_kj:  g'_k += ||g'_k|| (phi^ sqrt(1 - phi^2) - phi sqrt(1 - phi^^2))
 *                                  / (||g_j|| sqrt(1 - phi^^2)) g_j;
 *     phi^_kj <- (1 - beta) phi^_kj + beta phi   (after every comparison, with the phi computed);
 *   d = sum_k g'_k,  alpha_j = 1 + the coefficients added to g_j (d = sum_j alpha_j g_j exactly;
 *   what LibMTL logs as the batch weight). beta = cfg->gradvac_beta (0.5); one group (the whole
 * gradient, LibMTL's group_type 0).
 * As in pcgrad.c, every g'_k = sum_m a_km g_m is kept as coefficients over the Gram matrix
 * M = G G^T (double): ||g'_k||^2 = a^T M a, g'_k . g_j = (a^T M)_j.
 * Draws: as pcgrad: for k = 0..K-1, mtl_rng_permutation(rng, p, K - 1), the i-th task visited
 * being the p[i]-th other task in ascending order; K = 2 draws nothing.
 * Choices (the spec is silent): the target is updated after every comparison, as in the paper's
 * algorithm (LibMTL updates it only when g'_k was changed). The cosine is clamped to [-1, 1]. When
 * g_j is zero, or g'_k has cancelled to zero (||g'_k|| <= 1e-12 sum_m |a_km| ||g_m||, i.e. rounding
 * only), the cosine is undefined: the pair is skipped and its target left as it is. When
 * sqrt(1 - phi^^2) < 1e-6 (a target of +-1, reachable by the EMA of parallel rows) the step
 * would be unbounded: g'_k is left unchanged (the target is still updated). Identical rows: cos 1
 * >= phi^, never changed; opposite rows with phi^ = 0: g'_k += g_j, so d = 0.
 * State layout (tests/test_weighting_strategies.c reads it): starts with
 * double phi[MTL_MAX_TASKS][MTL_MAX_TASKS] (phi[k][j] = phi^_kj). */
#include <math.h>

#include "weighting/strategies.h"

typedef struct {
    double phi[MTL_MAX_TASKS][MTL_MAX_TASKS];
} gradvac_state;

static mtl_status gradvac_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                                  int64_t D, float *d, float *alpha) {
    gradvac_state *v = state;
    int K = x->K;
    double M[MTL_MAX_TASKS * MTL_MAX_TASKS], beta[MTL_MAX_TASKS] = {0};
    mtl__gram(G, K, D, M);
    for (int k = 0; k < K; k++) {
        int order[MTL_MAX_TASKS];
        mtl_status s = mtl__visit_order(x->rng, K, k, order);
        if (s) return s;
        double a[MTL_MAX_TASKS] = {0};
        a[k] = 1;
        for (int i = 0; i < K - 1; i++) {
            int j = order[i];
            double nk2 = 0, bound = 0, dot = 0;
            for (int m = 0; m < K; m++) {
                double am = 0;
                for (int n = 0; n < K; n++) am += a[n] * M[n * K + m];
                nk2 += am * a[m];
                bound += fabs(a[m]) * sqrt(M[m * K + m]);
                if (m == j) dot = am;
            }
            double nk = sqrt(fmax(nk2, 0)), nj = sqrt(M[j * K + j]);
            if (nj == 0 || nk <= 1e-12 * bound) continue;
            double cs = fmin(fmax(dot / (nk * nj), -1.0), 1.0), target = v->phi[k][j];
            double st = sqrt(1 - target * target);
            if (cs < target && st >= 1e-6) a[j] += nk * (target * sqrt(1 - cs * cs) - cs * st) / (nj * st);
            v->phi[k][j] = (1 - c->gradvac_beta) * target + c->gradvac_beta * cs;
        }
        for (int m = 0; m < K; m++) beta[m] += a[m];
    }
    mtl__combine_rows(G, K, D, beta, d);
    for (int k = 0; k < K; k++) alpha[k] = (float)beta[k];
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_gradvac = {
    .name = "gradvac",
    .description = "GradVac: each task's gradient steered towards EMA targets of its cosine with the others",
    .state_size = sizeof(gradvac_state),
    .flags = MTL_WEIGHTING_GRADS,
    .weights = mtl__unit_weights,
    .combine = gradvac_combine};
