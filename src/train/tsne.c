/* Exact t-SNE (van der Maaten and Hinton 2008), O(n^2) time and memory.
 * One n x n float matrix holds the distances, then the conditional affinities, then
 * the symmetric P. The gradient loop visits each pair once and accumulates both ends.
 * OpenMP only splits the rows of the affinity step, where every value is computed by
 * one thread with the same arithmetic: results do not depend on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "mtl/report.h"

#define EXAGGERATION 12.0f
#define EXAGGERATION_ITERS 250
#define PERPLEXITY_TOL 1e-5
#define PERPLEXITY_STEPS 200

/* squared Euclidean distances; row i holds d(i, j) for every j, the diagonal is 0 */
static void pair_distances(const float *x, int n, int d, float *D) {
#pragma omp parallel for schedule(dynamic, 16) num_threads(mtl_threads_for(0.5 * n * n * d))
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *row = D + (size_t)i * n;
        row[i] = 0.0f;
        for (int j = i + 1; j < n; j++) {
            const float *xj = x + (size_t)j * d;
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int k = 0; k < d; k++) {
                float t = xi[k] - xj[k];
                s += t * t;
            }
            row[j] = s;
        }
    }
    /* mirror after the parallel loop: each row's lower part comes from other rows */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) D[(size_t)i * n + j] = D[(size_t)j * n + i];
}

/* Row i of D -> p(j|i) in place, with the Gaussian bandwidth (beta = 1 / 2 sigma^2) for which
 * the entropy of p(.|i) is log(perplexity). Safeguarded Newton on beta: H(beta) is decreasing
 * and dH/dbeta = -beta Var_p(D); a step that leaves the bracket falls back to bisection. */
static void row_affinities(float *row, int n, int i, double log_perp) {
    double dmin = INFINITY, dsum = 0;
    for (int j = 0; j < n; j++)
        if (j != i) {
            if (row[j] < dmin) dmin = row[j];
            dsum += row[j];
        }
    /* distances relative to the nearest neighbour: that one gets weight 1, so the sum never underflows */
    double mean = dsum / (n - 1) - dmin;
    double beta = mean > 0 ? 1.0 / mean : 1.0, lo = 0, hi = INFINITY, sum = 1;
    for (int step = 0; step < PERPLEXITY_STEPS; step++) {
        double m1 = 0, m2 = 0;
        sum = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double dj = row[j] - dmin, w = exp(-beta * dj);
            sum += w;
            m1 += w * dj;
            m2 += w * dj * dj;
        }
        m1 /= sum;
        m2 /= sum;
        double diff = log(sum) + beta * m1 - log_perp;
        if (fabs(diff) < PERPLEXITY_TOL) break;
        if (diff > 0) lo = beta; /* entropy too high: narrower kernel */
        else hi = beta;
        double slope = -beta * (m2 - m1 * m1), next = slope < 0 ? beta - diff / slope : NAN;
        if (!(next > lo && next < hi)) next = isinf(hi) ? 2 * beta : (lo + hi) / 2;
        beta = next;
    }
    for (int j = 0; j < n; j++) row[j] = j == i ? 0.0f : (float)(exp(-beta * (row[j] - dmin)) / sum);
}

static mtl_status affinities(const float *x, int n, int d, double perplexity, float *P) {
    pair_distances(x, n, d, P);
    double log_perp = log(perplexity);
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(40.0 * n * n))
    for (int i = 0; i < n; i++) row_affinities(P + (size_t)i * n, n, i, log_perp);
    float scale = 1.0f / (2.0f * (float)n);
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            float v = (P[(size_t)i * n + j] + P[(size_t)j * n + i]) * scale;
            v = v > 1e-12f ? v : 1e-12f;
            P[(size_t)i * n + j] = P[(size_t)j * n + i] = v;
        }
    }
    return mtl_check_finite(P, (int64_t)n * n, "tsne: affinities");
}

/* Gradient of KL(P || Q): dC/dy_i = 4 sum_j (ex p_ij - q_ij) w_ij (y_i - y_j) with w_ij = 1 / (1 + |y_i - y_j|^2)
 * and q_ij = w_ij / Z. Split into an attractive sum A_i = sum_j p_ij w_ij (y_i - y_j) and a repulsive one
 * R_i = sum_j w_ij^2 (y_i - y_j), so Z, A and R come from one pass over the pairs j > i. */
