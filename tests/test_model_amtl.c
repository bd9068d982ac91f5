/* Tabular AMTL and Co-AMTL (src/models/amtl.c) against PyTorch (fixture:
 * tests/parity/gen_model_coamtl.py, reference tests/parity/amtl_ref.py): logits, losses,
 * attention taps, the gradient of the weighted loss and 3 Adam steps, for Co-AMTL with
 * K = 2 and K = 3 (3-class task, hashed input) and AMTL with scaled attention; plus
 * parameter counts counted by hand, shapes, which task's loss reaches which parameters,
 * and bad configurations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ATOL 1e-5
#define RTOL 1e-4
#define B 16

static const float loss_w[3] = {0.7f, 1.3f, 1.0f};

/* a tabular config: n_ids ids of the given vocabularies (or hashed into `hash` rows) + n_cont */
static mtl_model_config tab_cfg(int K, const int *classes, int n_ids, const int *vocab, int hash, int n_cont) {
    mtl_model_config c;
    memset(&c, 0, sizeof c);
    c.n_tasks = K;
    for (int k = 0; k < K; k++) c.n_classes[k] = classes[k];
    c.in_channels = 1, c.length = n_ids + n_cont;
    c.tab.n_ids = n_ids, c.tab.n_cont = n_cont, c.tab.hash_buckets = hash;
    for (int i = 0; vocab && i < n_ids; i++) c.tab.vocab[i] = vocab[i];
    return c;
}

/* the generator's CASES, same order */
typedef struct {
    const char *name, *kind;
    mtl_model_config cfg;
} parity_case;

static parity_case make_case(int i) {
    parity_case pc;
    if (i == 0) {
        pc.name = "k2", pc.kind = "coamtl";
        pc.cfg = tab_cfg(2, (int[]){2, 2}, 3, (int[]){5, 4, 6}, 0, 2);
        pc.cfg.tab.emb_dim = 4, pc.cfg.tab.units = 8, pc.cfg.tab.experts = 3;
        pc.cfg.tab.n_tower = 2, pc.cfg.tab.tower[0] = 6, pc.cfg.tab.tower[1] = 4;
    } else if (i == 1) {
        pc.name = "k3", pc.kind = "coamtl";
        pc.cfg = tab_cfg(3, (int[]){2, 3, 2}, 3, NULL, 10, 0);
        pc.cfg.tab.emb_dim = 8, pc.cfg.tab.units = 8, pc.cfg.tab.experts = 3;
        pc.cfg.tab.n_tower = 2, pc.cfg.tab.tower[0] = 6, pc.cfg.tab.tower[1] = 4;
    } else {
        pc.name = "amtl", pc.kind = "amtl";
        pc.cfg = tab_cfg(2, (int[]){2, 4}, 4, NULL, 10, 2);
        pc.cfg.tab.emb_dim = 4, pc.cfg.tab.units = 8, pc.cfg.tab.experts = 4, pc.cfg.tab.scaled_attention = true;
        pc.cfg.tab.n_tower = 1, pc.cfg.tab.tower[0] = 5;
    }
    return pc;
}

static void compare_params(mtl_st_file *f, mtl_params *P, const char *prefix, const float *block) {
    for (int i = 0; i < mtl_params_count(P); i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        char key[200];
        snprintf(key, sizeof key, "%.64s%s", prefix, pi->name);
        float *want = th_fixture_f32(f, key, NULL);
        const float *got = block ? block + pi->offset : pi->tensor->data;
        if (want) th_compare(key, got, want, pi->tensor->size, ATOL, RTOL);
    }
}

/* forward + the tasks' losses; returns false (and a failed check) if anything failed */
static bool forward_losses(mtl_model *m, mtl_tape *t, float *x, int32_t *const *y, float *const *yf,
                           mtl_tensor **logits, mtl_tensor **losses) {
    mtl_tape_reset(t);
    mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(B, 1, m->cfg.length), x);
    mtl_status s = mtl_model_forward(m, t, X, logits);
    CHECK(s == MTL_OK, "forward: %s", mtl_last_error());
    if (s) return false;
    bool ok = true;
    for (int k = 0; k < m->cfg.n_tasks; k++) {
        losses[k] = m->cfg.n_classes[k] == 2 ? mtl_bce_with_logits(t, logits[k], yf[k])
                                             : mtl_cross_entropy(t, logits[k], y[k]);
        ok = ok && losses[k];
    }
    CHECK(ok, "losses: %s", mtl_tape_error(t));
    return ok;
}

