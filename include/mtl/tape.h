/* mtl tape autograd: ops called on a recording tape are remembered; backward runs
 * them in reverse and accumulates gradients into parameters' gradient blocks. */
#ifndef MTL_TAPE_H
#define MTL_TAPE_H

#include "mtl/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mtl_tape mtl_tape;
typedef struct mtl_params mtl_params;

/* A tape owns two arenas (activations; gradients of activations) that grow to the
 * largest step seen and are then reused: no allocation in the steady state. */
mtl_status mtl_tape_create(mtl_tape **out);
void mtl_tape_free(mtl_tape *t);

/* Starts a new step: forgets every recorded op and activation (their memory is reused)
 * and clears the tape's sticky error. */
void mtl_tape_reset(mtl_tape *t);

/* training: batchnorm uses batch statistics (and updates running ones), dropout drops.
 * Default: training. */
void mtl_tape_set_training(mtl_tape *t, bool training);
bool mtl_tape_training(const mtl_tape *t);
/* recording: ops are remembered for backward. Off = inference (no-grad). Default: on. */
void mtl_tape_set_recording(mtl_tape *t, bool recording);
/* true (the default): after a backward every activation keeps its gradient (x->grad) until
 * the next backward or reset. false: an activation's gradient buffer is reused as soon as the
 * backward of the op that produced it has run (x->grad becomes NULL), so a backward needs
 * only the gradients that are live at once: less memory for training loops that read only
 * parameter gradients. */
void mtl_tape_set_keep_grads(mtl_tape *t, bool keep);
bool mtl_tape_recording(const mtl_tape *t);
/* seed of the tape's random stream (dropout); the stream advances with every step */
void mtl_tape_set_seed(mtl_tape *t, uint64_t seed);

/* Ops on a tape return NULL on failure and the tape remembers the FIRST failure
 * (ops given a NULL input return NULL and keep it), so a forward pass can be
 * written straight through and checked once at the end. */
mtl_status mtl_tape_status(const mtl_tape *t);
const char *mtl_tape_error(const mtl_tape *t);

/* New activation tensors in the tape's arena (uninitialised / zeroed / a copy).
 * They do not require gradients. */
mtl_tensor *mtl_tensor_new(mtl_tape *t, mtl_shape shape);
mtl_tensor *mtl_tensor_zeros(mtl_tape *t, mtl_shape shape);
mtl_tensor *mtl_tensor_from(mtl_tape *t, mtl_shape shape, const float *data);
/* Wraps caller memory without copying (it must outlive the step). */
mtl_tensor *mtl_tensor_wrap(mtl_tape *t, mtl_shape shape, float *data);
/* Marks an activation as needing a gradient (e.g. an input whose gradient is wanted). */
void mtl_tensor_requires_grad(mtl_tensor *x);

/* backward of weight * loss (loss must have one element). Parameter gradients
 * ACCUMULATE into the gradient block (zero it with mtl_params_zero_grad); an
 * activation marked requires_grad holds this backward's gradient in ->grad until the
 * next backward. The tape is kept: backward may run again. */
mtl_status mtl_backward(mtl_tape *t, mtl_tensor *loss, float weight);
/* backward of sum_k weights[k] * losses[k] in ONE pass. */
mtl_status mtl_backward_weighted(mtl_tape *t, int k, mtl_tensor *const *losses, const float *weights);
/* backward of weight * loss accumulating the parameter gradients into `grad_row`
 * (mtl_params_size(P) floats laid out like the gradient block) instead of the block.
 * With one call per task loss this gives the K per-task gradient rows; the shared
 * parameters are the first mtl_params_shared_size(P) floats of each row. */
mtl_status mtl_backward_into(mtl_tape *t, mtl_tensor *loss, float weight, mtl_params *P, float *grad_row);

/* backward of weight * loss with the SHARED parameters' gradients accumulated into
 * shared_row (mtl_params_shared_size(P) floats, laid out like the start of the block) and
 * the task-specific ones accumulated into the gradient block as usual: one call per task
 * gives the K per-task shared gradient rows while every task-specific parameter gets the
 * sum of its tasks' gradients. */
mtl_status mtl_backward_split(mtl_tape *t, mtl_tensor *loss, float weight, mtl_params *P, float *shared_row);
/* backward of weight * loss down to rep (an op's output) only: the ops before rep are not
 * run; rep_grad (rep->size floats) receives the gradient of weight * loss with respect to
 * rep, and task-specific parameters accumulate theirs into the block. MTL_ERR_STATE when
 * the loss reaches a shared parameter or an earlier activation by another path than rep.
 * Continue with mtl_backward_from(t, rep, combined gradient). */
mtl_status mtl_backward_to(mtl_tape *t, mtl_tensor *loss, float weight, mtl_tensor *rep, mtl_params *P,
                           float *rep_grad);

/* backward from a tensor of any shape with a given gradient dy (y->size floats),
 * e.g. the gradient of a loss with respect to a shared representation. */
mtl_status mtl_backward_from(mtl_tape *t, mtl_tensor *y, const float *dy);

/* bytes held by the tape's arenas (high-water mark of one step) */
size_t mtl_tape_bytes(const mtl_tape *t);
int mtl_tape_nodes(const mtl_tape *t);

#ifdef __cplusplus
}
#endif
#endif
