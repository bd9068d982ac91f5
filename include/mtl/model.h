/* Multi-task models: one forward gives one logits tensor per task. A registry
 * creates them by name. */
#ifndef MTL_MODEL_H
#define MTL_MODEL_H

#include "mtl/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MTL_MAX_TASKS 8
#define MTL_MAX_STAGES 4

/* model options (mtl_model_config.options bits) */
#define MTL_MODEL_PER_TASK_UNITS 1u /* mtagn: per-task copies of the 1x1 units instead of one shared set */

typedef struct {
    int n_tasks;
    int n_classes[MTL_MAX_TASKS];
    int in_channels; /* signals: [N, in_channels, length] */
    int length;
    int width;       /* model-specific base width (0: the model's default) */
    unsigned options; /* MTL_MODEL_* bits */
} mtl_model_config;

/* What a forward pass exposes besides the logits, for reports (t-SNE, attention). The
 * registry clears it before each forward; a model fills what it has (NULL otherwise). */
typedef struct {
    mtl_tensor *features[MTL_MAX_TASKS];                  /* [N, F]: each task's head input */
    int n_stages;                                         /* attention stages per task (0: none) */
    mtl_tensor *attention[MTL_MAX_TASKS][MTL_MAX_STAGES]; /* [N, C_stage]: per-channel attention weights */
} mtl_model_taps;

typedef struct mtl_model mtl_model;
struct mtl_model {
    const char *kind;
    mtl_model_config cfg;
    mtl_params *params;
    /* writes cfg.n_tasks logits tensors [N, n_classes[k]] into logits */
    mtl_tensor *(*forward)(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits);
    void (*destroy)(mtl_model *m);
    void *impl;
    mtl_model_taps taps; /* filled by the last forward (tensors live on that forward's tape) */
    bool single_task;    /* K independent single-task networks (wdcnn, stan): no shared parameters */
};

/* Registers the parameters, finalizes them with seed. */
mtl_status mtl_model_create(const char *kind, const mtl_model_config *cfg, uint64_t seed, mtl_model **out);
void mtl_model_free(mtl_model *m);
/* forward pass; returns the tape's status (every logits[k] is set on success) */
mtl_status mtl_model_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits);

typedef struct {
    const char *name;
    const char *description;
    bool single_task; /* one independent network per task (trained with equal weights) */
    mtl_status (*create)(const mtl_model_config *cfg, mtl_model *m); /* registers params; fills forward/destroy/impl */
} mtl_model_kind;
/* the registered kinds, NULL-terminated by a zero entry */
const mtl_model_kind *mtl_model_kinds(void);
/* the kind called name, or NULL with an error naming the known kinds (mtl_last_error) */
const mtl_model_kind *mtl_model_kind_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif
