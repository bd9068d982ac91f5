/* Helpers shared by the trainer, the evaluator and the experiment runner. */
#ifndef MTL_TRAIN_INTERNAL_H
#define MTL_TRAIN_INTERNAL_H
#include "mtl/train.h"

double mtl__now(void); /* monotonic seconds */

typedef struct {
    float *x;
    int32_t *y[MTL_MAX_TASKS];
} mtl__batch;
mtl_status mtl__batch_alloc(mtl__batch *b, const mtl_dataset *d, int bs);
void mtl__batch_free(mtl__batch *b);
/* copies samples idx[start..start+n) (or start..start+n when idx is NULL) into the batch */
void mtl__batch_fill(mtl__batch *b, const mtl_dataset *d, const int32_t *idx, int start, int n);
int mtl__count_correct(const mtl_tensor *logits, const int32_t *y);
/* the data set's tasks and classes match the model's, labels in range, values finite */
mtl_status mtl__check_fit(const mtl_model *m, const mtl_dataset *d, const char *what);
#endif
