/* The weighting solvers (min-norm point, symmetric eigen-decomposition, linear solve) and the
 * solver-based gradient strategies (mgda, cagrad, imtl, nash, aligned) against values computed
 * independently by tests/parity/gen_weighting_solve.py (NumPy float64): K = 1, 2, 3, 5, identical,
 * opposite and zero rows, IMTL's loss scales over several steps; then K = 1..8 degenerate inputs
 * that must give finite results. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtl/weighting.h"

#define FIX "weighting_solve.safetensors"

/* copies the F64 tensor `name` into out (at most max values); returns its count, 0 if missing */
static int64_t f64(mtl_st_file *f, const char *name, double *out, int64_t max) {
    const mtl_st_tensor *t = f ? mtl_st_find(f, name) : NULL;
    CHECK(t && t->dtype == MTL_DTYPE_F64 && t->count <= max, "fixture has no F64 tensor '%s' of <= %lld values", name,
          (long long)max);
    if (!t || t->dtype != MTL_DTYPE_F64 || t->count > max) return 0;
    memcpy(out, t->data, (size_t)t->count * sizeof(double));
    return t->count;
}

static int isqrt(int64_t n) {
    int k = 0;
    while ((int64_t)(k + 1) * (k + 1) <= n) k++;
    return k;
}

/* ---------------------------------------------------------------- solvers */

static void min_norm_matches_face_enumeration(void) {
    mtl_st_file *f = th_fixture(FIX);
    const char *names[] = {"k2", "k2_ident", "k3", "k3_vertex", "k3_origin", "k5", "k8", "k8_rank4", "k4_dup", "k3_zero"};
    for (size_t c = 0; c < sizeof names / sizeof *names; c++) {
        char key[96];
        double M[64], want[8], v, x[8];
        snprintf(key, sizeof key, "mn.%s.M", names[c]);
        int K = isqrt(f64(f, key, M, 64));
        snprintf(key, sizeof key, "mn.%s.x", names[c]);
        if (K < 1 || f64(f, key, want, 8) != K) continue;
        snprintf(key, sizeof key, "mn.%s.v", names[c]);
        f64(f, key, &v, 1);
        snprintf(key, sizeof key, "mn.%s.unique", names[c]);
        int32_t *unique = th_fixture_i32(f, key, NULL);
        mtl_solve_min_norm(M, K, x);
        double s = 0, scale = 0, xMx = 0, gmin = INFINITY;
        for (int i = 0; i < K; i++) {
            double g = 0;
            for (int j = 0; j < K; j++) g += M[i * K + j] * x[j];
            xMx += x[i] * g;
            gmin = fmin(gmin, g);
            s += x[i];
            scale = fmax(scale, M[i * K + i]);
            CHECK(x[i] >= 0, "%s: x[%d] = %g < 0", names[c], i, x[i]);
        }
        CHECK_CLOSE(s, 1.0, 1e-12, 0, names[c]);
        CHECK_CLOSE(xMx, v, 1e-12 * scale, 1e-9, names[c]);
        CHECK(gmin >= xMx - 1e-10 * scale, "%s: not optimal, min (Mx)_k %.17g < x^T M x %.17g", names[c], gmin, xMx);
        if (unique && unique[0])
            for (int k = 0; k < K; k++) CHECK_CLOSE(x[k], want[k], 1e-9, 0, names[c]);
    }
}

static void min_norm_small_cases(void) {
    double x[8];
    double M1[1] = {4};
    mtl_solve_min_norm(M1, 1, x);
    CHECK(x[0] == 1, "K = 1: x = %g", x[0]);
    /* spec closed form: g1 = (1, 0), g2 = (0, 2): alpha_1 = (g2 - g1).g2 / |g1 - g2|^2 = 4/5 */
    double M2[4] = {1, 0, 0, 4};
    mtl_solve_min_norm(M2, 2, x);
    CHECK_CLOSE(x[0], 0.8, 1e-15, 0, "K = 2 closed form");
    CHECK_CLOSE(x[1], 0.2, 1e-15, 0, "K = 2 closed form");
    /* g2 = 3 g1: the shorter one wins (clip to 1) */
    double M3[4] = {1, 3, 3, 9};
    mtl_solve_min_norm(M3, 2, x);
    CHECK(x[0] == 1 && x[1] == 0, "K = 2 clipped: %g %g", x[0], x[1]);
    /* scale invariance: 1e-30 and 1e30 times the same matrix give the same point */
    double A[9] = {2, -1, 0.5, -1, 3, 0.2, 0.5, 0.2, 1}, B[9], y[3], z[3];
    for (int i = 0; i < 9; i++) B[i] = A[i] * 1e-30;
    mtl_solve_min_norm(A, 3, x);
    mtl_solve_min_norm(B, 3, y);
    for (int i = 0; i < 9; i++) B[i] = A[i] * 1e30;
    mtl_solve_min_norm(B, 3, z);
    for (int k = 0; k < 3; k++) {
        CHECK_CLOSE(y[k], x[k], 1e-12, 0, "scaled by 1e-30");
        CHECK_CLOSE(z[k], x[k], 1e-12, 0, "scaled by 1e30");
    }
}

