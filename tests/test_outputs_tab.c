/* Outputs of tabular experiments: the summary and comparison tables, summary.json (parsed
 * back), log.csv with runs of different lengths, gates.csv, the report's ROC and expert-usage
 * sections, and the checkpoint with its encoder. Results are built by hand (or from a small
 * model's predictions), so every expected number is computed here from the inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "harness.h"
#include "mtl/experiment.h"
#include "train/train_internal.h"

#define SEEDS 3
static const double auc_income[SEEDS] = {0.94013, 0.94322, 0.94151};
static const double auc_marital[SEEDS] = {0.99214, 0.99302, 0.99251};
static const double loss_income[SEEDS] = {0.2103, 0.1987, 0.2049};
static const double acc_income[SEEDS] = {0.9512, 0.9533, 0.9520};
static const int epochs_run[SEEDS] = {4, 3, 5};
static const int best_epoch[SEEDS] = {1, -1, 4}; /* 0-based; -1: the last */

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* mean and sample std, written out here rather than taken from the library */
static void stats(const double *x, int n, double *mean, double *sd) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(v / (n - 1)) : 0;
}

static void want_cell(const double *x, int n, char *buf, size_t size) {
    double m, sd;
    stats(x, n, &m, &sd);
    snprintf(buf, size, "%.4f \xC2\xB1 %.4f", m, sd);
}

/* three seeds of a two-task tabular run; seed i ran epochs_run[i] epochs */
static void make_result(mtl_experiment_result *r, const char *model) {
    memset(r, 0, sizeof *r);
    snprintf(r->model, sizeof r->model, "%s", model);
    snprintf(r->data, sizeof r->data, "census-income group 1 (test file split 1:1, seed 0)");
    snprintf(r->inputs, sizeof r->inputs, "31 nominal fields embedded (dim 8) + 7 continuous");
    r->tabular = true;
    r->select_task = 0;
    r->n_tasks = 2;
    snprintf(r->task_names[0], MTL_TASK_NAME_MAX, "income");
    snprintf(r->task_names[1], MTL_TASK_NAME_MAX, "never_married");
    r->n_classes[0] = r->n_classes[1] = 2;
    snprintf(r->class_names[0][0], MTL_CLASS_NAME_MAX, "no");
    snprintf(r->class_names[0][1], MTL_CLASS_NAME_MAX, "yes");
    r->n_params = 12345;
    r->n_sweep = 1, r->n_seeds = SEEDS, r->n_runs = SEEDS;
    r->n_train = 1000, r->n_val = 400, r->n_test = 400;
    r->tab = mtl_tab_model_defaults(model, NULL);
    r->runs = calloc(SEEDS, sizeof *r->runs);
    CHECK(r->runs != NULL, "out of memory");
    for (int i = 0; r->runs && i < SEEDS; i++) {
        mtl_run_result *rr = &r->runs[i];
        rr->seed = 1 + (uint64_t)i;
        rr->epochs = epochs_run[i];
        rr->best_epoch = best_epoch[i];
        rr->train_seconds = 2.0 * epochs_run[i];
        mtl_metrics *m = &rr->test;
        m->n_tasks = 2;
        m->n_classes[0] = m->n_classes[1] = 2;
        m->auc[0] = auc_income[i], m->auc[1] = auc_marital[i];
        m->loss[0] = loss_income[i], m->loss[1] = 0.05 + 0.01 * i;
        m->accuracy[0] = acc_income[i], m->accuracy[1] = 0.96;
        m->macro_f1[0] = 0.8, m->macro_f1[1] = 0.9;
        m->joint_accuracy = 0.91;
        for (int k = 0; k < 2; k++) {
            m->confusion[k] = calloc(4, sizeof(int64_t));
            if (m->confusion[k]) m->confusion[k][0] = 300, m->confusion[k][3] = 90 + i, m->confusion[k][1] = 10 - i;
        }
        rr->log = calloc(8, sizeof *rr->log); /* the configured 8 epochs, only epochs_run[i] filled */
        for (int e = 0; rr->log && e < epochs_run[i]; e++) {
            mtl_epoch_stats *st = &rr->log[e];
            st->epoch = e, st->epochs = 8, st->n_tasks = 2;
            for (int k = 0; k < 2; k++) {
                st->train_loss[k] = 0.5 / (e + 1), st->eval_loss[k] = 0.6 / (e + 1);
                st->train_acc[k] = 0.9, st->eval_acc[k] = 0.88;
                st->eval_auc[k] = 0.90 + 0.01 * e + 0.001 * i + 0.05 * k;
                st->weights[k] = 1;
            }
            st->seconds = 2.0;
        }
    }
    if (r->runs && r->runs[1].log) r->runs[1].log[2].eval_auc[1] = NAN; /* a validation AUC left undefined */
}

