/* Windows, splits and transforms: records whose samples are their own index (x[i] = i)
 * so that every window's offset can be read back from its values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PI_D 3.14159265358979323846
#define MTAGN_NEED (199 * 512 + 2048) /* samples a record needs for the MTAGN preset */

/* n records of len samples, x[i] = i; labels (r % 4, r % 3); fs 12 kHz */
static void make_set(mtl_recordset *r, int n, int64_t len) {
    memset(r, 0, sizeof *r);
    r->rec = calloc((size_t)n, sizeof *r->rec);
    CHECK(r->rec != NULL, "calloc");
    if (!r->rec) return;
    r->n_records = n;
    r->n_tasks = 2;
    r->n_classes[0] = 4, r->n_classes[1] = 3;
    strcpy(r->task_names[0], "kind");
    strcpy(r->task_names[1], "size");
    strcpy(r->class_names[0][2], "two");
    for (int i = 0; i < n; i++) {
        mtl_record *q = &r->rec[i];
        snprintf(q->name, sizeof q->name, "rec%d", i);
        q->file_no = -1, q->load_hp = -1;
        q->label[0] = i % 4, q->label[1] = i % 3;
        q->sig.channels = 1, q->sig.length = len, q->sig.fs = 12000;
        q->sig.x = malloc((size_t)len * sizeof(float));
        CHECK(q->sig.x != NULL, "malloc");
        for (int64_t j = 0; q->sig.x && j < len; j++) q->sig.x[j] = (float)j;
    }
}

/* every window holds samples offset .. offset+L-1 of its record, with its labels */
static void check_windows(const mtl_recordset *r, const mtl_dataset *d, const char *what) {
    CHECK(d->record && d->offset, "%s: record/offset missing", what);
    if (!d->record || !d->offset) return;
    CHECK(d->n_tasks == r->n_tasks && d->n_classes[0] == r->n_classes[0] && d->n_classes[1] == r->n_classes[1],
          "%s: tasks not copied", what);
    CHECK(strcmp(d->task_names[1], "size") == 0 && strcmp(d->class_names[0][2], "two") == 0, "%s: names", what);
    CHECK(d->channels == 1, "%s: channels %d", what, d->channels);
    int bad = 0;
    for (int i = 0; i < d->n; i++) {
        int rec = d->record[i];
        if (rec < 0 || rec >= r->n_records) {
            bad++;
            continue;
        }
        const float *x = d->x + (size_t)i * d->length;
        if (x[0] != (float)d->offset[i] || x[d->length - 1] != (float)(d->offset[i] + d->length - 1)) bad++;
        if (d->y[0][i] != r->rec[rec].label[0] || d->y[1][i] != r->rec[rec].label[1]) bad++;
        if (i > 0 && rec < d->record[i - 1]) bad++; /* record by record */
    }
    CHECK(bad == 0, "%s: %d windows with wrong values, labels or order", what, bad);
}

/* windows of record rec of d as MTAGN indices (offset / 512), in output order; returns count */
static int indices_of(const mtl_dataset *d, int rec, int *out, int cap) {
    int n = 0;
    for (int i = 0; i < d->n; i++)
        if (d->record[i] == rec && n < cap) out[n++] = (int)(d->offset[i] / 512);
    return n;
}

static int in_list(int v, const int *list, int n) {
    for (int i = 0; i < n; i++)
        if (list[i] == v) return 1;
    return 0;
}

/* ../shared/specs/mtagn.md, "Window protocol" */
static const int spec_train[10] = {0, 23, 24, 35, 51, 76, 122, 132, 148, 178};
static const int spec_val[20] = {8,   18,  42,  52,  58,  72,  74,  88,  97,  104,
                                 108, 126, 133, 153, 162, 172, 181, 183, 196, 199};
static const int spec_unused[10] = {21, 44, 57, 62, 85, 94, 109, 116, 128, 157};

