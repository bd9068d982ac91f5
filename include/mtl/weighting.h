/* Task weighting: how the K per-task losses are combined into the loss that is
 * back-propagated. One interface, one file per strategy in src/weighting/, a registry
 * by name. (../shared/specs/weighting.md) */
#ifndef MTL_WEIGHTING_H
#define MTL_WEIGHTING_H

#include "mtl/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double temperature; /* DWA: T (2) */
} mtl_weighting_config;
mtl_weighting_config mtl_weighting_defaults(void);

typedef struct mtl_weighting mtl_weighting;

typedef struct {
    const char *name;
    const char *description;
    size_t state_size;
    /* weights for epoch `epoch` (fixed within it unless step changes them); history holds
     * the mean UNWEIGHTED training loss of every task in each earlier epoch, row-major
     * [epoch][K] */
    mtl_status (*epoch_begin)(void *state, const mtl_weighting_config *c, int K, int epoch, const double *history,
                              float *weights);
    /* optional per-step update from this step's losses (NULL: keep the epoch's weights) */
    mtl_status (*step)(void *state, const mtl_weighting_config *c, int K, const float *losses, float *weights);
} mtl_weighting_kind;

/* the registered strategies, terminated by an entry with name NULL */
const mtl_weighting_kind *mtl_weighting_kinds(void);

mtl_status mtl_weighting_create(const char *name, int n_tasks, const mtl_weighting_config *c, mtl_weighting **out);
void mtl_weighting_free(mtl_weighting *w);
const char *mtl_weighting_name(const mtl_weighting *w);
mtl_status mtl_weighting_epoch_begin(mtl_weighting *w, int epoch, const double *history, float *weights);
mtl_status mtl_weighting_step(mtl_weighting *w, const float *losses, float *weights);

#ifdef __cplusplus
}
#endif
#endif
