/* Losses: cross entropy on class indices, binary cross entropy on logits, mean squared
 * and mean absolute error. Each returns a 0-d tensor, the mean over its terms
 * (PyTorch's reduction='mean'). Sums run over fixed chunks in double and the chunks
 * are added in order, so the result does not depend on the number of threads. */
#include <math.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "ops/scalar.h"
#include "core/blas.h"

#define EXP_COST 8.0 /* multiply-adds per exp/log, for mtl_threads_for */
#define MAX_CHUNKS 256
#define MIN_CHUNK_WORK 16384.0 /* multiply-adds in the smallest chunk worth a thread */

/* sum of fn(ctx, i0, i1) over consecutive ranges [i0, i1) covering [0, n) */
typedef double (*range_sum_fn)(const void *ctx, int64_t i0, int64_t i1);

static double chunked_sum(range_sum_fn fn, const void *ctx, int64_t n, double work_per_item) {
    int64_t chunk = (n + MAX_CHUNKS - 1) / MAX_CHUNKS, min_chunk = (int64_t)(MIN_CHUNK_WORK / work_per_item) + 1;
    if (chunk < min_chunk) chunk = min_chunk;
    int nch = (int)((n + chunk - 1) / chunk);
    double part[MAX_CHUNKS];
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(work_per_item * n))
    for (int c = 0; c < nch; c++) {
        int64_t i0 = c * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
        part[c] = fn(ctx, i0, i1);
    }
    double s = 0.0;
    for (int c = 0; c < nch; c++) s += part[c];
    return s;
}

/* the 0-d output holding `value` */
static mtl_tensor *scalar_out(mtl_tape *t, double value) {
    mtl_tensor *y = mtl__new(t, MTL_SCALAR_SHAPE);
    if (y) y->data[0] = (float)value;
    return y;
}

/* ---- cross entropy ----------------------------------------------------------------- */

typedef struct {
    const float *x;
    const int32_t *target;
    float *rmax, *rlog; /* per row: max and log sum exp(x - max), kept for backward (NULL when not recording) */
    int C;
} ce_ctx;

/* sum over rows of logsumexp(x_r) - x_r[target_r] */
static double ce_rows(const void *p, int64_t r0, int64_t r1) {
    const ce_ctx *c = p;
    double total = 0.0;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = c->x + r * c->C;
        float m = x[0];
        for (int k = 1; k < c->C; k++) m = x[k] > m ? x[k] : m;
        double s = 0.0;
        for (int k = 0; k < c->C; k++) s += expf(x[k] - m);
        double log_s = log(s);
        if (c->rmax) c->rmax[r] = m, c->rlog[r] = (float)log_s;
        total += ((double)m - x[c->target[r]]) + log_s;
    }
    return total;
}

/* iarg: N, C; saved: int32 targets[N], then float row max[N] and log-sum[N]. The
 * softmax is exp((x - max) - log-sum): x - max is exact near the max, where adding
 * the two back together in float would lose the low bits for large logits. */
static void ce_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    float *dx = mtl__grad(t, x);
    if (!dx) return;
    int64_t N = n->iarg[0];
    int C = (int)n->iarg[1];
    const int32_t *target = n->saved;
    const float *rmax = (const float *)(target + N), *rlog = rmax + N;
    float g = n->out->grad[0] / (float)N;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(EXP_COST * N * C))
    for (int64_t r = 0; r < N; r++) {
        const float *xr = x->data + r * C;
        float *dr = dx + r * C;
        for (int k = 0; k < C; k++) dr[k] += g * expf((xr[k] - rmax[r]) - rlog[r]);
        dr[target[r]] -= g;
    }
}

mtl_tensor *mtl_cross_entropy(mtl_tape *t, mtl_tensor *logits, const int32_t *target) {
    if (!mtl__inputs_ok(t, "cross_entropy", 1, logits)) return NULL;
    if (!target) return mtl__fail(t, MTL_ERR_ARG, "cross_entropy: target is NULL");
    if (logits->ndim != 2 || logits->shape[0] < 1 || logits->shape[1] < 1)
        return mtl__fail(t, MTL_ERR_SHAPE, "cross_entropy: logits must be [N, C] with N, C >= 1, got a %d-d tensor%s",
                         logits->ndim, logits->ndim == 2 ? " with an empty dim" : "");
    int64_t N = logits->shape[0];
    int C = logits->shape[1];
    for (int64_t r = 0; r < N; r++)
        if (target[r] < 0 || target[r] >= C)
            return mtl__fail(t, MTL_ERR_RANGE, "cross_entropy: target[%lld] = %d is outside [0, %d)", (long long)r,
                             (int)target[r], C);
    mtl_tensor *y = mtl__new(t, MTL_SCALAR_SHAPE);
    if (!y) return NULL;
    mtl_node *n = mtl__record(t, "cross_entropy", ce_backward, y, 1, (mtl_tensor *[]){logits});
    ce_ctx c = {.x = logits->data, .target = target, .rmax = NULL, .rlog = NULL, .C = C};
    if (n) { /* the targets are copied: the caller's array need not outlive the step */
        int32_t *saved = mtl__alloc(t, (size_t)N * (sizeof(int32_t) + 2 * sizeof(float)));
        if (!saved) return NULL;
        memcpy(saved, target, (size_t)N * sizeof(int32_t));
        c.rmax = (float *)(saved + N);
        c.rlog = c.rmax + N;
        n->saved = saved;
        n->iarg[0] = N;
        n->iarg[1] = C;
    }
    y->data[0] = (float)(chunked_sum(ce_rows, &c, N, EXP_COST * C) / (double)N);
    return y;
}

/* ---- binary cross entropy with logits ------------------------------------------------ */

