/* Model registry: create a model by name. */
#include <stdlib.h>
#include <string.h>

#include "autograd/tape_internal.h"
#include "models/models.h"

static const mtl_model_kind kinds[] = {
    {"tiny", "small two-task 1-D CNN: conv-BN-ReLU-maxpool, per-task ECA, shared conv, mean, per-task heads",
     false, mtl_tiny_create},
    {"mtagn", "MTAGN (Xie et al. 2022; specs/mtagn.md Architecture): shared 1-D CNN trunk, per-task residual ECA "
              "attention x3, 1x1 units (shared; per task with MTL_MODEL_PER_TASK_UNITS), per-task heads",
     false, mtl_mtagn_create},
    {"stan", "STAN (specs/mtagn.md Baselines): one single-branch MTAGN per task, nothing shared", true,
     mtl_stan_create},
    {"mt1dcnn", "MT-1DCNN (specs/mtagn.md Baselines): hard sharing, 5 strided conv trunk, per task 2 convs, mean, "
                "linear", false, mtl_mt1dcnn_create},
    {"jlcnn", "JL-CNN (specs/mtagn.md Baselines): hard sharing, 6 conv-pool trunk, per-task MLP heads (512-128-c)",
     false, mtl_jlcnn_create},
    {"wdcnn", "WDCNN (Zhang et al. 2017; specs/mtagn.md Baselines): one wide-first-kernel CNN per task, nothing shared",
     true, mtl_wdcnn_create},
    {"single", "tabular single-task baseline (specs/tabular.md): one network per task (embeddings, bottom, tower)",
     true, mtl_single_tab_create},
    {"shared-bottom", "tabular Shared-Bottom: shared embeddings and bottom MLP, one tower per task", false,
     mtl_shared_bottom_create},
    {"omoe", "tabular OMoE: experts mixed by ONE softmax gate shared by the tasks, towers", false, mtl_omoe_create},
    {"mmoe", "tabular MMoE (Ma et al. 2018): experts mixed by one softmax gate per task, towers", false,
     mtl_mmoe_create},
    {"cgc", "tabular CGC (Tang et al. 2020): per-task and shared experts, per-task gates over own + shared", false,
     mtl_cgc_create},
    {"ple", "tabular PLE (Tang et al. 2020): stacked CGC levels with a shared gate feeding the next level", false,
     mtl_ple_create},
    {"amtl", "tabular AMTL: residual experts, task representations attending over the experts, towers", false,
     mtl_amtl_create},
    {"coamtl", "tabular Co-AMTL: AMTL then co-attention between the task representations, towers", false,
     mtl_coamtl_create},
    {NULL, NULL, false, NULL},
};

const mtl_model_kind *mtl_model_kinds(void) { return kinds; }

const mtl_model_kind *mtl_model_kind_find(const char *name) {
    for (const mtl_model_kind *k = kinds; k->name; k++)
        if (name && strcmp(k->name, name) == 0) return k;
    char list[256] = "";
    for (const mtl_model_kind *j = kinds; j->name; j++) {
        strncat(list, j->name, sizeof list - strlen(list) - 3);
        if (j[1].name) strcat(list, ", ");
    }
    mtl_error(MTL_ERR_ARG, "unknown model '%s' (expected one of: %s)", name ? name : "(null)", list);
    return NULL;
}

mtl_status mtl_model_create(const char *kind, const mtl_model_config *cfg, uint64_t seed, mtl_model **out) {
    if (!kind || !cfg || !out) return mtl_error(MTL_ERR_ARG, "model_create: null argument");
    *out = NULL;
    const mtl_model_kind *k = mtl_model_kind_find(kind);
    if (!k) return MTL_ERR_ARG;
    if (cfg->n_tasks < 1 || cfg->n_tasks > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_ARG, "model %s: %d tasks (expected 1..%d)", kind, cfg->n_tasks, MTL_MAX_TASKS);
    for (int i = 0; i < cfg->n_tasks; i++)
        if (cfg->n_classes[i] < 2)
            return mtl_error(MTL_ERR_ARG, "model %s: task %d has %d classes (expected at least 2)", kind, i,
                             cfg->n_classes[i]);
    mtl_model *m = calloc(1, sizeof *m);
    if (!m) return mtl_error(MTL_ERR_NOMEM, "model_create: out of memory");
    m->kind = k->name;
    m->single_task = k->single_task;
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
    memset(&m->taps, 0, sizeof m->taps);
    m->forward(m, t, x, logits);
    mtl_status s = mtl_tape_status(t);
    if (s == MTL_OK)
        for (int k = 0; k < m->cfg.n_tasks; k++)
            if (!logits[k]) return mtl_error(MTL_ERR_STATE, "model %s: no logits for task %d", m->kind, k);
    return s ? mtl_error(s, "model %s: %s", m->kind, mtl_tape_error(t)) : MTL_OK;
}
