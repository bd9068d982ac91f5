#include "expflags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void expflags_defaults(expflags *f, bool tabular) {
    memset(f, 0, sizeof *f);
    f->data = "cwru";
    f->data_dir = NULL;
    f->channel = "DE";
    f->split = "mtagn";
    f->norm = "none";
    f->input = "time";
    f->train_per = "10";
    f->snr = "";
    f->cross_loads = "";
    f->load = 0, f->test_load = -1, f->window = 2048, f->stride = 512, f->val_per = 20, f->test_per = 160;
    f->train_frac = 0.5f, f->val_frac = 0.1f, f->resample = 0, f->sim_seconds = 10;
    f->model = "mtagn", f->weighting = "dwa", f->out = NULL;
    f->epochs = 100, f->batch = 50, f->seeds = 5, f->threads = 0;
    f->lr = 1e-3f, f->temperature = 2.0f, f->seed = 1;
    f->format = "text";
    f->task_group = 1, f->education_set = "some-college", f->schema = NULL, f->train_file = NULL, f->test_file = NULL;
    mtl_weighting_config w = mtl_weighting_defaults();
    f->uw_init = (float)w.uw_init, f->weighting_lr = 0, f->famo_beta = (float)w.famo_beta;
    f->famo_gamma = (float)w.famo_gamma, f->gradnorm_alpha = (float)w.gradnorm_alpha, f->cagrad_c = (float)w.cagrad_c;
    f->gradvac_beta = (float)w.gradvac_beta, f->nash_max_norm = (float)w.nash_max_norm, f->nash_iters = w.nash_iters;
    f->mgda_norm = "none", f->imtl_mode = "lg";
    f->tower = "64,32", f->optimizer = "adam", f->select = "auc", f->momentum = 0, f->attention_scale = "sqrt";
    if (tabular) {
        f->data = "census-income", f->model = "mmoe", f->weighting = "ew";
        f->epochs = 30, f->batch = 1024, f->patience = 4, f->lr = 5e-4f;
    }
}

static bool is_tabular_data(const char *v) { return !strcmp(v, "census-income") || !strcmp(v, "table"); }

/* the value of --name in argv (--name VALUE or --name=VALUE), or NULL */
static const char *flag_value(int argc, char **argv, const char *name) {
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) || strncmp(argv[i] + 2, name, n)) continue;
        if (argv[i][2 + n] == '=') return argv[i] + 3 + n;
        if (argv[i][2 + n] == 0 && i + 1 < argc) return argv[i + 1];
    }
    return NULL;
}

bool expflags_wants_tabular(int argc, char **argv) {
    const char *data = flag_value(argc, argv, "data"), *model = flag_value(argc, argv, "model");
    const char *models = flag_value(argc, argv, "models");
    char first[32] = "";
    if (models) sscanf(models, "%31[^,]", first);
    return (data && is_tabular_data(data)) || (model && mtl_model_kind_is_tabular(model)) ||
           (models && mtl_model_kind_is_tabular(first));
}

