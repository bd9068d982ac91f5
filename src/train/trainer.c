/* The training loop: shuffle -> batch -> forward on the tape -> per-task losses ->
 * weighted backward -> optimizer step; then evaluation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtl/ops.h"
#include "mtl/train.h"
#include "train/train_internal.h"

/* evaluation on tape t (reset per batch; the trainer passes its own so that training and
 * evaluation share one arena instead of holding two) */
static mtl_status evaluate_on(mtl_model *m, mtl_tape *t, const mtl_dataset *d, int batch_size, double *loss,
                              double *acc, double *auc) {
    int K = d->n_tasks;
    mtl__batch b;
    mtl_status s = mtl__batch_alloc(&b, d, batch_size);
    if (s) return s;
    /* AUC needs every row's score of the two-class tasks */
    float *score[MTL_MAX_TASKS] = {0};
    for (int k = 0; k < K && auc && !s; k++)
        if (d->n_classes[k] == 2 && !(score[k] = malloc((size_t)d->n * sizeof(float))))
            s = mtl_error(MTL_ERR_NOMEM, "evaluate: out of memory");
    mtl_tape_set_training(t, false);
    mtl_tape_set_recording(t, false);
    double sum_loss[MTL_MAX_TASKS] = {0};
    long right[MTL_MAX_TASKS] = {0};
    for (int start = 0; start < d->n && !s; start += batch_size) {
        int n = d->n - start < batch_size ? d->n - start : batch_size;
        mtl__batch_fill(&b, d, NULL, start, n);
        mtl_tape_reset(t);
        mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(n, d->channels, d->length), b.x), *logits[MTL_MAX_TASKS];
        if ((s = mtl_model_forward(m, t, x, logits))) break;
        for (int k = 0; k < K && !s; k++) {
            mtl_tensor *l = mtl__task_loss(t, logits[k], b.y[k], b.yf[k]);
            if (!l) {
                s = mtl_error(mtl_tape_status(t), "evaluate: %s", mtl_tape_error(t));
                break;
            }
            sum_loss[k] += (double)l->data[0] * n, right[k] += mtl__count_correct(logits[k], b.y[k]);
            if (score[k]) {
                const mtl_tensor *z = logits[k];
                for (int i = 0; i < n; i++)
                    score[k][start + i] = z->shape[1] == 1 ? z->data[i] : z->data[2 * i + 1] - z->data[2 * i];
            }
        }
    }
    for (int k = 0; k < K; k++) {
        loss[k] = sum_loss[k] / d->n, acc[k] = (double)right[k] / d->n;
        if (auc) auc[k] = score[k] && !s ? mtl_auc(score[k], d->y[k], d->n) : NAN;
        free(score[k]);
    }
    mtl__batch_free(&b);
    mtl_tape_set_recording(t, true);
    return s;
}

mtl_status mtl_evaluate(mtl_model *m, const mtl_dataset *d, int batch_size, double *loss, double *acc) {
    if (!m || !d || !loss || !acc) return mtl_error(MTL_ERR_ARG, "evaluate: null argument");
    if (batch_size < 1) return mtl_error(MTL_ERR_ARG, "evaluate: batch size %d must be positive", batch_size);
    mtl_status s = mtl__check_fit(m, d, "evaluate");
    if (s) return s;
    mtl_tape *t = NULL;
    if ((s = mtl_tape_create(&t))) return s;
    s = evaluate_on(m, t, d, batch_size, loss, acc, NULL);
    mtl_tape_free(t);
    return s;
}

/* a copy of every parameter and buffer (best-on-validation), or of the buffers only (the
 * batchnorm running statistics around FAMO's second forward); *buf is allocated on first use */
static mtl_status snapshot(mtl_params *P, float **buf, bool restore, bool buffers_only) {
    int64_t total = 0;
    int n = mtl_params_count(P);
    for (int i = 0; i < n; i++)
        if (!buffers_only || !mtl_params_info(P, i)->trainable) total += mtl_params_info(P, i)->tensor->size;
    if (!*buf && !(*buf = malloc((size_t)(total + 1) * sizeof(float))))
        return mtl_error(MTL_ERR_NOMEM, "train: out of memory for a copy of the parameters");
    float *p = *buf;
    for (int i = 0; i < n; i++) {
        if (buffers_only && mtl_params_info(P, i)->trainable) continue;
        mtl_tensor *t = mtl_params_info(P, i)->tensor;
        if (restore) memcpy(t->data, p, (size_t)t->size * sizeof(float));
        else memcpy(p, t->data, (size_t)t->size * sizeof(float));
        p += t->size;
    }
    return MTL_OK;
}

