/* Recordings from CSV (plain or gzip'd: zlib's gzread passes plain files through) and
 * NumPy .npy files, and the by-extension dispatcher. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "mtl/data.h"

void mtl_signal_free(mtl_signal *s) {
    if (!s) return;
    free(s->x);
    memset(s, 0, sizeof *s);
}

static mtl_status check_finite(const mtl_signal *s, const char *path) {
    for (int64_t i = 0; i < s->length * s->channels; i++)
        if (!isfinite(s->x[i])) {
            if (s->channels > 1)
                return mtl_error(MTL_ERR_NUMERIC, "%s: %s at channel %lld, sample %lld", path,
                                 isnan(s->x[i]) ? "NaN" : "infinity", (long long)(i / s->length),
                                 (long long)(i % s->length));
            return mtl_error(MTL_ERR_NUMERIC, "%s: %s at sample %lld", path, isnan(s->x[i]) ? "NaN" : "infinity",
                             (long long)i);
        }
    return MTL_OK;
}

/* ==== CSV ======================================================================= */

/* one line (without its end) into *buf; 0 at the end of the file */
static int gz_line(gzFile g, char **buf, size_t *cap) {
    size_t len = 0;
    for (;;) {
        if (*cap - len < 2) {
            size_t nc = *cap ? 2 * *cap : 256;
            char *nb = realloc(*buf, nc);
            if (!nb) return -1;
            *buf = nb, *cap = nc;
        }
        if (!gzgets(g, *buf + len, (int)(*cap - len > (size_t)1 << 30 ? (size_t)1 << 30 : *cap - len))) {
            if (len == 0) return 0;
            break; /* a last line without its newline */
        }
        len += strlen(*buf + len);
        if (len > 0 && (*buf)[len - 1] == '\n') break;
    }
    while (len > 0 && ((*buf)[len - 1] == '\n' || (*buf)[len - 1] == '\r')) (*buf)[--len] = '\0';
    return 1;
}

/* the column-th field of line (split at delim; ' ' = runs of blanks) into [*b, *e),
 * trimmed and unquoted; false if the line has fewer fields */
static bool csv_field(char *line, char delim, int column, char **b, char **e) {
    char *p = line;
    for (int c = 0;; c++) {
        if (delim == ' ')
            while (*p == ' ' || *p == '\t') p++;
        char *start = p;
        if (delim == ' ')
            while (*p && *p != ' ' && *p != '\t') p++;
        else
            while (*p && *p != delim) p++;
        if (c == column) {
            char *end = p;
            while (start < end && isspace((unsigned char)*start)) start++;
            while (end > start && isspace((unsigned char)end[-1])) end--;
            if (end - start >= 2 && *start == '"' && end[-1] == '"') start++, end--;
            *b = start, *e = end;
            return delim != ' ' || start < end;
        }
        if (!*p) return false;
        if (delim != ' ') p++;
    }
}

static bool parse_number(char *b, char *e, float *v) {
    if (b == e) return false;
    char saved = *e, *end;
    *e = '\0';
    errno = 0;
    double d = strtod(b, &end);
    *e = saved;
    if (end != e) return false;
    *v = (float)d;
    return true;
}

mtl_status mtl_csv_read_signal(const char *path, int column, mtl_signal *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "csv_read_signal: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "csv_read_signal: null or empty path");
    if (column < 0) return mtl_error(MTL_ERR_ARG, "%s: column %d (expected >= 0)", path, column);
    struct stat st;
    if (stat(path, &st) != 0) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return mtl_error(MTL_ERR_IO, "%s: is a directory, expected a CSV file", path);
    gzFile g = gzopen(path, "rb");
    if (!g) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(g, 1 << 17);

    char *line = NULL, delim = 0;
    size_t cap = 0;
    float *x = NULL;
    int64_t n = 0, xcap = 0, lineno = 0;
    mtl_status s = MTL_OK;
    int r;
    while (!s && (r = gz_line(g, &line, &cap)) != 0) {
        lineno++;
        if (r < 0) {
            s = mtl_error(MTL_ERR_NOMEM, "%s:%lld: out of memory for the line", path, (long long)lineno);
            break;
        }
        char *q = line;
        while (isspace((unsigned char)*q)) q++;
        if (!*q) continue;
        bool first = delim == 0;
        if (first) delim = strchr(line, ',') ? ',' : strchr(line, '\t') ? '\t' : strchr(line, ';') ? ';' : ' ';
        char *b, *e;
        if (!csv_field(line, delim, column, &b, &e)) {
            s = mtl_error(MTL_ERR_FORMAT, "%s:%lld: no column %d (the row has fewer fields)", path, (long long)lineno,
                          column);
            break;
        }
        float v;
        if (!parse_number(b, e, &v)) {
            if (first) continue; /* a header */
            int w = e - b > 40 ? 40 : (int)(e - b);
            s = mtl_error(MTL_ERR_FORMAT, "%s:%lld: column %d: '%.*s' is not a number", path, (long long)lineno,
                          column, w, b);
            break;
        }
        if (n == xcap) {
            int64_t nc = xcap ? 2 * xcap : 4096;
            float *nx = realloc(x, (size_t)nc * sizeof(float));
            if (!nx) {
                s = mtl_error(MTL_ERR_NOMEM, "%s: out of memory for %lld samples", path, (long long)nc);
                break;
            }
            x = nx, xcap = nc;
        }
        x[n++] = v;
    }
    int zerr = Z_OK;
    const char *zmsg = gzerror(g, &zerr);
    /* a cut gzip stream ends in a partial line: report the cut, not the line */
    if ((!s || s == MTL_ERR_FORMAT) && zerr != Z_OK && zerr != Z_STREAM_END)
        s = mtl_error(MTL_ERR_FORMAT, "%s: corrupt or truncated gzip data after line %lld (%s)", path,
                      (long long)lineno, zmsg ? zmsg : "zlib error");
    gzclose(g);
    free(line);
    if (!s && n == 0) s = mtl_error(MTL_ERR_FORMAT, "%s: no samples (an empty file or only a header)", path);
    if (s) {
        free(x);
        return s;
    }
    out->channels = 1, out->length = n, out->fs = 0, out->x = x;
    s = check_finite(out, path);
    if (s) mtl_signal_free(out);
    return s;
}

