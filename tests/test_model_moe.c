/* Tabular single-task, Shared-Bottom, OMoE, MMoE, CGC and PLE (src/models/moe.c):
 * PyTorch parity (fixtures from tests/parity/gen_model_moe.py: logits, losses, gate taps,
 * gradients of 0.7 L_0 + 1.3 L_1 (+ L_2), 3 Adam steps) with and without the fused input
 * Linear (models/tabular.h), that fused Linear against the plain one on a large batch and
 * its determinism over thread counts, parameter counts counted by
 * hand, logits and tap shapes for 2 and 3 tasks, hashed input, task ownership of the
 * gradient, and bad configs and inputs failing cleanly. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "models/tabular.h"

#define ATOL 1e-5
#define RTOL 1e-4

static const float loss_weights[3] = {0.7f, 1.3f, 1.0f};

/* the small config of the fixtures: ids with vocabularies (5, 4, 6), emb_dim 4, 2 continuous
 * values (input block dim 3 * 4 + 2 = 14), units 8, towers [6, 4] */
static mtl_model_config small_config(int n_tasks, const int *classes) {
    mtl_model_config cfg = {.n_tasks = n_tasks, .in_channels = 1, .length = 5};
    for (int k = 0; k < n_tasks; k++) cfg.n_classes[k] = classes[k];
    cfg.tab.n_ids = 3, cfg.tab.n_cont = 2;
    cfg.tab.vocab[0] = 5, cfg.tab.vocab[1] = 4, cfg.tab.vocab[2] = 6;
    cfg.tab.emb_dim = 4, cfg.tab.units = 8;
    cfg.tab.n_tower = 2, cfg.tab.tower[0] = 6, cfg.tab.tower[1] = 4;
    return cfg;
}

/* the case table of tests/parity/gen_model_moe.py */
typedef struct {
    const char *file, *name, *kind;
    int n_tasks, classes[3];
    int experts, shared_experts, task_experts, levels, hash_buckets;
} parity_case;

static const parity_case cases[] = {
    {"model_moe.safetensors", "mmoe", "mmoe", 2, {2, 2}, 3, 0, 0, 0, 0},
    {"model_moe.safetensors", "mmoe3", "mmoe", 3, {2, 3, 2}, 3, 0, 0, 0, 0},
    {"model_moe.safetensors", "ple", "ple", 2, {2, 2}, 0, 2, 2, 2, 0},
    {"model_moe.safetensors", "ple3", "ple", 3, {3, 2, 2}, 0, 2, 1, 3, 0},
    {"model_moe_other.safetensors", "cgc", "cgc", 2, {2, 3}, 0, 2, 1, 0, 0},
    {"model_moe_other.safetensors", "omoe", "omoe", 2, {2, 2}, 3, 0, 0, 0, 0},
    {"model_moe_other.safetensors", "sb_hashed", "shared-bottom", 2, {2, 2}, 0, 0, 0, 0, 10},
    {"model_moe_other.safetensors", "single", "single", 2, {2, 3}, 0, 0, 0, 0, 0},
};

static mtl_model_config case_config(const parity_case *c) {
    mtl_model_config cfg = small_config(c->n_tasks, c->classes);
    cfg.tab.experts = c->experts, cfg.tab.shared_experts = c->shared_experts;
    cfg.tab.task_experts = c->task_experts, cfg.tab.levels = c->levels, cfg.tab.hash_buckets = c->hash_buckets;
    return cfg;
}

typedef struct {
    float *x;
    float *yb[3];   /* binary targets (2-class tasks) */
    int32_t *yc[3]; /* class targets */
} batch;

static bool forward_loss(mtl_model *m, mtl_tape *t, const batch *b, mtl_tensor **logits, mtl_tensor **losses) {
    mtl_tape_reset(t);
    if (mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(16, 1, 5), b->x), logits)) {
        CHECK(0, "%s: forward: %s", m->kind, mtl_last_error());
        return false;
    }
    for (int k = 0; k < m->cfg.n_tasks; k++)
        losses[k] = m->cfg.n_classes[k] == 2 ? mtl_bce_with_logits(t, logits[k], b->yb[k])
                                             : mtl_cross_entropy(t, logits[k], b->yc[k]);
    for (int k = 0; k < m->cfg.n_tasks; k++)
        if (!losses[k]) {
            CHECK(0, "%s: loss %d: %s", m->kind, k, mtl_tape_error(t));
            return false;
        }
    return true;
}