/* ---- the backward of one step under the weighting strategy -------------------------- */

/* the gradient strategies' workspace: G [K x D] and d [D], kept across steps */
typedef struct {
    float *G, *d;
    int64_t cap;                  /* D they hold */
    int64_t last_begin, last_end; /* the last shared layer's columns of G (parameters, not rep) */
} grad_space;

/* the columns of the last shared weight matrix (the last shared trainable tensor with two or
 * more dimensions in block order; gradnorm's W) */
static void last_shared_layer(mtl_params *P, int64_t *b, int64_t *e) {
    *b = *e = 0;
    int np = mtl_params_count(P);
    for (int i = 0; i < np; i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        if (pi->trainable && pi->owner == MTL_OWNER_SHARED && pi->tensor->ndim >= 2 && pi->offset >= *b)
            *b = pi->offset, *e = pi->offset + pi->tensor->size;
    }
}

/* zero-filled gradient block, then this step's gradient for the optimizer; alpha: the
 * per-task scale that is logged */
static mtl_status step_backward(mtl_model *m, mtl_tape *t, mtl_weighting *wt, bool rep_grad, int K,
                                mtl_tensor **losses, const float *w, grad_space *ws, float *alpha) {
    mtl_params *P = m->params;
    int64_t S = mtl_params_shared_size(P);
    mtl_params_zero_grad(P);
    if (!(mtl_weighting_flags(wt) & MTL_WEIGHTING_GRADS) || S == 0 || K == 1) {
        /* loss-only strategies (and models with nothing shared, or one task): one backward */
        for (int k = 0; k < K; k++) alpha[k] = w[k];
        return mtl_backward_weighted(t, K, losses, w);
    }
    mtl_tensor *rep = rep_grad ? m->taps.rep : NULL;
    if (rep_grad && !rep)
        return mtl_error(MTL_ERR_ARG, "train: --rep-grad: model %s has no single shared representation "
                         "(mt1dcnn, jlcnn, shared-bottom and omoe have one)", m->kind);
    int64_t D = rep ? rep->size : S;
    if (D > ws->cap) {
        float *G = realloc(ws->G, (size_t)K * D * sizeof(float)), *d = G ? realloc(ws->d, (size_t)D * sizeof(float)) : NULL;
        if (G) ws->G = G;
        if (!G || !d) return mtl_error(MTL_ERR_NOMEM, "train: out of memory for %d x %lld per-task gradients", K, (long long)D);
        ws->d = d, ws->cap = D;
    }
    memset(ws->G, 0, (size_t)K * D * sizeof(float));
    mtl_status s = MTL_OK;
    /* one backward per task on the same tape: row k gets the shared part of task k's gradient
     * (or its gradient at rep), task-specific parameters accumulate their own */
    for (int k = 0; k < K && !s; k++)
        s = rep ? mtl_backward_to(t, losses[k], w[k], rep, P, ws->G + (size_t)k * D)
                : mtl_backward_split(t, losses[k], w[k], P, ws->G + (size_t)k * D);
    if (!s) s = mtl_weighting_combine(wt, ws->G, D, rep ? 0 : ws->last_begin, rep ? 0 : ws->last_end, ws->d, alpha);
    if (s) return s;
    if (rep) return mtl_backward_from(t, rep, ws->d); /* the combined gradient through the shared layers */
    memcpy(mtl_params_grad(P), ws->d, (size_t)S * sizeof(float));
    return MTL_OK;
}

/* the batch's losses after the optimizer step (FAMO): a forward in training mode that
 * records nothing, with the batchnorm running statistics put back afterwards */
