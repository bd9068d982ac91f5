/* Experiments: a data source and protocol, a model and recipe, several seeds; results as
 * mean +/- std, written as log CSV, checkpoint, summary.json and report.html
 * (src/train/experiment.c, src/train/outputs.c). */
#ifndef MTL_EXPERIMENT_H
#define MTL_EXPERIMENT_H

#include "mtl/report.h"
#include "mtl/tabular.h"
#include "mtl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { MTL_SOURCE_SIM, MTL_SOURCE_CWRU, MTL_SOURCE_MANIFEST, MTL_SOURCE_TABLE } mtl_source_kind;

typedef struct {
    mtl_source_kind source;
    const char *path;      /* CWRU directory or manifest CSV */
    int load;              /* CWRU / simulator motor load (0..3) */
    int test_load;         /* -1: test on the same records; else cross-load: test windows from this load */
    const char *channel;   /* "DE" (NULL), "FE", "BA" */
    double sim_seconds;    /* simulator record length (10 s) */
    mtl_window_config win;
    mtl_norm norm;
    mtl_domain domain;
    /* tabular data (MTL_SOURCE_TABLE): a census-income preset (census_group 1 or 2, path = the
     * directory of its files) or a description file with its training and test files. The test
     * file is split 1:1 into validation and test (mtl_dataset_split_half with split_seed). */
    int census_group;
    const char *education_set; /* group 2: '|'-separated values (NULL: mtl_census_default_education) */
    const char *schema;        /* description file (when census_group is 0) */
    const char *train_file, *test_file;
    int hash_buckets;          /* > 0: Co-AMTL's hashed input (overrides the description's) */
    uint64_t split_seed;       /* 0 */
} mtl_data_spec;

mtl_data_spec mtl_data_spec_defaults(void); /* simulator, load 0, MTAGN windows, no normalisation, time */
/* "cwru load 0, split mtagn, 10/20/160 per class, window 2048/512, norm none, time" */
void mtl_data_spec_describe(const mtl_data_spec *s, char *buf, size_t size);
/* reads the records and cuts the raw (untransformed) windows; train/val/test may be NULL */
mtl_status mtl_data_load(const mtl_data_spec *s, uint64_t seed, mtl_dataset *train, mtl_dataset *val, mtl_dataset *test);
/* tabular sources: the schema (preset or file, hashing applied), the encoder fitted on the
 * training file, the encoded training rows and the 1:1 split of the test file */
mtl_status mtl_table_schema(const mtl_data_spec *s, mtl_tab_schema *out);
mtl_status mtl_table_load(const mtl_data_spec *s, mtl_tab_encoder **enc, mtl_dataset *train, mtl_dataset *val,
                          mtl_dataset *test);
/* the same rows encoded with a given encoder (e.g. a checkpoint's); any output may be NULL */
mtl_status mtl_table_encode(const mtl_data_spec *s, const mtl_tab_encoder *e, mtl_dataset *train, mtl_dataset *val,
                            mtl_dataset *test);
/* fills cfg's input fields (in_channels, length, tab.n_ids, n_cont, vocab, hash_buckets) from e */
void mtl_tab_model_input(const mtl_tab_encoder *e, mtl_model_config *cfg);

typedef struct {
    const char *model;        /* registry name */
    unsigned model_options;   /* MTL_MODEL_* */
    mtl_tab_model_config tab; /* tabular model sizes (input fields come from the data) */
    mtl_train_config train;   /* epochs, batch, optimizer, weighting, best_on_val */
    int n_seeds;              /* 5 */
    uint64_t seed;            /* first seed; seed i = seed + i */
    int n_train_per;          /* > 0: a sample-size sweep over train_per[] windows per record */
    int train_per[8];
    int n_snr;                /* > 0: also test with noise at each SNR (dB), test data only */
    double snr[16];
    int n_cross;              /* > 0: also test on the test windows of each of these loads (cross-load) */
    int cross_loads[4];
    const char *out_dir;      /* NULL: no files */
    bool report;              /* write report.html (needs out_dir) */
    bool quiet;               /* no progress */
    int progress_fd_is_tty;   /* progress lines on stderr use \r when set */
    const char *command_line; /* recorded in summary.json and the report */
} mtl_experiment_config;

mtl_experiment_config mtl_experiment_defaults(void);

/* the result of one run (one seed at one sample size) */
typedef struct {
    uint64_t seed;
    int train_per;
    mtl_metrics test;               /* clean test data */
    mtl_metrics noisy[16];          /* per SNR */
    mtl_metrics cross[4];           /* per cross-load test load */
    double train_seconds;
    int epochs;                     /* epochs run (fewer than asked when early stopping ended the run) */
    int best_epoch;                 /* the epoch kept (best on validation), -1: the last */
    mtl_epoch_stats *log;           /* [epochs] */
} mtl_run_result;

