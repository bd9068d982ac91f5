/* MTAGN (../shared/specs/mtagn.md, "Architecture") and STAN, its single-task form
 * (reference: tests/parity/reference.py, classes MTAGN and STAN).
 *
 *   unit(cin, cout, k) = Conv1d(k, pad k/2, bias) -> BatchNorm1d(eps 1e-5, momentum 0.1) -> ReLU
 *   shared:  g1 = block1(x) [16, L]     g2 = block2(pool4(g1)) [32, L/4]     g3 = block3(pool4(g2)) [64, L/16]
 *   task i:  p1 = pool4(C1(ATT_i1(g1)))  p2 = pool4(C2(ATT_i2(g2 + p1)))  p3 = pool2(C3(ATT_i3(g3 + p2)))
 *            logits_i = head_i(mean over length of p3)              (C1..C3: 1x1 units 16->32->64->128)
 *
 * "mtagn": one network; trunk and (by default) C1..C3 shared, ATT and heads per task.
 * "stan": K complete one-branch networks "net.k.*", every parameter owned by its task (with
 * MTL_MODEL_PER_TASK_UNITS its units are named net.k.unit.0.{stage}, as reference STAN(per_task_units=True)).
 * Parameter names equal the reference module's state_dict names. Any number of input channels
 * (cfg.in_channels, 0 = 1) and any input length >= 32; cfg.width is not used (the spec fixes
 * the widths). taps: features[k] = the [N,128] head input, attention[k][s] = ATT_k(s+1)'s [N,C]
 * weights (1 + sigmoid). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mtl/ops.h"
#include "models/models.h"

#define MTAGN_MIN_LENGTH 32 /* the pools divide the length by 32 before the mean */

typedef struct {
    mtl_nn_conv1d conv;
    mtl_nn_batchnorm bn;
} unit;

/* one MTAGN with n_tasks branches */
typedef struct {
    unit block[3][2];
    mtl_nn_eca att[MTL_MAX_TASKS][3];
    unit units[MTL_MAX_TASKS][3]; /* only units[0] when shared */
    mtl_nn_linear head[MTL_MAX_TASKS];
    int n_tasks;
    bool per_task_units;
} mtagn_net;

typedef struct {
    int n_nets; /* mtagn: 1 network with K branches; stan: K networks with 1 branch */
    mtagn_net net[MTL_MAX_TASKS];
} mtagn_impl;

static mtl_status kaiming(mtl_params *P, const mtl_nn_conv1d *c) {
    /* Kaiming-normal, mode fan_out, ReLU gain: std = sqrt(2 / (cout * k)) */
    float std = (float)sqrt(2.0 / ((double)c->cout * c->k));
    mtl_status s = mtl_params_set_init(P, c->weight, (mtl_init){MTL_INIT_NORMAL, 0.0f, std});
    return s ? s : mtl_params_set_init(P, c->bias, MTL_INIT_Z);
}

static mtl_status unit_init(unit *u, mtl_params *P, const char *prefix, int owner, int cin, int cout, int k) {
    char conv[MTL_NAME_MAX], bn[MTL_NAME_MAX];
    if (snprintf(conv, sizeof conv, "%s.conv", prefix) >= (int)sizeof conv ||
        snprintf(bn, sizeof bn, "%s.bn", prefix) >= (int)sizeof bn)
        return mtl_error(MTL_ERR_ARG, "model: parameter name '%s' is too long", prefix);
    mtl_status s = mtl_nn_conv1d_init(&u->conv, P, conv, owner, cin, cout, k, 1, k / 2, true);
    if (!s) s = kaiming(P, &u->conv);
    if (!s) s = mtl_nn_batchnorm_init(&u->bn, P, bn, owner, cout, 0.1f, 1e-5f);
    return s;
}

/* conv -> BN -> ReLU as one fused op: the batch statistics are gathered while the conv
 * output is in cache, and the conv output's gradient is never stored (src/ops/fused.c) */
