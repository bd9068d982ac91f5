/* What an experiment leaves in --out DIR: log.csv (one row per epoch and run),
 * model.safetensors (the first run's checkpoint with its metadata), summary.json,
 * tables as CSV, report.html. Every file is written atomically. */
#include <errno.h>
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

/* one metric of every seed of sweep point sw on test set j: the clean test windows (j < 0),
 * SNR j (0..15) or cross-load test load j - CROSS */
enum { ACC, F1, JOINT };
#define CROSS 16
static void gather(const mtl_experiment_result *r, int sw, int j, int what, int task, double *x) {
    for (int i = 0; i < r->n_seeds; i++) {
        const mtl_run_result *rr = &r->runs[sw * r->n_seeds + i];
        const mtl_metrics *m = j < 0 ? &rr->test : j < CROSS ? &rr->noisy[j] : &rr->cross[j - CROSS];
        x[i] = what == ACC ? m->accuracy[task] : what == F1 ? m->macro_f1[task] : m->joint_accuracy;
    }
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

mtl_status mtl_experiment_tables(const mtl_experiment_result *r, mtl_table **summary, mtl_table **sweep,
                                 mtl_table **noise, mtl_table **cross) {
    if (!r || !r->runs) return mtl_error(MTL_ERR_ARG, "experiment_tables: no result");
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
            int c = r->n_classes[k];
            fprintf(f, ", \"confusion_matrix\": [");
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
        fprintf(f, "}");
    }
    fprintf(f, "\n    }, \"joint_accuracy\": ");
    gather(r, sw, j, JOINT, 0, x);
    json_stats(f, x, r->n_seeds);
}

