/* Per-row mixtures for gates and attention: y[n] = sum_e w[n,e] v[n,e,:] (a gate mixing
 * experts) and s[n,e] = v[n,e,:] . q[n,:] (attention scores). As batched matmuls these
 * would be N tiny GEMM calls; as loops they are one pass over v. */
#include "autograd/tape_internal.h"
#include "core/blas.h"

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
    mtl_tensor *w = nd->in[0], *v = nd->in[1];
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    const float *dy = nd->out->grad;
    float *dw = mtl__grad(t, w), *dv = mtl__grad(t, v);
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * N * E * U))
    for (int n = 0; n < N; n++) {
        const float *g = dy + (size_t)n * U;
        for (int e = 0; e < E; e++) {
            const float *vr = v->data + ((size_t)n * E + e) * U;
            if (dw) {
                float s = 0;
                for (int u = 0; u < U; u++) s += g[u] * vr[u];
                dw[(size_t)n * E + e] += s;
            }
            if (dv) {
                float a = w->data[(size_t)n * E + e], *d = dv + ((size_t)n * E + e) * U;
                for (int u = 0; u < U; u++) d[u] += a * g[u];
            }
        }
    }
}

mtl_tensor *mtl_mix(mtl_tape *t, mtl_tensor *w, mtl_tensor *v) {
    if (!mtl__inputs_ok(t, "mix", 2, w, v)) return NULL;
    if (!shapes_ok(t, "mix", v, w, v->ndim == 3 ? v->shape[1] : -1)) return NULL;
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(N, U));
    if (!y) return NULL;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * N * E * U))
    for (int n = 0; n < N; n++) {
        float *o = y->data + (size_t)n * U;
        for (int u = 0; u < U; u++) o[u] = 0;
        for (int e = 0; e < E; e++) {
            float a = w->data[(size_t)n * E + e];
            const float *vr = v->data + ((size_t)n * E + e) * U;
            for (int u = 0; u < U; u++) o[u] += a * vr[u];
        }
    }
    mtl__record(t, "mix", mix_backward, y, 2, (mtl_tensor *[]){w, v});
    return y;
}

static void rowdot_backward(mtl_tape *t, mtl_node *nd) {
    mtl_tensor *v = nd->in[0], *q = nd->in[1];
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    const float *ds = nd->out->grad;
    float *dv = mtl__grad(t, v), *dq = mtl__grad(t, q);
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * N * E * U))
    for (int n = 0; n < N; n++) {
        const float *qr = q->data + (size_t)n * U;
        float *dqr = dq ? dq + (size_t)n * U : NULL;
        for (int e = 0; e < E; e++) {
            float g = ds[(size_t)n * E + e];
            const float *vr = v->data + ((size_t)n * E + e) * U;
            if (dv) {
                float *d = dv + ((size_t)n * E + e) * U;
                for (int u = 0; u < U; u++) d[u] += g * qr[u];
            }
            if (dqr)
                for (int u = 0; u < U; u++) dqr[u] += g * vr[u];
        }
    }
}

mtl_tensor *mtl_rowdot(mtl_tape *t, mtl_tensor *v, mtl_tensor *q) {
    if (!mtl__inputs_ok(t, "rowdot", 2, v, q)) return NULL;
    if (!shapes_ok(t, "rowdot", v, q, v->ndim == 3 ? v->shape[2] : -1)) return NULL;
    int N = v->shape[0], E = v->shape[1], U = v->shape[2];
    mtl_tensor *s = mtl__new(t, MTL_SHAPE(N, E));
    if (!s) return NULL;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for(2.0 * N * E * U))
    for (int n = 0; n < N; n++) {
        const float *qr = q->data + (size_t)n * U;
        for (int e = 0; e < E; e++) {
            const float *vr = v->data + ((size_t)n * E + e) * U;
            float acc = 0;
            for (int u = 0; u < U; u++) acc += vr[u] * qr[u];
            s->data[(size_t)n * E + e] = acc;
        }
    }
    mtl__record(t, "rowdot", rowdot_backward, s, 2, (mtl_tensor *[]){v, q});
    return s;
}
