/* Training and evaluation of a multi-task classifier on an mtl_dataset. */
#ifndef MTL_TRAIN_H
#define MTL_TRAIN_H

#include "mtl/data.h"
#include "mtl/optim.h"
#include "mtl/weighting.h"

#ifdef __cplusplus
extern "C" {
#endif

/* what best-on-validation and early stopping watch */
typedef enum {
    MTL_SELECT_ACCURACY = 0, /* mean validation accuracy over the tasks */
    MTL_SELECT_AUC           /* validation AUC of task select_task (a two-class task) */
} mtl_select;

typedef struct {
    int epochs;
    int batch_size;
    mtl_opt_config opt;
    uint64_t seed; /* shuffling and dropout */
    const char *weighting;      /* "ew" (NULL means ew), "dwa", ... (mtl_weighting_kinds) */
    mtl_weighting_config wcfg;  /* its settings (zero: the defaults; lr 0: the optimizer's learning rate) */
    bool rep_grad;              /* gradient strategies act on the gradient of the model's shared
                                   representation (taps.rep) instead of the shared parameters' (no effect
                                   on loss-only strategies; an error for a gradient strategy without a
                                   representation form) */
    bool best_on_val;           /* keep the epoch with the best validation criterion (needs eval data);
                                   false: the last epoch's model */
    mtl_select select;          /* the criterion (default: mean accuracy) */
    int select_task;            /* MTL_SELECT_AUC: the task whose AUC counts (the main task) */
    int patience;               /* > 0: stop when the criterion has not improved for this many epochs
                                   (needs eval data) */
    mtl_tape *tape;             /* optional: train (and validate) on this tape, so that several runs share
                                   one arena; NULL: a tape of its own */
} mtl_train_config;

typedef struct {
    int epoch, epochs, n_tasks;
    double train_loss[MTL_MAX_TASKS], train_acc[MTL_MAX_TASKS];
    double eval_loss[MTL_MAX_TASKS], eval_acc[MTL_MAX_TASKS]; /* when an evaluation set is given */
    double eval_auc[MTL_MAX_TASKS];                           /* two-class tasks (NaN otherwise) */
    float weights[MTL_MAX_TASKS];                             /* the strategy's per-task scale, mean over the
                                                                 epoch's steps (mtl/weighting.h) */
    double seconds;                                           /* this epoch's wall time */
    int best_epoch;                                           /* best_on_val: best epoch so far (-1: none) */
} mtl_epoch_stats;

typedef void (*mtl_epoch_cb)(const mtl_epoch_stats *s, void *user);

/* Trains m on `train` with per-task losses (cross-entropy; binary cross-entropy for a
 * task whose head has one logit) summed with the task weights
 * of c->weighting, shuffling every epoch. After each epoch evaluates on
 * `eval` (may be NULL) and calls cb (may be NULL). Fails with MTL_ERR_NUMERIC if a
 * loss becomes NaN or infinite. */
mtl_status mtl_train(mtl_model *m, const mtl_dataset *train, const mtl_dataset *eval, const mtl_train_config *c,
                     mtl_epoch_cb cb, void *user);

/* mean cross-entropy (log loss) and accuracy per task (arrays of n_tasks), evaluation mode */
mtl_status mtl_evaluate(mtl_model *m, const mtl_dataset *d, int batch_size, double *loss, double *acc);

/* ---- predictions and metrics (src/train/metrics.c) ------------------------------ */
typedef struct {
    int n, n_tasks;
    int n_classes[MTL_MAX_TASKS];
    int32_t *pred[MTL_MAX_TASKS]; /* [n] argmax class */
    float *prob[MTL_MAX_TASKS];   /* [n, n_classes] softmax probabilities */
    float *logits[MTL_MAX_TASKS]; /* [n, n_classes]; a one-logit head z is stored as (0, z), whose
                                     softmax is (1 - sigmoid(z), sigmoid(z)) */
    /* with taps: what the model exposes (mtl_model_taps) for every window */
    int feat_dim[MTL_MAX_TASKS];
    float *features[MTL_MAX_TASKS]; /* [n, feat_dim] or NULL */
    int n_stages;
    int stage_channels[MTL_MAX_STAGES];
    float *attention[MTL_MAX_TASKS][MTL_MAX_STAGES]; /* [n, stage_channels] or NULL */
} mtl_predictions;

/* evaluation-mode forward over d in batches; taps: also copy features and attention */
mtl_status mtl_predict(mtl_model *m, const mtl_dataset *d, int batch_size, bool taps, mtl_predictions *out);
/* the same on a given tape (reset per batch; it is left in evaluation mode) */
mtl_status mtl_predict_on(mtl_model *m, mtl_tape *t, const mtl_dataset *d, int batch_size, bool taps,
                          mtl_predictions *out);
void mtl_predictions_free(mtl_predictions *p);

typedef struct {
    int n_tasks;
    int n_classes[MTL_MAX_TASKS];
    double loss[MTL_MAX_TASKS];     /* mean cross-entropy */
    double accuracy[MTL_MAX_TASKS]; /* fractions */
    double macro_f1[MTL_MAX_TASKS]; /* mean per-class F1 over the classes present in the labels or predictions */
    double auc[MTL_MAX_TASKS];      /* ROC AUC: two classes exact (mtl_auc); more: mean one-vs-rest AUC over
                                       the classes; NaN if a class is missing */
    double joint_accuracy;          /* every task right */
    int64_t *confusion[MTL_MAX_TASKS]; /* [n_classes, n_classes]: row = true class, column = predicted */
} mtl_metrics;
/* metrics of predictions p against d's labels */
mtl_status mtl_metrics_compute(const mtl_dataset *d, const mtl_predictions *p, mtl_metrics *out);
void mtl_metrics_free(mtl_metrics *m);

/* Exact ROC AUC of scores for binary labels (label != 0 is positive): the Mann-Whitney
 * rank statistic with tied scores given their average rank. NaN when either class is
 * absent. n log n. */
double mtl_auc(const float *score, const int32_t *label, int n);
/* The ROC curve's corner points (one per distinct score, from the highest), thinned to
 * at most max_points (>= 2) that keep its shape: fpr/tpr [max_points]; returns the count
 * (0 when either class is absent or on error). */
int mtl_roc(const float *score, const int32_t *label, int n, float *fpr, float *tpr, int max_points);
/* the score that ranks a task's rows for AUC: logit(1) - logit(0) (two classes, so one-logit
 * heads give z); the probability of class 1 when p has no logits */
void mtl_binary_scores(const mtl_predictions *p, int task, float *score);

#ifdef __cplusplus
}
#endif
#endif
