/* mtl demo: the main job in one command. Trains MTAGN on the CWRU bearing data when it
 * is found ($MTL_DATA/cwru, ../shared/data/cwru or --data-dir), else on the bearing
 * simulator, and prints the result table. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "expflags.h"

int cmd_demo(int argc, char **argv) {
    expflags f;
    expflags_defaults(&f, false);
    f.data = "auto";
    f.seeds = 1;
    f.epochs = 40;
    arg_spec specs[96];
    int n = 0;
    specs[n++] = (arg_spec){"model", ARG_STRING, &f.model, "model (mtl info lists them)", 0, 0};
    n = expflags_specs(&f, specs, n, true, true);
    int r = args_parse("demo",
                       "Trains MTAGN (fault type + fault severity from one vibration window) with its recipe and\n"
                       "the paper's small-sample split, shorter (40 epochs, 1 seed), and prints the results.\n"
                       "--data auto uses the CWRU data when found ($MTL_DATA/cwru, ../shared/data/cwru or\n"
                       "--data-dir), else simulated bearing records. mtl train runs the full recipe.",
                       specs, n, argc, argv);
    if (r) return r == 1 ? 0 : 2;
    if (!strcmp(f.data, "auto")) f.data = (f.data_dir || expflags_default_cwru()) ? "cwru" : "sim";
    mtl_data_spec d;
    mtl_experiment_config c;
    if ((r = expflags_build("demo", &f, &d, &c))) return r;
    char cmdline[2048], desc[256];
    expflags_command_line(argc, argv, "demo", cmdline, sizeof cmdline);
    c.command_line = cmdline;
    mtl_data_spec_describe(&d, desc, sizeof desc);
    printf("mtl demo: %s on %s%s\n%d epoch(s), batch %d, Adam lr %g, weighting %s, %d seed(s), %d thread(s)\n\n", c.model,
           desc, d.source == MTL_SOURCE_SIM ? " (no CWRU data found: simulated records)" : "", c.train.epochs,
           c.train.batch_size, (double)c.train.opt.lr, c.train.weighting, c.n_seeds, mtl_get_threads());
    fflush(stdout);
    mtl_experiment_result res;
    if (mtl_experiment_run(&d, &c, expflags_progress, NULL, &res)) {
        expflags_error("demo", NULL);
        return 1;
    }
    if (!strcmp(f.format, "json")) mtl_experiment_print_json(&res, &d, &c, stdout);
    else expflags_print(&res, f.format);
    double secs = 0;
    for (int i = 0; i < res.n_runs; i++) secs += res.runs[i].train_seconds;
    printf("training took %.1f s; the full recipe: mtl train --data %s (100 epochs, 5 seeds)\n", secs,
           d.source == MTL_SOURCE_SIM ? "sim" : "cwru");
    mtl_experiment_result_free(&res);
    return 0;
}
