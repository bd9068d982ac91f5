/* Description files (include/mtl/tabular.h): the parser, the writer, and the checks
 * every schema passes (also those rebuilt from an encoder's JSON). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/tabular_internal.h"

#define MAX_DESC_BYTES ((size_t)1 << 20)
#define MAX_TOKENS (4 + MTL_TAB_MAX_POSITIVE)
#define MAX_IDS MTL__TAB_MAX_IDS

/* copies a string that must fit (with its NUL) into dst[cap] */
bool mtl__tab_copy_str(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) return false;
    memcpy(dst, src, n + 1);
    return true;
}

const char *mtl__tab_kind_name(mtl_col_kind k) {
    return k == MTL_COL_CONTINUOUS ? "continuous" : k == MTL_COL_NOMINAL ? "nominal" : "ignore";
}

bool mtl__tab_kind_parse(const char *t, mtl_col_kind *k) {
    if (!strcmp(t, "continuous")) *k = MTL_COL_CONTINUOUS;
    else if (!strcmp(t, "nominal")) *k = MTL_COL_NOMINAL;
    else if (!strcmp(t, "ignore")) *k = MTL_COL_IGNORE;
    else return false;
    return true;
}

int mtl__tab_find_column(const mtl_tab_schema *s, const char *name) {
    for (int c = 0; c < s->n_cols; c++)
        if (!strcmp(s->cols[c].name, name)) return c;
    return -1;
}

/* the checks shared by the description parser and from_json */
mtl_status mtl__tab_schema_check(const mtl_tab_schema *s, const char *where) {
    if (!s->delimiter[0]) return mtl_error(MTL_ERR_FORMAT, "%s: the delimiter is empty", where);
    if (s->n_cols < 1) return mtl_error(MTL_ERR_FORMAT, "%s: no columns (expected 'column NAME KIND' lines)", where);
    if (s->hash_buckets < 0 || s->hash_buckets > MAX_IDS + 1)
        return mtl_error(MTL_ERR_FORMAT, "%s: hash %d (expected a bucket count 1..%d, or 0 for off)", where,
                         s->hash_buckets, MAX_IDS + 1);
    for (int c = 0; c < s->n_cols; c++) {
        if (!s->cols[c].name[0]) return mtl_error(MTL_ERR_FORMAT, "%s: column %d has an empty name", where, c + 1);
        for (int d = 0; d < c; d++)
            if (!strcmp(s->cols[c].name, s->cols[d].name))
                return mtl_error(MTL_ERR_FORMAT, "%s: column '%s' is named twice (columns %d and %d)", where,
                                 s->cols[c].name, d + 1, c + 1);
    }
    bool task_col[MTL_TAB_MAX_COLUMNS] = {false};
    for (int k = 0; k < s->n_tasks; k++) {
        const mtl_tab_task *t = &s->tasks[k];
        if (!t->name[0]) return mtl_error(MTL_ERR_FORMAT, "%s: task %d has an empty name", where, k + 1);
        if (t->column < 0 || t->column >= s->n_cols)
            return mtl_error(MTL_ERR_FORMAT, "%s: task '%s' reads column %d (expected 1..%d)", where, t->name,
                             t->column + 1, s->n_cols);
        if (!t->multiclass && (t->n_positive < 1 || t->n_positive > MTL_TAB_MAX_POSITIVE))
            return mtl_error(MTL_ERR_FORMAT, "%s: binary task '%s' has %d positive values (expected 1..%d)", where,
                             t->name, t->n_positive, MTL_TAB_MAX_POSITIVE);
        for (int j = 0; j < k; j++)
            if (!strcmp(t->name, s->tasks[j].name))
                return mtl_error(MTL_ERR_FORMAT, "%s: task '%s' is defined twice", where, t->name);
        task_col[t->column] = true;
    }
    int inputs = 0;
    for (int c = 0; c < s->n_cols; c++) inputs += s->cols[c].kind != MTL_COL_IGNORE && !task_col[c];
    if (inputs == 0)
        return mtl_error(MTL_ERR_FORMAT, "%s: no input columns (every column is ignored or read by a task)", where);
    return MTL_OK;
}

/* ==== description files ========================================================= */

/* Splits one line into tokens (quoted ones unescaped) written into out; '#' outside
 * quotes ends the line. Returns the count, or -1 with the error set. */
