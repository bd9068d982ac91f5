/* bench_tabular_read: time to read and encode the census-income files with libmtl,
 * the work a tabular experiment does before training:
 *
 *   mtl_tab_schema_census(group) + mtl_tab_fit(training file) + mtl_tab_encode_file(test file)
 *
 *   bench_tabular_read [--data DIR] [--group 1|2] [--repeat N] [--dump FILE]
 *
 * DIR holds census-income.data(.gz) and census-income.test(.gz); default
 * $MTL_DATA/census-income, else ../shared/data/census-income. Each of the N repeats
 * (default 3) is timed whole with one clock reading; the median is reported. The JSON
 * on stdout carries checksums of the encodings so that bench_tabular_read.py can check
 * that its plain-Python reader produced the same numbers:
 *   checksum_ids_*: sum over rows r and id columns i of id * (i + 1) * (r % 1000 + 1)
 *   sum_cont_*, sum_abs_cont_*: sums of the standardised values (as stored, float32)
 *   positives_*: per task, the rows labelled 1.
 * --dump FILE writes the first 1000 encoded test rows (ids, then continuous values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtl/tabular.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_sums(const char *tag, const mtl_dataset *d, int n_ids) {
    unsigned long long ids = 0;
    double sum = 0, sum_abs = 0;
    for (int r = 0; r < d->n; r++) {
        const float *x = d->x + (size_t)r * (size_t)d->length;
        for (int i = 0; i < n_ids; i++) ids += (unsigned long long)x[i] * (unsigned long long)(i + 1) * (r % 1000 + 1);
        for (int j = n_ids; j < d->length; j++) sum += x[j], sum_abs += x[j] < 0 ? -x[j] : x[j];
    }
    printf("  \"rows_%s\": %d,\n  \"checksum_ids_%s\": %llu,\n", tag, d->n, tag, ids);
    printf("  \"sum_cont_%s\": %.17g,\n  \"sum_abs_cont_%s\": %.17g,\n", tag, sum, tag, sum_abs);
    printf("  \"positives_%s\": {", tag);
    for (int k = 0; k < d->n_tasks; k++) {
        long pos = 0;
        for (int r = 0; r < d->n; r++) pos += d->y[k][r] == 1;
        printf("%s\"%s\": %ld", k ? ", " : "", d->task_names[k], pos);
    }
    printf("},\n");
}

static int dump_rows(const char *path, const mtl_dataset *d, int n_ids) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    for (int r = 0; r < d->n && r < 1000; r++) {
        const float *x = d->x + (size_t)r * (size_t)d->length;
        for (int i = 0; i < d->length; i++) fprintf(f, i < n_ids ? "%s%.0f" : "%s%.9g", i ? " " : "", x[i]);
        fputc('\n', f);
    }
    return fclose(f) != 0;
}

int main(int argc, char **argv) {
    const char *data = NULL, *dump = NULL;
    int repeat = 3, group = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--data") && v) data = v, i++;
        else if (!strcmp(argv[i], "--dump") && v) dump = v, i++;
        else if (!strcmp(argv[i], "--repeat") && v) repeat = atoi(v), i++;
        else if (!strcmp(argv[i], "--group") && v) group = atoi(v), i++;
        else {
            fprintf(stderr, "usage: bench_tabular_read [--data DIR] [--group 1|2] [--repeat N] [--dump FILE]\n");
            return strcmp(argv[i], "--help") && strcmp(argv[i], "-h") ? 2 : 0;
        }
    }
    if (repeat < 1 || repeat > 1000) {
        fprintf(stderr, "bench_tabular_read: --repeat %d (expected 1..1000)\n", repeat);
        return 2;
    }
    char dir[1024];
    const char *env = getenv("MTL_DATA");
    if (data) snprintf(dir, sizeof dir, "%s", data);
    else if (env && *env) snprintf(dir, sizeof dir, "%s/census-income", env);
    else snprintf(dir, sizeof dir, "../shared/data/census-income");
    char train_path[MTL_PATH_MAX], test_path[MTL_PATH_MAX];
    if (mtl_census_files(dir, train_path, test_path, sizeof train_path)) {
        fprintf(stderr, "bench_tabular_read: %s\n", mtl_last_error());
        return 1;
    }
    double *ms = malloc((size_t)repeat * sizeof *ms);
    mtl_tab_schema *schema = malloc(sizeof *schema);
    if (!ms || !schema) return 1;
    mtl_tab_encoder *enc = NULL;
    mtl_dataset train = {0}, test = {0};
    for (int r = 0; r < repeat; r++) {
        mtl_tab_encoder_free(enc);
        mtl_dataset_free(&train);
        mtl_dataset_free(&test);
        enc = NULL;
        double t0 = now_seconds();
        mtl_status s = mtl_tab_schema_census(group, NULL, schema);
        if (!s) s = mtl_tab_fit(schema, train_path, &enc, &train);
        if (!s) s = mtl_tab_encode_file(enc, test_path, true, &test);
        ms[r] = 1e3 * (now_seconds() - t0);
        if (s) {
            fprintf(stderr, "bench_tabular_read: %s\n", mtl_last_error());
            return 1;
        }
    }
    double *sorted = malloc((size_t)repeat * sizeof *sorted);
    if (!sorted) return 1;
    memcpy(sorted, ms, (size_t)repeat * sizeof *ms);
    qsort(sorted, (size_t)repeat, sizeof *sorted, cmp_double);
    double med = repeat % 2 ? sorted[repeat / 2] : 0.5 * (sorted[repeat / 2 - 1] + sorted[repeat / 2]);
    int n_ids = mtl_tab_encoder_n_ids(enc);
    printf("{\n  \"bench\": \"tabular_read\",\n  \"group\": %d,\n  \"train\": \"%s\",\n  \"test\": \"%s\",\n", group,
           train_path, test_path);
    printf("  \"repeat\": %d,\n  \"ms_median\": %.3f,\n  \"ms_all\": [", repeat, med);
    for (int r = 0; r < repeat; r++) printf("%s%.3f", r ? ", " : "", ms[r]);
    printf("],\n  \"rows\": %d,\n  \"n_ids\": %d,\n  \"n_cont\": %d,\n", train.n + test.n, n_ids,
           mtl_tab_encoder_n_cont(enc));
    print_sums("train", &train, n_ids);
    print_sums("test", &test, n_ids);
    printf("  \"vocab\": [");
    for (int i = 0; i < n_ids; i++) printf("%s%d", i ? ", " : "", mtl_tab_encoder_vocab(enc, i));
    printf("]\n}\n");
    int rc = dump ? dump_rows(dump, &test, n_ids) : 0;
    mtl_tab_encoder_free(enc);
    mtl_dataset_free(&train);
    mtl_dataset_free(&test);
    free(ms);
    free(sorted);
    free(schema);
    return rc;
}
