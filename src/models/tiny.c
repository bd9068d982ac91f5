/* "tiny": the small multi-task 1-D CNN used by the demo and the engine's
 * end-to-end PyTorch parity test (reference: tests/parity/gen_model_tiny.py).
 *
 *   shared:   conv1 (in -> w, k7, pad 3, no bias: batchnorm follows) -> bn1 -> ReLU -> MaxPool(4, 4)    = p
 *   task k:   a_k = ECA_k(p)              (eca.k.conv: Conv1d(1, 1, 3, pad 1))
 *             c_k = ReLU(conv2(a_k))      (conv2 shared: w -> 2w, k3, pad 1)
 *             logits_k = head_k(mean over length of c_k)   (head.k: Linear(2w, classes_k))
 */
#include <stdio.h>
#include <stdlib.h>

#include "mtl/ops.h"
#include "models/models.h"

typedef struct {
    mtl_nn_conv1d conv1, conv2;
    mtl_nn_batchnorm bn1;
    mtl_nn_eca eca[MTL_MAX_TASKS];
    mtl_nn_linear head[MTL_MAX_TASKS];
} tiny;

static mtl_tensor *tiny_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    tiny *net = m->impl;
    mtl_tensor *p = mtl_nn_conv1d_forward(t, &net->conv1, x);
    p = mtl_relu(t, mtl_nn_batchnorm_forward(t, &net->bn1, p));
    p = mtl_maxpool1d(t, p, 4, 4);
    for (int k = 0; k < m->cfg.n_tasks; k++) {
        mtl_tensor *a = mtl_nn_eca_forward(t, &net->eca[k], p, NULL);
        mtl_tensor *c = mtl_relu(t, mtl_nn_conv1d_forward(t, &net->conv2, a));
        logits[k] = mtl_nn_linear_forward(t, &net->head[k], mtl_mean(t, c, 2, false));
    }
    return logits[0];
}

static void tiny_destroy(mtl_model *m) { free(m->impl); }

mtl_status mtl_tiny_create(const mtl_model_config *cfg, mtl_model *m) {
    int w = cfg->width > 0 ? cfg->width : 8, cin = cfg->in_channels > 0 ? cfg->in_channels : 1;
    if (cfg->length < 8) return mtl_error(MTL_ERR_ARG, "model tiny: input length %d (expected at least 8)", cfg->length);
    tiny *net = calloc(1, sizeof *net);
    if (!net) return mtl_error(MTL_ERR_NOMEM, "model tiny: out of memory");
    m->impl = net;
    m->forward = tiny_forward;
    m->destroy = tiny_destroy;
    mtl_params *P = m->params;
    mtl_status s = mtl_nn_conv1d_init(&net->conv1, P, "conv1", MTL_OWNER_SHARED, cin, w, 7, 1, 3, false);
    if (!s) s = mtl_nn_batchnorm_init(&net->bn1, P, "bn1", MTL_OWNER_SHARED, w, 0.1f, 1e-5f);
    if (!s) s = mtl_nn_conv1d_init(&net->conv2, P, "conv2", MTL_OWNER_SHARED, w, 2 * w, 3, 1, 1, true);
    for (int k = 0; k < cfg->n_tasks && !s; k++) {
        char name[32];
        snprintf(name, sizeof name, "eca.%d", k);
        s = mtl_nn_eca_init(&net->eca[k], P, name, k, 3);
        snprintf(name, sizeof name, "head.%d", k);
        if (!s) s = mtl_nn_linear_init(&net->head[k], P, name, k, 2 * w, cfg->n_classes[k], true);
    }
    return s;
}
