/* 1-D convolution (zero padding, dilation 1, groups 1) through im2col + GEMM.
 *
 * Per sample n: col[Cin*K, Lout] holds the padded input windows (row (c,k) is
 * x[n,c, j*stride + k - pad] over j), and y[n] = W[Cout, Cin*K] col (+ b). A 1x1
 * convolution with stride 1 and no padding uses x[n] itself as col.
 * Backward per sample: dW += dy[n] col^T, dcol = W^T dy[n] scattered back into dx[n]
 * (col2im), db = sum of dy over n and length.
 *
 * Threads: samples are split over OpenMP threads (static schedule), each calling the
 * single-threaded GEMM with its own col buffer from the tape's arenas; dW is
 * accumulated in one buffer per thread and the buffers are added in thread order, so
 * results are deterministic for a given thread count. With fewer samples than
 * threads the batch loop stays serial and the GEMMs themselves run in parallel.
 *
 * Stride 1 with pad <= K-1 and K <= 7 (every MTAGN convolution) takes the direct
 * kernels of conv_fast.c instead when the CPU has them: no im2col, no col2im; the
 * input gradient is the forward kernel run on dy with the flipped kernel. */
#include <limits.h>
#include <omp.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"
#include "ops/conv_fast.h"
#include "ops/conv_winograd.h"

typedef struct {
    int N, Cin, L, Cout, K, stride, pad, Lout;
    int rows;    /* Cin*K: rows of col */
    bool direct; /* K == 1, stride 1, no padding: col is x[n] itself */
} conv_geom;

static conv_geom geom_of(const mtl_tensor *x, const mtl_tensor *w, int stride, int pad) {
    conv_geom g;
    g.N = x->shape[0], g.Cin = x->shape[1], g.L = x->shape[2];
    g.Cout = w->shape[0], g.K = w->shape[2];
    g.stride = stride, g.pad = pad;
    g.Lout = (g.L + 2 * pad - g.K) / stride + 1;
    g.rows = g.Cin * g.K;
    g.direct = g.K == 1 && stride == 1 && pad == 0;
    return g;
}

/* The output positions j whose input position j*stride + off lies inside [0, L):
 * j in [*j0, *j1). */
static void valid_range(const conv_geom *g, int off, int *j0, int *j1) {
    int64_t s = g->stride, lo = off >= 0 ? 0 : (-(int64_t)off + s - 1) / s;
    int64_t hi = (int64_t)g->L - 1 - off < 0 ? 0 : ((int64_t)g->L - 1 - off) / s + 1;
    if (hi > g->Lout) hi = g->Lout;
    if (lo > hi) lo = hi;
    *j0 = (int)lo, *j1 = (int)hi;
}

/* col[(c*K+k)*Lout + j] = x[c*L + j*stride + k - pad], zero outside the input */
static void im2col(const conv_geom *g, const float *x, float *col) {
    const int Lout = g->Lout, s = g->stride;
    for (int c = 0; c < g->Cin; c++) {
        const float *xc = x + (size_t)c * g->L;
        for (int k = 0; k < g->K; k++) {
            float *row = col + ((size_t)c * g->K + k) * Lout;
            int off = k - g->pad, j0, j1;
            valid_range(g, off, &j0, &j1);
            if (j0 > 0) memset(row, 0, (size_t)j0 * sizeof *row);
            if (j1 > j0) {
                const float *src = xc + ((int64_t)j0 * s + off); /* input of output j0 */
                if (s == 1) memcpy(row + j0, src, (size_t)(j1 - j0) * sizeof *row);
                else
                    for (int j = j0; j < j1; j++) row[j] = src[(size_t)(j - j0) * s];
            }
            if (j1 < Lout) memset(row + j1, 0, (size_t)(Lout - j1) * sizeof *row);
        }
    }
}

/* dx[c*L + j*stride + k - pad] += dcol[(c*K+k)*Lout + j] for positions inside the input */
static void col2im_add(const conv_geom *g, const float *dcol, float *dx) {
    const int Lout = g->Lout, s = g->stride;
    for (int c = 0; c < g->Cin; c++) {
        float *dxc = dx + (size_t)c * g->L;
        for (int k = 0; k < g->K; k++) {
            const float *row = dcol + ((size_t)c * g->K + k) * Lout;
            int off = k - g->pad, j0, j1;
            valid_range(g, off, &j0, &j1);
            if (j1 <= j0) continue;
            float *dst = dxc + ((int64_t)j0 * s + off); /* input of output j0 */
            if (s == 1)
                for (int j = j0; j < j1; j++) dst[j - j0] += row[j];
            else
                for (int j = j0; j < j1; j++) dst[(size_t)(j - j0) * s] += row[j];
        }
    }
}

