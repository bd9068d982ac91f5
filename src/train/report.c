/* The HTML report: one self-contained file (inline CSS and SVG, no script, no external
 * resource) with the summary tables, training curves, confusion matrices, attention
 * heat maps and t-SNE scatters of a run. Anything the caller leaves NULL or 0 is omitted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtl/io.h"
#include "mtl/report.h"
#include "train/svg.h"

#define TSNE_MAX_POINTS 1000
#define TSNE_ITERATIONS 1000
#define MAX_CLASSES 4096

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#222;"
    "background:#fff;max-width:1100px;margin:0 auto;padding:12px 24px}\n"
    "h1{font-size:1.6em;margin:.3em 0}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:3px}"
    "h3{font-size:1.05em;margin:1.2em 0 .3em}\n"
    ".sub{color:#555;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;white-space:pre-wrap;"
    "word-break:break-all}\n"
    "nav a{margin-right:1em}table{border-collapse:collapse;margin:6px 0}"
    "th,td{border:1px solid #ccc;padding:3px 9px}th{background:#f3f3f3}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "caption{text-align:left;font-weight:600;padding:3px 0}\n"
    ".note,.expl{color:#555;font-size:.92em;max-width:820px}figure{margin:10px 0 18px}"
    "svg{max-width:100%;height:auto}\n"
    "footer{margin-top:3em;padding-top:6px;border-top:1px solid #ddd;color:#777;font-size:.85em}\n";

static const char *esc_or(const char *s, const char *fallback) { return s && *s ? s : fallback; }

static void put_tag(FILE *f, const char *open, const char *text, const char *close) {
    fputs(open, f);
    svg_escape(f, text);
    fputs(close, f);
}

static const char *task_name(const mtl_report *r, int k, char *buf, size_t cap) {
    if (r->task_names[k] && *r->task_names[k]) return r->task_names[k];
    snprintf(buf, cap, "task %d", k);
    return buf;
}

/* ---- checks ----------------------------------------------------------------------- */

static mtl_status check_series(const char *what, int n, const mtl_series *s) {
    if (n < 0) return mtl_error(MTL_ERR_ARG, "report: n_%s = %d, expected >= 0", what, n);
    if (n > 0 && !s) return mtl_error(MTL_ERR_ARG, "report: %s is NULL but n_%s = %d", what, what, n);
    for (int i = 0; i < n; i++)
        if (!s[i].mean) return mtl_error(MTL_ERR_ARG, "report: %s[%d].mean is NULL", what, i);
    return MTL_OK;
}

static mtl_status check_task(const mtl_report *r, int k) {
    bool by_class = false, feats = r->features[k] && r->n_points > 0;
    for (int s = 0; s < r->n_stages; s++) {
        if ((r->attention[k][s] || r->attention_by_class[k][s]) && r->stage_channels[s] < 1)
            return mtl_error(MTL_ERR_ARG, "report: stage_channels[%d] = %d, expected >= 1", s, r->stage_channels[s]);
        by_class = by_class || r->attention_by_class[k][s];
    }
    if ((r->confusion[k] || by_class || feats) && (r->n_classes[k] < 1 || r->n_classes[k] > MAX_CLASSES))
        return mtl_error(MTL_ERR_ARG, "report: n_classes[%d] = %d, expected 1..%d", k, r->n_classes[k], MAX_CLASSES);
    if (r->confusion[k]) {
        int64_t cells = (int64_t)r->n_classes[k] * r->n_classes[k];
        for (int64_t i = 0; i < cells; i++)
            if (r->confusion[k][i] < 0)
                return mtl_error(MTL_ERR_RANGE, "report: confusion[%d][%lld] = %lld, expected a count >= 0", k,
                                 (long long)i, (long long)r->confusion[k][i]);
    }
    if (r->roc_points[k] < 0 || r->roc_points[k] == 1)
        return mtl_error(MTL_ERR_ARG, "report: roc_points[%d] = %d, expected 0 (none) or >= 2", k, r->roc_points[k]);
    if (r->roc_points[k] > 0 && (!r->roc_fpr[k] || !r->roc_tpr[k]))
        return mtl_error(MTL_ERR_ARG, "report: roc_points[%d] = %d but roc_fpr[%d] or roc_tpr[%d] is NULL", k,
                         r->roc_points[k], k, k);
    if (!feats) return MTL_OK;
    if (r->feat_dim[k] < 1)
        return mtl_error(MTL_ERR_ARG, "report: feat_dim[%d] = %d, expected >= 1", k, r->feat_dim[k]);
    if (!r->feature_labels[k])
        return mtl_error(MTL_ERR_ARG, "report: features[%d] given but feature_labels[%d] is NULL", k, k);
    for (int i = 0; i < r->n_points; i++) {
        int32_t y = r->feature_labels[k][i];
        if (y < 0 || y >= r->n_classes[k])
            return mtl_error(MTL_ERR_RANGE, "report: feature_labels[%d][%d] = %d, expected 0..%d", k, i, (int)y,
                             r->n_classes[k] - 1);
    }
    return MTL_OK;
}

