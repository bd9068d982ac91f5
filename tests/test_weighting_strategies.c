/* The weighting strategies uw, rlw, gls, famo, gradnorm, pcgrad, graddrop and gradvac against
 * tests/parity/gen_weighting_strategies.py (float64 NumPy / PyTorch, written from the papers):
 * every case of the fixture is run through the public API (weights, combine, after) step by
 * step, comparing lambda, d and alpha; the stateful strategies are also driven through their
 * hooks to compare the state after every step (s, xi, w, phi^: the first member of each state,
 * see the strategy files); the random ones have their draws replayed here from the strategy's
 * stream (seed, 0x3e1947) and compared with the script's own Philox. Then the registry, the
 * error paths and the degenerate inputs (zero / identical / opposite rows, K = 1..8). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ATOL 1e-6
#define RTOL 1e-5
#define MAXN 2048
#define STREAM 0x3e1947u

static const char *const names[] = {"uw", "rlw", "gls", "famo", "gradnorm", "pcgrad", "graddrop", "gradvac"};
#define N_NAMES (int)(sizeof names / sizeof names[0])

/* "<p>.<leaf>" as doubles into out[max]; its shape into shape[3] (missing dims 1); the count,
 * or -1 when the tensor is missing (a failed check unless optional) */
static int64_t get(mtl_st_file *f, const char *p, const char *leaf, double *out, int64_t *shape, bool optional) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", p, leaf);
    const mtl_st_tensor *t = mtl_st_find(f, key);
    if (!t) {
        CHECK(optional, "fixture has no tensor '%s'", key);
        return -1;
    }
    CHECK(t->count <= MAXN && t->ndim <= 3, "%s: %lld values", key, (long long)t->count);
    if (t->count > MAXN || t->ndim > 3) return -1;
    for (int i = 0; i < 3; i++) shape[i] = i < t->ndim ? t->shape[i] : 1;
    for (int64_t i = 0; i < t->count; i++) {
        const char *b = (const char *)t->data;
        if (t->dtype == MTL_DTYPE_F64) {
            memcpy(&out[i], b + 8 * i, 8);
        } else if (t->dtype == MTL_DTYPE_F32) {
            float v;
            memcpy(&v, b + 4 * i, 4);
            out[i] = v;
        } else {
            int32_t v;
            memcpy(&v, b + 4 * i, 4);
            out[i] = v;
        }
    }
    return t->count;
}

/* got [n] against want [n]; returns the largest |difference| */
static double compare(const char *p, const char *what, int step, const float *got, const double *want, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - want[i]);
        if (!(diff <= worst)) worst = diff;
        CHECK(th_close(got[i], want[i], ATOL, RTOL), "%s step %d %s[%lld]: %.9g vs %.9g", p, step, what, (long long)i,
              (double)got[i], want[i]);
    }
    return worst;
}

static void to_float(float *out, const double *in, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = (float)in[i];
}

typedef struct {
    char name[32];
    mtl_weighting_config cfg;
    int S, K;
    int64_t D, begin, end;
    double L[MAXN], La[MAXN], G[MAXN], lambda[MAXN], d[MAXN], alpha[MAXN], state[MAXN], draws[MAXN];
    int64_t state_n;                     /* values per step, 0: no state in the fixture */
    bool has_after, has_grads, has_draws; /* draws: z, order or U */
} fixture_case;

static bool load_case(mtl_st_file *f, const char *p, fixture_case *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%.*s", (int)strcspn(p, "."), p);
    double cfg[16];
    int64_t sh[3];
    if (get(f, p, "cfg", cfg, sh, false) != 9 || get(f, p, "losses", c->L, sh, false) < 0 ||
        get(f, p, "lambda", c->lambda, sh, false) < 0)
        return false;
    c->S = (int)sh[0], c->K = (int)sh[1];
    c->cfg = mtl_weighting_defaults();
    c->cfg.seed = (uint64_t)cfg[0], c->cfg.lr = cfg[1], c->cfg.uw_init = cfg[2], c->cfg.famo_beta = cfg[3];
    c->cfg.famo_gamma = cfg[4], c->cfg.gradnorm_alpha = cfg[5], c->cfg.gradvac_beta = cfg[6];
    c->begin = (int64_t)cfg[7], c->end = (int64_t)cfg[8];
    c->has_after = get(f, p, "losses_after", c->La, sh, true) >= 0;
    if ((c->has_grads = get(f, p, "G", c->G, sh, true) >= 0)) {
        c->D = sh[2];
        if (get(f, p, "d", c->d, sh, false) < 0 || get(f, p, "alpha", c->alpha, sh, false) < 0) return false;
    }
    if (get(f, p, "state", c->state, sh, true) >= 0) c->state_n = sh[1];
    c->has_draws = get(f, p, "z", c->draws, sh, true) >= 0 || get(f, p, "order", c->draws, sh, true) >= 0 ||
                   get(f, p, "U", c->draws, sh, true) >= 0;
    return true;
}

/* the case through mtl_weighting_create / weights / combine / after */
static double run_public(const char *p, const fixture_case *c) {
    mtl_weighting *w = NULL;
    CHECK_OK(mtl_weighting_create(c->name, c->K, &c->cfg, &w));
    if (!w) return INFINITY;
    double worst = 0;
    int K = c->K;
    int64_t D = c->D;
    for (int s = 0; s < c->S; s++) {
        float L[MTL_MAX_TASKS], lam[MTL_MAX_TASKS], alpha[MTL_MAX_TASKS], G[MAXN], d[MAXN];
        to_float(L, c->L + s * K, K);
        CHECK_OK(mtl_weighting_weights(w, 0, NULL, L, lam));
        worst = fmax(worst, compare(p, "lambda", s, lam, c->lambda + s * K, K));
        if (c->has_grads) {
            to_float(G, c->G + s * K * D, K * D);
            CHECK_OK(mtl_weighting_combine(w, G, D, c->begin, c->end, d, alpha));
            worst = fmax(worst, compare(p, "d", s, d, c->d + s * D, D));
            worst = fmax(worst, compare(p, "alpha", s, alpha, c->alpha + s * K, K));
        }
        if (c->has_after) {
            to_float(L, c->La + s * K, K);
            CHECK_OK(mtl_weighting_after(w, L));
        }
    }
    mtl_weighting_free(w);
    return worst;
}

/* the case through the kind's hooks, as registry.c calls them, comparing the state after each step */
static double run_hooks(const char *p, const fixture_case *c) {
    const mtl_weighting_kind *kd = mtl_weighting_kind_find(c->name);
    CHECK(kd && kd->state_size >= (size_t)c->state_n * sizeof(double), "%s: state of %zu bytes", p,
          kd ? kd->state_size : 0);
    if (!kd || kd->state_size < (size_t)c->state_n * sizeof(double)) return INFINITY;
    void *state = calloc(1, kd->state_size);
    mtl_rng rng;
    mtl_rng_init(&rng, c->cfg.seed, STREAM);
    if (kd->init) CHECK_OK(kd->init(state, &c->cfg, c->K));
    bool phi = strcmp(c->name, "gradvac") == 0; /* double phi[MTL_MAX_TASKS][MTL_MAX_TASKS] */
    double worst = 0;
    int K = c->K;
    int64_t D = c->D;
    for (int s = 0; s < c->S; s++) {
        float L[MTL_MAX_TASKS], lam[MTL_MAX_TASKS], alpha[MTL_MAX_TASKS], G[MAXN], d[MAXN], got[MAXN];
        to_float(L, c->L + s * K, K);
        mtl_weighting_ctx x = {.K = K, .step = s, .losses = L, .lambda = lam, .rng = &rng};
        CHECK_OK(kd->weights(state, &c->cfg, &x, lam));
        if (c->has_grads) {
            to_float(G, c->G + s * K * D, K * D);
            x.last_begin = c->begin, x.last_end = c->end ? c->end : D;
            CHECK_OK(kd->combine(state, &c->cfg, &x, G, D, d, alpha));
        }
        if (c->has_after) {
            float La[MTL_MAX_TASKS];
            to_float(La, c->La + s * K, K);
            CHECK_OK(kd->after(state, &c->cfg, &x, La));
        }
        const double *st = state;
        for (int64_t i = 0; i < c->state_n; i++) got[i] = (float)(phi ? st[(i / K) * MTL_MAX_TASKS + i % K] : st[i]);
        worst = fmax(worst, compare(p, "state", s, got, c->state + s * c->state_n, c->state_n));
    }
    free(state);
    return worst;
}

