/* Results people read: text/markdown/CSV tables (src/train/table.c), a self-contained
 * HTML report with inline SVG charts (src/train/report.c), t-SNE (src/train/tsne.c). */
#ifndef MTL_REPORT_H
#define MTL_REPORT_H

#include <stdio.h>

#include "mtl/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tables ------------------------------------------------------------------
 * A grid of strings with a title, column headers and an optional note. */
typedef struct mtl_table mtl_table;
mtl_status mtl_table_create(mtl_table **out, const char *title, int cols, const char *const *header);
void mtl_table_free(mtl_table *t);
/* appends a row of `cols` cells (copied); NULL cells print empty */
mtl_status mtl_table_add_row(mtl_table *t, const char *const *cells);
/* a note printed under the table (the protocol, what "±" means...) */
mtl_status mtl_table_set_note(mtl_table *t, const char *note);
int mtl_table_rows(const mtl_table *t);
int mtl_table_cols(const mtl_table *t);
const char *mtl_table_title(const mtl_table *t);
const char *mtl_table_header(const mtl_table *t, int col);
const char *mtl_table_cell(const mtl_table *t, int row, int col);
const char *mtl_table_note(const mtl_table *t); /* NULL: none */
/* aligned plain text (columns padded, a rule under the header), for terminals */
mtl_status mtl_table_print(const mtl_table *t, FILE *f);
/* GitHub markdown (title as a bold line, then the table, then the note) */
mtl_status mtl_table_print_markdown(const mtl_table *t, FILE *f);
/* RFC 4180 CSV (header row, then rows; cells with , " or newline quoted), atomically */
mtl_status mtl_table_write_csv(const mtl_table *t, const char *path);

/* ---- t-SNE -------------------------------------------------------------------
 * Exact t-SNE (van der Maaten and Hinton 2008) of n points of dimension d into 2-D:
 * Gaussian affinities with per-point bandwidth found by bisection to `perplexity`,
 * symmetrised; early exaggeration 12 for the first 250 iterations; gradient descent
 * with momentum 0.5 -> 0.8 and gains; learning rate max(n / 12 / 4, 50). y [n, 2].
 * Deterministic for a seed. n up to a few thousand (O(n^2) memory and time). */
mtl_status mtl_tsne(const float *x, int n, int d, double perplexity, int iterations, uint64_t seed, float *y);

/* ---- the HTML report -----------------------------------------------------------
 * A series over epochs: mean (and std, may be NULL) over seeds. */
typedef struct {
    const char *label; /* "fault_type train", ... */
    const double *mean, *std; /* [n_epochs] */
} mtl_series;

typedef struct {
    const char *title; /* e.g. "mtagn on cwru (load 0, split mtagn), 5 seeds" */
    const char *subtitle; /* the command line / protocol, printed under the title */
    int n_tasks;
    const char *task_names[8];
    int n_classes[8];
    const char *const *class_names[8]; /* [n_classes[k]] names per task (NULL: indices) */

    /* curves over n_epochs: each chart has its own list of series */
    int n_epochs;
    int n_loss, n_acc, n_weight;
    const mtl_series *loss;   /* per-task train and validation loss */
    const mtl_series *acc;    /* per-task train and validation accuracy (fractions) */
    const mtl_series *weight; /* per-task task weights */

    /* per task: confusion matrix [n_classes, n_classes] (row = true, column = predicted),
     * summed over seeds (NULL: not shown) */
    const int64_t *confusion[8];

    /* per task and stage: the mean attention weight of each channel over the test windows,
     * [stage_channels[s]], and optionally per true class [n_classes[k], stage_channels[s]]
     * (NULL: not shown). Drawn as heat maps (channels on x, task or class on y). */
    int n_stages;
    int stage_channels[4];
    const char *attention_title; /* section title (NULL: "ECA attention per task and stage") */
    const char *attention_unit;  /* what the columns are (NULL: "channel"; tabular: "expert") */
    const char *stage_names[4];  /* NULL: "stage <s+1>" */
    const float *attention[8][4];
    const float *attention_by_class[8][4];

    /* per task: features [n_points, feat_dim[k]] of the test windows and their labels;
     * the report runs t-SNE (perplexity 30, 1000 iterations, seed 0) and draws a scatter
     * coloured by class with a legend (NULL: not shown) */
    int n_points;
    int feat_dim[8];
    const float *features[8];
    const int32_t *feature_labels[8];

    /* further tables (summary, sweep, noise, cross-load, compare), each rendered as an
     * HTML table, and optionally as a line chart when chart[i] names the x column's meaning
     * (e.g. "SNR (dB)"): x = column 0 parsed as numbers, one line per further column whose
     * cells parse as "mean ± std" or a number (in %) */
    int n_tables;
    const mtl_table *const *tables;
    const char *const *chart; /* [n_tables] x-axis label or NULL: no chart */

    /* per task: the ROC curve of the test predictions (two-class tasks; 0 points: not shown),
     * with its AUC in the legend */
    int roc_points[8];
    const float *roc_fpr[8], *roc_tpr[8];
    double roc_auc[8];

    const char *footer; /* build info, date (may be NULL) */
} mtl_report;

/* Writes one self-contained HTML file (inline SVG and CSS, no script or network
 * needed) to path, atomically (temporary file + rename). */
mtl_status mtl_report_write_html(const mtl_report *r, const char *path);

#ifdef __cplusplus
}
#endif
#endif
