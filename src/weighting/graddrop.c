/* GradDrop, gradient sign dropout (Chen, Ngiam, Huang, Luong, Kretzschmar, Chai, Anguelov, "Just
 * Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020;
 * weighting.md). Per coordinate i of the rows g_k (shared parameters or, with rep_grad, the
 * shared representation):
 *   P_i = (1 + sum_k g_ki / sum_k |g_ki|) / 2   (sign purity),  U_i ~ U[0, 1);
 *   if U_i < P_i keep the positive components g_ki > 0, else (U_i >= P_i) keep the negative ones;
 *   d_i = sum of the kept components;  d_i = 0 where sum_k |g_ki| = 0.
 *   alpha = mtl__least_squares_scale(d) on the original rows.
 * Draws: one mtl_rng_float per coordinate, in coordinate order i = 0..D-1, also where the
 * coordinate is all zero (so the draws never depend on the values). The comparison makes exactly
 * one sign survive per coordinate (the paper's "P > U" / "P < U" leaves the measure-zero U = P
 * undecided). Choices: no leak (LibMTL's leak = 0 default) and no batch-sign weighting of the
 * representation gradient (LibMTL multiplies by sign(input) and sums over the batch): G's
 * coordinates are used as given. All rows identical or all of one sign: P in {0, 1}, d = sum_k g_k;
 * opposite rows: P = 1/2, one of the two survives per coordinate. */
#include <math.h>

#include "weighting/strategies.h"

static mtl_status graddrop_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                                   int64_t D, float *d, float *alpha) {
    (void)state, (void)c;
    int K = x->K;
    for (int64_t i = 0; i < D; i++) {
        double sum = 0, abs_sum = 0, kept = 0;
        for (int k = 0; k < K; k++) {
            double g = G[(size_t)k * D + i];
            sum += g;
            abs_sum += fabs(g);
        }
        double U = mtl_rng_float(x->rng);
        if (abs_sum > 0) {
            bool positive = U < 0.5 * (1 + sum / abs_sum);
            for (int k = 0; k < K; k++) {
                double g = G[(size_t)k * D + i];
                if (positive ? g > 0 : g < 0) kept += g;
            }
        }
        d[i] = (float)kept;
    }
    mtl__least_squares_scale(G, K, D, d, alpha);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_graddrop = {
    .name = "graddrop",
    .description = "GradDrop: per coordinate, keep only the positive or the negative task gradients, by sign purity",
    .flags = MTL_WEIGHTING_GRADS | MTL_WEIGHTING_REP,
    .weights = mtl__unit_weights,
    .combine = graddrop_combine};
