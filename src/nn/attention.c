/* Attention blocks. ECA (efficient channel attention), residual form used by MTAGN:
 * y = x * (1 + sigmoid(conv_k(mean_L(x)))) with the 1->1 convolution run across
 * channels. */
#include <stdio.h>

#include "autograd/tape_internal.h"

mtl_status mtl_nn_eca_init(mtl_nn_eca *m, mtl_params *P, const char *prefix, int owner, int k) {
    if (!m || !P) return mtl_error(MTL_ERR_ARG, "nn_eca_init: null argument");
    if (!prefix) prefix = "";
    if (k < 1 || k % 2 == 0) return mtl_error(MTL_ERR_ARG, "%s: ECA kernel size %d must be odd and positive", prefix, k);
    char name[MTL_NAME_MAX];
    if (snprintf(name, sizeof name, "%s.conv", prefix) >= (int)sizeof name)
        return mtl_error(MTL_ERR_ARG, "%s: name too long", prefix);
    return mtl_nn_conv1d_init(&m->conv, P, name, owner, 1, 1, k, 1, k / 2, true);
}

mtl_tensor *mtl_nn_eca_forward(mtl_tape *t, const mtl_nn_eca *m, mtl_tensor *x, mtl_tensor **attn_out) {
    if (!mtl__inputs_ok(t, "eca", 1, x)) return NULL;
    if (!m) return mtl__fail(t, MTL_ERR_ARG, "eca: module is NULL");
    if (x->ndim != 3) return mtl__fail(t, MTL_ERR_SHAPE, "eca: input must be [N,C,L], got %d-d", x->ndim);
    int N = x->shape[0], C = x->shape[1];
    mtl_tensor *z = mtl_mean(t, x, 2, false);                    /* [N,C] */
    z = mtl_reshape(t, z, MTL_SHAPE(N, 1, C));                   /* channels as a sequence */
    z = mtl_nn_conv1d_forward(t, &m->conv, z);                   /* [N,1,C] */
    z = mtl_reshape(t, mtl_sigmoid(t, z), MTL_SHAPE(N, C));      /* [N,C] */
    mtl_tensor *a = mtl_affine(t, z, 1.0f, 1.0f);                /* 1 + sigmoid */
    if (attn_out) *attn_out = a;
    return mtl_scale_channels(t, x, a);
}
