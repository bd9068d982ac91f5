/* Small dense solvers the gradient strategies share (include/mtl/weighting.h), all in double,
 * K <= MTL_MAX_TASKS.
 *
 * mtl_solve_min_norm: min over the simplex of x^T M x, M = G G^T (the min-norm point of the
 *   convex hull of the rows g_k; MGDA, Sener & Koltun 2018). M is first divided by its largest
 *   diagonal entry (the minimiser does not change; the tolerances below become scale-free).
 *   K = 2: the closed form of weighting.md, x_1 = clip((M22 - M12) / (M11 - 2 M12 + M22), 0, 1);
 *     identical rows (denominator <= 0) give x = (1/2, 1/2).
 *   K > 2: start from the best pair (the pair closed form with the smallest value; ties keep the
 *     first pair in (i, j) order), then Frank-Wolfe steps with exact line search, away steps
 *     (Lacoste-Julien & Jaggi 2015) and, after each step, the correction of Wolfe's min-norm-point
 *     algorithm (1976): the minimiser over the affine hull of the current support (a bordered
 *     K+1 system) is taken when it is inside the simplex, otherwise x moves towards it until a
 *     weight reaches 0 and that vertex is dropped. This makes the method finite in practice
 *     (a few iterations for K <= 8) where plain Frank-Wolfe converges only linearly. Stops at
 *     a duality gap x^T M x - min_k (M x)_k <= 1e-12 (normalised M) or after 1000 iterations.
 *     When the support holds affinely dependent rows (identical rows) the correction is skipped
 *     and the Frank-Wolfe steps carry on; which of several identical rows carries the weight
 *     then follows the start pair. All rows zero: x = 1/K.
 * mtl_solve_sym_eigen: cyclic Jacobi (Golub & Van Loan, Alg. 8.5.3) until the off-diagonal
 *   squared norm is <= 1e-30 of the total (at most 100 sweeps); eigenvalues ascending; each
 *   eigenvector's sign is fixed so that its first component whose magnitude is within 1e-9
 *   (relative) of the largest is positive.
 * mtl_solve_linear: Gaussian elimination with partial pivoting; singular when the best pivot
 *   of a column is <= 1e-12 times the largest |A_ij| (or A is all zero / not finite). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "weighting/strategies.h"

#define NMAX (MTL_MAX_TASKS + 1) /* the bordered systems are one larger than K */

/* solves a x = b in place (a n x n row-major, destroyed; b destroyed); returns -1 or the column
   with no usable pivot */
static int lu_solve(double *a, double *b, int n, double *x) {
    double scale = 0;
    for (int i = 0; i < n * n; i++)
        if (fabs(a[i]) > scale) scale = fabs(a[i]);
    if (!(scale > 0) || !isfinite(scale)) return 0;
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c])) p = r;
        if (!(fabs(a[p * n + c]) > 1e-12 * scale)) return c;
        if (p != c) {
            for (int j = 0; j < n; j++) {
                double t = a[c * n + j];
                a[c * n + j] = a[p * n + j], a[p * n + j] = t;
            }
            double t = b[c];
            b[c] = b[p], b[p] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = a[r * n + c] / a[c * n + c];
            if (f == 0) continue;
            for (int j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = b[r];
        for (int j = r + 1; j < n; j++) s -= a[r * n + j] * x[j];
        x[r] = s / a[r * n + r];
    }
    return -1;
}

