/* Normalisation and regularisation: batch normalisation (training with batch
 * statistics and running-statistics update, evaluation with the running ones) and
 * dropout (mask from the tape's counter-based stream). */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"
#include "ops/conv_fast.h"
#include "ops/fused.h"

/* ---- batchnorm ----------------------------------------------------------------
 * x is [N,C,L] (L = 1 for [N,C]). Work is split over blocks of channels: channels
 * [c0, c0+cb) of sample i are the cb*L contiguous floats at x + (i*C + c0)*L.
 *  - wide (L >= 16): one channel per block; each row is a run of L floats.
 *  - narrow (L < 16, e.g. [N,C]): as many whole channels as fit in 32 floats; sums
 *    are kept per position of the block (vectorised over positions) and folded
 *    into channels at the end.
 * Statistics and gradient sums: float partial sums over at most MTL_BN_FLUSH elements of a
 * run, added in double. Every sum runs in a fixed order, so
 * the results do not depend on the thread count. */

#define BN_WIDE 16   /* L from which a channel is a block of its own */
#define BN_NARROW 32 /* floats per row of a narrow block */
#define BN_ACC 64    /* partial sums per run (wide) */

typedef mtl__bn_stats bn_saved;

static int bn_block(int C, int L) {
    if (L >= BN_WIDE || L <= 0) return 1;
    int cb = BN_NARROW / L;
    return cb < C ? cb : (C > 0 ? C : 1);
}

/* wide runs: float partial sums in BN_ACC lanes (element l in lane l % BN_ACC, products then
 * sums, no fused multiply-add; four independent chains of 16 lanes for the vector units),
 * folded to 16 lanes ((0 + 1) + (2 + 3)) and added into double lanes every MTL_BN_FLUSH
 * elements, the double lanes added in order at the end (the AVX-512 version in conv_fast.c
 * gives the same bits). w NULL: sums of d = r - k and d^2 (k a float value). Otherwise sums
 * of r and of r (w - kf), kf = (float)k, the second corrected to k by (kf - k) times the
 * run's sum of r. */
void mtl__bn_lanes_portable(const float *r, const float *w, int L, double k, double *sum, double *sq) {
    double a[16] = {0}, b[16] = {0}, sa = 0.0;
    const float kf = (float)k;
    for (int l0 = 0; l0 < L; l0 += MTL_BN_FLUSH) {
        int l1 = L - l0 < MTL_BN_FLUSH ? L : l0 + MTL_BN_FLUSH;
        float fa[BN_ACC] = {0}, fb[BN_ACC] = {0};
        for (int l = l0; l < l1; l++) {
            int j = (l - l0) % BN_ACC;
            if (!w) {
                float d = r[l] - kf, p = d * d;
                fa[j] += d;
                fb[j] += p;
            } else {
                float d = w[l] - kf, p = r[l] * d;
                fa[j] += r[l];
                fb[j] += p;
            }
        }
        for (int j = 0; j < 16; j++) {
            a[j] += (fa[j] + fa[16 + j]) + (fa[32 + j] + fa[48 + j]);
            b[j] += (fb[j] + fb[16 + j]) + (fb[32 + j] + fb[48 + j]);
        }
    }
    for (int j = 0; j < 16; j++) *sum += a[j], *sq += b[j], sa += a[j];
    if (w) *sq += ((double)kf - k) * sa;
}

/* wide: sums of d = r[l] - k and d^2 over a run */
static void run_sums(const float *r, int L, double k, double *sum, double *sq) {
    if (!mtl__bn_run_sums(r, L, k, sum, sq)) mtl__bn_lanes_portable(r, NULL, L, k, sum, sq);
}

/* wide: sums of dy and of dy (x - m) over a run */
static void run_dsums(const float *dy, const float *x, int L, double m, double *sdy, double *sdyx) {
    if (!mtl__bn_run_dsums(dy, x, L, m, sdy, sdyx)) mtl__bn_lanes_portable(dy, x, L, m, sdy, sdyx);
}

/* batch mean and biased variance of the narrow channels [c0, c0+cb): one pass of sums
 * shifted by the channel's first value (accurate without a second pass) */
