/* bench_ops: forward and forward+backward time of mtl's hot ops (conv1d at the
 * MTAGN shapes, linear at the MMoE shapes) through the public API, one training-like
 * step per iteration: reset the tape, wrap the input, run the op, and for
 * forward+backward seed the backward with a fixed dy (mtl_backward_from).
 *
 *   bench_ops [--threads N] [--repeat R] [--case TEXT] [--json]
 *
 * Each case is warmed up, then timed R times forward and R times forward+backward
 * (one clock reading per iteration); the MEDIAN of each is reported in ms. Without
 * --repeat, R is chosen per case so that its timed iterations take about 0.3 s.
 * The parameter gradients are zeroed before each forward+backward iteration, outside
 * the timed region (as an optimizer's zero_grad would). bench/bench_ops.py runs this
 * program with --json and times PyTorch on the same cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtl/nn.h"
#include "mtl/ops.h"

#define TARGET_SECONDS 0.3  /* timed iterations of one case (forward + forward+backward) */
#define WARMUP_SECONDS 0.05 /* at least this long and at least WARMUP_MIN pairs */
#define WARMUP_MIN 3
#define REPEAT_MIN 5
#define REPEAT_MAX 20000

typedef enum { CASE_CONV, CASE_LINEAR } case_kind;

typedef struct {
    case_kind kind;
    int n;             /* batch */
    int cin, cout;     /* channels (conv) or features (linear) */
    int k, pad, len;   /* conv only: kernel, zero padding, input length (stride 1) */
    int x_grad;        /* does the input need a gradient (0: it is the data) */
} bench_case;

static const bench_case CASES[] = {
    /* MTAGN convolutions, batch 50 */
    {CASE_CONV, 50, 1, 16, 7, 3, 2048, 0},
    {CASE_CONV, 50, 16, 16, 7, 3, 2048, 1},
    {CASE_CONV, 50, 16, 32, 5, 2, 512, 1},
    {CASE_CONV, 50, 32, 32, 5, 2, 512, 1},
    {CASE_CONV, 50, 32, 64, 3, 1, 128, 1},
    {CASE_CONV, 50, 64, 64, 3, 1, 128, 1},
    /* the 1x1 convolutions */
    {CASE_CONV, 50, 16, 32, 1, 0, 2048, 1},
    {CASE_CONV, 50, 32, 64, 1, 0, 512, 1},
    {CASE_CONV, 50, 64, 128, 1, 0, 128, 1},
    /* MMoE on the tabular spec, batch 1024: 8 experts x 64 fused, gates, towers, a big one */
    {CASE_LINEAR, 1024, 255, 512, 0, 0, 0, 0},
    {CASE_LINEAR, 1024, 255, 8, 0, 0, 0, 0},
    {CASE_LINEAR, 1024, 64, 32, 0, 0, 0, 1},
    {CASE_LINEAR, 1024, 32, 1, 0, 0, 0, 1},
    {CASE_LINEAR, 1024, 512, 512, 0, 0, 0, 1},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

/* one case, ready to run: its parameters, input, output gradient */
typedef struct {
    const bench_case *c;
    mtl_params *P;
    mtl_tensor *w, *b;
    mtl_shape xshape;
    float *x, *dy;
} bench_state;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void case_shape(const bench_case *c, char *buf, size_t cap) {
    if (c->kind == CASE_CONV)
        snprintf(buf, cap, "%d->%d k%d p%d L%d N%d", c->cin, c->cout, c->k, c->pad, c->len, c->n);
    else
        snprintf(buf, cap, "%d->%d N%d", c->cin, c->cout, c->n);
}

static int out_len(const bench_case *c) { return c->kind == CASE_CONV ? c->len + 2 * c->pad - c->k + 1 : 1; }

static void die(const char *what) {
    fprintf(stderr, "bench_ops: %s: %s\n", what, mtl_last_error());
    exit(1);
}

static float *random_buffer(int64_t n, uint64_t stream) {
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) {
        fprintf(stderr, "bench_ops: out of memory\n");
        exit(1);
    }
    mtl_rng r;
    mtl_rng_init(&r, 1234, stream);
    mtl_rng_normal(&r, v, n, 0.0f, 1.0f);
    return v;
}

/* parameters initialised like PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
static void state_init(bench_state *s, const bench_case *c, int index) {
    memset(s, 0, sizeof *s);
    s->c = c;
    int fan_in = c->kind == CASE_CONV ? c->cin * c->k : c->cin;
    float bound = 1.0f / sqrtf((float)fan_in);
    mtl_init init = {MTL_INIT_UNIFORM, -bound, bound};
    mtl_shape wshape = c->kind == CASE_CONV ? MTL_SHAPE(c->cout, c->cin, c->k) : MTL_SHAPE(c->cout, c->cin);
    if (mtl_params_create(&s->P)) die("params_create");
    s->w = mtl_param_add(s->P, "weight", MTL_OWNER_SHARED, wshape, init);
    s->b = mtl_param_add(s->P, "bias", MTL_OWNER_SHARED, MTL_SHAPE(c->cout), init);
    if (!s->w || !s->b) die("param_add");
    if (mtl_params_finalize(s->P, 42)) die("params_finalize");

    int64_t ysize;
    if (c->kind == CASE_CONV) {
        s->xshape = MTL_SHAPE(c->n, c->cin, c->len);
        ysize = (int64_t)c->n * c->cout * out_len(c);
    } else {
        s->xshape = MTL_SHAPE(c->n, c->cin);
        ysize = (int64_t)c->n * c->cout;
    }
    s->x = random_buffer(mtl_shape_size(s->xshape), 2 * (uint64_t)index);
    s->dy = random_buffer(ysize, 2 * (uint64_t)index + 1);
}

static void state_free(bench_state *s) {
    mtl_params_free(s->P);
    free(s->x);
    free(s->dy);
}

/* One training-like step; returns its wall time in seconds. The parameter gradients
 * are zeroed before the clock starts. */
