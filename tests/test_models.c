/* The registered MTAGN-family and baseline models (src/models/mtagn.c, cnn1d.c): parameter
 * counts from the spec's layer tables (../shared/specs/mtagn.md; arithmetic written out below),
 * output and tap shapes, ownership, configuration errors, seeded and spec'd initialisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* conv(cin, cout, k) with bias followed by BatchNorm(cout): w + b + gamma + beta */
#define CONV_BN(cin, cout, k) ((cin) * (cout) * (k) + (cout) + 2 * (cout))
#define LINEAR(in, out) ((in) * (out) + (out))

typedef struct {
    const char *kind;
    unsigned options;
    int feature_dim; /* taps.features[k] is [N, feature_dim] */
    int n_stages;
    bool single_task;
} kind_info;

static const kind_info kinds[] = {
    {"mtagn", 0, 128, 3, false},   {"mtagn", MTL_MODEL_PER_TASK_UNITS, 128, 3, false},
    {"stan", 0, 128, 3, true},     {"mt1dcnn", 0, 64, 0, false},
    {"jlcnn", 0, 128, 0, false},   {"wdcnn", 0, 100, 0, true},
};

typedef struct {
    int n_tasks, classes[3];
} task_set;
static const task_set task_sets[] = {{2, {4, 4}}, {3, {2, 5, 3}}, {1, {4}}};

/* ---- parameter counts, by hand from the spec (input channels 1, length 2048) -------- */
/* MTAGN trunk: unit(1,16,7) 16*7+16+32 = 160, unit(16,16,7) 1792+16+32 = 1840, unit(16,32,5)
 * 2560+32+64 = 2656, unit(32,32,5) 5120+32+64 = 5216, unit(32,64,3) 6144+64+128 = 6336,
 * unit(64,64,3) 12288+64+128 = 12480: 28,688 (the spec's figure) */
#define MTAGN_TRUNK (CONV_BN(1, 16, 7) + CONV_BN(16, 16, 7) + CONV_BN(16, 32, 5) + CONV_BN(32, 32, 5) + \
                     CONV_BN(32, 64, 3) + CONV_BN(64, 64, 3))
/* 1x1 units: 512+32+64 = 608, 2048+64+128 = 2240, 8192+128+256 = 8576: 11,424 */
#define MTAGN_UNITS (CONV_BN(16, 32, 1) + CONV_BN(32, 64, 1) + CONV_BN(64, 128, 1))
/* ECA: Conv1d(1, 1, 3) with bias = 4, three per task */
#define MTAGN_ECA 4
/* MT-1DCNN trunk: 12*16+16+32 = 240, 16*16*12+16+32 = 3120, 16*24*9+24+48 = 3528,
 * 24*24*9+24+48 = 5256, 24*32*6+32+64 = 4704: 16,848; branch 6144+32+64 = 6240 and
 * 6144+64+128 = 6336: 12,576 per task; head 64c + c */
#define MT1D_TRUNK (CONV_BN(1, 16, 12) + CONV_BN(16, 16, 12) + CONV_BN(16, 24, 9) + CONV_BN(24, 24, 9) + \
                    CONV_BN(24, 32, 6))
#define MT1D_BRANCH (CONV_BN(32, 32, 6) + CONV_BN(32, 64, 3))
/* JL-CNN encoder: 24+8+16 = 48, 384+16+32 = 432, 4 x (768+16+32 = 816): 3,744; per task
 * Linear(16 * 2048/64 = 512, 128) = 65,664 and Linear(128, c) */
#define JL_ENCODER (CONV_BN(1, 8, 3) + CONV_BN(8, 16, 3) + 4 * CONV_BN(16, 16, 3))
/* WDCNN per task: 64*16+16+32 = 1072, 1536+32+64 = 1632, 6144+64+128 = 6336,
 * 2 x (12288+64+128 = 12480): 34,000; Linear(64*3 = 192, 100) = 19,300; Linear(100, c) */
#define WD_NET (CONV_BN(1, 16, 64) + CONV_BN(16, 32, 3) + CONV_BN(32, 64, 3) + 2 * CONV_BN(64, 64, 3) + \
                LINEAR(192, 100))

/* total and shared parameter counts for a kind and task set */
static void expected_counts(const kind_info *ki, const task_set *ts, int64_t *total, int64_t *shared) {
    int64_t heads128 = 0, K = ts->n_tasks;
    for (int k = 0; k < K; k++) heads128 += LINEAR(128, ts->classes[k]);
    if (!strcmp(ki->kind, "mtagn")) {
        bool per_task = ki->options & MTL_MODEL_PER_TASK_UNITS;
        *shared = MTAGN_TRUNK + (per_task ? 0 : MTAGN_UNITS);
        *total = *shared + K * 3 * MTAGN_ECA + (per_task ? K * MTAGN_UNITS : 0) + heads128;
    } else if (!strcmp(ki->kind, "stan")) {
        *shared = 0;
        *total = K * (MTAGN_TRUNK + 3 * MTAGN_ECA + MTAGN_UNITS) + heads128;
    } else if (!strcmp(ki->kind, "mt1dcnn")) {
        *shared = MT1D_TRUNK;
        *total = MT1D_TRUNK + K * MT1D_BRANCH;
        for (int k = 0; k < K; k++) *total += LINEAR(64, ts->classes[k]);
    } else if (!strcmp(ki->kind, "jlcnn")) {
        *shared = JL_ENCODER;
        *total = JL_ENCODER + K * LINEAR(512, 128) + heads128;
    } else { /* wdcnn */
        *shared = 0;
        *total = K * WD_NET;
        for (int k = 0; k < K; k++) *total += LINEAR(100, ts->classes[k]);
    }
}

static void spec_figures(void) {
    /* the spec's breakdown for 4 + 4 classes */
    CHECK(MTAGN_TRUNK == 28688, "trunk %d", MTAGN_TRUNK);
    CHECK(MTAGN_UNITS == 11424, "units %d", MTAGN_UNITS);
    CHECK(6 * MTAGN_ECA == 24 && 2 * LINEAR(128, 4) == 1032, "ECA, heads");
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = 2048};
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("mtagn", &cfg, 1, &m));
    if (!m) return;
    CHECK(mtl_params_size(m->params) == 41168, "MTAGN (4,4) has %lld parameters (spec: 41,168)",
          (long long)mtl_params_size(m->params));
    /* the per-part counts by name */
    int64_t trunk = 0, eca = 0, units = 0, heads = 0;
    for (int i = 0; i < mtl_params_count(m->params); i++) {
        const mtl_param_info *pi = mtl_params_info(m->params, i);
        if (!pi->trainable) continue;
        int64_t n = pi->tensor->size;
        if (!strncmp(pi->name, "block", 5)) trunk += n;
        else if (!strncmp(pi->name, "att.", 4)) eca += n;
        else if (!strncmp(pi->name, "unit.", 5)) units += n;
        else if (!strncmp(pi->name, "head.", 5)) heads += n;
        else CHECK(0, "unexpected parameter %s", pi->name);
    }
    CHECK(trunk == 28688 && eca == 24 && units == 11424 && heads == 1032, "parts %lld %lld %lld %lld",
          (long long)trunk, (long long)eca, (long long)units, (long long)heads);
    mtl_model_free(m);
}

/* logits == head(features), head the model's last Linear of the task ("<head>.weight", "<head>.bias") */
static void check_head_input(mtl_model *m, const char *head, mtl_tensor *logits, mtl_tensor *feat) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.weight", head);
    snprintf(bn, sizeof bn, "%s.bias", head);
    mtl_tensor *W = mtl_params_find(m->params, wn), *b = mtl_params_find(m->params, bn);
    CHECK(W && b, "no %s / %s", wn, bn);
    if (!W || !b) return;
    int N = feat->shape[0], F = feat->shape[1], C = logits->shape[1];
    CHECK(W->shape[0] == C && W->shape[1] == F, "%s shape", wn);
    double worst = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double s = b->data[c];
            for (int f = 0; f < F; f++) s += (double)W->data[c * F + f] * feat->data[n * F + f];
            double d = fabs(s - logits->data[n * C + c]);
            if (d > worst) worst = d;
        }
    CHECK(worst < 1e-4, "%s: logits differ from head(features) by %g", m->kind, worst);
}

static void every_kind_and_task_set(void) {
    enum { N = 2, L = 2048 };
    float *x = malloc(N * L * sizeof(float));
    th_fill(x, N * L, 5, -1, 1);
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    for (size_t ki = 0; ki < sizeof kinds / sizeof *kinds && t && x; ki++)
        for (size_t si = 0; si < sizeof task_sets / sizeof *task_sets; si++) {
            const kind_info *K = &kinds[ki];
            const task_set *ts = &task_sets[si];
            mtl_model_config cfg = {.n_tasks = ts->n_tasks, .in_channels = 1, .length = L, .options = K->options};
            memcpy(cfg.n_classes, ts->classes, sizeof ts->classes);
            mtl_model *m = NULL;
            CHECK_OK(mtl_model_create(K->kind, &cfg, 11, &m));
            if (!m) continue;
            char what[64];
            snprintf(what, sizeof what, "%s%s with %d tasks", K->kind, K->options ? " (per-task units)" : "",
                     ts->n_tasks);
            int64_t want_total, want_shared;
            expected_counts(K, ts, &want_total, &want_shared);
            CHECK(mtl_params_size(m->params) == want_total, "%s: %lld parameters, expected %lld", what,
                  (long long)mtl_params_size(m->params), (long long)want_total);
            CHECK(mtl_params_shared_size(m->params) == want_shared, "%s: %lld shared, expected %lld", what,
                  (long long)mtl_params_shared_size(m->params), (long long)want_shared);
            CHECK(m->single_task == K->single_task, "%s: single_task flag", what);
            /* the owner slices tile the block: shared, then task 0, 1, ... */
            int64_t end = mtl_params_shared_size(m->params);
            for (int k = 0; k < ts->n_tasks; k++) {
                int64_t s, e;
                mtl_params_owner_range(m->params, k, &s, &e);
                CHECK(s == end && e > s, "%s: task %d's slice [%lld, %lld)", what, k, (long long)s, (long long)e);
                end = e;
            }
            CHECK(end == want_total, "%s: the task slices end at %lld", what, (long long)end);

            mtl_tape_reset(t);
            mtl_tensor *logits[MTL_MAX_TASKS] = {0};
            mtl_status st = mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(N, 1, L), x), logits);
            CHECK(st == MTL_OK, "%s: forward: %s", what, mtl_last_error());
            for (int k = 0; k < ts->n_tasks && st == MTL_OK; k++) {
                mtl_tensor *lg = logits[k], *f = m->taps.features[k];
                CHECK(lg && lg->ndim == 2 && lg->shape[0] == N && lg->shape[1] == ts->classes[k],
                      "%s: logits %d shape", what, k);
                CHECK(lg && mtl_check_finite(lg->data, lg->size, "logits") == MTL_OK, "%s: logits finite", what);
                CHECK(f && f->ndim == 2 && f->shape[0] == N && f->shape[1] == K->feature_dim, "%s: features %d shape",
                      what, k);
                if (lg && f && f->ndim == 2) {
                    char head[32];
                    if (!strcmp(K->kind, "wdcnn")) snprintf(head, sizeof head, "net.%d.head", k);
                    else if (!strcmp(K->kind, "stan")) snprintf(head, sizeof head, "net.%d.head.0", k);
                    else snprintf(head, sizeof head, "head.%d", k);
                    check_head_input(m, head, lg, f);
                }
                CHECK(m->taps.n_stages == K->n_stages, "%s: %d stages", what, m->taps.n_stages);
                static const int stage_channels[3] = {16, 32, 64};
                for (int s = 0; s < MTL_MAX_STAGES; s++) {
                    mtl_tensor *a = m->taps.attention[k][s];
                    if (s >= K->n_stages) {
                        CHECK(a == NULL, "%s: attention[%d][%d] set", what, k, s);
                        continue;
                    }
                    CHECK(a && a->ndim == 2 && a->shape[0] == N && a->shape[1] == stage_channels[s],
                          "%s: attention[%d][%d] shape", what, k, s);
                    /* residual ECA: 1 + sigmoid, in (1, 2) */
                    for (int64_t i = 0; a && i < a->size; i++)
                        if (!(a->data[i] > 1.0f && a->data[i] < 2.0f)) {
                            CHECK(0, "%s: attention %g outside (1, 2)", what, a->data[i]);
                            break;
                        }
                }
            }
            mtl_model_free(m);
        }
    mtl_tape_free(t);
    free(x);
}

