/* Cutting records into fixed-length windows and splitting them into train / val / test:
 * the MTAGN preset (a fixed permutation of 200 overlapping windows), a seeded random
 * split, and a leakage-free split in time. A plan of (record, offset) pairs is built
 * first, then the windows are copied out, so every output is deterministic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/data.h"

#define MTAGN_WINDOWS 200

/* np.random.seed(2021); np.random.permutation(200) (NumPy legacy RNG), as used by MTAGN */
static const int mtagn_perm[MTAGN_WINDOWS] = {
    122, 24,  23,  148, 76,  35,  0,   51,  178, 132, 196, 8,   72,  104, 88,  133, 58,  108, 18,  52,
    74,  181, 172, 97,  183, 162, 153, 199, 126, 42,  139, 13,  10,  158, 137, 141, 99,  80,  28,  4,
    193, 22,  179, 164, 130, 155, 2,   169, 180, 14,  59,  149, 98,  36,  135, 56,  64,  55,  31,  43,
    105, 168, 173, 145, 129, 81,  66,  34,  77,  45,  6,   79,  30,  73,  65,  68,  165, 75,  12,  125,
    167, 92,  69,  134, 118, 86,  187, 194, 15,  159, 112, 127, 83,  41,  151, 177, 46,  197, 3,   16,
    67,  39,  111, 29,  117, 96,  170, 61,  48,  95,  37,  136, 184, 174, 146, 60,  91,  47,  26,  171,
    192, 191, 188, 90,  113, 38,  163, 186, 115, 20,  121, 107, 131, 87,  32,  160, 150, 50,  156, 84,
    161, 103, 100, 9,   119, 27,  182, 89,  17,  78,  147, 11,  53,  40,  143, 82,  19,  106, 195, 138,
    114, 25,  190, 185, 198, 71,  142, 166, 175, 5,   120, 189, 123, 54,  144, 49,  63,  176, 154, 124,
    110, 1,   7,   101, 33,  70,  102, 140, 152, 93,  21,  157, 62,  44,  94,  109, 128, 57,  85,  116};

const int *mtl_mtagn_permutation(void) { return mtagn_perm; }

mtl_window_config mtl_window_defaults(void) {
    mtl_window_config c;
    memset(&c, 0, sizeof c);
    c.length = 2048;
    c.stride = 512;
    c.split = MTL_SPLIT_MTAGN;
    c.train_per_record = 10;
    c.val_per_record = 20;
    c.test_per_record = 160;
    c.train_frac = 0.5;
    c.val_frac = 0.1;
    c.resample_fs = 0;
    c.seed = 0;
    return c;
}

/* ---- the plan: which (record, offset) goes to which part ------------------------ */

typedef struct {
    int32_t rec;
    int64_t off;
} win_ref;

typedef struct {
    win_ref *w;
    int64_t n, cap;
} win_list;

static const char *const part_name[3] = {"train", "val", "test"};

static mtl_status list_push(win_list *l, int32_t rec, int64_t off) {
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 256;
        win_ref *w = realloc(l->w, (size_t)cap * sizeof *w);
        if (!w)
            return mtl_error(MTL_ERR_NOMEM, "windows_make: out of memory for %lld window references", (long long)cap);
        l->w = w, l->cap = cap;
    }
    l->w[l->n].rec = rec, l->w[l->n].off = off;
    l->n++;
    return MTL_OK;
}

/* number of windows at `stride` that fit in `len` samples */
static int64_t windows_fit(int64_t len, int length, int stride) {
    return len < length ? 0 : (len - length) / stride + 1;
}

/* MTAGN and random: the first `order[0:t]` windows train, the next v val, then up to T
 * test (0: all remaining); clipped at n_win */
static mtl_status plan_indexed(win_list parts[3], int32_t rec, const int *order, int64_t n_win,
                               const mtl_window_config *c) {
    int64_t t = c->train_per_record, v = c->val_per_record;
    int64_t T = c->test_per_record > 0 ? c->test_per_record : n_win;
    int64_t cut[4] = {0, t, t + v, t + v + T};
    for (int p = 0; p < 3; p++) {
        int64_t lo = cut[p] < n_win ? cut[p] : n_win, hi = cut[p + 1] < n_win ? cut[p + 1] : n_win;
        for (int64_t i = lo; i < hi; i++) {
            mtl_status s = list_push(&parts[p], rec, (int64_t)order[i] * c->stride);
            if (s) return s;
        }
    }
    return MTL_OK;
}

