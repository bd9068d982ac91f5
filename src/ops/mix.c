/* Per-row mixtures for gates and attention: y[n] = sum_e w[n,e] v[n,e,:] (a gate mixing
 * experts) and s[n,e] = v[n,e,:] . q[n,:] (attention scores). As batched matmuls these
 * would be N tiny GEMM calls; as loops they are one pass over v. */
#include <omp.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"

/* the row workers get an AVX-512 clone, chosen when the library loads */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define CLONES
#endif

/* a . b over n floats in 16 independent partial sums (one float accumulator cannot be
 * vectorised without reordering the sum; this order is fixed, so the result does not
 * depend on the clone or the thread count) */
static inline float dot(const float *a, const float *b, int n) {
    float acc[16] = {0};
    int u = 0;
    for (; u + 16 <= n; u += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[u + j] * b[u + j];
    for (int j = 0; u + j < n; j++) acc[j] += a[u + j] * b[u + j];
    float s = 0;
    for (int j = 0; j < 16; j++) s += acc[j];
    return s;
}

/* rows [n0, n1) of each pass; w [N,E], v [N,E,U], q/y/dy [N,U] */
CLONES static void mix_rows(const float *base, const float *w, const float *v, float *y, int n0, int n1, int E,
                            int U) {
    for (int n = n0; n < n1; n++) {
        float *o = y + (size_t)n * U;
        if (base)
            for (int u = 0; u < U; u++) o[u] = base[(size_t)n * U + u];
        else
            for (int u = 0; u < U; u++) o[u] = 0;
        for (int e = 0; e < E; e++) {
            float a = w[(size_t)n * E + e];
            const float *vr = v + ((size_t)n * E + e) * U;
            for (int u = 0; u < U; u++) o[u] += a * vr[u];
        }
    }
}

CLONES static void mix_grad_rows(const float *w, const float *v, const float *dy, float *dw, float *dv, int n0,
                                 int n1, int E, int U) {
    for (int n = n0; n < n1; n++) {
        const float *g = dy + (size_t)n * U;
        for (int e = 0; e < E; e++) {
            const float *vr = v + ((size_t)n * E + e) * U;
            if (dw) dw[(size_t)n * E + e] += dot(g, vr, U);
            if (dv) {
                float a = w[(size_t)n * E + e], *d = dv + ((size_t)n * E + e) * U;
                for (int u = 0; u < U; u++) d[u] += a * g[u];
            }
        }
    }
}

CLONES static void rowdot_rows(const float *v, const float *q, float *s, int n0, int n1, int E, int U) {
    for (int n = n0; n < n1; n++)
        for (int e = 0; e < E; e++) s[(size_t)n * E + e] = dot(v + ((size_t)n * E + e) * U, q + (size_t)n * U, U);
}

CLONES static void rowdot_grad_rows(const float *v, const float *q, const float *ds, float *dv, float *dq, int n0,
                                    int n1, int E, int U) {
    for (int n = n0; n < n1; n++) {
        const float *qr = q + (size_t)n * U;
        float *dqr = dq ? dq + (size_t)n * U : NULL;
        for (int e = 0; e < E; e++) {
            float g = ds[(size_t)n * E + e];
            const float *vr = v + ((size_t)n * E + e) * U;
            if (dv) {
                float *d = dv + ((size_t)n * E + e) * U;
                for (int u = 0; u < U; u++) d[u] += g * qr[u];
            }
            if (dqr)
                for (int u = 0; u < U; u++) dqr[u] += g * vr[u];
        }
    }
}

/* runs `call` on row ranges [n0, n1), one contiguous range per thread the work is worth
 * (no parallel region for one thread: small batches, single-row scoring) */
#define ROWS_PARALLEL(N, work, call)                                                                                \
    do {                                                                                                            \
        int nt_ = mtl_threads_for(work);                                                                            \
        if (nt_ <= 1) {                                                                                             \
            int n0 = 0, n1 = (N);                                                                                   \
            call;                                                                                                   \
            break;                                                                                                  \
        }                                                                                                           \
        _Pragma("omp parallel num_threads(nt_)")                                                                    \
        {                                                                                                           \
            int th_ = omp_get_thread_num(), k_ = omp_get_num_threads();                                             \
            int n0 = (int)((int64_t)(N) * th_ / k_), n1 = (int)((int64_t)(N) * (th_ + 1) / k_);                     \
            call;                                                                                                   \
        }                                                                                                           \
    } while (0)

static bool shapes_ok(mtl_tape *t, const char *op, const mtl_tensor *v, const mtl_tensor *o, int o_last) {
    char b1[64], b2[64];
    if (v->ndim != 3 || o->ndim != 2 || o->shape[0] != v->shape[0] || o->shape[1] != o_last) {
        mtl__fail(t, MTL_ERR_SHAPE, "%s: expected v [N,E,U] with %s, got %s and %s", op,
                  o_last == v->shape[1] ? "w [N,E]" : "q [N,U]", mtl_shape_str(mtl_tensor_shape(v), b1, sizeof b1),
                  mtl_shape_str(mtl_tensor_shape(o), b2, sizeof b2));
        return false;
    }
    return true;
}

static void mix_backward(mtl_tape *t, mtl_node *nd) {
    mtl_tensor *w = nd->in[0], *v = nd->in[1], *base = nd->nin > 2 ? nd->in[2] : NULL;
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    const float *dy = nd->out->grad;
    float *dw = mtl__grad(t, w), *dv = mtl__grad(t, v);
    ROWS_PARALLEL(N, 2.0 * N * E * U, mix_grad_rows(w->data, v->data, dy, dw, dv, n0, n1, E, U));
    bool fresh; /* (after w's and v's: a base that is one of them is then not fresh) */
    float *db = base ? mtl__grad_fresh(t, base, &fresh) : NULL;
    if (!db) return;
    int64_t size = (int64_t)N * U;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)size))
    for (int64_t i = 0; i < size; i++) db[i] = fresh ? dy[i] : db[i] + dy[i];
}

