/* What an experiment leaves in --out DIR: log.csv (one row per epoch and run),
 * model.safetensors (the first run's checkpoint with its metadata), summary.json,
 * tables as CSV, report.html, and for tabular data gates.csv (expert usage). Every file
 * is written atomically. Tabular runs report AUC and log loss as fractions with 4
 * decimals; signal runs accuracy and macro-F1 in %. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mtl/experiment.h"
#include "mtl/io.h"
#include "train/train_internal.h"

/* ---- small helpers -------------------------------------------------------------- */
static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static void json_stats(FILE *f, const double *x, int n) {
    double m, sd;
    mtl_mean_std(x, n, &m, &sd);
    fprintf(f, "{\"mean\": %.6f, \"std\": %.6f, \"per_seed\": [", m, sd);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.6f", i ? ", " : "", x[i]);
    fprintf(f, "]}");
}

/* JSON has no NaN: an undefined value (an AUC with one class absent) is null */
static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6f", v);
    else fputs("null", f);
}

/* the best seed's value, NaN ignored (NaN when there is none) */
static double best_of(const double *x, int n, bool lowest) {
    double b = NAN;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && (!isfinite(b) || (lowest ? x[i] < b : x[i] > b))) b = x[i];
    return b;
}

static void json_stats_best(FILE *f, const double *x, int n, bool lowest) {
    double m, sd;
    mtl_mean_std(x, n, &m, &sd);
    fputs("{\"mean\": ", f);
    json_num(f, m);
    fputs(", \"std\": ", f);
    json_num(f, sd);
    fputs(", \"best\": ", f);
    json_num(f, best_of(x, n, lowest));
    fputs(", \"per_seed\": [", f);
    for (int i = 0; i < n; i++) fputs(i ? ", " : "", f), json_num(f, x[i]);
    fputs("]}", f);
}

/* one metric of every seed of sweep point sw on test set j: the clean test windows (j < 0),
 * SNR j (0..15) or cross-load test load j - CROSS */
enum { ACC, F1, JOINT, AUC, LOSS };
#define CROSS 16
/* "confusion_matrix": [[...]] summed over the seeds, "classes": [names] */
static void json_confusion(FILE *f, const mtl_experiment_result *r, int k) {
    int c = r->n_classes[k];
    fprintf(f, "\"confusion_matrix\": [");
    for (int a = 0; a < c; a++) {
        fprintf(f, "%s[", a ? ", " : "");
        for (int b = 0; b < c; b++) {
            int64_t sum = 0;
            for (int i = 0; i < r->n_seeds; i++) sum += r->runs[i].test.confusion[k][(size_t)a * c + b];
            fprintf(f, "%s%lld", b ? ", " : "", (long long)sum);
        }
        fprintf(f, "]");
    }
    fprintf(f, "], \"classes\": [");
    for (int a = 0; a < c; a++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", a);
        fprintf(f, "%s", a ? ", " : "");
        json_str(f, a < MTL_MAX_NAMED_CLASSES && r->class_names[k][a][0] ? r->class_names[k][a] : idx);
    }
    fprintf(f, "]");
}

static void gather(const mtl_experiment_result *r, int sw, int j, int what, int task, double *x) {
    for (int i = 0; i < r->n_seeds; i++) {
        const mtl_run_result *rr = &r->runs[sw * r->n_seeds + i];
        const mtl_metrics *m = j < 0 ? &rr->test : j < CROSS ? &rr->noisy[j] : &rr->cross[j - CROSS];
        x[i] = what == ACC ? m->accuracy[task] : what == F1 ? m->macro_f1[task] : what == AUC ? m->auc[task]
             : what == LOSS ? m->loss[task] : m->joint_accuracy;
    }
}

/* "0.9432 ± 0.0011" (fractions, 4 decimals); "n/a" when undefined */
static void fmt_frac(double mean, double sd, char *buf, size_t size) {
    if (!isfinite(mean)) snprintf(buf, size, "n/a");
    else snprintf(buf, size, "%.4f \xC2\xB1 %.4f", mean, isfinite(sd) ? sd : 0.0);
}

static void cell_frac(const mtl_experiment_result *r, int what, int task, char *mean_sd, char *best, size_t size) {
    double x[100], m, sd;
    gather(r, 0, -1, what, task, x);
    mtl_mean_std(x, r->n_seeds, &m, &sd);
    fmt_frac(m, sd, mean_sd, size);
    double b = best_of(x, r->n_seeds, what == LOSS);
    if (best) {
        if (isfinite(b)) snprintf(best, size, "%.4f", b);
        else snprintf(best, size, "n/a");
    }
}

/* how each seed's model was chosen */
static void selection_text(const mtl_experiment_result *r, char *buf, size_t size) {
    if (r->select_task >= 0 && r->select_task < r->n_tasks)
        snprintf(buf, size, "the epoch with the best validation AUC of %s", r->task_names[r->select_task]);
    else
        snprintf(buf, size, "the last epoch");
}

/* the note under a tabular table: what the numbers mean, on what data and inputs */
static void tab_note(const mtl_experiment_result *r, char *buf, size_t size) {
    char sel[96];
    selection_text(r, sel, sizeof sel);
    snprintf(buf, size, "test set; mean \xC2\xB1 std over %d seed(s), \xC2\xB1 = the sample standard deviation "
             "(n-1) over the seeds; best = the best seed; model kept per seed: %s; data: %s; inputs: %s; "
             "%d train / %d validation / %d test rows", r->n_seeds, sel, r->data, r->inputs[0] ? r->inputs : "?",
             r->n_train, r->n_val, r->n_test);
}

static void cell_pct(const mtl_experiment_result *r, int sw, int j, int what, int task, char *buf, size_t size) {
    double x[100], m, sd;
    gather(r, sw, j, what, task, x);
    mtl_mean_std(x, r->n_seeds, &m, &sd);
    mtl_format_pct(m, sd, buf, size);
}

/* ---- tables ---------------------------------------------------------------------- */
/* rows: sample sizes (ROWS_SWEEP), clean + SNRs (ROWS_SNR), own load + cross loads (ROWS_CROSS) */
enum { ROWS_SWEEP, ROWS_SNR, ROWS_CROSS };
static mtl_status table_by_rows(const mtl_experiment_result *r, const char *title, const char *first, int n_rows,
                                const char *(*label)(const mtl_experiment_result *, int, char *), int mode,
                                mtl_table **out) {
    const char *hdr[2 * MTL_MAX_TASKS + 2];
    char names[MTL_MAX_TASKS][48];
    int cols = 0;
    hdr[cols++] = first;
    for (int k = 0; k < r->n_tasks; k++) {
        snprintf(names[k], sizeof names[k], "%s acc (%%)", r->task_names[k]);
        hdr[cols++] = names[k];
    }
    if (r->n_tasks > 1) hdr[cols++] = "joint acc (%)";
    mtl_status s = mtl_table_create(out, title, cols, hdr);
    for (int row = 0; row < n_rows && !s; row++) {
        char cells[2 * MTL_MAX_TASKS + 2][48], lab[48];
        const char *cp[2 * MTL_MAX_TASKS + 2];
        int c = 0;
        snprintf(cells[c], sizeof cells[c], "%s", label(r, row, lab));
        cp[c] = cells[c], c++;
        int sw = mode == ROWS_SWEEP ? row : 0;
        int j = mode == ROWS_SWEEP || row == 0 ? -1 : mode == ROWS_SNR ? row - 1 : CROSS + row - 1;
        for (int k = 0; k < r->n_tasks; k++, c++) cell_pct(r, sw, j, ACC, k, cells[c], sizeof cells[c]), cp[c] = cells[c];
        if (r->n_tasks > 1) cell_pct(r, sw, j, JOINT, 0, cells[c], sizeof cells[c]), cp[c] = cells[c], c++;
        s = mtl_table_add_row(*out, cp);
    }
    if (s) {
        mtl_table_free(*out);
        *out = NULL;
    }
    return s;
}

static const char *sweep_label(const mtl_experiment_result *r, int row, char *buf) {
    snprintf(buf, 48, "%d", r->train_per[row]);
    return buf;
}
static const char *cross_label(const mtl_experiment_result *r, int row, char *buf) {
    snprintf(buf, 48, "%d -> %d", r->load, row == 0 ? r->load : r->cross_loads[row - 1]);
    return buf;
}
static const char *snr_label(const mtl_experiment_result *r, int row, char *buf) {
    if (row == 0) snprintf(buf, 48, "clean");
    else snprintf(buf, 48, "%g", r->snr[row - 1]);
    return buf;
}

