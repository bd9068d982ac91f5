/* A manifest CSV of users' own recordings (see mtl_manifest_open in data.h):
 *   path,variable,fs,<task1>,<task2>,...
 * RFC 4180 fields: quoted fields may hold commas, doubled quotes and line breaks. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtl/data.h"

#define MAX_MANIFEST_BYTES ((size_t)64 << 20)
#define MAX_INT_CLASSES 100000

typedef struct {
    char **f;
    int n, cap;
    int line; /* where the row starts */
} row;

typedef struct {
    row *r;
    int n, cap;
} table;

static void table_free(table *t) {
    for (int i = 0; i < t->n; i++) {
        for (int j = 0; j < t->r[i].n; j++) free(t->r[i].f[j]);
        free(t->r[i].f);
    }
    free(t->r);
    memset(t, 0, sizeof *t);
}

static bool row_add(row *r, const char *b, size_t len) {
    if (r->n == r->cap) {
        int nc = r->cap ? 2 * r->cap : 8;
        char **nf = realloc(r->f, (size_t)nc * sizeof *nf);
        if (!nf) return false;
        r->f = nf, r->cap = nc;
    }
    char *s = malloc(len + 1);
    if (!s) return false;
    memcpy(s, b, len);
    s[len] = '\0';
    r->f[r->n++] = s;
    return true;
}