/* the strategy and every strategy's settings (defaults: the papers', mtl_weighting_defaults) */
static int weighting_specs(expflags *f, arg_spec *s, int n) {
    static char help[512];
    const mtl_weighting_kind *k = mtl_weighting_kinds();
    snprintf(help, sizeof help, "task weighting / gradient combination, one of: ");
    for (int i = 0; k[i].name; i++)
        snprintf(help + strlen(help), sizeof help - strlen(help), "%s%s", i ? ", " : "", k[i].name);
    s[n++] = (arg_spec){"weighting", ARG_STRING, &f->weighting, help, 0, 0};
    s[n++] = (arg_spec){"rep-grad", ARG_BOOL, &f->rep_grad,
                        "gradient strategies (mgda = MGDA-UB, graddrop, imtl, aligned) act on the gradient of the "
                        "shared representation (mt1dcnn, jlcnn, shared-bottom, omoe) instead of the shared parameters "
                        "(no effect on loss-only strategies)", 0, 0};
    s[n++] = (arg_spec){"dwa-temperature", ARG_FLOAT, &f->temperature, "dwa: temperature T", 1e-6, 1e6};
    s[n++] = (arg_spec){"temperature", ARG_FLOAT, &f->temperature, "the same as --dwa-temperature", 1e-6, 1e6};
    s[n++] = (arg_spec){"uw-init", ARG_FLOAT, &f->uw_init, "uw: initial log variance s_k (MTAN: -0.5)", -100, 100};
    s[n++] = (arg_spec){"weighting-lr", ARG_FLOAT, &f->weighting_lr,
                        "uw, imtl, gradnorm: learning rate of the strategy's own parameters (Adam; 0: --lr)", 0, 10};
    s[n++] = (arg_spec){"famo-beta", ARG_FLOAT, &f->famo_beta, "famo: learning rate of the task logits", 1e-9, 100};
    s[n++] = (arg_spec){"famo-gamma", ARG_FLOAT, &f->famo_gamma, "famo: decay of the task logits", 0, 100};
    s[n++] = (arg_spec){"gradnorm-alpha", ARG_FLOAT, &f->gradnorm_alpha, "gradnorm: asymmetry alpha", 0, 100};
    s[n++] = (arg_spec){"mgda-norm", ARG_STRING, &f->mgda_norm,
                        "mgda: gradient normalisation before the min-norm solve: none, l2, loss or loss+", 0, 0};
    s[n++] = (arg_spec){"cagrad-c", ARG_FLOAT, &f->cagrad_c, "cagrad: c in [0, 1)", 0, 0.999999};
    s[n++] = (arg_spec){"no-cagrad-rescale", ARG_BOOL, &f->no_cagrad_rescale,
                        "cagrad: do not divide the combined gradient by 1 + c^2", 0, 0};
    s[n++] = (arg_spec){"gradvac-beta", ARG_FLOAT, &f->gradvac_beta, "gradvac: EMA rate of the cosine targets", 0, 1};
    s[n++] = (arg_spec){"nash-iters", ARG_INT, &f->nash_iters, "nash: convex sub-problems per step", 1, 1000};
    s[n++] = (arg_spec){"nash-max-norm", ARG_FLOAT, &f->nash_max_norm,
                        "nash: clip the combined gradient's norm to this (0: no clip)", 0, 1e9};
    s[n++] = (arg_spec){"imtl-mode", ARG_STRING, &f->imtl_mode,
                        "imtl: lg (loss scales + gradient weights, the full method), g or l", 0, 0};
    s[n++] = (arg_spec){"aligned-weighted", ARG_BOOL, &f->aligned_weighted,
                        "aligned: weight the aligned rows by the loss weights instead of summing them", 0, 0};
    return n;
}