static mtl_tensor *unit_forward(mtl_tape *t, unit *u, mtl_tensor *x) {
    const mtl_nn_conv1d *c = &u->conv;
    mtl_nn_batchnorm *b = &u->bn;
    mtl_tensor *y = mtl_conv1d_bn_relu(t, x, c->weight, c->bias, c->stride, c->pad, b->weight, b->bias,
                                       b->running_mean, b->running_var, b->momentum, b->eps);
    if (y && mtl_tape_training(t)) b->num_batches_tracked->data[0] += 1.0f;
    return y;
}

/* Registers one network under `prefix` ("" or "net.k."): shared parts owned by
 * shared_owner, branch i by task_owner + i. */
static mtl_status net_init(mtagn_net *n, mtl_params *P, const char *prefix, int shared_owner, int task_owner,
                           int n_tasks, const int *classes, int cin, bool per_task_units) {
    static const int trunk[3][2][3] = { /* {cin, cout, k} of block b + 1, unit j */
        {{0, 16, 7}, {16, 16, 7}}, {{16, 32, 5}, {32, 32, 5}}, {{32, 64, 3}, {64, 64, 3}}};
    static const int width[4] = {16, 32, 64, 128}; /* unit s maps width[s] -> width[s + 1] */
    char name[MTL_NAME_MAX];
    mtl_status s = MTL_OK;
    n->n_tasks = n_tasks;
    n->per_task_units = per_task_units;
    for (int b = 0; b < 3 && !s; b++)
        for (int j = 0; j < 2 && !s; j++) {
            snprintf(name, sizeof name, "%sblock%d.%d", prefix, b + 1, j);
            int in = b == 0 && j == 0 ? cin : trunk[b][j][0];
            s = unit_init(&n->block[b][j], P, name, shared_owner, in, trunk[b][j][1], trunk[b][j][2]);
        }
    for (int i = 0; i < n_tasks && !s; i++)
        for (int st = 0; st < 3 && !s; st++) {
            snprintf(name, sizeof name, "%satt.%d.%d", prefix, i, st);
            s = mtl_nn_eca_init(&n->att[i][st], P, name, task_owner + i, 3);
            if (!s) s = kaiming(P, &n->att[i][st].conv);
        }
    int n_sets = per_task_units ? n_tasks : 1;
    for (int i = 0; i < n_sets && !s; i++)
        for (int st = 0; st < 3 && !s; st++) {
            if (per_task_units) snprintf(name, sizeof name, "%sunit.%d.%d", prefix, i, st);
            else snprintf(name, sizeof name, "%sunit.%d", prefix, st);
            s = unit_init(&n->units[i][st], P, name, per_task_units ? task_owner + i : shared_owner, width[st],
                          width[st + 1], 1);
        }
    for (int i = 0; i < n_tasks && !s; i++) {
        snprintf(name, sizeof name, "%shead.%d", prefix, i);
        mtl_nn_linear *h = &n->head[i];
        s = mtl_nn_linear_init(h, P, name, task_owner + i, 128, classes[i], true);
        /* Xavier-normal: std = sqrt(2 / (fan_in + fan_out)) */
        if (!s) s = mtl_params_set_init(P, h->weight, (mtl_init){MTL_INIT_NORMAL, 0.0f,
                                                                (float)sqrt(2.0 / (128.0 + classes[i]))});
        if (!s) s = mtl_params_set_init(P, h->bias, MTL_INIT_Z);
    }
    return s;
}

/* ECA's channel weights 1 + sigmoid(conv_k(mean_L(x))) [N,C], as mtl_nn_eca_forward computes them
 * before it scales x: the branch unit applies them itself */
static mtl_tensor *eca_weights(mtl_tape *t, const mtl_nn_eca *e, mtl_tensor *x, mtl_tensor *mean) {
    if (!x) return NULL;
    int N = x->shape[0], C = x->shape[1];
    mtl_tensor *z = mtl_reshape(t, mean ? mean : mtl_mean(t, x, 2, false), MTL_SHAPE(N, 1, C));
    z = mtl_reshape(t, mtl_sigmoid(t, mtl_nn_conv1d_forward(t, &e->conv, z)), MTL_SHAPE(N, C));
    return mtl_affine(t, z, 1.0f, 1.0f);
}

/* a branch unit on x scaled by its attention weights a, followed by its max-pooling (one
 * node in training, one pass in inference) */
