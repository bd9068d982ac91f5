/* safetensors reader and writer (https://github.com/huggingface/safetensors format). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "mtl/io.h"

struct mtl_st_file {
    char *path;
    unsigned char *bytes; /* whole file */
    size_t n_bytes;
    mtl_json *header;
    mtl_st_tensor *tensors;
    int count;
};

static const struct {
    const char *name;
    mtl_dtype dtype;
    size_t size;
} dtypes[] = {{"F32", MTL_DTYPE_F32, 4}, {"F64", MTL_DTYPE_F64, 8}, {"I32", MTL_DTYPE_I32, 4}, {"I64", MTL_DTYPE_I64, 8}};

static size_t dtype_size(mtl_dtype d) {
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].dtype == d) return dtypes[i].size;
    return 0;
}

void mtl_st_free(mtl_st_file *f) {
    if (!f) return;
    free(f->path);
    free(f->bytes);
    mtl_json_free(f->header);
    free(f->tensors);
    free(f);
}

static mtl_status read_file(const char *path, unsigned char **out, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return mtl_error(MTL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap) break;
        unsigned char *bigger = realloc(buf, cap *= 2);
        if (!bigger) free(buf);
        buf = bigger;
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf) return mtl_error(MTL_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (err) {
        free(buf);
        return mtl_error(MTL_ERR_IO, "%s: read error", path);
    }
    *out = buf;
    *n = len;
    return MTL_OK;
}

static mtl_status bad(mtl_st_file *f, const char *path, const char *fmt, const char *name) {
    mtl_status s = mtl_error(MTL_ERR_FORMAT, "%s: not a valid safetensors file: %s%s%s", path, fmt,
                             name ? " in " : "", name ? name : "");
    mtl_st_free(f);
    return s;
}

mtl_status mtl_st_load(const char *path, mtl_st_file **out) {
    if (!path || !out) return mtl_error(MTL_ERR_ARG, "st_load: null argument");
    *out = NULL;
    mtl_st_file *f = calloc(1, sizeof *f);
    if (!f) return mtl_error(MTL_ERR_NOMEM, "st_load: out of memory");
    f->path = strdup(path);
    mtl_status s = read_file(path, &f->bytes, &f->n_bytes);
    if (s) return mtl_st_free(f), s;
    if (f->n_bytes < 8) return bad(f, path, "shorter than its 8-byte header length", NULL);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | f->bytes[i];
    if (hlen > f->n_bytes - 8) return bad(f, path, "header length past the end of the file", NULL);
    s = mtl_json_parse((const char *)f->bytes + 8, (size_t)hlen, path, &f->header);
    if (s) return mtl_st_free(f), s;
    if (f->header->type != MTL_JSON_OBJECT) return bad(f, path, "header is not a JSON object", NULL);
    const unsigned char *data = f->bytes + 8 + hlen;
    size_t data_len = f->n_bytes - 8 - (size_t)hlen;
    f->tensors = calloc((size_t)f->header->count + 1, sizeof *f->tensors);
    if (!f->tensors) return mtl_st_free(f), mtl_error(MTL_ERR_NOMEM, "st_load: out of memory");
    for (const mtl_json *e = f->header->child; e; e = e->next) {
        if (strcmp(e->key, "__metadata__") == 0) continue;
        mtl_st_tensor *t = &f->tensors[f->count];
        t->name = e->key;
        const mtl_json *dt = mtl_json_get(e, "dtype"), *sh = mtl_json_get(e, "shape"),
                       *off = mtl_json_get(e, "data_offsets");
        if (!dt || dt->type != MTL_JSON_STRING || !sh || sh->type != MTL_JSON_ARRAY || !off ||
            off->type != MTL_JSON_ARRAY || off->count != 2)
            return bad(f, path, "entry lacks dtype, shape or data_offsets", e->key);
        size_t k;
        for (k = 0; k < sizeof dtypes / sizeof *dtypes; k++)
            if (strcmp(dtypes[k].name, dt->string) == 0) break;
        if (k == sizeof dtypes / sizeof *dtypes) return bad(f, path, "unsupported dtype (expected F32, F64, I32 or I64)", e->key);
        t->dtype = dtypes[k].dtype;
        if (sh->count > MTL_ST_MAX_DIMS) return bad(f, path, "more than 8 dimensions", e->key);
        t->count = 1;
        for (const mtl_json *d = sh->child; d; d = d->next) {
            if (d->type != MTL_JSON_NUMBER || d->number < 0 || d->number != (double)(int64_t)d->number ||
                d->number > 1e12)
                return bad(f, path, "shape entry is not a non-negative integer", e->key);
            int64_t dim = (int64_t)d->number;
            if (dim > 0 && t->count > ((int64_t)1 << 40) / dim) return bad(f, path, "tensor too large", e->key);
            t->shape[t->ndim++] = dim;
            t->count *= dim;
        }
        double b0 = off->child->number, b1 = off->child->next->number;
        if (off->child->type != MTL_JSON_NUMBER || off->child->next->type != MTL_JSON_NUMBER || b0 < 0 || b1 < b0 ||
            b1 > (double)data_len || b0 != (double)(int64_t)b0 || b1 != (double)(int64_t)b1)
            return bad(f, path, "data_offsets outside the data section", e->key);
        if ((uint64_t)(b1 - b0) != (uint64_t)t->count * dtype_size(t->dtype))
            return bad(f, path, "data_offsets do not match dtype and shape", e->key);
        t->data = data + (size_t)b0;
        f->count++;
    }
    *out = f;
    return MTL_OK;
}