static void bn_stats(const float *x, int N, int C, int L, int c0, int cb, double *mean, double *var) {
    double s[BN_NARROW] = {0}, q[BN_NARROW] = {0}, k[BN_NARROW];
    size_t stride = (size_t)C * L;
    const float *blk = x + (size_t)c0 * L;
    int W = cb * L; /* narrow blocks only (wide rows: bn_wide_rows) */
    for (int j = 0; j < W; j++) k[j] = blk[(j / L) * L];
    for (int i = 0; i < N; i++) {
        const float *r = blk + i * stride;
        for (int j = 0; j < W; j++) {
            double d = (double)r[j] - k[j];
            s[j] += d;
            q[j] += d * d;
        }
    }
    for (int c = 0; c < cb; c++) { /* fold positions into channels (in place: c <= c*L) */
        double sc = 0, qc = 0;
        for (int l = 0; l < L; l++) sc += s[c * L + l], qc += q[c * L + l];
        s[c] = sc, q[c] = qc, k[c] = k[c * L];
    }
    double n = (double)N * L;
    for (int c = 0; c < cb; c++) {
        double m = s[c] / n, v = q[c] / n - m * m;
        mean[c0 + c] = k[c] + m;
        var[c0 + c] = v > 0 ? v : 0;
    }
}

/* y = (x - mean) * scale + shift for channels [c0, c0+cb), scale = gamma * invstd. Never a fused
 * multiply-add: the fused units' backward recomputes the relu's mask from x with the same two
 * roundings (gcc does not contract in ISO C mode; clang is told here) */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
/* one run: o = (r - m) sc + sh, then relu (NaN passes, as mtl_relu) */
static void norm_run(const float *restrict r, float *restrict o, int L, float m, float sc, float sh, bool relu) {
    if (relu)
        for (int l = 0; l < L; l++) {
            float v = (r[l] - m) * sc + sh;
            o[l] = v < 0.0f ? 0.0f : v;
        }
    else
        for (int l = 0; l < L; l++) o[l] = (r[l] - m) * sc + sh;
}

/* a clone for AVX-512 (wider vectors for this memory pass), chosen when the library loads */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target_clones("avx512f", "default")))
#endif
static void bn_normalise(const float *x, float *y, int N, int C, int L, int c0, int cb, const double *mean,
                         const double *invstd, const float *gamma, const float *beta, bool relu) {
    size_t stride = (size_t)C * L, off0 = (size_t)c0 * L;
    int W = cb * L; /* narrow blocks only (wide rows: bn_wide_rows) */
    float m[BN_NARROW], sc[BN_NARROW], sh[BN_NARROW];
    for (int j = 0; j < W; j++) {
        int c = c0 + j / L;
        m[j] = (float)mean[c];
        sc[j] = (float)(invstd[c] * (gamma ? gamma[c] : 1.0f));
        sh[j] = beta ? beta[c] : 0.0f;
    }
    for (int i = 0; i < N; i++) {
        const float *r = x + off0 + i * stride;
        float *o = y + off0 + i * stride;
        for (int j = 0; j < W; j++) o[j] = (r[j] - m[j]) * sc[j] + sh[j];
        if (relu)
            for (int j = 0; j < W; j++) o[j] = o[j] < 0.0f ? 0.0f : o[j];
    }
}

/* wide rows (L >= BN_WIDE), channels [c0, c1) read sample by sample (contiguous memory; a
 * channel at a time strides across samples): the same per-channel sums as bn_stats, then
 * y = (x - mean) scale + shift as bn_normalise; stats: NULL (mean and var given) */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target_clones("avx512f", "default")))
#endif
static void bn_wide_rows(const float *x, float *y, int N, int C, int L, int c0, int c1, bool stats, double *mean,
                         double *var, double *invstd, double eps, const float *gamma, const float *beta, bool relu) {
    size_t stride = (size_t)C * L;
    if (stats) { /* mean and var hold the running sums until the end */
        for (int c = c0; c < c1; c++) mean[c] = var[c] = 0.0;
        for (int i = 0; i < N; i++)
            for (int c = c0; c < c1; c++)
                run_sums(x + i * stride + (size_t)c * L, L, x[(size_t)c * L], &mean[c], &var[c]);
        double n = (double)N * L;
        for (int c = c0; c < c1; c++) {
            double m = mean[c] / n, v = var[c] / n - m * m;
            mean[c] = x[(size_t)c * L] + m;
            var[c] = v > 0 ? v : 0;
        }
    }
    for (int c = c0; c < c1; c++) invstd[c] = 1.0 / sqrt(var[c] + eps);
    for (int i = 0; i < N; i++)
        for (int c = c0; c < c1; c++) {
            size_t at = i * stride + (size_t)c * L;
            float m = (float)mean[c], sc = (float)(invstd[c] * (gamma ? gamma[c] : 1.0f)), sh = beta ? beta[c] : 0.0f;
            norm_run(x + at, y + at, L, m, sc, sh, relu);
        }
}