mtl_status mtl_solve_linear(const double *A, const double *b, int K, double *x) {
    if (!A || !b || !x || K < 1 || K > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_ARG, "solve_linear: null argument or size %d outside 1..%d", K, MTL_MAX_TASKS);
    double a[NMAX * NMAX], r[NMAX], y[NMAX];
    for (int i = 0; i < K * K; i++)
        if (!isfinite(a[i] = A[i])) return mtl_error(MTL_ERR_NUMERIC, "solve_linear: matrix entry %d is %g", i, A[i]);
    for (int i = 0; i < K; i++)
        if (!isfinite(r[i] = b[i])) return mtl_error(MTL_ERR_NUMERIC, "solve_linear: right-hand side %d is %g", i, b[i]);
    int bad = lu_solve(a, r, K, y);
    if (bad >= 0) return mtl_error(MTL_ERR_NUMERIC, "solve_linear: singular %dx%d matrix (no pivot in column %d)", K, K, bad);
    for (int i = 0; i < K; i++)
        if (!isfinite(y[i])) return mtl_error(MTL_ERR_NUMERIC, "solve_linear: solution %d overflowed", i);
    memcpy(x, y, (size_t)K * sizeof *x);
    return MTL_OK;
}

static double quad(const double *A, int K, const double *x) {
    double s = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) s += x[i] * A[i * K + j] * x[j];
    return s;
}

/* Wolfe's correction: minimise over the affine hull of the support, staying in the simplex */
static void correct(const double *A, int K, double *x) {
    for (int round = 0; round < K; round++) {
        int S[MTL_MAX_TASKS], r = 0;
        for (int k = 0; k < K; k++)
            if (x[k] > 0) S[r++] = k;
        if (r < 2) return;
        double a[NMAX * NMAX], b[NMAX], sol[NMAX];
        int n = r + 1;
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++) a[i * n + j] = A[S[i] * K + S[j]];
            a[i * n + r] = a[r * n + i] = 1;
            b[i] = 0;
        }
        a[r * n + r] = 0, b[r] = 1;
        if (lu_solve(a, b, n, sol) >= 0) return; /* affinely dependent support */
        double y[MTL_MAX_TASKS] = {0}, theta = 2;
        int drop = -1;
        for (int i = 0; i < r; i++) {
            y[S[i]] = sol[i];
            if (sol[i] <= 0) {
                double t = x[S[i]] / (x[S[i]] - sol[i]);
                if (t < theta) theta = t, drop = S[i];
            }
        }
        if (drop < 0) {
            if (quad(A, K, y) <= quad(A, K, x)) memcpy(x, y, (size_t)K * sizeof *x);
            return;
        }
        double sum = 0;
        for (int k = 0; k < K; k++) {
            x[k] += theta * (y[k] - x[k]);
            if (k == drop || x[k] < 0) x[k] = 0;
            sum += x[k];
        }
        for (int k = 0; k < K; k++) x[k] /= sum;
    }
}

void mtl_solve_min_norm(const double *M, int K, double *x) {
    if (!M || !x || K < 1 || K > MTL_MAX_TASKS) return;
    double s = 0;
    for (int k = 0; k < K; k++)
        if (M[k * K + k] > s) s = M[k * K + k];
    if (!(s > 0) || !isfinite(s)) {
        for (int k = 0; k < K; k++) x[k] = 1.0 / K;
        return;
    }
    double A[MTL_MAX_TASKS * MTL_MAX_TASKS];
    for (int i = 0; i < K * K; i++) A[i] = M[i] / s;
    for (int k = 0; k < K; k++) x[k] = 0;
    if (K == 1) {
        x[0] = 1;
        return;
    }
    double best = INFINITY, bx = 0.5;
    int bi = 0, bj = 1;
    for (int i = 0; i < K; i++)
        for (int j = i + 1; j < K; j++) {
            double aii = A[i * K + i], aij = A[i * K + j], ajj = A[j * K + j], den = aii - 2 * aij + ajj;
            double t = den > 0 ? fmin(fmax((ajj - aij) / den, 0), 1) : 0.5;
            double v = t * t * aii + 2 * t * (1 - t) * aij + (1 - t) * (1 - t) * ajj;
            if (v < best) best = v, bi = i, bj = j, bx = t;
        }
    x[bi] = bx, x[bj] = 1 - bx;
    if (K == 2) return;
    for (int it = 0; it < 1000; it++) {
        double g[MTL_MAX_TASKS], xg = 0;
        for (int i = 0; i < K; i++) {
            g[i] = 0;
            for (int j = 0; j < K; j++) g[i] += A[i * K + j] * x[j];
            xg += x[i] * g[i];
        }
        int fw = 0, aw = -1;
        for (int k = 1; k < K; k++)
            if (g[k] < g[fw]) fw = k;
        for (int k = 0; k < K; k++)
            if (x[k] > 0 && (aw < 0 || g[k] > g[aw])) aw = k;
        double gap = xg - g[fw];
        if (gap <= 1e-12) break;
        if (gap >= g[aw] - xg) { /* Frank-Wolfe step towards vertex fw: x + t (e_fw - x) */
            double curv = A[fw * K + fw] - 2 * g[fw] + xg, t = curv > 0 ? fmin(gap / curv, 1) : 1;
            for (int k = 0; k < K; k++) x[k] *= 1 - t;
            x[fw] += t;
        } else { /* away step from vertex aw: x + t (x - e_aw), t <= x_aw / (1 - x_aw) */
            double tmax = x[aw] / (1 - x[aw]), curv = xg - 2 * g[aw] + A[aw * K + aw];
            double t = curv > 0 ? fmin((g[aw] - xg) / curv, tmax) : tmax;
            for (int k = 0; k < K; k++) x[k] *= 1 + t;
            x[aw] -= t;
            if (t >= tmax || x[aw] < 0) x[aw] = 0;
        }
        correct(A, K, x);
    }
}

