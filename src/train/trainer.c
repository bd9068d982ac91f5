/* The training loop: shuffle -> batch -> forward on the tape -> per-task losses ->
 * weighted backward -> optimizer step; then evaluation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtl/ops.h"
#include "mtl/train.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    float *x;
    int32_t *y[MTL_MAX_TASKS];
} batch_buf;

static mtl_status batch_alloc(batch_buf *b, const mtl_dataset *d, int bs) {
    memset(b, 0, sizeof *b);
    b->x = malloc((size_t)bs * d->channels * d->length * sizeof(float));
    bool ok = b->x != NULL;
    for (int k = 0; k < d->n_tasks; k++) ok = ok && (b->y[k] = malloc((size_t)bs * sizeof(int32_t)));
    return ok ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "train: out of memory for a batch of %d", bs);
}

static void batch_free(batch_buf *b) {
    free(b->x);
    for (int k = 0; k < MTL_MAX_TASKS; k++) free(b->y[k]);
}

/* copies samples idx[0..n) (or start..start+n when idx is NULL) into the batch */
static void batch_fill(batch_buf *b, const mtl_dataset *d, const int32_t *idx, int start, int n) {
    size_t per = (size_t)d->channels * d->length;
    for (int i = 0; i < n; i++) {
        int s = idx ? idx[start + i] : start + i;
        memcpy(b->x + i * per, d->x + (size_t)s * per, per * sizeof(float));
        for (int k = 0; k < d->n_tasks; k++) b->y[k][i] = d->y[k][s];
    }
}

static int count_correct(const mtl_tensor *logits, const int32_t *y) {
    int n = logits->shape[0], c = logits->shape[1], right = 0;
    for (int i = 0; i < n; i++) {
        const float *row = logits->data + (size_t)i * c;
        int best = 0;
        for (int j = 1; j < c; j++)
            if (row[j] > row[best]) best = j;
        right += best == y[i];
    }
    return right;
}

static mtl_status check_fit(const mtl_model *m, const mtl_dataset *d, const char *what) {
    if (!d) return mtl_error(MTL_ERR_ARG, "%s: data set is NULL", what);
    if (d->n_tasks != m->cfg.n_tasks)
        return mtl_error(MTL_ERR_SHAPE, "%s: data has %d tasks, model %s has %d", what, d->n_tasks, m->kind, m->cfg.n_tasks);
    for (int k = 0; k < d->n_tasks; k++)
        if (d->n_classes[k] != m->cfg.n_classes[k])
            return mtl_error(MTL_ERR_SHAPE, "%s: task '%s' has %d classes in the data, %d in the model", what,
                             d->task_names[k], d->n_classes[k], m->cfg.n_classes[k]);
    return mtl_dataset_validate(d, what);
}

mtl_status mtl_evaluate(mtl_model *m, const mtl_dataset *d, int batch_size, double *loss, double *acc) {
    if (!m || !d || !loss || !acc) return mtl_error(MTL_ERR_ARG, "evaluate: null argument");
    if (batch_size < 1) return mtl_error(MTL_ERR_ARG, "evaluate: batch size %d must be positive", batch_size);
    mtl_status s = check_fit(m, d, "evaluate");
    if (s) return s;
    int K = d->n_tasks;
    mtl_tape *t = NULL;
    batch_buf b;
    if ((s = mtl_tape_create(&t)) || (s = batch_alloc(&b, d, batch_size))) {
        mtl_tape_free(t);
        return s;
    }
    mtl_tape_set_training(t, false);
    mtl_tape_set_recording(t, false);
    double sum_loss[MTL_MAX_TASKS] = {0};
    long right[MTL_MAX_TASKS] = {0};
    for (int start = 0; start < d->n && !s; start += batch_size) {
        int n = d->n - start < batch_size ? d->n - start : batch_size;
        batch_fill(&b, d, NULL, start, n);
        mtl_tape_reset(t);
        mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(n, d->channels, d->length), b.x), *logits[MTL_MAX_TASKS];
        if ((s = mtl_model_forward(m, t, x, logits))) break;
        for (int k = 0; k < K && !s; k++) {
            mtl_tensor *l = mtl_cross_entropy(t, logits[k], b.y[k]);
            if (!l) s = mtl_error(mtl_tape_status(t), "evaluate: %s", mtl_tape_error(t));
            else sum_loss[k] += (double)l->data[0] * n, right[k] += count_correct(logits[k], b.y[k]);
        }
    }
    for (int k = 0; k < K; k++) loss[k] = sum_loss[k] / d->n, acc[k] = (double)right[k] / d->n;
    batch_free(&b);
    mtl_tape_free(t);
    return s;
}