/* ==== NPY ======================================================================= */

/* the value after 'key': in the header dict, or NULL */
static const char *npy_value(const char *h, const char *key) {
    char k1[32], k2[32];
    snprintf(k1, sizeof k1, "'%s'", key);
    snprintf(k2, sizeof k2, "\"%s\"", key);
    const char *p = strstr(h, k1);
    if (!p) p = strstr(h, k2);
    if (!p) return NULL;
    p += strlen(k1);
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') return NULL;
    p++;
    while (isspace((unsigned char)*p)) p++;
    return p;
}

static mtl_status npy_header(const char *h, const char *path, char descr[8], bool *fortran, int *ndim,
                             int64_t dims[2]) {
    const char *p = npy_value(h, "descr");
    if (!p || (*p != '\'' && *p != '"'))
        return mtl_error(MTL_ERR_FORMAT, "%s: NPY header has no 'descr' string (structured arrays are not supported)",
                         path);
    char q = *p++;
    size_t n = 0;
    while (p[n] && p[n] != q && n < 7) descr[n] = p[n], n++;
    descr[n] = '\0';
    if (p[n] != q) return mtl_error(MTL_ERR_FORMAT, "%s: NPY header: unsupported dtype descr", path);
    p = npy_value(h, "fortran_order");
    if (!p || (strncmp(p, "True", 4) && strncmp(p, "False", 5)))
        return mtl_error(MTL_ERR_FORMAT, "%s: NPY header has no 'fortran_order' True/False", path);
    *fortran = *p == 'T';
    p = npy_value(h, "shape");
    if (!p || *p != '(') return mtl_error(MTL_ERR_FORMAT, "%s: NPY header has no 'shape' tuple", path);
    p++;
    *ndim = 0;
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p)) return mtl_error(MTL_ERR_FORMAT, "%s: NPY header: bad 'shape'", path);
        char *end;
        long long d = strtoll(p, &end, 10);
        if (*ndim >= 2)
            return mtl_error(MTL_ERR_FORMAT, "%s: NPY array has more than 2 dimensions, expected [length] or "
                             "[channels, length]", path);
        dims[(*ndim)++] = d;
        p = end;
    }
    return MTL_OK;
}

