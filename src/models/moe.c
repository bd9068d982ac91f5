/* Tabular single-task, Shared-Bottom, OMoE, MMoE, CGC and PLE (specs/tabular.md, Models).
 * PyTorch reference with the same parameter names: tests/parity/moe_ref.py.
 *
 *   single:        task k: inputs.<k> -> bottoms.<k> (Linear dim -> units, ReLU) -> towers.<k>   (all owner k)
 *   shared-bottom: inp -> bottom (Linear dim -> units, ReLU) -> towers.<k>
 *   omoe:          inp -> experts (E x units); ONE gate "gate"; every tower reads the same mix
 *   mmoe:          as omoe with gates.<k>
 *   cgc:           shared_experts (S), task_experts.<k> (T), gates.<k> over [own T, then S]
 *   ple:           levels.<l>.{shared_experts, task_experts.<k>, gates.<k>}, and for l < L-1
 *                  levels.<l>.shared_gate over [every task's T in task order, then S]. Task k's
 *                  experts and gate read task k's previous output (level 0: the input block), the
 *                  shared experts and shared gate the previous shared output. The last level is a
 *                  CGC; the towers read its task outputs.
 * Experts are one ReLU layer each, stored as ONE Linear(in, n * units) (tabular.h); gates are
 * Linear without bias. Every layer that reads the input block goes through mtl__tab_linear
 * (tabular.h: with per-field embeddings and a large batch, no [N, dim] block is built).
 * Initialisation: PyTorch's defaults (Linear weight and bias U(+-1/sqrt(fan_in)), Embedding N(0, 1)).
 * Taps: features[k] = task k's tower input; attention[k][s] = task k's gate softmax at stage s
 * (omoe: the shared gate; ple: stage l = level l, the first MTL_MAX_STAGES levels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "models/tabular.h"
#include "mtl/ops.h"

#define MAX_LEVELS 8

typedef enum { SINGLE, SHARED_BOTTOM, OMOE, MMOE, CGC, PLE } moe_kind;

typedef struct {
    mtl_nn_linear shared, shared_gate; /* shared_gate: PLE levels below the last only */
    mtl_nn_linear task[MTL_MAX_TASKS], gate[MTL_MAX_TASKS];
    bool has_shared_gate;
} moe_level;

typedef struct {
    moe_kind kind;
    int n_inputs;                    /* single: one input block per task; else 1 */
    mtl__tab_input in[MTL_MAX_TASKS];
    mtl__mlp bottom[MTL_MAX_TASKS];  /* single: per task; shared-bottom: [0] */
    mtl_nn_linear experts;           /* omoe, mmoe */
    mtl_nn_linear gate[MTL_MAX_TASKS]; /* omoe: [0]; mmoe: per task */
    int n_levels;                    /* cgc: 1; ple: levels */
    moe_level level[MAX_LEVELS];
    mtl__mlp towers[MTL_MAX_TASKS];
} moe;

/* sum over groups i of mix(g[:, off_i : off_i + n_i], experts_i): a gate over the
 * concatenation of expert groups without copying the experts into one tensor */
static mtl_tensor *mix_groups(mtl_tape *t, mtl_tensor *g, int n, mtl_tensor *const *experts, const int *sizes) {
    if (!g) return NULL;
    if (n == 1) return mtl_mix(t, g, experts[0]);
    mtl_tensor *y = NULL;
    for (int i = 0, off = 0; i < n; off += sizes[i], i++) {
        mtl_tensor *part = mtl_mix(t, mtl_slice(t, g, 1, off, sizes[i]), experts[i]);
        y = y ? mtl_add(t, y, part) : part;
    }
    return y;
}

/* lin(x), or lin(input block) when x is NULL (level 0 of cgc / ple) */
static mtl_tensor *linear_on(mtl_tape *t, mtl__tab_rows *rows, const mtl_nn_linear *lin, mtl_tensor *x) {
    return x ? mtl_nn_linear_forward(t, lin, x) : mtl__tab_linear(t, rows, lin);
}

/* n experts [N, n, units] (a ReLU layer) on x or the input block */
static mtl_tensor *experts_on(mtl_tape *t, mtl__tab_rows *rows, const mtl_nn_linear *lin, mtl_tensor *x, int n) {
    mtl_tensor *y = x ? mtl_nn_linear_relu_forward(t, lin, x) : mtl_relu(t, mtl__tab_linear(t, rows, lin));
    return y ? mtl_reshape(t, y, MTL_SHAPE(y->shape[0], n, lin->out / n)) : NULL;
}

/* one CGC level: task_in[k] / shared_in (NULL: the input block) -> task_out[k] / *shared_out
 * (with a shared gate) */
