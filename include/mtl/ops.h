/* mtl ops on tensors. Each returns a new activation on the tape (NULL on failure,
 * see mtl_tape_status) and, when the tape records and an input requires a gradient,
 * records its backward. Semantics follow PyTorch's functions of the same name. */
#ifndef MTL_OPS_H
#define MTL_OPS_H

#include "mtl/tape.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dense (src/ops/dense.c) -------------------------------------------------- */
/* y[N,out] = x[N,in] w[out,in]^T + b[out]; b may be NULL. */
mtl_tensor *mtl_linear(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b);
/* relu(linear(x, w, b)) as one op: the same values and gradients, one tensor fewer */
mtl_tensor *mtl_linear_relu(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b);
/* [M,K] x [K,N] -> [M,N] */
mtl_tensor *mtl_matmul(mtl_tape *t, mtl_tensor *a, mtl_tensor *b);
/* batched: a[B,M,K] (or [B,K,M] if trans_a) x b[B,K,N] (or [B,N,K] if trans_b) -> [B,M,N].
 * Batched dot products for attention scores: e[B,E,D] x t[B,D,1] -> [B,E,1]. */
mtl_tensor *mtl_bmm(mtl_tape *t, mtl_tensor *a, mtl_tensor *b, bool trans_a, bool trans_b);

/* ---- per-row mixtures for gates and attention (src/ops/mix.c) ------------------- */
/* y[n,:] = sum_e w[n,e] v[n,e,:]: w[N,E], v[N,E,U] -> [N,U] (a gate mixing expert outputs) */
mtl_tensor *mtl_mix(mtl_tape *t, mtl_tensor *w, mtl_tensor *v);
/* base + mix(w, v) as one op (base [N,U]): attention added to a residual */
mtl_tensor *mtl_mix_add(mtl_tape *t, mtl_tensor *base, mtl_tensor *w, mtl_tensor *v);
/* s[n,e] = v[n,e,:] . q[n,:]: v[N,E,U], q[N,U] -> [N,E] (attention scores) */
mtl_tensor *mtl_rowdot(mtl_tape *t, mtl_tensor *v, mtl_tensor *q);

/* ---- convolution and pooling (src/ops/conv.c, src/ops/pool.c) ------------------- */
/* x[N,Cin,L], w[Cout,Cin,K], b[Cout] or NULL -> [N,Cout,(L+2pad-K)/stride+1]; zero padding. */
mtl_tensor *mtl_conv1d(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int stride, int pad);
/* x[N,C,L] -> [N,C,(L-kernel)/stride+1]; remembers the argmax of each window. */
mtl_tensor *mtl_maxpool1d(mtl_tape *t, mtl_tensor *x, int kernel, int stride);

/* ---- normalisation and regularisation (src/ops/norm.c) ------------------------- */
/* x[N,C] or [N,C,L]; gamma, beta [C] (or NULL: no affine); running_mean, running_var [C].
 * Training tape: normalise with the batch statistics (biased variance) and update
 * running = (1-momentum) running + momentum batch (unbiased variance for running_var).
 * Evaluation tape: normalise with the running statistics. */
mtl_tensor *mtl_batchnorm(mtl_tape *t, mtl_tensor *x, mtl_tensor *gamma, mtl_tensor *beta,
                          mtl_tensor *running_mean, mtl_tensor *running_var, float momentum, float eps);
/* relu(batchnorm(...)) as one op, same arguments and results (MTAGN's conv-BN-ReLU units):
 * one activation fewer and two passes over memory fewer than the two ops. */
mtl_tensor *mtl_batchnorm_relu(mtl_tape *t, mtl_tensor *x, mtl_tensor *gamma, mtl_tensor *beta,
                               mtl_tensor *running_mean, mtl_tensor *running_var, float momentum, float eps);
/* relu(batchnorm(conv1d(x, w, b, stride, pad), gamma, beta, ...)) as one op (a conv-BN-ReLU
 * unit): same results as the three ops, with fewer passes over memory and without storing
 * the gradient of the convolution output. Arguments as in mtl_conv1d and mtl_batchnorm. */
mtl_tensor *mtl_conv1d_bn_relu(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int stride, int pad,
                               mtl_tensor *gamma, mtl_tensor *beta, mtl_tensor *running_mean,
                               mtl_tensor *running_var, float momentum, float eps);
/* maxpool1d(conv1d_bn_relu(...), pool, pool); in inference (evaluation, not recording) one
 * pass that never writes the unit's full-length output */
mtl_tensor *mtl_conv1d_bn_relu_maxpool(mtl_tape *t, mtl_tensor *x, mtl_tensor *w, mtl_tensor *b, int stride, int pad,
                                       mtl_tensor *gamma, mtl_tensor *beta, mtl_tensor *running_mean,
                                       mtl_tensor *running_var, float momentum, float eps, int pool);
