/* Inline SVG charts for the HTML report (src/train/svg.c): line charts with std bands or
 * error bars, heat maps with a colour bar, scatter plots. Every text is HTML-escaped and
 * every coordinate rounded to 0.1 px, so a chart stays a few kB. Internal to libmtl. */
#ifndef MTL_TRAIN_SVG_H
#define MTL_TRAIN_SVG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* colour-blind-friendly categorical colours: Okabe-Ito, then Paul Tol's muted set; cycles */
const char *svg_color(int i);
#define SVG_N_COLORS 13
/* writes s with & < > " ' escaped (safe in text and in quoted attributes) */
void svg_escape(FILE *f, const char *s);

typedef struct {
    const char *label;
    const double *y;   /* [n]; non-finite values leave a gap */
    const double *err; /* [n] or NULL: a std band or error bars */
} svg_series;

/* alt: what the chart shows, for screen readers when there is no title */
typedef struct {
    const char *title, *alt, *xlabel, *ylabel;
    int n;                   /* points per series */
    const double *x;         /* [n], or NULL: 1..n */
    const char *const *xcat; /* [n] category labels instead of numeric x (x ignored), or NULL */
    int n_series;
    const svg_series *series;
    bool err_bars; /* err as error bars with point markers (tables); false: shaded bands (curves) */
} svg_lines_spec;
void svg_lines(FILE *f, const svg_lines_spec *c);

typedef enum { SVG_CMAP_VIRIDIS, SVG_CMAP_BLUES } svg_cmap;
typedef struct {
    const char *title, *alt, *xlabel, *ylabel, *scale_label;
    int rows, cols;
    const double *value; /* [rows * cols] coloured on [vmin, vmax]; NaN is grey */
    double vmin, vmax;
    const int64_t *count;          /* [rows * cols] printed in the cells when they are big enough, or NULL */
    int value_digits;              /* > 0 and count NULL: each value printed in its cell with this many decimals */
    const char *const *row_names;  /* [rows] (NULL array, NULL or "" entries: the index) */
    const char *const *col_names;  /* [cols] or NULL: thinned index ticks */
    double cell_w, cell_h, grid_w; /* largest cell size and the largest width of the grid */
    svg_cmap cmap;
} svg_heatmap_spec;
void svg_heatmap(FILE *f, const svg_heatmap_spec *h);

typedef struct {
    const char *title, *alt;
    int n;
    const float *xy;        /* [n, 2] */
    const int32_t *label;   /* [n] in [0, n_classes) */
    int n_classes;
    const char *const *class_names; /* [n_classes] or NULL (NULL or "" entries: the index) */
} svg_scatter_spec;
void svg_scatter(FILE *f, const svg_scatter_spec *s);


#endif
