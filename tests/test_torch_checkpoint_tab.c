/* mtl checkpoints of every tabular model kind load into the PyTorch reference modules
 * (tests/parity/tabular_ref.py build()) with load_state_dict(strict=True) and give the same
 * evaluation-mode logits (tests/parity/check_checkpoint_tab.py; tolerance 1e-4). */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PYTHON "/usr/bin/python3"

/* tab: sizes given to mtl (0: the default; the input fields are filled in by run_case) */
typedef struct {
    const char *kind;
    int n_tasks, classes[3];
    mtl_tab_model_config tab;
} ckpt_case;

static const ckpt_case cases[] = {
    {"mmoe", 2, {2, 2}, {0}},
    {"single", 2, {2, 3}, {0}},
    {"shared-bottom", 2, {2, 2}, {0}},
    {"shared-bottom", 3, {2, 2, 4}, {.hash_buckets = 40, .emb_dim = 16}},
    {"omoe", 3, {2, 3, 2}, {.experts = 5, .n_tower = -1}},
    {"mmoe", 3, {3, 2, 2}, {.hash_buckets = 30, .experts = 4, .units = 16, .n_tower = 1, .tower = {12}}},
    {"cgc", 2, {2, 3}, {.shared_experts = 3, .task_experts = 1}},
    {"ple", 2, {2, 2}, {0}},
    {"ple", 3, {2, 3, 2}, {.levels = 3, .shared_experts = 2, .task_experts = 3, .units = 16}},
    {"amtl", 2, {2, 2}, {.units = 16, .experts = 4, .scaled_attention = true}},
    {"coamtl", 3, {2, 3, 2}, {.hash_buckets = 20, .emb_dim = 16, .units = 19}}, /* 16 + 3 = d: no projection */
    {"coamtl", 2, {2, 2}, {.units = 16, .experts = 2, .scaled_attention = true}},
};

enum { N_IDS = 4, N_CONT = 3, F = N_IDS + N_CONT };
static const int vocab[N_IDS] = {7, 3, 12, 5};

static char dir[] = "/tmp/mtl_torch_ckpt_tab_XXXXXX";

static void appendf(char *buf, size_t size, const char *fmt, int v) {
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, fmt, v);
}

/* "a,b,c" of n ints, or "none" */
static void int_list(char *buf, size_t size, const int *v, int n) {
    snprintf(buf, size, "%s", n > 0 ? "" : "none");
    for (int i = 0; i < n; i++) appendf(buf, size, i ? ",%d" : "%d", v[i]);
}

static bool save_io(const char *io, const float *x, int N, mtl_tensor *const *logits, int n_tasks) {
    mtl_st_writer *w = NULL;
    CHECK_OK(mtl_st_writer_create(&w));
    if (!w) return false;
    int64_t xs[3] = {N, 1, F};
    CHECK_OK(mtl_st_writer_add(w, "x", MTL_DTYPE_F32, 3, xs, x));
    for (int k = 0; k < n_tasks; k++) {
        char name[32];
        snprintf(name, sizeof name, "logits%d", k);
        int64_t ls[2] = {logits[k]->shape[0], logits[k]->shape[1]};
        CHECK_OK(mtl_st_writer_add(w, name, MTL_DTYPE_F32, 2, ls, logits[k]->data));
    }
    mtl_status s = mtl_st_writer_save(w, io);
    CHECK_OK(s);
    mtl_st_writer_free(w);
    return s == MTL_OK;
}

static int run_script(const char *cmd) {
    fflush(stdout);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void run_case(const ckpt_case *c, int index) {
    enum { N = 5 };
    char ckpt[128], io[128];
    snprintf(ckpt, sizeof ckpt, "%s/model%d.safetensors", dir, index);
    snprintf(io, sizeof io, "%s/io%d.safetensors", dir, index);
    mtl_model_config cfg = {.n_tasks = c->n_tasks, .in_channels = 1, .length = F, .tab = c->tab};
    memcpy(cfg.n_classes, c->classes, sizeof c->classes);
    cfg.tab.n_ids = N_IDS, cfg.tab.n_cont = N_CONT;
    memcpy(cfg.tab.vocab, vocab, sizeof vocab);
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    CHECK_OK(mtl_model_create(c->kind, &cfg, 100 + (uint64_t)index, &m));
    CHECK_OK(mtl_tape_create(&t));
    if (!m || !t) goto done;
    CHECK_OK(mtl_params_save(m->params, ckpt, 0, NULL));

    /* evaluation-mode logits on N rows: ids in range (hashed: in the buckets), then values */
    const mtl_tab_model_config *r = &m->cfg.tab;
    float x[N * F];
    th_fill(x, N * F, 30 + (uint64_t)index, -2, 2);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < N_IDS; i++) {
            int rows = r->hash_buckets > 0 ? r->hash_buckets : vocab[i];
            x[n * F + i] = (float)((n * 7 + i * 5 + index) % rows);
        }
    mtl_tape_set_training(t, false);
    mtl_tape_set_recording(t, false);
    mtl_tensor *logits[MTL_MAX_TASKS];
    mtl_status s = mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(N, 1, F), x), logits);
    CHECK(s == MTL_OK, "%s: forward: %s", c->kind, mtl_last_error());
    if (s || !save_io(io, x, N, logits, c->n_tasks)) goto done;

    /* the resolved sizes, so that the reference does not depend on its own defaults */
    const char *src = getenv("MTL_SOURCE_DIR");
    char script[1024], cmd[2048], vocab_s[64], tower_s[64], classes[32] = "";
    snprintf(script, sizeof script, "%s/tests/parity/check_checkpoint_tab.py", src && *src ? src : ".");
    CHECK(access(script, R_OK) == 0, "%s not found (is MTL_SOURCE_DIR set?)", script);
    for (int k = 0; k < c->n_tasks; k++) appendf(classes, sizeof classes, " %d", c->classes[k]);
    int_list(vocab_s, sizeof vocab_s, r->vocab, r->n_ids);
    int_list(tower_s, sizeof tower_s, r->tower, r->n_tower > 0 ? r->n_tower : 0);
    snprintf(cmd, sizeof cmd,
             PYTHON " '%s' %s '%s' '%s' --classes%s --vocab %s --n-cont %d --hash-buckets %d --emb-dim %d --units %d "
                    "--experts %d --shared-experts %d --task-experts %d --levels %d --tower %s%s",
             script, c->kind, ckpt, io, classes, vocab_s, r->n_cont, r->hash_buckets, r->emb_dim, r->units,
             r->experts, r->shared_experts, r->task_experts, r->levels, tower_s,
             r->scaled_attention ? " --scaled-attention" : "");
    int rc = run_script(cmd);
    CHECK(rc == 0, "%s: '%s' exited with status %d", c->kind, cmd, rc);
    if (index == 0) {
        /* the check can fail: one logit off by 1e-3 must be refused */
        logits[c->n_tasks - 1]->data[1] += 1e-3f;
        if (save_io(io, x, N, logits, c->n_tasks)) {
            printf("     (expected to fail:) ");
            rc = run_script(cmd);
            CHECK(rc == 1, "%s: a wrong logit was not detected (status %d)", c->kind, rc);
        }
    }
done:
    remove(ckpt);
    remove(io);
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