static void parity(int ci) {
    parity_case pc = make_case(ci);
    mtl_st_file *f = th_fixture("model_coamtl.safetensors");
    if (!f) return;
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create(pc.kind, &pc.cfg, 3, &m));
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    if (!m || !t) goto done;
    mtl_params *P = m->params;
    int K = pc.cfg.n_tasks;
    char key[200];
    /* the same parameters by name, and no more (as load_state_dict(strict=True)) */
    int n_ref = 0;
    snprintf(key, sizeof key, "%s.init.", pc.name);
    for (int i = 0; i < mtl_st_count(f); i++) n_ref += strncmp(mtl_st_at(f, i)->name, key, strlen(key)) == 0;
    CHECK(n_ref == mtl_params_count(P), "%s: %d reference tensors, mtl has %d", pc.name, n_ref, mtl_params_count(P));
    for (int i = 0; i < mtl_params_count(P); i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        snprintf(key, sizeof key, "%s.init.%s", pc.name, pi->name);
        CHECK_OK(mtl_st_read_f32(f, key, pi->tensor->data, pi->tensor->size));
    }
    snprintf(key, sizeof key, "%s.x", pc.name);
    float *x = th_fixture_f32(f, key, NULL);
    int32_t *y[3] = {NULL, NULL, NULL};
    float *yf[3] = {NULL, NULL, NULL}, yfb[3][B];
    for (int k = 0; k < K; k++) {
        snprintf(key, sizeof key, "%s.y%d", pc.name, k);
        y[k] = th_fixture_i32(f, key, NULL);
        if (!y[k]) goto done;
        for (int n = 0; n < B; n++) yfb[k][n] = (float)y[k][n];
        yf[k] = yfb[k];
    }
    if (!x) goto done;

    mtl_tensor *logits[3], *losses[3];
    if (!forward_losses(m, t, x, y, yf, logits, losses)) goto done;
    CHECK(m->taps.n_stages == (strcmp(pc.kind, "coamtl") == 0 ? 2 : 1), "%s: %d attention stages", pc.name,
          m->taps.n_stages);
    for (int k = 0; k < K; k++) {
        int C = pc.cfg.n_classes[k] == 2 ? 1 : pc.cfg.n_classes[k];
        CHECK(logits[k]->ndim == 2 && logits[k]->shape[0] == B && logits[k]->shape[1] == C, "%s: logits %d shape",
              pc.name, k);
        snprintf(key, sizeof key, "%s.logits%d", pc.name, k);
        th_compare(key, logits[k]->data, th_fixture_f32(f, key, NULL), logits[k]->size, ATOL, RTOL);
        snprintf(key, sizeof key, "%s.loss%d", pc.name, k);
        th_compare(key, losses[k]->data, th_fixture_f32(f, key, NULL), 1, ATOL, RTOL);
        CHECK(m->taps.features[k] && m->taps.features[k]->size == (int64_t)B * pc.cfg.tab.units, "%s: features %d",
              pc.name, k);
        for (int s = 0; s < m->taps.n_stages; s++) {
            mtl_tensor *a = m->taps.attention[k][s];
            mtl_shape want;
            snprintf(key, sizeof key, "%s.att%d.%d", pc.name, k, s);
            float *ref = th_fixture_f32(f, key, &want);
            CHECK(a && ref && a->ndim == 2 && a->shape[0] == want.d[0] && a->shape[1] == want.d[1], "%s shape", key);
            if (a && ref && a->size == mtl_shape_size(want)) th_compare(key, a->data, ref, a->size, ATOL, RTOL);
        }
    }

    /* the gradient of the weighted loss */
    mtl_params_zero_grad(P);
    CHECK_OK(mtl_backward_weighted(t, K, losses, loss_w));
    snprintf(key, sizeof key, "%s.grad.", pc.name);
    compare_params(f, P, key, mtl_params_grad(P));

    /* 3 Adam steps (the first from the gradient above) */
    mtl_opt_config oc = mtl_opt_defaults(MTL_OPT_ADAM);
    oc.lr = 1e-2f;
    mtl_optimizer *opt = NULL;
    CHECK_OK(mtl_optimizer_create(&opt, P, oc));
    if (!opt) goto done;
    CHECK_OK(mtl_optimizer_step(opt));
    for (int step = 2; step <= 3; step++) {
        if (!forward_losses(m, t, x, y, yf, logits, losses)) break;
        float total = 0;
        for (int k = 0; k < K; k++) total += loss_w[k] * losses[k]->data[0];
        snprintf(key, sizeof key, "%s.step%d.loss", pc.name, step);
        th_compare(key, &total, th_fixture_f32(f, key, NULL), 1, ATOL, RTOL);
        mtl_params_zero_grad(P);
        CHECK_OK(mtl_backward_weighted(t, K, losses, loss_w));
        CHECK_OK(mtl_optimizer_step(opt));
    }
    snprintf(key, sizeof key, "%s.final.", pc.name);
    compare_params(f, P, key, NULL);
    mtl_optimizer_free(opt);
