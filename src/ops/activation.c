/* Activations: relu, sigmoid, tanh (element-wise, any shape) and softmax /
 * log_softmax over one axis of a 1- to 4-d tensor. Backward passes work from the
 * saved output, so no extra memory is kept. */
#include <math.h>

#include "autograd/tape_internal.h"
#include "ops/scalar.h"
#include "core/blas.h"

/* a transcendental function costs roughly this many multiply-adds (for mtl_threads_for) */
#define EXP_COST 8.0

/* ---- relu, sigmoid, tanh -------------------------------------------------------- */

typedef enum { ACT_RELU, ACT_SIGMOID, ACT_TANH } act_kind;

/* Element-wise kernels over one chunk; restrict lets the compiler vectorise them.
 * fresh: the gradient buffer is new (mtl__grad_fresh), so store instead of adding. */
#define ACT_CHUNK 16384

static void act_fwd_chunk(act_kind kind, const float *restrict x, float *restrict y, int64_t n) {
    switch (kind) {
    case ACT_RELU: /* written so that NaN passes through, as in PyTorch */
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v < 0.0f ? 0.0f : v;
        }
        break;
    case ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = mtl__sigmoid1(x[i]);
        break;
    case ACT_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    }
}

static void act_bwd_chunk(act_kind kind, bool fresh, float *restrict dx, const float *restrict y,
                          const float *restrict dy, int64_t n) {
    switch (kind) {
    case ACT_RELU: /* y > 0 exactly where x > 0; the derivative at 0 is taken as 0 (PyTorch).
                    * dy is loaded before the test: a select, not a (mispredicted) branch */
        if (fresh)
            for (int64_t i = 0; i < n; i++) {
                float d = dy[i];
                dx[i] = y[i] > 0.0f ? d : 0.0f;
            }
        else
            for (int64_t i = 0; i < n; i++) {
                float d = dy[i];
                dx[i] += y[i] > 0.0f ? d : 0.0f;
            }
        break;
    case ACT_SIGMOID:
        if (fresh)
            for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        else
            for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case ACT_TANH:
        if (fresh)
            for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        else
            for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    }
}

static void act_backward(mtl_tape *t, mtl_node *n) {
    bool fresh;
    float *dx = mtl__grad_fresh(t, n->in[0], &fresh);
    if (!dx) return;
    const float *y = n->out->data, *dy = n->out->grad;
    int64_t size = n->out->size, chunks = (size + ACT_CHUNK - 1) / ACT_CHUNK;
    act_kind kind = (act_kind)n->iarg[0];
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)size))
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * ACT_CHUNK, len = size - lo < ACT_CHUNK ? size - lo : ACT_CHUNK;
        act_bwd_chunk(kind, fresh, dx + lo, y + lo, dy + lo, len);
    }
}

static mtl_tensor *activation(mtl_tape *t, const char *op, act_kind kind, mtl_tensor *x) {
    if (!mtl__inputs_ok(t, op, 1, x)) return NULL;
    mtl_tensor *y = mtl__new(t, mtl_tensor_shape(x));
    if (!y) return NULL;
    const float *xd = x->data;
    float *yd = y->data;
    int64_t size = x->size, chunks = (size + ACT_CHUNK - 1) / ACT_CHUNK;
    double cost = kind == ACT_RELU ? 1.0 : EXP_COST;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(cost * size))
    for (int64_t c = 0; c < chunks; c++) {
        int64_t lo = c * ACT_CHUNK, len = size - lo < ACT_CHUNK ? size - lo : ACT_CHUNK;
        act_fwd_chunk(kind, xd + lo, yd + lo, len);
    }
    mtl_node *n = mtl__record(t, op, act_backward, y, 1, (mtl_tensor *[]){x});
    if (n) n->iarg[0] = kind;
    return y;
}

mtl_tensor *mtl_relu(mtl_tape *t, mtl_tensor *x) { return activation(t, "relu", ACT_RELU, x); }
mtl_tensor *mtl_sigmoid(mtl_tape *t, mtl_tensor *x) { return activation(t, "sigmoid", ACT_SIGMOID, x); }
mtl_tensor *mtl_tanh(mtl_tape *t, mtl_tensor *x) { return activation(t, "tanh", ACT_TANH, x); }

/* ---- softmax, log_softmax ------------------------------------------------------- *
 * The tensor is seen as [outer, n, inner] with the softmax over n. A "block" is up to
 * BLOCK adjacent inner positions of one outer index: its n rows of w values are
 * processed together (entry k of column i at base[k * inner + i]), so that memory is
 * read in contiguous runs whatever the axis. With inner == 1 a block is one row. */
#define BLOCK 64

