/* Dense ops through GEMM: linear, matmul, batched matmul (attention scores). */
#include <omp.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"

/* ---- linear ------------------------------------------------------------------- */

/* db[o] += sum over rows of dy[r, o] (rows in order; restrict: the loop over o vectorises) */
static void bias_grad(const float *restrict dy, int N, int out, float *restrict db) {
    for (int r = 0; r < N; r++)
        for (int o = 0; o < out; o++) db[o] += dy[(size_t)r * out + o];
}

/* the gradients of y = x w^T + b from dy [N, out] into dx (fresh: stored), dw, db (any NULL) */
static void linear_grads(const mtl_node *n, const float *dy, float *dx, bool fresh, float *dw, float *db) {
    const mtl_tensor *x = n->in[0], *w = n->in[1];
    int N = (int)n->iarg[0], in = (int)n->iarg[1], out = (int)n->iarg[2];
    if (dx) mtl_sgemm_par(false, false, N, in, out, 1.0f, dy, out, w->data, in, fresh ? 0.0f : 1.0f, dx, in);
    if (dw) mtl_sgemm_par(true, false, out, in, N, 1.0f, dy, out, x->data, in, 1.0f, dw, in);
    if (db) bias_grad(dy, N, out, db);
}

static void linear_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *b = n->in[2];
    bool fresh = false; /* a new input gradient is written (beta 0), not zero-filled and then added to */
    float *dx = mtl__grad_fresh(t, n->in[0], &fresh), *dw = mtl__grad(t, n->in[1]), *db = b ? mtl__grad(t, b) : NULL;
    linear_grads(n, n->out->grad, dx, fresh, dw, db);
}

/* relu's backward first (dy where y > 0, else 0: y > 0 exactly where the linear output is),
 * into scratch, then the linear's */
static void linear_relu_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *b = n->in[2];
    bool fresh = false;
    float *dx = mtl__grad_fresh(t, n->in[0], &fresh), *dw = mtl__grad(t, n->in[1]), *db = b ? mtl__grad(t, b) : NULL;
    if (!dx && !dw && !db) return;
    size_t mark = mtl__scratch_mark(t); /* after the gradients: the scratch is given back below */
    const float *y = n->out->data, *dy = n->out->grad;
    int64_t size = n->out->size;
    float *dz = mtl__scratch(t, (size_t)size * sizeof *dz);
    if (!dz) return;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)size))
    for (int64_t i = 0; i < size; i++) {
        float d = dy[i];
        dz[i] = y[i] > 0.0f ? d : 0.0f;
    }
    linear_grads(n, dz, dx, fresh, dw, db);
    mtl__scratch_release(t, mark);
}

/* y = x w^T + b into a new tensor; the node is the caller's */
static mtl_tensor *linear_forward(mtl_tape *t, const char *op, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int *dims) {
    if (!mtl__inputs_ok(t, op, 2, x, w)) return NULL;
    if (w->ndim != 2) return mtl__fail(t, MTL_ERR_SHAPE, "%s: weight must be [out, in], got %d-d", op, w->ndim);
    int out = w->shape[0], in = w->shape[1];
    if (x->ndim < 1 || x->shape[x->ndim - 1] != in)
        return mtl__fail(t, MTL_ERR_SHAPE, "%s: input's last dim is %d, weight expects %d", op,
                         x->ndim ? x->shape[x->ndim - 1] : 0, in);
    if (b && (b->ndim != 1 || b->shape[0] != out)) return mtl__fail(t, MTL_ERR_SHAPE, "%s: bias must be [%d]", op, out);
    int N = (int)(x->size / in);
    mtl_shape ys = mtl_tensor_shape(x);
    ys.d[ys.ndim - 1] = out;
    mtl_tensor *y = mtl__new(t, ys);
    if (!y) return NULL;
    if (b) { /* the bias rows first, the product added to them: one pass over y (beta 0 zero-fills) */
        const float *bd = b->data;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)N * out))
        for (int r = 0; r < N; r++) memcpy(y->data + (size_t)r * out, bd, (size_t)out * sizeof *bd);
    }
    mtl_sgemm_par(false, true, N, out, in, 1.0f, x->data, in, w->data, in, b ? 1.0f : 0.0f, y->data, out);
    dims[0] = N, dims[1] = in, dims[2] = out;
    return y;
}

static void linear_record(mtl_tape *t, const char *op, mtl_backward_fn fn, mtl_tensor *y, mtl_tensor *x,
                          mtl_tensor *w, mtl_tensor *b, const int *dims) {
    mtl_node *n = mtl__record(t, op, fn, y, 3, (mtl_tensor *[]){x, w, b});
    if (n) {
        n->iarg[0] = dims[0];
        n->iarg[1] = dims[1];
        n->iarg[2] = dims[2];
    }
}

mtl_tensor *mtl_linear(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b) {
    int dims[3] = {0, 0, 0};
    mtl_tensor *y = linear_forward(t, "linear", x, w, b, dims);
    if (y) linear_record(t, "linear", linear_backward, y, x, w, b, dims);
    return y;
}