static void mtagn_preset(void) {
    mtl_recordset r;
    make_set(&r, 10, MTAGN_NEED + 300);
    mtl_window_config c = mtl_window_defaults();
    CHECK(c.length == 2048 && c.stride == 512 && c.split == MTL_SPLIT_MTAGN && c.train_per_record == 10 &&
              c.val_per_record == 20 && c.test_per_record == 160 && c.resample_fs == 0,
          "defaults");
    CHECK(c.train_frac == 0.5 && c.val_frac == 0.1, "time-split defaults");
    mtl_dataset tr, va, te;
    CHECK_OK(mtl_windows_make(&r, &c, &tr, &va, &te));
    CHECK(tr.n == 100 && va.n == 200 && te.n == 1600, "counts %d / %d / %d", tr.n, va.n, te.n);
    CHECK(tr.length == 2048 && tr.fs == 12000, "length %d fs %g", tr.length, tr.fs);
    check_windows(&r, &tr, "train");
    check_windows(&r, &va, "val");
    check_windows(&r, &te, "test");
    for (int rec = 0; rec < 10 && tr.record; rec++) {
        int a[200], b[200], t[200];
        int na = indices_of(&tr, rec, a, 200), nb = indices_of(&va, rec, b, 200), nt = indices_of(&te, rec, t, 200);
        CHECK(na == 10 && nb == 20 && nt == 160, "record %d: %d / %d / %d", rec, na, nb, nt);
        for (int i = 0; i < na; i++) CHECK(in_list(a[i], spec_train, 10), "record %d: train window %d", rec, a[i]);
        for (int i = 0; i < nb; i++) CHECK(in_list(b[i], spec_val, 20), "record %d: val window %d", rec, b[i]);
        for (int i = 0; i < nt; i++)
            CHECK(!in_list(t[i], spec_train, 10) && !in_list(t[i], spec_val, 20) && !in_list(t[i], spec_unused, 10),
                  "record %d: test window %d is in train, val or the unused ten", rec, t[i]);
        /* distinct test windows: 160 distinct ones outside 40 spec windows = exactly the spec's test set */
        int seen[200] = {0}, dup = 0;
        for (int i = 0; i < nt; i++) dup += seen[t[i]]++ > 0;
        CHECK(dup == 0, "record %d: %d duplicate test windows", rec, dup);
        /* permutation order (np.random.seed(2021); np.random.permutation(200)[:10]) */
        static const int perm_head[10] = {122, 24, 23, 148, 76, 35, 0, 51, 178, 132};
        for (int i = 0; i < na && i < 10; i++) CHECK(a[i] == perm_head[i], "record %d: train[%d] = %d", rec, i, a[i]);
    }
    const int *perm = mtl_mtagn_permutation();
    int seen[200] = {0}, ok = 1;
    for (int i = 0; i < 200; i++) ok &= perm[i] >= 0 && perm[i] < 200 && seen[perm[i]]++ == 0;
    CHECK(ok, "the MTAGN permutation is not a permutation of 0..199");
    CHECK(perm[199] == 116 && perm[10] == 196, "perm tail %d, perm[10] %d", perm[199], perm[10]);
    mtl_dataset_free(&tr), mtl_dataset_free(&va), mtl_dataset_free(&te);
    /* any output may be NULL */
    CHECK_OK(mtl_windows_make(&r, &c, NULL, NULL, &te));
    CHECK(te.n == 1600, "test only: %d", te.n);
    mtl_dataset_free(&te);
    mtl_recordset_free(&r);
}

/* train windows per record 5 and 50 (the sample-size study): parts stay disjoint */
static void mtagn_sweep(void) {
    mtl_recordset r;
    make_set(&r, 10, MTAGN_NEED);
    static const int train[2] = {5, 50}, want_test[2] = {160, 130}; /* 50 + 20 + 160 > 200: clipped */
    for (int k = 0; k < 2; k++) {
        mtl_window_config c = mtl_window_defaults();
        c.train_per_record = train[k];
        mtl_dataset tr, va, te;
        CHECK_OK(mtl_windows_make(&r, &c, &tr, &va, &te));
        CHECK(tr.n == 10 * train[k] && va.n == 200 && te.n == 10 * want_test[k], "train %d: counts %d / %d / %d",
              train[k], tr.n, va.n, te.n);
        check_windows(&r, &tr, "sweep train");
        for (int rec = 0; rec < 10 && tr.record && va.record && te.record; rec++) {
            int a[200], b[200], t[200], part[200] = {0}, clash = 0;
            int na = indices_of(&tr, rec, a, 200), nb = indices_of(&va, rec, b, 200), nt = indices_of(&te, rec, t, 200);
            for (int i = 0; i < na; i++) clash += part[a[i]]++ > 0;
            for (int i = 0; i < nb; i++) clash += part[b[i]]++ > 0;
            for (int i = 0; i < nt; i++) clash += part[t[i]]++ > 0;
            CHECK(clash == 0, "train %d, record %d: %d windows in two parts", train[k], rec, clash);
        }
        mtl_dataset_free(&tr), mtl_dataset_free(&va), mtl_dataset_free(&te);
    }
    mtl_recordset_free(&r);
}

