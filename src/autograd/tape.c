/* The tape: records ops in creation order (which is a topological order), runs
 * their backward functions in reverse, and keeps everything so that backward can
 * run again (one task's loss at a time). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "core/arena.h"

struct mtl_tape {
    mtl_arena act;  /* activations, saved data, nodes' input lists */
    mtl_arena grad; /* gradients of activations; reset at each backward */
    mtl_node *nodes;
    int n_nodes, cap_nodes;
    int n_tensors;
    bool training, recording;
    bool keep_grads; /* false: an activation's gradient is recycled once its producer's backward ran */
    struct free_grad {
        float *p;
        int64_t size;
    } *free_grads; /* recycled gradient buffers (in the grad arena), for this backward only */
    int n_free, cap_free;
    mtl_status status;
    char error[512];
    uint64_t seed, step;
    mtl_rng rng; /* this step's stream (dropout) */
};

mtl_status mtl_tape_create(mtl_tape **out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "tape_create: out is NULL");
    mtl_tape *t = calloc(1, sizeof *t);
    if (!t) return mtl_error(MTL_ERR_NOMEM, "tape_create: out of memory");
    mtl_arena_init(&t->act);
    mtl_arena_init(&t->grad);
    t->training = t->recording = t->keep_grads = true;
    mtl_rng_init(&t->rng, 0, 0);
    *out = t;
    return MTL_OK;
}

void mtl_tape_free(mtl_tape *t) {
    if (!t) return;
    mtl_arena_free(&t->act);
    mtl_arena_free(&t->grad);
    free(t->nodes);
    free(t->free_grads);
    free(t);
}

void mtl_tape_reset(mtl_tape *t) {
    if (!t) return;
    mtl_arena_reset(&t->act);
    mtl_arena_reset(&t->grad);
    t->n_free = 0;
    t->n_nodes = 0;
    t->n_tensors = 0;
    t->status = MTL_OK;
    t->error[0] = '\0';
    t->step++;
    mtl_rng_init(&t->rng, t->seed, t->step);
}

void mtl_tape_set_training(mtl_tape *t, bool training) {
    if (t) t->training = training;
}
bool mtl_tape_training(const mtl_tape *t) { return t && t->training; }
void mtl_tape_set_recording(mtl_tape *t, bool recording) {
    if (t) t->recording = recording;
}
bool mtl_tape_recording(const mtl_tape *t) { return t && t->recording; }
void mtl_tape_set_seed(mtl_tape *t, uint64_t seed) {
    if (!t) return;
    t->seed = seed;
    t->step = 0;
    mtl_rng_init(&t->rng, seed, 0);
}
mtl_status mtl_tape_status(const mtl_tape *t) { return t ? t->status : MTL_ERR_ARG; }
const char *mtl_tape_error(const mtl_tape *t) { return t ? t->error : "tape is NULL"; }
size_t mtl_tape_bytes(const mtl_tape *t) { return t ? t->act.high_water + t->grad.high_water : 0; }
int mtl_tape_nodes(const mtl_tape *t) { return t ? t->n_nodes : 0; }
mtl_rng *mtl__rng(mtl_tape *t) { return &t->rng; }

/* ---- failures ----------------------------------------------------------------- */

static void vfail(mtl_tape *t, mtl_status s, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (t && t->status == MTL_OK) {
        t->status = s;
        snprintf(t->error, sizeof t->error, "%s", msg);
        mtl_error(s, "%s", msg);
    } else if (!t) {
        mtl_error(s, "%s", msg);
    }
}

void *mtl__fail(mtl_tape *t, mtl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(t, s, fmt, ap);
    va_end(ap);
    return NULL;
}