/* per channel of the block: sdy = sum dy, sdyx = sum dy (x - mean) */
static void bn_grad_sums(const float *x, const float *dy, int N, int C, int L, int c0, int cb, const double *mean,
                         double *sdy, double *sdyx) {
    size_t stride = (size_t)C * L, off0 = (size_t)c0 * L;
    if (L >= BN_WIDE) {
        sdy[0] = sdyx[0] = 0;
        for (int i = 0; i < N; i++)
            run_dsums(dy + off0 + i * stride, x + off0 + i * stride, L, mean[c0], &sdy[0], &sdyx[0]);
        return;
    }
    int W = cb * L;
    double a[BN_NARROW] = {0}, b[BN_NARROW] = {0}, m[BN_NARROW];
    for (int j = 0; j < W; j++) m[j] = mean[c0 + j / L];
    for (int i = 0; i < N; i++) {
        const float *r = x + off0 + i * stride, *d = dy + off0 + i * stride;
        for (int j = 0; j < W; j++) {
            a[j] += d[j];
            b[j] += (double)d[j] * ((double)r[j] - m[j]);
        }
    }
    for (int c = 0; c < cb; c++) {
        sdy[c] = sdyx[c] = 0;
        for (int l = 0; l < L; l++) sdy[c] += a[c * L + l], sdyx[c] += b[c * L + l];
    }
}

/* one run of dx (+)= ka dy + kb (x - m) + kc (fresh: store) */
static void dx_run(const float *restrict r, const float *restrict d, float *restrict o, int L, float m, float ka,
                   float kb, float kc, bool fresh) {
    if (fresh)
        for (int l = 0; l < L; l++) o[l] = ka * d[l] + kb * (r[l] - m) + kc;
    else
        for (int l = 0; l < L; l++) o[l] += ka * d[l] + kb * (r[l] - m) + kc;
}

/* dx (+)= ka dy + kb (x - m) + kc, per channel of the block (fresh: store) */
static void bn_dx(const float *x, const float *dy, float *dx, int N, int C, int L, int c0, int cb, const float *m,
                  const float *ka, const float *kb, const float *kc, bool fresh) {
    size_t stride = (size_t)C * L, off0 = (size_t)c0 * L;
    if (L >= BN_WIDE) {
        for (int i = 0; i < N; i++) {
            size_t at = off0 + i * stride;
            dx_run(x + at, dy + at, dx + at, L, m[0], ka[0], kb[0], kc[0], fresh);
        }
        return;
    }
    int W = cb * L;
    float pm[BN_NARROW], pa[BN_NARROW], pb[BN_NARROW], pc[BN_NARROW];
    for (int j = 0; j < W; j++) pm[j] = m[j / L], pa[j] = ka[j / L], pb[j] = kb[j / L], pc[j] = kc[j / L];
    for (int i = 0; i < N; i++) {
        const float *r = x + off0 + i * stride, *d = dy + off0 + i * stride;
        float *o = dx + off0 + i * stride;
        for (int j = 0; j < W; j++) {
            float v = pa[j] * d[j] + pb[j] * (r[j] - pm[j]) + pc[j];
            o[j] = fresh ? v : o[j] + v;
        }
    }
}

/* fused relu: the gradient reaching the normalisation, dy where y > 0 (a select, vectorised) */
static void relu_mask(const float *restrict y, const float *restrict dy, float *restrict out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float d = dy[i];
        out[i] = y[i] > 0.0f ? d : 0.0f;
    }
}