static void gemm(bool par, bool ta, bool tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc) {
    if (par) mtl_sgemm_par(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
    else mtl_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

/* Threads for the batch loop (0: run it serially with parallel GEMMs instead). */
static int batch_threads(const conv_geom *g) {
    int nt = mtl_threads_for(2.0 * g->N * g->Cout * (double)g->rows * g->Lout);
    if (nt <= 1) return 1;
    return g->N >= nt ? nt : 0;
}

/* ---- direct kernels (stride 1) --------------------------------------------------- */

static bool use_fast(const conv_geom *g) {
    return g->stride == 1 && g->pad <= g->K - 1 && g->K <= MTL_CONV_FAST_KMAX && mtl__conv_fast_available();
}

/* y = conv(x) + b over the batch; buf: Cin*(L+2pad) floats per thread when pad > 0; U: the
 * Winograd weights or NULL, with vbuf: mtl__wino_v_floats per thread */
static void fast_forward(const conv_geom *g, const float *x, const float *w, const float *b, float *y, float *buf,
                         const float *U, float *vbuf, int nt) {
    size_t xs = (size_t)g->Cin * g->L, ys = (size_t)g->Cout * g->Lout, ps = (size_t)g->Cin * (g->L + 2 * g->pad);
    size_t vs = U ? mtl__wino_v_floats(g->Cin, g->K) : 0;
    int ldx = g->L + 2 * g->pad;
    if (nt > 1 && g->N >= nt) {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int i = 0; i < g->N; i++) {
            const float *xp = x + i * xs;
            int tid = omp_get_thread_num();
            if (U) { /* x in place */
                mtl__wino_fwd(xp, g->L, g->pad, g->L, w, U, g->Cin, g->K, 0, g->Cout, b, false, y + i * ys, g->Lout,
                              g->Lout, vbuf + tid * vs);
                continue;
            }
            if (g->pad) {
                float *p = buf + tid * ps;
                mtl__pad_rows(xp, g->Cin, g->L, g->pad, p);
                xp = p;
            }
            mtl__conv_fast_fwd(xp, ldx, w, g->Cin, g->K, 0, g->Cout, b, false, y + i * ys, g->Lout, g->Lout);
        }
        return;
    }
    /* small batch (inference): threads split the output channels of each sample (Winograd:
     * one range of whole row blocks per thread, each transforming the input itself) */
    int rows = MTL_CONV_FAST_OB;
    if (U) {
        int ob = mtl__wino_rows(g->K);
        rows = (g->Cout + nt * ob - 1) / (nt * ob) * ob;
    }
    int blocks = (g->Cout + rows - 1) / rows;
    for (int i = 0; i < g->N; i++) {
        const float *xp = x + i * xs;
        int ld = g->L, lpad = g->pad; /* Winograd reads x in place */
        if (g->pad && !U) {
            mtl__pad_rows(xp, g->Cin, g->L, g->pad, buf);
            xp = buf, ld = ldx, lpad = 0;
        }
#pragma omp parallel for schedule(static) num_threads(nt < blocks ? nt : blocks)
        for (int q = 0; q < blocks; q++) {
            int o0 = q * rows, o1 = o0 + rows < g->Cout ? o0 + rows : g->Cout;
            mtl__wino_fwd(xp, ld, lpad, ld, w, U, g->Cin, g->K, o0, o1, b, false, y + i * ys, g->Lout, g->Lout,
                          U ? vbuf + omp_get_thread_num() * vs : NULL);
        }
    }
}

/* dx += conv^T(dy) (dx = when dx_fresh), dw += sum_n dy x^T and db += sum of dy (any of
 * dx, dw, db may be NULL; db only with dw). Threads take contiguous ranges of samples;
 * their dw/db partials are added in thread order. */
static void fast_backward(mtl_tape *t, const conv_geom *g, const float *x, const float *w, const float *dy,
                          float *dx, bool dx_fresh, float *dw, float *db) {
    const int Cin = g->Cin, Cout = g->Cout, K = g->K, L = g->L, Lout = g->Lout, N = g->N;
    const int pad2 = K - 1 - g->pad, ldd = Lout + 2 * pad2;
    size_t xs = (size_t)Cin * L, ys = (size_t)Cout * Lout, ws = (size_t)Cout * Cin * K;
    size_t dps = pad2 && dx ? (size_t)Cout * ldd : 0, ps = ws + (db ? (size_t)Cout : 0);
    int nt = mtl_threads_for(2.0 * N * Cout * (double)g->rows * Lout);
    if (N < nt) nt = 1;
    float *wf = NULL, *part = NULL, *dpb = NULL, *U = NULL, *vbuf = NULL;
    size_t vs = mtl__wino_v_floats(Cout, K);
    if (dx) { /* the input gradient convolves dy with wf[c][o][k] = w[o][c][K-1-k] */
        if (!(wf = mtl__scratch(t, ws * sizeof *wf))) return;
        for (int o = 0; o < Cout; o++)
            for (int c = 0; c < Cin; c++)
                for (int k = 0; k < K; k++)
                    wf[((size_t)c * Cout + o) * K + k] = w[((size_t)o * Cin + c) * K + K - 1 - k];
        if (mtl__wino_ok(Cout, Cin, K, L)) { /* by Winograd where it applies */
            U = mtl__scratch(t, mtl__wino_u_floats(Cout, Cin, K) * sizeof *U);
            vbuf = mtl__scratch(t, (size_t)nt * vs * sizeof *vbuf);
            if (!U || !vbuf) return;
            mtl__wino_weights(wf, Cout, K, Cin, U);
        }
    }
    if (dw) { /* per thread: dw partial, then db partial */
        if (!(part = mtl__scratch(t, (size_t)nt * ps * sizeof *part))) return;
        memset(part, 0, (size_t)nt * ps * sizeof *part);
    }
    if (dps && !U && !(dpb = mtl__scratch(t, (size_t)nt * dps * sizeof *dpb))) return; /* Winograd: dy in place */
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num(), np = omp_get_num_threads();
        int n0 = (int)((int64_t)N * tid / np), n1 = (int)((int64_t)N * (tid + 1) / np);
        if (dw && n1 > n0) {
            float *pw = part + tid * ps;
            mtl__conv_fast_dw(x + n0 * xs, L, g->pad, dy + n0 * ys, Lout, Lout, n1 - n0, Cout, Cin, K, pw,
                              db ? pw + ws : NULL);
        }
        for (int i = n0; dx && i < n1; i++) {
            const float *dp = dy + i * ys;
            if (U) { /* dy in place */
                mtl__wino_fwd(dp, Lout, pad2, Lout, wf, U, Cout, K, 0, Cin, NULL, !dx_fresh, dx + i * xs, L, L,
                              vbuf + tid * vs);
                continue;
            }
            if (dps) {
                mtl__pad_rows(dp, Cout, Lout, pad2, dpb + tid * dps);
                dp = dpb + tid * dps;
            }
            mtl__conv_fast_fwd(dp, ldd, wf, Cout, K, 0, Cin, NULL, !dx_fresh, dx + i * xs, L, L);
        }
    }
    if (dw)
        for (size_t e = 0; e < ps; e++) {
            float s = 0.0f;
            for (int p = 0; p < nt; p++) s += part[(size_t)p * ps + e];
            if (e < ws) dw[e] += s;
            else db[e - ws] += s;
        }
}

