/* Tables (text, markdown, CSV), t-SNE and the HTML report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "mtl/report.h"





static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* ==== tables ========================================================================= */

/* "±" is 2 bytes but one column; a cell with a comma and quotes; a pipe; empty trailing cells */
static mtl_table *small_table(void) {
    const char *header[] = {"method", "accuracy", "note"};
    const char *r0[] = {"mtagn", "99.5 \xC2\xB1 0.2", "a, \"b\""};
    const char *r1[] = {"stl", "9.1 \xC2\xB1 10.3", "x|y"};
    const char *r2[] = {"avg", NULL, NULL};
    mtl_table *t = NULL;
    CHECK_OK(mtl_table_create(&t, "Results", 3, header));
    if (!t) return NULL;
    CHECK_OK(mtl_table_add_row(t, r0));
    CHECK_OK(mtl_table_add_row(t, r1));
    CHECK_OK(mtl_table_add_row(t, r2));
    CHECK_OK(mtl_table_set_note(t, "\xC2\xB1 is one std over 5 seeds"));
    return t;
}

typedef mtl_status (*print_fn)(const mtl_table *, FILE *);
static char *print_to_string(const mtl_table *t, print_fn fn) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    CHECK_OK(fn(t, f));
    fclose(f);
    return buf;
}

static void table_accessors(void) {
    mtl_table *t = small_table();
    if (!t) return;
    CHECK(mtl_table_rows(t) == 3 && mtl_table_cols(t) == 3, "rows %d cols %d", mtl_table_rows(t), mtl_table_cols(t));
    CHECK(!strcmp(mtl_table_title(t), "Results"), "title");
    CHECK(!strcmp(mtl_table_header(t, 1), "accuracy"), "header 1");
    CHECK(!strcmp(mtl_table_cell(t, 1, 2), "x|y"), "cell 1,2");
    CHECK(!strcmp(mtl_table_cell(t, 2, 2), ""), "a NULL cell reads as empty");
    CHECK(mtl_table_cell(t, 3, 0) == NULL && mtl_table_cell(t, 0, 3) == NULL && mtl_table_cell(t, -1, 0) == NULL,
          "out-of-range cells are NULL");
    CHECK(mtl_table_header(t, 3) == NULL, "out-of-range header is NULL");
    mtl_table_free(t);
}

static void table_text_exact(void) {
    mtl_table *t = small_table();
    if (!t) return;
    char *s = print_to_string(t, mtl_table_print);
    const char *want = "Results\n"
                       "method    accuracy  note\n"
                       "------  ----------  ------\n"
                       "mtagn   99.5 \xC2\xB1 0.2  a, \"b\"\n"
                       "stl     9.1 \xC2\xB1 10.3  x|y\n"
                       "avg\n"
                       "\xC2\xB1 is one std over 5 seeds\n";
    CHECK(s && !strcmp(s, want), "text table:\n%s\nwanted:\n%s", s ? s : "(null)", want);
    free(s);
    mtl_table_free(t);
}

static void table_markdown_exact(void) {
    mtl_table *t = small_table();
    if (!t) return;
    char *s = print_to_string(t, mtl_table_print_markdown);
    const char *want = "**Results**\n\n"
                       "| method | accuracy   | note   |\n"
                       "|--------|-----------:|--------|\n"
                       "| mtagn  | 99.5 \xC2\xB1 0.2 | a, \"b\" |\n"
                       "| stl    | 9.1 \xC2\xB1 10.3 | x\\|y   |\n"
                       "| avg    |            |        |\n"
                       "\n\xC2\xB1 is one std over 5 seeds\n";
    CHECK(s && !strcmp(s, want), "markdown table:\n%s\nwanted:\n%s", s ? s : "(null)", want);
    free(s);
    mtl_table_free(t);
}

static void table_csv_exact(void) {
    mtl_table *t = small_table();
    if (!t) return;
    const char *path = th_tmp_path("t.csv");
    CHECK_OK(mtl_table_write_csv(t, path));
    char *s = th_read_file(path, NULL);
    const char *want = "method,accuracy,note\r\n"
                       "mtagn,99.5 \xC2\xB1 0.2,\"a, \"\"b\"\"\"\r\n"
                       "stl,9.1 \xC2\xB1 10.3,x|y\r\n"
                       "avg,,\r\n";
    CHECK(s && !strcmp(s, want), "csv:\n%s\nwanted:\n%s", s ? s : "(null)", want);
    CHECK(!th_exists(th_tmp_path("t.csv.tmp")), "temporary file left behind");
    free(s);
    remove(path);
    mtl_table_free(t);
}