/* the spec's names and owners of MTAGN, shared and per-task units; STAN's nothing-shared layout */
static void names_and_owners(void) {
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 3}, .in_channels = 1, .length = 2048};
    mtl_model *m = NULL, *p = NULL, *s = NULL;
    CHECK_OK(mtl_model_create("mtagn", &cfg, 1, &m));
    CHECK_OK(mtl_model_create("stan", &cfg, 1, &s));
    cfg.options = MTL_MODEL_PER_TASK_UNITS;
    CHECK_OK(mtl_model_create("mtagn", &cfg, 1, &p));
    if (!m || !p || !s) goto done;
    static const struct {
        int which; /* 0 mtagn, 1 per-task units, 2 stan */
        const char *name;
        int owner;
    } want[] = {
        {0, "block1.0.conv.weight", -1}, {0, "block3.1.bn.running_var", -1}, {0, "att.0.0.conv.weight", 0},
        {0, "att.1.2.conv.bias", 1},     {0, "unit.2.conv.weight", -1},      {0, "unit.0.bn.bias", -1},
        {0, "head.1.weight", 1},         {1, "unit.0.1.conv.weight", 0},     {1, "unit.1.2.bn.running_mean", 1},
        {1, "block2.1.conv.bias", -1},   {2, "net.0.block1.0.conv.weight", 0}, {2, "net.1.att.0.2.conv.weight", 1},
        {2, "net.1.unit.2.bn.weight", 1}, {2, "net.1.head.0.bias", 1},
    };
    mtl_model *ms[3] = {m, p, s};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        mtl_params *P = ms[want[i].which]->params;
        const mtl_param_info *pi = NULL;
        for (int j = 0; j < mtl_params_count(P); j++)
            if (!strcmp(mtl_params_info(P, j)->name, want[i].name)) pi = mtl_params_info(P, j);
        CHECK(pi && pi->owner == want[i].owner, "%s: owner %d, expected %d", want[i].name, pi ? pi->owner : -99,
              want[i].owner);
    }
    CHECK(!mtl_params_find(m->params, "unit.0.0.conv.weight") && !mtl_params_find(p->params, "unit.0.conv.weight"),
          "shared and per-task unit names are exclusive");
    CHECK(mtl_params_find(s->params, "net.1.head.0.weight")->shape[0] == 3, "STAN task 1 head has 3 classes");
done:
    mtl_model_free(m);
    mtl_model_free(p);
    mtl_model_free(s);
}