done:
    mtl_tape_free(t);
    mtl_model_free(m);
}

static void coamtl_k2_matches_pytorch(void) { parity(0); }
static void coamtl_k3_hashed_matches_pytorch(void) { parity(1); }
static void amtl_scaled_matches_pytorch(void) { parity(2); }

static int64_t count_of(const char *kind, const mtl_model_config *cfg) {
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create(kind, cfg, 1, &m));
    int64_t n = m ? mtl_params_size(m->params) : -1;
    mtl_model_free(m);
    return n;
}

static void parameter_counts_by_hand(void) {
    /* 3 ids of vocab (5, 4, 6), emb 4, 2 continuous: D = 14; d = 8, 3 experts, towers [6, 4], classes (2, 3):
     *   inp.emb.*      (5 + 4 + 6) * 4                        =  60
     *   proj           14 * 8 + 8                             = 120
     *   experts        8 * 24 + 24                            = 216
     *   task_reps.*    2 * (8 * 8 + 8)                        = 144
     *   towers.0       (8*6 + 6) + (6*4 + 4) + (4*1 + 1)      =  87
     *   towers.1       54 + 28 + (4*3 + 3)                    =  97
     *   amtl: 724;  coamtl adds co.* 2 * 72 = 144: 868 */
    mtl_model_config c = tab_cfg(2, (int[]){2, 3}, 3, (int[]){5, 4, 6}, 0, 2);
    c.tab.emb_dim = 4, c.tab.units = 8, c.tab.experts = 3;
    c.tab.n_tower = 2, c.tab.tower[0] = 6, c.tab.tower[1] = 4;
    CHECK(count_of("amtl", &c) == 724, "amtl: %lld parameters", (long long)count_of("amtl", &c));
    CHECK(count_of("coamtl", &c) == 868, "coamtl: %lld parameters", (long long)count_of("coamtl", &c));

    /* the Co-AMTL code's input: 31 ids hashed into 5000 rows of 128 (the default emb_dim when
     * hashed), no continuous values, d = 128 (default): no projection; 3 experts, towers 64-32, 2 binary tasks:
     *   inp.emb.weight 5000 * 128                             = 640000
     *   experts        128 * 384 + 384                        =  49536
     *   task_reps.*    2 * (128 * 128 + 128)                  =  33024
     *   co.*           2 * 16512                              =  33024
     *   towers.*       2 * ((128*64 + 64) + (64*32 + 32) + (32 + 1)) = 2 * (8256 + 2080 + 33) = 20738
     *   total 776322 */
    mtl_model_config h = tab_cfg(2, (int[]){2, 2}, 31, NULL, 5000, 0);
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("coamtl", &h, 1, &m));
    if (!m) return;
    CHECK(mtl_params_size(m->params) == 776322, "hashed coamtl: %lld parameters",
          (long long)mtl_params_size(m->params));
    CHECK(mtl_params_find(m->params, "proj.weight") == NULL, "no projection when the input is d wide");
    mtl_tensor *emb = mtl_params_find(m->params, "inp.emb.weight");
    CHECK(emb && emb->shape[0] == 5000 && emb->shape[1] == 128, "one hashed table [5000, 128]");
    /* shared: embedding and experts only */
    CHECK(mtl_params_shared_size(m->params) == 640000 + 49536, "shared size %lld",
          (long long)mtl_params_shared_size(m->params));
    mtl_model_free(m);
}

