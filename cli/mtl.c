/* mtl: the command. Subcommands parse flags, call libmtl, print, and exit. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mtl/mtl.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"demo", cmd_demo, "train MTAGN on CWRU bearing data (or simulated data when none is found) and print the results"},
    {"train", cmd_train, "train a model over seeds under a protocol; mean +- std results, log, checkpoint, report"},
    {"compare", cmd_compare, "train several models under the same protocol and seeds; one table"},
    {"study", cmd_study, "train models under several weighting strategies with the same seeds; one table with Delta_m"},
    {"eval", cmd_eval, "evaluate a checkpoint: accuracy, macro-F1, confusion matrix per task"},
    {"predict", cmd_predict, "predict every window of a recording (.mat, CSV, .npy) with a checkpoint"},
    {"bench", cmd_bench, "time a model's training step and inference (bench/ compares with PyTorch)"},
    {"info", cmd_info, "show the version, BLAS and threading configuration, the models and the weighting strategies"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof *commands)

static void usage(FILE *to) {
    fprintf(to, "usage: mtl <command> [flags]\n\nmulti-task learning with attention (MTAN, MTAGN, Co-AMTL), in C.\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(to, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n'mtl <command> --help' lists a command's flags with their defaults.\n'mtl --version' prints the version.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mtl %s\n", mtl_version());
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "mtl: unknown command '%s' (expected one of:", argv[1]);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, "; see mtl --help)\n");
    return 2;
}
