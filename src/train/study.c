/* The weighting study's table: one row per model trained under a weighting strategy, the
 * per-task headline metric, the multi-task gain Delta_m against single-task baselines, and
 * the time per epoch. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mtl/experiment.h"
#include "mtl/report.h"

/* the headline test metric of run j, task k: AUC for tables, accuracy for signals */
static double metric(const mtl_experiment_result *r, int j, int k) {
    return r->tabular ? r->runs[j].test.auc[k] : r->runs[j].test.accuracy[k];
}

double mtl_delta_m(const double *m, const double *b, int K) {
    double s = 0;
    for (int k = 0; k < K; k++) s += (m[k] - b[k]) / b[k];
    return 100.0 * s / K;
}

mtl_status mtl_experiment_study_table(const mtl_experiment_result *res, const char *const *weightings, int n,
                                      const mtl_experiment_result *baseline, mtl_table **out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "study_table: out is NULL");
    *out = NULL;
    if (!res || !weightings || n < 1) return mtl_error(MTL_ERR_ARG, "study_table: no results (n = %d)", n);
    const mtl_experiment_result *r0 = &res[0];
    int K = r0->n_tasks;
    for (int i = 0; i < n + (baseline != NULL); i++) {
        const mtl_experiment_result *a = i < n ? &res[i] : baseline;
        if (!a->runs || a->n_seeds < 1) return mtl_error(MTL_ERR_ARG, "study_table: %s has no runs", a->model);
        if (a->tabular != r0->tabular || a->n_tasks != K)
            return mtl_error(MTL_ERR_ARG, "study_table: %s and %s were not run on the same data", r0->model, a->model);
        for (int k = 0; k < K; k++)
            if (strcmp(a->task_names[k], r0->task_names[k]))
                return mtl_error(MTL_ERR_ARG, "study_table: task %d is %s for %s but %s for %s", k, r0->task_names[k],
                                 r0->model, a->task_names[k], a->model);
    }
    const char *hdr[MTL_MAX_TASKS + 5];
    char h[MTL_MAX_TASKS][64];
    int cols = 0;
    hdr[cols++] = "model";
    hdr[cols++] = "weighting";
    for (int k = 0; k < K; k++) {
        snprintf(h[k], sizeof h[k], r0->tabular ? "%s AUC" : "%s acc (%%)", r0->task_names[k]);
        hdr[cols++] = h[k];
    }
    if (baseline) hdr[cols++] = "Delta_m (%)";
    hdr[cols++] = "s/epoch";
    mtl_status s = mtl_table_create(out, r0->tabular ? "weighting study: test AUC" : "weighting study: test accuracy",
                                    cols, hdr);
    double bmean[MTL_MAX_TASKS] = {0};
    if (baseline)
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < baseline->n_seeds; j++) bmean[k] += metric(baseline, j, k) / baseline->n_seeds;
        }
    for (int i = 0; i < n + (baseline != NULL) && !s; i++) {
        const mtl_experiment_result *r = i < n ? &res[i] : baseline;
        char cells[MTL_MAX_TASKS + 5][64];
        const char *cp[MTL_MAX_TASKS + 5];
        int c = 0;
        snprintf(cells[c], 64, "%s", r->model), cp[c] = cells[c], c++;
        snprintf(cells[c], 64, "%s", i < n ? weightings[i] : "(single-task baseline)"), cp[c] = cells[c], c++;
        double x[100], mean, sd;
        int ns = r->n_seeds < 100 ? r->n_seeds : 100;
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < ns; j++) x[j] = metric(r, j, k);
            mtl_mean_std(x, ns, &mean, &sd);
            if (r->tabular) snprintf(cells[c], 64, "%.4f \xC2\xB1 %.4f", mean, sd);
            else mtl_format_pct(mean, sd, cells[c], 64);
            cp[c] = cells[c], c++;
        }
        if (baseline) {
            /* per seed, paired with the baseline's run of the same seed when both ran the same seeds */
            bool paired = baseline->n_seeds == r->n_seeds;
            for (int j = 0; j < ns && paired; j++) paired = baseline->runs[j].seed == r->runs[j].seed;
            for (int j = 0; j < ns; j++) {
                double m[MTL_MAX_TASKS], b[MTL_MAX_TASKS];
                for (int k = 0; k < K; k++) m[k] = metric(r, j, k), b[k] = paired ? metric(baseline, j, k) : bmean[k];
                x[j] = mtl_delta_m(m, b, K);
            }
            mtl_mean_std(x, ns, &mean, &sd);
            snprintf(cells[c], 64, "%+.2f \xC2\xB1 %.2f", mean, sd), cp[c] = cells[c], c++;
        }
        double secs = 0, epochs = 0;
        for (int j = 0; j < r->n_runs; j++) secs += r->runs[j].train_seconds, epochs += r->runs[j].epochs;
        snprintf(cells[c], 64, "%.3f", epochs > 0 ? secs / epochs : 0.0), cp[c] = cells[c], c++;
        s = mtl_table_add_row(*out, cp);
    }
    char note[1024];
    snprintf(note, sizeof note,
             "Test %s, mean \xC2\xB1 std over %d seed(s) (the same seeds for every row); %s.%s s/epoch: training "
             "wall time per epoch (evaluation included), mean over runs.",
             r0->tabular ? "AUC" : "accuracy", r0->n_seeds, r0->data,
             baseline ? " Delta_m = 100/K sum_k (M_k - B_k) / B_k against the single-task baseline's metric B_k "
                        "(higher is better for every metric here), per seed paired with the baseline's run of that "
                        "seed, mean \xC2\xB1 std."
                      : "");
    if (!s) s = mtl_table_set_note(*out, note);
    if (s) {
        mtl_table_free(*out);
        *out = NULL;
    }
    return s;
}
