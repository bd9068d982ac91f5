/* Element-wise ops and reductions: add and mul with NumPy broadcasting, affine,
 * channel scaling (channel attention), mean and sum over one axis.
 *
 * Broadcasting: both shapes are right-aligned and padded to 4 dims; dims of size 1
 * in the output are dropped and neighbouring dims in which each operand broadcasts
 * (or not) alike are merged, so equal shapes become one flat loop and x[N,C,L] +
 * b[1,C,1] becomes rows of L with a scalar per row. One strided 4-d walker does the
 * rest: the forward runs over rows of the output, the backward accumulates the
 * output gradient into each input's gradient in a fixed order (parallel only over a
 * dim in which that input does not broadcast), so results never depend on threads. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"

/* ---- helpers ------------------------------------------------------------------- */

/* sum of x[0..n) with 8 partial sums combined in a fixed order */
static float sum_f(const float *x, int64_t n) {
    float p[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) p[k] += x[i + k];
    for (; i < n; i++) p[i & 7] += x[i];
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* dot product of a[0..n) and b[0..n), same order as sum_f */
static float dot_f(const float *a, const float *b, int64_t n) {
    float p[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) p[k] += a[i + k] * b[i + k];
    for (; i < n; i++) p[i & 7] += a[i] * b[i];
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* g[i] += dy[i] for i in [0, n), parallel (each element written by one thread) */
static void add_into(float *g, const float *dy, int64_t n) {
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)n))
    for (int64_t i = 0; i < n; i++) g[i] += dy[i];
}

/* the first writer of a gradient buffer: a copy instead of zero-fill and add */
static void copy_into(float *restrict g, const float *restrict dy, int64_t n) {
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)n))
    for (int64_t i = 0; i < n; i++) g[i] = dy[i];
}

/* ---- broadcasting plan --------------------------------------------------------- */

typedef struct {
    int64_t d[4];          /* merged output dims (leading 1s) */
    int64_t sy[4];         /* output strides (contiguous) */
    int64_t sa[4], sb[4];  /* operand strides, 0 where the operand broadcasts */
} bplan;

/* Fills the output shape and the plan; false if the shapes do not broadcast. */
static bool bplan_make(const mtl_tensor *a, const mtl_tensor *b, mtl_shape *ys, bplan *p) {
    int64_t ad[4], bd[4], yd[4];
    for (int k = 0; k < 4; k++) {
        int ka = k - (4 - a->ndim), kb = k - (4 - b->ndim);
        ad[k] = ka >= 0 ? a->shape[ka] : 1;
        bd[k] = kb >= 0 ? b->shape[kb] : 1;
        if (ad[k] == bd[k] || bd[k] == 1) yd[k] = ad[k];
        else if (ad[k] == 1) yd[k] = bd[k];
        else return false;
    }
    ys->ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int k = 0; k < ys->ndim; k++) ys->d[k] = (int)yd[4 - ys->ndim + k];
    /* merge: drop output dims of 1, join neighbours with the same broadcast flags */
    int64_t md[4];
    bool fa[4], fb[4];
    int m = 0;
    for (int k = 0; k < 4; k++) {
        if (yd[k] == 1) continue;
        bool ba = ad[k] == 1, bb = bd[k] == 1;
        if (m > 0 && fa[m - 1] == ba && fb[m - 1] == bb) {
            md[m - 1] *= yd[k];
        } else {
            md[m] = yd[k], fa[m] = ba, fb[m] = bb;
            m++;
        }
    }
    int64_t ya = 1, sa = 1, sb = 1;
    for (int k = 3; k >= 0; k--) {
        int j = k - (4 - m); /* index into the merged dims, < 0 for leading 1s */
        p->d[k] = j >= 0 ? md[j] : 1;
        bool ba = j >= 0 ? fa[j] : true, bb = j >= 0 ? fb[j] : true;
        p->sy[k] = ya;
        p->sa[k] = ba ? 0 : sa;
        p->sb[k] = bb ? 0 : sb;
        ya *= p->d[k];
        if (!ba) sa *= p->d[k];
        if (!bb) sb *= p->d[k];
    }
    return true;
}