static void too_short(void) {
    mtl_recordset r;
    make_set(&r, 3, MTAGN_NEED);
    snprintf(r.rec[1].name, sizeof r.rec[1].name, "short_rec");
    r.rec[1].sig.length = MTAGN_NEED - 1;
    mtl_window_config c = mtl_window_defaults();
    mtl_dataset tr, va, te;
    mtl_status s = mtl_windows_make(&r, &c, &tr, &va, &te);
    CHECK(s == MTL_ERR_RANGE, "status %d", s);
    CHECK(strstr(mtl_last_error(), "short_rec") && strstr(mtl_last_error(), "103936") &&
              strstr(mtl_last_error(), "103935"),
          "message: %s", mtl_last_error());
    CHECK(tr.x == NULL && te.x == NULL, "outputs left allocated");
    /* time split: a validation segment shorter than one window */
    c.split = MTL_SPLIT_TIME;
    c.val_frac = 0.01;
    s = mtl_windows_make(&r, &c, &tr, &va, &te);
    CHECK(s == MTL_ERR_RANGE && strstr(mtl_last_error(), "rec0") && strstr(mtl_last_error(), "val"), "time: %s",
          mtl_last_error());
    /* bad arguments */
    c = mtl_window_defaults();
    c.stride = 0;
    CHECK(mtl_windows_make(&r, &c, &tr, &va, &te) == MTL_ERR_ARG && strstr(mtl_last_error(), "stride"), "%s",
          mtl_last_error());
    c = mtl_window_defaults();
    c.train_per_record = -1;
    CHECK(mtl_windows_make(&r, &c, &tr, &va, &te) == MTL_ERR_ARG, "negative count accepted");
    CHECK(mtl_windows_make(NULL, &c, &tr, &va, &te) == MTL_ERR_ARG, "NULL recordset accepted");
    /* an empty requested part is an error, not an empty dataset */
    c = mtl_window_defaults();
    c.val_per_record = 0;
    r.rec[1].sig.length = MTAGN_NEED;
    s = mtl_windows_make(&r, &c, &tr, &va, &te);
    CHECK(s == MTL_ERR_RANGE && strstr(mtl_last_error(), "val"), "empty val: %s", mtl_last_error());
    CHECK_OK(mtl_windows_make(&r, &c, &tr, NULL, &te));
    CHECK(tr.n == 30 && te.n == 480, "no val: %d / %d", tr.n, te.n);
    mtl_dataset_free(&tr), mtl_dataset_free(&te);
    mtl_recordset_free(&r);
}