int expflags_specs(expflags *f, arg_spec *s, int n, bool with_protocol, bool with_recipe) {
    s[n++] = (arg_spec){"data", ARG_STRING, &f->data,
                        "data source: cwru, sim (the bearing simulator), manifest (your recordings), census-income "
                        "(UCI, the preset of --task-group) or table (your delimited file, described by --schema)", 0, 0};
    s[n++] = (arg_spec){"data-dir", ARG_STRING, &f->data_dir,
                        "CWRU or census-income directory, or the manifest CSV for --data manifest ((none): "
                        "$MTL_DATA/<source> or ../shared/data/<source>)", 0, 0};
    s[n++] = (arg_spec){"task-group", ARG_INT, &f->task_group,
                        "census-income: 1 = income and never_married, 2 = education and never_married", 1, 2};
    s[n++] = (arg_spec){"education-set", ARG_STRING, &f->education_set,
                        "census-income group 2: the education values that count as 'at least college': a name, "
                        "some-college (some college but no degree, bachelors or higher), any-college (also the two "
                        "associate degrees), college-degree (associate degrees, bachelors or higher), bachelors "
                        "(bachelors or higher), or the values '|'-separated; printed", 0, 0};
    s[n++] = (arg_spec){"schema", ARG_STRING, &f->schema,
                        "--data table: the description file (columns, kinds, tasks; see docs/tabular.md)", 0, 0};
    s[n++] = (arg_spec){"train-file", ARG_STRING, &f->train_file, "--data table: training file (CSV, may be gzip'd)", 0, 0};
    s[n++] = (arg_spec){"test-file", ARG_STRING, &f->test_file,
                        "--data table: test file, split 1:1 into validation and test", 0, 0};
    s[n++] = (arg_spec){"hash", ARG_INT, &f->hash,
                        "tables: hash every field into one table of this many ids, embeddings summed (Co-AMTL's "
                        "input; 0: per-field vocabularies + continuous values)", 0, 1 << 24};
    s[n++] = (arg_spec){"split-seed", ARG_U64, &f->split_seed, "tables: seed of the 1:1 validation/test split", 0, 0};
    s[n++] = (arg_spec){"load", ARG_INT, &f->load, "motor load in hp (cwru, sim)", 0, 3};
    s[n++] = (arg_spec){"channel", ARG_STRING, &f->channel, "CWRU accelerometer: DE (drive end), FE (fan end), BA (base)", 0, 0};
    s[n++] = (arg_spec){"split", ARG_STRING, &f->split,
                        "mtagn (the paper's fixed window permutation), random, or time (leakage-free: disjoint "
                        "train | val | test segments of each record)", 0, 0};
    s[n++] = (arg_spec){"window", ARG_INT, &f->window, "window length in samples", 16, 1 << 24};
    s[n++] = (arg_spec){"stride", ARG_INT, &f->stride, "window stride in samples", 1, 1 << 24};
    s[n++] = (arg_spec){"norm", ARG_STRING, &f->norm, "per-window normalisation: none, zscore, minmax, pm1", 0, 0};
    s[n++] = (arg_spec){"input", ARG_STRING, &f->input, "input domain: time or fft (|X|/N, half the length)", 0, 0};
    s[n++] = (arg_spec){"resample", ARG_FLOAT, &f->resample, "resample every record to this rate in Hz (0: no)", 0, 1e7};
    s[n++] = (arg_spec){"sim-seconds", ARG_FLOAT, &f->sim_seconds, "seconds per simulated record", 1, 3600};
    if (with_protocol) {
        s[n++] = (arg_spec){"train-per-class", ARG_STRING, &f->train_per,
                            "training windows per record (class); a list such as 5,10,20,50 runs a sweep", 0, 0};
        s[n++] = (arg_spec){"val-per-class", ARG_INT, &f->val_per, "validation windows per record", 0, 1 << 20};
        s[n++] = (arg_spec){"test-per-class", ARG_INT, &f->test_per, "test windows per record (0: all remaining)", 0, 1 << 20};
        s[n++] = (arg_spec){"train-frac", ARG_FLOAT, &f->train_frac, "--split time: fraction of each record for training", 0.01, 0.98};
        s[n++] = (arg_spec){"val-frac", ARG_FLOAT, &f->val_frac, "--split time: fraction of each record for validation", 0, 0.9};
        s[n++] = (arg_spec){"test-load", ARG_INT, &f->test_load, "cross-load: test on this load's records (-1: same load)", -1, 3};
        s[n++] = (arg_spec){"cross-loads", ARG_STRING, &f->cross_loads,
                            "also test on these loads' test windows, e.g. 1,2,3: the cross-load table", 0, 0};
        s[n++] = (arg_spec){"snr", ARG_STRING, &f->snr,
                            "also test with white Gaussian noise at these SNRs in dB, e.g. -4,0,4,8 (test data only, "
                            "fresh per window)", 0, 0};
        s[n++] = (arg_spec){"seeds", ARG_INT, &f->seeds, "seeds to run; results are mean +- std over them", 1, 100};
        s[n++] = (arg_spec){"seed", ARG_U64, &f->seed, "first seed (seed i = seed + i); also fixes the split", 0, 0};
    }
    if (with_recipe) {
        s[n++] = (arg_spec){"epochs", ARG_INT, &f->epochs, "training epochs", 1, 1000000};
        s[n++] = (arg_spec){"batch-size", ARG_INT, &f->batch, "windows (or rows) per step", 2, 1 << 20};
        s[n++] = (arg_spec){"lr", ARG_FLOAT, &f->lr, "learning rate", 1e-9, 10};
        n = weighting_specs(f, s, n);
        s[n++] = (arg_spec){"optimizer", ARG_STRING, &f->optimizer, "adam or sgd (PyTorch's update rules)", 0, 0};
        s[n++] = (arg_spec){"momentum", ARG_FLOAT, &f->momentum, "sgd momentum", 0, 0.999};
        s[n++] = (arg_spec){"weight-decay", ARG_FLOAT, &f->weight_decay,
                            "L2 penalty added to the gradients (PyTorch's weight_decay of Adam and SGD)", 0, 1};
        s[n++] = (arg_spec){"best-on-val", ARG_BOOL, &f->best_on_val,
                            "keep the epoch with the best validation criterion (--select) instead of the last "
                            "(always on for tables)", 0, 0};
        s[n++] = (arg_spec){"select", ARG_STRING, &f->select,
                            "tables: the criterion for the kept epoch and early stopping: auc (validation AUC of "
                            "the first, main task) or accuracy (mean over tasks)", 0, 0};
        s[n++] = (arg_spec){"patience", ARG_INT, &f->patience,
                            "stop after this many epochs without a better validation criterion (0: never)", 0, 1000000};
        s[n++] = (arg_spec){"emb-dim", ARG_INT, &f->emb_dim, "tables: embedding width (0: 8; hashed input 128)", 0, 4096};
        s[n++] = (arg_spec){"units", ARG_INT, &f->units,
                            "tables: width of the bottom, of each expert, and AMTL's d (0: 64; amtl/coamtl 128)", 0, 65536};
        s[n++] = (arg_spec){"experts", ARG_INT, &f->experts, "omoe, mmoe, amtl, coamtl: experts (0: 8; amtl/coamtl 3)", 0, 64};
        s[n++] = (arg_spec){"shared-experts", ARG_INT, &f->shared_experts, "cgc, ple: shared experts (0: 4)", 0, 64};
        s[n++] = (arg_spec){"task-experts", ARG_INT, &f->task_experts, "cgc, ple: experts per task (0: 2)", 0, 64};
        s[n++] = (arg_spec){"levels", ARG_INT, &f->levels, "ple: extraction levels (0: 2)", 0, 8};
        s[n++] = (arg_spec){"tower", ARG_STRING, &f->tower,
                            "tables: hidden widths of each task tower, e.g. 64,32 ('none': a linear head)", 0, 0};
        s[n++] = (arg_spec){"attention-scale", ARG_STRING, &f->attention_scale,
                            "amtl, coamtl: sqrt (attention and co-attention scores divided by sqrt(d)) or none (raw "
                            "scores, as in the Co-AMTL code)", 0, 0};
        s[n++] = (arg_spec){"per-task-units", ARG_BOOL, &f->per_task_units,
                            "mtagn: per-task copies of the 1x1 units instead of one shared set", 0, 0};
        s[n++] = (arg_spec){"out", ARG_STRING, &f->out,
                            "write log.csv, model.safetensors, summary.json, results CSV and report.html here", 0, 0};
        s[n++] = (arg_spec){"no-report", ARG_BOOL, &f->no_report, "do not write report.html", 0, 0};
    }
    s[n++] = (arg_spec){"threads", ARG_INT, &f->threads, "threads (0: one per core)", 0, 1024};
    s[n++] = (arg_spec){"format", ARG_STRING, &f->format, "result tables on stdout: text, markdown or json", 0, 0};
    s[n++] = (arg_spec){"quiet", ARG_BOOL, &f->quiet, "no progress on stderr", 0, 0};
    return n;
}