/* the strategy's draws replayed from its stream, in the order its file documents */
static void replay_draws(const char *p, const fixture_case *c) {
    mtl_rng r;
    mtl_rng_init(&r, c->cfg.seed, STREAM);
    int K = c->K, n = 0, bad = 0;
    for (int s = 0; s < c->S; s++) {
        if (!strcmp(c->name, "rlw")) {
            float z[MTL_MAX_TASKS];
            mtl_rng_normal(&r, z, K, 0.0f, 1.0f);
            for (int k = 0; k < K; k++, n++) bad += !th_close(z[k], c->draws[n], 1e-6, 1e-6);
        } else if (!strcmp(c->name, "graddrop")) {
            for (int64_t i = 0; i < c->D; i++, n++) bad += mtl_rng_float(&r) != (float)c->draws[n];
        } else { /* pcgrad, gradvac: per task k, the others in a permuted order */
            for (int k = 0; k < K; k++) {
                int32_t perm[MTL_MAX_TASKS];
                CHECK_OK(mtl_rng_permutation(&r, perm, K - 1));
                for (int i = 0; i < K - 1; i++, n++) bad += (perm[i] < k ? perm[i] : perm[i] + 1) != (int)c->draws[n];
            }
        }
    }
    CHECK(bad == 0, "%s: %d of %d draws differ from the script's replay", p, bad, n);
}

static int run_strategy(const char *strategy) {
    mtl_st_file *f = th_fixture("weighting_strategies.safetensors");
    if (!f) return 0;
    static fixture_case c;
    int n = 0;
    size_t len = strlen(strategy);
    for (int i = 0; i < mtl_st_count(f); i++) {
        const char *t = mtl_st_at(f, i)->name;
        size_t tl = strlen(t);
        if (strncmp(t, strategy, len) || t[len] != '.' || tl < 4 || strcmp(t + tl - 4, ".cfg")) continue;
        char p[96];
        snprintf(p, sizeof p, "%.*s", (int)(tl - 4), t);
        if (!load_case(f, p, &c)) continue;
        double worst = run_public(p, &c);
        if (c.state_n) worst = fmax(worst, run_hooks(p, &c));
        if (c.has_draws) replay_draws(p, &c);
        printf("     %-28s K=%d S=%d D=%-3lld max|diff| %.3g%s%s\n", p, c.K, c.S, (long long)c.D, worst,
               c.state_n ? " (+ state)" : "", c.has_draws ? " (+ draws)" : "");
        n++;
    }
    return n;
}

static void uw_matches_reference(void) { CHECK(run_strategy("uw") >= 5, "uw cases missing"); }
static void rlw_matches_reference(void) { CHECK(run_strategy("rlw") >= 3, "rlw cases missing"); }
static void gls_matches_reference(void) { CHECK(run_strategy("gls") >= 4, "gls cases missing"); }
static void famo_matches_reference(void) { CHECK(run_strategy("famo") >= 4, "famo cases missing"); }
static void gradnorm_matches_reference(void) { CHECK(run_strategy("gradnorm") >= 6, "gradnorm cases missing"); }
static void pcgrad_matches_reference(void) { CHECK(run_strategy("pcgrad") >= 7, "pcgrad cases missing"); }
static void graddrop_matches_reference(void) { CHECK(run_strategy("graddrop") >= 7, "graddrop cases missing"); }
static void gradvac_matches_reference(void) { CHECK(run_strategy("gradvac") >= 7, "gradvac cases missing"); }

