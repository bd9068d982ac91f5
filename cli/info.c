#include <stdio.h>

#include "args.h"
#include "commands.h"
#include "mtl/mtl.h"

int cmd_info(int argc, char **argv) {
    int threads = 0;
    arg_spec specs[] = {{"threads", ARG_INT, &threads, "threads to report on (0: one per core)", 0, 1024}};
    int r = args_parse("info", "Shows the version, the BLAS and threading configuration, the models and the weighting strategies.", specs, 1, argc, argv);
    if (r) return r == 1 ? 0 : 2;
    mtl_set_threads(threads);
    printf("%s\n\nmodels:\n", mtl_build_info());
    for (const mtl_model_kind *k = mtl_model_kinds(); k->name; k++) printf("  %-10s %s\n", k->name, k->description);
    printf("\nweighting strategies (--weighting; * = per-task gradients, R = also on the shared representation "
           "with --rep-grad):\n");
    for (const mtl_weighting_kind *k = mtl_weighting_kinds(); k->name; k++)
        printf("  %-9s %c%c %s\n", k->name, k->flags & MTL_WEIGHTING_GRADS ? '*' : ' ',
               k->flags & MTL_WEIGHTING_REP ? 'R' : ' ', k->description);
    return 0;
}
