/* Tabular training pieces: exact AUC (known values, ties, against pair counting), the ROC
 * curve, one-logit (binary cross-entropy) heads in training, prediction and metrics, and
 * model selection / early stopping on a task's validation AUC. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* the AUC by counting pairs: P(score_pos > score_neg) + 0.5 P(equal) */
static double auc_pairs(const float *s, const int32_t *y, int n) {
    double num = 0, den = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (y[i] && !y[j]) den += 1, num += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
    return den > 0 ? num / den : NAN;
}

static void auc_values(void) {
    float s1[] = {0.1f, 0.4f, 0.35f, 0.8f};
    int32_t y1[] = {0, 0, 1, 1};
    CHECK_CLOSE(mtl_auc(s1, y1, 4), 0.75, 1e-12, 0, "the classic 4-point example");
    float s2[] = {1, 2, 2, 3};
    int32_t y2[] = {0, 0, 1, 1};
    CHECK_CLOSE(mtl_auc(s2, y2, 4), 0.875, 1e-12, 0, "a tie between a positive and a negative counts one half");
    float s3[] = {5, 5, 5, 5};
    int32_t y3[] = {1, 0, 1, 0};
    CHECK_CLOSE(mtl_auc(s3, y3, 4), 0.5, 1e-12, 0, "all scores tied");
    int32_t y4[] = {1, 1, 1, 1};
    CHECK(isnan(mtl_auc(s3, y4, 4)), "one class only gives NaN");
    /* random scores with many ties against pair counting */
    enum { N = 500 };
    float s[N];
    int32_t y[N];
    mtl_rng r;
    mtl_rng_init(&r, 3, 0);
    float u[2 * N];
    mtl_rng_uniform(&r, u, 2 * N, 0, 1);
    for (int i = 0; i < N; i++) y[i] = u[i] < 0.3f, s[i] = floorf(10 * u[N + i] + 3 * (float)y[i]) / 10;
    CHECK_CLOSE(mtl_auc(s, y, N), auc_pairs(s, y, N), 1e-12, 1e-12, "AUC of 500 tied scores");
    /* ROC: from (0,0) to (1,1), monotone, thinned */
    float fpr[50], tpr[50];
    int np = mtl_roc(s, y, N, fpr, tpr, 50);
    CHECK(np >= 2 && np <= 50, "%d ROC points", np);
    if (np >= 2) {
        CHECK(fpr[0] == 0 && tpr[0] == 0 && fpr[np - 1] == 1 && tpr[np - 1] == 1, "ROC ends");
        for (int i = 1; i < np; i++) CHECK(fpr[i] >= fpr[i - 1] && tpr[i] >= tpr[i - 1], "ROC monotone at %d", i);
    }
    CHECK(mtl_roc(s3, y4, 4, fpr, tpr, 50) == 0, "no ROC with one class");
}

/* rows: 3 id fields (vocab 4, 3, 5) and 2 continuous; task 0 "a" positive when cont0 + id0
 * is large, task 1 "b" when id1 == 2 or cont1 > 0.5 (both learnable) */
static void make_rows(mtl_dataset *d, int n, uint64_t seed) {
    CHECK_OK(mtl_dataset_alloc(d, n, 1, 5, 2));
    d->n_classes[0] = d->n_classes[1] = 2;
    snprintf(d->task_names[0], MTL_TASK_NAME_MAX, "a");
    snprintf(d->task_names[1], MTL_TASK_NAME_MAX, "b");
    mtl_rng r;
    mtl_rng_init(&r, seed, 1);
    for (int i = 0; i < n; i++) {
        float u[5], z[2];
        mtl_rng_uniform(&r, u, 5, 0, 1);
        mtl_rng_normal(&r, z, 2, 0, 1);
        float *x = d->x + (size_t)i * 5;
        x[0] = (float)(int)(u[0] * 4), x[1] = (float)(int)(u[1] * 3), x[2] = (float)(int)(u[2] * 5);
        x[3] = z[0], x[4] = z[1];
        d->y[0][i] = z[0] + 0.5f * x[0] + 0.3f * (u[3] - 0.5f) > 1.0f;
        d->y[1][i] = x[1] == 2 || z[1] > 0.5f;
    }
}

