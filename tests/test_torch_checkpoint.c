/* mtl checkpoints of every model kind load into the PyTorch reference modules
 * (tests/parity/reference.py) with load_state_dict(strict=True) and give the same
 * evaluation-mode logits (tests/parity/check_checkpoint.py; tolerance 1e-4). */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PYTHON "/usr/bin/python3"

typedef struct {
    const char *kind;
    bool per_task_units;
    int n_tasks, classes[3];
} ckpt_case;

static const ckpt_case cases[] = {
    {"mtagn", false, 2, {4, 3}}, {"mtagn", true, 2, {4, 3}}, {"stan", false, 2, {4, 3}},
    {"mt1dcnn", false, 3, {3, 4, 2}}, {"jlcnn", false, 2, {4, 3}}, {"wdcnn", false, 2, {4, 3}},
};

static char dir[] = "/tmp/mtl_torch_ckpt_XXXXXX";

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* non-trivial running statistics, batchnorm affine values and biases (all start at 0 or 1),
 * so that the comparison sees every tensor of the checkpoint */
static void perturb(mtl_params *P, uint64_t seed) {
    mtl_rng r;
    mtl_rng_init(&r, seed, 7);
    for (int i = 0; i < mtl_params_count(P); i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        mtl_tensor *x = pi->tensor;
        if (ends_with(pi->name, "num_batches_tracked")) x->data[0] = 17;
        else if (ends_with(pi->name, "running_mean")) mtl_rng_uniform(&r, x->data, x->size, -0.3f, 0.3f);
        else if (ends_with(pi->name, "running_var")) mtl_rng_uniform(&r, x->data, x->size, 0.5f, 2.0f);
        else if (ends_with(pi->name, "bn.weight")) mtl_rng_uniform(&r, x->data, x->size, 0.8f, 1.2f);
        else if (ends_with(pi->name, "bias")) mtl_rng_uniform(&r, x->data, x->size, -0.1f, 0.1f);
    }
}

static void run_case(const ckpt_case *c, int index) {
    enum { N = 4, L = 2048 };
    char ckpt[128], io[128], what[64];
    snprintf(ckpt, sizeof ckpt, "%s/model%d.safetensors", dir, index);
    snprintf(io, sizeof io, "%s/io%d.safetensors", dir, index);
    snprintf(what, sizeof what, "%s%s", c->kind, c->per_task_units ? " (per-task units)" : "");
    mtl_model_config cfg = {.n_tasks = c->n_tasks, .in_channels = 1, .length = L,
                            .options = c->per_task_units ? MTL_MODEL_PER_TASK_UNITS : 0};
    memcpy(cfg.n_classes, c->classes, sizeof c->classes);
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    mtl_st_writer *w = NULL;
    float *x = malloc(N * L * sizeof(float));
    CHECK_OK(mtl_model_create(c->kind, &cfg, 100 + (uint64_t)index, &m));
    CHECK_OK(mtl_tape_create(&t));
    CHECK_OK(mtl_st_writer_create(&w));
    if (!m || !t || !w || !x) goto done;
    perturb(m->params, (uint64_t)index);
    CHECK_OK(mtl_params_save(m->params, ckpt, 0, NULL));

    /* evaluation-mode logits on 4 random windows */
    th_fill(x, N * L, 20 + (uint64_t)index, -2, 2);
    mtl_tape_set_training(t, false);
    mtl_tape_set_recording(t, false);
    mtl_tensor *logits[MTL_MAX_TASKS];
    mtl_status s = mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(N, 1, L), x), logits);
    CHECK(s == MTL_OK, "%s: forward: %s", what, mtl_last_error());
    if (s) goto done;
    int64_t xs[3] = {N, 1, L};
    CHECK_OK(mtl_st_writer_add(w, "x", MTL_DTYPE_F32, 3, xs, x));
    for (int k = 0; k < c->n_tasks; k++) {
        char name[16];
        snprintf(name, sizeof name, "logits%d", k);
        int64_t ls[2] = {N, c->classes[k]};
        CHECK_OK(mtl_st_writer_add(w, name, MTL_DTYPE_F32, 2, ls, logits[k]->data));
    }
    CHECK_OK(mtl_st_writer_save(w, io));

    const char *src = getenv("MTL_SOURCE_DIR");
    char script[1024], cmd[2048], classes[32] = "";
    snprintf(script, sizeof script, "%s/tests/parity/check_checkpoint.py", src && *src ? src : ".");
    CHECK(access(script, R_OK) == 0, "%s not found (is MTL_SOURCE_DIR set?)", script);
    for (int k = 0; k < c->n_tasks; k++) {
        size_t len = strlen(classes);
        snprintf(classes + len, sizeof classes - len, " %d", c->classes[k]);
    }
    snprintf(cmd, sizeof cmd, PYTHON " '%s' %s '%s' '%s'%s%s", script, c->kind, ckpt, io, classes,
             c->per_task_units ? " --per-task-units" : "");
    fflush(stdout);
    int rc = system(cmd);
    CHECK(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s: '%s' exited with status %d", what, cmd,
          rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    if (index == 0) {
        /* the check can fail: one logit off by 1e-3 must be refused */
        mtl_st_writer_free(w);
        w = NULL;
        logits[c->n_tasks - 1]->data[1] += 1e-3f;
        CHECK_OK(mtl_st_writer_create(&w));
        CHECK_OK(mtl_st_writer_add(w, "x", MTL_DTYPE_F32, 3, xs, x));
        for (int k = 0; k < c->n_tasks && w; k++) {
            char name[16];
            snprintf(name, sizeof name, "logits%d", k);
            int64_t ls[2] = {N, c->classes[k]};
            CHECK_OK(mtl_st_writer_add(w, name, MTL_DTYPE_F32, 2, ls, logits[k]->data));
        }
        CHECK_OK(mtl_st_writer_save(w, io));
        printf("     (expected to fail:) ");
        fflush(stdout);
        rc = system(cmd);
        CHECK(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "%s: a wrong logit was not detected (status %d)", what,
              rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    }
done:
    remove(ckpt);
    remove(io);
    free(x);
    mtl_st_writer_free(w);
    mtl_tape_free(t);
    mtl_model_free(m);
}

static void checkpoints_load_into_pytorch(void) {
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], (int)i);
}

int main(void) {
    if (system(PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("SKIP: PyTorch not available (install python3-torch)\n");
        return 77;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    mtl_set_threads(2);
    RUN(checkpoints_load_into_pytorch);
    rmdir(dir);
    return th_summary();
}