static char *json_of(const mtl_experiment_result *r, const mtl_data_spec *d, const mtl_experiment_config *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    CHECK_OK(mtl_experiment_print_json(r, d, c, f));
    fclose(f);
    return buf;
}

static double num(const mtl_json *o, const char *key) {
    const mtl_json *v = o ? mtl_json_get(o, key) : NULL;
    return v && v->type == MTL_JSON_NUMBER ? v->number : NAN;
}

static const mtl_json *at(const mtl_json *a, int i) {
    const mtl_json *e = a && a->type == MTL_JSON_ARRAY ? a->child : NULL;
    while (e && i-- > 0) e = e->next;
    return e;
}

/* ==== tables ========================================================================== */

static void summary_table(void) {
    mtl_experiment_result r;
    make_result(&r, "mmoe");
    mtl_table *sum = NULL, *sw = (mtl_table *)1, *no = (mtl_table *)1, *xl = (mtl_table *)1;
    CHECK_OK(mtl_experiment_tables(&r, &sum, &sw, &no, &xl));
    CHECK(sum && !sw && !no && !xl, "tabular: a summary table only");
    if (sum) {
        CHECK(mtl_table_rows(sum) == 2 && mtl_table_cols(sum) == 5, "%d x %d", mtl_table_rows(sum),
              mtl_table_cols(sum));
        CHECK(!strcmp(mtl_table_header(sum, 1), "AUC") && !strcmp(mtl_table_header(sum, 2), "best AUC") &&
              !strcmp(mtl_table_header(sum, 3), "log loss") && !strcmp(mtl_table_header(sum, 4), "accuracy (%)"),
              "headers");
        char want[64];
        want_cell(auc_income, SEEDS, want, sizeof want);
        CHECK(!strcmp(mtl_table_cell(sum, 0, 1), want), "income AUC '%s', want '%s'", mtl_table_cell(sum, 0, 1), want);
        want_cell(auc_marital, SEEDS, want, sizeof want);
        CHECK(!strcmp(mtl_table_cell(sum, 1, 1), want), "marital AUC '%s', want '%s'", mtl_table_cell(sum, 1, 1), want);
        CHECK(!strcmp(mtl_table_cell(sum, 0, 2), "0.9432"), "best AUC '%s'", mtl_table_cell(sum, 0, 2));
        want_cell(loss_income, SEEDS, want, sizeof want);
        CHECK(!strcmp(mtl_table_cell(sum, 0, 3), want), "log loss '%s', want '%s'", mtl_table_cell(sum, 0, 3), want);
        double m, sd, pct[SEEDS];
        for (int i = 0; i < SEEDS; i++) pct[i] = 100 * acc_income[i];
        stats(pct, SEEDS, &m, &sd);
        snprintf(want, sizeof want, "%.2f \xC2\xB1 %.2f", m, sd);
        CHECK(!strcmp(mtl_table_cell(sum, 0, 4), want), "accuracy '%s', want '%s'", mtl_table_cell(sum, 0, 4), want);
        const char *note = mtl_table_note(sum), *shown = note ? note : "(none)";
        CHECK(note && strstr(note, r.data) && strstr(note, r.inputs), "note lacks data or inputs: %s", shown);
        CHECK(note && strstr(note, "best validation AUC of income"), "note lacks the selection: %s", shown);
        CHECK(note && strstr(note, "3 seed(s)") && strstr(note, "sample standard deviation"), "note: %s", shown);
    }
    mtl_table_free(sum);
    r.select_task = -1;
    CHECK_OK(mtl_experiment_tables(&r, &sum, NULL, NULL, NULL));
    CHECK(sum && strstr(mtl_table_note(sum), "model kept per seed: the last epoch"), "selection 'last'");
    mtl_table_free(sum);
    /* a signal result keeps its accuracy / macro-F1 table */
    r.tabular = false;
    CHECK_OK(mtl_experiment_tables(&r, &sum, NULL, NULL, NULL));
    CHECK(sum && mtl_table_cols(sum) == 3 && !strcmp(mtl_table_header(sum, 1), "accuracy (%)") &&
          mtl_table_rows(sum) == 3, "signal summary table changed");
    mtl_table_free(sum);
    mtl_experiment_result_free(&r);
}