static void batchnorm_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    int N = (int)n->iarg[0], C = (int)n->iarg[1], L = (int)n->iarg[2];
    bool training = n->iarg[3] != 0;
    const bn_saved *sv = n->saved;
    const float *dy = n->out->grad, *g = gamma ? gamma->data : NULL;
    bool fresh;
    float *dx = mtl__grad_fresh(t, x, &fresh), *dg = gamma ? mtl__grad(t, gamma) : NULL;
    float *db = beta ? mtl__grad(t, beta) : NULL;
    if (!dx && !dg && !db) return;
    size_t mark = mtl__scratch_mark(t);
    if (n->iarg[4]) { /* fused relu: mask dy once into scratch, then the plain backward */
        int64_t sz = n->out->size, chunk = 16384, chunks = (sz + chunk - 1) / chunk;
        float *dm = mtl__scratch(t, (size_t)(sz ? sz : 1) * sizeof *dm);
        if (!dm) return;
        const float *y = n->out->data;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)sz))
        for (int64_t k = 0; k < chunks; k++) {
            int64_t lo = k * chunk, len = sz - lo < chunk ? sz - lo : chunk;
            relu_mask(y + lo, dy + lo, dm + lo, len);
        }
        dy = dm;
    }
    double cnt = (double)N * L;
    int cb = bn_block(C, L);
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(4.0 * N * C * L))
    for (int c0 = 0; c0 < C; c0 += cb) {
        int nb = C - c0 < cb ? C - c0 : cb;
        double sdy[BN_NARROW], sdyx[BN_NARROW];
        bn_grad_sums(x->data, dy, N, C, L, c0, nb, sv->mean, sdy, sdyx);
        for (int c = 0; c < nb; c++) {
            if (dg) dg[c0 + c] += (float)(sdyx[c] * sv->invstd[c0 + c]);
            if (db) db[c0 + c] += (float)sdy[c];
        }
        if (!dx) continue;
        /* dx = g istd dy in evaluation; in training the batch statistics depend on x:
         * dx = g istd (dy - mean(dy) - xhat mean(dy xhat)) = ka dy + kb (x - mean) + kc */
        float m[BN_NARROW], ka[BN_NARROW], kb[BN_NARROW], kc[BN_NARROW];
        for (int c = 0; c < nb; c++) {
            double is = sv->invstd[c0 + c], a = is * (g ? g[c0 + c] : 1.0f);
            m[c] = (float)sv->mean[c0 + c];
            ka[c] = (float)a;
            kb[c] = training ? (float)(-a * is * is * sdyx[c] / cnt) : 0.0f;
            kc[c] = training ? (float)(-a * sdy[c] / cnt) : 0.0f;
        }
        bn_dx(x->data, dy, dx, N, C, L, c0, nb, m, ka, kb, kc, fresh);
    }
    mtl__scratch_release(t, mark);
}

static bool bn_vec_ok(mtl_tape *t, const mtl_tensor *v, int C, const char *what) {
    if (v->ndim == 1 && v->shape[0] == C) return true;
    char buf[64];
    mtl__fail(t, MTL_ERR_SHAPE, "batchnorm: %s must be [%d] (the channels of x), got %s", what, C,
              mtl_shape_str(mtl_tensor_shape(v), buf, sizeof buf));
    return false;
}