static void random_split(void) {
    mtl_recordset r;
    const int64_t len = 120000; /* (120000 - 2048) / 512 + 1 = 231 windows */
    make_set(&r, 10, len);
    mtl_window_config c = mtl_window_defaults();
    c.split = MTL_SPLIT_RANDOM;
    c.seed = 7;
    mtl_dataset tr, va, te, tr2, tr3;
    CHECK_OK(mtl_windows_make(&r, &c, &tr, &va, &te));
    CHECK(tr.n == 100 && va.n == 200 && te.n == 1600, "counts %d / %d / %d", tr.n, va.n, te.n);
    check_windows(&r, &tr, "random train");
    check_windows(&r, &te, "random test");
    int clash = 0, misplaced = 0;
    for (int rec = 0; rec < 10 && tr.record && va.record && te.record; rec++) {
        int part[231] = {0};
        const mtl_dataset *ds[3] = {&tr, &va, &te};
        for (int p = 0; p < 3; p++)
            for (int i = 0; i < ds[p]->n; i++) {
                if (ds[p]->record[i] != rec) continue;
                int64_t off = ds[p]->offset[i];
                if (off % 512 || off < 0 || off + 2048 > len) {
                    misplaced++;
                    continue;
                }
                clash += part[off / 512]++ > 0;
            }
    }
    CHECK(clash == 0 && misplaced == 0, "%d windows in two parts, %d off the stride grid", clash, misplaced);
    CHECK_OK(mtl_windows_make(&r, &c, &tr2, NULL, NULL));
    c.seed = 8;
    CHECK_OK(mtl_windows_make(&r, &c, &tr3, NULL, NULL));
    CHECK(tr2.offset && memcmp(tr.offset, tr2.offset, 100 * sizeof(int64_t)) == 0, "same seed, other windows");
    CHECK(tr3.offset && memcmp(tr.offset, tr3.offset, 100 * sizeof(int64_t)) != 0, "other seed, same windows");
    /* records are shuffled independently */
    int same = 1;
    for (int i = 0; i < 10 && tr.offset; i++) same &= tr.offset[i] == tr.offset[10 + i];
    CHECK(!same, "records 0 and 1 got the same shuffle");
    mtl_dataset_free(&tr), mtl_dataset_free(&va), mtl_dataset_free(&te);
    mtl_dataset_free(&tr2), mtl_dataset_free(&tr3);
    c.train_per_record = 300;
    CHECK(mtl_windows_make(&r, &c, &tr, &va, &te) == MTL_ERR_RANGE && strstr(mtl_last_error(), "rec0"),
          "too few windows: %s", mtl_last_error());
    mtl_recordset_free(&r);
}

static int overlaps(int64_t a, int64_t b, int L) { return a < b + L && b < a + L; }

static void time_split(void) {
    mtl_recordset r;
    const int64_t len = 120000;
    make_set(&r, 4, len);
    r.rec[3].sig.length = 100001; /* a record of another length */
    mtl_window_config c = mtl_window_defaults();
    c.split = MTL_SPLIT_TIME;
    c.test_per_record = 0; /* all */
    mtl_dataset tr, va, te;
    CHECK_OK(mtl_windows_make(&r, &c, &tr, &va, &te));
    /* record of 120000: train [0, 60000), val [60000, 72000), test [72000, 120000) */
    int want_test = (int)((48000 - 2048) / 512 + 1) * 3 + (int)((100001 - 60000 - 2048) / 512 + 1);
    CHECK(tr.n == 40 && va.n == 3 * 20 + 16 && te.n == want_test, "counts %d / %d / %d (want 40 / 76 / %d)", tr.n,
          va.n, te.n, want_test);
    check_windows(&r, &tr, "time train");
    check_windows(&r, &va, "time val");
    check_windows(&r, &te, "time test");
    int leaks = 0, outside = 0;
    for (int i = 0; i < te.n && tr.record && va.record && te.record; i++) {
        int rec = te.record[i];
        int64_t n = r.rec[rec].sig.length, b = (int64_t)floor((c.train_frac + c.val_frac) * (double)n);
        if (te.offset[i] < b || te.offset[i] + 2048 > n) outside++;
        for (int j = 0; j < tr.n; j++) leaks += tr.record[j] == rec && overlaps(te.offset[i], tr.offset[j], 2048);
        for (int j = 0; j < va.n; j++) leaks += va.record[j] == rec && overlaps(te.offset[i], va.offset[j], 2048);
    }
    for (int j = 0; j < va.n && va.record && tr.record; j++) {
        int64_t n = r.rec[va.record[j]].sig.length;
        if (va.offset[j] < (int64_t)floor(c.train_frac * (double)n) ||
            va.offset[j] + 2048 > (int64_t)floor((c.train_frac + c.val_frac) * (double)n))
            outside++;
        for (int k = 0; k < tr.n; k++)
            leaks += tr.record[k] == va.record[j] && overlaps(va.offset[j], tr.offset[k], 2048);
    }
    for (int j = 0; j < tr.n && tr.offset; j++) {
        int64_t n = r.rec[tr.record[j]].sig.length;
        if (tr.offset[j] + 2048 > (int64_t)floor(c.train_frac * (double)n)) outside++;
    }
    CHECK(leaks == 0, "%d overlapping window pairs across parts", leaks);
    CHECK(outside == 0, "%d windows outside their segment", outside);
    /* train taken in time order from its segment start */
    CHECK(tr.offset && tr.offset[0] == 0 && tr.offset[9] == 9 * 512, "train offsets %lld .. %lld",
          tr.offset ? (long long)tr.offset[0] : -1LL, tr.offset ? (long long)tr.offset[9] : -1LL);
    mtl_dataset_free(&tr), mtl_dataset_free(&va), mtl_dataset_free(&te);
    mtl_recordset_free(&r);
}

