/* PCGrad, projecting conflicting gradients (Yu, Kumar, Gupta, Levine, Hausman, Finn, "Gradient
 * Surgery for Multi-Task Learning", NeurIPS 2020; weighting.md). For each task k:
 *   g'_k = g_k; for j != k in a random order: if g'_k . g_j < 0, g'_k -= (g'_k . g_j / ||g_j||^2) g_j;
 *   d = sum_k g'_k,  alpha = mtl__least_squares_scale(d) on the original rows.
 * Projections are against the ORIGINAL g_j. Every g'_k is a combination sum_j a_kj g_j of the
 * original rows, so the loop runs on the coefficients a_k with the Gram matrix M = G G^T (double):
 * g'_k . g_j = sum_m a_km M_mj; then d = sum_j (sum_k a_kj) g_j in one pass over G (no K x D copy).
 * Draws (the strategy's stream): for k = 0..K-1 in turn, mtl_rng_permutation(rng, p, K - 1) (a
 * Fisher-Yates with mtl_rng_below, see src/core/rng.c); the i-th task visited is the p[i]-th of
 * the other tasks in ascending order (p[i] < k ? p[i] : p[i] + 1). K = 2 draws nothing.
 * Degenerate cases: a zero g_j (||g_j||^2 = 0) is never projected on (its dot product is 0);
 * identical rows never conflict (d = K g); opposite rows cancel (g'_1 = g'_2 = 0, d = 0). The
 * test is a strict g'_k . g_j < 0, as in the paper. */
#include "weighting/strategies.h"

static mtl_status pcgrad_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                                 int64_t D, float *d, float *alpha) {
    (void)state, (void)c;
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
            double dot = 0;
            for (int m = 0; m < K; m++) dot += a[m] * M[m * K + j];
            if (dot < 0 && M[j * K + j] > 0) a[j] -= dot / M[j * K + j];
        }
        for (int m = 0; m < K; m++) beta[m] += a[m];
    }
    mtl__combine_rows(G, K, D, beta, d);
    mtl__least_squares_scale(G, K, D, d, alpha);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_pcgrad = {
    .name = "pcgrad",
    .description = "PCGrad: each task's gradient projected off the gradients it conflicts with, in random order",
    .flags = MTL_WEIGHTING_GRADS,
    .weights = mtl__unit_weights,
    .combine = pcgrad_combine};