static void gradient(const float *P, int n, const float *yx, const float *yy, float ex, float *gx, float *gy,
                     float *buf) {
    float *ax = buf, *ay = buf + n, *rx = buf + 2 * (size_t)n, *ry = buf + 3 * (size_t)n;
    memset(buf, 0, 4 * (size_t)n * sizeof *buf);
    double Z = 0;
    for (int i = 0; i < n; i++) {
        const float *Pi = P + (size_t)i * n;
        float xi = yx[i], yi = yy[i], sax = 0, say = 0, srx = 0, sry = 0, sz = 0;
#pragma omp simd reduction(+ : sax, say, srx, sry, sz)
        for (int j = i + 1; j < n; j++) {
            float dx = xi - yx[j], dy = yi - yy[j];
            float w = 1.0f / (1.0f + dx * dx + dy * dy);
            float pw = Pi[j] * w, ww = w * w;
            sax += pw * dx;
            say += pw * dy;
            srx += ww * dx;
            sry += ww * dy;
            sz += w;
            ax[j] -= pw * dx;
            ay[j] -= pw * dy;
            rx[j] -= ww * dx;
            ry[j] -= ww * dy;
        }
        ax[i] += sax;
        ay[i] += say;
        rx[i] += srx;
        ry[i] += sry;
        Z += 2.0 * sz;
    }
    float inv_z = (float)(1.0 / Z);
    for (int i = 0; i < n; i++) {
        gx[i] = 4.0f * (ex * ax[i] - rx[i] * inv_z);
        gy[i] = 4.0f * (ex * ay[i] - ry[i] * inv_z);
    }
}

/* momentum + per-coordinate gains (Jacobs 1988), as in the reference implementation */
static void step(float *y, float *g, float *v, float *gain, int m, float momentum, float lr) {
    for (int k = 0; k < m; k++) {
        gain[k] = (g[k] > 0) != (v[k] > 0) ? gain[k] + 0.2f : gain[k] * 0.8f;
        if (gain[k] < 0.01f) gain[k] = 0.01f;
        v[k] = momentum * v[k] - lr * gain[k] * g[k];
        y[k] += v[k];
    }
}

static void center(float *y, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m += y[i];
    float mf = (float)(m / n);
    for (int i = 0; i < n; i++) y[i] -= mf;
}

mtl_status mtl_tsne(const float *x, int n, int d, double perplexity, int iterations, uint64_t seed, float *y) {
    if (!x || !y) return mtl_error(MTL_ERR_ARG, "tsne: %s is NULL", x ? "y" : "x");
    if (n < 5) return mtl_error(MTL_ERR_ARG, "tsne: n = %d points, expected at least 5", n);
    if (n > 46340) return mtl_error(MTL_ERR_ARG, "tsne: n = %d points, expected at most 46340 (n^2 memory)", n);
    if (d < 1) return mtl_error(MTL_ERR_ARG, "tsne: d = %d, expected at least 1", d);
    if (!(perplexity > 0 && perplexity < n))
        return mtl_error(MTL_ERR_ARG, "tsne: perplexity %g, expected 0 < perplexity < n = %d", perplexity, n);
    if (iterations < 0) return mtl_error(MTL_ERR_ARG, "tsne: iterations = %d, expected >= 0", iterations);
    mtl_status s = mtl_check_finite(x, (int64_t)n * d, "tsne: features x");
    if (s) return s;

    float *P = malloc((size_t)n * n * sizeof *P);
    float *work = malloc(12 * (size_t)n * sizeof *work);
    if (!P || !work) {
        free(P);
        free(work);
        return mtl_error(MTL_ERR_NOMEM, "tsne: out of memory for %d points", n);
    }
    /* coordinates stored as all x then all y, so the pair loop reads contiguous floats */
    float *pos = work, *grad = work + 2 * (size_t)n, *vel = work + 4 * (size_t)n, *gain = work + 6 * (size_t)n;
    float *tmp = work + 8 * (size_t)n; /* [4 n] scratch of gradient() */
    s = affinities(x, n, d, perplexity, P);
    if (!s) {
        mtl_rng r;
        mtl_rng_init(&r, seed, 0);
        float *init = grad; /* the initial layout is drawn interleaved, as y is laid out */
        mtl_rng_normal(&r, init, 2 * (int64_t)n, 0.0f, 1e-4f);
        for (int i = 0; i < n; i++) {
            pos[i] = init[2 * i];
            pos[n + i] = init[2 * i + 1];
        }
        memset(vel, 0, 2 * (size_t)n * sizeof *vel);
        for (size_t k = 0; k < 2 * (size_t)n; k++) gain[k] = 1.0f;
        float lr = (float)n / EXAGGERATION / 4.0f;
        if (lr < 50.0f) lr = 50.0f;
        for (int it = 0; it < iterations; it++) {
            bool early = it < EXAGGERATION_ITERS;
            gradient(P, n, pos, pos + n, early ? EXAGGERATION : 1.0f, grad, grad + n, tmp);
            step(pos, grad, vel, gain, 2 * n, early ? 0.5f : 0.8f, lr);
            center(pos, n);
            center(pos + n, n);
        }
        for (int i = 0; i < n; i++) {
            y[2 * i] = pos[i];
            y[2 * i + 1] = pos[n + i];
        }
        s = mtl_check_finite(y, 2 * (int64_t)n, "tsne: embedding");
    }
    free(P);
    free(work);
    return s;
}