/* a sine of `cycles` per `fs` samples, amplitude amp */
static void fill_sine(float *x, int64_t n, double f, double fs, double amp) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * PI_D * f * (double)i / fs));
}

static void resampling(void) {
    /* 1 s of a 100 Hz unit sine at 48 kHz -> 12 kHz */
    mtl_signal s = {1, 48000, 48000.0, malloc(48000 * sizeof(float))};
    CHECK(s.x != NULL, "malloc");
    if (!s.x) return;
    fill_sine(s.x, s.length, 100, 48000, 1.0);
    CHECK_OK(mtl_signal_resample(&s, 12000));
    CHECK(s.fs == 12000 && llabs(s.length - 12000) <= 2, "fs %g length %lld", s.fs, (long long)s.length);
    /* projection on sin and cos at 100 Hz over whole periods away from the edges */
    double ps = 0, pc = 0;
    int crossings = 0;
    for (int64_t i = 1200; i < 10800; i++) {
        double ph = 2 * PI_D * 100 * (double)i / 12000;
        ps += s.x[i] * sin(ph), pc += s.x[i] * cos(ph);
        crossings += (s.x[i - 1] < 0) != (s.x[i] < 0);
    }
    double amp = 2 * sqrt(ps * ps + pc * pc) / 9600, phase = atan2(pc, ps);
    CHECK_CLOSE(amp, 1.0, 0.0, 0.005, "amplitude after resampling");
    CHECK(fabs(phase) < 0.02, "phase shift %g rad", phase);
    CHECK(crossings == 160, "%d zero crossings in 0.8 s of 100 Hz (want 160)", crossings);
    free(s.x);
    mtl_signal u = {1, 100, 0.0, calloc(100, sizeof(float))};
    CHECK(mtl_signal_resample(&u, 12000) == MTL_ERR_ARG && strstr(mtl_last_error(), "unknown"), "fs 0: %s",
          mtl_last_error());
    u.fs = 12000;
    CHECK(mtl_signal_resample(&u, -5) == MTL_ERR_ARG, "negative rate accepted");
    CHECK_OK(mtl_signal_resample(&u, 12000)); /* same rate: nothing to do */
    CHECK(u.length == 100, "length changed to %lld", (long long)u.length);
    free(u.x);

    /* windows_make resamples a copy: the 48 kHz record 1 comes out at 12 kHz, the input is untouched */
    mtl_recordset r;
    make_set(&r, 2, 4 * MTAGN_NEED);
    r.rec[1].sig.fs = 48000;
    fill_sine(r.rec[1].sig.x, r.rec[1].sig.length, 100, 48000, 2.0);
    r.rec[0].sig.length = MTAGN_NEED;
    float *orig = r.rec[1].sig.x;
    float first = orig[1000];
    mtl_window_config c = mtl_window_defaults();
    c.resample_fs = 12000;
    mtl_dataset tr;
    CHECK_OK(mtl_windows_make(&r, &c, &tr, NULL, NULL));
    CHECK(r.rec[1].sig.x == orig && r.rec[1].sig.fs == 48000 && r.rec[1].sig.length == 4 * MTAGN_NEED &&
              orig[1000] == first,
          "the input record was modified");
    CHECK(tr.n == 20 && tr.fs == 12000, "n %d fs %g", tr.n, tr.fs);
    if (tr.n == 20) {
        /* record 1's windows: a 100 Hz sine at 12 kHz, amplitude 2 (one period = 120 samples) */
        const float *w = tr.x + (size_t)10 * tr.length;
        double m = 0;
        for (int j = 0; j < 2048; j++) m = fmax(m, fabs(w[j]));
        CHECK_CLOSE(m, 2.0, 0.0, 0.01, "resampled window amplitude");
        CHECK(fabs(w[100] - w[220]) < 0.01, "period is not 120 samples: %g vs %g", w[100], w[220]);
    }
    mtl_dataset_free(&tr);
    r.rec[1].sig.length = 2 * MTAGN_NEED; /* enough at 48 kHz, half what the preset needs at 12 kHz */
    CHECK(mtl_windows_make(&r, &c, &tr, NULL, NULL) == MTL_ERR_RANGE && strstr(mtl_last_error(), "rec1") &&
              strstr(mtl_last_error(), "after resampling from 48000 Hz"),
          "short after resampling: %s", mtl_last_error());
    r.rec[0].sig.fs = 0;
    CHECK(mtl_windows_make(&r, &c, &tr, NULL, NULL) == MTL_ERR_ARG && strstr(mtl_last_error(), "rec0"),
          "unknown rate: %s", mtl_last_error());
    mtl_recordset_free(&r);
}