static mtl_model_config row_config(void) {
    mtl_model_config c = {.n_tasks = 2, .n_classes = {2, 2}, .in_channels = 1, .length = 5};
    c.tab.n_ids = 3, c.tab.n_cont = 2, c.tab.vocab[0] = 4, c.tab.vocab[1] = 3, c.tab.vocab[2] = 5;
    return c;
}

typedef struct {
    int calls;
    double auc0[64];
    int best[64];
} trace;

static void on_epoch(const mtl_epoch_stats *s, void *user) {
    trace *t = user;
    if (t->calls < 64) t->auc0[t->calls] = s->eval_auc[0], t->best[t->calls] = s->best_epoch;
    t->calls++;
}

static void binary_heads_train(void) {
    mtl_dataset tr, va;
    memset(&tr, 0, sizeof tr), memset(&va, 0, sizeof va);
    make_rows(&tr, 2000, 1);
    make_rows(&va, 1000, 2);
    mtl_model_config cfg = row_config();
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("shared-bottom", &cfg, 5, &m));
    if (!m) goto done;
    mtl_train_config tc = {.epochs = 12, .batch_size = 64, .opt = mtl_opt_defaults(MTL_OPT_ADAM), .seed = 3,
                           .best_on_val = true, .select = MTL_SELECT_AUC, .select_task = 0, .patience = 3};
    tc.opt.lr = 1e-2f;
    trace tr_ = {0};
    CHECK_OK(mtl_train(m, &tr, &va, &tc, on_epoch, &tr_));
    CHECK(tr_.calls >= 1 && tr_.calls <= 12, "%d epochs", tr_.calls);
    /* the kept epoch has the best validation AUC, and early stopping ran `patience` epochs past it */
    int best = tr_.best[tr_.calls - 1];
    for (int e = 0; e < tr_.calls; e++) CHECK(tr_.auc0[e] <= tr_.auc0[best], "epoch %d beats the kept one", e);
    CHECK(tr_.calls == 12 || tr_.calls - 1 - best == 3, "stopped %d epochs after the best", tr_.calls - 1 - best);
    mtl_predictions p;
    mtl_metrics mt;
    CHECK_OK(mtl_predict(m, &va, 64, false, &p)); /* the batches of the validation pass */
    CHECK_OK(mtl_metrics_compute(&va, &p, &mt));
    CHECK(mt.auc[0] > 0.9 && mt.auc[1] > 0.9, "test AUC %.3f, %.3f", mt.auc[0], mt.auc[1]);
    CHECK_CLOSE(mt.auc[0], tr_.auc0[best], 1e-6, 0, "the restored model's AUC is the kept epoch's");
    /* one-logit heads: probabilities (1 - sigmoid(z), sigmoid(z)) and logits stored as (0, z) */
    int bad = 0;
    for (int i = 0; i < va.n; i++) {
        float z = p.logits[0][2 * i + 1], pr = p.prob[0][2 * i + 1];
        bad += p.logits[0][2 * i] != 0 || fabsf(pr - 1 / (1 + expf(-z))) > 1e-6f ||
               fabsf(p.prob[0][2 * i] + pr - 1) > 1e-6f || p.pred[0][i] != (z > 0);
    }
    CHECK(bad == 0, "%d rows with inconsistent binary predictions", bad);
    /* log loss = mean binary cross-entropy, computed here from the logits */
    double ll = 0;
    for (int i = 0; i < va.n; i++) {
        double z = p.logits[1][2 * i + 1];
        ll += va.y[1][i] ? log1p(exp(-z)) : log1p(exp(z));
    }
    CHECK_CLOSE(mt.loss[1], ll / va.n, 1e-4, 1e-4, "log loss");
    mtl_metrics_free(&mt);
    mtl_predictions_free(&p);
    /* selection by the AUC of a multi-class or missing task is refused */
    tc.select_task = 5;
    CHECK(mtl_train(m, &tr, &va, &tc, NULL, NULL) == MTL_ERR_ARG, "select_task out of range");
done:
    mtl_model_free(m);
    mtl_dataset_free(&tr);
    mtl_dataset_free(&va);
}

int main(void) {
    RUN(auc_values);
    RUN(binary_heads_train);
    return th_summary();
}