/* configuration errors: a clear message, no model */
static void bad_configs(void) {
    static const struct {
        const char *kind;
        int min_length; /* worked out by hand from the layer tables */
    } mins[] = {
        {"mtagn", 32},   /* pools 4, 4, 2: 32 / 32 = 1 sample for the mean */
        {"stan", 32},
        {"mt1dcnn", 52}, /* backwards: last conv needs 1, then 2, 4, 7, 13, 26 samples, L >= 2*26 */
        {"jlcnn", 64},   /* six halvings */
        {"wdcnn", 1024}, /* last pool needs 2 -> conv p0 needs 4 -> 8, 16, 32, 64 -> (L - 16)/16 + 1 >= 64 */
    };
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    float *x = calloc(2 * 1024, sizeof(float));
    for (size_t i = 0; i < sizeof mins / sizeof *mins && t && x; i++) {
        mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = mins[i].min_length - 1};
        mtl_model *m = NULL;
        CHECK(mtl_model_create(mins[i].kind, &cfg, 1, &m) == MTL_ERR_ARG && m == NULL, "%s: length %d accepted",
              mins[i].kind, cfg.length);
        char num[16];
        snprintf(num, sizeof num, "%d", cfg.length);
        CHECK(strstr(mtl_last_error(), num) && strstr(mtl_last_error(), "length") &&
                  strstr(mtl_last_error(), mins[i].kind), "%s: message '%s'", mins[i].kind, mtl_last_error());
        /* the shortest accepted length runs */
        cfg.length = mins[i].min_length;
        CHECK_OK(mtl_model_create(mins[i].kind, &cfg, 1, &m));
        if (!m) continue;
        mtl_tensor *logits[2];
        mtl_tape_reset(t);
        CHECK_OK(mtl_model_forward(m, t, mtl_tensor_wrap(t, MTL_SHAPE(2, 1, cfg.length), x), logits));
        mtl_model_free(m);
    }
    free(x);
    mtl_tape_free(t);
    const char *all[] = {"mtagn", "stan", "mt1dcnn", "jlcnn", "wdcnn"};
    for (int i = 0; i < 5; i++) {
        mtl_model_config cfg = {.n_tasks = 0, .in_channels = 1, .length = 2048};
        mtl_model *m = NULL;
        CHECK(mtl_model_create(all[i], &cfg, 1, &m) == MTL_ERR_ARG && !m, "%s: 0 tasks accepted", all[i]);
        CHECK(strstr(mtl_last_error(), "0 tasks") != NULL, "message '%s'", mtl_last_error());
        cfg.n_tasks = 2;
        cfg.n_classes[0] = 4, cfg.n_classes[1] = 1;
        CHECK(mtl_model_create(all[i], &cfg, 1, &m) == MTL_ERR_ARG && !m, "%s: 1 class accepted", all[i]);
    }
    /* an input of another channel count than the model's fails in the forward, not silently */
    mtl_model_config cfg = {.n_tasks = 1, .n_classes = {3}, .in_channels = 2, .length = 64};
    mtl_model *m = NULL;
    CHECK_OK(mtl_model_create("mtagn", &cfg, 1, &m));
    if (!m) return;
    CHECK(mtl_params_find(m->params, "block1.0.conv.weight")->shape[1] == 2, "two input channels");
    mtl_tape *t2 = NULL;
    CHECK_OK(mtl_tape_create(&t2));
    float y[64] = {0};
    mtl_tensor *logits[1];
    CHECK(mtl_model_forward(m, t2, mtl_tensor_wrap(t2, MTL_SHAPE(1, 1, 64), y), logits) != MTL_OK,
          "one-channel input accepted by a two-channel model");
    mtl_tape_free(t2);
    mtl_model_free(m);
}

static double std_of(const float *x, int64_t n, double *mean) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int64_t i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    return sqrt(ss / n);
}