static mtl_tensor *unit_pool_forward(mtl_tape *t, unit *u, mtl_tensor *x, mtl_tensor *a, int pool) {
    const mtl_nn_conv1d *c = &u->conv;
    mtl_nn_batchnorm *b = &u->bn;
    mtl_tensor *y = mtl_scaled_conv1d_bn_relu_maxpool(t, x, a, c->weight, c->bias, c->stride, c->pad, b->weight,
                                                      b->bias, b->running_mean, b->running_var, b->momentum, b->eps,
                                                      pool);
    if (y && mtl_tape_training(t)) b->num_batches_tracked->data[0] += 1.0f;
    return y;
}

/* writes the network's n_tasks logits, features and attention into the model's slots from `first` */
static void net_forward(mtl_model *m, mtl_tape *t, mtagn_net *n, mtl_tensor *x, mtl_tensor **logits, int first) {
    mtl_tensor *g[3], *h = x;
    for (int b = 0; b < 3; b++) {
        if (b > 0) h = mtl_maxpool1d(t, g[b - 1], 4, 4);
        g[b] = unit_forward(t, &n->block[b][1], unit_forward(t, &n->block[b][0], h));
    }
    static const int pool[3] = {4, 4, 2};
    /* every branch's first attention averages the same g1: one mean (and one backward pass) for all */
    mtl_tensor *mean_g1 = n->n_tasks > 1 ? mtl_mean(t, g[0], 2, false) : NULL;
    for (int i = 0; i < n->n_tasks; i++) {
        unit *u = n->units[n->per_task_units ? i : 0];
        mtl_tensor *p = NULL;
        for (int st = 0; st < 3; st++) {
            mtl_tensor *in = st == 0 ? g[0] : mtl_add(t, g[st], p);
            mtl_tensor *a = eca_weights(t, &n->att[i][st], in, st == 0 ? mean_g1 : NULL);
            m->taps.attention[first + i][st] = a;
            p = unit_pool_forward(t, &u[st], in, a, pool[st]);
        }
        mtl_tensor *f = mtl_mean(t, p, 2, false);
        m->taps.features[first + i] = f;
        logits[first + i] = mtl_nn_linear_forward(t, &n->head[i], f);
    }
}

static mtl_tensor *mtagn_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    mtagn_impl *impl = m->impl;
    m->taps.n_stages = 3;
    int first = 0;
    for (int k = 0; k < impl->n_nets; k++) {
        net_forward(m, t, &impl->net[k], x, logits, first);
        first += impl->net[k].n_tasks;
    }
    return logits[0];
}

static void mtagn_destroy(mtl_model *m) { free(m->impl); }

static mtl_status create(const mtl_model_config *cfg, mtl_model *m, const char *kind, bool single_task) {
    if (cfg->length < MTAGN_MIN_LENGTH)
        return mtl_error(MTL_ERR_ARG, "model %s: input length %d is too short (expected at least %d)", kind,
                         cfg->length, MTAGN_MIN_LENGTH);
    int cin = cfg->in_channels > 0 ? cfg->in_channels : 1;
    bool per_task = (cfg->options & MTL_MODEL_PER_TASK_UNITS) != 0;
    mtagn_impl *impl = calloc(1, sizeof *impl);
    if (!impl) return mtl_error(MTL_ERR_NOMEM, "model %s: out of memory", kind);
    m->impl = impl;
    m->forward = mtagn_forward;
    m->destroy = mtagn_destroy;
    if (!single_task) {
        impl->n_nets = 1;
        return net_init(&impl->net[0], m->params, "", MTL_OWNER_SHARED, 0, cfg->n_tasks, cfg->n_classes, cin,
                        per_task);
    }
    impl->n_nets = cfg->n_tasks;
    mtl_status s = MTL_OK;
    for (int k = 0; k < cfg->n_tasks && !s; k++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "net.%d.", k);
        s = net_init(&impl->net[k], m->params, prefix, k, k, 1, &cfg->n_classes[k], cin, per_task);
    }
    return s;
}

mtl_status mtl_mtagn_create(const mtl_model_config *cfg, mtl_model *m) { return create(cfg, m, "mtagn", false); }
mtl_status mtl_stan_create(const mtl_model_config *cfg, mtl_model *m) { return create(cfg, m, "stan", true); }