static void eigen_matches_numpy(void) {
    mtl_st_file *f = th_fixture(FIX);
    const char *names[] = {"k1", "k3_zero", "k2", "k3_psd", "k5_indef", "k8", "k4_repeated"};
    for (size_t c = 0; c < sizeof names / sizeof *names; c++) {
        char key[96];
        double A[64], we[8], wV[64], e[8], V[64];
        snprintf(key, sizeof key, "eig.%s.A", names[c]);
        int K = isqrt(f64(f, key, A, 64));
        snprintf(key, sizeof key, "eig.%s.e", names[c]);
        if (K < 1 || f64(f, key, we, 8) != K) continue;
        snprintf(key, sizeof key, "eig.%s.V", names[c]);
        f64(f, key, wV, 64);
        mtl_solve_sym_eigen(A, K, e, V);
        double scale = 1e-300;
        for (int i = 0; i < K * K; i++) scale = fmax(scale, fabs(A[i]));
        for (int k = 0; k < K; k++) CHECK_CLOSE(e[k], we[k], 1e-12 * scale, 0, names[c]);
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double r = 0, o = 0;
                for (int l = 0; l < K; l++) r += V[i * K + l] * e[l] * V[j * K + l], o += V[l * K + i] * V[l * K + j];
                CHECK_CLOSE(r, A[i * K + j], 1e-12 * scale, 0, "V diag(e) V^T = A");
                CHECK_CLOSE(o, i == j, 1e-12, 0, "V^T V = I");
            }
        for (int l = 0; l < K; l++) { /* eigenvectors of simple eigenvalues: the same, sign included */
            bool simple = (l == 0 || e[l] - e[l - 1] > 1e-6 * scale) && (l == K - 1 || e[l + 1] - e[l] > 1e-6 * scale);
            if (!simple && strcmp(names[c], "k3_zero") != 0) continue;
            for (int i = 0; i < K; i++) CHECK_CLOSE(V[i * K + l], wV[i * K + l], 1e-9, 0, names[c]);
        }
    }
}

static void linear_solve(void) {
    mtl_st_file *f = th_fixture(FIX);
    const char *names[] = {"k3", "k8", "k2_pivot"};
    for (size_t c = 0; c < sizeof names / sizeof *names; c++) {
        char key[96];
        double A[64], b[8], want[8], x[8];
        snprintf(key, sizeof key, "lin.%s.A", names[c]);
        int K = isqrt(f64(f, key, A, 64));
        snprintf(key, sizeof key, "lin.%s.b", names[c]);
        if (K < 1 || f64(f, key, b, 8) != K) continue;
        snprintf(key, sizeof key, "lin.%s.x", names[c]);
        f64(f, key, want, 8);
        CHECK_OK(mtl_solve_linear(A, b, K, x));
        for (int k = 0; k < K; k++) CHECK_CLOSE(x[k], want[k], 1e-12, 1e-10, names[c]);
    }
    double A[16], b[4], x[4];
    if (f64(f, "lin.singular.A", A, 16) == 16 && f64(f, "lin.singular.b", b, 4) == 4) {
        CHECK(mtl_solve_linear(A, b, 4, x) == MTL_ERR_NUMERIC, "a singular matrix was solved");
        CHECK(strstr(mtl_last_error(), "solve_linear") && strstr(mtl_last_error(), "singular"), "message: %s",
              mtl_last_error());
    }
    double Z[4] = {0}, one[2] = {1, 1};
    CHECK(mtl_solve_linear(Z, one, 2, x) == MTL_ERR_NUMERIC, "the zero matrix was solved");
    double N[4] = {1, 0, 0, NAN};
    CHECK(mtl_solve_linear(N, one, 2, x) == MTL_ERR_NUMERIC && strstr(mtl_last_error(), "entry 3"), "NaN: %s",
          mtl_last_error());
    CHECK(mtl_solve_linear(NULL, one, 2, x) == MTL_ERR_ARG, "null matrix accepted");
    CHECK(mtl_solve_linear(Z, one, 0, x) == MTL_ERR_ARG, "K = 0 accepted");
    CHECK(mtl_solve_linear(Z, one, MTL_MAX_TASKS + 1, x) == MTL_ERR_ARG, "K = 9 accepted");
}

