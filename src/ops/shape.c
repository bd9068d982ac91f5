/* Shape ops: concat, slice, reshape. Each copies into a new arena tensor; the
 * backward adds the gradient back into the matching elements of its input(s). A
 * tensor along `axis` is viewed as [outer, dim, inner]: one axis slab is a contiguous
 * run of dim * inner floats in each of the outer rows. */
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"

/* outer = product of the dims before axis, inner = product of the dims after it */
static void split_axis(const mtl_tensor *x, int axis, int64_t *outer, int64_t *inner) {
    *outer = 1, *inner = 1;
    for (int k = 0; k < axis; k++) *outer *= x->shape[k];
    for (int k = axis + 1; k < x->ndim; k++) *inner *= x->shape[k];
}

/* dst[o*dst_row + j] += src[o*src_row + j] for j < run, o < rows */
static void add_rows(float *dst, int64_t dst_row, const float *src, int64_t src_row, int64_t rows, int64_t run) {
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * run))
    for (int64_t o = 0; o < rows; o++) {
        float *d = dst + o * dst_row;
        const float *s = src + o * src_row;
        for (int64_t j = 0; j < run; j++) d[j] += s[j];
    }
}

/* dst[o*dst_row .. +run) = src[o*src_row .. +run) */
static void copy_rows(float *dst, int64_t dst_row, const float *src, int64_t src_row, int64_t rows, int64_t run) {
    if (run <= 0) return;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * run))
    for (int64_t o = 0; o < rows; o++) memcpy(dst + o * dst_row, src + o * src_row, (size_t)run * sizeof(float));
}

/* flat versions, split into blocks so that large tensors use several threads */
#define FLAT_BLOCK 16384
static void copy_flat(float *dst, const float *src, int64_t n) {
    int64_t full = n / FLAT_BLOCK, rest = n - full * FLAT_BLOCK;
    copy_rows(dst, FLAT_BLOCK, src, FLAT_BLOCK, full, FLAT_BLOCK);
    copy_rows(dst + full * FLAT_BLOCK, 0, src + full * FLAT_BLOCK, 0, 1, rest);
}
static void add_flat(float *dst, const float *src, int64_t n) {
    int64_t full = n / FLAT_BLOCK, rest = n - full * FLAT_BLOCK;
    add_rows(dst, FLAT_BLOCK, src, FLAT_BLOCK, full, FLAT_BLOCK);
    add_rows(dst + full * FLAT_BLOCK, 0, src + full * FLAT_BLOCK, 0, 1, rest);
}

/* ---- concat ---------------------------------------------------------------------- */

static void concat_backward(mtl_tape *t, mtl_node *n) {
    int axis = (int)n->iarg[0];
    int64_t outer = n->iarg[1], inner = n->iarg[2], total = n->out->shape[axis];
    const float *dy = n->out->grad;
    int64_t off = 0;
    for (int i = 0; i < n->nin; i++) {
        mtl_tensor *x = n->in[i];
        int64_t run = (int64_t)x->shape[axis] * inner;
        float *dx = mtl__grad(t, x);
        if (dx) add_rows(dx, run, dy + off, total * inner, outer, run);
        off += run;
    }
}

mtl_tensor *mtl_concat(mtl_tape *t, int n, mtl_tensor *const *xs, int axis) {
    if (!mtl__inputs_ok(t, "concat", 0)) return NULL;
    if (n < 1 || !xs) return mtl__fail(t, MTL_ERR_ARG, "concat: need n >= 1 tensors (got n = %d%s)", n, xs ? "" : ", xs NULL");
    for (int i = 0; i < n; i++) {
        if (!xs[i]) return mtl__fail(t, MTL_ERR_ARG, "concat: tensor %d of %d is NULL", i, n);
        if (!xs[i]->data && xs[i]->size > 0)
            return mtl__fail(t, MTL_ERR_STATE, "concat: tensor %d has no data (parameters not finalized?)", i);
    }
    int a = mtl__axis(t, "concat", xs[0], axis);
    if (a < 0) return NULL;
    mtl_shape ys = mtl_tensor_shape(xs[0]);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        const mtl_tensor *x = xs[i];
        bool ok = x->ndim == ys.ndim;
        for (int k = 0; ok && k < ys.ndim; k++) ok = k == a || x->shape[k] == ys.d[k];
        if (!ok) {
            char s0[64], si[64];
            return mtl__fail(t, MTL_ERR_SHAPE, "concat: tensor %d has shape %s, tensor 0 has %s; all dims but axis %d must agree",
                             i, mtl_shape_str(mtl_tensor_shape(x), si, sizeof si), mtl_shape_str(ys, s0, sizeof s0), a);
        }
        total += x->shape[a];
    }
    if (total > 0x7fffffff) return mtl__fail(t, MTL_ERR_SHAPE, "concat: axis %d would have %lld elements", a, (long long)total);
    ys.d[a] = (int)total;
    mtl_tensor *y = mtl__new(t, ys);
    if (!y) return NULL;
    int64_t outer, inner;
    split_axis(y, a, &outer, &inner);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        int64_t run = (int64_t)xs[i]->shape[a] * inner;
        copy_rows(y->data + off, total * inner, xs[i]->data, run, outer, run);
        off += run;
    }
    mtl_node *nd = mtl__record(t, "concat", concat_backward, y, n, xs);
    if (nd) {
        nd->iarg[0] = a;
        nd->iarg[1] = outer;
        nd->iarg[2] = inner;
    }
    return y;
}