static void level_forward(mtl_model *m, mtl_tape *t, mtl__tab_rows *rows, const moe_level *lv, int l,
                          mtl_tensor *const *task_in, mtl_tensor *shared_in, mtl_tensor **task_out,
                          mtl_tensor **shared_out) {
    const mtl_tab_model_config *c = &m->cfg.tab;
    int K = m->cfg.n_tasks, S = c->shared_experts, T = c->task_experts;
    mtl_tensor *own[MTL_MAX_TASKS + 1], *shared = experts_on(t, rows, &lv->shared, shared_in, S);
    for (int k = 0; k < K; k++) {
        own[k] = experts_on(t, rows, &lv->task[k], task_in[k], T);
        mtl_tensor *g = mtl_softmax(t, linear_on(t, rows, &lv->gate[k], task_in[k]), -1);
        if (l < MTL_MAX_STAGES) m->taps.attention[k][l] = g;
        task_out[k] = mix_groups(t, g, 2, (mtl_tensor *[]){own[k], shared}, (int[]){T, S});
    }
    if (!lv->has_shared_gate) return;
    int sizes[MTL_MAX_TASKS + 1];
    for (int k = 0; k < K; k++) sizes[k] = T;
    own[K] = shared, sizes[K] = S;
    mtl_tensor *g = mtl_softmax(t, linear_on(t, rows, &lv->shared_gate, shared_in), -1);
    *shared_out = mix_groups(t, g, K + 1, own, sizes);
}

static mtl_tensor *moe_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    moe *net = m->impl;
    int K = m->cfg.n_tasks;
    mtl_tensor *feat[MTL_MAX_TASKS];
    /* every layer on the input block goes through mtl__tab_linear (no [N, dim] block with
     * per-field embeddings when that is cheaper) */
    mtl__tab_rows rows;
    if (!mtl__tab_rows_read(t, &net->in[0], x, &rows)) return NULL;
    switch (net->kind) {
    case SINGLE:
        for (int k = 0; k < K; k++) {
            mtl__tab_rows rk;
            if (k > 0 && !mtl__tab_rows_read(t, &net->in[k], x, &rk)) return NULL;
            feat[k] = mtl_relu(t, mtl__tab_linear(t, k ? &rk : &rows, &net->bottom[k].layer[0]));
        }
        break;
    case SHARED_BOTTOM:
        feat[0] = mtl_relu(t, mtl__tab_linear(t, &rows, &net->bottom[0].layer[0]));
        for (int k = 1; k < K; k++) feat[k] = feat[0];
        m->taps.rep = feat[0];
        break;
    case OMOE:
    case MMOE: {
        mtl_tensor *e = experts_on(t, &rows, &net->experts, NULL, m->cfg.tab.experts);
        for (int k = 0; k < K; k++) {
            if (net->kind == OMOE && k > 0) {
                feat[k] = feat[0];
                m->taps.attention[k][0] = m->taps.attention[0][0];
            } else {
                mtl_tensor *g = mtl_softmax(t, mtl__tab_linear(t, &rows, &net->gate[k]), -1);
                m->taps.attention[k][0] = g;
                feat[k] = mtl_mix(t, g, e);
                if (net->kind == OMOE) m->taps.rep = feat[k]; /* one gate: every task reads this mixture */
            }
        }
        m->taps.n_stages = 1;
        break;
    }
    case CGC:
    case PLE: {
        mtl_tensor *task_in[MTL_MAX_TASKS] = {NULL}, *shared_in = NULL;
        for (int l = 0; l < net->n_levels; l++) {
            mtl_tensor *shared_out = NULL;
            level_forward(m, t, &rows, &net->level[l], l, task_in, shared_in, feat, &shared_out);
            if (mtl_tape_status(t)) return NULL; /* a NULL input would mean "the input block" */
            for (int k = 0; k < K; k++) task_in[k] = feat[k];
            shared_in = shared_out;
        }
        m->taps.n_stages = net->n_levels < MTL_MAX_STAGES ? net->n_levels : MTL_MAX_STAGES;
        break;
    }
    }
    for (int k = 0; k < K; k++) {
        m->taps.features[k] = feat[k];
        logits[k] = mtl__mlp_forward(t, &net->towers[k], feat[k]);
    }
    return logits[0];
}

static void moe_destroy(mtl_model *m) {
    moe *net = m->impl;
    if (!net) return;
    for (int i = 0; i < net->n_inputs; i++) mtl__tab_input_free(&net->in[i]);
    free(net);
    m->impl = NULL;
}

/* level l's parameters ("levels.<l>." names; l < 0: cgc, no prefix) on dim-wide inputs: the shared
 * ones here, task k's in level_init_task (every shared one is registered before any task's) */
static mtl_status level_init_shared(moe_level *lv, mtl_params *P, int l, const mtl_model_config *cfg, int dim,
                                    bool shared_gate) {
    const mtl_tab_model_config *c = &cfg->tab;
    char prefix[24] = "", name[MTL_NAME_MAX];
    if (l >= 0) snprintf(prefix, sizeof prefix, "levels.%d.", l);
    snprintf(name, sizeof name, "%sshared_experts", prefix);
    mtl_status s = mtl__experts_init(&lv->shared, P, name, MTL_OWNER_SHARED, c->shared_experts, dim, c->units);
    lv->has_shared_gate = shared_gate;
    if (!s && shared_gate) {
        snprintf(name, sizeof name, "%sshared_gate", prefix);
        s = mtl_nn_linear_init(&lv->shared_gate, P, name, MTL_OWNER_SHARED, dim,
                               cfg->n_tasks * c->task_experts + c->shared_experts, false);
    }
    return s;
}

