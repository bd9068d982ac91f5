/* Inline SVG charts for the report. Geometry is in px of a fixed layout; the SVG scales
 * down with the page (viewBox). Coordinates are written with one decimal. */
#include <math.h>
#include <string.h>

#include "train/svg.h"

static const char *const palette[SVG_N_COLORS] = {
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", /* Okabe-Ito */
    "#882255", "#44AA99", "#999933", "#AA4499", "#888888", "#F0E442"};

const char *svg_color(int i) { return palette[(i < 0 ? -i : i) % SVG_N_COLORS]; }

void svg_escape(FILE *f, const char *s) {
    if (!s) return;
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* rough width in px of s at 12 px sans-serif: UTF-8 code points x 7 */
static double text_w(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return 7.0 * n;
}

static const char *name_or_index(const char *const *names, int i, char *buf, size_t cap) {
    if (names && names[i] && *names[i]) return names[i]; /* "" is an unnamed class, as in mtl_dataset */
    snprintf(buf, cap, "%d", i);
    return buf;
}

static void svg_open(FILE *f, double w, double h, const char *title, const char *alt) {
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"", w, h, w, h);
    svg_escape(f, title ? title : alt ? alt : "chart");
    fputs("\">\n", f);
    if (title && *title) {
        fputs("<text x=\"8\" y=\"18\" font-size=\"13\" font-weight=\"bold\">", f);
        svg_escape(f, title);
        fputs("</text>\n", f);
    }
}

static void text_at(FILE *f, double x, double y, const char *anchor, const char *s) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
    if (anchor) fprintf(f, " text-anchor=\"%s\"", anchor);
    fputc('>', f);
    svg_escape(f, s);
    fputs("</text>\n", f);
}

static void vertical_text(FILE *f, double x, double y, const char *s) {
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">", x, y);
    svg_escape(f, s);
    fputs("</text>\n", f);
}

/* ---- axes --------------------------------------------------------------------- */

/* 1, 2 or 5 x 10^k, about range / target */
static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void tick_label(char *buf, size_t cap, double v, double step) {
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    if (fabs(v) < step * 1e-6) v = 0; /* no "-0.0" */
    snprintf(buf, cap, "%.*f", dec, v);
}

/* intervals of `step` in `range` (at most 100, none for a non-finite range): loops count ticks, never
 * add up floats */
static int tick_count(double range, double step) {
    double n = floor(range / step + 1e-6);
    return n >= 0 && n <= 100 ? (int)n : 0;
}

/* ---- line charts -------------------------------------------------------------- */

typedef struct {
    double L, T, PW, PH, x0, x1, y0, y1;
} frame;

static double fx(const frame *g, double x) { return g->L + (x - g->x0) / (g->x1 - g->x0) * g->PW; }
static double fy(const frame *g, double y) { return g->T + g->PH - (y - g->y0) / (g->y1 - g->y0) * g->PH; }

static double x_of(const svg_lines_spec *c, int i) { return c->xcat ? i : c->x ? c->x[i] : i + 1; }

static bool point_ok(const svg_lines_spec *c, const svg_series *s, int i) {
    return isfinite(s->y[i]) && isfinite(x_of(c, i));
}

static double err_of(const svg_series *s, int i) {
    return s->err && isfinite(s->err[i]) ? fabs(s->err[i]) : 0.0;
}

static void y_range(const svg_lines_spec *c, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < c->n_series; k++)
        for (int i = 0; i < c->n; i++) {
            const svg_series *s = &c->series[k];
            if (!point_ok(c, s, i)) continue;
            double e = err_of(s, i);
            if (s->y[i] - e < *lo) *lo = s->y[i] - e;
            if (s->y[i] + e > *hi) *hi = s->y[i] + e;
        }
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12 * (fabs(*hi) + 1)) {
        double pad = fabs(*hi) > 0 ? 0.5 * fabs(*hi) : 1;
        *lo -= pad;
        *hi += pad;
    }
}

