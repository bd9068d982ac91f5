/* Tabular data (include/mtl/tabular.h): description files, the delimited-text reader
 * and the encoder on small files written to a temp folder (expected values computed
 * here, independently of the library), the census presets, the JSON round trip, the
 * split, every documented error, and the real census-income files when present (the
 * counts from the data README). Without the real data the synthetic tests still run
 * and the binary exits 77 (skipped) unless one of them failed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <zlib.h>

#include "harness.h"
#include "mtl/tabular.h"

static char census_dir[1100]; /* "" when the real data is missing */

static void write_text(const char *path, const char *text) { th_write_bytes(path, text, strlen(text)); }

static void write_gz(const char *path, const char *text) {
    gzFile g = gzopen(path, "wb");
    CHECK(g != NULL, "gzopen %s", path);
    if (!g) return;
    CHECK(gzwrite(g, text, (unsigned)strlen(text)) == (int)strlen(text), "gzwrite %s", path);
    CHECK(gzclose(g) == Z_OK, "gzclose %s", path);
}

/* the status is `want` and the message contains every needle (NULL: none) */
static void expect_error(mtl_status got, mtl_status want, const char *what, const char *n1, const char *n2,
                         const char *n3, const char *n4) {
    const char *msg = mtl_last_error();
    CHECK(got == want, "%s: status %s, want %s (%s)", what, mtl_status_name(got), mtl_status_name(want), msg);
    const char *needles[4] = {n1, n2, n3, n4};
    for (int i = 0; i < 4; i++)
        if (needles[i]) CHECK(strstr(msg, needles[i]) != NULL, "%s: message '%s' lacks '%s'", what, msg, needles[i]);
    CHECK(strchr(msg, '\n') == NULL, "%s: message spans lines: '%s'", what, msg);
}

static mtl_status parse(const char *text, mtl_tab_schema *s) { return mtl_tab_schema_parse(text, "test.desc", s); }

static float xat(const mtl_dataset *d, int row, int col) { return d->x[(size_t)row * (size_t)d->length + col]; }

/* FNV-1a 64 of "<index>:<text>" modulo buckets, written out here independently */
static int fnv_bucket(int index, const char *text, int buckets) {
    char s[256];
    snprintf(s, sizeof s, "%d:%s", index, text);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return (int)(h % (uint64_t)buckets);
}

static bool same_schema(const mtl_tab_schema *a, const mtl_tab_schema *b) {
    if (strcmp(a->delimiter, b->delimiter) || a->header != b->header || strcmp(a->missing, b->missing) ||
        strcmp(a->strip, b->strip) || a->n_cols != b->n_cols || a->n_tasks != b->n_tasks ||
        a->hash_buckets != b->hash_buckets)
        return false;
    for (int c = 0; c < a->n_cols; c++)
        if (strcmp(a->cols[c].name, b->cols[c].name) || a->cols[c].kind != b->cols[c].kind ||
            a->cols[c].log1p != b->cols[c].log1p)
            return false;
    for (int k = 0; k < a->n_tasks; k++) {
        const mtl_tab_task *x = &a->tasks[k], *y = &b->tasks[k];
        if (strcmp(x->name, y->name) || x->column != y->column || x->multiclass != y->multiclass ||
            x->n_positive != y->n_positive)
            return false;
        for (int p = 0; p < x->n_positive; p++)
            if (strcmp(x->positive[p], y->positive[p])) return false;
    }
    return true;
}

/* ==== description files ========================================================= */

static void description_parse(void) {
    mtl_tab_schema s;
    CHECK_OK(parse("# a comment line\n"
                   "delimiter \"; \"   # trailing comment\n"
                   "header yes\r\n"
                   "missing NA\n"
                   "strip \".\"\n"
                   "\n"
                   "column \"first name\" nominal\n"
                   "column amount continuous log1p\n"
                   "column age continuous\n"
                   "column skip ignore\n"
                   "column \"say \\\"hi\\\" \\\\ #1\" nominal\n"
                   "column label nominal\n"
                   "task good binary label \"very good\" ok # two values\n"
                   "task kind multiclass \"first name\"\n",
                   &s));
    CHECK(!strcmp(s.delimiter, "; ") && s.header && !strcmp(s.missing, "NA") && !strcmp(s.strip, "."),
          "statements: delimiter '%s' header %d missing '%s' strip '%s'", s.delimiter, s.header, s.missing, s.strip);
    CHECK(s.n_cols == 6 && s.n_tasks == 2 && s.hash_buckets == 0, "%d columns, %d tasks", s.n_cols, s.n_tasks);
    CHECK(!strcmp(s.cols[0].name, "first name") && s.cols[0].kind == MTL_COL_NOMINAL, "quoted name '%s'",
          s.cols[0].name);
    CHECK(s.cols[1].kind == MTL_COL_CONTINUOUS && s.cols[1].log1p && !s.cols[2].log1p, "log1p flags");
    CHECK(s.cols[3].kind == MTL_COL_IGNORE, "ignore kind");
    CHECK(!strcmp(s.cols[4].name, "say \"hi\" \\ #1"), "escapes in quotes: '%s'", s.cols[4].name);
    CHECK(!strcmp(s.tasks[0].name, "good") && s.tasks[0].column == 5 && !s.tasks[0].multiclass &&
              s.tasks[0].n_positive == 2 && !strcmp(s.tasks[0].positive[0], "very good") &&
              !strcmp(s.tasks[0].positive[1], "ok"),
          "binary task: column %d, %d values", s.tasks[0].column, s.tasks[0].n_positive);
    CHECK(s.tasks[1].multiclass && s.tasks[1].column == 0, "multiclass task column %d", s.tasks[1].column);

    /* defaults, a tab delimiter, the hashed mode, a task before its column */
    CHECK_OK(parse("task t binary b 1\ndelimiter \"\\t\"\nhash 100\ncolumn a nominal\ncolumn b ignore\n", &s));
    CHECK(!strcmp(s.delimiter, "\t") && s.hash_buckets == 100 && s.tasks[0].column == 1 && !s.header &&
              !s.missing[0] && !s.strip[0],
          "tab delimiter / hash / forward column reference");
    CHECK_OK(parse("column a nominal\n", &s));
    CHECK(!strcmp(s.delimiter, ",") && !s.header && !s.missing[0], "default delimiter ','");

    /* write -> read gives the same schema (values with spaces, quotes, tabs, empty) */
    const char *tricky = "delimiter \"\\t\"\nmissing \"\"\nstrip \"x y\"\nhash 7\n"
                         "column \"a b\" nominal\ncolumn \"q\\\"#\" continuous log1p\ncolumn c ignore\n"
                         "task \"t 1\" binary c \"v \\\\ w\" z\ntask m multiclass \"a b\"\n";
    CHECK_OK(parse(tricky, &s));
    const char *path = th_tmp_path("written.desc");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot create %s", path);
    if (!f) return;
    CHECK_OK(mtl_tab_schema_write(&s, f));
    fclose(f);
    mtl_tab_schema back;
    CHECK_OK(mtl_tab_schema_read(path, &back));
    CHECK(same_schema(&s, &back), "schema_write then schema_read differs");
    CHECK(!strcmp(back.name, path), "the schema name is its path: '%s'", back.name);
}