/* ---------------------------------------------------------------- strategies */

static const char *const CASES[] = {"k1",   "k2",    "k3",   "k5",    "ident2", "ident3",
                                    "opp2", "opp3",  "zero2", "zero3", "allzero"};
#define N_CASES (sizeof CASES / sizeof *CASES)

/* one combine() of `name` with cfg on case `cs`, against "<name>.<variant>.<cs>.{d,alpha[,groups]}" */
static void strategy_case(mtl_st_file *f, const char *name, const char *variant, const mtl_weighting_config *cfg,
                          const char *cs) {
    char key[128], what[192];
    mtl_shape gs;
    snprintf(key, sizeof key, "case.%s.G", cs);
    float *G = th_fixture_f32(f, key, &gs);
    snprintf(key, sizeof key, "case.%s.losses", cs);
    float *L = th_fixture_f32(f, key, NULL);
    if (!G || !L) return;
    int K = gs.d[0];
    int64_t D = gs.d[1];
    mtl_weighting *w = NULL;
    CHECK_OK(mtl_weighting_create(name, K, cfg, &w));
    if (!w) return;
    float lam[MTL_MAX_TASKS], alpha[MTL_MAX_TASKS], *Gc = malloc((size_t)(K * D) * sizeof *Gc), *d = malloc((size_t)D * sizeof *d);
    memcpy(Gc, G, (size_t)(K * D) * sizeof *Gc);
    CHECK_OK(mtl_weighting_weights(w, 0, NULL, L, lam));
    for (int k = 0; k < K; k++) CHECK(lam[k] == 1.0f, "%s.%s.%s: lambda %d = %g", name, variant, cs, k, (double)lam[k]);
    CHECK_OK(mtl_weighting_combine(w, Gc, D, 0, 0, d, alpha));
    snprintf(key, sizeof key, "%s.%s.%s.d", name, variant, cs);
    float *wd = th_fixture_f32(f, key, NULL);
    snprintf(what, sizeof what, "%s d", key);
    if (wd) th_compare(what, d, wd, D, 1e-6, 1e-5);
    snprintf(key, sizeof key, "%s.%s.%s.alpha", name, variant, cs);
    float *wa = th_fixture_f32(f, key, NULL);
    snprintf(key, sizeof key, "%s.%s.%s.groups", name, variant, cs);
    if (wa && mtl_st_find(f, key)) { /* identical rows: only the weight of each group is unique */
        int32_t *g = th_fixture_i32(f, key, NULL);
        for (int k = 0; g && k < K; k++) {
            if (g[k] != k) continue;
            double got = 0, want = 0;
            for (int j = 0; j < K; j++)
                if (g[j] == k) got += alpha[j], want += wa[j];
            snprintf(what, sizeof what, "%s.%s.%s alpha of group %d", name, variant, cs, k);
            CHECK_CLOSE(got, want, 1e-6, 1e-5, what);
        }
    } else if (wa) {
        snprintf(what, sizeof what, "%s.%s.%s alpha", name, variant, cs);
        th_compare(what, alpha, wa, K, 1e-6, 1e-5);
    }
    free(Gc);
    free(d);
    mtl_weighting_free(w);
}

static void all_cases(const char *name, const char *variant, mtl_weighting_config cfg) {
    mtl_st_file *f = th_fixture(FIX);
    if (!f) return;
    for (size_t c = 0; c < N_CASES; c++) strategy_case(f, name, variant, &cfg, CASES[c]);
}

static void mgda_matches_reference(void) {
    const char *variants[] = {"none", "l2", "loss", "loss+"};
    for (int n = 0; n < 4; n++) {
        mtl_weighting_config c = mtl_weighting_defaults();
        c.mgda_norm = (mtl_mgda_norm)n;
        all_cases("mgda", variants[n], c);
    }
}

