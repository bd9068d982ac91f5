/* mtl eval: evaluates a checkpoint on a data split: accuracy, macro-F1, confusion
 * matrix per task, joint accuracy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "expflags.h"

static const char *class_name(const mtl_checkpoint_info *ci, int k, int j, char *buf) {
    if (j < MTL_MAX_NAMED_CLASSES && ci->class_names[k][j][0]) return ci->class_names[k][j];
    snprintf(buf, 16, "%d", j);
    return buf;
}

/* a tabular checkpoint: the part's rows encoded with the checkpoint's own encoder */
static mtl_status table_part(const mtl_data_spec *d, const mtl_checkpoint_info *ci, const char *part,
                             mtl_dataset *out) {
    mtl_tab_encoder *e = NULL;
    mtl_status s = mtl_tab_encoder_from_json(ci->encoder, &e);
    if (s) return mtl_error(s, "the checkpoint's encoder: %s", mtl_last_error());
    bool train = !strcmp(part, "train"), val = !strcmp(part, "val");
    s = mtl_table_encode(d, e, train ? out : NULL, val ? out : NULL, !train && !val ? out : NULL);
    mtl_tab_encoder_free(e);
    return s;
}

int cmd_eval(int argc, char **argv) {
    expflags f;
    expflags_defaults(&f, expflags_wants_tabular(argc, argv));
    const char *ckpt = NULL, *part = "test";
    float snr = 1e9f;
    arg_spec specs[96];
    int n = 0;
    specs[n++] = (arg_spec){"checkpoint", ARG_STRING, &ckpt, "model.safetensors written by mtl train (required)", 0, 0};
    specs[n++] = (arg_spec){"part", ARG_STRING, &part, "which windows: test, val or train", 0, 0};
    specs[n++] = (arg_spec){"noise-snr", ARG_FLOAT, &snr, "add white Gaussian noise at this SNR in dB (1e9: none)", -100, 1e9};
    n = expflags_specs(&f, specs, n, true, false);
    int r = args_parse("eval",
                       "Evaluates a checkpoint on one part of a data split (the same flags as mtl train select\n"
                       "the data and split; the model, window length, normalisation and input domain come from\n"
                       "the checkpoint). Prints accuracy, macro-F1 and the confusion matrix of every task.\n"
                       "A tabular checkpoint (--data census-income or --data table) encodes the rows with the\n"
                       "encoder saved in it and also prints each task's AUC and log loss.",
                       specs, n, argc, argv);
    if (r) return r == 1 ? 0 : 2;
    if (!ckpt) {
        fprintf(stderr, "mtl eval: --checkpoint is required (a model.safetensors from mtl train --out)\n");
        return 2;
    }
    if (strcmp(part, "test") && strcmp(part, "val") && strcmp(part, "train")) {
        fprintf(stderr, "mtl eval: --part: '%s' (expected test, val or train)\n", part);
        return 2;
    }
    mtl_data_spec d;
    mtl_experiment_config c;
    if ((r = expflags_build("eval", &f, &d, &c))) return r;
    mtl_model *m = NULL;
    mtl_checkpoint_info ci;
    if (mtl_checkpoint_load(ckpt, &m, &ci)) {
        fprintf(stderr, "mtl eval: %s\n", mtl_last_error());
        return 1;
    }
    d.win.length = ci.window, d.norm = ci.norm, d.domain = ci.domain;
    mtl_dataset parts[3], *use;
    memset(parts, 0, sizeof parts);
    use = !strcmp(part, "train") ? &parts[0] : !strcmp(part, "val") ? &parts[1] : &parts[2];
    mtl_predictions p;
    mtl_metrics mt;
    memset(&p, 0, sizeof p), memset(&mt, 0, sizeof mt);
    mtl_status s;
    if (ci.encoder || d.source == MTL_SOURCE_TABLE) {
        if (!ci.encoder || d.source != MTL_SOURCE_TABLE)
            s = mtl_error(MTL_ERR_ARG, "%s is a %s model; the data is %s", ckpt, ci.encoder ? "tabular" : "signal",
                          d.source == MTL_SOURCE_TABLE ? "a table" : "signals");
        else
            s = table_part(&d, &ci, part, use);
    } else {
        s = mtl_data_load(&d, f.seed, use == &parts[0] ? use : NULL, use == &parts[1] ? use : NULL,
                          use == &parts[2] ? use : NULL);
        if (!s && snr < 1e8f) s = mtl_dataset_add_noise(use, snr, f.seed);
        if (!s) s = mtl_dataset_transform(use, d.norm, d.domain);
    }
    if (!s && use->n_tasks != ci.n_tasks)
        s = mtl_error(MTL_ERR_SHAPE, "the data has %d tasks, the checkpoint %d", use->n_tasks, ci.n_tasks);
    if (!s) s = mtl_predict(m, use, 64, false, &p);
    if (!s) s = mtl_metrics_compute(use, &p, &mt);
    int code = 0;
    if (s) {
        fprintf(stderr, "mtl eval: %s\n", mtl_last_error());
        code = 1;
    } else if (!strcmp(f.format, "json")) {
        printf("{\"checkpoint\": ");
        json_string(ckpt);
        printf(", \"model\": \"%s\", \"part\": \"%s\", \"windows\": %d, \"tasks\": {", ci.model, part, use->n);
        for (int k = 0; k < ci.n_tasks; k++) {
            printf("%s", k ? ", " : "");
            json_string(ci.task_names[k]);
            printf(": {\"accuracy\": %.6f, \"macro_f1\": %.6f, \"loss\": %.6f, ", mt.accuracy[k], mt.macro_f1[k],
                   mt.loss[k]);
            if (!isnan(mt.auc[k])) printf("\"auc\": %.6f, ", mt.auc[k]);
            printf("\"confusion_matrix\": [");
            int nc = ci.n_classes[k];
            for (int a = 0; a < nc; a++) {
                printf("%s[", a ? ", " : "");
                for (int b = 0; b < nc; b++) printf("%s%lld", b ? ", " : "", (long long)mt.confusion[k][(size_t)a * nc + b]);
                printf("]");
            }
            printf("]}");
        }
        printf("}, \"joint_accuracy\": %.6f}\n", mt.joint_accuracy);
    } else {
        char desc[256];
        mtl_data_spec_describe(&d, desc, sizeof desc);
        const char *unit = ci.encoder ? "rows" : "windows";
        printf("%s (%s) on the %s %s of %s: %d %s\n\n", ckpt, ci.model, part, unit, desc, use->n, unit);
        for (int k = 0; k < ci.n_tasks; k++) {
            int nc = ci.n_classes[k];
            char b1[16];
            printf("%s: ", ci.task_names[k]);
            if (!isnan(mt.auc[k])) printf("AUC %.4f, ", mt.auc[k]);
            printf("accuracy %.2f %%, macro-F1 %.2f %%, log loss %.4f\n  confusion (rows: true, columns: predicted)\n"
                   "  %8s", 100 * mt.accuracy[k], 100 * mt.macro_f1[k], mt.loss[k], "");
            for (int j = 0; j < nc; j++) printf(" %7s", class_name(&ci, k, j, b1));
            printf("\n");
            for (int a = 0; a < nc; a++) {
                printf("  %8s", class_name(&ci, k, a, b1));
                for (int b = 0; b < nc; b++) printf(" %7lld", (long long)mt.confusion[k][(size_t)a * nc + b]);
                printf("\n");
            }
            printf("\n");
        }
        if (ci.n_tasks > 1) printf("joint accuracy (all tasks right): %.2f %%\n", 100 * mt.joint_accuracy);
    }
    mtl_metrics_free(&mt);
    mtl_predictions_free(&p);
    for (int i = 0; i < 3; i++) mtl_dataset_free(&parts[i]);
    mtl_checkpoint_info_free(&ci);
    mtl_model_free(m);
    return code;
}
