/* Tables of strings printed three ways: aligned text for terminals, GitHub markdown,
 * RFC 4180 CSV. Widths count UTF-8 code points, so "93.1 ± 0.4" is 10 columns wide. */
#include <stdlib.h>
#include <string.h>

#include "mtl/io.h"
#include "mtl/report.h"
#include "train/svg.h"

#define TABLE_MAX_COLS 1024

struct mtl_table {
    char *title, *note;
    int cols, rows, cap;
    char **header; /* [cols] */
    char **cells;  /* [cap * cols], row-major */
};

static char *dup_str(const char *s) {
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void mtl_table_free(mtl_table *t) {
    if (!t) return;
    free(t->title);
    free(t->note);
    if (t->header)
        for (int c = 0; c < t->cols; c++) free(t->header[c]);
    free(t->header);
    for (int64_t i = 0; i < (int64_t)t->rows * t->cols; i++) free(t->cells[i]);
    free(t->cells);
    free(t);
}

mtl_status mtl_table_create(mtl_table **out, const char *title, int cols, const char *const *header) {
    if (!out) return mtl_error(MTL_ERR_ARG, "table_create: out is NULL");
    *out = NULL;
    if (cols < 1 || cols > TABLE_MAX_COLS)
        return mtl_error(MTL_ERR_ARG, "table_create: cols = %d, expected 1..%d", cols, TABLE_MAX_COLS);
    if (!header) return mtl_error(MTL_ERR_ARG, "table_create: header is NULL, expected %d names", cols);
    mtl_table *t = calloc(1, sizeof *t);
    if (!t) return mtl_error(MTL_ERR_NOMEM, "table_create: out of memory");
    t->cols = cols;
    t->title = dup_str(title);
    t->header = calloc((size_t)cols, sizeof *t->header);
    bool ok = t->title && t->header;
    for (int c = 0; ok && c < cols; c++) ok = (t->header[c] = dup_str(header[c])) != NULL;
    if (!ok) {
        mtl_table_free(t);
        return mtl_error(MTL_ERR_NOMEM, "table_create: out of memory");
    }
    *out = t;
    return MTL_OK;
}

mtl_status mtl_table_add_row(mtl_table *t, const char *const *cells) {
    if (!t || !cells) return mtl_error(MTL_ERR_ARG, "table_add_row: %s is NULL", t ? "cells" : "table");
    if (t->rows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 8;
        if (cap > (1 << 24) / t->cols) return mtl_error(MTL_ERR_RANGE, "table_add_row: more than %d rows", t->rows);
        char **c = realloc(t->cells, (size_t)cap * t->cols * sizeof *c);
        if (!c) return mtl_error(MTL_ERR_NOMEM, "table_add_row: out of memory for %d rows", cap);
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + (size_t)t->rows * t->cols;
    for (int c = 0; c < t->cols; c++) {
        if (!(row[c] = dup_str(cells[c]))) {
            while (c-- > 0) free(row[c]);
            return mtl_error(MTL_ERR_NOMEM, "table_add_row: out of memory");
        }
    }
    t->rows++;
    return MTL_OK;
}

mtl_status mtl_table_set_note(mtl_table *t, const char *note) {
    if (!t) return mtl_error(MTL_ERR_ARG, "table_set_note: table is NULL");
    char *n = dup_str(note);
    if (!n) return mtl_error(MTL_ERR_NOMEM, "table_set_note: out of memory");
    free(t->note);
    t->note = n;
    return MTL_OK;
}

/* declared in train/svg.h for the HTML report */
const char *mtl_table_note(const mtl_table *t) { return t ? t->note : NULL; }

int mtl_table_rows(const mtl_table *t) { return t ? t->rows : 0; }
int mtl_table_cols(const mtl_table *t) { return t ? t->cols : 0; }
const char *mtl_table_title(const mtl_table *t) { return t ? t->title : NULL; }
const char *mtl_table_header(const mtl_table *t, int col) {
    return t && col >= 0 && col < t->cols ? t->header[col] : NULL;
}
const char *mtl_table_cell(const mtl_table *t, int row, int col) {
    if (!t || row < 0 || row >= t->rows || col < 0 || col >= t->cols) return NULL;
    return t->cells[(size_t)row * t->cols + col];
}

/* ---- shared helpers ----------------------------------------------------------- */

/* display width: UTF-8 code points (continuation bytes 10xxxxxx do not count) */
static int utf8_width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* a markdown cell: '|' becomes "\|" (one more column), a newline "<br>" (3 more) */
static int md_width(const char *s) {
    int w = utf8_width(s);
    for (; *s; s++) w += *s == '|' ? 1 : (*s == '\n' ? 3 : (*s == '\r' ? -1 : 0));
    return w;
}

/* right-align a column whose every non-empty cell starts with a number */
static bool column_numeric(const mtl_table *t, int c) {
    int seen = 0;
    for (int r = 0; r < t->rows; r++) {
        const char *s = t->cells[(size_t)r * t->cols + c];
        while (*s == ' ') s++;
        if (!*s) continue;
        char *end;
        (void)strtod(s, &end);
        if (end == s) return false;
        seen++;
    }
    return seen > 0;
}

static void pad(FILE *f, int n) {
    for (; n > 0; n--) fputc(' ', f);
}

/* text cells: control characters (newlines, tabs) print as one space each */
static void put_plain(FILE *f, const char *s) {
    for (; *s; s++) fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
}

static void put_md(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n') fputs("<br>", f);
        else if (*s != '\r') fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
    }
}

static mtl_status check_print_args(const mtl_table *t, FILE *f, const char *fn) {
    if (!t) return mtl_error(MTL_ERR_ARG, "%s: table is NULL", fn);
    if (!f) return mtl_error(MTL_ERR_ARG, "%s: FILE is NULL", fn);
    return MTL_OK;
}

static mtl_status check_stream(FILE *f, const mtl_table *t, const char *fn) {
    if (ferror(f)) return mtl_error(MTL_ERR_IO, "%s: write failed for table \"%s\"", fn, t->title);
    return MTL_OK;
}

/* widths[c] = widest of header and cells under width(); NULL on no memory */
static int *column_widths(const mtl_table *t, int (*width)(const char *)) {
    int *w = malloc((size_t)t->cols * sizeof *w);
    if (!w) return NULL;
    for (int c = 0; c < t->cols; c++) {
        w[c] = width(t->header[c]);
        for (int r = 0; r < t->rows; r++) {
            int x = width(t->cells[(size_t)r * t->cols + c]);
            if (x > w[c]) w[c] = x;
        }
    }
    return w;
}

/* ---- aligned text --------------------------------------------------------------- */

static void text_line(FILE *f, const mtl_table *t, char *const *cells, const int *w, const bool *right) {
    int end = t->cols - 1;
    while (end > 0 && !*cells[end]) end--; /* empty trailing cells would print only blanks */
    for (int c = 0; c <= end; c++) {
        int gap = w[c] - utf8_width(cells[c]);
        bool last = c == end;
        if (c) fputs("  ", f);
        if (right[c]) pad(f, gap);
        put_plain(f, cells[c]);
        if (!right[c] && !last) pad(f, gap); /* no trailing blanks */
    }
    fputc('\n', f);
}

mtl_status mtl_table_print(const mtl_table *t, FILE *f) {
    mtl_status s = check_print_args(t, f, "table_print");
    if (s) return s;
    int *w = column_widths(t, utf8_width);
    bool *right = malloc((size_t)t->cols * sizeof *right);
    if (!w || !right) {
        free(w);
        free(right);
        return mtl_error(MTL_ERR_NOMEM, "table_print: out of memory");
    }
    for (int c = 0; c < t->cols; c++) right[c] = column_numeric(t, c);
    if (*t->title) {
        put_plain(f, t->title);
        fputc('\n', f);
    }
    text_line(f, t, t->header, w, right);
    for (int c = 0; c < t->cols; c++) {
        if (c) fputs("  ", f);
        for (int i = 0; i < w[c]; i++) fputc('-', f);
    }
    fputc('\n', f);
    for (int r = 0; r < t->rows; r++) text_line(f, t, t->cells + (size_t)r * t->cols, w, right);
    if (t->note && *t->note) {
        fputs(t->note, f);
        fputc('\n', f);
    }
    free(w);
    free(right);
    return check_stream(f, t, "table_print");
}

/* ---- markdown ------------------------------------------------------------------- */

static void md_line(FILE *f, const mtl_table *t, char *const *cells, const int *w) {
    for (int c = 0; c < t->cols; c++) {
        fputs("| ", f);
        put_md(f, cells[c]);
        pad(f, w[c] - md_width(cells[c]));
        fputc(' ', f);
    }
    fputs("|\n", f);
}

mtl_status mtl_table_print_markdown(const mtl_table *t, FILE *f) {
    mtl_status s = check_print_args(t, f, "table_print_markdown");
    if (s) return s;
    int *w = column_widths(t, md_width);
    if (!w) return mtl_error(MTL_ERR_NOMEM, "table_print_markdown: out of memory");
    for (int c = 0; c < t->cols; c++)
        if (w[c] < 3) w[c] = 3; /* the rule needs at least "---" */
    if (*t->title) {
        fputs("**", f);
        put_md(f, t->title);
        fputs("**\n\n", f);
    }
    md_line(f, t, t->header, w);
    for (int c = 0; c < t->cols; c++) {
        bool right = column_numeric(t, c);
        fputc('|', f);
        for (int i = 0; i < w[c] + 1; i++) fputc('-', f);
        fputc(right ? ':' : '-', f);
    }
    fputs("|\n", f);
    for (int r = 0; r < t->rows; r++) md_line(f, t, t->cells + (size_t)r * t->cols, w);
    if (t->note && *t->note) {
        fputc('\n', f);
        fputs(t->note, f);
        fputc('\n', f);
    }
    free(w);
    return check_stream(f, t, "table_print_markdown");
}

/* ---- CSV ------------------------------------------------------------------------ */

static void csv_cell(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* RFC 4180 ends every record with CRLF */
static void csv_line(FILE *f, char *const *cells, int cols) {
    for (int c = 0; c < cols; c++) {
        if (c) fputc(',', f);
        csv_cell(f, cells[c]);
    }
    fputs("\r\n", f);
}

mtl_status mtl_table_write_csv(const mtl_table *t, const char *path) {
    if (!t) return mtl_error(MTL_ERR_ARG, "table_write_csv: table is NULL");
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "table_write_csv: path is NULL or empty");
    mtl_afile a;
    mtl_status s = mtl_afile_open(&a, path);
    if (s) return s;
    csv_line(a.f, t->header, t->cols);
    for (int r = 0; r < t->rows; r++) csv_line(a.f, t->cells + (size_t)r * t->cols, t->cols);
    return mtl_afile_commit(&a);
}