static int dir_exists(const char *p) {
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* $MTL_DATA/<name> (or $MTL_DATA itself when it is that directory), ../shared/data/<name>,
 * ../../shared/data/<name> */
static const char *default_dir(const char *name, const char *marker, char *buf, size_t size) {
    const char *env = getenv("MTL_DATA");
    char probe[4200];
    if (env && *env) {
        snprintf(buf, size, "%s/%s", env, name);
        if (dir_exists(buf)) return buf;
        snprintf(probe, sizeof probe, "%s/%s", env, marker);
        struct stat st;
        if (dir_exists(env) && (!marker[0] || stat(probe, &st) == 0)) {
            snprintf(buf, size, "%s", env);
            return buf;
        }
    }
    static const char *tries[] = {"../shared/data", "../../shared/data"};
    for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
        snprintf(buf, size, "%s/%s", tries[i], name);
        if (dir_exists(buf)) return buf;
    }
    return NULL;
}

const char *expflags_default_cwru(void) {
    static char buf[4096];
    return default_dir("cwru", "", buf, sizeof buf);
}

const char *expflags_default_census(void) {
    static char buf[4096];
    return default_dir("census-income", "census-income.names", buf, sizeof buf);
}

/* "64,32" -> widths; "none" -> -1 layers */
static int parse_tower(const char *s, mtl_tab_model_config *t) {
    if (!strcmp(s, "none")) {
        t->n_tower = -1;
        return 0;
    }
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 65536 || n >= MTL_MAX_TOWER) return -1;
        t->tower[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    if (n == 0) return -1;
    t->n_tower = n;
    return 0;
}