static int tokenize(const char *b, const char *e, char *out, char **tok, const char *name, int line) {
    int n = 0;
    const char *p = b;
    for (;;) {
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        if (p >= e || *p == '#') return n;
        if (n == MAX_TOKENS) {
            mtl_error(MTL_ERR_FORMAT, "%s:%d: too many values on one line (at most %d)", name, line, MAX_TOKENS);
            return -1;
        }
        tok[n++] = out;
        if (*p == '"') {
            for (p++;; p++) {
                if (p >= e) {
                    mtl_error(MTL_ERR_FORMAT, "%s:%d: unterminated quoted value", name, line);
                    return -1;
                }
                if (*p == '"') break;
                if (*p == '\\') {
                    char c = p + 1 < e ? p[1] : '\0';
                    if (c != '"' && c != '\\' && c != 't') {
                        mtl_error(MTL_ERR_FORMAT, "%s:%d: unknown escape '\\%c' in a quoted value (expected \\\", "
                                  "\\\\ or \\t)", name, line, c ? c : ' ');
                        return -1;
                    }
                    *out++ = c == 't' ? '\t' : c;
                    p++;
                } else {
                    *out++ = *p;
                }
            }
            p++;
            if (p < e && *p != ' ' && *p != '\t' && *p != '#') {
                mtl_error(MTL_ERR_FORMAT, "%s:%d: text right after a closing quote (expected a space)", name, line);
                return -1;
            }
        } else {
            while (p < e && *p != ' ' && *p != '\t' && *p != '#') *out++ = *p++;
        }
        *out++ = '\0';
    }
}

static mtl_status set_value(char *dst, size_t cap, const char *v, const char *what, const char *name, int line) {
    if (!mtl__tab_copy_str(dst, cap, v))
        return mtl_error(MTL_ERR_FORMAT, "%s:%d: %s '%s' is too long (at most %zu bytes)", name, line, what, v,
                         cap - 1);
    return MTL_OK;
}

