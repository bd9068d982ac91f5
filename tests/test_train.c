/* Weighting (EW, DWA), metrics, the trainer's options, checkpoints with metadata and the
 * experiment runner's outputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "harness.h"
#include "mtl/experiment.h"

static const float ONE3[3] = {1, 1, 1};

static void test_ew(void) {
    mtl_weighting *w = NULL;
    CHECK_OK(mtl_weighting_create("ew", 3, NULL, &w));
    float lam[3];
    double h[9] = {1, 2, 3, 2, 2, 2, 1, 1, 1};
    for (int e = 0; e < 4; e++) {
        CHECK_OK(mtl_weighting_weights(w, e, h, ONE3, lam));
        for (int k = 0; k < 3; k++) CHECK(lam[k] == 1.0f, "ew epoch %d task %d: %g", e, k, (double)lam[k]);
    }
    mtl_weighting_free(w);
}

static void test_dwa(void) {
    mtl_weighting *w = NULL;
    mtl_weighting_config c = mtl_weighting_defaults();
    CHECK(c.temperature == 2.0, "DWA's default temperature is 2");
    CHECK_OK(mtl_weighting_create("dwa", 2, &c, &w));
    float lam[2];
    /* epochs 0 and 1: 1 */
    double h[8] = {2.0, 1.0, 1.0, 0.9, 0.5, 0.45, 0.4, 0.4};
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, ONE3, lam));
    CHECK(lam[0] == 1.0f && lam[1] == 1.0f, "epoch 0 weights %g %g", (double)lam[0], (double)lam[1]);
    CHECK_OK(mtl_weighting_weights(w, 1, h, ONE3, lam));
    CHECK(lam[0] == 1.0f && lam[1] == 1.0f, "epoch 1 weights %g %g", (double)lam[0], (double)lam[1]);
    /* epoch 2: r = (1/2, 0.9/1) -> K exp(r/T) / sum exp(r/T), straight from the formula */
    CHECK_OK(mtl_weighting_weights(w, 2, h, ONE3, lam));
    double r0 = 1.0 / 2.0, r1 = 0.9 / 1.0, e0 = exp(r0 / 2), e1 = exp(r1 / 2);
    CHECK_CLOSE(lam[0], 2 * e0 / (e0 + e1), 1e-6, 0, "dwa epoch 2 task 0");
    CHECK_CLOSE(lam[1], 2 * e1 / (e0 + e1), 1e-6, 0, "dwa epoch 2 task 1");
    CHECK(lam[1] > lam[0], "the task whose loss fell less gets more weight");
    /* epoch 3 uses epochs 2 and 1 */
    CHECK_OK(mtl_weighting_weights(w, 3, h, ONE3, lam));
    r0 = 0.5 / 1.0, r1 = 0.45 / 0.9, e0 = exp(r0 / 2), e1 = exp(r1 / 2);
    CHECK_CLOSE(lam[0], 2 * e0 / (e0 + e1), 1e-6, 0, "dwa epoch 3 task 0");
    CHECK_CLOSE(lam[0] + lam[1], 2.0, 1e-6, 0, "dwa weights sum to K");
    mtl_weighting_free(w);
    /* K = 3, temperature 1, identical ratios -> all 1 */
    c.temperature = 1.0;
    CHECK_OK(mtl_weighting_create("dwa", 3, &c, &w));
    float l3[3];
    double h3[9] = {1, 2, 4, 0.5, 1, 2, 0.25, 0.5, 1};
    CHECK_OK(mtl_weighting_weights(w, 2, h3, ONE3, l3));
    for (int k = 0; k < 3; k++) CHECK_CLOSE(l3[k], 1.0, 1e-6, 0, "identical ratios give equal weights");
    /* a zero loss two epochs back cannot be divided by */
    double hz[6] = {0, 1, 1, 1, 1, 1};
    CHECK(mtl_weighting_weights(w, 2, hz, ONE3, l3) == MTL_ERR_NUMERIC, "zero loss -> numeric error");
    double hn[6] = {NAN, 1, 1, 1, 1, 1};
    CHECK(mtl_weighting_weights(w, 2, hn, ONE3, l3) == MTL_ERR_NUMERIC, "NaN history -> numeric error");
    mtl_weighting_free(w);
    CHECK(mtl_weighting_create("gradnorm-ish", 2, NULL, &w) == MTL_ERR_ARG, "unknown weighting");
    CHECK(strstr(mtl_last_error(), "dwa") != NULL, "the error lists the known ones: %s", mtl_last_error());
    c.temperature = 0;
    CHECK(mtl_weighting_create("dwa", 2, &c, &w) == MTL_ERR_ARG, "temperature 0 rejected");
    CHECK(mtl_weighting_create("ew", 0, NULL, &w) == MTL_ERR_ARG, "0 tasks rejected");
}