/* "5,10,20" -> values; returns the count or -1 */
static int parse_list(const char *s, double *out, int max) {
    int n = 0;
    while (s && *s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || n >= max) return -1;
        out[n++] = v;
        s = end;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return n;
}

static int recipe(const char *cmd, const expflags *f, mtl_experiment_config *c);

/* --data census-income | table */
static int build_table(const char *cmd, const expflags *f, mtl_data_spec *d, mtl_experiment_config *c) {
    if (!strcmp(f->data, "census-income")) {
        d->census_group = f->task_group;
        if (!d->path && !(d->path = expflags_default_census())) {
            fprintf(stderr, "mtl %s: --data census-income: no census-income directory found ($MTL_DATA/census-income, "
                            "../shared/data/census-income); give --data-dir DIR\n", cmd);
            return 2;
        }
        d->education_set = f->education_set && *f->education_set ? f->education_set : NULL;
        if (d->census_group == 2 && !f->quiet)
            fprintf(stderr, "mtl %s: census-income group 2: education counts as 'at least college' for: %s\n", cmd,
                    mtl_census_education_values(d->education_set));
    } else {
        if (!f->schema || !f->train_file || !f->test_file) {
            fprintf(stderr, "mtl %s: --data table needs --schema FILE, --train-file FILE and --test-file FILE\n", cmd);
            return 2;
        }
        d->schema = f->schema, d->train_file = f->train_file, d->test_file = f->test_file;
    }
    d->hash_buckets = f->hash, d->split_seed = f->split_seed;
    if (strcmp(f->train_per, "10") || *f->snr || *f->cross_loads || f->test_load >= 0) {
        fprintf(stderr, "mtl %s: --train-per-class, --snr, --cross-loads and --test-load are for signals, not tables\n",
                cmd);
        return 2;
    }
    if (!mtl_model_kind_find(f->model)) {
        fprintf(stderr, "mtl %s: --model: %s\n", cmd, mtl_last_error());
        return 2;
    }
    mtl_tab_model_config *t = &c->tab;
    t->emb_dim = f->emb_dim, t->units = f->units, t->experts = f->experts, t->shared_experts = f->shared_experts;
    t->task_experts = f->task_experts, t->levels = f->levels;
    if (strcmp(f->attention_scale, "sqrt") && strcmp(f->attention_scale, "none")) {
        fprintf(stderr, "mtl %s: --attention-scale: '%s' (expected sqrt or none)\n", cmd, f->attention_scale);
        return 2;
    }
    t->scaled_attention = !strcmp(f->attention_scale, "sqrt");
    if (parse_tower(f->tower, t)) {
        fprintf(stderr, "mtl %s: --tower: '%s' is not 'none' or a list of 1 to %d positive widths (e.g. 64,32)\n", cmd,
                f->tower, MTL_MAX_TOWER);
        return 2;
    }
    int r = recipe(cmd, f, c);
    if (r) return r;
    c->train.best_on_val = true;
    if (!strcmp(f->select, "auc")) c->train.select = MTL_SELECT_AUC, c->train.select_task = 0;
    else if (!strcmp(f->select, "accuracy")) c->train.select = MTL_SELECT_ACCURACY;
    else {
        fprintf(stderr, "mtl %s: --select: '%s' (expected auc or accuracy)\n", cmd, f->select);
        return 2;
    }
    return 0;
}