static mtl_status plan_mtagn(win_list parts[3], const mtl_recordset *r, int32_t rec, int64_t len,
                             const mtl_window_config *c) {
    int64_t need = (int64_t)(MTAGN_WINDOWS - 1) * c->stride + c->length;
    if (len < need)
        return mtl_error(MTL_ERR_RANGE,
                         "windows_make: record '%s' has %lld samples, the MTAGN split needs %lld (%d windows of %d at "
                         "stride %d)",
                         r->rec[rec].name, (long long)len, (long long)need, MTAGN_WINDOWS, c->length, c->stride);
    return plan_indexed(parts, rec, mtagn_perm, MTAGN_WINDOWS, c);
}

static mtl_status plan_random(win_list parts[3], const mtl_recordset *r, int32_t rec, int64_t len,
                              const mtl_window_config *c, bool want_test) {
    int64_t n_win = windows_fit(len, c->length, c->stride);
    int64_t need = (int64_t)c->train_per_record + c->val_per_record + (want_test ? 1 : 0);
    if (n_win < need || n_win < 1)
        return mtl_error(MTL_ERR_RANGE,
                         "windows_make: record '%s' has %lld samples, room for %lld windows of %d at stride %d; the "
                         "random split needs at least %lld (%lld samples)",
                         r->rec[rec].name, (long long)len, (long long)n_win, c->length, c->stride,
                         (long long)(need > 1 ? need : 1),
                         (long long)((need > 1 ? need - 1 : 0) * c->stride + c->length));
    if (n_win > INT32_MAX) return mtl_error(MTL_ERR_RANGE, "windows_make: record '%s' is too long", r->rec[rec].name);
    int32_t *perm = malloc((size_t)n_win * sizeof *perm);
    int *order = malloc((size_t)n_win * sizeof *order);
    if (!perm || !order) {
        free(perm), free(order);
        return mtl_error(MTL_ERR_NOMEM, "windows_make: out of memory for a permutation of %lld", (long long)n_win);
    }
    mtl_rng g;
    mtl_rng_init(&g, c->seed, 0x5e11u + (uint64_t)rec); /* one stream per record */
    mtl_status s = mtl_rng_permutation(&g, perm, n_win);
    for (int64_t i = 0; i < n_win; i++) order[i] = perm[i];
    if (!s) s = plan_indexed(parts, rec, order, n_win, c);
    free(perm), free(order);
    return s;
}

static mtl_status plan_time(win_list parts[3], const mtl_recordset *r, int32_t rec, int64_t len,
                            const mtl_window_config *c, const bool want[3]) {
    int64_t a = (int64_t)floor(c->train_frac * (double)len);
    int64_t b = (int64_t)floor((c->train_frac + c->val_frac) * (double)len);
    if (b > len) b = len;
    int64_t seg[4] = {0, a, b, len};
    int64_t cap[3] = {c->train_per_record, c->val_per_record, c->test_per_record};
    for (int p = 0; p < 3; p++) {
        int64_t n_win = windows_fit(seg[p + 1] - seg[p], c->length, c->stride);
        int64_t take = (p == 2 && cap[p] == 0) ? n_win : (cap[p] < n_win ? cap[p] : n_win);
        bool wanted = want[p] && (cap[p] > 0 || p == 2);
        if (wanted && take < 1)
            return mtl_error(MTL_ERR_RANGE,
                             "windows_make: record '%s' (%lld samples): its %s segment [%lld, %lld) is shorter than "
                             "one window of %d samples",
                             r->rec[rec].name, (long long)len, part_name[p], (long long)seg[p], (long long)seg[p + 1],
                             c->length);
        for (int64_t i = 0; i < take; i++) {
            mtl_status s = list_push(&parts[p], rec, seg[p] + i * c->stride);
            if (s) return s;
        }
    }
    return MTL_OK;
}

/* ---- copying the planned windows out -------------------------------------------- */