/* DWA (and EW) over whole runs of epochs against tests/parity/gen_weighting_dwa.py */
static void dwa_reference(void) {
    mtl_st_file *f = th_fixture("weighting_dwa.safetensors");
    const char *cases[] = {"k2_t2", "k3_t2", "k5_t05", "k2_equal", "k4_t10"};
    for (int c = 0; f && c < 5; c++) {
        char key[96];
        mtl_shape hs;
        snprintf(key, sizeof key, "dwa.%s.history", cases[c]);
        float *hf = th_fixture_f32(f, key, &hs);
        snprintf(key, sizeof key, "dwa.%s.T", cases[c]);
        float *T = th_fixture_f32(f, key, NULL);
        snprintf(key, sizeof key, "dwa.%s.lambda", cases[c]);
        float *want = th_fixture_f32(f, key, NULL);
        if (!hf || !T || !want) continue;
        int E = hs.d[0], K = hs.d[1];
        double h[64];
        for (int i = 0; i < E * K; i++) h[i] = hf[i];
        mtl_weighting_config cfg = mtl_weighting_defaults();
        cfg.temperature = T[0];
        mtl_weighting *w = NULL, *ew = NULL;
        CHECK_OK(mtl_weighting_create("dwa", K, &cfg, &w));
        CHECK_OK(mtl_weighting_create("ew", K, &cfg, &ew));
        float got[64], one[64], lam[MTL_MAX_TASKS], losses[MTL_MAX_TASKS] = {1, 1, 1, 1, 1, 1, 1, 1};
        for (int e = 0; e < E && w && ew; e++) {
            CHECK_OK(mtl_weighting_weights(w, e, h, losses, got + e * K));
            CHECK_OK(mtl_weighting_weights(ew, e, h, losses, lam));
            for (int k = 0; k < K; k++) one[e * K + k] = lam[k];
        }
        th_compare(cases[c], got, want, E * K, 1e-6, 1e-5);
        for (int i = 0; i < E * K; i++) CHECK(one[i] == 1.0f, "ew gives 1 (%s, %d)", cases[c], i);
        mtl_weighting_free(w);
        mtl_weighting_free(ew);
    }
}

