/* Modules that own parameters: Linear, Conv1d, BatchNorm1d, Embedding.
 * Default initialisations are PyTorch's (reset_parameters of each module). */
#include <math.h>
#include <stdio.h>

#include "autograd/tape_internal.h"

static mtl_status name_of(char *buf, const char *prefix, const char *leaf) {
    int k = snprintf(buf, MTL_NAME_MAX, "%s%s%s", prefix ? prefix : "", prefix && *prefix ? "." : "", leaf);
    return (k < 0 || k >= MTL_NAME_MAX) ? mtl_error(MTL_ERR_ARG, "parameter name '%s.%s' is too long", prefix, leaf)
                                        : MTL_OK;
}

/* registers <prefix>.<leaf>; NULL (with the message set) on failure */
static mtl_tensor *reg(mtl_params *P, const char *prefix, const char *leaf, int owner, mtl_shape s, mtl_init init,
                       bool trainable) {
    char name[MTL_NAME_MAX];
    if (name_of(name, prefix, leaf)) return NULL;
    return trainable ? mtl_param_add(P, name, owner, s, init) : mtl_buffer_add(P, name, owner, s, init);
}

/* kaiming_uniform_(a=sqrt(5)) on the weight and U(+-1/sqrt(fan_in)) on the bias both
 * come to U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
static mtl_init fan_in_uniform(int fan_in) {
    float bound = 1.0f / sqrtf((float)fan_in);
    return (mtl_init){MTL_INIT_UNIFORM, -bound, bound};
}

mtl_status mtl_nn_linear_init(mtl_nn_linear *m, mtl_params *P, const char *prefix, int owner, int in, int out,
                              bool bias) {
    if (!m || !P) return mtl_error(MTL_ERR_ARG, "nn_linear_init: null argument");
    if (!prefix) prefix = "";
    if (in < 1 || out < 1) return mtl_error(MTL_ERR_ARG, "%s: Linear(%d, %d): sizes must be positive", prefix, in, out);
    m->in = in, m->out = out, m->bias = NULL;
    m->weight = reg(P, prefix, "weight", owner, MTL_SHAPE(out, in), fan_in_uniform(in), true);
    if (!m->weight) return mtl_last_status();
    if (bias && !(m->bias = reg(P, prefix, "bias", owner, MTL_SHAPE(out), fan_in_uniform(in), true))) return mtl_last_status();
    return MTL_OK;
}

mtl_tensor *mtl_nn_linear_forward(mtl_tape *t, const mtl_nn_linear *m, mtl_tensor *x) {
    if (!m) return mtl__fail(t, MTL_ERR_ARG, "linear module is NULL");
    return mtl_linear(t, x, m->weight, m->bias);
}

mtl_tensor *mtl_nn_linear_relu_forward(mtl_tape *t, const mtl_nn_linear *m, mtl_tensor *x) {
    if (!m) return mtl__fail(t, MTL_ERR_ARG, "linear module is NULL");
    return mtl_linear_relu(t, x, m->weight, m->bias);
}

mtl_status mtl_nn_conv1d_init(mtl_nn_conv1d *m, mtl_params *P, const char *prefix, int owner, int cin, int cout, int k,
                              int stride, int pad, bool bias) {
    if (!m || !P) return mtl_error(MTL_ERR_ARG, "nn_conv1d_init: null argument");
    if (!prefix) prefix = "";
    if (cin < 1 || cout < 1 || k < 1 || stride < 1 || pad < 0)
        return mtl_error(MTL_ERR_ARG, "%s: Conv1d(%d, %d, k=%d, stride=%d, pad=%d): invalid sizes", prefix, cin, cout, k,
                         stride, pad);
    m->cin = cin, m->cout = cout, m->k = k, m->stride = stride, m->pad = pad, m->bias = NULL;
    m->weight = reg(P, prefix, "weight", owner, MTL_SHAPE(cout, cin, k), fan_in_uniform(cin * k), true);
    if (!m->weight) return mtl_last_status();
    if (bias && !(m->bias = reg(P, prefix, "bias", owner, MTL_SHAPE(cout), fan_in_uniform(cin * k), true)))
        return mtl_last_status();
    return MTL_OK;
}

mtl_tensor *mtl_nn_conv1d_forward(mtl_tape *t, const mtl_nn_conv1d *m, mtl_tensor *x) {
    if (!m) return mtl__fail(t, MTL_ERR_ARG, "conv1d module is NULL");
    return mtl_conv1d(t, x, m->weight, m->bias, m->stride, m->pad);
}

mtl_status mtl_nn_batchnorm_init(mtl_nn_batchnorm *m, mtl_params *P, const char *prefix, int owner, int c,
                                 float momentum, float eps) {
    if (!m || !P) return mtl_error(MTL_ERR_ARG, "nn_batchnorm_init: null argument");
    if (!prefix) prefix = "";
    if (c < 1 || !(momentum >= 0 && momentum <= 1) || !(eps > 0))
        return mtl_error(MTL_ERR_ARG, "%s: BatchNorm1d(%d, momentum=%g, eps=%g): invalid arguments", prefix, c,
                         (double)momentum, (double)eps);
    m->c = c, m->momentum = momentum, m->eps = eps;
    if (!(m->weight = reg(P, prefix, "weight", owner, MTL_SHAPE(c), (mtl_init){MTL_INIT_ONES, 0, 0}, true)) ||
        !(m->bias = reg(P, prefix, "bias", owner, MTL_SHAPE(c), MTL_INIT_Z, true)) ||
        !(m->running_mean = reg(P, prefix, "running_mean", owner, MTL_SHAPE(c), MTL_INIT_Z, false)) ||
        !(m->running_var = reg(P, prefix, "running_var", owner, MTL_SHAPE(c), (mtl_init){MTL_INIT_ONES, 0, 0}, false)) ||
        !(m->num_batches_tracked = reg(P, prefix, "num_batches_tracked", owner, MTL_SHAPE(1), MTL_INIT_Z, false)))
        return mtl_last_status();
    return MTL_OK;
}

mtl_tensor *mtl_nn_batchnorm_forward(mtl_tape *t, mtl_nn_batchnorm *m, mtl_tensor *x) {
    if (!m) return mtl__fail(t, MTL_ERR_ARG, "batchnorm module is NULL");
    mtl_tensor *y = mtl_batchnorm(t, x, m->weight, m->bias, m->running_mean, m->running_var, m->momentum, m->eps);
    if (y && mtl_tape_training(t)) m->num_batches_tracked->data[0] += 1.0f;
    return y;
}

mtl_status mtl_nn_embedding_init(mtl_nn_embedding *m, mtl_params *P, const char *prefix, int owner, int num, int dim) {
    if (!m || !P) return mtl_error(MTL_ERR_ARG, "nn_embedding_init: null argument");
    if (!prefix) prefix = "";
    if (num < 1 || dim < 1) return mtl_error(MTL_ERR_ARG, "%s: Embedding(%d, %d): sizes must be positive", prefix, num, dim);
    m->num = num, m->dim = dim;
    m->weight = reg(P, prefix, "weight", owner, MTL_SHAPE(num, dim), (mtl_init){MTL_INIT_NORMAL, 0.0f, 1.0f}, true);
    return m->weight ? MTL_OK : mtl_last_status();
}

mtl_tensor *mtl_nn_embedding_forward(mtl_tape *t, const mtl_nn_embedding *m, const int32_t *ids, int n) {
    if (!m) return mtl__fail(t, MTL_ERR_ARG, "embedding module is NULL");
    return mtl_embedding(t, m->weight, ids, n);
}