static void x_range(const svg_lines_spec *c, double *lo, double *hi) {
    if (c->xcat) {
        *lo = -0.5;
        *hi = c->n - 0.5;
        return;
    }
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < c->n; i++) {
        double x = x_of(c, i);
        if (!isfinite(x)) continue;
        if (x < *lo) *lo = x;
        if (x > *hi) *hi = x;
    }
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12 * (fabs(*hi) + 1)) *lo -= 1, *hi += 1;
    if (c->err_bars) { /* room for the end markers */
        double pad = 0.04 * (*hi - *lo);
        *lo -= pad;
        *hi += pad;
    }
}

static void draw_axes(FILE *f, const svg_lines_spec *c, frame *g) {
    char buf[64];
    double ystep = nice_step(g->y1 - g->y0, 5);
    g->y0 = floor(g->y0 / ystep) * ystep;
    g->y1 = ceil(g->y1 / ystep) * ystep;
    fputs("<g stroke=\"#e3e3e3\">", f);
    int ny = tick_count(g->y1 - g->y0, ystep);
    for (int i = 1; i < ny; i++) fprintf(f, "<path d=\"M%.1f %.1fh%.1f\"/>", g->L, fy(g, g->y0 + i * ystep), g->PW);
    fputs("</g>\n", f);
    fprintf(f, "<path d=\"M%.1f %.1fV%.1fH%.1f\" stroke=\"#333\" fill=\"none\"/>\n", g->L, g->T, g->T + g->PH,
            g->L + g->PW);
    fputs("<g text-anchor=\"end\">", f);
    for (int i = 0; i <= ny; i++) {
        double v = g->y0 + i * ystep;
        tick_label(buf, sizeof buf, v, ystep);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", g->L - 6, fy(g, v) + 4, buf);
    }
    fputs("</g>\n<g text-anchor=\"middle\">", f);
    double bottom = g->T + g->PH;
    if (c->xcat) {
        double widest = 0;
        for (int i = 0; i < c->n; i++) widest = fmax(widest, text_w(c->xcat[i]));
        int every = 1;
        while (widest + 8 > every * g->PW / c->n && every < c->n) every++;
        for (int i = 0; i < c->n; i += every) text_at(f, fx(g, i), bottom + 16, NULL, c->xcat[i]);
    } else {
        double xstep = nice_step(g->x1 - g->x0, 6);
        bool integer = c->x == NULL;
        if (integer && xstep < 1) xstep = 1;
        double first = ceil(g->x0 / xstep - 1e-9) * xstep;
        int nx = tick_count(g->x1 - first + 1e-9 * xstep, xstep);
        for (int i = 0; i <= nx; i++) {
            double v = first + i * xstep;
            tick_label(buf, sizeof buf, v, xstep);
            fprintf(f, "<path d=\"M%.1f %.1fv4\" stroke=\"#333\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>", fx(g, v),
                    bottom, fx(g, v), bottom + 16, buf);
        }
    }
    fputs("</g>\n", f);
    if (c->xlabel) text_at(f, g->L + g->PW / 2, bottom + 36, "middle", c->xlabel);
    if (c->ylabel) vertical_text(f, 14, g->T + g->PH / 2, c->ylabel);
}

/* one path over all finite points, restarting after gaps; bands as one polygon per run */
static void draw_series(FILE *f, const svg_lines_spec *c, const frame *g, int k) {
    const svg_series *s = &c->series[k];
    const char *col = svg_color(k);
    const char *dash = k >= SVG_N_COLORS ? " stroke-dasharray=\"6 3\"" : "";
    if (s->err && !c->err_bars) {
        for (int i = 0; i < c->n;) {
            if (!point_ok(c, s, i)) {
                i++;
                continue;
            }
            int j = i;
            while (j < c->n && point_ok(c, s, j)) j++;
            fprintf(f, "<path fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" d=\"", col);
            for (int t = i; t < j; t++)
                fprintf(f, "%c%.1f %.1f", t == i ? 'M' : 'L', fx(g, x_of(c, t)), fy(g, s->y[t] + err_of(s, t)));
            for (int t = j - 1; t >= i; t--) fprintf(f, "L%.1f %.1f", fx(g, x_of(c, t)), fy(g, s->y[t] - err_of(s, t)));
            fputs("Z\"/>\n", f);
            i = j;
        }
    }
    fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s d=\"", col, dash);
    bool pen = false;
    for (int i = 0; i < c->n; i++) {
        if (!point_ok(c, s, i)) {
            pen = false;
            continue;
        }
        fprintf(f, "%c%.1f %.1f", pen ? 'L' : 'M', fx(g, x_of(c, i)), fy(g, s->y[i]));
        pen = true;
    }
    fputs("\"/>\n", f);
    if (!c->err_bars) return;
    fprintf(f, "<g stroke=\"%s\" fill=\"%s\">", col, col);
    for (int i = 0; i < c->n; i++) {
        if (!point_ok(c, s, i)) continue;
        double px = fx(g, x_of(c, i)), e = err_of(s, i);
        if (e > 0) {
            double top = fy(g, s->y[i] + e), bot = fy(g, s->y[i] - e);
            fprintf(f, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8\"/>", px, top, bot, px - 4, top, px - 4,
                    bot);
        }
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>", px, fy(g, s->y[i]));
    }
    fputs("</g>\n", f);
}

