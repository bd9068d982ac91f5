/* conv1d -> batchnorm -> relu as one op (MTAGN's units), and in training the pooled form
 * conv1d -> batchnorm -> relu -> maxpool, optionally behind a per-channel input scale.
 *
 * Forward: the convolution output z is kept (batchnorm's backward needs it) and the op
 * returns relu(batchnorm(z)); no conv1d or batchnorm node is recorded, one node for the
 * three. Backward saves memory passes and memory over the three separate ops:
 *  1. per channel, over the batch: the sums of d = (y > 0 ? dy : 0) and d (z - mean),
 *     read from dy and z only: y > 0 is recomputed from z in batchnorm's own operations;
 *  2. per group of samples, on the thread that owns them: dz = batchnorm's input gradient,
 *     written into a small zero-padded buffer that stays in cache, then the convolution's
 *     weight/bias gradient and input gradient from it. The full-size dz is never stored.
 * It takes the direct convolution kernels (stride 1, pad <= K-1, K <= 7, AVX-512) and
 * lengths of at least 16; any other case, and any invalid argument, runs the separate
 * ops (mtl_conv1d then mtl_batchnorm_relu), which give the same results and errors. */
#include <string.h>

#include "core/blas.h"
#include "ops/conv_fast.h"
#include "ops/conv_winograd.h"
#include "ops/fused.h"

#include <math.h>
#include <omp.h>

typedef struct {
    mtl_tensor *z;       /* convolution output; NULL: recomputed in the backward (1x1 convolutions) */
    mtl__bn_stats *st;   /* statistics batchnorm used */
    int pad;
    bool training;
} cbr_saved;

static bool fast_ok(const mtl_tensor *x, const mtl_tensor *w, const mtl_tensor *b, int stride, int pad) {
    if (!x || !w || !x->data || !w->data || x->ndim != 3 || w->ndim != 3 || w->shape[1] != x->shape[1]) return false;
    if (b && (!b->data || b->ndim != 1 || b->shape[0] != w->shape[0])) return false;
    int N = x->shape[0], Cin = x->shape[1], L = x->shape[2], K = w->shape[2];
    if (stride != 1 || pad < 0 || K < 1 || pad > K - 1 || K > MTL_CONV_FAST_KMAX) return false;
    int64_t Lout = (int64_t)L + 2 * pad - K + 1;
    return N > 0 && Cin > 0 && w->shape[0] > 0 && Lout >= 16 && Lout <= (1 << 24) && mtl__conv_fast_available() &&
           (int64_t)N * Lout > 1;
}

/* ---- the convolution's backward from a dz made per sample ------------------------
 * Both fused units compute batchnorm's input gradient dz sample by sample into a buffer
 * that stays in cache (the full-size dz is never stored) and run the convolution's
 * backward from it: a thread takes a contiguous range of samples in groups (the dz and
 * input rows of a group within about 512 KB), so the weight-gradient kernel reduces its
 * accumulators once per group rather than once per sample; it reads the input from
 * zero-padded rows rebuilt per group (no masked steps at the edges). With a channel scale
 * s the convolution's input is x s: those rows hold x s, and the gradient g reaching x s
 * gives dx = g s and ds = sum over the row of x g. */

typedef void (*unit_dz_fn)(const void *ctx, int i, float *dz, int ldd); /* row o of sample i at dz + o ldd */

typedef struct {
    const float *x, *s, *w; /* x [N, Cin, L]; s [N, Cin] or NULL; w [Cout, Cin, K] */
    int N, Cin, L, Cout, K, pad, Lout;
    unit_dz_fn dz_rows;
    const void *ctx;
    float *dx, *ds, *dw, *db; /* any may be NULL */
    bool fresh;               /* dx is new: store instead of adding */
} unit_bwd;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AVX512_CLONE __attribute__((target_clones("avx512f", "default"))) /* chosen when the library loads */
#else
#define AVX512_CLONE
#endif

/* rows of x scaled by s[c] (s may be NULL) with `pad` zeros on each side: [C, L + 2 pad] */
AVX512_CLONE static void scale_pad_rows(const float *x, const float *s, int C, int L, int pad, float *out) {
    if (!s) {
        mtl__pad_rows(x, C, L, pad, out);
        return;
    }
    int Lp = L + 2 * pad;
    for (int c = 0; c < C; c++) {
        float *r = out + (size_t)c * Lp, sc = s[c];
        const float *xr = x + (size_t)c * L;
        for (int l = 0; l < pad; l++) r[l] = r[pad + L + l] = 0.0f;
        for (int l = 0; l < L; l++) r[pad + l] = xr[l] * sc;
    }
}

/* for each of C rows of length L: ds[c] += sum of x g (16 lanes, added in order: a fixed
 * order), dx (+)= g s[c] (fresh: store); dx may be NULL */