static void description_errors(void) {
    mtl_tab_schema s;
    struct {
        const char *text, *line, *needle;
    } cases[] = {
        {"column a nominal\nfrobnicate 3\n", "test.desc:2", "frobnicate"},
        {"column a nominal\ncolumn b categorical\n", "test.desc:2", "categorical"},
        {"column a nominal\ntask t binary nope yes\n", "test.desc:2", "nope"},
        {"column a nominal\n\ntask t multiclass missing_col\n", "test.desc:3", "missing_col"},
        {"column a nominal\ncolumn a continuous\n", "test.desc:2", "twice"},
        {"column a nominal log1p\n", "test.desc:1", "log1p"},
        {"column a continuous sqrt\n", "test.desc:1", "sqrt"},
        {"column a nominal\nheader maybe\n", "test.desc:2", "maybe"},
        {"column a nominal\nhash -3\n", "test.desc:2", "hash"},
        {"column \"a nominal\n", "test.desc:1", "unterminated"},
        {"column \"a\\n\" nominal\n", "test.desc:1", "escape"},
        {"column a nominal\ntask t binary a\n", "test.desc:2", "positive"},
        {"column a nominal\ntask t multiclass a extra\n", "test.desc:2", "multiclass"},
        {"column a nominal\ndelimiter \"\"\n", "test.desc:2", "delimiter"},
        {"column a nominal\ntask t binary a 1\n", "test.desc", "no input columns"},
        {"# nothing\n", "test.desc", "no columns"},
        {"column aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa nominal\n", "test.desc:1", "too long"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mtl_status st = parse(cases[i].text, &s);
        expect_error(st, MTL_ERR_FORMAT, cases[i].text, cases[i].line, cases[i].needle, NULL, NULL);
        CHECK(s.n_cols == 0, "case %zu: a failed parse leaves an empty schema", i);
    }
    /* too many tasks / columns */
    char big[40000];
    size_t n = 0;
    for (int c = 0; c <= MTL_TAB_MAX_COLUMNS; c++)
        n += (size_t)snprintf(big + n, sizeof big - n, "column c%d nominal\n", c);
    expect_error(parse(big, &s), MTL_ERR_FORMAT, "257 columns", "too many columns", NULL, NULL, NULL);
    n = (size_t)snprintf(big, sizeof big, "column a nominal\ncolumn b ignore\n");
    for (int k = 0; k <= MTL_MAX_TASKS; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "task t%d binary b 1\n", k);
    expect_error(parse(big, &s), MTL_ERR_FORMAT, "9 tasks", "too many tasks", NULL, NULL, NULL);
    /* files */
    expect_error(mtl_tab_schema_read(th_tmp_path("no_such.desc"), &s), MTL_ERR_IO, "missing description",
                 "no_such.desc", NULL, NULL, NULL);
    const char *bin = th_tmp_path("binary.desc");
    th_write_bytes(bin, "column a\0 nominal\n", 18);
    expect_error(mtl_tab_schema_read(bin, &s), MTL_ERR_FORMAT, "NUL in description", "binary.desc", "not a text",
                 NULL, NULL);
    const char *bad = th_tmp_path("bad.desc");
    write_text(bad, "column a nominal\ncolumn b weird\n");
    expect_error(mtl_tab_schema_read(bad, &s), MTL_ERR_FORMAT, "bad kind in a file", "bad.desc:2", "weird", NULL,
                 NULL);
    expect_error(mtl_tab_schema_parse(NULL, "x", &s), MTL_ERR_ARG, "null text", NULL, NULL, NULL, NULL);
}

/* ==== the encoder on small files ================================================== */

static const char *DESC3 = "delimiter \", \"\nmissing ?\nstrip .\n"
                           "column colour nominal\ncolumn size continuous\ncolumn money continuous log1p\n"
                           "column junk ignore\ncolumn label nominal\n"
                           "task good binary label yes \"very yes\"\ntask shade multiclass colour\n";

static void vocabulary_and_ids(void) {
    const char *train = th_tmp_path("v_train.csv"), *test = th_tmp_path("v_test.csv");
    write_text(train, "red, 1, 0, a, yes.\n"
                      "blue, 2, 9, b, no.\n"
                      "red, 3, 99, c, very yes.\n"
                      "?, 4, 0, d, no.\n"
                      "green, 5, 1, e, no.\n");
    write_text(test, "green, 1, 0, x, yes.\n"
                     "purple, 2, 0, x, no.\n"
                     "?, 3, 0, x, no.\n"
                     "red, 3, 0, x, very yes.\n");
    mtl_tab_schema s;
    CHECK_OK(parse(DESC3, &s));
    /* shade reads colour: colour is not an input, so make a second schema with a label task only */
    mtl_tab_schema s2;
    CHECK_OK(parse("delimiter \", \"\nmissing ?\nstrip .\n"
                   "column colour nominal\ncolumn size continuous\ncolumn money continuous log1p\n"
                   "column junk nominal\ncolumn label nominal\ntask good binary label yes \"very yes\"\n",
                   &s2));
    mtl_tab_encoder *e = NULL;
    mtl_dataset d;
    CHECK_OK(mtl_tab_fit(&s2, train, &e, &d));
    if (!e) return;
    CHECK(mtl_tab_encoder_n_ids(e) == 2 && mtl_tab_encoder_n_cont(e) == 2, "n_ids %d n_cont %d",
          mtl_tab_encoder_n_ids(e), mtl_tab_encoder_n_cont(e));
    CHECK(mtl_tab_encoder_id_column(e, 0) == 0 && mtl_tab_encoder_id_column(e, 1) == 3 &&
              mtl_tab_encoder_cont_column(e, 0) == 1 && mtl_tab_encoder_cont_column(e, 1) == 2,
          "input columns");
    CHECK(mtl_tab_encoder_id_column(e, 2) == -1 && mtl_tab_encoder_vocab(e, 5) == 0, "out-of-range accessors");
    /* colour: red, blue, ?, green in order of first appearance: ids 1..4, table 5 rows */
    CHECK(mtl_tab_encoder_vocab(e, 0) == 5 && mtl_tab_encoder_vocab(e, 1) == 6, "vocab sizes %d %d",
          mtl_tab_encoder_vocab(e, 0), mtl_tab_encoder_vocab(e, 1));
    const float want_ids[5] = {1, 2, 1, 3, 4};
    for (int r = 0; r < 5 && d.x; r++) {
        CHECK(xat(&d, r, 0) == want_ids[r], "train row %d colour id %g, want %g", r, xat(&d, r, 0), want_ids[r]);
        CHECK(xat(&d, r, 1) == (float)(r + 1), "train row %d junk id %g", r, xat(&d, r, 1));
    }
    CHECK(d.n == 5 && d.channels == 1 && d.length == 4 && d.n_tasks == 1, "shape %d x %d x %d, %d tasks", d.n,
          d.channels, d.length, d.n_tasks);
    const int want_y[5] = {1, 0, 1, 0, 0}; /* "yes" and "very yes" (after stripping '.') */
    for (int r = 0; r < 5 && d.y[0]; r++) CHECK(d.y[0][r] == want_y[r], "train row %d label %d", r, d.y[0][r]);
    CHECK(d.n_classes[0] == 2 && !strcmp(d.task_names[0], "good") && !strcmp(d.class_names[0][1], "yes"),
          "binary task metadata");
    mtl_dataset t;
    CHECK_OK(mtl_tab_encode_file(e, test, true, &t));
    const float want_test[4] = {4, 0, 3, 1}; /* purple unseen -> 0; '?' is a value like any other */
    for (int r = 0; r < 4 && t.x; r++) {
        CHECK(xat(&t, r, 0) == want_test[r], "test row %d colour id %g, want %g", r, xat(&t, r, 0), want_test[r]);
        CHECK(xat(&t, r, 1) == 0, "test row %d: unseen junk 'x' gets id %g", r, xat(&t, r, 1));
    }
    const int want_ty[4] = {1, 0, 0, 1};
    for (int r = 0; r < 4 && t.y[0]; r++) CHECK(t.y[0][r] == want_ty[r], "test row %d label %d", r, t.y[0][r]);
    /* without labels: y all 0, n_classes still set */
    mtl_dataset u;
    CHECK_OK(mtl_tab_encode_file(e, test, false, &u));
    CHECK(u.n == 4 && u.n_tasks == 1 && u.n_classes[0] == 2, "unlabelled: %d rows %d tasks", u.n, u.n_tasks);
    for (int r = 0; r < u.n && u.y[0]; r++) CHECK(u.y[0][r] == 0, "unlabelled row %d has label %d", r, u.y[0][r]);
    CHECK(u.x && t.x && !memcmp(u.x, t.x, sizeof(float) * 16), "inputs do not depend on labels");
    mtl_dataset_free(&d);
    mtl_dataset_free(&t);
    mtl_dataset_free(&u);
    mtl_tab_encoder_free(e);

    /* the multi-class task: classes in order of first appearance, its column not an input */
    CHECK_OK(mtl_tab_fit(&s, train, &e, &d));
    if (!e) return;
    CHECK(mtl_tab_encoder_n_ids(e) == 0 && mtl_tab_encoder_n_cont(e) == 2, "colour read by a task is no input");
    CHECK(d.n_tasks == 2 && d.n_classes[1] == 4 && !strcmp(d.task_names[1], "shade"), "multiclass: %d classes",
          d.n_classes[1]);
    CHECK(!strcmp(d.class_names[1][0], "red") && !strcmp(d.class_names[1][1], "blue") &&
              !strcmp(d.class_names[1][2], "?") && !strcmp(d.class_names[1][3], "green"),
          "class names");
    const int want_c[5] = {0, 1, 0, 2, 3};
    for (int r = 0; r < 5 && d.y[1]; r++) CHECK(d.y[1][r] == want_c[r], "row %d class %d", r, d.y[1][r]);
    CHECK_OK(mtl_dataset_validate(&d, "multiclass train"));
    expect_error(mtl_tab_encode_file(e, test, true, &t), MTL_ERR_FORMAT, "unseen class", "v_test.csv:2", "purple",
                 "shade", NULL);
    CHECK(t.x == NULL && t.n == 0, "a failed encode leaves an empty dataset");
    CHECK_OK(mtl_tab_encode_file(e, test, false, &t)); /* scoring: task cells not read */
    mtl_dataset_free(&t);
    mtl_dataset_free(&d);
    mtl_tab_encoder_free(e);
}

static void continuous_values(void) {
    const char *train = th_tmp_path("c_train.csv"), *test = th_tmp_path("c_test.csv");
    /* size, money (log1p), constant, plus a missing size */
    write_text(train, "a,1.5,0,7\nb,2.5,10,7\nc,?,1000,7\nd,-4,0.5,7\ne,10,3e2,7\n");
    write_text(test, "a,3,5,7\nb,?,0,8\n");
    mtl_tab_schema s;
    CHECK_OK(parse("missing ?\ncolumn id ignore\ncolumn size continuous\ncolumn money continuous log1p\n"
                   "column flat continuous\n",
                   &s));
    mtl_tab_encoder *e = NULL;
    mtl_dataset d;
    CHECK_OK(mtl_tab_fit(&s, train, &e, &d));
    if (!e || !d.x) return;
    CHECK(d.n_tasks == 0 && d.length == 3, "no tasks, 3 continuous inputs (length %d)", d.length);
    /* independent statistics: population std over the non-missing values */
    const double size[4] = {1.5, 2.5, -4, 10}, money[5] = {0, 10, 1000, 0.5, 300};
    double ms = 0, mm = 0, vs = 0, vm = 0;
    for (int i = 0; i < 4; i++) ms += size[i] / 4;
    for (int i = 0; i < 5; i++) mm += log1p(money[i]) / 5;
    for (int i = 0; i < 4; i++) vs += (size[i] - ms) * (size[i] - ms) / 4;
    for (int i = 0; i < 5; i++) vm += (log1p(money[i]) - mm) * (log1p(money[i]) - mm) / 5;
    double sd_s = sqrt(vs), sd_m = sqrt(vm);
    double mean, sd;
    mtl_tab_encoder_cont_stats(e, 0, &mean, &sd);
    CHECK_CLOSE(mean, ms, 1e-12, 1e-12, "size mean");
    CHECK_CLOSE(sd, sd_s, 1e-12, 1e-12, "size std");
    mtl_tab_encoder_cont_stats(e, 1, &mean, &sd);
    CHECK_CLOSE(mean, mm, 1e-12, 1e-12, "log1p money mean");
    CHECK_CLOSE(sd, sd_m, 1e-12, 1e-12, "log1p money std");
    mtl_tab_encoder_cont_stats(e, 2, &mean, &sd);
    CHECK(mean == 7 && sd == 1, "a constant column gets std 1 (mean %g std %g)", mean, sd);
    mtl_tab_encoder_cont_stats(e, 3, &mean, &sd);
    CHECK(isnan(mean) && isnan(sd), "stats of a column that does not exist are NaN");
    const int srow[4] = {0, 1, 3, 4};
    for (int i = 0; i < 4; i++) CHECK_CLOSE(xat(&d, srow[i], 0), (size[i] - ms) / sd_s, 1e-6, 1e-6, "size z-score");
    CHECK(xat(&d, 2, 0) == 0, "a missing value becomes 0 (got %g)", xat(&d, 2, 0));
    for (int i = 0; i < 5; i++)
        CHECK_CLOSE(xat(&d, i, 1), (log1p(money[i]) - mm) / sd_m, 1e-6, 1e-6, "log1p money z-score");
    for (int i = 0; i < 5; i++) CHECK(xat(&d, i, 2) == 0, "constant column row %d: %g", i, xat(&d, i, 2));
    mtl_dataset t;
    CHECK_OK(mtl_tab_encode_file(e, test, true, &t));
    if (t.x) {
        CHECK_CLOSE(xat(&t, 0, 0), (3 - ms) / sd_s, 1e-6, 1e-6, "test size");
        CHECK_CLOSE(xat(&t, 0, 1), (log1p(5) - mm) / sd_m, 1e-6, 1e-6, "test money");
        CHECK(xat(&t, 1, 0) == 0 && xat(&t, 1, 2) == 1, "test: missing -> 0, 8 on a constant 7 -> 1");
    }
    mtl_dataset_free(&t);
    mtl_dataset_free(&d);
    mtl_tab_encoder_free(e);
}

static void hashed_inputs(void) {
    const char *train = th_tmp_path("h_train.csv");
    write_text(train, "red,1.5,x,yes\nblue,2,y,no\ngreen,-3,x,no\n");
    mtl_tab_schema s;
    CHECK_OK(parse("hash 50\ncolumn colour nominal\ncolumn size continuous log1p\ncolumn skip ignore\n"
                   "column label ignore\ntask good binary label yes\n",
                   &s));
    mtl_tab_encoder *e = NULL, *e2 = NULL;
    mtl_dataset d, d2;
    CHECK_OK(mtl_tab_fit(&s, train, &e, &d));
    CHECK_OK(mtl_tab_fit(&s, train, &e2, &d2));
    if (!e || !e2 || !d.x || !d2.x) return;
    CHECK(mtl_tab_encoder_n_ids(e) == 2 && mtl_tab_encoder_n_cont(e) == 0, "hashed: every input is an id");
    CHECK(mtl_tab_encoder_vocab(e, 0) == 50 && mtl_tab_encoder_vocab(e, 1) == 50, "hashed: one table of 50");
    const char *colour[3] = {"red", "blue", "green"}, *size[3] = {"1.5", "2", "-3"}; /* -3: text, no log1p */
    for (int r = 0; r < 3; r++) {
        CHECK(xat(&d, r, 0) == (float)fnv_bucket(0, colour[r], 50), "row %d colour bucket %g, want %d", r,
              xat(&d, r, 0), fnv_bucket(0, colour[r], 50));
        CHECK(xat(&d, r, 1) == (float)fnv_bucket(1, size[r], 50), "row %d size bucket %g, want %d", r, xat(&d, r, 1),
              fnv_bucket(1, size[r], 50));
        CHECK(xat(&d, r, 0) >= 0 && xat(&d, r, 0) < 50 && xat(&d, r, 1) >= 0 && xat(&d, r, 1) < 50, "in range");
    }
    CHECK(!memcmp(d.x, d2.x, sizeof(float) * 6), "hashed ids are stable across fits");
    mtl_dataset_free(&d);
    mtl_dataset_free(&d2);
    mtl_tab_encoder_free(e);
    mtl_tab_encoder_free(e2);
}

static void file_forms(void) {
    mtl_tab_schema s, sh;
    CHECK_OK(parse("delimiter \" | \"\nstrip \";\"\ncolumn a nominal\ncolumn b continuous\ncolumn y ignore\n"
                   "task t binary y 1\n",
                   &s));
    CHECK_OK(parse("header yes\ncolumn a nominal\ncolumn b continuous\ncolumn y ignore\ntask t binary y 1\n", &sh));
    /* \r\n endings, blank lines, a last line without newline, the strip suffix */
    const char *text = "p | 1 | 1;\r\n\r\n   \nq | 2 | 0;\n\nr | 3 | 1";
    const char *plain = th_tmp_path("forms.txt"), *gz = th_tmp_path("forms.txt.gz"), *gz2 = th_tmp_path("forms.dat");
    write_text(plain, text);
    write_gz(gz, text);
    write_gz(gz2, text); /* gzip recognised by content, not name */
    mtl_tab_encoder *e = NULL;
    mtl_dataset a, b, c;
    CHECK_OK(mtl_tab_fit(&s, plain, &e, &a));
    if (!e || !a.x) return;
    CHECK(a.n == 3, "3 rows (blank lines skipped), got %d", a.n);
    const int want[3] = {1, 0, 1};
    for (int r = 0; r < a.n; r++) CHECK(a.y[0][r] == want[r], "row %d label %d (strip ';', \\r)", r, a.y[0][r]);
    CHECK_OK(mtl_tab_encode_file(e, gz, true, &b));
    CHECK_OK(mtl_tab_encode_file(e, gz2, true, &c));
    CHECK(b.n == 3 && c.n == 3 && b.x && c.x && !memcmp(a.x, b.x, sizeof(float) * 6) &&
              !memcmp(a.x, c.x, sizeof(float) * 6) && !memcmp(a.y[0], b.y[0], sizeof(int32_t) * 3),
          "gzip'd input encodes like the plain file");
    mtl_dataset_free(&a);
    mtl_dataset_free(&b);
    mtl_dataset_free(&c);
    mtl_tab_encoder_free(e);

    /* header: names must match, then rows follow */
    const char *hp = th_tmp_path("head.csv");
    write_text(hp, "a,b,y\nx,1,1\nz,2,0\n");
    CHECK_OK(mtl_tab_fit(&sh, hp, &e, &a));
    CHECK(a.n == 2 && a.x && xat(&a, 0, 0) == 1 && xat(&a, 1, 0) == 2, "header skipped: %d rows", a.n);
    mtl_dataset_free(&a);
    mtl_tab_encoder_free(e);
    e = NULL;
    write_text(hp, "a,c,y\nx,1,1\n");
    expect_error(mtl_tab_fit(&sh, hp, &e, &a), MTL_ERR_FORMAT, "header mismatch", "head.csv:1", "'c'", "'b'", NULL);
    CHECK(e == NULL && a.x == NULL, "a failed fit returns nothing");
    write_text(hp, "a,b\nx,1,1\n");
    expect_error(mtl_tab_fit(&sh, hp, &e, &a), MTL_ERR_FORMAT, "header count", "head.csv:1", "2 names", "3", NULL);
    write_text(hp, "a,b,y\n");
    expect_error(mtl_tab_fit(&sh, hp, &e, &a), MTL_ERR_FORMAT, "header only", "head.csv", "no data rows", NULL, NULL);
    /* without a header the first line is data */
    write_text(hp, "a,1,y\n");
    mtl_tab_schema nh;
    CHECK_OK(parse("column a nominal\ncolumn b continuous\ncolumn y ignore\n", &nh));
    CHECK_OK(mtl_tab_fit(&nh, hp, &e, NULL)); /* train may be NULL */
    CHECK(e && mtl_tab_encoder_vocab(e, 0) == 2, "no header: 'a' is a value");
    mtl_tab_encoder_free(e);
}

static void data_errors(void) {
    mtl_tab_schema s;
    CHECK_OK(parse(DESC3, &s));
    mtl_tab_encoder *e = NULL;
    mtl_dataset d;
    const char *p = th_tmp_path("bad.csv");
    write_text(p, "red, 1, 0, a, yes.\nblue, 2, 9, b\n");
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "field count", "bad.csv:2", "4 fields", "expected 5",
                 NULL);
    CHECK(e == NULL && d.x == NULL, "nothing returned after an error");
    write_text(p, "red, 1, 0, a, yes.\n\nblue, 2, 9, b, no, extra\n");
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "too many fields", "bad.csv:3", "6 fields",
                 "expected 5", NULL);
    write_text(p, "red, 1, 0, a, yes.\nblue, 2x, 9, b, no.\n");
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "bad number", "bad.csv:2", "'size'", "'2x'", NULL);
    write_text(p, "red, 1, nan, a, yes.\n");
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "nan", "bad.csv:1", "'money'", "'nan'", NULL);
    write_text(p, "red, 1, -1, a, yes.\n");
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "log1p of -1", "bad.csv:1", "money", "-1", NULL);
    write_text(p, "");
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "empty", "bad.csv", "empty", NULL, NULL);
    write_text(p, "\n\n  \n");
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "blank lines only", "bad.csv", "no data rows", NULL,
                 NULL);
    expect_error(mtl_tab_fit(&s, th_tmp_path("absent.csv"), &e, &d), MTL_ERR_IO, "missing file", "absent.csv",
                 NULL, NULL, NULL);
    expect_error(mtl_tab_fit(&s, th_tmp_path(""), &e, &d), MTL_ERR_IO, "directory", "directory", NULL, NULL, NULL);
    th_write_bytes(p, "red, 1, 0, a, yes.\n\0\1\2", 22);
    expect_error(mtl_tab_fit(&s, p, &e, &d), MTL_ERR_FORMAT, "binary", "bad.csv", "not a text file", NULL, NULL);
    /* a cut gzip file: the cut is reported, not a half line */
    const char *gz = th_tmp_path("cut.gz");
    char *text = malloc(200000);
    size_t n = 0;
    for (int r = 0; r < 4000; r++) n += (size_t)snprintf(text + n, 200000 - n, "red, %d, %d, a, yes.\n", r, r % 97);
    write_gz(gz, text);
    free(text);
    size_t len = 0;
    char *bytes = th_read_file(gz, &len);
    CHECK(bytes && len > 100, "gz written");
    if (bytes) th_write_bytes(gz, bytes, len / 2);
    free(bytes);
    expect_error(mtl_tab_fit(&s, gz, &e, &d), MTL_ERR_FORMAT, "cut gzip", "cut.gz", NULL, NULL, NULL);
    /* arguments */
    expect_error(mtl_tab_fit(NULL, p, &e, &d), MTL_ERR_ARG, "null schema", NULL, NULL, NULL, NULL);
    expect_error(mtl_tab_fit(&s, NULL, &e, &d), MTL_ERR_ARG, "null path", NULL, NULL, NULL, NULL);
    expect_error(mtl_tab_encode_file(NULL, p, true, &d), MTL_ERR_ARG, "null encoder", NULL, NULL, NULL, NULL);
    mtl_tab_schema bad = s;
    bad.tasks[0].column = 99;
    expect_error(mtl_tab_fit(&bad, p, &e, &d), MTL_ERR_FORMAT, "bad task column", "good", NULL, NULL, NULL);
}