static mtl_status validate(const mtl_report *r) {
    if (r->n_tasks < 0 || r->n_tasks > 8)
        return mtl_error(MTL_ERR_ARG, "report: n_tasks = %d, expected 0..8", r->n_tasks);
    if (r->n_stages < 0 || r->n_stages > 4)
        return mtl_error(MTL_ERR_ARG, "report: n_stages = %d, expected 0..4", r->n_stages);
    if (r->n_epochs < 0) return mtl_error(MTL_ERR_ARG, "report: n_epochs = %d, expected >= 0", r->n_epochs);
    if (r->n_points < 0) return mtl_error(MTL_ERR_ARG, "report: n_points = %d, expected >= 0", r->n_points);
    mtl_status s = MTL_OK;
    if ((s = check_series("loss", r->n_loss, r->loss)) || (s = check_series("acc", r->n_acc, r->acc)) ||
        (s = check_series("weight", r->n_weight, r->weight)))
        return s;
    for (int k = 0; k < r->n_tasks; k++)
        if ((s = check_task(r, k))) return s;
    if (r->n_tables < 0) return mtl_error(MTL_ERR_ARG, "report: n_tables = %d, expected >= 0", r->n_tables);
    if (r->n_tables > 0 && !r->tables)
        return mtl_error(MTL_ERR_ARG, "report: tables is NULL but n_tables = %d", r->n_tables);
    for (int i = 0; i < r->n_tables; i++)
        if (!r->tables[i]) return mtl_error(MTL_ERR_ARG, "report: tables[%d] is NULL", i);
    return MTL_OK;
}

/* ---- table cells as numbers ----------------------------------------------------------- */