static void registry_finds_every_name(void) {
    const mtl_weighting_kind *all = mtl_weighting_kinds();
    for (int i = 0; i < N_NAMES; i++) {
        const mtl_weighting_kind *k = mtl_weighting_kind_find(names[i]);
        CHECK(k && !strcmp(k->name, names[i]) && k->weights && k->description && *k->description, "%s not found",
              names[i]);
        if (!k) continue;
        bool grads = i >= 4;
        unsigned fl = k->flags;
        CHECK(!!(fl & MTL_WEIGHTING_GRADS) == grads && (!grads || k->combine), "%s: flags %u", names[i], fl);
        bool after = !strcmp(names[i], "famo");
        CHECK(!!(fl & MTL_WEIGHTING_LOSSES_AFTER) == after && (!after || k->after), "%s: flags %u", names[i], fl);
        CHECK(!!(fl & MTL_WEIGHTING_REP) == !strcmp(names[i], "graddrop"), "%s: flags %u", names[i], fl);
        bool listed = false;
        for (int j = 0; all[j].name; j++) listed |= !strcmp(all[j].name, names[i]);
        CHECK(listed, "%s not in mtl_weighting_kinds()", names[i]);
        for (int K = 1; K <= MTL_MAX_TASKS; K++) {
            mtl_weighting *w = NULL;
            CHECK_OK(mtl_weighting_create(names[i], K, NULL, &w));
            CHECK(w && !strcmp(mtl_weighting_name(w), names[i]) && mtl_weighting_flags(w) == k->flags, "%s K=%d",
                  names[i], K);
            mtl_weighting_free(w);
        }
    }
    mtl_weighting *w = NULL;
    CHECK(mtl_weighting_kind_find("pc-grad") == NULL, "unknown name found");
    CHECK(mtl_weighting_create("pc-grad", 2, NULL, &w) == MTL_ERR_ARG && w == NULL, "unknown name accepted");
    const char *msg = mtl_last_error();
    CHECK(strstr(msg, "pc-grad") != NULL, "message: %s", msg);
    for (int i = 0; i < N_NAMES; i++) CHECK(strstr(msg, names[i]) != NULL, "'%s' not listed in: %s", names[i], msg);
}

static void expect_error(mtl_status got, mtl_status want, const char *what, const char *n1, const char *n2) {
    const char *msg = mtl_last_error();
    CHECK(got == want, "%s: %s, want %s (%s)", what, mtl_status_name(got), mtl_status_name(want), msg);
    CHECK(strstr(msg, n1) && (!n2 || strstr(msg, n2)), "%s: message '%s' lacks '%s' / '%s'", what, msg, n1,
          n2 ? n2 : "");
}

static void bad_losses_rejected(void) {
    float lam[3];
    mtl_weighting *w = NULL;
    CHECK_OK(mtl_weighting_create("gls", 3, NULL, &w));
    /* a zero loss (a perfect fit in float) counts as 1e-8: task 1 gets (1e-8 * 2)^(1/3) / (3e-8) */
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, (float[]){1.0f, 0.0f, 2.0f}, lam));
    CHECK_CLOSE(lam[1], cbrt(1e-8 * 2.0) / 3e-8, 0, 1e-5, "gls: a zero loss counts as 1e-8");
    CHECK_CLOSE(lam[0], cbrt(1e-8 * 2.0) / 3.0, 0, 1e-5, "gls: the others' weights with a zero loss");
    expect_error(mtl_weighting_weights(w, 0, NULL, (float[]){1.0f, 2.0f, -0.5f}, lam), MTL_ERR_NUMERIC,
                 "gls negative loss", "gls", "task 2");
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, (float[]){1.0f, 2.0f, 0.5f}, lam)); /* still usable */
    mtl_weighting_free(w);

    CHECK_OK(mtl_weighting_create("famo", 2, NULL, &w));
    expect_error(mtl_weighting_after(w, (float[]){1.0f, 1.0f}), MTL_ERR_STATE, "famo after before weights", "famo",
                 "after");
    expect_error(mtl_weighting_weights(w, 0, NULL, (float[]){-0.1f, 1.0f}, lam), MTL_ERR_NUMERIC, "famo negative loss",
                 "famo", "task 0");
    /* a zero loss counts as 1e-8: z = (1/2, 1/2), lambda_k = (1/L_k) / sum_j (1/L_j) */
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, (float[]){0.0f, 1.0f}, lam));
    CHECK_CLOSE(lam[0], 1.0 / (1.0 + 1e-8), 0, 1e-6, "famo: a zero loss counts as 1e-8");
    CHECK_OK(mtl_weighting_after(w, (float[]){0.0f, 0.5f}));
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, (float[]){0.5f, 1.0f}, lam));
    expect_error(mtl_weighting_after(w, (float[]){0.5f, -1.0f}), MTL_ERR_NUMERIC, "famo negative loss after", "famo",
                 "task 1");
    CHECK_OK(mtl_weighting_after(w, (float[]){0.4f, 0.9f}));
    expect_error(mtl_weighting_after(w, (float[]){0.4f, 0.9f}), MTL_ERR_STATE, "famo second after", "famo", NULL);
    mtl_weighting_free(w);

    CHECK_OK(mtl_weighting_create("gradnorm", 2, NULL, &w));
    expect_error(mtl_weighting_weights(w, 0, NULL, (float[]){0.7f, 0.0f}, lam), MTL_ERR_NUMERIC,
                 "gradnorm zero first loss", "gradnorm", "task 1");
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, (float[]){0.7f, 0.3f}, lam));
    expect_error(mtl_weighting_weights(w, 0, NULL, (float[]){-0.7f, 0.3f}, lam), MTL_ERR_NUMERIC,
                 "gradnorm negative loss", "gradnorm", "task 0");
    /* all current losses 0: every ratio r_k = 1, fine */
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, (float[]){0.0f, 0.0f}, lam));
    float G[4] = {1, 2, 3, 4}, d[2], alpha[2];
    CHECK_OK(mtl_weighting_combine(w, G, 2, 0, 0, d, alpha));
    mtl_weighting_free(w);
}