static void table_errors(void) {
    const char *header[] = {"a", "b"};
    mtl_table *t = NULL;
    CHECK(mtl_table_create(&t, "x", 0, header) == MTL_ERR_ARG && t == NULL, "0 columns accepted");
    CHECK(mtl_table_create(&t, "x", -3, header) == MTL_ERR_ARG, "negative columns accepted");
    CHECK(mtl_table_create(&t, "x", 2, NULL) == MTL_ERR_ARG, "NULL header accepted");
    CHECK(mtl_table_create(NULL, "x", 2, header) == MTL_ERR_ARG, "NULL out accepted");
    CHECK(strstr(mtl_last_error(), "table_create") != NULL, "message names the call: %s", mtl_last_error());
    CHECK_OK(mtl_table_create(&t, NULL, 2, header));
    if (!t) return;
    CHECK(mtl_table_add_row(t, NULL) == MTL_ERR_ARG, "NULL row accepted");
    CHECK(mtl_table_add_row(NULL, header) == MTL_ERR_ARG, "NULL table accepted");
    CHECK(mtl_table_rows(t) == 0, "a rejected row was added");
    CHECK(mtl_table_print(t, NULL) == MTL_ERR_ARG, "NULL FILE accepted");
    CHECK(mtl_table_print_markdown(NULL, stdout) == MTL_ERR_ARG, "NULL table printed");
    CHECK(mtl_table_write_csv(t, NULL) == MTL_ERR_ARG, "NULL path accepted");
    const char *bad = th_tmp_path("no/such/dir/t.csv");
    CHECK(mtl_table_write_csv(t, bad) == MTL_ERR_IO, "write into a missing directory: %s", mtl_last_error());
    CHECK(!th_exists(bad), "file created");
    /* many rows: growth keeps every row */
    for (int i = 0; i < 100; i++) {
        char a[16];
        snprintf(a, sizeof a, "%d", i);
        const char *row[] = {a, "y"};
        CHECK_OK(mtl_table_add_row(t, row));
    }
    CHECK(mtl_table_rows(t) == 100 && !strcmp(mtl_table_cell(t, 99, 0), "99"), "rows after growth");
    mtl_table_free(t);
    mtl_table_free(NULL);
}

/* ==== t-SNE ========================================================================== */

#define BLOB_N 50
#define BLOB_D 10

/* two Gaussian blobs in 10-D: class 0 around 0, class 1 around (6, ..., 6) */
static void blobs(float *x, int32_t *label) {
    mtl_rng r;
    mtl_rng_init(&r, 42, 7);
    mtl_rng_normal(&r, x, 2 * BLOB_N * BLOB_D, 0.0f, 1.0f);
    for (int i = 0; i < 2 * BLOB_N; i++) {
        label[i] = i % 2; /* interleaved, so order gives nothing away */
        for (int k = 0; k < BLOB_D; k++) x[i * BLOB_D + k] += label[i] ? 6.0f : 0.0f;
    }
}

static void tsne_separates_blobs(void) {
    float x[2 * BLOB_N * BLOB_D], y[2 * BLOB_N * 2];
    int32_t label[2 * BLOB_N];
    blobs(x, label);
    CHECK_OK(mtl_tsne(x, 2 * BLOB_N, BLOB_D, 15.0, 1000, 3, y));
    double cen[2][2] = {{0, 0}, {0, 0}}, mean[2] = {0, 0};
    for (int i = 0; i < 2 * BLOB_N; i++)
        for (int k = 0; k < 2; k++) {
            cen[label[i]][k] += y[2 * i + k] / BLOB_N;
            mean[k] += y[2 * i + k] / (2 * BLOB_N);
        }
    int right = 0;
    for (int i = 0; i < 2 * BLOB_N; i++) {
        double d[2];
        for (int c = 0; c < 2; c++)
            d[c] = pow(y[2 * i] - cen[c][0], 2) + pow(y[2 * i + 1] - cen[c][1], 2);
        right += (d[1] < d[0]) == (label[i] == 1);
    }
    CHECK(right == 2 * BLOB_N, "nearest centroid in 2-D: %d of %d right", right, 2 * BLOB_N);
    double gap = sqrt(pow(cen[0][0] - cen[1][0], 2) + pow(cen[0][1] - cen[1][1], 2));
    CHECK(gap > 1.0, "blob centroids only %g apart", gap);
    CHECK(fabs(mean[0]) < 1e-3 * gap && fabs(mean[1]) < 1e-3 * gap, "embedding not centred: %g %g", mean[0], mean[1]);
}