/* the training recipe, output and run flags (both kinds of data) */
static int recipe(const char *cmd, const expflags *f, mtl_experiment_config *c) {
    mtl_weighting_config wc = mtl_weighting_defaults();
    wc.temperature = f->temperature, wc.uw_init = f->uw_init, wc.lr = f->weighting_lr;
    wc.famo_beta = f->famo_beta, wc.famo_gamma = f->famo_gamma, wc.gradnorm_alpha = f->gradnorm_alpha;
    wc.cagrad_c = f->cagrad_c, wc.cagrad_rescale = !f->no_cagrad_rescale, wc.gradvac_beta = f->gradvac_beta;
    wc.nash_iters = f->nash_iters, wc.nash_max_norm = f->nash_max_norm, wc.aligned_weighted = f->aligned_weighted;
    static const char *const norms[] = {"none", "l2", "loss", "loss+"}, *const modes[] = {"lg", "g", "l"};
    int ni = -1, mi = -1;
    for (int i = 0; i < 4; i++) ni = strcmp(f->mgda_norm, norms[i]) ? ni : i;
    for (int i = 0; i < 3; i++) mi = strcmp(f->imtl_mode, modes[i]) ? mi : i;
    if (ni < 0 || mi < 0) {
        fprintf(stderr, ni < 0 ? "mtl %s: --mgda-norm: '%s' (expected none, l2, loss or loss+)\n"
                               : "mtl %s: --imtl-mode: '%s' (expected lg, g or l)\n", cmd, ni < 0 ? f->mgda_norm : f->imtl_mode);
        return 2;
    }
    wc.mgda_norm = (mtl_mgda_norm)ni, wc.imtl_mode = (mtl_imtl_mode)mi;
    mtl_weighting_config check = wc;
    if (!(check.lr > 0)) check.lr = 1; /* 0 = the optimizer's, filled in by the trainer */
    mtl_weighting *w = NULL;
    if (mtl_weighting_create(f->weighting, 2, &check, &w)) {
        fprintf(stderr, "mtl %s: --weighting: %s\n", cmd, mtl_last_error());
        return 2;
    }
    unsigned wflags = mtl_weighting_flags(w);
    if (f->rep_grad && (wflags & MTL_WEIGHTING_GRADS) && !(wflags & MTL_WEIGHTING_REP)) {
        fprintf(stderr, "mtl %s: --rep-grad: weighting %s does not act on a shared representation (mgda, graddrop, "
                "imtl and aligned do)\n", cmd, f->weighting);
        mtl_weighting_free(w);
        return 2;
    }
    mtl_weighting_free(w);
    c->model = f->model;
    c->model_options = f->per_task_units ? MTL_MODEL_PER_TASK_UNITS : 0;
    if (!strcmp(f->optimizer, "adam")) c->train.opt = mtl_opt_defaults(MTL_OPT_ADAM);
    else if (!strcmp(f->optimizer, "sgd")) c->train.opt = mtl_opt_defaults(MTL_OPT_SGD), c->train.opt.momentum = f->momentum;
    else {
        fprintf(stderr, "mtl %s: --optimizer: '%s' (expected adam or sgd)\n", cmd, f->optimizer);
        return 2;
    }
    c->train.epochs = f->epochs, c->train.batch_size = f->batch;
    c->train.opt.lr = f->lr;
    c->train.opt.weight_decay = f->weight_decay;
    c->train.weighting = f->weighting;
    c->train.wcfg = wc;
    c->train.rep_grad = f->rep_grad;
    c->train.best_on_val = f->best_on_val;
    c->train.patience = f->patience;
    c->n_seeds = f->seeds, c->seed = f->seed;
    c->out_dir = f->out, c->report = !f->no_report, c->quiet = f->quiet;
    if (strcmp(f->format, "text") && strcmp(f->format, "markdown") && strcmp(f->format, "json")) {
        fprintf(stderr, "mtl %s: --format: '%s' (expected text, markdown or json)\n", cmd, f->format);
        return 2;
    }
    if (mtl_set_threads(f->threads)) {
        fprintf(stderr, "mtl %s: --threads: %s\n", cmd, mtl_last_error());
        return 2;
    }
    return 0;
}