static void compare_table(void) {
    mtl_experiment_result res[2];
    make_result(&res[0], "mmoe");
    make_result(&res[1], "omoe");
    res[1].runs[0].test.auc[0] = 0.95;
    mtl_table *t = NULL;
    CHECK_OK(mtl_experiment_compare_table(res, 2, &t));
    if (t) {
        CHECK(mtl_table_rows(t) == 2 && !strcmp(mtl_table_cell(t, 1, 0), "omoe"), "one row per model");
        CHECK(!strcmp(mtl_table_header(t, 2), "income AUC") && !strcmp(mtl_table_header(t, 3), "income best") &&
              !strcmp(mtl_table_header(t, 5), "never_married best"), "headers");
        char want[64];
        want_cell(auc_income, SEEDS, want, sizeof want);
        CHECK(!strcmp(mtl_table_cell(t, 0, 2), want), "mmoe income '%s'", mtl_table_cell(t, 0, 2));
        CHECK(!strcmp(mtl_table_cell(t, 1, 3), "0.9500"), "omoe best '%s'", mtl_table_cell(t, 1, 3));
        CHECK(!strcmp(mtl_table_cell(t, 0, 6), "4.0") && !strcmp(mtl_table_cell(t, 0, 7), "2.00"),
              "epochs run '%s', s/epoch '%s'", mtl_table_cell(t, 0, 6), mtl_table_cell(t, 0, 7));
        const char *note = mtl_table_note(t);
        CHECK(note && strstr(note, res[0].inputs) && strstr(note, res[0].data), "note: %s", note ? note : "(none)");
    }
    mtl_table_free(t);
    snprintf(res[1].task_names[1], MTL_TASK_NAME_MAX, "education");
    CHECK(mtl_experiment_compare_table(res, 2, &t) == MTL_ERR_ARG && !t, "different tasks accepted");
    CHECK(strstr(mtl_last_error(), "education") != NULL, "message: %s", mtl_last_error());
    mtl_experiment_result_free(&res[0]);
    mtl_experiment_result_free(&res[1]);
}

/* ==== summary.json ===================================================================== */