static const char *skip_blank(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

static const char *skip_pm(const char *s) {
    if (!strncmp(s, "\xC2\xB1", 2)) return s + 2; /* U+00B1 "±" */
    if (!strncmp(s, "+/-", 3)) return s + 3;
    if (!strncmp(s, "+-", 2)) return s + 2;
    return NULL;
}

/* "93.1 ± 0.4", "93.1 +/- 0.4 %", "93.1%", "0.931": the whole cell must parse */
static bool parse_value(const char *s, double *mean, double *std, bool *has_std) {
    char *end;
    *std = 0;
    *has_std = false;
    s = skip_blank(s);
    *mean = strtod(s, &end);
    if (end == s || !isfinite(*mean)) return false;
    s = skip_blank(end);
    if (*s == '%') s = skip_blank(s + 1);
    const char *pm = skip_pm(s);
    if (pm) {
        s = skip_blank(pm);
        *std = strtod(s, &end);
        if (end == s || !isfinite(*std)) return false;
        *has_std = true;
        s = skip_blank(end);
        if (*s == '%') s = skip_blank(s + 1);
    }
    return *s == '\0';
}

static bool is_number_cell(const char *s) {
    double m, sd;
    bool has_std;
    return parse_value(s, &m, &sd, &has_std);
}

/* ---- tables ------------------------------------------------------------------------ */

static void html_table(FILE *f, const mtl_table *t) {
    int rows = mtl_table_rows(t), cols = mtl_table_cols(t);
    put_tag(f, "<table><caption>", mtl_table_title(t), "</caption>\n<thead><tr>");
    for (int c = 0; c < cols; c++) put_tag(f, "<th>", mtl_table_header(t, c), "</th>");
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int r = 0; r < rows; r++) {
        fputs("<tr>", f);
        for (int c = 0; c < cols; c++) {
            const char *cell = mtl_table_cell(t, r, c);
            put_tag(f, is_number_cell(cell) ? "<td class=\"n\">" : "<td>", cell, "</td>");
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    const char *note = mtl_table_note(t);
    if (note && *note) put_tag(f, "<p class=\"note\">", note, "</p>\n");
}

/* x = column 0 (numbers, or categories when any cell is not a number); one line per further column with at
 * least one cell that parses, its std as error bars */
static mtl_status table_chart(FILE *f, const mtl_table *t, const char *xlabel) {
    int rows = mtl_table_rows(t), cols = mtl_table_cols(t);
    if (rows < 1 || cols < 2) return MTL_OK;
    double *x = malloc((size_t)rows * sizeof *x);
    double *val = malloc(2 * (size_t)rows * (cols - 1) * sizeof *val);
    const char **xcat = malloc((size_t)rows * sizeof *xcat);
    svg_series *ser = malloc((size_t)(cols - 1) * sizeof *ser);
    if (!x || !val || !xcat || !ser) {
        free(x), free(val), free(xcat), free(ser);
        return mtl_error(MTL_ERR_NOMEM, "report: out of memory for the chart of table \"%s\"", mtl_table_title(t));
    }
    bool numeric_x = true, counting = true;
    for (int r = 0; r < rows; r++) {
        double sd;
        bool has_std;
        xcat[r] = mtl_table_cell(t, r, 0);
        if (!parse_value(xcat[r], &x[r], &sd, &has_std) || has_std) numeric_x = false;
        counting = counting && numeric_x && x[r] == r + 1;
    }
    int n_series = 0;
    bool any_std = false;
    for (int c = 1; c < cols; c++) {
        double *y = val + 2 * (size_t)rows * n_series, *e = y + rows;
        int parsed = 0;
        bool col_std = false;
        for (int r = 0; r < rows; r++) {
            bool has_std;
            if (parse_value(mtl_table_cell(t, r, c), &y[r], &e[r], &has_std)) {
                parsed++;
                col_std = col_std || has_std;
            } else {
                y[r] = e[r] = NAN;
            }
        }
        if (!parsed) continue;
        ser[n_series++] = (svg_series){mtl_table_header(t, c), y, col_std ? e : NULL};
        any_std = any_std || col_std;
    }
    if (n_series > 0) {
        svg_lines_spec spec = {.alt = mtl_table_title(t),
                               .xlabel = xlabel,
                               .ylabel = any_std ? "mean \xC2\xB1 std" : "value",
                               .n = rows,
                               .x = numeric_x && !counting ? x : NULL, /* 1..n (epochs): integer ticks */
                               .xcat = numeric_x ? NULL : xcat,
                               .n_series = n_series,
                               .series = ser,
                               .err_bars = true};
        fputs("<figure>\n", f);
        svg_lines(f, &spec);
        fputs("</figure>\n", f);
    }
    free(x), free(val), free(xcat), free(ser);
    return MTL_OK;
}

static mtl_status write_tables(FILE *f, const mtl_report *r) {
    fputs("<section id=\"summary\">\n<h2>Summary</h2>\n", f);
    for (int i = 0; i < r->n_tables; i++) {
        html_table(f, r->tables[i]);
        const char *label = r->chart ? r->chart[i] : NULL;
        if (label) {
            mtl_status s = table_chart(f, r->tables[i], label);
            if (s) return s;
        }
    }
    fputs("</section>\n", f);
    return MTL_OK;
}

/* ---- curves ------------------------------------------------------------------------ */

static mtl_status curve(FILE *f, const mtl_report *r, const char *title, const char *ylabel, int n,
                        const mtl_series *src) {
    if (n < 1) return MTL_OK;
    svg_series *ser = malloc((size_t)n * sizeof *ser);
    if (!ser) return mtl_error(MTL_ERR_NOMEM, "report: out of memory for the %s chart", title);
    for (int i = 0; i < n; i++) ser[i] = (svg_series){src[i].label, src[i].mean, src[i].std};
    svg_lines_spec spec = {.title = title, .xlabel = "epoch", .ylabel = ylabel, .n = r->n_epochs, .n_series = n,
                           .series = ser};
    fputs("<figure>\n", f);
    svg_lines(f, &spec);
    fputs("</figure>\n", f);
    free(ser);
    return MTL_OK;
}

static mtl_status write_curves(FILE *f, const mtl_report *r) {
    fputs("<section id=\"curves\">\n<h2>Training curves</h2>\n", f);
    bool band = false;
    for (int i = 0; i < r->n_loss; i++) band = band || r->loss[i].std;
    for (int i = 0; i < r->n_acc; i++) band = band || r->acc[i].std;
    for (int i = 0; i < r->n_weight; i++) band = band || r->weight[i].std;
    if (band)
        fputs("<p class=\"expl\">Lines are means over seeds; shaded bands are \xC2\xB1 one standard deviation."
              "</p>\n", f);
    if (r->n_weight > 0)
        fputs("<p class=\"expl\">Task weights: the weighting strategy's scale of each task, the mean over an epoch's "
              "steps: the factor of the task's loss, or for a gradient strategy the weight of the task's gradient in "
              "the combined one (d = sum of weight x gradient; least-squares weights where the method has none).</p>\n",
              f);
    mtl_status s;
    if ((s = curve(f, r, "Loss", "loss", r->n_loss, r->loss)) ||
        (s = curve(f, r, "Accuracy", "accuracy", r->n_acc, r->acc)) ||
        (s = curve(f, r, "Task weights", "task weight", r->n_weight, r->weight)))
        return s;
    fputs("</section>\n", f);
    return MTL_OK;
}

/* ---- attention ------------------------------------------------------------------------ */

static void value_range(const double *v, int n, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) *lo = fmin(*lo, v[i]), *hi = fmax(*hi, v[i]);
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
}

/* digits > 0: the values printed in the cells (wider cells to hold them) */
static void attention_map(FILE *f, const char *title, const char *xlabel, const char *ylabel, int rows, int cols,
                          const double *v, const char *const *row_names, int digits) {
    svg_heatmap_spec h = {.title = title, .xlabel = xlabel, .ylabel = ylabel, .scale_label = "attention",
                          .rows = rows, .cols = cols, .value = v, .row_names = row_names, .cell_w = digits ? 48 : 28,
                          .cell_h = 20, .grid_w = 640, .cmap = SVG_CMAP_VIRIDIS, .value_digits = digits};
    value_range(v, rows * cols, &h.vmin, &h.vmax);
    if (digits) h.scale_label = "mean weight";
    fputs("<figure>\n", f);
    svg_heatmap(f, &h);
    fputs("</figure>\n", f);
}

static bool any_attention(const mtl_report *r) {
    for (int k = 0; k < r->n_tasks; k++)
        for (int s = 0; s < r->n_stages; s++)
            if (r->attention[k][s]) return true;
    return false;
}

/* the custom explanation when the caller names what the columns are (tabular: experts of a gate) */
static void attention_intro(FILE *f, const mtl_report *r) {
    if (!r->attention_title && !r->attention_unit) {
        fputs("<section id=\"attention\">\n<h2>Task attention per stage</h2>\n<p class=\"expl\">Each task has its own "
              "ECA channel-attention module at every stage of the shared network. A cell is the mean attention "
              "weight that a task gives to one channel of the shared features at that stage, averaged over the test "
              "windows: bright channels are the ones the task amplifies, and rows that differ show the tasks picking "
              "different shared features. Colours span each map's own range (see its colour bar).</p>\n", f);
        return;
    }
    const char *unit = esc_or(r->attention_unit, "channel");
    put_tag(f, "<section id=\"attention\">\n<h2>", esc_or(r->attention_title, "Attention per task and stage"),
            "</h2>\n");
    fputs("<p class=\"expl\">A cell is the mean weight that a task's gate or attention gives to one ", f);
    svg_escape(f, unit);
    fputs(" at that stage, averaged over the test rows, and printed in the cell. Rows that differ show the tasks "
          "relying on different ", f);
    svg_escape(f, unit);
    fputs("s. Colours span each map's own range (see its colour bar).</p>\n", f);
}

/* per stage: one row per task, so the tasks' choices can be compared channel by channel */
static mtl_status write_attention(FILE *f, const mtl_report *r) {
    if (!any_attention(r)) return MTL_OK;
    attention_intro(f, r);
    bool custom = r->attention_unit != NULL;
    const char *unit = esc_or(r->attention_unit, "channel");
    for (int s = 0; s < r->n_stages; s++) {
        int C = r->stage_channels[s], rows = 0;
        const char *names[8];
        char bufs[8][32];
        double *v = malloc((size_t)8 * C * sizeof *v);
        if (!v) return mtl_error(MTL_ERR_NOMEM, "report: out of memory for the attention of stage %d", s + 1);
        for (int k = 0; k < r->n_tasks; k++) {
            if (!r->attention[k][s]) continue;
            names[rows] = task_name(r, k, bufs[rows], sizeof bufs[rows]);
            for (int c = 0; c < C; c++) v[(size_t)rows * C + c] = r->attention[k][s][c];
            rows++;
        }
        if (rows) {
            char title[160];
            if (r->stage_names[s] && *r->stage_names[s])
                snprintf(title, sizeof title, "%s: mean weight per %s", r->stage_names[s], unit);
            else if (custom)
                snprintf(title, sizeof title, "Stage %d: mean weight per %s", s + 1, unit);
            else
                snprintf(title, sizeof title, "Stage %d: mean attention per channel", s + 1);
            attention_map(f, title, unit, "task", rows, C, v, names, custom ? 2 : 0);
        }
        free(v);
    }
    fputs("</section>\n", f);
    return MTL_OK;
}

static const char *const *class_names_of(const mtl_report *r, int k) { return r->class_names[k]; }

static mtl_status task_attention_by_class(FILE *f, const mtl_report *r, int k) {
    bool any = false;
    for (int s = 0; s < r->n_stages; s++) any = any || r->attention_by_class[k][s];
    if (!any) return MTL_OK;
    fputs("<h3>Attention by class</h3>\n<p class=\"expl\">Rows are true classes: the mean attention weight this "
          "task's module gives each channel, over the test windows of that class. Channels whose colour changes "
          "from row to row are used differently for different classes.</p>\n", f);
    int K = r->n_classes[k];
    for (int s = 0; s < r->n_stages; s++) {
        if (!r->attention_by_class[k][s]) continue;
        int C = r->stage_channels[s];
        double *v = malloc((size_t)K * C * sizeof *v);
        if (!v) return mtl_error(MTL_ERR_NOMEM, "report: out of memory for the attention of task %d", k);
        for (size_t i = 0; i < (size_t)K * C; i++) v[i] = r->attention_by_class[k][s][i];
        char title[64];
        snprintf(title, sizeof title, "Stage %d", s + 1);
        attention_map(f, title, "channel", "true class", K, C, v, class_names_of(r, k), 0);
        free(v);
    }
    return MTL_OK;
}

/* ---- ROC curves ------------------------------------------------------------------------ */

static bool any_roc(const mtl_report *r) {
    for (int k = 0; k < r->n_tasks; k++)
        if (r->roc_points[k] >= 2) return true;
    return false;
}

/* one chart per task (the curves have their own x), with the diagonal of a random scorer */
static mtl_status write_roc(FILE *f, const mtl_report *r) {
    if (!any_roc(r)) return MTL_OK;
    fputs("<section id=\"roc\">\n<h2>ROC curves</h2>\n<p class=\"expl\">True positive rate against false positive "
          "rate of each two-class task on the test set, as the decision threshold moves over the model's scores. "
          "The AUC in the legend is the exact area (the rank statistic, ties averaged); the diagonal is a scorer "
          "that guesses.</p>\n", f);
    for (int k = 0; k < r->n_tasks; k++) {
        int n = r->roc_points[k];
        if (n < 2) continue;
        double *x = malloc(2 * (size_t)n * sizeof *x);
        if (!x) return mtl_error(MTL_ERR_NOMEM, "report: out of memory for the ROC curve of task %d", k);
        double *y = x + n;
        for (int i = 0; i < n; i++) x[i] = r->roc_fpr[k][i], y[i] = r->roc_tpr[k][i];
        char name[32], label[96], title[96];
        const char *tn = task_name(r, k, name, sizeof name);
        snprintf(label, sizeof label, "%s (AUC %.4f)", tn, r->roc_auc[k]);
        snprintf(title, sizeof title, "%s: ROC curve", tn);
        svg_series ser[2] = {{label, y, NULL}, {"chance (AUC 0.5)", x, NULL}};
        svg_lines_spec spec = {.title = title, .xlabel = "false positive rate", .ylabel = "true positive rate",
                               .n = n, .x = x, .n_series = 2, .series = ser};
        fputs("<figure>\n", f);
        svg_lines(f, &spec);
        fputs("</figure>\n", f);
        free(x);
    }
    fputs("</section>\n", f);
    return MTL_OK;
}

/* ---- confusion matrix ----------------------------------------------------------------- */

static mtl_status task_confusion(FILE *f, const mtl_report *r, int k) {
    if (!r->confusion[k]) return MTL_OK;
    int K = r->n_classes[k];
    const int64_t *cm = r->confusion[k];
    double *share = malloc((size_t)K * K * sizeof *share);
    if (!share) return mtl_error(MTL_ERR_NOMEM, "report: out of memory for the confusion matrix of task %d", k);
    int64_t total = 0, right = 0;
    for (int i = 0; i < K; i++) {
        int64_t row = 0;
        for (int j = 0; j < K; j++) row += cm[(size_t)i * K + j];
        for (int j = 0; j < K; j++) share[(size_t)i * K + j] = row ? (double)cm[(size_t)i * K + j] / row : 0.0;
        total += row;
        right += cm[(size_t)i * K + i];
    }
    fprintf(f, "<h3>Confusion matrix</h3>\n<p class=\"expl\">Rows are true classes, columns predicted ones; a cell "
               "holds the number of test windows, its colour the share of its row (the recall on the diagonal). "
               "%lld windows, accuracy %.2f %%.</p>\n",
            (long long)total, total ? 100.0 * right / total : 0.0);
    char alt[96];
    snprintf(alt, sizeof alt, "confusion matrix of task %d", k);
    svg_heatmap_spec h = {.alt = alt, .xlabel = "predicted", .ylabel = "true", .scale_label = "share of the row",
                          .rows = K, .cols = K, .value = share, .vmin = 0, .vmax = 1, .count = cm,
                          .row_names = class_names_of(r, k), .col_names = class_names_of(r, k), .cell_w = 46,
                          .cell_h = 0, .grid_w = 560, .cmap = SVG_CMAP_BLUES};
    h.cell_h = fmax(fmin(46, 560.0 / K), 4); /* square cells */
    fputs("<figure>\n", f);
    svg_heatmap(f, &h);
    fputs("</figure>\n", f);
    free(share);
    return MTL_OK;
}

/* ---- t-SNE ---------------------------------------------------------------------------- */

/* a deterministic stratified subset of cap of the n points: each class keeps its share
 * (largest remainders), taken evenly spread over its occurrences */
static mtl_status stratified(const int32_t *lab, int n, int K, int cap, int32_t *idx, int *m) {
    int64_t *cnt = calloc((size_t)3 * K, sizeof *cnt);
    if (!cnt) return mtl_error(MTL_ERR_NOMEM, "report: out of memory for a t-SNE subset");
    int64_t *quota = cnt + K, *rem = cnt + 2 * K;
    for (int i = 0; i < n; i++) cnt[lab[i]]++;
    int64_t left = cap;
    for (int c = 0; c < K; c++) {
        quota[c] = cnt[c] * cap / n;
        rem[c] = cnt[c] * cap % n;
        left -= quota[c];
    }
    for (; left > 0; left--) {
        int best = -1;
        for (int c = 0; c < K; c++)
            if (quota[c] < cnt[c] && (best < 0 || rem[c] > rem[best])) best = c;
        if (best < 0) break;
        quota[best]++;
        rem[best] = -1;
    }
    int64_t *seen = rem; /* reused: remainders are done */
    memset(seen, 0, (size_t)K * sizeof *seen);
    *m = 0;
    for (int i = 0; i < n; i++) {
        int c = lab[i];
        int64_t t = seen[c]++;
        if ((t + 1) * quota[c] / cnt[c] > t * quota[c] / cnt[c]) idx[(*m)++] = i;
    }
    free(cnt);
    return MTL_OK;
}

static mtl_status task_tsne(FILE *f, const mtl_report *r, int k) {
    if (!r->features[k] || r->n_points < 1) return MTL_OK;
    int n = r->n_points, d = r->feat_dim[k], K = r->n_classes[k];
    fputs("<h3>t-SNE of the final features</h3>\n", f);
    if (n < 5) {
        fprintf(f, "<p class=\"expl\">Too few test windows (%d) for a t-SNE.</p>\n", n);
        return MTL_OK;
    }
    int m = 0;
    int32_t *idx = malloc((size_t)n * sizeof *idx);
    float *x = malloc((size_t)(n < TSNE_MAX_POINTS ? n : TSNE_MAX_POINTS) * d * sizeof *x);
    float *y = malloc(2 * (size_t)TSNE_MAX_POINTS * sizeof *y);
    int32_t *lab = malloc((size_t)TSNE_MAX_POINTS * sizeof *lab);
    mtl_status s = idx && x && y && lab ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "report: out of memory for t-SNE");
    if (!s) s = stratified(r->feature_labels[k], n, K, n < TSNE_MAX_POINTS ? n : TSNE_MAX_POINTS, idx, &m);
    if (!s) {
        for (int i = 0; i < m; i++) {
            memcpy(x + (size_t)i * d, r->features[k] + (size_t)idx[i] * d, (size_t)d * sizeof *x);
            lab[i] = r->feature_labels[k][idx[i]];
        }
        double perplexity = fmin(30.0, (m - 1) / 3.0);
        s = mtl_tsne(x, m, d, perplexity, TSNE_ITERATIONS, 0, y);
        if (!s) {
            fprintf(f, "<p class=\"expl\">%d test windows", m);
            if (m < n) fprintf(f, " (a class-stratified subset of %d)", n);
            fprintf(f, ", perplexity %.3g, %d iterations, seed 0. Colours are true classes; the axes have no "
                       "units, only neighbourhoods matter.</p>\n",
                    perplexity, TSNE_ITERATIONS);
            char alt[64];
            snprintf(alt, sizeof alt, "t-SNE of task %d", k);
            svg_scatter_spec sc = {.alt = alt, .n = m, .xy = y, .label = lab, .n_classes = K,
                                   .class_names = class_names_of(r, k)};
            fputs("<figure>\n", f);
            svg_scatter(f, &sc);
            fputs("</figure>\n", f);
        }
    }
    free(idx), free(x), free(y), free(lab);
    return s;
}