static double step(mtl_tape *t, bench_state *s, int backward) {
    if (backward) mtl_params_zero_grad(s->P);
    double t0 = now_seconds();
    mtl_tape_reset(t);
    mtl_tensor *x = mtl_tensor_wrap(t, s->xshape, s->x);
    if (x && s->c->x_grad) mtl_tensor_requires_grad(x);
    mtl_tensor *y = s->c->kind == CASE_CONV ? mtl_conv1d(t, x, s->w, s->b, 1, s->c->pad)
                                            : mtl_linear(t, x, s->w, s->b);
    if (!y) {
        fprintf(stderr, "bench_ops: forward failed: %s\n", mtl_tape_error(t));
        exit(1);
    }
    if (backward && mtl_backward_from(t, y, s->dy)) die("backward_from");
    return now_seconds() - t0;
}

typedef struct {
    double fwd_ms, fwdbwd_ms;
    int repeat;
} bench_result;

static bench_result run_case(mtl_tape *t, bench_state *s, int repeat) {
    /* warm up (the tape's arenas grow to this step's size) and estimate the cost of
     * one forward plus one forward+backward */
    double start = now_seconds(), pair = INFINITY;
    for (int i = 0; i < WARMUP_MIN || now_seconds() - start < WARMUP_SECONDS; i++) {
        double p = step(t, s, 0) + step(t, s, 1);
        if (p < pair) pair = p;
    }
    if (repeat <= 0) {
        double r = TARGET_SECONDS / pair;
        repeat = r < REPEAT_MIN ? REPEAT_MIN : r > REPEAT_MAX ? REPEAT_MAX : (int)r;
    }

    double *times = malloc((size_t)repeat * sizeof *times);
    if (!times) {
        fprintf(stderr, "bench_ops: out of memory\n");
        exit(1);
    }
    bench_result res = {0.0, 0.0, repeat};
    for (int i = 0; i < repeat; i++) times[i] = step(t, s, 0);
    res.fwd_ms = 1e3 * median(times, repeat);
    for (int i = 0; i < repeat; i++) times[i] = step(t, s, 1);
    res.fwdbwd_ms = 1e3 * median(times, repeat);
    free(times);
    return res;
}

static void usage(FILE *f) {
    fprintf(f, "usage: bench_ops [--threads N] [--repeat R] [--case TEXT] [--json]\n"
               "  --threads N  mtl threads (default: one per core)\n"
               "  --repeat R   timed iterations per case (default: about %.1f s per case)\n"
               "  --case TEXT  only the cases whose \"op shape\" contains TEXT (e.g. \"k7\", \"linear\")\n"
               "  --json       print a JSON array instead of the table\n",
            TARGET_SECONDS);
}

static int parse_int(const char *s, const char *opt) {
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *end || v < 0 || v > 1000000) {
        fprintf(stderr, "bench_ops: %s needs a non-negative integer\n", opt);
        usage(stderr);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv) {
    int threads = 0, repeat = 0, json = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads")) threads = parse_int(i + 1 < argc ? argv[++i] : NULL, "--threads");
        else if (!strcmp(argv[i], "--repeat")) repeat = parse_int(i + 1 < argc ? argv[++i] : NULL, "--repeat");
        else if (!strcmp(argv[i], "--case") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "bench_ops: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (mtl_set_threads(threads)) die("set_threads");
    threads = mtl_get_threads();

    mtl_tape *t;
    if (mtl_tape_create(&t)) die("tape_create");
    if (json) printf("[\n");
    else printf("# %s\n%-8s %-26s %7s %10s %14s %7s\n", mtl_build_info(), "op", "shape", "threads", "fwd ms",
                "fwd+bwd ms", "repeat");

    int printed = 0;
    for (int i = 0; i < N_CASES; i++) {
        const bench_case *c = &CASES[i];
        const char *op = c->kind == CASE_CONV ? "conv1d" : "linear";
        char shape[64], label[96];
        case_shape(c, shape, sizeof shape);
        snprintf(label, sizeof label, "%s %s", op, shape);
        if (only && !strstr(label, only)) continue;
        bench_state s;
        state_init(&s, c, i);
        bench_result r = run_case(t, &s, repeat);
        state_free(&s);

        if (json) {
            /* the first five fields are the result; the rest describe the case so that
             * bench_ops.py can rebuild the same work in PyTorch */
            printf("%s  {\"op\": \"%s\", \"shape\": \"%s\", \"threads\": %d, \"fwd_ms\": %.6f, \"fwdbwd_ms\": %.6f, "
                   "\"repeat\": %d, \"n\": %d, \"in\": %d, \"out\": %d, \"k\": %d, \"pad\": %d, \"len\": %d, "
                   "\"x_grad\": %s}",
                   printed ? ",\n" : "", op, shape, threads, r.fwd_ms, r.fwdbwd_ms, r.repeat, c->n, c->cin, c->cout,
                   c->k, c->pad, c->len, c->x_grad ? "true" : "false");
        } else {
            printf("%-8s %-26s %7d %10.3f %14.3f %7d\n", op, shape, threads, r.fwd_ms, r.fwdbwd_ms, r.repeat);
        }
        printed++;
        fflush(stdout);
    }
    if (json) printf("%s]\n", printed ? "\n" : "");
    mtl_tape_free(t);
    return 0;
}