static void compare_params(mtl_st_file *f, const char *p, const char *what, mtl_params *P, const float *block) {
    for (int i = 0; i < mtl_params_count(P); i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        char key[64 + MTL_NAME_MAX];
        snprintf(key, sizeof key, "%.20s.%.8s.%s", p, what, pi->name);
        float *want = th_fixture_f32(f, key, NULL);
        if (want) th_compare(key, block ? block + pi->offset : pi->tensor->data, want, pi->tensor->size, ATOL, RTOL);
    }
}

static void run_parity_case(const parity_case *c) {
    mtl_st_file *f = th_fixture(c->file);
    if (!f) return;
    mtl_model_config cfg = case_config(c);
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    mtl_optimizer *opt = NULL;
    CHECK_OK(mtl_model_create(c->kind, &cfg, 5, &m));
    CHECK_OK(mtl_tape_create(&t));
    if (!m || !t) goto done;
    mtl_params *P = m->params;
    const char *p = c->name;
    char key[64 + MTL_NAME_MAX];

    /* every fixture parameter is one of the model's and the other way round */
    snprintf(key, sizeof key, "%s.n_params", p);
    int32_t *n_ref = th_fixture_i32(f, key, NULL);
    CHECK(n_ref && *n_ref == mtl_params_count(P), "%s: %d parameters, PyTorch %d", p, mtl_params_count(P),
          n_ref ? *n_ref : -1);
    for (int i = 0; i < mtl_params_count(P); i++) {
        const mtl_param_info *pi = mtl_params_info(P, i);
        snprintf(key, sizeof key, "%s.init.%s", p, pi->name);
        CHECK_OK(mtl_st_read_f32(f, key, pi->tensor->data, pi->tensor->size));
    }
    batch b = {0};
    snprintf(key, sizeof key, "%s.x", p);
    b.x = th_fixture_f32(f, key, NULL);
    for (int k = 0; k < c->n_tasks; k++) {
        snprintf(key, sizeof key, "%s.y%d", p, k);
        if (c->classes[k] == 2) b.yb[k] = th_fixture_f32(f, key, NULL);
        else b.yc[k] = th_fixture_i32(f, key, NULL);
    }
    if (!b.x) goto done;

    mtl_tensor *logits[3], *losses[3];
    if (!forward_loss(m, t, &b, logits, losses)) goto done;
    for (int k = 0; k < c->n_tasks; k++) {
        snprintf(key, sizeof key, "%s.logits%d", p, k);
        mtl_shape shape;
        float *want = th_fixture_f32(f, key, &shape);
        CHECK(want && shape.ndim == 2 && logits[k]->ndim == 2 && logits[k]->shape[0] == shape.d[0] &&
                  logits[k]->shape[1] == shape.d[1], "%s: logits shape", key);
        if (want) th_compare(key, logits[k]->data, want, logits[k]->size, ATOL, RTOL);
        snprintf(key, sizeof key, "%s.loss%d", p, k);
        th_compare(key, losses[k]->data, th_fixture_f32(f, key, NULL), 1, ATOL, RTOL);
        CHECK(m->taps.features[k] && m->taps.features[k]->shape[1] == cfg.tab.units, "%s: task %d features", p, k);
        /* each gate the reference saw is the tap of that task and stage, and no more */
        int stages = 0;
        for (int s = 0; s < MTL_MAX_STAGES; s++) {
            snprintf(key, sizeof key, "%s.gate%d.%d", p, k, s);
            if (!mtl_st_find(f, key)) break;
            stages++;
            mtl_tensor *g = m->taps.attention[k][s];
            CHECK(g != NULL, "%s: no attention tap", key);
            if (g) th_compare(key, g->data, th_fixture_f32(f, key, NULL), g->size, ATOL, RTOL);
        }
        CHECK(m->taps.n_stages == stages, "%s: %d attention stages, the reference %d", p, m->taps.n_stages, stages);
    }

    mtl_params_zero_grad(P);
    CHECK_OK(mtl_backward_weighted(t, c->n_tasks, losses, loss_weights));
    compare_params(f, p, "grad", P, mtl_params_grad(P));

    mtl_opt_config oc = mtl_opt_defaults(MTL_OPT_ADAM);
    oc.lr = 1e-2f;
    CHECK_OK(mtl_optimizer_create(&opt, P, oc));
    if (!opt) goto done;
    CHECK_OK(mtl_optimizer_step(opt));
    for (int step = 2; step <= 3; step++) {
        if (!forward_loss(m, t, &b, logits, losses)) goto done;
        float total = 0;
        for (int k = 0; k < c->n_tasks; k++) total += loss_weights[k] * losses[k]->data[0];
        snprintf(key, sizeof key, "%s.step%d.loss", p, step);
        th_compare(key, &total, th_fixture_f32(f, key, NULL), 1, ATOL, RTOL);
        mtl_params_zero_grad(P);
        CHECK_OK(mtl_backward_weighted(t, c->n_tasks, losses, loss_weights));
        CHECK_OK(mtl_optimizer_step(opt));
    }
    compare_params(f, p, "final", P, NULL);
done:
    mtl_optimizer_free(opt);
    mtl_tape_free(t);
    mtl_model_free(m);
    th_fixture_release(); /* the fixture buffers of this case (the harness holds a bounded number) */
}