AVX512_CLONE static void scale_rows_backward(const float *restrict x, const float *restrict g, const float *s, int C,
                                             int L, float *restrict dx, bool fresh, float *ds) {
    for (int c = 0; c < C; c++) {
        const float *xr = x + (size_t)c * L, *gr = g + (size_t)c * L;
        if (ds) {
            float acc[16] = {0}, r = 0.0f;
            int l = 0;
            for (; l + 16 <= L; l += 16)
                for (int q = 0; q < 16; q++) acc[q] += xr[l + q] * gr[l + q];
            for (; l < L; l++) r += xr[l] * gr[l];
            for (int q = 0; q < 16; q++) r += acc[q];
            ds[c] += r;
        }
        if (!dx) continue;
        float *dr = dx + (size_t)c * L, sc = s[c];
        if (fresh)
            for (int l = 0; l < L; l++) dr[l] = gr[l] * sc;
        else
            for (int l = 0; l < L; l++) dr[l] += gr[l] * sc;
    }
}

static bool unit_backward(mtl_tape *t, const unit_bwd *u) {
    const int N = u->N, Cin = u->Cin, L = u->L, Cout = u->Cout, K = u->K, Lout = u->Lout;
    const int pad2 = K - 1 - u->pad, ldd = Lout + 2 * pad2;
    const float *s = u->s;
    const bool need_g = u->dx || u->ds, need_w = u->dw || u->db;
    if (!need_g && !need_w) return true;
    size_t xs = (size_t)Cin * L, ws = (size_t)Cout * Cin * K, zs = (size_t)Cout * ldd, ps = ws + (size_t)Cout;
    int nt = mtl_threads_for(2.0 * N * Cout * (double)Cin * K * Lout);
    if (N < nt) nt = 1;
    /* the weight gradient by Winograd where it applies (x read in place unless scaled); the
     * direct kernel reads x (x s) from zero-padded rows: no masked steps at the edges */
    const bool wino_dw = need_w && mtl__wino_ok(Cin, Cout, K, Lout);
    const size_t dws = wino_dw ? mtl__wino_dw_floats(Cin, Cout, K) : 0;
    const int ldx = L + 2 * u->pad;
    const bool copy_x = need_w && (s || (u->pad && !wino_dw));
    size_t pxs = (size_t)Cin * ldx, one = zs + (copy_x ? pxs : 0); /* buffer floats per sample of a group */
    int G = (int)(131072 / one), most = (N + nt - 1) / nt;
    G = G < 1 ? 1 : G > most ? most : G;
    /* the input gradient's convolution (Cout -> Cin channels) by Winograd where it applies */
    const bool wino = need_g && mtl__wino_ok(Cout, Cin, K, L);
    const size_t vs = wino ? mtl__wino_v_floats(Cout, K) : 0;
    /* per thread: dz, x copies, partial sums, gb, the Winograd buffers; the weight gradient's
     * (which holds doubles) at a multiple of 16 floats, as every thread's block */
    size_t dwo = ((size_t)G * one + ps + (s && need_g ? xs : 0) + vs + 15) / 16 * 16;
    size_t per = (dwo + dws + 15) / 16 * 16;
    float *buf = mtl__scratch(t, (size_t)nt * per * sizeof *buf), *wf = NULL, *U = NULL;
    if (!buf) return false;
    if (need_g) { /* the gradient of the input convolves dz with wf[c][o][k] = w[o][c][K-1-k] */
        if (!(wf = mtl__scratch(t, ws * sizeof *wf))) return false;
        for (int o = 0; o < Cout; o++)
            for (int c = 0; c < Cin; c++)
                for (int k = 0; k < K; k++)
                    wf[((size_t)c * Cout + o) * K + k] = u->w[((size_t)o * Cin + c) * K + K - 1 - k];
        if (wino) {
            if (!(U = mtl__scratch(t, mtl__wino_u_floats(Cout, Cin, K) * sizeof *U))) return false;
            mtl__wino_weights(wf, Cout, K, Cin, U);
        }
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), np = omp_get_num_threads();
        int n0 = (int)((int64_t)N * tid / np), n1 = (int)((int64_t)N * (tid + 1) / np);
        float *dz = buf + tid * per, *xg = dz + (size_t)G * zs, *pw = xg + (copy_x ? (size_t)G * pxs : 0);
        float *gb = pw + ps, *vb = gb + (s && need_g ? xs : 0), *dwb = dz + dwo;
        if (wino_dw) mtl__wino_dw_begin(dwb, Cin, Cout, K);
        memset(pw, 0, ps * sizeof *pw);
        for (size_t r = 0; r < (size_t)G * Cout && pad2 > 0; r++) { /* the zero padding of every row, once */
            memset(dz + r * ldd, 0, (size_t)pad2 * sizeof *dz);
            memset(dz + r * ldd + pad2 + Lout, 0, (size_t)pad2 * sizeof *dz);
        }
        for (int i0 = n0; i0 < n1; i0 += G) {
            int g = n1 - i0 < G ? n1 - i0 : G;
            for (int q = 0; q < g; q++) u->dz_rows(u->ctx, i0 + q, dz + q * zs + pad2, ldd);
            if (need_w && copy_x) { /* (with frozen weights their sums land in the partial and are dropped) */
                for (int q = 0; q < g; q++)
                    scale_pad_rows(u->x + (i0 + q) * xs, s ? s + (size_t)(i0 + q) * Cin : NULL, Cin, L, u->pad,
                                   xg + q * pxs);
                if (wino_dw) mtl__wino_dw_add(xg, ldx, 0, ldx, dz + pad2, ldd, Lout, g, Cout, Cin, K, true, dwb);
                else mtl__conv_fast_dw_padded(xg, ldx, dz + pad2, ldd, Lout, g, Cout, Cin, K, pw, pw + ws);
            } else if (wino_dw) {
                mtl__wino_dw_add(u->x + i0 * xs, L, u->pad, L, dz + pad2, ldd, Lout, g, Cout, Cin, K, true, dwb);
            } else if (need_w) {
                mtl__conv_fast_dw(u->x + i0 * xs, L, u->pad, dz + pad2, ldd, Lout, g, Cout, Cin, K, pw, pw + ws);
            }
            for (int q = 0; q < g && need_g; q++) {
                int i = i0 + q;
                if (!s) {
                    mtl__wino_fwd(dz + q * zs, ldd, 0, ldd, wf, U, Cout, K, 0, Cin, NULL, !u->fresh, u->dx + i * xs, L,
                                  L, vb);
                    continue;
                }
                mtl__wino_fwd(dz + q * zs, ldd, 0, ldd, wf, U, Cout, K, 0, Cin, NULL, false, gb, L, L, vb);
                scale_rows_backward(u->x + i * xs, gb, s + (size_t)i * Cin, Cin, L, u->dx ? u->dx + i * xs : NULL,
                                    u->fresh, u->ds ? u->ds + (size_t)i * Cin : NULL);
            }
        }
        if (wino_dw) mtl__wino_dw_end(dwb, Cin, Cout, K, pw, pw + ws);
    }
    /* the partials in thread order: deterministic for a given thread count */
    for (size_t e = 0; e < ps && need_w; e++) {
        float acc = 0.0f;
        for (int p = 0; p < nt; p++) acc += buf[(size_t)p * per + (size_t)G * one + e];
        if (e < ws) {
            if (u->dw) u->dw[e] += acc;
        } else if (u->db) {
            u->db[e - ws] += acc;
        }
    }
    return true;
}