static void summary_json(void) {
    mtl_experiment_result r;
    make_result(&r, "mmoe");
    r.runs[2].test.auc[1] = NAN; /* undefined for one seed: null, and best ignores it */
    mtl_data_spec d = mtl_data_spec_defaults();
    d.source = MTL_SOURCE_TABLE, d.census_group = 1;
    mtl_experiment_config c = mtl_experiment_defaults();
    c.model = "mmoe";
    char *text = json_of(&r, &d, &c);
    mtl_json *j = NULL;
    CHECK(text != NULL, "no JSON");
    if (text) CHECK_OK(mtl_json_parse(text, strlen(text), "summary.json", &j));
    if (j) {
        const mtl_json *inc = mtl_json_get(mtl_json_get(j, "tasks"), "income");
        const mtl_json *auc = inc ? mtl_json_get(inc, "auc") : NULL;
        double m, sd;
        stats(auc_income, SEEDS, &m, &sd);
        CHECK_CLOSE(num(auc, "mean"), m, 1e-6, 0, "auc.mean");
        CHECK_CLOSE(num(auc, "std"), sd, 1e-6, 0, "auc.std");
        CHECK_CLOSE(num(auc, "best"), 0.94322, 1e-6, 0, "auc.best");
        const mtl_json *ps = auc ? mtl_json_get(auc, "per_seed") : NULL;
        CHECK(ps && ps->count == SEEDS, "per_seed");
        for (int i = 0; ps && i < SEEDS; i++) CHECK_CLOSE(at(ps, i)->number, auc_income[i], 1e-6, 0, "per_seed value");
        const mtl_json *ll = inc ? mtl_json_get(inc, "log_loss") : NULL;
        CHECK_CLOSE(num(ll, "best"), 0.1987, 1e-6, 0, "log_loss.best is the lowest");
        CHECK_CLOSE(num(inc ? mtl_json_get(inc, "accuracy") : NULL, "mean"), (0.9512 + 0.9533 + 0.9520) / 3, 1e-6, 0,
                    "accuracy.mean as a fraction");
        const mtl_json *mar = mtl_json_get(mtl_json_get(mtl_json_get(j, "tasks"), "never_married"), "auc");
        const mtl_json *mean = mar ? mtl_json_get(mar, "mean") : NULL;
        CHECK(mean && mean->type == MTL_JSON_NULL, "a NaN mean is not null");
        CHECK(at(mar ? mtl_json_get(mar, "per_seed") : NULL, 2) &&
              at(mtl_json_get(mar, "per_seed"), 2)->type == MTL_JSON_NULL, "a NaN seed is not null");
        CHECK_CLOSE(num(mar, "best"), 0.99302, 1e-6, 0, "best ignores NaN");
        const mtl_json *sel = mtl_json_get(j, "selection");
        CHECK(sel && sel->type == MTL_JSON_OBJECT && !strcmp(mtl_json_get(sel, "metric")->string, "auc") &&
              !strcmp(mtl_json_get(sel, "task")->string, "income"), "selection");
        const mtl_json *er = mtl_json_get(j, "epochs_run"), *be = mtl_json_get(j, "best_epoch");
        CHECK(er && er->count == 3 && at(er, 0)->number == 4 && at(er, 1)->number == 3 && at(er, 2)->number == 5,
              "epochs_run");
        /* 1-based like log.csv; -1 (the last epoch kept) is that run's last epoch */
        CHECK(be && be->count == 3 && at(be, 0)->number == 2 && at(be, 1)->number == 3 && at(be, 2)->number == 5,
              "best_epoch");
        const mtl_json *in = mtl_json_get(j, "inputs");
        CHECK(in && in->type == MTL_JSON_STRING && !strcmp(in->string, r.inputs), "inputs");
        const mtl_json *ms = mtl_json_get(j, "model_sizes");
        CHECK(ms && num(ms, "experts") == r.tab.experts && num(ms, "units") == r.tab.units &&
              !mtl_json_get(ms, "levels") && mtl_json_get(ms, "tower")->count == r.tab.n_tower, "model_sizes");
        CHECK(!mtl_json_get(j, "expert_usage"), "expert usage without predictions");
    }
    mtl_json_free(j);
    free(text);
    /* selection "last"; a signal result keeps its JSON (no AUC, its windows) */
    r.select_task = -1;
    text = json_of(&r, &d, &c);
    j = NULL;
    if (text) CHECK_OK(mtl_json_parse(text, strlen(text), "summary.json", &j));
    const mtl_json *sel = j ? mtl_json_get(j, "selection") : NULL;
    CHECK(sel && sel->type == MTL_JSON_STRING && !strcmp(sel->string, "last"), "selection \"last\"");
    mtl_json_free(j);
    free(text);
    r.tabular = false;
    r.runs[2].test.auc[1] = 0.99;
    d = mtl_data_spec_defaults();
    text = json_of(&r, &d, &c);
    j = NULL;
    if (text) CHECK_OK(mtl_json_parse(text, strlen(text), "summary.json", &j));
    if (j) {
        const mtl_json *inc = mtl_json_get(mtl_json_get(j, "tasks"), "income");
        CHECK(inc && !mtl_json_get(inc, "auc") && mtl_json_get(inc, "accuracy"), "signal tasks block changed");
        CHECK(mtl_json_get(mtl_json_get(j, "protocol"), "windows") && !mtl_json_get(j, "selection"),
              "signal protocol changed");
    }
    mtl_json_free(j);
    free(text);
    mtl_experiment_result_free(&r);
}