static mtl_status parse_statement(char **t, int n, const char *name, int line, mtl_tab_schema *s,
                                  char task_col[][MTL_TAB_NAME_MAX], int *task_line) {
    const char *kw = t[0];
    if (!strcmp(kw, "delimiter") || !strcmp(kw, "missing") || !strcmp(kw, "strip") || !strcmp(kw, "header") ||
        !strcmp(kw, "hash")) {
        if (n != 2) return mtl_error(MTL_ERR_FORMAT, "%s:%d: '%s' takes one value, got %d", name, line, kw, n - 1);
        if (!strcmp(kw, "delimiter")) {
            if (!t[1][0]) return mtl_error(MTL_ERR_FORMAT, "%s:%d: empty delimiter", name, line);
            if (strpbrk(t[1], "\n\r"))
                return mtl_error(MTL_ERR_FORMAT, "%s:%d: delimiter holds a line break", name, line);
            return set_value(s->delimiter, sizeof s->delimiter, t[1], "delimiter", name, line);
        }
        if (!strcmp(kw, "missing")) return set_value(s->missing, sizeof s->missing, t[1], "missing marker", name, line);
        if (!strcmp(kw, "strip")) return set_value(s->strip, sizeof s->strip, t[1], "strip suffix", name, line);
        if (!strcmp(kw, "header")) {
            if (strcmp(t[1], "yes") && strcmp(t[1], "no"))
                return mtl_error(MTL_ERR_FORMAT, "%s:%d: header '%s' (expected yes or no)", name, line, t[1]);
            s->header = !strcmp(t[1], "yes");
            return MTL_OK;
        }
        char *end;
        errno = 0;
        long v = strtol(t[1], &end, 10);
        if (*end || end == t[1] || errno || v < 0 || v > MAX_IDS + 1)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: hash '%s' (expected a bucket count 1..%d, or 0 for off)", name,
                             line, t[1], MAX_IDS + 1);
        s->hash_buckets = (int)v;
        return MTL_OK;
    }
    if (!strcmp(kw, "column")) {
        if (n < 3 || n > 4)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: expected 'column NAME continuous|nominal|ignore [log1p]'", name,
                             line);
        if (s->n_cols == MTL_TAB_MAX_COLUMNS)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: too many columns (at most %d)", name, line, MTL_TAB_MAX_COLUMNS);
        mtl_tab_column *c = &s->cols[s->n_cols];
        memset(c, 0, sizeof *c);
        if (!t[1][0]) return mtl_error(MTL_ERR_FORMAT, "%s:%d: empty column name", name, line);
        mtl_status st = set_value(c->name, sizeof c->name, t[1], "column name", name, line);
        if (st) return st;
        if (mtl__tab_find_column(s, c->name) >= 0)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: column '%s' is named twice", name, line, c->name);
        if (!mtl__tab_kind_parse(t[2], &c->kind))
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: unknown kind '%s' for column '%s' (expected continuous, "
                             "nominal or ignore)", name, line, t[2], c->name);
        if (n == 4) {
            if (strcmp(t[3], "log1p"))
                return mtl_error(MTL_ERR_FORMAT, "%s:%d: unknown option '%s' for column '%s' (expected log1p)", name,
                                 line, t[3], c->name);
            if (c->kind != MTL_COL_CONTINUOUS)
                return mtl_error(MTL_ERR_FORMAT, "%s:%d: log1p on %s column '%s' (only continuous columns)", name,
                                 line, mtl__tab_kind_name(c->kind), c->name);
            c->log1p = true;
        }
        s->n_cols++;
        return MTL_OK;
    }
    if (!strcmp(kw, "task")) {
        bool multi = n >= 3 && !strcmp(t[2], "multiclass");
        if (n < 4 || (multi && n != 4) || (!multi && strcmp(t[2], "binary")))
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: expected 'task NAME binary COLUMN VALUE [VALUE...]' or "
                             "'task NAME multiclass COLUMN'", name, line);
        if (s->n_tasks == MTL_MAX_TASKS)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: too many tasks (at most %d)", name, line, MTL_MAX_TASKS);
        if (!multi && n < 5)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: binary task '%s' names no positive value", name, line, t[1]);
        if (!multi && n - 4 > MTL_TAB_MAX_POSITIVE)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d: binary task '%s' has %d positive values (at most %d)", name, line,
                             t[1], n - 4, MTL_TAB_MAX_POSITIVE);
        mtl_tab_task *k = &s->tasks[s->n_tasks];
        memset(k, 0, sizeof *k);
        if (!t[1][0]) return mtl_error(MTL_ERR_FORMAT, "%s:%d: empty task name", name, line);
        mtl_status st = set_value(k->name, sizeof k->name, t[1], "task name", name, line);
        if (!st) st = set_value(task_col[s->n_tasks], MTL_TAB_NAME_MAX, t[3], "column name", name, line);
        for (int j = 4; !st && j < n; j++)
            st = set_value(k->positive[j - 4], MTL_TAB_VALUE_MAX, t[j], "positive value", name, line);
        if (st) return st;
        for (int j = 0; j < s->n_tasks; j++)
            if (!strcmp(s->tasks[j].name, k->name))
                return mtl_error(MTL_ERR_FORMAT, "%s:%d: task '%s' is defined twice", name, line, k->name);
        k->multiclass = multi;
        k->n_positive = multi ? 0 : n - 4;
        k->column = -1;
        task_line[s->n_tasks++] = line;
        return MTL_OK;
    }
    return mtl_error(MTL_ERR_FORMAT, "%s:%d: unknown statement '%s' (expected delimiter, header, missing, strip, "
                     "column, task or hash)", name, line, kw);
}

mtl_status mtl_tab_schema_parse(const char *text, const char *name, mtl_tab_schema *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "tab_schema_parse: output is NULL");
    memset(out, 0, sizeof *out);
    if (!text) return mtl_error(MTL_ERR_ARG, "tab_schema_parse: text is NULL");
    if (!name) name = "description";
    mtl_tab_schema *s = out;
    if (!mtl__tab_copy_str(s->name, sizeof s->name, name)) strcpy(s->name, "description");
    strcpy(s->delimiter, ",");
    size_t len = strlen(text);
    char *scratch = malloc(len + MAX_TOKENS + 1);
    if (!scratch) return mtl_error(MTL_ERR_NOMEM, "%s: out of memory", name);
    char task_col[MTL_MAX_TASKS][MTL_TAB_NAME_MAX];
    int task_line[MTL_MAX_TASKS];
    mtl_status st = MTL_OK;
    const char *p = text, *end = text + len;
    for (int line = 1; p < end && !st; line++) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e) e = end;
        const char *le = e > p && e[-1] == '\r' ? e - 1 : e;
        char *tok[MAX_TOKENS];
        int n = tokenize(p, le, scratch, tok, name, line);
        if (n < 0) st = mtl_last_status();
        else if (n > 0) st = parse_statement(tok, n, name, line, s, task_col, task_line);
        p = e + 1;
    }
    free(scratch);
    for (int k = 0; k < s->n_tasks && !st; k++)
        if ((s->tasks[k].column = mtl__tab_find_column(s, task_col[k])) < 0)
            st = mtl_error(MTL_ERR_FORMAT, "%s:%d: task '%s' reads unknown column '%s'", name, task_line[k],
                           s->tasks[k].name, task_col[k]);
    if (!st) st = mtl__tab_schema_check(s, name);
    if (st) memset(out, 0, sizeof *out);
    return st;
}

