/* Predictions (evaluation-mode forward over a data set) and classification metrics:
 * accuracy, macro-F1, confusion matrix per task, joint accuracy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

void mtl_predictions_free(mtl_predictions *p) {
    if (!p) return;
    for (int k = 0; k < MTL_MAX_TASKS; k++) {
        free(p->pred[k]);
        free(p->prob[k]);
        free(p->logits[k]);
        free(p->features[k]);
        for (int s = 0; s < MTL_MAX_STAGES; s++) free(p->attention[k][s]);
    }
    memset(p, 0, sizeof *p);
}

/* copies rows [0, n) of a [n, dim] tap into dst rows [start, start+n), allocating dst on first use */
static mtl_status copy_tap(float **dst, int *dim, const mtl_tensor *t, int total, int start, int n) {
    if (!t) return MTL_OK;
    int d = (int)(t->size / n);
    if (!*dst) {
        if (start != 0) return MTL_OK; /* appeared late: ignore rather than leave holes */
        if (!(*dst = malloc((size_t)total * d * sizeof(float)))) return mtl_error(MTL_ERR_NOMEM, "predict: out of memory");
        *dim = d;
    } else if (*dim != d) {
        return mtl_error(MTL_ERR_SHAPE, "predict: a model tap changed size from %d to %d between batches", *dim, d);
    }
    memcpy(*dst + (size_t)start * d, t->data, (size_t)n * d * sizeof(float));
    return MTL_OK;
}

mtl_status mtl_predict(mtl_model *m, const mtl_dataset *d, int batch_size, bool taps, mtl_predictions *out) {
    if (out) memset(out, 0, sizeof *out);
    mtl_tape *t = NULL;
    mtl_status s = mtl_tape_create(&t);
    if (!s) s = mtl_predict_on(m, t, d, batch_size, taps, out);
    mtl_tape_free(t);
    return s;
}

mtl_status mtl_predict_on(mtl_model *m, mtl_tape *t, const mtl_dataset *d, int batch_size, bool taps,
                          mtl_predictions *out) {
    if (!m || !t || !d || !out) return mtl_error(MTL_ERR_ARG, "predict: null argument");
    memset(out, 0, sizeof *out);
    if (batch_size < 1) return mtl_error(MTL_ERR_ARG, "predict: batch size %d must be positive", batch_size);
    if (d->channels != m->cfg.in_channels && m->cfg.in_channels > 0)
        return mtl_error(MTL_ERR_SHAPE, "predict: the data has %d channel(s), model %s expects %d", d->channels, m->kind,
                         m->cfg.in_channels);
    mtl_status s = MTL_OK;
    int K = m->cfg.n_tasks;
    out->n = d->n, out->n_tasks = K;
    for (int k = 0; k < K && !s; k++) {
        int c = out->n_classes[k] = m->cfg.n_classes[k];
        out->pred[k] = malloc((size_t)d->n * sizeof(int32_t));
        out->prob[k] = malloc((size_t)d->n * c * sizeof(float));
        out->logits[k] = malloc((size_t)d->n * c * sizeof(float));
        if (!out->pred[k] || !out->prob[k] || !out->logits[k]) s = mtl_error(MTL_ERR_NOMEM, "predict: out of memory");
    }
    size_t per = (size_t)d->channels * d->length;
    for (size_t i = 0; i < (size_t)d->n * per && !s; i++)
        if (!isfinite(d->x[i]))
            s = mtl_error(MTL_ERR_NUMERIC, "predict: window %zu has a %s at position %zu (expected finite values)",
                          i / per, isnan(d->x[i]) ? "NaN" : "infinity", i % per);
    if (!s) {
        mtl_tape_set_training(t, false);
        mtl_tape_set_recording(t, false);
    }
    for (int start = 0; start < d->n && !s; start += batch_size) {
        int n = d->n - start < batch_size ? d->n - start : batch_size;
        mtl_tape_reset(t);
        /* the data set is not modified: the tape only reads wrapped inputs */
        mtl_tensor *x = mtl_tensor_wrap(t, MTL_SHAPE(n, d->channels, d->length), d->x + (size_t)start * per);
        mtl_tensor *logits[MTL_MAX_TASKS];
        if ((s = mtl_model_forward(m, t, x, logits))) break;
        for (int k = 0; k < K; k++) {
            int c = out->n_classes[k];
            for (int i = 0; i < n; i++) {
                const float *row = logits[k]->data + (size_t)i * c;
                float *lo = out->logits[k] + (size_t)(start + i) * c, *pr = out->prob[k] + (size_t)(start + i) * c;
                int best = 0;
                double mx = row[0], sum = 0;
                for (int j = 1; j < c; j++)
                    if (row[j] > row[best]) best = j, mx = row[j];
                for (int j = 0; j < c; j++) sum += exp((double)row[j] - mx);
                for (int j = 0; j < c; j++) lo[j] = row[j], pr[j] = (float)(exp((double)row[j] - mx) / sum);
                out->pred[k][start + i] = best;
            }
        }
        if (taps) {
            const mtl_model_taps *tp = &m->taps;
            out->n_stages = tp->n_stages;
            for (int k = 0; k < K && !s; k++) {
                s = copy_tap(&out->features[k], &out->feat_dim[k], tp->features[k], d->n, start, n);
                for (int st = 0; st < tp->n_stages && st < MTL_MAX_STAGES && !s; st++)
                    s = copy_tap(&out->attention[k][st], &out->stage_channels[st], tp->attention[k][st], d->n, start, n);
            }
        }
    }
    if (s) mtl_predictions_free(out);
    return s;
}