/* per task: test AUC mean ± std and best, log loss, accuracy */
static mtl_status tab_summary(const mtl_experiment_result *r, mtl_table **out) {
    const char *hdr[] = {"task", "AUC", "best AUC", "log loss", "accuracy (%)"};
    char title[96], note[1024];
    snprintf(title, sizeof title, "%s: test results", r->model);
    mtl_status s = mtl_table_create(out, title, 5, hdr);
    for (int k = 0; k < r->n_tasks && !s; k++) {
        char auc[48], best[48], loss[48], acc[48];
        cell_frac(r, AUC, k, auc, best, sizeof auc);
        cell_frac(r, LOSS, k, loss, NULL, sizeof loss);
        cell_pct(r, 0, -1, ACC, k, acc, sizeof acc);
        const char *row[] = {r->task_names[k], auc, best, loss, acc};
        s = mtl_table_add_row(*out, row);
    }
    tab_note(r, note, sizeof note);
    if (!s) s = mtl_table_set_note(*out, note);
    if (s) {
        mtl_table_free(*out);
        *out = NULL;
    }
    return s;
}

mtl_status mtl_experiment_tables(const mtl_experiment_result *r, mtl_table **summary, mtl_table **sweep,
                                 mtl_table **noise, mtl_table **cross) {
    if (!r || !r->runs) return mtl_error(MTL_ERR_ARG, "experiment_tables: no result");
    if (r->tabular) {
        /* tables have no sweep, noise or cross-load protocol */
        if (sweep) *sweep = NULL;
        if (noise) *noise = NULL;
        if (cross) *cross = NULL;
        if (!summary) return MTL_OK;
        *summary = NULL;
        return tab_summary(r, summary);
    }
    char note[512];
    snprintf(note, sizeof note, "mean \xC2\xB1 std over %d seed(s) (sample std); %s; %d train / %d val / %d test windows",
             r->n_seeds, r->data, r->n_train, r->n_val, r->n_test);
    mtl_status s = MTL_OK;
    if (summary) {
        *summary = NULL;
        const char *hdr[] = {"task", "accuracy (%)", "macro-F1 (%)"};
        char title[96];
        snprintf(title, sizeof title, "%s: test results", r->model);
        s = mtl_table_create(summary, title, 3, hdr);
        for (int k = 0; k < r->n_tasks && !s; k++) {
            char a[48], f[48];
            cell_pct(r, 0, -1, ACC, k, a, sizeof a);
            cell_pct(r, 0, -1, F1, k, f, sizeof f);
            const char *row[] = {r->task_names[k], a, f};
            s = mtl_table_add_row(*summary, row);
        }
        if (!s && r->n_tasks > 1) {
            char a[48];
            cell_pct(r, 0, -1, JOINT, 0, a, sizeof a);
            const char *row[] = {"joint (all tasks right)", a, ""};
            s = mtl_table_add_row(*summary, row);
        }
        if (!s) s = mtl_table_set_note(*summary, note);
    }
    if (!s && sweep) {
        *sweep = NULL;
        if (r->n_sweep > 1) {
            s = table_by_rows(r, "sample-size sweep: test accuracy vs training windows per class", "train per class",
                              r->n_sweep, sweep_label, ROWS_SWEEP, sweep);
            if (!s) s = mtl_table_set_note(*sweep, note);
        }
    }
    if (!s && noise) {
        *noise = NULL;
        if (r->n_snr > 0) {
            s = table_by_rows(r, "noise robustness: test accuracy vs SNR (white Gaussian noise on test windows only)",
                              "SNR (dB)", r->n_snr + 1, snr_label, ROWS_SNR, noise);
            if (!s) s = mtl_table_set_note(*noise, note);
        }
    }
    if (!s && cross) {
        *cross = NULL;
        if (r->n_cross > 0) {
            s = table_by_rows(r, "cross-load: test accuracy, trained at one load (hp), tested at another", "load (hp)",
                              r->n_cross + 1, cross_label, ROWS_CROSS, cross);
            if (!s) s = mtl_table_set_note(*cross, note);
        }
    }
    return s;
}

static mtl_status compare_check(const mtl_experiment_result *res, int n) {
    if (!res || n < 1) return mtl_error(MTL_ERR_ARG, "compare_table: no results (n = %d)", n);
    for (int i = 0; i < n; i++) {
        const mtl_experiment_result *a = &res[i];
        if (!a->runs || a->n_seeds < 1) return mtl_error(MTL_ERR_ARG, "compare_table: result %d has no runs", i);
        if (a->tabular != res[0].tabular || a->n_tasks != res[0].n_tasks)
            return mtl_error(MTL_ERR_ARG, "compare_table: %s and %s were not run on the same data (%s tasks)",
                             res[0].model, a->model, a->tabular != res[0].tabular ? "table vs signal" : "different");
        for (int k = 0; k < a->n_tasks; k++)
            if (strcmp(a->task_names[k], res[0].task_names[k]))
                return mtl_error(MTL_ERR_ARG, "compare_table: task %d is %s for %s but %s for %s", k,
                                 res[0].task_names[k], res[0].model, a->task_names[k], a->model);
    }
    return MTL_OK;
}

mtl_status mtl_experiment_compare_table(const mtl_experiment_result *res, int n, mtl_table **out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "compare_table: out is NULL");
    *out = NULL;
    mtl_status s = compare_check(res, n);
    if (s) return s;
    const mtl_experiment_result *r0 = &res[0];
    int K = r0->n_tasks, cols = 0;
    const char *hdr[2 * MTL_MAX_TASKS + 5];
    char h[2 * MTL_MAX_TASKS][64];
    hdr[cols++] = "model";
    hdr[cols++] = "parameters";
    for (int k = 0; k < K; k++) {
        if (r0->tabular) {
            snprintf(h[2 * k], sizeof h[0], "%s AUC", r0->task_names[k]);
            snprintf(h[2 * k + 1], sizeof h[0], "%s best", r0->task_names[k]);
            hdr[cols++] = h[2 * k], hdr[cols++] = h[2 * k + 1];
        } else {
            snprintf(h[k], sizeof h[0], "%s acc (%%)", r0->task_names[k]);
            hdr[cols++] = h[k];
        }
    }
    if (r0->tabular) hdr[cols++] = "epochs run", hdr[cols++] = "s/epoch";
    else {
        if (K > 1) hdr[cols++] = "joint acc (%)";
        hdr[cols++] = "train s/seed";
    }
    s = mtl_table_create(out, r0->tabular ? "model comparison: test AUC" : "model comparison: test accuracy", cols,
                         hdr);
    for (int i = 0; i < n && !s; i++) {
        const mtl_experiment_result *r = &res[i];
        char cells[2 * MTL_MAX_TASKS + 5][48];
        const char *cp[2 * MTL_MAX_TASKS + 5];
        int c = 0;
        double secs = 0, epochs = 0;
        for (int j = 0; j < r->n_runs; j++) secs += r->runs[j].train_seconds, epochs += r->runs[j].epochs;
        snprintf(cells[c], 48, "%s", r->model), cp[c] = cells[c], c++;
        snprintf(cells[c], 48, "%d", r->n_params), cp[c] = cells[c], c++;
        for (int k = 0; k < K; k++) {
            if (r0->tabular) {
                cell_frac(r, AUC, k, cells[c], cells[c + 1], 48);
                cp[c] = cells[c], cp[c + 1] = cells[c + 1], c += 2;
            } else {
                cell_pct(r, 0, -1, ACC, k, cells[c], 48), cp[c] = cells[c], c++;
            }
        }
        if (r0->tabular) {
            snprintf(cells[c], 48, "%.1f", epochs / r->n_runs), cp[c] = cells[c], c++;
            snprintf(cells[c], 48, "%.2f", epochs > 0 ? secs / epochs : 0.0), cp[c] = cells[c], c++;
        } else {
            if (K > 1) cell_pct(r, 0, -1, JOINT, 0, cells[c], 48), cp[c] = cells[c], c++;
            snprintf(cells[c], 48, "%.1f", secs / r->n_runs), cp[c] = cells[c], c++;
        }
        s = mtl_table_add_row(*out, cp);
    }
    char note[1024];
    if (r0->tabular) tab_note(r0, note, sizeof note);
    else snprintf(note, sizeof note, "mean \xC2\xB1 std over %d seed(s); %s", r0->n_seeds, r0->data);
    if (!s) s = mtl_table_set_note(*out, note);
    if (s) {
        mtl_table_free(*out);
        *out = NULL;
    }
    return s;
}