/* ---- forward ------------------------------------------------------------------ */

static void conv_forward_sample(const conv_geom *g, const float *x, const float *w, const float *b, float *col,
                                float *y, bool par) {
    if (!g->direct) im2col(g, x, col);
    else col = (float *)x;
    float beta = 0.0f;
    if (b) {
        for (int o = 0; o < g->Cout; o++) {
            float *yo = y + (size_t)o * g->Lout;
            for (int j = 0; j < g->Lout; j++) yo[j] = b[o];
        }
        beta = 1.0f;
    }
    gemm(par, false, false, g->Cout, g->Lout, g->rows, w, g->rows, col, g->Lout, beta, y, g->Lout);
}

/* ---- backward ----------------------------------------------------------------- */

/* dW is accumulated as dy[n] col^T ([Cout, rows]) or, when rows > Cout, as its
 * transpose col dy[n]^T ([rows, Cout]): OpenBLAS is faster with the larger of the two
 * dimensions as the rows of C. */
static bool dw_transposed(const conv_geom *g) { return g->rows > g->Cout; }

/* pdw (may be NULL): accumulate this sample's dW (layout by dw_transposed);
 * dx (may be NULL): accumulate col2im(W^T dy[n]) */
static void conv_backward_sample(const conv_geom *g, const float *x, const float *w, const float *dy, float *dx,
                                 float *pdw, float *col, float *dcol, bool par) {
    if (pdw) {
        const float *c = x;
        if (!g->direct) {
            im2col(g, x, col);
            c = col;
        }
        if (dw_transposed(g))
            gemm(par, false, true, g->rows, g->Cout, g->Lout, c, g->Lout, dy, g->Lout, 1.0f, pdw, g->Cout);
        else
            gemm(par, false, true, g->Cout, g->rows, g->Lout, dy, g->Lout, c, g->Lout, 1.0f, pdw, g->rows);
    }
    if (dx) {
        if (g->direct) {
            gemm(par, true, false, g->Cin, g->Lout, g->Cout, w, g->Cin, dy, g->Lout, 1.0f, dx, g->L);
        } else {
            gemm(par, true, false, g->rows, g->Lout, g->Cout, w, g->rows, dy, g->Lout, 0.0f, dcol, g->Lout);
            col2im_add(g, dcol, dx);
        }
    }
}