/* ==== JSON ======================================================================== */

static void json_round_trip(void) {
    const char *train = th_tmp_path("j_train.csv"), *test = th_tmp_path("j_test.csv");
    write_text(train, "red|\"q\"|1.25|5|yes|a\nblue|x\\y|2|0|no|b\n"
                      "red|tab\there|-0.5|1e3|no|c\n?|\xc3\xa9|4|7|yes|a\n");
    write_text(test, "blue|\"q\"|3|2|yes|b\nnew|\xc3\xa9|?|1|no|c\nred|x\\y|1|0|no|a\n");
    mtl_tab_schema s;
    CHECK_OK(parse("delimiter |\nmissing ?\ncolumn colour nominal\ncolumn odd nominal\ncolumn size continuous\n"
                   "column money continuous log1p\ncolumn label ignore\ncolumn kind nominal\n"
                   "task good binary label yes\ntask k multiclass kind\n",
                   &s));
    mtl_tab_encoder *e = NULL, *back = NULL;
    CHECK_OK(mtl_tab_fit(&s, train, &e, NULL));
    if (!e) return;
    char *json = NULL, *json2 = NULL;
    CHECK_OK(mtl_tab_encoder_to_json(e, &json));
    CHECK_OK(mtl_tab_encoder_from_json(json ? json : "", &back));
    if (back) {
        CHECK(same_schema(mtl_tab_encoder_schema(e), mtl_tab_encoder_schema(back)), "schema differs after JSON");
        CHECK_OK(mtl_tab_encoder_to_json(back, &json2));
        CHECK(json && json2 && !strcmp(json, json2), "to_json(from_json(j)) != j");
        for (int i = 0; i < mtl_tab_encoder_n_ids(e); i++)
            CHECK(mtl_tab_encoder_vocab(e, i) == mtl_tab_encoder_vocab(back, i), "vocab %d", i);
        const char *files[2] = {train, test};
        for (int f = 0; f < 2; f++) {
            mtl_dataset a, b;
            CHECK_OK(mtl_tab_encode_file(e, files[f], true, &a));
            CHECK_OK(mtl_tab_encode_file(back, files[f], true, &b));
            CHECK(a.x && b.x && a.n == b.n && a.length == b.length &&
                      !memcmp(a.x, b.x, sizeof(float) * (size_t)a.n * (size_t)a.length),
                  "file %d: the JSON'd encoder encodes differently", f);
            for (int k = 0; k < a.n_tasks && a.x && b.x; k++)
                CHECK(a.n_classes[k] == b.n_classes[k] && !memcmp(a.y[k], b.y[k], sizeof(int32_t) * (size_t)a.n),
                      "file %d task %d labels", f, k);
            mtl_dataset_free(&a);
            mtl_dataset_free(&b);
        }
    }
    mtl_tab_encoder_free(back);
    back = NULL;
    /* errors name what is wrong */
    expect_error(mtl_tab_encoder_from_json("{\"format\": \"mtl-tabular-encoder\"}", &back), MTL_ERR_FORMAT,
                 "no schema", "schema", NULL, NULL, NULL);
    expect_error(mtl_tab_encoder_from_json("[1, 2", &back), MTL_ERR_FORMAT, "bad JSON", "JSON", NULL, NULL, NULL);
    expect_error(mtl_tab_encoder_from_json("{}", &back), MTL_ERR_FORMAT, "no format", "format", NULL, NULL, NULL);
    if (json) {
        char *dup = malloc(strlen(json) + 32);
        /* a vocabulary listing a value twice */
        const char *v = strstr(json, "\"colour\": [");
        CHECK(v != NULL, "vocab of colour in the JSON");
        if (v && dup) {
            size_t at = (size_t)(v - json) + strlen("\"colour\": [");
            memcpy(dup, json, at);
            strcpy(dup + at, "\"red\", ");
            strcat(dup, json + at);
            expect_error(mtl_tab_encoder_from_json(dup, &back), MTL_ERR_FORMAT, "duplicate", "colour", "red", "twice",
                         NULL);
        }
        /* no stats for a continuous column */
        const char *st = strstr(json, "\"size\": {\"mean\"");
        CHECK(st != NULL, "stats of size in the JSON");
        if (st && dup) {
            strcpy(dup, json);
            memcpy(dup + (st - json), "\"sizz\"", 6);
            expect_error(mtl_tab_encoder_from_json(dup, &back), MTL_ERR_FORMAT, "missing stats", "size", NULL, NULL,
                         NULL);
        }
        free(dup);
    }
    CHECK(back == NULL, "a failed from_json returns no encoder");
    free(json);
    free(json2);
    mtl_tab_encoder_free(e);
}

