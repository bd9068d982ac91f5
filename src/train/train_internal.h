/* Helpers shared by the trainer, the evaluator and the experiment runner. */
#ifndef MTL_TRAIN_INTERNAL_H
#define MTL_TRAIN_INTERNAL_H
#include "mtl/train.h"

double mtl__now(void); /* monotonic seconds */

typedef struct {
    float *x;
    int32_t *y[MTL_MAX_TASKS];
    float *yf[MTL_MAX_TASKS]; /* the labels as float (binary cross-entropy targets) */
} mtl__batch;
mtl_status mtl__batch_alloc(mtl__batch *b, const mtl_dataset *d, int bs);
void mtl__batch_free(mtl__batch *b);
/* copies samples idx[start..start+n) (or start..start+n when idx is NULL) into the batch */
void mtl__batch_fill(mtl__batch *b, const mtl_dataset *d, const int32_t *idx, int start, int n);
/* argmax right; a one-logit head predicts class 1 when its logit is > 0 */
int mtl__count_correct(const mtl_tensor *logits, const int32_t *y);
/* a task's loss: binary cross-entropy for a one-logit head (targets yf), else cross-entropy */
mtl_tensor *mtl__task_loss(mtl_tape *t, mtl_tensor *logits, const int32_t *y, const float *yf);
/* the data set's tasks and classes match the model's, labels in range, values finite */
mtl_status mtl__check_fit(const mtl_model *m, const mtl_dataset *d, const char *what);
/* outputs.c: log.csv, checkpoint, summary.json, tables as CSV, report.html (and for tabular
 * data gates.csv) in c->out_dir. first_*: run 0's model, test labels and predictions with
 * taps; enc: the tabular encoder (NULL for signals), stored in the checkpoint. */
#include "mtl/experiment.h"
mtl_status mtl__experiment_outputs(const mtl_experiment_result *r, const mtl_data_spec *d,
                                   const mtl_experiment_config *c, const mtl_model *first_model,
                                   const mtl_dataset *first_test, const mtl_predictions *first_pred,
                                   const mtl_tab_encoder *enc);
#endif