mtl_tensor *mtl__bn_forward(mtl_tape *t, mtl_tensor *x, mtl_tensor *gamma, mtl_tensor *beta,
                            mtl_tensor *running_mean, mtl_tensor *running_var, float momentum, float eps, bool relu,
                            const double *batch_stats, mtl__bn_stats **stats_out) {
    if (!mtl__inputs_ok(t, "batchnorm", 3, x, running_mean, running_var)) return NULL;
    if ((gamma == NULL) != (beta == NULL))
        return mtl__fail(t, MTL_ERR_ARG, "batchnorm: gamma and beta must both be given or both be NULL (got %s NULL)",
                         gamma ? "beta" : "gamma");
    if (gamma && !mtl__inputs_ok(t, "batchnorm", 2, gamma, beta)) return NULL;
    if (x->ndim != 2 && x->ndim != 3) {
        char buf[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "batchnorm: x must be [N,C] or [N,C,L], got %s",
                         mtl_shape_str(mtl_tensor_shape(x), buf, sizeof buf));
    }
    int N = x->shape[0], C = x->shape[1], L = x->ndim == 3 ? x->shape[2] : 1;
    if (!bn_vec_ok(t, running_mean, C, "running_mean") || !bn_vec_ok(t, running_var, C, "running_var")) return NULL;
    if (gamma && (!bn_vec_ok(t, gamma, C, "gamma") || !bn_vec_ok(t, beta, C, "beta"))) return NULL;
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return mtl__fail(t, MTL_ERR_ARG, "batchnorm: momentum must be in [0, 1], got %g", (double)momentum);
    if (!(eps >= 0.0f) || isinf(eps))
        return mtl__fail(t, MTL_ERR_ARG, "batchnorm: eps must be finite and >= 0, got %g", (double)eps);
    bool training = mtl_tape_training(t);
    int64_t cnt = (int64_t)N * L;
    if (training && cnt <= 1) {
        char buf[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "batchnorm: expected more than 1 value per channel when training, got input %s",
                         mtl_shape_str(mtl_tensor_shape(x), buf, sizeof buf));
    }

    mtl_tensor *y = mtl__new(t, mtl_tensor_shape(x));
    bn_saved *sv = mtl__alloc(t, sizeof *sv);
    double *stats = mtl__alloc(t, (size_t)(C > 0 ? 3 * C : 1) * sizeof(double));
    if (!y || !sv || !stats) return NULL;
    sv->mean = stats;
    sv->invstd = stats + C;
    double *var = stats + 2 * C;
    if (!training || batch_stats)
        for (int c = 0; c < C; c++) {
            sv->mean[c] = training ? batch_stats[c] : running_mean->data[c];
            var[c] = training ? batch_stats[C + c] : running_var->data[c];
        }
    const float *g = gamma ? gamma->data : NULL, *b = beta ? beta->data : NULL;
    int nt = mtl_threads_for(4.0 * N * C * L);
    if (L >= BN_WIDE) { /* each thread a range of channels, read sample by sample */
        if (nt > C) nt = C;
#pragma omp parallel num_threads(nt)
        {
            int tid = omp_get_thread_num(), np = omp_get_num_threads();
            bn_wide_rows(x->data, y->data, N, C, L, (int)((int64_t)C * tid / np), (int)((int64_t)C * (tid + 1) / np),
                         training && !batch_stats, sv->mean, var, sv->invstd, (double)eps, g, b, relu);
        }
    } else {
        int cb = bn_block(C, L);
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int c0 = 0; c0 < C; c0 += cb) {
            int nb = C - c0 < cb ? C - c0 : cb;
            if (training && !batch_stats) bn_stats(x->data, N, C, L, c0, nb, sv->mean, var);
            for (int c = c0; c < c0 + nb; c++) sv->invstd[c] = 1.0 / sqrt(var[c] + (double)eps);
            bn_normalise(x->data, y->data, N, C, L, c0, nb, sv->mean, sv->invstd, g, b, relu);
        }
    }
    if (training) { /* running statistics: buffers, never differentiated */
        double mom = momentum, unbias = (double)cnt / (double)(cnt - 1);
        for (int c = 0; c < C; c++) {
            running_mean->data[c] = (float)((1.0 - mom) * running_mean->data[c] + mom * sv->mean[c]);
            running_var->data[c] = (float)((1.0 - mom) * running_var->data[c] + mom * var[c] * unbias);
        }
    }
    *stats_out = sv;
    return y;
}

static mtl_tensor *batchnorm_op(mtl_tape *t, mtl_tensor *x, mtl_tensor *gamma, mtl_tensor *beta,
                                mtl_tensor *running_mean, mtl_tensor *running_var, float momentum, float eps,
                                bool relu) {
    bn_saved *sv;
    mtl_tensor *y = mtl__bn_forward(t, x, gamma, beta, running_mean, running_var, momentum, eps, relu, NULL, &sv);
    if (!y) return NULL;
    int N = x->shape[0], C = x->shape[1], L = x->ndim == 3 ? x->shape[2] : 1;
    mtl_node *n = mtl__record(t, relu ? "batchnorm_relu" : "batchnorm", batchnorm_backward, y, 3,
                              (mtl_tensor *[]){x, gamma, beta});
    if (n) {
        n->saved = sv;
        n->iarg[0] = N;
        n->iarg[1] = C;
        n->iarg[2] = L;
        n->iarg[3] = mtl_tape_training(t);
        n->iarg[4] = relu;
    }
    return y;
}