static void tsne_deterministic(void) {
    float x[2 * BLOB_N * BLOB_D], a[4 * BLOB_N], b[4 * BLOB_N], c[4 * BLOB_N], d[4 * BLOB_N];
    int32_t label[2 * BLOB_N];
    blobs(x, label);
    int threads = mtl_get_threads();
    CHECK_OK(mtl_set_threads(1));
    CHECK_OK(mtl_tsne(x, 2 * BLOB_N, BLOB_D, 10.0, 300, 5, a));
    CHECK_OK(mtl_tsne(x, 2 * BLOB_N, BLOB_D, 10.0, 300, 5, b));
    CHECK_OK(mtl_set_threads(2));
    CHECK_OK(mtl_tsne(x, 2 * BLOB_N, BLOB_D, 10.0, 300, 5, c));
    CHECK_OK(mtl_tsne(x, 2 * BLOB_N, BLOB_D, 10.0, 300, 6, d));
    CHECK_OK(mtl_set_threads(threads));
    CHECK(!memcmp(a, b, sizeof a), "same seed, different result");
    CHECK(!memcmp(a, c, sizeof a), "result depends on the thread count");
    CHECK(memcmp(a, d, sizeof a) != 0, "a different seed gave the same layout");
}

static void tsne_rejects_bad_input(void) {
    float x[2 * BLOB_N * BLOB_D], y[4 * BLOB_N];
    int32_t label[2 * BLOB_N];
    blobs(x, label);
    CHECK(mtl_tsne(x, 4, BLOB_D, 1.0, 10, 0, y) == MTL_ERR_ARG, "n = 4 accepted");
    CHECK(strstr(mtl_last_error(), "tsne") != NULL, "message: %s", mtl_last_error());
    CHECK(mtl_tsne(x, 20, BLOB_D, 20.0, 10, 0, y) == MTL_ERR_ARG, "perplexity = n accepted");
    CHECK(mtl_tsne(x, 20, BLOB_D, 25.0, 10, 0, y) == MTL_ERR_ARG, "perplexity > n accepted");
    CHECK(mtl_tsne(x, 20, BLOB_D, 0.0, 10, 0, y) == MTL_ERR_ARG, "perplexity 0 accepted");
    CHECK(mtl_tsne(x, 20, BLOB_D, NAN, 10, 0, y) == MTL_ERR_ARG, "perplexity NaN accepted");
    CHECK(mtl_tsne(x, 20, 0, 5.0, 10, 0, y) == MTL_ERR_ARG, "d = 0 accepted");
    CHECK(mtl_tsne(NULL, 20, BLOB_D, 5.0, 10, 0, y) == MTL_ERR_ARG, "NULL x accepted");
    CHECK(mtl_tsne(x, 20, BLOB_D, 5.0, 10, 0, NULL) == MTL_ERR_ARG, "NULL y accepted");
    CHECK(mtl_tsne(x, 20, BLOB_D, 5.0, -1, 0, y) == MTL_ERR_ARG, "negative iterations accepted");
    x[3 * BLOB_D + 4] = NAN;
    CHECK(mtl_tsne(x, 20, BLOB_D, 5.0, 10, 0, y) == MTL_ERR_NUMERIC, "NaN feature accepted");
}

/* ==== the HTML report ================================================================== */

#define EPOCHS 6
#define POINTS 60
#define FEAT 6

typedef struct {
    double loss[4][EPOCHS], loss_std[4][EPOCHS], acc[4][EPOCHS], w[2][EPOCHS];
    mtl_series loss_s[4], acc_s[4], w_s[2];
    int64_t cm0[9], cm1[4];
    float att[2][2][8], att_cls[2][2][3 * 8];
    float feat[2][POINTS * FEAT];
    int32_t lab[2][POINTS];
    mtl_table *tables[3];
    const char *chart[3];
} report_data;

static const char *const classes0[] = {"normal", "inner & ball", "outer"};