void mtl_solve_sym_eigen(const double *M, int K, double *e, double *V) {
    if (!M || !e || !V || K < 1 || K > MTL_MAX_TASKS) return;
    double a[MTL_MAX_TASKS * MTL_MAX_TASKS];
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            a[i * K + j] = 0.5 * (M[i * K + j] + M[j * K + i]);
            V[i * K + j] = i == j;
        }
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, total = 0;
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                total += a[i * K + j] * a[i * K + j];
                if (i != j) off += a[i * K + j] * a[i * K + j];
            }
        if (off <= 1e-30 * total) break;
        for (int p = 0; p < K - 1; p++)
            for (int q = p + 1; q < K; q++) {
                double apq = a[p * K + q];
                if (apq == 0) continue;
                double theta = (a[q * K + q] - a[p * K + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + hypot(theta, 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < K; k++) { /* columns: A J, V J */
                    double kp = a[k * K + p], kq = a[k * K + q];
                    a[k * K + p] = c * kp - s * kq, a[k * K + q] = s * kp + c * kq;
                    kp = V[k * K + p], kq = V[k * K + q];
                    V[k * K + p] = c * kp - s * kq, V[k * K + q] = s * kp + c * kq;
                }
                for (int k = 0; k < K; k++) { /* rows: J^T (A J) */
                    double pk = a[p * K + k], qk = a[q * K + k];
                    a[p * K + k] = c * pk - s * qk, a[q * K + k] = s * pk + c * qk;
                }
                a[p * K + q] = a[q * K + p] = 0;
            }
    }
    for (int i = 0; i < K; i++) e[i] = a[i * K + i];
    for (int i = 1; i < K; i++) /* insertion sort, ascending, moving the columns along */
        for (int j = i; j > 0 && e[j] < e[j - 1]; j--) {
            double t = e[j];
            e[j] = e[j - 1], e[j - 1] = t;
            for (int k = 0; k < K; k++) {
                t = V[k * K + j];
                V[k * K + j] = V[k * K + j - 1], V[k * K + j - 1] = t;
            }
        }
    for (int j = 0; j < K; j++) {
        double big = 0;
        for (int k = 0; k < K; k++) big = fmax(big, fabs(V[k * K + j]));
        int first = 0;
        while (first < K - 1 && fabs(V[first * K + j]) < big * (1 - 1e-9)) first++;
        if (V[first * K + j] < 0)
            for (int k = 0; k < K; k++) V[k * K + j] = -V[k * K + j];
    }
}
