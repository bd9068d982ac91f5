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
        for (int k = 0; k < K && !s; k++) {
            int c = out->n_classes[k], given = logits[k]->ndim == 2 ? logits[k]->shape[1] : -1;
            if (given != c && !(given == 1 && c == 2)) {
                s = mtl_error(MTL_ERR_SHAPE, "predict: model %s gave %d logits for task %d of %d classes", m->kind,
                              given, k, c);
                break;
            }
            for (int i = 0; i < n; i++) {
                float pair[2];
                const float *row = logits[k]->data + (size_t)i * given;
                if (given == 1) pair[0] = 0, pair[1] = row[0], row = pair; /* sigmoid(z) = softmax(0, z)[1] */
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

/* ---- AUC and ROC -------------------------------------------------------------- */

typedef struct {
    float score;
    int32_t pos;
} scored;

static int by_score(const void *a, const void *b) {
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

/* rows sorted by ascending score; NULL on out of memory */
static scored *sort_scores(const float *score, const int32_t *label, int n, int64_t *npos) {
    scored *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) return NULL;
    *npos = 0;
    for (int i = 0; i < n; i++) v[i].score = score[i], v[i].pos = label[i] != 0, *npos += v[i].pos;
    qsort(v, (size_t)n, sizeof *v, by_score);
    return v;
}

double mtl_auc(const float *score, const int32_t *label, int n) {
    if (!score || !label || n < 2) return NAN;
    int64_t P = 0;
    scored *v = sort_scores(score, label, n, &P);
    if (!v) return NAN;
    int64_t N = n - P;
    double rank_sum = 0; /* ranks 1..n, ties averaged */
    for (int i = 0; i < n;) {
        int j = i, pos = 0;
        while (j < n && v[j].score == v[i].score) pos += v[j++].pos;
        rank_sum += pos * (0.5 * ((double)i + 1 + (double)j)); /* mean of ranks i+1..j */
        i = j;
    }
    free(v);
    if (P == 0 || N == 0) return NAN;
    return (rank_sum - 0.5 * (double)P * (double)(P + 1)) / ((double)P * (double)N);
}

int mtl_roc(const float *score, const int32_t *label, int n, float *fpr, float *tpr, int max_points) {
    if (!score || !label || !fpr || !tpr || n < 2 || max_points < 2) return 0;
    int64_t P = 0;
    scored *v = sort_scores(score, label, n, &P);
    float *cx = malloc((size_t)(n + 1) * sizeof *cx), *cy = malloc((size_t)(n + 1) * sizeof *cy);
    int64_t N = n - P;
    int corners = 0;
    if (v && cx && cy && P > 0 && N > 0) {
        /* every corner, from the highest score down, starting at (0, 0) */
        int64_t tp = 0, fp = 0;
        cx[corners] = 0, cy[corners++] = 0;
        for (int i = n - 1; i >= 0;) {
            int j = i;
            while (j >= 0 && v[j].score == v[i].score) tp += v[j].pos, fp += !v[j].pos, j--;
            cx[corners] = (float)((double)fp / N), cy[corners++] = (float)((double)tp / P);
            i = j;
        }
        /* evenly spaced corners, the first and the last kept */
        int out = corners < max_points ? corners : max_points;
        for (int i = 0; i < out; i++) {
            int src = out == 1 ? 0 : (int)((int64_t)i * (corners - 1) / (out - 1));
            fpr[i] = cx[src], tpr[i] = cy[src];
        }
        corners = out;
    } else {
        corners = 0;
    }
    free(v);
    free(cx);
    free(cy);
    return corners;
}

void mtl_binary_scores(const mtl_predictions *p, int task, float *score) {
    int c = p->n_classes[task];
    if (!p->logits[task]) { /* predictions made without logits: the probability ranks the same */
        for (int i = 0; i < p->n; i++) score[i] = p->prob[task][(size_t)i * c + 1];
        return;
    }
    for (int i = 0; i < p->n; i++) score[i] = p->logits[task][(size_t)i * c + 1] - p->logits[task][(size_t)i * c];
}

/* two classes: exact AUC of logit(1) - logit(0); more: mean one-vs-rest AUC of the probabilities */
static double task_auc(const mtl_dataset *d, const mtl_predictions *p, int k) {
    int c = p->n_classes[k], n = d->n;
    float *score = malloc((size_t)n * sizeof *score);
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    double auc = NAN;
    if (score && lab) {
        if (c == 2) {
            mtl_binary_scores(p, k, score);
            auc = mtl_auc(score, d->y[k], n);
        } else {
            double sum = 0;
            for (int j = 0; j < c && !isnan(sum); j++) {
                for (int i = 0; i < n; i++) score[i] = p->prob[k][(size_t)i * c + j], lab[i] = d->y[k][i] == j;
                sum += mtl_auc(score, lab, n);
            }
            auc = sum / c;
        }
    }
    free(score);
    free(lab);
    return auc;
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
        out->auc[k] = task_auc(d, p, k);
    }
    for (int i = 0; i < d->n; i++) {
        int all = 1;
        for (int k = 0; k < K; k++) all &= p->pred[k][i] == d->y[k][i];
        joint += all;
    }
    out->joint_accuracy = (double)joint / d->n;
    return MTL_OK;
}