/* both ways of a Linear on the input block (tabular.h mtl__tab_linear) against PyTorch */
static void models_match_pytorch(void) {
    for (int mode = 0; mode <= 1; mode++) {
        printf("  -- %s\n", mode ? "Linear layers on the input block fused with the embeddings"
                                 : "input block built, then plain Linear layers");
        mtl__tab_fuse_mode = mode;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_parity_case(&cases[i]);
    }
    mtl__tab_fuse_mode = -1;
}

/* one forward/backward of kind on N rows: logits, every parameter gradient and the gradient
 * of the input rows (continuous columns) into out (sizes from the first call) */
static int64_t fused_run(const char *kind, int threads, int mode, float *out) {
    enum { N = 300, NI = 5, NC = 3, F = NI + NC };
    static const int vocab[NI] = {7, 3, 12, 5, 9};
    int classes[3] = {2, 3, 2};
    mtl_model_config cfg = {.n_tasks = 3, .in_channels = 1, .length = F};
    memcpy(cfg.n_classes, classes, sizeof classes);
    cfg.tab.n_ids = NI, cfg.tab.n_cont = NC;
    memcpy(cfg.tab.vocab, vocab, sizeof vocab);
    cfg.tab.units = 48, cfg.tab.experts = 5;
    float x[N * F], y[N];
    th_fill(x, N * F, 21, -2, 2);
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < NI; i++) x[n * F + i] = (float)((n * (i + 3) + i) % vocab[i]);
        y[n] = (float)(n % 3 == 0);
    }
    int32_t yc[N];
    for (int n = 0; n < N; n++) yc[n] = n % 3;
    mtl_set_threads(threads);
    mtl__tab_fuse_mode = mode;
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    int64_t used = 0;
    CHECK_OK(mtl_model_create(kind, &cfg, 8, &m));
    CHECK_OK(mtl_tape_create(&t));
    if (m && t) {
        mtl_tensor *X = mtl_tensor_wrap(t, MTL_SHAPE(N, 1, F), x), *logits[3], *losses[3];
        mtl_tensor_requires_grad(X);
        CHECK_OK(mtl_model_forward(m, t, X, logits));
        if (mtl_tape_status(t) == MTL_OK) {
            losses[0] = mtl_bce_with_logits(t, logits[0], y);
            losses[1] = mtl_cross_entropy(t, logits[1], yc);
            losses[2] = mtl_bce_with_logits(t, logits[2], y);
            mtl_params_zero_grad(m->params);
            CHECK_OK(mtl_backward_weighted(t, 3, losses, loss_weights));
            for (int k = 0; k < 3; k++) {
                memcpy(out + used, logits[k]->data, (size_t)logits[k]->size * sizeof *out);
                used += logits[k]->size;
            }
            int64_t D = mtl_params_size(m->params);
            memcpy(out + used, mtl_params_grad(m->params), (size_t)D * sizeof *out);
            used += D;
            CHECK(X->grad != NULL, "%s: no input gradient", kind);
            for (int n = 0; X->grad && n < N; n++)
                for (int j = NI; j < F; j++) out[used++] = X->grad[n * F + j];
        }
    }
    mtl_tape_free(t);
    mtl_model_free(m);
    mtl__tab_fuse_mode = -1;
    mtl_set_threads(2);
    return used;
}

