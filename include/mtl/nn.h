/* mtl parameters and modules. All trainable parameters of a model live in ONE
 * contiguous block (their gradients in another), shared parameters first, then
 * task 0's, task 1's, ...: the shared gradient is one slice, and K per-task
 * gradient rows are K slices. Each parameter has a PyTorch state_dict name. */
#ifndef MTL_NN_H
#define MTL_NN_H

#include "mtl/tape.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTL_OWNER_SHARED (-1)
#define MTL_NAME_MAX 96

typedef enum {
    MTL_INIT_ZEROS,
    MTL_INIT_ONES,
    MTL_INIT_CONST,   /* a */
    MTL_INIT_UNIFORM, /* U(a, b) */
    MTL_INIT_NORMAL   /* N(mean a, std b) */
} mtl_init_kind;

typedef struct {
    mtl_init_kind kind;
    float a, b;
} mtl_init;

#define MTL_INIT_Z ((mtl_init){MTL_INIT_ZEROS, 0.0f, 0.0f})

typedef struct {
    char name[MTL_NAME_MAX];
    int owner;        /* MTL_OWNER_SHARED or a task index */
    int64_t offset;   /* in the data/gradient block (parameters) or buffer block */
    bool trainable;   /* false for buffers (batchnorm running statistics) */
    mtl_init init;
    mtl_tensor *tensor;
} mtl_param_info;

/* Registration, then finalize: modules register their parameters (data is NULL until
 * mtl_params_finalize allocates the blocks in owner order and initialises them with
 * the given seed; parameter i draws from RNG stream i of its registration order). */
mtl_status mtl_params_create(mtl_params **out);
void mtl_params_free(mtl_params *P);
mtl_tensor *mtl_param_add(mtl_params *P, const char *name, int owner, mtl_shape shape, mtl_init init);
mtl_tensor *mtl_buffer_add(mtl_params *P, const char *name, int owner, mtl_shape shape, mtl_init init);
/* change the initialisation of a registered tensor (before finalize) */
mtl_status mtl_params_set_init(mtl_params *P, mtl_tensor *p, mtl_init init);
mtl_status mtl_params_finalize(mtl_params *P, uint64_t seed);
bool mtl_params_finalized(const mtl_params *P);

int64_t mtl_params_size(const mtl_params *P);        /* trainable floats, D */
int64_t mtl_params_shared_size(const mtl_params *P); /* leading shared floats */
float *mtl_params_data(mtl_params *P);
float *mtl_params_grad(mtl_params *P);
void mtl_params_zero_grad(mtl_params *P);
/* parameters then buffers, each in block order */
int mtl_params_count(const mtl_params *P);
const mtl_param_info *mtl_params_info(const mtl_params *P, int i);
mtl_tensor *mtl_params_find(const mtl_params *P, const char *name);
/* [start, end) of owner's slice of the block (empty if the owner has none) */
void mtl_params_owner_range(const mtl_params *P, int owner, int64_t *start, int64_t *end);

/* ---- checkpoints (src/nn/checkpoint.c) ------------------------------------------
 * safetensors with every parameter and buffer under its PyTorch state_dict name
 * (num_batches_tracked as I64, the rest F32), so a checkpoint loads into the PyTorch
 * reference module. meta: NULL or n_meta key/value pairs for "__metadata__".
 * Saving writes a temporary file and renames it: never a half-written checkpoint. */
mtl_status mtl_params_save(const mtl_params *P, const char *path, int n_meta, const char *const *meta);
/* Loads every parameter and buffer of P from path; names and shapes must match
 * (an error names the first tensor that is missing or has another shape). */
mtl_status mtl_params_load(mtl_params *P, const char *path);

/* ---- modules (src/nn/) -------------------------------------------------------
 * init registers parameters named "<prefix>.weight" etc. with PyTorch's default
 * initialisation (change it with mtl_params_set_init before finalize). */
typedef struct {
    mtl_tensor *weight, *bias; /* weight [out,in]; bias [out] or NULL */
    int in, out;
} mtl_nn_linear;
mtl_status mtl_nn_linear_init(mtl_nn_linear *m, mtl_params *P, const char *prefix, int owner, int in, int out,
                              bool bias);
mtl_tensor *mtl_nn_linear_forward(mtl_tape *t, const mtl_nn_linear *m, mtl_tensor *x);
/* relu(mtl_nn_linear_forward(...)) as one op (mtl_linear_relu) */
mtl_tensor *mtl_nn_linear_relu_forward(mtl_tape *t, const mtl_nn_linear *m, mtl_tensor *x);

typedef struct {
    mtl_tensor *weight, *bias; /* weight [cout,cin,k]; bias [cout] or NULL */
    int cin, cout, k, stride, pad;
} mtl_nn_conv1d;
mtl_status mtl_nn_conv1d_init(mtl_nn_conv1d *m, mtl_params *P, const char *prefix, int owner, int cin, int cout,
                              int k, int stride, int pad, bool bias);
mtl_tensor *mtl_nn_conv1d_forward(mtl_tape *t, const mtl_nn_conv1d *m, mtl_tensor *x);

typedef struct {
    mtl_tensor *weight, *bias;                /* [c] (affine) */
    mtl_tensor *running_mean, *running_var;   /* buffers [c] */
    mtl_tensor *num_batches_tracked;          /* buffer [1] (a count, stored as float) */
    int c;
    float momentum, eps;
} mtl_nn_batchnorm;
mtl_status mtl_nn_batchnorm_init(mtl_nn_batchnorm *m, mtl_params *P, const char *prefix, int owner, int c,
                                 float momentum, float eps);
mtl_tensor *mtl_nn_batchnorm_forward(mtl_tape *t, mtl_nn_batchnorm *m, mtl_tensor *x);

typedef struct {
    mtl_tensor *weight; /* [num, dim], N(0,1) */
    int num, dim;
} mtl_nn_embedding;
mtl_status mtl_nn_embedding_init(mtl_nn_embedding *m, mtl_params *P, const char *prefix, int owner, int num,
                                 int dim);
/* ids[n] -> [n, dim] */
mtl_tensor *mtl_nn_embedding_forward(mtl_tape *t, const mtl_nn_embedding *m, const int32_t *ids, int n);

/* Residual ECA channel attention (MTAGN): y = x * (1 + sigmoid(conv3(mean_L(x)))),
 * conv3 a Conv1d(1,1,k,pad k/2, bias) run across channels. x [N,C,L]. */
typedef struct {
    mtl_nn_conv1d conv;
} mtl_nn_eca;
mtl_status mtl_nn_eca_init(mtl_nn_eca *m, mtl_params *P, const char *prefix, int owner, int k);
/* attn_out (optional) receives the [N,C] attention (1 + sigmoid) per channel */
mtl_tensor *mtl_nn_eca_forward(mtl_tape *t, const mtl_nn_eca *m, mtl_tensor *x, mtl_tensor **attn_out);

#ifdef __cplusplus
}
#endif
#endif