mtl_status mtl_tab_schema_read(const char *path, mtl_tab_schema *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "tab_schema_read: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "tab_schema_read: null or empty path");
    struct stat sb;
    if (stat(path, &sb) != 0) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return mtl_error(MTL_ERR_IO, "%s: is a directory, expected a description file", path);
    if ((size_t)sb.st_size > MAX_DESC_BYTES)
        return mtl_error(MTL_ERR_FORMAT, "%s: %lld bytes is too large for a description file (at most %zu)", path,
                         (long long)sb.st_size, MAX_DESC_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *text = malloc(MAX_DESC_BYTES + 1);
    if (!text) {
        fclose(f);
        return mtl_error(MTL_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(text, 1, MAX_DESC_BYTES + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    mtl_status st = MTL_OK;
    if (bad) st = mtl_error(MTL_ERR_IO, "%s: read error", path);
    else if (n > MAX_DESC_BYTES) st = mtl_error(MTL_ERR_FORMAT, "%s: too large for a description file", path);
    else if (memchr(text, '\0', n)) st = mtl_error(MTL_ERR_FORMAT, "%s: not a text file (holds a NUL byte)", path);
    if (!st) {
        text[n] = '\0';
        st = mtl_tab_schema_parse(text, path, out);
    }
    free(text);
    return st;
}

/* a value in description syntax: bare when it can be, else quoted */
static mtl_status put_value(FILE *f, const char *v, const char *what) {
    if (strpbrk(v, "\n\r")) return mtl_error(MTL_ERR_ARG, "tab_schema_write: %s '%s' holds a line break", what, v);
    if (*v && !strpbrk(v, " \t#\"\\")) return fputs(v, f) < 0 ? MTL_ERR_IO : MTL_OK;
    fputc('"', f);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', f);
        if (*p == '\t') fputs("\\t", f);
        else fputc(*p, f);
    }
    return fputc('"', f) == EOF ? MTL_ERR_IO : MTL_OK;
}

mtl_status mtl_tab_schema_write(const mtl_tab_schema *s, FILE *f) {
    if (!s || !f) return mtl_error(MTL_ERR_ARG, "tab_schema_write: null argument");
    mtl_status st = mtl__tab_schema_check(s, "tab_schema_write");
    if (st) return st;
    const char *nm = s->name;
    fprintf(f, "# mtl tabular description");
    if (*nm && !strpbrk(nm, "\n\r")) fprintf(f, " (from %s)", nm);
    fprintf(f, "\ndelimiter ");
    st = put_value(f, s->delimiter, "delimiter");
    fprintf(f, "\nheader %s\nmissing ", s->header ? "yes" : "no");
    if (!st) st = put_value(f, s->missing, "missing marker");
    fprintf(f, "\n");
    if (!st && s->strip[0]) {
        fprintf(f, "strip ");
        st = put_value(f, s->strip, "strip suffix");
        fprintf(f, "\n");
    }
    if (s->hash_buckets > 0) fprintf(f, "hash %d\n", s->hash_buckets);
    for (int c = 0; c < s->n_cols && !st; c++) {
        fprintf(f, "column ");
        st = put_value(f, s->cols[c].name, "column name");
        fprintf(f, " %s%s\n", mtl__tab_kind_name(s->cols[c].kind), s->cols[c].log1p ? " log1p" : "");
    }
    for (int k = 0; k < s->n_tasks && !st; k++) {
        const mtl_tab_task *t = &s->tasks[k];
        fprintf(f, "task ");
        st = put_value(f, t->name, "task name");
        fprintf(f, " %s ", t->multiclass ? "multiclass" : "binary");
        if (!st) st = put_value(f, s->cols[t->column].name, "column name");
        for (int j = 0; j < t->n_positive && !st && !t->multiclass; j++) {
            fputc(' ', f);
            st = put_value(f, t->positive[j], "positive value");
        }
        fputc('\n', f);
    }
    if (st) return st == MTL_ERR_IO ? mtl_error(MTL_ERR_IO, "tab_schema_write: write error") : st;
    if (ferror(f)) return mtl_error(MTL_ERR_IO, "tab_schema_write: write error");
    return MTL_OK;
}