void svg_lines(FILE *f, const svg_lines_spec *c) {
    double legend = 0;
    for (int k = 0; k < c->n_series; k++) legend = fmax(legend, text_w(c->series[k].label));
    frame g = {.L = 70, .T = 34, .PW = 480, .PH = 260};
    double R = legend > 0 ? legend + 48 : 16, W = g.L + g.PW + R;
    double H = fmax(g.T + g.PH + 50, g.T + 18.0 * c->n_series + 10);
    x_range(c, &g.x0, &g.x1);
    y_range(c, &g.y0, &g.y1);
    svg_open(f, W, H, c->title, c->alt);
    draw_axes(f, c, &g);
    for (int k = 0; k < c->n_series; k++) draw_series(f, c, &g, k);
    double lx = g.L + g.PW + 14;
    for (int k = 0; k < c->n_series; k++) {
        double ly = g.T + 8 + 18.0 * k;
        fprintf(f, "<path d=\"M%.1f %.1fh20\" stroke=\"%s\" stroke-width=\"2.5\"%s/>", lx, ly, svg_color(k),
                k >= SVG_N_COLORS ? " stroke-dasharray=\"6 3\"" : "");
        text_at(f, lx + 26, ly + 4, NULL, c->series[k].label ? c->series[k].label : "");
    }
    fputs("</svg>\n", f);
}

/* ---- heat maps ---------------------------------------------------------------- */

static const unsigned char viridis[9][3] = {{0x44, 0x01, 0x54}, {0x47, 0x2d, 0x7b}, {0x3b, 0x52, 0x8b},
                                            {0x2c, 0x72, 0x8e}, {0x21, 0x91, 0x8c}, {0x28, 0xae, 0x80},
                                            {0x5e, 0xc9, 0x62}, {0xad, 0xdc, 0x30}, {0xfd, 0xe7, 0x25}};
static const unsigned char blues[9][3] = {{0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef},
                                          {0x9e, 0xca, 0xe1}, {0x6b, 0xae, 0xd6}, {0x42, 0x92, 0xc6},
                                          {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c}, {0x08, 0x30, 0x6b}};
#define LEVELS 48