static void cagrad_matches_reference(void) {
    mtl_weighting_config c = mtl_weighting_defaults();
    CHECK(c.cagrad_c == 0.5 && c.cagrad_rescale, "CAGrad defaults: c = 0.5, rescale");
    all_cases("cagrad", "default", c);
    c.cagrad_c = 0.2, c.cagrad_rescale = false;
    all_cases("cagrad", "c02_norescale", c);
}

static void imtl_g_matches_reference(void) {
    mtl_weighting_config c = mtl_weighting_defaults();
    c.imtl_mode = MTL_IMTL_G;
    all_cases("imtl", "g", c);
}

static void nash_matches_reference(void) {
    mtl_weighting_config c = mtl_weighting_defaults();
    CHECK(c.nash_iters == 20 && c.nash_max_norm == 1.0, "Nash defaults: 20 iterations, max_norm 1");
    all_cases("nash", "default", c);
    c.nash_max_norm = 0;
    all_cases("nash", "noclip", c);
}

static void aligned_matches_reference(void) {
    mtl_weighting_config c = mtl_weighting_defaults();
    all_cases("aligned", "default", c);
    c.aligned_weighted = true;
    all_cases("aligned", "weighted", c);
}

/* IMTL lg / l: lambda = exp(s) from the loss scales, s stepped by Adam on e^s L - 1; rows of the
   combine are lambda_k g_k */
static void imtl_loss_scales_over_steps(void) {
    mtl_st_file *f = th_fixture(FIX);
    double lr;
    if (!f || f64(f, "imtl.lr", &lr, 1) != 1) return;
    const char *modes[] = {"lg", "l"};
    const char *cs[] = {"k3", "k5"};
    for (int m = 0; m < 2; m++)
        for (int c = 0; c < 2; c++) {
            mtl_weighting_config cfg = mtl_weighting_defaults();
            cfg.imtl_mode = m == 0 ? MTL_IMTL_LG : MTL_IMTL_L;
            cfg.lr = lr;
            mtl_weighting *w = NULL;
            int K = c == 0 ? 3 : 5;
            CHECK_OK(mtl_weighting_create("imtl", K, &cfg, &w));
            for (int t = 0; w && t < 6; t++) {
                char p[64], key[96];
                snprintf(p, sizeof p, "imtl.%s.%s.step%d", modes[m], cs[c], t);
                mtl_shape gs;
                snprintf(key, sizeof key, "%s.G", p);
                float *G = th_fixture_f32(f, key, &gs);
                snprintf(key, sizeof key, "%s.losses", p);
                float *L = th_fixture_f32(f, key, NULL);
                snprintf(key, sizeof key, "%s.lambda", p);
                float *wl = th_fixture_f32(f, key, NULL);
                snprintf(key, sizeof key, "%s.d", p);
                float *wd = th_fixture_f32(f, key, NULL);
                snprintf(key, sizeof key, "%s.alpha", p);
                float *wa = th_fixture_f32(f, key, NULL);
                if (!G || !L || !wl || !wd || !wa || gs.d[0] != K) break;
                int64_t D = gs.d[1];
                float lam[MTL_MAX_TASKS], alpha[MTL_MAX_TASKS], *rows = malloc((size_t)(K * D) * sizeof *rows),
                                                                 *d = malloc((size_t)D * sizeof *d);
                CHECK_OK(mtl_weighting_weights(w, 0, NULL, L, lam));
                snprintf(key, sizeof key, "%s lambda", p);
                th_compare(key, lam, wl, K, 1e-7, 1e-6);
                for (int k = 0; k < K; k++)
                    for (int64_t i = 0; i < D; i++) rows[k * D + i] = lam[k] * G[k * D + i];
                CHECK_OK(mtl_weighting_combine(w, rows, D, 0, 0, d, alpha));
                snprintf(key, sizeof key, "%s d", p);
                th_compare(key, d, wd, D, 1e-6, 1e-5);
                snprintf(key, sizeof key, "%s alpha", p);
                th_compare(key, alpha, wa, K, 1e-6, 1e-5);
                free(rows);
                free(d);
            }
            mtl_weighting_free(w);
        }
}

