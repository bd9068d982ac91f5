/* bench_step: only the training step of a model (what `mtl bench` times first), for
 * profilers: nothing else runs, so `perf record bench_step` attributes every sample to the
 * step (forward, two cross-entropy losses, backward, Adam).
 *
 *   bench_step [--model NAME] [--threads N] [--steps S] [--batch B]
 *
 * Prints the median and the minimum step time in ms, and the median processor time of the
 * process per step (all threads): on a shared machine the wall time also counts time slices
 * other processes took, the processor time does not (cache and memory contention remain). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtl/mtl.h"

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *model = "mtagn";
    int threads = 1, steps = 30, batch = 50, length = 2048;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_step [--model NAME] [--threads N] [--steps S] [--batch B]\n");
            return 2;
        }
    }
    if (steps < 1 || batch < 2 || mtl_set_threads(threads)) {
        fprintf(stderr, "bench_step: bad arguments\n");
        return 2;
    }
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = length};
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    mtl_optimizer *opt = NULL;
    float *x = malloc((size_t)batch * length * sizeof(float));
    int32_t *y[2] = {malloc((size_t)batch * sizeof(int32_t)), malloc((size_t)batch * sizeof(int32_t))};
    double *ts = malloc((size_t)steps * sizeof(double)), *cpu = malloc((size_t)steps * sizeof(double));
    mtl_status s = (x && y[0] && y[1] && ts && cpu) ? MTL_OK : MTL_ERR_NOMEM;
    if (!s) s = mtl_model_create(model, &cfg, 1, &m);
    if (!s) s = mtl_tape_create(&t);
    if (!s) s = mtl_optimizer_create(&opt, m->params, mtl_opt_defaults(MTL_OPT_ADAM));
    if (!s) {
        mtl_tape_set_keep_grads(t, false);
        mtl_rng rng;
        mtl_rng_init(&rng, 7, 0);
        mtl_rng_normal(&rng, x, (int64_t)batch * length, 0.0f, 1.0f);
        for (int i = 0; i < batch; i++) y[0][i] = i % 4, y[1][i] = (i / 4) % 4;
    }
    float w[2] = {1, 1};
    for (int i = -3; i < steps && !s; i++) {
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        mtl_tape_reset(t);
        mtl_tensor *in = mtl_tensor_wrap(t, MTL_SHAPE(batch, 1, length), x), *logits[2], *loss[2];
        if ((s = mtl_model_forward(m, t, in, logits))) break;
        loss[0] = mtl_cross_entropy(t, logits[0], y[0]);
        loss[1] = mtl_cross_entropy(t, logits[1], y[1]);
        mtl_params_zero_grad(m->params);
        if ((s = mtl_backward_weighted(t, 2, loss, w)) || (s = mtl_optimizer_step(opt))) break;
        if (i >= 0) {
            ts[i] = 1e3 * (clock_s(CLOCK_MONOTONIC) - t0);
            cpu[i] = 1e3 * (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        }
    }
    if (s) {
        fprintf(stderr, "bench_step: %s\n", mtl_last_error());
    } else {
        qsort(ts, (size_t)steps, sizeof *ts, cmp_double);
        qsort(cpu, (size_t)steps, sizeof *cpu, cmp_double);
        printf("%s, batch %d, %d thread(s): step median %.3f ms, min %.3f ms, processor time median %.3f ms "
               "(%d steps)\n",
               model, batch, mtl_get_threads(), ts[steps / 2], ts[0], cpu[steps / 2], steps);
    }
    mtl_optimizer_free(opt);
    mtl_tape_free(t);
    mtl_model_free(m);
    free(x), free(y[0]), free(y[1]), free(ts), free(cpu);
    return s ? 1 : 0;
}