/* conv1d_bn_relu_maxpool(scale_channels(x, s), ...) with s [N, Cin] (MTAGN's branch units
 * behind their channel attention); in training one node that never stores x s nor the
 * unit's full-length output. Arguments as in mtl_conv1d_bn_relu_maxpool. */
mtl_tensor *mtl_scaled_conv1d_bn_relu_maxpool(mtl_tape *t, mtl_tensor *x, mtl_tensor *s, mtl_tensor *w, mtl_tensor *b,
                                              int stride, int pad, mtl_tensor *gamma, mtl_tensor *beta,
                                              mtl_tensor *running_mean, mtl_tensor *running_var, float momentum,
                                              float eps, int pool);
/* Training tape: zero each element with probability p, scale the rest by 1/(1-p)
 * (mask from the tape's counter-based stream). Evaluation tape: identity. */
mtl_tensor *mtl_dropout(mtl_tape *t, mtl_tensor *x, float p);

/* ---- embedding (src/ops/embedding.c) ------------------------------------------ */
/* table[V,D], ids[n] in [0,V) -> [n,D]. Backward adds into the rows used only. */
mtl_tensor *mtl_embedding(mtl_tape *t, mtl_tensor *table, const int32_t *ids, int n);
/* Tabular rows: ids[n, n_fields] (row-major). One table per field (tables[f] [V_f, D],
 * n_tables == n_fields): the fields' rows side by side -> [n, n_fields * D]; or with
 * sum, one table (n_tables == 1) and the n_fields rows summed -> [n, D]. */
mtl_tensor *mtl_embedding_fields(mtl_tape *t, int n_tables, mtl_tensor *const *tables, const int32_t *ids, int n,
                                 int n_fields, bool sum);

/* ---- activations (src/ops/activation.c) ---------------------------------------- */
mtl_tensor *mtl_relu(mtl_tape *t, mtl_tensor *x);
mtl_tensor *mtl_sigmoid(mtl_tape *t, mtl_tensor *x);
mtl_tensor *mtl_tanh(mtl_tape *t, mtl_tensor *x);
/* over `axis` (negative counts from the end) */
mtl_tensor *mtl_softmax(mtl_tape *t, mtl_tensor *x, int axis);
mtl_tensor *mtl_log_softmax(mtl_tape *t, mtl_tensor *x, int axis);

/* ---- element-wise and shape (src/ops/elementwise.c, src/ops/shape.c) ------------ */
/* a + b and a * b with NumPy broadcasting (right-aligned; a dim of 1 broadcasts). */
mtl_tensor *mtl_add(mtl_tape *t, mtl_tensor *a, mtl_tensor *b);
mtl_tensor *mtl_mul(mtl_tape *t, mtl_tensor *a, mtl_tensor *b);
/* scale * x + shift (both finite) */
mtl_tensor *mtl_affine(mtl_tape *t, mtl_tensor *x, float scale, float shift);
/* channel-wise scale: x[N,C,L] * s[N,C] (s[n,c] multiplies row (n,c)); use mtl_mul for s[N,C,1] */
mtl_tensor *mtl_scale_channels(mtl_tape *t, mtl_tensor *x, mtl_tensor *s);
/* mean / sum over `axis` (negative counts from the end); keepdim keeps it as size 1 */
mtl_tensor *mtl_mean(mtl_tape *t, mtl_tensor *x, int axis, bool keepdim);
mtl_tensor *mtl_sum(mtl_tape *t, mtl_tensor *x, int axis, bool keepdim);
/* concatenation of n tensors along `axis`; all other dims equal */
mtl_tensor *mtl_concat(mtl_tape *t, int n, mtl_tensor *const *xs, int axis);
/* x[..., start:start+len, ...] along `axis` */
mtl_tensor *mtl_slice(mtl_tape *t, mtl_tensor *x, int axis, int start, int len);
/* same elements, new shape (same size; one dim may be -1, inferred as in PyTorch): a view
 * that shares x's data, nothing is copied (change neither while the tape still needs them) */
mtl_tensor *mtl_reshape(mtl_tape *t, mtl_tensor *x, mtl_shape shape);

/* ---- losses: scalar (0-d) results, mean over the batch (src/ops/loss.c) --------- */
/* logits[N,C], target[N] class indices in [0,C) */
mtl_tensor *mtl_cross_entropy(mtl_tape *t, mtl_tensor *logits, const int32_t *target);
/* logits[N] or [N,1], target[N] in [0,1] */
mtl_tensor *mtl_bce_with_logits(mtl_tape *t, mtl_tensor *logits, const float *target);
/* mean (a-b)^2 and mean |a-b|; a and b of the same shape (b may be a plain input) */
mtl_tensor *mtl_mse(mtl_tape *t, mtl_tensor *a, mtl_tensor *b);
mtl_tensor *mtl_l1(mtl_tape *t, mtl_tensor *a, mtl_tensor *b);

#ifdef __cplusplus
}
#endif
#endif