enum { OP_ADD, OP_MUL };

/* y[r, lo..hi) = a op b over one output row r of the inner dim */
static void bc_row(int op, float *y, const float *a, int64_t sa, const float *b, int64_t sb, int64_t lo, int64_t hi) {
    if (sa && sb) {
        if (op == OP_ADD)
            for (int64_t l = lo; l < hi; l++) y[l] = a[l] + b[l];
        else
            for (int64_t l = lo; l < hi; l++) y[l] = a[l] * b[l];
    } else if (sa) {
        float s = b[0];
        if (op == OP_ADD)
            for (int64_t l = lo; l < hi; l++) y[l] = a[l] + s;
        else
            for (int64_t l = lo; l < hi; l++) y[l] = a[l] * s;
    } else if (sb) {
        float s = a[0];
        if (op == OP_ADD)
            for (int64_t l = lo; l < hi; l++) y[l] = s + b[l];
        else
            for (int64_t l = lo; l < hi; l++) y[l] = s * b[l];
    } else {
        float v = op == OP_ADD ? a[0] + b[0] : a[0] * b[0];
        for (int64_t l = lo; l < hi; l++) y[l] = v;
    }
}

static void bc_forward(int op, const bplan *p, float *y, const float *a, const float *b) {
    int64_t rows = p->d[0] * p->d[1] * p->d[2], L = p->d[3];
    double work = (double)rows * (double)L;
    if (work <= 0) return;
    int nt = mtl_threads_for(work);
    /* few long rows (e.g. equal shapes, merged to one row): split the rows too */
    int64_t chunks = rows < 4 * nt ? (L + 8191) / 8192 : 1;
    int64_t tasks = rows * chunks;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t task = 0; task < tasks; task++) {
        int64_t r = task / chunks, c = task % chunks;
        int64_t i2 = r % p->d[2], i1 = (r / p->d[2]) % p->d[1], i0 = r / (p->d[2] * p->d[1]);
        const float *pa = a + i0 * p->sa[0] + i1 * p->sa[1] + i2 * p->sa[2];
        const float *pb = b + i0 * p->sb[0] + i1 * p->sb[1] + i2 * p->sb[2];
        bc_row(op, y + r * L, pa, p->sa[3], pb, p->sb[3], L * c / chunks, L * (c + 1) / chunks);
    }
}

/* g[G] += dy[Y] * (m ? m[M] : 1) over the index space d. Every element of g sums its
 * contributions in the lexicographic order of the output index; threads split a dim
 * in which g does not broadcast, so no two threads touch one element of g. */