bool mtl__inputs_ok(mtl_tape *t, const char *op, int n, ...) {
    if (!t) {
        mtl_error(MTL_ERR_ARG, "%s: tape is NULL", op);
        return false;
    }
    if (t->status != MTL_OK) return false; /* keep the first error */
    va_list ap;
    va_start(ap, n);
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const mtl_tensor *x = va_arg(ap, const mtl_tensor *);
        if (!x) {
            mtl__fail(t, MTL_ERR_ARG, "%s: tensor argument %d is NULL", op, i + 1);
            ok = false;
            break;
        }
        if (!x->data && x->size > 0) {
            mtl__fail(t, MTL_ERR_STATE, "%s: tensor argument %d has no data (parameters not finalized?)", op, i + 1);
            ok = false;
            break;
        }
    }
    va_end(ap);
    return ok;
}

int mtl__axis(mtl_tape *t, const char *op, const mtl_tensor *x, int axis) {
    int a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim) {
        mtl__fail(t, MTL_ERR_RANGE, "%s: axis %d out of range for a %d-d tensor", op, axis, x->ndim);
        return -1;
    }
    return a;
}

/* ---- memory and tensors ------------------------------------------------------- */

void *mtl__alloc(mtl_tape *t, size_t bytes) {
    void *p = mtl_arena_alloc(&t->act, bytes);
    if (!p) mtl__fail(t, MTL_ERR_NOMEM, "out of memory allocating %zu bytes of activations", bytes);
    return p;
}

void *mtl__scratch(mtl_tape *t, size_t bytes) {
    void *p = mtl_arena_alloc(&t->grad, bytes);
    if (!p) mtl__fail(t, MTL_ERR_NOMEM, "out of memory allocating %zu bytes of gradients", bytes);
    return p;
}

size_t mtl__scratch_mark(mtl_tape *t) { return t->grad.used_total; }
void mtl__scratch_release(mtl_tape *t, size_t mark) { mtl_arena_rewind(&t->grad, mark); }

static mtl_tensor *tensor_header(mtl_tape *t, mtl_shape shape, const char *op) {
    int64_t n = mtl_shape_size(shape);
    if (n < 0) {
        char buf[64];
        return mtl__fail(t, MTL_ERR_SHAPE, "%s: invalid shape %s", op, mtl_shape_str(shape, buf, sizeof buf));
    }
    mtl_tensor *x = mtl__alloc(t, sizeof *x);
    if (!x) return NULL;
    memset(x, 0, sizeof *x);
    x->ndim = shape.ndim;
    for (int i = 0; i < shape.ndim; i++) x->shape[i] = shape.d[i];
    x->size = n;
    x->id = t->n_tensors++;
    return x;
}

mtl_tensor *mtl__new(mtl_tape *t, mtl_shape shape) {
    mtl_tensor *x = tensor_header(t, shape, "tensor");
    if (!x) return NULL;
    x->data = mtl__alloc(t, (size_t)(x->size ? x->size : 1) * sizeof(float));
    return x->data ? x : NULL;
}

mtl_tensor *mtl_tensor_new(mtl_tape *t, mtl_shape shape) {
    if (!t) return mtl_error(MTL_ERR_ARG, "tensor_new: tape is NULL"), NULL;
    if (t->status != MTL_OK) return NULL;
    return mtl__new(t, shape);
}

mtl_tensor *mtl_tensor_zeros(mtl_tape *t, mtl_shape shape) {
    mtl_tensor *x = mtl_tensor_new(t, shape);
    if (x) memset(x->data, 0, (size_t)x->size * sizeof(float));
    return x;
}

mtl_tensor *mtl_tensor_from(mtl_tape *t, mtl_shape shape, const float *data) {
    if (!t) return mtl_error(MTL_ERR_ARG, "tensor_from: tape is NULL"), NULL;
    if (!data) return mtl__fail(t, MTL_ERR_ARG, "tensor_from: data is NULL");
    mtl_tensor *x = mtl_tensor_new(t, shape);
    if (x) memcpy(x->data, data, (size_t)x->size * sizeof(float));
    return x;
}