/* ==== subsets and the split ======================================================= */

static void make_rows(mtl_dataset *d, int n) {
    CHECK_OK(mtl_dataset_alloc(d, n, 1, 2, 1));
    if (!d->x) return;
    for (int i = 0; i < n; i++) d->x[2 * i] = (float)i, d->x[2 * i + 1] = (float)(i * i), d->y[0][i] = i % 3;
    d->n_classes[0] = 3;
    strcpy(d->task_names[0], "mod3");
    strcpy(d->class_names[0][2], "two");
}

static void subset_and_split(void) {
    mtl_dataset d, s;
    make_rows(&d, 101);
    if (!d.x) return;
    const int32_t idx[4] = {7, 0, 100, 7};
    CHECK_OK(mtl_dataset_subset(&d, idx, 4, &s));
    for (int i = 0; i < 4 && s.x; i++)
        CHECK(s.x[2 * i] == (float)idx[i] && s.x[2 * i + 1] == (float)(idx[i] * idx[i]) && s.y[0][i] == idx[i] % 3,
              "subset row %d", i);
    CHECK(s.n == 4 && s.n_classes[0] == 3 && !strcmp(s.task_names[0], "mod3") && !strcmp(s.class_names[0][2], "two"),
          "subset metadata");
    mtl_dataset_free(&s);
    const int32_t bad[2] = {3, 101};
    expect_error(mtl_dataset_subset(&d, bad, 2, &s), MTL_ERR_RANGE, "index 101", "101", NULL, NULL, NULL);
    expect_error(mtl_dataset_subset(&d, idx, 0, &s), MTL_ERR_ARG, "no rows", NULL, NULL, NULL, NULL);

    mtl_dataset a, b, a2, b2, a3, b3;
    CHECK_OK(mtl_dataset_split_half(&d, 42, &a, &b));
    CHECK_OK(mtl_dataset_split_half(&d, 42, &a2, &b2));
    CHECK_OK(mtl_dataset_split_half(&d, 43, &a3, &b3));
    if (!a.x || !b.x || !a2.x || !a3.x) return;
    CHECK(a.n == 50 && b.n == 51, "floor(n/2) to a: %d + %d", a.n, b.n);
    int seen[101] = {0};
    for (int i = 0; i < a.n; i++) seen[(int)a.x[2 * i]]++;
    for (int i = 0; i < b.n; i++) seen[(int)b.x[2 * i]]++;
    int once = 0;
    for (int i = 0; i < 101; i++) once += seen[i] == 1;
    CHECK(once == 101, "the halves are disjoint and cover every row (%d of 101 once)", once);
    for (int i = 0; i < a.n; i++)
        CHECK(a.y[0][i] == (int)a.x[2 * i] % 3 && a.x[2 * i + 1] == a.x[2 * i] * a.x[2 * i], "labels follow rows");
    CHECK(!memcmp(a.x, a2.x, sizeof(float) * 100) && !memcmp(b.x, b2.x, sizeof(float) * 102),
          "the same seed gives the same split");
    CHECK(memcmp(a.x, a3.x, sizeof(float) * 100) != 0, "another seed gives another split");
    /* the documented recipe: permutation of mtl_rng stream 0x7ab1e */
    mtl_rng r;
    mtl_rng_init(&r, 42, 0x7ab1e);
    int32_t perm[101];
    CHECK_OK(mtl_rng_permutation(&r, perm, 101));
    CHECK(a.x[0] == (float)perm[0] && b.x[0] == (float)perm[50], "split follows the seeded permutation");
    mtl_dataset one, x1, x2;
    make_rows(&one, 1);
    expect_error(mtl_dataset_split_half(&one, 1, &x1, &x2), MTL_ERR_ARG, "1 row", NULL, NULL, NULL, NULL);
    CHECK(x1.x == NULL && x2.x == NULL, "a failed split returns nothing");
    mtl_dataset *all[] = {&d, &a, &b, &a2, &b2, &a3, &b3, &one};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) mtl_dataset_free(all[i]);
}

