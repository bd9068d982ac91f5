/* Experiments: load a data source under a protocol, train a model over several seeds
 * (and sample sizes), evaluate on clean and noisy test data, collect the results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/experiment.h"
#include "train/train_internal.h"

mtl_data_spec mtl_data_spec_defaults(void) {
    mtl_data_spec s;
    memset(&s, 0, sizeof s);
    s.source = MTL_SOURCE_SIM;
    s.test_load = -1;
    s.sim_seconds = 10.0;
    s.win = mtl_window_defaults();
    s.norm = MTL_NORM_NONE;
    s.domain = MTL_DOMAIN_TIME;
    return s;
}

static const char *split_name(mtl_split_kind k) {
    return k == MTL_SPLIT_MTAGN ? "mtagn" : k == MTL_SPLIT_RANDOM ? "random" : "time";
}
static const char *norm_name(mtl_norm n) {
    return n == MTL_NORM_ZSCORE ? "zscore" : n == MTL_NORM_MINMAX ? "minmax" : n == MTL_NORM_PM1 ? "pm1" : "none";
}

void mtl_data_spec_describe(const mtl_data_spec *s, char *buf, size_t size) {
    if (s->source == MTL_SOURCE_TABLE) {
        char hash[48] = "";
        if (s->hash_buckets > 0) snprintf(hash, sizeof hash, ", hashed input (%d ids)", s->hash_buckets);
        if (s->census_group)
            snprintf(buf, size, "census-income group %d (train file; test file split 1:1 into validation and test, "
                     "seed %llu)%s", s->census_group, (unsigned long long)s->split_seed, hash);
        else
            snprintf(buf, size, "%s: %s (test file %s split 1:1 into validation and test, seed %llu)%s",
                     s->schema ? s->schema : "?", s->train_file ? s->train_file : "?", s->test_file ? s->test_file : "?",
                     (unsigned long long)s->split_seed, hash);
        return;
    }
    char src[160], xl[32] = "", rs[48] = "";
    if (s->source == MTL_SOURCE_CWRU) snprintf(src, sizeof src, "cwru load %d (%s)", s->load, s->channel ? s->channel : "DE");
    else if (s->source == MTL_SOURCE_SIM) snprintf(src, sizeof src, "simulated load %d", s->load);
    else snprintf(src, sizeof src, "manifest %s", s->path ? s->path : "?");
    if (s->test_load >= 0) snprintf(xl, sizeof xl, " -> test load %d", s->test_load);
    if (s->win.resample_fs > 0) snprintf(rs, sizeof rs, ", resampled to %g Hz", s->win.resample_fs);
    snprintf(buf, size, "%s%s, split %s, %d/%d/%d per record, window %d stride %d, norm %s, %s%s", src, xl,
             split_name(s->win.split), s->win.train_per_record, s->win.val_per_record, s->win.test_per_record,
             s->win.length, s->win.stride, norm_name(s->norm), s->domain == MTL_DOMAIN_FFT ? "fft" : "time", rs);
}

static mtl_status open_records(const mtl_data_spec *s, int load, mtl_recordset *r) {
    switch (s->source) {
    case MTL_SOURCE_CWRU:
        if (!s->path) return mtl_error(MTL_ERR_ARG, "data cwru: no directory given (--data-dir)");
        return mtl_cwru_open(s->path, load, s->channel, r);
    case MTL_SOURCE_MANIFEST:
        if (!s->path) return mtl_error(MTL_ERR_ARG, "data manifest: no manifest file given (--data-dir)");
        return mtl_manifest_open(s->path, r);
    case MTL_SOURCE_SIM:
        /* the test load gets its own noise: another seed */
        return mtl_simulate_cwru(load, s->sim_seconds > 0 ? s->sim_seconds : 10.0, 2021u + (uint64_t)load, r);
    case MTL_SOURCE_TABLE:
        return mtl_error(MTL_ERR_ARG, "data: a table has no recordings (use mtl_table_load)");
    }
    return mtl_error(MTL_ERR_ARG, "data: unknown source %d", (int)s->source);
}

mtl_status mtl_table_schema(const mtl_data_spec *s, mtl_tab_schema *out) {
    if (!s || !out) return mtl_error(MTL_ERR_ARG, "table_schema: null argument");
    mtl_status st;
    if (s->census_group) st = mtl_tab_schema_census(s->census_group, s->education_set, out);
    else if (s->schema) st = mtl_tab_schema_read(s->schema, out);
    else return mtl_error(MTL_ERR_ARG, "data table: no description file given (--schema FILE)");
    if (!st && s->hash_buckets > 0) out->hash_buckets = s->hash_buckets;
    return st;
}