static void make_tables(report_data *d) {
    const char *h0[] = {"method", "fault <type>", "severity"};
    const char *h1[] = {"SNR (dB)", "mtagn", "stl"};
    const char *h2[] = {"load", "mtagn"};
    CHECK_OK(mtl_table_create(&d->tables[0], "Summary", 3, h0));
    CHECK_OK(mtl_table_create(&d->tables[1], "Noise", 3, h1));
    CHECK_OK(mtl_table_create(&d->tables[2], "Cross-load", 2, h2));
    if (!d->tables[0] || !d->tables[1] || !d->tables[2]) return;
    const char *s0[] = {"mtagn", "99.1 \xC2\xB1 0.3", "97.0 \xC2\xB1 1.1"};
    CHECK_OK(mtl_table_add_row(d->tables[0], s0));
    CHECK_OK(mtl_table_set_note(d->tables[0], "mean \xC2\xB1 std over 5 seeds"));
    const char *n0[] = {"-4", "80.2 \xC2\xB1 2.0", "71.5 +/- 3.1"};
    const char *n1[] = {"0", "91.0 \xC2\xB1 1.0", "85.0%"};
    const char *n2[] = {"4", "97.5 \xC2\xB1 0.5", "n/a"};
    CHECK_OK(mtl_table_add_row(d->tables[1], n0));
    CHECK_OK(mtl_table_add_row(d->tables[1], n1));
    CHECK_OK(mtl_table_add_row(d->tables[1], n2));
    const char *c0[] = {"0 -> 1", "98.0"}, *c1[] = {"1 -> 2", "96.5"};
    CHECK_OK(mtl_table_add_row(d->tables[2], c0));
    CHECK_OK(mtl_table_add_row(d->tables[2], c1));
    d->chart[0] = NULL;
    d->chart[1] = "SNR (dB)";
    d->chart[2] = "source -> target load";
}

static void make_report(report_data *d, mtl_report *r) {
    memset(d, 0, sizeof *d);
    memset(r, 0, sizeof *r);
    static const char *const labels[4] = {"fault train", "fault val", "severity train", "severity val"};
    for (int s = 0; s < 4; s++) {
        for (int e = 0; e < EPOCHS; e++) {
            d->loss[s][e] = (s + 1.0) / (e + 1.0);
            d->loss_std[s][e] = 0.1 / (e + 1.0);
            d->acc[s][e] = 1.0 - 0.5 / (e + 1.0 + s);
        }
        d->loss_s[s] = (mtl_series){labels[s], d->loss[s], d->loss_std[s]};
        d->acc_s[s] = (mtl_series){labels[s], d->acc[s], NULL};
    }
    d->acc[1][2] = NAN; /* a missing validation point leaves a gap */
    for (int e = 0; e < EPOCHS; e++) d->w[0][e] = 1.0 + 0.1 * e, d->w[1][e] = 1.0 - 0.1 * e;
    d->w_s[0] = (mtl_series){"fault", d->w[0], NULL};
    d->w_s[1] = (mtl_series){"severity", d->w[1], NULL};
    const int64_t cm0[9] = {20, 0, 0, 1, 17, 2, 0, 3, 17}, cm1[4] = {28, 2, 4, 26};
    memcpy(d->cm0, cm0, sizeof cm0);
    memcpy(d->cm1, cm1, sizeof cm1);
    th_fill(&d->att[0][0][0], 2 * 2 * 8, 11, 0.2f, 0.9f);
    th_fill(&d->att_cls[0][0][0], 2 * 2 * 24, 12, 0.2f, 0.9f);
    th_fill(&d->feat[0][0], 2 * POINTS * FEAT, 13, -1.0f, 1.0f);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < POINTS; i++) {
            d->lab[k][i] = i % (k ? 2 : 3);
            d->feat[k][i * FEAT + d->lab[k][i]] += 5.0f;
        }
    make_tables(d);

    r->title = "mtagn on <synthetic> data";
    r->subtitle = "mtl train --model mtagn --seeds 5";
    r->n_tasks = 2;
    r->task_names[0] = "fault <type>";
    r->task_names[1] = "severity";
    r->n_classes[0] = 3;
    r->n_classes[1] = 2;
    r->class_names[0] = classes0;
    r->n_epochs = EPOCHS;
    r->n_loss = 4, r->n_acc = 4, r->n_weight = 2;
    r->loss = d->loss_s, r->acc = d->acc_s, r->weight = d->w_s;
    r->confusion[0] = d->cm0;
    r->confusion[1] = d->cm1;
    r->n_stages = 2;
    r->stage_channels[0] = 4;
    r->stage_channels[1] = 8;
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 2; s++) {
            r->attention[k][s] = d->att[k][s];
            r->attention_by_class[k][s] = d->att_cls[k][s];
        }
    r->n_points = POINTS;
    for (int k = 0; k < 2; k++) {
        r->feat_dim[k] = FEAT;
        r->features[k] = d->feat[k];
        r->feature_labels[k] = d->lab[k];
    }
    r->n_tables = 3;
    r->tables = (const mtl_table *const *)d->tables;
    r->chart = d->chart;
    r->footer = "mtl 0.1.0 <test>";
}

