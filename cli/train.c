/* mtl train: one model under one protocol over several seeds (MTAGN's recipe by default),
 * results as mean +- std; files in --out. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "expflags.h"

int cmd_train(int argc, char **argv) {
    expflags f;
    expflags_defaults(&f, expflags_wants_tabular(argc, argv));
    arg_spec specs[96];
    int n = 0;
    specs[n++] = (arg_spec){"model", ARG_STRING, &f.model,
                            "model: mtagn, stan, mt1dcnn, jlcnn, wdcnn, tiny (signals); single, shared-bottom, omoe, "
                            "mmoe, cgc, ple, amtl, coamtl (tables) (mtl info)", 0, 0};
    n = expflags_specs(&f, specs, n, true, true);
    int r = args_parse("train",
                       "Trains a model over several seeds and reports the test metrics as mean +- std.\n"
                       "Signals (vibration windows): accuracy, macro-F1, joint accuracy. The defaults are MTAGN's\n"
                       "recipe and protocol: CWRU 0 hp drive end, windows 2048/512, the paper's split (10 train /\n"
                       "20 validation / 160 test windows per class), DWA T=2, Adam 1e-3, batch 50, 100 epochs,\n"
                       "last-epoch model.\n"
                       "Tables (--data census-income|table, or a tabular --model): AUC (exact), log loss,\n"
                       "accuracy, mean +- std and best over seeds. Then the defaults shown below are the tabular\n"
                       "recipe: census-income group 1, equal weights, Adam 5e-4, batch 1024, up to 30 epochs,\n"
                       "early stopping and the kept epoch by the main (first) task's validation AUC.",
                       specs, n, argc, argv);
    if (r) return r == 1 ? 0 : 2;
    mtl_data_spec d;
    mtl_experiment_config c;
    if ((r = expflags_build("train", &f, &d, &c))) return r;
    char cmdline[2048];
    expflags_command_line(argc, argv, "train", cmdline, sizeof cmdline);
    c.command_line = cmdline;
    mtl_experiment_result res;
    if (mtl_experiment_run(&d, &c, expflags_progress, NULL, &res)) {
        expflags_error("train", NULL);
        return 1;
    }
    if (!strcmp(f.format, "json")) mtl_experiment_print_json(&res, &d, &c, stdout);
    else expflags_print(&res, f.format);
    if (c.out_dir && !f.quiet) fprintf(stderr, "mtl train: results in %s/\n", c.out_dir);
    mtl_experiment_result_free(&res);
    return 0;
}
