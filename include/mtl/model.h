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

#define MTL_MAX_FIELDS 256
#define MTL_MAX_TOWER 4

/* Tabular models (src/models/tabular.c, moe.c, amtl.c). Input rows x[N, 1, n_ids + n_cont]:
 * n_ids nominal ids (integers stored as float) then n_cont standardised values
 * (include/mtl/tabular.h makes them). A two-class task gets ONE logit (sigmoid /
 * binary cross-entropy), logits [N, 1]; a task with C > 2 classes gets [N, C].
 * A field left 0 takes its default (mtl_tab_model_defaults). */
typedef struct {
    int n_ids, n_cont;
    int vocab[MTL_MAX_FIELDS]; /* rows of id column i's embedding table */
    int hash_buckets;          /* > 0: ONE table of this many rows for every id column, embeddings summed */
    int emb_dim;               /* 8 (hashed input: 128) */
    int units;                 /* width of the bottom / each expert / AMTL's d: 64 (amtl, coamtl: 128) */
    int experts;               /* omoe, mmoe: 8; amtl, coamtl: 3 */
    int shared_experts;        /* cgc, ple: 4 */
    int task_experts;          /* cgc, ple: 2 per task */
    int levels;                /* ple: 2 */
    int n_tower;               /* hidden layers of each task tower (-1: none): 2 */
    int tower[MTL_MAX_TOWER];  /* their widths: 64, 32 */
    bool scaled_attention;     /* amtl, coamtl: attention and co-attention scores / sqrt(d) (the Co-AMTL code
                                  does not scale) */
} mtl_tab_model_config;

typedef struct {
    int n_tasks;
    int n_classes[MTL_MAX_TASKS];
    int in_channels; /* signals: [N, in_channels, length]; tabular: 1 and n_ids + n_cont */
    int length;
    int width;       /* model-specific base width (0: the model's default) */
    unsigned options; /* MTL_MODEL_* bits */
    mtl_tab_model_config tab; /* tabular models only */
} mtl_model_config;

/* the defaults of a tabular model kind, with every zero field of given (may be NULL)
 * filled in; input fields (n_ids, n_cont, vocab, hash_buckets) are copied from given */
mtl_tab_model_config mtl_tab_model_defaults(const char *kind, const mtl_tab_model_config *given);
/* whether kind is a tabular model (takes encoded rows) */
bool mtl_model_kind_is_tabular(const char *kind);

/* What a forward pass exposes besides the logits, for reports (t-SNE, attention). The
 * registry clears it before each forward; a model fills what it has (NULL otherwise). */
typedef struct {
    mtl_tensor *features[MTL_MAX_TASKS];                  /* [N, F]: each task's head input */
    int n_stages;                                         /* attention stages per task (0: none) */
    mtl_tensor *attention[MTL_MAX_TASKS][MTL_MAX_STAGES]; /* [N, C_stage]: per-channel attention weights */
    mtl_tensor *rep; /* the shared representation, where the model has one: every path from the shared
                        parameters to the logits passes through it (hard sharing: mt1dcnn, jlcnn,
                        shared-bottom, omoe); the gradient strategies' rep_grad acts on it */
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
