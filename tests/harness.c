#include "harness.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

int th_checks_failed = 0;
static int tests_passed = 0, tests_failed = 0;

int th_close(double a, double b, double atol, double rtol) {
    if (isnan(a) || isnan(b)) return 0;
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= atol + rtol * m;
}

void th_run(const char *name, void (*fn)(void)) {
    th_checks_failed = 0;
    mtl_clear_error();
    fn();
    if (th_checks_failed == 0) {
        tests_passed++;
        printf("ok   %s\n", name);
    } else {
        tests_failed++;
        printf("FAIL %s (%d failed checks)\n", name, th_checks_failed);
    }
    fflush(stdout);
    th_fixture_release();
}

int th_summary(void) {
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}

int th_compare(const char *what, const float *got, const float *want, int64_t n, double atol, double rtol) {
    double max_abs = 0, max_rel = 0;
    int64_t bad = -1;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        double rel = d / (fabs(want[i]) > 1e-12 ? fabs(want[i]) : 1e-12);
        if (!(d <= atol + rtol * fabs(want[i])) && bad < 0) bad = i;
        if (isnan(got[i]) && bad < 0) bad = i;
        if (d > max_abs) max_abs = d;
        if (rel > max_rel && fabs(want[i]) > atol) max_rel = rel;
    }
    printf("     %-40s n=%-7lld max|diff| %.3g  max rel %.3g\n", what, (long long)n, max_abs, max_rel);
    if (bad >= 0) {
        th_checks_failed++;
        fprintf(stderr, "  FAIL %s: element %lld: got %.9g, want %.9g (atol %g, rtol %g)\n", what, (long long)bad,
                got[bad], want[bad], atol, rtol);
        return 0;
    }
    return 1;
}

void th_fill(float *x, int64_t n, uint64_t seed, float lo, float hi) {
    mtl_rng r;
    mtl_rng_init(&r, seed, 99);
    mtl_rng_uniform(&r, x, n, lo, hi);
}

/* ---- gradient check ------------------------------------------------------------ */

static mtl_tensor *gc_forward(th_gradcheck *g, mtl_tape *t, mtl_tensor **in, bool record) {
    mtl_tape_reset(t);
    mtl_tape_set_seed(t, 1234); /* the same dropout mask at every evaluation */
    mtl_tape_set_training(t, g->training);
    mtl_tape_set_recording(t, record);
    for (int i = 0; i < g->n_in; i++) {
        in[i] = mtl_tensor_wrap(t, g->shape[i], g->data[i]);
        if (record && g->check[i]) mtl_tensor_requires_grad(in[i]);
    }
    return g->forward(t, in, g->ctx);
}

static double gc_loss(const mtl_tensor *y, const float *dy) {
    double L = 0;
    for (int64_t i = 0; i < y->size; i++) L += (double)y->data[i] * dy[i];
    return L;
}