static void free_report(report_data *d) {
    for (int i = 0; i < 3; i++) mtl_table_free(d->tables[i]);
}

/* "http://" or "https://" only as the SVG namespace */
static void check_offline(const char *html) {
    CHECK(!strstr(html, "<script"), "the report has a script");
    CHECK(!strstr(html, "https://"), "the report has an https URL");
    const char *ns = "http://www.w3.org/2000/svg";
    for (const char *p = strstr(html, "http://"); p; p = strstr(p + 1, "http://"))
        CHECK(!strncmp(p, ns, strlen(ns)), "a URL other than the SVG namespace: %.40s", p);
    CHECK(!strstr(html, "url("), "the report loads a resource through url()");
}

static void report_full(void) {
    report_data d;
    mtl_report r;
    make_report(&d, &r);
    const char *path = th_tmp_path("full.html");
    CHECK_OK(mtl_report_write_html(&r, path));
    char *html = th_read_file(path, NULL);
    CHECK(html != NULL, "no report at %s", path);
    CHECK(!th_exists(th_tmp_path("full.html.tmp")), "temporary file left behind");
    if (html) {
        check_offline(html);
        CHECK(strstr(html, "<!DOCTYPE html>") == html, "not an HTML document");
        CHECK(strstr(html, "</html>") != NULL, "document not closed");
        /* 2 table charts + loss, accuracy, weights + 2 attention stages + 2 confusion + 2 x 2 by class + 2 t-SNE */
        CHECK(count_of(html, "<svg") == 15, "%d charts, expected 15", count_of(html, "<svg"));
        CHECK(count_of(html, "<svg") == count_of(html, "</svg>"), "unbalanced svg elements");
        CHECK(strstr(html, "<section id=\"task-0\">") && strstr(html, "<section id=\"task-1\">"),
              "a task section is missing");
        CHECK(strstr(html, "Task: fault &lt;type&gt;") != NULL, "task name not escaped");
        CHECK(strstr(html, "Task: severity") != NULL, "task 1 heading");
        CHECK(!strstr(html, "fault <type>") && !strstr(html, "<synthetic>") && !strstr(html, "<test>"),
              "unescaped text");
        CHECK(strstr(html, "inner &amp; ball") != NULL, "class name not escaped");
        CHECK(strstr(html, "mtagn on &lt;synthetic&gt; data") != NULL, "title");
        CHECK(strstr(html, "mtl train --model mtagn --seeds 5") != NULL, "subtitle");
        CHECK(strstr(html, "mean \xC2\xB1 std over 5 seeds") != NULL, "table note");
        CHECK(count_of(html, "<table>") == 3, "%d tables, expected 3", count_of(html, "<table>"));
        CHECK(strstr(html, "0 -&gt; 1") != NULL, "categorical x label of the cross-load chart");
        CHECK(strstr(html, "SNR (dB)") != NULL, "chart x label");
        CHECK(strstr(html, "accuracy 90.00 %") != NULL, "task 0 accuracy (54 of 60)");
        CHECK(strlen(html) < 150000, "report is %zu bytes", strlen(html));
    }
    free(html);
    remove(path);
    free_report(&d);
}

static void report_tables_only(void) {
    report_data d;
    mtl_report full, r;
    make_report(&d, &full);
    memset(&r, 0, sizeof r);
    r.title = "tables";
    r.n_tables = 1;
    r.tables = full.tables;
    const char *path = th_tmp_path("tables.html");
    CHECK_OK(mtl_report_write_html(&r, path));
    char *html = th_read_file(path, NULL);
    CHECK(html != NULL, "no report");
    if (html) {
        check_offline(html);
        CHECK(strstr(html, "<table>") != NULL, "no table");
        CHECK(!strstr(html, "<svg"), "a chart without a chart label");
        CHECK(!strstr(html, "id=\"curves\"") && !strstr(html, "id=\"task-"), "empty sections");
    }
    free(html);
    r.tables = full.tables + 1; /* the noise table, now with its chart */
    r.chart = full.chart + 1;
    CHECK_OK(mtl_report_write_html(&r, path));
    html = th_read_file(path, NULL);
    CHECK(html && count_of(html, "<svg") == 1, "one chart for the noise table");
    free(html);
    remove(path);
    free_report(&d);
}

