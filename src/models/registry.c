/* Model registry: create a model by name. */
#include <stdlib.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "models/models.h"

static const mtl_model_kind kinds[] = {
    {"tiny", "small two-task 1-D CNN: conv-BN-ReLU-maxpool, per-task ECA, shared conv, mean, per-task heads",
     mtl_tiny_create},
    {NULL, NULL, NULL},
};

const mtl_model_kind *mtl_model_kinds(void) { return kinds; }

mtl_status mtl_model_create(const char *kind, const mtl_model_config *cfg, uint64_t seed, mtl_model **out) {
    if (!kind || !cfg || !out) return mtl_error(MTL_ERR_ARG, "model_create: null argument");
    *out = NULL;
    const mtl_model_kind *k = kinds;
    while (k->name && strcmp(k->name, kind) != 0) k++;
    if (!k->name) {
        char list[256] = "";
        for (const mtl_model_kind *j = kinds; j->name; j++) {
            strncat(list, j->name, sizeof list - strlen(list) - 3);
            if (j[1].name) strcat(list, ", ");
        }
        return mtl_error(MTL_ERR_ARG, "unknown model '%s' (expected one of: %s)", kind, list);
    }
    if (cfg->n_tasks < 1 || cfg->n_tasks > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_ARG, "model %s: %d tasks (expected 1..%d)", kind, cfg->n_tasks, MTL_MAX_TASKS);
    for (int i = 0; i < cfg->n_tasks; i++)
        if (cfg->n_classes[i] < 2)
            return mtl_error(MTL_ERR_ARG, "model %s: task %d has %d classes (expected at least 2)", kind, i, cfg->n_classes[i]);
    mtl_model *m = calloc(1, sizeof *m);
    if (!m) return mtl_error(MTL_ERR_NOMEM, "model_create: out of memory");
    m->kind = k->name;
    m->cfg = *cfg;
    mtl_status s = mtl_params_create(&m->params);
    if (!s) s = k->create(cfg, m);
    if (!s) s = mtl_params_finalize(m->params, seed);
    if (s) {
        mtl_model_free(m);
        return s;
    }
    *out = m;
    return MTL_OK;
}

void mtl_model_free(mtl_model *m) {
    if (!m) return;
    if (m->destroy) m->destroy(m);
    mtl_params_free(m->params);
    free(m);
}

mtl_status mtl_model_forward(mtl_model *m, mtl_tape *t, mtl_tensor *x, mtl_tensor **logits) {
    if (!m || !t || !logits) return mtl_error(MTL_ERR_ARG, "model_forward: null argument");
    for (int k = 0; k < m->cfg.n_tasks; k++) logits[k] = NULL;
    m->forward(m, t, x, logits);
    mtl_status s = mtl_tape_status(t);
    if (s == MTL_OK)
        for (int k = 0; k < m->cfg.n_tasks; k++)
            if (!logits[k]) return mtl_error(MTL_ERR_STATE, "model %s: no logits for task %d", m->kind, k);
    return s ? mtl_error(s, "model %s: %s", m->kind, mtl_tape_error(t)) : MTL_OK;
}