static mtl_status fill_part(const mtl_recordset *r, const mtl_signal *const *sig, const win_list *l, int length,
                            double fs, const char *what, mtl_dataset *out) {
    int C = sig[0]->channels;
    if (l->n < 1)
        return mtl_error(MTL_ERR_RANGE, "windows_make: the %s part has no windows (%s_per_record is 0?); pass NULL "
                         "for it or ask for at least one", what, what);
    if (l->n > INT32_MAX)
        return mtl_error(MTL_ERR_RANGE, "windows_make: %lld %s windows are too many", (long long)l->n, what);
    int n = (int)l->n;
    mtl_status s = mtl_dataset_alloc(out, n, C, length, r->n_tasks);
    if (s) return s;
    out->record = malloc((size_t)n * sizeof *out->record);
    out->offset = malloc((size_t)n * sizeof *out->offset);
    if (!out->record || !out->offset) {
        mtl_dataset_free(out);
        return mtl_error(MTL_ERR_NOMEM, "windows_make: out of memory for %d %s windows", n, what);
    }
    for (int k = 0; k < r->n_tasks; k++) out->n_classes[k] = r->n_classes[k];
    memcpy(out->task_names, r->task_names, sizeof out->task_names);
    memcpy(out->class_names, r->class_names, sizeof out->class_names);
    out->fs = fs;
    for (int i = 0; i < n; i++) {
        const mtl_signal *g = sig[l->w[i].rec];
        for (int ch = 0; ch < C; ch++)
            memcpy(out->x + ((size_t)i * C + ch) * length, g->x + (size_t)ch * g->length + l->w[i].off,
                   (size_t)length * sizeof(float));
        for (int k = 0; k < r->n_tasks; k++) out->y[k][i] = r->rec[l->w[i].rec].label[k];
        out->record[i] = l->w[i].rec;
        out->offset[i] = l->w[i].off;
    }
    return MTL_OK;
}

static mtl_status check_config(const mtl_recordset *r, const mtl_window_config *c) {
    if (!r || !c) return mtl_error(MTL_ERR_ARG, "windows_make: recordset or config is NULL");
    if (r->n_records < 1 || !r->rec) return mtl_error(MTL_ERR_ARG, "windows_make: the recordset has no records");
    if (r->n_tasks < 0 || r->n_tasks > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_ARG, "windows_make: recordset n_tasks %d (expected 0..%d)", r->n_tasks, MTL_MAX_TASKS);
    if (c->length < 1 || c->stride < 1)
        return mtl_error(MTL_ERR_ARG, "windows_make: window length %d and stride %d must be >= 1", c->length,
                         c->stride);
    if (c->train_per_record < 0 || c->val_per_record < 0 || c->test_per_record < 0)
        return mtl_error(MTL_ERR_ARG, "windows_make: per-record counts %d / %d / %d must be >= 0", c->train_per_record,
                         c->val_per_record, c->test_per_record);
    if (c->split != MTL_SPLIT_MTAGN && c->split != MTL_SPLIT_RANDOM && c->split != MTL_SPLIT_TIME)
        return mtl_error(MTL_ERR_ARG, "windows_make: unknown split kind %d", (int)c->split);
    if (c->split == MTL_SPLIT_TIME &&
        !(c->train_frac >= 0 && c->val_frac >= 0 && c->train_frac + c->val_frac <= 1))
        return mtl_error(MTL_ERR_ARG, "windows_make: train_frac %g and val_frac %g must be >= 0 with a sum <= 1",
                         c->train_frac, c->val_frac);
    if (!(c->resample_fs >= 0) || !isfinite(c->resample_fs))
        return mtl_error(MTL_ERR_ARG, "windows_make: resample_fs %g must be a finite rate >= 0 (0: keep)",
                         c->resample_fs);
    for (int i = 0; i < r->n_records; i++) {
        const mtl_signal *g = &r->rec[i].sig;
        if (!g->x || g->channels < 1 || g->length < 1)
            return mtl_error(MTL_ERR_ARG, "windows_make: record '%s' has no samples", r->rec[i].name);
        if (g->channels != r->rec[0].sig.channels)
            return mtl_error(MTL_ERR_SHAPE, "windows_make: record '%s' has %d channels, record '%s' has %d",
                             r->rec[i].name, g->channels, r->rec[0].name, r->rec[0].sig.channels);
        if (c->resample_fs > 0 && !(g->fs > 0))
            return mtl_error(MTL_ERR_ARG,
                             "windows_make: record '%s' has an unknown sampling rate; cannot resample it to %g Hz",
                             r->rec[i].name, c->resample_fs);
        for (int k = 0; k < r->n_tasks; k++)
            if (r->rec[i].label[k] < 0 || r->rec[i].label[k] >= r->n_classes[k])
                return mtl_error(MTL_ERR_RANGE, "windows_make: record '%s' has label %d for task '%s' (expected 0..%d)",
                                 r->rec[i].name, r->rec[i].label[k], r->task_names[k], r->n_classes[k] - 1);
    }
    return MTL_OK;
}