static mtl_status level_init_task(moe_level *lv, mtl_params *P, int l, const mtl_model_config *cfg, int dim, int k) {
    const mtl_tab_model_config *c = &cfg->tab;
    char prefix[24] = "", name[MTL_NAME_MAX];
    if (l >= 0) snprintf(prefix, sizeof prefix, "levels.%d.", l);
    snprintf(name, sizeof name, "%stask_experts.%d", prefix, k);
    mtl_status s = mtl__experts_init(&lv->task[k], P, name, k, c->task_experts, dim, c->units);
    snprintf(name, sizeof name, "%sgates.%d", prefix, k);
    if (!s) s = mtl_nn_linear_init(&lv->gate[k], P, name, k, dim, c->task_experts + c->shared_experts, false);
    return s;
}

static mtl_status moe_create(const char *kind_name, moe_kind kind, mtl_model *m) {
    mtl_status s = mtl__tab_resolve(kind_name, m);
    if (s) return s;
    const mtl_model_config *cfg = &m->cfg;
    const mtl_tab_model_config *c = &cfg->tab;
    int K = cfg->n_tasks;
    if ((kind == CGC || kind == PLE) && (c->shared_experts < 1 || c->task_experts < 1))
        return mtl_error(MTL_ERR_ARG, "model %s: %d shared and %d task experts (expected at least 1 each)", kind_name,
                         c->shared_experts, c->task_experts);
    if (kind == PLE && c->levels > MAX_LEVELS)
        return mtl_error(MTL_ERR_ARG, "model ple: %d levels (expected at most %d)", c->levels, MAX_LEVELS);
    moe *net = calloc(1, sizeof *net);
    if (!net) return mtl_error(MTL_ERR_NOMEM, "model %s: out of memory", kind_name);
    m->impl = net;
    m->forward = moe_forward;
    m->destroy = moe_destroy;
    net->kind = kind;
    mtl_params *P = m->params;
    char name[MTL_NAME_MAX];

    if (kind == SINGLE) {
        for (int k = 0; k < K && !s; k++) {
            snprintf(name, sizeof name, "inputs.%d", k);
            s = mtl__tab_input_init(&net->in[k], P, name, k, c);
            net->n_inputs = k + 1;
            snprintf(name, sizeof name, "bottoms.%d", k);
            if (!s) s = mtl__mlp_init(&net->bottom[k], P, name, k, net->in[k].dim, 1, &c->units, false);
        }
        return s ? s : mtl__towers_init(net->towers, P, cfg, c->units);
    }

    s = mtl__tab_input_init(&net->in[0], P, "inp", MTL_OWNER_SHARED, c);
    net->n_inputs = 1;
    int dim = net->in[0].dim;
    if (s) return s;
    switch (kind) {
    case SHARED_BOTTOM:
        s = mtl__mlp_init(&net->bottom[0], P, "bottom", MTL_OWNER_SHARED, dim, 1, &c->units, false);
        break;
    case OMOE:
    case MMOE:
        s = mtl__experts_init(&net->experts, P, "experts", MTL_OWNER_SHARED, c->experts, dim, c->units);
        if (!s && kind == OMOE)
            s = mtl_nn_linear_init(&net->gate[0], P, "gate", MTL_OWNER_SHARED, dim, c->experts, false);
        for (int k = 0; k < K && !s && kind == MMOE; k++) {
            snprintf(name, sizeof name, "gates.%d", k);
            s = mtl_nn_linear_init(&net->gate[k], P, name, k, dim, c->experts, false);
        }
        break;
    case CGC:
    case PLE: {
        /* cgc's names carry no "levels.0." prefix (level index -1) */
        net->n_levels = kind == CGC ? 1 : c->levels;
        for (int l = 0; l < net->n_levels && !s; l++)
            s = level_init_shared(&net->level[l], P, kind == CGC ? -1 : l, cfg, l ? c->units : dim,
                                  l < net->n_levels - 1);
        for (int k = 0; k < K && !s; k++)
            for (int l = 0; l < net->n_levels && !s; l++)
                s = level_init_task(&net->level[l], P, kind == CGC ? -1 : l, cfg, l ? c->units : dim, k);
        break;
    }
    case SINGLE:
        break;
    }
    return s ? s : mtl__towers_init(net->towers, P, cfg, c->units);
}

mtl_status mtl_single_tab_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg;
    return moe_create("single", SINGLE, m);
}
mtl_status mtl_shared_bottom_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg;
    return moe_create("shared-bottom", SHARED_BOTTOM, m);
}
mtl_status mtl_omoe_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg;
    return moe_create("omoe", OMOE, m);
}
mtl_status mtl_mmoe_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg;
    return moe_create("mmoe", MMOE, m);
}
mtl_status mtl_cgc_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg;
    return moe_create("cgc", CGC, m);
}
mtl_status mtl_ple_create(const mtl_model_config *cfg, mtl_model *m) {
    (void)cfg;
    return moe_create("ple", PLE, m);
}