/* labels and predictions set by hand; expected values worked out on paper */
static void test_metrics(void) {
    mtl_dataset d;
    CHECK_OK(mtl_dataset_alloc(&d, 6, 1, 4, 2));
    d.n_classes[0] = 3, d.n_classes[1] = 2;
    int32_t y0[6] = {0, 0, 1, 1, 2, 2}, p0[6] = {0, 1, 1, 1, 2, 0};
    int32_t y1[6] = {0, 1, 0, 1, 0, 1}, p1[6] = {0, 1, 0, 0, 0, 1};
    mtl_predictions p;
    memset(&p, 0, sizeof p);
    p.n = 6, p.n_tasks = 2, p.n_classes[0] = 3, p.n_classes[1] = 2;
    p.pred[0] = p0, p.pred[1] = p1;
    float pr0[18], pr1[12];
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 3; j++) pr0[i * 3 + j] = j == p0[i] ? 0.5f : 0.25f;
        for (int j = 0; j < 2; j++) pr1[i * 2 + j] = j == p1[i] ? 0.8f : 0.2f;
    }
    p.prob[0] = pr0, p.prob[1] = pr1;
    memcpy(d.y[0], y0, sizeof y0), memcpy(d.y[1], y1, sizeof y1);
    mtl_metrics m;
    CHECK_OK(mtl_metrics_compute(&d, &p, &m));
    CHECK_CLOSE(m.accuracy[0], 4.0 / 6, 1e-12, 0, "task 0 accuracy");
    CHECK_CLOSE(m.accuracy[1], 5.0 / 6, 1e-12, 0, "task 1 accuracy");
    /* task 0: class 0 tp1 (row 2, col 2) F1 .5; class 1 tp2 row 2 col 3 -> .8; class 2 tp1 row 2 col 1 -> 2/3 */
    CHECK_CLOSE(m.macro_f1[0], (0.5 + 0.8 + 2.0 / 3) / 3, 1e-12, 0, "task 0 macro-F1");
    /* task 1: class 0 tp3 row3 col4 -> 6/7; class 1 tp2 row3 col2 -> 4/5 */
    CHECK_CLOSE(m.macro_f1[1], (6.0 / 7 + 0.8) / 2, 1e-12, 0, "task 1 macro-F1");
    /* both right: windows 0, 2, 4 */
    CHECK_CLOSE(m.joint_accuracy, 3.0 / 6, 1e-12, 0, "joint accuracy");
    CHECK(m.confusion[0][0 * 3 + 1] == 1 && m.confusion[0][2 * 3 + 0] == 1 && m.confusion[0][1 * 3 + 1] == 2,
          "confusion rows are true classes, columns predictions");
    /* loss: -log p(true); task 1: right 5 times (0.8), wrong once (0.2) */
    CHECK_CLOSE(m.loss[1], -(5 * log(0.8) + log(0.2)) / 6, 1e-6, 0, "task 1 cross-entropy");
    mtl_metrics_free(&m);
    p0[0] = 3;
    CHECK(mtl_metrics_compute(&d, &p, &m) == MTL_ERR_RANGE, "a prediction outside the classes is an error");
    mtl_dataset_free(&d);
}

static mtl_data_spec small_sim(void) {
    mtl_data_spec d = mtl_data_spec_defaults();
    d.source = MTL_SOURCE_SIM;
    d.sim_seconds = 2;
    d.win.length = 256, d.win.stride = 256;
    d.win.split = MTL_SPLIT_RANDOM;
    d.win.train_per_record = 6, d.win.val_per_record = 3, d.win.test_per_record = 6;
    d.norm = MTL_NORM_ZSCORE;
    return d;
}

static mtl_experiment_config small_cfg(const char *dir) {
    mtl_experiment_config c = mtl_experiment_defaults();
    c.model = "tiny";
    c.train.epochs = 4;
    c.train.batch_size = 20;
    c.train.opt.lr = 3e-3f;
    c.n_seeds = 2;
    c.out_dir = dir;
    c.quiet = true;
    c.command_line = "test_train";
    return c;
}