static void initialisation(void) {
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = 2048};
    mtl_model *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(mtl_model_create("mtagn", &cfg, 3, &a));
    CHECK_OK(mtl_model_create("mtagn", &cfg, 3, &b));
    CHECK_OK(mtl_model_create("mtagn", &cfg, 4, &c));
    if (!a || !b || !c) goto done;
    size_t bytes = (size_t)mtl_params_size(a->params) * sizeof(float);
    CHECK(!memcmp(mtl_params_data(a->params), mtl_params_data(b->params), bytes), "same seed, other weights");
    CHECK(memcmp(mtl_params_data(a->params), mtl_params_data(c->params), bytes), "other seed, same weights");
    /* Kaiming-normal fan_out: block3.1.conv is 64 x 64 x 3, std sqrt(2 / (64 * 3)) */
    mtl_tensor *w = mtl_params_find(a->params, "block3.1.conv.weight");
    double mean, sd = std_of(w->data, w->size, &mean), want = sqrt(2.0 / (64 * 3));
    CHECK(w->size == 12288 && fabs(sd / want - 1) < 0.05 && fabs(mean) < 0.05 * want,
          "block3.1.conv.weight std %g (want %g), mean %g", sd, want, mean);
    /* and unit.2 (128 x 64 x 1): std sqrt(2 / 128) */
    w = mtl_params_find(a->params, "unit.2.conv.weight");
    sd = std_of(w->data, w->size, &mean), want = sqrt(2.0 / 128);
    CHECK(fabs(sd / want - 1) < 0.05, "unit.2.conv.weight std %g (want %g)", sd, want);
    /* Xavier-normal heads: std sqrt(2 / (128 + 4)); 1024 values of two heads */
    float hv[1024];
    memcpy(hv, mtl_params_find(a->params, "head.0.weight")->data, 512 * sizeof(float));
    memcpy(hv + 512, mtl_params_find(a->params, "head.1.weight")->data, 512 * sizeof(float));
    sd = std_of(hv, 1024, &mean), want = sqrt(2.0 / 132);
    CHECK(fabs(sd / want - 1) < 0.1, "head std %g (want %g)", sd, want);
    /* every bias 0, batchnorm weight 1; ECA weights not all zero */
    for (int i = 0; i < mtl_params_count(a->params); i++) {
        const mtl_param_info *pi = mtl_params_info(a->params, i);
        size_t n = strlen(pi->name);
        bool bias = n > 5 && !strcmp(pi->name + n - 5, ".bias");
        bool bn_weight = n > 9 && !strcmp(pi->name + n - 9, "bn.weight");
        for (int64_t j = 0; j < pi->tensor->size && (bias || bn_weight); j++)
            if (pi->tensor->data[j] != (bn_weight ? 1.0f : 0.0f)) {
                CHECK(0, "%s[%lld] = %g", pi->name, (long long)j, pi->tensor->data[j]);
                break;
            }
    }
    /* ECA: 6 x 3 weights drawn with std sqrt(2 / 3) = 0.82: a loose check over the 18 values */
    float ev[18];
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 3; s++) {
            char name[48];
            snprintf(name, sizeof name, "att.%d.%d.conv.weight", k, s);
            memcpy(ev + 9 * k + 3 * s, mtl_params_find(a->params, name)->data, 3 * sizeof(float));
        }
    sd = std_of(ev, 18, &mean);
    CHECK(sd > 0.4 && sd < 1.3, "ECA weight std %g (want about 0.82)", sd);

    /* baselines keep PyTorch's defaults: U(+-1/sqrt(fan_in)) (jlcnn fc.0: 128 x 512) */
    mtl_model *j = NULL;
    CHECK_OK(mtl_model_create("jlcnn", &cfg, 3, &j));
    if (j) {
        w = mtl_params_find(j->params, "fc.0.weight");
        double bound = 1 / sqrt(512.0), mx = 0;
        for (int64_t i = 0; i < w->size; i++) mx = fabs(w->data[i]) > mx ? fabs(w->data[i]) : mx;
        sd = std_of(w->data, w->size, &mean);
        CHECK(mx <= bound && fabs(sd / (bound / sqrt(3.0)) - 1) < 0.05, "jlcnn fc.0.weight max %g std %g", mx, sd);
    }
    mtl_model_free(j);
done:
    mtl_model_free(a);
    mtl_model_free(b);
    mtl_model_free(c);
}

static void registry_lists_the_kinds(void) {
    const char *want[] = {"tiny", "mtagn", "stan", "mt1dcnn", "jlcnn", "wdcnn"};
    for (int i = 0; i < 6; i++) {
        const mtl_model_kind *k = mtl_model_kinds();
        while (k->name && strcmp(k->name, want[i])) k++;
        CHECK(k->name && k->description && strlen(k->description) > 20 && !strchr(k->description, '\n'),
              "kind %s missing or undescribed", want[i]);
        if (k->name)
            CHECK(k->single_task == (!strcmp(want[i], "stan") || !strcmp(want[i], "wdcnn")), "%s single_task",
                  want[i]);
    }
    mtl_model_config cfg = {.n_tasks = 2, .n_classes = {4, 4}, .in_channels = 1, .length = 2048};
    mtl_model *m = NULL;
    CHECK(mtl_model_create("mtagn2", &cfg, 1, &m) == MTL_ERR_ARG && strstr(mtl_last_error(), "wdcnn"),
          "unknown kind: %s", mtl_last_error());
}

int main(void) {
    mtl_set_threads(2);
    RUN(spec_figures);
    RUN(every_kind_and_task_set);
    RUN(names_and_owners);
    RUN(bad_configs);
    RUN(initialisation);
    RUN(registry_lists_the_kinds);
    return th_summary();
}