/* the fused Linear (tabular.h) gives the plain one's logits and gradients, including the
 * input's, on a batch large enough to run it on 2 threads, and the same bits run to run */
static void fused_linear_matches_plain(void) {
    static const char *const which[] = {"mmoe", "ple", "single", "cgc"};
    size_t cap = 1 << 20;
    float *plain = malloc(cap * sizeof(float)), *fused1 = malloc(cap * sizeof(float)),
          *fused2 = malloc(cap * sizeof(float));
    for (size_t i = 0; i < sizeof which / sizeof *which && plain && fused1 && fused2; i++) {
        int64_t n0 = fused_run(which[i], 2, 0, plain), n1 = fused_run(which[i], 1, 1, fused1),
                n2 = fused_run(which[i], 2, 1, fused2);
        CHECK(n0 > 0 && n0 == n1 && n0 == n2, "%s: %lld, %lld and %lld values", which[i], (long long)n0,
              (long long)n1, (long long)n2);
        if (n0 != n1 || n0 != n2 || n0 <= 0) continue;
        char what[64];
        snprintf(what, sizeof what, "%s fused (1 thread) vs plain", which[i]);
        th_compare(what, fused1, plain, n0, 1e-5, 1e-4);
        snprintf(what, sizeof what, "%s fused (2 threads) vs plain", which[i]);
        th_compare(what, fused2, plain, n0, 1e-5, 1e-4);
        /* the library promises the same bits for the same thread count (other ops' GEMMs
         * may round differently on another count) */
        CHECK(fused_run(which[i], 2, 1, fused1) == n0 && memcmp(fused1, fused2, (size_t)n0 * sizeof(float)) == 0,
              "%s: two fused runs on 2 threads differ", which[i]);
    }
    free(plain);
    free(fused1);
    free(fused2);
}

/* trainable floats of each kind for small_config with tasks (2, 3), counted by hand:
 *   input block: embeddings (5 + 4 + 6) * 4 = 60; dim 3 * 4 + 2 = 14
 *   towers (in 8): [8->6] 54 + [6->4] 28, then [4->1] 5 (2-class) or [4->3] 15: 87 + 97 = 184
 *   single:        2 * (60 + bottom 14*8+8 = 120) + 184                                        = 544
 *   shared-bottom: 60 + 120 + 184                                                              = 364
 *   omoe (E 3):    60 + experts 14*24+24 = 360 + gate 14*3 = 42 + 184                          = 646
 *   mmoe (E 3):    60 + 360 + 2 gates * 42 + 184                                               = 688
 *   cgc (S 2, T 1): 60 + shared 14*16+16 = 240 + task 2 * (14*8+8 = 120) + gates 2 * 14*3 + 184 = 808
 *   ple (S 2, T 1, L 2): 60 + level 0: 240 + 240 + 84 + shared gate 14*(2*1+2) = 56 (620)
 *                        + level 1 (in 8): shared 8*16+16 = 144 + task 2 * 72 + gates 2 * 8*3 (336) + 184 = 1200
 *   shared-bottom hashed (10 buckets): table 10*4 = 40, dim 4 + 2 = 6: 40 + 6*8+8 = 56 + 184        = 280
 *   ple, 3 tasks (2, 3, 2), S 2, T 1, L 3: 60 + level 0: shared 240 + task 3*120 + gates 3*42 + shared
 *     gate 14*(3+2) = 70 (796) + level 1: 144 + 3*72 + gates 3*24 + shared gate 8*5 = 40 (472) + level 2:
 *     144 + 216 + 72 (432) + towers 87 + 97 + 87 (271)                                         = 2031 */