mtl_tensor *mtl_tensor_wrap(mtl_tape *t, mtl_shape shape, float *data) {
    if (!t) return mtl_error(MTL_ERR_ARG, "tensor_wrap: tape is NULL"), NULL;
    if (t->status != MTL_OK) return NULL;
    if (!data) return mtl__fail(t, MTL_ERR_ARG, "tensor_wrap: data is NULL");
    mtl_tensor *x = tensor_header(t, shape, "tensor_wrap");
    if (x) x->data = data;
    return x;
}

void mtl_tensor_requires_grad(mtl_tensor *x) {
    if (x) x->flags |= MTL_TENSOR_REQUIRES_GRAD;
}

/* ---- recording ---------------------------------------------------------------- */

mtl_node *mtl__record(mtl_tape *t, const char *name, mtl_backward_fn fn, mtl_tensor *out, int nin,
                      mtl_tensor *const *in) {
    if (!t->recording) return NULL;
    bool any = false;
    for (int i = 0; i < nin; i++)
        if (in[i] && (in[i]->flags & MTL_TENSOR_REQUIRES_GRAD)) any = true;
    if (!any) return NULL;
    if (t->n_nodes == t->cap_nodes) { /* grows to the largest step, then stays */
        int cap = t->cap_nodes ? 2 * t->cap_nodes : 256;
        mtl_node *nodes = realloc(t->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return mtl__fail(t, MTL_ERR_NOMEM, "%s: out of memory recording the op", name);
        t->nodes = nodes;
        t->cap_nodes = cap;
    }
    mtl_tensor **ins = mtl__alloc(t, (size_t)nin * sizeof *ins);
    if (!ins) return NULL;
    memcpy(ins, in, (size_t)nin * sizeof *ins);
    mtl_node *n = &t->nodes[t->n_nodes++];
    memset(n, 0, sizeof *n);
    n->backward = fn;
    n->name = name;
    n->out = out;
    n->in = ins;
    n->nin = nin;
    out->flags |= MTL_TENSOR_REQUIRES_GRAD;
    return n;
}

float *mtl__grad_fresh(mtl_tape *t, mtl_tensor *x, bool *fresh) {
    *fresh = false;
    if (!x || !(x->flags & MTL_TENSOR_REQUIRES_GRAD)) return NULL;
    if (!x->grad) {
        if (x->flags & MTL_TENSOR_PARAM) return NULL; /* a parameter without a block: not finalized */
        int64_t need = x->size ? x->size : 1;
        /* the smallest recycled buffer that fits, else a new one */
        int best = -1;
        for (int i = 0; i < t->n_free; i++)
            if (t->free_grads[i].size >= need && (best < 0 || t->free_grads[i].size < t->free_grads[best].size))
                best = i;
        if (best >= 0) {
            x->grad = t->free_grads[best].p;
            t->free_grads[best] = t->free_grads[--t->n_free];
        } else {
            x->grad = mtl__scratch(t, (size_t)need * sizeof(float));
        }
        *fresh = x->grad != NULL;
    }
    return x->grad;
}

void mtl_tape_set_keep_grads(mtl_tape *t, bool keep) {
    if (t) t->keep_grads = keep;
}

/* after the backward of the op that produced x, nothing writes or reads x's gradient again */
static void recycle_grad(mtl_tape *t, mtl_tensor *x) {
    if (t->n_free == t->cap_free) {
        int cap = t->cap_free ? 2 * t->cap_free : 64;
        struct free_grad *f = realloc(t->free_grads, (size_t)cap * sizeof *f);
        if (!f) return; /* not recycling is always correct */
        t->free_grads = f, t->cap_free = cap;
    }
    t->free_grads[t->n_free++] = (struct free_grad){x->grad, x->size ? x->size : 1};
    x->grad = NULL;
}

float *mtl__grad(mtl_tape *t, mtl_tensor *x) {
    bool fresh;
    float *g = mtl__grad_fresh(t, x, &fresh);
    if (fresh) memset(g, 0, (size_t)x->size * sizeof(float));
    return g;
}

/* ---- backward ----------------------------------------------------------------- */

static mtl_status check_seed(mtl_tape *t, const mtl_tensor *y, bool scalar, const char *op) {
    if (!t) return mtl_error(MTL_ERR_ARG, "%s: tape is NULL", op);
    if (t->status != MTL_OK) return mtl_error(t->status, "%s: the forward pass failed: %s", op, t->error);
    if (!y) return mtl_error(MTL_ERR_ARG, "%s: loss is NULL", op);
    if (scalar && y->size != 1)
        return mtl_error(MTL_ERR_SHAPE, "%s: loss has %lld elements, expected 1", op, (long long)y->size);
    if (!(y->flags & MTL_TENSOR_REQUIRES_GRAD))
        return mtl_error(MTL_ERR_STATE, "%s: the loss does not depend on anything that needs a gradient "
                         "(was the tape recording?)", op);
    return MTL_OK;
}

/* forget the gradients of activations left by the last backward */
static void clear_activation_grads(mtl_tape *t) {
    for (int i = 0; i < t->n_nodes; i++) {
        mtl_node *n = &t->nodes[i];
        if (!(n->out->flags & MTL_TENSOR_PARAM)) n->out->grad = NULL;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && !(n->in[j]->flags & MTL_TENSOR_PARAM)) n->in[j]->grad = NULL;
    }
    mtl_arena_reset(&t->grad);
    t->n_free = 0;
}

