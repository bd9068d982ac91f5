/* Training and evaluation of a multi-task classifier on an mtl_dataset. */
#ifndef MTL_TRAIN_H
#define MTL_TRAIN_H

#include "mtl/data.h"
#include "mtl/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int epochs;
    int batch_size;
    mtl_opt_config opt;
    uint64_t seed; /* shuffling and dropout */
} mtl_train_config;

typedef struct {
    int epoch, epochs, n_tasks;
    double train_loss[MTL_MAX_TASKS], train_acc[MTL_MAX_TASKS];
    double eval_loss[MTL_MAX_TASKS], eval_acc[MTL_MAX_TASKS]; /* when an evaluation set is given */
    float weights[MTL_MAX_TASKS];                             /* task weights used this epoch */
    double seconds;                                           /* this epoch's wall time */
} mtl_epoch_stats;

typedef void (*mtl_epoch_cb)(const mtl_epoch_stats *s, void *user);

/* Trains m on `train` with per-task cross-entropy losses summed with the task weights
 * (equal weights for now), shuffling every epoch. After each epoch evaluates on
 * `eval` (may be NULL) and calls cb (may be NULL). Fails with MTL_ERR_NUMERIC if a
 * loss becomes NaN or infinite. */
mtl_status mtl_train(mtl_model *m, const mtl_dataset *train, const mtl_dataset *eval, const mtl_train_config *c,
                     mtl_epoch_cb cb, void *user);

/* mean cross-entropy and accuracy per task (arrays of n_tasks), evaluation mode */
mtl_status mtl_evaluate(mtl_model *m, const mtl_dataset *d, int batch_size, double *loss, double *acc);

#ifdef __cplusplus
}
#endif
#endif
