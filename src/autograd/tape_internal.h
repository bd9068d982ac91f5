/* What op implementations use to create outputs, record their backward, and reach
 * gradients. See src/ops/dense.c for the pattern every op follows:
 *
 *   mtl_tensor *mtl_relu(mtl_tape *t, mtl_tensor *x) {
 *       if (!mtl__inputs_ok(t, "relu", 1, x)) return NULL;
 *       mtl_tensor *y = mtl__new(t, mtl_tensor_shape(x));
 *       if (!y) return NULL;
 *       ...forward kernel...
 *       mtl_node *n = mtl__record(t, "relu", relu_backward, y, 1, (mtl_tensor *[]){x});
 *       (n is NULL when nothing needs a gradient: then save nothing)
 *       return y;
 *   }
 *
 * A backward function reads n->out->grad (never NULL when called) and ADDS into
 * mtl__grad(t, input), which is NULL for inputs that need no gradient. */
#ifndef MTL_TAPE_INTERNAL_H
#define MTL_TAPE_INTERNAL_H

#include "mtl/ops.h"
#include "mtl/nn.h"

typedef struct mtl_node mtl_node;
typedef void (*mtl_backward_fn)(mtl_tape *t, mtl_node *n);

struct mtl_node {
    mtl_backward_fn backward;
    const char *name;
    mtl_tensor *out;
    mtl_tensor **in; /* nin inputs, in the tape's arena */
    int nin;
    void *saved;     /* op-specific data in the tape's arena */
    int64_t iarg[6];
    float farg[4];
};

/* False (and an error on the tape naming `op`) if t is NULL, the tape already failed,
 * or one of the n tensor arguments is NULL. */
bool mtl__inputs_ok(mtl_tape *t, const char *op, int n, ...);
/* Records a failure on the tape (first one wins) and returns NULL. */
void *mtl__fail(mtl_tape *t, mtl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A new uninitialised activation in the arena (NULL + tape error on bad shape / OOM). */
mtl_tensor *mtl__new(mtl_tape *t, mtl_shape shape);
/* Memory in the activation arena, alive until mtl_tape_reset (NULL + tape error on OOM). */
void *mtl__alloc(mtl_tape *t, size_t bytes);
/* Memory in the gradient arena, alive until the next backward starts. For backward only,
 * or inside one op between mtl__scratch_mark and mtl__scratch_release. */
void *mtl__scratch(mtl_tape *t, size_t bytes);
/* Temporary scratch inside one backward function: mark, allocate with mtl__scratch, use,
 * release. Everything allocated from the gradient arena after the mark is given back,
 * so take the mark after the op's last mtl__grad / mtl__grad_fresh call. */
size_t mtl__scratch_mark(mtl_tape *t);
void mtl__scratch_release(mtl_tape *t, size_t mark);
/* Records the op if the tape records and any input requires a gradient; then marks
 * out as requiring one and returns the node (else NULL). */
mtl_node *mtl__record(mtl_tape *t, const char *name, mtl_backward_fn fn, mtl_tensor *out, int nin,
                      mtl_tensor *const *in);
/* The gradient buffer of x to add into during backward: NULL if x needs none; for an
 * activation allocated (zeroed) on first use; for a parameter its gradient slice. */
float *mtl__grad(mtl_tape *t, mtl_tensor *x);
/* The same for a backward that writes EVERY element of x's gradient: when this call
 * allocates the buffer (the first writer), it is left uninitialised and *fresh is set,
 * and the caller must store (=) instead of adding; otherwise *fresh is false and the
 * caller adds. Saves a zero-fill and a read of the whole buffer. */
float *mtl__grad_fresh(mtl_tape *t, mtl_tensor *x, bool *fresh);
/* The tape's random stream for this step (dropout). */
mtl_rng *mtl__rng(mtl_tape *t);
/* Normalises a possibly negative axis; -1 + tape error if out of range. */
int mtl__axis(mtl_tape *t, const char *op, const mtl_tensor *x, int axis);
#endif
