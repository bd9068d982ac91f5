/* The parameter store: registration, then one contiguous block (shared first). */
#include <stdlib.h>
#include <string.h>

#include "mtl/nn.h"

struct mtl_params {
    mtl_param_info *info; /* after finalize: trainable in block order, then buffers */
    int n, cap;
    bool finalized;
    float *data, *grad, *buffers;
    int64_t size, shared_size, buffer_size;
};

mtl_status mtl_params_create(mtl_params **out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "params_create: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "params_create: out of memory");
}

void mtl_params_free(mtl_params *P) {
    if (!P) return;
    for (int i = 0; i < P->n; i++) free(P->info[i].tensor);
    free(P->info);
    free(P->data);
    free(P->grad);
    free(P->buffers);
    free(P);
}

static mtl_tensor *add(mtl_params *P, const char *name, int owner, mtl_shape shape, mtl_init init, bool trainable) {
    const char *what = trainable ? "param_add" : "buffer_add";
    if (!P || !name) return mtl_error(MTL_ERR_ARG, "%s: params or name is NULL", what), NULL;
    if (P->finalized) return mtl_error(MTL_ERR_STATE, "%s: '%s' added after finalize", what, name), NULL;
    if (strlen(name) >= MTL_NAME_MAX) return mtl_error(MTL_ERR_ARG, "%s: name '%s' is too long", what, name), NULL;
    if (owner < MTL_OWNER_SHARED) return mtl_error(MTL_ERR_ARG, "%s: '%s' has owner %d (expected -1 for shared or a task index)", what, name, owner), NULL;
    int64_t size = mtl_shape_size(shape);
    if (size <= 0) return mtl_error(MTL_ERR_SHAPE, "%s: '%s' has an empty or invalid shape", what, name), NULL;
    if (mtl_params_find(P, name)) return mtl_error(MTL_ERR_ARG, "%s: '%s' is already registered", what, name), NULL;
    if (P->n == P->cap) {
        int cap = P->cap ? 2 * P->cap : 32;
        mtl_param_info *info = realloc(P->info, (size_t)cap * sizeof *info);
        if (!info) return mtl_error(MTL_ERR_NOMEM, "%s: out of memory", what), NULL;
        P->info = info;
        P->cap = cap;
    }
    mtl_tensor *x = calloc(1, sizeof *x);
    if (!x) return mtl_error(MTL_ERR_NOMEM, "%s: out of memory", what), NULL;
    x->ndim = shape.ndim;
    for (int i = 0; i < shape.ndim; i++) x->shape[i] = shape.d[i];
    x->size = size;
    x->flags = trainable ? (MTL_TENSOR_PARAM | MTL_TENSOR_REQUIRES_GRAD) : 0;
    x->id = P->n;
    mtl_param_info *pi = &P->info[P->n++];
    memset(pi, 0, sizeof *pi);
    strcpy(pi->name, name);
    pi->owner = owner;
    pi->trainable = trainable;
    pi->init = init;
    pi->tensor = x;
    return x;
}

mtl_tensor *mtl_param_add(mtl_params *P, const char *name, int owner, mtl_shape shape, mtl_init init) {
    return add(P, name, owner, shape, init, true);
}

mtl_tensor *mtl_buffer_add(mtl_params *P, const char *name, int owner, mtl_shape shape, mtl_init init) {
    return add(P, name, owner, shape, init, false);
}

mtl_status mtl_params_set_init(mtl_params *P, mtl_tensor *p, mtl_init init) {
    if (!P || !p) return mtl_error(MTL_ERR_ARG, "params_set_init: null argument");
    if (P->finalized) return mtl_error(MTL_ERR_STATE, "params_set_init: parameters already finalized");
    for (int i = 0; i < P->n; i++)
        if (P->info[i].tensor == p) {
            P->info[i].init = init;
            return MTL_OK;
        }
    return mtl_error(MTL_ERR_ARG, "params_set_init: tensor is not registered here");
}

/* block order: trainable before buffers, then by owner (shared = -1 first), then registration */
static int block_order(const void *a, const void *b) {
    const mtl_param_info *x = a, *y = b;
    if (x->trainable != y->trainable) return x->trainable ? -1 : 1;
    if (x->owner != y->owner) return x->owner < y->owner ? -1 : 1;
    return x->tensor->id < y->tensor->id ? -1 : (x->tensor->id > y->tensor->id);
}