static void bc_accum(const int64_t d[4], const int64_t sy[4], float *g, const int64_t G[4], const float *dy,
                     const float *m, const int64_t M[4]) {
    double work = (double)d[0] * d[1] * d[2] * d[3];
    if (work <= 0) return;
    int pd = -1;
    for (int k = 0; k < 4; k++)
        if (G[k] && d[k] > 1 && (pd < 0 || d[k] > d[pd])) pd = k;
    int64_t tasks = 1;
    if (pd >= 0) {
        tasks = mtl_threads_for(work);
        if (tasks > d[pd]) tasks = d[pd];
    }
    static const int64_t zero[4] = {0, 0, 0, 0};
    if (!M) M = zero;
#pragma omp parallel for schedule(static) num_threads((int)tasks)
    for (int64_t task = 0; task < tasks; task++) {
        int64_t lo[4] = {0, 0, 0, 0}, hi[4] = {d[0], d[1], d[2], d[3]};
        if (pd >= 0) lo[pd] = d[pd] * task / tasks, hi[pd] = d[pd] * (task + 1) / tasks;
        for (int64_t i0 = lo[0]; i0 < hi[0]; i0++)
            for (int64_t i1 = lo[1]; i1 < hi[1]; i1++)
                for (int64_t i2 = lo[2]; i2 < hi[2]; i2++) {
                    const float *py = dy + i0 * sy[0] + i1 * sy[1] + i2 * sy[2];
                    float *pg = g + i0 * G[0] + i1 * G[1] + i2 * G[2];
                    const float *pm = m ? m + i0 * M[0] + i1 * M[1] + i2 * M[2] : NULL;
                    int64_t l0 = lo[3], l1 = hi[3];
                    if (G[3]) { /* g does not broadcast in the inner dim: stride 1 */
                        if (!pm)
                            for (int64_t l = l0; l < l1; l++) pg[l] += py[l];
                        else if (M[3])
                            for (int64_t l = l0; l < l1; l++) pg[l] += py[l] * pm[l];
                        else
                            for (int64_t l = l0; l < l1; l++) pg[l] += py[l] * pm[0];
                    } else { /* g broadcasts over the inner dim: one sum per row */
                        float s;
                        if (!pm) s = sum_f(py + l0, l1 - l0);
                        else if (M[3]) s = dot_f(py + l0, pm + l0, l1 - l0);
                        else s = sum_f(py + l0, l1 - l0) * pm[0];
                        pg[0] += s;
                    }
                }
    }
}

/* ---- add, mul ------------------------------------------------------------------ */

static void binary_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *a = n->in[0], *b = n->in[1];
    int op = (int)n->iarg[0];
    bplan p;
    mtl_shape ys;
    bplan_make(a, b, &ys, &p);
    const float *dy = n->out->grad;
    mtl_tensor *in[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        mtl_tensor *x = in[k], *other = in[1 - k];
        bool fresh;
        float *dx = mtl__grad_fresh(t, x, &fresh);
        if (!dx) continue;
        if (op == OP_ADD && x->size == n->out->size) { /* the whole of dy: a new buffer takes a copy */
            if (fresh) copy_into(dx, dy, x->size);
            else add_into(dx, dy, x->size);
            continue;
        }
        if (fresh) memset(dx, 0, (size_t)x->size * sizeof *dx);
        bc_accum(p.d, p.sy, dx, k ? p.sb : p.sa, dy, op == OP_MUL ? other->data : NULL, k ? p.sa : p.sb);
    }
}

static mtl_tensor *binary(mtl_tape *t, int op, mtl_tensor *a, mtl_tensor *b) {
    const char *name = op == OP_ADD ? "add" : "mul";
    if (!mtl__inputs_ok(t, name, 2, a, b)) return NULL;
    bplan p;
    mtl_shape ys;
    if (!bplan_make(a, b, &ys, &p)) {
        char sa[64], sb[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "%s: shapes %s and %s cannot be broadcast together", name,
                         mtl_shape_str(mtl_tensor_shape(a), sa, sizeof sa),
                         mtl_shape_str(mtl_tensor_shape(b), sb, sizeof sb));
    }
    mtl_tensor *y = mtl__new(t, ys);
    if (!y) return NULL;
    bc_forward(op, &p, y->data, a->data, b->data);
    mtl_node *n = mtl__record(t, name, binary_backward, y, 2, (mtl_tensor *[]){a, b});
    if (n) n->iarg[0] = op;
    return y;
}

mtl_tensor *mtl_add(mtl_tape *t, mtl_tensor *a, mtl_tensor *b) { return binary(t, OP_ADD, a, b); }
mtl_tensor *mtl_mul(mtl_tape *t, mtl_tensor *a, mtl_tensor *b) { return binary(t, OP_MUL, a, b); }

/* ---- affine -------------------------------------------------------------------- */

