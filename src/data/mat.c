/* MATLAB .mat recordings through libmatio (v4, v5, v7.3).
 *
 * libmatio 1.5.23 returns a variable even when the file is cut short (the missing tail is
 * simply not read), so the element layout of v4/v5 files is checked here first: every
 * variable must fit inside the file. Its log messages (and HDF5's error stack, which it
 * routes through the same function) are captured instead of printed, and the first one
 * is quoted in our error message. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <matio.h>

#include "mtl/data.h"

/* ---- libmatio logging -------------------------------------------------------- */

static _Thread_local char matio_msg[160];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void capture_log(int level, char *message) {
    (void)level;
    if (matio_msg[0] || !message) return; /* the first message is the cause, the rest is follow-up */
    snprintf(matio_msg, sizeof matio_msg, "%s", message);
    for (char *p = matio_msg; *p; p++)
        if (*p == '\n' || *p == '\r') {
            *p = '\0'; /* HDF5 messages span lines: keep the first */
            break;
        }
}

/* libmatio's logger is process-wide: installing ours once replaces the default, which
 * would print to stderr (and abort on MATIO_LOG_LEVEL_ERROR). */
static void install_logger(void) { Mat_LogInitFunc("mtl", capture_log); }

/* " (libmatio: ...)" or "" */
static const char *matio_detail(char *buf, size_t cap) {
    if (matio_msg[0]) snprintf(buf, cap, " (libmatio: %s)", matio_msg);
    else buf[0] = '\0';
    return buf;
}

/* ---- file layout checks ------------------------------------------------------ */