/* ==== census presets ================================================================ */

static void census_presets(void) {
    mtl_tab_schema s;
    CHECK_OK(mtl_tab_schema_census(1, NULL, &s));
    CHECK(s.n_cols == 42 && !strcmp(s.delimiter, ", ") && !strcmp(s.strip, ".") && !strcmp(s.missing, "?") &&
              !s.header,
          "census format");
    const char *names[42] = {
        "age", "class_worker", "det_ind_code", "det_occ_code", "education", "wage_per_hour", "hs_college",
        "marital_stat", "major_ind_code", "major_occ_code", "race", "hisp_origin", "sex", "union_member",
        "unemp_reason", "full_or_part_emp", "capital_gains", "capital_losses", "stock_dividends", "tax_filer_stat",
        "region_prev_res", "state_prev_res", "det_hh_fam_stat", "det_hh_summ", "instance_weight", "mig_chg_msa",
        "mig_chg_reg", "mig_move_reg", "mig_same", "mig_prev_sunbelt", "num_emp", "fam_under_18", "country_father",
        "country_mother", "country_self", "citizenship", "own_or_self", "vet_question", "vet_benefits",
        "weeks_worked", "year", "income_50k"};
    int cont = 0, nom = 0, logs = 0;
    for (int c = 0; c < 42; c++) {
        CHECK(!strcmp(s.cols[c].name, names[c]), "column %d is '%s', want '%s'", c + 1, s.cols[c].name, names[c]);
        cont += s.cols[c].kind == MTL_COL_CONTINUOUS, nom += s.cols[c].kind == MTL_COL_NOMINAL;
        logs += s.cols[c].log1p;
    }
    CHECK(cont == 7 && nom == 31 && logs == 4, "%d continuous, %d nominal, %d log1p", cont, nom, logs);
    const int ignored[4] = {4, 7, 24, 41}; /* education, marital_stat, instance_weight, income_50k */
    for (int i = 0; i < 4; i++) CHECK(s.cols[ignored[i]].kind == MTL_COL_IGNORE, "%s is no input", names[ignored[i]]);
    const int numeric_nominal[5] = {2, 3, 36, 38, 40};
    for (int i = 0; i < 5; i++) CHECK(s.cols[numeric_nominal[i]].kind == MTL_COL_NOMINAL, "field %d nominal",
                                      numeric_nominal[i] + 1);
    CHECK(s.cols[5].log1p && s.cols[16].log1p && s.cols[17].log1p && s.cols[18].log1p && !s.cols[0].log1p,
          "log1p on the money fields");
    CHECK(s.n_tasks == 2 && !strcmp(s.tasks[0].name, "income") && s.tasks[0].column == 41 &&
              s.tasks[0].n_positive == 1 && !strcmp(s.tasks[0].positive[0], "50000+") &&
              !strcmp(s.tasks[1].name, "never_married") && s.tasks[1].column == 7 &&
              !strcmp(s.tasks[1].positive[0], "Never married"),
          "group 1 tasks");
    CHECK_OK(mtl_tab_schema_census(2, NULL, &s));
    CHECK(s.n_tasks == 2 && !strcmp(s.tasks[0].name, "education") && s.tasks[0].column == 4 &&
              s.tasks[0].n_positive == 5 && !strcmp(s.tasks[0].positive[1], "Bachelors degree(BA AB BS)") &&
              !strcmp(s.tasks[0].positive[3], "Prof school degree (MD DDS DVM LLB JD)") &&
              !strcmp(s.tasks[1].name, "never_married"),
          "group 2 tasks");
    CHECK(strstr(mtl_census_default_education(), "Doctorate degree(PhD EdD)") != NULL, "default education set");
    CHECK(!strcmp(mtl_census_education_values("some-college"), mtl_census_default_education()) &&
              !strcmp(mtl_census_education_values(NULL), mtl_census_default_education()) &&
              !strcmp(mtl_census_education_values(""), mtl_census_default_education()),
          "some-college is the default set");
    CHECK_OK(mtl_tab_schema_census(2, "any-college", &s));
    CHECK(s.tasks[0].n_positive == 7 && !strcmp(s.tasks[0].positive[0], "Some college but no degree") &&
              !strcmp(s.tasks[0].positive[1], "Associates degree-occup /vocational") &&
              !strcmp(s.tasks[0].positive[6], "Doctorate degree(PhD EdD)"),
          "named set any-college");
    CHECK_OK(mtl_tab_schema_census(2, "college-degree", &s));
    CHECK(s.tasks[0].n_positive == 6 && !strcmp(s.tasks[0].positive[0], "Associates degree-occup /vocational"),
          "named set college-degree");
    CHECK_OK(mtl_tab_schema_census(2, "bachelors", &s));
    CHECK(s.tasks[0].n_positive == 4 && !strcmp(s.tasks[0].positive[0], "Bachelors degree(BA AB BS)"),
          "named set bachelors");
    CHECK_OK(mtl_tab_schema_census(2, "Bachelors degree(BA AB BS)|Associates degree-academic program", &s));
    CHECK(s.tasks[0].n_positive == 2 && !strcmp(s.tasks[0].positive[1], "Associates degree-academic program"),
          "custom education set");
    expect_error(mtl_tab_schema_census(3, NULL, &s), MTL_ERR_ARG, "group 3", "group 3", NULL, NULL, NULL);
    expect_error(mtl_tab_schema_census(2, "Masters||PhD", &s), MTL_ERR_ARG, "empty value", "empty", NULL, NULL,
                 NULL);
    /* the preset written as a description reads back the same */
    CHECK_OK(mtl_tab_schema_census(1, NULL, &s));
    const char *path = th_tmp_path("census.desc");
    FILE *f = fopen(path, "w");
    if (f) {
        CHECK_OK(mtl_tab_schema_write(&s, f));
        fclose(f);
        mtl_tab_schema back;
        CHECK_OK(mtl_tab_schema_read(path, &back));
        CHECK(same_schema(&s, &back), "census description round trip");
    }
    /* the files: .gz first, plain names too, errors name the folder and the file */
    char tr[MTL_PATH_MAX], te[MTL_PATH_MAX];
    const char *dir = th_tmp_path("census");
    char sub[1200];
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    expect_error(mtl_census_files(dir, tr, te, sizeof tr), MTL_ERR_IO, "no files", dir, "census-income.data", NULL,
                 NULL);
    snprintf(sub, sizeof sub, "%s/census-income.data.gz", dir);
    write_text(sub, "");
    expect_error(mtl_census_files(dir, tr, te, sizeof tr), MTL_ERR_IO, "no test file", dir, "census-income.test",
                 NULL, NULL);
    snprintf(sub, sizeof sub, "%s/census-income.test", dir);
    write_text(sub, "");
    CHECK_OK(mtl_census_files(dir, tr, te, sizeof tr));
    CHECK(strstr(tr, "census-income.data.gz") && strstr(te, "census-income.test") && !strstr(te, ".gz"),
          "found %s and %s", tr, te);
    expect_error(mtl_census_files(th_tmp_path("nowhere"), tr, te, sizeof tr), MTL_ERR_IO, "no folder", "nowhere",
                 NULL, NULL, NULL);
}