static void parameter_counts(void) {
    static const struct {
        const char *kind;
        int hash_buckets, n_tasks, levels;
        int64_t want;
    } rows[] = {
        {"single", 0, 2, 0, 544}, {"shared-bottom", 0, 2, 0, 364}, {"omoe", 0, 2, 0, 646},
        {"mmoe", 0, 2, 0, 688},   {"cgc", 0, 2, 0, 808},           {"ple", 0, 2, 2, 1200},
        {"shared-bottom", 10, 2, 0, 280}, {"ple", 0, 3, 3, 2031},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        int classes[3] = {2, 3, 2};
        mtl_model_config cfg = small_config(rows[i].n_tasks, classes);
        cfg.tab.experts = 3, cfg.tab.shared_experts = 2, cfg.tab.task_experts = 1, cfg.tab.levels = rows[i].levels;
        cfg.tab.hash_buckets = rows[i].hash_buckets;
        mtl_model *m = NULL;
        CHECK_OK(mtl_model_create(rows[i].kind, &cfg, 1, &m));
        if (!m) continue;
        int64_t D = mtl_params_size(m->params), Ds = mtl_params_shared_size(m->params);
        CHECK(D == rows[i].want, "%s (hash %d, %d tasks): %lld parameters, counted %lld", rows[i].kind,
              rows[i].hash_buckets, rows[i].n_tasks, (long long)D, (long long)rows[i].want);
        /* single: nothing shared; the others: towers (184 or 271) and more are task-owned */
        bool single = strcmp(rows[i].kind, "single") == 0;
        CHECK(single ? Ds == 0 && m->single_task : Ds > 0 && Ds <= D - 184 && !m->single_task,
              "%s: %lld shared of %lld", rows[i].kind, (long long)Ds, (long long)D);
        mtl_model_free(m);
    }
}

static const char *const kinds[] = {"single", "shared-bottom", "omoe", "mmoe", "cgc", "ple"};

/* logits [N, 1] for 2 classes and [N, C] else, for K = 2 and 3 tasks, default sizes (per-field
 * and hashed input); taps: features [N, units], the gates [N, E_s] summing to 1 */
