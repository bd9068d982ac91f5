/* mtl bench: times a model's training step and inference on random windows
 * (bench/bench_model.py runs it beside the PyTorch reference). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "args.h"
#include "commands.h"
#include "mtl/mtl.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the process's peak resident set (VmHWM), which unlike getrusage does not inherit a large
 * parent's peak across exec */
static double peak_rss_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtod(line + 6, NULL);
    if (f) fclose(f);
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = (double)ru.ru_maxrss;
    }
    return kb / 1024.0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* the census-income shape: the vocabulary sizes (+1 for unseen values) of its 31 nominal
 * inputs as the .names file lists them, and 7 continuous inputs; tests/../bench/bench_tabular.py
 * builds the same */
static const int census_vocab[31] = {10, 53, 48, 4, 25, 16, 6, 11, 3, 4, 7, 9, 7, 7, 52, 39,
                                     9, 11, 10, 11, 4, 5, 6, 44, 44, 44, 6, 4, 4, 4, 3};

/* a tabular model on random rows of the census-income shape: one training epoch over `rows`
 * rows in batches (forward, binary cross-entropy per task, backward, Adam), and eval-mode
 * scoring of one row */
static int bench_tabular(const char *model, int batch, int rows, int repeat, int infer_repeat, int warmup, bool json) {
    enum { NI = 31, NC = 7, F = NI + NC };
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {2, 2}, .in_channels = 1, .length = F};
    cfg.tab.n_ids = NI, cfg.tab.n_cont = NC;
    memcpy(cfg.tab.vocab, census_vocab, sizeof census_vocab);
    int nb = (rows + batch - 1) / batch;
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    mtl_optimizer *opt = NULL;
    float *x = malloc((size_t)rows * F * sizeof(float)), *yf[2] = {malloc((size_t)rows * sizeof(float)),
                                                                    malloc((size_t)rows * sizeof(float))};
    double *ts = malloc((size_t)(repeat > infer_repeat ? repeat : infer_repeat) * sizeof(double));
    mtl_status s = (x && yf[0] && yf[1] && ts) ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "bench: out of memory");
    if (!s) {
        mtl_rng rng;
        mtl_rng_init(&rng, 7, 0);
        float u[F];
        for (int i = 0; i < rows; i++) {
            mtl_rng_uniform(&rng, u, F, 0.0f, 1.0f);
            for (int j = 0; j < NI; j++) x[(size_t)i * F + j] = (float)(int)(u[j] * (float)(census_vocab[j] - 1));
            mtl_rng_normal(&rng, x + (size_t)i * F + NI, NC, 0.0f, 1.0f);
            yf[0][i] = u[0] < 0.06f, yf[1][i] = u[1] < 0.43f;
        }
    }
    if (!s) s = mtl_model_create(model, &cfg, 1, &m);
    if (!s) s = mtl_tape_create(&t);
    if (!s) s = mtl_optimizer_create(&opt, m->params, mtl_opt_defaults(MTL_OPT_ADAM));
    if (!s) mtl_tape_set_keep_grads(t, false);
    float w[2] = {1, 1};
    double epoch_ms = 0, step_ms = 0, row_ms = 0;
    for (int e = 0; e < 1 + repeat && !s; e++) { /* the first epoch warms up */
        double t0 = now();
        for (int b = 0; b < nb && !s; b++) {
            int start = b * batch, n = rows - start < batch ? rows - start : batch;
            mtl_tape_reset(t);
            mtl_tape_set_training(t, true);
            mtl_tape_set_recording(t, true);
            mtl_tensor *in = mtl_tensor_wrap(t, MTL_SHAPE(n, 1, F), x + (size_t)start * F), *logits[2], *loss[2];
            if ((s = mtl_model_forward(m, t, in, logits))) break;
            loss[0] = mtl_bce_with_logits(t, logits[0], yf[0] + start);
            loss[1] = mtl_bce_with_logits(t, logits[1], yf[1] + start);
            mtl_params_zero_grad(m->params);
            if ((s = mtl_backward_weighted(t, 2, loss, w)) || (s = mtl_optimizer_step(opt))) break;
        }
        if (e > 0) ts[e - 1] = 1e3 * (now() - t0);
    }
    if (!s) epoch_ms = median(ts, repeat), step_ms = epoch_ms / nb;
    for (int i = 0; i < warmup + infer_repeat && !s; i++) {
        double t0 = now();
        mtl_tape_reset(t);
        mtl_tape_set_training(t, false);
        mtl_tape_set_recording(t, false);
        mtl_tensor *in = mtl_tensor_wrap(t, MTL_SHAPE(1, 1, F), x + (size_t)(i % rows) * F), *logits[2];
        s = mtl_model_forward(m, t, in, logits);
        if (i >= warmup) ts[i - warmup] = 1e3 * (now() - t0);
    }
    if (!s) row_ms = median(ts, infer_repeat);
    int code = 0;
    if (s) {
        fprintf(stderr, "mtl bench: %s\n", mtl_last_error());
        code = 1;
    } else if (json) {
        printf("{\"model\": \"%s\", \"parameters\": %lld, \"batch_size\": %d, \"rows\": %d, \"threads\": %d, "
               "\"train_epoch_ms_median\": %.3f, \"train_step_ms_mean\": %.4f, \"infer_row_ms_median\": %.5f, "
               "\"repeat\": %d, \"infer_repeat\": %d, \"peak_rss_mb\": %.1f}\n",
               model, (long long)mtl_params_size(m->params), batch, rows, mtl_get_threads(), epoch_ms, step_ms, row_ms,
               repeat, infer_repeat, peak_rss_mb());
    } else {
        printf("%s (%lld parameters), %d thread(s), census-income-shaped rows (31 nominal + 7 continuous)\n"
               "  training epoch, %d rows in batches of %d: %9.1f ms (median of %d; %.3f ms per step)\n"
               "  scoring one row:                         %9.4f ms (median of %d)\n",
               model, (long long)mtl_params_size(m->params), mtl_get_threads(), rows, batch, epoch_ms, repeat, step_ms,
               row_ms, infer_repeat);
    }
    mtl_optimizer_free(opt);
    mtl_tape_free(t);
    mtl_model_free(m);
    free(x), free(yf[0]), free(yf[1]), free(ts);
    return code;
}