/* every gradient strategy on zero / identical / opposite / random rows for K = 1..8 and every
 * loss strategy on equal / spread losses: no error, finite outputs, and the exact values where
 * the method fixes them (K = 1: d = g; all-zero G: d = 0) */
static void degenerate_inputs(void) {
    enum { D = 7 };
    for (int i = 0; i < N_NAMES; i++) {
        bool grads = i >= 4;
        for (int K = 1; K <= MTL_MAX_TASKS; K++) {
            for (int kind = 0; kind < 4; kind++) { /* 0 zero rows, 1 identical, 2 opposite pairs, 3 random */
                mtl_weighting *w = NULL;
                CHECK_OK(mtl_weighting_create(names[i], K, NULL, &w));
                if (!w) continue;
                float G[MTL_MAX_TASKS * D], d[D], alpha[MTL_MAX_TASKS], lam[MTL_MAX_TASKS], L[MTL_MAX_TASKS];
                th_fill(G, K * D, 100 + K, -1, 1);
                for (int k = 0; k < K; k++) {
                    L[k] = kind == 1 ? 0.8f : 0.3f + 0.4f * k;
                    for (int j = 0; j < D; j++) {
                        float *g = &G[k * D + j];
                        *g = kind == 0 ? 0.0f : kind == 1 ? G[j] : kind == 2 ? (k % 2 ? -G[(k - 1) * D + j] : *g) : *g;
                    }
                }
                for (int step = 0; step < 3; step++) {
                    mtl_status s = mtl_weighting_weights(w, 0, NULL, L, lam);
                    CHECK(s == MTL_OK, "%s K=%d kind %d: %s", names[i], K, kind, mtl_last_error());
                    if (grads && !s) {
                        float Gc[MTL_MAX_TASKS * D];
                        memcpy(Gc, G, sizeof Gc);
                        s = mtl_weighting_combine(w, Gc, D, 0, 0, d, alpha);
                        CHECK(s == MTL_OK, "%s K=%d kind %d: %s", names[i], K, kind, mtl_last_error());
                        for (int j = 0; j < D && !s; j++) {
                            if (kind == 0) CHECK(d[j] == 0, "%s K=%d: zero rows give d[%d] = %g", names[i], K, j, d[j]);
                            if (K == 1)
                                CHECK(fabsf(d[j] - G[j]) <= 1e-6f, "%s K=1: d[%d] = %g, g = %g", names[i], j, d[j],
                                      G[j]);
                        }
                    }
                    if (!strcmp(names[i], "famo") && !s) {
                        for (int k = 0; k < K; k++) L[k] *= 0.9f;
                        CHECK_OK(mtl_weighting_after(w, L));
                    }
                }
                mtl_weighting_free(w);
            }
        }
    }
}

int main(void) {
    RUN(uw_matches_reference);
    RUN(rlw_matches_reference);
    RUN(gls_matches_reference);
    RUN(famo_matches_reference);
    RUN(gradnorm_matches_reference);
    RUN(pcgrad_matches_reference);
    RUN(graddrop_matches_reference);
    RUN(gradvac_matches_reference);
    RUN(registry_finds_every_name);
    RUN(bad_losses_rejected);
    RUN(degenerate_inputs);
    return th_summary();
}