static mtl_status losses_after_step(mtl_model *m, mtl_tape *t, const mtl_tensor *x, const mtl__batch *b, int K,
                                    float **buffers, float *lv) {
    mtl_status s = snapshot(m->params, buffers, false, true);
    if (s) return s;
    mtl_shape shape = mtl_tensor_shape(x);
    mtl_tape_reset(t); /* the step is done: its activations are not needed any more */
    mtl_tape_set_recording(t, false);
    mtl_tensor *logits[MTL_MAX_TASKS];
    s = mtl_model_forward(m, t, mtl_tensor_wrap(t, shape, b->x), logits);
    for (int k = 0; k < K && !s; k++) {
        mtl_tensor *l = mtl__task_loss(t, logits[k], b->y[k], b->yf[k]);
        if (!l) s = mtl_error(mtl_tape_status(t), "train: %s", mtl_tape_error(t));
        else lv[k] = l->data[0];
    }
    mtl_tape_set_recording(t, true);
    mtl_status r = snapshot(m->params, buffers, true, true);
    return s ? s : r;
}

mtl_status mtl_train(mtl_model *m, const mtl_dataset *train, const mtl_dataset *eval, const mtl_train_config *c,
                     mtl_epoch_cb cb, void *user) {
    if (!m || !train || !c) return mtl_error(MTL_ERR_ARG, "train: null argument");
    if (c->epochs < 1 || c->batch_size < 2)
        return mtl_error(MTL_ERR_ARG, "train: epochs %d must be >= 1 and batch size %d >= 2", c->epochs, c->batch_size);
    if ((c->best_on_val || c->patience > 0) && !eval)
        return mtl_error(MTL_ERR_ARG, "train: best-on-validation and early stopping need validation data");
    if (c->select == MTL_SELECT_AUC &&
        (c->select_task < 0 || c->select_task >= train->n_tasks || train->n_classes[c->select_task] != 2))
        return mtl_error(MTL_ERR_ARG, "train: selection by AUC needs a two-class main task (task %d of %d)",
                         c->select_task, train->n_tasks);
    mtl_status s = mtl__check_fit(m, train, "training data");
    if (!s && eval) s = mtl__check_fit(m, eval, "evaluation data");
    if (s) return s;
    if (train->n < 2)
        return mtl_error(MTL_ERR_ARG, "train: the training data has %d sample(s); batch statistics need at least 2", train->n);
    int K = train->n_tasks, bs = c->batch_size < train->n ? c->batch_size : train->n;
    mtl_weighting_config wcfg = c->wcfg.temperature > 0 ? c->wcfg : mtl_weighting_defaults();
    wcfg.seed = c->seed;
    if (!(wcfg.lr > 0)) wcfg.lr = c->opt.lr; /* the strategy's own parameters learn at the model's rate */
    mtl_tape *t = NULL;
    mtl_optimizer *opt = NULL;
    mtl_weighting *wt = NULL;
    float *best = NULL;
    double best_crit = -INFINITY;
    int best_epoch = -1;
    bool watch = c->best_on_val || c->patience > 0;
    int32_t *perm = malloc((size_t)train->n * sizeof *perm);
    double *history = malloc((size_t)c->epochs * K * sizeof *history);
    mtl__batch b;
    memset(&b, 0, sizeof b);
    if (!perm || !history) s = mtl_error(MTL_ERR_NOMEM, "train: out of memory");
    if (!s) s = mtl_weighting_create(c->weighting ? c->weighting : "ew", K, &wcfg, &wt);
    grad_space ws = {0};
    float *bufcopy = NULL;
    last_shared_layer(m->params, &ws.last_begin, &ws.last_end);
    unsigned wflags = s ? 0 : mtl_weighting_flags(wt);
    if (!s && c->rep_grad && (wflags & MTL_WEIGHTING_GRADS) && !(wflags & MTL_WEIGHTING_REP)) /* no effect on loss-only ones */
        s = mtl_error(MTL_ERR_ARG, "train: --rep-grad: weighting %s does not act on a shared representation "
                      "(mgda, graddrop, imtl and aligned do)", mtl_weighting_name(wt));
    if (!s) {
        if (c->tape) t = c->tape;
        else s = mtl_tape_create(&t);
    }
    if (!s) s = mtl_optimizer_create(&opt, m->params, c->opt);
    if (!s) s = mtl__batch_alloc(&b, train, bs);
    if (!s) {
        mtl_tape_set_seed(t, c->seed);
        mtl_tape_set_keep_grads(t, false); /* only parameter gradients are read: recycle the rest */
    }
    for (int epoch = 0; epoch < c->epochs && !s; epoch++) {
        double t0 = mtl__now();
        mtl_epoch_stats st = {.epoch = epoch, .epochs = c->epochs, .n_tasks = K, .best_epoch = -1};
        float w[MTL_MAX_TASKS];
        double wsum[MTL_MAX_TASKS] = {0};
        long steps = 0;
        mtl_rng r;
        mtl_rng_init(&r, c->seed, 0x5eed0000u + (uint64_t)epoch);
        mtl_rng_permutation(&r, perm, train->n);
        long seen = 0, right[MTL_MAX_TASKS] = {0};
        double sum_loss[MTL_MAX_TASKS] = {0};
        for (int start = 0; start < train->n && !s; start += bs) {
            int n = train->n - start < bs ? train->n - start : bs;
            if (n < 2) break; /* batch statistics need two samples: drop a last batch of one */
            mtl__batch_fill(&b, train, perm, start, n);
            mtl_tape_reset(t);
            mtl_tape_set_training(t, true);
            mtl_tape_set_recording(t, true); /* a shared tape may come from an evaluation */
            mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(n, train->channels, train->length), b.x);
            mtl_tensor *logits[MTL_MAX_TASKS], *losses[MTL_MAX_TASKS];
            if ((s = mtl_model_forward(m, t, x, logits))) break;
            for (int k = 0; k < K; k++) losses[k] = mtl__task_loss(t, logits[k], b.y[k], b.yf[k]);
            if ((s = mtl_tape_status(t))) {
                s = mtl_error(s, "train: %s", mtl_tape_error(t));
                break;
            }
            float lv[MTL_MAX_TASKS];
            for (int k = 0; k < K; k++) {
                float l = lv[k] = losses[k]->data[0];
                if (!isfinite(l)) {
                    s = mtl_error(MTL_ERR_NUMERIC, "train: the loss of task '%s' became %s at epoch %d (lower the learning rate?)",
                                  train->task_names[k], isnan(l) ? "NaN" : "infinite", epoch + 1);
                    break;
                }
                sum_loss[k] += (double)l * n;
                right[k] += mtl__count_correct(logits[k], b.y[k]);
            }
            seen += n;
            if (s || (s = mtl_weighting_weights(wt, epoch, history, lv, w))) break;
            float alpha[MTL_MAX_TASKS];
            if ((s = step_backward(m, t, wt, c->rep_grad, K, losses, w, &ws, alpha))) break;
            for (int k = 0; k < K; k++) wsum[k] += alpha[k];
            steps++;
            if ((s = mtl_optimizer_step(opt))) break;
            if (wflags & MTL_WEIGHTING_LOSSES_AFTER) {
                float after[MTL_MAX_TASKS];
                if (!(s = losses_after_step(m, t, x, &b, K, &bufcopy, after))) s = mtl_weighting_after(wt, after);
            }
        }
        if (s) break;
        for (int k = 0; k < K; k++) st.weights[k] = steps ? (float)(wsum[k] / steps) : 1.0f;
        for (int k = 0; k < K; k++) {
            st.train_loss[k] = history[(size_t)epoch * K + k] = sum_loss[k] / seen;
            st.train_acc[k] = (double)right[k] / seen;
        }
        for (int k = 0; k < K; k++) st.eval_auc[k] = NAN;
        if (eval && (s = evaluate_on(m, t, eval, bs, st.eval_loss, st.eval_acc, st.eval_auc))) break;
        bool stop = false;
        if (watch) {
            double crit = 0;
            if (c->select == MTL_SELECT_AUC) crit = st.eval_auc[c->select_task];
            else
                for (int k = 0; k < K; k++) crit += st.eval_acc[k] / K;
            if (crit > best_crit) { /* NaN never improves */
                best_crit = crit, best_epoch = epoch;
                if (c->best_on_val && (s = snapshot(m->params, &best, false, false))) break;
            }
            st.best_epoch = best_epoch;
            stop = c->patience > 0 && epoch - (best_epoch < 0 ? 0 : best_epoch) >= c->patience;
        }
        st.seconds = mtl__now() - t0;
        if (cb) cb(&st, user);
        if (stop) break;
    }
    if (!s && c->best_on_val && best) s = snapshot(m->params, &best, true, false);
    free(best);
    free(ws.G);
    free(ws.d);
    free(bufcopy);
    mtl__batch_free(&b);
    free(perm);
    free(history);
    mtl_weighting_free(wt);
    mtl_optimizer_free(opt);
    if (t != c->tape) mtl_tape_free(t);
    return s;
}