static mtl_tensor *mix_op(mtl_tape *t, const char *op, mtl_tensor *base, mtl_tensor *w, mtl_tensor *v) {
    if (!mtl__inputs_ok(t, op, base ? 3 : 2, w, v, base)) return NULL;
    if (!shapes_ok(t, op, v, w, v->ndim == 3 ? v->shape[1] : -1)) return NULL;
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    char b1[64];
    if (base && (base->ndim != 2 || base->shape[0] != N || base->shape[1] != U))
        return mtl__fail(t, MTL_ERR_SHAPE, "%s: base must be [%d,%d] like the mixture, got %s", op, N, U,
                         mtl_shape_str(mtl_tensor_shape(base), b1, sizeof b1));
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(N, U));
    if (!y) return NULL;
    const float *bd = base ? base->data : NULL;
    ROWS_PARALLEL(N, 2.0 * N * E * U, mix_rows(bd, w->data, v->data, y->data, n0, n1, E, U));
    mtl__record(t, op, mix_backward, y, base ? 3 : 2, (mtl_tensor *[]){w, v, base});
    return y;
}

mtl_tensor *mtl_mix(mtl_tape *t, mtl_tensor *w, mtl_tensor *v) { return mix_op(t, "mix", NULL, w, v); }

mtl_tensor *mtl_mix_add(mtl_tape *t, mtl_tensor *base, mtl_tensor *w, mtl_tensor *v) {
    return mix_op(t, "mix_add", base, w, v);
}

static void rowdot_backward(mtl_tape *t, mtl_node *nd) {
    mtl_tensor *v = nd->in[0], *q = nd->in[1];
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    const float *ds = nd->out->grad;
    float *dv = mtl__grad(t, v), *dq = mtl__grad(t, q);
    ROWS_PARALLEL(N, 2.0 * N * E * U, rowdot_grad_rows(v->data, q->data, ds, dv, dq, n0, n1, E, U));
}

mtl_tensor *mtl_rowdot(mtl_tape *t, mtl_tensor *v, mtl_tensor *q) {
    if (!mtl__inputs_ok(t, "rowdot", 2, v, q)) return NULL;
    if (!shapes_ok(t, "rowdot", v, q, v->ndim == 3 ? v->shape[2] : -1)) return NULL;
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    mtl_tensor *s = mtl__new(t, MTL_SHAPE(N, E));
    if (!s) return NULL;
    ROWS_PARALLEL(N, 2.0 * N * E * U, rowdot_rows(v->data, q->data, s->data, n0, n1, E, U));
    mtl__record(t, "rowdot", rowdot_backward, s, 2, (mtl_tensor *[]){v, q});
    return s;
}
