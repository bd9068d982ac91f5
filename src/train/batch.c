/* Batches and checks shared by the trainer, evaluator and runner. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtl/ops.h"
#include "train/train_internal.h"

double mtl__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

mtl_status mtl__batch_alloc(mtl__batch *b, const mtl_dataset *d, int bs) {
    memset(b, 0, sizeof *b);
    b->x = malloc((size_t)bs * d->channels * d->length * sizeof(float));
    bool ok = b->x != NULL;
    for (int k = 0; k < d->n_tasks; k++)
        ok = ok && (b->y[k] = malloc((size_t)bs * sizeof(int32_t))) && (b->yf[k] = malloc((size_t)bs * sizeof(float)));
    return ok ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "train: out of memory for a batch of %d", bs);
}

void mtl__batch_free(mtl__batch *b) {
    free(b->x);
    for (int k = 0; k < MTL_MAX_TASKS; k++) free(b->y[k]), free(b->yf[k]);
}

/* copies samples idx[0..n) (or start..start+n when idx is NULL) into the batch */
void mtl__batch_fill(mtl__batch *b, const mtl_dataset *d, const int32_t *idx, int start, int n) {
    size_t per = (size_t)d->channels * d->length;
    for (int i = 0; i < n; i++) {
        int s = idx ? idx[start + i] : start + i;
        memcpy(b->x + i * per, d->x + (size_t)s * per, per * sizeof(float));
        for (int k = 0; k < d->n_tasks; k++) b->y[k][i] = d->y[k][s], b->yf[k][i] = (float)d->y[k][s];
    }
}

mtl_tensor *mtl__task_loss(mtl_tape *t, mtl_tensor *logits, const int32_t *y, const float *yf) {
    if (logits && logits->ndim == 2 && logits->shape[1] == 1) return mtl_bce_with_logits(t, logits, yf);
    return mtl_cross_entropy(t, logits, y);
}

int mtl__count_correct(const mtl_tensor *logits, const int32_t *y) {
    int n = logits->shape[0], c = logits->shape[1], right = 0;
    if (c == 1) {
        for (int i = 0; i < n; i++) right += (logits->data[i] > 0) == (y[i] != 0);
        return right;
    }
    for (int i = 0; i < n; i++) {
        const float *row = logits->data + (size_t)i * c;
        int best = 0;
        for (int j = 1; j < c; j++)
            if (row[j] > row[best]) best = j;
        right += best == y[i];
    }
    return right;
}

mtl_status mtl__check_fit(const mtl_model *m, const mtl_dataset *d, const char *what) {
    if (!d) return mtl_error(MTL_ERR_ARG, "%s: data set is NULL", what);
    if (d->n_tasks != m->cfg.n_tasks)
        return mtl_error(MTL_ERR_SHAPE, "%s: data has %d tasks, model %s has %d", what, d->n_tasks, m->kind, m->cfg.n_tasks);
    for (int k = 0; k < d->n_tasks; k++)
        if (d->n_classes[k] != m->cfg.n_classes[k])
            return mtl_error(MTL_ERR_SHAPE, "%s: task '%s' has %d classes in the data, %d in the model", what,
                             d->task_names[k], d->n_classes[k], m->cfg.n_classes[k]);
    return mtl_dataset_validate(d, what);
}