/* K = 2 and K = 3 with a 3-class task: logits [N, 1] / [N, C]; taps' shapes; softmax rows sum to 1 */
static void shapes_and_taps(void) {
    const char *kinds[2] = {"amtl", "coamtl"};
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    if (!t) return;
    enum { N = 5 };
    for (int ki = 0; ki < 2; ki++)
        for (int K = 2; K <= 3; K++) {
            int classes[3] = {2, 3, 2};
            mtl_model_config c = tab_cfg(K, classes, 2, (int[]){3, 7}, 0, 3);
            c.tab.units = 12, c.tab.experts = 5;
            mtl_model *m = NULL;
            CHECK_OK(mtl_model_create(kinds[ki], &c, 9, &m));
            if (!m) continue;
            float x[N * 5];
            th_fill(x, N * 5, 4, -1, 1);
            for (int n = 0; n < N; n++) x[n * 5] = (float)(n % 3), x[n * 5 + 1] = (float)(6 - n);
            mtl_tape_reset(t);
            mtl_tensor *logits[3];
            CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(N, 1, 5), x), logits));
            bool co = ki == 1;
            CHECK(m->taps.n_stages == (co ? 2 : 1), "%s K=%d: %d stages", kinds[ki], K, m->taps.n_stages);
            for (int k = 0; k < K && logits[0]; k++) {
                int C = classes[k] == 2 ? 1 : classes[k];
                CHECK(logits[k]->ndim == 2 && logits[k]->shape[0] == N && logits[k]->shape[1] == C,
                      "%s K=%d task %d logits", kinds[ki], K, k);
                mtl_tensor *f = m->taps.features[k], *a = m->taps.attention[k][0];
                CHECK(f && f->ndim == 2 && f->shape[0] == N && f->shape[1] == 12, "features %d", k);
                CHECK(a && a->ndim == 2 && a->shape[0] == N && a->shape[1] == 5, "attention %d stage 0", k);
                for (int n = 0; a && n < N; n++) {
                    double s = 0;
                    for (int e = 0; e < 5; e++) s += a->data[n * 5 + e];
                    CHECK_CLOSE(s, 1.0, 1e-5, 0, "softmax row sum");
                }
                mtl_tensor *s1 = m->taps.attention[k][1];
                if (co) CHECK(s1 && s1->ndim == 2 && s1->shape[0] == N && s1->shape[1] == K - 1, "co scores %d", k);
                else CHECK(!s1, "amtl has no stage 1");
            }
            mtl_model_free(m);
        }
    mtl_tape_free(t);
}

/* which task's loss reaches which task parameters: AMTL's tasks are separate after the
 * shared experts; Co-AMTL's task 0 reads h_1, so task_reps.1 gets gradient from L_0
 * while co.1 and towers.1 do not */