/* per channel: m, ka, kb, kc of batchnorm's dz = ka d + kb (z - m) + kc, then the normalise's
 * scale and shift (the relu's mask is recomputed from z) */
#define NCOEF 6

typedef struct {
    const float *z, *y, *dy, *coef;
    const uint8_t *arg;
    int Cout, Lout, Lp, pool;
} dz_ctx;

static void cbr_dz_rows(const void *ctx, int i, float *dz, int ldd) {
    const dz_ctx *d = ctx;
    size_t ys = (size_t)d->Cout * d->Lout;
    for (int o = 0; o < d->Cout; o++) {
        size_t at = i * ys + (size_t)o * d->Lout;
        const float *k = d->coef + NCOEF * o;
        mtl__bnr_dz(d->z + at, d->dy + at, d->Lout, k[0], k[4], k[5], k[1], k[2], k[3], dz + (size_t)o * ldd);
    }
}

static void cbrp_dz_rows(const void *ctx, int i, float *dz, int ldd) {
    const dz_ctx *d = ctx;
    size_t zs = (size_t)d->Cout * d->Lout, ys = (size_t)d->Cout * d->Lp;
    for (int o = 0; o < d->Cout; o++) {
        const float *k = d->coef + NCOEF * o;
        size_t at = i * ys + (size_t)o * d->Lp;
        mtl__bnr_pool_dz(d->z + i * zs + (size_t)o * d->Lout, d->Lout, d->y + at, d->dy + at, d->arg + at, d->pool,
                         k[0], k[1], k[2], k[3], dz + (size_t)o * ldd);
    }
}

/* batchnorm's backward coefficients per channel (NCOEF floats each) from the sums over the batch
 * of d and d (z - mean), rows of Lr floats of z and dy (gamma, beta may be NULL; training: the
 * batch statistics' own gradient terms). Each thread takes a range of channels and reads
 * them sample by sample: contiguous memory, where a channel at a time would stride across
 * samples. Every channel's sums run in sample order whatever the threads. */