static void run_init(const mtl_init *in, float *x, int64_t n, uint64_t seed, uint64_t stream) {
    mtl_rng r;
    mtl_rng_init(&r, seed, stream);
    switch (in->kind) {
    case MTL_INIT_ZEROS: memset(x, 0, (size_t)n * sizeof *x); break;
    case MTL_INIT_ONES: for (int64_t i = 0; i < n; i++) x[i] = 1.0f; break;
    case MTL_INIT_CONST: for (int64_t i = 0; i < n; i++) x[i] = in->a; break;
    case MTL_INIT_UNIFORM: mtl_rng_uniform(&r, x, n, in->a, in->b); break;
    case MTL_INIT_NORMAL: mtl_rng_normal(&r, x, n, in->a, in->b); break;
    }
}

mtl_status mtl_params_finalize(mtl_params *P, uint64_t seed) {
    if (!P) return mtl_error(MTL_ERR_ARG, "params_finalize: params is NULL");
    if (P->finalized) return mtl_error(MTL_ERR_STATE, "params_finalize: already finalized");
    if (P->n > 1) qsort(P->info, (size_t)P->n, sizeof *P->info, block_order);
    int64_t size = 0, shared = 0, bufs = 0;
    for (int i = 0; i < P->n; i++) {
        mtl_param_info *pi = &P->info[i];
        if (pi->trainable) {
            pi->offset = size;
            size += pi->tensor->size;
            if (pi->owner == MTL_OWNER_SHARED) shared = size;
        } else {
            pi->offset = bufs;
            bufs += pi->tensor->size;
        }
    }
    P->data = calloc((size_t)(size ? size : 1), sizeof(float));
    P->grad = calloc((size_t)(size ? size : 1), sizeof(float));
    P->buffers = calloc((size_t)(bufs ? bufs : 1), sizeof(float));
    if (!P->data || !P->grad || !P->buffers) return mtl_error(MTL_ERR_NOMEM, "params_finalize: out of memory for %lld parameters", (long long)size);
    P->size = size;
    P->shared_size = shared;
    P->buffer_size = bufs;
    for (int i = 0; i < P->n; i++) {
        mtl_param_info *pi = &P->info[i];
        mtl_tensor *x = pi->tensor;
        x->data = (pi->trainable ? P->data : P->buffers) + pi->offset;
        x->grad = pi->trainable ? P->grad + pi->offset : NULL;
        /* the stream is the registration index, kept in tensor->id until now */
        run_init(&pi->init, x->data, x->size, seed, (uint64_t)x->id);
    }
    for (int i = 0; i < P->n; i++) P->info[i].tensor->id = i;
    P->finalized = true;
    return MTL_OK;
}

bool mtl_params_finalized(const mtl_params *P) { return P && P->finalized; }
int64_t mtl_params_size(const mtl_params *P) { return P ? P->size : 0; }
int64_t mtl_params_shared_size(const mtl_params *P) { return P ? P->shared_size : 0; }
float *mtl_params_data(mtl_params *P) { return P ? P->data : NULL; }
float *mtl_params_grad(mtl_params *P) { return P ? P->grad : NULL; }
int mtl_params_count(const mtl_params *P) { return P ? P->n : 0; }

void mtl_params_zero_grad(mtl_params *P) {
    if (P && P->grad) memset(P->grad, 0, (size_t)P->size * sizeof(float));
}

const mtl_param_info *mtl_params_info(const mtl_params *P, int i) {
    return (P && i >= 0 && i < P->n) ? &P->info[i] : NULL;
}

mtl_tensor *mtl_params_find(const mtl_params *P, const char *name) {
    if (!P || !name) return NULL;
    for (int i = 0; i < P->n; i++)
        if (strcmp(P->info[i].name, name) == 0) return P->info[i].tensor;
    return NULL;
}

void mtl_params_owner_range(const mtl_params *P, int owner, int64_t *start, int64_t *end) {
    int64_t s = -1, e = -1;
    for (int i = 0; P && i < P->n; i++) {
        const mtl_param_info *pi = &P->info[i];
        if (!pi->trainable || pi->owner != owner) continue;
        if (s < 0) s = pi->offset;
        e = pi->offset + pi->tensor->size;
    }
    if (s < 0) s = e = 0;
    if (start) *start = s;
    if (end) *end = e;
}