/* ---- summary.json ------------------------------------------------------------------ */
static void json_task_block(FILE *f, const mtl_experiment_result *r, int sw, int j) {
    double x[100];
    fprintf(f, "{");
    for (int k = 0; k < r->n_tasks; k++) {
        fprintf(f, "%s\n      ", k ? "," : "");
        json_str(f, r->task_names[k]);
        fprintf(f, ": {\"accuracy\": ");
        gather(r, sw, j, ACC, k, x);
        json_stats(f, x, r->n_seeds);
        fprintf(f, ", \"macro_f1\": ");
        gather(r, sw, j, F1, k, x);
        json_stats(f, x, r->n_seeds);
        if (j < 0 && sw == 0) {
            /* confusion matrix summed over seeds */
            fprintf(f, ", ");
            json_confusion(f, r, k);
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n    }, \"joint_accuracy\": ");
    gather(r, sw, j, JOINT, 0, x);
    json_stats(f, x, r->n_seeds);
}

/* ---- expert usage: the mean gate / attention weights of the first run ------------------ */
typedef struct {
    int n_stages;
    int width[MTL_MAX_STAGES];                    /* experts (columns) per stage */
    char name[MTL_MAX_STAGES][48];                /* "gate", "level 1 gate", ... */
    bool experts[MTL_MAX_STAGES];                 /* the columns are experts (co-attention: the other tasks) */
    float *mean[MTL_MAX_TASKS][MTL_MAX_STAGES];   /* [width] or NULL */
} expert_usage;

/* what stage s of a tabular model's taps is (src/models/moe.c, amtl.c); false when its columns
 * are not experts (Co-AMTL's co-attention: raw scores, one per other task in task order) */
static bool stage_name(const char *kind, int s, char *buf, size_t size) {
    if (!strcmp(kind, "mmoe") || !strcmp(kind, "cgc")) snprintf(buf, size, "gate");
    else if (!strcmp(kind, "omoe")) snprintf(buf, size, "shared gate");
    else if (!strcmp(kind, "ple")) snprintf(buf, size, "level %d gate", s + 1);
    else if ((!strcmp(kind, "amtl") || !strcmp(kind, "coamtl")) && s == 0) snprintf(buf, size, "expert attention");
    else if (!strcmp(kind, "coamtl") && s == 1) {
        snprintf(buf, size, "co-attention (other tasks)");
        return false;
    } else {
        snprintf(buf, size, "stage %d", s + 1);
    }
    return true;
}

static void usage_free(expert_usage *u) {
    for (int k = 0; k < MTL_MAX_TASKS; k++)
        for (int st = 0; st < MTL_MAX_STAGES; st++) free(u->mean[k][st]);
    memset(u, 0, sizeof *u);
}

/* means over the rows of p's taps (none: n_stages 0) */
static mtl_status usage_compute(const mtl_predictions *p, const char *kind, expert_usage *u) {
    memset(u, 0, sizeof *u);
    if (!p || p->n < 1 || p->n_stages < 1) return MTL_OK;
    u->n_stages = p->n_stages < MTL_MAX_STAGES ? p->n_stages : MTL_MAX_STAGES;
    for (int st = 0; st < u->n_stages; st++) {
        u->width[st] = p->stage_channels[st];
        u->experts[st] = stage_name(kind, st, u->name[st], sizeof u->name[st]);
        for (int k = 0; k < p->n_tasks && k < MTL_MAX_TASKS; k++) {
            const float *a = p->attention[k][st];
            int C = p->stage_channels[st];
            if (!a || C < 1) continue;
            double *sum = calloc((size_t)C, sizeof *sum);
            if (!sum || !(u->mean[k][st] = malloc((size_t)C * sizeof(float)))) {
                free(sum);
                usage_free(u);
                return mtl_error(MTL_ERR_NOMEM, "expert usage: out of memory");
            }
            for (int i = 0; i < p->n; i++)
                for (int e = 0; e < C; e++) sum[e] += a[(size_t)i * C + e];
            for (int e = 0; e < C; e++) u->mean[k][st][e] = (float)(sum[e] / p->n);
            free(sum);
        }
    }
    return MTL_OK;
}

static void json_usage(FILE *f, const mtl_experiment_result *r, const expert_usage *u) {
    fprintf(f, ",\n  \"expert_usage\": {\"over\": \"the test rows, first seed\", \"stages\": [");
    for (int st = 0; st < u->n_stages; st++) {
        fprintf(f, "%s\n    {\"name\": ", st ? "," : "");
        json_str(f, u->name[st]);
        fprintf(f, ", \"columns\": \"%s\", \"experts\": %d, \"mean_weight\": {",
                u->experts[st] ? "experts" : "other tasks in task order", u->width[st]);
        bool first = true;
        for (int k = 0; k < r->n_tasks; k++) {
            if (!u->mean[k][st]) continue;
            fputs(first ? "" : ", ", f);
            first = false;
            json_str(f, r->task_names[k]);
            fputs(": [", f);
            for (int e = 0; e < u->width[st]; e++) fprintf(f, "%s%.6f", e ? ", " : "", (double)u->mean[k][st][e]);
            fputs("]", f);
        }
        fputs("}}", f);
    }
    fputs("\n  ]}", f);
}

/* ---- summary.json of tabular runs ------------------------------------------------------- */
static void json_tab_sizes(FILE *f, const char *model, const mtl_tab_model_config *t) {
    fprintf(f, "{\"n_ids\": %d, \"n_cont\": %d, \"hash_buckets\": %d, \"emb_dim\": %d", t->n_ids, t->n_cont,
            t->hash_buckets, t->emb_dim);
    bool moe = !strcmp(model, "omoe") || !strcmp(model, "mmoe");
    bool attn = !strcmp(model, "amtl") || !strcmp(model, "coamtl");
    bool cgc = !strcmp(model, "cgc") || !strcmp(model, "ple");
    fprintf(f, ", \"units\": %d", t->units);
    if (moe || attn) fprintf(f, ", \"experts\": %d", t->experts);
    if (cgc) fprintf(f, ", \"shared_experts\": %d, \"task_experts\": %d", t->shared_experts, t->task_experts);
    if (!strcmp(model, "ple")) fprintf(f, ", \"levels\": %d", t->levels);
    if (attn) fprintf(f, ", \"scaled_attention\": %s", t->scaled_attention ? "true" : "false");
    fputs(", \"tower\": [", f);
    for (int j = 0; j < t->n_tower && j < MTL_MAX_TOWER; j++) fprintf(f, "%s%d", j ? ", " : "", t->tower[j]);
    fputs("]}", f);
}

static void json_tab_tasks(FILE *f, const mtl_experiment_result *r) {
    double x[100];
    fprintf(f, "{");
    for (int k = 0; k < r->n_tasks; k++) {
        fprintf(f, "%s\n    ", k ? "," : "");
        json_str(f, r->task_names[k]);
        static const struct {
            const char *key;
            int what;
        } metrics[] = {{"auc", AUC}, {"log_loss", LOSS}, {"accuracy", ACC}, {"macro_f1", F1}};
        for (int q = 0; q < 4; q++) {
            fprintf(f, "%s\"%s\": ", q ? ",\n      " : ": {\n      ", metrics[q].key);
            gather(r, 0, -1, metrics[q].what, k, x);
            json_stats_best(f, x, r->n_seeds, metrics[q].what == LOSS);
        }
        fprintf(f, ",\n      ");
        json_confusion(f, r, k);
        fprintf(f, "}");
    }
    fprintf(f, "\n  }, \"joint_accuracy\": ");
    gather(r, 0, -1, JOINT, 0, x);
    json_stats_best(f, x, r->n_seeds, false);
}