static void bn_coefs(const float *z, const float *dy, int N, int C, int Lr, const double *mean, const double *invstd,
                     const float *g, const float *beta, bool training, double cnt, float *coef, float *dg,
                     float *dbeta, double *sums) {
    int nt = mtl_threads_for(3.0 * N * C * Lr);
    if (nt > C) nt = C;
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), np = omp_get_num_threads();
        int c0 = (int)((int64_t)C * tid / np), c1 = (int)((int64_t)C * (tid + 1) / np);
        for (int c = c0; c < c1; c++) {
            float *k = coef + NCOEF * c; /* normalise's m, scale, shift */
            k[0] = (float)mean[c], k[4] = (float)(invstd[c] * (g ? g[c] : 1.0f)), k[5] = beta ? beta[c] : 0.0f;
            sums[2 * c] = sums[2 * c + 1] = 0.0;
        }
        for (int i = 0; i < N; i++)
            for (int c = c0; c < c1; c++) {
                size_t at = ((size_t)i * C + c) * Lr;
                const float *k = coef + NCOEF * c;
                mtl__bnr_sums(z + at, dy + at, Lr, mean[c], k[0], k[4], k[5], &sums[2 * c], &sums[2 * c + 1]);
            }
        for (int c = c0; c < c1; c++) {
            double sdy = sums[2 * c], sdyx = sums[2 * c + 1], is = invstd[c], a = is * (g ? g[c] : 1.0f);
            float *k = coef + NCOEF * c;
            if (dg) dg[c] += (float)(sdyx * is);
            if (dbeta) dbeta[c] += (float)sdy;
            k[1] = (float)a;
            k[2] = training ? (float)(-a * is * is * sdyx / cnt) : 0.0f;
            k[3] = training ? (float)(-a * sdy / cnt) : 0.0f;
        }
    }
}

static void cbr_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *gamma = n->in[3], *beta = n->in[4];
    const cbr_saved *sv = n->saved;
    const int N = x->shape[0], Cin = x->shape[1], L = x->shape[2], Cout = w->shape[0], K = w->shape[2];
    const int Lout = n->out->shape[2];
    const float *z = sv->z ? sv->z->data : NULL, *y = n->out->data, *dy = n->out->grad, *g = gamma ? gamma->data : NULL;
    const double *mean = sv->st->mean, *invstd = sv->st->invstd;
    size_t xs = (size_t)Cin * L, ys = (size_t)Cout * Lout;

    bool fresh;
    float *dx = mtl__grad_fresh(t, x, &fresh), *dw = mtl__grad(t, w), *db = b ? mtl__grad(t, b) : NULL;
    float *dg = gamma ? mtl__grad(t, gamma) : NULL, *dbeta = beta ? mtl__grad(t, beta) : NULL;
    if (fresh && (dx == dw || dx == db || dx == dg || dx == dbeta)) { /* x is also a parameter: add */
        memset(dx, 0, (size_t)x->size * sizeof *dx);
        fresh = false;
    }
    size_t mark = mtl__scratch_mark(t);
    if (!z) {
        /* a 1x1 convolution is cheap to redo: the same kernel on the same input gives the
         * same bits as the forward, and its output lives only during this backward */
        float *zr = mtl__scratch(t, (size_t)N * ys * sizeof *zr);
        if (!zr) return;
        const float *bd = b ? b->data : NULL;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * N * Cout * (double)Cin * Lout))
        for (int i = 0; i < N; i++)
            mtl__conv_fast_fwd(x->data + i * xs, L, w->data, Cin, 1, 0, Cout, bd, false, zr + i * ys, Lout, Lout);
        z = zr;
    }
    float *coef = mtl__scratch(t, (size_t)NCOEF * Cout * sizeof *coef);
    double *sums = mtl__scratch(t, (size_t)2 * Cout * sizeof *sums);
    if (!coef || !sums) return;
    bn_coefs(z, dy, N, Cout, Lout, mean, invstd, g, beta ? beta->data : NULL, sv->training, (double)N * Lout, coef, dg,
             dbeta, sums);
    dz_ctx dc = {z, y, dy, coef, NULL, Cout, Lout, Lout, 1};
    unit_bwd u = {x->data, NULL, w->data, N, Cin, L, Cout, K, sv->pad, Lout, cbr_dz_rows, &dc, dx, NULL, dw, db, fresh};
    unit_backward(t, &u);
    mtl__scratch_release(t, mark);
}

/* one sample's convolution z = w (x s) + b: by Winograd (U) x is read in place; otherwise x
 * (s: per channel, may be NULL) is copied into the zero-padded buffer pb when there is padding
 * or a scale (pb NULL when there is no copy to make) */
static void conv_sample(const float *x, const float *s, int Cin, int L, int pad, float *pb, const float *w,
                        const float *U, float *vb, int K, int Cout, const float *b, float *z, int Lout) {
    if (U && !s) {
        mtl__wino_fwd(x, L, pad, L, w, U, Cin, K, 0, Cout, b, false, z, Lout, Lout, vb);
        return;
    }
    if (pb) scale_pad_rows(x, s, Cin, L, pad, pb), x = pb;
    mtl__wino_fwd(x, L + 2 * pad, 0, L + 2 * pad, w, U, Cin, K, 0, Cout, b, false, z, Lout, Lout, vb);
}

/* Training forward of the fast path: the convolution sample by sample and, while a
 * sample's output is still in cache, its batchnorm lane sums; the sums are then added in
 * sample order exactly as batchnorm's own statistics pass would (same shift: the
 * channel's first value), so the statistics are the same bits. Returns z, fills
 * stats = mean [Cout] then biased variance [Cout]; NULL on failure (out of memory).
 * s: NULL, or [N, Cin] scales of the input channels (x s built per sample, never stored). */
