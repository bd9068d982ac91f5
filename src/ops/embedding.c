/* Embedding lookup: rows of a table gathered by integer ids; the backward adds the
 * output gradient rows into the table-gradient rows of the ids used (and no others). */
#include <omp.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"

static void embedding_backward(mtl_tape *t, mtl_node *n) {
    mtl_tensor *table = n->in[0];
    float *dt = mtl__grad(t, table);
    if (!dt) return;
    const int32_t *ids = n->saved;
    int rows = (int)n->iarg[0], D = (int)n->iarg[1];
    const float *dy = n->out->grad;
    /* Threads split the columns; each runs over the ids in order, so repeated ids
     * accumulate in the same order whatever the thread count. */
    int nt = mtl_threads_for((double)rows * D);
    if (nt > D / 16) nt = D / 16 > 1 ? D / 16 : 1; /* at least 16 columns (a cache line) each */
#pragma omp parallel num_threads(nt)
    {
        int nth = omp_get_num_threads(), tid = omp_get_thread_num();
        int d0 = (int)((int64_t)D * tid / nth), d1 = (int)((int64_t)D * (tid + 1) / nth);
        for (int i = 0; i < rows; i++) {
            float *dst = dt + (size_t)ids[i] * D;
            const float *src = dy + (size_t)i * D;
            for (int d = d0; d < d1; d++) dst[d] += src[d];
        }
    }
}

mtl_tensor *mtl_embedding(mtl_tape *t, mtl_tensor *table, const int32_t *ids, int n) {
    if (!mtl__inputs_ok(t, "embedding", 1, table)) return NULL;
    if (table->ndim != 2) {
        char buf[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "embedding: table must be [V, D], got %s",
                         mtl_shape_str(mtl_tensor_shape(table), buf, sizeof buf));
    }
    if (n < 0) return mtl__fail(t, MTL_ERR_ARG, "embedding: number of ids is %d, expected >= 0", n);
    if (!ids && n > 0) return mtl__fail(t, MTL_ERR_ARG, "embedding: ids is NULL (with n = %d)", n);
    int V = table->shape[0], D = table->shape[1];
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return mtl__fail(t, MTL_ERR_RANGE, "embedding: ids[%d] = %d is out of range [0, %d) (table has %d rows)",
                             i, (int)ids[i], V, V);
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(n, D));
    if (!y) return NULL;
    const float *src = table->data;
    float *dst = y->data;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)n * D))
    for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * D, src + (size_t)ids[i] * D, (size_t)D * sizeof(float));
    mtl_node *nd = mtl__record(t, "embedding", embedding_backward, y, 1, (mtl_tensor *[]){table});
    if (nd) { /* the caller's ids may change after the call: keep a copy */
        int32_t *saved = mtl__alloc(t, (size_t)(n > 0 ? n : 1) * sizeof *saved);
        if (!saved) return NULL;
        if (n > 0) memcpy(saved, ids, (size_t)n * sizeof *saved);
        nd->saved = saved;
        nd->iarg[0] = n;
        nd->iarg[1] = D;
    }
    return y;
}

/* ---- per-field lookup for tabular rows ---------------------------------------- */

static void fields_backward(mtl_tape *t, mtl_node *n) {
    const int32_t *ids = n->saved;
    int rows = (int)n->iarg[0], F = (int)n->iarg[1], D = (int)n->iarg[2];
    bool sum = n->iarg[3] != 0;
    const float *dy = n->out->grad;
    if (sum) { /* one table: every field's row gets the same output gradient row */
        float *dt = mtl__grad(t, n->in[0]);
        if (!dt) return;
        for (int i = 0; i < rows; i++)
            for (int f = 0; f < F; f++) {
                float *dst = dt + (size_t)ids[(size_t)i * F + f] * D;
                const float *src = dy + (size_t)i * D;
                for (int d = 0; d < D; d++) dst[d] += src[d];
            }
        return;
    }
    /* one table per field: threads split the fields, each runs over the rows in order
     * (deterministic whatever the thread count) */
    float **dts = mtl__scratch(t, (size_t)F * sizeof *dts);
    if (!dts) return;
    for (int f = 0; f < F; f++) dts[f] = mtl__grad(t, n->in[f]);
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)rows * F * D))
    for (int f = 0; f < F; f++) {
        float *dt = dts[f];
        if (!dt) continue;
        for (int i = 0; i < rows; i++) {
            float *dst = dt + (size_t)ids[(size_t)i * F + f] * D;
            const float *src = dy + ((size_t)i * F + f) * D;
            for (int d = 0; d < D; d++) dst[d] += src[d];
        }
    }
}