static void signal_windows(void) {
    mtl_signal s = {2, 10000, 48000.0, malloc(2 * 10000 * sizeof(float))};
    CHECK(s.x != NULL, "malloc");
    if (!s.x) return;
    for (int i = 0; i < 20000; i++) s.x[i] = (float)i; /* channel 1 holds 10000 + j */
    mtl_dataset d;
    CHECK_OK(mtl_signal_windows(&s, 2048, 1000, &d));
    CHECK(d.n == 8 && d.channels == 2 && d.length == 2048 && d.n_tasks == 0 && d.fs == 48000, "n %d ch %d", d.n,
          d.channels);
    int bad = 0;
    for (int i = 0; i < d.n && d.offset && d.record; i++) {
        const float *w = d.x + (size_t)i * 2 * 2048;
        bad += d.offset[i] != 1000 * i || d.record[i] != 0;
        bad += w[0] != (float)(1000 * i) || w[2047] != (float)(1000 * i + 2047) || w[2048] != (float)(10000 + 1000 * i);
    }
    CHECK(bad == 0 && d.offset, "%d wrong windows", bad);
    mtl_dataset_free(&d);
    s.length = 1000;
    CHECK(mtl_signal_windows(&s, 2048, 512, &d) == MTL_ERR_RANGE, "short signal accepted");
    CHECK(strstr(mtl_last_error(), "1000 samples") && strstr(mtl_last_error(), "2048"), "%s", mtl_last_error());
    free(s.x);
}

/* windows 2k and 2k+1 identical, amplitudes varying by pair */
static void sine_dataset(mtl_dataset *d, int n, int L) {
    CHECK_OK(mtl_dataset_alloc(d, n, 1, L, 0));
    for (int i = 0; i < n && d->x; i++)
        fill_sine(d->x + (size_t)i * L, L, 5 + (i / 2) % 7, L, 0.1 + 0.3 * (i / 2));
}