/* the spec's training and test files */
static mtl_status table_files(const mtl_data_spec *s, char *train_path, char *test_path, size_t size) {
    if (s->census_group) {
        if (!s->path) return mtl_error(MTL_ERR_ARG, "data census-income: no directory given (--data-dir)");
        return mtl_census_files(s->path, train_path, test_path, size);
    }
    if (!s->train_file || !s->test_file)
        return mtl_error(MTL_ERR_ARG, "data table: give the training and test files (--train-file, --test-file)");
    snprintf(train_path, size, "%s", s->train_file);
    snprintf(test_path, size, "%s", s->test_file);
    return MTL_OK;
}

mtl_status mtl_table_encode(const mtl_data_spec *s, const mtl_tab_encoder *e, mtl_dataset *train, mtl_dataset *val,
                            mtl_dataset *test) {
    if (!s || !e) return mtl_error(MTL_ERR_ARG, "table_encode: null argument");
    char train_path[MTL_PATH_MAX], test_path[MTL_PATH_MAX];
    mtl_status st = table_files(s, train_path, test_path, sizeof train_path);
    if (!st && train) st = mtl_tab_encode_file(e, train_path, true, train);
    if (st || (!val && !test)) return st;
    mtl_dataset all, a, b;
    memset(&all, 0, sizeof all), memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    st = mtl_tab_encode_file(e, test_path, true, &all);
    if (!st) st = mtl_dataset_split_half(&all, s->split_seed, &a, &b);
    mtl_dataset_free(&all);
    if (!st) {
        if (val) *val = a;
        else mtl_dataset_free(&a);
        if (test) *test = b;
        else mtl_dataset_free(&b);
    } else if (train) {
        mtl_dataset_free(train);
    }
    return st;
}

mtl_status mtl_table_load(const mtl_data_spec *s, mtl_tab_encoder **enc, mtl_dataset *train, mtl_dataset *val,
                          mtl_dataset *test) {
    if (!s || !enc) return mtl_error(MTL_ERR_ARG, "table_load: null argument");
    *enc = NULL;
    mtl_tab_schema *schema = malloc(sizeof *schema);
    if (!schema) return mtl_error(MTL_ERR_NOMEM, "table_load: out of memory");
    char train_path[MTL_PATH_MAX], test_path[MTL_PATH_MAX];
    mtl_status st = mtl_table_schema(s, schema);
    if (!st) st = table_files(s, train_path, test_path, sizeof train_path);
    if (!st) st = mtl_tab_fit(schema, train_path, enc, train);
    if (!st) st = mtl_table_encode(s, *enc, NULL, val, test);
    free(schema);
    if (st) {
        if (train && *enc) mtl_dataset_free(train); /* fitted (and encoded) before the test file failed */
        mtl_tab_encoder_free(*enc);
        *enc = NULL;
    }
    return st;
}

void mtl_tab_model_input(const mtl_tab_encoder *e, mtl_model_config *cfg) {
    mtl_tab_model_config *t = &cfg->tab;
    t->n_ids = mtl_tab_encoder_n_ids(e), t->n_cont = mtl_tab_encoder_n_cont(e);
    t->hash_buckets = mtl_tab_encoder_schema(e)->hash_buckets;
    for (int i = 0; i < t->n_ids && i < MTL_MAX_FIELDS; i++) t->vocab[i] = mtl_tab_encoder_vocab(e, i);
    cfg->in_channels = 1, cfg->length = t->n_ids + t->n_cont;
}

mtl_status mtl_data_load(const mtl_data_spec *s, uint64_t seed, mtl_dataset *train, mtl_dataset *val,
                         mtl_dataset *test) {
    if (!s) return mtl_error(MTL_ERR_ARG, "data_load: null spec");
    if (s->source == MTL_SOURCE_TABLE) {
        mtl_tab_encoder *e = NULL;
        mtl_status st = mtl_table_load(s, &e, train, val, test);
        mtl_tab_encoder_free(e);
        return st;
    }
    if (s->test_load >= 0 && s->source == MTL_SOURCE_MANIFEST)
        return mtl_error(MTL_ERR_ARG, "data manifest: a test load (cross-load) needs --data cwru or sim");
    mtl_recordset r;
    memset(&r, 0, sizeof r);
    mtl_window_config w = s->win;
    w.seed = seed;
    mtl_status st = open_records(s, s->load, &r);
    /* a part with no windows requested is not made (the windowing refuses empty parts) */
    if (w.val_per_record == 0) val = NULL;
    if (!st) st = mtl_windows_make(&r, &w, train, val, s->test_load >= 0 ? NULL : test);
    mtl_recordset_free(&r);
    if (!st && s->test_load >= 0 && test) {
        /* cross-load: every test window comes from the other load's records */
        memset(&r, 0, sizeof r);
        st = open_records(s, s->test_load, &r);
        if (!st) st = mtl_windows_make(&r, &w, NULL, NULL, test);
        mtl_recordset_free(&r);
    }
    return st;
}