void mtl_metrics_free(mtl_metrics *m) {
    if (!m) return;
    for (int k = 0; k < MTL_MAX_TASKS; k++) free(m->confusion[k]);
    memset(m, 0, sizeof *m);
}

mtl_status mtl_metrics_compute(const mtl_dataset *d, const mtl_predictions *p, mtl_metrics *out) {
    if (!d || !p || !out) return mtl_error(MTL_ERR_ARG, "metrics: null argument");
    memset(out, 0, sizeof *out);
    if (d->n != p->n || d->n_tasks != p->n_tasks)
        return mtl_error(MTL_ERR_SHAPE, "metrics: %d windows x %d tasks of labels, %d x %d predictions", d->n, d->n_tasks,
                         p->n, p->n_tasks);
    if (d->n < 1) return mtl_error(MTL_ERR_ARG, "metrics: no windows");
    int K = d->n_tasks;
    out->n_tasks = K;
    int64_t joint = 0;
    for (int k = 0; k < K; k++) {
        int c = out->n_classes[k] = p->n_classes[k];
        if (c != d->n_classes[k])
            return mtl_error(MTL_ERR_SHAPE, "metrics: task '%s' has %d classes in the data, %d predicted",
                             d->task_names[k], d->n_classes[k], c);
        int64_t *cm = out->confusion[k] = calloc((size_t)c * c, sizeof(int64_t));
        if (!cm) {
            mtl_metrics_free(out);
            return mtl_error(MTL_ERR_NOMEM, "metrics: out of memory");
        }
        double loss = 0;
        int64_t right = 0;
        for (int i = 0; i < d->n; i++) {
            int y = d->y[k][i], q = p->pred[k][i];
            if (y < 0 || y >= c || q < 0 || q >= c) {
                mtl_metrics_free(out);
                return mtl_error(MTL_ERR_RANGE, "metrics: window %d of task '%s': label %d, prediction %d (expected 0..%d)",
                                 i, d->task_names[k], y, q, c - 1);
            }
            cm[(size_t)y * c + q]++;
            right += y == q;
            double pr = p->prob[k][(size_t)i * c + y];
            loss -= log(pr > 1e-30 ? pr : 1e-30);
        }
        out->loss[k] = loss / d->n;
        out->accuracy[k] = (double)right / d->n;
        /* macro-F1 over the classes that occur in the labels or the predictions */
        double f1 = 0;
        int used = 0;
        for (int j = 0; j < c; j++) {
            int64_t tp = cm[(size_t)j * c + j], row = 0, col = 0;
            for (int i = 0; i < c; i++) row += cm[(size_t)j * c + i], col += cm[(size_t)i * c + j];
            if (row == 0 && col == 0) continue;
            used++;
            f1 += 2.0 * tp / (double)(row + col);
        }
        out->macro_f1[k] = used ? f1 / used : 0;
    }
    for (int i = 0; i < d->n; i++) {
        int all = 1;
        for (int k = 0; k < K; k++) all &= p->pred[k][i] == d->y[k][i];
        joint += all;
    }
    out->joint_accuracy = (double)joint / d->n;
    return MTL_OK;
}
