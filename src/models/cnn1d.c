/* The 1-D CNN baselines of the MTAGN repository (../shared/specs/mtagn.md, "Baselines"),
 * with PyTorch's default initialisation (reference: tests/parity/reference.py, classes
 * MT1DCNN, JLCNN, WDCNN / WDCNNs; parameter names equal their state_dict names).
 *
 *   mt1dcnn  hard sharing: trunk.0-4 = 5 x Conv-BN-ReLU (stride 2) -> [32, L/32]; per task
 *            branch.k.0-1 = 2 x Conv-BN-ReLU (stride 2), mean over length -> [64] (features), head.k
 *   jlcnn    encoder.0-5 = 6 x [Conv k3 p1 - BN - ReLU - MaxPool 2] -> [16, L/64]; per task
 *            flatten -> fc.k Linear(16 (L/64), 128) -> ReLU (features) -> head.k Linear(128, c)
 *   wdcnn    one independent network per task, net.k.*: block.0-4 = Conv - MaxPool 2 - ReLU - BN
 *            -> [64, n] (n = 3 for L = 2048) -> fc Linear(64 n, 100) (features) -> head Linear(100, c)
 *
 * taps.features is the input of each task's last Linear (the penultimate representation);
 * these models have no attention (n_stages 0). cfg.width is not used; jlcnn's and wdcnn's
 * flatten sizes follow cfg.length, so their forward needs inputs of that length. */
#include <stdio.h>
#include <stdlib.h>

#include "mtl/ops.h"
#include "models/models.h"

typedef struct {
    mtl_nn_conv1d conv;
    mtl_nn_batchnorm bn;
} cbn;

typedef struct {
    int cin, cout, k, stride, pad;
} conv_spec;

static mtl_status cbn_init(cbn *u, mtl_params *P, const char *prefix, int owner, conv_spec c) {
    char conv[MTL_NAME_MAX], bn[MTL_NAME_MAX];
    if (snprintf(conv, sizeof conv, "%s.conv", prefix) >= (int)sizeof conv ||
        snprintf(bn, sizeof bn, "%s.bn", prefix) >= (int)sizeof bn)
        return mtl_error(MTL_ERR_ARG, "model: parameter name '%s' is too long", prefix);
    mtl_status s = mtl_nn_conv1d_init(&u->conv, P, conv, owner, c.cin, c.cout, c.k, c.stride, c.pad, true);
    if (!s) s = mtl_nn_batchnorm_init(&u->bn, P, bn, owner, c.cout, 0.1f, 1e-5f);
    return s;
}

/* Conv -> BN -> ReLU */
static mtl_tensor *cbn_forward(mtl_tape *t, cbn *u, mtl_tensor *x) {
    return mtl_relu(t, mtl_nn_batchnorm_forward(t, &u->bn, mtl_nn_conv1d_forward(t, &u->conv, x)));
}

/* output length of a convolution; < 1 when the input is too short */
static int conv_len(int n, conv_spec c) { return n + 2 * c.pad < c.k ? 0 : (n + 2 * c.pad - c.k) / c.stride + 1; }

static mtl_status too_short(const char *kind, int length, int min) {
    return mtl_error(MTL_ERR_ARG, "model %s: input length %d is too short (expected at least %d)", kind, length, min);
}