mtl_tensor *mtl_batchnorm(mtl_tape *t, mtl_tensor *x, mtl_tensor *gamma, mtl_tensor *beta,
                          mtl_tensor *running_mean, mtl_tensor *running_var, float momentum, float eps) {
    return batchnorm_op(t, x, gamma, beta, running_mean, running_var, momentum, eps, false);
}

mtl_tensor *mtl_batchnorm_relu(mtl_tape *t, mtl_tensor *x, mtl_tensor *gamma, mtl_tensor *beta,
                               mtl_tensor *running_mean, mtl_tensor *running_var, float momentum, float eps) {
    return batchnorm_op(t, x, gamma, beta, running_mean, running_var, momentum, eps, true);
}

/* ---- dropout -------------------------------------------------------------------
 * Element e keeps iff u_e >= p, u_e the uniform of word e%4 of block base + e/4 of
 * the tape's stream: the mask depends on (seed, step, position) only. The stream then
 * moves past the blocks used, so the next dropout of the step draws new ones. */

#define DROPOUT_CHUNK 1024 /* elements per task (a multiple of 4: whole blocks) */

static void dropout_identity_backward(mtl_tape *t, mtl_node *n) {
    float *dx = mtl__grad(t, n->in[0]);
    const float *dy = n->out->grad;
    if (!dx) return;
    int64_t sz = n->out->size;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)sz))
    for (int64_t i = 0; i < sz; i++) dx[i] += dy[i];
}

static void dropout_backward(mtl_tape *t, mtl_node *n) {
    float *restrict dx = mtl__grad(t, n->in[0]);
    const float *restrict dy = n->out->grad;
    const uint8_t *restrict keep = n->saved;
    if (!dx) return;
    float q = n->farg[0];
    int64_t sz = n->out->size;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)sz))
    for (int64_t i = 0; i < sz; i++) dx[i] += (dy[i] / q) * (float)keep[i];
}

/* branch-free (vectorised): y = x / (1-p) times 1 or 0 */
static void dropout_apply(const float *restrict u, const float *restrict x, float *restrict y, uint8_t *restrict keep,
                          int len, float p, float q) {
    for (int j = 0; j < len; j++) {
        float k = u[j] >= p ? 1.0f : 0.0f;
        y[j] = (x[j] / q) * k;
        keep[j] = (uint8_t)k;
    }
}

mtl_tensor *mtl_dropout(mtl_tape *t, mtl_tensor *x, float p) {
    if (!mtl__inputs_ok(t, "dropout", 1, x)) return NULL;
    if (!(p >= 0.0f && p < 1.0f)) return mtl__fail(t, MTL_ERR_ARG, "dropout: p must be in [0, 1), got %g", (double)p);
    mtl_tensor *y = mtl__new(t, mtl_tensor_shape(x));
    if (!y) return NULL;
    int64_t sz = x->size;
    if (!mtl_tape_training(t) || p == 0.0f) {
        if (sz) memcpy(y->data, x->data, (size_t)sz * sizeof(float));
        mtl__record(t, "dropout", dropout_identity_backward, y, 1, (mtl_tensor *[]){x});
        return y;
    }
    uint8_t *keep = mtl__alloc(t, (size_t)(sz ? sz : 1));
    if (!keep) return NULL;
    mtl_rng *rng = mtl__rng(t);
    uint64_t base = rng->counter;
    float q = 1.0f - p;
    const float *xd = x->data;
    float *yd = y->data;
    int64_t chunks = (sz + DROPOUT_CHUNK - 1) / DROPOUT_CHUNK;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(8.0 * sz))
    for (int64_t k = 0; k < chunks; k++) {
        float u[DROPOUT_CHUNK];
        int64_t e0 = k * DROPOUT_CHUNK, len = sz - e0 < DROPOUT_CHUNK ? sz - e0 : DROPOUT_CHUNK;
        mtl_rng r = *rng;
        r.counter = base + (uint64_t)(e0 / 4);
        mtl_rng_uniform(&r, u, len, 0.0f, 1.0f);
        dropout_apply(u, xd + e0, yd + e0, keep + e0, (int)len, p, q);
    }
    rng->counter = base + (uint64_t)((sz + 3) / 4);
    mtl_node *n = mtl__record(t, "dropout", dropout_backward, y, 1, (mtl_tensor *[]){x});
    if (n) {
        n->saved = keep;
        n->farg[0] = q;
    }
    return y;
}