int th_gradcheck_run(th_gradcheck *g) {
    float eps = g->eps > 0 ? g->eps : 1e-2f;
    double atol = g->atol > 0 ? g->atol : 1e-3, rtol = g->rtol > 0 ? g->rtol : 1e-2;
    int max_elems = g->max_elems > 0 ? g->max_elems : 64;
    mtl_tape *t = NULL;
    CHECK_OK(mtl_tape_create(&t));
    if (!t) return 0;
    mtl_tensor *in[6];
    mtl_tensor *y = gc_forward(g, t, in, true);
    int ok = 1;
    if (!y) {
        CHECK(0, "%s: forward failed: %s", g->name, mtl_last_error());
        mtl_tape_free(t);
        return 0;
    }
    float *dy = malloc((size_t)y->size * sizeof *dy);
    th_fill(dy, y->size, 42, -1.0f, 1.0f);
    mtl_status s = mtl_backward_from(t, y, dy);
    CHECK(s == MTL_OK, "%s: backward failed: %s", g->name, mtl_last_error());
    float *analytic[6] = {0};
    for (int i = 0; i < g->n_in; i++) {
        if (!g->check[i]) continue;
        int64_t n = mtl_shape_size(g->shape[i]);
        analytic[i] = calloc((size_t)n, sizeof(float));
        if (in[i]->grad) memcpy(analytic[i], in[i]->grad, (size_t)n * sizeof(float));
    }
    for (int i = 0; i < g->n_in && s == MTL_OK; i++) {
        if (!g->check[i]) continue;
        int64_t n = mtl_shape_size(g->shape[i]);
        int64_t stride = n > max_elems ? (n + max_elems - 1) / max_elems : 1;
        double worst = 0;
        int64_t worst_j = -1;
        double worst_a = 0, worst_n = 0;
        for (int64_t j = 0; j < n; j += stride) {
            float keep = g->data[i][j];
            g->data[i][j] = keep + eps;
            mtl_tensor *yp = gc_forward(g, t, in, false);
            double Lp = yp ? gc_loss(yp, dy) : NAN;
            g->data[i][j] = keep - eps;
            mtl_tensor *ym = gc_forward(g, t, in, false);
            double Lm = ym ? gc_loss(ym, dy) : NAN;
            g->data[i][j] = keep;
            double num = (Lp - Lm) / (2.0 * (double)eps), ana = analytic[i][j];
            double err = fabs(num - ana) - (atol + rtol * fmax(fabs(num), fabs(ana)));
            if (worst_j < 0 || err > worst) worst = err, worst_j = j, worst_a = ana, worst_n = num;
        }
        int good = worst <= 0;
        printf("     gradcheck %-28s input %d: %lld elems, worst analytic %.6g vs numeric %.6g  %s\n", g->name, i,
               (long long)((n + stride - 1) / stride), worst_a, worst_n, good ? "ok" : "MISMATCH");
        if (!good) {
            th_checks_failed++;
            fprintf(stderr, "  FAIL gradcheck %s input %d element %lld: analytic %.9g, numeric %.9g\n", g->name, i,
                    (long long)worst_j, worst_a, worst_n);
            ok = 0;
        }
    }
    for (int i = 0; i < g->n_in; i++) free(analytic[i]);
    free(dy);
    mtl_tape_free(t);
    return ok && s == MTL_OK;
}

/* ---- fixtures ------------------------------------------------------------------ */

#define MAX_HELD 256
static void *held[MAX_HELD];
static int n_held;
static mtl_st_file *held_files[16];
static int n_files;

static void hold(void *p) {
    if (n_held < MAX_HELD) held[n_held++] = p;
}

void th_fixture_release(void) {
    for (int i = 0; i < n_held; i++) free(held[i]);
    n_held = 0;
    for (int i = 0; i < n_files; i++) mtl_st_free(held_files[i]);
    n_files = 0;
}

mtl_st_file *th_fixture(const char *file) {
    const char *dir = getenv("MTL_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/fixtures", file);
    mtl_st_file *f = NULL;
    mtl_status s = mtl_st_load(path, &f);
    CHECK(s == MTL_OK, "fixture %s: %s", path, mtl_last_error());
    if (f && n_files < 16) held_files[n_files++] = f;
    return f;
}

float *th_fixture_f32(mtl_st_file *f, const char *name, mtl_shape *shape) {
    if (!f) return NULL;
    const mtl_st_tensor *x = mtl_st_find(f, name);
    CHECK(x != NULL, "fixture has no tensor '%s'", name);
    if (!x) return NULL;
    float *out = malloc((size_t)(x->count ? x->count : 1) * sizeof *out);
    CHECK_OK(mtl_st_read_f32(f, name, out, x->count));
    hold(out);
    if (shape) {
        shape->ndim = x->ndim > MTL_MAX_DIMS ? MTL_MAX_DIMS : x->ndim;
        for (int i = 0; i < shape->ndim; i++) shape->d[i] = (int)x->shape[i];
    }
    return out;
}