/* splits text into rows of fields; blank lines are skipped */
static mtl_status parse_csv(const char *text, size_t len, const char *path, table *t) {
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* UTF-8 byte order mark */
    int line = 1;
    char *buf = NULL;
    size_t bcap = 0;
    mtl_status s = MTL_OK;
    while (p < end && !s) {
        row r = {NULL, 0, 0, line};
        for (;;) {
            size_t bl = 0;
            int col = r.n + 1, qline = line;
            bool quoted = p < end && *p == '"';
            if (quoted) p++;
            for (;;) {
                if (p == end) {
                    if (quoted) s = mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: quoted field never closed", path, qline, col);
                    break;
                }
                char c = *p;
                if (quoted && c == '"') {
                    if (p + 1 < end && p[1] == '"') p++; /* a doubled quote is one quote */
                    else {
                        p++;
                        break;
                    }
                } else if (!quoted && (c == ',' || c == '\n' || c == '\r')) {
                    break;
                }
                if (c == '\n') line++;
                if (bl + 1 >= bcap) {
                    size_t nc = bcap ? 2 * bcap : 256;
                    char *nb = realloc(buf, nc);
                    if (!nb) {
                        s = mtl_error(MTL_ERR_NOMEM, "%s: out of memory", path);
                        break;
                    }
                    buf = nb, bcap = nc;
                }
                buf[bl++] = *p++;
            }
            if (s) break;
            if (quoted && p < end && *p != ',' && *p != '\n' && *p != '\r') {
                s = mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: text after a closing quote", path, line, col);
                break;
            }
            size_t b0 = 0;
            if (!quoted) { /* unquoted fields are trimmed */
                while (b0 < bl && isspace((unsigned char)buf[b0])) b0++;
                while (bl > b0 && isspace((unsigned char)buf[bl - 1])) bl--;
            }
            if (!row_add(&r, buf ? buf + b0 : "", bl - b0)) {
                s = mtl_error(MTL_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == '\r') p++;
            if (p < end && *p == '\n') p++;
            line++;
            break;
        }
        bool blank = r.n == 1 && r.f[0][0] == '\0';
        if (!s && !blank && t->n == t->cap) {
            int nc = t->cap ? 2 * t->cap : 64;
            row *nr = realloc(t->r, (size_t)nc * sizeof *nr);
            if (!nr) s = mtl_error(MTL_ERR_NOMEM, "%s: out of memory", path);
            else t->r = nr, t->cap = nc;
        }
        if (!s && !blank) {
            t->r[t->n++] = r;
        } else {
            for (int j = 0; j < r.n; j++) free(r.f[j]);
            free(r.f);
        }
    }
    free(buf);
    return s;
}

static mtl_status read_text(const char *path, char **text, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return mtl_error(MTL_ERR_IO, "%s: cannot open manifest: %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    char *b = NULL;
    for (;;) {
        if (cap - n < 4096) {
            size_t nc = cap ? 2 * cap : 65536;
            char *nb = nc <= MAX_MANIFEST_BYTES ? realloc(b, nc) : NULL;
            if (!nb) {
                free(b);
                fclose(f);
                return mtl_error(MTL_ERR_NOMEM, "%s: manifest too large or out of memory", path);
            }
            b = nb, cap = nc;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    bool err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return mtl_error(MTL_ERR_IO, "%s: read error", path);
    }
    *text = b, *len = n;
    return MTL_OK;
}

static bool parse_int(const char *s, long *v) {
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p)) p++;
    if (*p || p - s > 12) return false;
    *v = strtol(s, NULL, 10);
    return true;
}

/* labels of task column `col` (0-based among all columns) into the records */
static mtl_status task_labels(const table *t, int col, int task, const char *path, mtl_recordset *out) {
    const char *tname = out->task_names[task];
    bool ints = true;
    for (int i = 1; i < t->n && ints; i++) {
        long v;
        ints = parse_int(t->r[i].f[col], &v);
    }
    if (ints) {
        long max = -1;
        for (int i = 1; i < t->n; i++) {
            long v;
            parse_int(t->r[i].f[col], &v);
            if (v < 0 || v >= MAX_INT_CLASSES)
                return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d (%s): class %ld (integer classes must be 0..%d)", path,
                                 t->r[i].line, col + 1, tname, v, MAX_INT_CLASSES - 1);
            out->rec[i - 1].label[task] = (int32_t)v;
            if (v > max) max = v;
        }
        out->n_classes[task] = (int)max + 1;
        return MTL_OK;
    }
    /* class names, numbered in order of first appearance */
    const char **names = malloc((size_t)t->n * sizeof *names);
    if (!names) return mtl_error(MTL_ERR_NOMEM, "%s: out of memory", path);
    int n_names = 0;
    for (int i = 1; i < t->n; i++) {
        const char *cell = t->r[i].f[col];
        if (!*cell) {
            free(names);
            return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d (%s): empty class", path, t->r[i].line, col + 1, tname);
        }
        int k = 0;
        while (k < n_names && strcmp(names[k], cell)) k++;
        if (k == n_names) {
            names[n_names++] = cell;
            if (k < MTL_MAX_NAMED_CLASSES)
                snprintf(out->class_names[task][k], MTL_CLASS_NAME_MAX, "%s", cell); /* long names are cut */
        }
        out->rec[i - 1].label[task] = k;
    }
    free(names);
    out->n_classes[task] = n_names;
    return MTL_OK;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* the record's short name (file name without extension) and trailing file number */
static void record_name(mtl_record *R) {
    const char *b = base_name(R->path);
    size_t n = strlen(b);
    if (n > 3 && strcmp(b + n - 3, ".gz") == 0) n -= 3;
    const char *dot = memchr(b, '.', n);
    for (const char *q = dot; q && q < b + n; q = memchr(q + 1, '.', (size_t)(b + n - q - 1))) dot = q;
    if (dot && dot > b) n = (size_t)(dot - b);
    snprintf(R->name, sizeof R->name, "%.*s", (int)(n < sizeof R->name ? n : sizeof R->name - 1), b);
    size_t k = n;
    while (k > 0 && isdigit((unsigned char)b[k - 1])) k--;
    R->file_no = (k < n && n - k <= 9) ? atoi(b + k) : -1;
    R->load_hp = -1;
}

static mtl_status load_row(const table *t, int i, const char *path, size_t dir_len, mtl_record *R) {
    const row *r = &t->r[i];
    const char *file = r->f[0], *var = r->f[1], *fs = r->f[2];
    if (!*file) return mtl_error(MTL_ERR_FORMAT, "%s:%d:1 (path): empty path", path, r->line);
    int w = file[0] == '/' || dir_len == 0
                ? snprintf(R->path, sizeof R->path, "%s", file)
                : snprintf(R->path, sizeof R->path, "%.*s/%s", (int)dir_len, path, file);
    if (w >= (int)sizeof R->path) return mtl_error(MTL_ERR_ARG, "%s:%d:1 (path): path too long", path, r->line);
    record_name(R);
    if (strlen(var) >= sizeof R->var)
        return mtl_error(MTL_ERR_FORMAT, "%s:%d:2 (variable): name too long", path, r->line);
    strcpy(R->var, var);
    size_t pl = strlen(R->path);
    if (!*var && pl > 4 && strcasecmp(R->path + pl - 4, ".mat") == 0 &&
        mtl_cwru_variable(R->path, NULL, R->var, sizeof R->var) != MTL_OK) /* record the variable read */
        return mtl_error(MTL_ERR_FORMAT,
                         "%s:%d:2 (variable): empty, and %s is not named like a CWRU file (..._105.mat)", path,
                         r->line, file);
    double fs_hz = 0;
    if (*fs) {
        char *e;
        fs_hz = strtod(fs, &e);
        if (*e || !isfinite(fs_hz) || fs_hz <= 0)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d:3 (fs): '%s' (expected a sampling rate in Hz > 0, or empty)", path,
                             r->line, fs);
    }
    mtl_status s = mtl_signal_read(R->path, R->var, NULL, &R->sig);
    if (s) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", mtl_last_error());
        return mtl_error(s, "%s:%d:1 (path): %s", path, r->line, msg);
    }
    if (*fs) R->sig.fs = fs_hz;
    return MTL_OK;
}