int expflags_build(const char *cmd, const expflags *f, mtl_data_spec *d, mtl_experiment_config *c) {
    *d = mtl_data_spec_defaults();
    *c = mtl_experiment_defaults();
    if (!strcmp(f->data, "cwru")) d->source = MTL_SOURCE_CWRU;
    else if (!strcmp(f->data, "sim")) d->source = MTL_SOURCE_SIM;
    else if (!strcmp(f->data, "manifest")) d->source = MTL_SOURCE_MANIFEST;
    else if (is_tabular_data(f->data)) d->source = MTL_SOURCE_TABLE;
    else {
        fprintf(stderr, "mtl %s: --data: '%s' is not a data source (expected cwru, sim, manifest, census-income or "
                        "table)\n", cmd, f->data);
        return 2;
    }
    d->path = f->data_dir;
    if (d->source == MTL_SOURCE_TABLE) return build_table(cmd, f, d, c);
    if (d->source == MTL_SOURCE_CWRU && !d->path && !(d->path = expflags_default_cwru())) {
        fprintf(stderr, "mtl %s: --data cwru: no CWRU directory found ($MTL_DATA/cwru, ../shared/data/cwru); give "
                        "--data-dir DIR, or use --data sim for the bearing simulator\n", cmd);
        return 2;
    }
    if (d->source == MTL_SOURCE_MANIFEST && !d->path) {
        fprintf(stderr, "mtl %s: --data manifest needs --data-dir MANIFEST.csv\n", cmd);
        return 2;
    }
    d->load = f->load, d->test_load = f->test_load, d->channel = f->channel, d->sim_seconds = f->sim_seconds;
    if (!strcmp(f->split, "mtagn")) d->win.split = MTL_SPLIT_MTAGN;
    else if (!strcmp(f->split, "random")) d->win.split = MTL_SPLIT_RANDOM;
    else if (!strcmp(f->split, "time")) d->win.split = MTL_SPLIT_TIME;
    else {
        fprintf(stderr, "mtl %s: --split: '%s' is not a split (expected mtagn, random or time)\n", cmd, f->split);
        return 2;
    }
    d->win.length = f->window, d->win.stride = f->stride;
    d->win.val_per_record = f->val_per, d->win.test_per_record = f->test_per;
    d->win.train_frac = f->train_frac, d->win.val_frac = f->val_frac, d->win.resample_fs = f->resample;
    if (f->train_frac + f->val_frac >= 0.99) {
        fprintf(stderr, "mtl %s: --train-frac %g + --val-frac %g leave no test segment (expected a sum below 0.99)\n",
                cmd, (double)f->train_frac, (double)f->val_frac);
        return 2;
    }
    if (mtl_norm_parse(f->norm, &d->norm)) {
        fprintf(stderr, "mtl %s: --norm: %s\n", cmd, mtl_last_error());
        return 2;
    }
    if (mtl_domain_parse(f->input, &d->domain)) {
        fprintf(stderr, "mtl %s: --input: %s\n", cmd, mtl_last_error());
        return 2;
    }
    double v[16];
    int n = parse_list(f->train_per, v, 8);
    if (n < 1) {
        fprintf(stderr, "mtl %s: --train-per-class: '%s' is not a list of 1 to 8 positive integers (e.g. 5,10,20,50)\n",
                cmd, f->train_per);
        return 2;
    }
    for (int i = 0; i < n; i++)
        if (v[i] < 1 || v[i] > 1e6 || v[i] != (int)v[i]) {
            fprintf(stderr, "mtl %s: --train-per-class: %g is not a positive integer\n", cmd, v[i]);
            return 2;
        }
    d->win.train_per_record = (int)v[0];
    if (n > 1) {
        c->n_train_per = n;
        for (int i = 0; i < n; i++) c->train_per[i] = (int)v[i];
    }
    n = parse_list(f->snr, v, 16);
    if (n < 0) {
        fprintf(stderr, "mtl %s: --snr: '%s' is not a list of up to 16 numbers in dB (e.g. -4,0,4,8)\n", cmd, f->snr);
        return 2;
    }
    c->n_snr = n;
    for (int i = 0; i < n; i++) c->snr[i] = v[i];
    n = parse_list(f->cross_loads, v, 4);
    for (int i = 0; i < n; i++)
        if (v[i] < 0 || v[i] > 3 || v[i] != (int)v[i]) n = -1;
    if (n < 0) {
        fprintf(stderr, "mtl %s: --cross-loads: '%s' is not a list of up to 4 loads 0..3 (e.g. 1,2,3)\n", cmd,
                f->cross_loads);
        return 2;
    }
    c->n_cross = n;
    for (int i = 0; i < n; i++) c->cross_loads[i] = (int)v[i];
    if (!mtl_model_kind_find(f->model)) {
        fprintf(stderr, "mtl %s: --model: %s\n", cmd, mtl_last_error());
        return 2;
    }
    if (f->best_on_val && f->val_per < 1) {
        fprintf(stderr, "mtl %s: --best-on-val needs validation windows (--val-per-class > 0)\n", cmd);
        return 2;
    }
    if (f->patience > 0 && f->val_per < 1) {
        fprintf(stderr, "mtl %s: --patience needs validation windows (--val-per-class > 0)\n", cmd);
        return 2;
    }
    return recipe(cmd, f, c);
}