static void noise_snr(void) {
    const int n = 40, L = 2048;
    static const double snrs[3] = {-4, 3, 10};
    for (int k = 0; k < 3; k++) {
        mtl_dataset d, clean;
        sine_dataset(&d, n, L);
        CHECK_OK(mtl_dataset_copy(&d, &clean));
        CHECK_OK(mtl_dataset_add_noise(&d, snrs[k], 11));
        double worst = 0;
        for (int i = 0; i < n && d.x && clean.x; i++) {
            double ps = 0, pn = 0;
            for (int j = 0; j < L; j++) {
                double c = clean.x[(size_t)i * L + j], e = d.x[(size_t)i * L + j] - c;
                ps += c * c, pn += e * e;
            }
            double err = fabs(10 * log10(ps / pn) - snrs[k]);
            if (err > worst) worst = err;
        }
        printf("     SNR %5.1f dB: worst per-window error %.3f dB over %d windows\n", snrs[k], worst, n);
        CHECK(worst < 0.5, "SNR %g: a window is %g dB off", snrs[k], worst);
        /* windows 0 and 1 were identical: their noise must differ */
        int differ = 0;
        for (int j = 0; j < L && d.x; j++) differ += d.x[j] != d.x[L + j];
        CHECK(differ > L / 2, "identical windows got the same noise (%d of %d samples differ)", differ, L);
        mtl_dataset_free(&d), mtl_dataset_free(&clean);
    }
    /* the same bits whatever the thread count; seeds matter */
    mtl_dataset a, b, e;
    sine_dataset(&a, n, L);
    sine_dataset(&b, n, L);
    sine_dataset(&e, n, L);
    int threads = mtl_get_threads();
    mtl_set_threads(1);
    CHECK_OK(mtl_dataset_add_noise(&a, 0, 5));
    mtl_set_threads(2);
    CHECK_OK(mtl_dataset_add_noise(&b, 0, 5));
    CHECK_OK(mtl_dataset_add_noise(&e, 0, 6));
    mtl_set_threads(threads);
    CHECK(a.x && b.x && memcmp(a.x, b.x, (size_t)n * L * sizeof(float)) == 0, "1 vs 2 threads differ");
    CHECK(a.x && e.x && memcmp(a.x, e.x, (size_t)n * L * sizeof(float)) != 0, "seeds 5 and 6 agree");
    a.x[3 * L + 7] = NAN;
    CHECK(mtl_dataset_add_noise(&a, 0, 5) == MTL_ERR_NUMERIC && strstr(mtl_last_error(), "window 3"), "NaN: %s",
          mtl_last_error());
    CHECK(mtl_dataset_add_noise(&b, INFINITY, 5) == MTL_ERR_ARG, "infinite SNR accepted");
    mtl_dataset_free(&a), mtl_dataset_free(&b), mtl_dataset_free(&e);
}

static void normalisation(void) {
    const int n = 5, C = 2, L = 300;
    static const mtl_norm norms[3] = {MTL_NORM_ZSCORE, MTL_NORM_MINMAX, MTL_NORM_PM1};
    for (int k = 0; k < 3; k++) {
        mtl_dataset d;
        CHECK_OK(mtl_dataset_alloc(&d, n, C, L, 0));
        if (!d.x) return;
        th_fill(d.x, (int64_t)n * C * L, 3 + k, -4.0f, 9.0f);
        for (int j = 0; j < L; j++) d.x[(size_t)3 * L + j] = 2.5f; /* window 1, channel 1: constant */
        CHECK_OK(mtl_dataset_transform(&d, norms[k], MTL_DOMAIN_TIME));
        CHECK(d.length == L, "length changed to %d", d.length);
        for (int r = 0; r < n * C; r++) {
            const float *x = d.x + (size_t)r * L;
            double mean = 0, var = 0, lo = x[0], hi = x[0];
            for (int j = 0; j < L; j++) mean += x[j], lo = fmin(lo, x[j]), hi = fmax(hi, x[j]);
            mean /= L;
            for (int j = 0; j < L; j++) var += (x[j] - mean) * (x[j] - mean);
            double sd = sqrt(var / L);
            if (r == 3) {
                CHECK(lo == 0 && hi == 0, "constant row: %g .. %g (want zeros)", lo, hi);
                continue;
            }
            if (norms[k] == MTL_NORM_ZSCORE) {
                CHECK_CLOSE(mean, 0, 1e-5, 0, "zscore mean");
                CHECK_CLOSE(sd, 1, 1e-4, 0, "zscore std");
            } else {
                double want_lo = norms[k] == MTL_NORM_PM1 ? -1 : 0;
                CHECK(lo == want_lo && hi == 1, "row %d range %g .. %g", r, lo, hi);
            }
        }
        mtl_dataset_free(&d);
    }
}