/* ---- slice ------------------------------------------------------------------------ */

static void slice_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    float *dx = mtl__grad(t, x);
    if (!dx) return;
    int a = (int)n->iarg[0];
    int64_t start = n->iarg[1], len = n->iarg[2], outer, inner;
    split_axis(x, a, &outer, &inner);
    int64_t dim = x->shape[a];
    add_rows(dx + start * inner, dim * inner, n->out->grad, len * inner, outer, len * inner);
}

mtl_tensor *mtl_slice(mtl_tape *t, mtl_tensor *x, int axis, int start, int len) {
    if (!mtl__inputs_ok(t, "slice", 1, x)) return NULL;
    int a = mtl__axis(t, "slice", x, axis);
    if (a < 0) return NULL;
    int dim = x->shape[a];
    if (start < 0 || len < 1 || (int64_t)start + len > dim)
        return mtl__fail(t, MTL_ERR_RANGE, "slice: [%d, %d + %d) is not a non-empty range within [0, %d) of axis %d", start,
                         start, len, dim, a);
    mtl_shape ys = mtl_tensor_shape(x);
    ys.d[a] = len;
    mtl_tensor *y = mtl__new(t, ys);
    if (!y) return NULL;
    int64_t outer, inner;
    split_axis(x, a, &outer, &inner);
    copy_rows(y->data, (int64_t)len * inner, x->data + (int64_t)start * inner, (int64_t)dim * inner, outer,
              (int64_t)len * inner);
    mtl_node *n = mtl__record(t, "slice", slice_backward, y, 1, (mtl_tensor *[]){x});
    if (n) {
        n->iarg[0] = a;
        n->iarg[1] = start;
        n->iarg[2] = len;
    }
    return y;
}

/* ---- reshape ---------------------------------------------------------------------- */

static void reshape_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    bool fresh;
    float *dx = mtl__grad_fresh(t, x, &fresh);
    if (dx && fresh) copy_flat(dx, n->out->grad, x->size);
    else if (dx) add_flat(dx, n->out->grad, x->size);
}

mtl_tensor *mtl_reshape(mtl_tape *t, mtl_tensor *x, mtl_shape shape) {
    if (!mtl__inputs_ok(t, "reshape", 1, x)) return NULL;
    char sx[64], sn[64];
    /* as in PyTorch, one dim may be -1: inferred from the others */
    int infer = -1;
    int64_t known = 1;
    bool ok = shape.ndim >= 0 && shape.ndim <= MTL_MAX_DIMS;
    for (int k = 0; ok && k < shape.ndim; k++) {
        if (shape.d[k] == -1 && infer < 0) infer = k;
        else if (shape.d[k] < 0) ok = false;
        else if (shape.d[k] == 0) known = 0;
        else known = known > INT64_MAX / shape.d[k] ? INT64_MAX : known * shape.d[k]; /* saturates: no match */
    }
    if (ok && infer >= 0) {
        if (known == 0 || x->size % known != 0 || x->size / known > 0x7fffffff) ok = false;
        else shape.d[infer] = (int)(x->size / known);
    }
    if (!ok || mtl_shape_size(shape) != x->size) {
        if (shape.ndim < 0 || shape.ndim > MTL_MAX_DIMS)
            return mtl__fail(t, MTL_ERR_SHAPE, "reshape: new shape has %d dims (0 to %d allowed)", shape.ndim, MTL_MAX_DIMS);
        return mtl__fail(t, MTL_ERR_SHAPE, "reshape: cannot reshape %s (%lld elements) into %s",
                         mtl_shape_str(mtl_tensor_shape(x), sx, sizeof sx), (long long)x->size,
                         mtl_shape_str(shape, sn, sizeof sn));
    }
    /* a view: the same data under the new shape (ops never write into their inputs) */
    mtl_tensor *y = mtl_tensor_wrap(t, shape, x->data);
    if (!y) return NULL;
    mtl__record(t, "reshape", reshape_backward, y, 1, (mtl_tensor *[]){x});
    return y;
}