typedef struct {
    double start;
} progress_state;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void expflags_progress(const mtl_experiment_config *c, int run, int n_runs, const mtl_epoch_stats *s, void *user) {
    static double start = 0;
    static int tty = -1;
    if (c->quiet) return;
    if (tty < 0) tty = isatty(2);
    if (!tty) return;
    if (start == 0 || (run == 0 && s->epoch == 0)) start = now();
    double done = run + (s->epoch + 1.0) / s->epochs, el = now() - start, eta = el / done * (n_runs - done);
    fprintf(stderr, "\r%s run %d/%d epoch %3d/%d", c->model, run + 1, n_runs, s->epoch + 1, s->epochs);
    for (int k = 0; k < s->n_tasks && k < 3; k++)
        fprintf(stderr, " | loss %.4f acc %5.1f%% w %.2f", s->train_loss[k], 100 * s->eval_acc[k], (double)s->weights[k]);
    fprintf(stderr, " | ETA %dm%02ds  ", (int)eta / 60, (int)eta % 60);
    if (run + 1 == n_runs && s->epoch + 1 == s->epochs) fprintf(stderr, "\n");
    (void)user;
}

void expflags_print(const mtl_experiment_result *r, const char *format) {
    mtl_table *t[4] = {NULL, NULL, NULL, NULL};
    if (mtl_experiment_tables(r, &t[0], &t[1], &t[2], &t[3])) {
        fprintf(stderr, "mtl: %s\n", mtl_last_error());
        return;
    }
    for (int i = 0; i < 4; i++)
        if (t[i]) {
            if (!strcmp(format, "markdown")) mtl_table_print_markdown(t[i], stdout);
            else mtl_table_print(t[i], stdout);
            printf("\n");
            mtl_table_free(t[i]);
        }
}

void expflags_command_line(int argc, char **argv, const char *cmd, char *buf, size_t size) {
    size_t len = (size_t)snprintf(buf, size, "mtl %s", cmd);
    for (int i = 0; i < argc && len < size; i++) len += (size_t)snprintf(buf + len, size - len, " %s", argv[i]);
}

int expflags_make_out(const char *cmd, const char *dir) {
    if (!dir || mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "mtl %s: --out: cannot create %s: %s\n", cmd, dir, strerror(errno));
    return 1;
}

void expflags_error(const char *cmd, const char *what) {
    /* end a progress line first */
    if (isatty(2)) fprintf(stderr, "\n");
    if (what) fprintf(stderr, "mtl %s: %s: %s\n", cmd, what, mtl_last_error());
    else fprintf(stderr, "mtl %s: %s\n", cmd, mtl_last_error());
}

int expflags_split(char *list, char **names, int max) {
    int n = 0;
    for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ",")) names[n++] = tok;
    return n;
}

int expflags_models(const char *cmd, char *list, char **names, int max) {
    int n = expflags_split(list, names, max);
    for (int i = 0; i < n; i++)
        if (!mtl_model_kind_find(names[i])) {
            fprintf(stderr, "mtl %s: --models: %s\n", cmd, mtl_last_error());
            return -1;
        }
    if (n == 0) fprintf(stderr, "mtl %s: --models is empty\n", cmd);
    return n ? n : -1;
}

int expflags_write_table(const char *cmd, const char *dir, const char *stem, const char *title, const mtl_table *t,
                         const char *cmdline) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.csv", dir, stem);
    mtl_status s = mtl_table_write_csv(t, path);
    snprintf(path, sizeof path, "%s/%s.md", dir, stem);
    FILE *md = s ? NULL : fopen(path, "w");
    if (md) {
        mtl_table_print_markdown(t, md);
        if (fclose(md) != 0) s = mtl_error(MTL_ERR_IO, "cannot write %s", path);
    } else if (!s) {
        s = mtl_error(MTL_ERR_IO, "cannot create %s", path);
    }
    if (!s) {
        mtl_report rep;
        memset(&rep, 0, sizeof rep);
        rep.title = title;
        rep.subtitle = cmdline;
        const mtl_table *tl[1] = {t};
        rep.n_tables = 1, rep.tables = tl;
        snprintf(path, sizeof path, "%s/report.html", dir);
        s = mtl_report_write_html(&rep, path);
    }
    if (s) fprintf(stderr, "mtl %s: writing the %s table into %s failed: %s\n", cmd, stem, dir, mtl_last_error());
    return s ? 1 : 0;
}