mtl_tensor *mtl_linear_relu(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b) {
    int dims[3] = {0, 0, 0};
    mtl_tensor *y = linear_forward(t, "linear_relu", x, w, b, dims);
    if (!y) return NULL;
    float *yd = y->data;
    int64_t size = y->size;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)size))
    for (int64_t i = 0; i < size; i++) { /* as mtl_relu: NaN passes through */
        float v = yd[i];
        yd[i] = v < 0.0f ? 0.0f : v;
    }
    linear_record(t, "linear_relu", linear_relu_backward, y, x, w, b, dims);
    return y;
}

/* ---- matmul ------------------------------------------------------------------- */

static void matmul_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *a = n->in[0], *b = n->in[1];
    int M = (int)n->iarg[0], K = (int)n->iarg[1], N = (int)n->iarg[2];
    const float *dy = n->out->grad;
    float *da = mtl__grad(t, a), *db = mtl__grad(t, b);
    if (da) mtl_sgemm_par(false, true, M, K, N, 1.0f, dy, N, b->data, N, 1.0f, da, K);
    if (db) mtl_sgemm_par(true, false, K, N, M, 1.0f, a->data, K, dy, N, 1.0f, db, N);
}

mtl_tensor *mtl_matmul(mtl_tape *t, mtl_tensor *a, mtl_tensor *b) {
    if (!mtl__inputs_ok(t, "matmul", 2, a, b)) return NULL;
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
        return mtl__fail(t, MTL_ERR_SHAPE, "matmul: expected [M,K] x [K,N], got %d-d x %d-d with inner dims %d and %d",
                         a->ndim, b->ndim, a->ndim == 2 ? a->shape[1] : -1, b->ndim == 2 ? b->shape[0] : -1);
    int M = a->shape[0], K = a->shape[1], N = b->shape[1];
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(M, N));
    if (!y) return NULL;
    mtl_sgemm_par(false, false, M, N, K, 1.0f, a->data, K, b->data, N, 0.0f, y->data, N);
    mtl_node *n = mtl__record(t, "matmul", matmul_backward, y, 2, (mtl_tensor *[]){a, b});
    if (n) {
        n->iarg[0] = M;
        n->iarg[1] = K;
        n->iarg[2] = N;
    }
    return y;
}

/* ---- bmm ---------------------------------------------------------------------- */

static void bmm_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *a = n->in[0], *b = n->in[1];
    int B = (int)n->iarg[0], M = (int)n->iarg[1], K = (int)n->iarg[2], N = (int)n->iarg[3];
    bool ta = n->iarg[4], tb = n->iarg[5];
    int lda = ta ? M : K, ldb = tb ? K : N;
    const float *dy = n->out->grad;
    float *da = mtl__grad(t, a), *db = mtl__grad(t, b);
    size_t sa = (size_t)M * K, sb = (size_t)K * N, sy = (size_t)M * N;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * B * M * N * K))
    for (int i = 0; i < B; i++) {
        const float *A = a->data + i * sa, *Bm = b->data + i * sb, *dC = dy + i * sy;
        if (da) {
            if (!ta) mtl_sgemm(false, !tb, M, K, N, 1.0f, dC, N, Bm, ldb, 1.0f, da + i * sa, K);
            else mtl_sgemm(tb, true, K, M, N, 1.0f, Bm, ldb, dC, N, 1.0f, da + i * sa, M);
        }
        if (db) {
            if (!tb) mtl_sgemm(!ta, false, K, N, M, 1.0f, A, lda, dC, N, 1.0f, db + i * sb, N);
            else mtl_sgemm(true, ta, N, K, M, 1.0f, dC, N, A, lda, 1.0f, db + i * sb, K);
        }
    }
}

mtl_tensor *mtl_bmm(mtl_tape *t, mtl_tensor *a, mtl_tensor *b, bool trans_a, bool trans_b) {
    if (!mtl__inputs_ok(t, "bmm", 2, a, b)) return NULL;
    if (a->ndim != 3 || b->ndim != 3 || a->shape[0] != b->shape[0])
        return mtl__fail(t, MTL_ERR_SHAPE, "bmm: expected two 3-d tensors with the same batch, got %d-d and %d-d",
                         a->ndim, b->ndim);
    int B = a->shape[0];
    int M = trans_a ? a->shape[2] : a->shape[1], K = trans_a ? a->shape[1] : a->shape[2];
    int Kb = trans_b ? b->shape[2] : b->shape[1], N = trans_b ? b->shape[1] : b->shape[2];
    if (K != Kb) return mtl__fail(t, MTL_ERR_SHAPE, "bmm: inner dimensions differ (%d and %d)", K, Kb);
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(B, M, N));
    if (!y) return NULL;
    size_t sa = (size_t)M * K, sb = (size_t)K * N, sy = (size_t)M * N;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * B * M * N * K))
    for (int i = 0; i < B; i++)
        mtl_sgemm(trans_a, trans_b, M, N, K, 1.0f, a->data + i * sa, trans_a ? M : K, b->data + i * sb,
                  trans_b ? K : N, 0.0f, y->data + i * sy, N);
    mtl_node *n = mtl__record(t, "bmm", bmm_backward, y, 2, (mtl_tensor *[]){a, b});
    if (n) {
        n->iarg[0] = B;
        n->iarg[1] = M;
        n->iarg[2] = K;
        n->iarg[3] = N;
        n->iarg[4] = trans_a;
        n->iarg[5] = trans_b;
    }
    return y;
}
