/* Nash-MTL, multi-task learning as a bargaining game (Navon, Shamsian, Achituve, Maron,
 * Kawaguchi, Chechik, Fetaya, ICML 2022; weighting.md): alpha > 0 with (G G^T) alpha = 1 / alpha
 * (element-wise), d = sum_k alpha_k g_k, then ||d|| clipped to cfg->nash_max_norm when that is > 0.
 * lambda = 1 from weights().
 *
 * The system is the stationarity condition of the strictly convex
 *   f(a) = 1/2 a^T M a - sum_k log a_k   (M = G G^T in double),
 * minimised by a sequence of convex sub-problems: damped Newton steps (each minimises f's
 * second-order model, H = M + diag(1/a^2), solved with mtl_solve_linear), at most cfg->nash_iters
 * of them (20), stopping early when the Newton decrement -grad . step is <= 1e-20. The step
 * length keeps a > 0 (at most 0.99 of the way to the boundary), is halved until f decreases
 * enough (Armijo, 1/4) and, when the full step is accepted, doubled while f keeps decreasing
 * (this crosses the long -log a stretches in a few steps). Start: a = t 1, the t that
 * minimises f along 1.
 * The official code and LibMTL instead solve a sequence of linearised problems with cvxpy,
 * warm-started from the previous step's alpha; the solution is the same where it exists.
 *
 * Scale and degenerate cases (the system has no positive solution when a row is zero, and f is
 * unbounded below when 0 is in the convex hull of the rows, e.g. opposite rows):
 *   - zero rows get alpha_k = 0 and are left out; all rows zero: d = 0, alpha = 0;
 *   - M is divided by s = max_k ||g_k||^2 and a ridge rho = 1e-6 is added: the system solved is
 *     (M/s + rho I) a = 1/a, alpha = a / sqrt(s); that is the exact system for G with each task
 *     given a private orthogonal component of norm 1e-3 max_k ||g_k||. It always has a unique
 *     positive solution; opposite rows of equal norms then give equal large alpha
 *     (1 / sqrt(rho s) each) and d = 0. Elsewhere the ridge moves alpha by about
 *     rho / (smallest eigenvalue of M/s) relative (4e-6 to 1.1e-5 on the random K = 2, 3, 5
 *     test cases), far below what matters for a training step.
 *   - the official code divides M by its Frobenius norm and does not scale back, so its alpha
 *     is sqrt(||M||_F) times the solution of the system; ours solves the system as written.
 * Clipping: as LibMTL's clip_grad_norm_(shared parameters, max_norm), which clips the combined
 * shared gradient, i.e. d: if ||d|| > max_norm, d and alpha are multiplied by max_norm / ||d||
 * (torch adds 1e-6 to ||d||; we do not). The logged alpha are these clipped weights, so that
 * d = sum_k alpha_k g_k holds. Note that without the ridge ||d||^2 = alpha^T M alpha = K, so the
 * default max_norm = 1 normalises d whenever K >= 2. */
#include <math.h>

#include "weighting/strategies.h"

#define NASH_RIDGE 1e-6

static double objective(const double *M, int n, const double *a) {
    double f = 0;
    for (int i = 0; i < n; i++) {
        double r = 0;
        for (int j = 0; j < n; j++) r += M[i * n + j] * a[j];
        f += 0.5 * a[i] * r - log(a[i]);
    }
    return f;
}

static void at(const double *a, const double *dx, double t, int n, double *out) {
    for (int i = 0; i < n; i++) out[i] = a[i] + t * dx[i];
}

/* the minimiser of f on M (n x n, normalised and ridged) */
static void nash_solve(const double *M, int n, int iters, double *a) {
    double sum = 0;
    for (int i = 0; i < n * n; i++) sum += M[i];
    for (int i = 0; i < n; i++) a[i] = sqrt(n / sum);
    for (int it = 0; it < iters; it++) {
        double g[MTL_MAX_TASKS], H[MTL_MAX_TASKS * MTL_MAX_TASKS], mg[MTL_MAX_TASKS], dx[MTL_MAX_TASKS];
        double y[MTL_MAX_TASKS], z[MTL_MAX_TASKS];
        for (int i = 0; i < n; i++) {
            g[i] = -1 / a[i];
            for (int j = 0; j < n; j++) g[i] += M[i * n + j] * a[j], H[i * n + j] = M[i * n + j];
            H[i * n + i] += 1 / (a[i] * a[i]);
            mg[i] = -g[i];
        }
        if (mtl_solve_linear(H, mg, n, dx) != MTL_OK) break;
        double slope = 0, tmax = INFINITY;
        for (int i = 0; i < n; i++) {
            slope += g[i] * dx[i];
            if (dx[i] < 0) tmax = fmin(tmax, -0.99 * a[i] / dx[i]);
        }
        if (-slope <= 1e-20) break;
        double f0 = objective(M, n, a), t = fmin(1, tmax), ft;
        at(a, dx, t, n, y);
        if ((ft = objective(M, n, y)) <= f0 + 0.25 * t * slope) {
            for (int k = 0; k < 60 && 2 * t <= tmax; k++) {
                at(a, dx, 2 * t, n, z);
                double f2 = objective(M, n, z);
                if (!(f2 < ft)) break;
                t *= 2, ft = f2;
            }
        } else {
            int k = 0;
            for (; k < 60 && !(ft <= f0 + 0.25 * t * slope); k++) {
                t *= 0.5;
                at(a, dx, t, n, y);
                ft = objective(M, n, y);
            }
            if (k == 60) break; /* no decrease left at double precision */
        }
        for (int i = 0; i < n; i++) a[i] += t * dx[i];
    }
}

static mtl_status nash_combine(void *state, const mtl_weighting_config *c, const mtl_weighting_ctx *x, float *G,
                               int64_t D, float *d, float *alpha) {
    (void)state;
    int K = x->K, idx[MTL_MAX_TASKS], n = 0;
    double M[MTL_MAX_TASKS * MTL_MAX_TASKS], Mn[MTL_MAX_TASKS * MTL_MAX_TASKS], al[MTL_MAX_TASKS] = {0},
           a[MTL_MAX_TASKS], s = 0;
    mtl__gram(G, K, D, M);
    for (int k = 0; k < K; k++)
        if (M[k * K + k] > 0) idx[n++] = k, s = fmax(s, M[k * K + k]);
    if (n > 0) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) Mn[i * n + j] = M[idx[i] * K + idx[j]] / s + (i == j ? NASH_RIDGE : 0);
        nash_solve(Mn, n, c->nash_iters, a);
        for (int i = 0; i < n; i++) al[idx[i]] = a[i] / sqrt(s);
    }
    mtl__combine_rows(G, K, D, al, d);
    double nd = sqrt(mtl__dot(d, d, D)); /* ||d|| from d itself (al^T M al cancels badly when d is small) */
    double clip = c->nash_max_norm > 0 && nd > c->nash_max_norm ? c->nash_max_norm / nd : 1;
    for (int k = 0; k < K; k++) al[k] *= clip, alpha[k] = (float)al[k];
    if (clip != 1)
        for (int64_t t = 0; t < D; t++) d[t] = (float)(d[t] * clip);
    return MTL_OK;
}

const mtl_weighting_kind mtl_weighting_nash = {
    .name = "nash",
    .description = "Nash-MTL: the bargaining solution (G G^T) alpha = 1/alpha, combined gradient clipped to max_norm",
    .flags = MTL_WEIGHTING_GRADS,
    .weights = mtl__unit_weights,
    .combine = nash_combine};