/* ==== the real files (counts from the data README) ================================== */

static long positives(const mtl_dataset *d, int k) {
    long n = 0;
    for (int i = 0; i < d->n; i++) n += d->y[k][i] == 1;
    return n;
}

static void real_census(void) {
    char train[MTL_PATH_MAX], test[MTL_PATH_MAX];
    CHECK_OK(mtl_census_files(census_dir, train, test, sizeof train));
    for (int group = 1; group <= 2; group++) {
        mtl_tab_schema s;
        CHECK_OK(mtl_tab_schema_census(group, NULL, &s));
        mtl_tab_encoder *e = NULL;
        mtl_dataset tr, te;
        CHECK_OK(mtl_tab_fit(&s, train, &e, &tr));
        CHECK_OK(mtl_tab_encode_file(e, test, true, &te));
        if (!e || !tr.x || !te.x) return;
        CHECK(tr.n == 199523 && te.n == 99762, "rows %d / %d", tr.n, te.n);
        CHECK(mtl_tab_encoder_n_ids(e) == 31 && mtl_tab_encoder_n_cont(e) == 7 && tr.length == 38, "31 + 7 inputs");
        for (int i = 0; i < 31; i++)
            if (!strcmp(s.cols[mtl_tab_encoder_id_column(e, i)].name, "sex"))
                CHECK(mtl_tab_encoder_vocab(e, i) == 3, "sex: 2 values + 1, got %d", mtl_tab_encoder_vocab(e, i));
        if (group == 1) {
            CHECK(positives(&tr, 0) == 12382 && positives(&te, 0) == 6186, "income > 50K: %ld / %ld",
                  positives(&tr, 0), positives(&te, 0));
        } else {
            CHECK(positives(&tr, 0) == 57282 && positives(&te, 0) == 28641, "education: %ld / %ld", positives(&tr, 0),
                  positives(&te, 0));
        }
        CHECK(positives(&tr, 1) == 86485 && positives(&te, 1) == 43143, "never married: %ld / %ld",
              positives(&tr, 1), positives(&te, 1));
        CHECK_OK(mtl_dataset_validate(&tr, "census train"));
        CHECK_OK(mtl_dataset_validate(&te, "census test"));
        /* the first row of the README: age 73, first id 1 everywhere, weeks worked 0 */
        double mean, sd;
        mtl_tab_encoder_cont_stats(e, 0, &mean, &sd);
        CHECK_CLOSE(xat(&tr, 0, 31), (73 - mean) / sd, 1e-5, 1e-5, "first row age");
        for (int i = 0; i < 31; i++) CHECK(xat(&tr, 0, i) == 1, "first row id %d is %g", i, xat(&tr, 0, i));
        /* standardised training columns: mean 0, std 1 */
        for (int j = 0; j < 7; j++) {
            double m = 0, v = 0;
            for (int r = 0; r < tr.n; r++) m += xat(&tr, r, 31 + j);
            m /= tr.n;
            for (int r = 0; r < tr.n; r++) v += (xat(&tr, r, 31 + j) - m) * (xat(&tr, r, 31 + j) - m);
            CHECK(fabs(m) < 1e-4 && fabs(sqrt(v / tr.n) - 1) < 1e-4, "continuous %d: mean %g std %g", j, m,
                  sqrt(v / tr.n));
        }
        if (group == 1) {
            mtl_dataset va, ts;
            CHECK_OK(mtl_dataset_split_half(&te, 1, &va, &ts));
            CHECK(va.n == 49881 && ts.n == 49881, "1:1 split %d / %d", va.n, ts.n);
            CHECK(positives(&va, 0) + positives(&ts, 0) == 6186, "split keeps the positives");
            mtl_dataset_free(&va);
            mtl_dataset_free(&ts);
        }
        mtl_dataset_free(&tr);
        mtl_dataset_free(&te);
        mtl_tab_encoder_free(e);
    }
}