static void test_experiment(void) {
    char dir[] = "/tmp/mtl_test_train_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    mtl_data_spec d = small_sim();
    mtl_experiment_config c = small_cfg(dir);
    c.n_snr = 2, c.snr[0] = 0, c.snr[1] = 20;
    mtl_experiment_result r;
    CHECK_OK(mtl_experiment_run(&d, &c, NULL, NULL, &r));
    CHECK(r.n_runs == 2 && r.n_tasks == 2, "2 runs of 2 tasks");
    CHECK(r.n_train == 60 && r.n_val == 30 && r.n_test == 60, "windows %d/%d/%d", r.n_train, r.n_val, r.n_test);
    CHECK(!strcmp(r.task_names[0], "fault_type") && !strcmp(r.task_names[1], "fault_severity"), "task names");
    CHECK(r.runs[0].seed == 1 && r.runs[1].seed == 2, "seeds 1, 2");
    for (int i = 0; i < 2; i++) {
        int64_t total = 0;
        for (int j = 0; j < 16; j++) total += r.runs[i].test.confusion[0][j];
        CHECK(total == 60, "confusion counts every test window once (%lld)", (long long)total);
        CHECK(r.runs[i].log[3].epoch == 3 && r.runs[i].log[3].train_loss[0] > 0, "epoch log filled");
    }
    /* files */
    const char *files[] = {"log.csv", "model.safetensors", "summary.json", "results.csv", "noise.csv", "report.html"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        CHECK(access(path, R_OK) == 0, "%s written", files[i]);
    }
    /* summary.json parses and has the documented fields, accuracies as fractions */
    size_t len = 0;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    char *text = th_read_file(path, &len);
    mtl_json *j = NULL;
    CHECK_OK(mtl_json_parse(text ? text : "", len, "summary.json", &j));
    if (j) {
        CHECK(mtl_json_get(j, "model") && !strcmp(mtl_json_get(j, "model")->string, "tiny"), "model");
        CHECK(mtl_json_get(j, "data") && mtl_json_get(j, "protocol") && mtl_json_get(j, "seeds"), "data, protocol, seeds");
        const mtl_json *t = mtl_json_get(j, "tasks"), *ft = t ? mtl_json_get(t, "fault_type") : NULL;
        const mtl_json *acc = ft ? mtl_json_get(ft, "accuracy") : NULL;
        CHECK(acc && mtl_json_get(acc, "mean") && mtl_json_get(acc, "std") && mtl_json_get(acc, "per_seed"),
              "tasks.fault_type.accuracy.{mean,std,per_seed}");
        if (acc && mtl_json_get(acc, "mean")) {
            double m = mtl_json_get(acc, "mean")->number;
            CHECK(m >= 0 && m <= 1, "accuracy is a fraction: %g", m);
            double want = 0.5 * (r.runs[0].test.accuracy[0] + r.runs[1].test.accuracy[0]);
            CHECK_CLOSE(m, want, 1e-6, 0, "summary mean = mean of the seeds");
            CHECK(mtl_json_get(acc, "per_seed")->count == 2, "two seeds listed");
        }
        CHECK(ft && mtl_json_get(ft, "macro_f1"), "macro_f1");
        CHECK(t && mtl_json_get(t, "fault_severity"), "fault_severity");
        const mtl_json *ja = mtl_json_get(j, "joint_accuracy");
        CHECK(ja && mtl_json_get(ja, "mean"), "joint_accuracy.mean");
        const mtl_json *noise = mtl_json_get(j, "noise");
        CHECK(noise && noise->count == 2, "noise block with 2 SNRs");
        mtl_json_free(j);
    }
    free(text);
    /* the checkpoint reloads with its metadata and predicts what the run measured */
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mtl_model *m = NULL;
    mtl_checkpoint_info ci;
    CHECK_OK(mtl_checkpoint_load(path, &m, &ci));
    if (m) {
        CHECK(!strcmp(ci.model, "tiny") && ci.n_tasks == 2 && ci.n_classes[0] == 4 && ci.n_classes[1] == 4, "metadata");
        CHECK(!strcmp(ci.class_names[0][3], "RF") && !strcmp(ci.task_names[1], "fault_severity"), "class names kept");
        CHECK(ci.length == 256 && ci.window == 256 && ci.norm == MTL_NORM_ZSCORE && ci.domain == MTL_DOMAIN_TIME,
              "pipeline kept");
        mtl_dataset test;
        memset(&test, 0, sizeof test);
        CHECK_OK(mtl_data_load(&d, c.seed, NULL, NULL, &test));
        CHECK_OK(mtl_dataset_transform(&test, d.norm, d.domain));
        mtl_predictions p;
        mtl_metrics mt;
        CHECK_OK(mtl_predict(m, &test, 16, false, &p));
        CHECK_OK(mtl_metrics_compute(&test, &p, &mt));
        CHECK_CLOSE(mt.accuracy[0], r.runs[0].test.accuracy[0], 1e-12, 0, "reloaded checkpoint = first run");
        CHECK_CLOSE(mt.accuracy[1], r.runs[0].test.accuracy[1], 1e-12, 0, "reloaded checkpoint = first run (task 1)");
        mtl_metrics_free(&mt);
        mtl_predictions_free(&p);
        mtl_dataset_free(&test);
        mtl_model_free(m);
    }
    mtl_experiment_result_free(&r);
    /* a sweep: one run per sample size and seed */
    c.n_snr = 0, c.n_seeds = 1, c.n_train_per = 2, c.train_per[0] = 3, c.train_per[1] = 6, c.report = false;
    CHECK_OK(mtl_experiment_run(&d, &c, NULL, NULL, &r));
    CHECK(r.n_runs == 2 && r.runs[0].train_per == 3 && r.runs[1].train_per == 6, "sweep runs");
    mtl_table *sum = NULL, *sw = NULL, *no = NULL, *xl = NULL;
    CHECK_OK(mtl_experiment_tables(&r, &sum, &sw, &no, &xl));
    CHECK(sum && sw && !no && !xl && mtl_table_rows(sw) == 2, "summary and sweep tables, no noise or cross-load table");
    mtl_table_free(sum), mtl_table_free(sw), mtl_table_free(no), mtl_table_free(xl);
    mtl_experiment_result_free(&r);
    /* cross-load: the model trained at load 0 is also tested at loads 1 and 3 */
    c.n_train_per = 0, c.n_cross = 2, c.cross_loads[0] = 1, c.cross_loads[1] = 3;
    CHECK_OK(mtl_experiment_run(&d, &c, NULL, NULL, &r));
    CHECK(r.n_cross == 2 && r.runs[0].cross[1].n_tasks == 2, "cross-load metrics filled");
    CHECK_OK(mtl_experiment_tables(&r, NULL, NULL, NULL, &xl));
    CHECK(xl && mtl_table_rows(xl) == 3 && !strcmp(mtl_table_cell(xl, 2, 0), "0 -> 3"), "cross-load table rows");
    mtl_table_free(xl);
    mtl_experiment_result_free(&r);
    /* unknown model: an error naming it, nothing written */
    c.model = "resnet9000";
    CHECK(mtl_experiment_run(&d, &c, NULL, NULL, &r) == MTL_ERR_ARG && strstr(mtl_last_error(), "resnet9000"),
          "unknown model named: %s", mtl_last_error());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

static void record_epoch(const mtl_epoch_stats *s, void *user) {
    mtl_epoch_stats *log = *(mtl_epoch_stats **)user;
    log[s->epoch] = *s;
}

/* best-on-validation keeps the best epoch's parameters: with a huge learning rate late
 * epochs get worse, and the kept model must score its recorded best accuracy */
static void test_best_on_val(void) {
    mtl_data_spec d = small_sim();
    mtl_dataset train, val;
    memset(&train, 0, sizeof train), memset(&val, 0, sizeof val);
    CHECK_OK(mtl_data_load(&d, 1, &train, &val, NULL));
    CHECK_OK(mtl_dataset_transform(&train, d.norm, d.domain));
    CHECK_OK(mtl_dataset_transform(&val, d.norm, d.domain));
    mtl_model_config mc = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = 256};
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("tiny", &mc, 3, &m));
    mtl_train_config tc = {.epochs = 6, .batch_size = 20, .opt = mtl_opt_defaults(MTL_OPT_ADAM), .seed = 3,
                           .weighting = "dwa", .best_on_val = true};
    tc.opt.lr = 0.05f;
    mtl_epoch_stats log[6];
    memset(log, 0, sizeof log);
    struct cbctx {
        mtl_epoch_stats *log;
    } ctx = {log};
    CHECK_OK(mtl_train(m, &train, &val, &tc, record_epoch, &ctx));
    int best = log[5].best_epoch;
    CHECK(best >= 0 && best <= 5, "a best epoch is reported (%d)", best);
    double loss[2], acc[2];
    CHECK_OK(mtl_evaluate(m, &val, 20, loss, acc));
    CHECK_CLOSE(0.5 * (acc[0] + acc[1]), 0.5 * (log[best].eval_acc[0] + log[best].eval_acc[1]), 1e-12, 0,
                "the kept model scores the best epoch's validation accuracy");
    tc.best_on_val = true;
    CHECK(mtl_train(m, &train, NULL, &tc, NULL, NULL) == MTL_ERR_ARG, "best-on-val without validation data");
    mtl_model_free(m);
    mtl_dataset_free(&train), mtl_dataset_free(&val);
}

int main(void) {
    RUN(test_ew);
    RUN(test_dwa);
    RUN(dwa_reference);
    RUN(test_metrics);
    RUN(test_best_on_val);
    RUN(test_experiment);
    return th_summary();
}