float *th_fixture_f32_of(mtl_st_file *f, const char *prefix, const char *leaf, mtl_shape *shape) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", prefix, leaf);
    return th_fixture_f32(f, key, shape);
}

int32_t *th_fixture_i32(mtl_st_file *f, const char *name, int64_t *count) {
    if (!f) return NULL;
    const mtl_st_tensor *x = mtl_st_find(f, name);
    CHECK(x != NULL, "fixture has no tensor '%s'", name);
    if (!x) return NULL;
    int32_t *out = malloc((size_t)(x->count ? x->count : 1) * sizeof *out);
    hold(out);
    for (int64_t i = 0; i < x->count; i++) {
        if (x->dtype == MTL_DTYPE_I64) {
            int64_t v;
            memcpy(&v, (const char *)x->data + 8 * i, 8);
            out[i] = (int32_t)v;
        } else if (x->dtype == MTL_DTYPE_I32) {
            memcpy(&out[i], (const char *)x->data + 4 * i, 4);
        } else {
            CHECK(0, "fixture tensor '%s' is not an integer tensor", name);
            return NULL;
        }
    }
    if (count) *count = x->count;
    return out;
}

/* ---- parity cases --------------------------------------------------------------- */

void th_parity_case(mtl_st_file *f, const char *p, int n_in, const char *const *names, th_forward_fn op, void *ctx,
                    double atol, double rtol) {
    mtl_tape *t;
    CHECK_OK(mtl_tape_create(&t));
    mtl_tensor *in[6];
    char key[128];
    for (int i = 0; i < n_in; i++) {
        mtl_shape s;
        snprintf(key, sizeof key, "%s.%s", p, names[i]);
        float *d = th_fixture_f32(f, key, &s);
        if (!d) {
            mtl_tape_free(t);
            return;
        }
        in[i] = mtl_tensor_wrap(t, s, d);
        mtl_tensor_requires_grad(in[i]);
    }
    mtl_tensor *y = op(t, in, ctx);
    CHECK(y != NULL, "%s: %s", p, mtl_last_error());
    float *want = th_fixture_f32_of(f, p, "y", NULL);
    float *dy = th_fixture_f32_of(f, p, "dy", NULL);
    if (y && want && dy) {
        snprintf(key, sizeof key, "%s output", p);
        th_compare(key, y->data, want, y->size, atol, rtol);
        CHECK_OK(mtl_backward_from(t, y, dy));
        for (int i = 0; i < n_in; i++) {
            snprintf(key, sizeof key, "%s.d%s", p, names[i]);
            float *dw = th_fixture_f32(f, key, NULL);
            if (dw && in[i]->grad) th_compare(key, in[i]->grad, dw, in[i]->size, atol, rtol);
            else CHECK(0, "%s: no gradient", key);
        }
    }
    mtl_tape_free(t);
}


/* ---- failure checks ------------------------------------------------------------- */

void th_expect_fail(mtl_tape *t, mtl_tensor *y, mtl_status want, const char *op, const char *what, const char *needle) {
    CHECK(y == NULL, "%s: bad input accepted", what);
    CHECK(mtl_tape_status(t) == want, "%s: status %s, want %s (%s)", what, mtl_status_name(mtl_tape_status(t)),
          mtl_status_name(want), mtl_tape_error(t));
    CHECK(strstr(mtl_tape_error(t), op) != NULL, "%s: message '%s' does not name %s", what, mtl_tape_error(t), op);
    if (needle) CHECK(strstr(mtl_tape_error(t), needle) != NULL, "%s: message '%s' lacks '%s'", what, mtl_tape_error(t), needle);
    mtl_tape_reset(t);
}

void th_isolated(const char *what, void (*fn)(void)) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        th_checks_failed = 0;
        fn();
        fflush(stdout);
        fflush(stderr);
        _exit(th_checks_failed ? 1 : 0);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "%s: fork failed", what);
    if (pid <= 0) return;
    CHECK(WIFEXITED(st), "%s: crashed with signal %d", what, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    CHECK(!WIFEXITED(st) || WEXITSTATUS(st) == 0, "%s: failed or aborted in the library (exit status %d)", what,
          WEXITSTATUS(st));
}