/* smallest length in [1, 1 << 20] for which len_fn gives at least 1 (lengths are monotone) */
static int min_length(int (*len_fn)(int)) {
    int lo = 1, hi = 1 << 20;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (len_fn(mid) >= 1) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static void impl_destroy(mtl_model *m) { free(m->impl); }

/* ---- MT-1DCNN ------------------------------------------------------------------- */

static const conv_spec mt1d_trunk[5] = {{0, 16, 12, 2, 5}, {16, 16, 12, 2, 5}, {16, 24, 9, 2, 4}, {24, 24, 9, 2, 4},
                                        {24, 32, 6, 2, 2}};
static const conv_spec mt1d_branch[2] = {{32, 32, 6, 2, 2}, {32, 64, 3, 2, 1}};

typedef struct {
    cbn trunk[5], branch[MTL_MAX_TASKS][2];
    mtl_nn_linear head[MTL_MAX_TASKS];
} mt1dcnn;

/* length of a branch's last feature map */
static int mt1d_len(int n) {
    for (int i = 0; i < 5; i++) n = n >= 1 ? conv_len(n, mt1d_trunk[i]) : 0;
    for (int i = 0; i < 2; i++) n = n >= 1 ? conv_len(n, mt1d_branch[i]) : 0;
    return n;
}

static mtl_tensor *mt1dcnn_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    mt1dcnn *net = m->impl;
    for (int i = 0; i < 5; i++) x = cbn_forward(t, &net->trunk[i], x);
    m->taps.rep = x;
    for (int k = 0; k < m->cfg.n_tasks; k++) {
        mtl_tensor *z = cbn_forward(t, &net->branch[k][1], cbn_forward(t, &net->branch[k][0], x));
        m->taps.features[k] = mtl_mean(t, z, 2, false);
        logits[k] = mtl_nn_linear_forward(t, &net->head[k], m->taps.features[k]);
    }
    return logits[0];
}

mtl_status mtl_mt1dcnn_create(const mtl_model_config *cfg, mtl_model *m) {
    if (mt1d_len(cfg->length) < 1) return too_short("mt1dcnn", cfg->length, min_length(mt1d_len));
    mt1dcnn *net = calloc(1, sizeof *net);
    if (!net) return mtl_error(MTL_ERR_NOMEM, "model mt1dcnn: out of memory");
    m->impl = net;
    m->forward = mt1dcnn_forward;
    m->destroy = impl_destroy;
    char name[MTL_NAME_MAX];
    mtl_status s = MTL_OK;
    for (int i = 0; i < 5 && !s; i++) {
        conv_spec c = mt1d_trunk[i];
        if (i == 0) c.cin = cfg->in_channels > 0 ? cfg->in_channels : 1;
        snprintf(name, sizeof name, "trunk.%d", i);
        s = cbn_init(&net->trunk[i], m->params, name, MTL_OWNER_SHARED, c);
    }
    for (int k = 0; k < cfg->n_tasks && !s; k++) {
        for (int i = 0; i < 2 && !s; i++) {
            snprintf(name, sizeof name, "branch.%d.%d", k, i);
            s = cbn_init(&net->branch[k][i], m->params, name, k, mt1d_branch[i]);
        }
        snprintf(name, sizeof name, "head.%d", k);
        if (!s) s = mtl_nn_linear_init(&net->head[k], m->params, name, k, 64, cfg->n_classes[k], true);
    }
    return s;
}

/* ---- JL-CNN --------------------------------------------------------------------- */

typedef struct {
    cbn encoder[6];
    mtl_nn_linear fc[MTL_MAX_TASKS], head[MTL_MAX_TASKS];
} jlcnn;

/* six floor-halvings */
static int jl_len(int n) { return n / 64; }

static mtl_tensor *jlcnn_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    jlcnn *net = m->impl;
    for (int i = 0; i < 6; i++) x = mtl_maxpool1d(t, cbn_forward(t, &net->encoder[i], x), 2, 2);
    m->taps.rep = x;
    x = mtl_reshape(t, x, MTL_SHAPE(x ? x->shape[0] : 0, -1));
    for (int k = 0; k < m->cfg.n_tasks; k++) {
        m->taps.features[k] = mtl_nn_linear_relu_forward(t, &net->fc[k], x);
        logits[k] = mtl_nn_linear_forward(t, &net->head[k], m->taps.features[k]);
    }
    return logits[0];
}

