/* Shared pieces of the tabular models: input block, MLPs, towers, experts and gates,
 * and their default sizes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "models/tabular.h"
#include "mtl/ops.h"

mtl_tab_model_config mtl_tab_model_defaults(const char *kind, const mtl_tab_model_config *given) {
    mtl_tab_model_config c;
    memset(&c, 0, sizeof c);
    if (given) c = *given;
    bool attn = kind && (strcmp(kind, "amtl") == 0 || strcmp(kind, "coamtl") == 0);
    if (!c.emb_dim) c.emb_dim = c.hash_buckets > 0 ? 128 : 8;
    if (!c.units) c.units = attn ? 128 : 64;
    if (!c.experts) c.experts = attn ? 3 : 8;
    if (!c.shared_experts) c.shared_experts = 4;
    if (!c.task_experts) c.task_experts = 2;
    if (!c.levels) c.levels = 2;
    if (c.n_tower == 0) {
        c.n_tower = 2;
        c.tower[0] = 64, c.tower[1] = 32;
    }
    return c;
}

bool mtl_model_kind_is_tabular(const char *kind) {
    static const char *const names[] = {"single", "shared-bottom", "omoe", "mmoe", "cgc", "ple", "amtl", "coamtl"};
    for (size_t i = 0; kind && i < sizeof names / sizeof *names; i++)
        if (strcmp(kind, names[i]) == 0) return true;
    return false;
}

mtl_status mtl__tab_resolve(const char *kind, mtl_model *m) {
    mtl_tab_model_config *c = &m->cfg.tab;
    *c = mtl_tab_model_defaults(kind, c);
    if (c->n_ids < 0 || c->n_cont < 0 || c->n_ids + c->n_cont < 1 || c->n_ids > MTL_MAX_FIELDS)
        return mtl_error(MTL_ERR_ARG, "model %s: %d id and %d continuous inputs (expected at least one input, "
                         "at most %d ids)", kind, c->n_ids, c->n_cont, MTL_MAX_FIELDS);
    if (m->cfg.in_channels != 1 || m->cfg.length != c->n_ids + c->n_cont)
        return mtl_error(MTL_ERR_SHAPE, "model %s: input [%d, %d] does not match %d ids + %d continuous values", kind,
                         m->cfg.in_channels, m->cfg.length, c->n_ids, c->n_cont);
    for (int i = 0; i < c->n_ids && c->hash_buckets <= 0; i++)
        if (c->vocab[i] < 1) return mtl_error(MTL_ERR_ARG, "model %s: id input %d has vocabulary %d", kind, i, c->vocab[i]);
    if (c->emb_dim < 1 || c->units < 1 || c->experts < 1 || c->experts > 64 || c->shared_experts < 0 ||
        c->task_experts < 0 || c->shared_experts + c->task_experts < 1 || c->shared_experts + c->task_experts > 64 ||
        c->levels < 1 || c->levels > 8 || c->n_tower < -1 || c->n_tower > MTL_MAX_TOWER)
        return mtl_error(MTL_ERR_ARG, "model %s: bad sizes (emb %d, units %d, experts %d, shared %d + task %d experts, "
                         "levels %d, %d tower layers)", kind, c->emb_dim, c->units, c->experts, c->shared_experts,
                         c->task_experts, c->levels, c->n_tower);
    for (int j = 0; j < c->n_tower; j++)
        if (c->tower[j] < 1) return mtl_error(MTL_ERR_ARG, "model %s: tower layer %d has width %d", kind, j, c->tower[j]);
    return MTL_OK;
}

/* ---- input ---------------------------------------------------------------------- */

mtl_status mtl__tab_input_init(mtl__tab_input *in, mtl_params *P, const char *prefix, int owner,
                               const mtl_tab_model_config *c) {
    memset(in, 0, sizeof *in);
    in->n_ids = c->n_ids, in->n_cont = c->n_cont, in->hashed = c->hash_buckets > 0;
    in->n_tables = c->n_ids == 0 ? 0 : in->hashed ? 1 : c->n_ids;
    in->dim = (in->hashed ? (c->n_ids ? c->emb_dim : 0) : c->n_ids * c->emb_dim) + c->n_cont;
    if (in->n_tables && !(in->emb = calloc((size_t)in->n_tables, sizeof *in->emb)))
        return mtl_error(MTL_ERR_NOMEM, "%s: out of memory", prefix);
    char name[MTL_NAME_MAX + 16];
    for (int i = 0; i < in->n_tables; i++) {
        if (in->hashed) snprintf(name, sizeof name, "%s.emb", prefix);
        else snprintf(name, sizeof name, "%s.emb.%d", prefix, i);
        mtl_status s = mtl_nn_embedding_init(&in->emb[i], P, name, owner, in->hashed ? c->hash_buckets : c->vocab[i],
                                             c->emb_dim);
        if (s) return s;
    }
    return MTL_OK;
}

