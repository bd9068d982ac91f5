/* mtl predict: reads a recording (.mat, CSV or .npy), cuts it into windows and prints
 * each window's predicted class per task with its probability (JSON with --format json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "mtl/experiment.h"
#include "mtl/io.h"

/* a checkpoint of a tabular model: encode the rows with its encoder, write per-task
 * probabilities as CSV (a two-class task: the probability of its positive class; more
 * classes: one column per class) */
static int predict_table(const char *ckpt, mtl_model *m, const mtl_checkpoint_info *ci, const char *file,
                         const char *out) {
    mtl_tab_encoder *e = NULL;
    mtl_dataset rows;
    mtl_predictions p;
    memset(&rows, 0, sizeof rows), memset(&p, 0, sizeof p);
    mtl_status s = mtl_tab_encoder_from_json(ci->encoder, &e);
    if (s) s = mtl_error(s, "%s: the encoder in its metadata: %s", ckpt, mtl_last_error());
    if (!s) s = mtl_tab_encode_file(e, file, false, &rows);
    if (!s) s = mtl_predict(m, &rows, 1024, false, &p);
    mtl_afile af;
    bool to_file = false;
    FILE *f = stdout;
    memset(&af, 0, sizeof af);
    if (!s && out && !(s = mtl_afile_open(&af, out))) f = af.f, to_file = true;
    if (!s) {
        fprintf(f, "row");
        for (int k = 0; k < ci->n_tasks; k++) {
            if (ci->n_classes[k] == 2) fprintf(f, ",%s", ci->task_names[k]);
            else
                for (int j = 0; j < ci->n_classes[k]; j++)
                    fprintf(f, ",%s=%s", ci->task_names[k], j < MTL_MAX_NAMED_CLASSES ? ci->class_names[k][j] : "?");
        }
        fprintf(f, "\n");
        for (int i = 0; i < rows.n; i++) {
            fprintf(f, "%d", i + 1);
            for (int k = 0; k < ci->n_tasks; k++) {
                int c = ci->n_classes[k];
                for (int j = c == 2 ? 1 : 0; j < c; j++) fprintf(f, ",%.6f", (double)p.prob[k][(size_t)i * c + j]);
            }
            fprintf(f, "\n");
        }
        if (to_file) s = mtl_afile_commit(&af), to_file = false;
    }
    if (to_file) mtl_afile_abort(&af);
    if (s) fprintf(stderr, "mtl predict: %s\n", mtl_last_error());
    else if (out) fprintf(stderr, "mtl predict: %d row(s) scored into %s\n", rows.n, out);
    mtl_predictions_free(&p);
    mtl_dataset_free(&rows);
    mtl_tab_encoder_free(e);
    return s ? 1 : 0;
}