static void affine_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    float *dx = mtl__grad(t, x);
    if (!dx) return;
    const float *dy = n->out->grad;
    float scale = n->farg[0];
    int64_t N = x->size;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)N))
    for (int64_t i = 0; i < N; i++) dx[i] += scale * dy[i];
}

mtl_tensor *mtl_affine(mtl_tape *t, mtl_tensor *x, float scale, float shift) {
    if (!mtl__inputs_ok(t, "affine", 1, x)) return NULL;
    if (!isfinite(scale) || !isfinite(shift))
        return mtl__fail(t, MTL_ERR_NUMERIC, "affine: scale (%g) and shift (%g) must be finite", scale, shift);
    mtl_tensor *y = mtl__new(t, mtl_tensor_shape(x));
    if (!y) return NULL;
    const float *xd = x->data;
    float *yd = y->data;
    int64_t N = x->size;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)N))
    for (int64_t i = 0; i < N; i++) yd[i] = scale * xd[i] + shift;
    mtl_node *n = mtl__record(t, "affine", affine_backward, y, 1, (mtl_tensor *[]){x});
    if (n) n->farg[0] = scale;
    return y;
}

/* ---- scale_channels ------------------------------------------------------------ */

static void scale_channels_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0], *s = n->in[1];
    int64_t rows = n->iarg[0], L = n->iarg[1];
    const float *dy = n->out->grad, *xd = x->data, *sd = s->data;
    float *dx = mtl__grad(t, x), *ds = mtl__grad(t, s);
    if (!dx && !ds) return;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * L * 2))
    for (int64_t r = 0; r < rows; r++) {
        const float *g = dy + r * L;
        if (dx) {
            float *d = dx + r * L, v = sd[r];
            for (int64_t l = 0; l < L; l++) d[l] += g[l] * v;
        }
        if (ds) ds[r] += dot_f(g, xd + r * L, L);
    }
}

mtl_tensor *mtl_scale_channels(mtl_tape *t, mtl_tensor *x, mtl_tensor *s) {
    if (!mtl__inputs_ok(t, "scale_channels", 2, x, s)) return NULL;
    if (x->ndim != 3)
        return mtl__fail(t, MTL_ERR_SHAPE, "scale_channels: x must be [N, C, L], got a %d-d tensor", x->ndim);
    if (s->ndim != 2 || s->shape[0] != x->shape[0] || s->shape[1] != x->shape[1]) {
        char buf[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "scale_channels: s must be [%d, %d] for x [%d, %d, %d], got %s", x->shape[0],
                         x->shape[1], x->shape[0], x->shape[1], x->shape[2],
                         mtl_shape_str(mtl_tensor_shape(s), buf, sizeof buf));
    }
    int64_t rows = (int64_t)x->shape[0] * x->shape[1], L = x->shape[2];
    mtl_tensor *y = mtl__new(t, mtl_tensor_shape(x));
    if (!y) return NULL;
    const float *xd = x->data, *sd = s->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * L))
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = xd + r * L;
        float *yr = yd + r * L, v = sd[r];
        for (int64_t l = 0; l < L; l++) yr[l] = xr[l] * v;
    }
    mtl_node *n = mtl__record(t, "scale_channels", scale_channels_backward, y, 2, (mtl_tensor *[]){x, s});
    if (n) {
        n->iarg[0] = rows;
        n->iarg[1] = L;
    }
    return y;
}

/* ---- mean, sum ----------------------------------------------------------------- */

