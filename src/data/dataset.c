#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/data.h"
#include "mtl/tabular.h"

mtl_status mtl_dataset_alloc(mtl_dataset *d, int n, int channels, int length, int n_tasks) {
    if (!d) return mtl_error(MTL_ERR_ARG, "dataset_alloc: dataset is NULL");
    memset(d, 0, sizeof *d);
    if (n < 1 || channels < 1 || length < 1 || n_tasks < 0 || n_tasks > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_ARG, "dataset_alloc: invalid sizes (n %d, channels %d, length %d, tasks %d)", n,
                         channels, length, n_tasks);
    if ((int64_t)n * channels > ((int64_t)1 << 38) / length)
        return mtl_error(MTL_ERR_NOMEM, "dataset_alloc: %d samples of %d x %d values are too many", n, channels, length);
    d->n = n, d->channels = channels, d->length = length, d->n_tasks = n_tasks;
    d->x = malloc((size_t)n * channels * length * sizeof(float));
    bool ok = d->x != NULL;
    for (int k = 0; k < n_tasks; k++) ok = ok && (d->y[k] = calloc((size_t)n, sizeof(int32_t))) != NULL;
    if (!ok) {
        mtl_dataset_free(d);
        return mtl_error(MTL_ERR_NOMEM, "dataset_alloc: out of memory for %d samples of %d x %d", n, channels, length);
    }
    return MTL_OK;
}

void mtl_dataset_free(mtl_dataset *d) {
    if (!d) return;
    free(d->x);
    for (int k = 0; k < MTL_MAX_TASKS; k++) free(d->y[k]);
    free(d->record);
    free(d->offset);
    memset(d, 0, sizeof *d);
}

mtl_status mtl_dataset_validate(const mtl_dataset *d, const char *what) {
    if (!d || !d->x) return mtl_error(MTL_ERR_ARG, "%s: no data", what);
    size_t per = (size_t)d->channels * d->length;
    for (int i = 0; i < d->n; i++) {
        const float *s = d->x + (size_t)i * per;
        for (size_t j = 0; j < per; j++)
            if (!isfinite(s[j]))
                return mtl_error(MTL_ERR_NUMERIC, "%s: sample %d has a %s at position %zu (expected finite values)",
                                 what, i, isnan(s[j]) ? "NaN" : "infinity", j);
        for (int k = 0; k < d->n_tasks; k++)
            if (d->y[k][i] < 0 || d->y[k][i] >= d->n_classes[k])
                return mtl_error(MTL_ERR_RANGE, "%s: sample %d has label %d for task '%s' (expected 0..%d)", what, i,
                                 d->y[k][i], d->task_names[k], d->n_classes[k] - 1);
    }
    return MTL_OK;
}

mtl_status mtl_dataset_copy(const mtl_dataset *src, mtl_dataset *dst) {
    if (!src || !dst || !src->x) return mtl_error(MTL_ERR_ARG, "dataset_copy: null argument");
    mtl_status s = mtl_dataset_alloc(dst, src->n, src->channels, src->length, src->n_tasks);
    if (s) return s;
    float *x = dst->x;
    int32_t *y[MTL_MAX_TASKS];
    memcpy(y, dst->y, sizeof y);
    *dst = *src; /* sizes, names, fs */
    dst->x = x;
    memcpy(dst->y, y, sizeof y);
    dst->record = NULL, dst->offset = NULL;
    memcpy(dst->x, src->x, (size_t)src->n * src->channels * src->length * sizeof(float));
    for (int k = 0; k < src->n_tasks; k++) memcpy(dst->y[k], src->y[k], (size_t)src->n * sizeof(int32_t));
    bool ok = true;
    if (src->record && (ok = (dst->record = malloc((size_t)src->n * sizeof(int32_t))) != NULL))
        memcpy(dst->record, src->record, (size_t)src->n * sizeof(int32_t));
    if (ok && src->offset && (ok = (dst->offset = malloc((size_t)src->n * sizeof(int64_t))) != NULL))
        memcpy(dst->offset, src->offset, (size_t)src->n * sizeof(int64_t));
    if (!ok) {
        mtl_dataset_free(dst);
        return mtl_error(MTL_ERR_NOMEM, "dataset_copy: out of memory");
    }
    return MTL_OK;
}

/* ---- subsets and the 1:1 split (include/mtl/tabular.h) ---------------------------- */

mtl_status mtl_dataset_subset(const mtl_dataset *src, const int32_t *idx, int n, mtl_dataset *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!src || !out || !src->x || (!idx && n > 0)) return mtl_error(MTL_ERR_ARG, "dataset_subset: null argument");
    if (n < 1) return mtl_error(MTL_ERR_ARG, "dataset_subset: %d rows (expected at least 1)", n);
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= src->n)
            return mtl_error(MTL_ERR_RANGE, "dataset_subset: index %d is row %d (expected 0..%d)", i, idx[i],
                             src->n - 1);
    mtl_status st = mtl_dataset_alloc(out, n, src->channels, src->length, src->n_tasks);
    if (st) return st;
    bool ok = true;
    if (src->record) ok = (out->record = malloc((size_t)n * sizeof *out->record)) != NULL;
    if (ok && src->offset) ok = (out->offset = malloc((size_t)n * sizeof *out->offset)) != NULL;
    if (!ok) {
        mtl_dataset_free(out);
        return mtl_error(MTL_ERR_NOMEM, "dataset_subset: out of memory for %d rows", n);
    }
    memcpy(out->n_classes, src->n_classes, sizeof out->n_classes);
    memcpy(out->task_names, src->task_names, sizeof out->task_names);
    memcpy(out->class_names, src->class_names, sizeof out->class_names);
    out->fs = src->fs;
    size_t per = (size_t)src->channels * (size_t)src->length;
    for (int i = 0; i < n; i++) {
        size_t r = (size_t)idx[i];
        memcpy(out->x + (size_t)i * per, src->x + r * per, per * sizeof(float));
        for (int k = 0; k < src->n_tasks; k++) out->y[k][i] = src->y[k][r];
        if (out->record) out->record[i] = src->record[r];
        if (out->offset) out->offset[i] = src->offset[r];
    }
    return MTL_OK;
}

mtl_status mtl_dataset_split_half(const mtl_dataset *src, uint64_t seed, mtl_dataset *a, mtl_dataset *b) {
    if (a) memset(a, 0, sizeof *a);
    if (b) memset(b, 0, sizeof *b);
    if (!src || !a || !b || !src->x) return mtl_error(MTL_ERR_ARG, "dataset_split_half: null argument");
    if (src->n < 2) return mtl_error(MTL_ERR_ARG, "dataset_split_half: %d rows (expected at least 2)", src->n);
    int32_t *perm = malloc((size_t)src->n * sizeof *perm);
    if (!perm) return mtl_error(MTL_ERR_NOMEM, "dataset_split_half: out of memory for %d rows", src->n);
    mtl_rng r;
    mtl_rng_init(&r, seed, 0x7ab1e);
    mtl_status st = mtl_rng_permutation(&r, perm, src->n);
    int half = src->n / 2;
    if (!st) st = mtl_dataset_subset(src, perm, half, a);
    if (!st) st = mtl_dataset_subset(src, perm + half, src->n - half, b);
    free(perm);
    if (st) {
        mtl_dataset_free(a);
        mtl_dataset_free(b);
    }
    return st;
}