mtl_experiment_config mtl_experiment_defaults(void) {
    mtl_experiment_config c;
    memset(&c, 0, sizeof c);
    c.model = "mtagn";
    c.train.epochs = 100;
    c.train.batch_size = 50;
    c.train.opt = mtl_opt_defaults(MTL_OPT_ADAM);
    c.train.weighting = "dwa";
    c.train.wcfg = mtl_weighting_defaults();
    c.train.wcfg.lr = 0; /* the optimizer's */
    c.n_seeds = 5;
    c.seed = 1;
    c.report = true;
    return c;
}

void mtl_mean_std(const double *x, int n, double *mean, double *std) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m = n ? m / n : 0;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *std = n > 1 ? sqrt(v / (n - 1)) : 0;
}

void mtl_format_pct(double mean, double std, char *buf, size_t size) {
    snprintf(buf, size, "%.2f \xC2\xB1 %.2f", 100 * mean, 100 * std);
}

void mtl_experiment_result_free(mtl_experiment_result *r) {
    if (!r) return;
    for (int i = 0; i < r->n_runs && r->runs; i++) {
        mtl_metrics_free(&r->runs[i].test);
        for (int j = 0; j < 16; j++) mtl_metrics_free(&r->runs[i].noisy[j]);
        for (int j = 0; j < 4; j++) mtl_metrics_free(&r->runs[i].cross[j]);
        free(r->runs[i].log);
    }
    free(r->runs);
    memset(r, 0, sizeof *r);
}

typedef struct {
    const mtl_experiment_config *c;
    mtl_progress_fn fn;
    void *user;
    int run, n_runs;
    mtl_run_result *rr;
} progress_ctx;

static void on_epoch(const mtl_epoch_stats *s, void *user) {
    progress_ctx *p = user;
    p->rr->log[s->epoch] = *s;
    p->rr->epochs = s->epoch + 1;
    p->rr->best_epoch = s->best_epoch;
    if (p->fn) p->fn(p->c, p->run, p->n_runs, s, p->user);
}

/* noisy copy of the raw test windows, transformed like the clean data */
static mtl_status noisy_test(const mtl_dataset *raw, const mtl_data_spec *d, double snr, uint64_t seed,
                             mtl_dataset *out) {
    mtl_status s = mtl_dataset_copy(raw, out);
    if (!s) s = mtl_dataset_add_noise(out, snr, seed);
    if (!s) s = mtl_dataset_transform(out, d->norm, d->domain);
    if (s) mtl_dataset_free(out);
    return s;
}

/* the labels, names and rate of d without its signals (what the report needs of the test set) */
static mtl_status labels_only(const mtl_dataset *d, mtl_dataset *out) {
    mtl_status s = mtl_dataset_alloc(out, d->n, 1, 1, d->n_tasks);
    if (s) return s;
    memcpy(out->n_classes, d->n_classes, sizeof out->n_classes);
    memcpy(out->task_names, d->task_names, sizeof out->task_names);
    memcpy(out->class_names, d->class_names, sizeof out->class_names);
    out->fs = d->fs;
    for (int k = 0; k < d->n_tasks; k++) memcpy(out->y[k], d->y[k], (size_t)d->n * sizeof(int32_t));
    memset(out->x, 0, (size_t)d->n * sizeof(float));
    return MTL_OK;
}

/* what a tabular model reads, in words */
static void describe_inputs(const mtl_tab_encoder *e, const mtl_tab_model_config *t, char *buf, size_t size) {
    const mtl_tab_schema *sc = mtl_tab_encoder_schema(e);
    int n_log = 0;
    for (int j = 0; j < t->n_cont; j++) n_log += sc->cols[mtl_tab_encoder_cont_column(e, j)].log1p;
    if (t->hash_buckets > 0)
        snprintf(buf, size, "%d fields hashed into %d ids, their embeddings (dim %d) summed", t->n_ids, t->hash_buckets,
                 t->emb_dim);
    else
        snprintf(buf, size, "%d nominal fields embedded (dim %d, vocabularies from the training file, id 0 for "
                 "unseen values) + %d continuous (z-score, log1p first on %d)", t->n_ids, t->emb_dim, t->n_cont, n_log);
}