static mtl_status check_header(const table *t, const char *path, mtl_recordset *out) {
    static const char *const fixed[3] = {"path", "variable", "fs"};
    const row *h = &t->r[0];
    for (int c = 0; c < 3; c++)
        if (c >= h->n || strcmp(h->f[c], fixed[c]) != 0)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: header column %d is '%s', expected '%s' (the header is "
                             "path,variable,fs,<task>,...)", path, h->line, c + 1, c + 1, c < h->n ? h->f[c] : "",
                             fixed[c]);
    if (h->n - 3 > MTL_MAX_TASKS)
        return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: %d task columns (at most %d)", path, h->line, 3 + MTL_MAX_TASKS + 1,
                         h->n - 3, MTL_MAX_TASKS);
    out->n_tasks = h->n - 3;
    for (int k = 0; k < out->n_tasks; k++) {
        const char *name = h->f[3 + k];
        if (!*name || strlen(name) >= MTL_TASK_NAME_MAX)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: task name '%s' (expected 1 to %d characters)", path, h->line,
                             4 + k, name, MTL_TASK_NAME_MAX - 1);
        for (int j = 0; j < k; j++)
            if (strcmp(out->task_names[j], name) == 0)
                return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: task '%s' appears twice", path, h->line, 4 + k, name);
        strcpy(out->task_names[k], name);
    }
    for (int i = 1; i < t->n; i++) {
        const row *r = &t->r[i];
        if (r->n < h->n)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: missing column '%s' (the row has %d fields, the header %d)",
                             path, r->line, r->n + 1, h->f[r->n], r->n, h->n);
        if (r->n > h->n)
            return mtl_error(MTL_ERR_FORMAT, "%s:%d:%d: extra field '%.40s' (the header has %d columns)", path, r->line,
                             h->n + 1, r->f[h->n], h->n);
    }
    return MTL_OK;
}

mtl_status mtl_manifest_open(const char *csv_path, mtl_recordset *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "manifest_open: output is NULL");
    memset(out, 0, sizeof *out);
    if (!csv_path || !*csv_path) return mtl_error(MTL_ERR_ARG, "manifest_open: null or empty path");
    char *text = NULL;
    size_t len = 0;
    mtl_status s = read_text(csv_path, &text, &len);
    if (s) return s;
    table t = {0};
    s = parse_csv(text, len, csv_path, &t);
    free(text);
    if (!s && t.n == 0) s = mtl_error(MTL_ERR_FORMAT, "%s: empty manifest (expected a header path,variable,fs,...)",
                                      csv_path);
    if (!s) s = check_header(&t, csv_path, out);
    if (!s && t.n < 2) s = mtl_error(MTL_ERR_FORMAT, "%s: no recordings (only a header)", csv_path);
    if (!s && !(out->rec = calloc((size_t)t.n - 1, sizeof *out->rec)))
        s = mtl_error(MTL_ERR_NOMEM, "%s: out of memory for %d records", csv_path, t.n - 1);
    for (int k = 0; !s && k < out->n_tasks; k++) s = task_labels(&t, 3 + k, k, csv_path, out);
    const char *slash = strrchr(csv_path, '/');
    size_t dir_len = slash ? (size_t)(slash - csv_path) : 0;
    if (slash && dir_len == 0) dir_len = 1; /* a manifest in "/" */
    for (int i = 1; !s && i < t.n; i++) {
        out->n_records = i;
        s = load_row(&t, i, csv_path, dir_len, &out->rec[i - 1]);
    }
    table_free(&t);
    if (s) mtl_recordset_free(out);
    return s;
}