static void flags_and_names(void) {
    const char *grads[] = {"mgda", "cagrad", "imtl", "nash", "aligned"};
    const bool rep[] = {true, false, true, false, true};
    for (int i = 0; i < 5; i++) {
        const mtl_weighting_kind *k = mtl_weighting_kind_find(grads[i]);
        CHECK(k != NULL, "%s is not registered", grads[i]);
        if (!k) continue;
        CHECK(k->flags & MTL_WEIGHTING_GRADS, "%s lacks MTL_WEIGHTING_GRADS", grads[i]);
        CHECK(!!(k->flags & MTL_WEIGHTING_REP) == rep[i], "%s: REP flag %u", grads[i], k->flags);
        CHECK(k->combine && k->weights && k->description && strlen(k->description) > 10, "%s: hooks", grads[i]);
    }
}

/* K = 1..8: random, all identical, pairwise opposite, a zero first row, all zero, wildly
   different scales: every strategy and setting gives finite d and alpha */
static void degenerate_inputs_give_finite_results(void) {
    enum { D = 9 };
    struct {
        const char *name;
        mtl_weighting_config cfg;
    } s[9];
    int n = 0;
    for (int m = 0; m < 4; m++) {
        s[n].name = "mgda", s[n].cfg = mtl_weighting_defaults(), s[n].cfg.mgda_norm = (mtl_mgda_norm)m;
        n++;
    }
    s[n].name = "cagrad", s[n++].cfg = mtl_weighting_defaults();
    s[n].name = "imtl", s[n].cfg = mtl_weighting_defaults(), s[n++].cfg.imtl_mode = MTL_IMTL_G;
    s[n].name = "imtl", s[n++].cfg = mtl_weighting_defaults();
    s[n].name = "nash", s[n].cfg = mtl_weighting_defaults(), s[n++].cfg.nash_max_norm = 0;
    s[n].name = "aligned", s[n++].cfg = mtl_weighting_defaults();
    float base[MTL_MAX_TASKS * D], G[MTL_MAX_TASKS * D], d[D], alpha[MTL_MAX_TASKS], L[MTL_MAX_TASKS], lam[MTL_MAX_TASKS];
    th_fill(base, MTL_MAX_TASKS * D, 77, -1, 1);
    for (int k = 0; k < MTL_MAX_TASKS; k++) L[k] = 0.5f + 0.1f * k;
    for (int K = 1; K <= MTL_MAX_TASKS; K++)
        for (int pat = 0; pat < 6; pat++)
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < K; k++)
                    for (int j = 0; j < D; j++) {
                        float v = base[k * D + j];
                        if (pat == 1) v = base[j];
                        if (pat == 2) v = k % 2 ? -base[j] : base[j];
                        if (pat == 3 && k == 0) v = 0;
                        if (pat == 4) v = 0;
                        if (pat == 5) v *= powf(10.0f, (float)(3 * k - 9));
                        G[k * D + j] = v;
                    }
                mtl_weighting *w = NULL;
                CHECK_OK(mtl_weighting_create(s[i].name, K, &s[i].cfg, &w));
                if (!w) continue;
                CHECK_OK(mtl_weighting_weights(w, 0, NULL, L, lam));
                mtl_status st = mtl_weighting_combine(w, G, D, 0, 0, d, alpha);
                CHECK(st == MTL_OK, "%s K=%d pattern %d: %s", s[i].name, K, pat, mtl_last_error());
                for (int j = 0; j < D; j++) CHECK(isfinite(d[j]), "%s K=%d pattern %d: d[%d] = %g", s[i].name, K, pat, j, (double)d[j]);
                if (pat == 4)
                    for (int j = 0; j < D; j++) CHECK(d[j] == 0, "%s K=%d all zero: d[%d] = %g", s[i].name, K, j, (double)d[j]);
                mtl_weighting_free(w);
            }
}

int main(void) {
    RUN(min_norm_matches_face_enumeration);
    RUN(min_norm_small_cases);
    RUN(eigen_matches_numpy);
    RUN(linear_solve);
    RUN(flags_and_names);
    RUN(mgda_matches_reference);
    RUN(cagrad_matches_reference);
    RUN(imtl_g_matches_reference);
    RUN(imtl_loss_scales_over_steps);
    RUN(nash_matches_reference);
    RUN(aligned_matches_reference);
    RUN(degenerate_inputs_give_finite_results);
    return th_summary();
}