static mtl_tensor *conv_with_stats(mtl_tape *t, const mtl_tensor *x, const float *s, const mtl_tensor *w,
                                   const mtl_tensor *b, int pad, double *stats, bool transient) {
    const int N = x->shape[0], Cin = x->shape[1], L = x->shape[2], Cout = w->shape[0], K = w->shape[2];
    const int Lout = L + 2 * pad - K + 1, ldx = L + 2 * pad;
    size_t xs = (size_t)Cin * L, ys = (size_t)Cout * Lout, ps = (size_t)Cin * ldx;
    /* transient: the data in scratch memory the caller releases once batchnorm has read it */
    float *zd = transient ? mtl__scratch(t, (size_t)N * ys * sizeof *zd) : NULL;
    mtl_tensor *z = transient ? (zd ? mtl_tensor_wrap(t, MTL_SHAPE(N, Cout, Lout), zd) : NULL)
                              : mtl__new(t, MTL_SHAPE(N, Cout, Lout));
    int nt = mtl_threads_for(2.0 * N * Cout * (double)Cin * K * Lout);
    if (N < nt) nt = 1;
    /* by Winograd where it applies (x read in place unless scaled): the weights transformed
     * once, a small buffer per thread; otherwise padded or scaled copies of x per thread */
    const bool wino = mtl__wino_ok(Cin, Cout, K, Lout), copy = s || (pad && !wino);
    float *buf = copy ? mtl__alloc(t, (size_t)nt * ps * sizeof *buf) : NULL;
    size_t mark = mtl__scratch_mark(t);
    double *lanes = mtl__scratch(t, (size_t)N * Cout * 32 * sizeof *lanes);
    double *shift = mtl__scratch(t, Cout * sizeof *shift);
    if (!z || (copy && !buf) || !lanes || !shift) return NULL;
    float *U = NULL, *vbuf = NULL;
    size_t vs = mtl__wino_v_floats(Cin, K);
    if (wino) {
        U = mtl__scratch(t, mtl__wino_u_floats(Cin, Cout, K) * sizeof *U);
        vbuf = mtl__scratch(t, (size_t)nt * vs * sizeof *vbuf);
        if (!U || !vbuf) return NULL;
        mtl__wino_weights(w->data, Cin, K, Cout, U);
    }
    const float *bd = b ? b->data : NULL;
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), np = omp_get_num_threads();
        int n0 = (int)((int64_t)N * tid / np), n1 = (int)((int64_t)N * (tid + 1) / np);
        float *pb = copy ? buf + tid * ps : NULL, *vb = vbuf ? vbuf + tid * vs : NULL;
        /* every thread convolves its first sample (each has one: N >= threads); sample 0's
         * first values are the shifts of every channel's sums, so the lane sums wait for it */
        if (n0 < n1)
            conv_sample(x->data + n0 * xs, s ? s + (size_t)n0 * Cin : NULL, Cin, L, pad, pb, w->data, U, vb, K, Cout,
                        bd, z->data + n0 * ys, Lout);
        if (n0 == 0 && n1 > 0)
            for (int o = 0; o < Cout; o++) shift[o] = z->data[(size_t)o * Lout];
#pragma omp barrier
        for (int i = n0; i < n1; i++) {
            float *zi = z->data + i * ys;
            if (i > n0)
                conv_sample(x->data + i * xs, s ? s + (size_t)i * Cin : NULL, Cin, L, pad, pb, w->data, U, vb, K, Cout,
                            bd, zi, Lout);
            for (int o = 0; o < Cout; o++)
                mtl__bn_run_lanes(zi + (size_t)o * Lout, Lout, shift[o], lanes + ((size_t)i * Cout + o) * 32);
        }
    }
    double cnt = (double)N * Lout;
    for (int o = 0; o < Cout; o++) { /* batchnorm's bn_stats, term for term */
        double sum = 0.0, sq = 0.0;
        for (int i = 0; i < N; i++) {
            const double *ln = lanes + ((size_t)i * Cout + o) * 32;
            for (int j = 0; j < 16; j++) sum += ln[j], sq += ln[16 + j];
        }
        double m = sum / cnt, v = sq / cnt - m * m;
        stats[o] = shift[o] + m;
        stats[Cout + o] = v > 0 ? v : 0;
    }
    mtl__scratch_release(t, mark);
    return z;
}

static bool vec_ok(const mtl_tensor *v, int C) { return v && v->data && v->ndim == 1 && v->shape[0] == C; }

/* Inference (evaluation mode, nothing recorded): batchnorm folded into the convolution,
 * w' = w g / sqrt(rv + eps), b' = (b - rm) g / sqrt(rv + eps) + beta, and the ReLU applied
 * by the kernel as it stores: one pass over the output instead of three. NULL when the arguments are not the plain
 * case (the caller then takes the general path, which also reports errors). */
