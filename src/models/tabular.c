/* Shared pieces of the tabular models: input block, MLPs, towers, experts and gates,
 * and their default sizes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/blas.h"
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
        if (c->vocab[i] < 1)
            return mtl_error(MTL_ERR_ARG, "model %s: id input %d has vocabulary %d", kind, i, c->vocab[i]);
    if (c->emb_dim < 1 || c->units < 1 || c->experts < 1 || c->experts > 64 || c->shared_experts < 0 ||
        c->task_experts < 0 || c->shared_experts + c->task_experts < 1 || c->shared_experts + c->task_experts > 64 ||
        c->levels < 1 || c->levels > 8 || c->n_tower < -1 || c->n_tower > MTL_MAX_TOWER)
        return mtl_error(MTL_ERR_ARG, "model %s: bad sizes (emb %d, units %d, experts %d, shared %d + task %d experts, "
                         "levels %d, %d tower layers)", kind, c->emb_dim, c->units, c->experts, c->shared_experts,
                         c->task_experts, c->levels, c->n_tower);
    for (int j = 0; j < c->n_tower; j++)
        if (c->tower[j] < 1)
            return mtl_error(MTL_ERR_ARG, "model %s: tower layer %d has width %d", kind, j, c->tower[j]);
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

bool mtl__tab_rows_read(mtl_tape *t, const mtl__tab_input *in, mtl_tensor *x, mtl__tab_rows *r) {
    memset(r, 0, sizeof *r);
    r->in = in, r->x = x;
    if (!mtl__inputs_ok(t, "tabular input", 1, x)) return false;
    int F = in->n_ids + in->n_cont, N = x->shape[0];
    if (x->size != (int64_t)N * F) {
        char buf[64];
        mtl__fail(t, MTL_ERR_SHAPE, "tabular input: expected rows of %d values (%d ids + %d continuous), got %s", F,
                  in->n_ids, in->n_cont, mtl_shape_str(mtl_tensor_shape(x), buf, sizeof buf));
        return false;
    }
    r->n = N;
    if (!in->n_ids) return true;
    if (!(r->ids = mtl__alloc(t, (size_t)N * in->n_ids * sizeof *r->ids))) return false;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < in->n_ids; i++) {
            float v = x->data[(size_t)n * F + i];
            int rows = in->emb[in->hashed ? 0 : i].num;
            if (!(v >= 0 && v < 16777216.0f) || v != floorf(v)) {
                mtl__fail(t, MTL_ERR_RANGE, "tabular input: row %d id column %d holds %g, not an id", n, i, v);
                return false;
            }
            if (v >= (float)rows) {
                mtl__fail(t, MTL_ERR_RANGE, "tabular input: row %d id column %d holds id %d, out of range [0, %d)", n,
                          i, (int)v, rows);
                return false;
            }
            r->ids[(size_t)n * in->n_ids + i] = (int32_t)v;
        }
    return true;
}

mtl_tensor *mtl__tab_rows_block(mtl_tape *t, mtl__tab_rows *r) {
    if (r->h || !mtl__inputs_ok(t, "tabular input", 1, r->x)) return r->h;
    const mtl__tab_input *in = r->in;
    mtl_tensor *flat = mtl_reshape(t, r->x, MTL_SHAPE(r->n, in->n_ids + in->n_cont));
    if (!in->n_ids) return r->h = flat;
    mtl_tensor *tables[MTL_MAX_FIELDS];
    for (int i = 0; i < in->n_tables; i++) tables[i] = in->emb[i].weight;
    mtl_tensor *e = mtl_embedding_fields(t, in->n_tables, tables, r->ids, r->n, in->n_ids, in->hashed);
    if (!in->n_cont) return r->h = e;
    mtl_tensor *parts[2] = {e, mtl_slice(t, flat, 1, in->n_ids, in->n_cont)};
    return r->h = mtl_concat(t, 2, parts, 1);
}

mtl_tensor *mtl__tab_input_forward(mtl_tape *t, const mtl__tab_input *in, mtl_tensor *x) {
    mtl__tab_rows r;
    return mtl__tab_rows_read(t, in, x, &r) ? mtl__tab_rows_block(t, &r) : NULL;
}

/* ---- a Linear on the input block without building it -------------------------------
 * node inputs: W [out, dim], b [out] or NULL, x [N, F], then the n_ids tables [V_i, D];
 * iarg: N, n_ids, D, n_cont, out, sum of V_i; saved: the ids.
 * The gather (forward) and scatter (backward) between the batch rows and P = [P_0; P_1; ...]
 * ([sum V_i, out]) run over blocks of ROWS batch rows, one field at a time, so that the
 * block's rows and P_i stay in the core's cache (measured at 31 fields x 512 outputs:
 * 3x faster than all fields of one row after another). */

