/* Flags shared by train, compare, eval and demo: the data source and protocol, the
 * recipe, seeds; turned into an mtl_data_spec and an mtl_experiment_config. */
#ifndef MTL_CLI_EXPFLAGS_H
#define MTL_CLI_EXPFLAGS_H
#include "args.h"
#include "mtl/experiment.h"

typedef struct {
    /* data */
    const char *data, *data_dir, *channel, *split, *norm, *input, *train_per, *snr, *cross_loads;
    int load, test_load, window, stride, val_per, test_per;
    float train_frac, val_frac, resample, sim_seconds;
    /* recipe */
    const char *model, *weighting, *out;
    int epochs, batch, seeds, threads;
    float lr, temperature;
    uint64_t seed;
    bool best_on_val, per_task_units, quiet, no_report;
    const char *format;
    /* tables */
    int task_group, hash, patience, emb_dim, units, experts, shared_experts, task_experts, levels;
    const char *education_set, *schema, *train_file, *test_file, *tower, *optimizer, *select, *attention_scale;
    uint64_t split_seed;
    float momentum, weight_decay;
    /* weighting strategies' settings (mtl_weighting_config) */
    float uw_init, weighting_lr, famo_beta, famo_gamma, gradnorm_alpha, cagrad_c, gradvac_beta, nash_max_norm;
    int nash_iters;
    const char *mgda_norm, *imtl_mode;
    bool no_cagrad_rescale, aligned_weighted, rep_grad;
} expflags;

/* the defaults: the MTAGN recipe and protocol; with tabular, the tabular recipe (census-income
 * group 1, Adam 5e-4, batch 1024, 30 epochs, early stopping after 4 epochs without a better
 * validation AUC of the main task, whose best epoch is kept) */
void expflags_defaults(expflags *f, bool tabular);
/* whether argv asks for table data (--data census-income|table) or a tabular model
 * (--model/--models), so that the tabular defaults apply */
bool expflags_wants_tabular(int argc, char **argv);
/* appends the data flags (with_protocol: also train/val/test counts, sweep and SNR) and,
 * with_recipe, the training flags to specs; returns the new count */
int expflags_specs(expflags *f, arg_spec *specs, int n, bool with_protocol, bool with_recipe);
/* builds the data spec and experiment config; prints an error naming the flag and returns
 * 2 on bad values; 0 otherwise */
int expflags_build(const char *cmd, const expflags *f, mtl_data_spec *d, mtl_experiment_config *c);
/* the default CWRU directory: $MTL_DATA/cwru, else ../shared/data/cwru, else NULL */
const char *expflags_default_cwru(void);
/* the same for census-income */
const char *expflags_default_census(void);
/* progress on stderr (epochs, ETA) when stderr is a terminal */
void expflags_progress(const mtl_experiment_config *c, int run, int n_runs, const mtl_epoch_stats *s, void *user);
/* prints the tables of a result in the chosen format (text, markdown) to stdout */
void expflags_print(const mtl_experiment_result *r, const char *format);
/* splits a comma-separated list in place into at most max names; returns the count */
int expflags_split(char *list, char **names, int max);
/* the same for --models, each checked against the registry: the count, or -1 after printing
 * a one-line error (an unknown model, an empty list) */
int expflags_models(const char *cmd, char *list, char **names, int max);
/* writes t into dir as <stem>.csv, <stem>.md and report.html (titled, the command line under
 * the title); on failure prints a one-line error and returns 1, else 0 */
int expflags_write_table(const char *cmd, const char *dir, const char *stem, const char *title, const mtl_table *t,
                         const char *cmdline);
/* prints "mtl <cmd>: [what: ]<last error>" on its own line */
void expflags_error(const char *cmd, const char *what);
/* "mtl train --model ..." */
void expflags_command_line(int argc, char **argv, const char *cmd, char *buf, size_t size);
/* creates --out DIR if it is not there (dir NULL: nothing); 0, or 1 after a message naming it */
int expflags_make_out(const char *cmd, const char *dir);
#endif