/* ==== log.csv and the report without a model =============================================== */

static void log_and_report(void) {
    mtl_experiment_result r;
    make_result(&r, "mmoe");
    mtl_data_spec d = mtl_data_spec_defaults();
    d.source = MTL_SOURCE_TABLE, d.census_group = 1;
    mtl_experiment_config c = mtl_experiment_defaults();
    c.model = "mmoe";
    c.out_dir = th_tmp_path("noModel");
    c.report = true;
    CHECK_OK(mtl__experiment_outputs(&r, &d, &c, NULL, NULL, NULL, NULL));
    char path[4200];
    snprintf(path, sizeof path, "%s/log.csv", c.out_dir);
    char *log = th_read_file(path, NULL);
    CHECK(log != NULL, "no log.csv");
    if (log) {
        CHECK(strstr(log, ",never_married_weight,seconds,income_val_auc,never_married_val_auc\n") != NULL,
              "header: AUC columns appended after the existing ones");
        CHECK(count_of(log, "\n") == 1 + 4 + 3 + 5, "%d lines, expected 13", count_of(log, "\n"));
        CHECK(count_of(log, "\n0,2,") == 3 && count_of(log, "\n0,3,") == 5, "rows per seed follow its epochs_run");
        /* seed 2, epoch 3: the NaN marital AUC is an empty last cell */
        const char *row = strstr(log, "\n0,2,3,");
        const char *eol = row ? strchr(row + 1, '\n') : NULL;
        CHECK(row && eol && eol[-1] == ',', "an undefined AUC is not an empty cell");
        CHECK(strstr(log, ",0.900000,0.950000\n") != NULL, "seed 1 epoch 1 AUCs");
    }
    free(log);
    snprintf(path, sizeof path, "%s/report.html", c.out_dir);
    char *html = th_read_file(path, NULL);
    CHECK(html != NULL, "no report");
    if (html) {
        CHECK(strstr(html, "validation AUC by epoch") != NULL, "no AUC curve");
        /* epoch 5: only seed 3 ran it: income 0.90 + 0.04 + 0.002 */
        CHECK(strstr(html, "<td class=\"n\">5</td><td class=\"n\">0.9420 \xC2\xB1 0.0000</td>") != NULL,
              "epoch 5 is not the one seed that reached it");
        CHECK(!strstr(html, "id=\"roc\"") && !strstr(html, "id=\"attention\""), "ROC or usage without predictions");
        CHECK(count_of(html, "<svg") == count_of(html, "</svg>"), "unbalanced svg");
    }
    free(html);
    snprintf(path, sizeof path, "%s/summary.json", c.out_dir);
    CHECK(th_exists(path), "no summary.json");
    snprintf(path, sizeof path, "%s/gates.csv", c.out_dir);
    CHECK(!th_exists(path), "gates.csv without predictions");
    mtl_experiment_result_free(&r);
}

/* ==== a real model: gates.csv, ROC, expert usage, checkpoint with encoder ===================== */

#define ROWS 240

static mtl_status write_rows(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return mtl_error(MTL_ERR_IO, "%s: cannot write", path);
    static const char *const colors[] = {"red", "green", "blue, dark", "n/a"};
    for (int i = 0; i < ROWS; i++) {
        int a = (i * 7) % 4, b = (i * 5) % 3;
        double age = 20 + (i * 37) % 50;
        bool inc = (age > 45) != (i % 9 == 0), mar = a == 1 || i % 5 == 0;
        fprintf(f, "%s;s%d;%.1f;%s;%s\n", colors[a], b, age, inc ? "yes" : "no", mar ? "yes" : "no");
    }
    return fclose(f) ? mtl_error(MTL_ERR_IO, "%s: write failed", path) : MTL_OK;
}

