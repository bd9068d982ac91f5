/* mtl study: one or more models under several weighting strategies with the same data,
 * protocol and seeds; one table with the multi-task gain against single-task baselines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "expflags.h"

#define MAX_RUNS 64

int cmd_study(int argc, char **argv) {
    expflags f;
    bool tab = expflags_wants_tabular(argc, argv);
    expflags_defaults(&f, tab);
    const char *models = tab ? "mmoe,coamtl" : "mtagn";
    const char *weightings = "ew,dwa,uw,rlw,gls,famo,gradnorm,mgda,pcgrad,graddrop,cagrad,imtl,gradvac,nash,aligned";
    const char *baseline = tab ? "single" : "stan";
    arg_spec specs[96];
    int n = 0;
    specs[n++] = (arg_spec){"models", ARG_STRING, &models, "comma-separated multi-task models", 0, 0};
    specs[n++] = (arg_spec){"weightings", ARG_STRING, &weightings,
                            "comma-separated weighting strategies (mtl info lists them; their settings are the "
                            "--<strategy>-* flags)", 0, 0};
    specs[n++] = (arg_spec){"baseline", ARG_STRING, &baseline,
                            "single-task model for Delta_m, trained with equal weights ('none': no Delta_m)", 0, 0};
    n = expflags_specs(&f, specs, n, true, true);
    int r = args_parse("study",
                       "Trains each model under each weighting strategy with the same data, protocol, recipe and\n"
                       "seeds, and the single-task baseline once, and prints one table: per task the test metric\n"
                       "(accuracy; AUC for tables) mean +- std over seeds, the multi-task gain Delta_m against the\n"
                       "baseline, and seconds per epoch. With --out DIR, each run's files go to\n"
                       "DIR/<model>-<weighting>/ (log.csv with the per-epoch task weights, report.html) and the\n"
                       "table to DIR/study.csv, DIR/study.md and DIR/report.html. --weighting is not used here.",
                       specs, n, argc, argv);
    if (r) return r == 1 ? 0 : 2;
    char mlist[512], wlist[512], *mnames[16], *wnames[32];
    snprintf(mlist, sizeof mlist, "%s", models);
    snprintf(wlist, sizeof wlist, "%s", weightings);
    int nm = expflags_models("study", mlist, mnames, 16), nw = expflags_split(wlist, wnames, 32);
    if (nm < 0) return 2;
    if (nw == 0) {
        fprintf(stderr, "mtl study: --weightings is empty\n");
        return 2;
    }
    if (nm * nw > MAX_RUNS) {
        fprintf(stderr, "mtl study: %d models x %d weightings is more than %d runs\n", nm, nw, MAX_RUNS);
        return 2;
    }
    bool use_base = strcmp(baseline, "none") != 0;
    if (use_base && !mtl_model_kind_find(baseline)) {
        fprintf(stderr, "mtl study: --baseline: %s\n", mtl_last_error());
        return 2;
    }
    mtl_data_spec d;
    mtl_experiment_config c;
    for (int j = 0; j < nw; j++) {
        f.weighting = wnames[j];
        if ((r = expflags_build("study", &f, &d, &c))) return r; /* checks each name and its settings */
    }
    if (c.n_train_per > 1) {
        fprintf(stderr, "mtl study: --train-per-class takes one value here (run mtl train for a sweep)\n");
        return 2;
    }
    if (expflags_make_out("study", c.out_dir)) return 1;
    char cmdline[2048];
    expflags_command_line(argc, argv, "study", cmdline, sizeof cmdline);
    c.command_line = cmdline;
    static mtl_experiment_result res[MAX_RUNS], base;
    const char *wof[MAX_RUNS];
    int done = 0, code = 0;
    bool have_base = false;
    char failed[1024] = "";
    if (use_base) {
        mtl_experiment_config cb = c;
        char dir[4096];
        cb.model = baseline, cb.train.weighting = "ew";
        if (c.out_dir) snprintf(dir, sizeof dir, "%s/%s", c.out_dir, baseline), cb.out_dir = dir;
        if (mtl_experiment_run(&d, &cb, expflags_progress, NULL, &base)) {
            expflags_error("study", baseline);
            return 1;
        }
        have_base = true;
    }
    for (int i = 0; i < nm; i++)
        for (int j = 0; j < nw; j++) {
            mtl_experiment_config ci = c;
            char dir[4096];
            ci.model = mnames[i], ci.train.weighting = wnames[j];
            if (c.out_dir) snprintf(dir, sizeof dir, "%s/%s-%s", c.out_dir, mnames[i], wnames[j]), ci.out_dir = dir;
            if (!c.quiet) fprintf(stderr, "mtl study: %s under %s\n", mnames[i], wnames[j]);
            if (mtl_experiment_run(&d, &ci, expflags_progress, NULL, &res[done])) {
                char what[96];
                snprintf(what, sizeof what, "%s under %s", mnames[i], wnames[j]);
                expflags_error("study", what); /* the other runs go on: the table says which failed */
                snprintf(failed + strlen(failed), sizeof failed - strlen(failed), "%s%s", *failed ? ", " : "", what);
                code = 1;
                continue;
            }
            wof[done++] = wnames[j];
        }
    mtl_table *t = NULL;
    if (done > 0 && mtl_experiment_study_table(res, wof, done, have_base ? &base : NULL, &t)) {
        fprintf(stderr, "mtl study: %s\n", mtl_last_error());
        code = 1;
    }
    if (t) {
        char note[3072];
        snprintf(note, sizeof note, "%s Recipe: %s lr %g, batch %d, %s%d epochs%s; the baseline (%s) trains one network "
                 "per task with equal weights.%s%s", mtl_table_note(t), c.train.opt.kind == MTL_OPT_SGD ? "SGD" : "Adam",
                 (double)c.train.opt.lr, c.train.batch_size, c.train.patience > 0 ? "up to " : "", c.train.epochs,
                 c.train.patience > 0 ? " (early stopping)" : "", use_base ? baseline : "none",
                 *failed ? " FAILED (not in the table): " : "", failed);
        mtl_table_set_note(t, note);
        if (!strcmp(f.format, "markdown")) mtl_table_print_markdown(t, stdout);
        else mtl_table_print(t, stdout);
        if (c.out_dir && expflags_write_table("study", c.out_dir, "study", "weighting study", t, cmdline)) code = 1;
        mtl_table_free(t);
    }
    for (int i = 0; i < done; i++) mtl_experiment_result_free(&res[i]);
    if (have_base) mtl_experiment_result_free(&base);
    return code;
}