static void shapes_and_taps(void) {
    enum { N = 7 };
    float x[N * 5];
    for (int n = 0; n < N; n++) {
        x[n * 5 + 0] = (float)(n % 5), x[n * 5 + 1] = (float)(n % 4), x[n * 5 + 2] = (float)((n * 3) % 6);
        x[n * 5 + 3] = 0.5f * (float)n - 1.0f, x[n * 5 + 4] = (float)(n % 2);
    }
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds && t; i++)
        for (int variant = 0; variant < 3; variant++) {
            int K = variant == 0 ? 2 : 3, classes[3] = {2, 3, 2};
            if (variant == 0) classes[0] = 3, classes[1] = 2;
            mtl_model_config cfg = {.n_tasks = K, .in_channels = 1, .length = 5};
            memcpy(cfg.n_classes, classes, sizeof classes);
            cfg.tab.n_ids = 3, cfg.tab.n_cont = 2;
            cfg.tab.vocab[0] = 5, cfg.tab.vocab[1] = 4, cfg.tab.vocab[2] = 6;
            if (variant == 2) cfg.tab.hash_buckets = 50;
            mtl_model *m = NULL;
            CHECK_OK(mtl_model_create(kinds[i], &cfg, 3, &m));
            if (!m) continue;
            const mtl_tab_model_config *c = &m->cfg.tab;
            CHECK(c->units == 64 && c->emb_dim == (variant == 2 ? 128 : 8), "%s: defaults units %d emb %d", kinds[i],
                  c->units, c->emb_dim);
            mtl_tape_reset(t);
            mtl_tensor *logits[3];
            CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(N, 1, 5), x), logits));
            bool ple = strcmp(kinds[i], "ple") == 0, cgc = strcmp(kinds[i], "cgc") == 0;
            int want_stages = ple ? c->levels : strstr(kinds[i], "moe") || cgc ? 1 : 0;
            CHECK(m->taps.n_stages == want_stages, "%s: %d stages (expected %d)", kinds[i], m->taps.n_stages,
                  want_stages);
            for (int k = 0; k < K && mtl_tape_status(t) == MTL_OK; k++) {
                int C = classes[k] == 2 ? 1 : classes[k];
                CHECK(logits[k]->ndim == 2 && logits[k]->shape[0] == N && logits[k]->shape[1] == C,
                      "%s K=%d: task %d logits [%d, %d] (expected [%d, %d])", kinds[i], K, k, logits[k]->shape[0],
                      logits[k]->ndim == 2 ? logits[k]->shape[1] : -1, N, C);
                mtl_tensor *fk = m->taps.features[k];
                CHECK(fk && fk->ndim == 2 && fk->shape[0] == N && fk->shape[1] == 64, "%s: task %d features", kinds[i],
                      k);
                for (int s = 0; s < m->taps.n_stages; s++) {
                    mtl_tensor *g = m->taps.attention[k][s];
                    int E = cgc || ple ? c->task_experts + c->shared_experts : c->experts;
                    CHECK(g && g->ndim == 2 && g->shape[0] == N && g->shape[1] == E, "%s: task %d stage %d gate",
                          kinds[i], k, s);
                    for (int n = 0; g && n < N; n++) {
                        double sum = 0;
                        for (int e = 0; e < E; e++) sum += g->data[n * E + e];
                        CHECK_CLOSE(sum, 1.0, 1e-5, 0, "gate row sum");
                    }
                }
            }
            mtl_model_free(m);
        }
    mtl_tape_free(t);
}

/* a task's loss reaches only the shared parameters and its own (PLE: and the other tasks'
 * experts below the last level, through the shared gate) */
static void task_gradients_stay_in_their_blocks(void) {
    enum { N = 6 };
    int classes[3] = {2, 2, 2};
    float x[N * 5], y[N] = {1, 0, 0, 1, 1, 0};
    th_fill(x, N * 5, 9, -1, 1);
    for (int n = 0; n < N; n++) x[n * 5] = (float)(n % 5), x[n * 5 + 1] = (float)(n % 4), x[n * 5 + 2] = 5;
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds && t; i++) {
        mtl_model_config cfg = small_config(3, classes);
        mtl_model *m = NULL;
        CHECK_OK(mtl_model_create(kinds[i], &cfg, 4, &m));
        if (!m) continue;
        mtl_tape_reset(t);
        mtl_tensor *logits[3];
        CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(N, 1, 5), x), logits));
        mtl_tensor *loss = mtl_tape_status(t) ? NULL : mtl_bce_with_logits(t, logits[1], y);
        int64_t D = mtl_params_size(m->params);
        float *row = calloc((size_t)D, sizeof *row);
        if (loss && row) {
            CHECK_OK(mtl_backward_into(t, loss, 1.0f, m->params, row));
            int64_t nonzero_other = 0, nonzero_own = 0, nonzero_cross = 0;
            const mtl_params *P = m->params;
            for (int p = 0; p < mtl_params_count(P); p++) {
                const mtl_param_info *pi = mtl_params_info(P, p);
                if (!pi->trainable || pi->owner == MTL_OWNER_SHARED) continue;
                int64_t nz = 0;
                for (int64_t j = 0; j < pi->tensor->size; j++) nz += row[pi->offset + j] != 0;
                /* PLE: the shared gate of a lower level mixes every task's experts into the
                 * shared path, so other tasks' losses reach those experts (by design) */
                if (pi->owner == 1) nonzero_own += nz;
                else if (strncmp(pi->name, "levels.0.task_experts.", 22) == 0) nonzero_cross += nz;
                else nonzero_other += nz;
            }
            bool ple = strcmp(kinds[i], "ple") == 0;
            CHECK(nonzero_other == 0 && nonzero_own > 0 && (ple ? nonzero_cross > 0 : nonzero_cross == 0),
                  "%s: task 1's loss reached %lld other-task, %lld lower-level other-task expert and %lld own "
                  "parameters", kinds[i], (long long)nonzero_other, (long long)nonzero_cross, (long long)nonzero_own);
        }
        free(row);
        mtl_model_free(m);
    }
    mtl_tape_free(t);
}