typedef struct {
    const float *x, *y;
} pair_ctx;

/* max(x,0) - x y + log(1 + e^-|x|): the stable form of -(y log s(x) + (1-y) log(1-s(x))) */
static double bce_terms(const void *p, int64_t i0, int64_t i1) {
    const pair_ctx *c = p;
    double s = 0.0;
    for (int64_t i = i0; i < i1; i++) {
        float x = c->x[i], y = c->y[i];
        s += (double)(x > 0.0f ? x : 0.0f) - (double)x * y + log1p(exp(-fabs((double)x)));
    }
    return s;
}

/* iarg: N; saved: float targets[N] */
static void bce_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *x = n->in[0];
    float *dx = mtl__grad(t, x);
    if (!dx) return;
    int64_t N = n->iarg[0];
    const float *target = n->saved;
    float g = n->out->grad[0] / (float)N;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(EXP_COST * N))
    for (int64_t i = 0; i < N; i++) dx[i] += g * (mtl__sigmoid1(x->data[i]) - target[i]);
}

mtl_tensor *mtl_bce_with_logits(mtl_tape *t, mtl_tensor *logits, const float *target) {
    if (!mtl__inputs_ok(t, "bce_with_logits", 1, logits)) return NULL;
    if (!target) return mtl__fail(t, MTL_ERR_ARG, "bce_with_logits: target is NULL");
    if (!((logits->ndim == 1) || (logits->ndim == 2 && logits->shape[1] == 1)) || logits->shape[0] < 1)
        return mtl__fail(t, MTL_ERR_SHAPE, "bce_with_logits: logits must be [N] or [N, 1] with N >= 1, got a %d-d tensor",
                         logits->ndim);
    int64_t N = logits->shape[0];
    for (int64_t i = 0; i < N; i++) {
        if (isnan(target[i]))
            return mtl__fail(t, MTL_ERR_NUMERIC, "bce_with_logits: target[%lld] is NaN", (long long)i);
        if (!(target[i] >= 0.0f && target[i] <= 1.0f))
            return mtl__fail(t, MTL_ERR_RANGE, "bce_with_logits: target[%lld] = %g is outside [0, 1]", (long long)i,
                             (double)target[i]);
    }
    pair_ctx c = {logits->data, target};
    mtl_tensor *y = scalar_out(t, chunked_sum(bce_terms, &c, N, 2 * EXP_COST) / (double)N);
    if (!y) return NULL;
    mtl_node *n = mtl__record(t, "bce_with_logits", bce_backward, y, 1, (mtl_tensor *[]){logits});
    if (n) { /* the targets are copied: the caller's array need not outlive the step */
        float *saved = mtl__alloc(t, (size_t)N * sizeof(float));
        if (!saved) return NULL;
        memcpy(saved, target, (size_t)N * sizeof(float));
        n->saved = saved;
        n->iarg[0] = N;
    }
    return y;
}

/* ---- mse, l1 ----------------------------------------------------------------------- */

static double sq_terms(const void *p, int64_t i0, int64_t i1) {
    const pair_ctx *c = p;
    double s = 0.0;
    for (int64_t i = i0; i < i1; i++) {
        double d = (double)c->x[i] - c->y[i];
        s += d * d;
    }
    return s;
}

static double abs_terms(const void *p, int64_t i0, int64_t i1) {
    const pair_ctx *c = p;
    double s = 0.0;
    for (int64_t i = i0; i < i1; i++) s += fabs((double)c->x[i] - c->y[i]);
    return s;
}

/* iarg[0]: 1 for L1, 0 for MSE. d/da = 2(a-b)/n (MSE) or sign(a-b)/n (L1, sign(0) = 0); d/db = -d/da */
static void diff_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *a = n->in[0], *b = n->in[1];
    float *da = mtl__grad(t, a), *db = mtl__grad(t, b);
    int64_t size = a->size;
    bool l1 = n->iarg[0];
    float g = n->out->grad[0] / (float)size;
    const float *ad = a->data, *bd = b->data;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * size))
    for (int64_t i = 0; i < size; i++) {
        float d = ad[i] - bd[i];
        float v = l1 ? g * (float)((d > 0.0f) - (d < 0.0f)) : 2.0f * g * d;
        if (da) da[i] += v;
        if (db) db[i] -= v;
    }
}

static mtl_tensor *diff_loss(mtl_tape *t, const char *op, mtl_tensor *a, mtl_tensor *b, bool l1) {
    if (!mtl__inputs_ok(t, op, 2, a, b)) return NULL;
    if (!mtl_shape_equal(mtl_tensor_shape(a), mtl_tensor_shape(b))) {
        char sa[64], sb[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "%s: shapes differ: %s and %s", op,
                         mtl_shape_str(mtl_tensor_shape(a), sa, sizeof sa),
                         mtl_shape_str(mtl_tensor_shape(b), sb, sizeof sb));
    }
    if (a->size < 1) return mtl__fail(t, MTL_ERR_SHAPE, "%s: the inputs are empty (a mean needs one element)", op);
    pair_ctx c = {a->data, b->data};
    mtl_tensor *y = scalar_out(t, chunked_sum(l1 ? abs_terms : sq_terms, &c, a->size, 2.0) / (double)a->size);
    if (!y) return NULL;
    mtl_node *n = mtl__record(t, op, diff_backward, y, 2, (mtl_tensor *[]){a, b});
    if (n) n->iarg[0] = l1;
    return y;
}

mtl_tensor *mtl_mse(mtl_tape *t, mtl_tensor *a, mtl_tensor *b) { return diff_loss(t, "mse", a, b, false); }
mtl_tensor *mtl_l1(mtl_tape *t, mtl_tensor *a, mtl_tensor *b) { return diff_loss(t, "l1", a, b, true); }