mtl_status mtl_windows_make(const mtl_recordset *r, const mtl_window_config *c, mtl_dataset *train,
                            mtl_dataset *val, mtl_dataset *test) {
    mtl_dataset *out[3] = {train, val, test};
    for (int p = 0; p < 3; p++)
        if (out[p]) memset(out[p], 0, sizeof *out[p]);
    mtl_status s = check_config(r, c);
    if (s) return s;
    int nr = r->n_records;
    const mtl_signal **sig = calloc((size_t)nr, sizeof *sig);
    mtl_signal *copies = calloc((size_t)nr, sizeof *copies); /* resampled copies; the input stays untouched */
    win_list parts[3] = {{0}};
    if (!sig || !copies) {
        s = mtl_error(MTL_ERR_NOMEM, "windows_make: out of memory for %d records", nr);
        goto done;
    }
    for (int i = 0; i < nr && !s; i++) {
        const mtl_signal *g = &r->rec[i].sig;
        sig[i] = g;
        if (c->resample_fs > 0 && g->fs != c->resample_fs) {
            size_t bytes = (size_t)g->channels * (size_t)g->length * sizeof(float);
            copies[i] = *g;
            if (!(copies[i].x = malloc(bytes))) {
                s = mtl_error(MTL_ERR_NOMEM, "windows_make: out of memory to resample record '%s'", r->rec[i].name);
                break;
            }
            memcpy(copies[i].x, g->x, bytes);
            s = mtl_signal_resample(&copies[i], c->resample_fs);
            if (s) {
                char why[512];
                snprintf(why, sizeof why, "%s", mtl_last_error()); /* mtl_error overwrites that buffer */
                s = mtl_error(s, "windows_make: record '%s': %s", r->rec[i].name, why);
            }
            sig[i] = &copies[i];
        }
    }
    bool want[3] = {train != NULL, val != NULL, test != NULL};
    for (int i = 0; i < nr && !s; i++) {
        if (c->split == MTL_SPLIT_MTAGN) s = plan_mtagn(parts, r, i, sig[i]->length, c);
        else if (c->split == MTL_SPLIT_RANDOM) s = plan_random(parts, r, i, sig[i]->length, c, want[2]);
        else s = plan_time(parts, r, i, sig[i]->length, c, want);
        if (s && sig[i] != &r->rec[i].sig) { /* the length that failed is not the one in the file */
            char why[512];
            snprintf(why, sizeof why, "%s", mtl_last_error());
            s = mtl_error(s, "%s (after resampling from %g Hz to %g Hz)", why, r->rec[i].sig.fs, c->resample_fs);
        }
    }
    /* one rate for every window, or 0 (unknown) when the records disagree */
    double fs = sig && sig[0] ? sig[0]->fs : 0;
    for (int i = 1; i < nr && !s; i++)
        if (sig[i]->fs != fs) fs = 0;
    for (int p = 0; p < 3 && !s; p++)
        if (out[p]) s = fill_part(r, sig, &parts[p], c->length, fs, part_name[p], out[p]);
    if (s)
        for (int p = 0; p < 3; p++)
            if (out[p]) mtl_dataset_free(out[p]);
done:
    for (int p = 0; p < 3; p++) free(parts[p].w);
    if (copies)
        for (int i = 0; i < nr; i++) free(copies[i].x);
    free(copies);
    free(sig);
    return s;
}

mtl_status mtl_signal_windows(const mtl_signal *s, int length, int stride, mtl_dataset *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "signal_windows: output dataset is NULL");
    memset(out, 0, sizeof *out);
    if (!s || !s->x || s->channels < 1) return mtl_error(MTL_ERR_ARG, "signal_windows: the signal has no samples");
    if (length < 1 || stride < 1)
        return mtl_error(MTL_ERR_ARG, "signal_windows: window length %d and stride %d must be >= 1", length, stride);
    int64_t n_win = windows_fit(s->length, length, stride);
    if (n_win < 1)
        return mtl_error(MTL_ERR_RANGE, "signal_windows: the signal has %lld samples and a window needs %d",
                         (long long)s->length, length);
    if (n_win > INT32_MAX)
        return mtl_error(MTL_ERR_RANGE, "signal_windows: %lld windows are too many", (long long)n_win);
    int n = (int)n_win, C = s->channels;
    mtl_status st = mtl_dataset_alloc(out, n, C, length, 0);
    if (st) return st;
    out->record = malloc((size_t)n * sizeof *out->record);
    out->offset = malloc((size_t)n * sizeof *out->offset);
    if (!out->record || !out->offset) {
        mtl_dataset_free(out);
        return mtl_error(MTL_ERR_NOMEM, "signal_windows: out of memory for %d windows", n);
    }
    out->fs = s->fs;
    for (int i = 0; i < n; i++) {
        int64_t off = (int64_t)i * stride;
        for (int ch = 0; ch < C; ch++)
            memcpy(out->x + ((size_t)i * C + ch) * length, s->x + (size_t)ch * s->length + off,
                   (size_t)length * sizeof(float));
        out->record[i] = 0;
        out->offset[i] = off;
    }
    return MTL_OK;
}