int cmd_predict(int argc, char **argv) {
    const char *ckpt = NULL, *file = NULL, *var = NULL, *channel = "DE", *format = "text", *out = NULL;
    int stride = 0, threads = 0;
    float fs = 0;
    arg_spec specs[] = {
        {"checkpoint", ARG_STRING, &ckpt, "model.safetensors written by mtl train (required)", 0, 0},
        {"file", ARG_STRING, &file,
         "the recording: .mat, .csv/.csv.gz/.txt or .npy; for a tabular model, a delimited file in the layout of "
         "its description (the label columns may hold anything) (required)", 0, 0},
        {"out", ARG_STRING, &out, "tabular models: write the probabilities CSV here ((none): stdout)", 0, 0},
        {"var", ARG_STRING, &var, ".mat variable ((none): the CWRU X<nnn>_<channel>_time of the file's number)", 0, 0},
        {"channel", ARG_STRING, &channel, "CWRU accelerometer when --var is not given: DE, FE or BA", 0, 0},
        {"stride", ARG_INT, &stride, "window stride in samples (0: the window length, no overlap)", 0, 1 << 24},
        {"fs", ARG_FLOAT, &fs, "the recording's sampling rate in Hz when the file does not say (0: unknown)", 0, 1e7},
        {"threads", ARG_INT, &threads, "threads (0: one per core)", 0, 1024},
        {"format", ARG_STRING, &format, "text or json", 0, 0},
    };
    int r = args_parse("predict",
                       "Predicts every window of a recording with a trained checkpoint: per window and task the\n"
                       "class and its probability, then the majority class per task. The window length,\n"
                       "normalisation and input domain come from the checkpoint; a recording at another sampling\n"
                       "rate than the training data is resampled to it when both rates are known.\n"
                       "A tabular model (census-income, --data table) scores every row of a file with the encoder\n"
                       "saved in its checkpoint and writes CSV: row, then per task the probability of the positive\n"
                       "class (one column per class for a multi-class task).",
                       specs, (int)(sizeof specs / sizeof *specs), argc, argv);
    if (r) return r == 1 ? 0 : 2;
    if (!ckpt || !file) {
        fprintf(stderr, "mtl predict: --checkpoint and --file are required\n");
        return 2;
    }
    if (strcmp(format, "text") && strcmp(format, "json")) {
        fprintf(stderr, "mtl predict: --format: '%s' (expected text or json)\n", format);
        return 2;
    }
    if (mtl_set_threads(threads)) {
        fprintf(stderr, "mtl predict: --threads: %s\n", mtl_last_error());
        return 2;
    }
    mtl_model *m = NULL;
    mtl_checkpoint_info ci;
    mtl_signal sig;
    mtl_dataset w;
    mtl_predictions p;
    memset(&sig, 0, sizeof sig), memset(&w, 0, sizeof w), memset(&p, 0, sizeof p);
    memset(&ci, 0, sizeof ci);
    mtl_status s = mtl_checkpoint_load(ckpt, &m, &ci);
    if (!s && ci.encoder) {
        int code = predict_table(ckpt, m, &ci, file, out);
        mtl_checkpoint_info_free(&ci);
        mtl_model_free(m);
        return code;
    }
    if (!s) s = mtl_signal_read(file, var, channel, &sig);
    if (!s && fs > 0) sig.fs = fs;
    if (!s && sig.fs > 0 && ci.fs > 0 && sig.fs != ci.fs) s = mtl_signal_resample(&sig, ci.fs);
    if (!s && sig.channels != ci.channels)
        s = mtl_error(MTL_ERR_SHAPE, "%s: %d channel(s), the model expects %d", file, sig.channels, ci.channels);
    if (!s) s = mtl_signal_windows(&sig, ci.window, stride > 0 ? stride : ci.window, &w);
    if (!s) s = mtl_dataset_transform(&w, ci.norm, ci.domain);
    if (!s) s = mtl_predict(m, &w, 64, false, &p);
    if (s) {
        fprintf(stderr, "mtl predict: %s\n", mtl_last_error());
        mtl_dataset_free(&w), mtl_signal_free(&sig), mtl_model_free(m);
        return 1;
    }
    int K = ci.n_tasks;
    int votes[MTL_MAX_TASKS][64];
    memset(votes, 0, sizeof votes);
    char nb[16];
#define CNAME(k, j) ((j) < MTL_MAX_NAMED_CLASSES && ci.class_names[k][j][0] ? ci.class_names[k][j] : (snprintf(nb, sizeof nb, "%d", (j)), nb))
    bool json = !strcmp(format, "json");
    if (json) {
        printf("{\"file\": ");
        json_string(file);
        printf(", \"checkpoint\": ");
        json_string(ckpt);
        printf(", \"windows\": [");
    }
    else {
        printf("%s: %d window(s) of %d samples\n\n%8s %10s", file, w.n, ci.window, "window", "start");
        for (int k = 0; k < K; k++) printf("  %-24s", ci.task_names[k]);
        printf("\n");
    }
    for (int i = 0; i < w.n; i++) {
        if (json) printf("%s\n  {\"window\": %d, \"start\": %lld", i ? "," : "", i, (long long)(w.offset ? w.offset[i] : 0));
        else printf("%8d %10lld", i, (long long)(w.offset ? w.offset[i] : 0));
        for (int k = 0; k < K; k++) {
            int c = ci.n_classes[k], q = p.pred[k][i];
            if (q < 64) votes[k][q]++;
            if (json) {
                printf(", ");
                json_string(ci.task_names[k]);
                printf(": {\"class\": ");
                json_string(CNAME(k, q));
                printf(", \"probabilities\": [");
                for (int j = 0; j < c; j++) printf("%s%.5f", j ? ", " : "", (double)p.prob[k][(size_t)i * c + j]);
                printf("]}");
            } else {
                char cell[48];
                snprintf(cell, sizeof cell, "%s (%.1f%%)", CNAME(k, q), 100.0 * p.prob[k][(size_t)i * c + q]);
                printf("  %-24s", cell);
            }
        }
        printf(json ? "}" : "\n");
    }
    if (json) printf("\n], \"majority\": {");
    else printf("\nmajority:");
    for (int k = 0; k < K; k++) {
        int best = 0;
        for (int j = 1; j < ci.n_classes[k] && j < 64; j++)
            if (votes[k][j] > votes[k][best]) best = j;
        if (json) {
            printf("%s", k ? ", " : "");
            json_string(ci.task_names[k]);
            printf(": ");
            json_string(CNAME(k, best));
        }
        else printf(" %s %s (%d/%d windows)%s", ci.task_names[k], CNAME(k, best), votes[k][best], w.n, k + 1 < K ? "," : "\n");
    }
    if (json) printf("}}\n");
#undef CNAME
    mtl_predictions_free(&p);
    mtl_dataset_free(&w);
    mtl_signal_free(&sig);
    mtl_model_free(m);
    return 0;
}