/* x viewed as [outer, n, inner]: y[o, i] = scale * sum_k x[o, k, i] */
static void reduce_forward(const float *x, float *y, int64_t outer, int64_t n, int64_t inner, bool mean) {
    double work = (double)outer * n * inner;
    int nt = mtl_threads_for(work);
    float div = n > 0 ? (float)n : NAN; /* the mean over an empty axis is NaN, as in PyTorch */
    if (inner == 1) {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t o = 0; o < outer; o++) {
            float s = sum_f(x + o * n, n);
            y[o] = mean ? s / div : s;
        }
        return;
    }
    /* rows of `inner` accumulate row by row; split inner when outer is small */
    int64_t chunks = outer < 4 * nt ? (inner + 2047) / 2048 : 1;
    int64_t tasks = outer * chunks;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t task = 0; task < tasks; task++) {
        int64_t o = task / chunks, c = task % chunks;
        int64_t lo = inner * c / chunks, hi = inner * (c + 1) / chunks;
        float *yr = y + o * inner;
        const float *xo = x + o * n * inner;
        for (int64_t i = lo; i < hi; i++) yr[i] = 0.0f;
        for (int64_t k = 0; k < n; k++) {
            const float *xr = xo + k * inner;
            for (int64_t i = lo; i < hi; i++) yr[i] += xr[i];
        }
        if (mean)
            for (int64_t i = lo; i < hi; i++) yr[i] /= div;
    }
}

static void reduce_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    bool fresh; /* a new buffer (every element is written): store instead of zero-fill and add */
    float *dx = mtl__grad_fresh(t, x, &fresh);
    if (!dx) return;
    int64_t outer = n->iarg[0], len = n->iarg[1], inner = n->iarg[2];
    bool mean = n->iarg[3];
    const float *dy = n->out->grad;
    float w = mean && len > 0 ? 1.0f / (float)len : 1.0f; /* with len 0, x has no elements */
    int64_t rows = outer * len;
    if (inner == 1) { /* over the last axis (e.g. mean over length): one broadcast value per run of len */
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows))
        for (int64_t o = 0; o < outer; o++) {
            float g = mean ? dy[o] * w : dy[o];
            float *restrict d = dx + o * len;
            if (fresh)
                for (int64_t k = 0; k < len; k++) d[k] = g;
            else
                for (int64_t k = 0; k < len; k++) d[k] += g;
        }
        return;
    }
    if (fresh) memset(dx, 0, (size_t)x->size * sizeof *dx);
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * inner))
    for (int64_t r = 0; r < rows; r++) {
        const float *g = dy + (r / len) * inner;
        float *d = dx + r * inner;
        if (mean)
            for (int64_t i = 0; i < inner; i++) d[i] += g[i] * w;
        else
            for (int64_t i = 0; i < inner; i++) d[i] += g[i];
    }
}

static mtl_tensor *reduce(mtl_tape *t, const char *name, mtl_tensor *x, int axis, bool keepdim, bool mean) {
    if (!mtl__inputs_ok(t, name, 1, x)) return NULL;
    int a = mtl__axis(t, name, x, axis);
    if (a < 0) return NULL;
    int64_t outer = 1, inner = 1, len = x->shape[a];
    for (int k = 0; k < a; k++) outer *= x->shape[k];
    for (int k = a + 1; k < x->ndim; k++) inner *= x->shape[k];
    mtl_shape ys = {0, {0}};
    for (int k = 0; k < x->ndim; k++) {
        if (k == a && !keepdim) continue;
        ys.d[ys.ndim++] = k == a ? 1 : x->shape[k];
    }
    mtl_tensor *y = mtl__new(t, ys);
    if (!y) return NULL;
    reduce_forward(x->data, y->data, outer, len, inner, mean);
    mtl_node *n = mtl__record(t, name, reduce_backward, y, 1, (mtl_tensor *[]){x});
    if (n) {
        n->iarg[0] = outer;
        n->iarg[1] = len;
        n->iarg[2] = inner;
        n->iarg[3] = mean;
    }
    return y;
}

mtl_tensor *mtl_mean(mtl_tape *t, mtl_tensor *x, int axis, bool keepdim) { return reduce(t, "mean", x, axis, keepdim, true); }
mtl_tensor *mtl_sum(mtl_tape *t, mtl_tensor *x, int axis, bool keepdim) { return reduce(t, "sum", x, axis, keepdim, false); }
