/* The bearing-signal simulator: the CWRU record layout, determinism, and the physics a
 * diagnostician would check: the envelope spectrum of each faulty record peaks at its
 * defect frequency, and the rms grows with the fault size. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* rig facts of ../shared/data/cwru/README.md (SKF 6205, multiples of the shaft rate) */
static const double rpm[4] = {1797, 1772, 1750, 1730};
#define BPFI 5.4152
#define BPFO 3.5848
#define BSF 4.7135

static const char *const names[10] = {"sim_NC",    "sim_IR007", "sim_IR014", "sim_IR021", "sim_OR007",
                                      "sim_OR014", "sim_OR021", "sim_B007",  "sim_B014",  "sim_B021"};
static const int type_label[10] = {0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
static const int size_label[10] = {0, 1, 2, 3, 1, 2, 3, 1, 2, 3};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double rms(const mtl_signal *s) {
    double acc = 0;
    for (int64_t i = 0; i < s->length; i++) acc += (double)s->x[i] * s->x[i];
    return sqrt(acc / (double)s->length);
}

static void layout(void) {
    mtl_recordset r;
    double t0 = now();
    clock_t c0 = clock();
    CHECK_OK(mtl_simulate_cwru(0, 10.0, 1, &r));
    double dt = now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("     10 records of 10 s: %.3f s wall, %.3f s CPU (all threads)\n", dt, cpu);
#ifdef NDEBUG
    /* CPU time: a busy shared machine stretches the wall time, not the work */
    CHECK(cpu < 1.0, "simulating 10 x 10 s took %.2f s of CPU time", cpu);
#endif
    CHECK(r.n_records == 10 && r.n_tasks == 2 && r.n_classes[0] == 4 && r.n_classes[1] == 4, "%d records, %d tasks",
          r.n_records, r.n_tasks);
    CHECK(strcmp(r.task_names[0], "fault_type") == 0 && strcmp(r.task_names[1], "fault_severity") == 0,
          "task names %s %s", r.task_names[0], r.task_names[1]);
    static const char *const tn[4] = {"NC", "IF", "OF", "RF"}, *const sn[4] = {"F0", "0.007", "0.014", "0.021"};
    for (int k = 0; k < 4; k++)
        CHECK(strcmp(r.class_names[0][k], tn[k]) == 0 && strcmp(r.class_names[1][k], sn[k]) == 0, "class %d: %s %s",
              k, r.class_names[0][k], r.class_names[1][k]);
    for (int i = 0; i < r.n_records && i < 10; i++) {
        const mtl_record *q = &r.rec[i];
        CHECK(strcmp(q->name, names[i]) == 0, "record %d is '%s', want '%s'", i, q->name, names[i]);
        CHECK(q->label[0] == type_label[i] && q->label[1] == size_label[i], "%s labels %d %d", q->name, q->label[0],
              q->label[1]);
        CHECK(q->path[0] == 0 && q->var[0] == 0 && q->file_no == -1 && q->load_hp == 0, "%s metadata", q->name);
        CHECK(q->sig.channels == 1 && q->sig.length == 120000 && q->sig.fs == 12000 && q->sig.x, "%s signal", q->name);
        int finite = 1;
        for (int64_t j = 0; j < q->sig.length && q->sig.x; j++) finite &= isfinite(q->sig.x[j]) != 0;
        CHECK(finite, "%s has NaN/Inf", q->name);
    }
    /* the MTAGN preset fits a 10 s record */
    mtl_window_config c = mtl_window_defaults();
    mtl_dataset tr, va, te;
    CHECK_OK(mtl_windows_make(&r, &c, &tr, &va, &te));
    CHECK(tr.n == 100 && va.n == 200 && te.n == 1600, "windows %d / %d / %d", tr.n, va.n, te.n);
    CHECK_OK(mtl_dataset_validate(&te, "simulated test windows"));
    mtl_dataset_free(&tr), mtl_dataset_free(&va), mtl_dataset_free(&te);
    mtl_recordset_free(&r);

    CHECK_OK(mtl_simulate_cwru(3, 0.5, 1, &r));
    CHECK(r.n_records == 10 && r.rec[4].load_hp == 3 && r.rec[4].sig.length == 6000, "load 3, 0.5 s");
    mtl_recordset_free(&r);
    CHECK(mtl_simulate_cwru(4, 1, 1, &r) == MTL_ERR_ARG && strstr(mtl_last_error(), "load"), "%s", mtl_last_error());
    CHECK(r.rec == NULL && r.n_records == 0, "failed call left records");
    CHECK(mtl_simulate_cwru(0, 0, 1, &r) == MTL_ERR_ARG, "0 s accepted");
    CHECK(mtl_simulate_cwru(0, NAN, 1, &r) == MTL_ERR_ARG, "NaN seconds accepted");
    CHECK(mtl_simulate_cwru(0, 1, 1, NULL) == MTL_ERR_ARG, "NULL output accepted");
}

static void determinism(void) {
    mtl_recordset a, b, other, load1;
    int threads = mtl_get_threads();
    mtl_set_threads(1);
    CHECK_OK(mtl_simulate_cwru(1, 6.0, 42, &a));
    mtl_set_threads(2);
    CHECK_OK(mtl_simulate_cwru(1, 6.0, 42, &b));
    mtl_set_threads(threads);
    CHECK_OK(mtl_simulate_cwru(1, 6.0, 43, &other));
    CHECK_OK(mtl_simulate_cwru(2, 6.0, 42, &load1));
    for (int i = 0; i < 10 && a.rec && b.rec && other.rec && load1.rec; i++) {
        size_t bytes = (size_t)a.rec[i].sig.length * sizeof(float);
        CHECK(memcmp(a.rec[i].sig.x, b.rec[i].sig.x, bytes) == 0, "%s: same seed, other bits", a.rec[i].name);
        CHECK(memcmp(a.rec[i].sig.x, other.rec[i].sig.x, bytes) != 0, "%s: seeds 42 and 43 agree", a.rec[i].name);
        CHECK(memcmp(a.rec[i].sig.x, load1.rec[i].sig.x, bytes) != 0, "%s: loads 1 and 2 agree", a.rec[i].name);
    }
    /* records differ from each other, too */
    CHECK(a.rec && memcmp(a.rec[1].sig.x, a.rec[2].sig.x, 1000 * sizeof(float)) != 0, "IR007 == IR014");
    mtl_recordset_free(&a), mtl_recordset_free(&b), mtl_recordset_free(&other), mtl_recordset_free(&load1);
}

/* the frequency in (lo, hi) Hz where the squared envelope of the high-passed signal
 * has its largest spectral line (the usual envelope analysis, Randall and Antoni 2011) */
static double envelope_peak(const mtl_signal *s, double lo, double hi) {
    int n = (int)((s->length - 1) / 4800 * 4800); /* a length with small prime factors: a fast FFT */
    float *e = fftwf_malloc((size_t)n * sizeof(float));
    fftwf_complex *E = fftwf_malloc((size_t)(n / 2 + 1) * sizeof(fftwf_complex));
    if (!e || !E) {
        fftwf_free(e), fftwf_free(E);
        CHECK(0, "out of memory");
        return 0;
    }
    fftwf_plan p = fftwf_plan_dft_r2c_1d(n, e, E, FFTW_ESTIMATE);
    double mean = 0;
    for (int i = 0; i < n; i++) { /* the first difference removes the shaft lines, keeps the ringing */
        double d = (double)s->x[i + 1] - s->x[i];
        e[i] = (float)(d * d);
        mean += d * d;
    }
    mean /= n;
    for (int i = 0; i < n; i++) e[i] -= (float)mean;
    fftwf_execute(p);
    double df = s->fs / n, best = -1, f_best = 0;
    for (int k = (int)ceil(lo / df); k <= (int)(hi / df) && k <= n / 2; k++) {
        double m = hypot(E[k][0], E[k][1]);
        if (m > best) best = m, f_best = k * df;
    }
    fftwf_destroy_plan(p);
    fftwf_free(e), fftwf_free(E);
    return f_best;
}

static void physics(void) {
    for (int load = 0; load < 4; load += 3) {
        mtl_recordset r;
        CHECK_OK(mtl_simulate_cwru(load, 10.0, 7, &r));
        if (!r.rec) return;
        double fr = rpm[load] / 60.0;
        const double defect[4] = {0, BPFI * fr, BPFO * fr, 2 * BSF * fr};
        for (int i = 1; i < 10; i++) {
            double want = defect[type_label[i]], got = envelope_peak(&r.rec[i].sig, 20, 500);
            printf("     load %d %-10s envelope peak %7.2f Hz, defect frequency %7.2f Hz (%+.2f %%)\n", load,
                   r.rec[i].name, got, want, 100 * (got / want - 1));
            CHECK(fabs(got / want - 1) < 0.02, "%s: envelope peak %.2f Hz, want %.2f Hz", r.rec[i].name, got, want);
        }
        double level[10];
        for (int i = 0; i < 10; i++) level[i] = rms(&r.rec[i].sig);
        printf("     load %d rms (g):", load);
        for (int i = 0; i < 10; i++) printf(" %s %.3f", r.rec[i].name + 4, level[i]);
        printf("\n");
        CHECK(level[0] > 0.05 && level[0] < 0.1, "normal rms %.3f g (CWRU: about 0.07)", level[0]);
        for (int i = 1; i < 10; i++) {
            CHECK(level[i] > 0.1 && level[i] < 1.5, "%s rms %.3f g (expected 0.1 .. 1.5)", r.rec[i].name, level[i]);
            CHECK(level[i] > level[0], "%s is quieter than normal", r.rec[i].name);
            if (size_label[i] > 1)
                CHECK(level[i] > level[i - 1], "%s rms %.3f <= %s rms %.3f", r.rec[i].name, level[i],
                      r.rec[i - 1].name, level[i - 1]);
        }
        mtl_recordset_free(&r);
    }
}

int main(void) {
    RUN(layout);
    RUN(determinism);
    RUN(physics);
    return th_summary();
}