static void gradient_reach(void) {
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    if (!t) return;
    enum { N = 6 };
    for (int co = 0; co <= 1; co++) {
        mtl_model_config c = tab_cfg(2, (int[]){2, 2}, 2, (int[]){4, 4}, 0, 1);
        c.tab.units = 6;
        mtl_model *m = NULL;
        CHECK_OK(mtl_model_create(co ? "coamtl" : "amtl", &c, 5, &m));
        if (!m) continue;
        float x[N * 3], yf[N] = {0, 1, 1, 0, 1, 0};
        th_fill(x, N * 3, 8, -1, 1);
        for (int n = 0; n < N; n++) x[n * 3] = (float)(n % 4), x[n * 3 + 1] = (float)((n * 3) % 4);
        mtl_tape_reset(t);
        mtl_tensor *logits[2];
        CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(N, 1, 3), x), logits));
        mtl_tensor *l0 = logits[0] ? mtl_bce_with_logits(t, logits[0], yf) : NULL;
        mtl_params *P = m->params;
        int64_t D = mtl_params_size(P);
        float *row = calloc((size_t)D, sizeof(float));
        if (l0 && row) {
            CHECK_OK(mtl_backward_into(t, l0, 1.0f, P, row));
            const char *names[] = {"task_reps.1.weight", "co.1.weight", "towers.1.0.weight", "task_reps.0.weight"};
            for (int i = 0; i < 4; i++) {
                if (!co && i == 1) continue;
                mtl_tensor *p = mtl_params_find(P, names[i]);
                int64_t off = -1;
                for (int j = 0; j < mtl_params_count(P); j++)
                    if (mtl_params_info(P, j)->tensor == p) off = mtl_params_info(P, j)->offset;
                double norm = 0;
                for (int64_t e = 0; p && off >= 0 && e < p->size; e++) norm += fabs(row[off + e]);
                bool want = i == 3 || (co && i == 0);
                CHECK(p && (norm > 0) == want, "%s: L_0 gradient of %s has norm %g", m->kind, names[i], norm);
            }
        }
        free(row);
        mtl_model_free(m);
    }
    mtl_tape_free(t);
}

static void bad_configs(void) {
    mtl_model *m = NULL;
    mtl_model_config c = tab_cfg(2, (int[]){2, 2}, 2, (int[]){3, 3}, 0, 1);
    c.tab.experts = -1;
    CHECK(mtl_model_create("amtl", &c, 1, &m) == MTL_ERR_ARG && !m, "negative expert count accepted");
    c.tab.experts = 65;
    CHECK(mtl_model_create("coamtl", &c, 1, &m) == MTL_ERR_ARG && !m, "65 experts accepted");
    c.tab.experts = 0; /* 0 takes the default, 3 */
    c.length = 4;
    CHECK(mtl_model_create("coamtl", &c, 1, &m) == MTL_ERR_SHAPE && !m, "wrong length accepted");
    CHECK(strstr(mtl_last_error(), "coamtl") != NULL, "message names the model: %s", mtl_last_error());
    c.length = 3;
    c.tab.vocab[1] = 0;
    CHECK(mtl_model_create("amtl", &c, 1, &m) == MTL_ERR_ARG && !m, "empty vocabulary accepted");
    c.tab.vocab[1] = 3;
    c.tab.units = -2;
    CHECK(mtl_model_create("amtl", &c, 1, &m) == MTL_ERR_ARG && !m, "negative units accepted");
    c.tab.units = 0;
    c.n_tasks = 1;
    CHECK(mtl_model_create("coamtl", &c, 1, &m) == MTL_ERR_ARG && !m, "coamtl with one task accepted");
    CHECK(strstr(mtl_last_error(), "co-attention") != NULL, "message: %s", mtl_last_error());
    CHECK_OK(mtl_model_create("amtl", &c, 1, &m)); /* AMTL is fine with one task */
    mtl_model_free(m);
    m = NULL;

    /* forward errors: an id out of range, a row of the wrong length */
    c.n_tasks = 2;
    CHECK_OK(mtl_model_create("coamtl", &c, 1, &m));
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    if (m && t) {
        float x[2 * 3] = {0, 1, 0.5f, 2, 3, -0.5f}; /* row 1 id column 1 holds 3, vocabulary 3 */
        mtl_tensor *logits[2];
        mtl_status s = mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(2, 1, 3), x), logits);
        CHECK(s != MTL_OK && strstr(mtl_last_error(), "coamtl"), "id out of range: %s", mtl_last_error());
        mtl_tape_reset(t);
        s = mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(3, 1, 2), x), logits);
        CHECK(s == MTL_ERR_SHAPE, "rows of 2 values accepted: %s", mtl_last_error());
    }
    mtl_tape_free(t);
    mtl_model_free(m);
}

int main(void) {
    mtl_set_threads(2);
    RUN(coamtl_k2_matches_pytorch);
    RUN(coamtl_k3_hashed_matches_pytorch);
    RUN(amtl_scaled_matches_pytorch);
    RUN(parameter_counts_by_hand);
    RUN(shapes_and_taps);
    RUN(gradient_reach);
    RUN(bad_configs);
    return th_summary();
}