/* seeds: k tensors; each gets weights[k] (scalar losses) or the array seeds[k] */
static mtl_status run_backward_above(mtl_tape *t, int k, mtl_tensor *const *ys, const float *weights,
                                     const float *const *seeds, int stop, const char *op) {
    for (int i = 0; i < k; i++) {
        mtl_status s = check_seed(t, ys[i], seeds == NULL, op);
        if (s) return s;
    }
    clear_activation_grads(t);
    for (int i = 0; i < k; i++) {
        float *g = mtl__grad(t, ys[i]);
        if (!g) return mtl_error(t->status ? t->status : MTL_ERR_NOMEM, "%s: %s", op, t->error);
        if (seeds)
            for (int64_t j = 0; j < ys[i]->size; j++) g[j] += seeds[i][j];
        else
            g[0] += weights ? weights[i] : 1.0f;
    }
    for (int i = t->n_nodes - 1; i > stop; i--) {
        mtl_node *n = &t->nodes[i];
        if (!n->out->grad) continue; /* not on a path from these losses */
        n->backward(t, n);
        if (t->status != MTL_OK) return mtl_error(t->status, "%s: in the backward of %s: %s", op, n->name, t->error);
        bool seed = false;
        for (int j = 0; j < k; j++) seed |= ys[j] == n->out;
        if (!t->keep_grads && !seed && !(n->out->flags & MTL_TENSOR_PARAM)) recycle_grad(t, n->out);
    }
    return MTL_OK;
}

/* every node (stop = -1) */
static mtl_status run_backward(mtl_tape *t, int k, mtl_tensor *const *ys, const float *weights,
                               const float *const *seeds, const char *op) {
    return run_backward_above(t, k, ys, weights, seeds, -1, op);
}

mtl_status mtl_backward(mtl_tape *t, mtl_tensor *loss, float weight) {
    return run_backward(t, 1, &loss, &weight, NULL, "backward");
}

mtl_status mtl_backward_weighted(mtl_tape *t, int k, mtl_tensor *const *losses, const float *weights) {
    if (k <= 0 || !losses) return mtl_error(MTL_ERR_ARG, "backward_weighted: need k >= 1 losses (got %d)", k);
    return run_backward(t, k, losses, weights, NULL, "backward_weighted");
}

mtl_status mtl_backward_from(mtl_tape *t, mtl_tensor *y, const float *dy) {
    if (!dy) return mtl_error(MTL_ERR_ARG, "backward_from: dy is NULL");
    return run_backward(t, 1, &y, NULL, &dy, "backward_from");
}

