/* Multi-task models: one forward gives one logits tensor per task. A registry
 * creates them by name. */
#ifndef MTL_MODEL_H
#define MTL_MODEL_H

#include "mtl/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTL_MAX_TASKS 8

typedef struct {
    int n_tasks;
    int n_classes[MTL_MAX_TASKS];
    int in_channels; /* signals: [N, in_channels, length] */
    int length;
    int width;       /* model-specific base width (0: the model's default) */
} mtl_model_config;

typedef struct mtl_model mtl_model;
struct mtl_model {
    const char *kind;
    mtl_model_config cfg;
    mtl_params *params;
    /* writes cfg.n_tasks logits tensors [N, n_classes[k]] into logits */
    mtl_tensor *(*forward)(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits);
    void (*destroy)(mtl_model *m);
    void *impl;
};

/* Registers the parameters, finalizes them with seed. */
mtl_status mtl_model_create(const char *kind, const mtl_model_config *cfg, uint64_t seed, mtl_model **out);
void mtl_model_free(mtl_model *m);
/* forward pass; returns the tape's status (every logits[k] is set on success) */
mtl_status mtl_model_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits);

typedef struct {
    const char *name;
    const char *description;
    mtl_status (*create)(const mtl_model_config *cfg, mtl_model *m); /* registers params; fills forward/destroy/impl */
} mtl_model_kind;
/* the registered kinds, NULL-terminated by a zero entry */
const mtl_model_kind *mtl_model_kinds(void);

#ifdef __cplusplus
}
#endif
#endif
