/* mtl compare: several models under the same protocol and seeds, one table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "expflags.h"

int cmd_compare(int argc, char **argv) {
    expflags f;
    expflags_defaults(&f);
    const char *models = "mtagn,mt1dcnn,jlcnn,wdcnn,stan";
    arg_spec specs[64];
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
    int nm = 0;
    snprintf(list, sizeof list, "%s", models);
    for (char *tok = strtok(list, ","); tok && nm < 16; tok = strtok(NULL, ",")) names[nm++] = tok;
    for (int i = 0; i < nm; i++)
        if (!mtl_model_kind_find(names[i])) {
            fprintf(stderr, "mtl compare: --models: %s\n", mtl_last_error());
            return 2;
        }
    if (nm == 0) {
        fprintf(stderr, "mtl compare: --models is empty\n");
        return 2;
    }
    if (c.out_dir && mkdir(c.out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mtl compare: --out: cannot create %s: %s\n", c.out_dir, strerror(errno));
        return 1;
    }
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
    if (!code) {
        const mtl_experiment_result *r0 = &res[0];
        const char *hdr[2 * MTL_MAX_TASKS + 4];
        char h[MTL_MAX_TASKS][64];
        int cols = 0;
        hdr[cols++] = "model";
        hdr[cols++] = "parameters";
        for (int k = 0; k < r0->n_tasks; k++) {
            snprintf(h[k], sizeof h[k], "%s acc (%%)", r0->task_names[k]);
            hdr[cols++] = h[k];
        }
        if (r0->n_tasks > 1) hdr[cols++] = "joint acc (%)";
        hdr[cols++] = "train s/seed";
        mtl_table_create(&t, "model comparison: test accuracy", cols, hdr);
        for (int i = 0; i < done; i++) {
            char cells[2 * MTL_MAX_TASKS + 4][48];
            const char *cp[2 * MTL_MAX_TASKS + 4];
            int cc = 0;
            double x[100], m, sd, secs = 0;
            snprintf(cells[cc], 48, "%s", names[i]), cp[cc] = cells[cc], cc++;
            snprintf(cells[cc], 48, "%d", res[i].n_params), cp[cc] = cells[cc], cc++;
            for (int k = 0; k <= r0->n_tasks; k++) {
                if (k == r0->n_tasks && r0->n_tasks == 1) break;
                for (int s = 0; s < res[i].n_seeds; s++)
                    x[s] = k < r0->n_tasks ? res[i].runs[s].test.accuracy[k] : res[i].runs[s].test.joint_accuracy;
                mtl_mean_std(x, res[i].n_seeds, &m, &sd);
                mtl_format_pct(m, sd, cells[cc], 48), cp[cc] = cells[cc], cc++;
            }
            for (int s = 0; s < res[i].n_runs; s++) secs += res[i].runs[s].train_seconds;
            snprintf(cells[cc], 48, "%.1f", secs / res[i].n_runs), cp[cc] = cells[cc], cc++;
            mtl_table_add_row(t, cp);
        }
        char note[512];
        snprintf(note, sizeof note, "mean \xC2\xB1 std over %d seed(s); %s; %d epochs, batch %d, weighting %s (single-task "
                 "models: ew)", c.n_seeds, r0->data, c.train.epochs, c.train.batch_size, c.train.weighting);
        mtl_table_set_note(t, note);
        if (!strcmp(f.format, "markdown")) mtl_table_print_markdown(t, stdout);
        else mtl_table_print(t, stdout);
        if (c.out_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/compare.csv", c.out_dir);
            mtl_status s = mtl_table_write_csv(t, path);
            snprintf(path, sizeof path, "%s/compare.md", c.out_dir);
            FILE *md = s ? NULL : fopen(path, "w");
            if (md) {
                mtl_table_print_markdown(t, md);
                if (fclose(md) != 0) s = MTL_ERR_IO;
            }
            if (!s) {
                mtl_report rep;
                memset(&rep, 0, sizeof rep);
                rep.title = "model comparison";
                rep.subtitle = cmdline;
                const mtl_table *tl[1] = {t};
                rep.n_tables = 1, rep.tables = tl;
                snprintf(path, sizeof path, "%s/report.html", c.out_dir);
                s = mtl_report_write_html(&rep, path);
            }
            if (s || !md) {
                fprintf(stderr, "mtl compare: writing the comparison into %s failed: %s\n", c.out_dir, mtl_last_error());
                code = 1;
            }
        }
        mtl_table_free(t);
    }
    for (int i = 0; i < done; i++) mtl_experiment_result_free(&res[i]);
    return code;
}
