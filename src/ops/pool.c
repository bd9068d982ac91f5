/* 1-D max pooling without padding (PyTorch's max_pool1d with ceil_mode=False).
 * The forward pass remembers the position of each window's maximum (the first one
 * on ties, a NaN if there is one, as PyTorch does); backward sends dy there. */
#include <math.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"

static void maxpool1d_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    float *dx = mtl__grad(t, x);
    if (!dx) return;
    const int32_t *arg = n->saved;
    const float *dy = n->out->grad;
    int64_t rows = n->iarg[0];
    int L = (int)n->iarg[1], Lout = (int)n->iarg[2];
    /* windows may overlap, so one thread handles all windows of a row */
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * Lout))
    for (int64_t r = 0; r < rows; r++) {
        float *dxr = dx + (size_t)r * L;
        const float *dyr = dy + (size_t)r * Lout;
        const int32_t *ar = arg + (size_t)r * Lout;
        for (int j = 0; j < Lout; j++) dxr[ar[j]] += dyr[j];
    }
}

mtl_tensor *mtl_maxpool1d(mtl_tape *t, mtl_tensor *x, int kernel, int stride) {
    if (!mtl__inputs_ok(t, "maxpool1d", 1, x)) return NULL;
    if (x->ndim != 3) return mtl__fail(t, MTL_ERR_SHAPE, "maxpool1d: input must be [N, C, L], got %d-d", x->ndim);
    if (kernel < 1) return mtl__fail(t, MTL_ERR_ARG, "maxpool1d: kernel size is %d, expected >= 1", kernel);
    if (stride < 1) return mtl__fail(t, MTL_ERR_ARG, "maxpool1d: stride is %d, expected >= 1", stride);
    int N = x->shape[0], C = x->shape[1], L = x->shape[2];
    if (kernel > L)
        return mtl__fail(t, MTL_ERR_SHAPE, "maxpool1d: kernel size %d exceeds the input length %d", kernel, L);
    int Lout = (L - kernel) / stride + 1;
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(N, C, Lout));
    if (!y) return NULL;
    int64_t rows = (int64_t)N * C;
    mtl_node *n = mtl__record(t, "maxpool1d", maxpool1d_backward, y, 1, (mtl_tensor *[]){x});
    int32_t *arg = NULL;
    if (n) {
        arg = mtl__alloc(t, (size_t)(y->size ? y->size : 1) * sizeof *arg);
        if (!arg) return NULL;
        n->saved = arg;
        n->iarg[0] = rows;
        n->iarg[1] = L;
        n->iarg[2] = Lout;
    }
    const float *xd = x->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * Lout * kernel))
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = xd + (size_t)r * L;
        float *yr = yd + (size_t)r * Lout;
        int32_t *ar = arg ? arg + (size_t)r * Lout : NULL;
        for (int j = 0; j < Lout; j++) {
            const float *win = xr + (size_t)j * stride;
            float best = win[0];
            int at = 0;
            for (int k = 1; k < kernel; k++) {
                float v = win[k];
                if (v > best || isnan(v)) best = v, at = k;
            }
            yr[j] = best;
            if (ar) ar[j] = j * stride + at;
        }
    }
    return y;
}
