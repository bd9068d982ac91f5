/* GradNorm (Chen, Badrinarayanan, Lee, Rabinovich, "GradNorm: Gradient Normalization for
 * Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018; weighting.md).
 * Trainable loss weights w_k (start at 1). As implemented:
 *   weights():  lambda_k = w_k; the first call's losses are stored as L_k(0);
 *   combine():  the rows of G are the gradients of w_k L_k, so on the last shared layer
 *               (columns [last_begin, last_end)) G_k = || row k there || = w_k || grad_W L_k ||;
 *               r_k = (L_k / L_k(0)) / mean_i (L_i / L_i(0));  T_k = mean_i(G_i) r_k^alpha (constant);
 *               dLgrad/dw_k = sign(G_k - T_k) G_k / w_k  (Lgrad = sum_k |G_k - T_k|, sign(0) = 0);
 *               w <- Adam(w, that gradient) at cfg->lr (mtl__wadam_step), w_k <- max(w_k, 1e-4),
 *               then w <- K w / sum_i w_i;
 *               d = sum_k row k (the rows already carry this step's weights), alpha_k = lambda_k.
 * Choices: w_k here is the value weights() gave this step (ctx->lambda, what the rows were made
 * with); alpha = cfg->gradnorm_alpha (1.5). Unlike LibMTL (softmax-parametrised weights, plain
 * sum in epoch 0, L(0) = epoch 0's mean loss) this follows the spec: plain w_k, active from the
 * first step, L(0) = the first step's losses. Degenerate cases: a zero row gives G_k = 0 and no
 * gradient for w_k; a first loss <= 0 (no ratio) or a negative loss is MTL_ERR_NUMERIC; when all
 * current losses are 0 (mean ratio 0), r_k = 1. The clamp at 1e-4 keeps w_k > 0 (and G_k / w_k
 * defined) whatever the step; the renormalisation may scale it slightly below 1e-4, never to 0.
 * State layout (tests/test_weighting_strategies.c reads it): starts with double w[MTL_MAX_TASKS]. */
#include <math.h>

#include "weighting/strategies.h"

#define GRADNORM_MIN_W 1e-4

typedef struct {
    double w[MTL_MAX_TASKS];
    double L0[MTL_MAX_TASKS];
    bool have_L0;
    mtl__wadam adam;
} gradnorm_state;

static mtl_status gradnorm_init(void *state, const mtl_weighting_config *c, int K) {
    (void)c;
    gradnorm_state *g = state;
    for (int k = 0; k < K; k++) g->w[k] = 1.0;
    return MTL_OK;
}

static mtl_status gradnorm_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    (void)c;
    gradnorm_state *g = state;
    for (int k = 0; k < x->K; k++) {
        if (!(x->losses[k] >= 0))
            return mtl_error(MTL_ERR_NUMERIC, "weighting gradnorm: task %d's loss is %g (expected >= 0)", k,
                             (double)x->losses[k]);
        if (!g->have_L0 && !(x->losses[k] > 0))
            return mtl_error(MTL_ERR_NUMERIC,
                             "weighting gradnorm: task %d's first loss is %g (the loss ratios need L_k(0) > 0)", k,
                             (double)x->losses[k]);
    }
    if (!g->have_L0) {
        for (int k = 0; k < x->K; k++) g->L0[k] = x->losses[k];
        g->have_L0 = true;
    }
    for (int k = 0; k < x->K; k++) w[k] = (float)g->w[k];
    return MTL_OK;
}

static mtl_status gradnorm_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                                   int64_t D, float *d, float *alpha) {
    gradnorm_state *g = state;
    int K = x->K;
    int64_t n = x->last_end - x->last_begin;
    double Gn[MTL_MAX_TASKS], r[MTL_MAX_TASKS], meanG = 0, meanr = 0, grad[MTL_MAX_TASKS] = {0};
    for (int k = 0; k < K; k++) {
        const float *row = G + (size_t)k * D + x->last_begin;
        Gn[k] = sqrt(mtl__dot(row, row, n));
        meanG += Gn[k] / K;
        r[k] = x->losses[k] / g->L0[k];
        meanr += r[k] / K;
    }
    for (int k = 0; k < K; k++) {
        double T = meanG * pow(meanr > 0 ? r[k] / meanr : 1.0, c->gradnorm_alpha);
        double wk = x->lambda[k];
        grad[k] = Gn[k] > T ? Gn[k] / wk : Gn[k] < T ? -Gn[k] / wk : 0.0;
    }
    mtl__wadam_step(&g->adam, c->lr, K, g->w, grad);
    double sum = 0;
    for (int k = 0; k < K; k++) sum += g->w[k] = fmax(g->w[k], GRADNORM_MIN_W);
    for (int k = 0; k < K; k++) g->w[k] *= K / sum;
    double ones[MTL_MAX_TASKS]; /* the rows already carry the weights: their plain sum */
    for (int k = 0; k < K; k++) ones[k] = 1.0;
    mtl__combine_rows(G, K, D, ones, d);
    for (int k = 0; k < K; k++) alpha[k] = x->lambda[k];
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_gradnorm = {
    .name = "gradnorm",
    .description = "GradNorm: loss weights trained so the last shared layer's gradient norms follow the loss ratios",
    .state_size = sizeof(gradnorm_state),
    .flags = MTL_WEIGHTING_GRADS,
    .init = gradnorm_init,
    .weights = gradnorm_weights,
    .combine = gradnorm_combine};