static void fft_domain(void) {
    const int n = 3, L = 256;
    mtl_dataset d;
    CHECK_OK(mtl_dataset_alloc(&d, n, 2, L, 0));
    if (!d.x) return;
    static const int bins[6] = {37, 1, 100, 64, 127, 5};
    for (int r = 0; r < 2 * n; r++) fill_sine(d.x + (size_t)r * L, L, bins[r], L, 1.0);
    CHECK_OK(mtl_dataset_transform(&d, MTL_NORM_NONE, MTL_DOMAIN_FFT));
    CHECK(d.length == L / 2 && d.channels == 2 && d.n == n, "shape %d x %d x %d", d.n, d.channels, d.length);
    for (int r = 0; r < 2 * n && d.length == L / 2; r++) {
        const float *X = d.x + (size_t)r * (L / 2);
        int arg = 0;
        double rest = 0;
        for (int k = 1; k < L / 2; k++)
            if (X[k] > X[arg]) arg = k;
        for (int k = 0; k < L / 2; k++)
            if (k != bins[r]) rest = fmax(rest, X[k]);
        CHECK(arg == bins[r], "row %d: peak at %d, want %d", r, arg, bins[r]);
        CHECK_CLOSE(X[bins[r]], 0.5, 1e-5, 0, "unit sine |X|/N");
        CHECK(rest < 1e-5, "row %d: leakage %g", r, rest);
    }
    mtl_dataset_free(&d);
    /* normalisation first, then FFT: a z-scored sine has std 1, i.e. amplitude sqrt(2) */
    CHECK_OK(mtl_dataset_alloc(&d, 1, 1, 512, 0));
    for (int j = 0; j < 512 && d.x; j++) d.x[j] = 3.0f + 0.25f * (float)sin(2 * PI_D * 20 * j / 512);
    CHECK_OK(mtl_dataset_transform(&d, MTL_NORM_ZSCORE, MTL_DOMAIN_FFT));
    CHECK(d.length == 256 && fabs(d.x[0]) < 1e-5, "DC %g after zscore", d.x[0]);
    CHECK_CLOSE(d.x[20], sqrt(2.0) / 2, 1e-4, 0, "zscored sine bin");
    d.x[200] = INFINITY;
    CHECK(mtl_dataset_transform(&d, MTL_NORM_NONE, MTL_DOMAIN_FFT) == MTL_ERR_NUMERIC &&
              strstr(mtl_last_error(), "window 0"),
          "Inf: %s", mtl_last_error());
    CHECK(d.length == 256, "failed transform changed the dataset");
    mtl_dataset_free(&d);
}

static void parsing(void) {
    mtl_norm nm = MTL_NORM_NONE;
    mtl_domain dm = MTL_DOMAIN_TIME;
    CHECK(mtl_norm_parse("zscore", &nm) == MTL_OK && nm == MTL_NORM_ZSCORE, "zscore");
    CHECK(mtl_norm_parse("minmax", &nm) == MTL_OK && nm == MTL_NORM_MINMAX, "minmax");
    CHECK(mtl_norm_parse("pm1", &nm) == MTL_OK && nm == MTL_NORM_PM1, "pm1");
    CHECK(mtl_norm_parse("none", &nm) == MTL_OK && nm == MTL_NORM_NONE, "none");
    CHECK(mtl_norm_parse("z-score", &nm) == MTL_ERR_ARG && strstr(mtl_last_error(), "z-score"), "%s",
          mtl_last_error());
    CHECK(mtl_norm_parse("", &nm) == MTL_ERR_ARG && mtl_norm_parse(NULL, &nm) == MTL_ERR_ARG, "empty accepted");
    CHECK(mtl_domain_parse("fft", &dm) == MTL_OK && dm == MTL_DOMAIN_FFT, "fft");
    CHECK(mtl_domain_parse("time", &dm) == MTL_OK && dm == MTL_DOMAIN_TIME, "time");
    CHECK(mtl_domain_parse("stft", &dm) == MTL_ERR_ARG && strstr(mtl_last_error(), "stft"), "%s", mtl_last_error());
    CHECK(mtl_domain_parse("FFT ", &dm) == MTL_ERR_ARG, "'FFT ' accepted");
}

int main(void) {
    RUN(mtagn_preset);
    RUN(mtagn_sweep);
    RUN(too_short);
    RUN(random_split);
    RUN(time_split);
    RUN(resampling);
    RUN(signal_windows);
    RUN(noise_snr);
    RUN(normalisation);
    RUN(fft_domain);
    RUN(parsing);
    return th_summary();
}