int mtl_st_count(const mtl_st_file *f) { return f ? f->count : 0; }
const mtl_st_tensor *mtl_st_at(const mtl_st_file *f, int i) { return (f && i >= 0 && i < f->count) ? &f->tensors[i] : NULL; }

const mtl_st_tensor *mtl_st_find(const mtl_st_file *f, const char *name) {
    for (int i = 0; f && name && i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *mtl_st_metadata(const mtl_st_file *f, const char *key) {
    const mtl_json *m = f ? mtl_json_get(f->header, "__metadata__") : NULL;
    const mtl_json *v = mtl_json_get(m, key);
    return v && v->type == MTL_JSON_STRING ? v->string : NULL;
}

mtl_status mtl_st_read_f32(const mtl_st_file *f, const char *name, float *out, int64_t count) {
    if (!f || !name || (!out && count > 0)) return mtl_error(MTL_ERR_ARG, "st_read_f32: null argument");
    const mtl_st_tensor *t = mtl_st_find(f, name);
    if (!t) return mtl_error(MTL_ERR_FORMAT, "%s: no tensor named '%s'", f->path, name);
    if (t->count != count)
        return mtl_error(MTL_ERR_SHAPE, "%s: tensor '%s' has %lld elements, expected %lld", f->path, name,
                         (long long)t->count, (long long)count);
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < count; i++) {
        switch (t->dtype) {
        case MTL_DTYPE_F32: memcpy(&out[i], p + 4 * i, 4); break;
        case MTL_DTYPE_F64: { double d; memcpy(&d, p + 8 * i, 8); out[i] = (float)d; break; }
        case MTL_DTYPE_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); out[i] = (float)v; break; }
        case MTL_DTYPE_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; break; }
        }
    }
    return MTL_OK;
}

/* ---- writer ------------------------------------------------------------------- */

typedef struct {
    char *name;
    mtl_dtype dtype;
    int ndim;
    int64_t shape[MTL_ST_MAX_DIMS];
    size_t bytes;
    void *data;
} st_entry;

struct mtl_st_writer {
    st_entry *e;
    int n, cap;
    char **meta; /* key, value pairs */
    int n_meta;
};

mtl_status mtl_st_writer_create(mtl_st_writer **out) {
    if (!out) return mtl_error(MTL_ERR_ARG, "st_writer_create: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? MTL_OK : mtl_error(MTL_ERR_NOMEM, "st_writer_create: out of memory");
}

void mtl_st_writer_free(mtl_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->e[i].name), free(w->e[i].data);
    for (int i = 0; i < 2 * w->n_meta; i++) free(w->meta[i]);
    free(w->meta);
    free(w->e);
    free(w);
}

static bool plain_name(const char *s) {
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) return false;
    return true;
}

mtl_status mtl_st_writer_add(mtl_st_writer *w, const char *name, mtl_dtype dtype, int ndim, const int64_t *shape,
                             const void *data) {
    if (!w || !name || (ndim > 0 && !shape)) return mtl_error(MTL_ERR_ARG, "st_writer_add: null argument");
    if (ndim < 0 || ndim > MTL_ST_MAX_DIMS) return mtl_error(MTL_ERR_ARG, "st_writer_add: '%s' has %d dimensions (0..8 allowed)", name, ndim);
    if (!plain_name(name)) return mtl_error(MTL_ERR_ARG, "st_writer_add: name '%s' has a quote, backslash or control character", name);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return mtl_error(MTL_ERR_ARG, "st_writer_add: '%s' has a negative dimension", name);
        count *= (size_t)shape[i];
    }
    if (count > 0 && !data) return mtl_error(MTL_ERR_ARG, "st_writer_add: '%s' has no data", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        st_entry *e = realloc(w->e, (size_t)cap * sizeof *e);
        if (!e) return mtl_error(MTL_ERR_NOMEM, "st_writer_add: out of memory");
        w->e = e;
        w->cap = cap;
    }
    st_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->bytes = count * dtype_size(dtype);
    e->name = strdup(name);
    e->data = malloc(e->bytes ? e->bytes : 1);
    if (!e->name || !e->data) {
        free(e->name), free(e->data);
        return mtl_error(MTL_ERR_NOMEM, "st_writer_add: out of memory");
    }
    if (e->bytes) memcpy(e->data, data, e->bytes);
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    w->n++;
    return MTL_OK;
}