mtl_status mtl_experiment_print_json(const mtl_experiment_result *r, const mtl_data_spec *d,
                                     const mtl_experiment_config *c, FILE *f) {
    if (!r || !d || !c || !f || !r->runs) return mtl_error(MTL_ERR_ARG, "print_json: null argument");
    fprintf(f, "{\n  \"model\": ");
    json_str(f, r->model);
    fprintf(f, ",\n  \"parameters\": %d,\n  \"data\": ", r->n_params);
    json_str(f, r->data);
    fprintf(f, ",\n  \"protocol\": {\"split\": \"%s\", \"train_per_class\": %d, \"val_per_class\": %d, "
               "\"test_per_class\": %d, \"window\": %d, \"stride\": %d, \"test_load\": %d, \"windows\": "
               "{\"train\": %d, \"val\": %d, \"test\": %d}, \"epochs\": %d, \"batch_size\": %d, \"lr\": %g, "
               "\"weighting\": \"%s\", \"model_kept\": \"%s\"},\n",
            d->win.split == MTL_SPLIT_MTAGN ? "mtagn" : d->win.split == MTL_SPLIT_RANDOM ? "random" : "time",
            r->train_per[0], d->win.val_per_record, d->win.test_per_record, d->win.length, d->win.stride,
            d->test_load, r->n_train, r->n_val, r->n_test, c->train.epochs, c->train.batch_size,
            (double)c->train.opt.lr, c->train.weighting ? c->train.weighting : "ew",
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

mtl_status mtl_experiment_write_json(const mtl_experiment_result *r, const mtl_data_spec *d,
                                     const mtl_experiment_config *c, const char *path) {
    if (!r || !d || !c || !path) return mtl_error(MTL_ERR_ARG, "write_json: null argument");
    mtl_afile a;
    mtl_status s = mtl_afile_open(&a, path);
    if (s) return s;
    if ((s = mtl_experiment_print_json(r, d, c, a.f))) {
        mtl_afile_abort(&a);
        return s;
    }
    return mtl_afile_commit(&a);
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
    fprintf(f, ",seconds\n");
    for (int i = 0; i < r->n_runs; i++) {
        const mtl_run_result *rr = &r->runs[i];
        for (int e = 0; e < rr->epochs; e++) {
            const mtl_epoch_stats *st = &rr->log[e];
            fprintf(f, "%d,%llu,%d", rr->train_per, (unsigned long long)rr->seed, e + 1);
            for (int k = 0; k < r->n_tasks; k++)
                fprintf(f, ",%.6f,%.6f,%.6f,%.6f,%.6f", st->train_loss[k], st->train_acc[k], st->eval_loss[k],
                        st->eval_acc[k], (double)st->weights[k]);
            fprintf(f, ",%.4f\n", st->seconds);
        }
    }
    return mtl_afile_commit(&a);
}

/* ---- checkpoints ----------------------------------------------------------------------- */
static const char *norm_str(mtl_norm n) {
    return n == MTL_NORM_ZSCORE ? "zscore" : n == MTL_NORM_MINMAX ? "minmax" : n == MTL_NORM_PM1 ? "pm1" : "none";
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
                          info->domain == MTL_DOMAIN_FFT ? "fft" : "time"};
    return mtl_params_save(m->params, path, (int)(sizeof meta / sizeof meta[0] / 2), meta);
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
    mtl_st_free(f);
    if (info->n_tasks < 1 || nc != info->n_tasks)
        return mtl_error(MTL_ERR_FORMAT, "%s: metadata lists %d tasks and %d class counts", path, info->n_tasks, nc);
    mtl_model_config mc = {.n_tasks = info->n_tasks, .in_channels = info->channels, .length = info->length,
                           .options = info->options};
    memcpy(mc.n_classes, info->n_classes, sizeof mc.n_classes);
    mtl_model *m = NULL;
    if ((s = mtl_model_create(info->model, &mc, 0, &m))) return mtl_error(s, "%s: %s", path, mtl_last_error());
    if ((s = mtl_params_load(m->params, path))) {
        mtl_model_free(m);
        return s;
    }
    *out = m;
    return MTL_OK;
}

/* ---- the report ------------------------------------------------------------------------ */
static mtl_status write_report(const mtl_experiment_result *r, const mtl_experiment_config *c, const mtl_model *m,
                               const mtl_dataset *test, const mtl_predictions *p, mtl_table **tables, int n_tables,
                               const char *path) {
    mtl_report rep;
    memset(&rep, 0, sizeof rep);
    char title[320];
    snprintf(title, sizeof title, "%s on %s: %d seed(s)", r->model, r->data, r->n_seeds);
    rep.title = title;
    rep.subtitle = c->command_line;
    rep.n_tasks = r->n_tasks;
    const char *cn[MTL_MAX_TASKS][MTL_MAX_NAMED_CLASSES];
    for (int k = 0; k < r->n_tasks; k++) {
        rep.task_names[k] = r->task_names[k];
        rep.n_classes[k] = r->n_classes[k];
        for (int j = 0; j < r->n_classes[k] && j < MTL_MAX_NAMED_CLASSES; j++) cn[k][j] = r->class_names[k][j];
        rep.class_names[k] = r->n_classes[k] <= MTL_MAX_NAMED_CLASSES && r->class_names[k][0][0] ? cn[k] : NULL;
    }
    /* curves: mean and std over the seeds of the first sweep point */
    int E = r->runs[0].epochs, S = r->n_seeds, K = r->n_tasks;
    size_t per = (size_t)E;
    double *buf = calloc((size_t)K * 5 * 2 * per, sizeof(double));
    mtl_series ser[MTL_MAX_TASKS * 5];
    char labels[MTL_MAX_TASKS * 5][64];
    int64_t *conf[MTL_MAX_TASKS] = {0};
    float *att[MTL_MAX_TASKS][MTL_MAX_STAGES] = {{0}}, *att_cls[MTL_MAX_TASKS][MTL_MAX_STAGES] = {{0}};
    mtl_status s = buf ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "report: out of memory");
    for (int k = 0; k < K && !s; k++)
        for (int q = 0; q < 5; q++) {
            double *mean = buf + ((size_t)(k * 5 + q) * 2) * per, *sd = mean + per, x[100];
            for (int e = 0; e < E; e++) {
                for (int i = 0; i < S; i++) {
                    const mtl_epoch_stats *st = &r->runs[i].log[e];
                    x[i] = q == 0 ? st->train_loss[k] : q == 1 ? st->eval_loss[k] : q == 2 ? st->train_acc[k]
                         : q == 3 ? st->eval_acc[k] : st->weights[k];
                }
                mtl_mean_std(x, S, &mean[e], &sd[e]);
            }
            static const char *what[] = {"train", "validation", "train", "validation", ""};
            snprintf(labels[k * 5 + q], 64, "%s %s", r->task_names[k], what[q]);
            ser[k * 5 + q] = (mtl_series){labels[k * 5 + q], mean, S > 1 ? sd : NULL};
        }
    mtl_series loss[MTL_MAX_TASKS * 2], acc[MTL_MAX_TASKS * 2], wts[MTL_MAX_TASKS];
    for (int k = 0; k < K; k++) {
        loss[2 * k] = ser[k * 5], loss[2 * k + 1] = ser[k * 5 + 1];
        acc[2 * k] = ser[k * 5 + 2], acc[2 * k + 1] = ser[k * 5 + 3];
        wts[k] = ser[k * 5 + 4];
        wts[k].label = r->task_names[k];
    }
    rep.n_epochs = E;
    rep.loss = loss, rep.n_loss = 2 * K;
    rep.acc = acc, rep.n_acc = 2 * K;
    rep.weight = wts, rep.n_weight = K;
    /* confusion summed over the seeds of the first sweep point */
    for (int k = 0; k < K && !s; k++) {
        int nc = r->n_classes[k];
        if (!(conf[k] = calloc((size_t)nc * nc, sizeof(int64_t)))) s = mtl_error(MTL_ERR_NOMEM, "report: out of memory");
        for (int i = 0; i < S && !s; i++)
            for (int j = 0; j < nc * nc; j++) conf[k][j] += r->runs[i].test.confusion[k][j];
        rep.confusion[k] = conf[k];
    }
    /* attention and features of the first run */
    if (!s && p && p->n_stages > 0) {
        rep.n_stages = p->n_stages < 4 ? p->n_stages : 4;
        for (int st = 0; st < rep.n_stages; st++) rep.stage_channels[st] = p->stage_channels[st];
        for (int k = 0; k < K && !s; k++)
            for (int st = 0; st < rep.n_stages && !s; st++) {
                int C = p->stage_channels[st], nc = r->n_classes[k];
                const float *a = p->attention[k][st];
                if (!a) continue;
                att[k][st] = calloc((size_t)C, sizeof(float));
                att_cls[k][st] = calloc((size_t)nc * C, sizeof(float));
                int *cnt = calloc((size_t)nc, sizeof(int));
                if (!att[k][st] || !att_cls[k][st] || !cnt) {
                    free(cnt);
                    s = mtl_error(MTL_ERR_NOMEM, "report: out of memory");
                    break;
                }
                for (int i = 0; i < p->n; i++) {
                    int y = test->y[k][i];
                    cnt[y]++;
                    for (int ch = 0; ch < C; ch++) {
                        att[k][st][ch] += a[(size_t)i * C + ch] / p->n;
                        att_cls[k][st][(size_t)y * C + ch] += a[(size_t)i * C + ch];
                    }
                }
                for (int y = 0; y < nc; y++)
                    for (int ch = 0; ch < C; ch++) att_cls[k][st][(size_t)y * C + ch] /= cnt[y] ? cnt[y] : 1;
                free(cnt);
                rep.attention[k][st] = att[k][st];
                rep.attention_by_class[k][st] = att_cls[k][st];
            }
    }
    if (!s && p) {
        rep.n_points = p->n;
        for (int k = 0; k < K; k++)
            if (p->features[k]) {
                rep.feat_dim[k] = p->feat_dim[k];
                rep.features[k] = p->features[k];
                rep.feature_labels[k] = test->y[k];
            }
    }
    const char *charts[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < n_tables && i < 4; i++) {
        const char *h = mtl_table_header(tables[i], 0);
        charts[i] = !strcmp(h, "SNR (dB)") ? "SNR (dB)" : !strcmp(h, "train per class") ? "training windows per class"
                  : !strcmp(h, "load (hp)") ? "train -> test load (hp)" : NULL;
    }
    rep.n_tables = n_tables;
    rep.tables = (const mtl_table *const *)tables;
    rep.chart = charts;
    char footer[256];
    snprintf(footer, sizeof footer, "%s; %d parameters; %s", mtl_build_info(), r->n_params, m ? m->kind : "");
    rep.footer = footer;
    if (!s) s = mtl_report_write_html(&rep, path);
    free(buf);
    for (int k = 0; k < K; k++) {
        free(conf[k]);
        for (int st = 0; st < MTL_MAX_STAGES; st++) free(att[k][st]), free(att_cls[k][st]);
    }
    return s;
}