static void level_color(svg_cmap cmap, int level, char out[8]) {
    const unsigned char(*stops)[3] = cmap == SVG_CMAP_BLUES ? blues : viridis;
    double t = (double)level / (LEVELS - 1) * 8.0;
    int a = (int)t < 8 ? (int)t : 7;
    double u = t - a;
    int rgb[3];
    for (int k = 0; k < 3; k++) rgb[k] = (int)lround(stops[a][k] + u * (stops[a + 1][k] - stops[a][k]));
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* -1: NaN (grey) */
static int level_of(const svg_heatmap_spec *h, double v) {
    if (!isfinite(v)) return -1;
    double t = h->vmax > h->vmin ? (v - h->vmin) / (h->vmax - h->vmin) : 0.5;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return (int)lround(t * (LEVELS - 1));
}

static bool dark_level(svg_cmap cmap, int level) {
    double t = (double)level / (LEVELS - 1);
    return cmap == SVG_CMAP_BLUES ? t > 0.55 : t < 0.55;
}

typedef struct {
    double L, T, cw, ch;
} grid;

static void heat_cells(FILE *f, const svg_heatmap_spec *h, const grid *g) {
    int n = h->rows * h->cols;
    fputs("<g shape-rendering=\"crispEdges\">\n", f);
    for (int q = -1; q < LEVELS; q++) { /* one path per colour keeps the file small */
        bool open = false;
        for (int i = 0; i < n; i++) {
            if (level_of(h, h->value[i]) != q) continue;
            if (!open) {
                char col[8] = "#cccccc";
                if (q >= 0) level_color(h->cmap, q, col);
                fprintf(f, "<path fill=\"%s\" d=\"", col);
                open = true;
            }
            fprintf(f, "M%.1f %.1fh%.1fv%.1fh%.1fz", g->L + (i % h->cols) * g->cw, g->T + (i / h->cols) * g->ch,
                    g->cw, g->ch, -g->cw);
        }
        if (open) fputs("\"/>\n", f);
    }
    fputs("</g>\n", f);
    bool values = !h->count && h->value_digits > 0;
    if ((h->count || values) && g->cw >= 18 && g->ch >= 14) {
        fputs("<g text-anchor=\"middle\" font-size=\"11\">", f);
        for (int i = 0; i < n; i++) {
            int q = level_of(h, h->value[i]);
            bool light_text = q >= 0 && dark_level(h->cmap, q);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"%s>", g->L + (i % h->cols + 0.5) * g->cw,
                    g->T + (i / h->cols + 0.5) * g->ch + 4, light_text ? " fill=\"#fff\"" : "");
            if (!values) fprintf(f, "%lld", (long long)h->count[i]);
            else if (isfinite(h->value[i])) fprintf(f, "%.*f", h->value_digits, h->value[i]);
            fputs("</text>", f);
        }
        fputs("</g>\n", f);
    }
}

static void color_bar(FILE *f, const svg_heatmap_spec *h, double x, double y, double height) {
    double step = height / LEVELS;
    fputs("<g shape-rendering=\"crispEdges\">", f);
    for (int q = 0; q < LEVELS; q++) {
        char col[8];
        level_color(h->cmap, q, col);
        fprintf(f, "<path fill=\"%s\" d=\"M%.1f %.1fh12v%.1fh-12z\"/>", col, x, y + height - (q + 1) * step,
                step + 0.3);
    }
    fputs("</g>\n", f);
    char buf[32];
    snprintf(buf, sizeof buf, "%.3g", h->vmax);
    text_at(f, x + 16, y + 9, NULL, buf);
    snprintf(buf, sizeof buf, "%.3g", h->vmin);
    text_at(f, x + 16, y + height, NULL, buf);
    if (h->scale_label) vertical_text(f, x + 70, y + height / 2, h->scale_label);
}