int mtl__tab_fuse_mode = -1;
enum { ROWS = 64 };

/* dst[0..n) += src[0..n) */
static void add_to(float *restrict dst, const float *restrict src, int n) {
    for (int o = 0; o < n; o++) dst[o] += src[o];
}

/* the first row of each field's table in P */
static int64_t *field_offsets(mtl_tape *t, int n_ids, mtl_tensor *const *tables) {
    int64_t *off = mtl__scratch(t, (size_t)n_ids * sizeof *off);
    for (int i = 0; off && i < n_ids; i++) off[i] = i ? off[i - 1] + tables[i - 1]->shape[0] : 0;
    return off;
}

static void tab_linear_backward(mtl_tape *t, mtl_node *nd) {
    mtl_tensor *w = nd->in[0], *b = nd->in[1], *x = nd->in[2], *const *tables = nd->in + 3;
    int N = (int)nd->iarg[0], n_ids = (int)nd->iarg[1], D = (int)nd->iarg[2], n_cont = (int)nd->iarg[3];
    int out = (int)nd->iarg[4], F = n_ids + n_cont, dim = n_ids * D + n_cont;
    int64_t rows = nd->iarg[5];
    const int32_t *ids = nd->saved;
    const float *dy = nd->out->grad, *W = w->data;
    float *dw = mtl__grad(t, w), *db = b ? mtl__grad(t, b) : NULL, *dx = mtl__grad(t, x);
    float **dt = mtl__scratch(t, (size_t)n_ids * sizeof *dt);
    int64_t *off = field_offsets(t, n_ids, tables);
    if (!dt || !off) return;
    bool any_table = false;
    for (int i = 0; i < n_ids; i++) any_table |= (dt[i] = mtl__grad(t, tables[i])) != NULL;
    if (db)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) db[o] += dy[(size_t)n * out + o];
    /* the continuous columns are few: one thread (the same bits whatever the thread count) */
    if (n_cont && dw) /* dW_cont += dY^T cont */
        mtl_sgemm(true, false, out, n_cont, N, 1.0f, dy, out, x->data + n_ids, F, 1.0f, dw + (size_t)n_ids * D,
                      dim);
    if (n_cont && dx) /* dcont += dY W_cont */
        mtl_sgemm(false, false, N, n_cont, out, 1.0f, dy, out, W + (size_t)n_ids * D, dim, 1.0f, dx + n_ids, F);
    if (!dw && !any_table) return;
    size_t mark = mtl__scratch_mark(t);
    float *dp = mtl__scratch(t, (size_t)rows * out * sizeof *dp);
    if (!dp) return;
    memset(dp, 0, (size_t)rows * out * sizeof *dp);
    /* dP_i[id] += dY[n]; threads split the fields, rows in order: deterministic */
    int threads = mtl_threads_for((double)ROWS * n_ids * out);
    for (int n0 = 0; n0 < N; n0 += ROWS) {
        int n1 = n0 + ROWS < N ? n0 + ROWS : N;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int i = 0; i < n_ids; i++) {
            float *dpi = dp + (size_t)off[i] * out;
            for (int n = n0; n < n1; n++)
                add_to(dpi + (size_t)ids[(size_t)n * n_ids + i] * out, dy + (size_t)n * out, out);
        }
    }
    /* each thread owns whole fields: its dW_i columns and dE_i */
#pragma omp parallel for schedule(dynamic) num_threads(mtl_threads_for(2.0 * rows * D * out))
    for (int i = 0; i < n_ids; i++) {
        int V = tables[i]->shape[0];
        const float *dpi = dp + (size_t)off[i] * out;
        if (dw) /* dW_i += dP_i^T E_i */
            mtl_sgemm(true, false, out, D, V, 1.0f, dpi, out, tables[i]->data, D, 1.0f, dw + (size_t)i * D, dim);
        if (dt[i]) /* dE_i += dP_i W_i */
            mtl_sgemm(false, false, V, D, out, 1.0f, dpi, out, W + (size_t)i * D, dim, 1.0f, dt[i], D);
    }
    mtl__scratch_release(t, mark);
}

/* multiply-adds of the two ways, the fused gather/scatter weighted as ~5 GEMM ones (they
 * are memory bound) */
static bool fusion_pays(const mtl__tab_input *in, int N) {
    if (in->hashed || !in->n_ids || mtl__tab_fuse_mode == 0) return false;
    if (mtl__tab_fuse_mode == 1) return true;
    double rows = 0;
    for (int i = 0; i < in->n_ids; i++) rows += in->emb[i].num;
    int D = in->emb[0].dim;
    return 3.0 * rows * D + 10.0 * N * in->n_ids < 3.0 * N * in->n_ids * D;
}