/* ---- the document ------------------------------------------------------------------- */

static bool task_has_content(const mtl_report *r, int k) {
    if (r->confusion[k] || (r->features[k] && r->n_points > 0)) return true;
    for (int s = 0; s < r->n_stages; s++)
        if (r->attention_by_class[k][s]) return true;
    return false;
}

static void write_head(FILE *f, const mtl_report *r) {
    const char *title = esc_or(r->title, "mtl report");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
    put_tag(f, "<title>", title, "</title>\n");
    fprintf(f, "<style>\n%s</style>\n</head>\n<body>\n", css);
    put_tag(f, "<h1>", title, "</h1>\n");
    if (r->subtitle && *r->subtitle) put_tag(f, "<p class=\"sub\">", r->subtitle, "</p>\n");
    /* contents: only what is there */
    fputs("<nav>", f);
    if (r->n_tables > 0) fputs("<a href=\"#summary\">Summary</a>", f);
    if (r->n_epochs > 0 && r->n_loss + r->n_acc + r->n_weight > 0) fputs("<a href=\"#curves\">Curves</a>", f);
    if (any_roc(r)) fputs("<a href=\"#roc\">ROC</a>", f);
    if (any_attention(r)) {
        /* a custom title up to its colon ("Expert usage: ..." -> "Expert usage") */
        const char *t = r->attention_title;
        size_t len = t ? strcspn(t, ":") : 0;
        char nav[64];
        snprintf(nav, sizeof nav, "%.*s", (int)(len < sizeof nav ? len : sizeof nav - 1), t ? t : "");
        put_tag(f, "<a href=\"#attention\">", len ? nav : "Attention", "</a>");
    }
    for (int k = 0; k < r->n_tasks; k++) {
        char buf[32];
        if (!task_has_content(r, k)) continue;
        fprintf(f, "<a href=\"#task-%d\">", k);
        svg_escape(f, task_name(r, k, buf, sizeof buf));
        fputs("</a>", f);
    }
    fputs("</nav>\n", f);
}