typedef struct {
    char model[32];
    char data[256];                 /* mtl_data_spec_describe */
    int n_tasks;
    char task_names[MTL_MAX_TASKS][MTL_TASK_NAME_MAX];
    int n_classes[MTL_MAX_TASKS];
    char class_names[MTL_MAX_TASKS][MTL_MAX_NAMED_CLASSES][MTL_CLASS_NAME_MAX];
    int n_params;
    int n_runs;
    mtl_run_result *runs;           /* [n_sweep][n_seeds], sweep-major */
    int n_sweep, n_seeds, n_snr, n_cross;
    int train_per[8];
    double snr[16];
    int load, cross_loads[4];       /* the training load and the cross-load test loads */
    int n_train, n_val, n_test;     /* windows (first sweep point) */
    bool tabular;                   /* tabular data: AUC and log loss are the headline metrics */
    char inputs[256];               /* tabular: what the model reads ("31 nominal fields embedded (dim 8) + 7 continuous") */
    mtl_tab_model_config tab;       /* tabular: the model sizes used (defaults filled in) */
    int select_task;                /* tabular: the task whose validation AUC selected the epoch (-1: none) */
} mtl_experiment_result;

/* progress: called after every epoch of every run (may be NULL) */
typedef void (*mtl_progress_fn)(const mtl_experiment_config *c, int run, int n_runs, const mtl_epoch_stats *s,
                                void *user);

mtl_status mtl_experiment_run(const mtl_data_spec *d, const mtl_experiment_config *c, mtl_progress_fn progress,
                              void *user, mtl_experiment_result *out);
void mtl_experiment_result_free(mtl_experiment_result *r);

/* mean and sample std (n-1; 0 for one value) */
void mtl_mean_std(const double *x, int n, double *mean, double *std);
/* "99.44 ± 0.44" of fractions as percentages */
void mtl_format_pct(double mean, double std, char *buf, size_t size);

/* result tables: per task accuracy / macro-F1 (+ joint); the sweep, noise and cross-load
 * tables (NULL when that protocol was not run). Any output may be NULL. */
mtl_status mtl_experiment_tables(const mtl_experiment_result *r, mtl_table **summary, mtl_table **sweep,
                                 mtl_table **noise, mtl_table **cross);
/* one table comparing n results of the same data (e.g. mtl compare), a row per result named by its
 * model: tabular: per task test AUC mean ± std and best seed, epochs run, s/epoch, and a note with
 * the data, inputs, selection and seeds; signals: per task accuracy (+ joint), train s/seed */
mtl_status mtl_experiment_compare_table(const mtl_experiment_result *res, int n, mtl_table **out);
/* the weighting study (src/train/study.c): a row per result, res[i] trained under
 * weightings[i] (and the baseline last, when given): per task the test accuracy (signals)
 * or AUC (tables) mean ± std over seeds, the multi-task gain Delta_m against the baseline
 * (single-task networks; per seed paired with its run of the same seed), and seconds per
 * epoch. baseline may be NULL (no Delta_m). */
mtl_status mtl_experiment_study_table(const mtl_experiment_result *res, const char *const *weightings, int n,
                                      const mtl_experiment_result *baseline, mtl_table **out);
/* Delta_m = 100/K sum_k (m_k - b_k) / b_k for metrics where higher is better */
double mtl_delta_m(const double *m, const double *b, int K);

/* the summary JSON to a stream */
mtl_status mtl_experiment_print_json(const mtl_experiment_result *r, const mtl_data_spec *d,
                                     const mtl_experiment_config *c, FILE *f);
/* summary.json (atomically) */
mtl_status mtl_experiment_write_json(const mtl_experiment_result *r, const mtl_data_spec *d,
                                     const mtl_experiment_config *c, const char *path);

/* ---- checkpoints with what is needed to use them (src/train/outputs.c) ------------
 * The safetensors file holds the parameters under the PyTorch reference module's
 * state_dict names, and in its metadata the model, tasks, classes and input pipeline. */
typedef struct {
    char model[32];
    unsigned options;
    int n_tasks;
    char task_names[MTL_MAX_TASKS][MTL_TASK_NAME_MAX];
    int n_classes[MTL_MAX_TASKS];
    char class_names[MTL_MAX_TASKS][MTL_MAX_NAMED_CLASSES][MTL_CLASS_NAME_MAX];
    int channels, length;  /* model input */
    int window, stride;    /* raw window length and stride used to cut recordings */
    mtl_norm norm;
    mtl_domain domain;
    double fs;             /* sampling rate of the training windows (0: unknown) */
    mtl_tab_model_config tab; /* tabular models: sizes and input fields */
    char *encoder;         /* tabular: the fitted encoder as JSON (mtl_tab_encoder_to_json); NULL otherwise.
                              Saving reads it; loading mallocs it (mtl_checkpoint_info_free) */
} mtl_checkpoint_info;

mtl_status mtl_checkpoint_save(const mtl_model *m, const mtl_checkpoint_info *info, const char *path);
/* creates the model named in the file and loads its parameters */
mtl_status mtl_checkpoint_load(const char *path, mtl_model **m, mtl_checkpoint_info *info);
void mtl_checkpoint_info_free(mtl_checkpoint_info *info);

#ifdef __cplusplus
}
#endif
#endif