static void expect_create_fails(const char *kind, mtl_model_config cfg, const char *needle) {
    mtl_model *m = NULL;
    mtl_status s = mtl_model_create(kind, &cfg, 1, &m);
    CHECK(s != MTL_OK && m == NULL, "%s: a bad config (%s) was accepted", kind, needle);
    CHECK(s == MTL_OK || strstr(mtl_last_error(), needle), "%s: message '%s' does not mention '%s'", kind,
          mtl_last_error(), needle);
    mtl_model_free(m);
}

/* 0 in a size field means "the default"; negative or too large sizes, an input length that
 * does not match the fields and empty vocabularies are refused at create; bad ids at forward */
static void bad_configs_and_inputs(void) {
    int classes[2] = {2, 2};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        mtl_model_config cfg = small_config(2, classes);
        cfg.length = 6;
        expect_create_fails(kinds[i], cfg, "does not match");
        cfg = small_config(2, classes);
        cfg.tab.vocab[1] = 0;
        expect_create_fails(kinds[i], cfg, "vocabulary");
        cfg = small_config(2, classes);
        cfg.tab.experts = -1, cfg.tab.shared_experts = -1;
        expect_create_fails(kinds[i], cfg, "bad sizes");
        cfg = small_config(2, classes);
        cfg.tab.units = -3;
        expect_create_fails(kinds[i], cfg, "bad sizes");
    }
    mtl_model_config cfg = small_config(2, classes);
    cfg.tab.experts = 65;
    expect_create_fails("mmoe", cfg, "bad sizes");
    cfg = small_config(2, classes);
    cfg.tab.levels = 9;
    expect_create_fails("ple", cfg, "bad sizes");
    cfg = small_config(2, classes);
    cfg.tab.n_tower = 1, cfg.tab.tower[0] = 0;
    expect_create_fails("omoe", cfg, "tower");

    /* an id out of its vocabulary, a fractional id, a wrong row width: errors from forward */
    mtl_model *m = NULL;
    mtl_tape *t = NULL;
    cfg = small_config(2, classes);
    CHECK_OK(mtl_model_create("ple", &cfg, 2, &m));
    CHECK_OK(mtl_tape_create(&t));
    if (m && t) {
        float x[2 * 5] = {1, 2, 3, 0.5f, -0.5f, 4, 3, 6, 0.1f, 0.2f}; /* field 2 has vocabulary 6: id 6 is out */
        mtl_tensor *logits[2];
        CHECK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(2, 1, 5), x), logits) != MTL_OK,
              "an id out of range was accepted");
        x[7] = 2.5f;
        mtl_tape_reset(t);
        CHECK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(2, 1, 5), x), logits) != MTL_OK,
              "a fractional id was accepted");
        x[7] = 2;
        mtl_tape_reset(t);
        CHECK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(2, 1, 4), x), logits) != MTL_OK,
              "rows of 4 values were accepted");
        mtl_tape_reset(t);
        CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(2, 1, 5), x), logits));
    }
    mtl_tape_free(t);
    mtl_model_free(m);
}

int main(void) {
    mtl_set_threads(2);
    RUN(models_match_pytorch);
    RUN(fused_linear_matches_plain);
    RUN(parameter_counts);
    RUN(shapes_and_taps);
    RUN(task_gradients_stay_in_their_blocks);
    RUN(bad_configs_and_inputs);
    return th_summary();
}