mtl_tensor *mtl_embedding_fields(mtl_tape *t, int n_tables, mtl_tensor *const *tables, const int32_t *ids, int n,
                                 int n_fields, bool sum) {
    if (!mtl__inputs_ok(t, "embedding_fields", 0)) return NULL;
    if (n < 0 || n_fields < 1 || !tables || (!ids && n > 0))
        return mtl__fail(t, MTL_ERR_ARG, "embedding_fields: %d rows of %d fields (ids %s)", n, n_fields,
                         ids ? "given" : "NULL");
    if (sum ? n_tables != 1 : n_tables != n_fields)
        return mtl__fail(t, MTL_ERR_ARG, "embedding_fields: %d tables for %d fields (expected %s)", n_tables, n_fields,
                         sum ? "1 when summing" : "one per field");
    int D = 0;
    for (int f = 0; f < n_tables; f++) {
        if (!tables[f]) return mtl__fail(t, MTL_ERR_ARG, "embedding_fields: table %d is NULL", f);
        if (tables[f]->ndim != 2 || (f > 0 && tables[f]->shape[1] != D)) {
            char buf[64];
            return mtl__fail(t, MTL_ERR_SHAPE, "embedding_fields: table %d must be [V, %d], got %s", f, f ? D : 0,
                             mtl_shape_str(mtl_tensor_shape(tables[f]), buf, sizeof buf));
        }
        D = tables[f]->shape[1];
    }
    for (int i = 0; i < n; i++)
        for (int f = 0; f < n_fields; f++) {
            int V = tables[sum ? 0 : f]->shape[0], id = ids[(size_t)i * n_fields + f];
            if (id < 0 || id >= V)
                return mtl__fail(t, MTL_ERR_RANGE, "embedding_fields: row %d field %d: id %d is out of range [0, %d)",
                                 i, f, id, V);
        }
    mtl_tensor *y = mtl__new(t, sum ? MTL_SHAPE(n, D) : MTL_SHAPE(n, n_fields * D));
    if (!y) return NULL;
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)n * n_fields * D))
    for (int i = 0; i < n; i++) {
        const int32_t *row = ids + (size_t)i * n_fields;
        if (sum) {
            float *dst = y->data + (size_t)i * D;
            memcpy(dst, tables[0]->data + (size_t)row[0] * D, (size_t)D * sizeof(float));
            for (int f = 1; f < n_fields; f++) {
                const float *src = tables[0]->data + (size_t)row[f] * D;
                for (int d = 0; d < D; d++) dst[d] += src[d];
            }
        } else {
            for (int f = 0; f < n_fields; f++)
                memcpy(y->data + ((size_t)i * n_fields + f) * D, tables[f]->data + (size_t)row[f] * D,
                       (size_t)D * sizeof(float));
        }
    }
    mtl_node *nd = mtl__record(t, "embedding_fields", fields_backward, y, n_tables, tables);
    if (nd) {
        size_t cnt = (size_t)n * n_fields;
        int32_t *saved = mtl__alloc(t, (cnt ? cnt : 1) * sizeof *saved);
        if (!saved) return NULL;
        if (cnt) memcpy(saved, ids, cnt * sizeof *saved);
        nd->saved = saved;
        nd->iarg[0] = n, nd->iarg[1] = n_fields, nd->iarg[2] = D, nd->iarg[3] = sum;
    }
    return y;
}