static void print_tab_json(const mtl_experiment_result *r, const mtl_data_spec *d, const mtl_experiment_config *c,
                           const expert_usage *u, FILE *f) {
    fprintf(f, "{\n  \"model\": ");
    json_str(f, r->model);
    fprintf(f, ",\n  \"parameters\": %d,\n  \"data\": ", r->n_params);
    json_str(f, r->data);
    fprintf(f, ",\n  \"inputs\": ");
    json_str(f, r->inputs);
    if (d->census_group == 2) { /* the paper does not define "at least college": say which values counted */
        fprintf(f, ",\n  \"education_set\": ");
        json_str(f, mtl_census_education_values(d->education_set));
    }
    fprintf(f, ",\n  \"model_sizes\": ");
    json_tab_sizes(f, r->model, &r->tab);
    fprintf(f, ",\n  \"protocol\": {\"split\": \"test file split 1:1 into validation and test\", \"split_seed\": %llu, "
               "\"rows\": {\"train\": %d, \"val\": %d, \"test\": %d}, \"epochs\": %d, \"patience\": %d, "
               "\"batch_size\": %d, \"lr\": %g, \"weighting\": \"%s\", \"rep_grad\": %s, \"model_kept\": \"%s\"},\n",
            (unsigned long long)d->split_seed, r->n_train, r->n_val, r->n_test, c->train.epochs, c->train.patience,
            c->train.batch_size, (double)c->train.opt.lr, c->train.weighting ? c->train.weighting : "ew", c->train.rep_grad ? "true" : "false",
            c->train.best_on_val ? "best_on_validation" : "last_epoch");
    fprintf(f, "  \"selection\": ");
    if (r->select_task >= 0 && r->select_task < r->n_tasks) {
        fprintf(f, "{\"metric\": \"auc\", \"task\": ");
        json_str(f, r->task_names[r->select_task]);
        fprintf(f, "}");
    } else {
        fprintf(f, "\"last\"");
    }
    fprintf(f, ",\n  \"seeds\": [");
    for (int i = 0; i < r->n_seeds; i++) fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)r->runs[i].seed);
    /* epochs counted from 1 as in log.csv; the kept epoch is the last one when none was selected */
    fprintf(f, "],\n  \"epochs_run\": [");
    for (int i = 0; i < r->n_seeds; i++) fprintf(f, "%s%d", i ? ", " : "", r->runs[i].epochs);
    fprintf(f, "],\n  \"best_epoch\": [");
    for (int i = 0; i < r->n_seeds; i++)
        fprintf(f, "%s%d", i ? ", " : "", r->runs[i].best_epoch >= 0 ? r->runs[i].best_epoch + 1 : r->runs[i].epochs);
    fprintf(f, "],\n  \"command\": ");
    json_str(f, c->command_line ? c->command_line : "");
    double secs = 0, epochs = 0;
    for (int i = 0; i < r->n_runs; i++) secs += r->runs[i].train_seconds, epochs += r->runs[i].epochs;
    fprintf(f, ",\n  \"train_seconds_mean\": %.3f,\n  \"seconds_per_epoch\": %.3f,\n  \"tasks\": ",
            secs / r->n_runs, epochs > 0 ? secs / epochs : 0.0);
    json_tab_tasks(f, r);
    if (u && u->n_stages > 0) json_usage(f, r, u);
    fprintf(f, "\n}\n");
}

static mtl_status print_json(const mtl_experiment_result *r, const mtl_data_spec *d, const mtl_experiment_config *c,
                             const expert_usage *u, FILE *f) {
    if (!r || !d || !c || !f || !r->runs) return mtl_error(MTL_ERR_ARG, "print_json: null argument");
    if (r->tabular) {
        print_tab_json(r, d, c, u, f);
        return ferror(f) ? mtl_error(MTL_ERR_IO, "summary JSON: write failed") : MTL_OK;
    }
    fprintf(f, "{\n  \"model\": ");
    json_str(f, r->model);
    fprintf(f, ",\n  \"parameters\": %d,\n  \"data\": ", r->n_params);
    json_str(f, r->data);
    fprintf(f, ",\n  \"protocol\": {\"split\": \"%s\", \"train_per_class\": %d, \"val_per_class\": %d, "
               "\"test_per_class\": %d, \"window\": %d, \"stride\": %d, \"test_load\": %d, \"windows\": "
               "{\"train\": %d, \"val\": %d, \"test\": %d}, \"epochs\": %d, \"batch_size\": %d, \"lr\": %g, "
               "\"weighting\": \"%s\", \"rep_grad\": %s, \"model_kept\": \"%s\"},\n",
            d->win.split == MTL_SPLIT_MTAGN ? "mtagn" : d->win.split == MTL_SPLIT_RANDOM ? "random" : "time",
            r->train_per[0], d->win.val_per_record, d->win.test_per_record, d->win.length, d->win.stride,
            d->test_load, r->n_train, r->n_val, r->n_test, c->train.epochs, c->train.batch_size,
            (double)c->train.opt.lr, c->train.weighting ? c->train.weighting : "ew", c->train.rep_grad ? "true" : "false",
            c->train.best_on_val ? "best_on_validation" : "last_epoch");
    fprintf(f, "  \"seeds\": [");
    for (int i = 0; i < r->n_seeds; i++) fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)r->runs[i].seed);
    fprintf(f, "],\n  \"command\": ");
    json_str(f, c->command_line ? c->command_line : "");
    double secs = 0;
    for (int i = 0; i < r->n_runs; i++) secs += r->runs[i].train_seconds;
    fprintf(f, ",\n  \"train_seconds_mean\": %.3f,\n  \"tasks\": ", secs / r->n_runs);
    json_task_block(f, r, 0, -1);
    if (r->n_sweep > 1) {
        fprintf(f, ",\n  \"sweep\": [");
        for (int sw = 0; sw < r->n_sweep; sw++) {
            fprintf(f, "%s\n    {\"train_per_class\": %d, \"tasks\": ", sw ? "," : "", r->train_per[sw]);
            json_task_block(f, r, sw, -1);
            fprintf(f, "}");
        }
        fprintf(f, "\n  ]");
    }
    if (r->n_snr > 0) {
        fprintf(f, ",\n  \"noise\": [");
        for (int j = 0; j < r->n_snr; j++) {
            fprintf(f, "%s\n    {\"snr_db\": %g, \"tasks\": ", j ? "," : "", r->snr[j]);
            json_task_block(f, r, 0, j);
            fprintf(f, "}");
        }
        fprintf(f, "\n  ]");
    }
    if (r->n_cross > 0) {
        fprintf(f, ",\n  \"cross_load\": [");
        for (int j = 0; j < r->n_cross; j++) {
            fprintf(f, "%s\n    {\"train_load\": %d, \"test_load\": %d, \"tasks\": ", j ? "," : "", r->load,
                    r->cross_loads[j]);
            json_task_block(f, r, 0, CROSS + j);
            fprintf(f, "}");
        }
        fprintf(f, "\n  ]");
    }
    fprintf(f, "\n}\n");
    return ferror(f) ? mtl_error(MTL_ERR_IO, "summary JSON: write failed") : MTL_OK;
}

mtl_status mtl_experiment_print_json(const mtl_experiment_result *r, const mtl_data_spec *d,
                                     const mtl_experiment_config *c, FILE *f) {
    return print_json(r, d, c, NULL, f);
}

static mtl_status write_json(const mtl_experiment_result *r, const mtl_data_spec *d, const mtl_experiment_config *c,
                             const expert_usage *u, const char *path) {
    if (!r || !d || !c || !path) return mtl_error(MTL_ERR_ARG, "write_json: null argument");
    mtl_afile a;
    mtl_status s = mtl_afile_open(&a, path);
    if (s) return s;
    if ((s = print_json(r, d, c, u, a.f))) {
        mtl_afile_abort(&a);
        return s;
    }
    return mtl_afile_commit(&a);
}

mtl_status mtl_experiment_write_json(const mtl_experiment_result *r, const mtl_data_spec *d,
                                     const mtl_experiment_config *c, const char *path) {
    return write_json(r, d, c, NULL, path);
}