mtl_status mtl_backward_into(mtl_tape *t, mtl_tensor *loss, float weight, mtl_params *P, float *grad_row) {
    if (!P || !grad_row) return mtl_error(MTL_ERR_ARG, "backward_into: params or grad_row is NULL");
    if (!mtl_params_finalized(P)) return mtl_error(MTL_ERR_STATE, "backward_into: parameters not finalized");
    int np = mtl_params_count(P);
    float *block = mtl_params_grad(P);
    /* point every parameter's gradient into the row, run, and point them back */
    for (int i = 0; i < np; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        if (pi->trainable) pi->tensor->grad = grad_row + pi->offset;
    }
    mtl_status s = run_backward(t, 1, &loss, &weight, NULL, "backward_into");
    for (int i = 0; i < np; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        if (pi->trainable) pi->tensor->grad = block + pi->offset;
    }
    return s;
}

/* points the gradients of P's trainable parameters of one side (shared or task-specific)
 * at row + offset (row NULL: back at the gradient block) */
static void point_grads(mtl_params *P, bool shared, float *row) {
    float *block = mtl_params_grad(P);
    int np = mtl_params_count(P);
    for (int i = 0; i < np; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        if (pi->trainable && (pi->owner == MTL_OWNER_SHARED) == shared)
            pi->tensor->grad = (row ? row : block) + pi->offset;
    }
}

mtl_status mtl_backward_split(mtl_tape *t, mtl_tensor *loss, float weight, mtl_params *P, float *shared_row) {
    if (!P || !shared_row) return mtl_error(MTL_ERR_ARG, "backward_split: params or shared_row is NULL");
    if (!mtl_params_finalized(P)) return mtl_error(MTL_ERR_STATE, "backward_split: parameters not finalized");
    point_grads(P, true, shared_row); /* shared parameters come first: offsets are row offsets */
    mtl_status s = run_backward(t, 1, &loss, &weight, NULL, "backward_split");
    point_grads(P, true, NULL);
    return s;
}

mtl_status mtl_backward_to(mtl_tape *t, mtl_tensor *loss, float weight, mtl_tensor *rep, mtl_params *P,
                           float *rep_grad) {
    if (!rep || !rep_grad || !P) return mtl_error(MTL_ERR_ARG, "backward_to: rep, rep_grad or params is NULL");
    if (!t) return mtl_error(MTL_ERR_ARG, "backward_to: tape is NULL");
    int r = -1;
    for (int i = t->n_nodes - 1; i >= 0 && r < 0; i--)
        if (t->nodes[i].out == rep) r = i;
    if (r < 0) return mtl_error(MTL_ERR_ARG, "backward_to: the representation is not an output of this tape's ops");
    int64_t S = mtl_params_shared_size(P);
    float *trap = S ? calloc((size_t)S, sizeof(float)) : NULL;
    if (S && !trap) return mtl_error(MTL_ERR_NOMEM, "backward_to: out of memory");
    /* the shared parameters' gradients go to a trap that must stay zero */
    point_grads(P, true, trap);
    mtl_status s = run_backward_above(t, 1, &loss, &weight, NULL, r, "backward_to");
    point_grads(P, true, NULL);
    bool leak = false;
    for (int64_t i = 0; i < S && !s; i++) leak |= trap[i] != 0.0f;
    for (int i = 0; i < r && !s && !leak; i++) leak |= t->nodes[i].out->grad != NULL;
    free(trap);
    if (!s && leak)
        s = mtl_error(MTL_ERR_STATE, "backward_to: the loss reaches shared parameters other than through the "
                      "representation (the model has no single shared representation)");
    if (!s && !rep->grad) memset(rep_grad, 0, (size_t)rep->size * sizeof(float));
    else if (!s) memcpy(rep_grad, rep->grad, (size_t)rep->size * sizeof(float));
    return s;
}