mtl_status mtl_npy_read_signal(const char *path, mtl_signal *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "npy_read_signal: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "npy_read_signal: null or empty path");
    FILE *f = fopen(path, "rb");
    if (!f) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char pre[12];
    size_t got = fread(pre, 1, sizeof pre, f);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] < 1 || pre[6] > 3) {
        fclose(f);
        return mtl_error(MTL_ERR_FORMAT, "%s: not a NumPy .npy file (no \\x93NUMPY v1-v3 magic)", path);
    }
    size_t hoff = pre[6] == 1 ? 10 : 12;
    uint32_t hlen = pre[6] == 1 ? (uint32_t)pre[8] | (uint32_t)pre[9] << 8
                                : (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 |
                                      (uint32_t)pre[11] << 24;
    char *h = (got >= hoff && hlen <= (1u << 20)) ? malloc((size_t)hlen + 1) : NULL;
    if (!h || fseek(f, (long)hoff, SEEK_SET) != 0 || fread(h, 1, hlen, f) != hlen) {
        free(h);
        fclose(f);
        return mtl_error(MTL_ERR_FORMAT, "%s: truncated or corrupt NPY header (%u bytes announced)", path, hlen);
    }
    h[hlen] = '\0';
    char descr[8];
    bool fortran = false;
    int ndim = 0;
    int64_t dims[2] = {0, 0};
    mtl_status s = npy_header(h, path, descr, &fortran, &ndim, dims);
    free(h);
    int size = 0;
    char kind = 0;
    if (!s) {
        kind = descr[1];
        size = descr[2] - '0';
        bool known = strlen(descr) == 3 && ((kind == 'f' && (size == 4 || size == 8)) ||
                                            (kind == 'i' && (size == 2 || size == 4)));
        if (known && descr[0] == '>')
            s = mtl_error(MTL_ERR_FORMAT, "%s: big-endian dtype '%s' is not supported (save it as '<%s')", path,
                          descr, descr + 1);
        else if (!known || descr[0] != '<')
            s = mtl_error(MTL_ERR_FORMAT, "%s: dtype '%s' is not supported (expected <f4, <f8, <i2 or <i4)", path,
                          descr);
        else if (ndim == 0)
            s = mtl_error(MTL_ERR_FORMAT, "%s: NPY array is a scalar, expected [length] or [channels, length]", path);
        else if (fortran && ndim == 2 && dims[0] > 1 && dims[1] > 1)
            s = mtl_error(MTL_ERR_FORMAT, "%s: Fortran-order (column-major) array is not supported: save a C-order "
                          "array (np.ascontiguousarray)", path);
    }
    int64_t channels = ndim == 2 ? dims[0] : 1, length = ndim == 2 ? dims[1] : dims[0];
    if (!s && (channels < 1 || length < 1))
        s = mtl_error(MTL_ERR_FORMAT, "%s: NPY array is empty", path);
    if (!s && (channels > 1 << 20 || length > ((int64_t)1 << 40) / channels))
        s = mtl_error(MTL_ERR_FORMAT, "%s: NPY array of %lld x %lld is too large", path, (long long)channels,
                      (long long)length);
    if (s) {
        fclose(f);
        return s;
    }
    size_t count = (size_t)(channels * length), bytes = count * (size_t)size;
    unsigned char *raw = malloc(bytes);
    float *x = malloc(count * sizeof(float));
    size_t nread = raw ? fread(raw, 1, bytes, f) : 0;
    fclose(f);
    if (!raw || !x) s = mtl_error(MTL_ERR_NOMEM, "%s: out of memory for %zu values", path, count);
    else if (nread != bytes)
        s = mtl_error(MTL_ERR_FORMAT, "%s: truncated NPY data: %zu bytes for %lld x %lld %s values, found %zu", path,
                      bytes, (long long)channels, (long long)length, descr, nread);
    if (s) {
        free(raw);
        free(x);
        return s;
    }
    /* decode little endian by hand: correct on any host */
    for (size_t i = 0; i < count; i++) {
        const unsigned char *b = raw + i * (size_t)size;
        uint64_t u = 0;
        for (int k = size - 1; k >= 0; k--) u = u << 8 | b[k];
        if (kind == 'f' && size == 4) {
            uint32_t u32 = (uint32_t)u;
            float v;
            memcpy(&v, &u32, 4);
            x[i] = v;
        } else if (kind == 'f') {
            double v;
            memcpy(&v, &u, 8);
            x[i] = (float)v;
        } else if (size == 2) {
            x[i] = (float)(int16_t)(uint16_t)u;
        } else {
            x[i] = (float)(int32_t)(uint32_t)u;
        }
    }
    free(raw);
    out->channels = (int)channels, out->length = length, out->fs = 0, out->x = x;
    s = check_finite(out, path);
    if (s) mtl_signal_free(out);
    return s;
}

/* ==== by extension ============================================================== */

static bool ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    if (m > n) return false;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != tolower((unsigned char)suffix[i])) return false;
    return true;
}

mtl_status mtl_signal_read(const char *path, const char *var, const char *channel, mtl_signal *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "signal_read: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "signal_read: null or empty path");
    bool has_var = var && *var;
    if (ends_with_ci(path, ".mat")) return mtl_mat_read(path, var, channel, out);
    if (ends_with_ci(path, ".npy")) {
        if (has_var)
            return mtl_error(MTL_ERR_ARG, "%s: a .npy file holds one array: leave the variable empty (got '%s')", path,
                             var);
        return mtl_npy_read_signal(path, out);
    }
    if (ends_with_ci(path, ".csv") || ends_with_ci(path, ".csv.gz") || ends_with_ci(path, ".txt") ||
        ends_with_ci(path, ".txt.gz")) {
        /* a variable for a CSV file may be a column number */
        int column = 0;
        if (has_var) {
            char *end;
            long c = strtol(var, &end, 10);
            if (*end || c < 0 || c > 1000000 || !isdigit((unsigned char)var[0]))
                return mtl_error(MTL_ERR_ARG, "%s: variable '%s' for a CSV file must be a column number or empty",
                                 path, var);
            column = (int)c;
        }
        return mtl_csv_read_signal(path, column, out);
    }
    return mtl_error(MTL_ERR_FORMAT, "%s: unknown file type (expected .mat, .csv, .csv.gz, .txt or .npy)", path);
}