mtl_status mtl_jlcnn_create(const mtl_model_config *cfg, mtl_model *m) {
    if (jl_len(cfg->length) < 1) return too_short("jlcnn", cfg->length, min_length(jl_len));
    jlcnn *net = calloc(1, sizeof *net);
    if (!net) return mtl_error(MTL_ERR_NOMEM, "model jlcnn: out of memory");
    m->impl = net;
    m->forward = jlcnn_forward;
    m->destroy = impl_destroy;
    static const int chans[7] = {0, 8, 16, 16, 16, 16, 16};
    char name[MTL_NAME_MAX];
    mtl_status s = MTL_OK;
    for (int i = 0; i < 6 && !s; i++) {
        conv_spec c = {i == 0 ? (cfg->in_channels > 0 ? cfg->in_channels : 1) : chans[i], chans[i + 1], 3, 1, 1};
        snprintf(name, sizeof name, "encoder.%d", i);
        s = cbn_init(&net->encoder[i], m->params, name, MTL_OWNER_SHARED, c);
    }
    int flat = 16 * jl_len(cfg->length); /* 512 for 2048 samples */
    for (int k = 0; k < cfg->n_tasks && !s; k++) {
        snprintf(name, sizeof name, "fc.%d", k);
        s = mtl_nn_linear_init(&net->fc[k], m->params, name, k, flat, 128, true);
        snprintf(name, sizeof name, "head.%d", k);
        if (!s) s = mtl_nn_linear_init(&net->head[k], m->params, name, k, 128, cfg->n_classes[k], true);
    }
    return s;
}

/* ---- WDCNN (one per task) -------------------------------------------------------- */

static const conv_spec wd_convs[5] = {{0, 16, 64, 16, 24}, {16, 32, 3, 1, 1}, {32, 64, 3, 1, 1}, {64, 64, 3, 1, 1},
                                      {64, 64, 3, 1, 0}};

typedef struct {
    cbn block[MTL_MAX_TASKS][5];
    mtl_nn_linear fc[MTL_MAX_TASKS], head[MTL_MAX_TASKS];
} wdcnn;

/* length of the last feature map (3 for 2048) */
static int wd_len(int n) {
    for (int i = 0; i < 5; i++) n = n >= 1 ? conv_len(n, wd_convs[i]) / 2 : 0;
    return n;
}

static mtl_tensor *wdcnn_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    wdcnn *net = m->impl;
    for (int k = 0; k < m->cfg.n_tasks; k++) {
        mtl_tensor *z = x;
        for (int i = 0; i < 5; i++) {
            cbn *u = &net->block[k][i];
            /* Conv - MaxPool - ReLU - BN: the original normalises after the activation */
            z = mtl_relu(t, mtl_maxpool1d(t, mtl_nn_conv1d_forward(t, &u->conv, z), 2, 2));
            z = mtl_nn_batchnorm_forward(t, &u->bn, z);
        }
        z = mtl_reshape(t, z, MTL_SHAPE(z ? z->shape[0] : 0, -1));
        m->taps.features[k] = mtl_nn_linear_forward(t, &net->fc[k], z);
        logits[k] = mtl_nn_linear_forward(t, &net->head[k], m->taps.features[k]);
    }
    return logits[0];
}

mtl_status mtl_wdcnn_create(const mtl_model_config *cfg, mtl_model *m) {
    if (wd_len(cfg->length) < 1) return too_short("wdcnn", cfg->length, min_length(wd_len));
    wdcnn *net = calloc(1, sizeof *net);
    if (!net) return mtl_error(MTL_ERR_NOMEM, "model wdcnn: out of memory");
    m->impl = net;
    m->forward = wdcnn_forward;
    m->destroy = impl_destroy;
    char name[MTL_NAME_MAX];
    mtl_status s = MTL_OK;
    int flat = 64 * wd_len(cfg->length); /* 192 for 2048 samples */
    for (int k = 0; k < cfg->n_tasks && !s; k++) {
        for (int i = 0; i < 5 && !s; i++) {
            conv_spec c = wd_convs[i];
            if (i == 0) c.cin = cfg->in_channels > 0 ? cfg->in_channels : 1;
            snprintf(name, sizeof name, "net.%d.block.%d", k, i);
            s = cbn_init(&net->block[k][i], m->params, name, k, c);
        }
        snprintf(name, sizeof name, "net.%d.fc", k);
        if (!s) s = mtl_nn_linear_init(&net->fc[k], m->params, name, k, flat, 100, true);
        snprintf(name, sizeof name, "net.%d.head", k);
        if (!s) s = mtl_nn_linear_init(&net->head[k], m->params, name, k, 100, cfg->n_classes[k], true);
    }
    return s;
}