static void epoch_seconds(const mtl_epoch_stats *st, void *user) { ((double *)user)[st->epoch] = st->seconds; }

/* the trainer's own step (mtl_train, no evaluation) under a weighting strategy, on random
 * windows with random labels: --repeat steps per epoch, the median of 5 epochs after one
 * warm-up epoch, per step. Gradient strategies run one backward per task here. */
static int bench_weighting(const char *model, const char *weighting, bool rep_grad, int batch, int length, int repeat,
                           bool json) {
    enum { EPOCHS = 6 };
    mtl_dataset d;
    mtl_model *m = NULL;
    int n = batch * repeat;
    mtl_status s = mtl_dataset_alloc(&d, n, 1, length, 2);
    if (s) {
        fprintf(stderr, "mtl bench: %s\n", mtl_last_error());
        return 1;
    }
    mtl_rng rng;
    mtl_rng_init(&rng, 7, 0);
    mtl_rng_normal(&rng, d.x, (int64_t)n * length, 0.0f, 1.0f);
    for (int k = 0; k < 2; k++) {
        d.n_classes[k] = 4;
        for (int i = 0; i < n; i++) d.y[k][i] = (int32_t)mtl_rng_below(&rng, 4);
    }
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = length};
    s = mtl_model_create(model, &cfg, 1, &m);
    mtl_train_config c = {.epochs = EPOCHS, .batch_size = batch, .opt = mtl_opt_defaults(MTL_OPT_ADAM), .seed = 1,
                          .weighting = weighting, .wcfg = mtl_weighting_defaults(), .rep_grad = rep_grad};
    c.wcfg.lr = 0;
    double sec[EPOCHS] = {0};
    if (!s) s = mtl_train(m, &d, NULL, &c, epoch_seconds, sec);
    int code = 0;
    if (s) {
        fprintf(stderr, "mtl bench: %s\n", mtl_last_error());
        code = 1;
    } else {
        double ms[EPOCHS - 1];
        for (int e = 1; e < EPOCHS; e++) ms[e - 1] = 1e3 * sec[e] / repeat;
        double med = median(ms, EPOCHS - 1);
        if (json)
            printf("{\"model\": \"%s\", \"weighting\": \"%s\", \"rep_grad\": %s, \"batch_size\": %d, \"length\": %d, "
                   "\"threads\": %d, \"train_step_ms_median\": %.4f, \"steps_per_epoch\": %d, \"epochs_timed\": %d}\n",
                   model, weighting, rep_grad ? "true" : "false", batch, length, mtl_get_threads(), med, repeat,
                   EPOCHS - 1);
        else
            printf("%s under %s%s, %d thread(s), batch %d of %d samples\n  training step (the trainer's): %9.3f ms "
                   "(median over %d epochs of %d steps)\n",
                   model, weighting, rep_grad ? " (representation gradient)" : "", mtl_get_threads(), batch, length, med,
                   EPOCHS - 1, repeat);
    }
    mtl_model_free(m);
    mtl_dataset_free(&d);
    return code;
}