/* ---- log.csv -------------------------------------------------------------------------- */
static mtl_status write_log(const mtl_experiment_result *r, const char *path) {
    mtl_afile a;
    mtl_status s = mtl_afile_open(&a, path);
    if (s) return s;
    FILE *f = a.f;
    fprintf(f, "train_per_class,seed,epoch");
    for (int k = 0; k < r->n_tasks; k++) {
        const char *t = r->task_names[k];
        fprintf(f, ",%s_train_loss,%s_train_acc,%s_val_loss,%s_val_acc,%s_weight", t, t, t, t, t);
    }
    fprintf(f, ",seconds");
    /* tabular: appended, so that readers of the signal columns see the same layout */
    for (int k = 0; k < r->n_tasks && r->tabular; k++) fprintf(f, ",%s_val_auc", r->task_names[k]);
    fprintf(f, "\n");
    for (int i = 0; i < r->n_runs; i++) {
        const mtl_run_result *rr = &r->runs[i];
        for (int e = 0; e < rr->epochs; e++) {
            const mtl_epoch_stats *st = &rr->log[e];
            fprintf(f, "%d,%llu,%d", rr->train_per, (unsigned long long)rr->seed, e + 1);
            for (int k = 0; k < r->n_tasks; k++)
                fprintf(f, ",%.6f,%.6f,%.6f,%.6f,%.6f", st->train_loss[k], st->train_acc[k], st->eval_loss[k],
                        st->eval_acc[k], (double)st->weights[k]);
            fprintf(f, ",%.4f", st->seconds);
            for (int k = 0; k < r->n_tasks && r->tabular; k++) {
                if (isfinite(st->eval_auc[k])) fprintf(f, ",%.6f", st->eval_auc[k]);
                else fputc(',', f); /* no validation set or a class absent: empty */
            }
            fputc('\n', f);
        }
    }
    return mtl_afile_commit(&a);
}

/* ---- checkpoints ----------------------------------------------------------------------- */
static const char *norm_str(mtl_norm n) {
    return n == MTL_NORM_ZSCORE ? "zscore" : n == MTL_NORM_MINMAX ? "minmax" : n == MTL_NORM_PM1 ? "pm1" : "none";
}

/* Metadata values may not hold quotes, backslashes or control characters (the safetensors
 * header writer refuses them): those bytes and '%' are percent-encoded (%22, %5C, %0A, %25;
 * Python: urllib.parse.unquote). Returns NULL when out of memory. */
static char *pct_encode(const char *s) {
    size_t n = 1;
    for (const char *p = s; *p; p++) n += strchr("\"\\%", *p) || (unsigned char)*p < 0x20 ? 3 : 1;
    char *out = malloc(n), *o = out;
    for (const char *p = s; out && *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (strchr("\"\\%", ch) || ch < 0x20) o += sprintf(o, "%%%02X", ch);
        else *o++ = (char)ch;
    }
    if (out) *o = '\0';
    return out;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* the inverse; a '%' without two hex digits stays as it is */
static char *pct_decode(const char *s) {
    char *out = malloc(strlen(s) + 1), *o = out;
    for (const char *p = s; out && *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hex_digit(p[1])) >= 0 && (lo = hex_digit(p[2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    if (out) *o = '\0';
    return out;
}

/* the tabular model's sizes as "key=value;..." (lists comma-separated), every field */
static char *tab_meta(const mtl_tab_model_config *t) {
    int n = t->n_ids < 0 ? 0 : t->n_ids > MTL_MAX_FIELDS ? MTL_MAX_FIELDS : t->n_ids;
    size_t cap = 512 + 12 * (size_t)n, len = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    len += (size_t)snprintf(b, cap, "n_ids=%d;n_cont=%d;hash_buckets=%d;emb_dim=%d;units=%d;experts=%d;"
                            "shared_experts=%d;task_experts=%d;levels=%d;n_tower=%d;scaled_attention=%d;tower=",
                            t->n_ids, t->n_cont, t->hash_buckets, t->emb_dim, t->units, t->experts, t->shared_experts,
                            t->task_experts, t->levels, t->n_tower, t->scaled_attention ? 1 : 0);
    for (int j = 0; j < t->n_tower && j < MTL_MAX_TOWER; j++)
        len += (size_t)snprintf(b + len, cap - len, "%s%d", j ? "," : "", t->tower[j]);
    len += (size_t)snprintf(b + len, cap - len, ";vocab=");
    for (int i = 0; i < n; i++) len += (size_t)snprintf(b + len, cap - len, "%s%d", i ? "," : "", t->vocab[i]);
    return b;
}

/* parses a comma-separated list of at most max integers; returns the count or -1 */
static int int_list(const char *s, size_t len, int *out, int max) {
    int n = 0;
    const char *p = s, *end = s + len;
    while (p < end) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || e > end || n == max || v < -1000000000L || v > 1000000000L) return -1;
        out[n++] = (int)v;
        p = e;
        if (p < end && *p++ != ',') return -1;
    }
    return n;
}

static mtl_status tab_parse(const char *text, const char *path, mtl_tab_model_config *t) {
    memset(t, 0, sizeof *t);
    static const char *const keys[] = {"n_ids", "n_cont", "hash_buckets", "emb_dim", "units", "experts",
                                       "shared_experts", "task_experts", "levels", "n_tower", "scaled_attention"};
    int *fields[] = {&t->n_ids, &t->n_cont, &t->hash_buckets, &t->emb_dim, &t->units, &t->experts,
                     &t->shared_experts, &t->task_experts, &t->levels, &t->n_tower, NULL};
    int seen = 0, n_vocab = -1, n_tower = -1, scaled = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, ';'), *eq = strchr(p, '=');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!eq || eq > p + len)
            return mtl_error(MTL_ERR_FORMAT, "%s: metadata mtl.tab: '%.*s' is not key=value", path, (int)len, p);
        size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
        const char *v = eq + 1;
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            if (strlen(keys[i]) != klen || strncmp(p, keys[i], klen)) continue;
            int x;
            if (int_list(v, vlen, &x, 1) != 1)
                return mtl_error(MTL_ERR_FORMAT, "%s: metadata mtl.tab: %s is not an integer", path, keys[i]);
            *(fields[i] ? fields[i] : &scaled) = x;
            seen |= 1 << i;
        }
        if (klen == 5 && !strncmp(p, "vocab", 5)) n_vocab = int_list(v, vlen, t->vocab, MTL_MAX_FIELDS);
        if (klen == 5 && !strncmp(p, "tower", 5)) n_tower = int_list(v, vlen, t->tower, MTL_MAX_TOWER);
        p = end ? end + 1 : NULL; /* unknown keys (from later versions) are skipped */
    }
    t->scaled_attention = scaled != 0;
    if (!(seen & 1) || !(seen & 2) || n_vocab < 0 || n_tower < 0)
        return mtl_error(MTL_ERR_FORMAT, "%s: metadata mtl.tab lacks n_ids, n_cont, vocab or tower (or a list is "
                         "malformed)", path);
    if (t->n_ids < 0 || t->n_ids > MTL_MAX_FIELDS || n_vocab != t->n_ids || t->n_cont < 0 ||
        (t->n_tower > 0 && n_tower != t->n_tower))
        return mtl_error(MTL_ERR_FORMAT, "%s: metadata mtl.tab: %d ids with %d vocabulary sizes, %d tower layers "
                         "with %d widths", path, t->n_ids, n_vocab, t->n_tower, n_tower);
    return MTL_OK;
}

void mtl_checkpoint_info_free(mtl_checkpoint_info *info) {
    if (!info) return;
    free(info->encoder);
    info->encoder = NULL;
}

