/* 1-D max pooling without padding (PyTorch's max_pool1d with ceil_mode=False).
 * The forward pass remembers the position of each window's maximum (the first one
 * on ties, a NaN if there is one, as PyTorch does); backward sends dy there. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"

/* one row: dx[arg[j]] += dy[j]; when fresh (the buffer is new, uninitialised) the row
 * is written whole. Non-overlapping windows: one store per element, branch-free
 * (inlined with a constant kernel for the common poolings). */
static inline void pool_bwd_tiled(float *restrict dxr, const float *restrict dyr, const int32_t *restrict ar, int L,
                                  int Lout, int kernel) {
    for (int j = 0; j < Lout; j++) {
        uint32_t d; /* the bits of dy, and-ed with all ones at the maximum: exact, no branch */
        memcpy(&d, dyr + j, sizeof d);
        int at = ar[j] - j * kernel;
        for (int k = 0; k < kernel; k++) {
            uint32_t v = d & (0u - (uint32_t)(at == k));
            memcpy(dxr + (size_t)j * kernel + k, &v, sizeof v);
        }
    }
    for (int i = Lout * kernel; i < L; i++) dxr[i] = 0.0f;
}

static void pool_bwd_row(float *restrict dxr, const float *restrict dyr, const int32_t *restrict ar, int L, int Lout,
                         int kernel, int stride, bool fresh) {
    if (fresh && kernel == stride) {
        if (kernel == 4) pool_bwd_tiled(dxr, dyr, ar, L, Lout, 4);
        else if (kernel == 2) pool_bwd_tiled(dxr, dyr, ar, L, Lout, 2);
        else pool_bwd_tiled(dxr, dyr, ar, L, Lout, kernel);
        return;
    }
    if (fresh)
        for (int i = 0; i < L; i++) dxr[i] = 0.0f;
    for (int j = 0; j < Lout; j++) dxr[ar[j]] += dyr[j];
}

static void maxpool1d_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    bool fresh;
    float *dx = mtl__grad_fresh(t, x, &fresh);
    if (!dx) return;
    const int32_t *arg = n->saved;
    const float *dy = n->out->grad;
    int64_t rows = n->iarg[0];
    int L = (int)n->iarg[1], Lout = (int)n->iarg[2], kernel = (int)n->iarg[3], stride = (int)n->iarg[4];
    /* windows may overlap, so one thread handles all windows of a row */
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * L))
    for (int64_t r = 0; r < rows; r++)
        pool_bwd_row(dx + (size_t)r * L, dy + (size_t)r * Lout, arg + (size_t)r * Lout, L, Lout, kernel, stride, fresh);
}

/* one row: window maxima (the first on ties, the last NaN, as PyTorch). One pass per
 * tap over all windows, branch-free, so that the compiler vectorises across windows
 * (inlined with constant kernel and stride for the common poolings). yr and ar (the
 * tap of the maximum, then its position) are the running state. */
static inline void pool_fwd_row(const float *restrict xr, float *restrict yr, int32_t *restrict ar, int Lout,
                                int kernel, int stride) {
    for (int j = 0; j < Lout; j++) yr[j] = xr[(size_t)j * stride], ar[j] = 0;
    for (int k = 1; k < kernel; k++)
        for (int j = 0; j < Lout; j++) {
            float v = xr[(size_t)j * stride + k], b = yr[j];
            int take = (v > b) | (v != v);
            yr[j] = take ? v : b;
            ar[j] = take ? k : ar[j];
        }
    for (int j = 0; j < Lout; j++) ar[j] += j * stride;
}

/* the same maxima without the positions (not recording: inference) */
static inline void pool_max_row(const float *restrict xr, float *restrict yr, int Lout, int kernel, int stride) {
    for (int j = 0; j < Lout; j++) yr[j] = xr[(size_t)j * stride];
    for (int k = 1; k < kernel; k++)
        for (int j = 0; j < Lout; j++) {
            float v = xr[(size_t)j * stride + k], b = yr[j];
            yr[j] = ((v > b) | (v != v)) ? v : b;
        }
}

/* the strided loads vectorise much better with AVX-512's permutes: a clone for it,
 * chosen when the library loads */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target_clones("avx512f", "default")))
#endif
static void pool_fwd_rows(const float *xd, float *yd, int32_t *arg, int64_t r0, int64_t r1, int L, int Lout,
                          int kernel, int stride) {
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = xd + (size_t)r * L;
        float *yr = yd + (size_t)r * Lout;
        if (!arg) {
            if (kernel == 4 && stride == 4) pool_max_row(xr, yr, Lout, 4, 4);
            else if (kernel == 2 && stride == 2) pool_max_row(xr, yr, Lout, 2, 2);
            else pool_max_row(xr, yr, Lout, kernel, stride);
            continue;
        }
        int32_t *ar = arg + (size_t)r * Lout;
        if (kernel == 4 && stride == 4) pool_fwd_row(xr, yr, ar, Lout, 4, 4);
        else if (kernel == 2 && stride == 2) pool_fwd_row(xr, yr, ar, Lout, 2, 2);
        else pool_fwd_row(xr, yr, ar, Lout, kernel, stride);
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
        n->iarg[3] = kernel;
        n->iarg[4] = stride;
    }
    const float *xd = x->data;
    float *yd = y->data;
    int nt = mtl_threads_for((double)rows * Lout * kernel);
#pragma omp parallel num_threads(nt)
    {
        int p = omp_get_thread_num(), np = omp_get_num_threads();
        pool_fwd_rows(xd, yd, arg, rows * p / np, rows * (p + 1) / np, L, Lout, kernel, stride);
    }
    return y;
}