int cmd_bench(int argc, char **argv) {
    const char *model = "mtagn";
    int batch = 50, length = 2048, threads = 0, repeat = 20, infer_repeat = 200, warmup = 3, eval_windows = 1800;
    int rows = 199523;
    bool json = false, per_task_units = false, rep_grad = false;
    const char *weighting = "";
    arg_spec specs[] = {
        {"model", ARG_STRING, &model, "model to time (mtl info lists them)", 0, 0},
        {"batch-size", ARG_INT, &batch, "windows per training step", 2, 1 << 16},
        {"length", ARG_INT, &length, "window length", 16, 1 << 22},
        {"threads", ARG_INT, &threads, "threads (0: one per core)", 0, 1024},
        {"repeat", ARG_INT, &repeat, "timed training steps", 1, 1000000},
        {"infer-repeat", ARG_INT, &infer_repeat, "timed single-window inferences", 1, 10000000},
        {"warmup", ARG_INT, &warmup, "untimed steps first", 0, 1000},
        {"eval-windows", ARG_INT, &eval_windows,
         "then evaluate this many windows in batches (a run's validation + test), so that the peak memory covers "
         "a whole run", 0, 1 << 22},
        {"per-task-units", ARG_BOOL, &per_task_units, "mtagn: per-task 1x1 units", 0, 0},
        {"rows", ARG_INT, &rows, "tabular models: rows per timed epoch (census-income's training file: 199523)", 1,
         1 << 26},
        {"weighting", ARG_STRING, &weighting,
         "time the trainer's step under this weighting strategy instead (signal models; compare with ew for a "
         "gradient strategy's overhead)", 0, 0},
        {"rep-grad", ARG_BOOL, &rep_grad, "with --weighting: on the shared representation's gradient", 0, 0},
        {"json", ARG_BOOL, &json, "print JSON instead of text", 0, 0},
    };
    int r = args_parse("bench",
                       "Times a two-task model (4 + 4 classes) on random windows: the training step (forward,\n"
                       "two cross-entropy losses, backward, Adam) at --batch-size and eval-mode inference of\n"
                       "one window and of a batch. Medians over --repeat runs; peak memory is the process's\n"
                       "maximum resident set (VmHWM) after an evaluation pass like a run's validation and test.\n"
                       "A tabular model (single, shared-bottom, omoe, mmoe, cgc, ple, amtl, coamtl) is timed on\n"
                       "random rows of census-income's shape instead: a training epoch of --rows rows in batches\n"
                       "of --batch-size (use 1024; two binary tasks), median of --repeat epochs after one warm-up\n"
                       "epoch, and the scoring of one row.",
                       specs, (int)(sizeof specs / sizeof *specs), argc, argv);
    if (r) return r == 1 ? 0 : 2;
    if (mtl_set_threads(threads)) {
        fprintf(stderr, "mtl bench: --threads: %s\n", mtl_last_error());
        return 2;
    }
    if (*weighting) {
        if (mtl_model_kind_is_tabular(model)) {
            fprintf(stderr, "mtl bench: --weighting times signal models (got %s)\n", model);
            return 2;
        }
        if (!mtl_weighting_kind_find(weighting)) {
            fprintf(stderr, "mtl bench: --weighting: %s\n", mtl_last_error());
            return 2;
        }
        return bench_weighting(model, weighting, rep_grad, batch, length, repeat, json);
    }
    if (mtl_model_kind_is_tabular(model)) return bench_tabular(model, batch, rows, repeat, infer_repeat, warmup, json);
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = length,
                            .options = per_task_units ? MTL_MODEL_PER_TASK_UNITS : 0};
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    mtl_optimizer *opt = NULL;
    float *x = malloc((size_t)batch * length * sizeof(float));
    int32_t *y[2] = {malloc((size_t)batch * sizeof(int32_t)), malloc((size_t)batch * sizeof(int32_t))};
    double *ts = malloc((size_t)(repeat > infer_repeat ? repeat : infer_repeat) * sizeof(double));
    mtl_status s = (x && y[0] && y[1] && ts) ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "bench: out of memory");
    if (!s) s = mtl_model_create(model, &cfg, 1, &m);
    if (!s) s = mtl_tape_create(&t);
    if (!s) s = mtl_optimizer_create(&opt, m->params, mtl_opt_defaults(MTL_OPT_ADAM));
    if (!s) mtl_tape_set_keep_grads(t, false); /* as the trainer does */
    if (s) {
        fprintf(stderr, "mtl bench: %s\n", mtl_last_error());
        return 1;
    }
    mtl_rng rng;
    mtl_rng_init(&rng, 7, 0);
    mtl_rng_normal(&rng, x, (int64_t)batch * length, 0.0f, 1.0f);
    for (int i = 0; i < batch; i++) y[0][i] = i % 4, y[1][i] = (i / 4) % 4;
    float w[2] = {1, 1};
    double train_ms = 0, b1_ms = 0, bN_ms = 0;
    for (int i = 0; i < warmup + repeat && !s; i++) {
        double t0 = now();
        mtl_tape_reset(t);
        mtl_tape_set_training(t, true);
        mtl_tape_set_recording(t, true);
        mtl_tensor *in = mtl_tensor_wrap(t, MTL_SHAPE(batch, 1, length), x), *logits[2], *loss[2];
        if ((s = mtl_model_forward(m, t, in, logits))) break;
        loss[0] = mtl_cross_entropy(t, logits[0], y[0]);
        loss[1] = mtl_cross_entropy(t, logits[1], y[1]);
        mtl_params_zero_grad(m->params);
        if ((s = mtl_backward_weighted(t, 2, loss, w)) || (s = mtl_optimizer_step(opt))) break;
        if (i >= warmup) ts[i - warmup] = 1e3 * (now() - t0);
    }
    double *train_all = malloc((size_t)repeat * sizeof(double));
    if (!s && train_all) memcpy(train_all, ts, (size_t)repeat * sizeof(double));
    if (!s) train_ms = median(ts, repeat);
    for (int pass = 0; pass < 2 && !s; pass++) {
        int nb = pass == 0 ? 1 : batch, reps = pass == 0 ? infer_repeat : repeat;
        for (int i = 0; i < warmup + reps && !s; i++) {
            double t0 = now();
            mtl_tape_reset(t);
            mtl_tape_set_training(t, false);
            mtl_tape_set_recording(t, false);
            mtl_tensor *in = mtl_tensor_wrap(t, MTL_SHAPE(nb, 1, length), x), *logits[2];
            s = mtl_model_forward(m, t, in, logits);
            if (i >= warmup) ts[i - warmup] = 1e3 * (now() - t0);
        }
        if (!s) *(pass == 0 ? &b1_ms : &bN_ms) = median(ts, reps);
    }
    /* an evaluation pass over eval_windows windows in batches, as validation and test do */
    float *ev = !s && eval_windows > 0 ? malloc((size_t)eval_windows * length * sizeof(float)) : NULL;
    if (ev) {
        mtl_rng_normal(&rng, ev, (int64_t)eval_windows * length, 0.0f, 1.0f);
        for (int start = 0; start < eval_windows && !s; start += batch) {
            int nb = eval_windows - start < batch ? eval_windows - start : batch;
            mtl_tape_reset(t);
            mtl_tape_set_training(t, false);
            mtl_tape_set_recording(t, false);
            mtl_tensor *in = mtl_tensor_wrap(t, MTL_SHAPE(nb, 1, length), ev + (size_t)start * length), *logits[2];
            s = mtl_model_forward(m, t, in, logits);
        }
        free(ev);
    }
    double rss_mb = peak_rss_mb();
    int code = 0;
    if (s) {
        fprintf(stderr, "mtl bench: %s\n", mtl_last_error());
        code = 1;
    } else if (json) {
        printf("{\"model\": \"%s\", \"parameters\": %lld, \"batch_size\": %d, \"length\": %d, \"threads\": %d, "
               "\"train_step_ms_median\": %.4f, \"infer_batch1_ms_median\": %.4f, \"infer_batch_ms_median\": %.4f, "
               "\"repeat\": %d, \"eval_windows\": %d, \"peak_rss_mb\": %.1f, \"tape_bytes\": %lld, "
               "\"train_step_ms_all\": [",
               model, (long long)mtl_params_size(m->params), batch, length, mtl_get_threads(), train_ms, b1_ms, bN_ms,
               repeat, eval_windows, rss_mb, (long long)mtl_tape_bytes(t));
        for (int i = 0; i < repeat && train_all; i++) printf("%s%.4f", i ? ", " : "", train_all[i]);
        printf("]}\n");
    } else {
        printf("%s (%lld parameters), %d thread(s), windows of %d\n  training step, batch %d: %9.3f ms (median of %d)\n"
               "  inference, 1 window:     %9.3f ms (median of %d)\n  inference, batch %d:     %9.3f ms\n"
               "  peak memory:             %9.1f MB (with an evaluation pass over %d windows)\n",
               model, (long long)mtl_params_size(m->params), mtl_get_threads(), length, batch, train_ms, repeat, b1_ms,
               infer_repeat, batch, bN_ms, rss_mb, eval_windows);
    }
    mtl_optimizer_free(opt);
    mtl_tape_free(t);
    mtl_model_free(m);
    free(x), free(y[0]), free(y[1]), free(ts), free(train_all);
    return code;
}
