/* Weighting registry: create a strategy by name; checks shared by all strategies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/model.h"
#include "mtl/weighting.h"
#include "weighting/strategies.h"

static const mtl_weighting_kind *const kinds[] = {&mtl_weighting_ew, &mtl_weighting_dwa};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static mtl_weighting_kind table[N_KINDS + 1];

const mtl_weighting_kind *mtl_weighting_kinds(void) {
    for (size_t i = 0; i < N_KINDS; i++) table[i] = *kinds[i];
    return table;
}

struct mtl_weighting {
    const mtl_weighting_kind *kind;
    mtl_weighting_config cfg;
    int K;
    void *state;
};

mtl_weighting_config mtl_weighting_defaults(void) { return (mtl_weighting_config){.temperature = 2.0}; }

mtl_status mtl_weighting_create(const char *name, int n_tasks, const mtl_weighting_config *c, mtl_weighting **out) {
    if (!name || !out) return mtl_error(MTL_ERR_ARG, "weighting_create: null argument");
    *out = NULL;
    const mtl_weighting_kind *k = NULL;
    for (size_t i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0) k = kinds[i];
    if (!k) {
        char list[256] = "";
        for (size_t i = 0; i < N_KINDS; i++) {
            strncat(list, kinds[i]->name, sizeof list - strlen(list) - 3);
            if (i + 1 < N_KINDS) strcat(list, ", ");
        }
        return mtl_error(MTL_ERR_ARG, "unknown weighting '%s' (expected one of: %s)", name, list);
    }
    if (n_tasks < 1 || n_tasks > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_ARG, "weighting %s: %d tasks (expected 1..%d)", name, n_tasks, MTL_MAX_TASKS);
    mtl_weighting_config cfg = c ? *c : mtl_weighting_defaults();
    if (!(cfg.temperature > 0) || !isfinite(cfg.temperature))
        return mtl_error(MTL_ERR_ARG, "weighting %s: temperature %g must be positive", name, cfg.temperature);
    mtl_weighting *w = calloc(1, sizeof *w);
    if (!w || (k->state_size && !(w->state = calloc(1, k->state_size)))) {
        free(w);
        return mtl_error(MTL_ERR_NOMEM, "weighting %s: out of memory", name);
    }
    w->kind = k, w->cfg = cfg, w->K = n_tasks;
    *out = w;
    return MTL_OK;
}

void mtl_weighting_free(mtl_weighting *w) {
    if (!w) return;
    free(w->state);
    free(w);
}

const char *mtl_weighting_name(const mtl_weighting *w) { return w ? w->kind->name : ""; }

static mtl_status check_weights(const mtl_weighting *w, const float *weights) {
    for (int k = 0; k < w->K; k++)
        if (!isfinite(weights[k]))
            return mtl_error(MTL_ERR_NUMERIC, "weighting %s: the weight of task %d became %g", w->kind->name, k,
                             (double)weights[k]);
    return MTL_OK;
}

mtl_status mtl_weighting_epoch_begin(mtl_weighting *w, int epoch, const double *history, float *weights) {
    if (!w || !weights || epoch < 0 || (epoch > 0 && !history))
        return mtl_error(MTL_ERR_ARG, "weighting_epoch_begin: null argument or negative epoch");
    for (int i = 0; i < epoch * w->K; i++)
        if (!isfinite(history[i]))
            return mtl_error(MTL_ERR_NUMERIC, "weighting %s: loss history entry %d is %g", w->kind->name, i, history[i]);
    mtl_status s = w->kind->epoch_begin(w->state, &w->cfg, w->K, epoch, history, weights);
    return s ? s : check_weights(w, weights);
}

mtl_status mtl_weighting_step(mtl_weighting *w, const float *losses, float *weights) {
    if (!w || !losses || !weights) return mtl_error(MTL_ERR_ARG, "weighting_step: null argument");
    if (!w->kind->step) return MTL_OK;
    mtl_status s = w->kind->step(w->state, &w->cfg, w->K, losses, weights);
    return s ? s : check_weights(w, weights);
}