/* exact AUC by comparing every positive with every negative (ties count one half) */
static double brute_auc(const float *logits, const int32_t *y, int n) {
    double wins = 0, pairs = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (!y[i] || y[j]) continue;
            double si = logits[2 * i + 1] - logits[2 * i], sj = logits[2 * j + 1] - logits[2 * j];
            wins += si > sj ? 1 : si == sj ? 0.5 : 0;
            pairs++;
        }
    return pairs ? wins / pairs : NAN;
}

typedef struct {
    const char *kind;
    int n_stages;
    const char *stage[2];
    bool experts[2]; /* a softmax over experts (its mean sums to 1); co-attention: raw scores */
} kind_case;

/* the mean of tap [n, C] column e */
static double tap_mean(const float *a, int n, int C, int e) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += a[(size_t)i * C + e];
    return sum / n;
}

static void outputs_with(const kind_case *kc) {
    const char *csv = th_tmp_path("rows.csv");
    CHECK_OK(write_rows(csv));
    const char *desc = "delimiter \";\"\n"
                       "column color nominal\ncolumn size nominal\ncolumn age continuous\n"
                       "column inc nominal\ncolumn mar nominal\n"
                       "task income binary inc yes\ntask never_married binary mar yes\n";
    mtl_tab_schema *schema = malloc(sizeof *schema);
    mtl_tab_encoder *enc = NULL;
    mtl_dataset data;
    memset(&data, 0, sizeof data);
    CHECK(schema != NULL, "out of memory");
    if (!schema) return;
    CHECK_OK(mtl_tab_schema_parse(desc, "rows.desc", schema));
    CHECK_OK(mtl_tab_fit(schema, csv, &enc, &data));
    free(schema);
    if (!enc) return;
    mtl_model_config mc = {.n_tasks = 2, .n_classes = {2, 2},
                           .tab = {.emb_dim = 3, .units = 8, .experts = 3, .shared_experts = 2, .task_experts = 1,
                                   .levels = 2, .n_tower = 1, .tower = {4}}};
    mtl_tab_model_input(enc, &mc);
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create(kc->kind, &mc, 5, &m));
    mtl_predictions p;
    memset(&p, 0, sizeof p);
    if (m) CHECK_OK(mtl_predict(m, &data, 64, true, &p));
    if (!m || !p.logits[0] || p.n_stages != kc->n_stages || !p.attention[0][0] || !p.attention[1][kc->n_stages - 1]) {
        CHECK(0, "%s: no model or not the %d stages of taps expected (%d)", kc->kind, kc->n_stages, p.n_stages);
        mtl_model_free(m), mtl_predictions_free(&p), mtl_dataset_free(&data), mtl_tab_encoder_free(enc);
        return;
    }
    mtl_experiment_result r;
    make_result(&r, kc->kind);
    for (int i = 1; i < SEEDS; i++) mtl_metrics_free(&r.runs[i].test), free(r.runs[i].log);
    r.n_seeds = r.n_runs = 1; /* the first run only: its metrics come from the model */
    r.tab = m->cfg.tab;
    r.n_test = data.n;
    mtl_metrics_free(&r.runs[0].test);
    CHECK_OK(mtl_metrics_compute(&data, &p, &r.runs[0].test));
    mtl_data_spec d = mtl_data_spec_defaults();
    d.source = MTL_SOURCE_TABLE;
    mtl_experiment_config c = mtl_experiment_defaults();
    c.model = kc->kind;
    c.out_dir = th_tmp_path(kc->kind);
    c.command_line = "mtl train --data table";
    CHECK_OK(mtl__experiment_outputs(&r, &d, &c, m, &data, &p, enc));
    /* gates.csv: the mean tap of each task and stage over the rows */
    char path[4200];
    snprintf(path, sizeof path, "%s/gates.csv", c.out_dir);
    char *gates = th_read_file(path, NULL);
    CHECK(gates && !strncmp(gates, "task,stage,expert,mean_weight\n", 30), "gates.csv header");
    int lines = 1;
    for (int st = 0; st < kc->n_stages; st++) lines += 2 * p.stage_channels[st];
    int got_lines = gates ? count_of(gates, "\n") : 0;
    CHECK(got_lines == lines, "gates.csv: %d lines, expected %d", got_lines, lines);
    for (int k = 0; gates && k < 2; k++)
        for (int st = 0; st < kc->n_stages; st++) {
            int C = p.stage_channels[st];
            double total = 0;
            for (int e = 0; e < C; e++) {
                char line[96];
                snprintf(line, sizeof line, "\n%s,%s,%d,", k ? "never_married" : "income", kc->stage[st], e);
                const char *at_line = strstr(gates, line);
                CHECK(at_line != NULL, "gates.csv lacks %s", line + 1);
                double got = at_line ? strtod(at_line + strlen(line), NULL) : NAN;
                CHECK_CLOSE(got, tap_mean(p.attention[k][st], p.n, C, e), 2e-6, 1e-5, "mean gate weight");
                total += got;
            }
            if (kc->experts[st]) CHECK_CLOSE(total, 1.0, 1e-5, 0, "a task's mean gate weights sum to 1");
        }
    free(gates);
    /* summary.json carries the same usage */
    snprintf(path, sizeof path, "%s/summary.json", c.out_dir);
    char *text = th_read_file(path, NULL);
    mtl_json *j = NULL;
    if (text) CHECK_OK(mtl_json_parse(text, strlen(text), path, &j));
    const mtl_json *stages = j ? mtl_json_get(mtl_json_get(j, "expert_usage"), "stages") : NULL;
    CHECK(stages && stages->count == kc->n_stages, "expert_usage stages");
    for (int st = 0; stages && st < kc->n_stages; st++) {
        const mtl_json *sj = at(stages, st);
        CHECK(sj && !strcmp(mtl_json_get(sj, "name")->string, kc->stage[st]) &&
              num(sj, "experts") == p.stage_channels[st], "expert_usage stage %d", st);
        const mtl_json *w = sj ? mtl_json_get(mtl_json_get(sj, "mean_weight"), "never_married") : NULL;
        CHECK(w && w->count == p.stage_channels[st], "expert_usage weights of stage %d", st);
        for (int e = 0; w && e < w->count; e++)
            CHECK_CLOSE(at(w, e)->number, tap_mean(p.attention[1][st], p.n, p.stage_channels[st], e), 2e-6, 1e-5,
                        "expert_usage weight");
    }
    CHECK(j && num(mtl_json_get(mtl_json_get(mtl_json_get(j, "tasks"), "income"), "auc"), "mean") ==
                   num(mtl_json_get(mtl_json_get(mtl_json_get(j, "tasks"), "income"), "auc"), "best"),
          "one seed: mean = best");
    mtl_json_free(j);
    free(text);
    /* the report: ROC per task with the exact AUC in the legend, expert usage with values in the cells */
    snprintf(path, sizeof path, "%s/report.html", c.out_dir);
    char *html = th_read_file(path, NULL);
    CHECK(html != NULL, "no report");
    if (html) {
        CHECK(strstr(html, "<section id=\"roc\">") && strstr(html, "<a href=\"#roc\">ROC</a>"), "no ROC section");
        for (int k = 0; k < 2; k++) {
            char legend[96];
            snprintf(legend, sizeof legend, "%s (AUC %.4f)", k ? "never_married" : "income",
                     brute_auc(p.logits[k], data.y[k], data.n));
            CHECK(strstr(html, legend) != NULL, "ROC legend '%s' missing", legend);
        }
        CHECK(count_of(html, "chance (AUC 0.5)") == 2, "diagonal reference per ROC chart");
        CHECK(strstr(html, "Expert usage: mean gate / attention weight per task</h2>") != NULL, "usage title");
        CHECK(strstr(html, "<a href=\"#attention\">Expert usage</a>") != NULL, "usage nav link");
        for (int st = 0; st < kc->n_stages; st++) {
            char title[96];
            snprintf(title, sizeof title, "%s: mean weight per expert", kc->stage[st]);
            /* co-attention columns are tasks, not experts: not in the expert-usage chart */
            CHECK(!strstr(html, title) == !kc->experts[st], "chart '%s' %s", title,
                  kc->experts[st] ? "missing" : "shown");
            /* each task's mean weight per expert printed in its cell, 2 decimals */
            for (int k = 0; kc->experts[st] && k < 2; k++)
                for (int e = 0; e < p.stage_channels[st]; e++) {
                    char cell[32];
                    snprintf(cell, sizeof cell, ">%.2f</text>",
                             tap_mean(p.attention[k][st], p.n, p.stage_channels[st], e));
                    CHECK(strstr(html, cell) != NULL, "usage cell %s missing", cell);
                }
        }
        CHECK(!strstr(html, "Attention by class"), "per-class attention shown for a table");
        CHECK(strstr(html, "t-SNE") != NULL, "t-SNE of the tower inputs");
        CHECK(!strstr(html, "<script") && count_of(html, "<svg") == count_of(html, "</svg>"), "offline, balanced");
    }
    free(html);
    /* the checkpoint rebuilds the same model and carries the encoder */
    snprintf(path, sizeof path, "%s/model.safetensors", c.out_dir);
    mtl_model *b = NULL;
    mtl_checkpoint_info info;
    CHECK_OK(mtl_checkpoint_load(path, &b, &info));
    char *want_enc = NULL;
    CHECK_OK(mtl_tab_encoder_to_json(enc, &want_enc));
    CHECK(info.encoder && want_enc && !strcmp(info.encoder, want_enc), "encoder JSON differs after the round trip");
    if (b) {
        mtl_predictions pb;
        CHECK_OK(mtl_predict(b, &data, 64, false, &pb));
        for (int k = 0; k < 2; k++)
            CHECK(pb.logits[k] && !memcmp(pb.logits[k], p.logits[k], (size_t)data.n * 2 * sizeof(float)),
                  "task %d: logits differ", k);
        mtl_predictions_free(&pb);
        /* the stored encoder encodes the file like the fitted one */
        mtl_tab_encoder *e2 = NULL;
        mtl_dataset again;
        memset(&again, 0, sizeof again);
        if (info.encoder) CHECK_OK(mtl_tab_encoder_from_json(info.encoder, &e2));
        if (e2) CHECK_OK(mtl_tab_encode_file(e2, csv, true, &again));
        CHECK(again.n == data.n && again.x &&
              !memcmp(again.x, data.x, (size_t)data.n * data.length * sizeof(float)), "re-encoded rows differ");
        mtl_dataset_free(&again);
        mtl_tab_encoder_free(e2);
    }
    free(want_enc);
    mtl_checkpoint_info_free(&info);
    mtl_model_free(b);
    mtl_experiment_result_free(&r);
    mtl_model_free(m);
    mtl_predictions_free(&p);
    mtl_dataset_free(&data);
    mtl_tab_encoder_free(enc);
}

static void outputs_with_model(void) {
    static const kind_case cases[] = {
        {"mmoe", 1, {"gate", NULL}, {true, false}},
        {"ple", 2, {"level 1 gate", "level 2 gate"}, {true, true}},
        {"coamtl", 2, {"expert attention", "co-attention (other tasks)"}, {true, false}},
    };
    for (int i = 0; i < 3; i++) outputs_with(&cases[i]);
}

int main(void) {
    if (!th_tmpdir_create("mtl_outputs_tab")) return 1;
    RUN(summary_table);
    RUN(compare_table);
    RUN(summary_json);
    RUN(log_and_report);
    RUN(outputs_with_model);
    th_tmpdir_remove();
    return th_summary();
}