static mtl_status out_path(const char *dir, const char *name, char *buf, size_t size) {
    if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size) return mtl_error(MTL_ERR_ARG, "%s: path too long", dir);
    return MTL_OK;
}

mtl_status mtl__experiment_outputs(const mtl_experiment_result *r, const mtl_data_spec *d,
                                   const mtl_experiment_config *c, const mtl_model *first_model,
                                   const mtl_dataset *first_test, const mtl_predictions *first_pred) {
    const char *dir = c->out_dir;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return mtl_error(MTL_ERR_IO, "%s: cannot create the output directory: %s", dir, strerror(errno));
    char path[4096];
    mtl_status s = out_path(dir, "log.csv", path, sizeof path);
    if (!s) s = write_log(r, path);
    if (!s && first_model) {
        mtl_checkpoint_info info;
        memset(&info, 0, sizeof info);
        snprintf(info.model, sizeof info.model, "%s", first_model->kind);
        info.options = first_model->cfg.options;
        info.n_tasks = r->n_tasks;
        memcpy(info.task_names, r->task_names, sizeof info.task_names);
        memcpy(info.n_classes, r->n_classes, sizeof info.n_classes);
        memcpy(info.class_names, r->class_names, sizeof info.class_names);
        info.channels = first_model->cfg.in_channels, info.length = first_model->cfg.length;
        info.window = d->win.length, info.stride = d->win.length;
        info.norm = d->norm, info.domain = d->domain;
        info.fs = first_test ? first_test->fs : 0;
        if (!(s = out_path(dir, "model.safetensors", path, sizeof path))) s = mtl_checkpoint_save(first_model, &info, path);
    }
    if (!s && !(s = out_path(dir, "summary.json", path, sizeof path))) s = mtl_experiment_write_json(r, d, c, path);
    mtl_table *t[4] = {NULL, NULL, NULL, NULL};
    if (!s) s = mtl_experiment_tables(r, &t[0], &t[1], &t[2], &t[3]);
    static const char *csv[4] = {"results.csv", "sweep.csv", "noise.csv", "cross_load.csv"};
    int n = 0;
    mtl_table *list[4];
    for (int i = 0; i < 4 && !s; i++)
        if (t[i]) {
            list[n++] = t[i];
            if (!(s = out_path(dir, csv[i], path, sizeof path))) s = mtl_table_write_csv(t[i], path);
        }
    if (!s && c->report && !(s = out_path(dir, "report.html", path, sizeof path)))
        s = write_report(r, c, first_model, first_test, first_pred, list, n, path);
    for (int i = 0; i < 4; i++) mtl_table_free(t[i]);
    return s;
}