static uint32_t rd32(const unsigned char *p, int swap) {
    return swap ? (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24
                : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* a variable that does not fit in the file */
static mtl_status truncated(const char *path, int k, int64_t pos, int64_t step, int64_t size) {
    return mtl_error(MTL_ERR_FORMAT,
                     "%s: truncated or corrupt MAT file: variable %d at byte %lld needs %lld bytes, the file has %lld",
                     path, k + 1, (long long)pos, (long long)step, (long long)(size - pos));
}

/* v5: a 128-byte header, then top-level elements, each an 8-byte tag (type, size) and
 * `size` bytes (miMATRIX, or miCOMPRESSED holding one). */
static mtl_status check_v5(FILE *f, const char *path, int64_t size, int swap) {
    int64_t pos = 128;
    for (int k = 0; size - pos >= 8; k++) {
        unsigned char tag[8];
        if (fseek(f, (long)pos, SEEK_SET) != 0 || fread(tag, 1, 8, f) != 8)
            return mtl_error(MTL_ERR_IO, "%s: read error at byte %lld", path, (long long)pos);
        uint32_t type = rd32(tag, swap), nbytes = rd32(tag + 4, swap);
        int64_t step = (type >> 16) ? 8 : 8 + (int64_t)nbytes; /* small data element: all in the tag */
        if (pos + step > size) return truncated(path, k, pos, step, size);
        pos += step;
    }
    return MTL_OK;
}

/* v4: per variable a 20-byte header (type MOPT, rows, cols, imagf, name length), the
 * name, then rows*cols values (twice if complex) of the precision P. */
static mtl_status check_v4(FILE *f, const char *path, int64_t size) {
    static const int elem_size[6] = {8, 4, 4, 2, 2, 1};
    int64_t pos = 0;
    for (int k = 0; pos < size; k++) {
        unsigned char h[20];
        if (size - pos < 20 || fseek(f, (long)pos, SEEK_SET) != 0 || fread(h, 1, 20, f) != 20)
            return mtl_error(MTL_ERR_FORMAT, "%s: truncated MAT v4 file: variable %d header at byte %lld is cut short",
                             path, k + 1, (long long)pos);
        int swap = rd32(h, 0) > 4052; /* MOPT with M = 0 (little endian) is at most 0052 */
        uint32_t type = rd32(h, swap), rows = rd32(h + 4, swap), cols = rd32(h + 8, swap);
        uint32_t imagf = rd32(h + 12, swap), namlen = rd32(h + 16, swap);
        unsigned p = (type / 10) % 10;
        if (type > 4052 || p > 5 || imagf > 1)
            return mtl_error(MTL_ERR_FORMAT, "%s: corrupt MAT v4 file: bad header of variable %d at byte %lld", path,
                             k + 1, (long long)pos);
        int64_t step = 20 + (int64_t)namlen + (int64_t)rows * cols * elem_size[p] * (imagf ? 2 : 1);
        if (pos + step > size) return truncated(path, k, pos, step, size);
        pos += step;
    }
    return MTL_OK;
}

/* what the first 128 bytes say: 5 = v5, 73 = v7.3 (HDF5), 0 = not v5/v7.3 (maybe v4) */
static mtl_status sniff(FILE *f, const char *path, int64_t size, int *version, int *swap) {
    unsigned char h[128];
    size_t n = fread(h, 1, sizeof h, f);
    *version = 0, *swap = 0;
    if (n >= 6 && memcmp(h, "MATLAB", 6) == 0 && n < 128)
        return mtl_error(MTL_ERR_FORMAT, "%s: truncated MAT file: %lld bytes, shorter than its 128-byte header", path,
                         (long long)size);
    if (n < 128) return MTL_OK;
    *swap = h[126] == 'M' && h[127] == 'I';
    if (!*swap && !(h[126] == 'I' && h[127] == 'M')) return MTL_OK;
    unsigned v = *swap ? (unsigned)h[124] << 8 | h[125] : (unsigned)h[125] << 8 | h[124];
    *version = v == 0x0200 ? 73 : v == 0x0100 ? 5 : 0;
    return MTL_OK;
}

/* ---- reading ----------------------------------------------------------------- */

static const char *class_name(enum matio_classes c) {
    switch (c) {
    case MAT_C_EMPTY: return "empty";
    case MAT_C_CELL: return "cell";
    case MAT_C_STRUCT: return "struct";
    case MAT_C_OBJECT: return "object";
    case MAT_C_CHAR: return "char";
    case MAT_C_SPARSE: return "sparse";
    case MAT_C_FUNCTION: return "function handle";
    case MAT_C_OPAQUE: return "opaque";
    default: return "numeric";
    }
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool has_ci(const char *s, const char *needle) {
    size_t n = strlen(needle);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return false;
}

/* CWRU names carry the rate: "12k"/"48k" name the set, and the normal_<load>_<no>.mat
 * baselines are 48 kHz; any other name: unknown (0) */
static double fs_from_name(const char *path) {
    const char *b = base_name(path);
    if (has_ci(b, "48k")) return 48000.0;
    if (has_ci(b, "12k")) return 12000.0;
    int load, no, len = 0;
    if (sscanf(b, "normal_%d_%d.mat%n", &load, &no, &len) == 2 && len > 0 && (size_t)len == strlen(b)) return 48000.0;
    return 0.0;
}

/* "has A, B, C, ... (N in all)" into buf */
static void list_vars(char **dir, size_t n, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "has ");
    for (size_t i = 0; i < n && i < 6 && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", dir[i] ? dir[i] : "?");
    if (n > 6 && len < cap) snprintf(buf + len, cap - len, ", ... (%zu in all)", n);
}

/* the n values of type T at src as floats into dst */
#define CONVERT(T)                                                                                                    \
    do {                                                                                                              \
        const T *v_ = (const T *)src;                                                                                 \
        for (size_t i_ = 0; i_ < n; i_++) dst[i_] = (float)v_[i_];                                                   \
    } while (0)

static mtl_status convert(const matvar_t *mv, size_t n, float *dst, const char *path) {
    const void *src = mv->data;
    switch (mv->data_type) {
    case MAT_T_DOUBLE: CONVERT(double); break;
    case MAT_T_SINGLE: CONVERT(float); break;
    case MAT_T_INT8: CONVERT(int8_t); break;
    case MAT_T_UINT8: CONVERT(uint8_t); break;
    case MAT_T_INT16: CONVERT(int16_t); break;
    case MAT_T_UINT16: CONVERT(uint16_t); break;
    case MAT_T_INT32: CONVERT(int32_t); break;
    case MAT_T_UINT32: CONVERT(uint32_t); break;
    case MAT_T_INT64: CONVERT(int64_t); break;
    case MAT_T_UINT64: CONVERT(uint64_t); break;
    default:
        return mtl_error(MTL_ERR_FORMAT, "%s: variable %s: unsupported storage type %d", path, mv->name,
                         (int)mv->data_type);
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(dst[i])) {
            const char *what = isnan(dst[i]) ? "NaN"
                               : mv->data_type == MAT_T_DOUBLE && isfinite(((const double *)src)[i])
                                   ? "value outside the float range"
                                   : "infinity";
            return mtl_error(MTL_ERR_NUMERIC, "%s: variable %s: %s at sample %zu", path, mv->name, what, i);
        }
    return MTL_OK;
}

/* the checks and conversion once the variable is read */
static mtl_status take_vector(const matvar_t *mv, const char *path, mtl_signal *out) {
    const char *name = mv->name ? mv->name : "?";
    switch (mv->class_type) {
    case MAT_C_DOUBLE: case MAT_C_SINGLE: case MAT_C_INT8: case MAT_C_UINT8: case MAT_C_INT16: case MAT_C_UINT16:
    case MAT_C_INT32: case MAT_C_UINT32: case MAT_C_INT64: case MAT_C_UINT64: break;
    default:
        return mtl_error(MTL_ERR_FORMAT, "%s: variable %s is a %s variable, expected a real numeric vector", path, name,
                         class_name(mv->class_type));
    }
    if (mv->isComplex)
        return mtl_error(MTL_ERR_FORMAT, "%s: variable %s is complex, expected a real numeric vector", path, name);
    size_t n = 1;
    int big = 0; /* dimensions longer than 1 */
    char shape[64] = "";
    for (int d = 0; d < mv->rank; d++) {
        n *= mv->dims[d];
        big += mv->dims[d] > 1;
        size_t len = strlen(shape);
        snprintf(shape + len, sizeof shape - len, "%s%zu", d ? " x " : "", mv->dims[d]);
    }
    if (mv->rank < 1 || n == 0) return mtl_error(MTL_ERR_FORMAT, "%s: variable %s is empty", path, name);
    if (big > 1)
        return mtl_error(MTL_ERR_FORMAT, "%s: variable %s is a %s matrix, expected a vector (N x 1 or 1 x N)", path,
                         name, shape);
    if (!mv->data || mv->data_size <= 0 || mv->nbytes < n * (size_t)mv->data_size)
        return mtl_error(MTL_ERR_FORMAT, "%s: variable %s: its data could not be read (corrupt file?)", path, name);
    if ((uint64_t)n > (uint64_t)INT64_MAX / sizeof(float))
        return mtl_error(MTL_ERR_NOMEM, "%s: variable %s has too many samples (%zu)", path, name, n);
    float *x = malloc(n * sizeof(float));
    if (!x) return mtl_error(MTL_ERR_NOMEM, "%s: variable %s: out of memory for %zu samples", path, name, n);
    mtl_status s = convert(mv, n, x, path);
    if (s) {
        free(x);
        return s;
    }
    out->channels = 1;
    out->length = (int64_t)n;
    out->x = x;
    return MTL_OK;
}

mtl_status mtl_cwru_variable(const char *path, const char *channel, char *var, size_t var_size) {
    if (!path || !var || var_size == 0) return mtl_error(MTL_ERR_ARG, "cwru_variable: null argument");
    var[0] = '\0';
    if (!channel) channel = "DE";
    char ch[3] = {(char)toupper((unsigned char)channel[0]), 0, 0};
    if (ch[0]) ch[1] = (char)toupper((unsigned char)channel[1]);
    if ((strcmp(ch, "DE") && strcmp(ch, "FE") && strcmp(ch, "BA")) || strlen(channel) != 2)
        return mtl_error(MTL_ERR_ARG, "%s: channel '%s' (expected DE, FE or BA)", path, channel);
    const char *b = base_name(path), *dot = strrchr(b, '.');
    const char *end = dot && dot != b ? dot : b + strlen(b), *p = end;
    while (p > b && isdigit((unsigned char)p[-1])) p--;
    if (p == end || end - p > 9)
        return mtl_error(MTL_ERR_FORMAT,
                         "%s: the file name does not end in a CWRU file number (like ..._105.mat): name the "
                         "variable to read",
                         path);
    long no = strtol(p, NULL, 10);
    if (snprintf(var, var_size, "X%03ld_%s_time", no, ch) >= (int)var_size) {
        var[0] = '\0';
        return mtl_error(MTL_ERR_ARG, "%s: variable name buffer of %zu bytes is too small", path, var_size);
    }
    return MTL_OK;
}

static mtl_status read_opened(mat_t *m, const char *path, int version, const char *name, mtl_signal *out) {
    size_t n_dir = 0;
    char **dir = Mat_GetDir(m, &n_dir);
    if (!dir || n_dir == 0) {
        char detail[200];
        return mtl_error(MTL_ERR_FORMAT, "%s: holds no variables (%s)%s", path,
                         version == 73 ? "a MAT v7.3 file that is empty, truncated or corrupt"
                                       : "not a MAT file, or an empty one",
                         matio_detail(detail, sizeof detail));
    }
    bool found = false;
    for (size_t i = 0; i < n_dir && !found; i++) found = dir[i] && strcmp(dir[i], name) == 0;
    if (!found) {
        char have[256];
        list_vars(dir, n_dir, have, sizeof have);
        return mtl_error(MTL_ERR_FORMAT, "%s: no variable %s (%s)", path, name, have);
    }
    matvar_t *mv = Mat_VarRead(m, name);
    if (!mv) {
        char detail[200];
        return mtl_error(MTL_ERR_FORMAT, "%s: variable %s could not be read (corrupt or truncated file)%s", path, name,
                         matio_detail(detail, sizeof detail));
    }
    mtl_status s = take_vector(mv, path, out);
    Mat_VarFree(mv);
    return s;
}

mtl_status mtl_mat_read(const char *path, const char *var, const char *channel, mtl_signal *out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "mat_read: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return mtl_error(MTL_ERR_ARG, "mat_read: null or empty path");
    struct stat st;
    if (stat(path, &st) != 0) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return mtl_error(MTL_ERR_IO, "%s: is a directory, expected a .mat file", path);
    char name[64];
    if (var && *var) {
        if (strlen(var) >= sizeof name) return mtl_error(MTL_ERR_ARG, "%s: variable name '%s' is too long", path, var);
        strcpy(name, var);
    } else {
        mtl_status s = mtl_cwru_variable(path, channel, name, sizeof name);
        if (s) return s;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int64_t size = (int64_t)st.st_size;
    int version, swap;
    mtl_status s = sniff(f, path, size, &version, &swap);
    if (!s && version == 5) s = check_v5(f, path, size, swap);
    if (s) {
        fclose(f);
        return s;
    }

    pthread_once(&log_once, install_logger);
    matio_msg[0] = '\0';
    mat_t *m = Mat_Open(path, MAT_ACC_RDONLY);
    if (!m) {
        fclose(f);
        char detail[200];
        matio_detail(detail, sizeof detail);
        if (version == 73)
            return mtl_error(MTL_ERR_FORMAT, "%s: MAT v7.3 (HDF5) file that libmatio cannot open (corrupt or "
                             "truncated?)%s", path, detail);
        return mtl_error(MTL_ERR_FORMAT, "%s: not a MATLAB .mat file (libmatio cannot open it)%s", path, detail);
    }
    if (Mat_GetVersion(m) == MAT_FT_MAT4) s = check_v4(f, path, size);
    fclose(f);
    if (!s) s = read_opened(m, path, version, name, out);
    Mat_Close(m);
    if (s) return s;
    out->fs = fs_from_name(path);
    return MTL_OK;
}