mtl_status mtl_st_writer_meta(mtl_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return mtl_error(MTL_ERR_ARG, "st_writer_meta: null argument");
    if (!plain_name(key) || !plain_name(value)) return mtl_error(MTL_ERR_ARG, "st_writer_meta: '%s' has a quote, backslash or control character", key);
    char **m = realloc(w->meta, (size_t)(2 * w->n_meta + 2) * sizeof *m);
    if (!m) return mtl_error(MTL_ERR_NOMEM, "st_writer_meta: out of memory");
    w->meta = m;
    m[2 * w->n_meta] = strdup(key);
    m[2 * w->n_meta + 1] = strdup(value);
    w->n_meta++;
    return MTL_OK;
}

/* appends printf output to a growing buffer */
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (k < 0) return -1;
        if ((size_t)k < *cap - *len) {
            *len += (size_t)k;
            return 0;
        }
        char *b = realloc(*buf, *cap * 2 + (size_t)k);
        if (!b) return -1;
        *buf = b;
        *cap = *cap * 2 + (size_t)k;
    }
}

mtl_status mtl_st_writer_save(mtl_st_writer *w, const char *path) {
    if (!w || !path) return mtl_error(MTL_ERR_ARG, "st_writer_save: null argument");
    size_t cap = 4096, len = 0;
    char *h = malloc(cap);
    int bad_alloc = !h;
    if (!bad_alloc) bad_alloc |= append(&h, &len, &cap, "{");
    if (w->n_meta && !bad_alloc) {
        bad_alloc |= append(&h, &len, &cap, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta && !bad_alloc; i++)
            bad_alloc |= append(&h, &len, &cap, "%s\"%s\":\"%s\"", i ? "," : "", w->meta[2 * i], w->meta[2 * i + 1]);
        bad_alloc |= append(&h, &len, &cap, "}%s", w->n ? "," : "");
    }
    size_t off = 0;
    for (int i = 0; i < w->n && !bad_alloc; i++) {
        st_entry *e = &w->e[i];
        const char *dn = "F32";
        for (size_t k = 0; k < sizeof dtypes / sizeof *dtypes; k++)
            if (dtypes[k].dtype == e->dtype) dn = dtypes[k].name;
        bad_alloc |= append(&h, &len, &cap, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", e->name, dn);
        for (int d = 0; d < e->ndim; d++) bad_alloc |= append(&h, &len, &cap, d ? ",%lld" : "%lld", (long long)e->shape[d]);
        bad_alloc |= append(&h, &len, &cap, "],\"data_offsets\":[%zu,%zu]}", off, off + e->bytes);
        off += e->bytes;
    }
    if (!bad_alloc) bad_alloc |= append(&h, &len, &cap, "}");
    while (!bad_alloc && len % 8) bad_alloc |= append(&h, &len, &cap, " "); /* align the data section */
    if (bad_alloc) {
        free(h);
        return mtl_error(MTL_ERR_NOMEM, "%s: out of memory building the header", path);
    }
    mtl_afile a;
    mtl_status st = mtl_afile_open(&a, path);
    if (st) {
        free(h);
        return st;
    }
    unsigned char lenbytes[8];
    for (int i = 0; i < 8; i++) lenbytes[i] = (unsigned char)(((uint64_t)len >> (8 * i)) & 0xFF);
    int ok = fwrite(lenbytes, 1, 8, a.f) == 8 && fwrite(h, 1, len, a.f) == len;
    for (int i = 0; i < w->n && ok; i++) ok = w->e[i].bytes == 0 || fwrite(w->e[i].data, 1, w->e[i].bytes, a.f) == w->e[i].bytes;
    free(h);
    if (!ok) {
        int e = errno;
        mtl_afile_abort(&a);
        return mtl_error(MTL_ERR_IO, "%s: write failed: %s", a.tmp, strerror(e));
    }
    if ((st = mtl_afile_commit(&a))) return st;
    return MTL_OK;
}