static void report_errors(void) {
    report_data d;
    mtl_report r;
    make_report(&d, &r);
    const char *bad = th_tmp_path("missing/dir/r.html");
    CHECK(mtl_report_write_html(&r, bad) == MTL_ERR_IO, "write into a missing directory: %s", mtl_last_error());
    CHECK(!th_exists(bad), "file left behind");
    CHECK(!th_exists(th_tmp_path("missing/dir/r.html.tmp")), "temporary file left behind");
    const char *path = th_tmp_path("bad.html");
    CHECK(mtl_report_write_html(NULL, path) == MTL_ERR_ARG, "NULL report");
    CHECK(mtl_report_write_html(&r, NULL) == MTL_ERR_ARG, "NULL path");
    r.n_tasks = 9;
    CHECK(mtl_report_write_html(&r, path) == MTL_ERR_ARG, "9 tasks accepted");
    r.n_tasks = 2;
    d.lab[1][7] = 2; /* task 1 has 2 classes */
    CHECK(mtl_report_write_html(&r, path) == MTL_ERR_RANGE, "label out of range accepted: %s", mtl_last_error());
    CHECK(strstr(mtl_last_error(), "feature_labels[1][7]") != NULL, "message: %s", mtl_last_error());
    d.lab[1][7] = 1;
    d.feat[0][5] = NAN; /* t-SNE fails half-way through the document */
    CHECK(mtl_report_write_html(&r, path) == MTL_ERR_NUMERIC, "NaN feature accepted: %s", mtl_last_error());
    CHECK(!th_exists(path) && !th_exists(th_tmp_path("bad.html.tmp")), "a failed report left a file");
    d.feat[0][5] = 0;
    d.loss_s[2].mean = NULL;
    CHECK(mtl_report_write_html(&r, path) == MTL_ERR_ARG, "series without values accepted");
    free_report(&d);
}

/* more points than the t-SNE cap: a stratified subset keeps each class's share */
static void report_tsne_subset(void) {
    enum { N = 1300, D = 3 };
    float *x = malloc(N * D * sizeof *x);
    int32_t *y = malloc(N * sizeof *y);
    CHECK(x && y, "out of memory");
    if (!x || !y) {
        free(x), free(y);
        return;
    }
    th_fill(x, N * D, 21, -1.0f, 1.0f);
    for (int i = 0; i < N; i++) y[i] = i < 100 ? 0 : 1 + i % 2; /* class 0: 100 points -> 77 of 1000 */
    for (int i = 0; i < N; i++) x[i * D + y[i] % D] += 4.0f;
    mtl_report r;
    memset(&r, 0, sizeof r);
    r.n_tasks = 1;
    r.n_classes[0] = 3;
    r.n_points = N;
    r.feat_dim[0] = D;
    r.features[0] = x;
    r.feature_labels[0] = y;
    const char *path = th_tmp_path("subset.html");
    CHECK_OK(mtl_report_write_html(&r, path));
    char *html = th_read_file(path, NULL);
    CHECK(html && strstr(html, "1000 test windows (a class-stratified subset of 1300)"), "subset caption");
    /* the class 0 path has one "h0" per point: 100 * 1000 / 1300 = 76.9 -> 77 */
    const char *p0 = html ? strstr(html, "stroke=\"#0072B2\"") : NULL;
    const char *end = p0 ? strstr(p0, "/>") : NULL;
    int dots = 0;
    for (const char *p = p0; p && p < end; p = strstr(p + 1, "h0")) dots += p != p0;
    CHECK(dots == 77, "%d points of class 0, expected 77", dots);
    free(html);
    remove(path);
    free(x), free(y);
}

int main(void) {
    if (!th_tmpdir_create("mtl_report")) return 1;
    RUN(table_accessors);
    RUN(table_text_exact);
    RUN(table_markdown_exact);
    RUN(table_csv_exact);
    RUN(table_errors);
    RUN(tsne_separates_blobs);
    RUN(tsne_deterministic);
    RUN(tsne_rejects_bad_input);
    RUN(report_full);
    RUN(report_tables_only);
    RUN(report_errors);
    RUN(report_tsne_subset);
    th_tmpdir_remove();
    return th_summary();
}