/* sum of n floats in 8 independent lanes (vectorisable, fixed order) */
static float row_sum(const float *r, int n) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) acc[q] += r[j + q];
    float s = 0.0f;
    for (; j < n; j++) s += r[j];
    for (int q = 0; q < 8; q++) s += acc[q];
    return s;
}

static void conv1d_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    conv_geom g = geom_of(x, w, (int)n->iarg[0], (int)n->iarg[1]);
    const float *dy = n->out->grad;
    bool fresh, fast = use_fast(&g);
    float *dx = mtl__grad_fresh(t, x, &fresh), *dw = mtl__grad(t, w), *db = b ? mtl__grad(t, b) : NULL;
    /* only the direct kernels store a fresh dx; x may also be w (or b) and share its buffer */
    if (fresh && (!fast || dx == dw || dx == db)) {
        memset(dx, 0, (size_t)x->size * sizeof *dx);
        fresh = false;
    }
    size_t xs = (size_t)g.Cin * g.L, ys = (size_t)g.Cout * g.Lout, cs = (size_t)g.rows * g.Lout;
    size_t ws = (size_t)g.Cout * g.rows;

    size_t mark = mtl__scratch_mark(t); /* the buffers below live for this call only */
    if (fast && dw && g.Cin > 0) { /* the bias gradient comes with the weight gradient */
        fast_backward(t, &g, x->data, w->data, dy, dx, fresh, dw, db);
        mtl__scratch_release(t, mark);
        return;
    }
    if (db) {
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)g.N * g.Cout * g.Lout))
        for (int o = 0; o < g.Cout; o++) {
            float s = 0.0f;
            for (int i = 0; i < g.N; i++) s += row_sum(dy + i * ys + (size_t)o * g.Lout, g.Lout);
            db[o] += s;
        }
    }
    if (!dx && !dw) return;
    if (fast) {
        fast_backward(t, &g, x->data, w->data, dy, dx, fresh, NULL, NULL);
        mtl__scratch_release(t, mark);
        return;
    }

    /* nt threads over the batch, each with its own buffers: col, dcol and a zeroed dW
     * partial (never dw itself: dw may be the same memory as dx when x and w are one
     * tensor); nt == 0: serial batch loop with parallel GEMMs */
    int nt = batch_threads(&g), bufs = nt ? nt : 1;
    float *col = NULL, *dcol = NULL, *part = NULL;
    if (!g.direct && dw && !(col = mtl__scratch(t, (size_t)bufs * cs * sizeof *col))) return;
    if (!g.direct && dx && !(dcol = mtl__scratch(t, (size_t)bufs * cs * sizeof *dcol))) return;
    if (dw) {
        if (!(part = mtl__scratch(t, (size_t)bufs * ws * sizeof *part))) return;
        memset(part, 0, (size_t)bufs * ws * sizeof *part);
    }
    if (nt <= 1) {
        for (int i = 0; i < g.N; i++)
            conv_backward_sample(&g, x->data + i * xs, w->data, dy + i * ys, dx ? dx + i * xs : NULL, part, col, dcol,
                                 nt == 0);
    } else {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int i = 0; i < g.N; i++) {
            int tid = omp_get_thread_num();
            conv_backward_sample(&g, x->data + i * xs, w->data, dy + i * ys, dx ? dx + i * xs : NULL,
                                 part ? part + tid * ws : NULL, col ? col + tid * cs : NULL,
                                 dcol ? dcol + tid * cs : NULL, false);
        }
    }
    if (!dw) {
        mtl__scratch_release(t, mark);
        return;
    }
    /* combine the partials in thread order: deterministic for a given thread count */
    bool tr = dw_transposed(&g);
    for (int o = 0; o < g.Cout; o++)
        for (int r = 0; r < g.rows; r++) {
            size_t at = tr ? (size_t)r * g.Cout + o : (size_t)o * g.rows + r;
            float s = 0.0f;
            for (int p = 0; p < bufs; p++) s += part[(size_t)p * ws + at];
            dw[(size_t)o * g.rows + r] += s;
        }
    mtl__scratch_release(t, mark);
}