static mtl_tensor *folded_forward(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int pad, mtl_tensor *gamma,
                                  mtl_tensor *beta, mtl_tensor *rm, mtl_tensor *rv, float eps, int pool) {
    const int N = x->shape[0], Cin = x->shape[1], L = x->shape[2], Cout = w->shape[0], K = w->shape[2];
    if ((gamma == NULL) != (beta == NULL) || (gamma && (!vec_ok(gamma, Cout) || !vec_ok(beta, Cout))) ||
        !vec_ok(rm, Cout) || !vec_ok(rv, Cout) || !(eps >= 0.0f) || isinf(eps))
        return NULL;
    const int Lout = L + 2 * pad - K + 1, ldx = L + 2 * pad, Lp = Lout / pool;
    if (pool > 1 && Lout % 32) return NULL; /* the kernel pools whole 32-position tiles */
    size_t xs = (size_t)Cin * L, ys = (size_t)Cout * Lp, ps = (size_t)Cin * ldx, ws = (size_t)Cin * K;
    int nt = mtl_threads_for(2.0 * N * Cout * (double)Cin * K * Lout);
    if (N < nt) nt = 1;
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(N, Cout, Lp));
    float *wf = mtl__alloc(t, (size_t)Cout * ws * sizeof *wf), *bf = mtl__alloc(t, (size_t)Cout * sizeof *bf);
    float *buf = pad ? mtl__alloc(t, (size_t)nt * ps * sizeof *buf) : NULL;
    if (!y || !wf || !bf || (pad && !buf)) return NULL;
    for (int o = 0; o < Cout; o++) { /* float products: this runs on every inference call */
        double scd = (gamma ? gamma->data[o] : 1.0) / sqrt((double)rv->data[o] + (double)eps);
        float sc = (float)scd;
        const float *wo = w->data + o * ws;
        float *fo = wf + o * ws;
        for (size_t j = 0; j < ws; j++) fo[j] = wo[j] * sc;
        bf[o] = (float)(((b ? b->data[o] : 0.0) - rm->data[o]) * scd + (beta ? beta->data[o] : 0.0));
    }
    /* without pooling, by Winograd where it applies (the trunk units) */
    size_t mark = mtl__scratch_mark(t), vs = mtl__wino_v_floats(Cin, K);
    float *U = NULL, *vbuf = NULL;
    if (pool == 1 && mtl__wino_ok(Cin, Cout, K, Lout)) {
        U = mtl__scratch(t, mtl__wino_u_floats(Cin, Cout, K) * sizeof *U);
        vbuf = mtl__scratch(t, (size_t)nt * vs * sizeof *vbuf);
        if (!U || !vbuf) return NULL;
        mtl__wino_weights(wf, Cin, K, Cout, U);
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int i = 0; i < N; i++) {
        const float *xp = x->data + i * xs;
        int tid = omp_get_thread_num();
        if (U) { /* x in place */
            mtl__wino_fwd_relu(xp, L, pad, L, wf, U, Cin, K, 0, Cout, bf, y->data + i * ys, Lp, Lout, vbuf + tid * vs);
            continue;
        }
        if (pad) {
            float *pb = buf + (size_t)tid * ps;
            mtl__pad_rows(xp, Cin, L, pad, pb), xp = pb;
        }
        mtl__conv_fast_fwd_relu(xp, ldx, wf, Cin, K, 0, Cout, bf, y->data + i * ys, Lp, Lout, pool);
    }
    mtl__scratch_release(t, mark);
    return y;
}

mtl_tensor *mtl_conv1d_bn_relu(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int stride, int pad,
                               mtl_tensor *gamma, mtl_tensor *beta, mtl_tensor *running_mean,
                               mtl_tensor *running_var, float momentum, float eps) {
    if (!mtl__inputs_ok(t, "conv1d_bn_relu", 2, x, w)) return NULL;
    if (!fast_ok(x, w, b, stride, pad))
        return mtl_batchnorm_relu(t, mtl_conv1d(t, x, w, b, stride, pad), gamma, beta, running_mean, running_var,
                                  momentum, eps);
    bool recording = mtl_tape_recording(t);
    if (!recording && !mtl_tape_training(t)) {
        mtl_tensor *y = folded_forward(t, x, w, b, pad, gamma, beta, running_mean, running_var, eps, 1);
        if (y || mtl_tape_status(t)) return y;
    }
    /* the forwards unrecorded (mtl__bn_forward checks the batchnorm arguments), then one
     * node; in training the statistics come with the convolution */
    mtl_tape_set_recording(t, false);
    mtl__bn_stats *st = NULL;
    mtl_tensor *z;
    double *stats = NULL;
    /* recording a 1x1 convolution: z is not kept for the backward but recomputed there */
    bool transient = recording && w->shape[2] == 1 && pad == 0;
    size_t mark = mtl__scratch_mark(t);
    if (mtl_tape_training(t)) {
        int Cout = w->shape[0];
        stats = mtl__alloc(t, (size_t)2 * Cout * sizeof *stats);
        z = stats ? conv_with_stats(t, x, NULL, w, b, pad, stats, transient) : NULL;
    } else {
        z = mtl_conv1d(t, x, w, b, stride, pad);
        transient = false;
    }
    mtl_tensor *y =
        z ? mtl__bn_forward(t, z, gamma, beta, running_mean, running_var, momentum, eps, true, stats, &st) : NULL;
    if (transient) mtl__scratch_release(t, mark), z = NULL;
    mtl_tape_set_recording(t, recording);
    if (!y) return NULL;
    mtl_node *n = mtl__record(t, "conv1d_bn_relu", cbr_backward, y, 5, (mtl_tensor *[]){x, w, b, gamma, beta});
    if (n) {
        cbr_saved *sv = mtl__alloc(t, sizeof *sv);
        if (!sv) return NULL;
        sv->z = z; /* NULL when transient */
        sv->st = st;
        sv->pad = pad;
        sv->training = mtl_tape_training(t);
        n->saved = sv;
    }
    return y;
}