mtl_status mtl_checkpoint_save(const mtl_model *m, const mtl_checkpoint_info *info, const char *path) {
    if (!m || !info || !path) return mtl_error(MTL_ERR_ARG, "checkpoint_save: null argument");
    char num[8][32], tasks[MTL_MAX_TASKS * (MTL_TASK_NAME_MAX + 1) + 1] = "", classes[64] = "",
                     names[MTL_MAX_TASKS * MTL_MAX_NAMED_CLASSES * (MTL_CLASS_NAME_MAX + 1) + 16] = "";
    for (int k = 0; k < info->n_tasks; k++) {
        if (k) strcat(tasks, ","), strcat(classes, ","), strcat(names, ";");
        strcat(tasks, info->task_names[k]);
        snprintf(classes + strlen(classes), sizeof classes - strlen(classes), "%d", info->n_classes[k]);
        for (int j = 0; j < info->n_classes[k] && j < MTL_MAX_NAMED_CLASSES; j++) {
            if (j) strcat(names, ",");
            strcat(names, info->class_names[k][j]);
        }
    }
    snprintf(num[0], 32, "%u", info->options);
    snprintf(num[1], 32, "%d", info->channels);
    snprintf(num[2], 32, "%d", info->length);
    snprintf(num[3], 32, "%d", info->window);
    snprintf(num[4], 32, "%d", info->stride);
    snprintf(num[5], 32, "%.17g", info->fs);
    const char *meta[] = {"mtl.model", info->model, "mtl.options", num[0], "mtl.tasks", tasks, "mtl.classes", classes,
                          "mtl.class_names", names, "mtl.channels", num[1], "mtl.length", num[2], "mtl.window", num[3],
                          "mtl.stride", num[4], "mtl.fs", num[5], "mtl.norm", norm_str(info->norm), "mtl.domain",
                          info->domain == MTL_DOMAIN_FFT ? "fft" : "time", NULL, NULL, NULL, NULL};
    int n_meta = (int)(sizeof meta / sizeof meta[0] / 2) - 2;
    /* tabular: the model's own (resolved) sizes, so that loading rebuilds the same shapes, and
     * the encoder that turns rows of a file into its input */
    char *tab = NULL, *enc = NULL;
    if (mtl_model_kind_is_tabular(m->kind)) {
        if (!(tab = tab_meta(&m->cfg.tab))) return mtl_error(MTL_ERR_NOMEM, "checkpoint_save: out of memory");
        meta[2 * n_meta] = "mtl.tab", meta[2 * n_meta + 1] = tab, n_meta++;
    }
    if (info->encoder) {
        if (!(enc = pct_encode(info->encoder))) {
            free(tab);
            return mtl_error(MTL_ERR_NOMEM, "checkpoint_save: out of memory for the encoder");
        }
        meta[2 * n_meta] = "mtl.encoder", meta[2 * n_meta + 1] = enc, n_meta++;
    }
    mtl_status s = mtl_params_save(m->params, path, n_meta, meta);
    free(tab);
    free(enc);
    return s;
}

/* splits s at sep into at most max parts of size `size` each; returns the count */
static int split_list(const char *s, char sep, char *parts, int max, size_t size) {
    int n = 0;
    while (s && n < max) {
        const char *e = strchr(s, sep);
        size_t len = e ? (size_t)(e - s) : strlen(s);
        snprintf(parts + n * size, size, "%.*s", (int)len, s);
        n++;
        s = e ? e + 1 : NULL;
    }
    return n;
}

mtl_status mtl_checkpoint_load(const char *path, mtl_model **out, mtl_checkpoint_info *info) {
    if (!path || !out || !info) return mtl_error(MTL_ERR_ARG, "checkpoint_load: null argument");
    *out = NULL;
    memset(info, 0, sizeof *info);
    mtl_st_file *f = NULL;
    mtl_status s = mtl_st_load(path, &f);
    if (s) return s;
    const char *keys[] = {"mtl.model", "mtl.tasks", "mtl.classes", "mtl.channels", "mtl.length"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!mtl_st_metadata(f, keys[i])) {
            mtl_st_free(f);
            return mtl_error(MTL_ERR_FORMAT, "%s: not an mtl checkpoint with metadata (no '%s'); was it written by "
                                             "mtl train?", path, keys[i]);
        }
    snprintf(info->model, sizeof info->model, "%s", mtl_st_metadata(f, "mtl.model"));
    const char *v;
    info->options = (v = mtl_st_metadata(f, "mtl.options")) ? (unsigned)strtoul(v, NULL, 10) : 0;
    info->n_tasks = split_list(mtl_st_metadata(f, "mtl.tasks"), ',', &info->task_names[0][0], MTL_MAX_TASKS,
                               MTL_TASK_NAME_MAX);
    char cl[MTL_MAX_TASKS][16], tn[MTL_MAX_TASKS][MTL_MAX_NAMED_CLASSES * (MTL_CLASS_NAME_MAX + 1)];
    int nc = split_list(mtl_st_metadata(f, "mtl.classes"), ',', &cl[0][0], MTL_MAX_TASKS, 16);
    int nn = (v = mtl_st_metadata(f, "mtl.class_names")) ? split_list(v, ';', &tn[0][0], MTL_MAX_TASKS, sizeof tn[0]) : 0;
    for (int k = 0; k < info->n_tasks && k < nc; k++) {
        info->n_classes[k] = atoi(cl[k]);
        if (k < nn) split_list(tn[k], ',', &info->class_names[k][0][0], MTL_MAX_NAMED_CLASSES, MTL_CLASS_NAME_MAX);
    }
    info->channels = atoi(mtl_st_metadata(f, "mtl.channels"));
    info->length = atoi(mtl_st_metadata(f, "mtl.length"));
    info->window = (v = mtl_st_metadata(f, "mtl.window")) ? atoi(v) : info->length;
    info->stride = (v = mtl_st_metadata(f, "mtl.stride")) ? atoi(v) : info->window;
    info->fs = (v = mtl_st_metadata(f, "mtl.fs")) ? strtod(v, NULL) : 0;
    if ((v = mtl_st_metadata(f, "mtl.norm"))) mtl_norm_parse(v, &info->norm);
    if ((v = mtl_st_metadata(f, "mtl.domain"))) mtl_domain_parse(v, &info->domain);
    /* tabular (absent in signal checkpoints and in those written before tables existed) */
    const char *tab = mtl_st_metadata(f, "mtl.tab");
    if (tab) s = tab_parse(tab, path, &info->tab);
    if (!s && tab && info->tab.n_ids + info->tab.n_cont != info->length)
        s = mtl_error(MTL_ERR_FORMAT, "%s: metadata mtl.length %d but mtl.tab has %d ids + %d continuous inputs", path,
                      info->length, info->tab.n_ids, info->tab.n_cont);
    if (!s && (v = mtl_st_metadata(f, "mtl.encoder")) && !(info->encoder = pct_decode(v)))
        s = mtl_error(MTL_ERR_NOMEM, "%s: out of memory for the encoder", path);
    mtl_st_free(f);
    if (!s && (info->n_tasks < 1 || nc != info->n_tasks))
        s = mtl_error(MTL_ERR_FORMAT, "%s: metadata lists %d tasks and %d class counts", path, info->n_tasks, nc);
    mtl_model_config mc = {.n_tasks = info->n_tasks, .in_channels = info->channels, .length = info->length,
                           .options = info->options};
    memcpy(mc.n_classes, info->n_classes, sizeof mc.n_classes);
    if (tab) mc.tab = info->tab, mc.in_channels = 1, mc.length = info->tab.n_ids + info->tab.n_cont;
    mtl_model *m = NULL;
    if (!s && (s = mtl_model_create(info->model, &mc, 0, &m))) s = mtl_error(s, "%s: %s", path, mtl_last_error());
    if (!s && (s = mtl_params_load(m->params, path))) mtl_model_free(m);
    if (s) {
        mtl_checkpoint_info_free(info);
        return s;
    }
    *out = m;
    return MTL_OK;
}

/* ---- the report ------------------------------------------------------------------------ */
#define ROC_POINTS 200

/* what the report draws beyond the tables: curves, confusion, attention, ROC (freed by report_free) */
typedef struct {
    double *curves;                                /* [K * 5 * 2 * E]: mean, std per series */
    mtl_series ser[MTL_MAX_TASKS * 5];
    char labels[MTL_MAX_TASKS * 5][64];
    mtl_series loss[MTL_MAX_TASKS * 2], acc[MTL_MAX_TASKS * 2], wts[MTL_MAX_TASKS];
    int64_t *conf[MTL_MAX_TASKS];
    float *att[MTL_MAX_TASKS][MTL_MAX_STAGES], *att_cls[MTL_MAX_TASKS][MTL_MAX_STAGES];
    float *roc[MTL_MAX_TASKS];                     /* [2 * ROC_POINTS]: fpr then tpr */
    const char *cn[MTL_MAX_TASKS][MTL_MAX_NAMED_CLASSES];
} report_parts;