void svg_heatmap(FILE *f, const svg_heatmap_spec *h) {
    char buf[32];
    double row_w = 0;
    for (int r = 0; r < h->rows; r++) row_w = fmax(row_w, text_w(name_or_index(h->row_names, r, buf, sizeof buf)));
    grid g = {.L = row_w + 12 + (h->ylabel ? 22 : 0), .T = h->title ? 32 : 8};
    g.cw = fmin(h->cell_w, h->grid_w / h->cols);
    g.ch = h->cell_h;
    double gw = g.cw * h->cols, gh = g.ch * h->rows;
    /* column labels: names, rotated when wider than a cell; or thinned indices */
    double col_w = 0;
    for (int c = 0; h->col_names && c < h->cols; c++)
        col_w = fmax(col_w, text_w(name_or_index(h->col_names, c, buf, sizeof buf)));
    bool rotate = h->col_names && col_w + 4 > g.cw;
    double B = (rotate ? 0.75 * col_w + 16 : 20) + (h->xlabel ? 22 : 0);
    double bar_h = fmax(gh, 60);
    double W = g.L + gw + 14 + 12 + 58 + (h->scale_label ? 20 : 0), H = g.T + fmax(gh + B, bar_h + 8);
    svg_open(f, W, H, h->title, h->alt);
    heat_cells(f, h, &g);
    fprintf(f, "<path d=\"M%.1f %.1fh%.1fv%.1fh%.1fz\" fill=\"none\" stroke=\"#999\"/>\n", g.L, g.T, gw, gh, -gw);
    fputs("<g text-anchor=\"end\">", f);
    for (int r = 0; r < h->rows; r++)
        text_at(f, g.L - 6, g.T + (r + 0.5) * g.ch + 4, NULL, name_or_index(h->row_names, r, buf, sizeof buf));
    fputs("</g>\n", f);
    double below = g.T + gh;
    if (rotate) {
        for (int c = 0; c < h->cols; c++) {
            double x = g.L + (c + 0.5) * g.cw;
            fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-40)\" text-anchor=\"end\">", x + 4, below + 12);
            svg_escape(f, name_or_index(h->col_names, c, buf, sizeof buf));
            fputs("</text>\n", f);
        }
    } else {
        int every = 1;
        if (!h->col_names) { /* indices: at most about 16 labels, on multiples of 1, 2, 5, 10... */
            every = (int)nice_step(h->cols, 16);
            if (every < 1) every = 1;
        }
        fputs("<g text-anchor=\"middle\">", f);
        for (int c = 0; c < h->cols; c += every)
            text_at(f, g.L + (c + 0.5) * g.cw, below + 15, NULL, name_or_index(h->col_names, c, buf, sizeof buf));
        fputs("</g>\n", f);
    }
    if (h->xlabel) text_at(f, g.L + gw / 2, below + B - 6, "middle", h->xlabel);
    if (h->ylabel) vertical_text(f, 14, g.T + gh / 2, h->ylabel);
    color_bar(f, h, g.L + gw + 14, g.T, bar_h);
    fputs("</svg>\n", f);
}

/* ---- scatter -------------------------------------------------------------------- */

/* a zero-length subpath with round or square caps draws one dot: about 14 bytes a point */
static void class_style(FILE *f, int c, double width) {
    fprintf(f, "fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linecap=\"%s\"", svg_color(c),
            (c / SVG_N_COLORS) % 2 ? width - 1 : width, (c / SVG_N_COLORS) % 2 ? "square" : "round");
}

void svg_scatter(FILE *f, const svg_scatter_spec *s) {
    char buf[32];
    double legend = 0;
    for (int c = 0; c < s->n_classes; c++)
        legend = fmax(legend, text_w(name_or_index(s->class_names, c, buf, sizeof buf)));
    const double L = 10, T = 30, P = 420;
    double W = L + P + 20 + legend + 30, H = fmax(T + P + 10, T + 18.0 * s->n_classes + 10);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < s->n; i++) {
        x0 = fmin(x0, s->xy[2 * i]), x1 = fmax(x1, s->xy[2 * i]);
        y0 = fmin(y0, s->xy[2 * i + 1]), y1 = fmax(y1, s->xy[2 * i + 1]);
    }
    double span = fmax(fmax(x1 - x0, y1 - y0), 1e-9), scale = (P - 16) / span; /* same scale on both axes */
    double cx = L + P / 2 - scale * (x0 + x1) / 2, cy = T + P / 2 + scale * (y0 + y1) / 2;
    svg_open(f, W, H, s->title, s->alt);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#ccc\"/>\n", L, T, P,
            P);
    for (int c = 0; c < s->n_classes; c++) {
        bool open = false;
        for (int i = 0; i < s->n; i++) {
            if (s->label[i] != c) continue;
            if (!open) {
                fputs("<path stroke-opacity=\"0.8\" ", f);
                class_style(f, c, 6);
                fputs(" d=\"", f);
                open = true;
            }
            fprintf(f, "M%.1f %.1fh0", cx + scale * s->xy[2 * i], cy - scale * s->xy[2 * i + 1]);
        }
        if (open) fputs("\"/>\n", f);
    }
    double lx = L + P + 20;
    for (int c = 0; c < s->n_classes; c++) {
        double ly = T + 8 + 18.0 * c;
        fputs("<path ", f);
        class_style(f, c, 8);
        fprintf(f, " d=\"M%.1f %.1fh0\"/>", lx + 4, ly);
        text_at(f, lx + 16, ly + 4, NULL, name_or_index(s->class_names, c, buf, sizeof buf));
    }
    fputs("</svg>\n", f);
}