/* ---- training: conv -> batchnorm -> relu -> maxpool as one node --------------------
 * Optionally behind a per-sample channel scale s [N, Cin] (an attention's output): the
 * convolution of x s is the one of x with w scaled per sample, so x s is never stored.
 * Forward: the convolution output z (kept for the backward) with the batchnorm sums while
 * each sample is in cache; then one pass z -> pooled output y, the z value at each
 * window's maximum (zp) and its tap (arg, a byte). The unit's full-length output is
 * never stored. Backward: the batchnorm sums need only the window maxima (the relu and
 * the pooling route nothing elsewhere), read from y, dy and zp; then per sample the
 * full dz in a cache-resident buffer, and from it the weight, bias, input and scale
 * gradients. */

typedef struct {
    mtl_tensor *z;
    double *mean, *invstd;
    float *zp;
    uint8_t *arg;
    int pad, pool;
} cbrp_saved;

static void cbrp_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0], *sc = n->in[1], *w = n->in[2], *b = n->in[3], *gamma = n->in[4], *beta = n->in[5];
    const cbrp_saved *sv = n->saved;
    const int N = x->shape[0], Cin = x->shape[1], L = x->shape[2], Cout = w->shape[0], K = w->shape[2];
    const int pad = sv->pad, pool = sv->pool, Lout = sv->z->shape[2], Lp = n->out->shape[2];
    const float *z = sv->z->data, *y = n->out->data, *dy = n->out->grad, *g = gamma ? gamma->data : NULL;
    const float *s = sc ? sc->data : NULL;

    bool fresh;
    float *dx = mtl__grad_fresh(t, x, &fresh), *ds = sc ? mtl__grad(t, sc) : NULL, *dw = mtl__grad(t, w);
    float *db = b ? mtl__grad(t, b) : NULL, *dg = gamma ? mtl__grad(t, gamma) : NULL;
    float *dbeta = beta ? mtl__grad(t, beta) : NULL;
    if (fresh && (dx == ds || dx == dw || dx == db || dx == dg || dx == dbeta)) { /* x is also another input */
        memset(dx, 0, (size_t)x->size * sizeof *dx);
        fresh = false;
    }
    size_t mark = mtl__scratch_mark(t);
    float *coef = mtl__scratch(t, (size_t)NCOEF * Cout * sizeof *coef);
    double *sums = mtl__scratch(t, (size_t)2 * Cout * sizeof *sums);
    if (!coef || !sums) return;
    /* the window maxima: zp, where the unit's output is relu of zp (nothing reaches the rest) */
    bn_coefs(sv->zp, dy, N, Cout, Lp, sv->mean, sv->invstd, g, beta ? beta->data : NULL, true, (double)N * Lout, coef,
             dg, dbeta, sums);
    dz_ctx dc = {z, y, dy, coef, sv->arg, Cout, Lout, Lp, pool};
    unit_bwd u = {x->data, s, w->data, N, Cin, L, Cout, K, pad, Lout, cbrp_dz_rows, &dc, dx, ds, dw, db, fresh};
    unit_backward(t, &u);
    mtl__scratch_release(t, mark);
}

/* the fused training path; NULL without a tape error when the arguments are not its case
 * (the caller then runs the separate ops, which also report errors) */