void mtl__tab_input_free(mtl__tab_input *in) {
    free(in->emb);
    in->emb = NULL;
}

mtl_tensor *mtl__tab_input_forward(mtl_tape *t, const mtl__tab_input *in, mtl_tensor *x) {
    if (!mtl__inputs_ok(t, "tabular input", 1, x)) return NULL;
    int F = in->n_ids + in->n_cont, N = x->shape[0];
    if (x->size != (int64_t)N * F) {
        char buf[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "tabular input: expected rows of %d values (%d ids + %d continuous), got %s",
                         F, in->n_ids, in->n_cont, mtl_shape_str(mtl_tensor_shape(x), buf, sizeof buf));
    }
    mtl_tensor *flat = mtl_reshape(t, x, MTL_SHAPE(N, F));
    if (!in->n_ids) return flat;
    int32_t *ids = mtl__alloc(t, (size_t)N * in->n_ids * sizeof *ids);
    if (!ids) return NULL;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < in->n_ids; i++) {
            float v = x->data[(size_t)n * F + i];
            if (!(v >= 0 && v < 16777216.0f) || v != floorf(v))
                return mtl__fail(t, MTL_ERR_RANGE, "tabular input: row %d id column %d holds %g, not an id", n, i, v);
            ids[(size_t)n * in->n_ids + i] = (int32_t)v;
        }
    mtl_tensor *tables[MTL_MAX_FIELDS];
    for (int i = 0; i < in->n_tables; i++) tables[i] = in->emb[i].weight;
    mtl_tensor *e = mtl_embedding_fields(t, in->n_tables, tables, ids, N, in->n_ids, in->hashed);
    if (!in->n_cont) return e;
    mtl_tensor *parts[2] = {e, mtl_slice(t, flat, 1, in->n_ids, in->n_cont)};
    return mtl_concat(t, 2, parts, 1);
}

/* ---- MLPs, towers, experts, gates ------------------------------------------------- */

mtl_status mtl__mlp_init(mtl__mlp *m, mtl_params *P, const char *prefix, int owner, int in, int n, const int *widths,
                         bool last_linear) {
    if (n < 0 || n > MTL_MAX_TOWER + 2) return mtl_error(MTL_ERR_ARG, "%s: %d layers", prefix, n);
    m->n = n, m->last_linear = last_linear;
    char name[MTL_NAME_MAX + 16];
    for (int j = 0; j < n; j++) {
        snprintf(name, sizeof name, "%s.%d", prefix, j);
        mtl_status s = mtl_nn_linear_init(&m->layer[j], P, name, owner, in, widths[j], true);
        if (s) return s;
        in = widths[j];
    }
    return MTL_OK;
}

mtl_tensor *mtl__mlp_forward(mtl_tape *t, const mtl__mlp *m, mtl_tensor *x) {
    for (int j = 0; j < m->n; j++) {
        x = mtl_nn_linear_forward(t, &m->layer[j], x);
        if (!(m->last_linear && j == m->n - 1)) x = mtl_relu(t, x);
    }
    return x;
}

mtl_status mtl__towers_init(mtl__mlp *towers, mtl_params *P, const mtl_model_config *cfg, int in) {
    const mtl_tab_model_config *c = &cfg->tab;
    int hidden = c->n_tower > 0 ? c->n_tower : 0;
    for (int k = 0; k < cfg->n_tasks; k++) {
        int widths[MTL_MAX_TOWER + 1];
        for (int j = 0; j < hidden; j++) widths[j] = c->tower[j];
        widths[hidden] = cfg->n_classes[k] == 2 ? 1 : cfg->n_classes[k];
        char prefix[MTL_NAME_MAX];
        snprintf(prefix, sizeof prefix, "towers.%d", k);
        mtl_status s = mtl__mlp_init(&towers[k], P, prefix, k, in, hidden + 1, widths, true);
        if (s) return s;
    }
    return MTL_OK;
}

mtl_status mtl__experts_init(mtl_nn_linear *x, mtl_params *P, const char *prefix, int owner, int n, int in,
                             int units) {
    return mtl_nn_linear_init(x, P, prefix, owner, in, n * units, true);
}

mtl_tensor *mtl__experts_forward(mtl_tape *t, const mtl_nn_linear *x, mtl_tensor *in, int n) {
    mtl_tensor *y = mtl_relu(t, mtl_nn_linear_forward(t, x, in));
    return y ? mtl_reshape(t, y, MTL_SHAPE(y->shape[0], n, x->out / n)) : NULL;
}

mtl_tensor *mtl__gate_mix(mtl_tape *t, const mtl_nn_linear *gate, mtl_tensor *gate_in, mtl_tensor *experts,
                          mtl_tensor **weights) {
    mtl_tensor *g = mtl_softmax(t, mtl_nn_linear_forward(t, gate, gate_in), -1);
    if (weights) *weights = g;
    return mtl_mix(t, g, experts);
}