mtl_status mtl_train(mtl_model *m, const mtl_dataset *train, const mtl_dataset *eval, const mtl_train_config *c,
                     mtl_epoch_cb cb, void *user) {
    if (!m || !train || !c) return mtl_error(MTL_ERR_ARG, "train: null argument");
    if (c->epochs < 1 || c->batch_size < 2)
        return mtl_error(MTL_ERR_ARG, "train: epochs %d must be >= 1 and batch size %d >= 2", c->epochs, c->batch_size);
    mtl_status s = check_fit(m, train, "training data");
    if (!s && eval) s = check_fit(m, eval, "evaluation data");
    if (s) return s;
    if (train->n < 2)
        return mtl_error(MTL_ERR_ARG, "train: the training data has %d sample(s); batch statistics need at least 2", train->n);
    int K = train->n_tasks, bs = c->batch_size < train->n ? c->batch_size : train->n;
    mtl_tape *t = NULL;
    mtl_optimizer *opt = NULL;
    int32_t *perm = malloc((size_t)train->n * sizeof *perm);
    batch_buf b;
    memset(&b, 0, sizeof b);
    if (!perm) s = mtl_error(MTL_ERR_NOMEM, "train: out of memory");
    if (!s) s = mtl_tape_create(&t);
    if (!s) s = mtl_optimizer_create(&opt, m->params, c->opt);
    if (!s) s = batch_alloc(&b, train, bs);
    if (!s) mtl_tape_set_seed(t, c->seed);
    for (int epoch = 0; epoch < c->epochs && !s; epoch++) {
        double t0 = now_seconds();
        mtl_epoch_stats st = {.epoch = epoch, .epochs = c->epochs, .n_tasks = K};
        float w[MTL_MAX_TASKS];
        for (int k = 0; k < K; k++) w[k] = st.weights[k] = 1.0f;
        mtl_rng r;
        mtl_rng_init(&r, c->seed, 0x5eed0000u + (uint64_t)epoch);
        mtl_rng_permutation(&r, perm, train->n);
        long seen = 0, right[MTL_MAX_TASKS] = {0};
        double sum_loss[MTL_MAX_TASKS] = {0};
        for (int start = 0; start < train->n && !s; start += bs) {
            int n = train->n - start < bs ? train->n - start : bs;
            if (n < 2) break; /* batch statistics need two samples: drop a last batch of one */
            batch_fill(&b, train, perm, start, n);
            mtl_tape_reset(t);
            mtl_tape_set_training(t, true);
            mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(n, train->channels, train->length), b.x);
            mtl_tensor *logits[MTL_MAX_TASKS], *losses[MTL_MAX_TASKS];
            if ((s = mtl_model_forward(m, t, x, logits))) break;
            for (int k = 0; k < K; k++) losses[k] = mtl_cross_entropy(t, logits[k], b.y[k]);
            if ((s = mtl_tape_status(t))) {
                s = mtl_error(s, "train: %s", mtl_tape_error(t));
                break;
            }
            for (int k = 0; k < K; k++) {
                float l = losses[k]->data[0];
                if (!isfinite(l)) {
                    s = mtl_error(MTL_ERR_NUMERIC, "train: the loss of task '%s' became %s at epoch %d (lower the learning rate?)",
                                  train->task_names[k], isnan(l) ? "NaN" : "infinite", epoch + 1);
                    break;
                }
                sum_loss[k] += (double)l * n;
                right[k] += count_correct(logits[k], b.y[k]);
            }
            seen += n;
            if (s) break;
            mtl_params_zero_grad(m->params);
            if ((s = mtl_backward_weighted(t, K, losses, w))) break;
            s = mtl_optimizer_step(opt);
        }
        if (s) break;
        for (int k = 0; k < K; k++) st.train_loss[k] = sum_loss[k] / seen, st.train_acc[k] = (double)right[k] / seen;
        if (eval) s = mtl_evaluate(m, eval, bs, st.eval_loss, st.eval_acc);
        st.seconds = now_seconds() - t0;
        if (!s && cb) cb(&st, user);
    }
    batch_free(&b);
    free(perm);
    mtl_optimizer_free(opt);
    mtl_tape_free(t);
    return s;
}