static void softmax_block(const float *x, float *y, int n, int64_t inner, int w, bool log_out) {
    float m[BLOCK];
    double s[BLOCK];
    for (int i = 0; i < w; i++) m[i] = -INFINITY, s[i] = 0.0;
    for (int k = 0; k < n; k++) {
        const float *xk = x + k * inner;
        for (int i = 0; i < w; i++) m[i] = xk[i] > m[i] ? xk[i] : m[i];
    }
    if (log_out) {
        for (int k = 0; k < n; k++) {
            const float *xk = x + k * inner;
            float *yk = y + k * inner;
            for (int i = 0; i < w; i++) {
                yk[i] = xk[i] - m[i];
                s[i] += expf(yk[i]);
            }
        }
        for (int i = 0; i < w; i++) m[i] = (float)log(s[i]); /* m now holds log-sum of the shifted row */
        for (int k = 0; k < n; k++) {
            float *yk = y + k * inner;
            for (int i = 0; i < w; i++) yk[i] -= m[i];
        }
    } else {
        for (int k = 0; k < n; k++) {
            const float *xk = x + k * inner;
            float *yk = y + k * inner;
            for (int i = 0; i < w; i++) {
                yk[i] = expf(xk[i] - m[i]);
                s[i] += yk[i];
            }
        }
        for (int i = 0; i < w; i++) m[i] = (float)(1.0 / s[i]); /* m now holds 1 / sum */
        for (int k = 0; k < n; k++) {
            float *yk = y + k * inner;
            for (int i = 0; i < w; i++) yk[i] *= m[i];
        }
    }
}

/* softmax:     dx = y * (dy - sum_k dy*y)
 * log_softmax: dx = dy - exp(y) * sum_k dy */
static void softmax_block_backward(const float *y, const float *dy, float *dx, int n, int64_t inner, int w,
                                   bool log_out) {
    double s[BLOCK];
    for (int i = 0; i < w; i++) s[i] = 0.0;
    for (int k = 0; k < n; k++) {
        const float *yk = y + k * inner, *dyk = dy + k * inner;
        if (log_out)
            for (int i = 0; i < w; i++) s[i] += dyk[i];
        else
            for (int i = 0; i < w; i++) s[i] += (double)dyk[i] * yk[i];
    }
    float sf[BLOCK];
    for (int i = 0; i < w; i++) sf[i] = (float)s[i];
    for (int k = 0; k < n; k++) {
        const float *yk = y + k * inner, *dyk = dy + k * inner;
        float *dxk = dx + k * inner;
        if (log_out)
            for (int i = 0; i < w; i++) dxk[i] += dyk[i] - expf(yk[i]) * sf[i];
        else
            for (int i = 0; i < w; i++) dxk[i] += yk[i] * (dyk[i] - sf[i]);
    }
}

/* iarg: outer, n, inner, log_out */
static void softmax_backward(mtl_tape *t, mtl_node *nd) {
    float *dx = mtl__grad(t, nd->in[0]);
    if (!dx) return;
    int64_t outer = nd->iarg[0], inner = nd->iarg[2];
    int n = (int)nd->iarg[1];
    bool log_out = nd->iarg[3];
    const float *y = nd->out->data, *dy = nd->out->grad;
    int64_t nblocks = (inner + BLOCK - 1) / BLOCK, rows = outer * nblocks;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(EXP_COST * nd->out->size))
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / nblocks, i0 = (r % nblocks) * BLOCK;
        int w = (int)(inner - i0 < BLOCK ? inner - i0 : BLOCK);
        size_t base = (size_t)(o * n * inner + i0);
        softmax_block_backward(y + base, dy + base, dx + base, n, inner, w, log_out);
    }
}

static mtl_tensor *softmax_op(mtl_tape *t, const char *op, mtl_tensor *x, int axis, bool log_out) {
    if (!mtl__inputs_ok(t, op, 1, x)) return NULL;
    if (x->ndim < 1) return mtl__fail(t, MTL_ERR_SHAPE, "%s: input must have 1 to 4 dims, got a 0-d tensor", op);
    int a = mtl__axis(t, op, x, axis);
    if (a < 0) return NULL;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < a; d++) outer *= x->shape[d];
    for (int d = a + 1; d < x->ndim; d++) inner *= x->shape[d];
    int n = x->shape[a];
    mtl_tensor *y = mtl__new(t, mtl_tensor_shape(x));
    if (!y) return NULL;
    if (x->size > 0) {
        int64_t nblocks = (inner + BLOCK - 1) / BLOCK, rows = outer * nblocks;
        const float *xd = x->data;
        float *yd = y->data;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(EXP_COST * x->size))
        for (int64_t r = 0; r < rows; r++) {
            int64_t o = r / nblocks, i0 = (r % nblocks) * BLOCK;
            int w = (int)(inner - i0 < BLOCK ? inner - i0 : BLOCK);
            size_t base = (size_t)(o * n * inner + i0);
            softmax_block(xd + base, yd + base, n, inner, w, log_out);
        }
    }
    mtl_node *nd = mtl__record(t, op, softmax_backward, y, 1, (mtl_tensor *[]){x});
    if (nd) {
        nd->iarg[0] = outer;
        nd->iarg[1] = n;
        nd->iarg[2] = inner;
        nd->iarg[3] = log_out;
    }
    return y;
}

mtl_tensor *mtl_softmax(mtl_tape *t, mtl_tensor *x, int axis) { return softmax_op(t, "softmax", x, axis, false); }
mtl_tensor *mtl_log_softmax(mtl_tape *t, mtl_tensor *x, int axis) {
    return softmax_op(t, "log_softmax", x, axis, true);
}