static void report_free(report_parts *q) {
    free(q->curves);
    for (int k = 0; k < MTL_MAX_TASKS; k++) {
        free(q->conf[k]);
        free(q->roc[k]);
        for (int st = 0; st < MTL_MAX_STAGES; st++) free(q->att[k][st]), free(q->att_cls[k][st]);
    }
}

/* the runs of the first sweep point that reached epoch e (early stopping ends runs at different epochs) */
static int epochs_max(const mtl_experiment_result *r) {
    int E = 0;
    for (int i = 0; i < r->n_seeds; i++) E = r->runs[i].epochs > E ? r->runs[i].epochs : E;
    return E;
}

/* curves: per epoch, mean and std over the seeds (of the first sweep point) that reached it */
static mtl_status report_curves(const mtl_experiment_result *r, mtl_report *rep, report_parts *q) {
    int E = epochs_max(r), K = r->n_tasks;
    size_t per = (size_t)(E > 0 ? E : 1);
    if (!(q->curves = calloc((size_t)K * 5 * 2 * per, sizeof(double))))
        return mtl_error(MTL_ERR_NOMEM, "report: out of memory");
    int S = r->n_seeds;
    for (int k = 0; k < K; k++)
        for (int qi = 0; qi < 5; qi++) {
            double *mean = q->curves + ((size_t)(k * 5 + qi) * 2) * per, *sd = mean + per, x[100];
            for (int e = 0; e < E; e++) {
                int n = 0;
                for (int i = 0; i < S; i++) {
                    if (e >= r->runs[i].epochs) continue;
                    const mtl_epoch_stats *st = &r->runs[i].log[e];
                    x[n++] = qi == 0 ? st->train_loss[k] : qi == 1 ? st->eval_loss[k] : qi == 2 ? st->train_acc[k]
                           : qi == 3 ? st->eval_acc[k] : st->weights[k];
                }
                mtl_mean_std(x, n, &mean[e], &sd[e]);
            }
            static const char *what[] = {"train", "validation", "train", "validation", ""};
            snprintf(q->labels[k * 5 + qi], 64, "%s %s", r->task_names[k], what[qi]);
            q->ser[k * 5 + qi] = (mtl_series){q->labels[k * 5 + qi], mean, S > 1 ? sd : NULL};
        }
    for (int k = 0; k < K; k++) {
        q->loss[2 * k] = q->ser[k * 5], q->loss[2 * k + 1] = q->ser[k * 5 + 1];
        q->acc[2 * k] = q->ser[k * 5 + 2], q->acc[2 * k + 1] = q->ser[k * 5 + 3];
        q->wts[k] = q->ser[k * 5 + 4];
        q->wts[k].label = r->task_names[k];
    }
    rep->n_epochs = E;
    rep->loss = q->loss, rep->n_loss = 2 * K;
    rep->acc = q->acc, rep->n_acc = 2 * K;
    rep->weight = q->wts, rep->n_weight = K;
    return MTL_OK;
}

/* signals: per task and stage the mean attention of the first run, overall and per true class */
static mtl_status report_attention(const mtl_experiment_result *r, const mtl_dataset *test, const mtl_predictions *p,
                                   mtl_report *rep, report_parts *q) {
    rep->n_stages = p->n_stages < 4 ? p->n_stages : 4;
    for (int st = 0; st < rep->n_stages; st++) rep->stage_channels[st] = p->stage_channels[st];
    for (int k = 0; k < r->n_tasks; k++)
        for (int st = 0; st < rep->n_stages; st++) {
            int C = p->stage_channels[st], nc = r->n_classes[k];
            const float *a = p->attention[k][st];
            if (!a) continue;
            q->att[k][st] = calloc((size_t)C, sizeof(float));
            q->att_cls[k][st] = calloc((size_t)nc * C, sizeof(float));
            int *cnt = calloc((size_t)nc, sizeof(int));
            if (!q->att[k][st] || !q->att_cls[k][st] || !cnt) {
                free(cnt);
                return mtl_error(MTL_ERR_NOMEM, "report: out of memory");
            }
            for (int i = 0; i < p->n; i++) {
                int y = test->y[k][i];
                cnt[y]++;
                for (int ch = 0; ch < C; ch++) {
                    q->att[k][st][ch] += a[(size_t)i * C + ch] / p->n;
                    q->att_cls[k][st][(size_t)y * C + ch] += a[(size_t)i * C + ch];
                }
            }
            for (int y = 0; y < nc; y++)
                for (int ch = 0; ch < C; ch++) q->att_cls[k][st][(size_t)y * C + ch] /= cnt[y] ? cnt[y] : 1;
            free(cnt);
            rep->attention[k][st] = q->att[k][st];
            rep->attention_by_class[k][st] = q->att_cls[k][st];
        }
    return MTL_OK;
}

/* tabular: the expert-usage heat maps and the ROC curve of every two-class task (first run) */
static mtl_status report_tabular(const mtl_experiment_result *r, const mtl_dataset *test, const mtl_predictions *p,
                                 const expert_usage *u, mtl_report *rep, report_parts *q) {
    /* the stages over experts (co-attention stays in gates.csv and summary.json) */
    for (int st = 0; u && st < u->n_stages && rep->n_stages < 4; st++) {
        if (!u->experts[st]) continue;
        int j = rep->n_stages++;
        rep->stage_channels[j] = u->width[st];
        rep->stage_names[j] = u->name[st];
        for (int k = 0; k < r->n_tasks; k++) rep->attention[k][j] = u->mean[k][st];
    }
    if (rep->n_stages > 0) {
        rep->attention_title = "Expert usage: mean gate / attention weight per task";
        rep->attention_unit = "expert";
    }
    if (!p || !test || p->n != test->n) return MTL_OK;
    for (int k = 0; k < r->n_tasks && k < p->n_tasks; k++) {
        if (p->n_classes[k] != 2 || !p->logits[k]) continue;
        float *score = malloc((size_t)p->n * sizeof *score);
        q->roc[k] = malloc(2 * ROC_POINTS * sizeof(float));
        if (!score || !q->roc[k]) {
            free(score);
            return mtl_error(MTL_ERR_NOMEM, "report: out of memory for the ROC curve of %s", r->task_names[k]);
        }
        mtl_binary_scores(p, k, score);
        rep->roc_points[k] = mtl_roc(score, test->y[k], p->n, q->roc[k], q->roc[k] + ROC_POINTS, ROC_POINTS);
        rep->roc_fpr[k] = q->roc[k], rep->roc_tpr[k] = q->roc[k] + ROC_POINTS;
        rep->roc_auc[k] = mtl_auc(score, test->y[k], p->n);
        if (rep->roc_points[k] < 2) rep->roc_points[k] = 0; /* one class only: no curve */
        free(score);
    }
    return MTL_OK;
}

/* tabular: validation AUC per epoch (mean ± std over the seeds that reached it) as a table the
 * report draws as a chart; NULL when no epoch has one */
static mtl_status auc_by_epoch(const mtl_experiment_result *r, mtl_table **out) {
    *out = NULL;
    int E = epochs_max(r), K = r->n_tasks;
    bool any = false;
    for (int i = 0; i < r->n_seeds; i++)
        for (int e = 0; e < r->runs[i].epochs; e++)
            for (int k = 0; k < K; k++) any = any || isfinite(r->runs[i].log[e].eval_auc[k]);
    if (!any) return MTL_OK;
    const char *hdr[MTL_MAX_TASKS + 1];
    hdr[0] = "epoch";
    for (int k = 0; k < K; k++) hdr[k + 1] = r->task_names[k];
    mtl_status s = mtl_table_create(out, "validation AUC by epoch", K + 1, hdr);
    for (int e = 0; e < E && !s; e++) {
        char cells[MTL_MAX_TASKS + 1][48];
        const char *cp[MTL_MAX_TASKS + 1];
        snprintf(cells[0], 48, "%d", e + 1), cp[0] = cells[0];
        for (int k = 0; k < K; k++) {
            double x[100], m, sd;
            int n = 0;
            for (int i = 0; i < r->n_seeds; i++)
                if (e < r->runs[i].epochs && isfinite(r->runs[i].log[e].eval_auc[k]))
                    x[n++] = r->runs[i].log[e].eval_auc[k];
            mtl_mean_std(x, n, &m, &sd);
            if (n) fmt_frac(m, sd, cells[k + 1], 48);
            else cells[k + 1][0] = '\0';
            cp[k + 1] = cells[k + 1];
        }
        s = mtl_table_add_row(*out, cp);
    }
    char note[160];
    snprintf(note, sizeof note, "mean \xC2\xB1 sample std over the seeds that reached the epoch (%d seed(s); early "
             "stopping can end a run sooner)", r->n_seeds);
    if (!s) s = mtl_table_set_note(*out, note);
    if (s) {
        mtl_table_free(*out);
        *out = NULL;
    }
    return s;
}