mtl_tensor *mtl__tab_linear(mtl_tape *t, mtl__tab_rows *r, const mtl_nn_linear *lin) {
    const mtl__tab_input *in = r->in;
    if (!lin) return mtl__fail(t, MTL_ERR_ARG, "tabular linear: module is NULL");
    if (r->h || !fusion_pays(in, r->n)) return mtl_nn_linear_forward(t, lin, mtl__tab_rows_block(t, r));
    if (!mtl__inputs_ok(t, "tabular linear", 2, r->x, lin->weight)) return NULL;
    int N = r->n, n_ids = in->n_ids, n_cont = in->n_cont, D = in->emb[0].dim, out = lin->out;
    int F = n_ids + n_cont, dim = in->dim;
    if (lin->in != dim || lin->weight->shape[1] != dim)
        return mtl__fail(t, MTL_ERR_SHAPE, "tabular linear: Linear(%d, %d) on an input block of width %d", lin->in,
                         out, dim);
    mtl_tensor **ins = mtl__alloc(t, (size_t)(3 + n_ids) * sizeof *ins);
    mtl_tensor *y = mtl__new(t, MTL_SHAPE(N, out));
    if (!ins || !y) return NULL;
    ins[0] = lin->weight, ins[1] = lin->bias, ins[2] = r->x;
    for (int i = 0; i < n_ids; i++) ins[3 + i] = in->emb[i].weight;
    const float *W = lin->weight->data;
    int64_t rows = 0;
    for (int i = 0; i < n_ids; i++) rows += in->emb[i].num;
    size_t mark = mtl__scratch_mark(t);
    float *p = mtl__scratch(t, (size_t)rows * out * sizeof *p);
    int64_t *off = field_offsets(t, n_ids, ins + 3);
    if (!p || !off) {
        mtl__scratch_release(t, mark);
        return NULL;
    }
    /* P_i = E_i W_i^T: each field's table through its columns of W */
#pragma omp parallel for schedule(dynamic) num_threads(mtl_threads_for((double)rows * D * out))
    for (int i = 0; i < n_ids; i++)
        mtl_sgemm(false, true, in->emb[i].num, out, D, 1.0f, in->emb[i].weight->data, D, W + (size_t)i * D, dim, 0.0f,
                  p + (size_t)off[i] * out, out);
    /* y = cont W_cont^T + b + sum_i P_i[id_i] (the continuous columns are few: one thread) */
    if (n_cont)
        mtl_sgemm(false, true, N, out, n_cont, 1.0f, r->x->data + n_ids, F, W + (size_t)n_ids * D, dim, 0.0f,
                      y->data, out);
    else
        memset(y->data, 0, (size_t)N * out * sizeof *y->data);
    const float *bias = lin->bias ? lin->bias->data : NULL;
    /* threads own blocks of rows */
#pragma omp parallel for schedule(static) num_threads(mtl_threads_for((double)N * n_ids * out))
    for (int n0 = 0; n0 < N; n0 += ROWS) {
        int n1 = n0 + ROWS < N ? n0 + ROWS : N;
        if (bias)
            for (int n = n0; n < n1; n++) add_to(y->data + (size_t)n * out, bias, out);
        for (int i = 0; i < n_ids; i++) {
            const float *pi = p + (size_t)off[i] * out;
            for (int n = n0; n < n1; n++)
                add_to(y->data + (size_t)n * out, pi + (size_t)r->ids[(size_t)n * n_ids + i] * out, out);
        }
    }
    mtl__scratch_release(t, mark);
    mtl_node *nd = mtl__record(t, "tabular_linear", tab_linear_backward, y, 3 + n_ids, ins);
    if (nd) {
        nd->saved = r->ids;
        nd->iarg[0] = N, nd->iarg[1] = n_ids, nd->iarg[2] = D, nd->iarg[3] = n_cont, nd->iarg[4] = out;
        nd->iarg[5] = rows;
    }
    return y;
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
    for (int j = 0; j < m->n; j++)
        x = m->last_linear && j == m->n - 1 ? mtl_nn_linear_forward(t, &m->layer[j], x)
                                            : mtl_nn_linear_relu_forward(t, &m->layer[j], x);
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
    mtl_tensor *y = mtl_nn_linear_relu_forward(t, x, in);
    return y ? mtl_reshape(t, y, MTL_SHAPE(y->shape[0], n, x->out / n)) : NULL;
}

mtl_tensor *mtl__gate_mix(mtl_tape *t, const mtl_nn_linear *gate, mtl_tensor *gate_in, mtl_tensor *experts,
                          mtl_tensor **weights) {
    mtl_tensor *g = mtl_softmax(t, mtl_nn_linear_forward(t, gate, gate_in), -1);
    if (weights) *weights = g;
    return mtl_mix(t, g, experts);
}