mtl_tensor *mtl_conv1d(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int stride, int pad) {
    if (!mtl__inputs_ok(t, "conv1d", 2, x, w)) return NULL;
    if (b && !mtl__inputs_ok(t, "conv1d", 1, b)) return NULL;
    if (x->ndim != 3) return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: input must be [N, Cin, L], got %d-d", x->ndim);
    if (w->ndim != 3)
        return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: weight must be [Cout, Cin, K], got %d-d", w->ndim);
    if (w->shape[1] != x->shape[1])
        return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: input has %d channels, weight expects %d", x->shape[1],
                         w->shape[1]);
    if (w->shape[2] < 1) return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: kernel size is %d, expected >= 1", w->shape[2]);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: bias must be [%d] (one per output channel)", w->shape[0]);
    if (stride < 1) return mtl__fail(t, MTL_ERR_ARG, "conv1d: stride is %d, expected >= 1", stride);
    if (pad < 0) return mtl__fail(t, MTL_ERR_ARG, "conv1d: padding is %d, expected >= 0", pad);
    int64_t padded = (int64_t)x->shape[2] + 2 * (int64_t)pad;
    if (padded > INT_MAX || (int64_t)w->shape[1] * w->shape[2] > INT_MAX)
        return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: padded length %lld or Cin*K too large", (long long)padded);
    if (padded < w->shape[2])
        return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: kernel size %d exceeds the padded input length %lld",
                         w->shape[2], (long long)padded);
    conv_geom g = geom_of(x, w, stride, pad);
    if ((int64_t)g.rows * g.Lout > INT_MAX)
        return mtl__fail(t, MTL_ERR_SHAPE, "conv1d: Cin*K*Lout = %lld is too large",
                         (long long)((int64_t)g.rows * g.Lout));
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(g.N, g.Cout, g.Lout));
    if (!y) return NULL;

    size_t xs = (size_t)g.Cin * g.L, ys = (size_t)g.Cout * g.Lout, cs = (size_t)g.rows * g.Lout;
    const float *bd = b ? b->data : NULL;
    if (use_fast(&g) && g.N > 0) {
        int nt = mtl_threads_for(2.0 * g.N * g.Cout * (double)g.rows * g.Lout);
        float *buf = NULL, *U = NULL, *vbuf = NULL;
        const bool wino = mtl__wino_ok(g.Cin, g.Cout, g.K, g.Lout); /* Winograd reads x in place */
        if (g.pad && !wino && !(buf = mtl__alloc(t, (size_t)nt * g.Cin * (g.L + 2 * g.pad) * sizeof *buf)))
            return NULL;
        size_t mark = mtl__scratch_mark(t);
        if (wino) { /* by Winograd where it applies */
            U = mtl__scratch(t, mtl__wino_u_floats(g.Cin, g.Cout, g.K) * sizeof *U);
            vbuf = mtl__scratch(t, (size_t)nt * mtl__wino_v_floats(g.Cin, g.K) * sizeof *vbuf);
            if (!U || !vbuf) return NULL;
            mtl__wino_weights(w->data, g.Cin, g.K, g.Cout, U);
        }
        fast_forward(&g, x->data, w->data, bd, y->data, buf, U, vbuf, nt);
        mtl__scratch_release(t, mark);
        goto record;
    }
    int nt = batch_threads(&g);
    float *col = NULL;
    if (!g.direct && g.N > 0 && !(col = mtl__alloc(t, (size_t)(nt ? nt : 1) * cs * sizeof *col))) return NULL;
    if (nt <= 1) {
        for (int i = 0; i < g.N; i++)
            conv_forward_sample(&g, x->data + i * xs, w->data, bd, col, y->data + i * ys, nt == 0);
    } else {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int i = 0; i < g.N; i++)
            conv_forward_sample(&g, x->data + i * xs, w->data, bd, col ? col + omp_get_thread_num() * cs : NULL,
                                y->data + i * ys, false);
    }

record:;
    mtl_node *n = mtl__record(t, "conv1d", conv1d_backward, y, 3, (mtl_tensor *[]){x, w, b});
    if (n) {
        n->iarg[0] = stride;
        n->iarg[1] = pad;
    }
    return y;
}
