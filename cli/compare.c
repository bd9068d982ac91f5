/* mtl compare: several models under the same protocol and seeds, one table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "expflags.h"

int cmd_compare(int argc, char **argv) {
    expflags f;
    bool tab = expflags_wants_tabular(argc, argv);
    expflags_defaults(&f, tab);
    const char *models = tab ? "single,shared-bottom,omoe,mmoe,cgc,ple,amtl,coamtl" : "mtagn,mt1dcnn,jlcnn,wdcnn,stan";
    arg_spec specs[96];
    int n = 0;
    specs[n++] = (arg_spec){"models", ARG_STRING, &models, "comma-separated models to compare (mtl info lists them)", 0, 0};
    n = expflags_specs(&f, specs, n, true, true);
    int r = args_parse("compare",
                       "Runs each model under the same data, protocol, recipe and seeds and prints one table of\n"
                       "test accuracy (mean +- std over seeds). Single-task models (wdcnn, stan) train one network\n"
                       "per task with equal weights. With --out DIR, each model's files go to DIR/<model>/ and the\n"
                       "table to DIR/compare.csv, DIR/compare.md and DIR/report.html.",
                       specs, n, argc, argv);
    if (r) return r == 1 ? 0 : 2;
    mtl_data_spec d;
    mtl_experiment_config c;
    if ((r = expflags_build("compare", &f, &d, &c))) return r;
    if (c.n_train_per > 1) {
        fprintf(stderr, "mtl compare: --train-per-class takes one value here (run mtl train for a sweep)\n");
        return 2;
    }
    char list[512], *names[16];
    snprintf(list, sizeof list, "%s", models);
    int nm = expflags_models("compare", list, names, 16);
    if (nm < 0) return 2;
    if (expflags_make_out("compare", c.out_dir)) return 1;
    char cmdline[2048];
    expflags_command_line(argc, argv, "compare", cmdline, sizeof cmdline);
    c.command_line = cmdline;
    mtl_table *t = NULL;
    mtl_experiment_result res[16];
    int done = 0, code = 0;
    for (int i = 0; i < nm; i++) {
        mtl_experiment_config ci = c;
        char dir[4096];
        ci.model = names[i];
        if (c.out_dir) {
            snprintf(dir, sizeof dir, "%s/%s", c.out_dir, names[i]);
            ci.out_dir = dir;
        }
        if (mtl_experiment_run(&d, &ci, expflags_progress, NULL, &res[i])) {
            expflags_error("compare", names[i]);
            code = 1;
            break;
        }
        done++;
    }
    if (!code && !mtl_experiment_compare_table(res, done, &t)) {
        /* the recipe under the table, after what the library says of the data and protocol */
        char note[2048];
        snprintf(note, sizeof note, "%s%sRecipe: %s lr %g, batch %d, %s%d epochs%s, weighting %s (single-task models: "
                 "independent networks, equal weights).", mtl_table_note(t) ? mtl_table_note(t) : "",
                 mtl_table_note(t) ? " " : "", c.train.opt.kind == MTL_OPT_SGD ? "SGD" : "Adam", (double)c.train.opt.lr,
                 c.train.batch_size, c.train.patience > 0 ? "up to " : "", c.train.epochs,
                 c.train.patience > 0 ? " (early stopping)" : "", c.train.weighting);
        mtl_table_set_note(t, note);
    }
    if (!code && !t) {
        fprintf(stderr, "mtl compare: %s\n", mtl_last_error());
        code = 1;
    }
    if (!code) {
        if (!strcmp(f.format, "markdown")) mtl_table_print_markdown(t, stdout);
        else mtl_table_print(t, stdout);
        if (c.out_dir && expflags_write_table("compare", c.out_dir, "compare", "model comparison", t, cmdline)) code = 1;
        mtl_table_free(t);
    }
    for (int i = 0; i < done; i++) mtl_experiment_result_free(&res[i]);
    return code;
}