mtl_status mtl_experiment_run(const mtl_data_spec *d, const mtl_experiment_config *c, mtl_progress_fn progress,
                              void *user, mtl_experiment_result *out) {
    if (!d || !c || !out) return mtl_error(MTL_ERR_ARG, "experiment: null argument");
    memset(out, 0, sizeof *out);
    if (c->n_seeds < 1 || c->n_seeds > 100) return mtl_error(MTL_ERR_ARG, "experiment: %d seeds (expected 1..100)", c->n_seeds);
    if (c->n_train_per < 0 || c->n_train_per > 8 || c->n_snr < 0 || c->n_snr > 16 || c->n_cross < 0 || c->n_cross > 4)
        return mtl_error(MTL_ERR_ARG, "experiment: at most 8 sample sizes, 16 SNRs and 4 cross-load test loads");
    if (c->n_cross && d->source == MTL_SOURCE_MANIFEST)
        return mtl_error(MTL_ERR_ARG, "experiment: cross-load tests need --data cwru or sim");
    bool tab = d->source == MTL_SOURCE_TABLE;
    if (tab && (c->n_train_per || c->n_snr || c->n_cross))
        return mtl_error(MTL_ERR_ARG, "experiment: sample-size sweeps, noise and cross-load tests are for signals, "
                         "not tables");
    if (tab != mtl_model_kind_is_tabular(c->model))
        return mtl_error(MTL_ERR_ARG, "experiment: model %s %s", c->model,
                         tab ? "takes signal windows, not table rows (tabular models: single, shared-bottom, omoe, "
                               "mmoe, cgc, ple, amtl, coamtl)"
                             : "takes table rows (--data census-income or table)");
    const mtl_model_kind *kind = mtl_model_kind_find(c->model);
    if (!kind) return MTL_ERR_ARG;
    int n_sweep = c->n_train_per ? c->n_train_per : 1;
    out->n_sweep = n_sweep, out->n_seeds = c->n_seeds, out->n_snr = c->n_snr;
    out->n_runs = n_sweep * c->n_seeds;
    snprintf(out->model, sizeof out->model, "%s", c->model);
    mtl_data_spec_describe(d, out->data, sizeof out->data);
    for (int i = 0; i < c->n_snr; i++) out->snr[i] = c->snr[i];
    out->n_cross = c->n_cross, out->load = d->load;
    for (int i = 0; i < c->n_cross; i++) out->cross_loads[i] = c->cross_loads[i];
    if (!(out->runs = calloc((size_t)out->n_runs, sizeof *out->runs)))
        return mtl_error(MTL_ERR_NOMEM, "experiment: out of memory");
    mtl_train_config tc = c->train;
    /* one tape for every run, its training, validation and tests: one arena, reused */
    mtl_tape *tape = NULL;
    if (mtl_tape_create(&tape)) {
        mtl_experiment_result_free(out);
        return mtl_last_status();
    }
    tc.tape = tape;
    /* single-task networks are trained with equal weights (independent networks, Adam) */
    if (kind->single_task) tc.weighting = "ew";
    mtl_status s = MTL_OK;
    mtl_model *first_model = NULL;
    mtl_dataset first_test;
    mtl_predictions first_pred;
    mtl_tab_encoder *enc = NULL;
    out->tabular = tab;
    out->select_task = tab && tc.best_on_val && tc.select == MTL_SELECT_AUC ? tc.select_task : -1;
    memset(&first_test, 0, sizeof first_test);
    memset(&first_pred, 0, sizeof first_pred);
    for (int sw = 0; sw < n_sweep && !s; sw++) {
        mtl_data_spec ds = *d;
        if (c->n_train_per) ds.win.train_per_record = c->train_per[sw];
        out->train_per[sw] = ds.win.train_per_record;
        mtl_dataset train, val, test_raw, test, cross[4];
        memset(&train, 0, sizeof train), memset(&val, 0, sizeof val);
        memset(&test_raw, 0, sizeof test_raw), memset(&test, 0, sizeof test), memset(cross, 0, sizeof cross);
        if (tab) {
            /* rows are encoded once; the validation/test split has its own seed */
            s = mtl_table_load(&ds, &enc, &train, &val, &test);
        } else {
            /* the split depends on the first seed only, so every seed sees the same windows */
            s = mtl_data_load(&ds, c->seed, &train, &val, &test_raw);
            if (!s) s = mtl_dataset_transform(&train, ds.norm, ds.domain);
            if (!s && val.n) s = mtl_dataset_transform(&val, ds.norm, ds.domain);
            if (!s) s = mtl_dataset_copy(&test_raw, &test);
            if (!s) s = mtl_dataset_transform(&test, ds.norm, ds.domain);
            if (!s && c->n_snr == 0) mtl_dataset_free(&test_raw); /* only the noise tests start from raw windows */
        }
        for (int j = 0; j < c->n_cross && !s; j++) {
            /* the test windows of another load, cut and transformed like the own test windows */
            mtl_data_spec xs = ds;
            xs.test_load = c->cross_loads[j];
            s = mtl_data_load(&xs, c->seed, NULL, NULL, &cross[j]);
            if (!s) s = mtl_dataset_transform(&cross[j], ds.norm, ds.domain);
        }
        if (!s && sw == 0) {
            out->n_tasks = train.n_tasks;
            memcpy(out->task_names, train.task_names, sizeof out->task_names);
            memcpy(out->n_classes, train.n_classes, sizeof out->n_classes);
            memcpy(out->class_names, train.class_names, sizeof out->class_names);
            out->n_train = train.n, out->n_val = val.n, out->n_test = test.n;
        }
        for (int si = 0; si < c->n_seeds && !s; si++) {
            int run = sw * c->n_seeds + si;
            mtl_run_result *rr = &out->runs[run];
            rr->seed = c->seed + (uint64_t)si;
            rr->train_per = ds.win.train_per_record;
            rr->epochs = 0;
            rr->best_epoch = -1;
            mtl_model_config mc = {.n_tasks = train.n_tasks, .in_channels = train.channels, .length = train.length,
                                   .options = c->model_options};
            memcpy(mc.n_classes, train.n_classes, sizeof mc.n_classes);
            if (tab) mc.tab = c->tab, mtl_tab_model_input(enc, &mc);
            mtl_model *m = NULL;
            if ((s = mtl_model_create(c->model, &mc, rr->seed, &m))) break;
            out->n_params = (int)mtl_params_size(m->params);
            if (tab) {
                out->tab = m->cfg.tab;
                describe_inputs(enc, &m->cfg.tab, out->inputs, sizeof out->inputs);
            }
            if (!(rr->log = calloc((size_t)tc.epochs, sizeof *rr->log))) s = mtl_error(MTL_ERR_NOMEM, "experiment: out of memory");
            progress_ctx pc = {c, progress, user, run, out->n_runs, rr};
            tc.seed = rr->seed;
            double t0 = mtl__now();
            if (!s) s = mtl_train(m, &train, val.n ? &val : NULL, &tc, on_epoch, &pc);
            rr->train_seconds = mtl__now() - t0;
            mtl_predictions p;
            memset(&p, 0, sizeof p);
            bool keep = run == 0;
            if (!s) s = mtl_predict_on(m, tape, &test, tc.batch_size, keep, &p);
            if (!s) s = mtl_metrics_compute(&test, &p, &rr->test);
            for (int j = 0; j < c->n_snr && !s; j++) {
                mtl_dataset nt;
                mtl_predictions np;
                /* fresh noise per window, and per seed and SNR */
                s = noisy_test(&test_raw, &ds, c->snr[j], rr->seed * 1000003u + (uint64_t)j, &nt);
                if (!s) s = mtl_predict_on(m, tape, &nt, tc.batch_size, false, &np);
                if (!s) s = mtl_metrics_compute(&nt, &np, &rr->noisy[j]);
                mtl_predictions_free(&np);
                mtl_dataset_free(&nt);
            }
            for (int j = 0; j < c->n_cross && !s; j++) {
                mtl_predictions xp;
                s = mtl_predict_on(m, tape, &cross[j], tc.batch_size, false, &xp);
                if (!s) s = mtl_metrics_compute(&cross[j], &xp, &rr->cross[j]);
                mtl_predictions_free(&xp);
            }
            if (!s && keep) {
                first_model = m, first_pred = p;
                s = labels_only(&test, &first_test);
            } else {
                mtl_predictions_free(&p);
                mtl_model_free(m);
            }
        }
        mtl_dataset_free(&train), mtl_dataset_free(&val), mtl_dataset_free(&test_raw), mtl_dataset_free(&test);
        for (int j = 0; j < 4; j++) mtl_dataset_free(&cross[j]);
    }
    mtl_tape_free(tape);
    if (!s && c->out_dir) s = mtl__experiment_outputs(out, d, c, first_model, &first_test, &first_pred, enc);
    mtl_tab_encoder_free(enc);
    mtl_model_free(first_model);
    mtl_predictions_free(&first_pred);
    mtl_dataset_free(&first_test);
    if (s) mtl_experiment_result_free(out);
    return s;
}