static mtl_tensor *cbrp_forward(mtl_tape *t, mtl_tensor *x, mtl_tensor *sc, mtl_tensor *w, mtl_tensor *b, int stride,
                                int pad, mtl_tensor *gamma, mtl_tensor *beta, mtl_tensor *rm, mtl_tensor *rv,
                                float momentum, float eps, int pool) {
    if (!mtl_tape_training(t) || !mtl_tape_recording(t) || (pool != 2 && pool != 4)) return NULL;
    if (!fast_ok(x, w, b, stride, pad)) return NULL;
    const int N = x->shape[0], Cin = x->shape[1], Cout = w->shape[0], K = w->shape[2];
    const int Lout = x->shape[2] + 2 * pad - K + 1, Lp = Lout / pool;
    if (Lp < 1 || (gamma == NULL) != (beta == NULL) || (gamma && (!vec_ok(gamma, Cout) || !vec_ok(beta, Cout))) ||
        !vec_ok(rm, Cout) || !vec_ok(rv, Cout) || !(eps >= 0.0f) || isinf(eps) || !(momentum >= 0.0f) ||
        !(momentum <= 1.0f))
        return NULL;
    if (sc && (!sc->data || sc->ndim != 2 || sc->shape[0] != N || sc->shape[1] != Cin)) return NULL;
    bool recording = mtl_tape_recording(t);
    mtl_tape_set_recording(t, false);
    double *stats = mtl__alloc(t, (size_t)3 * Cout * sizeof *stats); /* mean, variance, 1 / std */
    mtl_tensor *z = stats ? conv_with_stats(t, x, sc ? sc->data : NULL, w, b, pad, stats, false) : NULL;
    mtl_tape_set_recording(t, recording);
    mtl_tensor *y = z ? mtl__new(t, MTL_SHAPE(N, Cout, Lp)) : NULL;
    cbrp_saved *sv = y ? mtl__alloc(t, sizeof *sv) : NULL;
    float *zp = sv ? mtl__alloc(t, (size_t)y->size * sizeof *zp) : NULL;
    uint8_t *arg = zp ? mtl__alloc(t, (size_t)y->size) : NULL;
    if (!arg) return NULL;
    double *mean = stats, *var = stats + Cout, *invstd = stats + 2 * Cout;
    int64_t cnt = (int64_t)N * Lout;
    double unbias = (double)cnt / (double)(cnt - 1);
    for (int c = 0; c < Cout; c++) { /* as mtl__bn_forward */
        invstd[c] = 1.0 / sqrt(var[c] + (double)eps);
        rm->data[c] = (float)((1.0 - momentum) * rm->data[c] + (double)momentum * mean[c]);
        rv->data[c] = (float)((1.0 - momentum) * rv->data[c] + (double)momentum * var[c] * unbias);
    }
    const float *g = gamma ? gamma->data : NULL, *be = beta ? beta->data : NULL;
    size_t zs = (size_t)Cout * Lout, ys = (size_t)Cout * Lp;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(4.0 * N * zs))
    for (int i = 0; i < N; i++)
        for (int c = 0; c < Cout; c++) {
            size_t at = i * ys + (size_t)c * Lp;
            mtl__bnr_pool_fwd(z->data + i * zs + (size_t)c * Lout, Lout, (float)mean[c],
                              (float)(invstd[c] * (g ? g[c] : 1.0f)), be ? be[c] : 0.0f, pool, y->data + at, zp + at,
                              arg + at);
        }
    mtl_node *n =
        mtl__record(t, "conv1d_bn_relu_maxpool", cbrp_backward, y, 6, (mtl_tensor *[]){x, sc, w, b, gamma, beta});
    if (n) {
        *sv = (cbrp_saved){z, mean, invstd, zp, arg, pad, pool};
        n->saved = sv;
    }
    return y;
}

mtl_tensor *mtl_scaled_conv1d_bn_relu_maxpool(mtl_tape *t, mtl_tensor *x, mtl_tensor *s, mtl_tensor *w, mtl_tensor *b,
                                              int stride, int pad, mtl_tensor *gamma, mtl_tensor *beta,
                                              mtl_tensor *running_mean, mtl_tensor *running_var, float momentum,
                                              float eps, int pool) {
    if (!mtl__inputs_ok(t, "scaled_conv1d_bn_relu_maxpool", 3, x, s, w)) return NULL;
    mtl_tensor *y =
        cbrp_forward(t, x, s, w, b, stride, pad, gamma, beta, running_mean, running_var, momentum, eps, pool);
    if (y || mtl_tape_status(t)) return y;
    return mtl_conv1d_bn_relu_maxpool(t, mtl_scale_channels(t, x, s), w, b, stride, pad, gamma, beta, running_mean,
                                      running_var, momentum, eps, pool);
}

mtl_tensor *mtl_conv1d_bn_relu_maxpool(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int stride, int pad,
                                       mtl_tensor *gamma, mtl_tensor *beta, mtl_tensor *running_mean,
                                       mtl_tensor *running_var, float momentum, float eps, int pool) {
    /* inference: convolution, folded batchnorm, ReLU and pooling in one pass; the unit's
     * full-length output is never written */
    if ((pool == 2 || pool == 4) && !mtl_tape_recording(t) && !mtl_tape_training(t) &&
        mtl__inputs_ok(t, "conv1d_bn_relu_maxpool", 2, x, w) && fast_ok(x, w, b, stride, pad)) {
        mtl_tensor *y = folded_forward(t, x, w, b, pad, gamma, beta, running_mean, running_var, eps, pool);
        if (y || mtl_tape_status(t)) return y;
    }
    /* training: one node for the four ops */
    if (mtl__inputs_ok(t, "conv1d_bn_relu_maxpool", 2, x, w)) {
        mtl_tensor *y =
            cbrp_forward(t, x, NULL, w, b, stride, pad, gamma, beta, running_mean, running_var, momentum, eps, pool);
        if (y || mtl_tape_status(t)) return y;
    }
    return mtl_maxpool1d(t, mtl_conv1d_bn_relu(t, x, w, b, stride, pad, gamma, beta, running_mean, running_var,
                                               momentum, eps),
                         pool, pool);
}