static mtl_status write_body(FILE *f, const mtl_report *r) {
    mtl_status s;
    write_head(f, r);
    if (r->n_tables > 0 && (s = write_tables(f, r))) return s;
    if (r->n_epochs > 0 && r->n_loss + r->n_acc + r->n_weight > 0 && (s = write_curves(f, r))) return s;
    if ((s = write_roc(f, r)) || (s = write_attention(f, r))) return s;
    for (int k = 0; k < r->n_tasks; k++) {
        if (!task_has_content(r, k)) continue;
        char buf[32];
        fprintf(f, "<section id=\"task-%d\">\n", k);
        put_tag(f, "<h2>Task: ", task_name(r, k, buf, sizeof buf), "</h2>\n");
        if ((s = task_confusion(f, r, k)) || (s = task_attention_by_class(f, r, k)) || (s = task_tsne(f, r, k)))
            return s;
        fputs("</section>\n", f);
    }
    if (r->footer && *r->footer) put_tag(f, "<footer>", r->footer, "</footer>\n");
    fputs("</body>\n</html>\n", f);
    return MTL_OK;
}

mtl_status mtl_report_write_html(const mtl_report *r, const char *path) {
    if (!r) return mtl_error(MTL_ERR_ARG, "report_write_html: report is NULL");
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "report_write_html: path is NULL or empty");
    mtl_status s = validate(r);
    if (s) return s;
    mtl_afile a;
    if ((s = mtl_afile_open(&a, path))) return s;
    if ((s = write_body(a.f, r))) {
        mtl_afile_abort(&a);
        return s;
    }
    return mtl_afile_commit(&a);
}