static mtl_status write_report(const mtl_experiment_result *r, const mtl_experiment_config *c, const mtl_model *m,
                               const mtl_dataset *test, const mtl_predictions *p, const expert_usage *u,
                               mtl_table **tables, int n_tables, const char *path) {
    mtl_report rep;
    memset(&rep, 0, sizeof rep);
    report_parts *q = calloc(1, sizeof *q);
    if (!q) return mtl_error(MTL_ERR_NOMEM, "report: out of memory");
    char title[320];
    snprintf(title, sizeof title, "%s on %s: %d seed(s)", r->model, r->data, r->n_seeds);
    rep.title = title;
    rep.subtitle = c->command_line;
    rep.n_tasks = r->n_tasks;
    int K = r->n_tasks, S = r->n_seeds;
    for (int k = 0; k < K; k++) {
        rep.task_names[k] = r->task_names[k];
        rep.n_classes[k] = r->n_classes[k];
        for (int j = 0; j < r->n_classes[k] && j < MTL_MAX_NAMED_CLASSES; j++) q->cn[k][j] = r->class_names[k][j];
        rep.class_names[k] = r->n_classes[k] <= MTL_MAX_NAMED_CLASSES && r->class_names[k][0][0] ? q->cn[k] : NULL;
    }
    mtl_status s = report_curves(r, &rep, q);
    /* confusion summed over the seeds of the first sweep point */
    for (int k = 0; k < K && !s; k++) {
        int nc = r->n_classes[k];
        if (!(q->conf[k] = calloc((size_t)nc * nc, sizeof(int64_t)))) s = mtl_error(MTL_ERR_NOMEM, "report: out of memory");
        for (int i = 0; i < S && !s; i++)
            for (int j = 0; j < nc * nc; j++) q->conf[k][j] += r->runs[i].test.confusion[k][j];
        rep.confusion[k] = q->conf[k];
    }
    /* attention (or expert usage, ROC) and features of the first run */
    if (!s && r->tabular) s = report_tabular(r, test, p, u, &rep, q);
    else if (!s && p && p->n_stages > 0) s = report_attention(r, test, p, &rep, q);
    if (!s && p) {
        rep.n_points = p->n;
        for (int k = 0; k < K; k++)
            if (p->features[k]) {
                rep.feat_dim[k] = p->feat_dim[k];
                rep.features[k] = p->features[k];
                rep.feature_labels[k] = test->y[k];
            }
    }
    const char *charts[5] = {NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; i < n_tables && i < 5; i++) {
        const char *h = mtl_table_header(tables[i], 0);
        charts[i] = !strcmp(h, "SNR (dB)") ? "SNR (dB)" : !strcmp(h, "train per class") ? "training windows per class"
                  : !strcmp(h, "load (hp)") ? "train -> test load (hp)" : !strcmp(h, "epoch") ? "epoch" : NULL;
    }
    rep.n_tables = n_tables;
    rep.tables = (const mtl_table *const *)tables;
    rep.chart = charts;
    char footer[256];
    snprintf(footer, sizeof footer, "%s; %d parameters; %s", mtl_build_info(), r->n_params, m ? m->kind : "");
    rep.footer = footer;
    if (!s) s = mtl_report_write_html(&rep, path);
    report_free(q);
    free(q);
    return s;
}

static mtl_status out_path(const char *dir, const char *name, char *buf, size_t size) {
    if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size) return mtl_error(MTL_ERR_ARG, "%s: path too long", dir);
    return MTL_OK;
}

/* gates.csv: task,stage,expert,mean_weight */
static mtl_status write_gates(const mtl_experiment_result *r, const expert_usage *u, const char *path) {
    mtl_afile a;
    mtl_status s = mtl_afile_open(&a, path);
    if (s) return s;
    fprintf(a.f, "task,stage,expert,mean_weight\n");
    for (int k = 0; k < r->n_tasks; k++)
        for (int st = 0; st < u->n_stages; st++)
            for (int e = 0; u->mean[k][st] && e < u->width[st]; e++)
                fprintf(a.f, "%s,%s,%d,%.6f\n", r->task_names[k], u->name[st], e, (double)u->mean[k][st][e]);
    return mtl_afile_commit(&a);
}

static mtl_status save_first_model(const mtl_experiment_result *r, const mtl_data_spec *d, const mtl_model *m,
                                   const mtl_dataset *test, const mtl_tab_encoder *enc, const char *path) {
    mtl_checkpoint_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.model, sizeof info.model, "%s", m->kind);
    info.options = m->cfg.options;
    info.n_tasks = r->n_tasks;
    memcpy(info.task_names, r->task_names, sizeof info.task_names);
    memcpy(info.n_classes, r->n_classes, sizeof info.n_classes);
    memcpy(info.class_names, r->class_names, sizeof info.class_names);
    info.channels = m->cfg.in_channels, info.length = m->cfg.length;
    if (r->tabular) {
        /* rows, not windows: one "window" is one row of length inputs */
        info.window = info.stride = m->cfg.length;
        info.norm = MTL_NORM_NONE, info.domain = MTL_DOMAIN_TIME;
        info.tab = m->cfg.tab;
    } else {
        info.window = d->win.length, info.stride = d->win.length;
        info.norm = d->norm, info.domain = d->domain;
        info.fs = test ? test->fs : 0;
    }
    mtl_status s = enc ? mtl_tab_encoder_to_json(enc, &info.encoder) : MTL_OK;
    if (!s) s = mtl_checkpoint_save(m, &info, path);
    free(info.encoder);
    return s;
}

mtl_status mtl__experiment_outputs(const mtl_experiment_result *r, const mtl_data_spec *d,
                                   const mtl_experiment_config *c, const mtl_model *first_model,
                                   const mtl_dataset *first_test, const mtl_predictions *first_pred,
                                   const mtl_tab_encoder *enc) {
    const char *dir = c->out_dir;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return mtl_error(MTL_ERR_IO, "%s: cannot create the output directory: %s", dir, strerror(errno));
    char path[4096];
    expert_usage u;
    memset(&u, 0, sizeof u);
    mtl_status s = out_path(dir, "log.csv", path, sizeof path);
    if (!s) s = write_log(r, path);
    if (!s && first_model && !(s = out_path(dir, "model.safetensors", path, sizeof path)))
        s = save_first_model(r, d, first_model, first_test, r->tabular ? enc : NULL, path);
    if (!s && r->tabular && first_model) s = usage_compute(first_pred, first_model->kind, &u);
    if (!s && u.n_stages > 0 && !(s = out_path(dir, "gates.csv", path, sizeof path))) s = write_gates(r, &u, path);
    if (!s && !(s = out_path(dir, "summary.json", path, sizeof path))) s = write_json(r, d, c, &u, path);
    mtl_table *t[5] = {NULL, NULL, NULL, NULL, NULL};
    if (!s) s = mtl_experiment_tables(r, &t[0], &t[1], &t[2], &t[3]);
    static const char *csv[4] = {"results.csv", "sweep.csv", "noise.csv", "cross_load.csv"};
    int n = 0;
    mtl_table *list[5];
    for (int i = 0; i < 4 && !s; i++)
        if (t[i]) {
            list[n++] = t[i];
            if (!(s = out_path(dir, csv[i], path, sizeof path))) s = mtl_table_write_csv(t[i], path);
        }
    if (!s && c->report && r->tabular && !(s = auc_by_epoch(r, &t[4])) && t[4]) list[n++] = t[4];
    if (!s && c->report && !(s = out_path(dir, "report.html", path, sizeof path)))
        s = write_report(r, c, first_model, first_test, first_pred, &u, list, n, path);
    for (int i = 0; i < 5; i++) mtl_table_free(t[i]);
    usage_free(&u);
    return s;
}
