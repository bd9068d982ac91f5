/* IMTL, Impartial Multi-Task Learning (Liu, Li, Kuang, Xue, Chen, Yang, Liao, Zhang, ICLR 2021;
 * weighting.md). cfg->imtl_mode:
 *   lg (default, the full method): loss scales s_k (0 at the start), lambda_k = exp(s_k); then
 *      s is stepped with Adam (mtl__wadam_step, lr = cfg->lr) on the gradient of
 *      sum_k (e^{s_k} L_k - s_k), i.e. e^{s_k} L_k - 1, evaluated at the s that gave lambda
 *      (IMTL-L; as in LibMTL, where the scales are in the optimizer's parameters); combine():
 *      IMTL-G on the rows (the gradients of e^{s_k} L_k);
 *   g:  lambda = 1, IMTL-G;
 *   l:  the loss scales only: d = sum_k g_k (the rows already carry lambda_k), alpha = lambda.
 * IMTL-G: u_k = g_k / ||g_k||, D = [g_1 - g_k], U = [u_1 - u_k] (k = 2..K),
 *   alpha_{2..K} = g_1 U^T (D U^T)^-1, i.e. (D U^T)^T a = U g_1 (mtl_solve_linear, K-1 x K-1),
 *   alpha_1 = 1 - sum alpha_{2..K}, d = sum_k alpha_k g_k (alpha logged). The entries of D U^T and
 *   U g_1 are accumulated in double straight from the rows (not from G G^T, whose differences
 *   cancel badly for nearly parallel rows).
 * Choices where the formula breaks down:
 *   - a zero row (no direction u_k) gets alpha_k = 0 and is left out; "task 1" is then the first
 *     non-zero row; one non-zero row: alpha = 1 on it; all rows zero: alpha = 0, d = 0; K = 1:
 *     alpha = 1, d = g_1;
 *   - D U^T singular (identical rows, rows that are positive multiples of each other): the
 *     minimum-norm least-squares solution (pseudo-inverse through the eigen-decomposition of
 *     A^T A, eigenvalues <= 1e-10 of the largest dropped), which still equalises the projections
 *     when that is possible; duplicates of the first row then get alpha 0 and the first row
 *     carries them (identical rows, K = 2: alpha = (1, 0), d = g_1). mtl_solve_linear's
 *     message stays as the thread's last error in that case.
 * Opposite rows need no special case (IMTL-G gives alpha = (1/2, 1/2), d = 0, for equal norms). */
#include <math.h>

#include "weighting/strategies.h"

typedef struct {
    double s[MTL_MAX_TASKS];
    mtl__wadam adam;
} imtl_state;

static mtl_status imtl_weights(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *w) {
    imtl_state *st = state;
    int K = x->K;
    if (c->imtl_mode == MTL_IMTL_G) {
        for (int k = 0; k < K; k++) w[k] = 1.0f;
        return MTL_OK;
    }
    double grad[MTL_MAX_TASKS];
    for (int k = 0; k < K; k++) {
        double e = exp(st->s[k]);
        w[k] = (float)e;
        grad[k] = e * x->losses[k] - 1;
    }
    mtl__wadam_step(&st->adam, c->lr, K, st->s, grad);
    return MTL_OK;
}

/* x = pinv(A) b for an m x m A (min-norm least squares) */
static void pinv_solve(const double *A, const double *b, int m, double *x) {
    double N[MTL_MAX_TASKS * MTL_MAX_TASKS], e[MTL_MAX_TASKS], V[MTL_MAX_TASKS * MTL_MAX_TASKS], Atb[MTL_MAX_TASKS];
    for (int i = 0; i < m; i++) {
        Atb[i] = 0;
        for (int r = 0; r < m; r++) Atb[i] += A[r * m + i] * b[r];
        for (int j = 0; j < m; j++) {
            N[i * m + j] = 0;
            for (int r = 0; r < m; r++) N[i * m + j] += A[r * m + i] * A[r * m + j];
        }
    }
    mtl_solve_sym_eigen(N, m, e, V);
    for (int i = 0; i < m; i++) x[i] = 0;
    for (int l = 0; l < m; l++) {
        if (!(e[l] > 1e-10 * e[m - 1])) continue;
        double p = 0;
        for (int i = 0; i < m; i++) p += V[i * m + l] * Atb[i];
        for (int i = 0; i < m; i++) x[i] += V[i * m + l] * p / e[l];
    }
}

static void imtl_g(const float *G, int K, int64_t D, double *alpha) {
    int idx[MTL_MAX_TASKS], n = 0;
    double inv[MTL_MAX_TASKS];
    for (int k = 0; k < K; k++) {
        const float *g = G + (size_t)k * D;
        double nn = mtl__dot(g, g, D);
        alpha[k] = 0;
        if (nn > 0) inv[n] = 1 / sqrt(nn), idx[n++] = k;
    }
    if (K == 1) alpha[0] = 1;
    if (n == 1) alpha[idx[0]] = 1;
    if (n < 2) return;
    int m = n - 1;
    double A[MTL_MAX_TASKS * MTL_MAX_TASKS] = {0}, At[MTL_MAX_TASKS * MTL_MAX_TASKS], b[MTL_MAX_TASKS] = {0},
           a[MTL_MAX_TASKS], dk[MTL_MAX_TASKS], uk[MTL_MAX_TASKS];
    const float *g1 = G + (size_t)idx[0] * D;
    for (int64_t t = 0; t < D; t++) {
        double v1 = g1[t], u1 = v1 * inv[0];
        for (int i = 0; i < m; i++) {
            double v = G[(size_t)idx[i + 1] * D + t];
            dk[i] = v1 - v, uk[i] = u1 - v * inv[i + 1];
            b[i] += v1 * uk[i];
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) A[i * m + j] += dk[i] * uk[j]; /* (D U^T)_ij */
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) At[i * m + j] = A[j * m + i];
    if (mtl_solve_linear(At, b, m, a) != MTL_OK) pinv_solve(At, b, m, a);
    double rest = 1;
    for (int i = 0; i < m; i++) alpha[idx[i + 1]] = a[i], rest -= a[i];
    alpha[idx[0]] = rest;
}

static mtl_status imtl_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                               int64_t D, float *d, float *alpha) {
    (void)state;
    int K = x->K;
    double a[MTL_MAX_TASKS];
    if (c->imtl_mode == MTL_IMTL_L)
        for (int k = 0; k < K; k++) a[k] = 1, alpha[k] = x->lambda[k];
    else {
        imtl_g(G, K, D, a);
        for (int k = 0; k < K; k++) alpha[k] = (float)a[k];
    }
    mtl__combine_rows(G, K, D, a, d);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_imtl = {
    .name = "imtl",
    .description = "IMTL: learned loss scales (IMTL-L) and the combination with equal projections on every task (IMTL-G)",
    .state_size = sizeof(imtl_state),
    .flags = MTL_WEIGHTING_GRADS | MTL_WEIGHTING_REP, /* the paper applies IMTL-G to the shared feature's gradient */
    .weights = imtl_weights,
    .combine = imtl_combine};
