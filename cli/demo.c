/* mtl demo: trains the small two-task network on generated tones and prints each
 * epoch's per-task loss and accuracy (training and held-out). Needs no data files. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "commands.h"
#include "mtl/mtl.h"
#include "mtl/train.h"

typedef struct {
    FILE *csv;
} demo_ctx;

static void on_epoch(const mtl_epoch_stats *s, void *user) {
    demo_ctx *c = user;
    printf("%5d/%-3d", s->epoch + 1, s->epochs);
    for (int k = 0; k < s->n_tasks; k++)
        printf(" | %7.4f %6.2f%% %6.2f%%", s->train_loss[k], 100 * s->train_acc[k], 100 * s->eval_acc[k]);
    printf(" | %6.2fs\n", s->seconds);
    fflush(stdout);
    if (c->csv) {
        fprintf(c->csv, "%d", s->epoch + 1);
        for (int k = 0; k < s->n_tasks; k++)
            fprintf(c->csv, ",%.6f,%.6f,%.6f,%.6f,%.4f", s->train_loss[k], s->train_acc[k], s->eval_loss[k],
                    s->eval_acc[k], (double)s->weights[k]);
        fprintf(c->csv, ",%.4f\n", s->seconds);
    }
}

int cmd_demo(int argc, char **argv) {
    int epochs = 12, batch = 32, samples = 1200, length = 256, width = 8, threads = 0;
    float lr = 3e-3f, noise = 0.6f;
    uint64_t seed = 1;
    const char *csv_path = NULL;
    arg_spec specs[] = {
        {"epochs", ARG_INT, &epochs, "training epochs", 1, 100000},
        {"batch-size", ARG_INT, &batch, "samples per step", 2, 1 << 20},
        {"lr", ARG_FLOAT, &lr, "Adam learning rate", 0, 10},
        {"samples", ARG_INT, &samples, "generated training samples (a quarter as many are held out)", 8, 1 << 22},
        {"length", ARG_INT, &length, "samples per signal window", 32, 1 << 20},
        {"noise", ARG_FLOAT, &noise, "std of the Gaussian noise added to the tones", 0, 100},
        {"width", ARG_INT, &width, "channels of the first convolution", 1, 1024},
        {"seed", ARG_U64, &seed, "seed of the data, the initial weights and the shuffling", 0, 0},
        {"threads", ARG_INT, &threads, "threads (0: one per core)", 0, 1024},
        {"csv", ARG_STRING, &csv_path, "also write the per-epoch log to this CSV file", 0, 0},
    };
    int r = args_parse("demo",
                       "Trains the small two-task network ('tiny': conv-BN-ReLU-maxpool, per-task ECA attention,\n"
                       "shared conv, per-task heads) on generated tones: task 'frequency' (4 classes) and task\n"
                       "'amplitude' (3 classes). Needs no data files.",
                       specs, (int)(sizeof specs / sizeof *specs), argc, argv);
    if (r) return r == 1 ? 0 : 2;
    if (mtl_set_threads(threads)) {
        fprintf(stderr, "mtl demo: %s\n", mtl_last_error());
        return 2;
    }
    mtl_dataset train, test;
    mtl_model *model = NULL;
    demo_ctx ctx = {NULL};
    int code = 1;
    mtl_status s = mtl_synth_tones(&train, samples, length, noise, seed);
    if (!s) s = mtl_synth_tones(&test, samples / 4 > 8 ? samples / 4 : 8, length, noise, seed + 1000003);
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = length, .width = width};
    if (!s) s = mtl_model_create("tiny", &cfg, seed, &model);
    if (s) {
        fprintf(stderr, "mtl demo: %s\n", mtl_last_error());
        goto done;
    }
    if (csv_path) {
        ctx.csv = fopen(csv_path, "w");
        if (!ctx.csv) {
            fprintf(stderr, "mtl demo: cannot write the CSV log '%s'\n", csv_path);
            goto done;
        }
        fprintf(ctx.csv, "epoch");
        for (int k = 0; k < 2; k++)
            fprintf(ctx.csv, ",%s_train_loss,%s_train_acc,%s_test_loss,%s_test_acc,%s_weight", train.task_names[k],
                    train.task_names[k], train.task_names[k], train.task_names[k], train.task_names[k]);
        fprintf(ctx.csv, ",seconds\n");
    }
    printf("mtl demo: model 'tiny' (%lld parameters, %lld shared), %d training / %d held-out tones of length %d,\n"
           "Adam lr %g, batch %d, %d epochs, seed %llu, %d thread(s)\n\n",
           (long long)mtl_params_size(model->params), (long long)mtl_params_shared_size(model->params), train.n, test.n,
           length, (double)lr, batch, epochs, (unsigned long long)seed, mtl_get_threads());
    printf("%9s", "epoch");
    for (int k = 0; k < 2; k++) printf(" | %-23s", train.task_names[k]);
    printf(" | %7s\n%9s", "time", "");
    for (int k = 0; k < 2; k++) printf(" | %7s %7s %7s", "loss", "train", "test");
    printf(" |\n");
    mtl_train_config tc = {.epochs = epochs, .batch_size = batch, .opt = mtl_opt_defaults(MTL_OPT_ADAM), .seed = seed};
    tc.opt.lr = lr;
    s = mtl_train(model, &train, &test, &tc, on_epoch, &ctx);
    if (s) {
        fprintf(stderr, "mtl demo: %s\n", mtl_last_error());
        goto done;
    }
    double loss[MTL_MAX_TASKS], acc[MTL_MAX_TASKS];
    s = mtl_evaluate(model, &test, 256, loss, acc);
    if (s) {
        fprintf(stderr, "mtl demo: %s\n", mtl_last_error());
        goto done;
    }
    printf("\nheld-out accuracy: %s %.2f%%, %s %.2f%%\n", test.task_names[0], 100 * acc[0], test.task_names[1],
           100 * acc[1]);
    code = 0;
done:
    if (ctx.csv && fclose(ctx.csv) != 0 && code == 0) {
        fprintf(stderr, "mtl demo: writing '%s' failed\n", csv_path);
        code = 1;
    }
    mtl_model_free(model);
    mtl_dataset_free(&train);
    mtl_dataset_free(&test);
    return code;
}