/* ---- files ---------------------------------------------------------------------- */
static char th_tmp[256];

const char *th_tmpdir_create(const char *tag) {
    snprintf(th_tmp, sizeof th_tmp, "/tmp/%s_XXXXXX", tag);
    if (!mkdtemp(th_tmp)) {
        perror("mkdtemp");
        th_tmp[0] = '\0';
        return NULL;
    }
    return th_tmp;
}

const char *th_tmp_path(const char *name) {
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", th_tmp, name);
    return buf[k];
}

void th_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[2048];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            th_remove_tree(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

int th_tmpdir_remove(void) {
    if (!th_tmp[0]) return 1;
    th_remove_tree(th_tmp);
    return !th_exists(th_tmp);
}

int th_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

void th_write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot create %s", path);
    if (!f) return;
    CHECK(fwrite(bytes, 1, n, f) == n, "short write to %s", path);
    CHECK(fclose(f) == 0, "closing %s", path);
}

char *th_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    if (b) b[len] = '\0';
    if (b && n) *n = (size_t)len;
    fclose(f);
    return b;
}

/* ---- batchnorm cases -------------------------------------------------------------- */
mtl_tensor *th_bn_forward(mtl_tape *t, mtl_tensor **in, void *ctx) {
    const th_bn_ctx *c = ctx;
    if (c->eval) mtl_tape_set_training(t, false);
    mtl_tensor *rm, *rv;
    if (c->rm) {
        rm = mtl_tensor_wrap(t, MTL_SHAPE(c->C), c->rm);
        rv = mtl_tensor_wrap(t, MTL_SHAPE(c->C), c->rv);
    } else {
        rm = in[c->affine ? 3 : 1];
        rv = in[c->affine ? 4 : 2];
    }
    mtl_tensor *g = c->affine ? in[1] : NULL, *b = c->affine ? in[2] : NULL;
    return c->relu ? mtl_batchnorm_relu(t, in[0], g, b, rm, rv, c->momentum, c->eps)
                   : mtl_batchnorm(t, in[0], g, b, rm, rv, c->momentum, c->eps);
}

void th_check_running_stats(mtl_st_file *f, const char *p, const float *rm, const float *rv, int C) {
    char key[128];
    float *rm_want = th_fixture_f32_of(f, p, "running_mean_after", NULL);
    float *rv_want = th_fixture_f32_of(f, p, "running_var_after", NULL);
    if (!rm_want || !rv_want) return;
    snprintf(key, sizeof key, "%s.running_mean_after", p);
    th_compare(key, rm, rm_want, C, 1e-6, 1e-5);
    snprintf(key, sizeof key, "%s.running_var_after", p);
    th_compare(key, rv, rv_want, C, 1e-6, 1e-5);
}

void th_bn_parity(mtl_st_file *f, const char *p, bool affine, bool eval, bool relu) {
    mtl_shape s;
    float *rm = th_fixture_f32_of(f, p, "running_mean", &s);
    float *rv = th_fixture_f32_of(f, p, "running_var", NULL);
    float *mom = th_fixture_f32_of(f, p, "momentum", NULL);
    float *eps = th_fixture_f32_of(f, p, "eps", NULL);
    if (!rm || !rv || !mom || !eps) return;
    th_bn_ctx ctx = {.affine = affine, .eval = eval, .relu = relu, .momentum = mom[0], .eps = eps[0], .rm = rm,
                     .rv = rv, .C = s.d[0]};
    static const char *aff[] = {"x", "gamma", "beta"}, *plain[] = {"x"};
    th_parity_case(f, p, affine ? 3 : 1, affine ? aff : plain, th_bn_forward, &ctx, 1e-5, 1e-4);
    /* rm, rv were updated in place by the one forward th_parity_case ran */
    th_check_running_stats(f, p, rm, rv, s.d[0]);
}