static bool find_data(void) {
    const char *env = getenv("MTL_DATA"), *src = getenv("MTL_SOURCE_DIR");
    if (env && *env) snprintf(census_dir, sizeof census_dir, "%s/census-income", env);
    else snprintf(census_dir, sizeof census_dir, "%s/../shared/data/census-income", src && *src ? src : "..");
    char tr[MTL_PATH_MAX], te[MTL_PATH_MAX];
    if (mtl_census_files(census_dir, tr, te, sizeof tr) == MTL_OK) return true;
    printf("SKIP: census-income data not found at %s (set MTL_DATA): real-data tests not run\n", census_dir);
    census_dir[0] = '\0';
    return false;
}

int main(void) {
    const char *tmpdir = th_tmpdir_create("mtl_tabular");
    if (!tmpdir) return 1;
    bool have_data = find_data();
    RUN(description_parse);
    RUN(description_errors);
    RUN(vocabulary_and_ids);
    RUN(continuous_values);
    RUN(hashed_inputs);
    RUN(file_forms);
    RUN(data_errors);
    RUN(json_round_trip);
    RUN(subset_and_split);
    RUN(census_presets);
    if (have_data) RUN(real_census);
    int removed = th_tmpdir_remove();
    int rc = th_summary();
    if (!removed) {
        fprintf(stderr, "FAIL: temp dir %s was not removed\n", tmpdir);
        rc = 1;
    }
    return rc == 0 && !have_data ? 77 : rc;
}
